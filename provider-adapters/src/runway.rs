//! Runway image-to-video: async tasks under `/v1/tasks`, with the required
//! `X-Runway-Version` header. Cancel is `DELETE /v1/tasks/{id}`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, merge_extra, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
};

pub const PROVIDER: &str = "runway";
pub const DEFAULT_BASE_URL: &str = "https://api.dev.runwayml.com";
pub const DEFAULT_MODELS: &[&str] = &["gen4_turbo", "gen3a_turbo"];

/// `promptImage` is the first frame, or a first and a last.
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::ImageToVideo])
    .with_references(2)
    .with_first_last_frame();
/// The API version this adapter speaks; Runway requires it on every request.
pub const API_VERSION: &str = "2024-11-06";

const RATIOS: &[&str] = &[
    "1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672",
];

#[derive(Debug, Clone)]
pub struct RunwayConfig {
    pub base_url: String,
    pub api_key: Secret,
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl RunwayConfig {
    pub fn new(api_key: impl Into<Secret>) -> Self {
        RunwayConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: api_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug)]
pub struct Runway {
    config: RunwayConfig,
    http: Http,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    status: String,
    #[serde(default)]
    progress: Option<f64>,
    #[serde(default)]
    output: Option<Vec<String>>,
    #[serde(default)]
    failure: Option<String>,
    #[serde(default)]
    failure_code: Option<String>,
}

impl Runway {
    pub fn new(config: RunwayConfig) -> Result<Self> {
        let auth = Auth::bearer(&config.api_key);
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?
            .with_header("x-runway-version", API_VERSION);
        Ok(Runway { config, http })
    }

    /// Runway's errors are `{"error": "..."}` (plus `issues` for validation).
    fn error(&self, reply: &Reply, lookup: bool) -> Error {
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let message = body["error"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| reply.text());
        let message = self.http.redact(&message);
        let provider = PROVIDER.to_owned();
        match reply.status.as_u16() {
            400 if message.to_lowercase().contains("credits") => {
                Error::Balance { provider, message }
            }
            _ => self.http.status_error(reply, &message, lookup),
        }
    }

    fn status(&self, task: Task) -> TaskStatus {
        match task.status.as_str() {
            "PENDING" | "THROTTLED" => TaskStatus::Queued,
            "RUNNING" => TaskStatus::Running {
                progress: task.progress.map(|p| p.clamp(0.0, 1.0) as f32),
            },
            "SUCCEEDED" => TaskStatus::Succeeded {
                outputs: task
                    .output
                    .unwrap_or_default()
                    .into_iter()
                    .map(|url| {
                        let mut o = OutputRef::new(OutputKind::Video, OutputSource::Url(url));
                        o.mime = Some("video/mp4".into());
                        o
                    })
                    .collect(),
                usage: None,
            },
            "FAILED" => {
                let code = task.failure_code.unwrap_or_default();
                let message = self.http.redact(&format!(
                    "{} ({code})",
                    task.failure.as_deref().unwrap_or("the task failed")
                ));
                let provider = PROVIDER.to_owned();
                // Failure codes are dotted paths: SAFETY.INPUT.TEXT, INTERNAL.BAD_OUTPUT.CODE01...
                let error = if code.split('.').any(|p| p == "SAFETY") {
                    Error::ContentPolicy {
                        provider,
                        reason: message,
                    }
                } else if code.starts_with("ASSET.INVALID")
                    || code.starts_with("INPUT_PREPROCESSING")
                {
                    Error::InvalidInput { provider, message }
                } else {
                    Error::Provider {
                        provider,
                        status: None,
                        message,
                    }
                };
                TaskStatus::Failed { error }
            }
            "CANCELLED" => TaskStatus::Cancelled,
            other => TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(None, &format!("unknown task status {other:?}")),
            },
        }
    }
}

#[async_trait]
impl GenerationProvider for Runway {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let first = self.http.first_frame(request)?;
        let model = pick_model(PROVIDER, request.model.as_deref(), &self.config.models)?;
        let mut body = json!({
            "model": model,
            "promptText": request.prompt,
            "ratio": request.size.unwrap_or(Size::HD).closest_label(RATIOS),
            "duration": if request.duration_s.unwrap_or(5) > 7 { 10 } else { 5 },
        });
        if let Some(seed) = request.seed {
            body["seed"] = json!(seed);
        }
        merge_extra(&mut body, &request.extra);
        let params = body.clone();
        body["promptImage"] = match request.references.get(1) {
            Some(last) => json!([
                {"uri": first.data_uri(), "position": "first"},
                {"uri": last.data_uri(), "position": "last"},
            ]),
            None => json!(first.data_uri()),
        };
        let reply = self
            .http
            .send("submit", self.http.post("v1/image_to_video").json(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply, false));
        }
        let created: Value = reply.json(&self.http)?;
        let Some(id) = created["id"].as_str() else {
            return Err(self
                .http
                .provider_error(Some(200), "the answer held no task id"));
        };
        Ok(TaskHandle {
            task_id: TaskId(id.to_owned()),
            status: TaskStatus::Queued,
            provenance: Provenance::of(PROVIDER, model, request, params),
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let reply = self
            .http
            .send("poll", self.http.get(&format!("v1/tasks/{task}")))
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply, true));
        }
        Ok(self.status(reply.json(&self.http)?))
    }

    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let reply = self
            .http
            .send(
                "cancel",
                self.http
                    .request(reqwest::Method::DELETE, &format!("v1/tasks/{task}")),
            )
            .await?;
        match reply.status.as_u16() {
            200..=299 => Ok(()),
            _ => Err(self.error(&reply, true)),
        }
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        self.http.download(output, false).await
    }
}
