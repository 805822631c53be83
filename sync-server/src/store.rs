//! Durable storage of projects, documents and asset metadata, on SQLite or Postgres.
//!
//! A document is stored as one snapshot (the compacted state up to some sequence number) plus
//! a tail of updates after it. Every query is written once, in plain SQL with `$N`
//! placeholders (which sqlx binds by number on SQLite as on Postgres), and run on whichever
//! pool the store holds (`on_pool!`); the few places where the databases need different SQL
//! say why. The two schemas in `migrations/` are kept identical apart from column types.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{Error, Result};

/// Runs `$body` with `$pool` bound to the store's pool, whichever database it is. The body
/// is compiled once per backend, so the same SQL and binds serve both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

mod jobs;
mod links;
pub use jobs::{JobEnd, JobRecord, Spending};
pub use links::{LinkRow, NewLink, OWNER_LINK_LABEL, PersonRow};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A stored row of a document: sequence number and bytes.
type SeqBytes = (i64, Vec<u8>);

/// A connection pool to whichever database the configuration selected.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// What [`Store::load_doc`] returns: apply `snapshot`, then every update of `tail` in order.
#[derive(Debug, Default)]
pub struct StoredDoc {
    pub snapshot: Option<Vec<u8>>,
    /// Sequence number of the last update folded into `snapshot` (0 without a snapshot).
    pub snapshot_seq: i64,
    /// Updates after the snapshot, ordered by sequence number.
    pub tail: Vec<(i64, Vec<u8>)>,
}

