//! The sync server's REST API (see `sync-server/src/http.rs` for the shapes).

mod studio;

use gloo_net::http::{Request, Response};
use serde::{Deserialize, Serialize};
pub(crate) use studio::*;

/// Why a request failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ApiError {
    /// 401: the token is missing, malformed, forged or expired.
    #[error("your access link is invalid or has expired ({0})")]
    Unauthorized(String),
    /// 403: the token does not allow this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("server error {status}: {message}")]
    Server { status: u16, message: String },
    #[error("cannot reach the server")]
    Network,
}

impl ApiError {
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, ApiError::Unauthorized(_) | ApiError::Forbidden(_))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CreatedProject {
    pub(crate) project_id: String,
    pub(crate) token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProjectSummary {
    pub(crate) title: String,
    pub(crate) role: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CreatedToken {
    pub(crate) token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct UploadedAsset {
    pub sha256: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

async fn check(response: Response) -> Result<Response, ApiError> {
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let message = response
        .json::<ErrorBody>()
        .await
        .map(|b| b.error)
        .unwrap_or_else(|_| response.status_text());
    Err(match status {
        401 => ApiError::Unauthorized(message),
        403 => ApiError::Forbidden(message),
        _ => ApiError::Server { status, message },
    })
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(crate) async fn create_project(title: &str) -> Result<CreatedProject, ApiError> {
    #[derive(Serialize)]
    struct Body<'a> {
        title: &'a str,
    }
    let response = Request::post("/api/projects")
        .json(&Body { title })
        .map_err(|_| ApiError::Network)?
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)
}

/// The project a token grants, with the token's role.
pub(crate) async fn project_for_token(token: &str) -> Result<Option<ProjectSummary>, ApiError> {
    let response = Request::get("/api/projects")
        .header("Authorization", &bearer(token))
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    let list: Vec<ProjectSummary> = check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)?;
    Ok(list.into_iter().next())
}

/// Mints a share token (owners only).
pub(crate) async fn create_token(
    project: &str,
    token: &str,
    role: &str,
) -> Result<String, ApiError> {
    #[derive(Serialize)]
    struct Body<'a> {
        role: &'a str,
        expires_in_secs: u64,
    }
    let response = Request::post(&format!("/api/projects/{project}/tokens"))
        .header("Authorization", &bearer(token))
        .json(&Body {
            role,
            expires_in_secs: 30 * 24 * 3600,
        })
        .map_err(|_| ApiError::Network)?
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    let created: CreatedToken = check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)?;
    Ok(created.token)
}

/// Uploads a file as the raw request body; the server names it by its sha256.
pub(crate) async fn upload_asset(
    project: &str,
    token: &str,
    file: &web_sys::File,
) -> Result<UploadedAsset, ApiError> {
    let response = Request::post(&format!("/api/projects/{project}/assets"))
        .header("Authorization", &bearer(token))
        .body(wasm_bindgen::JsValue::from(file.clone()))
        .map_err(|_| ApiError::Network)?
        .send()
        .await
        .map_err(|_| ApiError::Network)?;
    check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)
}

/// Where the browser can load an asset (an `<img src>` cannot send headers, hence the query).
pub(crate) fn asset_url(project: &str, token: &str, sha256: &str) -> String {
    format!(
        "/api/projects/{project}/assets/{sha256}?token={}",
        js_sys::encode_uri_component(token)
    )
}
