//! End-to-end sync over real WebSockets on loopback: convergence, acks, awareness, roles,
//! offline merge, slow clients and keepalive.

use std::time::Duration;

use sync_server::auth::Role;
use sync_server::test_support::{TestServer, WsClient};
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message};
use yrs::updates::encoder::Encode;
use yrs::{Map, MapPrelim, ReadTxn, Transact, WriteTxn};

const WAIT: Duration = Duration::from_secs(10);

fn awareness_frame(client: u64, clock: u32, json: &str) -> Vec<u8> {
    let mut update = AwarenessUpdate {
        clients: Default::default(),
    };
    update.clients.insert(
        yrs::ClientID::new(client),
        AwarenessUpdateEntry {
            clock,
            json: json.into(),
        },
    );
    Message::Awareness(update).encode_v1()
}

fn shot_ids(client: &WsClient) -> Vec<String> {
    let txn = client.doc.transact();
    let mut ids: Vec<String> = txn
        .get_map("shots")
        .map(|m| m.keys(&txn).map(str::to_owned).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_converge_and_get_acks() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let editor = server.token(&project, Role::Editor, None);
    let mut a = WsClient::connect_synced(&server.ws_url(project.as_str(), &owner)).await?;
    let mut b = WsClient::connect_synced(&server.ws_url(project.as_str(), &editor)).await?;

    a.append_script("INT. SHIP - NIGHT\n").await?;
    b.edit(|txn| {
        let shots = txn.get_or_insert_map("shots");
        shots.insert(
            txn,
            "shot-1",
            MapPrelim::from([("description", "Wide on the deck")]),
        );
    })
    .await?;
    b.append_script("Ishmael looks out.\n").await?;

    // Each side gets its own edits echoed (the ack) and the other's.
    a.pump_until(WAIT, |c| c.updates_received >= 3).await?;
    b.pump_until(WAIT, |c| c.updates_received >= 3).await?;
    assert_eq!(a.script(), b.script());
    assert!(a.script().contains("INT. SHIP") && a.script().contains("Ishmael"));
    assert_eq!(shot_ids(&a), vec!["shot-1"]);
    assert_eq!(a.state_vector(), b.state_vector());

    // A late joiner gets everything in its initial sync.
    let c = WsClient::connect_synced(&server.ws_url(project.as_str(), &editor)).await?;
    assert_eq!(c.script(), a.script());
    assert_eq!(shot_ids(&c), vec!["shot-1"]);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awareness_is_relayed_and_removed_when_a_connection_closes() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let url = server.ws_url(project.as_str(), &owner);
    let mut a = WsClient::connect_synced(&url).await?;
    let mut b = WsClient::connect_synced(&url).await?;

    a.send_raw(awareness_frame(1001, 1, r#"{"user":{"name":"Ann"}}"#))
        .await?;
    b.pump_until(WAIT, |c| c.awareness_received >= 1).await?;

    // A newcomer receives the current awareness states right after the server's step 1.
    let mut c = WsClient::connect(&url).await?;
    c.pump_until(WAIT, |c| c.synced && c.awareness_received >= 1)
        .await?;

    // Query-awareness is answered with the states.
    let before = c.awareness_received;
    c.send_raw(vec![3]).await?;
    c.pump_until(WAIT, |c| c.awareness_received > before)
        .await?;

    // When A goes away, the others are told its state is gone.
    a.close().await;
    let before = b.awareness_received;
    b.pump_until(WAIT, |c| c.awareness_received > before)
        .await?;
    let d = WsClient::connect(&url).await?;
    let mut d = d;
    d.pump_for(Duration::from_millis(300)).await?;
    assert!(d.synced);
    assert_eq!(
        d.awareness_received, 0,
        "a closed connection's awareness must not be served to newcomers"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_and_commenter_writes_are_refused_and_never_reach_anyone() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let doc = project.as_str();
    let review = format!("{project}.review");
    let viewer = server.token(&project, Role::Viewer, Some(i64::MAX));
    let commenter = server.token(&project, Role::Commenter, None);

    let mut editor = WsClient::connect_synced(&server.ws_url(doc, &owner)).await?;
    let mut v = WsClient::connect_synced(&server.ws_url(doc, &viewer)).await?;
    let mut c = WsClient::connect_synced(&server.ws_url(doc, &commenter)).await?;

    v.append_script("VIEWER WAS HERE").await?;
    c.append_script("COMMENTER WAS HERE").await?;
    v.pump_until(WAIT, |c| !c.denied.is_empty()).await?;
    c.pump_until(WAIT, |c| !c.denied.is_empty()).await?;
    assert!(v.denied[0].contains("viewer"), "{:?}", v.denied);
    assert!(c.denied[0].contains("commenter"), "{:?}", c.denied);

    // Reads still work for them, and the owner's edit after theirs is all anyone sees.
    editor.append_script("owner text").await?;
    v.pump_until(WAIT, |c| c.script().contains("owner text"))
        .await?;
    c.pump_until(WAIT, |c| c.script().contains("owner text"))
        .await?;
    editor.pump_for(Duration::from_millis(200)).await?;
    assert_eq!(editor.script(), "owner text");
    assert_eq!(editor.updates_received, 1, "only the owner's own echo");

    // Nothing refused reached the store either.
    let stored = server.state.store().load_doc(doc).await?;
    assert_eq!(stored.tail.len(), 1);
    let fresh = WsClient::connect_synced(&server.ws_url(doc, &owner)).await?;
    assert_eq!(fresh.script(), "owner text");

    // Nobody writes the review document over the wire, not even its owner: the server writes
    // it through the review API, which sets each comment's author. A writer's update is
    // refused, never stored, and never reaches a reader.
    let mut reader = WsClient::connect_synced(&server.ws_url(&review, &viewer)).await?;
    for token in [&commenter, &owner] {
        let mut writer = WsClient::connect_synced(&server.ws_url(&review, token)).await?;
        writer.append_script("a forged comment").await?;
        writer.pump_until(WAIT, |c| !c.denied.is_empty()).await?;
        assert!(
            writer.denied[0].contains("review API"),
            "{:?}",
            writer.denied
        );
        writer.close().await;
    }
    reader.pump_for(Duration::from_millis(200)).await?;
    assert_eq!(reader.script(), "");
    assert_eq!(reader.updates_received, 0);
    let stored = server.state.store().load_doc(&review).await?;
    assert!(stored.tail.is_empty() && stored.snapshot.is_none());
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_merge_on_reconnect() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let url = server.ws_url(project.as_str(), &owner);
    let mut a = WsClient::connect_synced(&url).await?;
    let mut b = WsClient::connect_synced(&url).await?;
    a.append_script("Call me Ishmael. ").await?;
    b.pump_until(WAIT, |c| c.script().contains("Ishmael"))
        .await?;
    a.pump_until(WAIT, |c| c.updates_received >= 1).await?;

    // A goes offline and keeps editing its own copy of the document.
    let offline_doc = a.doc.clone();
    a.close().await;
    {
        use yrs::Text;
        let mut txn = offline_doc.transact_mut();
        let script = txn.get_or_insert_text("script");
        script.insert(&mut txn, 0, "[offline A] ");
        let shots = txn.get_or_insert_map("shots");
        shots.insert(
            &mut txn,
            "shot-a",
            MapPrelim::from([("description", "from the train")]),
        );
    }
    // Meanwhile B edits online.
    b.append_script("Some years ago. ").await?;
    b.edit(|txn| {
        let shots = txn.get_or_insert_map("shots");
        shots.insert(txn, "shot-b", MapPrelim::from([("description", "online")]));
    })
    .await?;
    b.pump_until(WAIT, |c| c.updates_received >= 3).await?;

    // A reconnects with its offline document: step 1 / step 2 both ways.
    let mut a = WsClient::connect_with_doc(&url, offline_doc).await?;
    a.wait_synced().await?;
    b.pump_until(WAIT, |c| c.script().contains("[offline A]"))
        .await?;
    a.pump_for(Duration::from_millis(200)).await?;
    assert_eq!(a.script(), b.script());
    assert!(a.script().contains("Some years ago"));
    assert_eq!(shot_ids(&a), vec!["shot-a", "shot-b"]);
    assert_eq!(shot_ids(&b), vec!["shot-a", "shot-b"]);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_falls_behind_is_closed_not_skipped() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.send_queue_len = 64).await;
    let (project, owner) = server.project().await;
    let url = server.ws_url(project.as_str(), &owner);
    let mut slow = WsClient::connect_synced(&url).await?;
    let mut writer = WsClient::connect_synced(&url).await?;

    // The slow client stops reading while the writer sends far more than socket buffers and
    // its 64-frame queue hold (1500 x 16 KiB = 24 MiB).
    let chunk = "x".repeat(16 * 1024);
    let mut sent = 0;
    while sent < 1500 {
        writer.append_script(&chunk).await?;
        sent += 1;
        // The writer waits for each echo, so only the slow client falls behind.
        writer
            .pump_until(WAIT, |c| c.updates_received >= sent)
            .await?;
    }

    // Reading again, the slow client finds a clear close after the frames it did get.
    let closed = slow.wait_closed(Duration::from_secs(30)).await?;
    assert_eq!(closed.code, 1013, "{closed:?}");
    assert!(closed.reason.contains("fell behind"), "{closed:?}");
    assert!(slow.updates_received < 1500);

    // Nothing was lost on the server side: reconnecting resyncs all of it. (Checked through
    // the store, since the 24 MiB initial sync exceeds the test client's message limit.)
    let stored = server.state.store().load_doc(project.as_str()).await?;
    let state = sync_server::protocol::DocState::load(
        stored.snapshot.as_deref(),
        stored.tail.iter().map(|(_, u)| u.as_slice()),
    )?;
    let len = {
        use yrs::{GetString, ReadTxn, Transact};
        let txn = state.doc().transact();
        txn.get_text("script").map(|t| t.get_string(&txn).len())
    };
    assert_eq!(len, Some(chunk.len() * 1500));
    // The writer was never affected.
    assert!(writer.closed.is_none());
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_get_keepalives() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.keepalive_secs = 1).await;
    let (project, owner) = server.project().await;
    let mut a = WsClient::connect_synced(&server.ws_url(project.as_str(), &owner)).await?;
    a.pump_for(Duration::from_millis(3500)).await?;
    // Empty awareness messages: visible to y-websocket's idle timer, changing nothing.
    assert!(a.awareness_received >= 2, "got {}", a.awareness_received);
    assert!(a.closed.is_none());
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_with_going_away() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let mut a = WsClient::connect_synced(&server.ws_url(project.as_str(), &owner)).await?;
    a.append_script("before shutdown").await?;
    a.pump_until(WAIT, |c| c.updates_received >= 1).await?;
    let stop = tokio::spawn(server.stop());
    let closed = a.wait_closed(WAIT).await?;
    assert_eq!(closed.code, 1001, "{closed:?}");
    stop.await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_model_client_interoperates_with_raw_yrs_clients() -> anyhow::Result<()> {
    use shared_model::{NewScene, NewShot, Project, ProjectOptions};
    let server = TestServer::start().await;
    let (project_id, owner) = server.project().await;
    let url = server.ws_url(project_id.as_str(), &owner);

    let project = Project::empty(ProjectOptions::default());
    let mut typed = WsClient::connect_with_doc(&url, project.doc().clone()).await?;
    typed.wait_synced().await?;
    let mut raw = WsClient::connect_synced(&url).await?;

    typed
        .send_changes(|| {
            project.script_insert(0, "EXT. HARBOUR - DAY\n");
            let scene = project.add_scene(&NewScene {
                title: "Harbour".into(),
                ..NewScene::default()
            });
            project
                .add_shot(
                    &scene,
                    &NewShot {
                        description: "Ships at anchor".into(),
                        ..NewShot::default()
                    },
                )
                .expect("shot added");
        })
        .await?;
    raw.pump_until(WAIT, |c| c.script().contains("HARBOUR"))
        .await?;
    raw.append_script("Gulls.\n").await?;
    typed
        .pump_until(WAIT, |_| project.script_text().contains("Gulls"))
        .await?;
    assert_eq!(project.script_text(), raw.script());
    let shots = project.shots();
    assert_eq!(shots.len(), 1);
    assert_eq!(shots[0].description, "Ships at anchor");
    assert_eq!(shot_ids(&raw), vec![shots[0].id.to_string()]);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_sent_just_before_a_disconnect_are_kept() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, owner) = server.project().await;
    let url = server.ws_url(project.as_str(), &owner);
    let mut reader = WsClient::connect_synced(&url).await?;
    for round in 0..3 {
        // Fire a burst of edits and close at once (politely, as y-websocket's `destroy()`
        // does), without waiting for acks: the room still holds many of them in its inbox
        // when it notices the connection is gone. (An abrupt TCP reset is different: unread
        // data dies in the kernel, nothing was acknowledged, and the client resyncs it on
        // its next connection.)
        let mut writer = WsClient::connect_synced(&url).await?;
        for i in 0..1000 {
            writer.append_script(&format!("<{round}.{i}>")).await?;
        }
        writer.close().await;
        let last = format!("<{round}.999>");
        reader
            .pump_until(WAIT, |c| c.script().contains(&last))
            .await?;
    }
    let script = reader.script();
    for round in 0..3 {
        for i in 0..1000 {
            assert!(
                script.contains(&format!("<{round}.{i}>")),
                "lost <{round}.{i}>"
            );
        }
    }
    server.stop().await;
    Ok(())
}
