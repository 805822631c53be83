//! Provider-neutral requests, task states and outputs.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// What a provider can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    #[default]
    TextToImage,
    /// An image guided by one or more reference images (characters, style, the previous frame).
    ImageEdit,
    TextToVideo,
    ImageToVideo,
    /// A chat completion whose answer is a JSON value (shot breakdown).
    ChatJson,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::TextToImage,
        Operation::ImageEdit,
        Operation::TextToVideo,
        Operation::ImageToVideo,
        Operation::ChatJson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::TextToImage => "text_to_image",
            Operation::ImageEdit => "image_edit",
            Operation::TextToVideo => "text_to_video",
            Operation::ImageToVideo => "image_to_video",
            Operation::ChatJson => "chat_json",
        }
    }

    pub fn produces_video(self) -> bool {
        matches!(self, Operation::TextToVideo | Operation::ImageToVideo)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Pixel dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const HD: Size = Size {
        width: 1280,
        height: 720,
    };

    pub const fn new(width: u32, height: u32) -> Self {
        Size { width, height }
    }

    /// Width over height; 16:9 is about 1.78.
    pub fn ratio(self) -> f64 {
        f64::from(self.width) / f64::from(self.height.max(1))
    }

    /// The candidate whose aspect ratio is closest to this one (providers accept a few sizes).
    pub(crate) fn closest<'a>(self, candidates: &[(&'a str, Size)]) -> &'a str {
        let want = self.ratio().ln();
        candidates
            .iter()
            .min_by(|a, b| {
                let da = (a.1.ratio().ln() - want).abs();
                let db = (b.1.ratio().ln() - want).abs();
                da.total_cmp(&db)
            })
            .map(|c| c.0)
            .unwrap_or("auto")
    }

    /// The closest of sizes or ratios labelled the way the provider spells them: `W:H`,
    /// `WxH` or `W*H`.
    pub(crate) fn closest_label<'a>(self, labels: &[&'a str]) -> &'a str {
        let parse = |label: &str| {
            let (w, h) = label.split_once([':', 'x', '*'])?;
            Some(Size::new(w.parse().ok()?, h.parse().ok()?))
        };
        let candidates: Vec<(&str, Size)> = labels
            .iter()
            .filter_map(|l| Some((*l, parse(l)?)))
            .collect();
        self.closest(&candidates)
    }
}

/// A reference image sent along with the prompt (a character sheet, a style frame, the first
/// frame of a clip).
#[derive(Clone, PartialEq)]
pub struct ReferenceImage {
    pub bytes: Bytes,
    pub mime: String,
    /// A file name for multipart uploads, e.g. `liu-bei.png`.
    pub name: String,
}

impl fmt::Debug for ReferenceImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferenceImage")
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl ReferenceImage {
    pub fn png(name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        ReferenceImage {
            bytes: bytes.into(),
            mime: "image/png".into(),
            name: name.into(),
        }
    }

    pub(crate) fn data_uri(&self) -> String {
        use base64::Engine;
        format!(
            "data:{};base64,{}",
            self.mime,
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }

    pub(crate) fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

/// The shot as the offline renderer draws it. Other providers ignore it: for them the recipe
/// has already turned the shot into `prompt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShotSketch {
    /// The label shown on the frame, e.g. `12` or `3A`.
    pub number: String,
    pub scene: String,
    /// Shot size: wide, medium, close-up, extreme close-up... (English or Chinese).
    pub framing: String,
    /// Angle and movement, e.g. "low angle, slow push in".
    pub camera: String,
    pub description: String,
    pub dialogue: String,
    pub characters: Vec<SketchCharacter>,
    pub duration_ms: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SketchCharacter {
    pub name: String,
    /// `#rrggbb`; a stable colour derived from the name when absent or unreadable.
    pub color: Option<String>,
}

/// One generation job, provider-neutral. The runner fills it from recipe + shot + characters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationRequest {
    pub operation: Operation,
    /// `None` picks the adapter's default (the first model in its configured list).
    pub model: Option<String>,
    pub prompt: String,
    pub negative_prompt: Option<String>,
    /// Reference images for `ImageEdit`, or the first frame for `ImageToVideo`.
    pub references: Vec<ReferenceImage>,
    /// Wanted output size; adapters map it to the nearest size their provider accepts.
    pub size: Option<Size>,
    pub duration_s: Option<u32>,
    pub seed: Option<i64>,
    /// Provider-specific settings from the recipe, merged into the provider's request body as
    /// they are (e.g. `quality` for OpenAI, `cfg_scale` for Kling). ComfyUI reads its
    /// `workflow` from here.
    pub extra: Map<String, Value>,
    /// What the offline renderer draws.
    pub sketch: Option<ShotSketch>,
}

impl GenerationRequest {
    pub fn text_to_image(prompt: impl Into<String>) -> Self {
        GenerationRequest {
            operation: Operation::TextToImage,
            prompt: prompt.into(),
            ..Default::default()
        }
    }

    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.operation = operation;
        self
    }

    pub fn with_reference(mut self, reference: ReferenceImage) -> Self {
        self.references.push(reference);
        self
    }
}

/// The provider's id for a submitted job: persist it, and after a restart [`poll`] it instead
/// of submitting (and paying) again. Opaque: adapters may encode more than the provider's bare
/// id in it (Kling's endpoint kind, fal's app path).
///
/// [`poll`]: crate::GenerationProvider::poll
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub String);

impl TaskId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TaskId {
    fn from(s: &str) -> Self {
        TaskId(s.to_owned())
    }
}

