//! Which providers the runner knows and what it offers of them (from the adapters' own
//! registry), how their adapters are built (the registry's factory with the configured base URL
//! and the project's own key), and what their outputs cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::{ProviderInfo, ProviderList};
use provider_adapters::registry::{self, ProviderSpec};
use provider_adapters::{ConcurrencyLimit, GenerationProvider, Retry, RetryConfig, Secret};
use serde::Deserialize;
use url::Url;

use super::JobKind;

/// Every provider a generation job may name, the built-in renderer first. The names and
/// everything else about the providers are the adapters' own data
/// (`provider_adapters::registry`).
pub const PROVIDERS: &[&str] = &registry::GENERATION_NAMES;

/// Providers an LLM breakdown may name: OpenAI-compatible chat, whose base URL decides
/// whether it is DeepSeek, Qwen's compatible mode, a local Ollama or vLLM. They make no
/// frames or clips, so they are not among [`PROVIDERS`].
pub const CHAT_PROVIDERS: &[&str] = &registry::CHAT_NAMES;

/// The most reference images (character sheets) the runner attaches to one frame request,
/// whatever the provider could take: each one is a download from the asset store and an
/// upload to the provider.
pub const MAX_REFERENCES: u32 = 4;

/// A provider that may have a key and a base URL: a generation or a chat provider.
pub fn is_known(provider: &str) -> bool {
    registry::spec(provider).is_some()
}

/// Every known provider's name, for error messages.
pub fn known_names() -> String {
    registry::known_names()
}

/// Whether a job for this provider needs the project's key: all but the built-in renderer
/// and a local ComfyUI (and, to be safe, any name the registry does not know).
pub fn needs_key(provider: &str) -> bool {
    registry::spec(provider).is_none_or(|s| s.needs_key)
}

/// Settings shared by every adapter the runner builds.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Base URL overrides by provider name.
    pub urls: HashMap<String, Url>,
    pub retry: RetryConfig,
    /// Calls in flight to one provider for one project.
    pub max_in_flight: usize,
}

impl ProviderSettings {
    /// Parses `name=url` pairs; unknown provider names and unreadable URLs are configuration
    /// errors at start-up, so a typo does not silently send jobs to the public API or fail
    /// every job later.
    pub fn parse_urls(pairs: &[String]) -> crate::Result<HashMap<String, Url>> {
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
            let url = Url::parse(url.trim()).map_err(|e| {
                crate::Error::Config(format!("provider url for {name} is not a url: {e}"))
            })?;
            urls.insert(name.to_owned(), url);
        }
        Ok(urls)
    }
}

/// The providers a job may name, with what each can make here, for `GET /api/providers`:
/// the registry's capabilities, narrowed to what this server does with them (it attaches at
/// most [`MAX_REFERENCES`] references), the offline renderer first. The server's settings do
/// not enter: a base URL changes where a provider is reached, not what it can do.
pub fn catalog() -> ProviderList {
    let providers = PROVIDERS
        .iter()
        .filter_map(|name| registry::spec(name))
        .map(info)
        .collect();
    ProviderList { providers }
}

fn info(spec: &ProviderSpec) -> ProviderInfo {
    ProviderInfo {
        name: spec.name.to_owned(),
        // Breakdowns run through their own endpoint, never as a generation job.
        kinds: spec
            .kinds()
            .into_iter()
            .filter(|k| *k != JobKind::Breakdown)
            .collect(),
        needs_key: spec.needs_key,
        models: spec.models.iter().map(|m| (*m).to_owned()).collect(),
        max_references: spec.max_references.min(MAX_REFERENCES),
        first_last_frame: spec.first_last_frame,
    }
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
        let adapter = registry::build(
            provider,
            Some(key).filter(|k| !k.is_empty()),
            self.settings.urls.get(provider),
        )?;
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
    /// `character-sheet` in the table is read as [`JobKind::CharacterSheet`] too.
    kind: JobKind,
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

/// The kind as the API names it and the job row stores it ([`JobKind::as_str`]; rows written
/// before said `character-sheet`, which [`parse_kind`] still reads).
pub fn kind_name(kind: JobKind) -> &'static str {
    kind.as_str()
}

