//! Persistence tests, written once and run against both SQLite (temp file) and the test
//! machine's Postgres (a fresh schema per test).

use std::time::Duration;

use api_types::{ErrorClass, JobId, JobKind, JobStatus, ProjectId, ShotId};
use sync_server::auth::Role;
use sync_server::config::Secret;
use sync_server::store::{AssetRow, JobEnd, JobRecord, Store};
use sync_server::test_support::{
    TestServer, WsClient, drop_postgres_schema, fresh_postgres_schema,
};

/// `both_dbs!(name)` turns `async fn name(db: &Db)` into `name::sqlite` and `name::postgres`.
macro_rules! both_dbs {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = super::Db::sqlite().await;
                super::$name(&db).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = super::Db::postgres().await;
                super::$name(&db).await;
                db.cleanup().await;
            }
        }
    )*};
}

/// A migrated, empty database and how to reach it again.
struct Db {
    store: Store,
    /// `Some(url)` for Postgres; SQLite lives in `dir`.
    url: Option<String>,
    dir: tempfile::TempDir,
}

impl Db {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::sqlite_file(&dir.path().join("shotweave.sqlite"))
            .await
            .expect("sqlite opens");
        store.migrate().await.expect("migrations run");
        Self {
            store,
            url: None,
            dir,
        }
    }

    async fn postgres() -> Self {
        let url = fresh_postgres_schema()
            .await
            .expect("test postgres is reachable");
        let store = Store::connect(&url).await.expect("postgres connects");
        store.migrate().await.expect("migrations run");
        Self {
            store,
            url: Some(url),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Drops the test's Postgres schema (a failed test leaves it behind for inspection).
    async fn cleanup(self) {
        self.store.close().await;
        if let Some(url) = &self.url {
            drop_postgres_schema(url).await.expect("drop test schema");
        }
    }

    /// A server on this database (and this data dir for SQLite).
    async fn server(&self, tweak: impl FnOnce(&mut sync_server::Config)) -> TestServer {
        let url = self.url.clone();
        TestServer::start_in(self.dir.path(), |c| {
            c.database_url = url.map(Secret);
            tweak(c);
        })
        .await
    }
}

both_dbs!(
    updates_round_trip,
    snapshot_replaces_tail,
    second_writer_of_a_seq_fails,
    migrations_are_idempotent,
    projects_and_assets,
    server_restart_keeps_edits,
    compaction_and_idle_unload,
    job_rows_are_typed_and_unreadable_rows_are_named,
);

async fn updates_round_trip(db: &Db) {
    let doc = "d-round-trip";
    let empty = db.store.load_doc(doc).await.expect("load");
    assert!(empty.snapshot.is_none() && empty.tail.is_empty());
    assert_eq!(empty.next_seq(), 1);

    db.store
        .append_updates(doc, 1, &[b"one", b"two"])
        .await
        .expect("append");
    db.store
        .append_updates(doc, 3, &[b"three"])
        .await
        .expect("append");
    db.store
        .append_updates("other", 1, &[b"x"])
        .await
        .expect("append");

    let loaded = db.store.load_doc(doc).await.expect("load");
    let tail: Vec<(i64, &[u8])> = loaded
        .tail
        .iter()
        .map(|(s, d)| (*s, d.as_slice()))
        .collect();
    assert_eq!(tail, vec![(1, &b"one"[..]), (2, b"two"), (3, b"three")]);
    assert_eq!(loaded.next_seq(), 4);
}

async fn snapshot_replaces_tail(db: &Db) {
    let doc = "d-snapshot";
    db.store
        .append_updates(doc, 1, &[b"a", b"b", b"c"])
        .await
        .expect("append");
    db.store
        .write_snapshot(doc, 2, b"AB")
        .await
        .expect("snapshot");
    let loaded = db.store.load_doc(doc).await.expect("load");
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"AB"[..]));
    assert_eq!(loaded.snapshot_seq, 2);
    assert_eq!(loaded.tail, vec![(3, b"c".to_vec())]);
    assert_eq!(loaded.next_seq(), 4);

    // A second snapshot overwrites the first; an empty tail keeps numbering going.
    db.store
        .write_snapshot(doc, 3, b"ABC")
        .await
        .expect("snapshot");
    let loaded = db.store.load_doc(doc).await.expect("load");
    assert_eq!(loaded.snapshot.as_deref(), Some(&b"ABC"[..]));
    assert!(loaded.tail.is_empty());
    assert_eq!(loaded.next_seq(), 4);
}

