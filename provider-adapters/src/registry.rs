//! Every provider this crate knows, as data, and the one factory that builds an adapter from a
//! name, a key and a base URL (as object_store keeps its URL-to-backend factory in the
//! library). Each adapter module declares its own [`ProviderSpec`] (`SPEC`) beside its code,
//! and the adapter answers [`GenerationProvider::operations`] from it, so that what a catalog
//! says a provider can do and what the adapter accepts cannot drift apart.

use api_types::JobKind;
use url::Url;

use crate::{
    Error, GenerationProvider, Operation, ReferenceImage, Result, Secret, comfyui, dashscope, fal,
    gemini, kling, offline, openai_chat, openai_images, openai_videos, replicate, runway,
};

/// What one provider is and can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderSpec {
    /// The name jobs, keys and provenance use: `offline`, `openai-images`, `kling`, ...
    pub name: &'static str,
    pub operations: &'static [Operation],
    /// How many reference images one request can carry (0: none); the adapter sends at most
    /// this many.
    pub max_references: u32,
    /// Whether a clip can be pinned to a first and a last frame (the second reference image).
    pub first_last_frame: bool,
    /// The default models, the default first. Model names are data: a request may name others.
    pub models: &'static [&'static str],
    /// False for the built-in renderer and a local ComfyUI.
    pub needs_key: bool,
    /// Where the API is served when no base URL is configured; `None` for the offline
    /// renderer, which has no API.
    pub default_base_url: Option<&'static str>,
}

