//! Group commit: one task appends the updates of every room, many rooms per transaction.
//!
//! Each room already batches its own commands, but at a few edits per second per document
//! its batches hold one update, and a transaction per update was the server's bottleneck:
//! SQLite has one writer, so rooms committing concurrently queued for its lock, and every
//! transaction cost several round trips to sqlx's database thread. Rooms now hand their
//! batches to the committer and wait for the answer before they broadcast (so an update is
//! still durable before anyone sees it); the committer lingers briefly after the first
//! request so that the rooms' requests share one transaction and a few statements.
//!
//! Snapshots (compaction) go through the same task, so the database never sees two writers:
//! with SQLite a second writer waits in its busy handler, which sleeps for milliseconds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::warn;

use crate::observability as obs;
use crate::store::Store;

/// How long the committer waits for more rooms after the first request of a batch, when the
/// previous batch showed that several rooms are writing. This is latency those updates pay (at
/// most this much), in exchange for one transaction per window instead of one per room batch.
/// A lone writer does not wait: nobody would share its transaction.
const LINGER: Duration = Duration::from_millis(2);
/// Updates after which a batch is committed without waiting out the linger.
const MAX_BATCH_UPDATES: usize = 1024;
/// Requests that may wait for the committer. Rooms wait (and so their inboxes fill, and
/// their connections stop being read) when it is full.
const QUEUE: usize = 1024;
struct Request {
    doc: Arc<str>,
    first_seq: i64,
    updates: Vec<Vec<u8>>,
    done: oneshot::Sender<Result<(), String>>,
}

/// A snapshot of `doc` covering every update up to `seq`, which replaces that tail.
struct Snapshot {
    doc: Arc<str>,
    seq: i64,
    state: Vec<u8>,
    done: oneshot::Sender<Result<(), String>>,
}

enum Job {
    Append(Request),
    Snapshot(Snapshot),
}

/// The rooms' handle on the commit task. The task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    /// Jobs in arrival order; the task answers each on its oneshot.
    requests: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the commit task on the current runtime.
    pub(crate) fn spawn(store: Store) -> Self {
        let (requests, inbox) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, inbox));
        Self { requests }
    }

    /// Appends `updates` to `doc` with sequence numbers `first_seq..`; returns once they are
    /// durable (or the error's text).
    pub(crate) async fn commit(
        &self,
        doc: Arc<str>,
        first_seq: i64,
        updates: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let (done, answer) = oneshot::channel();
        let request = Request {
            doc,
            first_seq,
            updates,
            done,
        };
        self.submit(Job::Append(request), answer).await
    }

    /// Replaces the snapshot of `doc` with `state`, which covers every update up to `seq`,
    /// and deletes that tail; returns once done (or the error's text).
    pub(crate) async fn snapshot(
        &self,
        doc: Arc<str>,
        seq: i64,
        state: Vec<u8>,
    ) -> Result<(), String> {
        let (done, answer) = oneshot::channel();
        let snapshot = Snapshot {
            doc,
            seq,
            state,
            done,
        };
        self.submit(Job::Snapshot(snapshot), answer).await
    }

    async fn submit(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<(), String>>,
    ) -> Result<(), String> {
        if self.requests.send(job).await.is_err() {
            return Err("the commit task stopped".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Err("the commit task stopped".into()))
    }
}

async fn run(store: Store, mut inbox: mpsc::Receiver<Job>) {
    let mut batch: Vec<Request> = Vec::new();
    let mut snapshots: Vec<Snapshot> = Vec::new();
    let mut linger = Duration::ZERO;
    while let Some(first) = inbox.recv().await {
        let mut updates = take(first, &mut batch, &mut snapshots);
        let deadline = Instant::now() + linger;
        while updates < MAX_BATCH_UPDATES {
            let next = match inbox.try_recv() {
                Ok(job) => job,
                Err(_) if linger.is_zero() => break,
                Err(_) => match tokio::time::timeout_at(deadline, inbox.recv()).await {
                    Ok(Some(job)) => job,
                    Ok(None) | Err(_) => break,
                },
            };
            updates += take(next, &mut batch, &mut snapshots);
        }
        linger = if batch.len() > 1 {
            LINGER
        } else {
            Duration::ZERO
        };
        commit_appends(&store, &mut batch, updates).await;
        // A room asks for a snapshot only after its appends were answered, so running the
        // snapshots after this batch's appends keeps every document's writes in order.
        for snapshot in snapshots.drain(..) {
            let result = store
                .write_snapshot(&snapshot.doc, snapshot.seq, &snapshot.state)
                .await
                .map_err(|e| e.to_string());
            let _ = snapshot.done.send(result);
        }
    }
}

/// Files a job; returns the number of updates it adds to the batch.
fn take(job: Job, batch: &mut Vec<Request>, snapshots: &mut Vec<Snapshot>) -> usize {
    match job {
        Job::Append(request) => {
            let n = request.updates.len();
            batch.push(request);
            n
        }
        Job::Snapshot(snapshot) => {
            snapshots.push(snapshot);
            0
        }
    }
}

async fn commit_appends(store: &Store, batch: &mut Vec<Request>, updates: usize) {
    if batch.is_empty() {
        return;
    }
    {
        let started = std::time::Instant::now();
        let result = append_batch(store, batch).await;
        metrics::histogram!(obs::PERSIST_SECONDS).record(started.elapsed().as_secs_f64());
        match result {
            Ok(()) => {
                metrics::counter!(obs::UPDATES).increment(updates as u64);
                for request in batch.drain(..) {
                    let _ = request.done.send(Ok(()));
                }
            }
            Err(e) => {
                // One document's failure (a second writer's sequence numbers, say) must not
                // fail the other rooms of the batch: retry each on its own.
                warn!(error = %e, rooms = batch.len(), "batch commit failed; committing rooms one by one");
                for request in batch.drain(..) {
                    let rows: Vec<&[u8]> = request.updates.iter().map(Vec::as_slice).collect();
                    let result = store
                        .append_updates(&request.doc, request.first_seq, &rows)
                        .await
                        .map_err(|e| e.to_string());
                    if result.is_ok() {
                        metrics::counter!(obs::UPDATES).increment(rows.len() as u64);
                    }
                    let _ = request.done.send(result);
                }
            }
        }
    }
}

