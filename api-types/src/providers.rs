//! What `GET /api/providers` says about each provider this server can run, for the studio's
//! provider picker and `shotweave`. The capabilities are the adapters' own data
//! (`provider_adapters`), narrowed by the server's configuration.

use serde::{Deserialize, Serialize};

use crate::jobs::JobKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// The name jobs and keys use: `offline`, `openai-images`, `kling`, ...
    pub name: String,
    /// What a generate request may ask of it here.
    pub kinds: Vec<JobKind>,
    /// False for the built-in renderer and a local ComfyUI.
    pub needs_key: bool,
    /// The models it offers, the default first.
    #[serde(default)]
    pub models: Vec<String>,
    /// How many reference images (e.g. character sheets) one request can carry; 0 = none.
    #[serde(default)]
    pub max_references: u32,
    /// Whether a clip can be pinned to a first and a last frame.
    #[serde(default)]
    pub first_last_frame: bool,
}

impl ProviderInfo {
    /// Whether a generate request may ask it for `kind`.
    pub fn makes(&self, kind: JobKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// `{"providers": [...]}`, the built-in offline renderer first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderList {
    pub providers: Vec<ProviderInfo>,
}
