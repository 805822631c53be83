//! `shotweave comment`, `threads`, `reply`, `resolve`, `reopen`, `verdict` and `activity`
//! against a running studio: what a reviewer posts from the command line is signed with their
//! own name, and refusals keep the studio's words.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::Context;
use serde_json::{Value, json};
use sync_server::test_support::TestServer;

fn shotweave(server: &str, config: &Path, project: &str, token: &str, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shotweave"))
        .arg("--server")
        .arg(server)
        .args(["--project", project, "--token", token])
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .output()
        .expect("the CLI runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewing_from_the_command_line() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let url = server.http("");
    let url = url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(server.http("/api/projects"))
        .json(&json!({"title": "Three Kingdoms", "owner_name": "Olga"}))
        .send()
        .await?
        .json()
        .await?;
    let project = created["project_id"].as_str().context("id")?.to_owned();
    let owner = created["token"].as_str().context("token")?.to_owned();
    let invite: Value = http
        .post(server.http(&format!("/api/projects/{project}/tokens")))
        .bearer_auth(&owner)
        .json(&json!({"role": "commenter", "name": "Lin"}))
        .send()
        .await?
        .json()
        .await?;
    let lin = invite["token"].as_str().context("token")?.to_owned();
    let config = tempfile::tempdir()?;
    let run = |token: &str, args: &[&str]| {
        let (url, project, token, config) = (
            url.clone(),
            project.clone(),
            token.to_owned(),
            config.path().to_owned(),
        );
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || shotweave(&url, &config, &project, &token, &args))
    };

    let opened = run(&lin, &["comment", "Needs music here, @Olga"]).await?;
    assert!(opened.status.success(), "{}", text(&opened));
    let out = text(&opened);
    let thread = out
        .strip_prefix("thread ")
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("a thread id in {out:?}"))?
        .to_owned();

    let reply = run(&owner, &["reply", &thread, "Agreed"]).await?;
    assert!(reply.status.success(), "{}", text(&reply));
    let listed = text(&run(&owner, &["threads"]).await?);
    assert!(listed.contains(&thread), "{listed}");
    assert!(listed.contains("on the project"), "{listed}");
    assert!(listed.contains("Lin: Needs music here, @Olga"), "{listed}");
    assert!(listed.contains("Olga: Agreed"), "{listed}");

    let resolved = run(&lin, &["resolve", &thread]).await?;
    assert!(resolved.status.success(), "{}", text(&resolved));
    assert_eq!(text(&run(&owner, &["threads"]).await?).trim(), "no threads");
    assert!(text(&run(&owner, &["threads", "--resolved"]).await?).contains(&thread));
    assert!(text(&run(&lin, &["threads", "--mine"]).await?).contains(&thread));
    assert_eq!(
        text(&run(&owner, &["threads", "--mine"]).await?).trim(),
        "no threads"
    );
    let reopened = run(&owner, &["reopen", &thread]).await?;
    assert!(reopened.status.success(), "{}", text(&reopened));
    assert!(text(&run(&owner, &["threads", "--open"]).await?).contains(&thread));

    // Refusals keep the studio's words.
    let past_end = run(&lin, &["comment", "--script", "0:50", "hello"]).await?;
    assert!(!past_end.status.success());
    assert!(
        text(&past_end).contains("not a non-empty range of the script"),
        "{}",
        text(&past_end)
    );
    let bad = run(&lin, &["comment", "--script", "zero:five", "hello"]).await?;
    assert!(!bad.status.success());
    let verdict = run(&lin, &["verdict", "no-such-version", "approve"]).await?;
    assert!(!verdict.status.success());
    assert!(text(&verdict).contains("404"), "{}", text(&verdict));

    let activity = run(&owner, &["activity"]).await?;
    assert!(activity.status.success(), "{}", text(&activity));
    server.stop().await;
    Ok(())
}
