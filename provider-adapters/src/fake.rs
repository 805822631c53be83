//! Wire-compatible fake servers, one per adapter (`Fake*`), following `PROVIDERS.md`.
//!
//! Each fake binds 127.0.0.1 on port 0, accepts only the key its `config()` hands the adapter,
//! advances its tasks one step per poll (queued, running, done), serves real PNG bytes and
//! MP4-headed video bytes, and can be told to misbehave with [`FakeServer::inject`]:
//! 429 + `retry-after`, 5xx, a connection held open sending keep-alive blanks, a
//! content-policy refusal, expired result URLs. Counters let a test assert that a job was
//! submitted exactly once.

mod comfyui;
mod dashscope;
mod fal;
mod gemini;
mod kling;
mod openai_chat;
mod openai_images;
mod openai_videos;
mod replicate;
mod runway;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

pub use comfyui::FakeComfyUi;
pub use dashscope::FakeDashScope;
pub use fal::FakeFal;
pub use gemini::FakeGemini;
pub use kling::FakeKling;
pub use openai_chat::FakeOpenAiChat;
pub use openai_images::FakeOpenAiImages;
pub use openai_videos::FakeOpenAiVideos;
pub use replicate::FakeReplicate;
pub use runway::FakeRunway;

use crate::{Secret, Timeouts};

/// The only key a fake accepts; anything else gets the provider's authentication error.
pub const FAKE_KEY: &str = "sk-fake-0123456789abcdef";
/// Kling signs with an access key and a secret key.
pub const FAKE_ACCESS_KEY: &str = "ak-fake-0123456789";

/// Timeouts for adapters pointed at a fake: short, so that a stall fails a test quickly.
pub const FAKE_TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    request: Duration::from_millis(1500),
    download: Duration::from_secs(5),
};

pub(crate) fn fake_key() -> Secret {
    Secret::new(FAKE_KEY)
}

/// A way to misbehave. Counted faults apply to the next N API requests (submissions, polls,
/// cancels); the others stay on until [`FakeServer::clear_faults`].
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer 429 with the provider's rate-limit body and, if given, `retry-after: N`.
    RateLimit {
        times: u32,
        retry_after_secs: Option<u64>,
    },
    /// Answer 500 with the provider's error body.
    ServerError { times: u32 },
    /// Answer 200 and then send a blank line every 50 ms instead of a body, as DeepSeek does
    /// under load.
    Stall,
    /// Refuse the next submissions on content-policy grounds, the way the provider does
    /// (an error on submit, a failed task or an answer without an image).
    Refuse,
    /// Result downloads answer 403/404, as they do once a provider's URLs have expired.
    ExpireOutputs,
}

#[derive(Debug, Default)]
struct Faults {
    rate_limit: u32,
    retry_after_secs: Option<u64>,
    server_error: u32,
    stall: bool,
    refuse: bool,
    expire: bool,
}

/// What a fake counts, for assertions like "submitted exactly once".
#[derive(Debug, Default)]
pub struct Counters {
    /// Jobs accepted (for synchronous providers: generations answered).
    pub submissions: AtomicU64,
    pub polls: AtomicU64,
    pub downloads: AtomicU64,
    /// Reference images uploaded (ComfyUI's `/upload/image`).
    pub uploads: AtomicU64,
    pub cancels: AtomicU64,
    /// API requests answered with an injected 429.
    pub rate_limited: AtomicU64,
    /// API requests answered with an injected 5xx.
    pub server_errors: AtomicU64,
}

/// A fake task's progress: one step per poll.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FakeTask {
    pub(crate) polls: u32,
    pub(crate) refused: bool,
    pub(crate) cancelled: bool,
    /// Provider-specific facts (endpoint kind, output name, request echo).
    pub(crate) data: Value,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Phase {
    Queued,
    Running(f32),
    Done,
    Refused,
    Cancelled,
}

/// How a fake renders the faults the shared middleware injects, in its provider's shape.
pub(crate) type ErrorBody = fn(StatusCode, &str) -> Response;

