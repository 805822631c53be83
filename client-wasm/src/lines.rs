//! The script editor's view of the text: a mirror of the script split into lines, kept up to date
//! from yrs deltas, answering "which DOM lines change" for each edit.
//!
//! A keystroke in a 1.75 MB novel must not re-render or re-diff the whole text. The editor
//! renders one element per line; each change arrives as a [`ScriptDelta`] and becomes a few
//! [`LinePatch`]es (usually one `Set` of the line being typed in). Offsets are UTF-16 code units
//! throughout, the unit of both yrs (as shared-model configures it) and the DOM.

use std::ops::Range;

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

    /// The text between two offsets (clamped), newlines included.
    pub fn slice(&self, start: u32, end: u32) -> String {
        let (l1, c1) = self.position(start.min(end));
        let (l2, c2) = self.position(end.max(start));
        let a = byte_index(&self.lines[l1], c1);
        if l1 == l2 {
            let b = byte_index(&self.lines[l1], c2);
            return self.lines[l1][a..b].to_owned();
        }
        let mut out = self.lines[l1][a..].to_owned();
        for line in &self.lines[l1 + 1..l2] {
            out.push('\n');
            out.push_str(line);
        }
        out.push('\n');
        out.push_str(&self.lines[l2][..byte_index(&self.lines[l2], c2)]);
        out
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

/// How tall text renders, measured once in the page; used to estimate the height of lines that
/// have never been shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Height of one visual row (px).
    pub row: f32,
    /// Advance of a full-width (CJK) character (px).
    pub wide: f32,
    /// Width available to a line (px).
    pub width: f32,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            row: 27.2,
            wide: 16.0,
            width: 764.0,
        }
    }
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x20000..=0x3FFFD)
}

impl Metrics {
    /// The estimated height of a line of text: its characters' advances (full-width ones one
    /// em, others a little over half) wrapped at the available width. Wrapping at word
    /// boundaries makes real lines a little taller; measuring a shown line replaces this.
    pub fn estimate(&self, text: &str) -> f32 {
        let advance: f32 = text
            .chars()
            .map(|c| if is_wide(c) { 1.0 } else { 0.55 })
            .sum::<f32>()
            * self.wide;
        let rows = (advance / self.width.max(self.wide)).ceil().max(1.0);
        rows * self.row
    }
}

/// Which child of the editor element is which: the editor shows a few ranges of lines (those
/// near the viewport, and the lines holding the selection), each preceded and the last one also
/// followed by a gap element standing in for the lines not shown, sized to their height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    Line(usize),
    Gap(usize),
}

/// The windowed editor's layout: every line's height (measured when it was last shown,
/// estimated otherwise) and the ranges of lines that are in the DOM. The editor element's
/// children are `gap 0, lines of range 0, gap 1, lines of range 1, ..., gap n`; ranges are
/// sorted and disjoint, never empty, and may touch (their gap then has no height).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    heights: Vec<f32>,
    ranges: Vec<Range<usize>>,
}

/// Lines inserted at once beyond which the new lines are not rendered where they land (a paste
/// of a whole novel); the next windowing pass shows the ones on screen.
pub const RENDER_INSERT_LIMIT: usize = 64;

/// Where new lines went in the DOM (see [`Layout::insert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Into a gap: no elements to create.
    Hidden,
    /// As line elements before child `child`.
    Shown { child: usize },
    /// Into a gap that splits a shown range: a new gap element goes before child `child`.
    SplitGap { child: usize },
}

impl Layout {
    /// A layout with nothing rendered yet (a single gap).
    pub fn new(heights: Vec<f32>) -> Self {
        Layout {
            heights,
            ranges: Vec::new(),
        }
    }

    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    pub fn count(&self) -> usize {
        self.heights.len()
    }

    pub fn height(&self, line: usize) -> f32 {
        self.heights.get(line).copied().unwrap_or(0.0)
    }

    pub fn set_height(&mut self, line: usize, height: f32) {
        if let Some(h) = self.heights.get_mut(line) {
            *h = height;
        }
    }

    pub fn is_shown(&self, line: usize) -> bool {
        self.ranges.iter().any(|r| r.contains(&line))
    }

