//! Interop with the real npm client: `yjs@13` + `y-websocket@3.0.0` in Node, next to a
//! native Rust client using shared-model's document. Needs `npm ci` in `tests/interop`.
//! `client.mjs` runs one plan and prints its final state; `peer.mjs` is driven command by
//! command, for interleavings such as going offline, editing and reconnecting.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shared_model::{NewScene, NewShot, Project, ProjectOptions, ProseField};
use sync_server::auth::Role;
use sync_server::test_support::{TestServer, WsClient};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use yrs::{Map, ReadTxn, Transact};

fn interop_dir() -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop");
    if !dir.join("node_modules/y-websocket").is_dir() {
        bail!(
            "tests/interop/node_modules is missing: run `npm ci --prefix {}` first",
            dir.display()
        );
    }
    Ok(dir)
}

/// Runs `client.mjs` with `plan` and returns the final state it printed.
async fn run_node(plan: Value) -> anyhow::Result<Value> {
    let dir = interop_dir()?;
    let output = Command::new("node")
        .arg("client.mjs")
        .arg(plan.to_string())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("running node (is Node 20+ installed?)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "node client {} failed: {}\nstdout: {stdout}\nstderr: {stderr}",
            plan["name"],
            output.status
        );
    }
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .with_context(|| format!("node printed {stdout:?}, stderr {stderr:?}"))
}

