//! fal.ai's queue (Flux and friends): submit to `queue.fal.run/{owner}/{app}[/{path}]`,
//! poll the returned status URL, read the result from the response URL. The returned URLs
//! drop the model's sub-path, so the task id is the path they name, not one we build.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, merge_extra, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
};

pub const PROVIDER: &str = "fal";
pub const DEFAULT_BASE_URL: &str = "https://queue.fal.run";
pub const DEFAULT_MODELS: &[&str] = &["fal-ai/flux/dev", "fal-ai/flux-pro/kontext"];

/// One reference as `image_url`, several as `image_urls` (multi-reference apps such as
/// Kontext multi take a handful (?)).
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToImage, Operation::ImageEdit])
    .with_references(4);

const IMAGE_SIZES: &[(&str, Size)] = &[
    ("landscape_16_9", Size::new(16, 9)),
    ("landscape_4_3", Size::new(4, 3)),
    ("square_hd", Size::new(1, 1)),
    ("portrait_4_3", Size::new(3, 4)),
    ("portrait_16_9", Size::new(9, 16)),
];

#[derive(Debug, Clone)]
pub struct FalConfig {
    pub base_url: String,
    pub api_key: Secret,
    /// Model paths (`owner/app[/path]`), default first. Image edits use the first model whose
    /// path names an edit-capable app (`kontext`, `edit`), else the default.
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl FalConfig {
    pub fn new(api_key: impl Into<Secret>) -> Self {
        FalConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: api_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug)]
pub struct Fal {
    config: FalConfig,
    http: Http,
}

impl Fal {
    pub fn new(config: FalConfig) -> Result<Self> {
        let auth = Auth::Header {
            name: "authorization",
            prefix: "Key ",
            key: config.api_key.clone(),
        };
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(Fal { config, http })
    }