    pub fn children(&self) -> usize {
        self.ranges.iter().map(|r| r.len() + 1).sum::<usize>() + 1
    }

    /// The DOM child index of a shown line.
    pub fn child_of_line(&self, line: usize) -> Option<usize> {
        let mut child = 0;
        for r in &self.ranges {
            child += 1; // the gap before the range
            if r.contains(&line) {
                return Some(child + line - r.start);
            }
            child += r.len();
        }
        None
    }

    /// The DOM child index of gap `gap`.
    pub fn gap_child(&self, gap: usize) -> usize {
        self.ranges[..gap.min(self.ranges.len())]
            .iter()
            .map(|r| r.len() + 1)
            .sum()
    }

    /// What DOM child `index` is.
    pub fn child(&self, index: usize) -> Option<Child> {
        let mut child = 0;
        for (g, r) in self.ranges.iter().enumerate() {
            if index == child {
                return Some(Child::Gap(g));
            }
            child += 1;
            if index < child + r.len() {
                return Some(Child::Line(r.start + index - child));
            }
            child += r.len();
        }
        (index == child).then_some(Child::Gap(self.ranges.len()))
    }

    /// The first line a gap stands for (equal to the next range's start when it is empty).
    pub fn gap_start(&self, gap: usize) -> usize {
        match gap {
            0 => 0,
            g => self.ranges[g - 1].end,
        }
    }

    /// The lines gap `gap` stands for.
    pub fn gap_lines(&self, gap: usize) -> Range<usize> {
        let end = self.ranges.get(gap).map_or(self.heights.len(), |r| r.start);
        self.gap_start(gap)..end
    }

    /// Height of every gap, in order.
    pub fn gap_heights(&self) -> Vec<f32> {
        (0..=self.ranges.len())
            .map(|g| sum(&self.heights[self.gap_lines(g)]))
            .collect()
    }

    /// Top of a line, from the top of the first.
    pub fn top(&self, line: usize) -> f32 {
        sum(&self.heights[..line.min(self.heights.len())])
    }

    /// The lines that overlap the band `top..bottom` (px from the top of the first line); at
    /// least one line.
    pub fn lines_between(&self, top: f32, bottom: f32) -> Range<usize> {
        let (top, bottom) = (f64::from(top), f64::from(bottom));
        let mut y = 0.0;
        let mut first = None;
        let mut end = self.heights.len();
        for (i, &h) in self.heights.iter().enumerate() {
            if first.is_none() && y + f64::from(h) > top {
                first = Some(i);
            }
            if y >= bottom {
                end = i;
                break;
            }
            y += f64::from(h);
        }
        let last = self.heights.len().saturating_sub(1);
        let first = first.unwrap_or(last);
        first..end.max(first + 1).min(self.heights.len().max(1))
    }

    /// Records `heights.len()` lines inserted before line `at` (after line `at - 1`). They are
    /// shown when the line before them is, unless there are more than
    /// [`RENDER_INSERT_LIMIT`] of them.
    pub fn insert(&mut self, at: usize, heights: &[f32]) -> Inserted {
        let n = heights.len();
        self.heights.splice(at..at, heights.iter().copied());
        let before = at.checked_sub(1);
        let mut result = Inserted::Hidden;
        let mut split = None;
        let mut child = 0;
        for (k, r) in self.ranges.iter_mut().enumerate() {
            child += 1;
            if r.start >= at {
                r.start += n;
                r.end += n;
            } else if let Some(b) = before
                && r.contains(&b)
            {
                let after = child + (b - r.start) + 1;
                if n <= RENDER_INSERT_LIMIT {
                    r.end += n;
                    result = Inserted::Shown { child: after };
                } else if r.end > at {
                    // The shown lines after the insertion point move past the new lines.
                    split = Some((k, at + n..r.end + n));
                    r.end = at;
                    result = Inserted::SplitGap { child: after };
                }
            }
            child += r.len();
        }
        if let Some((k, tail)) = split {
            self.ranges.insert(k + 1, tail);
        }
        result
    }

