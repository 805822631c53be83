//! Review travels with the exports, through the real server on SQLite and Postgres: a commenter
//! opens threads on a shot, on a range of the script and on the project, and one more that the
//! owner resolves; the timeline exports read back by their reference readers (Python
//! `opentimelineio`, `pycmx`; `exports/tests/readers/`) carry the open threads as markers and
//! locators on the right clips and never the resolved one; the review report renders as a PDF
//! (poppler's `pdftoppm`, `pdftotext`, `pdfimages`) and as HTML with every thread's text
//! (Chinese included, and escaped in the HTML).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, ensure};
use api_types::{ApiErrorBody, ErrorCode, Thread, ThreadStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared_model::{Asset, AssetId, NewScene, NewShot, Project, ProjectOptions, ShotId, ShotPatch};
use sync_server::config::Secret;
use sync_server::test_support::{
    TestServer, WsClient, drop_postgres_schema, fresh_postgres_schema,
};

const WAIT: Duration = Duration::from_secs(10);

struct Studio {
    server: TestServer,
    http: reqwest::Client,
    project: String,
    owner: String,
}

impl Studio {
    async fn start(database_url: Option<String>) -> anyhow::Result<Self> {
        let server = TestServer::start_with(|c| c.database_url = database_url.map(Secret)).await;
        let http = reqwest::Client::new();
        let created: Value = http
            .post(server.http("/api/projects"))
            .json(&json!({"title": "三国 & <Co>", "owner_name": "Olga"}))
            .send()
            .await?
            .json()
            .await?;
        Ok(Self {
            project: created["project_id"]
                .as_str()
                .context("project id")?
                .to_owned(),
            owner: created["token"].as_str().context("token")?.to_owned(),
            server,
            http,
        })
    }

    fn url(&self, rest: &str) -> String {
        self.server
            .http(&format!("/api/projects/{}{rest}", self.project))
    }

    /// A personal invite's token.
    async fn invite(&self, name: &str, role: &str) -> anyhow::Result<String> {
        let created: Value = self
            .http
            .post(self.url("/tokens"))
            .bearer_auth(&self.owner)
            .json(&json!({"role": role, "name": name, "expires_in_secs": 3600}))
            .send()
            .await?
            .json()
            .await?;
        Ok(created["token"].as_str().context("token")?.to_owned())
    }

    async fn post(&self, rest: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(self.url(rest))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.is_success(), "POST {rest}: {status}: {text}");
        Ok(serde_json::from_str(&text)?)
    }

    async fn thread(&self, token: &str, anchor: Value, text: &str) -> anyhow::Result<Thread> {
        Ok(serde_json::from_value(
            self.post("/threads", token, json!({"anchor": anchor, "text": text}))
                .await?,
        )?)
    }

    async fn export(&self, token: &str, format: &str) -> anyhow::Result<(StatusCode, Vec<u8>)> {
        let response = self
            .http
            .get(self.url(&format!("/export/{format}")))
            .bearer_auth(token)
            .send()
            .await?;
        Ok((response.status(), response.bytes().await?.to_vec()))
    }

    async fn export_ok(&self, token: &str, format: &str) -> anyhow::Result<Vec<u8>> {
        let (status, body) = self.export(token, format).await?;
        ensure!(
            status == StatusCode::OK,
            "export {format}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(body)
    }
}

/// Sends a change made on `project` and waits until the server echoed it (committed).
async fn edit(client: &mut WsClient, change: impl FnOnce()) -> anyhow::Result<()> {
    let before = client.updates_received;
    client.send_changes(change).await?;
    client
        .pump_until(WAIT, |c| c.updates_received > before)
        .await
}

fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

/// What a reference reader made of `file` (`exports/tests/readers/check.py`).
fn reader(kind: &str, file: &Path) -> anyhow::Result<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../exports/tests/readers/check.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(kind)
        .arg(file)
        .output()
        .context("python3 runs (installed with the test prerequisites)")?;
    ensure!(
        output.status.success(),
        "{kind} reader failed: {}\n(run `cargo xtask test`, which installs exports/tests/readers/requirements.txt)",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Runs a poppler tool on `pdf` and returns what it printed.
fn poppler(program: &str, args: &[&str], pdf: &Path) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .arg(pdf)
        .args(if program == "pdftotext" {
            &["-"][..]
        } else {
            &[]
        })
        .output()
        .with_context(|| {
            format!("{program} runs (poppler-utils, installed by `cargo xtask test`)")
        })?;
    ensure!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// The thread ids of a list of markers as the reader reports them.
fn marker_threads(markers: &Value) -> Vec<String> {
    markers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["thread_id"].as_str().map(str::to_owned))
        .collect()
}

async fn review_travels_with_the_exports(database_url: Option<String>) -> anyhow::Result<()> {
    let studio = Studio::start(database_url).await?;
    let lin = studio.invite("林", "commenter").await?;
    let vic = studio.invite("Vic", "viewer").await?;

    // The board: two scenes, each anchored to its part of the script, two shots each; the
    // stable's second shot has a frame.
    let stable_text = "第一场 The stable at night. 马厩里很暗。\n";
    let field_text = "第二场 The field at dawn. Guan Yu rides out.\n";
    let script = format!("{stable_text}{field_text}");
    let frame = provider_adapters::offline::render_frame(
        &provider_adapters::ShotSketch {
            number: "2".into(),
            description: "A dark stable".into(),
            ..Default::default()
        },
        provider_adapters::Size {
            width: 320,
            height: 180,
        },
    )?;
    let uploaded: Value = studio
        .http
        .post(studio.url("/assets"))
        .bearer_auth(&studio.owner)
        .body(frame.clone())
        .send()
        .await?
        .json()
        .await?;
    let sha = uploaded["sha256"].as_str().context("sha256")?.to_owned();

    let project = Project::empty(ProjectOptions::default());
    let mut board = WsClient::connect_with_doc(
        &studio.server.ws_url(&studio.project, &studio.owner),
        project.doc().clone(),
    )
    .await?;
    board.wait_synced().await?;
    let mut shots: Vec<ShotId> = Vec::new();
    let mut failure = None;
    edit(&mut board, || {
        let result = (|| -> anyhow::Result<()> {
            project.script_insert(0, &script);
            let stable_end = utf16_len(stable_text);
            let ranges = [0..stable_end, stable_end..utf16_len(&script)];
            for (range, descriptions) in ranges.into_iter().zip([
                ["Stable, wide", "Stable, close on the horse"],
                ["Field, wide", "Guan Yu rides"],
            ]) {
                let scene = project.add_scene(&NewScene {
                    script_range: Some(project.script_anchor(range)?),
                    ..NewScene::default()
                });
                for description in descriptions {
                    let shot = project.add_shot(&scene, &NewShot::default())?;
                    project.update_shot(
                        &shot,
                        &ShotPatch {
                            description: Some(description.into()),
                            ..ShotPatch::default()
                        },
                    )?;
                    shots.push(shot);
                }
            }
            let asset = Asset {
                id: AssetId::from(sha.as_str()),
                sha256: sha.clone(),
                mime: "image/png".into(),
                size: frame.len() as u64,
                name: "frame".into(),
                width: Some(320),
                height: Some(180),
                duration_ms: None,
                created_at_ms: 0.0,
                provenance: None,
            };
            project.add_asset(&asset)?;
            project.add_take(&shots[1], &asset.id, true)?;
            Ok(())
        })();
        failure = result.err();
    })
    .await?;
    if let Some(e) = failure {
        return Err(e);
    }
    let [stable_wide, stable_close, field_wide, guan_yu] =
        <[ShotId; 4]>::try_from(shots).map_err(|s| anyhow::anyhow!("{} shots", s.len()))?;

    // The commenter's threads: on a shot, on words of the second scene, on the project, and
    // one on the last shot that the owner resolves.
    let on_shot = "Too dark: 太暗了 <b>&</b> \"lift it\"";
    let on_script = "黎明的光 should be colder";
    let on_project = "The whole cut runs long";
    let resolved = "Resolved note: the horse is fine";
    let shot_thread = studio
        .thread(
            &lin,
            json!({"kind": "shot", "shot_id": stable_close}),
            on_shot,
        )
        .await?;
    let dawn = script.find("dawn").context("dawn")?;
    let start = utf16_len(&script[..dawn]);
    let script_thread = studio
        .thread(
            &lin,
            json!({"kind": "script", "start": start, "end": start + 4}),
            on_script,
        )
        .await?;
    ensure!(script_thread.quote == "dawn", "{:?}", script_thread.quote);
    let project_thread = studio
        .thread(&lin, json!({"kind": "project"}), on_project)
        .await?;
    let done = studio
        .thread(&lin, json!({"kind": "shot", "shot_id": guan_yu}), resolved)
        .await?;
    let done: Thread = serde_json::from_value(
        studio
            .post(
                &format!("/threads/{}/resolve", done.id),
                &studio.owner,
                json!({}),
            )
            .await?,
    )?;
    assert_eq!(done.status, ThreadStatus::Resolved);
    studio
        .post(
            "/versions",
            &studio.owner,
            json!({"name": "Draft 1 给导演"}),
        )
        .await?;

    let dir = tempfile::tempdir()?;
    let write = |name: &str, bytes: &[u8]| -> anyhow::Result<std::path::PathBuf> {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    };

    // OTIO: the open threads are markers on their clips (the script thread on the first shot
    // of the scene whose text holds it), the project thread on the stack; the resolved one is
    // nowhere. The marker's comment is the whole first comment.
    let otio = write("board.otio", &studio.export_ok(&vic, "otio").await?)?;
    let seen = reader("otio_markers", &otio)?;
    let items = seen["items"].as_array().context("items")?;
    assert_eq!(items.len(), 4, "{seen}");
    let on = |shot: &ShotId| -> anyhow::Result<&Value> {
        items
            .iter()
            .find(|i| i["shot_id"] == shot.as_str())
            .with_context(|| format!("no item for {shot}: {seen}"))
    };
    assert_eq!(
        marker_threads(&on(&stable_close)?["markers"]),
        vec![shot_thread.id.to_string()]
    );
    assert_eq!(on(&stable_close)?["markers"][0]["comment"], on_shot);
    assert_eq!(
        marker_threads(&on(&field_wide)?["markers"]),
        vec![script_thread.id.to_string()]
    );
    assert_eq!(on(&field_wide)?["markers"][0]["comment"], on_script);
    assert!(marker_threads(&on(&stable_wide)?["markers"]).is_empty());
    assert!(
        marker_threads(&on(&guan_yu)?["markers"]).is_empty(),
        "the resolved thread is no marker: {seen}"
    );
    assert_eq!(
        marker_threads(&seen["stack"]),
        vec![project_thread.id.to_string()]
    );
    assert_eq!(seen["stack"][0]["comment"], on_project);
    assert!(!std::fs::read_to_string(&otio)?.contains(resolved));

    // EDL: the same notes as locators on their events, as pycmx reads them; the project
    // thread goes on the first event (a CMX3600 list has no place for the whole timeline).
    let edl = write("board.edl", &studio.export_ok(&vic, "edl").await?)?;
    let seen = reader("edl_locators", &edl)?;
    let events = seen["events"].as_array().context("events")?;
    assert_eq!(events.len(), 4, "{seen}");
    let texts = |i: usize| -> Vec<String> {
        events[i]["locators"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["text"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        texts(0).len() == 1 && texts(0)[0].starts_with(on_project),
        "{seen}"
    );
    assert!(
        texts(1).len() == 1 && texts(1)[0].starts_with(on_shot),
        "{seen}"
    );
    assert!(
        texts(2).len() == 1 && texts(2)[0].starts_with(on_script),
        "{seen}"
    );
    assert!(texts(3).is_empty(), "{seen}");
    assert!(texts(1)[0].ends_with("— 林"), "{seen}");
    assert!(!std::fs::read_to_string(&edl)?.contains(resolved));

    // The review report as a PDF: it renders, holds every thread's text (resolved included,
    // marked so), the version, and the shot's frame read from the object store.
    let pdf_bytes = studio.export_ok(&lin, "review-pdf").await?;
    assert!(pdf_bytes.starts_with(b"%PDF-"));
    let pdf = write("review.pdf", &pdf_bytes)?;
    let png = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&png)
        .status()
        .context("pdftoppm runs (poppler-utils, installed by `cargo xtask test`)")?;
    ensure!(status.success(), "pdftoppm failed");
    ensure!(std::fs::metadata(png.with_extension("png"))?.len() > 1000);
    let text = poppler("pdftotext", &["-enc", "UTF-8"], &pdf)?;
    // pdftotext may break a long line where the report wrapped it: compare without breaks.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        on_shot,
        on_script,
        on_project,
        resolved,
        "Draft 1 给导演",
        "Resolved by Olga",
        "“dawn”",
    ] {
        assert!(flat.contains(expected), "{expected:?} missing in:\n{text}");
    }
    let images = poppler("pdfimages", &["-list"], &pdf)?;
    assert_eq!(
        images
            .lines()
            .skip(2)
            .filter(|l| l.contains(" image "))
            .count(),
        1,
        "the one frame on a thread's shot: {images}"
    );

    // The review report as HTML: every text escaped, the frame embedded (no token in the page).
    let html = String::from_utf8(studio.export_ok(&vic, "review-html").await?)?;
    assert!(html.contains("Too dark: 太暗了 &lt;b&gt;&amp;&lt;/b&gt; &quot;lift it&quot;"));
    assert!(!html.contains("<b>&</b>"));
    for expected in [on_script, on_project, resolved, "Draft 1 给导演"] {
        assert!(html.contains(expected), "{expected:?} missing");
    }
    assert!(html.contains("src=\"data:image/png;base64,"));
    assert!(!html.contains(&vic) && !html.contains("token="));

    // An unknown format is refused with the list, and changes nothing.
    let (status, body) = studio.export(&vic, "review-docx").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let body: ApiErrorBody = serde_json::from_slice(&body)?;
    assert_eq!(body.code, ErrorCode::BadRequest);
    for format in ["otio", "edl", "fcp7", "fcpxml", "review-html", "review-pdf"] {
        assert!(body.error.contains(format), "{}", body.error);
    }

    board.close().await;
    studio.server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_exports_on_sqlite() -> anyhow::Result<()> {
    review_travels_with_the_exports(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_exports_on_postgres() -> anyhow::Result<()> {
    let url = fresh_postgres_schema().await?;
    let result = review_travels_with_the_exports(Some(url.clone())).await;
    drop_postgres_schema(&url).await?;
    result
}
