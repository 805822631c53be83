use serde::{Deserialize, Serialize};
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, MapRef, OffsetKind, Options, ReadTxn, StateVector, TextRef, Transact, Update};

use crate::schema::{self, SCHEMA_VERSION};
use crate::{Error, Result};

/// How to open a project document.
#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// A fixed yrs client id (tests replay seeded runs with it); random when `None`.
    pub client_id: Option<u64>,
    /// Keep deleted content so that versions (snapshots) can be restored.
    pub skip_gc: bool,
}

/// Project-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub title: String,
    /// BCP 47 tag of the script's language, e.g. `en` or `zh`.
    pub language: String,
    /// Frame aspect ratio as `W:H`, e.g. `16:9`.
    pub aspect_ratio: String,
    pub schema_version: u32,
}

impl Default for Meta {
    fn default() -> Self {
        Meta {
            title: String::new(),
            language: "en".into(),
            aspect_ratio: "16:9".into(),
            schema_version: SCHEMA_VERSION,
        }
    }
}

/// Changes to [`Meta`]; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MetaPatch {
    pub title: Option<String>,
    pub language: Option<String>,
    pub aspect_ratio: Option<String>,
}

/// One project: a yrs document plus typed accessors for every root.
///
/// Each mutating method runs in its own transaction, which is what yrs is fast at (one
/// transaction per user action); callers never hold a yrs transaction across calls.
pub struct Project {
    pub(crate) doc: Doc,
    pub(crate) meta: MapRef,
    pub(crate) script: TextRef,
    pub(crate) scenes: MapRef,
    pub(crate) shots: MapRef,
    pub(crate) characters: MapRef,
    pub(crate) assets: MapRef,
    pub(crate) jobs: MapRef,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("client_id", &self.doc.client_id())
            .finish_non_exhaustive()
    }
}

impl Project {
    /// An empty document that writes nothing: the starting point of a client that is about to
    /// receive the project's state from a peer.
    pub fn empty(options: ProjectOptions) -> Self {
        let mut yopts = Options {
            offset_kind: OffsetKind::Utf16,
            skip_gc: options.skip_gc,
            ..Options::default()
        };
        if let Some(id) = options.client_id {
            yopts.client_id = yrs::ClientID::new(id);
        }
        Self::from_doc(Doc::with_options(yopts))
    }

    /// A new project with its meta written (including [`SCHEMA_VERSION`]).
    pub fn create(meta: &MetaPatch, options: ProjectOptions) -> Self {
        let project = Self::empty(options);
        {
            let defaults = Meta::default();
            let mut txn = project.doc.transact_mut();
            let m = &project.meta;
            m.insert(&mut txn, schema::meta::SCHEMA_VERSION, SCHEMA_VERSION);
            m.insert(
                &mut txn,
                schema::meta::TITLE,
                meta.title.clone().unwrap_or(defaults.title),
            );
            m.insert(
                &mut txn,
                schema::meta::LANGUAGE,
                meta.language.clone().unwrap_or(defaults.language),
            );
            m.insert(
                &mut txn,
                schema::meta::ASPECT_RATIO,
                meta.aspect_ratio.clone().unwrap_or(defaults.aspect_ratio),
            );
        }
        project
    }

    /// Opens a stored document (a full-state update). Fails on corrupt bytes and on documents
    /// written by a newer schema, which this build could otherwise damage.
    pub fn load(state: &[u8], options: ProjectOptions) -> Result<Self> {
        let project = Self::empty(options);
        project.apply_update(state)?;
        project.check_schema()?;
        Ok(project)
    }

