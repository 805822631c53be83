//! The server converts a project document of an older schema exactly once: when its room
//! loads it, before anyone is served, durably, and never again after a restart. Review
//! documents are not project documents and are left alone.

use std::collections::BTreeSet;

use anyhow::Context;
use shared_model::schema::SCHEMA_VERSION;
use shared_model::yrs::{Any, Map, Out, ReadTxn, StateVector, Transact};
use shared_model::{Project, ProjectOptions};
use sync_server::test_support::{TestServer, WsClient};

/// A document written by the schema-1 build by clients 101 and 202 (see
/// `shared-model/tests/prose.rs`).
const SCHEMA1: &[u8] = include_bytes!("../../shared-model/tests/data/schema1.ydoc");

fn state_vector(doc: &yrs::Doc) -> StateVector {
    doc.transact().state_vector()
}

fn clients(doc: &yrs::Doc) -> BTreeSet<u64> {
    state_vector(doc).iter().map(|(c, _)| c.get()).collect()
}

/// How every shot stores its description: "text" or "string".
fn description_kinds(doc: &yrs::Doc) -> BTreeSet<&'static str> {
    let txn = doc.transact();
    let Some(shots) = txn.get_map("shots") else {
        return BTreeSet::new();
    };
    shots
        .iter(&txn)
        .map(|(_, shot)| match shot {
            Out::YMap(shot) => match shot.get(&txn, "description") {
                Some(Out::YText(_)) => "text",
                Some(Out::Any(Any::String(_))) => "string",
                _ => "other",
            },
            _ => "not a map",
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_document_is_converted_once_on_load_and_stored_before_anyone_sees_it()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let (project, owner) = server.project().await;
    let doc = project.as_str();
    server.state.store().write_snapshot(doc, 0, SCHEMA1).await?;
    let url = server.ws_url(doc, &owner);

    // Two clients join at the same moment: one room, one conversion, one server client id
    // beside the two that wrote the document.
    let (a, b) = tokio::join!(
        WsClient::connect_synced(&url),
        WsClient::connect_synced(&url)
    );
    let (a, b) = (a?, b?);
    assert_eq!(state_vector(&a.doc), state_vector(&b.doc));
    let ids = clients(&a.doc);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&101) && ids.contains(&202), "{ids:?}");
    let converted = Project::from_doc(a.doc.clone());
    assert_eq!(converted.meta().schema_version, SCHEMA_VERSION);
    assert_eq!(description_kinds(&a.doc), BTreeSet::from(["text"]));
    let descriptions: BTreeSet<String> = converted
        .shots()
        .into_iter()
        .map(|s| s.description)
        .collect();
    assert!(descriptions.contains("Night. A lantern sways in the wind."));
    assert!(descriptions.contains("Wide: three men under blossoming trees 🌸"));

    // What the clients were served is what the store holds, with nobody having edited.
    let stored = server.state.store().load_doc(doc).await?;
    assert!(
        stored.tail.is_empty(),
        "the conversion is stored as the snapshot"
    );
    let from_store = Project::load(
        stored.snapshot.as_deref().context("a snapshot")?,
        ProjectOptions::default(),
    )?;
    assert_eq!(state_vector(from_store.doc()), state_vector(&a.doc));
    assert_eq!(
        description_kinds(from_store.doc()),
        BTreeSet::from(["text"])
    );

    // After a restart the document loads as it is: no second conversion, no new items.
    let before = state_vector(&a.doc);
    a.close().await;
    b.close().await;
    server.stop().await;
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let again = WsClient::connect_synced(&server.ws_url(doc, &owner)).await?;
    assert_eq!(state_vector(&again.doc), before);
    let stored = server.state.store().load_doc(doc).await?;
    assert!(stored.tail.is_empty());

    // A review document holds no project schema: loading its room writes nothing.
    let review = format!("{doc}.review");
    let mut reviewer = WsClient::connect_synced(&server.ws_url(&review, &owner)).await?;
    reviewer
        .pump_for(std::time::Duration::from_millis(200))
        .await?;
    assert!(state_vector(&reviewer.doc).is_empty());
    let stored = server.state.store().load_doc(&review).await?;
    assert!(stored.snapshot.is_none() && stored.tail.is_empty());

    // An empty project document is stamped, so the first shots written into it are texts.
    let (fresh_project, fresh_owner) = server.project().await;
    let first =
        WsClient::connect_synced(&server.ws_url(fresh_project.as_str(), &fresh_owner)).await?;
    assert_eq!(
        Project::from_doc(first.doc.clone()).meta().schema_version,
        SCHEMA_VERSION
    );

    again.close().await;
    reviewer.close().await;
    first.close().await;
    server.stop().await;
    Ok(())
}
