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
//! | `GET /api/providers` | anyone | `{"providers": [{name, kinds, needs_key, models, max_references, first_last_frame}]}`: what each provider can make here |
//!
//! The bodies are [`api_types`]'s, shared with the browser and the CLI.

use api_types::{
    Budget, BudgetLimit, CredentialInfo, Credentials, JobId, JobList, ProviderList, Queued,
    SetCredential,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use provider_adapters::Secret;

use super::JobView;
use crate::AppState;
use crate::http::{ANYONE, ApiError, ApiResult, Json, OWNERS, Path, ProjectCaller, WRITERS};

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

async fn generate(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<api_types::GenerateRequest>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let project = caller.require(WRITERS, "only owners and editors can generate")?;
    let jobs = state.jobs().generate(&project, &body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Queued {
            jobs: jobs.into_iter().map(JobId::from).collect(),
        }),
    ))
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

async fn put_credential(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, provider)): Path<(String, String)>,
    // Read straight into a `Secret`, so the key is never a plain string on the server.
    Json(body): Json<SetCredential<Secret>>,
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
    Json(body): Json<BudgetLimit>,
) -> ApiResult<Json<Budget>> {
    let project = caller.require(OWNERS, "only owners can set the budget")?;
    let spending = state.jobs().set_budget(&project, body.limit_usd).await?;
    Ok(Json(budget_view(&state, spending)))
}

/// The providers a job may name, with what each can make under this server's configuration,
/// for the studio's provider picker. Public: it says nothing about any project.
async fn providers() -> Json<ProviderList> {
    Json(super::providers::catalog())
}