/// The shots root as `{id: description}`, read with raw yrs so JS-written shots count too.
fn shot_descriptions(doc: &yrs::Doc) -> Value {
    let txn = doc.transact();
    let mut out = serde_json::Map::new();
    if let Some(shots) = txn.get_map("shots") {
        for (id, value) in shots.iter(&txn) {
            let description = match value {
                yrs::Out::YMap(shot) => shot
                    .get(&txn, "description")
                    .map(|d| d.to_string(&txn))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            out.insert(id.to_owned(), Value::String(description));
        }
    }
    Value::Object(out)
}

fn js_shot_descriptions(state: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (id, shot) in state["shots"].as_object().into_iter().flatten() {
        out.insert(id.clone(), shot["description"].clone());
    }
    Value::Object(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_clients_and_a_rust_client_converge_and_a_viewer_is_refused() -> anyhow::Result<()> {
    interop_dir()?;
    // Server logs (connections, closes and their reasons) appear with the test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("sync_server=info")
        .with_test_writer()
        .try_init();
    let server = TestServer::start().await;
    let (project_id, owner) = server.project().await;
    let doc = project_id.as_str();
    let editor = server.token(&project_id, Role::Editor, None);
    let viewer = server.token(&project_id, Role::Viewer, None);
    let ws_base = format!("ws://{}/sync", server.addr);

    // First the viewer: it edits, and only returns once the server has refused the edit.
    let viewer_state = run_node(json!({
        "server": ws_base, "doc": doc, "token": viewer, "name": "viewer",
        "script": "VIEWER-EDIT ", "shot": { "id": "viewer-shot", "description": "nope" },
        "expectDenied": true,
    }))
    .await?;
    let denied = viewer_state["denied"].as_array().context("denied")?;
    assert!(
        !denied.is_empty(),
        "viewer saw no permission-denied message: {viewer_state}"
    );
    assert!(denied[0].as_str().unwrap_or_default().contains("viewer"));

    // Then two npm clients and the Rust client edit concurrently; each waits for all three.
    let expect_script = json!(["[js-a]", "[js-b]", "[rust]"]);
    let expect_shots = json!(["shot-js-a", "shot-js-b"]);
    let js_a = tokio::spawn(run_node(json!({
        "server": ws_base, "doc": doc, "token": owner, "name": "js-a",
        "script": "[js-a] Call me Ishmael. ", "shot": { "id": "shot-js-a", "description": "Deck, wide" },
        "expectScript": expect_script, "expectShots": expect_shots,
    })));
    let js_b = tokio::spawn(run_node(json!({
        "server": ws_base, "doc": doc, "token": editor, "name": "js-b",
        "script": "[js-b] Some years ago. ", "shot": { "id": "shot-js-b", "description": "Harbour, close" },
        "expectScript": expect_script, "expectShots": expect_shots,
    })));

    let project = Project::empty(ProjectOptions::default());
    let mut rust =
        WsClient::connect_with_doc(&server.ws_url(doc, &editor), project.doc().clone()).await?;
    rust.wait_synced().await?;
    rust.send_changes(|| {
        project.script_insert(project.script_len(), "[rust] Never mind how long. ");
        let scene = project.add_scene(&NewScene {
            title: "Deck".into(),
            ..NewScene::default()
        });
        project
            .add_shot(
                &scene,
                &NewShot {
                    description: "Rust shot".into(),
                    ..NewShot::default()
                },
            )
            .expect("shot added");
    })
    .await?;
    let converged = rust
        .pump_until(Duration::from_secs(30), |c| {
            let script = c.script();
            ["[js-a]", "[js-b]"].iter().all(|m| script.contains(m))
                && shot_descriptions(&c.doc)
                    .as_object()
                    .is_some_and(|s| s.len() == 3)
        })
        .await;
    if let Err(e) = converged {
        let stored = server.state.store().load_doc(doc).await?;
        let state = sync_server::protocol::DocState::load(
            stored.snapshot.as_deref(),
            stored.tail.iter().map(|(_, u)| u.as_slice()),
        )?;
        // Say as much as possible about a failure that may be rare.
        let a = tokio::time::timeout(Duration::from_secs(5), js_a).await;
        let b = tokio::time::timeout(Duration::from_secs(5), js_b).await;
        bail!(
            "{e}\nrust shots {}\nstored shots {}\npending in rust doc: {:?}\njs-a: {a:?}\njs-b: {b:?}",
            shot_descriptions(&rust.doc),
            shot_descriptions(state.doc()),
            rust.doc.transact().has_missing_updates()
        );
    }

    let a = js_a.await??;
    let b = js_b.await??;
    // The Rust client may still be receiving the last JS echo; give it a moment.
    rust.pump_for(Duration::from_millis(300)).await?;
    let rust_shots = shot_descriptions(&rust.doc);
    assert_eq!(a["script"], b["script"], "npm clients diverged");
    assert_eq!(
        a["script"].as_str(),
        Some(rust.script().as_str()),
        "rust diverged"
    );
    assert_eq!(project.script_text(), rust.script());
    assert_eq!(js_shot_descriptions(&a), rust_shots);
    assert_eq!(js_shot_descriptions(&b), rust_shots);
    assert_eq!(rust_shots.as_object().map(|s| s.len()), Some(3));
    // The typed view sees the shot the Rust client wrote (the bare JS shots have no position
    // or scene, so what shared-model makes of them is its own business).
    assert!(project.shots().iter().any(|s| s.description == "Rust shot"));

    // The viewer's edit reached nobody and nothing stored.
    for state in [&a, &b] {
        assert!(
            !state["script"]
                .as_str()
                .unwrap_or_default()
                .contains("VIEWER")
        );
        assert!(state["shots"].get("viewer-shot").is_none());
    }
    assert!(!rust.script().contains("VIEWER"));
    let fresh = WsClient::connect_synced(&server.ws_url(doc, &owner)).await?;
    assert_eq!(fresh.script(), rust.script());
    assert!(shot_descriptions(&fresh.doc).get("viewer-shot").is_none());

    // Awareness crossed between the npm clients: each sent its presence before its edit, and
    // the server relays in order, so seeing the other's edit means having seen its presence.
    let peers = |s: &Value| -> Vec<String> {
        s["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect()
    };
    assert!(peers(&a).contains(&"js-b".to_owned()), "{a}");
    assert!(peers(&b).contains(&"js-a".to_owned()), "{b}");
    server.stop().await;
    Ok(())
}

/// `peer.mjs`: an npm client that answers one JSON line per command (see the script).
struct NodePeer {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl NodePeer {
    async fn start(config: Value) -> anyhow::Result<Self> {
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .arg(config.to_string())
            .current_dir(interop_dir()?)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("running node (is Node 20+ installed?)")?;
        let stdin = child.stdin.take().context("node stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("node stdout")?).lines();
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Sends one command and returns its answer; an answer with `ok: false` is an error.
    async fn send(&mut self, command: Value) -> anyhow::Result<Value> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        let line = tokio::time::timeout(Duration::from_secs(30), self.stdout.next_line())
            .await
            .with_context(|| format!("node peer did not answer {command}"))??
            .with_context(|| format!("node peer exited before answering {command}"))?;
        let answer: Value =
            serde_json::from_str(&line).with_context(|| format!("node peer printed {line:?}"))?;
        if answer["ok"] != true {
            bail!("node peer failed {command}: {answer}");
        }
        Ok(answer)
    }

    async fn exit(mut self) -> anyhow::Result<()> {
        self.send(json!({"cmd": "exit"})).await?;
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await??;
        anyhow::ensure!(status.success(), "node peer exited with {status}");
        Ok(())
    }
}

/// Two clients edit the same shot's description (then its dialogue) while one of them is
/// offline; after reconnecting through the server both edits are in the text on both sides.
/// The document starts as a stored schema-1 document, which the server converts on load, so
/// the npm client edits texts the conversion created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_of_one_description_from_yjs_and_rust_both_survive() -> anyhow::Result<()> {
    interop_dir()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter("sync_server=info")
        .with_test_writer()
        .try_init();
    let server = TestServer::start().await;
    let (project_id, owner) = server.project().await;
    let doc = project_id.as_str();
    // What an import stores: the document as the project's first snapshot.
    let schema1 = include_bytes!("../../shared-model/tests/data/schema1.ydoc");
    server.state.store().write_snapshot(doc, 0, schema1).await?;
    let url = server.ws_url(doc, &owner);

    let project = Project::empty(ProjectOptions::default());
    let mut rust = WsClient::connect_with_doc(&url, project.doc().clone()).await?;
    rust.wait_synced().await?;
    assert_eq!(
        project.meta().schema_version,
        shared_model::schema::SCHEMA_VERSION
    );
    let lantern = "Night. A lantern sways in the wind.";
    let shot = project
        .shots()
        .into_iter()
        .find(|s| s.description == lantern)
        .context("the schema-1 shot")?
        .id;
    let description = ProseField::ShotDescription(shot.clone());
    let dialogue = ProseField::ShotDialogue(shot.clone());

    let mut js = NodePeer::start(json!({
        "server": format!("ws://{}/sync", server.addr), "doc": doc, "token": owner,
        "name": "js",
    }))
    .await?;
    js.send(json!({"cmd": "synced"})).await?;
    let read = js
        .send(json!({"cmd": "read", "shot": shot.as_str(), "field": "description"}))
        .await?;
    assert_eq!(read["kind"], "text", "the server did not convert: {read}");
    assert_eq!(read["text"], lantern);

    // Round 1: the npm client goes offline and appends; meanwhile the Rust client, online,
    // rewrites the whole value as a form does, which is stored before the npm client is back.
    js.send(json!({"cmd": "offline"})).await?;
    js.send(
        json!({"cmd": "insert", "shot": shot.as_str(), "field": "description",
        "text": " Rain falls."}),
    )
    .await?;
    let echoes = rust.updates_received;
    rust.send_changes(|| {
        project
            .set_shot_description(&shot, "Night. A red lantern sways in the wind.")
            .expect("shot exists");
    })
    .await?;
    rust.pump_until(Duration::from_secs(10), |c| c.updates_received > echoes)
        .await?;
    js.send(json!({"cmd": "online"})).await?;
    let both = "Night. A red lantern sways in the wind. Rain falls.";
    let seen = js
        .send(
            json!({"cmd": "wait", "shot": shot.as_str(), "field": "description",
            "contains": ["red lantern", "Rain falls."]}),
        )
        .await?;
    assert_eq!(seen["text"], both);
    rust.pump_until(Duration::from_secs(10), |_| {
        project.prose(&description).as_deref() == Some(both)
    })
    .await?;

    // Round 2: the Rust client goes offline and edits the dialogue; the npm client, online,
    // edits it too; then the Rust client reconnects.
    rust.close().await;
    project
        .prose_insert(&dialogue, 0, "(whispering) ")
        .expect("shot exists");
    js.send(
        json!({"cmd": "insert", "shot": shot.as_str(), "field": "dialogue",
        "after": "\"Brothers!\"", "text": " Over here!"}),
    )
    .await?;
    let mut rust = WsClient::connect_with_doc(&url, project.doc().clone()).await?;
    rust.wait_synced().await?;
    let both = "(whispering) \"Brothers!\" Over here!";
    rust.pump_until(Duration::from_secs(10), |_| {
        project.prose(&dialogue).as_deref() == Some(both)
    })
    .await?;
    let seen = js
        .send(
            json!({"cmd": "wait", "shot": shot.as_str(), "field": "dialogue",
            "contains": ["(whispering)", "Over here!"]}),
        )
        .await?;
    assert_eq!(seen["text"], both);

    // A fresh client reading what the server stored agrees with both.
    let fresh = WsClient::connect_synced(&url).await?;
    let stored = Project::from_doc(fresh.doc.clone());
    assert_eq!(stored.prose(&description), project.prose(&description));
    assert_eq!(stored.prose(&dialogue).as_deref(), Some(both));
    assert_eq!(stored.snapshot(), project.snapshot());
    js.exit().await?;
    rust.close().await;
    fresh.close().await;
    server.stop().await;
    Ok(())
}
