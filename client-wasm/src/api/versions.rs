//! Named versions of a project: list, name, delete, read a version's state, restore, diff
//! (`sync-server`'s versions routes; the route table is `api_types::review`'s module doc).

use api_types::{
    Activity, CreateVersion, ErrorCode, Restored, VersionDiff, VersionId, VersionInfo,
};
use gloo_net::http::Request;

use super::studio::{authed, json, send, send_empty};
use super::{ApiError, check};

impl ApiError {
    /// The version (or project) is gone: someone deleted it meanwhile.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(
            self,
            ApiError::Server {
                code: ErrorCode::NotFound,
                ..
            }
        )
    }
}

fn url(project: &str, rest: &str) -> String {
    format!("/api/projects/{project}/{rest}")
}

/// The project's versions, newest first.
pub(crate) async fn versions(project: &str, token: &str) -> Result<Vec<VersionInfo>, ApiError> {
    let builder = authed(Request::get(&url(project, "versions")), token);
    send(builder.build().map_err(|_| ApiError::Network)).await
}

/// Names the project's current state (owners and editors).
pub(crate) async fn create_version(
    project: &str,
    token: &str,
    name: String,
    note: Option<String>,
) -> Result<VersionInfo, ApiError> {
    let builder = authed(Request::post(&url(project, "versions")), token);
    send(json(builder, &CreateVersion { name, note })).await
}

/// Deletes a version (owners only).
pub(crate) async fn delete_version(
    project: &str,
    token: &str,
    version: &VersionId,
) -> Result<(), ApiError> {
    let builder = authed(
        Request::delete(&url(project, &format!("versions/{version}"))),
        token,
    );
    send_empty(builder.build().map_err(|_| ApiError::Network)).await
}

/// The document as it was at `version`: a yrs v1 update holding the whole state, for
/// `shared_model::Project::load`.
pub(crate) async fn version_state(
    project: &str,
    token: &str,
    version: &VersionId,
) -> Result<Vec<u8>, ApiError> {
    let response = authed(
        Request::get(&url(project, &format!("versions/{version}/state"))),
        token,
    )
    .send()
    .await
    .map_err(|_| ApiError::Network)?;
    check(response)
        .await?
        .binary()
        .await
        .map_err(|_| ApiError::Network)
}

/// Makes the live document equal to `version`, as a new change every connected browser
/// receives. The server first takes an automatic version (`Restored::before`), and restoring
/// that one undoes this restore.
pub(crate) async fn restore_version(
    project: &str,
    token: &str,
    version: &VersionId,
) -> Result<Restored, ApiError> {
    let builder = authed(
        Request::post(&url(project, &format!("versions/{version}/restore"))),
        token,
    );
    send(builder.build().map_err(|_| ApiError::Network)).await
}

/// What changed from `from` to `to` (the live project when `to` is `None`).
pub(crate) async fn diff(
    project: &str,
    token: &str,
    from: &VersionId,
    to: Option<&VersionId>,
) -> Result<VersionDiff, ApiError> {
    let to = to.map_or_else(|| "now".to_owned(), ToString::to_string);
    let query = format!(
        "diff?from={}&to={}",
        js_sys::encode_uri_component(from.as_str()),
        js_sys::encode_uri_component(&to)
    );
    let builder = authed(Request::get(&url(project, &query)), token);
    send(builder.build().map_err(|_| ApiError::Network)).await
}

/// Who changed what, grouped by person and time, newest first.
pub(crate) async fn activity(project: &str, token: &str) -> Result<Activity, ApiError> {
    let builder = authed(Request::get(&url(project, "activity")), token);
    send(builder.build().map_err(|_| ApiError::Network)).await
}