async fn second_writer_of_a_seq_fails(db: &Db) {
    let doc = "d-conflict";
    db.store
        .append_updates(doc, 1, &[b"first"])
        .await
        .expect("append");
    // A second room for the same document (which must never exist) fails loudly instead of
    // silently interleaving.
    assert!(db.store.append_updates(doc, 1, &[b"second"]).await.is_err());

    // A batch is all or nothing: seq 3 exists, so the batch 2..=3 fails and leaves no seq 2.
    db.store
        .append_updates(doc, 3, &[b"third"])
        .await
        .expect("append");
    assert!(
        db.store
            .append_updates(doc, 2, &[b"2", b"3"])
            .await
            .is_err()
    );
    let seqs: Vec<i64> = db
        .store
        .load_doc(doc)
        .await
        .expect("load")
        .tail
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(seqs, vec![1, 3]);
}

async fn migrations_are_idempotent(db: &Db) {
    db.store.migrate().await.expect("second migrate is a no-op");
    db.store.ping().await.expect("ping");
}

async fn projects_and_assets(db: &Db) {
    let id = "00000000-0000-4000-8000-000000000001";
    assert!(db.store.project(id).await.expect("query").is_none());
    let created = db
        .store
        .create_project(id, "Moby Dick")
        .await
        .expect("create");
    assert_eq!(db.store.project(id).await.expect("query"), Some(created));
    assert!(db.store.create_project(id, "again").await.is_err());

    let asset = AssetRow {
        sha256: "ab".repeat(32),
        size: 3,
        content_type: "image/png".into(),
    };
    db.store.insert_asset(id, &asset).await.expect("insert");
    db.store
        .insert_asset(id, &asset)
        .await
        .expect("same bytes twice is fine");
    assert_eq!(
        db.store.asset(id, &asset.sha256).await.expect("q"),
        Some(asset.clone())
    );
    assert!(
        db.store
            .asset(id, &"cd".repeat(32))
            .await
            .expect("q")
            .is_none()
    );
}

async fn server_restart_keeps_edits(db: &Db) {
    let server = db.server(|_| {}).await;
    let (project, token) = server.project().await;
    let url = server.ws_url(project.as_str(), &token);
    let mut a = WsClient::connect_synced(&url).await.expect("connect");
    for i in 0..20 {
        a.append_script(&format!("{i};")).await.expect("send");
    }
    a.pump_until(Duration::from_secs(10), |c| c.updates_received >= 20)
        .await
        .expect("all 20 edits acknowledged");
    let expected = a.script();
    a.close().await;
    server.stop().await;

    let server = db.server(|_| {}).await;
    let token = server.token(&project, Role::Viewer, None);
    let b = WsClient::connect_synced(&server.ws_url(project.as_str(), &token))
        .await
        .expect("reconnect");
    assert_eq!(b.script(), expected);
    b.close().await;
    server.stop().await;
}

async fn compaction_and_idle_unload(db: &Db) {
    let server = db
        .server(|c| {
            c.compact_after_updates = 5;
            c.room_idle_secs = 1;
        })
        .await;
    let (project, token) = server.project().await;
    let doc = project.as_str();
    let mut a = WsClient::connect_synced(&server.ws_url(doc, &token))
        .await
        .expect("connect");
    for i in 0..12 {
        a.append_script(&format!("<{i}>")).await.expect("send");
        a.pump_until(Duration::from_secs(10), |c| c.updates_received > i)
            .await
            .expect("ack");
    }
    let expected = a.script();
    // 12 updates with a threshold of 5: compacted twice while live, 2 left in the tail.
    let stored = db.store.load_doc(doc).await.expect("load");
    assert!(stored.snapshot.is_some(), "no snapshot after 12 updates");
    assert_eq!(stored.tail.len(), 2, "tail after compaction");
    assert_eq!(server.state.rooms().loaded(), 1);

    a.close().await;
    // Memory returns: the room unloads after its grace period, compacting what is left.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.state.rooms().loaded() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "room never unloaded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = db.store.load_doc(doc).await.expect("load");
    assert!(stored.tail.is_empty(), "unload leaves a full snapshot");

    // Reloading from the snapshot serves the same document.
    let b = WsClient::connect_synced(&server.ws_url(doc, &token))
        .await
        .expect("reconnect");
    assert_eq!(b.script(), expected);
    b.close().await;
    server.stop().await;
}

