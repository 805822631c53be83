//! Named versions of a project: the document's full state kept at a moment, the diff between
//! two of them (or one and now), and restoring one as a forward change.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/projects/{id}/versions` [`CreateVersion`] | owner, editor | names the current state → [`VersionInfo`] |
//! | `GET /api/projects/{id}/versions` | any role | `Vec<VersionInfo>`, newest first |
//! | `DELETE /api/projects/{id}/versions/{v}` | owner | 204 |
//! | `GET /api/projects/{id}/versions/{v}/state` | any role | the state as one yrs v1 update |
//! | `POST /api/projects/{id}/versions/{v}/restore` | owner, editor | [`Restored`] |
//! | `GET /api/projects/{id}/diff?from={v or now}&to={v or now}` | any role | [`VersionDiff`] (`to` defaults to now) |
//!
//! "Now" is the server's replica of the live document (the job runner's document peer),
//! caught up with the room first, so it holds every edit the room had committed when the
//! request arrived. A version's state is deflate-compressed and kept in its database row, or
//! in the object store when it is larger than [`INLINE_LIMIT`] compressed.
//!
//! A restore is one forward transaction written by the document peer through the room, like
//! any edit: it is committed before anyone sees it, connected clients apply it live, and a
//! client that was offline merges its own edits on top when it comes back (history is never
//! rewritten). An automatic version is taken just before, so a restore is undone by restoring
//! that one; [`auto`] is the one way automatic versions are taken (restores, breakdowns).
//!
//! Verdict tallies are left at zero here: the review work fills `tally` from its verdicts.

use std::io::{Read, Write};

use api_types::review::{MAX_TEXT_CHARS, MAX_VERSION_NAME_CHARS};
use api_types::{
    Author, CreateVersion, DiffSide, Restored, VersionDiff, VersionId, VersionInfo, VersionKind,
};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use flate2::Compression;
use serde::Deserialize;
use shared_model::{Project, ProjectOptions, ProjectSnapshot};

use crate::AppState;
use crate::assets::AssetStore;
use crate::auth::ProjectId;
use crate::http::{ANYONE, ApiError, ApiResult, Json, OWNERS, Path, ProjectCaller, Query, WRITERS};
use crate::jobs::peer::DocPeer;
use crate::store::{Store, StoredState};
use crate::{Error, Result};

/// Compressed states up to this size stay in the database row; larger ones go to the object
/// store, which is made for blobs (and keeps the database's pages for small rows).
pub const INLINE_LIMIT: usize = 256 * 1024;

/// Who automatic versions taken by the server itself (an LLM breakdown's job) are by.
pub fn server_author() -> Author {
    Author {
        id: None,
        name: "Shotweave".into(),
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects/{id}/versions", post(create).get(list))
        .route(
            "/api/projects/{id}/versions/{v}",
            axum::routing::delete(remove),
        )
        .route("/api/projects/{id}/versions/{v}/state", get(state))
        .route("/api/projects/{id}/versions/{v}/restore", post(restore))
        .route("/api/projects/{id}/diff", get(diff))
}

/// Where versions are kept: their rows, and the object store for large states.
#[derive(Debug, Clone, Copy)]
pub struct Archive<'a> {
    pub store: &'a Store,
    pub assets: &'a AssetStore,
}

impl<'a> Archive<'a> {
    pub fn new(store: &'a Store, assets: &'a AssetStore) -> Self {
        Self { store, assets }
    }

    pub fn of(state: &'a AppState) -> Self {
        Self::new(state.store(), state.assets())
    }

    /// Keeps the live document's current state as a version.
    pub async fn take(
        &self,
        peer: &DocPeer,
        name: String,
        note: Option<String>,
        kind: VersionKind,
        author: Author,
    ) -> Result<VersionInfo> {
        let started = std::time::Instant::now();
        peer.catch_up().await?;
        let caught_up = started.elapsed();
        let state = peer.read(Project::encode_state);
        let state_bytes = state.len() as u64;
        // Compressing is the longest step: it runs on a blocking thread while this one counts
        // the shots in the replica.
        let compressing = tokio::task::spawn_blocking(move || compress(&state));
        let shots = peer.read(|p| p.shots().len());
        let compressed = compressing.await??;
        let read_and_compressed = started.elapsed();
        let stored_bytes = compressed.len() as u64;
        let project = peer.project();
        let id = VersionId::new();
        let stored = if compressed.len() > INLINE_LIMIT {
            let key = AssetStore::version_key(project, id.as_str());
            // The bytes first: a row never points at a state that is not there.
            self.assets.put_blob(&key, Bytes::from(compressed)).await?;
            StoredState::Object(key)
        } else {
            StoredState::Inline(compressed)
        };
        let version = VersionInfo {
            id,
            name,
            note,
            kind,
            author,
            created_at_ms: crate::jobs::now_ms(),
            shots: u32::try_from(shots).unwrap_or(u32::MAX),
            state_bytes,
            stored_bytes,
            tally: Default::default(),
        };
        if let Err(e) = self.store.insert_version(project, &version, &stored).await {
            if let StoredState::Object(key) = &stored
                && let Err(cleanup) = self.assets.delete_blob(key).await
            {
                tracing::warn!(error = %cleanup, key, "orphaned version state left in the object store");
            }
            return Err(e);
        }
        tracing::info!(
            project = %project,
            version = %version.id,
            kind = %version.kind,
            state_bytes,
            stored_bytes,
            catch_up_ms = caught_up.as_secs_f64() * 1000.0,
            read_compress_ms = read_and_compressed.as_secs_f64() * 1000.0,
            total_ms = started.elapsed().as_secs_f64() * 1000.0,
            "version taken"
        );
        Ok(version)
    }

