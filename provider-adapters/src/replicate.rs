//! Replicate predictions (Flux and friends): create on the model's endpoint, poll
//! `/v1/predictions/{id}`, cancel with `/cancel`.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, merge_extra, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
    Usage,
};

pub const PROVIDER: &str = "replicate";
pub const DEFAULT_BASE_URL: &str = "https://api.replicate.com";
pub const DEFAULT_MODELS: &[&str] = &[
    "black-forest-labs/flux-schnell",
    "black-forest-labs/flux-dev",
    "black-forest-labs/flux-kontext-pro",
];

/// Kontext edits take one `input_image`.
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToImage, Operation::ImageEdit])
    .with_references(1);

const ASPECT_RATIOS: &[&str] = &["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"];

#[derive(Debug, Clone)]
pub struct ReplicateConfig {
    pub base_url: String,
    pub api_token: Secret,
    /// `owner/name` model ids, default first; image edits default to the first `kontext` one.
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl ReplicateConfig {
    pub fn new(api_token: impl Into<Secret>) -> Self {
        ReplicateConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_token: api_token.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug)]
pub struct Replicate {
    config: ReplicateConfig,
    http: Http,
}

/// "Request was throttled. Expected available in 30 seconds." when no header says it.
fn throttle_hint(detail: &str) -> Option<Duration> {
    let after = detail.split("available in").nth(1)?;
    let number: String = after
        .trim_start()
        .trim_start_matches('~')
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse::<f64>().ok().map(Duration::from_secs_f64)
}

impl Replicate {
    pub fn new(config: ReplicateConfig) -> Result<Self> {
        let auth = Auth::bearer(&config.api_token);
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(Replicate { config, http })
    }

    /// Replicate's errors are problem documents: `{"title", "detail", "status"}`.
    fn error(&self, reply: &Reply, lookup: bool) -> Error {
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let detail = body["detail"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| reply.text());
        let provider = PROVIDER.to_owned();
        let message = self.http.redact(&detail);
        match reply.status.as_u16() {
            429 => Error::RateLimited {
                provider,
                retry_after: reply.retry_after().or_else(|| throttle_hint(&detail)),
                message,
            },
            _ => self.http.status_error(reply, &message, lookup),
        }
    }

    fn status(&self, prediction: &Value) -> TaskStatus {
        match prediction["status"].as_str() {
            Some("starting") => TaskStatus::Queued,
            Some("processing") => TaskStatus::Running { progress: None },
            Some("succeeded") => {
                let urls: Vec<String> = match &prediction["output"] {
                    Value::String(url) => vec![url.clone()],
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|u| u.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                let seed = prediction["input"]["seed"].as_i64();
                let outputs: Vec<OutputRef> = urls
                    .into_iter()
                    .map(|url| {
                        let kind = if url.ends_with(".mp4") {
                            OutputKind::Video
                        } else {
                            OutputKind::Image
                        };
                        let mut o = OutputRef::new(kind, OutputSource::Url(url));
                        o.seed = seed;
                        o
                    })
                    .collect();
                if outputs.is_empty() {
                    return TaskStatus::Failed {
                        error: self
                            .http
                            .provider_error(Some(200), "the prediction held no output"),
                    };
                }
                let usage = prediction
                    .get("metrics")
                    .filter(|m| m.is_object())
                    .map(|raw| Usage {
                        raw: raw.clone(),
                        ..Usage::default()
                    });
                TaskStatus::Succeeded { outputs, usage }
            }
            Some("failed") => {
                let message = self.http.redact(
                    prediction["error"]
                        .as_str()
                        .unwrap_or("the prediction failed"),
                );
                // Flux's safety checker reports itself this way.
                let error = if message.to_lowercase().contains("nsfw")
                    || message.to_lowercase().contains("flagged as sensitive")
                {
                    Error::ContentPolicy {
                        provider: PROVIDER.into(),
                        reason: message,
                    }
                } else {
                    self.http.provider_error(None, &message)
                };
                TaskStatus::Failed { error }
            }
            Some("canceled") => TaskStatus::Cancelled,
            other => TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(None, &format!("unknown prediction status {other:?}")),
            },
        }
    }
}

#[async_trait]
impl GenerationProvider for Replicate {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let model = match (&request.model, request.operation) {
            (None, Operation::ImageEdit) => self
                .config
                .models
                .iter()
                .find(|m| m.contains("kontext"))
                .cloned()
                .map_or_else(|| pick_model(PROVIDER, None, &self.config.models), Ok)?,
            (requested, _) => pick_model(PROVIDER, requested.as_deref(), &self.config.models)?,
        };
        let mut input = json!({
            "prompt": request.prompt,
            "aspect_ratio": request.size.unwrap_or(Size::HD).closest_label(ASPECT_RATIOS),
            "output_format": "png",
        });
        if let Some(seed) = request.seed {
            input["seed"] = json!(seed);
        }
        merge_extra(&mut input, &request.extra);
        let params = input.clone();
        if request.operation == Operation::ImageEdit {
            let Some(first) = request.references.first() else {
                return Err(self
                    .http
                    .invalid_input("an image edit needs a reference image"));
            };
            input["input_image"] = json!(first.data_uri());
        }
        let reply = self
            .http
            .send(
                "submit",
                self.http
                    .post(&format!("v1/models/{model}/predictions"))
                    .json(&json!({"input": input})),
            )
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply, false));
        }
        let prediction: Value = reply.json(&self.http)?;
        let Some(id) = prediction["id"].as_str() else {
            return Err(self
                .http
                .provider_error(Some(201), "the answer held no prediction id"));
        };
        Ok(TaskHandle {
            task_id: TaskId(id.to_owned()),
            status: self.status(&prediction),
            provenance: Provenance::of(PROVIDER, model, request, params),
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let reply = self
            .http
            .send("poll", self.http.get(&format!("v1/predictions/{task}")))
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply, true));
        }
        Ok(self.status(&reply.json(&self.http)?))
    }

    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let reply = self
            .http
            .send(
                "cancel",
                self.http.post(&format!("v1/predictions/{task}/cancel")),
            )
            .await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(self.error(&reply, true))
        }
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        // replicate.delivery URLs need no token.
        self.http.download(output, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_hints_are_read_from_the_detail() {
        assert_eq!(
            throttle_hint("Request was throttled. Expected available in 30 seconds."),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            throttle_hint("Request was throttled. Expected available in ~1s."),
            Some(Duration::from_secs(1))
        );
        assert_eq!(throttle_hint("nope"), None);
    }
}
