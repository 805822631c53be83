//! Importing a novel, breaking a script down, and the media list of an export:
//! `POST /api/import`, `POST /api/projects/{id}/breakdown`, `GET .../export/media`.

use serde::{Deserialize, Serialize};

use crate::ids::{JobId, ProjectId};
use crate::jobs::JobStatus;

/// The answer to `POST /api/import`: the new project, an owner token, and what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    pub project_id: ProjectId,
    pub token: String,
    pub title: String,
    /// BCP 47 tag of the detected language (`en`, `zh`, ...).
    pub language: String,
    pub chapters: usize,
    pub scenes: usize,
    pub shots: usize,
    pub characters: usize,
}

/// How `POST /api/projects/{id}/breakdown` breaks the script down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakdownMode {
    /// The deterministic splitter, at once: answered with [`BrokenDown`].
    Offline,
    /// A chat model, as a job: answered with [`BreakdownQueued`].
    Llm,
}

/// `POST /api/projects/{id}/breakdown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRequest {
    pub mode: BreakdownMode,
    /// For `llm`: the chat provider (default `openai-chat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// For `llm`: the model (default: the provider's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// What an offline breakdown added to the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokenDown {
    pub scenes: usize,
    pub shots: usize,
    pub characters: usize,
}

/// The answer (202) to an LLM breakdown: the job to follow in `GET .../jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownQueued {
    pub job: JobId,
    pub status: JobStatus,
}

/// One selected take of `GET /api/projects/{id}/export/media`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaItem {
    pub sha256: String,
    /// Where the exports reference it, relative to the export directory (`media/<sha256>.png`).
    pub path: String,
}

/// `{"media": [...]}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaList {
    pub media: Vec<MediaItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakdown_requests_name_their_mode_and_leave_out_what_is_unset() {
        let offline = BreakdownRequest {
            mode: BreakdownMode::Offline,
            provider: None,
            model: None,
        };
        assert_eq!(
            serde_json::to_string(&offline).unwrap_or_default(),
            r#"{"mode":"offline"}"#
        );
        let llm: BreakdownRequest = serde_json::from_str(r#"{"mode":"llm","model":"qwen-plus"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(llm.mode, BreakdownMode::Llm);
        assert_eq!(llm.model.as_deref(), Some("qwen-plus"));
        let unknown = serde_json::from_str::<BreakdownRequest>(r#"{"mode":"magic"}"#)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("offline") && unknown.contains("llm"),
            "{unknown}"
        );
    }

    #[test]
    fn a_queued_breakdown_names_its_job_and_status() {
        let queued: BreakdownQueued = serde_json::from_str(r#"{"job":"j1","status":"queued"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(queued.job.as_str(), "j1");
        assert_eq!(queued.status, JobStatus::Queued);
    }
}
