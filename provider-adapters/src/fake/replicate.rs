use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, Phase, bearer_ok, fake_key};
use crate::replicate::ReplicateConfig;

super::fake_wrapper!(
    /// Fake Replicate: `/v1/models/{owner}/{name}/predictions`, `/v1/predictions/{id}` and
    /// its `/cancel`.
    FakeReplicate
);

impl FakeReplicate {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 2,
        };
        FakeReplicate(
            FakeServer::start(spec, |r| {
                r.route("/v1/models/{owner}/{name}/predictions", post(create))
                    .route("/v1/predictions/{id}", get(prediction))
                    .route("/v1/predictions/{id}/cancel", post(cancel))
            })
            .await,
        )
    }

    pub fn config(&self) -> ReplicateConfig {
        ReplicateConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..ReplicateConfig::new(fake_key())
        }
    }
}

fn error_body(status: StatusCode, message: &str) -> Response {
    let detail = if status == StatusCode::TOO_MANY_REQUESTS {
        "Request was throttled. Expected available in 1 second."
    } else {
        message
    };
    (status, Json(json!({"title": status.canonical_reason(), "detail": detail, "status": status.as_u16()}))).into_response()
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401})),
    )
        .into_response()
}

fn body(
    state: &FakeState,
    id: &str,
    model: &Value,
    input: &Value,
    status: &str,
    output: Value,
    error: Value,
) -> Value {
    json!({
        "id": id,
        "model": model,
        "version": "fake-version",
        "input": input,
        "status": status,
        "output": output,
        "error": error,
        "logs": "",
        "metrics": if status == "succeeded" { json!({"predict_time": 1.25}) } else { json!({}) },
        "urls": {
            "get": format!("{}/v1/predictions/{id}", state.base_url),
            "cancel": format!("{}/v1/predictions/{id}/cancel", state.base_url),
        },
    })
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !bearer_ok(headers, "Bearer") {
        return Some(unauthenticated());
    }
    None
}

async fn create(
    State(state): State<Arc<FakeState>>,
    Path((owner, name)): Path<(String, String)>,
    Json(request): Json<Value>,
) -> Response {
    let input = &request["input"];
    if input["prompt"].as_str().unwrap_or_default().is_empty() {
        return error_body(
            StatusCode::UNPROCESSABLE_ENTITY,
            "- input.prompt: prompt is required",
        );
    }
    let mut recorded = input.clone();
    if recorded.get("input_image").is_some() {
        recorded["input_image"] = json!("<image>");
    }
    let model = json!(format!("{owner}/{name}"));
    state.record(json!({"model": model, "input": recorded}));
    let id = state.new_id("");
    state.create_task(&id, json!({"model": model, "input": recorded}));
    (
        StatusCode::CREATED,
        Json(body(
            &state,
            &id,
            &model,
            &recorded,
            "starting",
            Value::Null,
            Value::Null,
        )),
    )
        .into_response()
}

async fn prediction(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    let Some((phase, task)) = state.poll_task(&id) else {
        return error_body(StatusCode::NOT_FOUND, "Not found.");
    };
    let (model, input) = (&task.data["model"], &task.data["input"]);
    let b = match phase {
        Phase::Queued => body(
            &state,
            &id,
            model,
            input,
            "starting",
            Value::Null,
            Value::Null,
        ),
        Phase::Running(_) => body(
            &state,
            &id,
            model,
            input,
            "processing",
            Value::Null,
            Value::Null,
        ),
        Phase::Done => body(
            &state,
            &id,
            model,
            input,
            "succeeded",
            json!([state.file_url(&format!("{id}.png"))]),
            Value::Null,
        ),
        Phase::Refused => body(
            &state,
            &id,
            model,
            input,
            "failed",
            Value::Null,
            json!("NSFW content detected. Try running it again, or try a different prompt."),
        ),
        Phase::Cancelled => body(
            &state,
            &id,
            model,
            input,
            "canceled",
            Value::Null,
            Value::Null,
        ),
    };
    Json(b).into_response()
}

async fn cancel(State(state): State<Arc<FakeState>>, Path(id): Path<String>) -> Response {
    match state.cancel_task(&id) {
        Some(task) => Json(body(
            &state,
            &id,
            &task.data["model"],
            &task.data["input"],
            "canceled",
            Value::Null,
            Value::Null,
        ))
        .into_response(),
        None => error_body(StatusCode::NOT_FOUND, "Not found."),
    }
}
