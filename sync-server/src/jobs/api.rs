//! The job runner's HTTP endpoints: thin handlers over [`super::JobRunner`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /api/projects/{id}/generate` `{provider, kind, scope, idempotency_key?}` | owner, editor | 202 `{"jobs": [ids]}`; 402 over budget |
//! | `GET /api/projects/{id}/jobs` | any role | `{"jobs": [{id, status, kind, provider, shot_id, error, attempts, cost, progress, ...}]}` |
//! | `POST /api/projects/{id}/jobs/{job}/cancel` | owner, editor | the job after the request; 409 if it already ended |
//! | `PUT /api/projects/{id}/credentials/{provider}` `{key}` | owner | 204; the key is stored encrypted, never shown again |
//! | `DELETE /api/projects/{id}/credentials/{provider}` | owner | 204 |
//! | `GET /api/projects/{id}/credentials` | owner, editor | `{"credentials": [{provider, updated_at}]}`: which providers have a key |
//! | `GET /api/projects/{id}/budget`, `PUT` `{limit_usd: number|null}` | any role / owner | `{limit_usd, spent_usd, reserved_usd, price_table}` |
//! | `GET /api/providers` | anyone | `{"providers": [{name, kinds, needs_key}]}`: what each provider can make here |

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use provider_adapters::Secret;
use serde::{Deserialize, Serialize};

use super::{GenerateRequest, JobView};
use crate::AppState;
use crate::http::{ANYONE, ApiError, ApiResult, OWNERS, ProjectCaller, WRITERS};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects/{id}/generate", post(generate))
        .route("/api/projects/{id}/jobs", get(list))
        .route("/api/projects/{id}/jobs/{job}/cancel", post(cancel))
        .route("/api/projects/{id}/credentials", get(credentials))
        .route(
            "/api/projects/{id}/credentials/{provider}",
            put(put_credential).delete(delete_credential),
        )
        .route("/api/projects/{id}/budget", get(budget).put(put_budget))
        .route("/api/providers", get(providers))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Queued {
    pub jobs: Vec<String>,
}

async fn generate(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<GenerateRequest>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let project = caller.require(WRITERS, "only owners and editors can generate")?;
    let jobs = state.jobs().generate(&project, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { jobs })))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

async fn list(State(state): State<AppState>, caller: ProjectCaller) -> ApiResult<Json<JobList>> {
    let project = caller.require(ANYONE, "no access")?;
    Ok(Json(JobList {
        jobs: state.jobs().list(&project).await?,
    }))
}

async fn cancel(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, job)): Path<(String, String)>,
) -> ApiResult<Json<JobView>> {
    let project = caller.require(WRITERS, "only owners and editors can cancel jobs")?;
    Ok(Json(state.jobs().cancel(&project, &job).await?))
}

/// The body of a credential upload. Its `Debug` never shows the key.
#[derive(Deserialize)]
struct CredentialBody {
    key: Secret,
}

impl std::fmt::Debug for CredentialBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialBody")
            .field("key", &self.key)
            .finish()
    }
}

