//! OpenAI-videos-compatible APIs (`/v1/videos`): the Sora 2 shape that gateways still serve
//! for other video models. Multipart create, poll by id, download `/content`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::http::{Auth, Http, field_text, merge_extra, pick_model};
use crate::openai_wire::WireError;
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
};

pub const PROVIDER: &str = "openai-videos";
/// OpenAI's own video API is gone (2026-09-24); point this at a gateway that serves the shape.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODELS: &[&str] = &["sora-2", "sora-2-pro"];

/// One `input_reference`: the first frame.
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToVideo, Operation::ImageToVideo])
    .with_references(1);

const SIZES: &[&str] = &["1280x720", "720x1280", "1792x1024", "1024x1792"];
const SECONDS: &[u32] = &[4, 8, 12];

#[derive(Debug, Clone)]
pub struct OpenAiVideosConfig {
    pub base_url: String,
    pub api_key: Secret,
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl OpenAiVideosConfig {
    pub fn new(base_url: impl Into<String>, api_key: impl Into<Secret>) -> Self {
        OpenAiVideosConfig {
            base_url: base_url.into(),
            api_key: api_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug)]
pub struct OpenAiVideos {
    config: OpenAiVideosConfig,
    http: Http,
}

impl OpenAiVideos {
    pub fn new(config: OpenAiVideosConfig) -> Result<Self> {
        let auth = Auth::bearer(&config.api_key);
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(OpenAiVideos { config, http })
    }

    fn status(&self, video: Video) -> TaskStatus {
        match video.status.as_str() {
            "queued" => TaskStatus::Queued,
            "in_progress" => TaskStatus::Running {
                progress: video.progress.map(|p| (p / 100.0).clamp(0.0, 1.0) as f32),
            },
            "completed" => {
                let url = self
                    .http
                    .url(&format!("videos/{}/content?variant=video", video.id));
                let mut output = OutputRef::new(OutputKind::Video, OutputSource::Url(url));
                output.mime = Some("video/mp4".into());
                output.duration_ms = video
                    .seconds
                    .as_ref()
                    .and_then(|s| field_text(s).parse::<f64>().ok())
                    .map(|s| (s * 1000.0) as u32);
                if let Some((w, h)) = video.size.as_deref().and_then(|s| s.split_once('x')) {
                    output.width = w.parse().ok();
                    output.height = h.parse().ok();
                }
                TaskStatus::Succeeded {
                    outputs: vec![output],
                    usage: None,
                }
            }
            "failed" => {
                let wire = video.error.unwrap_or_default();
                let error = if wire.is_content_policy() {
                    Error::ContentPolicy {
                        provider: PROVIDER.into(),
                        reason: self.http.redact(&wire.message),
                    }
                } else {
                    self.http.provider_error(
                        None,
                        &format!(
                            "the video failed: {} ({})",
                            wire.message,
                            wire.code.unwrap_or_default()
                        ),
                    )
                };
                TaskStatus::Failed { error }
            }
            "cancelled" => TaskStatus::Cancelled,
            other => TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(None, &format!("unknown video status {other:?}")),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
struct Video {
    id: String,
    status: String,
    #[serde(default)]
    progress: Option<f64>,
    #[serde(default)]
    seconds: Option<serde_json::Value>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    error: Option<WireError>,
}

#[async_trait]
impl GenerationProvider for OpenAiVideos {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let model = pick_model(PROVIDER, request.model.as_deref(), &self.config.models)?;
        let want = request.duration_s.unwrap_or(4);
        let seconds = SECONDS
            .iter()
            .min_by_key(|s| s.abs_diff(want))
            .copied()
            .unwrap_or(4);
        let size = request.size.unwrap_or(Size::HD).closest_label(SIZES);
        let mut params = json!({
            "model": model,
            "prompt": request.prompt,
            "seconds": seconds.to_string(),
            "size": size,
        });
        merge_extra(&mut params, &request.extra);
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in params.as_object().into_iter().flatten() {
            form = form.text(k.clone(), field_text(v));
        }
        if request.operation == Operation::ImageToVideo {
            let first = self.http.first_frame(request)?;
            form = form.part("input_reference", self.http.file_part(first)?);
        }
        let reply = self
            .http
            .send("submit", self.http.post("videos").multipart(form))
            .await?;
        if !reply.status.is_success() {
            return Err(WireError::parse(&reply).into_error(&self.http, &reply, false));
        }
        let video: Video = reply.json(&self.http)?;
        let task_id = TaskId(video.id.clone());
        let model = video.model.clone().unwrap_or(model);
        Ok(TaskHandle {
            task_id,
            status: self.status(video),
            provenance: Provenance {
                provider: PROVIDER.into(),
                model,
                prompt: request.prompt.clone(),
                seed: None,
                parameters: params,
            },
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let reply = self
            .http
            .send("poll", self.http.get(&format!("videos/{task}")))
            .await?;
        if !reply.status.is_success() {
            return Err(WireError::parse(&reply).into_error(&self.http, &reply, true));
        }
        Ok(self.status(reply.json(&self.http)?))
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        // `/content` is on the API and needs the key; a gateway's CDN URL gets none.
        self.http.download(output, true).await
    }
}