    /// Wraps an existing yrs document (the sync server's room document, for instance).
    pub fn from_doc(doc: Doc) -> Self {
        Project {
            meta: doc.get_or_insert_map(schema::META),
            script: doc.get_or_insert_text(schema::SCRIPT),
            scenes: doc.get_or_insert_map(schema::SCENES),
            shots: doc.get_or_insert_map(schema::SHOTS),
            characters: doc.get_or_insert_map(schema::CHARACTERS),
            assets: doc.get_or_insert_map(schema::ASSETS),
            jobs: doc.get_or_insert_map(schema::JOBS),
            doc,
        }
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Fails when the document declares a schema newer than this build understands.
    pub fn check_schema(&self) -> Result<()> {
        let found = self.meta().schema_version;
        if found > SCHEMA_VERSION {
            return Err(Error::NewerSchema { found });
        }
        Ok(())
    }

    /// Applies a yrs v1 update received from a peer or from storage. Corrupt bytes are rejected
    /// with an error before anything is integrated.
    pub fn apply_update(&self, update: &[u8]) -> Result<()> {
        let update = decode_update(update)?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))
    }

    /// The whole document as one v1 update.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// This document's state vector, v1-encoded (what a peer sends as sync step 1).
    pub fn state_vector(&self) -> Vec<u8> {
        use yrs::updates::encoder::Encode;
        self.doc.transact().state_vector().encode_v1()
    }

    /// What a peer with the given v1 state vector is missing.
    pub fn encode_diff(&self, state_vector: &[u8]) -> Result<Vec<u8>> {
        let sv = StateVector::decode_v1(state_vector)
            .map_err(|e| Error::InvalidStateVector(e.to_string()))?;
        Ok(self.doc.transact().encode_state_as_update_v1(&sv))
    }

    pub fn meta(&self) -> Meta {
        let txn = self.doc.transact();
        let get = |key| crate::fields::get_string(&self.meta, &txn, key);
        let defaults = Meta::default();
        Meta {
            title: get(schema::meta::TITLE).unwrap_or(defaults.title),
            language: get(schema::meta::LANGUAGE).unwrap_or(defaults.language),
            aspect_ratio: get(schema::meta::ASPECT_RATIO).unwrap_or(defaults.aspect_ratio),
            // A document without a version predates versioning or has not synced yet: treat it
            // as the oldest layout rather than guessing it is current.
            schema_version: crate::fields::get_u32(&self.meta, &txn, schema::meta::SCHEMA_VERSION)
                .unwrap_or(0),
        }
    }

    pub fn update_meta(&self, patch: &MetaPatch) {
        let mut txn = self.doc.transact_mut();
        let m = &self.meta;
        if let Some(v) = &patch.title {
            m.insert(&mut txn, schema::meta::TITLE, v.as_str());
        }
        if let Some(v) = &patch.language {
            m.insert(&mut txn, schema::meta::LANGUAGE, v.as_str());
        }
        if let Some(v) = &patch.aspect_ratio {
            m.insert(&mut txn, schema::meta::ASPECT_RATIO, v.as_str());
        }
    }
}

/// Decodes a v1 update, turning both errors and panics inside the decoder into
/// [`Error::InvalidUpdate`]: bytes from the network must never take the process down. Use it
/// for every update that arrives from outside (the sync server validates frames with it).
pub fn decode_update(bytes: &[u8]) -> Result<Update> {
    check_client_count(bytes)?;
    // yrs asserts on some malformed input (client ids wider than 53 bits, for one) instead of
    // returning an error. Decoding touches no shared state, so catching the panic is sound.
    match std::panic::catch_unwind(|| Update::decode_v1(bytes)) {
        Ok(Ok(update)) => Ok(update),
        Ok(Err(e)) => Err(Error::InvalidUpdate(e.to_string())),
        Err(_) => Err(Error::InvalidUpdate("malformed update".into())),
    }
}

/// yrs reserves a hash map for the declared number of clients before reading them, so 18 hostile
/// bytes declaring billions of clients cost gigabytes and half a second. Every client takes at
/// least three bytes, so a count larger than the input is rejected up front.
fn check_client_count(bytes: &[u8]) -> Result<()> {
    let mut count: u64 = 0;
    for (i, byte) in bytes.iter().take(10).enumerate() {
        count |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return if count as usize > bytes.len() {
                Err(Error::InvalidUpdate(format!(
                    "update declares {count} clients in {} bytes",
                    bytes.len()
                )))
            } else {
                Ok(())
            };
        }
    }
    Err(Error::InvalidUpdate(
        "truncated or oversized client count".into(),
    ))
}
