//! The document layout, named in one place. Treat every name here as a wire format: renaming a
//! key breaks every stored document and every client of an older version.

/// The layout version this build writes and understands. Bump it when the layout changes in a
/// way an older build would misread, and teach [`crate::Project::upgrade`] to convert.
///
/// - 1: every field of a scene, shot or character is a plain value (last writer wins).
/// - 2: the prose fields ([`PROSE_FIELDS`]) are nested `Y.Text`s, so concurrent edits of one
///   description merge character by character. Documents are converted once, by the server
///   when its room loads them ([`crate::Project::upgrade`]).
pub const SCHEMA_VERSION: u32 = 2;

/// The first version whose prose fields are collaborative texts. Below it a writer keeps
/// writing plain strings (see [`crate::Project::upgrade`] for why clients never convert).
pub const PROSE_TEXT_VERSION: u32 = 2;

/// The collaborative text fields: (root, key) of every prose field, in the order the upgrade
/// visits them. Readers accept a plain string in any of them (schema 1, or a foreign peer).
pub const PROSE_FIELDS: &[(&str, &str)] = &[
    (SCENES, scene::TITLE),
    (SHOTS, shot::DESCRIPTION),
    (SHOTS, shot::DIALOGUE),
    (CHARACTERS, character::DESCRIPTION),
];

/// Root `Y.Map`: project-wide settings.
pub const META: &str = "meta";
/// Root `Y.Text`: the adaptation script.
pub const SCRIPT: &str = "script";
/// Root `Y.Map` of scene id -> scene `Y.Map`.
pub const SCENES: &str = "scenes";
/// Root `Y.Map` of shot id -> shot `Y.Map`.
pub const SHOTS: &str = "shots";
/// Root `Y.Map` of character id -> character `Y.Map`.
pub const CHARACTERS: &str = "characters";
/// Root `Y.Map` of asset id -> immutable asset record (a plain value, not a `Y.Map`).
pub const ASSETS: &str = "assets";
/// Root `Y.Map` of job id -> job summary record (a plain value written by the server).
pub const JOBS: &str = "jobs";

pub mod meta {
    pub const SCHEMA_VERSION: &str = "schema_version";
    pub const TITLE: &str = "title";
    pub const LANGUAGE: &str = "language";
    pub const ASPECT_RATIO: &str = "aspect_ratio";
}

pub mod scene {
    /// Nested `Y.Text` since schema 2 (a plain string before).
    pub const TITLE: &str = "title";
    pub const POSITION: &str = "position";
    pub const LOCATION: &str = "location";
    pub const TIME_OF_DAY: &str = "time_of_day";
    /// Encoded [`crate::ScriptAnchor`]: the scene's range of the script.
    pub const SCRIPT_RANGE: &str = "script_range";
}

pub mod shot {
    pub const SCENE_ID: &str = "scene_id";
    pub const POSITION: &str = "position";
    /// Nested `Y.Text` since schema 2 (a plain string before).
    pub const DESCRIPTION: &str = "description";
    /// Nested `Y.Text` since schema 2 (a plain string before).
    pub const DIALOGUE: &str = "dialogue";
    pub const CAMERA: &str = "camera";
    pub const FRAMING: &str = "framing";
    pub const DURATION_MS: &str = "duration_ms";
    /// Nested `Y.Map` used as a set (character id -> true), so that two people adding the same
    /// character concurrently do not produce a duplicate.
    pub const CHARACTER_IDS: &str = "character_ids";
    pub const RECIPE_ID: &str = "recipe_id";
    /// Nested `Y.Array` of asset ids, newest last.
    pub const TAKES: &str = "takes";
    pub const SELECTED_TAKE: &str = "selected_take";
}

pub mod character {
    pub const NAME: &str = "name";
    pub const ALIASES: &str = "aliases";
    /// Nested `Y.Text` since schema 2 (a plain string before).
    pub const DESCRIPTION: &str = "description";
    pub const COLOR: &str = "color";
    pub const REFERENCE_ASSET_IDS: &str = "reference_asset_ids";
}

/// The review document (`{project}.review`): threads, comments and verdicts. Only the server
/// writes it (from validated commands), every client reads it. Its layout is a wire format like
/// the project's: the browser reads these names.
pub mod review {
    /// Root `Y.Map` of thread id -> thread `Y.Map` (keys in [`thread`]).
    pub const THREADS: &str = "threads";
    /// Root `Y.Map` of `{version}:{person}` -> verdict record (a plain value: version, author,
    /// verdict, summary, created_at_ms).
    pub const VERDICTS: &str = "verdicts";
    /// Root `Y.Map` of `{person}:{client key}` -> `{thread, comment?}`: what a client's retried
    /// post already created, so that it is stored once.
    pub const CLIENT_KEYS: &str = "client_keys";

    pub mod thread {
        /// Plain value: the `api_types::Anchor` record (`kind`, `shot_id` or `anchor`).
        pub const ANCHOR: &str = "anchor";
        pub const QUOTE: &str = "quote";
        pub const VERSION: &str = "version";
        /// Plain value: `{id?, name}`.
        pub const AUTHOR: &str = "author";
        pub const CREATED_AT_MS: &str = "created_at_ms";
        /// `open` or `resolved`.
        pub const STATUS: &str = "status";
        pub const RESOLVED_BY: &str = "resolved_by";
        pub const RESOLVED_AT_MS: &str = "resolved_at_ms";
        /// Nested `Y.Array` of comment records (plain values, `api_types::Comment`), oldest
        /// first.
        pub const COMMENTS: &str = "comments";
    }

    pub mod client_key {
        pub const THREAD: &str = "thread";
        pub const COMMENT: &str = "comment";
    }
}
