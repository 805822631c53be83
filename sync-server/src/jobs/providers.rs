//! Which providers the runner knows, how their adapters are built (configured base URL plus
//! the project's own key), and what their outputs cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use provider_adapters::{
    ConcurrencyLimit, GenerationProvider, Operation, Retry, RetryConfig, Secret, comfyui,
    dashscope, fal, gemini, kling, offline, openai_chat, openai_images, openai_videos, replicate,
    runway,
};
use serde::Deserialize;

use super::JobKind;

/// Every provider a generation job may name.
pub const PROVIDERS: &[&str] = &[
    offline::PROVIDER,
    openai_images::PROVIDER,
    openai_videos::PROVIDER,
    gemini::PROVIDER,
    comfyui::PROVIDER,
    kling::PROVIDER,
    runway::PROVIDER,
    dashscope::PROVIDER,
    fal::PROVIDER,
    replicate::PROVIDER,
];

/// Providers an LLM breakdown may name: OpenAI-compatible chat, whose base URL decides
/// whether it is DeepSeek, Qwen's compatible mode, a local Ollama or vLLM. They make no
/// frames or clips, so they are not among [`PROVIDERS`].
pub const CHAT_PROVIDERS: &[&str] = &[openai_chat::PROVIDER];

/// A provider that may have a key and a base URL: a generation or a chat provider.
pub fn is_known(provider: &str) -> bool {
    PROVIDERS.contains(&provider) || CHAT_PROVIDERS.contains(&provider)
}

