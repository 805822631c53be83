//! Review: threads and comments, verdicts on versions, and the project's activity.
//!
//! | route | who | body / answer |
//! |---|---|---|
//! | `GET /api/projects/{id}/threads` | any role | `Vec<Thread>`, `orphaned` computed against the live project |
//! | `POST /api/projects/{id}/threads` | commenter, editor, owner, with a person | `NewThread` → 201 `Thread` (200 with the first one for a repeated `client_key`) |
//! | `POST .../threads/{t}/comments` | commenter, editor, owner, with a person | `NewComment` → 201 `Comment` (200 for a repeated `client_key`) |
//! | `PATCH .../threads/{t}/comments/{c}` | the comment's author | `EditComment` → `Comment` |
//! | `DELETE .../threads/{t}/comments/{c}` | the comment's author | 204 |
//! | `POST .../threads/{t}/resolve`, `.../reopen` | the thread's author, editors, owners | `Thread` |
//! | `PUT /api/projects/{id}/versions/{v}/verdict` | commenter, editor, owner, with a person | `NewVerdict` → `Verdict` |
//! | `GET /api/projects/{id}/versions/{v}/verdicts` | any role | `Vec<Verdict>` with `stale_shots` |
//! | `GET /api/projects/{id}/activity` | any role | `Activity`, newest group first |
//!
//! The review document `{project}.review` is written by the server alone: every write here is
//! a validated command whose author and time come from the caller's token and the server's
//! clock, run inside the document's room ([`crate::room::Rooms::apply`]) so that the check
//! ("is this your comment?", "was this key used?") and the write see one state, and committed
//! and broadcast like any update: every open client's replica shows it live. No connection may
//! write that document over the WebSocket.
//!
//! What a thread points at is checked against the live project as the server's document peer
//! has it (`jobs/peer.rs`), waited on until it holds everything the project's room committed.

mod anchor;
mod text;

use std::collections::HashMap;
use std::sync::Arc;

use api_types::{
    Activity, Author, Comment, CommentId, EditComment, NewComment, NewThread, NewVerdict, Person,
    Role, SceneId, Thread, ThreadId, ThreadStatus, Verdict, VerdictTally, VersionId,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use shared_model::{Project, ReviewDoc};

use crate::AppState;
use crate::auth::ProjectId;
use crate::http::{ANYONE, ApiError, ApiResult, Json, Path, ProjectCaller};
use crate::jobs::now_ms;
use crate::jobs::peer::DocPeer;
use crate::store::PersonRow;
use crate::{Error, Result};

/// The roles that write reviews.
const REVIEWERS: &[Role] = &[Role::Owner, Role::Editor, Role::Commenter];
/// Most activity groups one answer lists.
const ACTIVITY_GROUPS: i64 = 200;
/// How long a read waits for the document peer to hold what the room committed.

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/projects/{id}/threads",
            get(list_threads).post(create_thread),
        )
        .route("/api/projects/{id}/threads/{t}/comments", post(add_comment))
        .route(
            "/api/projects/{id}/threads/{t}/comments/{c}",
            patch(edit_comment).delete(delete_comment),
        )
        .route("/api/projects/{id}/threads/{t}/resolve", post(resolve))
        .route("/api/projects/{id}/threads/{t}/reopen", post(reopen))
        .route("/api/projects/{id}/versions/{v}/verdict", put(put_verdict))
        .route("/api/projects/{id}/versions/{v}/verdicts", get(verdicts))
        .route("/api/projects/{id}/activity", get(activity))
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn list_threads(
    State(state): State<AppState>,
    caller: ProjectCaller,
) -> ApiResult<Json<Vec<Thread>>> {
    let project = caller.require(ANYONE, "no access")?;
    let live = live_project(&state, &project).await?;
    Ok(Json(threads(&state, &project, &live).await?))
}

