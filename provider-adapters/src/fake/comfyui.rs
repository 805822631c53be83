//! A fake ComfyUI that replays the traffic recorded from a real one
//! (`shared/data/providers/comfyui-run-*.json`): the WebSocket message sequence, the history
//! entries and the validation errors, with the recorded prompt id swapped for a new one.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{FAKE_TIMEOUTS, FakeServer, FakeSpec, FakeState, fake_png, lock, read_multipart};
use crate::comfyui::ComfyUiConfig;

super::fake_wrapper!(
    /// Fake ComfyUI: `/prompt`, `/ws`, `/history/{id}`, `/queue`, `/view`, `/upload/image`,
    /// `/interrupt`, also under `/api/`, replaying recorded runs.
    FakeComfyUi
);

/// Nodes the fake knows; any other class is refused as ComfyUI refuses unknown nodes.
const KNOWN_NODES: &[&str] = &[
    "EmptyImage",
    "ImageInvert",
    "ImageScaleBy",
    "ImageBatch",
    "LoadImage",
    "SaveImage",
    "PreviewImage",
    "KSampler",
    "CheckpointLoaderSimple",
    "EmptyLatentImage",
    "CLIPTextEncode",
    "VAEDecode",
];

/// Where the shared test data lives: `SHOTWEAVE_SHARED_DATA`, else `../shared/data` beside the
/// workspace.
fn data_dir() -> PathBuf {
    std::env::var_os("SHOTWEAVE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // The crate being tested or benchmarked, as cargo says at run time: checkouts that
            // share one target directory may run a library built in another checkout, whose
            // compiled-in directory can be gone. Every crate sits one level below the root.
            std::env::var_os("CARGO_MANIFEST_DIR")
                .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
                .join("../../shared/data")
        })
}