/// Every known provider's name, for error messages.
pub fn known_names() -> String {
    PROVIDERS
        .iter()
        .chain(CHAT_PROVIDERS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

/// Providers that work without a key: the built-in renderer and a local ComfyUI.
pub fn needs_key(provider: &str) -> bool {
    !matches!(provider, offline::PROVIDER | comfyui::PROVIDER)
}

/// Where the OpenAI-videos shape is served when no base URL is configured.
const OPENAI_VIDEOS_DEFAULT: &str = "https://api.openai.com/v1";

/// Settings shared by every adapter the runner builds.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Base URL overrides by provider name.
    pub urls: HashMap<String, String>,
    pub retry: RetryConfig,
    /// Calls in flight to one provider for one project.
    pub max_in_flight: usize,
}

impl ProviderSettings {
    /// Parses `name=url` pairs; unknown provider names are a configuration error, so a typo
    /// does not silently send jobs to the public API.
    pub fn parse_urls(pairs: &[String]) -> crate::Result<HashMap<String, String>> {
        let mut urls = HashMap::new();
        for pair in pairs.iter().filter(|p| !p.trim().is_empty()) {
            let (name, url) = pair.split_once('=').ok_or_else(|| {
                crate::Error::Config(format!("provider url {pair:?} is not NAME=URL"))
            })?;
            let name = name.trim();
            if !is_known(name) {
                return Err(crate::Error::Config(format!(
                    "unknown provider {name:?} in provider urls (known: {})",
                    known_names()
                )));
            }
            urls.insert(name.to_owned(), url.trim().to_owned());
        }
        Ok(urls)
    }
}

/// Builds one provider's adapter with `key` (ignored by providers that need none).
fn build(
    settings: &ProviderSettings,
    provider: &str,
    key: Secret,
) -> provider_adapters::Result<Box<dyn GenerationProvider>> {
    let url = settings.urls.get(provider).cloned();
    Ok(match provider {
        offline::PROVIDER => Box::new(offline::OfflineRenderer::new(
            offline::OfflineConfig::default(),
        )),
        openai_images::PROVIDER => {
            let mut c = openai_images::OpenAiImagesConfig::new(key);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(openai_images::OpenAiImages::new(c)?)
        }
        openai_videos::PROVIDER => Box::new(openai_videos::OpenAiVideos::new(
            openai_videos::OpenAiVideosConfig::new(
                url.unwrap_or_else(|| OPENAI_VIDEOS_DEFAULT.into()),
                key,
            ),
        )?),
        gemini::PROVIDER => {
            let mut c = gemini::GeminiConfig::new(key);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(gemini::Gemini::new(c)?)
        }
        comfyui::PROVIDER => {
            let mut c = comfyui::ComfyUiConfig::default();
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(comfyui::ComfyUi::new(c)?)
        }
        kling::PROVIDER => {
            // Kling signs requests with two keys, stored together as `access:secret`.
            let (access, secret) = key.expose().split_once(':').ok_or_else(|| {
                provider_adapters::Error::Config(
                    "a kling key is stored as ACCESS_KEY:SECRET_KEY".into(),
                )
            })?;
            let mut c = kling::KlingConfig::new(access, secret);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(kling::Kling::new(c)?)
        }
        runway::PROVIDER => {
            let mut c = runway::RunwayConfig::new(key);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(runway::Runway::new(c)?)
        }
        dashscope::PROVIDER => {
            let mut c = dashscope::DashScopeConfig::new(key);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(dashscope::DashScope::new(c)?)
        }
        fal::PROVIDER => {
            let mut c = fal::FalConfig::new(key);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(fal::Fal::new(c)?)
        }
        replicate::PROVIDER => {
            let mut c = replicate::ReplicateConfig::new(key);
            if let Some(url) = url {
                c.base_url = url;
            }
            Box::new(replicate::Replicate::new(c)?)
        }
        openai_chat::PROVIDER => {
            // The default model list is DeepSeek's; a request names another model freely
            // (Ollama's `qwen2.5`, Qwen's `qwen-plus`), since model names are data.
            let c = openai_chat::OpenAiChatConfig::new(
                url.unwrap_or_else(|| openai_chat::DEFAULT_BASE_URL.into()),
                key,
            );
            Box::new(openai_chat::OpenAiChat::new(c)?)
        }
        other => {
            return Err(provider_adapters::Error::Config(format!(
                "unknown provider {other:?}"
            )));
        }
    })
}

/// What a provider can do, read from its adapter (built with a placeholder key; building
/// never touches the network).
pub fn operations(settings: &ProviderSettings, provider: &str) -> Vec<Operation> {
    build(settings, provider, Secret::new("placeholder:placeholder"))
        .map(|p| p.operations().to_vec())
        .unwrap_or_default()
}

type Adapter = Arc<dyn GenerationProvider>;

/// Built adapters, each wrapped as `Retry(ConcurrencyLimit(adapter))` so backoff sleeps do not
/// hold a permit.
#[derive(Debug)]
pub struct AdapterCache {
    settings: ProviderSettings,
    /// Adapters by (project, provider). Guards lookups and inserts only; an entry is dropped
    /// when the project's key for that provider changes.
    adapters: Mutex<HashMap<(String, String), Adapter>>,
}

impl AdapterCache {
    pub fn new(settings: ProviderSettings) -> Self {
        Self {
            settings,
            adapters: Mutex::default(),
        }
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Adapter>> {
        self.adapters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn cached(&self, project: &str, provider: &str) -> Option<Adapter> {
        self.lock()
            .get(&(project.to_owned(), provider.to_owned()))
            .cloned()
    }

    pub fn insert(
        &self,
        project: &str,
        provider: &str,
        key: Secret,
    ) -> provider_adapters::Result<Adapter> {
        let adapter = build(&self.settings, provider, key)?;
        let wrapped: Adapter = Arc::new(Retry::new(
            ConcurrencyLimit::new(adapter, self.settings.max_in_flight),
            self.settings.retry,
        ));
        self.lock()
            .insert((project.to_owned(), provider.to_owned()), wrapped.clone());
        Ok(wrapped)
    }

    pub fn forget(&self, project: &str, provider: &str) {
        self.lock()
            .remove(&(project.to_owned(), provider.to_owned()));
    }
}

#[derive(Debug, Deserialize)]
struct PriceTable {
    version: String,
    prices: Vec<Price>,
    #[serde(default)]
    token_prices: Vec<TokenPrice>,
}

/// A chat model's list price by the million tokens.
#[derive(Debug, Deserialize)]
struct TokenPrice {
    provider: String,
    model: String,
    input_usd_per_million: f64,
    output_usd_per_million: f64,
}

#[derive(Debug, Deserialize)]
struct Price {
    provider: String,
    #[serde(default)]
    model: Option<String>,
    kind: String,
    usd: f64,
}

/// The list prices in `prices.json`, versioned: the version is recorded with every ledger
/// entry priced from it.
#[derive(Debug)]
pub struct Prices {
    table: PriceTable,
}

impl Prices {
    pub fn builtin() -> Self {
        // The table is part of the binary and checked by a unit test, so it always parses.
        let table = serde_json::from_str(include_str!("prices.json")).unwrap_or(PriceTable {
            version: "empty".into(),
            prices: Vec::new(),
            token_prices: Vec::new(),
        });
        Prices { table }
    }

    pub fn version(&self) -> &str {
        &self.table.version
    }

    /// The list price of one output; a model-specific entry wins over the provider's.
    /// Unknown combinations cost nothing here: the budget then relies on provider-reported
    /// usage.
    pub fn price(&self, provider: &str, model: Option<&str>, kind: JobKind) -> f64 {
        let kind = kind_name(kind);
        let matches = |p: &&Price| p.provider == provider && p.kind == kind;
        model
            .and_then(|m| {
                self.table
                    .prices
                    .iter()
                    .filter(matches)
                    .find(|p| p.model.as_deref() == Some(m))
            })
            .or_else(|| {
                self.table
                    .prices
                    .iter()
                    .filter(matches)
                    .find(|p| p.model.is_none())
            })
            .map_or(0.0, |p| p.usd)
    }

    /// What `input` and `output` tokens of `model` cost at its list price. A model the table
    /// does not list (a local Ollama's, say) costs nothing: no rate is better than a wrong one.
    pub fn tokens(&self, provider: &str, model: &str, input: u64, output: u64) -> f64 {
        self.table
            .token_prices
            .iter()
            .find(|p| p.provider == provider && p.model == model)
            .map_or(0.0, |p| {
                (input as f64 * p.input_usd_per_million + output as f64 * p.output_usd_per_million)
                    / 1e6
            })
    }
}

/// The kind as the API names it and the job row stores it.
pub fn kind_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Frame => "frame",
        JobKind::Clip => "clip",
        JobKind::Breakdown => "breakdown",
        JobKind::CharacterSheet => "character-sheet",
    }
}

pub fn parse_kind(s: &str) -> Option<JobKind> {
    match s {
        "frame" => Some(JobKind::Frame),
        "clip" => Some(JobKind::Clip),
        "breakdown" => Some(JobKind::Breakdown),
        "character-sheet" | "character_sheet" => Some(JobKind::CharacterSheet),
        _ => None,
    }
}

/// Retry settings for adapters: `base` is the first backoff.
pub fn retry_config(base: Duration, max_retries: u32) -> RetryConfig {
    RetryConfig {
        max_retries,
        base_delay: base,
        max_delay: (base * 60).max(Duration::from_millis(10)),
        ..RetryConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_table_parses_and_prefers_model_prices() {
        let prices = Prices::builtin();
        assert_ne!(prices.version(), "empty");
        assert_eq!(prices.price("offline", None, JobKind::Frame), 0.0);
        let default = prices.price("openai-images", None, JobKind::Frame);
        let mini = prices.price("openai-images", Some("gpt-image-1-mini"), JobKind::Frame);
        assert!(default > mini && mini > 0.0);
        assert_eq!(
            prices.price("openai-images", Some("gpt-image-9"), JobKind::Frame),
            default
        );
    }

    #[test]
    fn chat_tokens_are_priced_by_model_and_unknown_models_cost_nothing() {
        let prices = Prices::builtin();
        let million_in = prices.tokens("openai-chat", "deepseek-chat", 1_000_000, 0);
        let million_out = prices.tokens("openai-chat", "deepseek-chat", 0, 1_000_000);
        assert!(million_in > 0.0 && million_out > 0.0);
        let both = prices.tokens("openai-chat", "deepseek-chat", 1_000_000, 1_000_000);
        assert!((both - million_in - million_out).abs() < 1e-12);
        assert_eq!(
            prices.tokens("openai-chat", "llama3.1:8b", 1_000_000, 1_000_000),
            0.0
        );
        assert_eq!(prices.tokens("gemini", "deepseek-chat", 1_000_000, 0), 0.0);
        // Every chat model the adapter uses by default has a price.
        for model in provider_adapters::openai_chat::DEFAULT_MODELS {
            assert!(
                prices.tokens("openai-chat", model, 1_000, 1_000) > 0.0,
                "{model}"
            );
        }
    }

    #[test]
    fn urls_name_known_providers() {
        assert!(ProviderSettings::parse_urls(&["comfyui=http://x:8188".into()]).is_ok());
        assert!(
            ProviderSettings::parse_urls(&["openai-chat=http://127.0.0.1:11434/v1".into()]).is_ok()
        );
        assert!(ProviderSettings::parse_urls(&["comfy=http://x".into()]).is_err());
        assert!(ProviderSettings::parse_urls(&["nourl".into()]).is_err());
        assert!(needs_key("openai-images") && !needs_key("offline"));
    }
}
