//! The real `sync-server` binary is SIGKILLed in the middle of a stream of edits and
//! restarted on the same data dir: every update any client saw acknowledged or broadcast
//! must still be there.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use sync_server::test_support::{TEST_SECRET, WsClient};

struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--token-secret", TEST_SECRET])
            .env_remove("DATABASE_URL")
            .env_remove("SHOTWEAVE_ASSET_STORE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning sync-server")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base = line
            .trim()
            .rsplit_once("http://")
            .map(|(_, addr)| addr.to_owned())
            .with_context(|| format!("unexpected first line {line:?}"))?;
        Ok(Self { child, base })
    }

    fn ws_url(&self, doc: &str, token: &str) -> String {
        format!("ws://{}/sync/{doc}?token={token}", self.base)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn markers(script: &str) -> Vec<usize> {
    script
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("marker"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_acknowledged_update() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(dir.path())?;

    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("http://{}/api/projects", server.base))
        .json(&serde_json::json!({ "title": "durability" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let project = created["project_id"]
        .as_str()
        .context("project_id")?
        .to_owned();
    let token = created["token"].as_str().context("token")?.to_owned();

    let url = server.ws_url(&project, &token);
    let mut writer = WsClient::connect_synced(&url).await?;
    let mut observer = WsClient::connect_synced(&url).await?;

    // Stream edits without waiting for acks; kill the server once 150 are acknowledged, while
    // more are in flight.
    let mut sent = 0usize;
    let mut killed = false;
    'stream: while !killed || sent < 400 {
        // Bursts of ten keep several edits in flight at any moment.
        for _ in 0..10 {
            if writer.append_script(&format!("{sent};")).await.is_err() {
                break 'stream; // The socket is gone.
            }
            sent += 1;
        }
        writer.pump_for(Duration::ZERO).await?;
        if !killed && writer.updates_received >= 150 {
            server.child.kill()?; // SIGKILL
            server.child.wait()?;
            killed = true;
        }
        if sent > 20_000 {
            anyhow::bail!("server never acknowledged 150 updates");
        }
    }
    assert!(killed);
    // Whatever reached the clients' sockets before the kill still counts as seen.
    writer.pump_for(Duration::from_millis(500)).await?;
    observer.pump_for(Duration::from_millis(500)).await?;
    let acked = writer.updates_received;
    let observed = markers(&observer.script());
    assert!(acked >= 150, "acked {acked}");
    assert!(
        sent > acked,
        "the kill was meant to land mid-stream (sent {sent}, acked {acked})"
    );

    let server = ServerProcess::start(dir.path())?;
    let fresh = WsClient::connect_synced(&server.ws_url(&project, &token)).await?;
    let stored = markers(&fresh.script());
    // One writer, in order: the server acknowledges edit i only after edits 0..i.
    let durable: std::collections::HashSet<usize> = stored.iter().copied().collect();
    for i in 0..acked {
        assert!(
            durable.contains(&i),
            "acknowledged edit {i} was lost (acked {acked}, stored {})",
            stored.len()
        );
    }
    for i in &observed {
        assert!(
            durable.contains(i),
            "edit {i} reached another client but was lost"
        );
    }
    eprintln!(
        "sent {sent}, acknowledged {acked}, observed {}, durable {}",
        observed.len(),
        stored.len()
    );
    fresh.close().await;
    Ok(())
}
