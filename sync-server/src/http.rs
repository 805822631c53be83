//! The HTTP surface: routes, REST handlers, and [`ApiError`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/projects` `{title, owner_name?}` | anyone | creates a project with its owner (person and link), answers `{project_id, token}` (owner) |
//! | `POST /api/projects/{id}/tokens` `{role, expires_in_secs?, label?, name?, review_version?}` | owner | makes a share link: `{token, role, expires_at, link, person?}`; with `name`, a personal invite |
//! | `GET /api/projects` | bearer | the token's projects |
//! | `GET .../me`, `POST .../join`, `GET .../people`, `GET .../links`, `DELETE .../links/{link}` | see [`crate::links`] | |
//! | `POST /api/projects/{id}/assets` | owner, editor | raw or multipart body, content-addressed |
//! | `GET /api/projects/{id}/assets/{sha256}` | any role | the bytes, with the sniffed type |
//! | `POST /api/import`, `GET /api/projects/{id}/export/{format}` | see [`crate::studio`] | |
//! | `POST /api/projects/{id}/generate`, `GET .../jobs`, `POST .../jobs/{job}/cancel`, `.../credentials`, `.../budget` | see [`crate::jobs`] | |
//! | `GET /sync/{doc}?token=` | any role | y-websocket endpoint (see [`crate::ws`]) |
//! | `GET /healthz`, `GET /metrics` | anyone | liveness (checks the database), Prometheus |
//! | `GET /` and any other path | anyone | the browser studio's static files (`--web-dir`) |
//!
//! Tokens come in `Authorization: Bearer`, or in `?token=` where a browser cannot set
//! headers (WebSocket, `<img src>`). Every authenticated request goes through
//! [`AppState::identify`]: a token naming a revoked link is refused (401 `link_revoked`).

use api_types::{ApiErrorBody, ErrorCode};
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, RawPathParams, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::assets::{is_sha256_hex, sha256_hex, sniff_content_type};
use crate::auth::{Claims, ProjectId, Role, TokenError};
use crate::links::{create_link, create_owned_project, valid_label, valid_name};
use crate::store::{AssetRow, LinkRow, NewLink, PersonRow, unix_now};
use crate::{Error, observability, ws};
use api_types::{
    CreateProject, CreateToken, CreatedProject, CreatedToken, ProjectSummary, UploadedAsset,
};

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
        .merge(crate::links::routes())
        .route(
            "/api/projects/{id}/assets",
            // Multipart framing adds a little on top of the file itself.
            post(upload_asset).layer(DefaultBodyLimit::max(max_asset.saturating_add(64 * 1024))),
        )
        .route("/api/projects/{id}/assets/{sha256}", get(download_asset))
        .route("/sync/{doc}", get(ws::sync_handler))
        .merge(crate::studio::routes())
        .merge(crate::jobs::routes())
        // An API path that names no endpoint is a client's mistake, answered in the API's
        // shape; without this it would fall through to the studio's static files.
        .route("/api", any(no_such_endpoint))
        .route("/api/{*rest}", any(no_such_endpoint))
        // Set on every route registered above, so it must stay after them.
        .method_not_allowed_fallback(method_not_allowed)
        // Everything else is the browser studio's bundle (index.html at `/`).
        .fallback_service(ServeDir::new(&state.config().web_dir))
        .layer(TraceLayer::new_for_http().make_span_with(observability::http_span))
        .with_state(state)
}

