use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::{FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, bearer_ok, fake_key, lock};
use crate::openai_chat::OpenAiChatConfig;
use crate::openai_wire::error_body;

super::fake_wrapper!(
    /// Fake OpenAI-compatible chat (DeepSeek's rules): `/v1/chat/completions` answering with
    /// replies a test queues, else with what the test's responder makes of the request (a
    /// stand-in model), else `{"ok": true}`.
    FakeOpenAiChat
);

/// A test's stand-in for the model: the request body in, the answer's content out.
pub(crate) type Responder = dyn Fn(&Value) -> String + Send + Sync;

impl FakeOpenAiChat {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 0,
        };
        FakeOpenAiChat(
            FakeServer::start(spec, |r| r.route("/v1/chat/completions", post(complete))).await,
        )
    }

    pub fn config(&self) -> OpenAiChatConfig {
        OpenAiChatConfig {
            timeouts: FAKE_TIMEOUTS,
            ..OpenAiChatConfig::new(format!("{}/v1", self.url()), fake_key())
        }
    }

    /// Queues the next answer's content (finish reason `stop`).
    pub fn push_reply(&self, content: &str) {
        lock(&self.state.scripted).push_back(json!({"content": content, "finish_reason": "stop"}));
    }

    /// Queues an answer cut off by `max_tokens` (finish reason `length`).
    pub fn push_truncated(&self, content: &str) {
        lock(&self.state.scripted)
            .push_back(json!({"content": content, "finish_reason": "length"}));
    }

    /// Queues an HTTP error answer, e.g. DeepSeek's 402 "Insufficient Balance".
    pub fn push_error(&self, status: u16, message: &str) {
        lock(&self.state.scripted).push_back(json!({"status": status, "message": message}));
    }

    /// Answers every request that finds no queued reply with `responder(request body)`, so a
    /// test can play the model and derive its answer from what was asked (the passage of a
    /// breakdown prompt, say).
    pub fn set_responder(&self, responder: impl Fn(&Value) -> String + Send + Sync + 'static) {
        *lock(&self.state.responder) = Some(Arc::new(responder));
    }

    /// Waits this long before every answer, like a model writing a long reply, so a test can
    /// watch progress between answers.
    pub fn set_answer_delay(&self, delay: std::time::Duration) {
        *lock(&self.state.answer_delay) = delay;
    }
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Bearer") {
        return Some(error_body(
            StatusCode::UNAUTHORIZED,
            "Authentication Fails (no such user)",
        ));
    }
    None
}

async fn complete(State(state): State<Arc<FakeState>>, Json(body): Json<Value>) -> Response {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    if messages.is_empty() {
        return error_body(StatusCode::BAD_REQUEST, "messages must not be empty");
    }
    let json_mode = body["response_format"]["type"] == "json_object";
    let mentions_json = messages.iter().any(|m| {
        m["content"]
            .as_str()
            .is_some_and(|c| c.to_lowercase().contains("json"))
    });
    if json_mode && !mentions_json {
        return error_body(
            StatusCode::BAD_REQUEST,
            "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'.",
        );
    }
    state.record(body.clone());
    let delay = *lock(&state.answer_delay);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let next = lock(&state.scripted).pop_front();
    let responder = lock(&state.responder).clone();
    let next = next.unwrap_or_else(|| match responder {
        Some(respond) => json!({"content": respond(&body), "finish_reason": "stop"}),
        None => json!({"content": "{\"ok\": true}", "finish_reason": "stop"}),
    });
    if let Some(status) = next["status"].as_u64() {
        let status =
            StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error_body(status, next["message"].as_str().unwrap_or_default());
    }
    state.counters.submissions.fetch_add(1, Ordering::Relaxed);
    Json(json!({
        "id": state.new_id("chatcmpl-"),
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": next["content"]},
                     "finish_reason": next["finish_reason"]}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
    }))
    .into_response()
}