    /// fal's errors: `{"detail": "..."}` or `{"detail": [{"msg", "type", "loc"}]}`.
    fn error(&self, reply: &Reply, lookup: bool) -> Error {
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let (message, policy) = match &body["detail"] {
            Value::String(s) => (s.clone(), false),
            Value::Array(items) => (
                items
                    .iter()
                    .filter_map(|i| i["msg"].as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                items
                    .iter()
                    .any(|i| i["type"] == "content_policy_violation"),
            ),
            _ => (reply.text(), false),
        };
        let provider = PROVIDER.to_owned();
        let message = self.http.redact(&message);
        match reply.status.as_u16() {
            400..=499 if policy => Error::ContentPolicy {
                provider,
                reason: message,
            },
            403 if message.to_lowercase().contains("balance") => {
                Error::Balance { provider, message }
            }
            _ => self.http.status_error(reply, &message, lookup),
        }
    }

    /// The task id is the request's path under the queue base: `owner/app/requests/ID`.
    fn task_id(&self, created: &Value, model: &str) -> Result<TaskId> {
        let base = self.http.base().as_str().trim_end_matches('/');
        if let Some(path) = created["status_url"]
            .as_str()
            .and_then(|u| u.strip_prefix(base))
            .and_then(|p| p.strip_suffix("/status"))
        {
            return Ok(TaskId(path.trim_start_matches('/').to_owned()));
        }
        // No usable status URL (or one on another host, which would get our key): build it.
        let id = created["request_id"].as_str().ok_or_else(|| {
            self.http
                .provider_error(Some(200), "the answer held no request id")
        })?;
        let app: Vec<&str> = model.split('/').take(2).collect();
        Ok(TaskId(format!("{}/requests/{id}", app.join("/"))))
    }

    fn outputs(result: &Value) -> Vec<OutputRef> {
        let seed = result["seed"].as_i64();
        let mut outputs: Vec<OutputRef> = result["images"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|img| {
                let mut o = OutputRef::new(
                    OutputKind::Image,
                    OutputSource::Url(img["url"].as_str()?.to_owned()),
                );
                o.mime = img["content_type"].as_str().map(str::to_owned);
                o.width = img["width"].as_u64().and_then(|w| u32::try_from(w).ok());
                o.height = img["height"].as_u64().and_then(|h| u32::try_from(h).ok());
                o.seed = seed;
                Some(o)
            })
            .collect();
        if let Some(url) = result["video"]["url"].as_str() {
            let mut o = OutputRef::new(OutputKind::Video, OutputSource::Url(url.to_owned()));
            o.mime = Some("video/mp4".into());
            o.seed = seed;
            outputs.push(o);
        }
        outputs
    }
}

/// Which configured model to use: the request's, else for edits an edit-capable one.
fn model_for(config: &FalConfig, request: &GenerationRequest) -> Result<String> {
    if request.model.is_none()
        && request.operation == Operation::ImageEdit
        && let Some(m) = config
            .models
            .iter()
            .find(|m| m.contains("kontext") || m.contains("edit"))
    {
        return Ok(m.clone());
    }
    pick_model(PROVIDER, request.model.as_deref(), &config.models)
}

#[async_trait]
impl GenerationProvider for Fal {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let model = model_for(&self.config, request)?;
        let mut input = json!({
            "prompt": request.prompt,
            "image_size": request.size.unwrap_or(Size::HD).closest(IMAGE_SIZES),
            "num_images": 1,
            "output_format": "png",
        });
        if let Some(seed) = request.seed {
            input["seed"] = json!(seed);
        }
        merge_extra(&mut input, &request.extra);
        let params = input.clone();
        match SPEC.references(&request.references) {
            [] if request.operation == Operation::ImageEdit => {
                return Err(self
                    .http
                    .invalid_input("an image edit needs at least one reference image"));
            }
            [] => {}
            [one] => input["image_url"] = json!(one.data_uri()),
            many => {
                input["image_urls"] = json!(many.iter().map(|r| r.data_uri()).collect::<Vec<_>>())
            }
        }
        let reply = self
            .http
            .send("submit", self.http.post(&model).json(&input))
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply, false));
        }
        let created: Value = reply.json(&self.http)?;
        Ok(TaskHandle {
            task_id: self.task_id(&created, &model)?,
            status: TaskStatus::Queued,
            provenance: Provenance::of(PROVIDER, model, request, params),
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let reply = self
            .http
            .send("poll", self.http.get(&format!("{task}/status")))
            .await?;
        if !(reply.status.is_success()) {
            return Err(self.error(&reply, true));
        }
        let status: Value = reply.json(&self.http)?;
        match status["status"].as_str() {
            Some("IN_QUEUE") => return Ok(TaskStatus::Queued),
            Some("IN_PROGRESS") => return Ok(TaskStatus::Running { progress: None }),
            Some("COMPLETED") => {}
            other => {
                return Err(self
                    .http
                    .provider_error(Some(200), &format!("unknown queue status {other:?}")));
            }
        }
        // Completed: the result (or the job's error) is at the response URL.
        let reply = self.http.send("poll", self.http.get(task.as_str())).await?;
        if reply.status.is_server_error() {
            return Err(self.error(&reply, true));
        }
        if !reply.status.is_success() {
            return Ok(TaskStatus::Failed {
                error: self.error(&reply, true),
            });
        }
        let result: Value = reply.json(&self.http)?;
        // fal blacks out images its safety checker flags and says so here.
        if let Some(flags) = result["has_nsfw_concepts"].as_array()
            && !flags.is_empty()
            && flags.iter().all(|f| f.as_bool() == Some(true))
        {
            return Ok(TaskStatus::Failed {
                error: Error::ContentPolicy {
                    provider: PROVIDER.into(),
                    reason: "the safety checker flagged every image (has_nsfw_concepts)".into(),
                },
            });
        }
        let outputs = Fal::outputs(&result);
        if outputs.is_empty() {
            return Ok(TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(Some(200), "the result held no image"),
            });
        }
        Ok(TaskStatus::Succeeded {
            outputs,
            usage: None,
        })
    }

    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let reply = self
            .http
            .send(
                "cancel",
                self.http
                    .request(reqwest::Method::PUT, &format!("{task}/cancel")),
            )
            .await?;
        match reply.status.as_u16() {
            // 400 ALREADY_COMPLETED: nothing left to cancel.
            200..=299 | 400 => Ok(()),
            _ => Err(self.error(&reply, true)),
        }
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        self.http.download(output, false).await
    }
}