async fn create_thread(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<NewThread>,
) -> ApiResult<(StatusCode, Json<Thread>)> {
    let author = reviewer(&caller)?;
    let project = caller.project;
    let text = text::comment_text(&body.text)?.to_owned();
    // A retry finds its thread even if what it pointed at is gone since.
    if let Some(key) = body.client_key.clone() {
        let person = author.id.clone();
        let earlier = read_review(&state, &project, move |r| {
            let (thread, _) = r.find_client_key(person.as_ref()?, &key)?;
            r.thread(&thread)
        })
        .await?;
        if let Some(thread) = earlier {
            return Ok((StatusCode::OK, Json(thread)));
        }
    }
    let live = live_project(&state, &project).await?;
    let (anchor, quote) = live.read(|p| anchor::resolve(p, &body.anchor))?;
    let people = people(&state, &project).await?;
    let at = now_ms();
    let thread = Thread {
        id: ThreadId::new(),
        anchor,
        quote,
        version: newest_version(&state, &project).await?,
        author: author.clone(),
        created_at_ms: at,
        status: ThreadStatus::Open,
        resolved_by: None,
        resolved_at_ms: None,
        comments: vec![Comment {
            id: CommentId::new(),
            author: author.clone(),
            created_at_ms: at,
            edited_at_ms: None,
            mentions: text::mentions(&text, &people),
            text,
            deleted: false,
        }],
        orphaned: false,
    };
    let key = body.client_key;
    let (status, thread) = write_review(&state, &project, move |r| {
        // Checked again where it is written: two retries may race past the check above.
        if let (Some(person), Some(key)) = (&author.id, &key)
            && let Some(thread) = r
                .find_client_key(person, key)
                .and_then(|(t, _)| r.thread(&t))
        {
            return Ok((StatusCode::OK, thread));
        }
        r.add_thread(&thread, key.as_deref()).map_err(doc_error)?;
        Ok((StatusCode::CREATED, thread))
    })
    .await?;
    Ok((status, Json(thread)))
}

async fn add_comment(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, thread)): Path<(String, ThreadId)>,
    Json(body): Json<NewComment>,
) -> ApiResult<(StatusCode, Json<Comment>)> {
    let author = reviewer(&caller)?;
    let project = caller.project;
    let text = text::comment_text(&body.text)?.to_owned();
    let people = people(&state, &project).await?;
    let comment = Comment {
        id: CommentId::new(),
        author: author.clone(),
        created_at_ms: now_ms(),
        edited_at_ms: None,
        mentions: text::mentions(&text, &people),
        text,
        deleted: false,
    };
    let key = body.client_key;
    let (status, comment) = write_review(&state, &project, move |r| {
        if let (Some(person), Some(key)) = (&author.id, &key)
            && let Some((t, Some(c))) = r.find_client_key(person, key)
            && let Some(earlier) = r
                .thread(&t)
                .and_then(|t| t.comments.into_iter().find(|x| x.id == c))
        {
            return Ok((StatusCode::OK, earlier));
        }
        if r.thread(&thread).is_none() {
            return Err(ApiError::NotFound("no such thread"));
        }
        r.add_comment(&thread, &comment, key.as_deref())
            .map_err(doc_error)?;
        Ok((StatusCode::CREATED, comment))
    })
    .await?;
    Ok((status, Json(comment)))
}

async fn edit_comment(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, thread, comment)): Path<(String, ThreadId, CommentId)>,
    Json(body): Json<EditComment>,
) -> ApiResult<Json<Comment>> {
    let author = reviewer(&caller)?;
    let project = caller.project;
    let text = text::comment_text(&body.text)?.to_owned();
    let comment = write_review(&state, &project, move |r| {
        own_comment(r, &thread, &comment, &author)?;
        r.edit_comment(&thread, &comment, &text, now_ms())
            .map_err(doc_error)?;
        find_comment(r, &thread, &comment)
    })
    .await?;
    Ok(Json(comment))
}

async fn delete_comment(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, thread, comment)): Path<(String, ThreadId, CommentId)>,
) -> ApiResult<StatusCode> {
    let author = reviewer(&caller)?;
    let project = caller.project;
    write_review(&state, &project, move |r| {
        own_comment(r, &thread, &comment, &author)?;
        r.delete_comment(&thread, &comment, now_ms())
            .map_err(doc_error)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn resolve(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, thread)): Path<(String, ThreadId)>,
) -> ApiResult<Json<Thread>> {
    set_status(state, caller, thread, ThreadStatus::Resolved).await
}

async fn reopen(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, thread)): Path<(String, ThreadId)>,
) -> ApiResult<Json<Thread>> {
    set_status(state, caller, thread, ThreadStatus::Open).await
}

async fn set_status(
    state: AppState,
    caller: ProjectCaller,
    thread: ThreadId,
    status: ThreadStatus,
) -> ApiResult<Json<Thread>> {
    let author = reviewer(&caller)?;
    // Editors and owners tend the whole discussion; a commenter only their own threads.
    let tends_all = matches!(caller.role, Role::Owner | Role::Editor);
    let project = caller.project;
    let thread = write_review(&state, &project, move |r| {
        let current = r
            .thread(&thread)
            .ok_or(ApiError::NotFound("no such thread"))?;
        if !tends_all && !same_person(&current.author, &author) {
            return Err(ApiError::Forbidden(
                "only the thread's author, an editor or the owner can resolve or reopen it",
            ));
        }
        if current.status != status {
            r.set_status(&thread, status, Some(&author), now_ms())
                .map_err(doc_error)?;
        }
        r.thread(&thread)
            .ok_or(ApiError::NotFound("no such thread"))
    })
    .await?;
    let live = live_project(&state, &project).await?;
    let thread = live.read(|p| with_orphans(p, vec![thread]));
    thread
        .into_iter()
        .next()
        .map(Json)
        .ok_or(ApiError::NotFound("no such thread"))
}

