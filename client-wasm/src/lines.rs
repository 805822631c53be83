//! The script editor's view of the text: a mirror of the script split into lines, kept up to date
//! from yrs deltas, answering "which DOM lines change" for each edit.
//!
//! A keystroke in a 1.75 MB novel must not re-render or re-diff the whole text. The editor
//! renders one element per line; each change arrives as a [`ScriptDelta`] and becomes a few
//! [`LinePatch`]es (usually one `Set` of the line being typed in). Offsets are UTF-16 code units
//! throughout, the unit of both yrs (as shared-model configures it) and the DOM.

use shared_model::ScriptDelta;

/// A change to the rendered lines, applied in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinePatch {
    /// Line `line` now reads `text`.
    Set { line: usize, text: String },
    /// Within line `line`, `delete` units at column `col` were replaced by `insert`; the line
    /// now reads `text`. Kept apart from `Set` because the browser re-lays out only the changed
    /// part of a text node edited in place, and a Chinese paragraph can be thousands of
    /// characters long.
    Edit {
        line: usize,
        col: u32,
        delete: u32,
        insert: String,
        text: String,
    },
    /// New lines inserted before index `at`.
    Insert { at: usize, texts: Vec<String> },
    /// `count` lines removed starting at `at`.
    Remove { at: usize, count: usize },
}

#[derive(Debug, Clone)]
pub struct Lines {
    lines: Vec<String>,
    /// UTF-16 length of each line (without its newline), so offset lookups never re-encode.
    lens: Vec<u32>,
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// Byte index of a UTF-16 column, clamped to the line; a column inside a surrogate pair rounds
/// down to the character's start.
fn byte_index(s: &str, col: u32) -> usize {
    let mut units = 0u32;
    for (i, c) in s.char_indices() {
        if units >= col {
            return i;
        }
        units += c.len_utf16() as u32;
        if units > col {
            return i;
        }
    }
    s.len()
}

impl Lines {
    pub fn new(text: &str) -> Self {
        let lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        let lens = lines.iter().map(|l| utf16_len(l)).collect();
        Lines { lines, lens }
    }

    pub fn count(&self) -> usize {
        self.lines.len()
    }