/// A fake's key check: the provider's authentication error, or `None` to let the request
/// through.
pub(crate) type Authorize = fn(&HeaderMap) -> Option<Response>;

pub(crate) struct FakeState {
    faults: Mutex<Faults>,
    pub(crate) counters: Counters,
    tasks: Mutex<HashMap<String, FakeTask>>,
    next_id: AtomicU64,
    /// Polls until a task is done (the first answers "queued").
    polls_to_finish: AtomicU32,
    /// The last submission as the fake understood it, for assertions on what was sent.
    last_request: Mutex<Option<Value>>,
    /// Replies queued by a test (used by the chat fake).
    pub(crate) scripted: Mutex<VecDeque<Value>>,
    /// The chat fake's stand-in model, used when no reply is queued.
    pub(crate) responder: Mutex<Option<Arc<openai_chat::Responder>>>,
    /// How long the chat fake waits before answering.
    pub(crate) answer_delay: Mutex<Duration>,
    pub(crate) base_url: String,
    error_body: ErrorBody,
    authorize: Authorize,
    expired_status: StatusCode,
}

impl std::fmt::Debug for FakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeState")
            .field("base_url", &self.base_url)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not turn every later request into a second panic.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FakeState {
    pub(crate) fn new_id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}{n:06x}{:08x}", rand::random::<u32>())
    }

    /// Creates a task, taking the pending refusal fault into account.
    pub(crate) fn create_task(&self, id: &str, data: Value) -> FakeTask {
        let refused = self.refusing();
        let task = FakeTask {
            polls: 0,
            refused,
            cancelled: false,
            data,
        };
        lock(&self.tasks).insert(id.to_owned(), task.clone());
        self.counters.submissions.fetch_add(1, Ordering::Relaxed);
        task
    }

    /// Advances a task by one poll and says where it is; `None` for an unknown id.
    pub(crate) fn poll_task(&self, id: &str) -> Option<(Phase, FakeTask)> {
        self.counters.polls.fetch_add(1, Ordering::Relaxed);
        let finish = self.polls_to_finish.load(Ordering::Relaxed);
        let mut tasks = lock(&self.tasks);
        let task = tasks.get_mut(id)?;
        let phase = if task.cancelled {
            Phase::Cancelled
        } else if task.polls == 0 && finish > 0 {
            Phase::Queued
        } else if task.polls < finish {
            Phase::Running(task.polls as f32 / finish as f32)
        } else if task.refused {
            Phase::Refused
        } else {
            Phase::Done
        };
        task.polls += 1;
        Some((phase, task.clone()))
    }

    pub(crate) fn task(&self, id: &str) -> Option<FakeTask> {
        lock(&self.tasks).get(id).cloned()
    }

    pub(crate) fn cancel_task(&self, id: &str) -> Option<FakeTask> {
        self.counters.cancels.fetch_add(1, Ordering::Relaxed);
        let mut tasks = lock(&self.tasks);
        let task = tasks.get_mut(id)?;
        task.cancelled = true;
        Some(task.clone())
    }

    pub(crate) fn refusing(&self) -> bool {
        lock(&self.faults).refuse
    }

    pub(crate) fn record(&self, request: Value) {
        *lock(&self.last_request) = Some(request);
    }

    /// A result URL on this fake.
    pub(crate) fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base_url)
    }

    /// Serves `/files/{name}`: a PNG or an MP4, or the expiry answer.
    pub(crate) fn serve_file(&self, name: &str) -> Response {
        self.counters.downloads.fetch_add(1, Ordering::Relaxed);
        if lock(&self.faults).expire {
            return (self.expired_status, "Request has expired").into_response();
        }
        if name.ends_with(".mp4") {
            ([(header::CONTENT_TYPE, "video/mp4")], fake_mp4()).into_response()
        } else {
            ([(header::CONTENT_TYPE, "image/png")], fake_png(64, 36)).into_response()
        }
    }

    pub(crate) fn expired(&self) -> bool {
        lock(&self.faults).expire
    }
}

