//! The studio's generation and import/export endpoints (`sync-server/src/jobs/api.rs` and
//! `sync-server/src/studio.rs`); the bodies are [`api_types`]'.

use api_types::{
    Budget, BudgetLimit, Credentials, GenerateRequest, Imported, JobId, JobKind, JobList, JobView,
    ProviderInfo, ProviderList, Queued, SetCredential,
};
use gloo_net::http::{Request, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use api_types::Scope;

use super::{ApiError, bearer, check};

/// The providers this server offers, with what each can make under its configuration; the
/// built-in offline renderer first.
pub(crate) async fn providers() -> Result<Vec<ProviderInfo>, ApiError> {
    let list: ProviderList = send(
        Request::get("/api/providers")
            .build()
            .map_err(|_| ApiError::Network),
    )
    .await?;
    Ok(list.providers)
}

pub(super) async fn send<T: DeserializeOwned>(
    request: Result<Request, ApiError>,
) -> Result<T, ApiError> {
    let response = request?.send().await.map_err(|_| ApiError::Network)?;
    check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)
}

pub(super) async fn send_empty(request: Result<Request, ApiError>) -> Result<(), ApiError> {
    let response = request?.send().await.map_err(|_| ApiError::Network)?;
    check(response).await.map(|_| ())
}

pub(super) fn authed(builder: RequestBuilder, token: &str) -> RequestBuilder {
    builder.header("Authorization", &bearer(token))
}

pub(super) fn json<B: Serialize>(builder: RequestBuilder, body: &B) -> Result<Request, ApiError> {
    builder.json(body).map_err(|_| ApiError::Network)
}

/// Queues jobs; returns their ids. 402 means over budget, 400 a missing key (see
/// [`ApiError::missing_credential`]) or a provider that cannot make this kind.
pub(crate) async fn generate(
    project: &str,
    token: &str,
    provider: &str,
    kind: JobKind,
    scope: Scope,
) -> Result<Vec<JobId>, ApiError> {
    let builder = authed(
        Request::post(&format!("/api/projects/{project}/generate")),
        token,
    );
    let queued: Queued = send(json(
        builder,
        &GenerateRequest {
            provider: provider.to_owned(),
            kind: kind.as_str().to_owned(),
            scope,
            idempotency_key: None,
        },
    ))
    .await?;
    Ok(queued.jobs)
}

pub(crate) async fn jobs(project: &str, token: &str) -> Result<Vec<JobView>, ApiError> {
    let builder = authed(
        Request::get(&format!("/api/projects/{project}/jobs")),
        token,
    );
    let list: JobList = send(builder.build().map_err(|_| ApiError::Network)).await?;
    Ok(list.jobs)
}

pub(crate) async fn cancel_job(project: &str, token: &str, job: &str) -> Result<(), ApiError> {
    let builder = authed(
        Request::post(&format!("/api/projects/{project}/jobs/{job}/cancel")),
        token,
    );
    let _: JobView = send(builder.build().map_err(|_| ApiError::Network)).await?;
    Ok(())
}

/// The providers that have a key set (never the keys).
pub(crate) async fn credentials(project: &str, token: &str) -> Result<Vec<String>, ApiError> {
    let builder = authed(
        Request::get(&format!("/api/projects/{project}/credentials")),
        token,
    );
    let list: Credentials = send(builder.build().map_err(|_| ApiError::Network)).await?;
    Ok(list.credentials.into_iter().map(|c| c.provider).collect())
}

/// Stores a provider key; write-only, it never comes back.
pub(crate) async fn put_credential(
    project: &str,
    token: &str,
    provider: &str,
    key: &str,
) -> Result<(), ApiError> {
    let builder = authed(
        Request::put(&format!("/api/projects/{project}/credentials/{provider}")),
        token,
    );
    send_empty(json(builder, &SetCredential { key })).await
}

pub(crate) async fn delete_credential(
    project: &str,
    token: &str,
    provider: &str,
) -> Result<(), ApiError> {
    let builder = authed(
        Request::delete(&format!("/api/projects/{project}/credentials/{provider}")),
        token,
    );
    send_empty(builder.build().map_err(|_| ApiError::Network)).await
}

pub(crate) async fn budget(project: &str, token: &str) -> Result<Budget, ApiError> {
    let builder = authed(
        Request::get(&format!("/api/projects/{project}/budget")),
        token,
    );
    send(builder.build().map_err(|_| ApiError::Network)).await
}

/// Sets the budget in USD; `None` removes the limit.
pub(crate) async fn put_budget(
    project: &str,
    token: &str,
    limit_usd: Option<f64>,
) -> Result<Budget, ApiError> {
    let builder = authed(
        Request::put(&format!("/api/projects/{project}/budget")),
        token,
    );
    send(json(builder, &BudgetLimit { limit_usd })).await
}

/// A new project from a novel file: the server decodes it and breaks it down offline.
pub(crate) async fn import_novel(file: &web_sys::File) -> Result<Imported, ApiError> {
    let url = format!(
        "/api/import?file_name={}",
        js_sys::encode_uri_component(&file.name())
    );
    let request = Request::post(&url)
        .body(wasm_bindgen::JsValue::from(file.clone()))
        .map_err(|_| ApiError::Network);
    send(request).await
}

/// Where the browser downloads an export (a link cannot send headers, hence the query).
pub(crate) fn export_url(project: &str, token: &str, format: &str) -> String {
    format!(
        "/api/projects/{project}/export/{format}?token={}",
        js_sys::encode_uri_component(token)
    )
}
