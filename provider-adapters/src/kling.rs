//! Kling video (text-to-video, image-to-video): async tasks, authenticated by a short-lived
//! HS256 JWT signed with the secret key. Errors are numeric `code`s in the body.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, field_text, merge_extra, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Secret, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
};

pub const PROVIDER: &str = "kling";
pub const DEFAULT_BASE_URL: &str = "https://api.klingai.com";
pub const DEFAULT_MODELS: &[&str] = &["kling-v2-1", "kling-v2-master", "kling-v1-6"];

/// Image-to-video takes the first frame (`image`) and optionally the last (`image_tail`).
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToVideo, Operation::ImageToVideo])
    .with_references(2)
    .with_first_last_frame();

const ASPECT_RATIOS: &[&str] = &["16:9", "9:16", "1:1"];

#[derive(Debug, Clone)]
pub struct KlingConfig {
    pub base_url: String,
    pub access_key: Secret,
    pub secret_key: Secret,
    pub models: Vec<String>,
    pub timeouts: Timeouts,
}

impl KlingConfig {
    pub fn new(access_key: impl Into<Secret>, secret_key: impl Into<Secret>) -> Self {
        KlingConfig {
            base_url: DEFAULT_BASE_URL.into(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug)]
pub struct Kling {
    config: KlingConfig,
    http: Http,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    exp: u64,
    nbf: u64,
}

/// The bearer token: `{iss: access key, exp: now + 30 min, nbf: now - 5 s}`, HS256-signed with
/// the secret key. [`Http`] makes one fresh per request, so it never expires mid-job.
pub(crate) fn jwt(
    access_key: &Secret,
    secret_key: &Secret,
    now: u64,
) -> std::result::Result<String, jsonwebtoken::errors::Error> {
    let claims = Claims {
        iss: access_key.expose(),
        exp: now + 1800,
        nbf: now.saturating_sub(5),
    };
    let key = jsonwebtoken::EncodingKey::from_secret(secret_key.expose().as_bytes())?;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &key,
    )
}

/// Kling's answer envelope; `code` 0 is success.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<TaskData>,
}

#[derive(Debug, Deserialize)]
struct TaskData {
    task_id: String,
    task_status: String,
    #[serde(default)]
    task_status_msg: Option<String>,
    #[serde(default)]
    task_result: Option<TaskResult>,
}

#[derive(Debug, Deserialize)]
struct TaskResult {
    #[serde(default)]
    videos: Vec<KlingVideo>,
}

#[derive(Debug, Deserialize)]
struct KlingVideo {
    url: String,
    #[serde(default)]
    duration: Option<Value>,
}

/// Words Kling uses when a finished task failed moderation rather than for another reason.
fn sounds_like_policy(message: &str) -> bool {
    let m = message.to_lowercase();
    [
        "risk",
        "safety",
        "sensitive",
        "policy",
        "inappropriate",
        "moderation",
    ]
    .iter()
    .any(|w| m.contains(w))
}

impl Kling {
    pub fn new(config: KlingConfig) -> Result<Self> {
        let auth = Auth::KlingJwt {
            access_key: config.access_key.clone(),
            secret_key: config.secret_key.clone(),
        };
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, auth)?;
        Ok(Kling { config, http })
    }

    /// Maps Kling's numeric codes (documented in ranges) into the crate taxonomy.
    fn error(&self, reply: &Reply, envelope: Option<&Envelope>, lookup: bool) -> Error {
        let provider = PROVIDER.to_owned();
        let Some(e) = envelope.filter(|e| e.code != 0) else {
            return self.http.status_error(
                reply,
                &format!("http {}: {}", reply.status, reply.text()),
                lookup,
            );
        };
        let message = self
            .http
            .redact(&format!("{} (code {})", e.message, e.code));
        match e.code {
            1000..=1004 | 1103 | 1304 => Error::Auth { provider, message },
            1100..=1102 => Error::Balance { provider, message },
            1203 if lookup => Error::Expired { provider, message },
            1301 => Error::ContentPolicy {
                provider,
                reason: message,
            },
            1302 | 1303 => Error::RateLimited {
                provider,
                retry_after: reply.retry_after(),
                message,
            },
            1200..=1300 => Error::InvalidInput { provider, message },
            _ => Error::Provider {
                provider,
                status: Some(reply.status.as_u16()),
                message,
            },
        }
    }

    fn read(&self, reply: &Reply, lookup: bool) -> Result<TaskData> {
        let envelope: Option<Envelope> = serde_json::from_slice(&reply.body).ok();
        match envelope {
            Some(Envelope {
                code: 0,
                data: Some(data),
                ..
            }) if reply.status.is_success() => Ok(data),
            other => Err(self.error(reply, other.as_ref(), lookup)),
        }
    }

    fn status(&self, data: TaskData) -> TaskStatus {
        match data.task_status.as_str() {
            "submitted" => TaskStatus::Queued,
            "processing" => TaskStatus::Running { progress: None },
            "succeed" => {
                let outputs = data
                    .task_result
                    .map(|r| r.videos)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| {
                        let mut o = OutputRef::new(OutputKind::Video, OutputSource::Url(v.url));
                        o.mime = Some("video/mp4".into());
                        o.duration_ms = v
                            .duration
                            .as_ref()
                            .and_then(|d| field_text(d).parse::<f64>().ok())
                            .map(|s| (s * 1000.0) as u32);
                        o
                    })
                    .collect();
                TaskStatus::Succeeded {
                    outputs,
                    usage: None,
                }
            }
            "failed" => {
                let message = self
                    .http
                    .redact(data.task_status_msg.as_deref().unwrap_or("the task failed"));
                let error = if sounds_like_policy(&message) {
                    Error::ContentPolicy {
                        provider: PROVIDER.into(),
                        reason: message,
                    }
                } else {
                    self.http.provider_error(None, &message)
                };
                TaskStatus::Failed { error }
            }
            other => TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(None, &format!("unknown task status {other:?}")),
            },
        }
    }
}