async fn put_verdict(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, version)): Path<(String, VersionId)>,
    Json(body): Json<NewVerdict>,
) -> ApiResult<Json<Verdict>> {
    let author = reviewer(&caller)?;
    let project = caller.project;
    let summary = text::summary_text(&body.summary)?.to_owned();
    let Some(covered) = version_state(&state, &project, &version).await? else {
        return Err(ApiError::NotFound(
            "a verdict needs a named version of this project",
        ));
    };
    let verdict = Verdict {
        version: version.clone(),
        author,
        verdict: body.verdict,
        summary,
        created_at_ms: now_ms(),
        stale_shots: Vec::new(),
    };
    let stored = verdict.clone();
    write_review(&state, &project, move |r| {
        r.put_verdict(&stored).map_err(doc_error)
    })
    .await?;
    let stale = stale_shots(&state, &project, &covered).await?;
    Ok(Json(Verdict {
        stale_shots: stale,
        ..verdict
    }))
}

async fn verdicts(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, version)): Path<(String, VersionId)>,
) -> ApiResult<Json<Vec<Verdict>>> {
    let project = caller.require(ANYONE, "no access")?;
    verdicts_on(&state, &project, &version)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("no such version"))
}

async fn activity(
    State(state): State<AppState>,
    caller: ProjectCaller,
) -> ApiResult<Json<Activity>> {
    let project = caller.require(ANYONE, "no access")?;
    let rows = state
        .store()
        .activity(project.as_str(), ACTIVITY_GROUPS)
        .await?;
    let shots = state.store().shot_authors(project.as_str()).await?;
    let live = live_project(&state, &project).await?;
    let titles: HashMap<SceneId, String> =
        live.read(|p| p.scenes().into_iter().map(|s| (s.id, s.title)).collect());
    let groups = rows
        .into_iter()
        .map(|row| row.into_group(|id| titles.get(id).cloned().unwrap_or_default()))
        .collect();
    Ok(Json(Activity { groups, shots }))
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The caller as the author of a review write: a person with a reviewing role.
fn reviewer(caller: &ProjectCaller) -> ApiResult<Author> {
    if !REVIEWERS.contains(&caller.role) {
        return Err(ApiError::Forbidden(
            "viewers can read reviews but not write them",
        ));
    }
    let person = caller.require_person()?;
    Ok(Author {
        id: Some(person.id.clone()),
        name: person.name.clone(),
    })
}

/// A review document write that failed after its checks passed: the server's fault.
fn doc_error(e: shared_model::Error) -> ApiError {
    ApiError::from(Error::from(e))
}

/// Whether two authors are one person (never true of authors without an id).
fn same_person(a: &Author, b: &Author) -> bool {
    a.id.is_some() && a.id == b.id
}

/// Refuses unless `comment` exists, is `author`'s, and is not deleted.
fn own_comment(
    r: &ReviewDoc,
    thread: &ThreadId,
    comment: &CommentId,
    author: &Author,
) -> ApiResult<()> {
    let current = find_comment(r, thread, comment)?;
    if !same_person(&current.author, author) {
        return Err(ApiError::Forbidden(
            "only a comment's author can edit or delete it",
        ));
    }
    if current.deleted {
        return Err(ApiError::Conflict("the comment was deleted".into()));
    }
    Ok(())
}

fn find_comment(r: &ReviewDoc, thread: &ThreadId, comment: &CommentId) -> ApiResult<Comment> {
    r.thread(thread)
        .ok_or(ApiError::NotFound("no such thread"))?
        .comments
        .into_iter()
        .find(|c| &c.id == comment)
        .ok_or(ApiError::NotFound("no such comment"))
}

/// Every thread of the project, with `orphaned` computed against `live` (from
/// [`live_project`]): what `GET .../threads` answers, and what the exports carry.
pub(crate) async fn threads(
    state: &AppState,
    project: &ProjectId,
    live: &DocPeer,
) -> Result<Vec<Thread>> {
    let threads = read_review(state, project, |r| r.threads()).await?;
    Ok(live.read(|p| with_orphans(p, threads)))
}

/// The verdicts on `version` with the shots changed since it (`stale_shots`), or `None` when
/// the project has no such version: what `GET .../versions/{v}/verdicts` answers, and what the
/// review report shows.
pub(crate) async fn verdicts_on(
    state: &AppState,
    project: &ProjectId,
    version: &VersionId,
) -> Result<Option<Vec<Verdict>>> {
    let Some(covered) = version_state(state, project, version).await? else {
        return Ok(None);
    };
    let on = version.clone();
    let mut verdicts = read_review(state, project, move |r| r.verdicts_on(&on)).await?;
    if !verdicts.is_empty() {
        let stale = stale_shots(state, project, &covered).await?;
        for v in &mut verdicts {
            v.stale_shots.clone_from(&stale);
        }
    }
    Ok(Some(verdicts))
}

fn with_orphans(project: &Project, mut threads: Vec<Thread>) -> Vec<Thread> {
    for thread in &mut threads {
        thread.orphaned = project.is_orphaned(&thread.anchor);
    }
    threads
}

fn review_doc(project: &ProjectId) -> String {
    format!("{project}.review")
}

/// Reads the review document inside its room.
async fn read_review<R, F>(state: &AppState, project: &ProjectId, f: F) -> Result<R>
where
    R: Send + 'static,
    F: FnOnce(&ReviewDoc) -> R + Send + 'static,
{
    Ok(state
        .rooms()
        .apply(&review_doc(project), move |doc| {
            f(&ReviewDoc::from_doc(doc.clone()))
        })
        .await?)
}

/// Removes the verdicts given on a version (it was deleted).
pub(crate) async fn remove_verdicts_on(
    state: &AppState,
    project: &ProjectId,
    version: &VersionId,
) -> ApiResult<()> {
    let version = version.clone();
    write_review(state, project, move |review| {
        review.remove_verdicts_on(&version);
        Ok(())
    })
    .await
}

/// Checks and writes the review document inside its room; returns once the write is
/// committed (and on its way to every connection). A refusal writes nothing.
async fn write_review<R, F>(state: &AppState, project: &ProjectId, f: F) -> ApiResult<R>
where
    R: Send + 'static,
    F: FnOnce(&ReviewDoc) -> ApiResult<R> + Send + 'static,
{
    state
        .rooms()
        .apply(&review_doc(project), move |doc| {
            f(&ReviewDoc::from_doc(doc.clone()))
        })
        .await
        .map_err(Error::from)?
}

/// The server's replica of the live project, holding at least everything the project's room
/// had committed when this was called (a shot a client created a moment ago is there).
pub(crate) async fn live_project(state: &AppState, project: &ProjectId) -> Result<Arc<DocPeer>> {
    let peer = state.jobs().peer(project).await?;
    peer.catch_up().await?;
    Ok(peer)
}

/// The shots a verdict on a version with `covered` state no longer covers.
async fn stale_shots(
    state: &AppState,
    project: &ProjectId,
    covered: &Project,
) -> Result<Vec<api_types::ShotId>> {
    let live = live_project(state, project).await?;
    let now = live.read(Project::snapshot);
    Ok(shared_model::changed_shots(&covered.snapshot(), &now))
}

/// The project's people, for @mentions.
async fn people(state: &AppState, project: &ProjectId) -> Result<Vec<Person>> {
    Ok(state
        .store()
        .people(project)
        .await?
        .iter()
        .map(PersonRow::person)
        .collect())
}

/// The newest version of the project, which a new thread records.
async fn newest_version(state: &AppState, project: &ProjectId) -> Result<Option<VersionId>> {
    // The list is newest first.
    Ok(state
        .store()
        .versions(project)
        .await?
        .into_iter()
        .next()
        .map(|v| v.id))
}

/// The state of a version of this project, or `None` when it has no such version.
async fn version_state(
    state: &AppState,
    project: &ProjectId,
    version: &VersionId,
) -> Result<Option<Project>> {
    match crate::versions::Archive::of(state)
        .load(project, version)
        .await
    {
        Ok((_, doc)) => Ok(Some(doc)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The verdicts given on each version of the project, for the versions list.
pub async fn tallies(
    state: &AppState,
    project: &ProjectId,
) -> Result<HashMap<VersionId, VerdictTally>> {
    let verdicts = read_review(state, project, |r| r.verdicts()).await?;
    let mut tallies: HashMap<VersionId, VerdictTally> = HashMap::new();
    for v in verdicts {
        let tally = tallies.entry(v.version).or_default();
        match v.verdict {
            api_types::VerdictKind::Approve => tally.approve += 1,
            api_types::VerdictKind::RequestChanges => tally.request_changes += 1,
            api_types::VerdictKind::Comment => tally.comment += 1,
        }
    }
    Ok(tallies)
}
