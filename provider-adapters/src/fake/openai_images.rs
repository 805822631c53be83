use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

use super::{
    FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, bearer_ok, fake_key, fake_png, read_multipart,
};
use crate::openai_images::OpenAiImagesConfig;
use crate::openai_wire::error_body;

super::fake_wrapper!(
    /// Fake OpenAI images API: `/v1/images/generations` and `/v1/images/edits`.
    FakeOpenAiImages
);

impl FakeOpenAiImages {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 0,
        };
        FakeOpenAiImages(
            FakeServer::start(spec, |r| {
                r.route("/v1/images/generations", post(generations))
                    .route("/v1/images/edits", post(edits))
            })
            .await,
        )
    }

    pub fn config(&self) -> OpenAiImagesConfig {
        OpenAiImagesConfig {
            base_url: format!("{}/v1", self.url()),
            timeouts: FAKE_TIMEOUTS,
            ..OpenAiImagesConfig::new(fake_key())
        }
    }
}

fn unauthorized() -> Response {
    error_body(
        StatusCode::UNAUTHORIZED,
        "Incorrect API key provided: sk-fake***.",
    )
}

/// The answer to a generation or edit: one PNG a sixteenth of the asked size.
fn answer(state: &FakeState, size: &str) -> Response {
    if state.refusing() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {
                "message": "Your request was rejected by the safety system. safety_violations=[violence].",
                "type": "image_generation_user_error",
                "param": null,
                "code": "moderation_blocked"
            }})),
        )
            .into_response();
    }
    state
        .counters
        .submissions
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()? / 16, h.parse::<u32>().ok()? / 16)))
        .unwrap_or((64, 64));
    let b64 = base64::engine::general_purpose::STANDARD.encode(fake_png(w, h));
    Json(json!({
        "created": 1_795_300_000,
        "data": [{"b64_json": b64}],
        "usage": {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210,
                  "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}
    }))
    .into_response()
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Bearer") {
        return Some(unauthorized());
    }
    None
}

async fn generations(State(state): State<Arc<FakeState>>, Json(body): Json<Value>) -> Response {
    if body["prompt"].as_str().unwrap_or_default().is_empty() {
        return error_body(
            StatusCode::BAD_REQUEST,
            "Missing required parameter: 'prompt'.",
        );
    }
    let size = body["size"].as_str().unwrap_or("1024x1024").to_owned();
    state.record(body);
    answer(&state, &size)
}

async fn edits(State(state): State<Arc<FakeState>>, multipart: Multipart) -> Response {
    let fields = match read_multipart(multipart).await {
        Ok(f) => f,
        Err(e) => return error_body(StatusCode::BAD_REQUEST, &e),
    };
    let images = match &fields["image[]"] {
        Value::Array(a) => a.len(),
        Value::Null => 0,
        _ => 1,
    };
    if images == 0 {
        return error_body(
            StatusCode::BAD_REQUEST,
            "Missing required parameter: 'image'.",
        );
    }
    let size = fields["size"].as_str().unwrap_or("1024x1024").to_owned();
    state.record(fields);
    answer(&state, &size)
}
