//! A local ComfyUI: reference images go up through `/upload/image`, an API-format graph with
//! the request's values bound into it (`node_id.input -> parameter`) goes to `/prompt`,
//! progress arrives over `/ws?clientId=`, and `/history/{id}` is the truth about a finished
//! prompt (it answers `200 {}` for ids it does not know). Outputs come from `/view`.
//!
//! The server calls ComfyUI, never the browser: ComfyUI refuses requests whose `Host` and
//! `Origin` differ.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{Auth, Http, Reply, join, pick_model};
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, Size, TaskHandle, TaskId, TaskStatus, Timeouts,
};

pub const PROVIDER: &str = "comfyui";
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8188";
/// Checkpoints the default workflow can load (bound to `4.ckpt_name` as `model`).
pub const DEFAULT_MODELS: &[&str] = &["v1-5-pruned-emaonly.safetensors"];

/// No key. References go where the workflow binds `reference.N` (the default text-to-image
/// workflow binds none; a recipe's workflow may bind up to eight).
pub const SPEC: ProviderSpec = ProviderSpec::hosted(PROVIDER, DEFAULT_BASE_URL, DEFAULT_MODELS)
    .with_operations(&[Operation::TextToImage, Operation::ImageEdit])
    .with_references(8)
    .without_key();

/// An API-format graph ("Save (API)" in ComfyUI) and where the request's values go in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// `{node_id: {class_type, inputs}}`.
    pub graph: Value,
    /// `"node_id.input" -> parameter`. Parameters: `prompt`, `negative_prompt`, `seed`,
    /// `width`, `height`, `model`, `reference.N` (the uploaded name of the Nth reference image;
    /// only bound references are uploaded), and any key of the request's `extra`.
    pub bindings: BTreeMap<String, String>,
}

impl Workflow {
    /// Whether some input takes `parameter`.
    pub fn binds(&self, parameter: &str) -> bool {
        self.bindings.values().any(|p| p == parameter)
    }