/// What [`submit`](crate::GenerationProvider::submit) returns.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    pub task_id: TaskId,
    /// Synchronous providers return a terminal status here; others `Queued` or `Running`.
    pub status: TaskStatus,
    /// What was actually sent, for the asset's provenance.
    pub provenance: Provenance,
}

impl TaskHandle {
    /// A synchronous provider's finished job, under a task id made up here (the provider
    /// names none).
    pub(crate) fn finished(
        provenance: Provenance,
        outputs: Vec<OutputRef>,
        usage: Option<Usage>,
    ) -> TaskHandle {
        TaskHandle {
            task_id: crate::http::local_task_id(&provenance.provider),
            status: TaskStatus::Succeeded { outputs, usage },
            provenance,
        }
    }
}

/// The final prompt, seed and parameters an adapter sent (model names and sizes as the
/// provider understood them, not as the recipe asked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub provider: String,
    pub model: String,
    pub prompt: String,
    pub seed: Option<i64>,
    /// The provider-specific parameters as sent (size, duration, workflow bindings...), never
    /// including reference image bytes or credentials.
    pub parameters: Value,
}

impl Provenance {
    /// What an adapter records for a request it sent with `model` and `parameters`.
    pub(crate) fn of(
        provider: &str,
        model: String,
        request: &GenerationRequest,
        parameters: Value,
    ) -> Self {
        Provenance {
            provider: provider.into(),
            model,
            prompt: request.prompt.clone(),
            seed: request.seed,
            parameters,
        }
    }
}

#[derive(Debug, Clone)]
pub enum TaskStatus {
    Queued,
    Running {
        /// 0.0 to 1.0 when the provider reports it.
        progress: Option<f32>,
    },
    Succeeded {
        outputs: Vec<OutputRef>,
        usage: Option<Usage>,
    },
    Failed {
        error: Error,
    },
    Cancelled,
}

impl TaskStatus {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded { .. } | TaskStatus::Failed { .. } | TaskStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    Image,
    Video,
}

/// Where a finished output is; download it at once with
/// [`fetch`](crate::GenerationProvider::fetch), because provider URLs expire.
#[derive(Clone, PartialEq)]
pub enum OutputSource {
    /// The provider returned the bytes in its answer (OpenAI images, Gemini, the offline renderer).
    Inline(Bytes),
    Url(String),
}

impl fmt::Debug for OutputSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputSource::Inline(b) => write!(f, "Inline({} bytes)", b.len()),
            OutputSource::Url(u) => f.debug_tuple("Url").field(u).finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputRef {
    pub kind: OutputKind,
    pub source: OutputSource,
    /// What the provider said; [`Output`] has what the bytes say.
    pub mime: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    /// The seed the provider reports it used, when it differs from or fills in the request's.
    pub seed: Option<i64>,
}

impl OutputRef {
    pub(crate) fn new(kind: OutputKind, source: OutputSource) -> Self {
        OutputRef {
            kind,
            source,
            mime: None,
            width: None,
            height: None,
            duration_ms: None,
            seed: None,
        }
    }
}

/// A downloaded output: bytes plus what is known about them.
#[derive(Clone, PartialEq)]
pub struct Output {
    pub kind: OutputKind,
    pub bytes: Bytes,
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u32>,
    pub seed: Option<i64>,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("kind", &self.kind)
            .field("len", &self.bytes.len())
            .field("mime", &self.mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("duration_ms", &self.duration_ms)
            .field("seed", &self.seed)
            .finish()
    }
}

/// Usage and cost exactly as the provider reported them; pricing is the runner's business.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub cost: Option<Cost>,
    /// The provider's usage object as received.
    pub raw: Value,
}

impl Usage {
    /// Token counts read from the provider's usage object by its own field names; the object
    /// is kept whole.
    pub(crate) fn tokens(raw: Value, input: &str, output: &str, total: &str) -> Usage {
        Usage {
            input_tokens: raw[input].as_u64(),
            output_tokens: raw[output].as_u64(),
            total_tokens: raw[total].as_u64(),
            cost: None,
            raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub amount: f64,
    pub currency: String,
}

/// A chat request whose answer must be one JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: Option<String>,
    pub system: String,
    pub user: String,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// How many answers to ask for in total before giving up (the first plus re-asks).
    pub max_attempts: u32,
}

impl ChatRequest {
    pub fn new(system: impl Into<String>, user: impl Into<String>) -> Self {
        ChatRequest {
            model: None,
            system: system.into(),
            user: user.into(),
            max_tokens: None,
            temperature: None,
            max_attempts: 3,
        }
    }
}

/// The caller's validation of a chat answer: `Err` carries a message the model can act on
/// ("shots[3].duration_ms must be a number"), which is sent back to it on a re-ask.
pub type JsonCheck<'a> = dyn Fn(&Value) -> std::result::Result<(), String> + Send + Sync + 'a;

#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub value: Value,
    pub model: String,
    /// How many answers it took (1 when the first was valid).
    pub attempts: u32,
    /// True when the accepted answer needed local repair (code fences, trailing commas...).
    pub repaired: bool,
    pub usage: Option<Usage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_in_each_providers_spelling() {
        assert_eq!(Size::HD.closest_label(&["1:1", "16:9", "9:16"]), "16:9");
        assert_eq!(
            Size::new(720, 1280).closest_label(&["1280x720", "720x1280"]),
            "720x1280"
        );
        assert_eq!(
            Size::new(1000, 1000).closest_label(&["1664*928", "1328*1328"]),
            "1328*1328"
        );
        // A label that names no size is never chosen.
        assert_eq!(Size::HD.closest_label(&["wide", "1:1"]), "1:1");
        assert_eq!(Size::HD.closest_label(&["wide"]), "auto");
    }
}
