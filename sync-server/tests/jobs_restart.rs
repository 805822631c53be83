//! The real `sync-server` binary is SIGKILLed while a job is running at the provider and
//! restarted on the same data dir: the job resumes by polling the stored task id, is never
//! submitted (and paid for) a second time, and its take reaches a connected client.

#[path = "support/jobs.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use provider_adapters::fake::{FAKE_KEY, FakeFal};
use serde_json::json;
use support::{Api, board};
use sync_server::test_support::TEST_SECRET;

struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn start(data_dir: &Path, fal_url: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--token-secret", TEST_SECRET])
            .args(["--job-poll-ms", "10", "--provider-retry-base-ms", "5"])
            .arg(format!("--provider-url=fal={fal_url}"))
            .env_remove("DATABASE_URL")
            .env_remove("SHOTWEAVE_ASSET_STORE_URL")
            .env_remove("SHOTWEAVE_PROVIDER_URLS")
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
            .map(|(_, addr)| format!("http://{addr}"))
            .with_context(|| format!("unexpected first line {line:?}"))?;
        Ok(Self { child, base })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_job_resumes_it_without_a_second_submission() -> anyhow::Result<()> {
    let fal = FakeFal::start().await;
    // The job stays running at the provider until the test lets it finish.
    fal.set_polls_to_finish(1_000_000);
    let fal_url = fal.config().base_url;
    let dir = tempfile::tempdir()?;
    let mut server = ServerProcess::start(dir.path(), &fal_url)?;

    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/projects", server.base))
        .json(&json!({"title": "restart"}))
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
    let ws = |base: &str| {
        format!(
            "{}/sync/{project}?token={token}",
            base.replace("http://", "ws://")
        )
    };
    let api = Api::new(server.base.clone(), project.clone(), token.clone());
    let board1 = board(&ws(&server.base), 1).await?;
    api.set_key("fal", FAKE_KEY).await?;
    let ids = api
        .generate_ok(json!({"provider": "fal", "kind": "frame", "scope": "all"}))
        .await?;

    // Polls only start after the task id is durable, so two polls mean it is stored.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fal.polls() < 2 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the job never reached the provider"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fal.submissions(), 1);
    server.child.kill()?; // SIGKILL
    server.child.wait()?;
    drop(board1);

    fal.set_polls_to_finish(1);
    let server = ServerProcess::start(dir.path(), &fal_url)?;
    let api = Api::new(server.base.clone(), project.clone(), token.clone());
    let jobs = api.wait_done(&ids, Duration::from_secs(60)).await?;
    assert_eq!(jobs[0]["status"], "succeeded", "{}", jobs[0]);
    assert_eq!(
        fal.submissions(),
        1,
        "the restart polled instead of submitting again"
    );
    assert_eq!(jobs[0]["attempts"], 1);

    let mut client = sync_server::test_support::WsClient::connect_synced(&ws(&server.base)).await?;
    client.pump_for(Duration::from_millis(200)).await?;
    let project = shared_model::Project::from_doc(client.doc.clone());
    let shot = &project.shots()[0];
    assert_eq!(shot.takes.len(), 1, "the take is in the stored document");
    let provenance = project
        .asset(&shot.takes[0])
        .and_then(|a| a.provenance)
        .context("provenance")?;
    assert_eq!(provenance.provider, "fal");
    assert_eq!(provenance.job_id.as_str(), ids[0]);
    client.close().await;
    Ok(())
}