    /// The classic Stable Diffusion text-to-image graph, for a stock ComfyUI install.
    pub fn default_text_to_image() -> Workflow {
        let graph = json!({
            "3": {"class_type": "KSampler", "inputs": {
                "seed": 0, "steps": 20, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal",
                "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                "latent_image": ["5", 0]}},
            "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": DEFAULT_MODELS[0]}},
            "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 576, "batch_size": 1}},
            "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
            "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
            "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "shotweave", "images": ["8", 0]}},
        });
        let bindings = [
            ("6.text", "prompt"),
            ("7.text", "negative_prompt"),
            ("3.seed", "seed"),
            ("5.width", "width"),
            ("5.height", "height"),
            ("4.ckpt_name", "model"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Workflow { graph, bindings }
    }

    /// The graph with every bound parameter that has a value written in. Unbound or absent
    /// parameters leave the graph's own value.
    pub fn bind(&self, parameters: &serde_json::Map<String, Value>) -> Result<Value> {
        let mut graph = self.graph.clone();
        for (target, parameter) in &self.bindings {
            let Some(value) = parameters.get(parameter) else {
                continue;
            };
            let bad = |why: &str| Error::InvalidInput {
                provider: PROVIDER.into(),
                message: format!("binding {target:?} -> {parameter:?}: {why}"),
            };
            let (node, input) = target
                .split_once('.')
                .ok_or_else(|| bad("expected node_id.input"))?;
            let inputs = graph
                .get_mut(node)
                .and_then(|n| n.get_mut("inputs"))
                .and_then(Value::as_object_mut)
                .ok_or_else(|| bad("no such node in the graph"))?;
            inputs.insert(input.to_owned(), value.clone());
        }
        Ok(graph)
    }
}

#[derive(Debug, Clone)]
pub struct ComfyUiConfig {
    pub base_url: String,
    pub models: Vec<String>,
    /// Used when the request's `extra` carries no `workflow` (a recipe's graph and bindings).
    pub workflow: Workflow,
    pub timeouts: Timeouts,
}

impl Default for ComfyUiConfig {
    fn default() -> Self {
        ComfyUiConfig {
            base_url: DEFAULT_BASE_URL.into(),
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
            workflow: Workflow::default_text_to_image(),
            timeouts: Timeouts::default(),
        }
    }
}

/// What the WebSocket has told us about one prompt.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    finished_nodes: usize,
    total_nodes: usize,
}

/// Progress by prompt id, written by the WebSocket reader, read by `poll`.
type ProgressMap = Arc<Mutex<HashMap<String, Progress>>>;

#[derive(Debug)]
pub struct ComfyUi {
    config: ComfyUiConfig,
    http: Http,
    client_id: String,
    progress: ProgressMap,
    /// The WebSocket reader task, started by the first submit and restarted if it ended.
    listener: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for ComfyUi {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.try_lock()
            && let Some(task) = listener.take()
        {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ComfyUi {
    pub fn new(config: ComfyUiConfig) -> Result<Self> {
        let http = Http::new(PROVIDER, &config.base_url, config.timeouts, Auth::None)?;
        Ok(ComfyUi {
            config,
            http,
            client_id: format!("shotweave-{:016x}", rand::random::<u64>()),
            progress: Arc::default(),
            listener: tokio::sync::Mutex::new(None),
        })
    }

    /// Connects `/ws?clientId=` once and keeps it; progress is a nicety, so failing to
    /// connect is logged and the job goes on (poll reads `/history` and `/queue`).
    async fn ensure_listener(&self) {
        let mut listener = self.listener.lock().await;
        if listener.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let mut ws_url = self.http.base().clone();
        let scheme = if ws_url.scheme() == "https" {
            "wss"
        } else {
            "ws"
        };
        if ws_url.set_scheme(scheme).is_err() {
            return;
        }
        let url = format!("{}?clientId={}", join(&ws_url, "ws"), self.client_id);
        let connect = tokio::time::timeout(
            self.config.timeouts.connect,
            tokio_tungstenite::connect_async(url),
        );
        let socket = match connect.await {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "comfyui websocket unavailable; polling only");
                return;
            }
            Err(_) => return,
        };
        let progress = self.progress.clone();
        *listener = Some(tokio::spawn(async move {
            let (_, mut read) = socket.split();
            while let Some(Ok(message)) = read.next().await {
                // Binary frames are previews (4-byte type, 4-byte format, image): not needed.
                if let tokio_tungstenite::tungstenite::Message::Text(text) = message
                    && let Ok(event) = serde_json::from_str::<Value>(&text)
                {
                    record_progress(&progress, &event);
                }
            }
        }));
    }

    fn error(&self, reply: &Reply) -> Error {
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let Some(error) = body.get("error").filter(|e| e.is_object()) else {
            return self.http.status_error(reply, &reply.text(), false);
        };
        // Validation failures name the node and input; keep them so the recipe can be fixed.
        let mut message = format!(
            "{} ({})",
            error["message"].as_str().unwrap_or_default(),
            error["type"].as_str().unwrap_or_default()
        );
        if let Some(nodes) = body["node_errors"].as_object() {
            for (node, e) in nodes {
                for item in e["errors"].as_array().into_iter().flatten() {
                    message.push_str(&format!(
                        "; node {node} ({}): {} {}",
                        e["class_type"].as_str().unwrap_or_default(),
                        item["message"].as_str().unwrap_or_default(),
                        item["details"].as_str().unwrap_or_default()
                    ));
                }
            }
        }
        match reply.status.as_u16() {
            400 => Error::InvalidInput {
                provider: PROVIDER.into(),
                message,
            },
            _ => self.http.status_error(reply, &message, false),
        }
    }

    async fn upload(&self, reference: &crate::ReferenceImage) -> Result<String> {
        let form = reqwest::multipart::Form::new()
            .part("image", self.http.file_part(reference)?)
            .text("overwrite", "true")
            .text("type", "input");
        let reply = self
            .http
            .send("upload", self.http.post("upload/image").multipart(form))
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply));
        }
        let uploaded: Value = reply.json(&self.http)?;
        let name = uploaded["name"].as_str().unwrap_or_default();
        Ok(match uploaded["subfolder"].as_str() {
            Some(sub) if !sub.is_empty() => format!("{sub}/{name}"),
            _ => name.to_owned(),
        })
    }

    async fn get_json(&self, operation: &'static str, path: &str) -> Result<Value> {
        let reply = self.http.send(operation, self.http.get(path)).await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply));
        }
        reply.json(&self.http)
    }

    /// The prompt's finished state from `/history`, or `None` while it is not there.
    async fn history(&self, task: &TaskId) -> Result<Option<TaskStatus>> {
        let history = self.get_json("poll", &format!("history/{task}")).await?;
        let Some(entry) = history.get(task.as_str()) else {
            return Ok(None);
        };
        let messages = entry["status"]["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let event = |name: &str| {
            messages
                .iter()
                .find(|m| m[0].as_str() == Some(name))
                .map(|m| m[1].clone())
        };
        if event("execution_interrupted").is_some() {
            return Ok(Some(TaskStatus::Cancelled));
        }
        if let Some(e) = event("execution_error") {
            return Ok(Some(TaskStatus::Failed {
                error: self.http.provider_error(
                    None,
                    &format!(
                        "node {} ({}) failed: {}: {}",
                        e["node_id"].as_str().unwrap_or("?"),
                        e["node_type"].as_str().unwrap_or("?"),
                        e["exception_type"].as_str().unwrap_or("error"),
                        e["exception_message"].as_str().unwrap_or_default().trim()
                    ),
                ),
            }));
        }
        match entry["status"]["status_str"].as_str() {
            Some("success") | None if entry["outputs"].is_object() => {}
            other => {
                return Ok(Some(TaskStatus::Failed {
                    error: self
                        .http
                        .provider_error(None, &format!("prompt ended with status {other:?}")),
                }));
            }
        }
        let mut outputs = Vec::new();
        for node in entry["outputs"]
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
        {
            // SaveImage reports `images`; video nodes (VideoHelperSuite) report `gifs`/`videos`.
            for (key, kind) in [
                ("images", OutputKind::Image),
                ("gifs", OutputKind::Video),
                ("videos", OutputKind::Video),
            ] {
                for file in node[key].as_array().into_iter().flatten() {
                    // Temp and preview images are not results.
                    if file["type"].as_str() == Some("temp") {
                        continue;
                    }
                    let mut url = url::Url::parse(&self.http.url("view"))
                        .map_err(|e| self.http.provider_error(None, &e.to_string()))?;
                    url.query_pairs_mut()
                        .append_pair("filename", file["filename"].as_str().unwrap_or_default())
                        .append_pair("subfolder", file["subfolder"].as_str().unwrap_or_default())
                        .append_pair("type", file["type"].as_str().unwrap_or("output"));
                    outputs.push(OutputRef::new(kind, OutputSource::Url(url.into())));
                }
            }
        }
        if outputs.is_empty() {
            return Ok(Some(TaskStatus::Failed {
                error: self
                    .http
                    .provider_error(None, "the workflow saved no output"),
            }));
        }
        lock(&self.progress).remove(task.as_str());
        Ok(Some(TaskStatus::Succeeded {
            outputs,
            usage: None,
        }))
    }

    /// Where the prompt is in `/queue`: `Some(true)` running, `Some(false)` pending.
    async fn queue_position(&self, task: &TaskId) -> Result<Option<bool>> {
        let queue = self.get_json("poll", "queue").await?;
        let holds = |list: &str| {
            queue[list]
                .as_array()
                .into_iter()
                .flatten()
                .any(|item| item[1].as_str() == Some(task.as_str()))
        };
        Ok(if holds("queue_running") {
            Some(true)
        } else if holds("queue_pending") {
            Some(false)
        } else {
            None
        })
    }
}

