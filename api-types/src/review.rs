//! Review and versions: the people of a project and their share links, named versions and the
//! diff between two of them, review threads with comments, verdicts on versions, and the
//! project's activity.
//!
//! | route | who | body / answer |
//! |---|---|---|
//! | `GET /api/projects/{id}/me` | any token | [`Me`] |
//! | `POST /api/projects/{id}/join` | a link token without a person | [`JoinRequest`] → [`Joined`] |
//! | `GET /api/projects/{id}/people` | any role | `Vec<`[`Person`]`>` (for @mentions) |
//! | `GET /api/projects/{id}/links` | owner | `Vec<`[`LinkInfo`]`>` |
//! | `DELETE /api/projects/{id}/links/{link}` | owner | 204; the link stops working at once |
//! | `POST /api/projects/{id}/versions` | owner, editor | [`CreateVersion`] → [`VersionInfo`] |
//! | `GET /api/projects/{id}/versions` | any role | `Vec<`[`VersionInfo`]`>`, newest first |
//! | `DELETE /api/projects/{id}/versions/{v}` | owner | 204 |
//! | `GET /api/projects/{id}/versions/{v}/state` | any role | the yrs update (v1) of that state |
//! | `POST /api/projects/{id}/versions/{v}/restore` | owner, editor | [`Restored`] |
//! | `GET /api/projects/{id}/diff?from={v}&to={v or now}` | any role | [`VersionDiff`] |
//! | `GET /api/projects/{id}/threads` | any role | `Vec<`[`Thread`]`>` |
//! | `POST /api/projects/{id}/threads` | commenter and up, with a person | [`NewThread`] → [`Thread`] |
//! | `POST /api/projects/{id}/threads/{t}/comments` | commenter and up | [`NewComment`] → [`Comment`] |
//! | `PATCH /api/projects/{id}/threads/{t}/comments/{c}` | the comment's author | [`EditComment`] → [`Comment`] |
//! | `DELETE /api/projects/{id}/threads/{t}/comments/{c}` | the comment's author | 204 |
//! | `POST /api/projects/{id}/threads/{t}/resolve`, `.../reopen` | thread author, editor, owner | [`Thread`] |
//! | `GET /api/projects/{id}/versions/{v}/verdicts` | any role | `Vec<`[`Verdict`]`>` |
//! | `PUT /api/projects/{id}/versions/{v}/verdict` | commenter and up | [`NewVerdict`] → [`Verdict`] |
//! | `GET /api/projects/{id}/activity` | any role | [`Activity`] |
//!
//! Authors and times of threads, comments and verdicts are always set by the server from the
//! caller's personal token; nothing in these bodies can name another author.
//!
//! Times here are Unix milliseconds (`*_ms`), except a link's, which are Unix seconds like a
//! token's expiry.

use serde::{Deserialize, Serialize};

use crate::ids::{
    AssetId, CharacterId, CommentId, LinkId, PersonId, SceneId, ShotId, ThreadId, VersionId,
};
use crate::projects::Role;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest version name, in characters.
pub const MAX_VERSION_NAME_CHARS: usize = 120;
/// Longest version note, comment or verdict summary, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest share-link label, in characters.
pub const MAX_LABEL_CHARS: usize = 120;

// ---------------------------------------------------------------------------------------------
// People and links

/// Someone who acts in a project, as the server knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub role: Role,
}

/// Who did something: the person's id and the name they had then. `id` is `None` for the
/// server itself (generation jobs) and for a link token whose holder has not given a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    #[serde(default)]
    pub id: Option<PersonId>,
    pub name: String,
}

/// The answer to `GET /api/projects/{id}/me`: what the caller's token is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub role: Role,
    /// `None` until the holder of a share link has joined with a name.
    #[serde(default)]
    pub person: Option<Person>,
    #[serde(default)]
    pub link: Option<LinkId>,
    /// A "share for review" link opens straight into review of this version.
    #[serde(default)]
    pub review_version: Option<VersionId>,
    /// Unix seconds; `None` for a token that never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// `POST /api/projects/{id}/join` with a share link's token: the display name its holder
/// gives once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// 1 to [`MAX_NAME_CHARS`] characters.
    pub name: String,
}

/// The answer to a join: a personal token (same role, link and expiry as the link's) that the
/// browser keeps and sends instead of the link's token from then on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    pub token: String,
    pub person: Person,
}

/// One share link of `GET /api/projects/{id}/links` (owners only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub id: LinkId,
    pub role: Role,
    pub label: String,
    /// For a personal invite: the invited person's name.
    #[serde(default)]
    pub person_name: Option<String>,
    #[serde(default)]
    pub review_version: Option<VersionId>,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub last_used_at: Option<i64>,
    #[serde(default)]
    pub revoked_at: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Versions

/// `POST /api/projects/{id}/versions`: name the project's current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateVersion {
    /// 1 to [`MAX_VERSION_NAME_CHARS`] characters.
    pub name: String,
    #[serde(default)]
    pub note: Option<String>,
}

