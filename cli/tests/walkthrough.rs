//! The README's walk-through, run for real: the `shotweave` binary imports the first two
//! chapters of Alice in Wonderland into a running studio, generates a frame for every shot with
//! the offline renderer, and exports every format; the exports are then read by their
//! reference readers. (The whole novel's 12 chapters and 1,600 shots are checked by the
//! breakdown tests; generating all of them belongs in the generate-all benchmark, not in a test
//! every change waits for.)

use std::path::Path;
use std::process::{Command, Output};

use anyhow::Context;

use serde_json::Value;
use shared_model::testing::data_dir;
use sync_server::test_support::TestServer;

fn shotweave(server: &str, config: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_shotweave"))
        .arg("--server")
        .arg(server)
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("SHOTWEAVE_PROJECT")
        .env_remove("SHOTWEAVE_TOKEN")
        .output()
        .expect("the CLI runs");
    assert!(
        output.status.success(),
        "shotweave {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn novel_to_animatic_in_three_commands() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let url = server.http("");
    let url = url.trim_end_matches('/').to_owned();
    let work = tempfile::tempdir()?;
    let config = work.path().join("config");
    let full = std::fs::read_to_string(data_dir().join("novels/alice-in-wonderland.en.txt"))?;
    let end = full.find("CHAPTER III.").context("chapter III heading")?;
    let novel = work.path().join("alice-1-2.txt");
    std::fs::write(&novel, &full[..end])?;
    let novel = novel.to_str().context("a UTF-8 path")?.to_owned();
    let out = work.path().join("board");
    let out_arg = out.to_str().context("a UTF-8 path")?.to_owned();

    let (import, generate, export) = tokio::task::spawn_blocking({
        let (url, config) = (url.clone(), config.clone());
        move || {
            let import = shotweave(&url, &config, &["import", &novel]);
            let generate = shotweave(&url, &config, &["generate"]);
            let export = shotweave(&url, &config, &["export", "--out", &out_arg]);
            let report = format!("{out_arg}/alone.review.pdf");
            shotweave(
                &url,
                &config,
                &["review-export", "--format", "pdf", "--out", &report],
            );
            (import, generate, export)
        }
    })
    .await?;

    let import = stdout(&import);
    assert!(import.contains("2 chapters"), "{import}");
    let shots: usize = import
        .split(", ")
        .find_map(|part| part.strip_suffix(" shots").and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no shot count in {import}"));
    assert!(shots > 100, "{import}");
    let generate = stdout(&generate);
    assert!(
        generate.contains(&format!("{shots} succeeded, 0 failed")),
        "{generate}"
    );
    assert!(
        stdout(&export).contains("wrote 9 formats"),
        "{}",
        stdout(&export)
    );

    // Every shot has a frame on disk, and the timeline references exactly those files.
    let board = out;
    let media = std::fs::read_dir(board.join("media"))?.count();
    assert!(
        media > 0 && media <= shots,
        "{media} media files for {shots} shots"
    );
    let otio: Value =
        serde_json::from_str(&std::fs::read_to_string(board.join("storyboard.otio"))?)?;
    let items = otio["tracks"]["children"][0]["children"]
        .as_array()
        .context("the timeline's clips")?;
    assert_eq!(items.len(), shots);
    for item in items {
        assert_eq!(
            item["OTIO_SCHEMA"], "Clip.2",
            "every shot has a take after generate"
        );
        let target = item["media_references"]["DEFAULT_MEDIA"]["target_url"]
            .as_str()
            .context("a media reference")?;
        assert!(board.join(target).is_file(), "{target} missing");
    }
    let frames: f64 = items
        .iter()
        .map(|i| i["source_range"]["duration"]["value"].as_f64())
        .collect::<Option<Vec<f64>>>()
        .context("every clip has a duration")?
        .iter()
        .sum();

    // The reference readers agree.
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("../exports/tests/readers/check.py");
    let read = Command::new("python3")
        .arg(&check)
        .arg("otio")
        .arg(board.join("storyboard.otio"))
        .output()?;
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let seen: Value = serde_json::from_slice(&read.stdout)?;
    assert_eq!(seen["items"].as_array().map(Vec::len), Some(shots));
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(board.join("storyboard.mp4"))
        .output()?;
    let seconds: f64 = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .context("animatic duration")?;
    assert!(
        (seconds - frames / 24.0).abs() <= 2.0 / 24.0,
        "animatic {seconds}s, timeline {}s",
        frames / 24.0
    );
    // The review report (no threads yet: the storyboard's title and an empty list), with
    // `export` and alone.
    let html = std::fs::read_to_string(board.join("storyboard.review.html"))?;
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("0 threads"),
        "{html}"
    );
    for pdf in ["storyboard.review.pdf", "alone.review.pdf"] {
        assert!(
            std::fs::read(board.join(pdf))?.starts_with(b"%PDF-"),
            "{pdf}"
        );
    }
    for ext in ["edl", "xml", "fcpxml", "fountain", "html"] {
        assert!(
            std::fs::metadata(board.join(format!("storyboard.{ext}")))?.len() > 100,
            "{ext}"
        );
    }
    server.stop().await;
    Ok(())
}

/// `shotweave providers` prints what `GET /api/providers` says, in its order: one line per
/// provider with what it makes and whether it needs a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_lists_what_the_studio_can_run() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let url = server.http("");
    let url = url.trim_end_matches('/').to_owned();
    let listed: Value = reqwest::get(format!("{url}/api/providers"))
        .await?
        .json()
        .await?;
    let listed = listed["providers"]
        .as_array()
        .context("the providers list")?
        .clone();
    let work = tempfile::tempdir()?;
    let config = work.path().join("config");
    let printed =
        tokio::task::spawn_blocking(move || shotweave(&url, &config, &["providers"])).await?;
    let printed = stdout(&printed);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), listed.len(), "{printed}");
    for (line, provider) in lines.iter().zip(&listed) {
        let name = provider["name"].as_str().context("a name")?;
        assert_eq!(line.split_whitespace().next(), Some(name), "{printed}");
        for kind in provider["kinds"].as_array().context("kinds")? {
            assert!(line.contains(kind.as_str().unwrap_or("?")), "{line}");
        }
        let key = if provider["needs_key"] == true {
            "needs a key"
        } else {
            "no key"
        };
        assert!(line.contains(key), "{line}");
        if let Some(default) = provider["models"][0].as_str() {
            assert!(line.contains(default), "{line}");
        }
    }
    Ok(())
}
