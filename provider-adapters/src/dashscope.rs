//! Alibaba Cloud DashScope async tasks: Qwen-Image / Wan text-to-image, Wan text-to-video and
//! image-to-video. Every create carries `X-DashScope-Async: enable`; results are polled under
//! `/api/v1/tasks/{id}` and their URLs expire after 24 hours.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, merge_extra, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
    Usage,
};

pub const PROVIDER: &str = "dashscope";
/// Mainland China; keys are per region, so international accounts use
/// `https://dashscope-intl.aliyuncs.com`.
pub const DEFAULT_BASE_URL: &str = "https://dashscope.aliyuncs.com";
/// Every default model: text-to-image first (the first is the provider's default), then
/// text-to-video, then image-to-video. DashScope names a different model for each operation.
const DEFAULT_MODELS: &[&str] = &[
    "qwen-image",
    "wan2.2-t2i-flash",
    "wan2.2-t2v-plus",
    "wan2.2-i2v-plus",
];
pub const DEFAULT_TEXT_TO_IMAGE_MODELS: &[&str] = DEFAULT_MODELS.split_at(2).0;
pub const DEFAULT_TEXT_TO_VIDEO_MODELS: &[&str] = DEFAULT_MODELS.split_at(2).1.split_at(1).0;
pub const DEFAULT_IMAGE_TO_VIDEO_MODELS: &[&str] = DEFAULT_MODELS.split_at(3).1;

/// Image-to-video takes the first frame as `img_url`.
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[
        Operation::TextToImage,
        Operation::TextToVideo,
        Operation::ImageToVideo,
    ])
    .with_references(1);

const IMAGE_SIZES: &[&str] = &[
    "1664*928",
    "1472*1140",
    "1328*1328",
    "1140*1472",
    "928*1664",
];
const VIDEO_SIZES: &[&str] = &["1280*720", "720*1280", "960*960"];

#[derive(Debug, Clone)]
pub struct DashScopeConfig {
    pub base_url: String,
    pub api_key: Secret,
    /// Models per operation, default first: DashScope names a different model for each.
    pub text_to_image_models: Vec<String>,
    pub text_to_video_models: Vec<String>,
    pub image_to_video_models: Vec<String>,
    pub timeouts: Timeouts,
}

fn owned(models: &[&str]) -> Vec<String> {
    models.iter().map(|m| (*m).to_owned()).collect()
}

impl DashScopeConfig {
    pub fn new(api_key: impl Into<Secret>) -> Self {
        DashScopeConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: api_key.into(),
            text_to_image_models: owned(DEFAULT_TEXT_TO_IMAGE_MODELS),
            text_to_video_models: owned(DEFAULT_TEXT_TO_VIDEO_MODELS),
            image_to_video_models: owned(DEFAULT_IMAGE_TO_VIDEO_MODELS),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug)]
pub struct DashScope {
    config: DashScopeConfig,
    all_models: Vec<String>,
    http: Http,
}

/// `{request_id, code, message}` on errors; `{output, usage}` on success.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    output: Option<TaskOutput>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct TaskOutput {
    #[serde(default)]
    task_id: Option<String>,
    #[serde(default)]
    task_status: String,
    #[serde(default)]
    results: Vec<Value>,
    #[serde(default)]
    video_url: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl DashScope {
    pub fn new(config: DashScopeConfig) -> Result<Self> {
        let auth = Auth::bearer(&config.api_key);
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        let all_models = [
            &config.text_to_image_models,
            &config.text_to_video_models,
            &config.image_to_video_models,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        Ok(DashScope {
            config,
            all_models,
            http,
        })
    }

    fn code_error(&self, code: &str, message: &str, reply: Option<&Reply>) -> Error {
        let provider = PROVIDER.to_owned();
        let message = self.http.redact(&format!("{message} ({code})"));
        match code {
            "InvalidApiKey" | "AccessDenied.Unpurchased" => Error::Auth { provider, message },
            "Arrearage" | "AllocationQuota.FreeTierOnly" => Error::Balance { provider, message },
            "DataInspectionFailed" | "IPInfringementSuspect" => Error::ContentPolicy {
                provider,
                reason: message,
            },
            c if c.starts_with("Throttling") => Error::RateLimited {
                provider,
                retry_after: reply.and_then(Reply::retry_after),
                message,
            },
            c if c.starts_with("InvalidParameter") || c == "AccessDenied" => {
                Error::InvalidInput { provider, message }
            }
            _ => Error::Provider {
                provider,
                status: reply.map(|r| r.status.as_u16()),
                message,
            },
        }
    }

    /// The answer's envelope, or its error; `lookup` as in [`Http::status_error`].
    fn read(&self, reply: &Reply, lookup: bool) -> Result<Envelope> {
        let envelope: Envelope = serde_json::from_slice(&reply.body).unwrap_or_default();
        if reply.status.is_success() && envelope.output.is_some() {
            return Ok(envelope);
        }
        let message = envelope.message.as_deref().unwrap_or_default();
        Err(match (envelope.code.as_deref(), reply.status.as_u16()) {
            // A 429 is a rate limit whatever its code is called this month.
            (code, 429) => self.code_error(
                code.filter(|c| c.starts_with("Throttling"))
                    .unwrap_or("Throttling"),
                message,
                Some(reply),
            ),
            (Some(code), _) => self.code_error(code, message, Some(reply)),
            (None, _) => self.http.status_error(reply, &reply.text(), lookup),
        })
    }

    fn status(&self, envelope: Envelope) -> TaskStatus {
        let output = envelope.output.unwrap_or_default();
        match output.task_status.as_str() {
            "PENDING" => TaskStatus::Queued,
            "RUNNING" => TaskStatus::Running { progress: None },
            "SUCCEEDED" => {
                let mut outputs: Vec<OutputRef> = output
                    .results
                    .iter()
                    .filter_map(|r| r["url"].as_str())
                    .map(|url| {
                        let mut o =
                            OutputRef::new(OutputKind::Image, OutputSource::Url(url.to_owned()));
                        o.mime = Some("image/png".into());
                        o
                    })
                    .collect();
                if let Some(url) = output.video_url {
                    let mut o = OutputRef::new(OutputKind::Video, OutputSource::Url(url));
                    o.mime = Some("video/mp4".into());
                    outputs.push(o);
                }
                if outputs.is_empty() {
                    // Every image of the batch failed on its own (each result has a code).
                    let first = output.results.first().cloned().unwrap_or_default();
                    let code = first["code"].as_str().unwrap_or("NoResult");
                    let message = first["message"].as_str().unwrap_or("no output");
                    return TaskStatus::Failed {
                        error: self.code_error(code, message, None),
                    };
                }
                let usage = envelope.usage.map(|raw| Usage {
                    raw,
                    ..Usage::default()
                });
                TaskStatus::Succeeded { outputs, usage }
            }
            "FAILED" => TaskStatus::Failed {
                error: self.code_error(
                    output.code.as_deref().unwrap_or("InternalError"),
                    output.message.as_deref().unwrap_or("the task failed"),
                    None,
                ),
            },
            "CANCELED" => TaskStatus::Cancelled,
            // What DashScope says about tasks it has forgotten (after 24 hours).
            "UNKNOWN" => TaskStatus::Failed {
                error: Error::Expired {
                    provider: PROVIDER.into(),
                    message: "the task is unknown or expired".into(),
                },
            },
            other => TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(None, &format!("unknown task status {other:?}")),
            },
        }
    }
}

