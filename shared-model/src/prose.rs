//! The prose fields: a scene's title, a shot's description and dialogue, a character's
//! description. Since schema 2 each is a `Y.Text` nested in its entity's map, so two people
//! changing the same description (at once, or one of them offline) both keep their edit.
//!
//! Reads accept both representations. Writes follow one rule, because a text can only merge
//! with itself: two texts created for the same field by two peers compete for the map key and
//! one of them is dropped whole, with every character typed into it.
//!
//! - A field that already holds a text is always edited in place (a minimal splice).
//! - Otherwise a writer creates a text only in an upgraded document (`schema_version >= 2`);
//!   in an older one it writes a plain string, as schema 1 did (last writer wins).
//! - Converting existing strings is [`Project::upgrade`], run by exactly one writer: the
//!   server, when its room loads the document and before it serves anyone. Clients never
//!   convert, so no two peers ever create competing texts for a field that already had a value.
//!
//! Offsets are UTF-16 code units, as for the script.

use yrs::{
    GetString, Map, MapRef, OffsetKind, ReadTxn, Text, TextPrelim, TextRef, Transact,
    TransactionMut,
};

use crate::board::nested_maps;
use crate::fields::{Prose, get_map, get_u32, read_prose};
use crate::ids::{CharacterId, SceneId, ShotId};
use crate::schema::{self, PROSE_TEXT_VERSION, SCHEMA_VERSION};
use crate::{Error, Project, Result};

/// One prose field of one scene, shot or character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProseField {
    SceneTitle(SceneId),
    ShotDescription(ShotId),
    ShotDialogue(ShotId),
    CharacterDescription(CharacterId),
}

impl ProseField {
    fn kind(&self) -> &'static str {
        match self {
            ProseField::SceneTitle(_) => "scene",
            ProseField::ShotDescription(_) | ProseField::ShotDialogue(_) => "shot",
            ProseField::CharacterDescription(_) => "character",
        }
    }

    fn id(&self) -> &str {
        match self {
            ProseField::SceneTitle(id) => id.as_str(),
            ProseField::ShotDescription(id) | ProseField::ShotDialogue(id) => id.as_str(),
            ProseField::CharacterDescription(id) => id.as_str(),
        }
    }

    fn key(&self) -> &'static str {
        match self {
            ProseField::SceneTitle(_) => schema::scene::TITLE,
            ProseField::ShotDescription(_) => schema::shot::DESCRIPTION,
            ProseField::ShotDialogue(_) => schema::shot::DIALOGUE,
            ProseField::CharacterDescription(_) => schema::character::DESCRIPTION,
        }
    }
}

/// Whether writers may create prose texts in this document (see the module docs).
pub(crate) fn writes_text<T: ReadTxn>(meta: &MapRef, txn: &T) -> bool {
    get_u32(meta, txn, schema::meta::SCHEMA_VERSION).unwrap_or(0) >= PROSE_TEXT_VERSION
}

/// The length of `s` in the unit the document counts text offsets in. Project documents count
/// UTF-16 units; a document wrapped with [`Project::from_doc`] may count bytes.
fn units(kind: OffsetKind, s: &str) -> u32 {
    match kind {
        OffsetKind::Bytes => s.len() as u32,
        OffsetKind::Utf16 => s.encode_utf16().count() as u32,
    }
}

/// The byte index of UTF-16 offset `offset` in `s`, clamped to its end. An offset inside a
/// surrogate pair moves past the pair, so a splice never cuts a character in half.
fn byte_at_utf16(s: &str, offset: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in s.char_indices() {
        if units >= offset {
            return i;
        }
        units += c.len_utf16() as u32;
    }
    s.len()
}

/// Turns `text` (currently `old`) into `new` with one delete and one insert of what differs
/// between them, so that a whole-value write from a form merges with concurrent edits of the
/// rest of the text instead of replacing it.
pub(crate) fn splice_to(
    txn: &mut TransactionMut,
    text: &TextRef,
    old: &str,
    new: &str,
    kind: OffsetKind,
) {
    let (prefix, suffix) = crate::moves::common_ends(old, new);
    let deleted = &old[prefix..old.len() - suffix];
    let inserted = &new[prefix..new.len() - suffix];
    let at = units(kind, &old[..prefix]);
    if !deleted.is_empty() {
        text.remove_range(txn, at, units(kind, deleted));
    }
    if !inserted.is_empty() {
        text.insert(txn, at, inserted);
    }
}