async fn no_such_endpoint() -> ApiError {
    ApiError::NotFound("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Every error a handler returns, answered as [`ApiErrorBody`] `{"error", "code",
/// "provider"?}`. Internal errors are logged here, once, and answered with a generic message:
/// their text may contain SQL, paths or URLs that clients must not see.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized(&'static str),
    Forbidden(&'static str),
    NotFound(&'static str),
    BadRequest(String),
    /// 400: the body is not JSON or not of the expected shape (serde's words, with the path
    /// of the field, which names only what the client sent).
    InvalidBody(String),
    /// 400: the provider needs a key the project does not have.
    MissingCredential {
        provider: String,
        message: String,
    },
    /// 402: the work would exceed the project's budget; the message says by how much.
    PaymentRequired(String),
    MethodNotAllowed,
    /// 403: a bare share link tried something that needs a personal identity.
    IdentityRequired,
    /// 401: the token's share link was revoked.
    LinkRevoked,
    Conflict(String),
    PayloadTooLarge(String),
    UnsupportedMediaType(&'static str),
    Unavailable(&'static str),
    Internal(Error),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        // Only the variants written for users carry their text out; everything else is
        // internal and redacted.
        match e {
            Error::Invalid(m) => Self::BadRequest(m),
            Error::MissingCredential { provider } => Self::MissingCredential {
                message: Error::MissingCredential {
                    provider: provider.clone(),
                }
                .to_string(),
                provider,
            },
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

/// The innermost cause's text of a framework rejection: serde's or serde_json's description
/// of what the client sent, without axum's "Failed to deserialize ..." preamble.
fn cause(e: &dyn std::error::Error) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

/// A body that could not be read: too large for the route's limit, or broken off.
fn unreadable_body(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("the body is larger than this endpoint accepts".into())
    } else {
        ApiError::BadRequest("the request body could not be read".into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => Self::InvalidBody(format!(
                "the body is not of the expected shape: {}",
                cause(&e)
            )),
            JsonRejection::JsonSyntaxError(e) => {
                Self::InvalidBody(format!("the body is not valid JSON: {}", cause(&e)))
            }
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType(
                "this endpoint takes a JSON body (content-type: application/json)",
            ),
            JsonRejection::BytesRejection(e) => unreadable_body(e.status()),
            other => unreadable_body(other.status()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        match rejection {
            QueryRejection::FailedToDeserializeQueryString(e) => {
                Self::BadRequest(format!("invalid query string: {}", cause(&e)))
            }
            _ => Self::BadRequest("invalid query string".into()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => {
                Self::BadRequest(format!("invalid path: {}", cause(&e)))
            }
            _ => Self::NotFound("no such endpoint"),
        }
    }
}

/// `axum::Json`, with its rejections (not JSON, wrong shape, wrong content type, too large)
/// answered as [`ApiError`]s in the one error shape instead of axum's plain text.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path`, rejected as an [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct Path<T>(pub T);

/// `axum::extract::Query`, rejected as an [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct Query<T>(pub T);

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            ApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidBody),
            ApiError::MissingCredential { .. } => {
                (StatusCode::BAD_REQUEST, ErrorCode::MissingCredential)
            }
            ApiError::PaymentRequired(_) => {
                (StatusCode::PAYMENT_REQUIRED, ErrorCode::BudgetExceeded)
            }
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
            }
            ApiError::IdentityRequired => (StatusCode::FORBIDDEN, ErrorCode::IdentityRequired),
            ApiError::LinkRevoked => (StatusCode::UNAUTHORIZED, ErrorCode::LinkRevoked),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::Conflict),
            ApiError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge)
            }
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
            ),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }

    /// The body a client sees; for an internal error, only that there was one.
    fn body(self) -> ApiErrorBody {
        let (_, code) = self.status_and_code();
        let message = match self {
            ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::Unavailable(m) => m.to_owned(),
            ApiError::BadRequest(m)
            | ApiError::InvalidBody(m)
            | ApiError::PaymentRequired(m)
            | ApiError::Conflict(m)
            | ApiError::PayloadTooLarge(m) => m,
            ApiError::MethodNotAllowed => "this endpoint does not take that method".to_owned(),
            ApiError::IdentityRequired => {
                "give your name first: comments and verdicts are signed with it".to_owned()
            }
            ApiError::LinkRevoked => "this link was revoked by the project's owner".to_owned(),
            ApiError::MissingCredential { provider, message } => {
                return ApiErrorBody {
                    provider: Some(provider),
                    ..ApiErrorBody::new(code, message)
                };
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "internal server error".to_owned()
            }
        };
        ApiErrorBody::new(code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        (status, axum::Json(self.body())).into_response()
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
    /// Verifies a token's signature and expiry (401 when missing or invalid). This alone does
    /// not check the token's link: requests go through [`AppState::identify`].
    pub(crate) fn authenticate(&self, token: Option<&str>) -> ApiResult<Claims> {
        let token = token.ok_or(ApiError::Unauthorized("a token is required"))?;
        Ok(self.signer().verify(token, unix_now())?)
    }

    /// [`AppState::authenticate`] for `project` (403 when it is for another project).
    pub(crate) fn authorize(&self, token: Option<&str>, project: &ProjectId) -> ApiResult<Claims> {
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
/// cannot be one) and who a token for it speaks for (401 without a valid token, 403 for another
/// project's, 401 `link_revoked` for a revoked link; see [`AppState::identify`]). Handlers then
/// say which roles may do what with [`ProjectCaller::require`].
pub(crate) struct ProjectCaller {
    pub project: ProjectId,
    pub role: Role,
    /// The person the token names; `None` for a share link whose holder has not joined.
    pub person: Option<api_types::Person>,
    /// The token's share link; `None` for a token made before links existed.
    pub link: Option<LinkRow>,
    /// The token's expiry (Unix seconds); `None` never expires.
    pub expires_at: Option<i64>,
}

impl ProjectCaller {
    /// Who is acting, for attribution: the person, else the bare link.
    #[allow(dead_code, reason = "the review routes (issue 13) attribute with it")]
    pub(crate) fn author(&self) -> api_types::Author {
        match &self.person {
            Some(p) => api_types::Author {
                id: Some(p.id.clone()),
                name: p.name.clone(),
            },
            None => api_types::Author {
                id: None,
                name: "someone with a link".into(),
            },
        }
    }

    /// The person, for actions that must be attributed to one (comments, verdicts):
    /// `identity_required` for a bare share link.
    #[allow(
        dead_code,
        reason = "the review routes (issue 13) require a person with it"
    )]
    pub(crate) fn require_person(&self) -> ApiResult<&api_types::Person> {
        self.person.as_ref().ok_or(ApiError::IdentityRequired)
    }

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
        let query = axum::extract::Query::<TokenQuery>::try_from_uri(&parts.uri)?;
        let identity = state
            .identify(token_from(&parts.headers, &query), Some(&project))
            .await?;
        Ok(Self {
            project,
            role: identity.claims.role,
            person: identity.person.as_ref().map(PersonRow::person),
            expires_at: identity.claims.expires_at,
            link: identity.link,
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
    let token = create_owned_project(&state, &id, title, body.owner_name.as_deref()).await?;
    tracing::info!(project = %id, "project created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedProject {
            project_id: id,
            token,
        }),
    ))
}

/// Makes a share link: a link row the owner can list and revoke, and its token. With a `name`
/// it is a personal invite, whose token already names that person.
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
    let name = body.name.as_deref().map(valid_name).transpose()?;
    let label = valid_label(body.label.as_deref())?
        .or_else(|| name.clone())
        .unwrap_or_else(|| format!("{} link", body.role.as_str()));
    let expires_at = unix_now() + secs as i64;
    let (token, link, person) = create_link(
        &state,
        &NewLink {
            project: &project,
            role: body.role,
            label: &label,
            expires_at: Some(expires_at),
            review_version: body.review_version.as_ref(),
            person_name: name.as_deref(),
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            role: link.role,
            expires_at,
            link: link.id,
            person: person.as_ref().map(PersonRow::person),
        }),
    ))
}

