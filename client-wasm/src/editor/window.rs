//! Windowing: which lines are in the DOM (those in and half a screen around the viewport,
//! plus the selection's lines), their measured heights, and the re-windowing passes scheduled
//! after scrolls, resizes and large edits. Creates and removes line elements through
//! [`super::dom`].

use std::ops::Range;

use web_sys::{Element, Node};

use super::dom::{gap_element, measure_metrics, new_line_element, update_gaps};
use super::offsets::{dom_point, line_of, selection_ends};
use super::{Editor, State, document, request_frame};
use crate::lines::{Child, normalize};

/// The band of the script on screen, in px from the top of the first line.
fn viewport(st: &State) -> Option<(f32, f32)> {
    let root = st.root.get_bounding_client_rect();
    let (top, height) = match &st.scroller {
        Some(s) => {
            let r = s.get_bounding_client_rect();
            (r.top(), r.height())
        }
        None => (0.0, web_sys::window()?.inner_height().ok()?.as_f64()?),
    };
    let top = (top - root.top()) as f32;
    Some((top, top + height as f32))
}

/// The lines holding the selection's ends, which stay in the DOM wherever the view goes.
fn selection_lines(st: &State) -> Vec<usize> {
    let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) else {
        return Vec::new();
    };
    [selection.anchor_node(), selection.focus_node()]
        .into_iter()
        .flatten()
        .filter_map(|node| line_of(st, &node).map(|(_, line)| line))
        .collect()
}

/// Measures the shown lines, then shows the lines in and near the viewport (and the selection's
/// lines) and nothing else. Returns whether the window changed.
pub(super) fn pass(st: &mut State) -> bool {
    if st.composing {
        return false;
    }
    let width = st.root.client_width() as f32;
    if width > 0.0 && (width - st.metrics.width).abs() > 1.0 {
        st.metrics = measure_metrics(&st.root);
        st.layout.reestimate(&st.lines, &st.metrics);
    }
    let children = st.root.children();
    for range in st.layout.ranges().to_vec() {
        for line in range {
            if let Some(el) = st
                .layout
                .child_of_line(line)
                .and_then(|i| children.item(i as u32))
            {
                let h = el.get_bounding_client_rect().height() as f32;
                if h > 0.0 {
                    st.layout.set_height(line, h);
                }
            }
        }
    }
    let Some((top, bottom)) = viewport(st) else {
        return false;
    };
    // Half a screen above and below: scrolling a little, or moving the caret a few lines,
    // needs no new lines.
    let margin = ((bottom - top) * 0.5).max(200.0);
    st.visible = st.layout.lines_between(top, bottom);
    let mut want = vec![st.layout.lines_between(top - margin, bottom + margin)];
    want.extend(selection_lines(st).into_iter().map(|l| l..l + 1));
    let changed = rebuild(st, normalize(want));
    update_gaps(st);
    changed
}

/// Makes the DOM show exactly `want` (sorted, disjoint, non-empty ranges), keeping the elements
/// of lines shown before and after (so the selection inside them survives).
fn rebuild(st: &mut State, want: Vec<Range<usize>>) -> bool {
    if want == st.layout.ranges() {
        return false;
    }
    let selection = web_sys::window().and_then(|w| w.get_selection().ok().flatten());
    let all_selected =
        st.all_selected.is_some() && selection.as_ref().and_then(selection_ends) == st.all_selected;
    let children = st.root.children();
    let all: Vec<Element> = (0..children.length())
        .filter_map(|i| children.item(i))
        .collect();
    let wanted = |line: usize| want.iter().any(|r| r.contains(&line));
    let mut kept: Vec<(usize, Element)> = Vec::new();
    for (i, el) in all.into_iter().enumerate() {
        match st.layout.child(i) {
            Some(Child::Line(line)) if wanted(line) => kept.push((line, el)),
            _ => el.remove(),
        }
    }
    let doc = document();
    let mut fragment = doc.create_document_fragment();
    let mut next = kept.iter().peekable();
    for range in &want {
        let _ = fragment.append_child(&gap_element());
        for line in range.clone() {
            if let Some((_, el)) = next.next_if(|(l, _)| *l == line) {
                // Everything gathered so far goes before the kept element.
                let _ = st.root.insert_before(&fragment, Some(el.as_ref()));
                fragment = doc.create_document_fragment();
            } else {
                let _ = fragment.append_child(&new_line_element(st.lines.line(line)));
            }
        }
    }
    let _ = fragment.append_child(&gap_element());
    let _ = st.root.append_child(&fragment);
    st.gaps = vec![-1.0; want.len() + 1];
    st.layout.set_ranges(want);
    if all_selected && let Some(selection) = selection {
        // The children moved under the selection's root-level ends: select all again.
        let root: &Node = st.root.as_ref();
        let _ = selection.set_base_and_extent(root, 0, root, st.root.child_element_count());
        st.all_selected = selection_ends(&selection);
    }
    true
}

/// The DOM point of a text offset, showing its line first if it is not shown.
pub(super) fn reveal_point(st: &mut State, offset: u32) -> Option<(Node, u32)> {
    let (line, _) = st.lines.position(offset);
    if let Some(after) = st.layout.reveal(line) {
        let children = st.root.children();
        let before = children.item(after as u32 + 1);
        let fragment = document().create_document_fragment();
        let _ = fragment.append_child(&new_line_element(st.lines.line(line)));
        let _ = fragment.append_child(&gap_element());
        let _ = st
            .root
            .insert_before(&fragment, before.as_ref().map(|e| e.as_ref()));
        st.gaps = vec![-1.0; st.layout.ranges().len() + 1];
        update_gaps(st);
    }
    dom_point(st, offset)
}

/// Selects `start..end` of the text, showing the lines of its ends first.
pub(super) fn select(st: &mut State, start: u32, end: u32) {
    let (Some(a), Some(b)) = (reveal_point(st, start), reveal_point(st, end)) else {
        return;
    };
    if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
        let _ = selection.set_base_and_extent(&a.0, a.1, &b.0, b.1);
    }
}

/// Whether every line is in the DOM (then the browser's own select-all is right).
pub(super) fn everything_shown(st: &State) -> bool {
    matches!(st.layout.ranges(), [r] if *r == (0..st.lines.count()))
}

impl Editor {
    /// Re-windows on the next frame (after a scroll, a resize or a large edit).
    pub(super) fn schedule_window(&self) {
        self.frames.window_passes.set(0);
        self.request_window();
    }

    fn request_window(&self) {
        if self.frames.window.replace(true) {
            return;
        }
        let me = self.me.clone();
        request_frame(move || {
            let Some(ed) = me.upgrade() else {
                return;
            };
            ed.frames.window.set(false);
            let changed = pass(&mut ed.state.borrow_mut());
            if changed {
                ed.redraw_cursors();
                // The new lines were estimated: measure them, and settle, on the next frame.
                let passes = ed
                    .frames
                    .window_passes
                    .replace(ed.frames.window_passes.get() + 1);
                if passes < 4 {
                    ed.request_window();
                }
            }
        });
    }
}