pub fn parse_kind(s: &str) -> Option<JobKind> {
    s.parse().ok()
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
    use provider_adapters::Operation;

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
        // The table says `character-sheet`; the kind's wire name is `character_sheet`.
        assert_eq!(
            prices.price("openai-images", None, JobKind::CharacterSheet),
            0.063
        );
        assert_eq!(prices.price("gemini", None, JobKind::CharacterSheet), 0.039);
    }

    #[test]
    fn kinds_read_both_spellings_and_write_the_wire_name() {
        assert_eq!(parse_kind("character-sheet"), Some(JobKind::CharacterSheet));
        assert_eq!(parse_kind("character_sheet"), Some(JobKind::CharacterSheet));
        assert_eq!(kind_name(JobKind::CharacterSheet), "character_sheet");
        assert_eq!(parse_kind("sketch"), None);
    }

    fn settings() -> ProviderSettings {
        ProviderSettings {
            urls: HashMap::new(),
            retry: RetryConfig::default(),
            max_in_flight: 1,
        }
    }

    #[test]
    fn the_catalog_lists_every_generation_provider_offline_first() {
        let list = catalog().providers;
        let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, PROVIDERS);
        assert_eq!(names[0], "offline");
        assert!(!names.contains(&"openai-chat"));
        let get = |name: &str| list.iter().find(|p| p.name == name).cloned();
        let offline = get("offline").expect("listed");
        assert_eq!(offline.kinds, [JobKind::Frame, JobKind::CharacterSheet]);
        assert!(!offline.needs_key && offline.max_references == 0);
        assert_eq!(offline.models, ["storyboard-sketch-v1"]);
        let kling = get("kling").expect("listed");
        assert_eq!(kling.kinds, [JobKind::Clip]);
        assert!(kling.needs_key && kling.first_last_frame);
        assert_eq!(kling.models.first().map(String::as_str), Some("kling-v2-1"));
        let dashscope = get("dashscope").expect("listed");
        assert_eq!(
            dashscope.kinds,
            [JobKind::Frame, JobKind::Clip, JobKind::CharacterSheet]
        );
        // openai-images takes 16 references; the runner attaches at most four.
        assert_eq!(get("openai-images").map(|p| p.max_references), Some(4));
        assert_eq!(get("replicate").map(|p| p.max_references), Some(1));
        assert!(!get("comfyui").expect("listed").needs_key);
        assert!(
            list.iter()
                .all(|p| !p.kinds.is_empty() && !p.models.is_empty())
        );
    }

    #[test]
    fn operations_and_keys_come_from_the_registry() {
        let ops = registry::spec("runway").map(|s| s.operations);
        assert_eq!(ops, Some(&[Operation::ImageToVideo][..]));
        assert!(registry::spec("nope").is_none());
        assert!(needs_key("kling") && needs_key("openai-chat") && needs_key("nope"));
        assert!(!needs_key("comfyui"));
        assert!(is_known("openai-chat") && !is_known("sora"));
        assert_eq!(CHAT_PROVIDERS, ["openai-chat"]);
    }

    #[test]
    fn a_configured_url_reaches_the_adapter() -> provider_adapters::Result<()> {
        let mut settings = settings();
        settings.urls =
            ProviderSettings::parse_urls(&["openai-images=http://127.0.0.1:9/v1".into()])
                .map_err(|e| provider_adapters::Error::Config(e.to_string()))?;
        let cache = AdapterCache::new(settings);
        let adapter = cache.insert("p", "openai-images", Secret::new("sk-test"))?;
        assert!(
            format!("{adapter:?}").contains("127.0.0.1:9"),
            "{adapter:?}"
        );
        assert!(cache.cached("p", "openai-images").is_some());
        // No key where one is needed is a configuration error, not a request without one.
        assert!(cache.insert("p", "gemini", Secret::default()).is_err());
        assert!(cache.insert("p", "offline", Secret::default()).is_ok());
        Ok(())
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
        assert!(ProviderSettings::parse_urls(&["comfyui=not a url".into()]).is_err());
        assert!(needs_key("openai-images") && !needs_key("offline"));
    }
}
