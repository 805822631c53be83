use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, Phase, bearer_ok, fake_key};
use crate::fal::FalConfig;

super::fake_wrapper!(
    /// Fake fal queue: `POST /{owner}/{app}[/{path}]`, then `/requests/{id}/status`,
    /// `/requests/{id}` and `/requests/{id}/cancel` under `/{owner}/{app}`.
    FakeFal
);

impl FakeFal {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 2,
        };
        FakeFal(FakeServer::start(spec, |r| r.fallback(queue)).await)
    }

    pub fn config(&self) -> FalConfig {
        FalConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..FalConfig::new(fake_key())
        }
    }
}

fn error_body(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"detail": message}))).into_response()
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Key") {
        return Some(error_body(
            StatusCode::UNAUTHORIZED,
            "Authentication is required to access this application.",
        ));
    }
    None
}

/// One handler for the queue, because model paths have any number of segments.
async fn queue(
    State(state): State<Arc<FakeState>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, [owner, app, "requests", id, "status"]) => status(&state, owner, app, id),
        (Method::GET, [_, _, "requests", id]) => result(&state, id),
        (Method::PUT, [_, _, "requests", id, "cancel"]) => match state.cancel_task(id) {
            Some(_) => (
                StatusCode::ACCEPTED,
                Json(json!({"status": "CANCELLATION_REQUESTED"})),
            )
                .into_response(),
            None => error_body(StatusCode::NOT_FOUND, "Request not found"),
        },
        (Method::POST, [owner, app, ..]) => submit(&state, owner, app, &body),
        _ => error_body(StatusCode::NOT_FOUND, "Not found"),
    }
}

fn submit(state: &FakeState, owner: &str, app: &str, body: &[u8]) -> Response {
    let Ok(input) = serde_json::from_slice::<Value>(body) else {
        return error_body(StatusCode::UNPROCESSABLE_ENTITY, "body is not json");
    };
    if input["prompt"].as_str().unwrap_or_default().is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]})),
        )
            .into_response();
    }
    let mut recorded = input.clone();
    for key in ["image_url", "image_urls"] {
        if recorded.get(key).is_some() {
            recorded[key] = json!("<images>");
        }
    }
    state.record(recorded);
    let id = state.new_id("");
    state.create_task(&id, json!({"seed": input["seed"]}));
    // The returned URLs drop any sub-path of the model, as fal's do.
    let base = format!("{}/{owner}/{app}/requests/{id}", state.base_url);
    Json(json!({
        "request_id": id,
        "status_url": format!("{base}/status"),
        "response_url": base,
        "cancel_url": format!("{base}/cancel"),
    }))
    .into_response()
}

fn status(state: &FakeState, owner: &str, app: &str, id: &str) -> Response {
    let Some((phase, _)) = state.poll_task(id) else {
        return error_body(StatusCode::NOT_FOUND, "Request not found");
    };
    let response_url = format!("{}/{owner}/{app}/requests/{id}", state.base_url);
    match phase {
        Phase::Queued => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "IN_QUEUE", "queue_position": 0, "response_url": response_url})),
        )
            .into_response(),
        Phase::Running(_) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "IN_PROGRESS", "logs": [], "response_url": response_url})),
        )
            .into_response(),
        Phase::Done | Phase::Refused | Phase::Cancelled => {
            Json(json!({"status": "COMPLETED", "response_url": response_url})).into_response()
        }
    }
}

fn result(state: &FakeState, id: &str) -> Response {
    let Some(task) = state.task(id) else {
        return error_body(StatusCode::NOT_FOUND, "Request not found");
    };
    if task.refused {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": [{"loc": ["body", "prompt"], "type": "content_policy_violation",
                "msg": "The content could not be processed because it contained material flagged by a content checker."}]})),
        )
            .into_response();
    }
    if task.cancelled {
        return error_body(StatusCode::BAD_REQUEST, "Request was cancelled");
    }
    Json(json!({
        "images": [{"url": state.file_url(&format!("{id}.png")), "width": 64, "height": 36, "content_type": "image/png"}],
        "seed": task.data["seed"].as_i64().unwrap_or(1234),
        "has_nsfw_concepts": [false],
        "prompt": "",
    }))
    .into_response()
}