/// Sets prose field `key` of `map` to `value` by the rule in the module docs. The one writer of
/// whole prose values: creating an entity and patching it both come here.
pub(crate) fn write_prose(
    txn: &mut TransactionMut,
    meta: &MapRef,
    map: &MapRef,
    key: &str,
    value: &str,
) {
    let kind = txn.doc().offset_kind();
    match read_prose(map, txn, key) {
        Prose::Text(text) => {
            let old = text.get_string(txn);
            splice_to(txn, &text, &old, value, kind);
        }
        // Rewriting the same string would only add a competing item for nothing.
        Prose::Plain(old) if old == value => {}
        _ if writes_text(meta, txn) => {
            map.insert(txn, key, TextPrelim::new(value));
        }
        _ => {
            map.insert(txn, key, value);
        }
    }
}

impl Project {
    /// Every prose field as (root name, root map, key), from [`schema::PROSE_FIELDS`].
    pub(crate) fn prose_roots(&self) -> Vec<(&'static str, &MapRef, &'static str)> {
        schema::PROSE_FIELDS
            .iter()
            .filter_map(|&(name, key)| {
                let root = match name {
                    schema::SCENES => &self.scenes,
                    schema::SHOTS => &self.shots,
                    schema::CHARACTERS => &self.characters,
                    _ => return None,
                };
                Some((name, root, key))
            })
            .collect()
    }

    fn prose_map<T: ReadTxn>(&self, txn: &T, field: &ProseField) -> Result<MapRef> {
        let root = match field {
            ProseField::SceneTitle(_) => &self.scenes,
            ProseField::ShotDescription(_) | ProseField::ShotDialogue(_) => &self.shots,
            ProseField::CharacterDescription(_) => &self.characters,
        };
        get_map(root, txn, field.id()).ok_or_else(|| Error::not_found(field.kind(), field.id()))
    }

    /// The field's text, or `None` when its scene, shot or character does not exist. A field
    /// holding something other than text (a foreign peer's doing) reads as empty.
    pub fn prose(&self, field: &ProseField) -> Option<String> {
        let txn = self.doc.transact();
        let map = self.prose_map(&txn, field).ok()?;
        Some(crate::fields::get_prose(&map, &txn, field.key()).unwrap_or_default())
    }

