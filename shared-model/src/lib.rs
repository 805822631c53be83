//! Sans-IO core of Shotweave: the typed project document over a yrs [`Doc`](yrs::Doc).
//!
//! A project is one yrs document with a fixed set of roots (see [`schema`]): project meta, the
//! script text, scenes, shots, characters, assets and job summaries. The script and the prose
//! fields of scenes, shots and characters are collaborative texts (see [`ProseField`]). Everything that touches raw
//! yrs maps lives in this crate, so the document layout can be treated as a wire format with a
//! [`schema::SCHEMA_VERSION`] and typed accessors on [`Project`].
//!
//! The crate performs no IO and builds for `wasm32-unknown-unknown`: bytes come in
//! ([`Project::apply_update`]) and bytes go out ([`Project::encode_state`], [`Project::encode_diff`]).
//! The sync server, the native CLI and the browser client all use the same code.
//!
//! Offsets into the script are UTF-16 code units, the unit Yjs and the browser use, so an offset
//! can cross to JavaScript unchanged.

pub use api_types::ids;
pub mod moves;
pub mod position;
pub mod schema;

mod assets;
mod board;
mod characters;
mod diff;
mod error;
mod fields;
mod jobs;
mod observe;
mod project;
mod prose;
mod restore;
mod review;
mod script;
mod snapshot;
mod undo;
mod validate;

pub use assets::{Asset, Cost, Provenance};
pub use board::{DEFAULT_SHOT_DURATION_MS, NewScene, NewShot, Scene, ScenePatch, Shot, ShotPatch};
pub use characters::{Character, CharacterPatch, NewCharacter};
pub use diff::{changed_shots, diff};
pub use error::{Error, Result};
pub use ids::{AssetId, CharacterId, JobId, SceneId, ShotId};
pub use jobs::{JobKind, JobStatus, JobSummary};
pub use observe::{Changes, ScriptDelta};
pub use project::{Meta, MetaPatch, Project, ProjectOptions, decode_update};
pub use prose::ProseField;
pub use review::{ReviewChanges, ReviewDoc};
pub use script::ScriptAnchor;
pub use snapshot::ProjectSnapshot;
pub use undo::{CAPTURE_TIMEOUT_MS, Clock, ScriptHistory};
pub use validate::Diagnostic;

/// Re-exported so that callers can name the document type without depending on yrs directly.
pub use yrs;

#[cfg(feature = "test-support")]
pub mod testing;