    /// A version of `project` (not deleted) and its state as a yrs v1 update; `NotFound` for
    /// an unknown id, another project's version or a deleted one.
    pub async fn state(
        &self,
        project: &ProjectId,
        id: &VersionId,
    ) -> Result<(VersionInfo, Vec<u8>)> {
        if !is_version_id(id.as_str()) {
            return Err(Error::NotFound("no such version"));
        }
        let (info, stored) = self
            .store
            .version(project, id)
            .await?
            .ok_or(Error::NotFound("no such version"))?;
        let compressed = match stored {
            StoredState::Inline(bytes) => Bytes::from(bytes),
            StoredState::Object(key) => self.assets.get_blob(&key).await?,
        };
        let state = tokio::task::spawn_blocking(move || decompress(&compressed)).await??;
        Ok((info, state))
    }

    /// A version loaded as a document of its own.
    pub async fn load(
        &self,
        project: &ProjectId,
        id: &VersionId,
    ) -> Result<(VersionInfo, Project)> {
        let (info, state) = self.state(project, id).await?;
        let doc =
            tokio::task::spawn_blocking(move || Project::load(&state, ProjectOptions::default()))
                .await??;
        Ok((info, doc))
    }

    /// Deletes a version (its state goes; see `Store::delete_version` for the row).
    pub async fn delete(&self, project: &ProjectId, id: &VersionId) -> Result<()> {
        if !is_version_id(id.as_str()) {
            return Err(Error::NotFound("no such version"));
        }
        let key = self
            .store
            .delete_version(project, id, crate::jobs::now_ms())
            .await?
            .ok_or(Error::NotFound("no such version"))?;
        if let Some(key) = key {
            // The row no longer offers the state, so a failure here only leaves bytes behind.
            if let Err(e) = self.assets.delete_blob(&key).await {
                tracing::warn!(error = %e, key, "a deleted version's state stays in the object store");
            }
        }
        Ok(())
    }
}

/// Takes an automatic version of the live document before a change that rewrites much at
/// once (a restore, a breakdown writing into the project), named after `reason`.
pub async fn auto(
    archive: Archive<'_>,
    peer: &DocPeer,
    author: Author,
    reason: String,
) -> Result<VersionInfo> {
    let name = clip(&reason, MAX_VERSION_NAME_CHARS);
    archive
        .take(peer, name, None, VersionKind::Auto, author)
        .await
}

/// Version ids are made by the server (`VersionId::new`, 32 hex digits); anything else names
/// no version, and never reaches a query or an object key.
fn is_version_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The first `max` characters of `s`, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The fastest deflate level: a version is taken while someone waits (a restore, a breakdown),
/// and the larger levels gain little on a yrs update (mostly text and ids).
fn compress(state: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(state.len() / 2),
        Compression::fast(),
    );
    encoder.write_all(state)?;
    Ok(encoder.finish()?)
}

fn decompress(compressed: &[u8]) -> Result<Vec<u8>> {
    let mut state = Vec::with_capacity(compressed.len() * 2);
    flate2::read::DeflateDecoder::new(compressed).read_to_end(&mut state)?;
    Ok(state)
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn create(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<CreateVersion>,
) -> ApiResult<(StatusCode, Json<VersionInfo>)> {
    let author = caller.author();
    let project = caller.require(WRITERS, "only owners and editors can name versions")?;
    let name = body.name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_VERSION_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a version's name must be 1 to {MAX_VERSION_NAME_CHARS} characters"
        )));
    }
    let note = body
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(ApiError::BadRequest(format!(
            "a version's note must be at most {MAX_TEXT_CHARS} characters"
        )));
    }
    let peer = state.jobs().peer(&project).await?;
    let version = Archive::of(&state)
        .take(&peer, name.to_owned(), note, VersionKind::Named, author)
        .await?;
    Ok((StatusCode::CREATED, Json(version)))
}

