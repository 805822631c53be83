//! Studio endpoints around the document: importing a novel as a new project, and exporting a
//! project's storyboard. The heavy lifting is in the `breakdown` and `exports` crates; these
//! handlers only authorize, move bytes and run CPU-bound work off the async threads.
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/import?file_name=&title=&breakdown=offline\|none` raw body | anyone | new project from a novel, broken down offline (or script only, for an LLM breakdown) |
//! | `POST /api/projects/{id}/breakdown {mode:"offline"}` | owner, editor | break the current script down again (empty board only); 200 with the counts |
//! | `POST /api/projects/{id}/breakdown {mode:"llm", provider?, model?}` | owner, editor | the same by a chat model, as a job: 202 `{job}`, progress in `GET .../jobs` and the server's awareness |
//! | `GET /api/projects/{id}/export/{format}` | any role | `otio`, `edl`, `fcp7`, `fcpxml`, `fountain`, `sheet`, `animatic`, `media` |

use std::path::PathBuf;

use api_types::{
    BreakdownMode, BreakdownQueued, BreakdownRequest, BrokenDown, Imported, JobId, JobStatus,
    MediaItem, MediaList,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::TryStreamExt;
use serde::Deserialize;
use shared_model::{MetaPatch, Project, ProjectOptions};

use crate::AppState;
use crate::auth::ProjectId;
use crate::http::{ANYONE, ApiError, ApiResult, Json, Path, ProjectCaller, Query, WRITERS};
use crate::{Error, store::StoredDoc};

/// Novels are a few megabytes; the longest Chinese classics are under 5 MB.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;
const FPS: u32 = 24;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/import", post(import))
        .route("/api/projects/{id}/breakdown", post(rebreakdown))
        .route("/api/projects/{id}/export/{format}", get(export))
}

#[derive(Debug, Deserialize)]
struct ImportQuery {
    file_name: Option<String>,
    title: Option<String>,
    /// `offline` (default) or `none`: the script alone, to be broken down by a model next.
    breakdown: Option<String>,
}

async fn import(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> ApiResult<(StatusCode, Json<Imported>)> {
    // Read the body ourselves so that an oversized file gets a message a user can act on.
    let bytes = axum::body::to_bytes(request.into_body(), MAX_IMPORT_BYTES)
        .await
        .map_err(|_| {
            ApiError::PayloadTooLarge(format!("novels are limited to {MAX_IMPORT_BYTES} bytes"))
        })?;
    let offline = match query.breakdown.as_deref() {
        None | Some("offline") => true,
        Some("none") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown breakdown {other:?} for an import; use offline or none"
            )));
        }
    };
    let imported = import_novel(&state, &bytes, query.file_name, query.title, offline).await?;
    Ok((StatusCode::CREATED, Json(imported)))
}

/// Imports a novel as a new project: decode and break it down (off the async threads; with
/// `offline_breakdown` false the project gets the script alone), then create the project and
/// store the finished document as its first snapshot. Nothing is written unless the whole
/// import succeeded.
pub async fn import_novel(
    state: &AppState,
    bytes: &[u8],
    file_name: Option<String>,
    title: Option<String>,
    offline_breakdown: bool,
) -> ApiResult<Imported> {
    let options = breakdown::ImportOptions {
        max_bytes: MAX_IMPORT_BYTES,
        file_name,
    };
    let bytes = bytes.to_vec();
    let built = tokio::task::spawn_blocking(move || -> Result<_, breakdown::Error> {
        let mut novel = breakdown::import(&bytes, &options)?;
        if let Some(title) = title.filter(|t| !t.trim().is_empty()) {
            novel.title = title.trim().to_owned();
        }
        let plan = if offline_breakdown {
            breakdown::offline::breakdown(&novel)
        } else {
            breakdown::Breakdown::default()
        };
        let project = Project::create(&MetaPatch::default(), ProjectOptions::default());
        let applied = breakdown::apply(&novel, &plan, &project);
        Ok((novel, applied, project.encode_state()))
    })
    .await
    .map_err(Error::from)?
    .map_err(|e| match e {
        breakdown::Error::TooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let (novel, applied, state_bytes) = built;
    let title: String = novel.title.chars().take(200).collect();

    let id = ProjectId::new_random();
    let token = crate::links::create_owned_project(state, &id, &title, None).await?;
    state
        .store()
        .write_snapshot(id.as_str(), 0, &state_bytes)
        .await?;
    tracing::info!(project = %id, shots = applied.shots.len(), encoding = %novel.encoding, "novel imported");
    Ok(Imported {
        project_id: id,
        token,
        title,
        language: novel.language.tag().into(),
        chapters: novel.chapters.len(),
        scenes: applied.scenes.len(),
        shots: applied.shots.len(),
        characters: applied.characters.len(),
    })
}

/// Breaks the project's current script down again, as the server's document peer so that the
/// result merges with whatever collaborators are doing. Refused while the board has shots: a
/// second breakdown would bury the team's work under a duplicate board.
///
/// `offline` answers with the result at once; `llm` takes minutes, so it becomes a job of the
/// job runner (202 with the job id): progress shows in `GET /api/projects/{id}/jobs` and in
/// the server peer's awareness like a generation's, and a failure ends the job with the reason
/// and leaves the document untouched.
async fn rebreakdown(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<BreakdownRequest>,
) -> ApiResult<Response> {
    let project = caller.require(WRITERS, "only owners and editors can break a script down")?;
    match body.mode {
        BreakdownMode::Offline => {
            Ok(Json(offline_breakdown(&state, &project).await?).into_response())
        }
        BreakdownMode::Llm => {
            let provider = body
                .provider
                .as_deref()
                .unwrap_or(provider_adapters::openai_chat::PROVIDER);
            let job = state
                .jobs()
                .breakdown(&project, provider, body.model)
                .await?;
            Ok((
                StatusCode::ACCEPTED,
                Json(BreakdownQueued {
                    job: JobId::from(job),
                    status: JobStatus::Queued,
                }),
            )
                .into_response())
        }
    }
}

async fn offline_breakdown(state: &AppState, project: &ProjectId) -> ApiResult<BrokenDown> {
    state.jobs().refuse_during_breakdown(project).await?;
    let peer = crate::jobs::peer::DocPeer::join(state.rooms(), project).await?;
    let (script, title, shots) = peer.read(|p| (p.script_text(), p.meta().title, p.shots().len()));
    if shots > 0 {
        return Err(ApiError::Conflict(crate::jobs::board_not_empty(shots)));
    }
    if script.trim().is_empty() {
        return Err(ApiError::BadRequest("the script is empty".into()));
    }
    let (novel, plan) = tokio::task::spawn_blocking(move || {
        let novel = breakdown::novel_from_script(script, title);
        let plan = breakdown::offline::breakdown(&novel);
        (novel, plan)
    })
    .await
    .map_err(Error::from)?;
    let applied = peer
        .write(|p| Ok(breakdown::apply_plan(&novel, &plan, p)))
        .await?;
    Ok(BrokenDown {
        scenes: applied.scenes.len(),
        shots: applied.shots.len(),
        characters: applied.characters.len(),
    })
}

/// The project document as stored: every update is committed before anyone sees it, so the
/// store always has at least what any client has.
async fn load_project(state: &AppState, project: &ProjectId) -> ApiResult<Project> {
    let StoredDoc { snapshot, tail, .. } = state.store().load_doc(project.as_str()).await?;
    let doc = Project::empty(ProjectOptions::default());
    for update in snapshot.iter().chain(tail.iter().map(|(_, u)| u)) {
        doc.apply_update(update)
            .map_err(|e| Error::CorruptDocument {
                doc: project.to_string(),
                reason: e.to_string(),
            })?;
    }
    Ok(doc)
}

fn media_path(sha256: &str, mime: &str) -> String {
    format!("media/{sha256}.{}", exports::extension(mime))
}

async fn export(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, format)): Path<(String, String)>,
) -> ApiResult<Response> {
    let project = caller.require(ANYONE, "no access")?;
    if state.store().project(project.as_str()).await?.is_none() {
        return Err(ApiError::NotFound("no such project"));
    }
    let doc = load_project(&state, &project).await?;
    let snapshot = doc.snapshot();
    let timeline = exports::Timeline::new(&snapshot, FPS, media_path);
    let text = |body: String, mime: &'static str, ext: &str| -> Response {
        let disposition = format!("attachment; filename=\"storyboard.{ext}\"");
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition)
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            body,
        )
            .into_response()
    };
    Ok(match format.as_str() {
        "otio" => text(exports::otio::write(&timeline), "application/json", "otio"),
        "edl" => text(
            exports::edl::write(&timeline),
            "text/plain; charset=utf-8",
            "edl",
        ),
        "fcp7" => text(exports::fcp7::write(&timeline), "application/xml", "xml"),
        "fcpxml" => text(
            exports::fcpxml::write(&timeline),
            "application/xml",
            "fcpxml",
        ),
        "fountain" => text(
            exports::fountain::write(&snapshot),
            "text/plain; charset=utf-8",
            "fountain",
        ),
        "sheet" => text(
            exports::sheet::write(&timeline),
            "text/html; charset=utf-8",
            "html",
        ),
        "media" => {
            let media: Vec<MediaItem> = timeline
                .shots
                .iter()
                .filter_map(|s| s.media.as_ref())
                .map(|m| MediaItem {
                    sha256: m.asset_id.clone(),
                    path: m.url.clone(),
                })
                .collect();
            Json(MediaList { media }).into_response()
        }
        "animatic" => animatic(&state, &project, &timeline).await?,
        _ => {
            return Err(ApiError::BadRequest(format!(
                "unknown export format {format}; use otio, edl, fcp7, fcpxml, fountain, sheet, animatic or media"
            )));
        }
    })
}

/// Renders the animatic with ffmpeg from the selected takes, copied out of the object store
/// into a scratch directory (the store may be S3).
async fn animatic(
    state: &AppState,
    project: &ProjectId,
    timeline: &exports::Timeline,
) -> ApiResult<Response> {
    if timeline.shots.is_empty() {
        return Err(ApiError::BadRequest("the storyboard has no shots".into()));
    }
    let scratch = tempfile::tempdir().map_err(Error::Io)?;
    for media in timeline.shots.iter().filter_map(|s| s.media.as_ref()) {
        let path = scratch.path().join(&media.url);
        if path.exists() {
            continue;
        }
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(Error::Io)?;
        }
        let bytes: Vec<bytes::Bytes> = state
            .assets()
            .get(project, &media.asset_id)
            .await?
            .try_collect()
            .await
            .map_err(Error::from)?;
        tokio::fs::write(&path, bytes.concat())
            .await
            .map_err(Error::Io)?;
    }
    let out = scratch.path().join("animatic.mp4");
    let timeline = timeline.clone();
    let dir: PathBuf = scratch.path().to_owned();
    let out_path = out.clone();
    tokio::task::spawn_blocking(move || {
        exports::animatic::render(&timeline, |m| dir.join(&m.url), &out_path)
    })
    .await
    .map_err(Error::from)?
    .map_err(|e| match e {
        exports::Error::FfmpegMissing => ApiError::Unavailable(
            "ffmpeg is not installed on the server; install it to export animatics",
        ),
        other => ApiError::Internal(Error::from(other)),
    })?;
    let bytes = tokio::fs::read(&out).await.map_err(Error::Io)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("video/mp4")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"storyboard.mp4\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// Imports the novel at `path` as a demo project, but only into an empty studio, so a new user
/// sees a storyboard at once and a returning one is not given a second copy.
pub async fn import_demo(
    state: &AppState,
    path: &std::path::Path,
) -> crate::Result<Option<Imported>> {
    if state.store().project_count().await? > 0 {
        return Ok(None);
    }
    let bytes = tokio::fs::read(path).await?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    match import_novel(state, &bytes, file_name, None, true).await {
        Ok(imported) => Ok(Some(imported)),
        Err(ApiError::Internal(e)) => Err(e),
        // A demo file that is not a novel is a configuration mistake: say so and go on serving.
        Err(other) => {
            tracing::warn!(path = %path.display(), error = ?other, "demo novel not imported");
            Ok(None)
        }
    }
}