/// Folds one WebSocket event into the progress map.
fn record_progress(progress: &ProgressMap, event: &Value) {
    let data = &event["data"];
    let Some(prompt_id) = data["prompt_id"].as_str() else {
        return;
    };
    let mut map = lock(progress);
    let entry = map.entry(prompt_id.to_owned()).or_default();
    match event["type"].as_str() {
        Some("progress_state") => {
            if let Some(nodes) = data["nodes"].as_object() {
                entry.finished_nodes = nodes.values().filter(|n| n["state"] == "finished").count();
                entry.total_nodes = entry.total_nodes.max(nodes.len());
            }
        }
        Some("execution_cached") => {
            entry.finished_nodes += data["nodes"].as_array().map_or(0, Vec::len);
        }
        _ => {}
    }
}

#[async_trait]
impl GenerationProvider for ComfyUi {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let workflow = match request.extra.get("workflow") {
            Some(w) => {
                serde_json::from_value::<Workflow>(w.clone()).map_err(|e| Error::InvalidInput {
                    provider: PROVIDER.into(),
                    message: format!("extra.workflow is not {{graph, bindings}}: {e}"),
                })?
            }
            None => self.config.workflow.clone(),
        };
        let size = request.size.unwrap_or(Size::new(1024, 576));
        // A seed is always chosen here, so provenance can reproduce the frame.
        let seed = request
            .seed
            .unwrap_or_else(|| i64::from(rand::random::<u32>()));
        let mut parameters = serde_json::Map::new();
        for (k, v) in &request.extra {
            if k != "workflow" {
                parameters.insert(k.clone(), v.clone());
            }
        }
        parameters.insert("prompt".into(), json!(request.prompt));
        if let Some(negative) = &request.negative_prompt {
            parameters.insert("negative_prompt".into(), json!(negative));
        }
        parameters.insert("seed".into(), json!(seed));
        parameters.insert("width".into(), json!(size.width));
        parameters.insert("height".into(), json!(size.height));
        parameters.insert(
            "model".into(),
            json!(pick_model(
                PROVIDER,
                request.model.as_deref(),
                &self.config.models
            )?),
        );
        let provenance_params = Value::Object(parameters.clone());