fn load(name: &str) -> Value {
    let path = data_dir().join("providers").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fake ComfyUI needs the recording {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One recorded run: what the WebSocket said and what `/history` held afterwards.
#[derive(Debug, Clone)]
struct Scenario {
    recorded_id: String,
    ws: Vec<Value>,
    status: Value,
    outputs: Value,
}

impl Scenario {
    fn from_errors(run: &Value) -> Scenario {
        let ws = run["ws"].as_array().cloned().unwrap_or_default();
        let recorded_id = ws
            .iter()
            .find_map(|m| m["data"]["prompt_id"].as_str())
            .unwrap_or_default()
            .to_owned();
        Scenario {
            recorded_id,
            ws,
            status: run["history_status"].clone(),
            outputs: run["outputs"].clone(),
        }
    }

    /// The recorded JSON with the recorded prompt id replaced.
    fn swap(&self, value: &Value, id: &str) -> Value {
        let text = value.to_string().replace(&self.recorded_id, id);
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[derive(Debug)]
struct Recordings {
    connect_status: Value,
    success: Scenario,
    runtime_error: Scenario,
    load_uploaded: Scenario,
    cached_rerun: Scenario,
    bad_prompt: Value,
    unknown_node: Value,
    no_prompt: Value,
}

impl Recordings {
    fn load() -> Recordings {
        let success = load("comfyui-run-success.json");
        let errors = load("comfyui-run-errors.json");
        let recorded_id = success["post_prompt_body"]["prompt_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let messages = success["ws_messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let entry = &success["history"][&recorded_id];
        Recordings {
            connect_status: messages.first().cloned().unwrap_or(Value::Null),
            success: Scenario {
                recorded_id: recorded_id.clone(),
                // The first message is the status sent on connect, not part of the run.
                ws: messages.into_iter().skip(1).collect(),
                status: entry["status"].clone(),
                outputs: entry["outputs"].clone(),
            },
            runtime_error: Scenario::from_errors(&errors["runtime_error"]),
            load_uploaded: Scenario::from_errors(&errors["load_uploaded"]),
            cached_rerun: Scenario::from_errors(&errors["cached_rerun"]),
            bad_prompt: success["bad_prompt"]["body"].clone(),
            unknown_node: success["unknown_node"]["body"].clone(),
            no_prompt: success["no_prompt"]["body"].clone(),
        }
    }
}

#[derive(Debug)]
struct Comfy {
    fake: Arc<FakeState>,
    recordings: Recordings,
    /// WebSocket clients by `clientId`: where a prompt's events go.
    clients: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
    /// Prompt ids waiting (`false`) or running (`true`), in queue order, with their number.
    queue: Mutex<Vec<(u64, String, bool)>>,
    history: Mutex<HashMap<String, Value>>,
    /// Graphs already run: running one again replays the cached re-run.
    seen: Mutex<HashSet<String>>,
    number: AtomicU64,
}

impl FakeComfyUi {
    pub async fn start() -> Self {
        let recordings = Recordings::load();
        let spec = FakeSpec {
            error_body,
            // A local ComfyUI takes no key.
            authorize: |_| None,
            expired_status: StatusCode::NOT_FOUND,
            polls_to_finish: 0,
        };
        let comfy_slot: Arc<Mutex<Option<Arc<Comfy>>>> = Arc::default();
        let slot = comfy_slot.clone();
        let server = FakeServer::start(spec, move |r| {
            let mut r = r;
            for prefix in ["", "/api"] {
                let c = slot.clone();
                let get_comfy =
                    move || lock(&c).clone().expect("comfy state is set before serving");
                let g = get_comfy.clone();
                r = r.route(
                    &format!("{prefix}/prompt"),
                    post(move |Json(body): Json<Value>| {
                        let c = g();
                        async move { prompt(c, body).await }
                    }),
                );
                let g = get_comfy.clone();
                r = r.route(
                    &format!("{prefix}/ws"),
                    get(
                        move |ws: WebSocketUpgrade, Query(q): Query<HashMap<String, String>>| {
                            let c = g();
                            async move {
                                let client_id = q.get("clientId").cloned().unwrap_or_default();
                                ws.on_upgrade(move |socket| client(socket, c, client_id))
                            }
                        },
                    ),
                );
                let g = get_comfy.clone();
                r = r.route(
                    &format!("{prefix}/history/{{id}}"),
                    get(move |Path(id): Path<String>| {
                        let c = g();
                        async move { history(&c, &id) }
                    }),
                );
                let g = get_comfy.clone();
                r = r.route(
                    &format!("{prefix}/queue"),
                    get({
                        let g = g.clone();
                        move || {
                            let c = g();
                            async move { queue(&c) }
                        }
                    })
                    .post(move |Json(body): Json<Value>| {
                        let c = g();
                        async move { delete_from_queue(&c, &body) }
                    }),
                );
                let g = get_comfy.clone();
                r = r.route(
                    &format!("{prefix}/interrupt"),
                    post(move || {
                        let c = g();
                        async move {
                            c.fake.counters.cancels.fetch_add(1, Ordering::Relaxed);
                            StatusCode::OK
                        }
                    }),
                );
                let g = get_comfy.clone();
                r = r.route(
                    &format!("{prefix}/view"),
                    get(move |Query(q): Query<HashMap<String, String>>| {
                        let c = g();
                        async move { view(&c, &q) }
                    }),
                );
                r = r.route(&format!("{prefix}/upload/image"), post(upload));
            }
            r
        })
        .await;
        *lock(&comfy_slot) = Some(Arc::new(Comfy {
            fake: server.state.clone(),
            recordings,
            clients: Mutex::default(),
            queue: Mutex::default(),
            history: Mutex::default(),
            seen: Mutex::default(),
            number: AtomicU64::new(0),
        }));
        FakeComfyUi(server)
    }

    pub fn config(&self) -> ComfyUiConfig {
        ComfyUiConfig {
            base_url: self.url(),
            timeouts: FAKE_TIMEOUTS,
            ..ComfyUiConfig::default()
        }
    }
}

fn error_body(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"type": "server_error", "message": message, "details": "", "extra_info": {}}, "node_errors": {}});
    (status, Json(body)).into_response()
}

async fn client(socket: WebSocket, comfy: Arc<Comfy>, client_id: String) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut hello = comfy.recordings.connect_status.clone();
    hello["data"]["sid"] = json!(client_id);
    let _ = tx.send(hello.to_string());
    lock(&comfy.clients).insert(client_id.clone(), tx);
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => if sink.send(Message::Text(text.into())).await.is_err() { break },
                None => break,
            },
            incoming = stream.next() => if !matches!(incoming, Some(Ok(_))) { break },
        }
    }
    lock(&comfy.clients).remove(&client_id);
}

/// Validates like ComfyUI (with its recorded error bodies), then queues and replays a run.
async fn prompt(comfy: Arc<Comfy>, body: Value) -> Response {
    let rec = &comfy.recordings;
    let Some(graph) = body
        .get("prompt")
        .and_then(Value::as_object)
        .filter(|g| !g.is_empty())
    else {
        return (StatusCode::BAD_REQUEST, Json(rec.no_prompt.clone())).into_response();
    };
    for (id, node) in graph {
        let class = node["class_type"].as_str().unwrap_or_default();
        if !KNOWN_NODES.contains(&class) {
            let mut e = rec.unknown_node.clone();
            e["error"]["message"] = json!(format!(
                "Cannot execute because node {class} does not exist."
            ));
            e["error"]["details"] = json!(format!("Node ID '#{id}'"));
            return (StatusCode::BAD_REQUEST, Json(e)).into_response();
        }
        if class == "EmptyImage" && node["inputs"]["width"].as_i64().is_some_and(|w| w < 1) {
            return (StatusCode::BAD_REQUEST, Json(rec.bad_prompt.clone())).into_response();
        }
    }
    let graph_text = Value::Object(graph.clone()).to_string();
    let scenario = if graph.values().any(|n| {
        n["class_type"] == "ImageScaleBy"
            && n["inputs"]["scale_by"].as_f64().is_some_and(|s| s < 0.05)
    }) {
        // The recorded runtime error came from exactly this: a scale that rounds to 0 pixels.
        rec.runtime_error.clone()
    } else if !lock(&comfy.seen).insert(graph_text) {
        rec.cached_rerun.clone()
    } else if graph.values().any(|n| n["class_type"] == "LoadImage") {
        rec.load_uploaded.clone()
    } else {
        rec.success.clone()
    };
    let prompt_id = uuid_like(&comfy.fake.new_id(""));
    let number = comfy.number.fetch_add(1, Ordering::Relaxed);
    comfy
        .fake
        .record(json!({"prompt": graph, "client_id": body["client_id"]}));
    comfy
        .fake
        .counters
        .submissions
        .fetch_add(1, Ordering::Relaxed);
    lock(&comfy.queue).push((number, prompt_id.clone(), false));
    let client_id = body["client_id"].as_str().unwrap_or_default().to_owned();
    let graph = Value::Object(graph.clone());
    tokio::spawn(replay(
        comfy.clone(),
        scenario,
        prompt_id.clone(),
        number,
        client_id,
        graph,
    ));
    Json(json!({"prompt_id": prompt_id, "number": number, "node_errors": {}})).into_response()
}

