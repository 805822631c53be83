use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{FAKE_ACCESS_KEY, FAKE_KEY, FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, Phase};
use crate::Secret;
use crate::kling::KlingConfig;

super::fake_wrapper!(
    /// Fake Kling API: `/v1/videos/{text2video|image2video}` create and poll, JWT checked.
    FakeKling
);

impl FakeKling {
    pub async fn start() -> Self {
        let spec = FakeSpec {
            error_body,
            authorize,
            // Kling's results are signed CDN URLs: expired ones answer 403.
            expired_status: StatusCode::FORBIDDEN,
            polls_to_finish: 2,
        };
        FakeKling(
            FakeServer::start(spec, |r| {
                r.route("/v1/videos/{kind}", post(create))
                    .route("/v1/videos/{kind}/{id}", get(query))
            })
            .await,
        )
    }

    /// Access key [`FAKE_ACCESS_KEY`], secret key [`FAKE_KEY`].
    pub fn config(&self) -> KlingConfig {
        KlingConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..KlingConfig::new(Secret::new(FAKE_ACCESS_KEY), Secret::new(FAKE_KEY))
        }
    }
}

fn envelope(status: StatusCode, code: i64, message: &str, data: Value) -> Response {
    let body = json!({"code": code, "message": message, "request_id": "req-fake", "data": data});
    (status, Json(body)).into_response()
}

fn error_body(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        401 => 1001,
        429 => 1302,
        400 => 1201,
        _ => 5000,
    };
    envelope(status, code, message, Value::Null)
}

/// Checks the HS256 JWT exactly as documented: signature with the secret key, `iss` = access
/// key, inside `nbf`..`exp`.
fn jwt_ok(headers: &HeaderMap) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(mut mac) = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(FAKE_KEY.as_bytes())
    else {
        return false;
    };
    mac.update(format!("{h}.{p}").as_bytes());
    let Ok(sig) = engine.decode(sig) else {
        return false;
    };
    if mac.verify_slice(&sig).is_err() {
        return false;
    }
    let Ok(claims) = engine
        .decode(p)
        .map_err(|_| ())
        .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|_| ()))
    else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    claims["iss"] == FAKE_ACCESS_KEY
        && claims["exp"].as_u64().is_some_and(|exp| exp > now)
        && claims["nbf"].as_u64().is_some_and(|nbf| nbf <= now)
}

/// Checks the key like the real API; the shared middleware calls it before every API route.
fn authorize(headers: &HeaderMap) -> Option<Response> {
    if !jwt_ok(headers) {
        return Some(envelope(
            StatusCode::UNAUTHORIZED,
            1002,
            "Authorization is invalid",
            Value::Null,
        ));
    }
    None
}

async fn create(
    State(state): State<Arc<FakeState>>,
    Path(kind): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if kind != "text2video" && kind != "image2video" {
        return envelope(
            StatusCode::NOT_FOUND,
            1202,
            "Invalid request method",
            Value::Null,
        );
    }
    if kind == "image2video" && body["image"].as_str().unwrap_or_default().is_empty() {
        return envelope(
            StatusCode::BAD_REQUEST,
            1201,
            "image is required",
            Value::Null,
        );
    }
    if state.refusing() {
        return envelope(
            StatusCode::BAD_REQUEST,
            1301,
            "Trigger the content security policy of the platform",
            Value::Null,
        );
    }
    let mut recorded = body.clone();
    if let Some(obj) = recorded.as_object_mut() {
        // Record that images came, not their bytes.
        for key in ["image", "image_tail"] {
            if let Some(v) = obj.get_mut(key) {
                *v = json!(v.as_str().map_or(0, str::len));
            }
        }
    }
    state.record(recorded);
    let id = state.new_id("");
    state.create_task(&id, json!({"kind": kind, "duration": body["duration"]}));
    envelope(
        StatusCode::OK,
        0,
        "SUCCEED",
        json!({"task_id": id, "task_status": "submitted", "created_at": 1_795_300_000_000_u64}),
    )
}

async fn query(
    State(state): State<Arc<FakeState>>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let Some((phase, task)) = state
        .poll_task(&id)
        .filter(|(_, t)| t.data["kind"] == kind.as_str())
    else {
        return envelope(
            StatusCode::NOT_FOUND,
            1203,
            "The requested resource does not exist",
            Value::Null,
        );
    };
    let data = match phase {
        Phase::Queued => json!({"task_id": id, "task_status": "submitted"}),
        Phase::Running(_) => json!({"task_id": id, "task_status": "processing"}),
        Phase::Done => json!({"task_id": id, "task_status": "succeed", "task_result": {"videos": [
            {"id": format!("v-{id}"), "url": state.file_url(&format!("{id}.mp4")), "duration": task.data["duration"]}
        ]}}),
        Phase::Refused | Phase::Cancelled => json!({"task_id": id, "task_status": "failed",
            "task_status_msg": "Failure to pass the risk control system"}),
    };
    envelope(StatusCode::OK, 0, "SUCCEED", data)
}
