//! Between DOM points and text offsets (UTF-16 units into the script). Reads the DOM and the
//! layout; changes nothing.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, InputEvent, Node};

use super::{State, document};
use crate::lines::Child;

#[wasm_bindgen(inline_js = "
export function child_index(parent, child) {
  return Array.prototype.indexOf.call(parent.children, child);
}
")]
extern "C" {
    fn child_index(parent: &Element, child: &Element) -> i32;
}

/// The line element for a line, if it is shown.
pub(super) fn line_element(st: &State, line: usize) -> Option<Element> {
    let i = st.layout.child_of_line(line)?;
    st.root.children().item(i as u32)
}

/// The editor's child element containing `node` (or being it), and its index.
fn root_child(st: &State, node: &Node) -> Option<(Element, usize)> {
    let root: &Node = st.root.as_ref();
    let mut child = node.clone();
    loop {
        let parent = child.parent_node()?;
        if &parent == root {
            break;
        }
        child = parent;
    }
    let el: Element = child.dyn_into().ok()?;
    let i = child_index(&st.root, &el);
    (i >= 0).then_some((el, i as usize))
}

/// The line element containing `node`, and its line number.
pub(super) fn line_of(st: &State, node: &Node) -> Option<(Element, usize)> {
    let (el, i) = root_child(st, node)?;
    match st.layout.child(i)? {
        Child::Line(line) => Some((el, line)),
        Child::Gap(_) => None,
    }
}

/// The text offset of a DOM point inside the editor.
fn dom_offset(st: &State, node: &Node, offset: u32) -> Option<u32> {
    let root: &Node = st.root.as_ref();
    let line_start = |line: usize| {
        if line >= st.lines.count() {
            st.lines.len()
        } else {
            st.lines.offset(line, 0)
        }
    };
    if node == root {
        // A point between the editor's children.
        return Some(match st.layout.child(offset as usize) {
            Some(Child::Line(line)) => line_start(line),
            Some(Child::Gap(g)) => line_start(st.layout.gap_start(g)),
            None => st.lines.len(),
        });
    }
    let (line_el, i) = root_child(st, node)?;
    let line = match st.layout.child(i)? {
        Child::Line(line) => line,
        // Inside a gap: where the lines it stands for begin.
        Child::Gap(g) => return Some(line_start(st.layout.gap_start(g))),
    };
    // The common case, a point in the line's one text node, needs no range: the offset in the
    // node is the column (a range's text would copy the paragraph up to the caret).
    if node.node_type() == Node::TEXT_NODE
        && line_el.first_child().as_ref() == Some(node)
        && node.next_sibling().is_none()
    {
        return Some(st.lines.offset(line, offset));
    }
    // The range's text length counts UTF-16 units however the line's nodes are split.
    let range = document().create_range().ok()?;
    range.set_start(&line_el, 0).ok()?;
    range.set_end(node, offset).ok()?;
    let col = range.to_string().length();
    Some(st.lines.offset(line, col))
}

/// The DOM point of a text offset, if its line is shown.
pub(super) fn dom_point(st: &State, offset: u32) -> Option<(Node, u32)> {
    let (line, col) = st.lines.position(offset);
    let el = line_element(st, line)?;
    match el.first_child() {
        Some(child) if child.node_type() == Node::TEXT_NODE => Some((child, col)),
        _ => Some((el.into(), 0)),
    }
}

pub(super) fn selection_ends(selection: &web_sys::Selection) -> Option<((Node, u32), (Node, u32))> {
    Some((
        (selection.anchor_node()?, selection.anchor_offset()),
        (selection.focus_node()?, selection.focus_offset()),
    ))
}

pub(super) fn selection_offsets(st: &State) -> Option<(u32, u32)> {
    let selection = web_sys::window()?.get_selection().ok()??;
    if selection.range_count() == 0 {
        return None;
    }
    if st.all_selected.is_some() && st.all_selected == selection_ends(&selection) {
        return Some((0, st.lines.len()));
    }
    let range = selection.get_range_at(0).ok()?;
    let a = dom_offset(
        st,
        &range.start_container().ok()?,
        range.start_offset().ok()?,
    )?;
    let b = dom_offset(st, &range.end_container().ok()?, range.end_offset().ok()?)?;
    Some((a.min(b), a.max(b)))
}

/// The range an input event will act on: a non-empty selection, else its target range when
/// the browser reports one (deletions by word or grapheme), else the caret.
pub(super) fn target_offsets(st: &State, event: &InputEvent) -> Option<(u32, u32)> {
    // A selection (select-all included, which spans lines not in the DOM) is replaced whole.
    let collapsed = web_sys::window()
        .and_then(|w| w.get_selection().ok().flatten())
        .is_none_or(|s| s.is_collapsed());
    if !collapsed
        && let Some((a, b)) = selection_offsets(st)
        && b > a
    {
        return Some((a, b));
    }
    let ranges = event.get_target_ranges();
    if ranges.length() > 0
        && let Ok(r) = ranges.get(0).dyn_into::<web_sys::StaticRange>()
    {
        let a = dom_offset(st, &r.start_container(), r.start_offset());
        let b = dom_offset(st, &r.end_container(), r.end_offset());
        if let (Some(a), Some(b)) = (a, b) {
            return Some((a.min(b), a.max(b)));
        }
    }
    selection_offsets(st)
}

/// The character (one or two UTF-16 units) before or after `offset`.
pub(super) fn char_range(st: &State, offset: u32, backward: bool) -> (u32, u32) {
    let (line, col) = st.lines.position(offset);
    if backward {
        if col == 0 {
            return (offset.saturating_sub(1), offset);
        }
        let width = st.lines.line(line)[..]
            .encode_utf16()
            .take(col as usize)
            .last()
            .map(|u| if (0xDC00..0xE000).contains(&u) { 2 } else { 1 })
            .unwrap_or(1);
        (offset - width, offset)
    } else {
        if col >= st.lines.line_len(line) {
            return (offset, (offset + 1).min(st.lines.len()));
        }
        let width = st
            .lines
            .line(line)
            .encode_utf16()
            .nth(col as usize)
            .map(|u| if (0xD800..0xDC00).contains(&u) { 2 } else { 1 })
            .unwrap_or(1);
        (offset, offset + width)
    }
}
