use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use super::{FAKE_KEY, FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, fake_key, fake_png};
use crate::gemini::GeminiConfig;

super::fake_wrapper!(
    /// Fake Gemini API: `POST /v1beta/models/{model}:generateContent`.
    FakeGemini
);

impl FakeGemini {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 0,
        };
        FakeGemini(
            FakeServer::start(spec, |r| r.route("/v1beta/models/{action}", post(generate))).await,
        )
    }

    pub fn config(&self) -> GeminiConfig {
        GeminiConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..GeminiConfig::new(fake_key())
        }
    }
}

fn error_body(status: StatusCode, message: &str) -> Response {
    let (name, details) = match status.as_u16() {
        429 => (
            "RESOURCE_EXHAUSTED",
            json!([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]),
        ),
        400 => ("INVALID_ARGUMENT", json!([])),
        404 => ("NOT_FOUND", json!([])),
        _ => ("INTERNAL", json!([])),
    };
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name, "details": details}});
    (status, Json(body)).into_response()
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some(FAKE_KEY) {
        let body = json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                         "domain": "googleapis.com"}]}});
        return Some((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    None
}

async fn generate(
    State(state): State<Arc<FakeState>>,
    Path(action): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(model) = action.strip_suffix(":generateContent") else {
        return error_body(StatusCode::NOT_FOUND, "unknown method");
    };
    let parts = &body["contents"][0]["parts"];
    let Some(parts) = parts.as_array().filter(|p| !p.is_empty()) else {
        return error_body(StatusCode::BAD_REQUEST, "contents is not specified");
    };
    let references = parts
        .iter()
        .filter(|p| p.get("inline_data").is_some())
        .count();
    state.record(json!({"model": model, "references": references, "generationConfig": body["generationConfig"]}));
    if state.refusing() {
        return Json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "I can't create that image."}]},
                            "finishReason": "IMAGE_SAFETY",
                            "finishMessage": "Unable to show the generated image: it may violate the policy."}],
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}
        }))
        .into_response();
    }
    state.counters.submissions.fetch_add(1, Ordering::Relaxed);
    let (w, h) = match body["generationConfig"]["imageConfig"]["aspectRatio"].as_str() {
        Some("16:9") => (64, 36),
        Some("9:16") => (36, 64),
        _ => (48, 48),
    };
    let data = base64::engine::general_purpose::STANDARD.encode(fake_png(w, h));
    Json(json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Here is the frame."},
            {"inlineData": {"mimeType": "image/png", "data": data}}
        ]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302},
        "modelVersion": model
    }))
    .into_response()
}
