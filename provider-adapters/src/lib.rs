//! Shotweave's generation providers behind one small trait.
//!
//! [`GenerationProvider`] is modelled on `object_store::ObjectStore`: a small object-safe
//! trait, one module per provider, a `*Config` per adapter with a configurable base URL and
//! its model list as data, and one [`Error`] taxonomy that every adapter maps its provider's
//! wire errors into. Jobs are submit/poll: [`GenerationProvider::submit`] returns a
//! [`TaskId`] to persist, and [`GenerationProvider::poll`] resumes from it after a restart
//! without submitting (and paying) again. Synchronous providers complete inside `submit`.
//!
//! - [`offline`]: the built-in renderer, the embedded default (no key, no network).
//! - [`openai_images`], [`openai_videos`], [`gemini`], [`comfyui`], [`kling`], [`runway`],
//!   [`dashscope`], [`fal`], [`replicate`]: image and video providers.
//! - [`openai_chat`]: OpenAI-compatible chat (DeepSeek, Qwen, Ollama, vLLM) in JSON mode, with
//!   validation, repair and re-asking.
//! - [`registry`]: every provider's [`ProviderSpec`] (operations, references, first/last frame,
//!   models, key, base URL) as data, and `registry::build`, the one factory from a name, a key
//!   and a base URL.
//! - [`Retry`] and [`ConcurrencyLimit`] are decorators implementing the same trait.
//! - [`fake`] (feature `test-support`): a wire-compatible fake server per adapter, with fault
//!   injection, for this crate's conformance suite and for the job runner's tests.
//!
//! Credentials are [`Secret`]s: they never appear in `Debug` output, and every adapter scrubs
//! them from anything it reports.

mod error;
mod http;
mod limit;
mod openai_wire;
mod provider;
mod retry;
mod types;

pub mod comfyui;
pub mod dashscope;
pub mod fal;
pub mod gemini;
pub mod kling;
pub mod offline;
pub mod openai_chat;
pub mod openai_images;
pub mod openai_videos;
pub mod registry;
pub mod replicate;
pub mod runway;

#[cfg(feature = "test-support")]
pub mod fake;

pub use error::{Error, ErrorClass, Result};
pub use http::{Secret, Timeouts};
pub use limit::ConcurrencyLimit;
pub use provider::{Generation, GenerationProvider, generate};
pub use registry::ProviderSpec;
pub use retry::{Retry, RetryConfig};
pub use types::{
    ChatRequest, ChatResponse, Cost, GenerationRequest, JsonCheck, Operation, Output, OutputKind,
    OutputRef, OutputSource, Provenance, ReferenceImage, ShotSketch, Size, SketchCharacter,
    TaskHandle, TaskId, TaskStatus, Usage,
};
