//! The studio's generation and import/export endpoints (see `sync-server/src/jobs/api.rs` and
//! `sync-server/src/studio.rs` for the shapes).

use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ApiError, bearer, check};

/// A provider the job runner knows and what it can make: from `GET /api/providers`, else from
/// [`builtin_providers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Provider {
    pub(crate) name: String,
    pub(crate) frames: bool,
    pub(crate) clips: bool,
    /// The built-in renderer and a local ComfyUI work without a key.
    pub(crate) needs_key: bool,
}

/// The providers of `sync-server/src/jobs/providers.rs` with their adapters' capabilities,
/// for a server that does not list them; the built-in offline renderer first (the default).
pub(crate) fn builtin_providers() -> Vec<Provider> {
    [
        ("offline", true, false, false),
        ("comfyui", true, false, false),
        ("openai-images", true, false, true),
        ("gemini", true, false, true),
        ("fal", true, false, true),
        ("replicate", true, false, true),
        ("dashscope", true, true, true),
        ("openai-videos", false, true, true),
        ("kling", false, true, true),
        ("runway", false, true, true),
    ]
    .into_iter()
    .map(|(name, frames, clips, needs_key)| Provider {
        name: name.to_owned(),
        frames,
        clips,
        needs_key,
    })
    .collect()
}

/// The providers this server offers, with what each can make under its configuration.
pub(crate) async fn providers() -> Result<Vec<Provider>, ApiError> {
    #[derive(Deserialize)]
    struct Info {
        name: String,
        kinds: Vec<String>,
        needs_key: bool,
    }
    #[derive(Deserialize)]
    struct List {
        providers: Vec<Info>,
    }
    let list: List = send(
        Request::get("/api/providers")
            .build()
            .map_err(|_| ApiError::Network),
    )
    .await?;
    Ok(list
        .providers
        .into_iter()
        .map(|p| Provider {
            frames: p.kinds.iter().any(|k| k == "frame"),
            clips: p.kinds.iter().any(|k| k == "clip"),
            name: p.name,
            needs_key: p.needs_key,
        })
        .filter(|p| p.frames || p.clips)
        .collect())
}

/// Which shots a generate request covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Scope {
    /// `"missing"`: shots without a result of this kind yet.
    Named(&'static str),
    Scene {
        scene: String,
    },
    Shots {
        shots: Vec<String>,
    },
}

/// A job as `GET /api/projects/{id}/jobs` shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct JobView {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) kind: String,
    pub(crate) provider: String,
    #[serde(default)]
    pub(crate) shot_id: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) progress: Option<f32>,
    #[serde(default)]
    pub(crate) updated_at_ms: i64,
}

impl JobView {
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Budget {
    pub(crate) limit_usd: Option<f64>,
    pub(crate) spent_usd: f64,
    pub(crate) reserved_usd: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Imported {
    pub(crate) project_id: String,
    pub(crate) token: String,
    pub(crate) title: String,
    pub(crate) shots: usize,
}

async fn send<T: DeserializeOwned>(request: Result<Request, ApiError>) -> Result<T, ApiError> {
    let response = request?.send().await.map_err(|_| ApiError::Network)?;
    check(response)
        .await?
        .json()
        .await
        .map_err(|_| ApiError::Network)
}

async fn send_empty(request: Result<Request, ApiError>) -> Result<(), ApiError> {
    let response = request?.send().await.map_err(|_| ApiError::Network)?;
    check(response).await.map(|_| ())
}

fn authed(builder: RequestBuilder, token: &str) -> RequestBuilder {
    builder.header("Authorization", &bearer(token))
}

fn json<B: Serialize>(builder: RequestBuilder, body: &B) -> Result<Request, ApiError> {
    builder.json(body).map_err(|_| ApiError::Network)
}

/// Queues jobs; returns their ids. 402 means over budget, 400 a missing key or a provider that
/// cannot make this kind; the server's message says which.
pub(crate) async fn generate(
    project: &str,
    token: &str,
    provider: &str,
    kind: &str,
    scope: Scope,
) -> Result<Vec<String>, ApiError> {
    #[derive(Serialize)]
    struct Body<'a> {
        provider: &'a str,
        kind: &'a str,
        scope: Scope,
    }
    #[derive(Deserialize)]
    struct Queued {
        jobs: Vec<String>,
    }
    let builder = authed(
        Request::post(&format!("/api/projects/{project}/generate")),
        token,
    );
    let queued: Queued = send(json(
        builder,
        &Body {
            provider,
            kind,
            scope,
        },
    ))
    .await?;
    Ok(queued.jobs)
}

pub(crate) async fn jobs(project: &str, token: &str) -> Result<Vec<JobView>, ApiError> {
    #[derive(Deserialize)]
    struct List {
        jobs: Vec<JobView>,
    }
    let builder = authed(
        Request::get(&format!("/api/projects/{project}/jobs")),
        token,
    );
    let list: List = send(builder.build().map_err(|_| ApiError::Network)).await?;
    Ok(list.jobs)
}

pub(crate) async fn cancel_job(project: &str, token: &str, job: &str) -> Result<(), ApiError> {
    let builder = authed(
        Request::post(&format!("/api/projects/{project}/jobs/{job}/cancel")),
        token,
    );
    let _: serde_json::Value = send(builder.build().map_err(|_| ApiError::Network)).await?;
    Ok(())
}

/// The providers that have a key set (never the keys).
pub(crate) async fn credentials(project: &str, token: &str) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Info {
        provider: String,
    }
    #[derive(Deserialize)]
    struct List {
        credentials: Vec<Info>,
    }
    let builder = authed(
        Request::get(&format!("/api/projects/{project}/credentials")),
        token,
    );
    let list: List = send(builder.build().map_err(|_| ApiError::Network)).await?;
    Ok(list.credentials.into_iter().map(|c| c.provider).collect())
}

/// Stores a provider key; write-only, it never comes back.
pub(crate) async fn put_credential(
    project: &str,
    token: &str,
    provider: &str,
    key: &str,
) -> Result<(), ApiError> {
    #[derive(Serialize)]
    struct Body<'a> {
        key: &'a str,
    }
    let builder = authed(
        Request::put(&format!("/api/projects/{project}/credentials/{provider}")),
        token,
    );
    send_empty(json(builder, &Body { key })).await
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
    #[derive(Serialize)]
    struct Body {
        limit_usd: Option<f64>,
    }
    let builder = authed(
        Request::put(&format!("/api/projects/{project}/budget")),
        token,
    );
    send(json(builder, &Body { limit_usd })).await
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