wire_enum!(
    /// Why a version exists.
    VersionKind, "version kind" {
        /// Named by a person.
        Named = "named",
        /// Taken by the server before a change that rewrites much at once.
        Auto = "auto",
    }
);

/// Counts of the verdicts given on a version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictTally {
    pub approve: u32,
    pub request_changes: u32,
    pub comment: u32,
}

/// A version as listed and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub id: VersionId,
    pub name: String,
    #[serde(default)]
    pub note: Option<String>,
    pub kind: VersionKind,
    pub author: Author,
    pub created_at_ms: i64,
    /// Shots on the board in that state.
    pub shots: u32,
    /// Size of the document's encoded state at that moment.
    pub state_bytes: u64,
    /// What storing it took (compressed).
    pub stored_bytes: u64,
    #[serde(default)]
    pub tally: VerdictTally,
}

/// The answer to a restore: the version restored, and the automatic version taken just
/// before (restore that one to undo the restore).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restored {
    pub restored: VersionId,
    pub before: VersionInfo,
}

// ---------------------------------------------------------------------------------------------
// Diff

wire_enum!(
    /// What happened to a shot, scene or character between two states.
    ChangeKind, "change kind" {
        Added = "added",
        Removed = "removed",
        /// Only its place changed (another scene, or another position in its scene).
        Moved = "moved",
        /// Some field changed (it may have moved as well: see `moved`).
        Changed = "changed",
    }
);

/// One field, old → new, as text a person reads (a duration as seconds, characters as names).
/// `field` is the document's key (`description`, `dialogue`, `camera`, `framing`,
/// `duration_ms`, `characters`, `selected_take`, `title`, `location`, `time_of_day`, `name`,
/// `aliases`, `color`, `references`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

/// Where a shot sits: its scene and its 1-based number within that scene.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShotPlace {
    #[serde(default)]
    pub scene_id: Option<SceneId>,
    pub scene_title: String,
    pub index: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShotChange {
    pub shot_id: ShotId,
    pub kind: ChangeKind,
    /// Its place in the old state (`None` when added).
    #[serde(default)]
    pub from: Option<ShotPlace>,
    /// Its place in the new state (`None` when removed).
    #[serde(default)]
    pub to: Option<ShotPlace>,
    /// True when it changed scene or position among the shots of its scene.
    #[serde(default)]
    pub moved: bool,
    /// The shot's description in the newer state that has it, to say which shot this is.
    pub description: String,
    #[serde(default)]
    pub fields: Vec<FieldChange>,
    /// The selected take, old → new, when it changed (assets, for thumbnails).
    #[serde(default)]
    pub take: Option<TakeChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeChange {
    #[serde(default)]
    pub old: Option<AssetId>,
    #[serde(default)]
    pub new: Option<AssetId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneChange {
    pub scene_id: SceneId,
    pub kind: ChangeKind,
    pub title: String,
    #[serde(default)]
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharacterChange {
    pub character_id: CharacterId,
    pub kind: ChangeKind,
    pub name: String,
    #[serde(default)]
    pub fields: Vec<FieldChange>,
}

wire_enum!(
    /// A line of the script diff.
    LineOp, "line op" {
        Same = "same",
        Added = "added",
        Removed = "removed",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptLine {
    pub op: LineOp,
    pub text: String,
}

/// A run of changed script lines with a little context, like a unified diff's hunk. Line
/// numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptHunk {
    pub old_start: u32,
    pub new_start: u32,
    pub lines: Vec<ScriptLine>,
}

/// One side of a diff: a version, or the live project (`version: None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSide {
    #[serde(default)]
    pub version: Option<VersionId>,
    /// The version's name, or "now".
    pub label: String,
}

/// The answer to `GET /api/projects/{id}/diff?from=&to=`: what changed from `from` to `to`,
/// in storyboard order of `to` (removed things in the order of `from`, after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub from: DiffSide,
    pub to: DiffSide,
    #[serde(default)]
    pub meta: Vec<FieldChange>,
    #[serde(default)]
    pub scenes: Vec<SceneChange>,
    #[serde(default)]
    pub shots: Vec<ShotChange>,
    #[serde(default)]
    pub characters: Vec<CharacterChange>,
    #[serde(default)]
    pub script: Vec<ScriptHunk>,
}

impl VersionDiff {
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
            && self.scenes.is_empty()
            && self.shots.is_empty()
            && self.characters.is_empty()
            && self.script.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Threads and comments

/// What a new thread is about. A script range is given either as a [`ScriptAnchor`] the
/// client made from its replica (base64 of `shared_model::ScriptAnchor::encode`, which follows
/// concurrent edits), or as UTF-16 offsets into the script as the server has it now.
///
/// [`ScriptAnchor`]: https://docs.rs/yrs/latest/yrs/struct.StickyIndex.html
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewAnchor {
    Project,
    Shot {
        shot_id: ShotId,
    },
    Script {
        #[serde(default)]
        anchor: Option<String>,
        #[serde(default)]
        start: Option<u32>,
        #[serde(default)]
        end: Option<u32>,
    },
}

/// What a thread is anchored to, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Anchor {
    Project,
    Shot {
        shot_id: ShotId,
    },
    /// `anchor` is base64 of the encoded `ScriptAnchor` (two yrs `StickyIndex`es).
    Script {
        anchor: String,
    },
}

wire_enum!(
    ThreadStatus, "thread status" {
        Open = "open",
        Resolved = "resolved",
    }
);

/// `POST /api/projects/{id}/threads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewThread {
    pub anchor: NewAnchor,
    /// The first comment, 1 to [`MAX_TEXT_CHARS`] characters.
    pub text: String,
    /// A key the client chose (a UUID) so that a retry after a lost answer, or a comment
    /// written offline and sent again on reconnect, is stored once.
    #[serde(default)]
    pub client_key: Option<String>,
}

/// `POST .../threads/{t}/comments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewComment {
    pub text: String,
    #[serde(default)]
    pub client_key: Option<String>,
}

