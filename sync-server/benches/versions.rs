//! Versions benchmark: `cargo bench -p sync-server --bench versions`.
//!
//! The whole of 《三国演义》 (all 120 chapters, about 600k characters of script) with 3,000
//! shots in 120 scenes (built as `shared-model/benches/project.rs` builds it), served by an
//! in-process server on SQLite with a client connected:
//!
//! 1. naming a version: `POST .../versions` round trip over loopback (an upper bound of the
//!    server's time: catching the replica up, encoding, compressing, storing). Target ≤ 50 ms.
//! 2. the diff of two versions (30 shots changed between them): `GET .../diff`. Target ≤ 200 ms.
//! 3. a restore reaching a connected client: from sending `POST .../restore` until the
//!    client's replica shows the restored shots. Target ≤ 300 ms.
//!
//! and the bytes stored per version beside the document's encoded size. A plain binary (not a
//! statistics harness): each step runs a handful of times and the runs are listed.

use std::time::{Duration, Instant};

use api_types::{Restored, VersionDiff, VersionInfo};
use serde_json::json;
use shared_model::testing::load_novel;
use shared_model::{
    MetaPatch, NewCharacter, NewScene, NewShot, Project, ProjectOptions, ShotPatch,
};
use sync_server::test_support::{TestServer, WsClient};

const SHOTS: usize = 3_000;
const SCENES: usize = 120;
const RUNS: usize = 7;

/// The full-novel project, as shared-model's benchmark builds it.
fn sanguo() -> Project {
    let novel = load_novel("sanguo-full.zh.txt");
    let project = Project::create(
        &MetaPatch {
            title: Some("三国演义".into()),
            language: Some("zh".into()),
            ..Default::default()
        },
        ProjectOptions::default(),
    );
    project.script_insert(0, &novel);
    let characters: Vec<_> = ["刘备", "关羽", "张飞", "曹操", "诸葛亮", "孙权"]
        .iter()
        .map(|name| {
            project.add_character(&NewCharacter {
                name: (*name).into(),
                ..Default::default()
            })
        })
        .collect();
    for s in 0..SCENES {
        let scene = project.add_scene(&NewScene {
            title: format!("第{}回", s + 1),
            ..Default::default()
        });
        for i in 0..SHOTS / SCENES {
            let new = NewShot {
                description: format!(
                    "第{}回 第{}镜：玄德引关、张二人，于桃园中结义。",
                    s + 1,
                    i + 1
                ),
                dialogue: "念刘备、关羽、张飞，虽然异姓，既结为兄弟，则同心协力。".into(),
                framing: "wide".into(),
                character_ids: characters[..(i % 4) + 1].to_vec(),
                ..Default::default()
            };
            project.add_shot(&scene, &new).expect("scene exists");
        }
    }
    project
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, runs: &mut [Duration], target_ms: f64) {
    runs.sort();
    let list: Vec<String> = runs.iter().map(|d| format!("{:.1}", ms(*d))).collect();
    println!(
        "{what}: median {:.1} ms, max {:.1} ms (target ≤ {target_ms} ms); runs: {}",
        ms(runs[runs.len() / 2]),
        ms(runs[runs.len() - 1]),
        list.join(" ")
    );
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<T> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        Ok(response.json().await?)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        Ok(response.json().await?)
    }
}

