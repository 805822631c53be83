use std::ops::Range;

use serde::{Deserialize, Serialize};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Assoc, GetString, IndexedSequence, StickyIndex, Text, Transact};

use crate::undo::local_origin;
use crate::{Error, Project, Result};

/// A range of the script that follows the text through concurrent edits: text inserted before
/// it shifts it, text deleted inside it shrinks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptAnchor {
    start: StickyIndex,
    end: StickyIndex,
}

impl ScriptAnchor {
    /// A compact binary form, for storing the anchor inside the document.
    pub fn encode(&self) -> Vec<u8> {
        let start = self.start.encode_v1();
        let end = self.end.encode_v1();
        let mut out = Vec::with_capacity(4 + start.len() + end.len());
        out.extend_from_slice(&(start.len() as u32).to_le_bytes());
        out.extend_from_slice(&start);
        out.extend_from_slice(&end);
        out
    }

    /// The encoded anchor as standard base64: how it travels in JSON (a review thread's
    /// `Anchor::Script`).
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.encode())
    }

    /// Reads [`ScriptAnchor::to_base64`]'s form; anything else is an `InvalidValue` error.
    pub fn from_base64(text: &str) -> Result<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| Error::InvalidValue {
                field: "script anchor",
                reason: e.to_string(),
            })?;
        Self::decode(&bytes)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidValue {
            field: "script anchor",
            reason,
        };
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| invalid("too short".into()))?;
        let len = u32::from_le_bytes(*len) as usize;
        if len > rest.len() {
            return Err(invalid("truncated".into()));
        }
        let (start, end) = rest.split_at(len);
        // yrs asserts on client ids wider than 53 bits instead of returning an error (as in
        // `decode_update`); decoding touches no shared state, so catching the panic is sound.
        let sticky = |bytes: &[u8]| match std::panic::catch_unwind(|| StickyIndex::decode_v1(bytes))
        {
            Ok(Ok(index)) => Ok(index),
            Ok(Err(e)) => Err(invalid(e.to_string())),
            Err(_) => Err(invalid("malformed position".into())),
        };
        Ok(ScriptAnchor {
            start: sticky(start)?,
            end: sticky(end)?,
        })
    }
}

impl Project {
    /// The script's length in UTF-16 code units.
    pub fn script_len(&self) -> u32 {
        self.script.len(&self.doc.transact())
    }

    pub fn script_text(&self) -> String {
        self.script.get_string(&self.doc.transact())
    }

    /// Inserts `text` at a UTF-16 offset. Offsets past the end append.
    pub fn script_insert(&self, index: u32, text: &str) {
        // The local origin makes the edit undoable by this replica's `ScriptHistory`.
        let mut txn = self.doc.transact_mut_with(local_origin());
        let index = index.min(self.script.len(&txn));
        self.script.insert(&mut txn, index, text);
    }

    /// Deletes `len` UTF-16 code units at `index`, clamped to the script.
    pub fn script_delete(&self, index: u32, len: u32) {
        let mut txn = self.doc.transact_mut_with(local_origin());
        let total = self.script.len(&txn);
        let index = index.min(total);
        let len = len.min(total - index);
        if len > 0 {
            self.script.remove_range(&mut txn, index, len);
        }
    }

    /// Replaces the whole script in one transaction (import). Large texts go in as one insert,
    /// which yrs integrates as a single block.
    pub fn script_replace_all(&self, text: &str) {
        let mut txn = self.doc.transact_mut();
        let len = self.script.len(&txn);
        if len > 0 {
            self.script.remove_range(&mut txn, 0, len);
        }
        self.script.insert(&mut txn, 0, text);
    }