    /// Records `count` lines removed from line `at` on. Returns the DOM children to remove
    /// (indices before the change): the removed lines' elements and, for each range left
    /// empty, the gap element that followed it.
    pub fn remove(&mut self, at: usize, count: usize) -> Vec<usize> {
        let end = at + count;
        self.heights.drain(at..end.min(self.heights.len()));
        let mut children = Vec::new();
        let mut child = 0;
        let shift = |x: usize| {
            if x <= at {
                x
            } else if x >= end {
                x - count
            } else {
                at
            }
        };
        for r in &mut self.ranges {
            child += 1;
            for line in r.start.max(at)..r.end.min(end) {
                children.push(child + line - r.start);
            }
            child += r.len();
            let (s, e) = (shift(r.start), shift(r.end));
            if s == e {
                // The gap after the emptied range merges into the one before it.
                children.push(child);
            }
            *r = s..e;
        }
        self.ranges.retain(|r| !r.is_empty());
        children
    }

    /// Shows line `line` on its own if it is not shown. Returns the DOM child after which its
    /// element and a new gap element go (the gap it was in, which it splits).
    pub fn reveal(&mut self, line: usize) -> Option<usize> {
        if line >= self.heights.len() || self.is_shown(line) {
            return None;
        }
        let gap = self.ranges.iter().take_while(|r| r.end <= line).count();
        let child = self.gap_child(gap);
        self.ranges.insert(gap, line..line + 1);
        Some(child)
    }

    /// Replaces the shown ranges (sorted, disjoint, non-empty), after the DOM was rebuilt to match.
    pub fn set_ranges(&mut self, ranges: Vec<Range<usize>>) {
        self.ranges = ranges;
    }

    /// Re-estimates every line's height (the page width changed).
    pub fn reestimate(&mut self, lines: &Lines, metrics: &Metrics) {
        for (i, h) in self.heights.iter_mut().enumerate() {
            *h = metrics.estimate(lines.line(i));
        }
    }
}

/// Sums heights in f64: a novel is a few hundred thousand pixels tall, where f32 steps are
/// already a fraction of a pixel.
fn sum(heights: &[f32]) -> f32 {
    heights.iter().map(|&h| f64::from(h)).sum::<f64>() as f32
}