    /// Sets the whole field to `value`, written as the minimal splice from the current text
    /// (common prefix and suffix kept), in one transaction. Two people who change different
    /// parts of the same text keep both changes. A value computed from an out-of-date copy of
    /// the text undoes what arrived since; an editor should send its edits with
    /// [`Project::prose_splice`] instead.
    pub fn set_prose(&self, field: &ProseField, value: &str) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.prose_map(&txn, field)?;
        write_prose(&mut txn, &self.meta, &map, field.key(), value);
        Ok(())
    }

    /// Deletes `delete` UTF-16 units at `index` and inserts `insert` there, in one
    /// transaction; both are clamped to the text. In a document not yet upgraded, a field that
    /// is still a plain string is rewritten as a string (see the module docs).
    pub fn prose_splice(
        &self,
        field: &ProseField,
        index: u32,
        delete: u32,
        insert: &str,
    ) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.prose_map(&txn, field)?;
        let kind = txn.doc().offset_kind();
        match read_prose(&map, &txn, field.key()) {
            Prose::Text(text) => {
                let current = text.get_string(&txn);
                let start = byte_at_utf16(&current, index);
                let end = byte_at_utf16(&current, index.saturating_add(delete)).max(start);
                let at = units(kind, &current[..start]);
                if end > start {
                    text.remove_range(&mut txn, at, units(kind, &current[start..end]));
                }
                if !insert.is_empty() {
                    text.insert(&mut txn, at, insert);
                }
            }
            other => {
                let current = match other {
                    Prose::Plain(s) => s,
                    _ => String::new(),
                };
                let start = byte_at_utf16(&current, index);
                let end = byte_at_utf16(&current, index.saturating_add(delete)).max(start);
                let value = format!("{}{insert}{}", &current[..start], &current[end..]);
                write_prose(&mut txn, &self.meta, &map, field.key(), &value);
            }
        }
        Ok(())
    }

    /// Inserts `text` at a UTF-16 offset of the field (past the end appends).
    pub fn prose_insert(&self, field: &ProseField, index: u32, text: &str) -> Result<()> {
        self.prose_splice(field, index, 0, text)
    }

    /// Deletes `len` UTF-16 units at `index`, clamped to the field's text.
    pub fn prose_delete(&self, field: &ProseField, index: u32, len: u32) -> Result<()> {
        self.prose_splice(field, index, len, "")
    }

    pub fn set_shot_description(&self, id: &ShotId, value: &str) -> Result<()> {
        self.set_prose(&ProseField::ShotDescription(id.clone()), value)
    }

    pub fn set_shot_dialogue(&self, id: &ShotId, value: &str) -> Result<()> {
        self.set_prose(&ProseField::ShotDialogue(id.clone()), value)
    }

    pub fn set_scene_title(&self, id: &SceneId, value: &str) -> Result<()> {
        self.set_prose(&ProseField::SceneTitle(id.clone()), value)
    }

    pub fn set_character_description(&self, id: &CharacterId, value: &str) -> Result<()> {
        self.set_prose(&ProseField::CharacterDescription(id.clone()), value)
    }

    /// Whether the document is older than this build's layout and [`Project::upgrade`] would
    /// convert it.
    pub fn needs_upgrade(&self) -> bool {
        self.meta().schema_version < SCHEMA_VERSION
    }

    /// Converts a document of an older schema to [`SCHEMA_VERSION`] and returns the update that
    /// did it, or `None` when the document is already current (so running it twice changes
    /// nothing the second time). Every prose string becomes a text with the same content; a
    /// missing prose field becomes an empty text, so that two first writes of it later do not
    /// compete; a field of the wrong type is left for [`Project::validate`] to report.
    ///
    /// Only the sync server calls this, when its room loads the document and before anyone is
    /// served, and it persists the result like any other edit. A client must not: two peers
    /// converting the same field concurrently would create two texts, and one would be lost.
    /// Fails with [`Error::NewerSchema`] on a document of a newer schema.
    pub fn upgrade(&self) -> Result<Option<Vec<u8>>> {
        self.check_schema()?;
        let mut txn = self.doc.transact_mut();
        let version = get_u32(&self.meta, &txn, schema::meta::SCHEMA_VERSION).unwrap_or(0);
        if version >= SCHEMA_VERSION {
            return Ok(None);
        }
        for (_, root, key) in self.prose_roots() {
            for (_, map) in nested_maps(root, &txn) {
                match read_prose(&map, &txn, key) {
                    // One insert per field: the whole string goes in as a single block.
                    Prose::Plain(s) => {
                        map.insert(&mut txn, key, TextPrelim::new(s));
                    }
                    Prose::Absent => {
                        map.insert(&mut txn, key, TextPrelim::new(""));
                    }
                    Prose::Text(_) | Prose::Malformed => {}
                }
            }
        }
        self.meta
            .insert(&mut txn, schema::meta::SCHEMA_VERSION, SCHEMA_VERSION);
        Ok(Some(txn.encode_update_v1()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_suffix_stay_on_character_boundaries() {
        // "🎬" and "🎥" share their first three UTF-8 bytes; the prefix must not split them.
        use crate::moves::common_ends;
        assert_eq!(common_ends("a🎬b", "a🎥b"), (1, 1));
        assert_eq!(common_ends("a🎬", "b🎬"), (0, "🎬".len()));
        assert_eq!(common_ends("🎬x", "🎥x"), (0, 1));
        assert_eq!(common_ends("abc", "ab"), (2, 0));
        assert_eq!(common_ends("", "x"), (0, 0));
        // The suffix is looked for after the prefix only: "aa" -> "aaa" inserts one "a".
        assert_eq!(common_ends("aa", "aaa"), (2, 0));
    }

    #[test]
    fn utf16_offsets_map_to_byte_indices_without_cutting_pairs() {
        let s = "刘🎬x";
        assert_eq!(byte_at_utf16(s, 0), 0);
        assert_eq!(byte_at_utf16(s, 1), "刘".len());
        // Offset 2 is inside the surrogate pair of 🎬: it moves past it.
        assert_eq!(byte_at_utf16(s, 2), "刘🎬".len());
        assert_eq!(byte_at_utf16(s, 3), "刘🎬".len());
        assert_eq!(byte_at_utf16(s, 99), s.len());
    }
}