async fn list(
    State(state): State<AppState>,
    caller: ProjectCaller,
) -> ApiResult<Json<Vec<VersionInfo>>> {
    let project = caller.require(ANYONE, "no access")?;
    let mut versions = state.store().versions(&project).await?;
    let tallies = crate::review::tallies(&state, &project).await?;
    for version in &mut versions {
        version.tally = tallies.get(&version.id).copied().unwrap_or_default();
    }
    Ok(Json(versions))
}

async fn remove(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let project = caller.require(OWNERS, "only owners can delete versions")?;
    let version = VersionId::from(version);
    Archive::of(&state).delete(&project, &version).await?;
    // Verdicts are given on a version; with the version gone they would count for nothing.
    crate::review::remove_verdicts_on(&state, &project, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn state(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let project = caller.require(ANYONE, "no access")?;
    let (_, bytes) = Archive::of(&state)
        .state(&project, &VersionId::from(version))
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            // A version's state never changes.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn restore(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, version)): Path<(String, String)>,
) -> ApiResult<Json<Restored>> {
    let author = caller.author();
    let project = caller.require(WRITERS, "only owners and editors can restore versions")?;
    let archive = Archive::of(&state);
    // Loaded before anything is written, so an unknown or unreadable version changes nothing.
    let (target_info, target) = archive.load(&project, &VersionId::from(version)).await?;
    let peer = state.jobs().peer(&project).await?;
    let before = auto(
        archive,
        &peer,
        author,
        format!("Before restoring “{}”", target_info.name),
    )
    .await?;
    peer.write(|live| Ok(live.restore(&target)?)).await?;
    tracing::info!(project = %project, version = %target_info.id, before = %before.id, "version restored");
    Ok(Json(Restored {
        restored: target_info.id,
        before,
    }))
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    from: String,
    to: Option<String>,
}

/// One side of a diff, read: its label and its snapshot.
async fn side(
    state: &AppState,
    project: &ProjectId,
    which: &str,
) -> ApiResult<(DiffSide, ProjectSnapshot)> {
    if which == "now" {
        let peer = state.jobs().peer(project).await?;
        peer.catch_up().await?;
        let snapshot = peer.read(Project::snapshot);
        return Ok((
            DiffSide {
                version: None,
                label: "now".into(),
            },
            snapshot,
        ));
    }
    let (info, doc) = Archive::of(state)
        .load(project, &VersionId::from(which))
        .await?;
    let snapshot = tokio::task::spawn_blocking(move || doc.snapshot())
        .await
        .map_err(Error::from)?;
    Ok((
        DiffSide {
            version: Some(info.id),
            label: info.name,
        },
        snapshot,
    ))
}

async fn diff(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Query(query): Query<DiffQuery>,
) -> ApiResult<Json<VersionDiff>> {
    let project = caller.require(ANYONE, "no access")?;
    let to = query.to.as_deref().unwrap_or("now");
    if query.from.is_empty() || to.is_empty() {
        return Err(ApiError::BadRequest(
            "from and to name a version's id, or now".into(),
        ));
    }
    let (from_side, from) = side(&state, &project, &query.from).await?;
    let (to_side, to) = side(&state, &project, to).await?;
    let diff =
        tokio::task::spawn_blocking(move || shared_model::diff(&from, &to, from_side, to_side))
            .await
            .map_err(Error::from)?;
    Ok(Json(diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_come_back_from_compression_unchanged() {
        let state: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let compressed = compress(&state).unwrap_or_default();
        assert!(compressed.len() < state.len() / 4, "{}", compressed.len());
        assert_eq!(decompress(&compressed).unwrap_or_default(), state);
        assert!(decompress(b"not deflate at all").is_err());
    }

    #[test]
    fn only_server_made_ids_name_versions() {
        assert!(is_version_id(VersionId::new().as_str()));
        for bad in [
            "",
            "now",
            "../../etc/passwd",
            "ABCDEF0123456789abcdef0123456789",
        ] {
            assert!(!is_version_id(bad), "{bad}");
        }
    }

    #[test]
    fn long_reasons_are_clipped_to_a_name() {
        let long = format!("Before restoring “{}”", "x".repeat(200));
        let name = clip(&long, MAX_VERSION_NAME_CHARS);
        assert_eq!(name.chars().count(), MAX_VERSION_NAME_CHARS);
        assert!(name.ends_with('…'));
        assert_eq!(clip("short", 10), "short");
    }
}
