//! The HTTP surface: routes, REST handlers, and [`ApiError`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/projects` `{title}` | anyone | creates a project, answers `{project_id, token}` (owner) |
//! | `POST /api/projects/{id}/tokens` `{role, expires_in_secs}` | owner | mints a share token |
//! | `GET /api/projects` | bearer | the token's projects |
//! | `POST /api/projects/{id}/assets` | owner, editor | raw or multipart body, content-addressed |
//! | `GET /api/projects/{id}/assets/{sha256}` | any role | the bytes, with the sniffed type |
//! | `POST /api/import`, `GET /api/projects/{id}/export/{format}` | see [`crate::studio`] | |
//! | `POST /api/projects/{id}/generate`, `GET .../jobs`, `POST .../jobs/{job}/cancel`, `.../credentials`, `.../budget` | see [`crate::jobs`] | |
//! | `GET /sync/{doc}?token=` | any role | y-websocket endpoint (see [`crate::ws`]) |
//! | `GET /healthz`, `GET /metrics` | anyone | liveness (checks the database), Prometheus |
//! | `GET /` and any other path | anyone | the browser studio's static files (`--web-dir`) |
//!
//! Tokens come in `Authorization: Bearer`, or in `?token=` where a browser cannot set
//! headers (WebSocket, `<img src>`).

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, Query, RawPathParams,
    Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::assets::{is_sha256_hex, sha256_hex, sniff_content_type};
use crate::auth::{Claims, ProjectId, Role, TokenError};
use crate::store::{AssetRow, unix_now};
use crate::{Error, observability, ws};

/// Share tokens without an explicit expiry live a week.
const DEFAULT_SHARE_TOKEN_SECS: u64 = 7 * 24 * 3600;
/// Longest share token lifetime: ten years, which keeps `now + secs` far from overflow.
const MAX_SHARE_TOKEN_SECS: u64 = 10 * 365 * 24 * 3600;

pub fn router(state: AppState) -> Router {
    let max_asset = state.config().max_asset_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/projects", post(create_project).get(list_projects))
        .route("/api/projects/{id}/tokens", post(create_token))
        .route(
            "/api/projects/{id}/assets",
            // Multipart framing adds a little on top of the file itself.
            post(upload_asset).layer(DefaultBodyLimit::max(max_asset.saturating_add(64 * 1024))),
        )
        .route("/api/projects/{id}/assets/{sha256}", get(download_asset))
        .route("/sync/{doc}", get(ws::sync_handler))
        .merge(crate::studio::routes())
        .merge(crate::jobs::routes())
        // Everything else is the browser studio's bundle (index.html at `/`).
        .fallback_service(ServeDir::new(&state.config().web_dir))
        .layer(TraceLayer::new_for_http().make_span_with(observability::http_span))
        .with_state(state)
}

/// Every error a handler returns. Internal errors are logged here, once, and answered with a
/// generic message: their text may contain SQL, paths or URLs that clients must not see.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized(&'static str),
    Forbidden(&'static str),
    NotFound(&'static str),
    BadRequest(String),
    PayloadTooLarge(String),
    /// 402: the work would exceed the project's budget; the message says by how much.
    PaymentRequired(String),
    Conflict(String),
    Unavailable(&'static str),
    Internal(Error),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        // Only the variants written for users carry their text out; everything else is
        // internal and redacted.
        match e {
            Error::Invalid(m) => Self::BadRequest(m),
            e @ Error::MissingCredential { .. } => Self::BadRequest(e.to_string()),
            Error::BudgetExceeded(m) => Self::PaymentRequired(m),
            Error::Conflict(m) => Self::Conflict(m),
            Error::NotFound(m) => Self::NotFound(m),
            other => Self::Internal(other),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        Self::Unauthorized(match e {
            TokenError::Malformed => "token is malformed",
            TokenError::BadSignature => "token signature is invalid",
            TokenError::Expired => "token has expired",
        })
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, (*m).to_owned()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, (*m).to_owned()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, (*m).to_owned()),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            ApiError::PaymentRequired(m) => (StatusCode::PAYMENT_REQUIRED, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, (*m).to_owned()),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal server error".to_owned(),
                )
            }
        };
        (status, Json(ErrorBody { error: &message })).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

