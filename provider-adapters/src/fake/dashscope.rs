use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, Phase, bearer_ok, fake_key};
use crate::dashscope::DashScopeConfig;

super::fake_wrapper!(
    /// Fake DashScope: image and video synthesis tasks, `/api/v1/tasks/{id}` and its cancel.
    FakeDashScope
);

impl FakeDashScope {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            // OSS signed URLs answer 403 once expired.
            expired_status: StatusCode::FORBIDDEN,
            polls_to_finish: 2,
        };
        FakeDashScope(
            FakeServer::start(spec, |r| {
                r.route(
                    "/api/v1/services/aigc/text2image/image-synthesis",
                    post(|s, h, b| create(s, h, b, "image")),
                )
                .route(
                    "/api/v1/services/aigc/video-generation/video-synthesis",
                    post(|s, h, b| create(s, h, b, "video")),
                )
                .route("/api/v1/tasks/{id}", get(task))
                .route("/api/v1/tasks/{id}/cancel", post(cancel))
            })
            .await,
        )
    }

    pub fn config(&self) -> DashScopeConfig {
        DashScopeConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..DashScopeConfig::new(fake_key())
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"request_id": "req-fake", "code": code, "message": message})),
    )
        .into_response()
}

fn error_body(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        401 => "InvalidApiKey",
        429 => "Throttling.RateQuota",
        400 => "InvalidParameter",
        _ => "InternalError",
    };
    error(status, code, message)
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Bearer") {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "InvalidApiKey",
            "Invalid API-key provided.",
        ));
    }
    None
}

async fn create(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
    kind: &'static str,
) -> Response {
    if headers
        .get("x-dashscope-async")
        .and_then(|v| v.to_str().ok())
        != Some("enable")
    {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "current user api does not support synchronous calls",
        );
    }
    if body["input"]["prompt"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "input.prompt is required",
        );
    }
    let mut recorded = body.clone();
    if let Some(img) = recorded["input"].get_mut("img_url") {
        *img = json!("<image>");
    }
    state.record(recorded);
    let id = state.new_id("");
    state.create_task(&id, json!({"kind": kind}));
    Json(json!({"request_id": "req-fake", "output": {"task_id": id, "task_status": "PENDING"}}))
        .into_response()
}

async fn task(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let Some((phase, task)) = state.poll_task(&id) else {
        // DashScope answers 200 UNKNOWN for ids it does not (or no longer) know.
        return Json(
            json!({"request_id": "req-fake", "output": {"task_id": id, "task_status": "UNKNOWN"}}),
        )
        .into_response();
    };
    let video = task.data["kind"] == "video";
    let output = match phase {
        Phase::Queued => json!({"task_id": id, "task_status": "PENDING"}),
        Phase::Running(_) => json!({"task_id": id, "task_status": "RUNNING"}),
        Phase::Done if video => json!({"task_id": id, "task_status": "SUCCEEDED",
            "video_url": state.file_url(&format!("{id}.mp4"))}),
        Phase::Done => json!({"task_id": id, "task_status": "SUCCEEDED",
            "results": [{"url": state.file_url(&format!("{id}.png"))}]}),
        Phase::Refused => {
            json!({"task_id": id, "task_status": "FAILED", "code": "DataInspectionFailed",
            "message": "Input data may contain inappropriate content."})
        }
        Phase::Cancelled => json!({"task_id": id, "task_status": "CANCELED"}),
    };
    let usage = if video {
        json!({"video_duration": 5, "video_count": 1})
    } else {
        json!({"image_count": 1})
    };
    Json(json!({"request_id": "req-fake", "output": output, "usage": usage})).into_response()
}

async fn cancel(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    match state.cancel_task(&id) {
        Some(_) => Json(json!({"request_id": "req-fake"})).into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            "UnsupportedOperation",
            "task can not be canceled",
        ),
    }
}