/// Sends what `change` does to the client's replica and waits for the server's echo.
async fn edit(client: &mut WsClient, change: impl FnOnce(&Project)) -> anyhow::Result<()> {
    let project = Project::from_doc(client.doc.clone());
    let before = client.updates_received;
    client.send_changes(|| change(&project)).await?;
    client
        .pump_until(Duration::from_secs(30), |c| c.updates_received > before)
        .await
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    // The server's own account of each version (catch-up, read + compress, total) on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sync_server::versions=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let built = Instant::now();
    let doc = sanguo();
    let state = doc.encode_state();
    println!(
        "三国演义: {} shots, script {} characters, document {} bytes (built in {:.1} s)",
        doc.shots().len(),
        doc.script_text().chars().count(),
        state.len(),
        built.elapsed().as_secs_f64()
    );
    // Where a version's time goes, outside the server: reading the replica, compressing.
    let timed = |what: &str, f: &dyn Fn() -> usize| {
        let started = Instant::now();
        let n = f();
        println!("  {what}: {:.1} ms ({n})", ms(started.elapsed()));
    };
    timed("encode the state", &|| doc.encode_state().len());
    timed("count the shots", &|| doc.shots().len());
    for level in [1, 6] {
        timed(&format!("deflate level {level}"), &|| {
            use std::io::Write;
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(&state).expect("deflate");
            e.finish().expect("deflate").len()
        });
    }
    timed("load the state", &|| {
        Project::load(&state, ProjectOptions::default())
            .expect("load")
            .shots()
            .len()
    });
    timed("snapshot", &|| doc.snapshot().shots.len());

    let server = TestServer::start().await;
    let (project, token) = server.project().await;
    server
        .state
        .store()
        .write_snapshot(project.as_str(), 0, &state)
        .await?;
    let api = Api {
        http: reqwest::Client::new(),
        base: server.http(&format!("/api/projects/{project}")),
        token: token.clone(),
    };
    let mut client = WsClient::connect_synced(&server.ws_url(project.as_str(), &token)).await?;
    let shots: Vec<_> = Project::from_doc(client.doc.clone())
        .shots()
        .into_iter()
        .map(|s| s.id)
        .collect();

    // 1. Naming (the first call also joins the server's document peer: reported apart).
    let started = Instant::now();
    let first: VersionInfo = api.post("/versions", json!({"name": "warm-up"})).await?;
    println!(
        "first version (joins the server's peer): {:.1} ms",
        ms(started.elapsed())
    );
    let mut runs = Vec::new();
    let mut named = Vec::new();
    for i in 0..RUNS {
        let started = Instant::now();
        let v: VersionInfo = api
            .post("/versions", json!({"name": format!("v{i}")}))
            .await?;
        runs.push(started.elapsed());
        named.push(v);
    }
    report("name a version (POST round trip)", &mut runs, 50.0);
    // The same in the server's process, without HTTP: what the server spends.
    let peer = server.state.jobs().peer(&project).await?;
    let archive = sync_server::versions::Archive::of(&server.state);
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let started = Instant::now();
        archive
            .take(
                &peer,
                format!("direct {i}"),
                None,
                api_types::VersionKind::Named,
                sync_server::versions::server_author(),
            )
            .await?;
        runs.push(started.elapsed());
    }
    report("name a version (server time, in process)", &mut runs, 50.0);
    println!(
        "bytes per version: {} stored (deflate) for a {} byte state ({:.0}%), in the {}",
        first.stored_bytes,
        first.state_bytes,
        first.stored_bytes as f64 * 100.0 / first.state_bytes as f64,
        if first.stored_bytes as usize > sync_server::versions::INLINE_LIMIT {
            "object store"
        } else {
            "database row"
        }
    );

    // 2. Diff: 30 shots in 30 scenes changed between two versions.
    let v1 = named[0].clone();
    let changed: Vec<_> = shots.iter().step_by(100).cloned().collect();
    edit(&mut client, |p| {
        for (i, shot) in changed.iter().enumerate() {
            p.update_shot(
                shot,
                &ShotPatch {
                    description: Some(format!("改过的第{i}镜")),
                    camera: Some("slow push in".into()),
                    ..Default::default()
                },
            )
            .expect("shot");
        }
    })
    .await?;
    let v2: VersionInfo = api.post("/versions", json!({"name": "v2"})).await?;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let diff: VersionDiff = api
            .get(&format!("/diff?from={}&to={}", v1.id, v2.id))
            .await?;
        runs.push(started.elapsed());
        anyhow::ensure!(
            diff.shots.len() == changed.len(),
            "{} shots",
            diff.shots.len()
        );
    }
    report("diff of two versions (GET round trip)", &mut runs, 200.0);
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let _: VersionDiff = api.get(&format!("/diff?from={}", v1.id)).await?;
        runs.push(started.elapsed());
    }
    report("diff of a version and now", &mut runs, 200.0);

    // 3. Restore, alternately v1 and v2, until the connected client has it.
    let probe = changed[0].clone();
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let (target, want) = if i % 2 == 0 {
            (&v1, "第1回 第1镜：玄德引关、张二人，于桃园中结义。")
        } else {
            (&v2, "改过的第0镜")
        };
        let started = Instant::now();
        let _: Restored = api
            .post(&format!("/versions/{}/restore", target.id), json!({}))
            .await?;
        client
            .pump_until(Duration::from_secs(30), |c| {
                Project::from_doc(c.doc.clone())
                    .shot(&probe)
                    .is_some_and(|s| s.description == want)
            })
            .await?;
        runs.push(started.elapsed());
    }
    report(
        "restore until a connected client has it (incl. the automatic version)",
        &mut runs,
        300.0,
    );
    let live = Project::from_doc(client.doc.clone()).encode_state().len();
    println!(
        "document after {RUNS} restores: {live} bytes (was {}); versions kept: {}",
        state.len(),
        api.get::<Vec<VersionInfo>>("/versions").await?.len()
    );
    client.close().await;
    server.stop().await;
    Ok(())
}
