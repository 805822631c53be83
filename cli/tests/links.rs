//! `shotweave share`, `links` and `revoke` against a running studio: a link made from the
//! command line is listed with its label and person, works until it is revoked, and bad input
//! is refused with the studio's words.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::Context;
use serde_json::{Value, json};
use sync_server::test_support::TestServer;

fn shotweave(server: &str, config: &Path, project: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shotweave"))
        .arg("--server")
        .arg(server)
        .args(["--project", project, "--token", token])
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .output()
        .expect("the CLI runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_made_listed_and_revoked_from_the_command_line() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let url = server.http("");
    let url = url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(server.http("/api/projects"))
        .json(&json!({ "title": "Three Kingdoms" }))
        .send()
        .await?
        .json()
        .await?;
    let project = created["project_id"].as_str().context("id")?.to_owned();
    let owner = created["token"].as_str().context("token")?.to_owned();
    let config = tempfile::tempdir()?;
    let run = {
        let (url, project, owner, config) = (
            url.clone(),
            project.clone(),
            owner.clone(),
            config.path().to_owned(),
        );
        move |args: &[&str]| {
            let (url, project, owner, config) =
                (url.clone(), project.clone(), owner.clone(), config.clone());
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                shotweave(&url, &config, &project, &owner, &args)
            })
        }
    };

    let share = run(&[
        "share",
        "--role",
        "commenter",
        "--label",
        "crew Discord",
        "--expires",
        "7d",
    ])
    .await?;
    assert!(share.status.success(), "{}", stderr(&share));
    let out = stdout(&share);
    assert!(out.starts_with("commenter link "), "{out}");
    let link = out
        .split_whitespace()
        .nth(2)
        .context("link id")?
        .trim_end_matches(',')
        .to_owned();
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("token "))
        .context("token line")?
        .to_owned();
    assert!(
        out.contains(&format!("{url}/#/p/{project}/board?token={token}")),
        "{out}"
    );
    let me = |token: String| {
        let (http, path) = (
            http.clone(),
            server.http(&format!("/api/projects/{project}/me")),
        );
        async move {
            let response = http.get(path).bearer_auth(token).send().await?;
            anyhow::Ok((response.status().as_u16(), response.json::<Value>().await?))
        }
    };
    let (status, body) = me(token.clone()).await?;
    assert_eq!((status, body["role"].as_str()), (200, Some("commenter")));
    // Seven days from now, as the server counts.
    let expires = body["expires_at"].as_i64().context("expiry")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    assert!((expires - now - 7 * 24 * 3600).abs() < 60, "{body}");

    let invite = run(&["share", "--role", "viewer", "--name", "Lin"]).await?;
    assert!(invite.status.success(), "{}", stderr(&invite));
    assert!(
        stdout(&invite).contains(" for Lin, expires "),
        "{}",
        stdout(&invite)
    );

    let listed = run(&["links"]).await?;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let rows: Vec<String> = stdout(&listed).lines().skip(1).map(str::to_owned).collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let columns = |row: &str| {
        row.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let lin = columns(&rows[0]);
    assert_eq!(&lin[1..4], ["viewer", "Lin", "Lin"], "{rows:?}");
    let crew = columns(&rows[1]);
    assert_eq!(
        &crew[..4],
        [link.as_str(), "commenter", "crew Discord", "-"],
        "{rows:?}"
    );
    assert!(crew[5].ends_with("UTC"), "used once already: {rows:?}");
    assert_eq!(crew[6], "-", "not revoked: {rows:?}");

    let revoked = run(&["revoke", &link]).await?;
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let (status, body) = me(token).await?;
    assert_eq!((status, body["code"].as_str()), (401, Some("link_revoked")));
    let listed = stdout(&run(&["links"]).await?);
    let crew = columns(listed.lines().nth(2).context("crew row")?);
    assert!(crew[6].ends_with("UTC"), "revoked: {listed}");

    // Bad input: the CLI's own words for a lifetime, the studio's for everything else.
    let bad = run(&["share", "--role", "viewer", "--expires", "7x"]).await?;
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("write it like 7d"),
        "{}",
        stderr(&bad)
    );
    let bad = run(&["share", "--role", "admin"]).await?;
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("is not a role"), "{}", stderr(&bad));
    let bad = run(&["share", "--role", "viewer", "--name", " "]).await?;
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("a name must be 1 to 80 characters"),
        "{}",
        stderr(&bad)
    );
    let bad = run(&["revoke", "nosuchlink"]).await?;
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("no such link"), "{}", stderr(&bad));
    assert_eq!(stdout(&run(&["links"]).await?).lines().count(), 4);
    server.stop().await;
    Ok(())
}