/// Every row of the batch in one transaction, as few multi-row statements as possible.
async fn append_batch(store: &Store, batch: &[Request]) -> Result<(), sqlx::Error> {
    let rows: Vec<(&str, i64, &[u8])> = batch
        .iter()
        .flat_map(|r| {
            (r.first_seq..)
                .zip(&r.updates)
                .map(|(seq, data)| (&*r.doc, seq, data.as_slice()))
        })
        .collect();
    match store {
        Store::Sqlite(pool) => {
            // One statement, so one implicit transaction and one round trip to sqlx's
            // database thread: the rows travel as a JSON array (blobs in hex), which
            // `json_each` unpacks, as Postgres' `UNNEST` does below. Explicit BEGIN, chunked
            // INSERTs and COMMIT were four or more round trips, each a thread hand-off that
            // the commit task (and every room waiting on it) sat through.
            let json: Vec<(&str, i64, String)> = rows
                .iter()
                .map(|(doc, seq, data)| (*doc, *seq, hex::encode(data)))
                .collect();
            let json = serde_json::to_string(&json).map_err(|e| sqlx::Error::Encode(e.into()))?;
            sqlx::query(
                "INSERT INTO doc_updates (doc, seq, data) \
                 SELECT value ->> 0, value ->> 1, unhex(value ->> 2) FROM json_each(?)",
            )
            .bind(json)
            .execute(pool)
            .await?;
        }
        Store::Postgres(pool) => {
            // One statement is one transaction.
            let docs: Vec<&str> = rows.iter().map(|r| r.0).collect();
            let seqs: Vec<i64> = rows.iter().map(|r| r.1).collect();
            let datas: Vec<&[u8]> = rows.iter().map(|r| r.2).collect();
            sqlx::query(
                "INSERT INTO doc_updates (doc, seq, data) \
                 SELECT doc, seq, data FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BYTEA[]) \
                 AS t(doc, seq, data)",
            )
            .bind(&docs)
            .bind(&seqs)
            .bind(&datas)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An update's bytes: every byte value, then the room and sequence number.
    fn payload(doc: usize, seq: i64) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..=255).collect();
        bytes.extend(format!("{doc}/{seq}").bytes());
        bytes
    }

    async fn check(store: Store) {
        store.migrate().await.expect("migrations");
        let committer = Committer::spawn(store.clone());
        // Many rooms at once, with batches of several sizes, of bytes that are not text.
        let mut tasks = Vec::new();
        for d in 0..20usize {
            let committer = committer.clone();
            tasks.push(tokio::spawn(async move {
                let doc: Arc<str> = Arc::from(format!("doc-{d}"));
                let mut seq = 1;
                for round in 0..5usize {
                    let n = 1 + (d * 7 + round * 13) % 90;
                    let updates: Vec<Vec<u8>> =
                        (0..n).map(|i| payload(d, seq + i as i64)).collect();
                    committer
                        .commit(doc.clone(), seq, updates)
                        .await
                        .expect("commit");
                    seq += n as i64;
                }
                seq
            }));
        }
        let mut next = Vec::new();
        for task in tasks {
            next.push(task.await.expect("room task"));
        }
        for (d, next_seq) in next.into_iter().enumerate() {
            let stored = store.load_doc(&format!("doc-{d}")).await.expect("load");
            assert_eq!(stored.tail.len() as i64, next_seq - 1, "doc-{d}");
            for (seq, data) in &stored.tail {
                assert_eq!(*data, payload(d, *seq));
            }
        }

        // A snapshot through the same task replaces the tail it covers.
        let last = store.load_doc("doc-1").await.expect("load").next_seq() - 1;
        committer
            .snapshot(Arc::from("doc-1"), last, b"state".to_vec())
            .await
            .expect("snapshot");
        let stored = store.load_doc("doc-1").await.expect("load");
        assert_eq!(stored.snapshot.as_deref(), Some(&b"state"[..]));
        assert!(stored.tail.is_empty());

        // A conflicting row (a second writer) fails only its own room.
        let doc: Arc<str> = Arc::from("doc-0");
        let clash = committer.commit(doc, 1, vec![b"again".to_vec()]);
        let fine = committer.commit(Arc::from("doc-new"), 1, vec![b"new".to_vec()]);
        let (clash, fine) = tokio::join!(clash, fine);
        assert!(clash.is_err());
        fine.expect("the other room commits");
        assert_eq!(store.load_doc("doc-new").await.expect("load").tail.len(), 1);
    }

    #[tokio::test]
    async fn batches_commit_many_rooms_on_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::sqlite_file(&dir.path().join("t.sqlite"))
            .await
            .expect("sqlite");
        check(store).await;
    }

    #[tokio::test]
    async fn batches_commit_many_rooms_on_postgres() {
        let url = crate::test_support::fresh_postgres_schema()
            .await
            .expect("test postgres");
        let store = Store::connect(&url).await.expect("postgres");
        check(store.clone()).await;
        store.close().await;
        crate::test_support::drop_postgres_schema(&url)
            .await
            .expect("drop schema");
    }
}
