//! The wire vocabulary of Shotweave: what the sync server, the browser studio (wasm32) and the
//! `shotweave` CLI say to each other over the REST API and in awareness states.
//!
//! One definition per shape, so that the three cannot drift apart. The crate is serde only (no
//! IO, no framework types) and builds for `wasm32-unknown-unknown`.
//!
//! - [`ids`]: newtype ids (`ShotId`, `JobId`, ...), also used by the project document.
//! - [`jobs`]: job kinds, states and error classes, stable strings in database rows and JSON.
//! - [`providers`]: what each provider can make here.
//! - [`projects`]: projects, share tokens and roles, uploaded assets.
//! - [`studio`]: importing a novel, breaking a script down, the media of an export.
//! - [`review`]: people and share links, versions and their diffs, review threads, verdicts
//!   and activity.
//! - [`settings`]: a project's provider keys (which are set, never the keys) and budget.
//! - [`error`]: the one error body every API error takes, `{"error", "code", ...}`.

/// Declares a string enum with its wire names, `as_str` and `FromStr`, so that the serde name,
/// the database string and the parser can never disagree.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $wire:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire $(, alias = $alias)*)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::jobs::UnknownValue;
            fn from_str(s: &str) -> Result<Self, $crate::jobs::UnknownValue> {
                match s {
                    $($wire $(| $alias)* => Ok($name::$variant),)+
                    _ => Err($crate::jobs::UnknownValue { what: $what, value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod error;
pub mod ids;
pub mod jobs;
pub mod projects;
pub mod providers;
pub mod review;
pub mod settings;
pub mod studio;

pub use error::{ApiErrorBody, ErrorCode};
pub use ids::{
    AssetId, CharacterId, CommentId, JobId, LinkId, PersonId, ProjectId, SceneId, ShotId, ThreadId,
    VersionId,
};
pub use jobs::{
    ErrorClass, GenerateRequest, JobKind, JobList, JobStatus, JobView, LiveJob, Queued, Scope,
    ServerJobs, UnknownValue,
};
pub use projects::{
    CreateProject, CreateToken, CreatedProject, CreatedToken, ProjectSummary, Role, UploadedAsset,
};
pub use providers::{ProviderInfo, ProviderList};
pub use review::{
    Activity, ActivityGroup, Anchor, Author, ChangeKind, CharacterChange, Comment, CreateVersion,
    DiffSide, EditComment, FieldChange, JoinRequest, Joined, LineOp, LinkInfo, Me, NewAnchor,
    NewComment, NewThread, NewVerdict, Person, Restored, SceneChange, SceneRef, ScriptHunk,
    ScriptLine, ShotAuthor, ShotChange, ShotPlace, TakeChange, Thread, ThreadStatus, Verdict,
    VerdictKind, VerdictTally, VersionDiff, VersionInfo, VersionKind,
};
pub use settings::{Budget, BudgetLimit, CredentialInfo, Credentials, SetCredential};
pub use studio::{
    BreakdownMode, BreakdownQueued, BreakdownRequest, BrokenDown, Imported, MediaItem, MediaList,
};
