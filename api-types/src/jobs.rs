//! The job vocabulary: what a job makes, where it is in its life, and why it failed. The
//! strings are stable: they are stored in database rows (`jobs.kind`, `jobs.state`,
//! `jobs.error_class`), in the project document's job summaries and in API answers.

use serde::{Deserialize, Serialize};

use crate::ids::{CharacterId, JobId, ShotId};

/// A stored or received string that names no known value: an unreadable row or body, never
/// guessed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.value)
    }
}

impl std::error::Error for UnknownValue {}

wire_enum!(
    /// What a job makes.
    JobKind, "job kind" {
        Frame = "frame",
        Clip = "clip",
        Breakdown = "breakdown",
        /// Rows and requests written before the wire names were unified say `character-sheet`.
        CharacterSheet = "character_sheet" | "character-sheet",
    }
);

wire_enum!(
    /// queued -> running -> succeeded | failed | cancelled.
    JobStatus, "job status" {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }
);

impl JobStatus {
    /// Succeeded, failed or cancelled: nothing will change it again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

wire_enum!(
    /// Why a job failed (or is waiting to be tried again). The provider classes come from the
    /// adapters' error taxonomy; `Conflict` and `Internal` are the server's own.
    ErrorClass, "error class" {
        Auth = "auth",
        Balance = "balance",
        RateLimited = "rate_limited",
        InvalidInput = "invalid_input",
        ContentPolicy = "content_policy",
        Provider = "provider",
        Unreachable = "unreachable",
        Expired = "expired",
        Timeout = "timeout",
        NotSupported = "not_supported",
        InvalidOutput = "invalid_output",
        Config = "config",
        /// The document changed under the job in a way it cannot write over.
        Conflict = "conflict",
        /// A failure inside the server (database, object store, IO); its detail is only logged.
        Internal = "internal",
    }
);

/// A job as `GET /api/projects/{id}/jobs` (and a cancel) shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: JobId,
    pub status: JobStatus,
    pub kind: JobKind,
    pub provider: String,
    #[serde(default)]
    pub shot_id: Option<ShotId>,
    #[serde(default)]
    pub character_id: Option<CharacterId>,
    /// A message fit for every collaborator: never internal detail (paths, SQL, hosts).
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_class: Option<ErrorClass>,
    #[serde(default)]
    pub attempts: i64,
    /// USD, once the job has spent anything.
    #[serde(default)]
    pub cost: Option<f64>,
    /// 0.0 to 1.0 while running, when the provider reports it.
    #[serde(default)]
    pub progress: Option<f32>,
    #[serde(default)]
    pub created_at_ms: i64,
    #[serde(default)]
    pub updated_at_ms: i64,
}

impl JobView {
    pub fn is_active(&self) -> bool {
        !self.status.is_terminal()
    }
}

/// `{"jobs": [...]}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

/// One running job, as the server's document peer announces it in its awareness state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveJob {
    #[serde(default)]
    pub shot_id: Option<ShotId>,
    pub kind: JobKind,
    pub provider: String,
    pub status: JobStatus,
    /// 0.0 to 1.0, when the provider reports it.
    #[serde(default)]
    pub progress: Option<f32>,
}

/// The `jobs` field of the server peer's awareness state: running jobs by id, queued ones as
/// a count (a "generate all" of a thousand shots must not make every awareness message a
/// thousand entries long).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerJobs {
    #[serde(default)]
    pub running: std::collections::BTreeMap<JobId, LiveJob>,
    #[serde(default)]
    pub queued: u64,
}

/// Which targets a generate request covers: `"missing"` (targets without a result yet),
/// `"all"`, `{"scene": id}` or `{"shots": [ids]}`. The server checks the names and ids and
/// says which one it does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scope {
    /// `"missing"` or `"all"`.
    Named(String),
    Scene {
        scene: String,
    },
    Shots {
        shots: Vec<String>,
    },
}

impl Scope {
    /// Targets without a result yet.
    pub fn missing() -> Self {
        Scope::Named("missing".into())
    }

    /// Every target, regenerating those with a result.
    pub fn all() -> Self {
        Scope::Named("all".into())
    }
}

/// `POST /api/projects/{id}/generate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub provider: String,
    /// A [`JobKind`] name (`frame`, `clip`, `character_sheet`); kept a string so that an unknown
    /// one is answered with the kinds the server knows.
    pub kind: String,
    pub scope: Scope,
    /// The same key again answers with the jobs of the first request instead of new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The answer (202) to a generate request: the queued jobs, one per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    pub jobs: Vec<JobId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_parse_back_and_match_serde() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>(), Ok(*kind));
            let json = serde_json::to_string(kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>(), Ok(*status));
        }
        for class in ErrorClass::ALL {
            assert_eq!(class.as_str().parse::<ErrorClass>(), Ok(*class));
            let json = serde_json::to_string(class).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", class.as_str()));
        }
        assert_eq!(
            "character-sheet".parse::<JobKind>(),
            Ok(JobKind::CharacterSheet)
        );
        assert_eq!(
            "sketch".parse::<JobKind>(),
            Err(UnknownValue {
                what: "job kind",
                value: "sketch".into()
            })
        );
    }
    #[test]
    fn scopes_take_their_three_shapes() {
        let cases = [
            (Scope::missing(), r#""missing""#),
            (Scope::all(), r#""all""#),
            (Scope::Scene { scene: "s1".into() }, r#"{"scene":"s1"}"#),
            (
                Scope::Shots {
                    shots: vec!["a".into(), "b".into()],
                },
                r#"{"shots":["a","b"]}"#,
            ),
        ];
        for (scope, json) in cases {
            assert_eq!(serde_json::to_string(&scope).unwrap_or_default(), json);
            let back: Scope = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, scope);
        }
        let request = GenerateRequest {
            provider: "offline".into(),
            kind: JobKind::Frame.as_str().into(),
            scope: Scope::missing(),
            idempotency_key: None,
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap_or_default(),
            r#"{"provider":"offline","kind":"frame","scope":"missing"}"#
        );
    }

    #[test]
    fn the_server_peers_jobs_read_old_kind_names_and_look_up_by_str() {
        let jobs: ServerJobs = serde_json::from_str(
            r#"{"running":{"j1":{"shot_id":"s1","kind":"character-sheet","provider":"offline","status":"running","progress":0.5}},"queued":3}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jobs.queued, 3);
        let job = jobs.running.get("j1").unwrap_or_else(|| panic!("no j1"));
        assert_eq!(job.kind, JobKind::CharacterSheet);
        assert_eq!(job.shot_id.as_ref().map(|s| s.as_str()), Some("s1"));
        assert_eq!(job.progress, Some(0.5));
        assert_eq!(
            serde_json::from_str::<ServerJobs>("{}").unwrap_or_default(),
            ServerJobs::default()
        );
    }
}