/// A UUID-shaped id (ComfyUI's prompt ids are UUIDs).
fn uuid_like(seed: &str) -> String {
    let hex: String = format!("{seed:0>32}")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(32)
        .collect();
    let hex = format!("{hex:0>32}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

async fn replay(
    comfy: Arc<Comfy>,
    scenario: Scenario,
    id: String,
    number: u64,
    client_id: String,
    graph: Value,
) {
    // Queued for a moment, then running while the recorded events go out.
    tokio::time::sleep(Duration::from_millis(10)).await;
    if let Some(entry) = lock(&comfy.queue).iter_mut().find(|e| e.1 == id) {
        entry.2 = true;
    } else {
        return; // deleted from the queue before it ran
    }
    for message in &scenario.ws {
        let message = scenario.swap(message, &id);
        if let Some(tx) = lock(&comfy.clients).get(&client_id) {
            let _ = tx.send(message.to_string());
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let outputs = scenario.swap(&scenario.outputs, &id);
    let output_nodes: Vec<String> = outputs
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let entry = json!({
        "prompt": [number, id, graph, {"client_id": client_id}, output_nodes],
        "outputs": outputs,
        "status": scenario.swap(&scenario.status, &id),
        "meta": {},
    });
    lock(&comfy.history).insert(id.clone(), entry);
    lock(&comfy.queue).retain(|e| e.1 != id);
}

fn history(comfy: &Comfy, id: &str) -> Response {
    comfy.fake.counters.polls.fetch_add(1, Ordering::Relaxed);
    // Unknown ids answer 200 {}, as ComfyUI does.
    let body = match lock(&comfy.history).get(id) {
        Some(entry) => json!({ id: entry }),
        None => json!({}),
    };
    Json(body).into_response()
}

fn queue(comfy: &Comfy) -> Response {
    let q = lock(&comfy.queue);
    let item = |(n, id, _): &(u64, String, bool)| json!([n, id, {}, {}, []]);
    Json(json!({
        "queue_running": q.iter().filter(|e| e.2).map(item).collect::<Vec<_>>(),
        "queue_pending": q.iter().filter(|e| !e.2).map(item).collect::<Vec<_>>(),
    }))
    .into_response()
}

fn delete_from_queue(comfy: &Comfy, body: &Value) -> Response {
    let ids: Vec<&str> = body["delete"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    comfy
        .fake
        .counters
        .cancels
        .fetch_add(ids.len() as u64, Ordering::Relaxed);
    lock(&comfy.queue).retain(|e| e.2 || !ids.contains(&e.1.as_str()));
    StatusCode::OK.into_response()
}

fn view(comfy: &Comfy, query: &HashMap<String, String>) -> Response {
    comfy
        .fake
        .counters
        .downloads
        .fetch_add(1, Ordering::Relaxed);
    let filename = query
        .get("filename")
        .map(String::as_str)
        .unwrap_or_default();
    let known = lock(&comfy.history).values().any(|e| {
        e["outputs"]
            .to_string()
            .contains(&format!("\"{filename}\""))
    });
    if !known || comfy.fake.expired() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CONTENT_DISPOSITION, "filename=\"out.png\""),
        ],
        // The recorded output is 64x32.
        fake_png(64, 32),
    )
        .into_response()
}

async fn upload(State(state): State<Arc<FakeState>>, multipart: Multipart) -> Response {
    match read_multipart(multipart).await {
        Ok(fields) if fields["image"]["file"].is_string() => {
            let name = fields["image"]["file"]
                .as_str()
                .unwrap_or("image.png")
                .to_owned();
            state
                .counters
                .uploads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            state.record(json!({"upload": fields}));
            Json(json!({"name": name, "subfolder": "", "type": "input"})).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, "no image").into_response(),
    }
}