/// Writes a `jobs` row as raw strings, the way an older (or newer) server may have left it.
async fn raw_job(db: &Db, id: &str, project: &str, kind: &str, state: &str) {
    let sql = "INSERT INTO jobs (id, project_id, kind, provider, recipe_id, recipe_version, state, \
               attempts, next_attempt_at_ms, cost_estimate, cancel_requested, created_at_ms, \
               batch_index, updated_at_ms) \
               VALUES ($1, $2, $3, 'offline', 'builtin/offline', '1', $4, 0, 0, 0.0, 0, 1, 0, 1)";
    let inserted = match &db.store {
        Store::Sqlite(pool) => sqlx::query(sql)
            .bind(id)
            .bind(project)
            .bind(kind)
            .bind(state)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
        Store::Postgres(pool) => sqlx::query(sql)
            .bind(id)
            .bind(project)
            .bind(kind)
            .bind(state)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(inserted.expect("raw job row"), 1);
}

/// A job row goes in and comes back as the same typed record; a row written with the old
/// `character-sheet` spelling still reads; a row with a kind or project id this version does
/// not know is an error that names the row, never a guess, and does not hide the readable
/// rows beside it from the start-up resume.
async fn job_rows_are_typed_and_unreadable_rows_are_named(db: &Db) {
    let project = ProjectId::parse("00000000-0000-4000-8000-000000000002").expect("id");
    db.store
        .create_project(project.as_str(), "jobs")
        .await
        .expect("project");
    let row = JobRecord {
        id: JobId::from("job-1"),
        project_id: project.clone(),
        kind: JobKind::CharacterSheet,
        provider: "offline".into(),
        shot_id: Some(ShotId::from("shot-1")),
        character_id: None,
        shot_number: Some(4),
        recipe_id: "builtin/offline".into(),
        recipe_version: "1".into(),
        state: JobStatus::Queued,
        attempts: 0,
        provider_task_id: None,
        submission: None,
        asset_sha256: None,
        error_class: None,
        error_message: None,
        next_attempt_at_ms: 0,
        cost_estimate: 0.25,
        cost: None,
        idempotency_key: Some("k".into()),
        cancel_requested: false,
        created_at_ms: 1,
        batch_index: 0,
        updated_at_ms: 1,
    };
    db.store
        .insert_jobs(&project, std::slice::from_ref(&row))
        .await
        .expect("insert")
        .expect("no budget to exceed");
    assert_eq!(
        db.store.job(&project, &row.id).await.expect("read"),
        Some(row.clone())
    );
    db.store
        .finish_job(
            &project,
            &row.id,
            &JobEnd {
                state: JobStatus::Failed,
                error_class: Some(ErrorClass::ContentPolicy),
                error_message: Some("refused"),
                cost: None,
            },
            "test",
            2,
        )
        .await
        .expect("finish");
    let failed = db
        .store
        .job(&project, &row.id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(
        (
            failed.state,
            failed.error_class,
            failed.error_message.as_deref()
        ),
        (
            JobStatus::Failed,
            Some(ErrorClass::ContentPolicy),
            Some("refused")
        )
    );

    raw_job(
        db,
        "legacy",
        project.as_str(),
        "character-sheet",
        "succeeded",
    )
    .await;
    let legacy = db
        .store
        .job(&project, &JobId::from("legacy"))
        .await
        .expect("an old row reads")
        .expect("row");
    assert_eq!(legacy.kind, JobKind::CharacterSheet);

    raw_job(
        db,
        "from-the-future",
        project.as_str(),
        "hologram",
        "running",
    )
    .await;
    let listed = db.store.project_jobs(&project).await;
    let message = listed.expect_err("an unknown kind is an error").to_string();
    assert!(
        message.contains("from-the-future") && message.contains("hologram"),
        "{message}"
    );

    db.store
        .create_project("not-a-uuid", "damaged")
        .await
        .expect("project");
    raw_job(db, "stray", "not-a-uuid", "frame", "running").await;
    raw_job(db, "resumable", project.as_str(), "frame", "running").await;
    let running = db.store.running_jobs().await.expect("query");
    let mut readable = Vec::new();
    let mut named = Vec::new();
    for job in running {
        match job {
            Ok(job) => readable.push(job.id.to_string()),
            Err(e) => named.push(e.to_string()),
        }
    }
    assert_eq!(readable, vec!["resumable".to_owned()]);
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(
        named.iter().any(|e| e.contains("from-the-future"))
            && named
                .iter()
                .any(|e| e.contains("stray") && e.contains("not-a-uuid")),
        "{named:?}"
    );

    raw_job(db, "queued-future", project.as_str(), "hologram", "queued").await;
    let claimed = db.store.claim_next_job(10).await;
    let message = claimed
        .expect_err("an unreadable claim is an error")
        .to_string();
    assert!(message.contains("queued-future"), "{message}");
}
