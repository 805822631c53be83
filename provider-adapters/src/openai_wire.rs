//! The error shape shared by OpenAI and the many APIs that copy it (images, videos, chat):
//! `{"error": {"message", "type", "param", "code"}}`.

use serde::Deserialize;

use crate::Error;
use crate::http::{Http, Reply};

#[derive(Debug, Deserialize)]
struct Envelope {
    error: Option<WireError>,
}

/// The provider's own error vocabulary, before it is mapped into [`Error`].
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireError {
    #[serde(default)]
    pub(crate) message: String,
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub(crate) code: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

impl WireError {
    pub(crate) fn parse(reply: &Reply) -> WireError {
        serde_json::from_slice::<Envelope>(&reply.body)
            .ok()
            .and_then(|e| e.error)
            .unwrap_or_else(|| WireError {
                message: reply.text(),
                ..WireError::default()
            })
    }

    /// Moderation refusals come as 400s with one of these codes (images: `moderation_blocked`;
    /// older models and gateways: `content_policy_violation`).
    pub(crate) fn is_content_policy(&self) -> bool {
        let code = self.code.as_deref().unwrap_or_default();
        matches!(
            code,
            "moderation_blocked" | "content_policy_violation" | "content_filter"
        ) || self.kind.as_deref() == Some("image_generation_user_error")
            && self.message.to_lowercase().contains("safety")
    }

    /// Maps an OpenAI-shaped error answer. `not_found_is_expired` is set for lookups of
    /// something we created (a video id): there a 404 means the provider has forgotten it.
    pub(crate) fn into_error(
        self,
        http: &Http,
        reply: &Reply,
        not_found_is_expired: bool,
    ) -> Error {
        let provider = http.provider.clone();
        let message = http.redact(&match &self.code {
            Some(code) if !self.message.contains(code.as_str()) => {
                format!("{} ({code})", self.message)
            }
            _ => self.message.clone(),
        });
        match reply.status.as_u16() {
            401 | 403 => Error::Auth { provider, message },
            402 => Error::Balance { provider, message },
            429 if self.code.as_deref() == Some("insufficient_quota") => {
                Error::Balance { provider, message }
            }
            429 => Error::RateLimited {
                provider,
                retry_after: reply.retry_after(),
                message,
            },
            404 if not_found_is_expired => Error::Expired { provider, message },
            400..=499 if self.is_content_policy() => Error::ContentPolicy {
                provider,
                reason: message,
            },
            400..=499 => Error::InvalidInput { provider, message },
            status => Error::Provider {
                provider,
                status: Some(status),
                message,
            },
        }
    }
}

/// An OpenAI-shaped error body, for the fakes.
#[cfg(feature = "test-support")]
pub(crate) fn error_body(
    status: axum::http::StatusCode,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (kind, code) = match status.as_u16() {
        401 => ("invalid_request_error", "invalid_api_key"),
        429 => ("requests", "rate_limit_exceeded"),
        400 => ("invalid_request_error", "invalid_value"),
        _ => ("server_error", "server_error"),
    };
    let body = serde_json::json!({
        "error": {"message": message, "type": kind, "param": null, "code": code}
    });
    (status, axum::Json(body)).into_response()
}