impl StoredDoc {
    /// The sequence number the next appended update must use.
    pub fn next_seq(&self) -> i64 {
        self.tail.last().map_or(self.snapshot_seq, |(seq, _)| *seq) + 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: String,
    pub title: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
}

impl Store {
    /// Connects to `url`: `postgres://` / `postgresql://` select Postgres, `sqlite:` SQLite.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            Self::open_sqlite(SqliteConnectOptions::from_str(url)?).await
        } else {
            Err(Error::Config(format!(
                "unsupported database url scheme in {:?} (expected postgres:// or sqlite:)",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    /// Opens (creating if needed) the embedded SQLite database file at `path`.
    pub async fn sqlite_file(path: &Path) -> Result<Self> {
        Self::open_sqlite(SqliteConnectOptions::new().filename(path)).await
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> Result<Self> {
        // WAL lets readers run beside the single writer. `synchronous = NORMAL` in WAL mode
        // keeps every committed transaction across a process crash (the durability the sync
        // protocol promises); only an OS crash or power loss can lose the last commits.
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // No checkpoint inside a commit: see `checkpoint_sqlite`.
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", (64 * 1024 * 1024).to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        tokio::spawn(checkpoint_sqlite(pool.clone()));
        Ok(Self::Sqlite(pool))
    }

    /// Applies the migrations in `migrations/{sqlite,postgres}` that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        // Two branches: each database has its own migration files.
        match self {
            Self::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }

    /// A trivial query, for health checks.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn create_project(&self, id: &str, title: &str) -> Result<ProjectRow> {
        let created_at = unix_now();
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO projects (id, title, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(title)
                .bind(created_at)
                .execute(pool)
                .await?;
        });
        Ok(ProjectRow {
            id: id.to_owned(),
            title: title.to_owned(),
            created_at,
        })
    }

    pub async fn project(&self, id: &str) -> Result<Option<ProjectRow>> {
        let row: Option<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, title, created_at FROM projects WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(id, title, created_at)| ProjectRow {
            id,
            title,
            created_at,
        }))
    }

    /// How many projects exist (the demo project is imported only into an empty studio).
    pub async fn project_count(&self) -> Result<i64> {
        let (count,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM projects")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// Reads the latest snapshot of `doc` and every update after it.
    pub async fn load_doc(&self, doc: &str) -> Result<StoredDoc> {
        // One read transaction, so a concurrent compaction cannot slip between the two reads.
        let (snapshot, tail): (Option<SeqBytes>, Vec<SeqBytes>) = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Postgres reads at READ COMMITTED by default, where each statement sees the
            // latest commit; SQLite's read transaction already sees one snapshot throughout.
            if matches!(self, Store::Postgres(_)) {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    .execute(&mut *tx)
                    .await?;
            }
            let snapshot = sqlx::query_as("SELECT seq, state FROM doc_snapshots WHERE doc = $1")
                .bind(doc)
                .fetch_optional(&mut *tx)
                .await?;
            let after = snapshot.as_ref().map_or(0, |(seq, _)| *seq);
            let tail = sqlx::query_as(
                "SELECT seq, data FROM doc_updates WHERE doc = $1 AND seq > $2 ORDER BY seq",
            )
            .bind(doc)
            .bind(after)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            (snapshot, tail)
        });
        let (snapshot_seq, snapshot) = match snapshot {
            Some((seq, state)) => (seq, Some(state)),
            None => (0, None),
        };
        Ok(StoredDoc {
            snapshot,
            snapshot_seq,
            tail,
        })
    }

    /// Appends `updates` to the tail of `doc` with sequence numbers `first_seq..`, all in one
    /// transaction: either every update is durable or none is.
    ///
    /// The primary key `(doc, seq)` makes a second writer for the same document fail loudly
    /// instead of silently interleaving.
    pub async fn append_updates(&self, doc: &str, first_seq: i64, updates: &[&[u8]]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        // Two branches: Postgres takes every row in one statement through `UNNEST` of arrays,
        // which SQLite has no equivalent of (`room/commit.rs` uses `json_each` for its
        // batches); here SQLite inserts row by row inside one transaction.
        match self {
            Self::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (seq, data) in (first_seq..).zip(updates) {
                    sqlx::query("INSERT INTO doc_updates (doc, seq, data) VALUES ($1, $2, $3)")
                        .bind(doc)
                        .bind(seq)
                        .bind(*data)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Self::Postgres(pool) => {
                let seqs: Vec<i64> = (first_seq..).take(updates.len()).collect();
                let datas: Vec<&[u8]> = updates.to_vec();
                sqlx::query(
                    "INSERT INTO doc_updates (doc, seq, data) \
                     SELECT $1, seq, data FROM UNNEST($2::BIGINT[], $3::BYTEA[]) AS t(seq, data)",
                )
                .bind(doc)
                .bind(&seqs)
                .bind(&datas)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Replaces the snapshot of `doc` with `state` (which includes every update up to `seq`)
    /// and deletes the tail it covers, atomically.
    pub async fn write_snapshot(&self, doc: &str, seq: i64, state: &[u8]) -> Result<()> {
        let now = unix_now();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO doc_snapshots (doc, seq, state, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (doc) DO UPDATE SET seq = excluded.seq, state = excluded.state, \
                 updated_at = excluded.updated_at",
            )
            .bind(doc)
            .bind(seq)
            .bind(state)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM doc_updates WHERE doc = $1 AND seq <= $2")
                .bind(doc)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records an uploaded asset; uploading the same bytes twice is not an error.
    pub async fn insert_asset(&self, project_id: &str, asset: &AssetRow) -> Result<()> {
        let now = unix_now();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO assets (project_id, sha256, size, content_type, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, sha256) DO NOTHING",
            )
            .bind(project_id)
            .bind(&asset.sha256)
            .bind(asset.size)
            .bind(&asset.content_type)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn asset(&self, project_id: &str, sha256: &str) -> Result<Option<AssetRow>> {
        let row: Option<(String, i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT sha256, size, content_type FROM assets \
                 WHERE project_id = $1 AND sha256 = $2",
            )
            .bind(project_id)
            .bind(sha256)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(sha256, size, content_type)| AssetRow {
            sha256,
            size,
            content_type,
        }))
    }
}

/// Copies the WAL back into the database file, in the background, until the pool closes.
///
/// SQLite's automatic checkpoint runs inside whichever commit crosses the WAL size threshold,
/// and a checkpoint ends with an fsync: under a stream of edits that stalled the commit task,
/// and so every room waiting on it, for as long as the disk took. A passive checkpoint from
/// another connection runs beside the writer instead.
async fn checkpoint_sqlite(pool: SqlitePool) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by an earlier version keeps every stored update across the
    /// migration that re-keys `doc_updates`, and still refuses a second writer's row.
    #[tokio::test]
    async fn the_rekeying_migration_keeps_stored_updates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::sqlite_file(&dir.path().join("old.sqlite"))
            .await
            .expect("sqlite");
        let Store::Sqlite(pool) = &store else {
            unreachable!("sqlite_file opens SQLite")
        };
        SQLITE_MIGRATIONS.run_to(2, pool).await.expect("old schema");
        for doc in ["a", "b"] {
            let updates: Vec<Vec<u8>> = (1..=5).map(|i| format!("{doc}{i}").into_bytes()).collect();
            let rows: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
            store.append_updates(doc, 1, &rows).await.expect("append");
        }

        store.migrate().await.expect("migrate");
        for doc in ["a", "b"] {
            let stored = store.load_doc(doc).await.expect("load");
            let expected: Vec<(i64, Vec<u8>)> = (1..=5)
                .map(|i| (i, format!("{doc}{i}").into_bytes()))
                .collect();
            assert_eq!(stored.tail, expected);
        }
        assert!(store.append_updates("a", 5, &[b"again"]).await.is_err());
        store.append_updates("a", 6, &[b"a6"]).await.expect("next");
    }
}