    pub fn line(&self, i: usize) -> &str {
        self.lines.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn line_len(&self, i: usize) -> u32 {
        self.lens.get(i).copied().unwrap_or(0)
    }

    /// Total length in UTF-16 units, newlines included.
    pub fn len(&self) -> u32 {
        self.lens.iter().sum::<u32>() + (self.lines.len() as u32).saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole text (tests and small documents only: this copies everything).
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// (line, column) of a text offset, clamped to the end.
    pub fn position(&self, offset: u32) -> (usize, u32) {
        let mut rest = offset;
        for (i, &len) in self.lens.iter().enumerate() {
            if rest <= len {
                return (i, rest);
            }
            rest -= len + 1;
        }
        let last = self.lines.len() - 1;
        (last, self.lens[last])
    }

    /// Text offset of (line, column), clamped to the line and the text.
    pub fn offset(&self, line: usize, col: u32) -> u32 {
        let line = line.min(self.lines.len() - 1);
        let before: u32 = self.lens[..line].iter().sum::<u32>() + line as u32;
        before + col.min(self.lens[line])
    }

    /// Inserts `text` at `offset`.
    pub fn insert(&mut self, offset: u32, text: &str) -> Vec<LinePatch> {
        if text.is_empty() {
            return Vec::new();
        }
        let (line, col) = self.position(offset);
        let at = byte_index(&self.lines[line], col);
        let tail = self.lines[line].split_off(at);
        let mut pieces = text.split('\n');
        // `split` always yields at least one piece.
        let first = pieces.next().unwrap_or_default();
        self.lines[line].push_str(first);
        let mut new_lines: Vec<String> = pieces.map(str::to_owned).collect();
        let mut patches = Vec::with_capacity(2);
        if let Some(last) = new_lines.last_mut() {
            last.push_str(&tail);
        } else {
            self.lines[line].push_str(&tail);
        }
        self.lens[line] = utf16_len(&self.lines[line]);
        if new_lines.is_empty() {
            patches.push(LinePatch::Edit {
                line,
                col,
                delete: 0,
                insert: text.to_owned(),
                text: self.lines[line].clone(),
            });
        } else {
            patches.push(LinePatch::Set {
                line,
                text: self.lines[line].clone(),
            });
        }
        if !new_lines.is_empty() {
            let lens: Vec<u32> = new_lines.iter().map(|l| utf16_len(l)).collect();
            self.lens.splice(line + 1..line + 1, lens);
            self.lines
                .splice(line + 1..line + 1, new_lines.iter().cloned());
            patches.push(LinePatch::Insert {
                at: line + 1,
                texts: new_lines,
            });
        }
        patches
    }

    /// Deletes `len` units at `offset` (clamped to the text).
    pub fn delete(&mut self, offset: u32, len: u32) -> Vec<LinePatch> {
        if len == 0 {
            return Vec::new();
        }
        let (l1, c1) = self.position(offset);
        let (l2, c2) = self.position(offset.saturating_add(len));
        let end_at = byte_index(&self.lines[l2], c2);
        let tail = self.lines[l2][end_at..].to_owned();
        let start_at = byte_index(&self.lines[l1], c1);
        self.lines[l1].truncate(start_at);
        self.lines[l1].push_str(&tail);
        self.lens[l1] = utf16_len(&self.lines[l1]);
        let mut patches = vec![if l1 == l2 {
            LinePatch::Edit {
                line: l1,
                col: c1,
                delete: c2 - c1,
                insert: String::new(),
                text: self.lines[l1].clone(),
            }
        } else {
            LinePatch::Set {
                line: l1,
                text: self.lines[l1].clone(),
            }
        }];
        if l2 > l1 {
            self.lines.drain(l1 + 1..=l2);
            self.lens.drain(l1 + 1..=l2);
            patches.push(LinePatch::Remove {
                at: l1 + 1,
                count: l2 - l1,
            });
        }
        patches
    }

    /// Applies one transaction's delta.
    pub fn apply(&mut self, delta: &[ScriptDelta]) -> Vec<LinePatch> {
        let mut offset = 0u32;
        let mut patches = Vec::new();
        for step in delta {
            match step {
                ScriptDelta::Retain(n) => offset += n,
                ScriptDelta::Insert(text) => {
                    patches.extend(self.insert(offset, text));
                    offset += utf16_len(text);
                }
                ScriptDelta::Delete(n) => patches.extend(self.delete(offset, *n)),
            }
        }
        patches
    }
}

/// Lines per DOM chunk. The editor groups line elements into chunks, each skipped by the browser
/// while off screen (`content-visibility: auto`): with 1,800 lines directly under the editing
/// host, Chrome's per-keystroke layout and selection work grows with the number of children
/// (measured: about twice the latency of a 40-line document); with chunks of 32 it matches it.
pub const CHUNK_LINES: usize = 32;

/// Which chunk holds which lines: sizes only, so the DOM layer can find line `i` without
/// walking the DOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    sizes: Vec<usize>,
}

impl Chunks {
    /// `lines` lines (at least one) in full chunks.
    pub fn new(lines: usize) -> Self {
        let lines = lines.max(1);
        let mut sizes = vec![CHUNK_LINES; lines / CHUNK_LINES];
        if !lines.is_multiple_of(CHUNK_LINES) {
            sizes.push(lines % CHUNK_LINES);
        }
        Chunks { sizes }
    }

    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// (chunk, index in chunk) of a line, clamped to the last line.
    pub fn locate(&self, line: usize) -> (usize, usize) {
        let mut rest = line;
        for (c, &n) in self.sizes.iter().enumerate() {
            if rest < n {
                return (c, rest);
            }
            rest -= n;
        }
        let last = self.sizes.len() - 1;
        (last, self.sizes[last].saturating_sub(1))
    }

    /// The first line of a chunk.
    pub fn start(&self, chunk: usize) -> usize {
        self.sizes[..chunk.min(self.sizes.len())].iter().sum()
    }

    /// Records `count` lines inserted before line `at`; they join the chunk of the line before
    /// them. Returns (chunk, index in chunk) where they go.
    pub fn insert(&mut self, at: usize, count: usize) -> (usize, usize) {
        let (chunk, index) = if at == 0 {
            (0, 0)
        } else {
            let (c, i) = self.locate(at - 1);
            (c, i + 1)
        };
        self.sizes[chunk] += count;
        (chunk, index)
    }