async fn put_credential(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, provider)): Path<(String, String)>,
    Json(body): Json<CredentialBody>,
) -> ApiResult<StatusCode> {
    let project = caller.require(OWNERS, "only owners can set provider keys")?;
    state
        .jobs()
        .put_credential(&project, &provider, body.key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_credential(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, provider)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let project = caller.require(OWNERS, "only owners can remove provider keys")?;
    if state.jobs().delete_credential(&project, &provider).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no key is set for that provider"))
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub provider: String,
    /// Unix seconds.
    pub updated_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Credentials {
    pub credentials: Vec<CredentialInfo>,
}

async fn credentials(
    State(state): State<AppState>,
    caller: ProjectCaller,
) -> ApiResult<Json<Credentials>> {
    let project = caller.require(
        WRITERS,
        "only owners and editors can see which keys are set",
    )?;
    let credentials = state
        .jobs()
        .credential_providers(&project)
        .await?
        .into_iter()
        .map(|(provider, updated_at)| CredentialInfo {
            provider,
            updated_at,
        })
        .collect();
    Ok(Json(Credentials { credentials }))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Budget {
    pub limit_usd: Option<f64>,
    pub spent_usd: f64,
    pub reserved_usd: f64,
    /// The version of the price table estimates come from.
    pub price_table: String,
}

#[derive(Debug, Deserialize)]
struct BudgetBody {
    limit_usd: Option<f64>,
}

fn budget_view(state: &AppState, s: crate::store::Spending) -> Budget {
    Budget {
        limit_usd: s.limit_usd,
        spent_usd: s.spent_usd,
        reserved_usd: s.reserved_usd,
        price_table: state.jobs().price_table_version().to_owned(),
    }
}

async fn budget(State(state): State<AppState>, caller: ProjectCaller) -> ApiResult<Json<Budget>> {
    let project = caller.require(ANYONE, "no access")?;
    let spending = state.jobs().spending(&project).await?;
    Ok(Json(budget_view(&state, spending)))
}

async fn put_budget(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<BudgetBody>,
) -> ApiResult<Json<Budget>> {
    let project = caller.require(OWNERS, "only owners can set the budget")?;
    let spending = state.jobs().set_budget(&project, body.limit_usd).await?;
    Ok(Json(budget_view(&state, spending)))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub name: String,
    /// `frame`, `clip`, `character-sheet`: what [`super::JobRunner::generate`] accepts.
    pub kinds: Vec<String>,
    /// False for the built-in renderer and a local ComfyUI.
    pub needs_key: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProviderList {
    pub providers: Vec<ProviderInfo>,
}

/// The providers a job may name, with what each can make under this server's configuration,
/// for the studio's provider picker. Public: it says nothing about any project.
async fn providers(State(state): State<AppState>) -> Json<ProviderList> {
    Json(catalog(&state.jobs().inner.config.providers))
}

fn catalog(settings: &super::providers::ProviderSettings) -> ProviderList {
    use provider_adapters::Operation::{ImageEdit, ImageToVideo, TextToImage, TextToVideo};
    let providers = super::providers::PROVIDERS
        .iter()
        .map(|&name| {
            let ops = super::providers::operations(settings, name);
            let can = |a, b| ops.contains(&a) || ops.contains(&b);
            // The same rules as `JobRunner::generate`.
            let kinds = [
                ("frame", can(TextToImage, ImageEdit)),
                ("clip", can(TextToVideo, ImageToVideo)),
                ("character-sheet", can(TextToImage, TextToImage)),
            ];
            ProviderInfo {
                name: name.to_owned(),
                kinds: kinds
                    .into_iter()
                    .filter(|(_, able)| *able)
                    .map(|(kind, _)| kind.to_owned())
                    .collect(),
                needs_key: super::providers::needs_key(name),
            }
        })
        .collect();
    ProviderList { providers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_lists_every_provider_with_what_it_can_make() {
        let settings = super::super::providers::ProviderSettings {
            urls: Default::default(),
            retry: Default::default(),
            max_in_flight: 1,
        };
        let list = catalog(&settings).providers;
        let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, super::super::providers::PROVIDERS);
        let kinds = |name: &str| {
            list.iter()
                .find(|p| p.name == name)
                .map(|p| p.kinds.join(","))
                .unwrap_or_default()
        };
        assert_eq!(kinds("offline"), "frame,character-sheet");
        assert_eq!(kinds("kling"), "clip");
        assert_eq!(kinds("runway"), "clip");
        assert_eq!(kinds("dashscope"), "frame,clip,character-sheet");
        assert!(list.iter().all(|p| !p.kinds.is_empty()));
        assert!(!list[0].needs_key && list.iter().any(|p| p.needs_key));
    }
}
