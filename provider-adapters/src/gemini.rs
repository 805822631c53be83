//! Gemini image models ("nano banana" family) through `generateContent`: synchronous, with
//! reference images as inline parts. A refusal is an answer without an image part.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, merge_extra, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, Timeouts, Usage,
};

pub const PROVIDER: &str = "gemini";
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";
pub const DEFAULT_MODELS: &[&str] = &[
    "gemini-3.1-flash-image",
    "gemini-3-pro-image",
    "gemini-2.5-flash-image",
];

/// Up to 14 inline reference images (Gemini 3 Pro Image; the 2.5 model does best with 3).
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToImage, Operation::ImageEdit])
    .with_references(14);

const ASPECT_RATIOS: &[&str] = &["1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"];

#[derive(Debug, Clone)]
pub struct GeminiConfig {
    pub base_url: String,
    pub api_key: Secret,
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl GeminiConfig {
    pub fn new(api_key: impl Into<Secret>) -> Self {
        GeminiConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: api_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            timeouts: Timeouts::with_request(Duration::from_secs(180)),
        }
    }
}

#[derive(Debug)]
pub struct Gemini {
    config: GeminiConfig,
    http: Http,
}

impl Gemini {
    pub fn new(config: GeminiConfig) -> Result<Self> {
        let auth = Auth::Header {
            name: "x-goog-api-key",
            prefix: "",
            key: config.api_key.clone(),
        };
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(Gemini { config, http })
    }
}

/// Google's error envelope: `{"error": {"code", "message", "status", "details"}}`.
#[derive(Debug, Default, Deserialize)]
struct WireError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<WireError>,
}

impl WireError {
    fn parse(reply: &Reply) -> WireError {
        serde_json::from_slice::<Envelope>(&reply.body)
            .ok()
            .and_then(|e| e.error)
            .unwrap_or_else(|| WireError {
                message: reply.text(),
                ..WireError::default()
            })
    }

    /// `RetryInfo.retryDelay`, e.g. `"13s"` or `"1.5s"`.
    fn retry_delay(&self) -> Option<Duration> {
        self.details.iter().find_map(|d| {
            let s = d["retryDelay"].as_str()?.strip_suffix('s')?;
            s.parse::<f64>().ok().map(Duration::from_secs_f64)
        })
    }

    fn has_reason(&self, reason: &str) -> bool {
        self.details
            .iter()
            .any(|d| d["reason"].as_str() == Some(reason))
    }

    fn into_error(self, http: &Http, reply: &Reply) -> Error {
        let provider = http.provider.clone();
        let message = http.redact(&format!("{} ({})", self.message, self.status));
        match (reply.status.as_u16(), self.status.as_str()) {
            (_, "UNAUTHENTICATED" | "PERMISSION_DENIED") | (401 | 403, _) => {
                Error::Auth { provider, message }
            }
            // An unknown key is a 400 INVALID_ARGUMENT with this reason.
            (_, "INVALID_ARGUMENT") if self.has_reason("API_KEY_INVALID") => {
                Error::Auth { provider, message }
            }
            (_, "RESOURCE_EXHAUSTED") | (429, _) => Error::RateLimited {
                provider,
                retry_after: reply.retry_after().or_else(|| self.retry_delay()),
                message,
            },
            // Billing not enabled for the project.
            (_, "FAILED_PRECONDITION") => Error::Balance { provider, message },
            (400..=499, _) => Error::InvalidInput { provider, message },
            (status, _) => Error::Provider {
                provider,
                status: Some(status),
                message,
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    usage_metadata: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    finish_message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    #[serde(default)]
    text: Option<String>,
    // The API answers in camelCase, though it accepts snake_case in requests.
    #[serde(default, alias = "inline_data")]
    inline_data: Option<InlineData>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InlineData {
    #[serde(alias = "mime_type")]
    mime_type: String,
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
    #[serde(default)]
    block_reason_message: Option<String>,
}

#[async_trait]
impl GenerationProvider for Gemini {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let model = pick_model(PROVIDER, request.model.as_deref(), &self.config.models)?;
        let aspect = request
            .size
            .unwrap_or(Size::HD)
            .closest_label(ASPECT_RATIOS);
        let mut parts = vec![json!({"text": request.prompt})];
        let references = SPEC.references(&request.references);
        for r in references {
            parts.push(json!({"inline_data": {"mime_type": r.mime, "data": r.base64()}}));
        }
        let mut generation_config = json!({
            "responseModalities": ["TEXT", "IMAGE"],
            "imageConfig": {"aspectRatio": aspect},
        });
        // Recipe settings belong with the generation parameters (e.g. imageConfig.imageSize).
        merge_extra(&mut generation_config, &request.extra);
        let body = json!({
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": generation_config,
        });
        let url = format!("v1beta/models/{model}:generateContent");
        let reply = self
            .http
            .send("submit", self.http.post(&url).json(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(WireError::parse(&reply).into_error(&self.http, &reply));
        }
        let answer: Answer = reply.json(&self.http)?;
        let mut outputs = Vec::new();
        let mut texts = Vec::new();
        let candidate = answer.candidates.into_iter().next();
        let (finish_reason, finish_message) = candidate
            .as_ref()
            .map(|c| (c.finish_reason.clone(), c.finish_message.clone()))
            .unwrap_or_default();
        for part in candidate
            .and_then(|c| c.content)
            .map(|c| c.parts)
            .unwrap_or_default()
        {
            if let Some(data) = part.inline_data {
                let bytes = self.http.decode_image(&data.data)?;
                let mut output = OutputRef::new(OutputKind::Image, OutputSource::Inline(bytes));
                output.mime = Some(data.mime_type);
                outputs.push(output);
            } else if let Some(text) = part.text {
                texts.push(text);
            }
        }
        if outputs.is_empty() {
            // No image is a refusal, whatever the reason given: say everything we were told.
            let mut reason: Vec<String> = Vec::new();
            if let Some(fb) = answer.prompt_feedback {
                reason.extend(fb.block_reason.map(|r| format!("prompt blocked: {r}")));
                reason.extend(fb.block_reason_message);
            }
            reason.extend(finish_reason.map(|r| format!("finish reason {r}")));
            reason.extend(finish_message);
            reason.extend(texts);
            if reason.is_empty() {
                reason.push("the answer held no image".into());
            }
            return Err(Error::ContentPolicy {
                provider: PROVIDER.into(),
                reason: self.http.redact(&reason.join("; ")),
            });
        }
        let usage = answer.usage_metadata.map(|raw| {
            Usage::tokens(
                raw,
                "promptTokenCount",
                "candidatesTokenCount",
                "totalTokenCount",
            )
        });
        let provenance = Provenance {
            provider: PROVIDER.into(),
            model,
            prompt: request.prompt.clone(),
            seed: None,
            parameters: json!({
                "generationConfig": body["generationConfig"],
                "references": references.len(),
            }),
        };
        Ok(TaskHandle::finished(provenance, outputs, usage))
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        self.http.download(output, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_comes_from_retry_info() {
        let e: Envelope = serde_json::from_value(json!({"error": {
            "code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}]
        }}))
        .expect("parses");
        assert_eq!(
            e.error.and_then(|e| e.retry_delay()),
            Some(Duration::from_secs(13))
        );
    }
}
