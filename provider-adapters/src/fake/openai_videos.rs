use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{
    FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, Phase, bearer_ok, fake_key, fake_mp4,
    read_multipart,
};
use crate::openai_videos::OpenAiVideosConfig;
use crate::openai_wire::error_body;

super::fake_wrapper!(
    /// Fake OpenAI-videos-compatible API: `/v1/videos` create, poll and `/content`.
    FakeOpenAiVideos
);

impl FakeOpenAiVideos {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 2,
        };
        FakeOpenAiVideos(
            FakeServer::start(spec, |r| {
                r.route("/v1/videos", post(create))
                    .route("/v1/videos/{id}", get(retrieve))
                    .route("/v1/videos/{id}/content", get(content))
            })
            .await,
        )
    }

    pub fn config(&self) -> OpenAiVideosConfig {
        OpenAiVideosConfig {
            timeouts: FAKE_TIMEOUTS,
            ..OpenAiVideosConfig::new(format!("{}/v1", self.url()), fake_key())
        }
    }
}

fn unauthorized() -> Response {
    error_body(StatusCode::UNAUTHORIZED, "Incorrect API key provided.")
}

fn video(id: &str, data: &Value, status: &str, progress: u32, error: Value) -> Value {
    json!({
        "id": id,
        "object": "video",
        "model": data["model"],
        "status": status,
        "progress": progress,
        "created_at": 1_795_300_000,
        "completed_at": if status == "completed" { json!(1_795_300_060) } else { Value::Null },
        "expires_at": null,
        "size": data["size"],
        "seconds": data["seconds"],
        "error": error,
    })
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Bearer") {
        return Some(unauthorized());
    }
    None
}

async fn create(State(state): State<Arc<FakeState>>, multipart: Multipart) -> Response {
    let fields = match read_multipart(multipart).await {
        Ok(f) => f,
        Err(e) => return error_body(StatusCode::BAD_REQUEST, &e),
    };
    if fields["prompt"].as_str().unwrap_or_default().is_empty() {
        return error_body(
            StatusCode::BAD_REQUEST,
            "Missing required parameter: 'prompt'.",
        );
    }
    if !matches!(fields["seconds"].as_str(), Some("4" | "8" | "12")) {
        return error_body(StatusCode::BAD_REQUEST, "Invalid value for 'seconds'.");
    }
    state.record(fields.clone());
    let id = state.new_id("video_");
    state.create_task(&id, fields.clone());
    Json(video(&id, &fields, "queued", 0, Value::Null)).into_response()
}

async fn retrieve(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let Some((phase, task)) = state.poll_task(&id) else {
        return error_body(StatusCode::NOT_FOUND, "Video not found");
    };
    let body = match phase {
        Phase::Queued => video(&id, &task.data, "queued", 0, Value::Null),
        Phase::Running(p) => video(
            &id,
            &task.data,
            "in_progress",
            (p * 100.0) as u32,
            Value::Null,
        ),
        Phase::Done => video(&id, &task.data, "completed", 100, Value::Null),
        Phase::Refused => video(
            &id,
            &task.data,
            "failed",
            0,
            json!({"code": "moderation_blocked",
                   "message": "Your request was blocked by our moderation system: depiction of graphic violence."}),
        ),
        Phase::Cancelled => video(&id, &task.data, "cancelled", 0, Value::Null),
    };
    Json(body).into_response()
}

async fn content(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    state.counters.downloads.fetch_add(1, Ordering::Relaxed);
    if state.task(&id).is_none() || state.expired() {
        return error_body(StatusCode::NOT_FOUND, "Video content not found or expired");
    }
    ([(header::CONTENT_TYPE, "video/mp4")], fake_mp4()).into_response()
}
