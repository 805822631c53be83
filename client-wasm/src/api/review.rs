//! Identity, share links, threads, comments and verdicts: the review routes of
//! `api_types::review` (its module doc has the route table). The bodies are [`api_types`]'; a
//! refusal is decided on from its code (`link_revoked`, `identity_required`), never its text.
//!
//! Nothing here names an author or a time: the server sets both from the caller's token.

use api_types::{
    Comment, CommentId, CreateToken, CreatedToken, EditComment, JoinRequest, Joined, LinkId,
    LinkInfo, Me, NewComment, NewThread, NewVerdict, Person, Thread, ThreadId, Verdict, VersionId,
    VersionInfo,
};
use gloo_net::http::{Request, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ApiError, bearer, check};

fn url(project: &str, rest: &str) -> String {
    format!("/api/projects/{project}/{rest}")
}

fn authed(builder: RequestBuilder, token: &str) -> RequestBuilder {
    builder.header("Authorization", &bearer(token))
}

async fn answer<T: DeserializeOwned>(request: Result<Request, ApiError>) -> Result<T, ApiError> {
    let response = request?.send().await.map_err(|_| ApiError::Network)?;
    check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)
}

async fn no_answer(request: Result<Request, ApiError>) -> Result<(), ApiError> {
    let response = request?.send().await.map_err(|_| ApiError::Network)?;
    check(response).await.map(|_| ())
}

async fn get<T: DeserializeOwned>(project: &str, token: &str, rest: &str) -> Result<T, ApiError> {
    answer(
        authed(Request::get(&url(project, rest)), token)
            .build()
            .map_err(|_| ApiError::Network),
    )
    .await
}

fn with_body<B: Serialize>(builder: RequestBuilder, body: &B) -> Result<Request, ApiError> {
    builder.json(body).map_err(|_| ApiError::Network)
}

/// What the caller's token is: its role, its person (none for a link not joined yet), and the
/// version a "share for review" link opens.
pub(crate) async fn me(project: &str, token: &str) -> Result<Me, ApiError> {
    get(project, token, "me").await
}

/// Gives a display name once for a share link; the answer's token replaces the link's.
pub(crate) async fn join(project: &str, token: &str, name: &str) -> Result<Joined, ApiError> {
    let body = JoinRequest {
        name: name.to_owned(),
    };
    answer(with_body(
        authed(Request::post(&url(project, "join")), token),
        &body,
    ))
    .await
}

/// The project's people, for @mentions.
pub(crate) async fn people(project: &str, token: &str) -> Result<Vec<Person>, ApiError> {
    get(project, token, "people").await
}

/// The project's share links (owners only).
pub(crate) async fn links(project: &str, token: &str) -> Result<Vec<LinkInfo>, ApiError> {
    get(project, token, "links").await
}

pub(crate) async fn revoke_link(project: &str, token: &str, link: &LinkId) -> Result<(), ApiError> {
    no_answer(
        authed(
            Request::delete(&url(project, &format!("links/{link}"))),
            token,
        )
        .build()
        .map_err(|_| ApiError::Network),
    )
    .await
}

/// Makes a share link (owners only): role, label, expiry, a personal invite's name, a version
/// to review.
pub(crate) async fn create_link(
    project: &str,
    token: &str,
    request: &CreateToken,
) -> Result<CreatedToken, ApiError> {
    answer(with_body(
        authed(Request::post(&url(project, "tokens")), token),
        request,
    ))
    .await
}

/// The named versions, newest first, for "Share for review" and the verdict bar.
pub(crate) async fn review_versions(
    project: &str,
    token: &str,
) -> Result<Vec<VersionInfo>, ApiError> {
    get(project, token, "versions").await
}

pub(crate) async fn new_thread(
    project: &str,
    token: &str,
    body: &NewThread,
) -> Result<Thread, ApiError> {
    answer(with_body(
        authed(Request::post(&url(project, "threads")), token),
        body,
    ))
    .await
}

pub(crate) async fn new_comment(
    project: &str,
    token: &str,
    thread: &ThreadId,
    body: &NewComment,
) -> Result<Comment, ApiError> {
    answer(with_body(
        authed(
            Request::post(&url(project, &format!("threads/{thread}/comments"))),
            token,
        ),
        body,
    ))
    .await
}

pub(crate) async fn edit_comment(
    project: &str,
    token: &str,
    thread: &ThreadId,
    comment: &CommentId,
    text: &str,
) -> Result<Comment, ApiError> {
    let body = EditComment {
        text: text.to_owned(),
    };
    answer(with_body(
        authed(
            Request::patch(&url(
                project,
                &format!("threads/{thread}/comments/{comment}"),
            )),
            token,
        ),
        &body,
    ))
    .await
}

pub(crate) async fn delete_comment(
    project: &str,
    token: &str,
    thread: &ThreadId,
    comment: &CommentId,
) -> Result<(), ApiError> {
    no_answer(
        authed(
            Request::delete(&url(
                project,
                &format!("threads/{thread}/comments/{comment}"),
            )),
            token,
        )
        .build()
        .map_err(|_| ApiError::Network),
    )
    .await
}

/// Resolves (`resolve = true`) or reopens a thread.
pub(crate) async fn set_resolved(
    project: &str,
    token: &str,
    thread: &ThreadId,
    resolve: bool,
) -> Result<Thread, ApiError> {
    let action = if resolve { "resolve" } else { "reopen" };
    answer(
        authed(
            Request::post(&url(project, &format!("threads/{thread}/{action}"))),
            token,
        )
        .build()
        .map_err(|_| ApiError::Network),
    )
    .await
}

pub(crate) async fn put_verdict(
    project: &str,
    token: &str,
    version: &VersionId,
    body: &NewVerdict,
) -> Result<Verdict, ApiError> {
    answer(with_body(
        authed(
            Request::put(&url(project, &format!("versions/{version}/verdict"))),
            token,
        ),
        body,
    ))
    .await
}

/// The verdicts on a version, each with the shots it is stale for (computed when asked).
pub(crate) async fn verdicts(
    project: &str,
    token: &str,
    version: &VersionId,
) -> Result<Vec<Verdict>, ApiError> {
    get(project, token, &format!("versions/{version}/verdicts")).await
}