    /// Anchors a UTF-16 range of the script so that it survives concurrent edits.
    pub fn script_anchor(&self, range: Range<u32>) -> Result<ScriptAnchor> {
        let txn = self.doc.transact();
        let len = self.script.len(&txn);
        if range.start > range.end || range.end > len {
            return Err(Error::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len,
            });
        }
        let out_of_bounds = || Error::RangeOutOfBounds {
            start: range.start,
            end: range.end,
            len,
        };
        // The start sticks to the character after it and the end to the character before it,
        // so text typed at either edge stays outside the range.
        let start = self
            .script
            .sticky_index(&txn, range.start, Assoc::After)
            // At the very end of the script nothing follows to stick to (yrs has no position
            // there, unlike Yjs): the character before is the only anchor left. A cursor at the
            // end is the most common one.
            .or_else(|| self.script.sticky_index(&txn, range.start, Assoc::Before))
            .ok_or_else(out_of_bounds)?;
        let end = self
            .script
            .sticky_index(&txn, range.end, Assoc::Before)
            .ok_or_else(out_of_bounds)?;
        Ok(ScriptAnchor { start, end })
    }

    /// The anchor's current UTF-16 range, or `None` if it belongs to another document.
    pub fn resolve_anchor(&self, anchor: &ScriptAnchor) -> Option<Range<u32>> {
        let txn = self.doc.transact();
        let start = anchor.start.get_offset(&txn)?.index;
        let end = anchor.end.get_offset(&txn)?.index;
        Some(start..end.max(start))
    }

    /// The text inside an anchored range.
    pub fn anchored_text(&self, anchor: &ScriptAnchor) -> Option<String> {
        let range = self.resolve_anchor(anchor)?;
        let text = self.script_text();
        Some(utf16_slice(&text, range))
    }
}

/// Slices a string by UTF-16 offsets (the unit of script offsets).
pub(crate) fn utf16_slice(text: &str, range: Range<u32>) -> String {
    let units: Vec<u16> = text
        .encode_utf16()
        .skip(range.start as usize)
        .take((range.end - range.start) as usize)
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProjectOptions;

    #[test]
    fn anchors_follow_concurrent_edits_and_round_trip() {
        let a = Project::empty(ProjectOptions::default());
        a.script_insert(0, "INT. HOUSE - DAY\n刘备走进来。\n");
        let start = "INT. HOUSE - DAY\n".encode_utf16().count() as u32;
        let end = start + "刘备走进来。".encode_utf16().count() as u32;
        let anchor = a.script_anchor(start..end).unwrap();
        let anchor = ScriptAnchor::decode(&anchor.encode()).unwrap();

        let b = Project::empty(ProjectOptions::default());
        b.apply_update(&a.encode_state()).unwrap();
        b.script_insert(0, "TITLE 🎬\n");
        a.script_insert(a.script_len(), "THE END");
        a.apply_update(&b.encode_state()).unwrap();

        assert_eq!(a.anchored_text(&anchor).unwrap(), "刘备走进来。");
    }

    #[test]
    fn anchors_at_the_edges_and_in_an_empty_script_resolve() {
        let empty = Project::empty(ProjectOptions::default());
        let anchor = empty.script_anchor(0..0).unwrap();
        assert_eq!(empty.resolve_anchor(&anchor), Some(0..0));

        let a = Project::empty(ProjectOptions::default());
        a.script_insert(0, "刘备\nabc");
        let len = a.script_len();
        for range in [0..0, len..len, 0..len, 3..len] {
            let anchor = a.script_anchor(range.clone()).unwrap();
            assert_eq!(a.resolve_anchor(&anchor), Some(range));
        }
        // Text appended after an end-of-script cursor leaves the cursor where it was.
        let end = a.script_anchor(len..len).unwrap();
        a.script_insert(len, "!");
        assert_eq!(a.resolve_anchor(&end), Some(len..len));
    }

    #[test]
    fn out_of_range_anchor_is_an_error() {
        let a = Project::empty(ProjectOptions::default());
        a.script_insert(0, "abc");
        assert!(matches!(
            a.script_anchor(2..9),
            Err(Error::RangeOutOfBounds { .. })
        ));
        assert!(ScriptAnchor::decode(&[1, 2]).is_err());
    }
}
