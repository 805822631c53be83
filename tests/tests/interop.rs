//! Interop with the real npm client: `yjs@13` + `y-websocket@3.0.0` in Node, next to a
//! native Rust client using shared-model's document. Needs `npm ci` in `tests/interop`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shared_model::{NewScene, NewShot, Project, ProjectOptions};
use sync_server::auth::Role;
use sync_server::test_support::{TestServer, WsClient};
use tokio::process::Command;
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