#[async_trait]
impl GenerationProvider for Kling {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        let kind = match request.operation {
            Operation::TextToVideo => "text2video",
            Operation::ImageToVideo => "image2video",
            other => return Err(Error::not_supported(PROVIDER, other.as_str())),
        };
        let model = pick_model(PROVIDER, request.model.as_deref(), &self.config.models)?;
        let duration = if request.duration_s.unwrap_or(5) > 7 {
            "10"
        } else {
            "5"
        };
        let mut body = json!({
            "model_name": model,
            "prompt": request.prompt,
            "mode": "std",
            "duration": duration,
        });
        if let Some(negative) = &request.negative_prompt {
            body["negative_prompt"] = json!(negative);
        }
        if kind == "text2video" {
            body["aspect_ratio"] = json!(
                request
                    .size
                    .unwrap_or(Size::HD)
                    .closest_label(ASPECT_RATIOS)
            );
        }
        merge_extra(&mut body, &request.extra);
        let provenance_params = body.clone();
        if kind == "image2video" {
            let first = self.http.first_frame(request)?;
            // Kling takes raw base64 (no data: prefix); a second reference is the last frame.
            body["image"] = json!(first.base64());
            if let Some(tail) = request.references.get(1) {
                body["image_tail"] = json!(tail.base64());
            }
        }
        let reply = self
            .http
            .send(
                "submit",
                self.http.post(&format!("v1/videos/{kind}")).json(&body),
            )
            .await?;
        let data = self.read(&reply, false)?;
        let task_id = TaskId(format!("{kind}/{}", data.task_id));
        Ok(TaskHandle {
            task_id,
            status: self.status(data),
            provenance: Provenance {
                provider: PROVIDER.into(),
                model,
                prompt: request.prompt.clone(),
                seed: None,
                parameters: provenance_params,
            },
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        // Task ids carry their endpoint, because Kling polls per endpoint kind.
        let Some((kind @ ("text2video" | "image2video"), id)) = task.as_str().split_once('/')
        else {
            return Err(Error::InvalidInput {
                provider: PROVIDER.into(),
                message: format!("not a kling task id: {task}"),
            });
        };
        let reply = self
            .http
            .send("poll", self.http.get(&format!("v1/videos/{kind}/{id}")))
            .await?;
        Ok(self.status(self.read(&reply, true)?))
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        // Results live on a CDN that needs no credentials.
        self.http.download(output, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_is_hs256_over_the_documented_claims()
    -> std::result::Result<(), jsonwebtoken::errors::Error> {
        let token = jwt(&Secret::new("ak"), &Secret::new("sk"), 1_000_000)?;
        let header = jsonwebtoken::decode_header(&token)?;
        assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
        // The claims are checked against a fixed clock, not against now.
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_issuer(&["ak"]);
        let claims = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"sk")?,
            &validation,
        )?
        .claims;
        assert_eq!(
            claims,
            json!({"iss": "ak", "exp": 1_001_800, "nbf": 999_995})
        );
        let wrong = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"other")?,
            &validation,
        );
        assert!(wrong.is_err(), "signed with the secret key");
        Ok(())
    }
}
