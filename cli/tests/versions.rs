//! `shotweave version`, `versions`, `diff`, `restore` and `version-delete` against a running
//! studio, with a native client editing the board in between.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use shared_model::{Project, ShotPatch};
use sync_server::test_support::{TestServer, WsClient};

fn shotweave(server: &str, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shotweave"))
        .arg("--server")
        .arg(server)
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("SHOTWEAVE_PROJECT")
        .env_remove("SHOTWEAVE_TOKEN")
        .output()
        .expect("the CLI runs")
}

/// Runs the CLI off the async threads and returns its standard output; fails with its
/// output when it fails.
async fn run(server: &str, config: &Path, args: &[&str]) -> anyhow::Result<String> {
    let (server, config) = (server.to_owned(), config.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        shotweave(&server, &config, &args)
    })
    .await?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_from_the_command_line() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let url = server.http("");
    let url = url.trim_end_matches('/');
    let work = tempfile::tempdir()?;
    let config = work.path().join("config");
    let script = work.path().join("pier.fountain");
    std::fs::write(
        &script,
        "Title: Pier\n\nEXT. PIER - NIGHT\n\nRain on the boards.\n\nMARA\nYou came.\n",
    )?;
    let script = script.to_str().context("a UTF-8 path")?;
    run(url, &config, &["import", script]).await?;
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(
        config.join("shotweave").join("cli.json"),
    )?)?;
    let project = saved["current"].as_str().context("project")?;
    let token = saved["tokens"][project].as_str().context("token")?;

    let named = run(
        url,
        &config,
        &["version", "Draft 1", "--note", "for the director"],
    )
    .await?;
    assert!(named.contains("\"Draft 1\""), "{named}");
    assert!(named.contains("for the director"), "{named}");

    // Someone changes the first shot's camera.
    let mut client = WsClient::connect_synced(&server.ws_url(project, token)).await?;
    let board = Project::from_doc(client.doc.clone());
    let first = board.shots().first().context("a shot")?.clone();
    let before = client.updates_received;
    client
        .send_changes(|| {
            board
                .update_shot(
                    &first.id,
                    &ShotPatch {
                        camera: Some("slow push in".into()),
                        ..Default::default()
                    },
                )
                .expect("shot");
        })
        .await?;
    client
        .pump_until(Duration::from_secs(10), |c| c.updates_received > before)
        .await?;

    let diff = run(url, &config, &["diff", "Draft 1"]).await?;
    assert!(diff.starts_with("Draft 1 → now\n"), "{diff}");
    assert!(diff.contains("shots (1)"), "{diff}");
    assert!(
        diff.contains(&format!("camera: {:?} → \"slow push in\"", first.camera)),
        "{diff}"
    );

    let restored = run(url, &config, &["restore", "Draft 1"]).await?;
    assert!(restored.contains("restored \"Draft 1\""), "{restored}");
    client
        .pump_until(Duration::from_secs(10), |c| {
            Project::from_doc(c.doc.clone())
                .shot(&first.id)
                .is_some_and(|s| s.camera == first.camera)
        })
        .await?;
    assert!(
        run(url, &config, &["diff", "Draft 1"])
            .await?
            .contains("no changes")
    );

    let listed = run(url, &config, &["versions"]).await?;
    let lines: Vec<&str> = listed.lines().filter(|l| !l.starts_with("    ")).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].contains("Before restoring “Draft 1”") && lines[0].contains("(automatic)"));
    assert!(lines[1].contains("\"Draft 1\""), "{listed}");

    run(url, &config, &["version-delete", "Draft 1"]).await?;
    let output = tokio::task::spawn_blocking({
        let (url, config) = (url.to_owned(), config.clone());
        move || shotweave(&url, &config, &["restore", "Draft 1"])
    })
    .await?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no version is named"), "{stderr}");
    client.close().await;
    server.stop().await;
    Ok(())
}