/// `PATCH .../threads/{t}/comments/{c}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditComment {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: CommentId,
    pub author: Author,
    pub created_at_ms: i64,
    #[serde(default)]
    pub edited_at_ms: Option<i64>,
    /// Empty once deleted (the comment stays as "deleted" so replies keep their place).
    pub text: String,
    #[serde(default)]
    pub deleted: bool,
    /// The people `@name` mentions resolved to, by the server.
    #[serde(default)]
    pub mentions: Vec<PersonId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    pub id: ThreadId,
    pub anchor: Anchor,
    /// The text the thread pointed at when it was opened (the script range's words, or the
    /// shot's description), shown when its shot or text is gone.
    pub quote: String,
    /// The newest version when the thread was opened.
    #[serde(default)]
    pub version: Option<VersionId>,
    pub author: Author,
    pub created_at_ms: i64,
    pub status: ThreadStatus,
    #[serde(default)]
    pub resolved_by: Option<Author>,
    #[serde(default)]
    pub resolved_at_ms: Option<i64>,
    pub comments: Vec<Comment>,
    /// Its shot was deleted, or its whole script range was. Kept, never deleted.
    #[serde(default)]
    pub orphaned: bool,
}

// ---------------------------------------------------------------------------------------------
// Verdicts

wire_enum!(
    VerdictKind, "verdict" {
        Approve = "approve",
        RequestChanges = "request_changes",
        Comment = "comment",
    }
);

/// `PUT /api/projects/{id}/versions/{v}/verdict`: the caller's verdict on a named version
/// (one per person and version; giving another replaces it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVerdict {
    pub verdict: VerdictKind,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub version: VersionId,
    pub author: Author,
    pub verdict: VerdictKind,
    pub summary: String,
    pub created_at_ms: i64,
    /// Shots of the version that have changed (or gone) in the live project since: the
    /// verdict is stale for them. Computed when asked, never stored.
    #[serde(default)]
    pub stale_shots: Vec<ShotId>,
}

// ---------------------------------------------------------------------------------------------
// Activity

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneRef {
    pub id: SceneId,
    pub title: String,
}

/// A run of one person's edits with no pause longer than the server's grouping gap:
/// "Lin changed 12 shots in scene 3, 14:02 to 14:20".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityGroup {
    pub author: Author,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Shots changed (added, edited, moved or removed).
    pub shots: Vec<ShotId>,
    /// The scenes those shots are in, and scenes changed themselves.
    pub scenes: Vec<SceneRef>,
    pub characters: u32,
    /// Transactions that changed the script text.
    pub script_edits: u32,
}

/// Who last changed a shot, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShotAuthor {
    pub shot_id: ShotId,
    pub author: Author,
    pub at_ms: i64,
}

/// The answer to `GET /api/projects/{id}/activity`: newest group first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub groups: Vec<ActivityGroup>,
    pub shots: Vec<ShotAuthor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_tagged_by_kind() {
        let anchor: NewAnchor = serde_json::from_str(r#"{"kind":"shot","shot_id":"s1"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            anchor,
            NewAnchor::Shot {
                shot_id: ShotId::from("s1")
            }
        );
        let range: NewAnchor = serde_json::from_str(r#"{"kind":"script","start":3,"end":9}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            range,
            NewAnchor::Script {
                anchor: None,
                start: Some(3),
                end: Some(9)
            }
        );
        assert!(serde_json::from_str::<NewAnchor>(r#"{"kind":"page"}"#).is_err());
    }

    #[test]
    fn verdicts_have_wire_names() {
        assert_eq!(
            serde_json::to_string(&VerdictKind::RequestChanges).unwrap_or_default(),
            "\"request_changes\""
        );
        assert_eq!("approve".parse::<VerdictKind>(), Ok(VerdictKind::Approve));
        assert!("lgtm".parse::<VerdictKind>().is_err());
    }

    #[test]
    fn a_verdict_body_cannot_name_an_author() {
        // Unknown fields are ignored, so a forged author never reaches the server's types.
        let body: NewVerdict =
            serde_json::from_str(r#"{"verdict":"approve","author":{"name":"the owner"}}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(body.summary, "");
    }
}