/// A running fake server; stops when dropped.
#[derive(Debug)]
pub struct FakeServer {
    pub addr: SocketAddr,
    pub(crate) state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) struct FakeSpec {
    pub error_body: ErrorBody,
    pub authorize: Authorize,
    pub expired_status: StatusCode,
    pub polls_to_finish: u32,
}

impl FakeServer {
    /// Binds port 0 and serves `api` (behind the fault middleware) plus `/files/{name}`.
    pub(crate) async fn start(
        spec: FakeSpec,
        api: impl FnOnce(Router<Arc<FakeState>>) -> Router<Arc<FakeState>>,
    ) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for a fake server");
        let addr = listener.local_addr().expect("bound address");
        let state = Arc::new(FakeState {
            faults: Mutex::default(),
            counters: Counters::default(),
            tasks: Mutex::default(),
            next_id: AtomicU64::new(0),
            polls_to_finish: AtomicU32::new(spec.polls_to_finish),
            last_request: Mutex::default(),
            scripted: Mutex::default(),
            responder: Mutex::default(),
            answer_delay: Mutex::default(),
            base_url: format!("http://{addr}"),
            error_body: spec.error_body,
            authorize: spec.authorize,
            expired_status: spec.expired_status,
        });
        // Faults come first, as a provider's front door answers 429s before it looks at keys.
        let api = api(Router::new())
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                authorize,
            ))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                inject_faults,
            ));
        let app = api
            .route("/files/{name}", axum::routing::get(files))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            // Serving ends only when the fake is dropped (the task is aborted).
            let _ = axum::serve(listener, app).await;
        });
        FakeServer { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.state.base_url.clone()
    }

    pub fn inject(&self, fault: Fault) {
        let mut f = lock(&self.state.faults);
        match fault {
            Fault::RateLimit {
                times,
                retry_after_secs,
            } => {
                f.rate_limit = times;
                f.retry_after_secs = retry_after_secs;
            }
            Fault::ServerError { times } => f.server_error = times,
            Fault::Stall => f.stall = true,
            Fault::Refuse => f.refuse = true,
            Fault::ExpireOutputs => f.expire = true,
        }
    }

    pub fn clear_faults(&self) {
        *lock(&self.state.faults) = Faults::default();
    }

    /// Polls a task needs before it is done (default 2: "queued", "running", then done).
    pub fn set_polls_to_finish(&self, polls: u32) {
        self.state.polls_to_finish.store(polls, Ordering::Relaxed);
    }

    pub fn counters(&self) -> &Counters {
        &self.state.counters
    }

    pub fn submissions(&self) -> u64 {
        self.state.counters.submissions.load(Ordering::Relaxed)
    }

    pub fn polls(&self) -> u64 {
        self.state.counters.polls.load(Ordering::Relaxed)
    }

    pub fn downloads(&self) -> u64 {
        self.state.counters.downloads.load(Ordering::Relaxed)
    }

    pub fn cancels(&self) -> u64 {
        self.state.counters.cancels.load(Ordering::Relaxed)
    }

    pub fn rate_limited(&self) -> u64 {
        self.state.counters.rate_limited.load(Ordering::Relaxed)
    }

    /// The last submission as the fake read it (fields, file counts, headers of interest).
    pub fn last_request(&self) -> Option<Value> {
        lock(&self.state.last_request).clone()
    }
}

async fn files(State(state): State<Arc<FakeState>>, Path(name): Path<String>) -> Response {
    state.serve_file(&name)
}

/// The shared key check for every fake's API routes (result downloads need none).
async fn authorize(State(state): State<Arc<FakeState>>, request: Request, next: Next) -> Response {
    match (state.authorize)(request.headers()) {
        Some(denied) => denied,
        None => next.run(request).await,
    }
}