/// Sorts and merges ranges of lines (overlapping or touching ones become one).
pub fn normalize(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.retain(|r| !r.is_empty());
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

// The offset maths over deltas lives next to the document model, where it is tested natively
// with the other pure moves; the editor reaches it through this module as before.
pub use shared_model::moves::{caret_after, transform};

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the editor element's children, changed the way the DOM layer changes
    /// them, to check that [`Layout`]'s child indices always agree with it.
    #[derive(Debug, Clone, PartialEq)]
    enum Node {
        Gap,
        Line(String),
    }

    fn check(layout: &Layout, lines: &Lines, dom: &[Node]) {
        assert_eq!(layout.children(), dom.len(), "{layout:?}");
        assert_eq!(layout.count(), lines.count());
        for (i, node) in dom.iter().enumerate() {
            match (layout.child(i), node) {
                (Some(Child::Gap(_)), Node::Gap) => {}
                (Some(Child::Line(l)), Node::Line(text)) => {
                    assert_eq!(lines.line(l), text);
                    assert_eq!(layout.child_of_line(l), Some(i));
                }
                other => panic!("child {i}: {other:?} in {layout:?}"),
            }
        }
        assert_eq!(layout.child(dom.len()), None);
        for w in layout.ranges().windows(2) {
            assert!(w[0].end <= w[1].start);
        }
        assert!(layout.ranges().iter().all(|r| !r.is_empty()));
    }

    /// Rebuilds the stand-in DOM for new ranges, as the editor's windowing pass does.
    fn rebuild(layout: &mut Layout, lines: &Lines, ranges: Vec<Range<usize>>) -> Vec<Node> {
        let ranges = normalize(ranges);
        let mut dom = vec![Node::Gap];
        for r in &ranges {
            dom.extend(r.clone().map(|l| Node::Line(lines.line(l).to_owned())));
            dom.push(Node::Gap);
        }
        layout.set_ranges(ranges);
        dom
    }

    #[test]
    fn layout_children_follow_edits_reveals_and_windows() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % (n.max(1) as u64)) as usize
        };
        let text: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
        let mut lines = Lines::new(&text.join("\n"));
        let metrics = Metrics::default();
        let mut layout = Layout::new(
            (0..lines.count())
                .map(|i| metrics.estimate(lines.line(i)))
                .collect(),
        );
        let mut dom = rebuild(&mut layout, &lines, vec![10..40, 200..201]);
        check(&layout, &lines, &dom);
        for round in 0..3000 {
            let len = lines.len();
            let at = next(len as usize + 1) as u32;
            let patches = match next(5) {
                0 => {
                    let n = next(80) + 1;
                    let piece = (0..n)
                        .map(|i| format!("p{round}.{i}"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    lines.insert(at, &piece)
                }
                1 => lines.insert(at, &format!("x{round}\n")),
                2 => lines.delete(at, next(200) as u32),
                3 => {
                    let line = next(lines.count());
                    if let Some(after) = layout.reveal(line) {
                        dom.insert(after + 1, Node::Line(lines.line(line).to_owned()));
                        dom.insert(after + 2, Node::Gap);
                    }
                    Vec::new()
                }
                _ => {
                    let a = next(lines.count());
                    let b = (a + next(50)).min(lines.count());
                    let c = next(lines.count());
                    dom = rebuild(&mut layout, &lines, vec![a..b.max(a + 1), c..c + 1]);
                    Vec::new()
                }
            };
            for p in &patches {
                match p {
                    LinePatch::Set { line, text } | LinePatch::Edit { line, text, .. } => {
                        if let Some(i) = layout.child_of_line(*line) {
                            dom[i] = Node::Line(text.clone());
                        }
                    }
                    LinePatch::Insert { at, texts } => {
                        let heights: Vec<f32> = texts.iter().map(|t| metrics.estimate(t)).collect();
                        match layout.insert(*at, &heights) {
                            Inserted::Hidden => {}
                            Inserted::Shown { child } => {
                                dom.splice(
                                    child..child,
                                    texts.iter().map(|t| Node::Line(t.clone())),
                                );
                            }
                            Inserted::SplitGap { child } => dom.insert(child, Node::Gap),
                        }
                    }
                    LinePatch::Remove { at, count } => {
                        let mut gone = layout.remove(*at, *count);
                        gone.sort_unstable();
                        for i in gone.into_iter().rev() {
                            dom.remove(i);
                        }
                    }
                }
            }
            check(&layout, &lines, &dom);
            let gaps: f32 = layout.gap_heights().iter().sum();
            let shown: f32 = layout
                .ranges()
                .iter()
                .flat_map(|r| r.clone())
                .map(|l| layout.height(l))
                .sum();
            let total = layout.top(layout.count());
            assert!((gaps + shown - total).abs() < 1.0 + total * 1e-5);
        }
    }

    #[test]
    fn windows_estimates_and_slices() {
        let m = Metrics {
            row: 20.0,
            wide: 10.0,
            width: 100.0,
        };
        assert_eq!(m.estimate(""), 20.0);
        assert_eq!(m.estimate(&"国".repeat(10)), 20.0);
        assert_eq!(m.estimate(&"国".repeat(11)), 40.0);
        let layout = Layout::new(vec![20.0, 40.0, 20.0, 20.0]);
        assert_eq!(layout.lines_between(0.0, 10.0), 0..1);
        assert_eq!(layout.lines_between(25.0, 61.0), 1..3);
        assert_eq!(layout.lines_between(500.0, 600.0), 3..4);
        assert_eq!(normalize(vec![5..6, 1..3, 2..5, 9..9]), vec![1..6]);

        let lines = Lines::new("a🎬b\ncd\nef");
        assert_eq!(lines.slice(1, 7), "🎬b\ncd");
        assert_eq!(lines.slice(0, lines.len()), "a🎬b\ncd\nef");
        assert_eq!(lines.slice(4, 5), "\n");
        assert_eq!(lines.slice(5, 6), "c");
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
