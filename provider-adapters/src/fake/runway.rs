use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, Phase, bearer_ok, fake_key};
use crate::runway::{API_VERSION, RunwayConfig};

super::fake_wrapper!(
    /// Fake Runway API: `/v1/image_to_video`, `/v1/tasks/{id}` (GET, DELETE).
    FakeRunway
);

impl FakeRunway {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::FORBIDDEN,
            polls_to_finish: 2,
        };
        FakeRunway(
            FakeServer::start(spec, |r| {
                r.route("/v1/image_to_video", post(create))
                    .route("/v1/tasks/{id}", get(task).delete(cancel))
            })
            .await,
        )
    }

    pub fn config(&self) -> RunwayConfig {
        RunwayConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..RunwayConfig::new(fake_key())
        }
    }
}

fn error_body(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// Authorization and the version header, checked like the real API; the shared middleware
/// calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Bearer") {
        return Some(error_body(
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided",
        ));
    }
    if headers
        .get("x-runway-version")
        .and_then(|v| v.to_str().ok())
        != Some(API_VERSION)
    {
        return Some(error_body(
            StatusCode::BAD_REQUEST,
            "The X-Runway-Version header is missing or invalid",
        ));
    }
    None
}

async fn create(State(state): State<Arc<FakeState>>, Json(body): Json<Value>) -> Response {
    let image_ok = match &body["promptImage"] {
        Value::String(s) => s.starts_with("data:image/") || s.starts_with("http"),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    };
    if !image_ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "Validation of body failed", "issues": [{"path": ["promptImage"], "message": "Required"}]})),
        )
            .into_response();
    }
    let mut recorded = body.clone();
    recorded["promptImage"] = json!("<image>");
    state.record(recorded);
    let id = state.new_id("");
    state.create_task(&id, Value::Null);
    Json(json!({"id": id})).into_response()
}

async fn task(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let Some((phase, _)) = state.poll_task(&id) else {
        return error_body(StatusCode::NOT_FOUND, "Task not found");
    };
    let body = match phase {
        Phase::Queued => {
            json!({"id": id, "status": "THROTTLED", "createdAt": "2026-11-22T00:00:00.000Z"})
        }
        Phase::Running(p) => json!({"id": id, "status": "RUNNING", "progress": p}),
        Phase::Done => {
            json!({"id": id, "status": "SUCCEEDED", "output": [state.file_url(&format!("{id}.mp4"))]})
        }
        Phase::Refused => json!({"id": id, "status": "FAILED",
            "failure": "Your prompt or image did not pass our content moderation.",
            "failureCode": "SAFETY.INPUT.TEXT"}),
        Phase::Cancelled => json!({"id": id, "status": "CANCELLED"}),
    };
    Json(body).into_response()
}

async fn cancel(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    match state.cancel_task(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error_body(StatusCode::NOT_FOUND, "Task not found"),
    }
}