#[async_trait]
impl GenerationProvider for DashScope {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.all_models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        let (path, models) = match request.operation {
            Operation::TextToImage => (
                "api/v1/services/aigc/text2image/image-synthesis",
                &self.config.text_to_image_models,
            ),
            Operation::TextToVideo => (
                "api/v1/services/aigc/video-generation/video-synthesis",
                &self.config.text_to_video_models,
            ),
            Operation::ImageToVideo => (
                "api/v1/services/aigc/video-generation/video-synthesis",
                &self.config.image_to_video_models,
            ),
            other => return Err(Error::not_supported(PROVIDER, other.as_str())),
        };
        let model = pick_model(PROVIDER, request.model.as_deref(), models)?;
        let size = request.size.unwrap_or(Size::HD);
        let mut input = json!({"prompt": request.prompt});
        if let Some(negative) = &request.negative_prompt {
            input["negative_prompt"] = json!(negative);
        }
        let mut parameters = match request.operation {
            Operation::TextToImage => {
                json!({"size": size.closest_label(IMAGE_SIZES), "n": 1, "watermark": false})
            }
            Operation::TextToVideo => {
                json!({"size": size.closest_label(VIDEO_SIZES), "duration": request.duration_s.unwrap_or(5)})
            }
            _ => json!({"resolution": "720P", "duration": request.duration_s.unwrap_or(5)}),
        };
        if let Some(seed) = request.seed {
            parameters["seed"] = json!(seed);
        }
        merge_extra(&mut parameters, &request.extra);
        let provenance_params = json!({"input": input, "parameters": parameters});
        if request.operation == Operation::ImageToVideo {
            let first = self.http.first_frame(request)?;
            input["img_url"] = json!(first.data_uri());
        }
        let body = json!({"model": model, "input": input, "parameters": parameters});
        let reply = self
            .http
            .send(
                "submit",
                self.http
                    .post(path)
                    .header("x-dashscope-async", "enable")
                    .json(&body),
            )
            .await?;
        let envelope = self.read(&reply, false)?;
        let Some(task_id) = envelope.output.as_ref().and_then(|o| o.task_id.clone()) else {
            return Err(self
                .http
                .provider_error(Some(200), "the answer held no task id"));
        };
        Ok(TaskHandle {
            task_id: TaskId(task_id),
            status: self.status(envelope),
            provenance: Provenance::of(PROVIDER, model, request, provenance_params),
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let reply = self
            .http
            .send("poll", self.http.get(&format!("api/v1/tasks/{task}")))
            .await?;
        Ok(self.status(self.read(&reply, true)?))
    }

    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let reply = self
            .http
            .send(
                "cancel",
                self.http.post(&format!("api/v1/tasks/{task}/cancel")),
            )
            .await?;
        if reply.status.is_success() {
            return Ok(());
        }
        let envelope: Envelope = serde_json::from_slice(&reply.body).unwrap_or_default();
        match envelope.code.as_deref() {
            // Only pending tasks can be cancelled; a finished one stays finished.
            Some("UnsupportedOperation") => Ok(()),
            Some(code) => Err(self.code_error(
                code,
                envelope.message.as_deref().unwrap_or_default(),
                Some(&reply),
            )),
            None => Err(self.http.status_error(&reply, &reply.text(), true)),
        }
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        // Results are signed OSS URLs: no credentials, and a 403 once expired.
        self.http.download(output, false).await
    }
}