    /// Records `count` lines removed from line `at` on. Returns the (chunk, index, count)
    /// pieces to remove, in chunk order; chunks left empty are dropped from the map, and the
    /// caller removes their (then empty) elements.
    pub fn remove(&mut self, at: usize, count: usize) -> Vec<(usize, usize, usize)> {
        let mut pieces = Vec::new();
        let (mut chunk, mut index) = self.locate(at);
        let mut left = count;
        while left > 0 && chunk < self.sizes.len() {
            let n = left.min(self.sizes[chunk] - index);
            pieces.push((chunk, index, n));
            left -= n;
            chunk += 1;
            index = 0;
        }
        for &(c, _, n) in &pieces {
            self.sizes[c] -= n;
        }
        // Never drop the last chunk: the text always has a line.
        if self.sizes.contains(&0) && self.sizes.len() > 1 {
            self.sizes.retain(|&n| n > 0);
            if self.sizes.is_empty() {
                self.sizes.push(0);
            }
        }
        pieces
    }

    /// Splits an oversized chunk (after a paste) into chunks of [`CHUNK_LINES`]. Returns the
    /// sizes of the new chunks that follow it, or nothing when it is small enough.
    pub fn split(&mut self, chunk: usize) -> Vec<usize> {
        let size = self.sizes[chunk];
        if size <= 2 * CHUNK_LINES {
            return Vec::new();
        }
        let mut rest = size - CHUNK_LINES;
        let mut tail = Vec::new();
        while rest > 0 {
            let n = rest.min(CHUNK_LINES);
            tail.push(n);
            rest -= n;
        }
        self.sizes[chunk] = CHUNK_LINES;
        self.sizes
            .splice(chunk + 1..chunk + 1, tail.iter().copied());
        tail
    }
}

/// Where `offset` ends up after `delta` is applied (someone else's change arriving while ours
/// was not yet in the document). An insertion exactly at `offset` pushes it right.
pub fn transform(offset: u32, delta: &[ScriptDelta]) -> u32 {
    let mut pos = 0u32; // position in the old text
    let mut moved = offset;
    for step in delta {
        if pos > offset {
            break;
        }
        match step {
            ScriptDelta::Retain(n) => pos += n,
            ScriptDelta::Insert(text) => moved += utf16_len(text),
            ScriptDelta::Delete(n) => {
                let overlap = (*n).min(offset.saturating_sub(pos));
                moved -= overlap;
                pos += n;
            }
        }
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_inserts_removals_and_splits() {
        let mut c = Chunks::new(70);
        assert_eq!(c.sizes(), &[32, 32, 6]);
        assert_eq!(c.locate(33), (1, 1));
        assert_eq!(c.start(2), 64);
        // Lines go to the chunk of the line before them.
        assert_eq!(c.insert(32, 2), (0, 32));
        assert_eq!(c.sizes(), &[34, 32, 6]);
        assert_eq!(c.insert(0, 1), (0, 0));
        // A removal across chunks, emptying the middle one.
        let pieces = c.remove(30, 32 + 5 + 3);
        assert_eq!(pieces, vec![(0, 30, 5), (1, 0, 32), (2, 0, 3)]);
        assert_eq!(c.sizes(), &[30, 3]);
        // A large paste is split into chunk-sized pieces.
        c.insert(1, 100);
        assert_eq!(c.split(0), vec![32, 32, 32, 2]);
        assert_eq!(c.sizes(), &[32, 32, 32, 32, 2, 3]);
        assert_eq!(c.sizes().iter().sum::<usize>(), 133);
    }

    #[test]
    fn offsets_transform_through_concurrent_deltas() {
        use ScriptDelta::*;
        assert_eq!(transform(5, &[Retain(2), Insert("abc".into())]), 8);
        assert_eq!(transform(5, &[Retain(5), Insert("abc".into())]), 8);
        assert_eq!(transform(5, &[Retain(6), Insert("abc".into())]), 5);
        assert_eq!(transform(5, &[Retain(1), Delete(2)]), 3);
        assert_eq!(transform(5, &[Retain(4), Delete(3)]), 4);
        assert_eq!(transform(5, &[Delete(9)]), 0);
    }

    /// Applies patches to a plain vector of lines, the way the DOM layer does.
    fn render(view: &mut Vec<String>, patches: &[LinePatch]) {
        for p in patches {
            match p {
                LinePatch::Set { line, text } => view[*line] = text.clone(),
                LinePatch::Edit {
                    line,
                    col,
                    delete,
                    insert,
                    text,
                } => {
                    // Applies the splice itself, then checks it against the full text.
                    let mut units: Vec<u16> = view[*line].encode_utf16().collect();
                    let (col, delete) = (*col as usize, *delete as usize);
                    units.splice(col..col + delete, insert.encode_utf16());
                    view[*line] = String::from_utf16(&units).expect("valid utf-16");
                    assert_eq!(&view[*line], text);
                }
                LinePatch::Insert { at, texts } => {
                    view.splice(*at..*at, texts.iter().cloned());
                }
                LinePatch::Remove { at, count } => {
                    view.drain(*at..*at + *count);
                }
            }
        }
    }

    #[test]
    fn typing_in_a_line_patches_only_that_line() {
        let mut lines = Lines::new("第一回\n宴桃园豪杰三结义\nend");
        let patches = lines.insert(lines.offset(1, 3), "X");
        assert_eq!(
            patches,
            vec![LinePatch::Edit {
                line: 1,
                col: 3,
                delete: 0,
                insert: "X".into(),
                text: "宴桃园X豪杰三结义".into()
            }]
        );
    }

    #[test]
    fn newlines_split_and_join_lines_and_offsets_are_utf16() {
        let text = "a🎬b\ncd";
        let mut lines = Lines::new(text);
        assert_eq!(lines.len(), text.encode_utf16().count() as u32);
        assert_eq!(lines.position(4), (0, 4));
        assert_eq!(lines.position(5), (1, 0));
        assert_eq!(lines.offset(1, 1), 6);

        let mut view: Vec<String> = text.split('\n').map(Into::into).collect();
        let p = lines.insert(3, "\n\n");
        render(&mut view, &p);
        assert_eq!(view, vec!["a🎬", "", "b", "cd"]);
        let p = lines.delete(1, 4);
        render(&mut view, &p);
        assert_eq!(view, vec!["ab", "cd"]);
        assert_eq!(lines.text(), "ab\ncd");
    }

    /// Random edits through the delta path agree with a plain string model.
    #[test]
    fn random_deltas_match_a_string_model() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(n.max(1))) as u32
        };
        let alphabet = ["a", "\n", "刘", "🎬", "bc", "\n\n"];
        let mut model: Vec<u16> = Vec::new();
        let mut lines = Lines::new("");
        let mut view = vec![String::new()];
        for _ in 0..2000 {
            let len = model.len() as u32;
            let at = next(len + 1);
            if next(3) == 0 && len > 0 {
                let n = next(len - at + 1).min(5);
                // Never split a surrogate pair: widen the range to whole characters.
                let s = String::from_utf16_lossy(&model);
                let (start, end) = whole_chars(&s, at, at + n);
                model.drain(start as usize..end as usize);
                let delta = [ScriptDelta::Retain(start), ScriptDelta::Delete(end - start)];
                render(&mut view, &lines.apply(&delta));
            } else {
                let s = String::from_utf16_lossy(&model);
                let (at, _) = whole_chars(&s, at, at);
                let piece = alphabet[next(alphabet.len() as u32) as usize];
                let units: Vec<u16> = piece.encode_utf16().collect();
                model.splice(at as usize..at as usize, units);
                let delta = [ScriptDelta::Retain(at), ScriptDelta::Insert(piece.into())];
                render(&mut view, &lines.apply(&delta));
            }
            let expected = String::from_utf16(&model).expect("valid utf-16");
            assert_eq!(lines.text(), expected);
            assert_eq!(view.join("\n"), expected);
            assert_eq!(lines.len(), model.len() as u32);
        }
    }

    fn whole_chars(s: &str, start: u32, end: u32) -> (u32, u32) {
        let mut bounds = vec![0u32];
        let mut u = 0;
        for c in s.chars() {
            u += c.len_utf16() as u32;
            bounds.push(u);
        }
        let down = |x: u32| *bounds.iter().rev().find(|&&b| b <= x).unwrap_or(&0);
        (down(start), down(end).max(down(start)))
    }
}
