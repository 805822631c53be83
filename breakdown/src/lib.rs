//! Novel in, storyboard out.
//!
//! 1. [`import`] turns the bytes of a `.txt`/`.md` novel or a Fountain screenplay (UTF-8 with or
//!    without BOM, UTF-16, GBK/GB18030, ...) into a clean [`Novel`]: the script text with stray
//!    HTML and replacement glyphs removed, split into chapters.
//! 2. [`offline`] splits a novel into scenes, shots and characters with deterministic
//!    heuristics that work for Chinese and English: scene breaks from chapter headings, break
//!    lines and time/place cues; shots from sentences and dialogue; characters from naming
//!    patterns and dialogue attributions, with aliases merged.
//!    [`llm`] does the same through a language model, validating every answer.
//! 3. [`apply`] writes a [`Breakdown`] into a [`shared_model::Project`], anchoring every scene to
//!    its range of the script.
//!
//! Everything here is pure computation (bytes in, values out), so the server, the CLI and a
//! browser could run it alike.

mod apply;
mod characters;
mod clean;
mod decode;
mod fountain;
mod import;
pub mod llm;
pub mod offline;
mod text;

use std::ops::Range;

use serde::{Deserialize, Serialize};

pub use apply::{Applied, apply, apply_plan};
pub use import::{ImportOptions, import, novel_from_script};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the import limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("the file does not look like text ({0})")]
    NotText(String),
    #[error("the file contains no story text after cleaning")]
    NoText,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Zh,
    En,
}

impl Language {
    pub fn tag(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    Prose,
    Fountain,
}

/// An imported, cleaned text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Novel {
    pub title: String,
    pub language: Language,
    pub format: SourceFormat,
    /// The encoding the bytes were decoded from, e.g. `UTF-8`, `UTF-16LE`, `GB18030`.
    pub encoding: String,
    /// The cleaned text that becomes the project's script.
    pub script: String,
    /// In order; byte ranges of `script`, covering it from the first heading to the end.
    pub chapters: Vec<Chapter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chapter {
    pub title: String,
    pub range: Range<usize>,
}

/// Scenes, shots and characters proposed for a novel (by [`offline`] or by an LLM).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub scenes: Vec<SceneDraft>,
    pub characters: Vec<CharacterDraft>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneDraft {
    pub title: String,
    pub chapter: String,
    /// Byte range of the novel's script this scene adapts.
    pub range: Range<usize>,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub time_of_day: String,
    pub shots: Vec<ShotDraft>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotDraft {
    pub description: String,
    #[serde(default)]
    pub dialogue: String,
    #[serde(default)]
    pub framing: String,
    pub duration_ms: u32,
    /// Character names (canonical names from [`Breakdown::characters`]).
    #[serde(default)]
    pub characters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharacterDraft {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub description: String,
}

impl Breakdown {
    pub fn shot_count(&self) -> usize {
        self.scenes.iter().map(|s| s.shots.len()).sum()
    }
}