/// The token from `Authorization: Bearer`, else from `?token=`.
pub(crate) fn token_from<'a>(headers: &'a HeaderMap, query: &'a TokenQuery) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .or(query.token.as_deref())
}

impl AppState {
    /// Verifies a token (401 when missing or invalid).
    pub fn authenticate(&self, token: Option<&str>) -> ApiResult<Claims> {
        let token = token.ok_or(ApiError::Unauthorized("a token is required"))?;
        Ok(self.signer().verify(token, unix_now())?)
    }

    /// Verifies a token for `project` (403 when it is for another project).
    pub fn authorize(&self, token: Option<&str>, project: &ProjectId) -> ApiResult<Claims> {
        let claims = self.authenticate(token)?;
        if &claims.project != project {
            return Err(ApiError::Forbidden("token is for another project"));
        }
        Ok(claims)
    }
}

pub(crate) fn parse_project(id: &str) -> ApiResult<ProjectId> {
    ProjectId::parse(id).ok_or(ApiError::NotFound("no such project"))
}

/// Who may do what to a project: the project's owners only.
pub(crate) const OWNERS: &[Role] = &[Role::Owner];
/// Owners and editors: the roles that change a project.
pub(crate) const WRITERS: &[Role] = &[Role::Owner, Role::Editor];
/// Every role: reading.
pub(crate) const ANYONE: &[Role] = &[Role::Owner, Role::Editor, Role::Commenter, Role::Viewer];

/// The caller of a `/api/projects/{id}/...` endpoint: the project in the path (404 when it
/// cannot be one) and the role of a token for it (401 without a valid token, 403 for another
/// project's). Handlers then say which roles may do what with [`ProjectCaller::require`].
pub(crate) struct ProjectCaller {
    pub project: ProjectId,
    pub role: Role,
}

impl ProjectCaller {
    /// The project, when the caller's role is one of `roles`; 403 with `why` otherwise.
    pub(crate) fn require(self, roles: &[Role], why: &'static str) -> ApiResult<ProjectId> {
        if roles.contains(&self.role) {
            Ok(self.project)
        } else {
            Err(ApiError::Forbidden(why))
        }
    }
}

impl FromRequestParts<AppState> for ProjectCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound("no such project"))?;
        let id = params
            .iter()
            .find_map(|(name, value)| (name == "id").then_some(value))
            .ok_or(ApiError::NotFound("no such project"))?;
        let project = parse_project(id)?;
        let query = Query::<TokenQuery>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let claims = state.authorize(token_from(&parts.headers, &query), &project)?;
        Ok(Self {
            project,
            role: claims.role,
        })
    }
}

async fn healthz(State(state): State<AppState>) -> ApiResult<&'static str> {
    match state.store().ping().await {
        Ok(()) => Ok("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            Err(ApiError::Unavailable("database unavailable"))
        }
    }
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        observability::prometheus().render(),
    )
}

#[derive(Debug, Deserialize)]
struct CreateProject {
    title: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedProject {
    pub project_id: String,
    pub token: String,
}

async fn create_project(
    State(state): State<AppState>,
    Json(body): Json<CreateProject>,
) -> ApiResult<(StatusCode, Json<CreatedProject>)> {
    let title = body.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(ApiError::BadRequest(
            "title must be 1 to 200 characters".into(),
        ));
    }
    let id = ProjectId::new_random();
    state.store().create_project(id.as_str(), title).await?;
    let token = state.signer().sign(&Claims {
        project: id.clone(),
        role: Role::Owner,
        expires_at: None,
    });
    tracing::info!(project = %id, "project created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedProject {
            project_id: id.to_string(),
            token,
        }),
    ))
}

