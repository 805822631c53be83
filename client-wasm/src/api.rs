//! The sync server's REST API. The bodies are [`api_types`]'s, the same types the server
//! answers with; an error is the server's [`ApiErrorBody`], whose `code` (never the English
//! message) is what the studio decides on.

mod review;
mod studio;
mod versions;

use api_types::{
    ApiErrorBody, CreateProject, CreatedProject, ErrorCode, ProjectSummary, UploadedAsset,
};
use gloo_net::http::{Request, Response};
pub(crate) use review::*;
pub(crate) use studio::*;
pub(crate) use versions::*;

/// Why a request failed, in words a person can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ApiError {
    /// 401: the token is missing, malformed, forged or expired.
    #[error("your access link is invalid or has expired ({0})")]
    Unauthorized(String),
    /// 401 `link_revoked`: the share link was revoked by the project's owner. Retrying cannot
    /// help, so the studio stops reconnecting.
    #[error("this link was revoked by the project's owner")]
    Revoked,
    /// 403: the token does not allow this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// Any other refusal, with the server's message and code.
    #[error("server error {status}: {message}")]
    Server {
        status: u16,
        message: String,
        code: ErrorCode,
        /// The provider whose key is missing, for [`ErrorCode::MissingCredential`].
        provider: Option<String>,
    },
    #[error("cannot reach the server")]
    Network,
}

impl ApiError {
    pub(crate) fn is_auth(&self) -> bool {
        matches!(
            self,
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) | ApiError::Revoked
        )
    }

    /// The server wants a personal identity (a name given through `join`) for this.
    pub(crate) fn identity_required(&self) -> bool {
        matches!(
            self,
            ApiError::Server {
                code: ErrorCode::IdentityRequired,
                ..
            }
        )
    }

    /// The provider whose key the project lacks, when that is why the server refused.
    pub(crate) fn missing_credential(&self) -> Option<&str> {
        match self {
            ApiError::Server {
                code: ErrorCode::MissingCredential,
                provider,
                ..
            } => provider.as_deref(),
            _ => None,
        }
    }
}

async fn check(response: Response) -> Result<Response, ApiError> {
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    // A proxy in front of the server may answer in its own shape: keep its status text.
    let body = response
        .json::<ApiErrorBody>()
        .await
        .unwrap_or_else(|_| ApiErrorBody::new(ErrorCode::Other, response.status_text()));
    Err(match status {
        401 if body.code == ErrorCode::LinkRevoked => ApiError::Revoked,
        401 => ApiError::Unauthorized(body.error),
        // Kept with its code: the studio asks for a name on `identity_required`.
        403 if body.code == ErrorCode::IdentityRequired => ApiError::Server {
            status,
            message: body.error,
            code: body.code,
            provider: body.provider,
        },
        403 => ApiError::Forbidden(body.error),
        _ => ApiError::Server {
            status,
            message: body.error,
            code: body.code,
            provider: body.provider,
        },
    })
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(crate) async fn create_project(title: &str) -> Result<CreatedProject, ApiError> {
    let response = Request::post("/api/projects")
        .json(&CreateProject {
            title: title.to_owned(),
            // The name this browser already shows in presence becomes the owner's, unless it
            // is a made-up guest name (then the server says "Owner").
            owner_name: Some(crate::storage::user().name)
                .filter(|n| !n.is_empty() && !n.starts_with("Guest ")),
        })
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