        self.ensure_listener().await;
        // Only references the graph takes go up: an unbound upload would be work for nothing.
        for (i, reference) in SPEC.references(&request.references).iter().enumerate() {
            let parameter = format!("reference.{i}");
            if workflow.binds(&parameter) {
                let name = self.upload(reference).await?;
                parameters.insert(parameter, json!(name));
            }
        }
        let graph = workflow.bind(&parameters)?;
        let total_nodes = graph.as_object().map_or(0, serde_json::Map::len);
        let body = json!({"prompt": graph, "client_id": self.client_id});
        let reply = self
            .http
            .send("submit", self.http.post("prompt").json(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(self.error(&reply));
        }
        let queued: Value = reply.json(&self.http)?;
        let Some(prompt_id) = queued["prompt_id"].as_str() else {
            return Err(self
                .http
                .provider_error(Some(200), "the answer held no prompt_id"));
        };
        lock(&self.progress)
            .entry(prompt_id.to_owned())
            .or_default()
            .total_nodes = total_nodes;
        Ok(TaskHandle {
            task_id: TaskId(prompt_id.to_owned()),
            status: TaskStatus::Queued,
            provenance: Provenance {
                provider: PROVIDER.into(),
                model: provenance_params["model"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                prompt: request.prompt.clone(),
                seed: Some(seed),
                parameters: json!({"values": provenance_params, "bindings": workflow.bindings}),
            },
        })
    }

    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        if let Some(done) = self.history(task).await? {
            return Ok(done);
        }
        match self.queue_position(task).await? {
            Some(true) => {
                let progress = lock(&self.progress).get(task.as_str()).copied();
                Ok(TaskStatus::Running {
                    progress: progress
                        .filter(|p| p.total_nodes > 0)
                        .map(|p| (p.finished_nodes as f32 / p.total_nodes as f32).min(1.0)),
                })
            }
            Some(false) => Ok(TaskStatus::Queued),
            // It may have finished between the two reads: look once more before giving up.
            None => match self.history(task).await? {
                Some(done) => Ok(done),
                None => Err(Error::Expired {
                    provider: PROVIDER.into(),
                    message: format!("ComfyUI does not know prompt {task} (was it restarted?)"),
                }),
            },
        }
    }

    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let request = match self.queue_position(task).await? {
            // `/interrupt` stops whatever runs now, so only send it when that is our prompt.
            Some(true) => self
                .http
                .post("interrupt")
                .json(&json!({"prompt_id": task.as_str()})),
            Some(false) => self
                .http
                .post("queue")
                .json(&json!({"delete": [task.as_str()]})),
            None => return Ok(()),
        };
        let reply = self.http.send("cancel", request).await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(self.error(&reply))
        }
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        self.http.download(output, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_write_values_into_the_graph() -> Result<()> {
        let w = Workflow::default_text_to_image();
        let mut p = serde_json::Map::new();
        p.insert("prompt".into(), json!("a red door"));
        p.insert("seed".into(), json!(7));
        let graph = w.bind(&p)?;
        assert_eq!(graph["6"]["inputs"]["text"], "a red door");
        assert_eq!(graph["3"]["inputs"]["seed"], 7);
        // Unbound values keep the graph's own.
        assert_eq!(graph["7"]["inputs"]["text"], "");
        assert_eq!(graph["3"]["inputs"]["model"], json!(["4", 0]));
        Ok(())
    }

    #[test]
    fn a_binding_to_a_missing_node_is_invalid_input() {
        let mut w = Workflow::default_text_to_image();
        w.bindings.insert("99.text".into(), "prompt".into());
        let mut p = serde_json::Map::new();
        p.insert("prompt".into(), json!("x"));
        assert!(matches!(w.bind(&p), Err(Error::InvalidInput { .. })));
    }

    #[test]
    fn progress_counts_finished_nodes() {
        let map = ProgressMap::default();
        lock(&map).entry("p".into()).or_default().total_nodes = 4;
        record_progress(
            &map,
            &json!({"type": "progress_state", "data": {"prompt_id": "p", "nodes": {
                "1": {"state": "finished"}, "2": {"state": "running"}}}}),
        );
        let p = lock(&map)["p"];
        assert_eq!((p.finished_nodes, p.total_nodes), (1, 4));
    }
}
