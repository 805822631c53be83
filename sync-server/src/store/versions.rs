//! Version rows: what a version is (name, note, kind, author, sizes) and where its compressed
//! state is (in the row, or in the object store under a key).
//!
//! Every query here is written once, with `$N` placeholders, and run on whichever pool the
//! store holds.

use api_types::{Author, PersonId, ProjectId, VersionId, VersionInfo, VersionKind};

use super::Store;
use crate::{Error, Result};

const VERSION_COLUMNS: &str = "id, name, note, kind, author_id, author_name, created_at_ms, \
    shots, state_bytes, stored_bytes";

/// Where a version's compressed state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredState {
    /// In the row itself (small states).
    Inline(Vec<u8>),
    /// In the object store, under this key (see `AssetStore::version_key`).
    Object(String),
}

#[derive(Debug, sqlx::FromRow)]
struct RawVersion {
    id: String,
    name: String,
    note: Option<String>,
    kind: String,
    author_id: Option<String>,
    author_name: String,
    created_at_ms: i64,
    shots: i64,
    state_bytes: i64,
    stored_bytes: i64,
}

impl TryFrom<RawVersion> for VersionInfo {
    type Error = Error;

    /// A kind this build does not know is an error naming the row, never a guess.
    fn try_from(raw: RawVersion) -> Result<Self> {
        let kind: VersionKind = raw.kind.parse().map_err(|e| Error::CorruptDocument {
            doc: format!("version {}", raw.id),
            reason: format!("{e}"),
        })?;
        Ok(VersionInfo {
            id: VersionId::from(raw.id),
            name: raw.name,
            note: raw.note,
            kind,
            author: Author {
                id: raw.author_id.map(PersonId::from),
                name: raw.author_name,
            },
            created_at_ms: raw.created_at_ms,
            shots: u32::try_from(raw.shots).unwrap_or(u32::MAX),
            state_bytes: u64::try_from(raw.state_bytes).unwrap_or(0),
            stored_bytes: u64::try_from(raw.stored_bytes).unwrap_or(0),
            tally: Default::default(),
        })
    }
}

impl Store {
    /// Records a version whose state is `stored` (already in the object store when it is an
    /// object, so a listed version always has its state).
    pub async fn insert_version(
        &self,
        project: &ProjectId,
        version: &VersionInfo,
        stored: &StoredState,
    ) -> Result<()> {
        let (inline, key) = match stored {
            StoredState::Inline(bytes) => (Some(bytes.as_slice()), None),
            StoredState::Object(key) => (None, Some(key.as_str())),
        };
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO versions (id, project_id, name, note, kind, author_id, author_name, \
                 created_at_ms, shots, state_bytes, stored_bytes, state, object_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(version.id.as_str())
            .bind(project.as_str())
            .bind(&version.name)
            .bind(version.note.as_deref())
            .bind(version.kind.as_str())
            .bind(version.author.id.as_ref().map(PersonId::as_str))
            .bind(&version.author.name)
            .bind(version.created_at_ms)
            .bind(i64::from(version.shots))
            .bind(i64::try_from(version.state_bytes).unwrap_or(i64::MAX))
            .bind(i64::try_from(version.stored_bytes).unwrap_or(i64::MAX))
            .bind(inline)
            .bind(key)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The project's versions that are not deleted, newest first.
    pub async fn versions(&self, project: &ProjectId) -> Result<Vec<VersionInfo>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions \
             WHERE project_id = $1 AND deleted_at_ms IS NULL \
             ORDER BY created_at_ms DESC, id DESC"
        );
        let rows: Vec<RawVersion> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project.as_str())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(VersionInfo::try_from).collect()
    }

    /// One version of `project` that is not deleted, with where its state is.
    pub async fn version(
        &self,
        project: &ProjectId,
        id: &VersionId,
    ) -> Result<Option<(VersionInfo, StoredState)>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, state, object_key FROM versions \
             WHERE project_id = $1 AND id = $2 AND deleted_at_ms IS NULL"
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            raw: RawVersion,
            state: Option<Vec<u8>>,
            object_key: Option<String>,
        }
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        let Some(row) = row else { return Ok(None) };
        let stored = match (row.state, row.object_key) {
            (Some(bytes), _) => StoredState::Inline(bytes),
            (None, Some(key)) => StoredState::Object(key),
            (None, None) => {
                return Err(Error::CorruptDocument {
                    doc: format!("version {id}"),
                    reason: "the row has neither a state nor an object key".into(),
                });
            }
        };
        Ok(Some((VersionInfo::try_from(row.raw)?, stored)))
    }

    /// Marks a version deleted and drops its inline state; answers where its state was
    /// (`None` when there is no such version of `project`, or it was already deleted). The
    /// row stays so that threads and verdicts naming the version still find its name.
    pub async fn delete_version(
        &self,
        project: &ProjectId,
        id: &VersionId,
        now_ms: i64,
    ) -> Result<Option<Option<String>>> {
        let row: Option<(Option<String>,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE versions SET deleted_at_ms = $3, state = NULL \
                 WHERE project_id = $1 AND id = $2 AND deleted_at_ms IS NULL \
                 RETURNING object_key",
            )
            .bind(project.as_str())
            .bind(id.as_str())
            .bind(now_ms)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(key,)| key))
    }
}