/// A token grants exactly one project, so this lists at most one; the shape leaves room for
/// user accounts holding several.
async fn list_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> ApiResult<Json<Vec<ProjectSummary>>> {
    let claims = state
        .identify(token_from(&headers, &query), None)
        .await?
        .claims;
    let projects = state
        .store()
        .project(claims.project.as_str())
        .await?
        .map(|p| ProjectSummary {
            project_id: claims.project.clone(),
            title: p.title,
            role: claims.role,
            expires_at: claims.expires_at,
        })
        .into_iter()
        .collect();
    Ok(Json(projects))
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
                status => unreadable_body(status),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_link_cannot_act_as_a_person() {
        let mut caller = ProjectCaller {
            project: ProjectId::new_random(),
            role: Role::Commenter,
            person: None,
            link: None,
            expires_at: None,
        };
        let refusal = caller.require_person().err().map(|e| e.status_and_code());
        assert_eq!(
            refusal,
            Some((StatusCode::FORBIDDEN, ErrorCode::IdentityRequired))
        );
        assert_eq!(caller.author().id, None);
        let lin = api_types::Person {
            id: api_types::PersonId::new(),
            name: "Lin".into(),
            role: Role::Commenter,
        };
        caller.person = Some(lin.clone());
        assert_eq!(caller.require_person().ok(), Some(&lin));
        assert_eq!(
            caller.author(),
            api_types::Author {
                id: Some(lin.id),
                name: lin.name,
            }
        );
    }

    #[test]
    fn errors_carry_their_code_and_only_user_text() {
        let missing = ApiError::from(Error::MissingCredential {
            provider: "kling".into(),
        });
        assert_eq!(missing.status_and_code().0, StatusCode::BAD_REQUEST);
        let body = missing.body();
        assert_eq!(body.code, ErrorCode::MissingCredential);
        assert_eq!(body.provider.as_deref(), Some("kling"));

        assert!(
            body.error
                .starts_with("no kling key is set for this project")
        );
        // A refusal that merely mentions a key is not mistaken for a missing one.
        let unrelated = ApiError::from(Error::Invalid(
            "no gemini key is set for this project: an owner can set one".into(),
        ))
        .body();
        assert_eq!(unrelated.code, ErrorCode::BadRequest);
        let other = ApiError::from(Error::Invalid("gemini cannot make a clip".into())).body();
        assert_eq!((other.code, other.provider), (ErrorCode::BadRequest, None));

        let internal = ApiError::from(Error::Config("postgres://db.internal:5432".into()));
        assert_eq!(
            internal.status_and_code().0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let body = internal.body();
        assert_eq!(body.code, ErrorCode::Internal);
        assert!(!body.error.contains("db.internal"), "{}", body.error);
    }
}