/// The shared fault middleware for every fake's API routes.
async fn inject_faults(
    State(state): State<Arc<FakeState>>,
    request: Request,
    next: Next,
) -> Response {
    enum Act {
        RateLimit(Option<u64>),
        ServerError,
        Stall,
        Pass,
    }
    // The WebSocket is a side channel (ComfyUI progress): faults target the HTTP API.
    let websocket = request.uri().path().ends_with("/ws");
    let act = {
        let mut f = lock(&state.faults);
        if websocket {
            Act::Pass
        } else if f.rate_limit > 0 {
            f.rate_limit -= 1;
            Act::RateLimit(f.retry_after_secs)
        } else if f.server_error > 0 {
            f.server_error -= 1;
            Act::ServerError
        } else if f.stall {
            Act::Stall
        } else {
            Act::Pass
        }
    };
    match act {
        Act::RateLimit(after) => {
            state.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            let mut response =
                (state.error_body)(StatusCode::TOO_MANY_REQUESTS, "rate limit exceeded");
            if let Some(after) = after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, after.into());
            }
            response
        }
        Act::ServerError => {
            state.counters.server_errors.fetch_add(1, Ordering::Relaxed);
            (state.error_body)(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
        Act::Stall => stall_response(),
        Act::Pass => next.run(request).await,
    }
}

/// 200 with a body of blank lines, one every 50 ms for up to a minute: the client's deadline
/// has to end it. The stream stops when the client hangs up.
pub(crate) fn stall_response() -> Response {
    let blanks = futures_util::stream::unfold(0u32, |n| async move {
        if n >= 1200 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        Some((
            Ok::<_, std::convert::Infallible>(Bytes::from_static(b"\n")),
            n + 1,
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(blanks))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Declares a `Fake*` wrapper around [`FakeServer`] that derefs to it.
macro_rules! fake_wrapper {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(super::FakeServer);

        impl std::ops::Deref for $name {
            type Target = super::FakeServer;
            fn deref(&self) -> &super::FakeServer {
                &self.0
            }
        }

        impl $name {
            /// The server alone, once the config has been taken.
            pub fn into_inner(self) -> super::FakeServer {
                self.0
            }
        }
    };
}
pub(crate) use fake_wrapper;

/// `Authorization: Bearer FAKE_KEY` (or another scheme), else `None`.
pub(crate) fn bearer_ok(headers: &HeaderMap, scheme: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("{scheme} {FAKE_KEY}"))
}

/// A real PNG: a solid frame, encoded by tiny-skia.
pub fn fake_png(width: u32, height: u32) -> Bytes {
    let mut pm = tiny_skia::Pixmap::new(width.max(1), height.max(1)).expect("non-zero size");
    pm.fill(tiny_skia::Color::from_rgba8(0x40, 0x80, 0xc0, 0xff));
    Bytes::from(pm.encode_png().expect("encode a small png"))
}

/// Bytes that start like an MP4 file (`ftyp` box), which is all a video consumer sniffs.
pub fn fake_mp4() -> Bytes {
    let mut v = Vec::new();
    v.extend_from_slice(&[0, 0, 0, 0x18]);
    v.extend_from_slice(b"ftypmp42");
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(b"mp42isom");
    v.extend_from_slice(&[0, 0, 0, 0x10]);
    v.extend_from_slice(b"mdat");
    v.extend_from_slice(&[0u8; 8]);
    Bytes::from(v)
}

/// Multipart fields read into JSON: text fields by name (repeated names become arrays) and
/// file fields as `{"file": name, "len": n, "type": mime}`.
pub(crate) async fn read_multipart(
    mut multipart: axum::extract::Multipart,
) -> Result<Value, String> {
    let mut fields = serde_json::Map::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_owned();
        let file = field.file_name().map(str::to_owned);
        let mime = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        let value = match file {
            Some(file) => serde_json::json!({"file": file, "len": bytes.len(), "type": mime}),
            None => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        match fields.get_mut(&name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                fields.insert(name, value);
            }
        }
    }
    Ok(Value::Object(fields))
}