#[derive(Debug, Deserialize)]
struct CreateToken {
    role: Role,
    expires_in_secs: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub role: Role,
    pub expires_at: i64,
}

async fn create_token(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let project = caller.require(OWNERS, "only owners can share a project")?;
    let secs = body.expires_in_secs.unwrap_or(DEFAULT_SHARE_TOKEN_SECS);
    if secs == 0 || secs > MAX_SHARE_TOKEN_SECS {
        return Err(ApiError::BadRequest(format!(
            "expires_in_secs must be between 1 and {MAX_SHARE_TOKEN_SECS}"
        )));
    }
    let expires_at = unix_now() + secs as i64;
    let token = state.signer().sign(&Claims {
        project,
        role: body.role,
        expires_at: Some(expires_at),
    });
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            role: body.role,
            expires_at,
        }),
    ))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub project_id: String,
    pub title: String,
    pub role: Role,
    pub expires_at: Option<i64>,
}

/// A token grants exactly one project, so this lists at most one; the shape leaves room for
/// user accounts holding several.
async fn list_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> ApiResult<Json<Vec<ProjectSummary>>> {
    let claims = state.authenticate(token_from(&headers, &query))?;
    let projects = state
        .store()
        .project(claims.project.as_str())
        .await?
        .map(|p| ProjectSummary {
            project_id: p.id,
            title: p.title,
            role: claims.role,
            expires_at: claims.expires_at,
        })
        .into_iter()
        .collect();
    Ok(Json(projects))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UploadedAsset {
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
}

async fn upload_asset(
    State(state): State<AppState>,
    caller: ProjectCaller,
    request: Request,
) -> ApiResult<(StatusCode, Json<UploadedAsset>)> {
    let project = caller.require(WRITERS, "only owners and editors can upload")?;
    let max = state.config().max_asset_bytes;
    let too_large = || ApiError::PayloadTooLarge(format!("assets are limited to {max} bytes"));
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let bytes = if is_multipart {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let field = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e, too_large))?
            .ok_or_else(|| ApiError::BadRequest("multipart body has no file".into()))?;
        field
            .bytes()
            .await
            .map_err(|e| multipart_error(e, too_large))?
    } else {
        Bytes::from_request(request, &state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => ApiError::BadRequest(e.body_text()),
            })?
    };
    if bytes.len() > max {
        return Err(too_large());
    }
    if bytes.is_empty() {
        return Err(ApiError::BadRequest("asset is empty".into()));
    }
    let sha256 = sha256_hex(&bytes);
    let content_type = sniff_content_type(&bytes).to_owned();
    let size = bytes.len() as u64;
    state.assets().put(&project, &sha256, bytes).await?;
    // The row is written after the bytes, so a listed asset always has its bytes.
    state
        .store()
        .insert_asset(
            project.as_str(),
            &AssetRow {
                sha256: sha256.clone(),
                size: size as i64,
                content_type: content_type.clone(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadedAsset {
            sha256,
            size,
            content_type,
        }),
    ))
}

fn multipart_error(
    e: axum::extract::multipart::MultipartError,
    too_large: impl Fn() -> ApiError,
) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

async fn download_asset(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, sha256)): Path<(String, String)>,
) -> ApiResult<Response> {
    let project = caller.require(ANYONE, "no access")?;
    if !is_sha256_hex(&sha256) {
        return Err(ApiError::NotFound("no such asset"));
    }
    let asset = state
        .store()
        .asset(project.as_str(), &sha256)
        .await?
        .ok_or(ApiError::NotFound("no such asset"))?;
    let stream = state.assets().get(&project, &sha256).await?;
    let content_type = HeaderValue::from_str(&asset.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, HeaderValue::from(asset.size)),
            // Content-addressed: the bytes under this URL never change.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