impl ProviderSpec {
    /// A provider behind an HTTP API that needs a key; the `with_*` methods say what it can do.
    pub const fn hosted(
        name: &'static str,
        default_base_url: &'static str,
        models: &'static [&'static str],
    ) -> Self {
        ProviderSpec {
            name,
            operations: &[],
            max_references: 0,
            first_last_frame: false,
            models,
            needs_key: true,
            default_base_url: Some(default_base_url),
        }
    }

    /// A provider built into this crate: no API, no key.
    pub const fn builtin(name: &'static str, models: &'static [&'static str]) -> Self {
        ProviderSpec {
            default_base_url: None,
            needs_key: false,
            ..ProviderSpec::hosted(name, "", models)
        }
    }

    pub const fn with_operations(mut self, operations: &'static [Operation]) -> Self {
        self.operations = operations;
        self
    }

    pub const fn with_references(mut self, max_references: u32) -> Self {
        self.max_references = max_references;
        self
    }

    pub const fn with_first_last_frame(mut self) -> Self {
        self.first_last_frame = true;
        self
    }

    /// A local server that takes no key (ComfyUI).
    pub const fn without_key(mut self) -> Self {
        self.needs_key = false;
        self
    }

    pub fn supports(&self, operation: Operation) -> bool {
        self.operations.contains(&operation)
    }

    /// [`Error::NotSupported`] for an operation the provider cannot do.
    pub(crate) fn check(&self, operation: Operation) -> Result<()> {
        if self.supports(operation) {
            Ok(())
        } else {
            Err(Error::not_supported(self.name, operation.as_str()))
        }
    }

    /// Whether its operations can make a job of this kind: a frame from a prompt or an edit,
    /// a clip from a prompt or a first frame, a character sheet from a prompt alone (nothing
    /// to start from yet), a breakdown from a JSON chat.
    pub fn can_make(&self, kind: JobKind) -> bool {
        let can = |ops: &[Operation]| ops.iter().any(|o| self.supports(*o));
        match kind {
            JobKind::Frame => can(&[Operation::TextToImage, Operation::ImageEdit]),
            JobKind::Clip => can(&[Operation::TextToVideo, Operation::ImageToVideo]),
            JobKind::CharacterSheet => self.supports(Operation::TextToImage),
            JobKind::Breakdown => self.supports(Operation::ChatJson),
        }
    }

    /// The reference images an adapter sends: the first [`max_references`](Self::max_references).
    pub fn references<'r>(&self, references: &'r [ReferenceImage]) -> &'r [ReferenceImage] {
        let max = usize::try_from(self.max_references).unwrap_or(usize::MAX);
        &references[..references.len().min(max)]
    }

    /// The job kinds it can make, in [`JobKind::ALL`] order.
    pub fn kinds(&self) -> Vec<JobKind> {
        JobKind::ALL
            .iter()
            .copied()
            .filter(|k| self.can_make(*k))
            .collect()
    }

    /// Makes frames or clips (every provider but the breakdown chat).
    pub const fn generates(&self) -> bool {
        let mut i = 0;
        while i < self.operations.len() {
            if !matches!(self.operations[i], Operation::ChatJson) {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// Every provider, the built-in offline renderer first.
pub const ALL: &[&ProviderSpec] = &[
    &offline::SPEC,
    &openai_images::SPEC,
    &openai_videos::SPEC,
    &gemini::SPEC,
    &comfyui::SPEC,
    &kling::SPEC,
    &runway::SPEC,
    &dashscope::SPEC,
    &fal::SPEC,
    &replicate::SPEC,
    &openai_chat::SPEC,
];

/// The providers that make frames and clips, offline first (a `const`, for callers that keep
/// a `&[&str]`).
pub const GENERATION_NAMES: [&str; count(true)] = names(true);
/// The providers that break scripts down (OpenAI-compatible chat).
pub const CHAT_NAMES: [&str; count(false)] = names(false);

const fn count(generation: bool) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < ALL.len() {
        if ALL[i].generates() == generation {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn names<const N: usize>(generation: bool) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < ALL.len() {
        if ALL[i].generates() == generation {
            out[n] = ALL[i].name;
            n += 1;
        }
        i += 1;
    }
    out
}

/// The provider of that name.
pub fn spec(name: &str) -> Option<&'static ProviderSpec> {
    ALL.iter().copied().find(|s| s.name == name)
}

/// Every provider's name, for error messages.
pub fn known_names() -> String {
    ALL.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// Builds the adapter for `name` with the provider's defaults, `key` (required where the
/// provider needs one; Kling's is `ACCESS_KEY:SECRET_KEY`) and, if given, a base URL in place
/// of the provider's own. Building never touches the network.
pub fn build(
    name: &str,
    key: Option<Secret>,
    base_url: Option<&Url>,
) -> Result<Box<dyn GenerationProvider>> {
    let spec = spec(name).ok_or_else(|| {
        Error::Config(format!(
            "unknown provider {name:?} (known: {})",
            known_names()
        ))
    })?;
    let key = key.filter(|k| !k.is_empty());
    let key = match (key, spec.needs_key) {
        (Some(key), _) => key,
        (None, false) => Secret::default(),
        (None, true) => return Err(Error::Config(format!("{name} needs a key"))),
    };
    let url = base_url
        .map(Url::to_string)
        .or_else(|| spec.default_base_url.map(str::to_owned))
        .unwrap_or_default();
    Ok(match spec.name {
        offline::PROVIDER => Box::new(offline::OfflineRenderer::new(
            offline::OfflineConfig::default(),
        )),
        openai_images::PROVIDER => Box::new(openai_images::OpenAiImages::new(
            openai_images::OpenAiImagesConfig {
                base_url: url,
                ..openai_images::OpenAiImagesConfig::new(key)
            },
        )?),
        openai_videos::PROVIDER => Box::new(openai_videos::OpenAiVideos::new(
            openai_videos::OpenAiVideosConfig::new(url, key),
        )?),
        gemini::PROVIDER => Box::new(gemini::Gemini::new(gemini::GeminiConfig {
            base_url: url,
            ..gemini::GeminiConfig::new(key)
        })?),
        comfyui::PROVIDER => Box::new(comfyui::ComfyUi::new(comfyui::ComfyUiConfig {
            base_url: url,
            ..comfyui::ComfyUiConfig::default()
        })?),
        kling::PROVIDER => {
            // Kling signs requests with two keys, stored together.
            let (access, secret) = key.expose().split_once(':').ok_or_else(|| {
                Error::Config("a kling key is stored as ACCESS_KEY:SECRET_KEY".into())
            })?;
            Box::new(kling::Kling::new(kling::KlingConfig {
                base_url: url,
                ..kling::KlingConfig::new(access, secret)
            })?)
        }
        runway::PROVIDER => Box::new(runway::Runway::new(runway::RunwayConfig {
            base_url: url,
            ..runway::RunwayConfig::new(key)
        })?),
        dashscope::PROVIDER => Box::new(dashscope::DashScope::new(dashscope::DashScopeConfig {
            base_url: url,
            ..dashscope::DashScopeConfig::new(key)
        })?),
        fal::PROVIDER => Box::new(fal::Fal::new(fal::FalConfig {
            base_url: url,
            ..fal::FalConfig::new(key)
        })?),
        replicate::PROVIDER => Box::new(replicate::Replicate::new(replicate::ReplicateConfig {
            base_url: url,
            ..replicate::ReplicateConfig::new(key)
        })?),
        // The default model list is DeepSeek's; a request names another model freely
        // (Ollama's `qwen2.5`, Qwen's `qwen-plus`), since model names are data.
        openai_chat::PROVIDER => Box::new(openai_chat::OpenAiChat::new(
            openai_chat::OpenAiChatConfig::new(url, key),
        )?),
        other => {
            return Err(Error::Config(format!(
                "provider {other:?} has a spec but no adapter"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key every provider accepts the shape of.
    fn key() -> Option<Secret> {
        Some(Secret::new("access:secret"))
    }

    #[test]
    fn every_spec_builds_an_adapter_that_agrees_with_it() -> Result<()> {
        for spec in ALL {
            let adapter = build(spec.name, key(), None)?;
            // The factory builds the adapter the name stands for, with the spec's models.
            assert_eq!(adapter.spec(), *spec);
            let models: Vec<&str> = adapter.models().iter().map(String::as_str).collect();
            assert_eq!(models, spec.models, "{}", spec.name);
            assert!(!spec.models.is_empty() && !spec.kinds().is_empty());
            // The last frame travels as the second reference.
            assert!(!spec.first_last_frame || spec.max_references >= 2);
        }
        Ok(())
    }

    #[test]
    fn names_are_unique_and_split_into_generation_and_chat() {
        let mut names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(GENERATION_NAMES[0], "offline");
        assert_eq!(CHAT_NAMES, ["openai-chat"]);
        assert_eq!(GENERATION_NAMES.len() + CHAT_NAMES.len(), ALL.len());
        assert!(
            GENERATION_NAMES
                .iter()
                .all(|n| spec(n).is_some_and(|s| s.generates()))
        );
    }

    #[test]
    fn kinds_follow_operations() {
        let kinds = |name: &str| spec(name).map(ProviderSpec::kinds).unwrap_or_default();
        use JobKind::{Breakdown, CharacterSheet, Clip, Frame};
        assert_eq!(kinds("offline"), [Frame, CharacterSheet]);
        assert_eq!(kinds("kling"), [Clip]);
        assert_eq!(kinds("runway"), [Clip]);
        assert_eq!(kinds("dashscope"), [Frame, Clip, CharacterSheet]);
        assert_eq!(kinds("openai-chat"), [Breakdown]);
    }

    #[test]
    fn a_base_url_replaces_the_default_and_keys_are_checked() {
        let url = Url::parse("http://127.0.0.1:9/v1").ok();
        let adapter = build("openai-images", key(), url.as_ref());
        assert!(
            format!("{adapter:?}").contains("127.0.0.1:9"),
            "{adapter:?}"
        );
        assert!(matches!(
            build("kling", Some(Secret::new("no-colon")), None),
            Err(Error::Config(m)) if m.contains("ACCESS_KEY:SECRET_KEY")
        ));
        assert!(matches!(
            build("gemini", None, None),
            Err(Error::Config(m)) if m == "gemini needs a key"
        ));
        assert!(build("offline", None, None).is_ok());
        assert!(build("comfyui", Some(Secret::default()), None).is_ok());
        assert!(matches!(build("sora", key(), None), Err(Error::Config(_))));
    }
}
