//! `shotweave breakdown --mode llm`, run for real: the binary imports the first two chapters of
//! Alice as a bare script, stores the project's key from standard input, and breaks the script
//! down with a chat model (the wire-compatible fake of an OpenAI-compatible server) through a
//! running studio, waiting for the job with a progress bar. A model that never answers
//! usable JSON makes the command fail with the job's reason.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::Context;

use provider_adapters::fake::{FAKE_KEY, FakeOpenAiChat};
use serde_json::{Value, json};
use shared_model::testing::data_dir;
use sync_server::test_support::{TestServer, WsClient};

fn shotweave(server: &str, config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shotweave"))
        .arg("--server")
        .arg(server)
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("SHOTWEAVE_PROJECT")
        .env_remove("SHOTWEAVE_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("the CLI ends")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A stand-in model: one scene per request, a shot per paragraph of the passage.
fn answer(request: &Value) -> String {
    let user = request["messages"][1]["content"]
        .as_str()
        .unwrap_or_default();
    let passage = user.split_once("PASSAGE:\n").map_or("", |(_, p)| p);
    let shots: Vec<Value> = passage
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            json!({"description": p.chars().take(80).collect::<String>(), "duration_seconds": 2,
                   "characters": if p.contains("Alice") { vec!["Alice"] } else { vec![] }})
        })
        .collect();
    json!({"scenes": [{"title": "", "start_quote": "", "shots": shots}],
           "characters": [{"name": "Alice", "aliases": [], "description": ""}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakdown_mode_llm_waits_for_the_job_and_reports_failures() -> anyhow::Result<()> {
    let fake = FakeOpenAiChat::start().await;
    fake.set_responder(answer);
    let server = TestServer::start_with(|c| {
        c.job_poll_ms = 5;
        c.provider_urls = vec![format!("openai-chat={}", fake.config().base_url)];
    })
    .await;
    let url = server.http("");
    let work = tempfile::tempdir()?;
    let config = work.path().join("config");
    let full = std::fs::read_to_string(data_dir().join("novels/alice-in-wonderland.en.txt"))?;
    let end = full.find("CHAPTER III.").context("chapter III heading")?;
    let novel = work.path().join("alice-1-2.txt");
    std::fs::write(&novel, &full[..end])?;
    let novel = novel.to_str().context("a UTF-8 path")?.to_owned();

    let (import, no_key, key, breakdown) = tokio::task::spawn_blocking({
        let (url, config, novel) = (url.clone(), config.clone(), novel.clone());
        move || {
            let import = shotweave(
                &url,
                &config,
                &["import", &novel, "--breakdown", "none"],
                "",
            );
            let no_key = shotweave(&url, &config, &["breakdown", "--mode", "llm"], "");
            let key = shotweave(
                &url,
                &config,
                &["key", "openai-chat"],
                &format!("{FAKE_KEY}\n"),
            );
            let breakdown = shotweave(
                &url,
                &config,
                &["breakdown", "--mode", "llm", "--model", "qwen2.5:7b"],
                "",
            );
            (import, no_key, key, breakdown)
        }
    })
    .await?;
    assert!(import.status.success(), "{}", text(&import));
    assert!(
        text(&import).contains("2 chapters, 0 scenes, 0 shots"),
        "{}",
        text(&import)
    );
    assert!(!no_key.status.success());
    assert!(
        text(&no_key).contains("no openai-chat key is set for this project"),
        "{}",
        text(&no_key)
    );
    assert!(key.status.success(), "{}", text(&key));
    assert!(!text(&key).contains(FAKE_KEY), "the key is not echoed");
    assert!(breakdown.status.success(), "{}", text(&breakdown));
    assert!(
        text(&breakdown).contains("breakdown done"),
        "{}",
        text(&breakdown)
    );
    assert_eq!(
        fake.last_request().context("the model was asked")?["model"],
        "qwen2.5:7b"
    );

    // The board the CLI made is in the project document.
    let project = String::from_utf8_lossy(&import.stdout)
        .split_whitespace()
        .skip_while(|w| *w != "project")
        .nth(1)
        .context("project id printed")?
        .to_owned();
    let open = String::from_utf8_lossy(&breakdown.stdout).into_owned();
    let token = open
        .split("token=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .context("a link with the token")?;
    let client = WsClient::connect_synced(&server.ws_url(&project, token)).await?;
    let seen = shared_model::Project::from_doc(client.doc.clone());
    assert!(seen.scenes().len() >= 2, "a scene per chunk");
    assert!(seen.shots().len() > 20, "{} shots", seen.shots().len());
    let alice = seen.find_character("Alice").context("Alice")?;
    assert!(
        seen.shots()
            .iter()
            .any(|s| s.character_ids.contains(&alice.id))
    );
    client.close().await;

    // A second project whose model only ever answers prose: the command fails with the reason.
    fake.push_reply("No.");
    fake.push_reply("Still no.");
    fake.push_reply("Never.");
    let failed = tokio::task::spawn_blocking({
        let (url, config) = (url.clone(), config.clone());
        move || {
            let import = shotweave(
                &url,
                &config,
                &["import", &novel, "--breakdown", "none"],
                "",
            );
            assert!(import.status.success(), "{}", text(&import));
            shotweave(&url, &config, &["key", "openai-chat"], FAKE_KEY);
            shotweave(&url, &config, &["breakdown", "--mode", "llm"], "")
        }
    })
    .await?;
    assert!(!failed.status.success(), "{}", text(&failed));
    let said = text(&failed);
    assert!(said.contains("the breakdown failed"), "{said}");
    assert!(said.contains("not valid JSON"), "{said}");
    server.stop().await;
    Ok(())
}
