//! OpenAI images (gpt-image family): `/images/generations` (JSON) for text-to-image and
//! `/images/edits` (multipart, `image[]` references) for image edits. Synchronous: the answer
//! carries the image as base64.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Auth, Http, field_text, merge_extra, pick_model};
use crate::openai_wire::WireError;
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, Timeouts, Usage,
};

pub const PROVIDER: &str = "openai-images";
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODELS: &[&str] = &["gpt-image-1", "gpt-image-1-mini"];

/// `/images/edits` takes up to 16 `image[]` references.
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToImage, Operation::ImageEdit])
    .with_references(16);

/// The sizes gpt-image accepts; requests map to the closest aspect ratio.
const SIZES: &[&str] = &["1024x1024", "1536x1024", "1024x1536"];

#[derive(Debug, Clone)]
pub struct OpenAiImagesConfig {
    pub base_url: String,
    pub api_key: Secret,
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl OpenAiImagesConfig {
    pub fn new(api_key: impl Into<Secret>) -> Self {
        OpenAiImagesConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: api_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            // Large gpt-image renders take a minute or two.
            timeouts: Timeouts::with_request(std::time::Duration::from_secs(300)),
        }
    }
}

#[derive(Debug)]
pub struct OpenAiImages {
    config: OpenAiImagesConfig,
    http: Http,
}

impl OpenAiImages {
    pub fn new(config: OpenAiImagesConfig) -> Result<Self> {
        let auth = Auth::bearer(&config.api_key);
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(OpenAiImages { config, http })
    }
}

#[derive(Deserialize)]
struct ImagesResponse {
    #[serde(default)]
    data: Vec<ImageData>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct ImageData {
    b64_json: Option<String>,
    revised_prompt: Option<String>,
}

#[async_trait]
impl GenerationProvider for OpenAiImages {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        let model = pick_model(PROVIDER, request.model.as_deref(), &self.config.models)?;
        let size = request.size.unwrap_or(Size::HD).closest_label(SIZES);
        let mut params = json!({"model": model, "prompt": request.prompt, "n": 1, "size": size});
        merge_extra(&mut params, &request.extra);
        let http_request = match request.operation {
            Operation::TextToImage => self.http.post("images/generations").json(&params),
            Operation::ImageEdit => {
                if request.references.is_empty() {
                    return Err(self
                        .http
                        .invalid_input("an image edit needs at least one reference image"));
                }
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in params.as_object().into_iter().flatten() {
                    form = form.text(k.clone(), field_text(v));
                }
                // Up to 16 references, each its own `image[]` part.
                for r in SPEC.references(&request.references) {
                    form = form.part("image[]", self.http.file_part(r)?);
                }
                self.http.post("images/edits").multipart(form)
            }
            other => return Err(Error::not_supported(PROVIDER, other.as_str())),
        };
        let reply = self.http.send("submit", http_request).await?;
        if !reply.status.is_success() {
            return Err(WireError::parse(&reply).into_error(&self.http, &reply, false));
        }
        let answer: ImagesResponse = reply.json(&self.http)?;
        let mut outputs = Vec::new();
        let mut revised = None;
        for image in answer.data {
            let Some(b64) = image.b64_json else { continue };
            let bytes = self.http.decode_image(&b64)?;
            outputs.push(OutputRef::new(
                OutputKind::Image,
                OutputSource::Inline(bytes),
            ));
            revised = revised.or(image.revised_prompt);
        }
        if outputs.is_empty() {
            return Err(self
                .http
                .provider_error(Some(200), "the answer held no image"));
        }
        let usage = answer
            .usage
            .map(|raw| Usage::tokens(raw, "input_tokens", "output_tokens", "total_tokens"));
        let provenance = Provenance {
            provider: PROVIDER.into(),
            model: params["model"].as_str().unwrap_or_default().to_owned(),
            prompt: revised.unwrap_or_else(|| request.prompt.clone()),
            seed: None,
            parameters: with_reference_count(params, request.references.len()),
        };
        Ok(TaskHandle::finished(provenance, outputs, usage))
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        self.http.download(output, false).await
    }
}

/// Provenance records how many references went along, not their bytes.
fn with_reference_count(mut params: Value, references: usize) -> Value {
    if references > 0
        && let Some(obj) = params.as_object_mut()
    {
        obj.insert("references".into(), references.into());
    }
    params
}
