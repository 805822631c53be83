//! The script editor: a `contenteditable` element with one child per line, driven by the
//! document rather than by the browser's own editing.
//!
//! Typing is intercepted at `beforeinput`: the edit goes into the shared `Y.Text`, and the
//! delta yrs reports is applied to [`Lines`] and to the one or two line elements it touches.
//! Nothing reads, renders or diffs the whole text per keystroke, which keeps a 1.75 MB novel
//! responsive. IME composition cannot be intercepted, so it is let through and reconciled at
//! `compositionend` by diffing the one line being composed. Remote deltas arriving during a
//! composition wait until it ends, and the composed text's position is moved through them.
//!
//! Other people's cursors and selections are drawn on an overlay from their presence anchors.

use std::cell::{Cell, RefCell};

use shared_model::ScriptDelta;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, InputEvent, Node};

use crate::lines::{Chunks, LinePatch, Lines, transform};
use crate::session;

#[wasm_bindgen(inline_js = "
export function child_index(parent, child) {
  return Array.prototype.indexOf.call(parent.children, child);
}
")]
extern "C" {
    fn child_index(parent: &Element, child: &Element) -> i32;
}

thread_local! {
    static EDITOR: RefCell<Option<Editor>> = const { RefCell::new(None) };
    /// Deltas reported by yrs, waiting to be applied to the lines and the DOM.
    static QUEUE: RefCell<Vec<Vec<ScriptDelta>>> = const { RefCell::new(Vec::new()) };
    static MOUNTED: Cell<bool> = const { Cell::new(false) };
    static CURSORS_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static PRESENCE_SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Editor {
    root: HtmlElement,
    overlay: HtmlElement,
    lines: Lines,
    /// How line elements are grouped into chunk elements under `root`.
    chunks: Chunks,
    composing: bool,
    listeners: Vec<(web_sys::EventTarget, &'static str, Listener)>,
}

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser page has a document")
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

fn line_html(text: &str, out: &mut String) {
    out.push_str("<div class=\"ln\">");
    if text.is_empty() {
        // An empty block has no height and cannot hold the caret without a <br>.
        out.push_str("<br>");
    } else {
        escape(text, out);
    }
    out.push_str("</div>");
}

fn new_line_element(text: &str) -> Element {
    let el = document()
        .create_element("div")
        .expect("creating a div cannot fail");
    el.set_class_name("ln");
    set_line(&el, text);
    el
}

fn set_line(el: &Element, text: &str) {
    if text.is_empty() {
        el.set_inner_html("<br>");
        return;
    }
    // Changing the data of the existing text node is the cheapest update the browser knows.
    if let Some(child) = el.first_child()
        && child.next_sibling().is_none()
        && let Some(node) = child.dyn_ref::<web_sys::Text>()
    {
        node.set_data(text);
        return;
    }
    el.set_text_content(Some(text));
}

/// Splices a line's text node in place (the browser then re-shapes only around the change);
/// anything else is rewritten whole: an empty line's `<br>`, a line split into several nodes,
/// or a line the browser has already changed itself (an IME composition), which shows as a
/// length other than the one before the edit.
fn edit_line(el: &Element, col: u32, delete: u32, insert: &str, text: &str) {
    let before = text.encode_utf16().count() as u32 + delete - insert.encode_utf16().count() as u32;
    if !text.is_empty()
        && let Some(child) = el.first_child()
        && child.next_sibling().is_none()
        && let Some(node) = child.dyn_ref::<web_sys::Text>()
        && node.length() == before
        && node.replace_data(col, delete, insert).is_ok()
    {
        return;
    }
    set_line(el, text);
}

/// Called by the yrs observer (inside a transaction: nothing may read the document here).
pub(crate) fn queue_delta(delta: &[ScriptDelta]) {
    if MOUNTED.with(Cell::get) {
        QUEUE.with(|q| q.borrow_mut().push(delta.to_vec()));
    }
}

/// Shows the script in `root` and starts handling input. `overlay` is where cursors are drawn.
pub(crate) fn mount(root: HtmlElement, overlay: HtmlElement) {
    unmount();
    let Some(session) = session::current() else {
        return;
    };
    QUEUE.with(|q| q.borrow_mut().clear());
    let text = session.project.script_text();
    let lines = Lines::new(&text);
    let chunks = Chunks::new(lines.count());
    let mut html = String::with_capacity(text.len() + lines.count() * 24);
    let mut line = 0;
    for &size in chunks.sizes() {
        html.push_str("<div class=\"chunk\">");
        for i in line..line + size {
            line_html(lines.line(i), &mut html);
        }
        html.push_str("</div>");
        line += size;
    }
    root.set_inner_html(&html);
    drop(text);
    set_editable_on(&root, session.can_edit());

    let mut listeners = Vec::new();
    let mut listen = |target: &web_sys::EventTarget, name: &'static str, f: Listener| {
        let _ = target.add_event_listener_with_callback(name, f.as_ref().unchecked_ref());
        listeners.push((target.clone(), name, f));
    };
    let target: &web_sys::EventTarget = root.as_ref();
    listen(
        target,
        "beforeinput",
        Closure::new(|e: web_sys::Event| {
            if let Ok(e) = e.dyn_into::<InputEvent>() {
                on_beforeinput(&e);
            }
        }),
    );
    listen(
        target,
        "compositionstart",
        Closure::new(|_| on_composition_start()),
    );
    listen(
        target,
        "compositionend",
        Closure::new(|_| on_composition_end()),
    );
    listen(
        target,
        "input",
        Closure::new(|e: web_sys::Event| {
            let composing = e
                .dyn_ref::<InputEvent>()
                .map(InputEvent::is_composing)
                .unwrap_or(false);
            if !composing && !EDITOR.with(|ed| ed.borrow().as_ref().is_some_and(|e| e.composing)) {
                // Only edits the browser would not let us cancel get here.
                let pending = QUEUE.with(|q| q.borrow().clone());
                reconcile_caret_line(&pending);
            }
        }),
    );
    let doc: web_sys::EventTarget = document().into();
    listen(
        &doc,
        "selectionchange",
        Closure::new(|_| schedule_presence()),
    );
    EDITOR.with(|e| {
        *e.borrow_mut() = Some(Editor {
            root,
            overlay,
            lines,
            chunks,
            composing: false,
            listeners,
        })
    });
    MOUNTED.with(|m| m.set(true));
    session.set_presence(|p| p.view = Some("script".into()));
    redraw_cursors();
}

pub(crate) fn unmount() {
    MOUNTED.with(|m| m.set(false));
    QUEUE.with(|q| q.borrow_mut().clear());
    if let Some(editor) = EDITOR.with(|e| e.borrow_mut().take()) {
        for (target, name, f) in &editor.listeners {
            let _ = target.remove_event_listener_with_callback(name, f.as_ref().unchecked_ref());
        }
        session::with(|s| s.set_presence(|p| p.cursor = None));
    }
}

fn set_editable_on(root: &HtmlElement, editable: bool) {
    // `plaintext-only` keeps pasted markup and formatting shortcuts out of the DOM.
    let _ = root.set_attribute(
        "contenteditable",
        if editable { "plaintext-only" } else { "false" },
    );
    let _ = root.set_attribute("aria-readonly", if editable { "false" } else { "true" });
}

/// Follows a role change (a token refreshed from the server).
pub(crate) fn set_editable(editable: bool) {
    EDITOR.with(|e| {
        if let Some(ed) = &*e.borrow() {
            set_editable_on(&ed.root, editable);
        }
    });
}

/// Applies queued deltas (from the server) to the lines and the DOM, keeping the local
/// selection where it was in the text. Waits while a composition is in progress.
pub(crate) fn flush() {
    apply_queued(true);
}

fn apply_queued(keep_selection: bool) {
    EDITOR.with(|e| {
        let mut guard = e.borrow_mut();
        let Some(ed) = guard.as_mut() else {
            return;
        };
        if ed.composing {
            return;
        }
        let queued = QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()));
        if queued.is_empty() {
            return;
        }
        // Rewriting a text node moves the browser's selection inside it to the node's start,
        // so the local selection is carried through the change by hand.
        let focused = document().active_element().is_some_and(|a| a == *ed.root);
        let selection = if focused && keep_selection {
            selection_offsets(ed)
        } else {
            None
        };
        for delta in &queued {
            let patches = ed.lines.apply(delta);
            apply_patches(&ed.root, &mut ed.chunks, &patches);
        }
        if let Some((mut start, mut end)) = selection {
            for delta in &queued {
                start = transform(start, delta);
                end = transform(end, delta);
            }
            select(ed, start, end);
        }
    });
    redraw_cursors();
}

fn select(ed: &Editor, start: u32, end: u32) {
    let (Some(a), Some(b)) = (dom_point(ed, start), dom_point(ed, end)) else {
        return;
    };
    if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
        let _ = selection.set_base_and_extent(&a.0, a.1, &b.0, b.1);
    }
}

fn new_chunk_element() -> Element {
    let el = document()
        .create_element("div")
        .expect("creating a div cannot fail");
    el.set_class_name("chunk");
    el
}

fn apply_patches(root: &HtmlElement, chunks: &mut Chunks, patches: &[LinePatch]) {
    let chunk_els = root.children();
    for patch in patches {
        match patch {
            LinePatch::Set { line, text } => {
                let (c, i) = chunks.locate(*line);
                if let Some(el) = chunk_els
                    .item(c as u32)
                    .and_then(|ch| ch.children().item(i as u32))
                {
                    set_line(&el, text);
                }
            }
            LinePatch::Edit {
                line,
                col,
                delete,
                insert,
                text,
            } => {
                let (c, i) = chunks.locate(*line);
                if let Some(el) = chunk_els
                    .item(c as u32)
                    .and_then(|ch| ch.children().item(i as u32))
                {
                    edit_line(&el, *col, *delete, insert, text);
                }
            }
            LinePatch::Insert { at, texts } => {
                let (c, i) = chunks.insert(*at, texts.len());
                let Some(chunk) = chunk_els.item(c as u32) else {
                    continue;
                };
                let before = chunk.children().item(i as u32);
                let fragment = document().create_document_fragment();
                for text in texts {
                    let _ = fragment.append_child(&new_line_element(text));
                }
                let _ = chunk.insert_before(&fragment, before.as_ref().map(|e| e.as_ref()));
                // A paste of many lines becomes several chunks, or the browser's per-keystroke
                // work in that chunk grows with it.
                let tail = chunks.split(c);
                let mut after = chunk.next_sibling();
                let mut moving = chunk.children().item(crate::lines::CHUNK_LINES as u32);
                for size in tail {
                    let new_chunk = new_chunk_element();
                    for _ in 0..size {
                        let Some(line) = moving else { break };
                        moving = line.next_element_sibling();
                        let _ = new_chunk.append_child(&line);
                    }
                    let _ = root.insert_before(&new_chunk, after.as_ref());
                    after = new_chunk.next_sibling();
                }
            }
            LinePatch::Remove { at, count } => {
                let before: Vec<Element> = (0..chunks.sizes().len())
                    .filter_map(|c| chunk_els.item(c as u32))
                    .collect();
                for (c, i, n) in chunks.remove(*at, *count) {
                    let Some(chunk) = before.get(c) else { continue };
                    for _ in 0..n {
                        if let Some(el) = chunk.children().item(i as u32) {
                            el.remove();
                        }
                    }
                    if chunk.child_element_count() == 0 && chunks.sizes().len() < before.len() {
                        chunk.remove();
                    }
                }
            }
        }
    }
}

/// The line element for a line.
fn line_element(ed: &Editor, line: usize) -> Option<Element> {
    let (c, i) = ed.chunks.locate(line);
    ed.root.children().item(c as u32)?.children().item(i as u32)
}

/// The line element containing `node`, and its line number.
fn line_of(ed: &Editor, node: &Node) -> Option<(Element, usize)> {
    let root: &Node = ed.root.as_ref();
    let mut line_node = node.clone();
    loop {
        let parent = line_node.parent_node()?;
        if parent.parent_node().as_ref() == Some(root) {
            break;
        }
        line_node = parent;
    }
    let line_el: Element = line_node.dyn_into().ok()?;
    let chunk = line_el.parent_element()?;
    let c = child_index(&ed.root, &chunk);
    let i = child_index(&chunk, &line_el);
    if c < 0 || i < 0 {
        return None;
    }
    Some((line_el, ed.chunks.start(c as usize) + i as usize))
}

/// The text offset of a DOM point inside the editor.
fn dom_offset(ed: &Editor, node: &Node, offset: u32) -> Option<u32> {
    let root: &Node = ed.root.as_ref();
    let line_start = |line: usize| {
        if line >= ed.lines.count() {
            ed.lines.len()
        } else {
            ed.lines.offset(line, 0)
        }
    };
    if node == root {
        return Some(line_start(ed.chunks.start(offset as usize)));
    }
    if node.parent_node().as_ref() == Some(root) {
        // A point between the line elements of a chunk.
        let chunk: &Element = node.dyn_ref()?;
        let c = child_index(&ed.root, chunk);
        if c < 0 {
            return None;
        }
        return Some(line_start(ed.chunks.start(c as usize) + offset as usize));
    }
    let (line_el, line) = line_of(ed, node)?;
    // The range's text length counts UTF-16 units however the line's nodes are split.
    let range = document().create_range().ok()?;
    range.set_start(&line_el, 0).ok()?;
    range.set_end(node, offset).ok()?;
    let col = range.to_string().length();
    Some(ed.lines.offset(line, col))
}

/// The DOM point of a text offset.
fn dom_point(ed: &Editor, offset: u32) -> Option<(Node, u32)> {
    let (line, col) = ed.lines.position(offset);
    let el = line_element(ed, line)?;
    match el.first_child() {
        Some(child) if child.node_type() == Node::TEXT_NODE => Some((child, col)),
        _ => Some((el.into(), 0)),
    }
}

fn selection_offsets(ed: &Editor) -> Option<(u32, u32)> {
    let selection = web_sys::window()?.get_selection().ok()??;
    if selection.range_count() == 0 {
        return None;
    }
    let range = selection.get_range_at(0).ok()?;
    let a = dom_offset(
        ed,
        &range.start_container().ok()?,
        range.start_offset().ok()?,
    )?;
    let b = dom_offset(ed, &range.end_container().ok()?, range.end_offset().ok()?)?;
    Some((a.min(b), a.max(b)))
}

/// The range an input event will act on: its target range when the browser reports one
/// (deletions by word or grapheme), else the selection.
fn target_offsets(ed: &Editor, event: &InputEvent) -> Option<(u32, u32)> {
    let ranges = event.get_target_ranges();
    if ranges.length() > 0
        && let Ok(r) = ranges.get(0).dyn_into::<web_sys::StaticRange>()
    {
        let a = dom_offset(ed, &r.start_container(), r.start_offset());
        let b = dom_offset(ed, &r.end_container(), r.end_offset());
        if let (Some(a), Some(b)) = (a, b) {
            return Some((a.min(b), a.max(b)));
        }
    }
    selection_offsets(ed)
}

fn set_caret(offset: u32) {
    EDITOR.with(|e| {
        let guard = e.borrow();
        let Some(ed) = guard.as_ref() else {
            return;
        };
        let Some((node, col)) = dom_point(ed, offset) else {
            return;
        };
        if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
            let _ = selection.collapse_with_offset(Some(&node), col);
        }
    });
}

/// Replaces `start..end` with `text` in the document and shows the result with the caret after
/// the inserted text.
fn edit(start: u32, end: u32, text: &str) {
    let Some(session) = session::current() else {
        return;
    };
    if !session.can_edit() {
        return;
    }
    if end > start {
        session.project.script_delete(start, end - start);
    }
    if !text.is_empty() {
        session.project.script_insert(start, text);
    }
    // The caret is placed below; restoring the old selection first would cost a second
    // selection update (a layout) per keystroke.
    apply_queued(false);
    set_caret(start + text.encode_utf16().count() as u32);
    if text.contains('\n') {
        scroll_caret_into_view();
    }
}

fn scroll_caret_into_view() {
    let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) else {
        return;
    };
    let Some(node) = selection.focus_node() else {
        return;
    };
    let el = match node.dyn_ref::<Element>() {
        Some(el) => el.clone(),
        None => match node.parent_element() {
            Some(el) => el,
            None => return,
        },
    };
    let options = web_sys::ScrollIntoViewOptions::new();
    options.set_block(web_sys::ScrollLogicalPosition::Nearest);
    el.scroll_into_view_with_scroll_into_view_options(&options);
}

/// The character (one or two UTF-16 units) before or after `offset`.
fn char_range(ed: &Editor, offset: u32, backward: bool) -> (u32, u32) {
    let (line, col) = ed.lines.position(offset);
    if backward {
        if col == 0 {
            return (offset.saturating_sub(1), offset);
        }
        let width = ed.lines.line(line)[..]
            .encode_utf16()
            .take(col as usize)
            .last()
            .map(|u| if (0xDC00..0xE000).contains(&u) { 2 } else { 1 })
            .unwrap_or(1);
        (offset - width, offset)
    } else {
        if col >= ed.lines.line_len(line) {
            return (offset, (offset + 1).min(ed.lines.len()));
        }
        let width = ed
            .lines
            .line(line)
            .encode_utf16()
            .nth(col as usize)
            .map(|u| if (0xD800..0xDC00).contains(&u) { 2 } else { 1 })
            .unwrap_or(1);
        (offset, offset + width)
    }
}

fn plain_text(event: &InputEvent) -> String {
    event
        .data()
        .or_else(|| {
            event
                .data_transfer()
                .and_then(|d| d.get_data("text/plain").ok())
        })
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

fn on_beforeinput(event: &InputEvent) {
    let kind = event.input_type();
    if event.is_composing() || kind == "insertCompositionText" {
        // Composition cannot be cancelled; it is reconciled when it ends.
        return;
    }
    event.prevent_default();
    let planned = EDITOR.with(|e| {
        let guard = e.borrow();
        let ed = guard.as_ref()?;
        let (start, end) = target_offsets(ed, event)?;
        Some(match kind.as_str() {
            "insertText"
            | "insertReplacementText"
            | "insertFromPaste"
            | "insertFromDrop"
            | "insertFromYank"
            | "insertFromPasteAsQuotation" => (start, end, plain_text(event)),
            "insertParagraph" | "insertLineBreak" => (start, end, "\n".to_owned()),
            k if k.starts_with("delete") => {
                if end > start {
                    (start, end, String::new())
                } else {
                    let backward = k.contains("Backward");
                    let (a, b) = char_range(ed, start, backward);
                    (a, b, String::new())
                }
            }
            // Formatting and the browser's own undo history do not apply to plain text that
            // several people edit.
            _ => return None,
        })
    });
    if let Some((start, end, text)) = planned {
        edit(start, end, &text);
    }
}

fn on_composition_start() {
    let selection = EDITOR.with(|e| e.borrow().as_ref().and_then(selection_offsets));
    if let Some((start, end)) = selection
        && end > start
    {
        // The composed text replaces the selection: remove it through the document first, so
        // that the composition happens inside a single line.
        edit(start, end, "");
    }
    EDITOR.with(|e| {
        if let Some(ed) = e.borrow_mut().as_mut() {
            ed.composing = true;
        }
    });
}

fn on_composition_end() {
    EDITOR.with(|e| {
        if let Some(ed) = e.borrow_mut().as_mut() {
            ed.composing = false;
        }
    });
    let pending = QUEUE.with(|q| q.borrow().clone());
    reconcile_caret_line(&pending);
}

/// Brings the document in line with what the browser put in the caret's line (after an IME
/// composition). `concurrent` are deltas that reached the document since the line was last
/// rendered; the local change is moved through them.
fn reconcile_caret_line(concurrent: &[Vec<ScriptDelta>]) {
    let change = EDITOR.with(|e| {
        let guard = e.borrow();
        let ed = guard.as_ref()?;
        let selection = web_sys::window()?.get_selection().ok()??;
        let focus = selection.focus_node()?;
        let (line_el, line) = line_of(ed, &focus)?;
        let shown: Vec<u16> = line_el
            .text_content()
            .unwrap_or_default()
            .encode_utf16()
            .collect();
        let model: Vec<u16> = ed.lines.line(line).encode_utf16().collect();
        if shown == model {
            return None;
        }
        let prefix = shown.iter().zip(&model).take_while(|(a, b)| a == b).count();
        let suffix = shown[prefix..]
            .iter()
            .rev()
            .zip(model[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let base = ed.lines.offset(line, 0);
        let start = base + prefix as u32;
        let end = base + (model.len() - suffix) as u32;
        let inserted = String::from_utf16_lossy(&shown[prefix..shown.len() - suffix]);
        Some((start, end, inserted))
    });
    let Some((mut start, mut end, inserted)) = change else {
        flush();
        return;
    };
    for delta in concurrent {
        start = transform(start, delta);
        end = transform(end, delta).max(start);
    }
    edit(start, end, &inserted);
}

// ---- presence: our cursor out, theirs in ----

fn schedule_presence() {
    if !MOUNTED.with(Cell::get) || PRESENCE_SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    request_frame(|| {
        PRESENCE_SCHEDULED.with(|s| s.set(false));
        let offsets = EDITOR.with(|e| {
            let guard = e.borrow();
            let ed = guard.as_ref()?;
            let selection = web_sys::window()?.get_selection().ok()??;
            let anchor = selection.anchor_node()?;
            if !ed.root.contains(Some(&anchor)) {
                return None;
            }
            selection_offsets(ed)
        });
        if let (Some((start, end)), Some(session)) = (offsets, session::current()) {
            let anchor = session.project.script_anchor(start..end).ok();
            session.set_presence(|p| p.cursor = anchor);
        }
    });
}

fn request_frame(f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(callback.unchecked_ref());
    }
}

/// Redraws other people's cursors on the next frame.
pub(crate) fn redraw_cursors() {
    if !MOUNTED.with(Cell::get) || CURSORS_SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    request_frame(|| {
        CURSORS_SCHEDULED.with(|s| s.set(false));
        draw_cursors();
    });
}

fn draw_cursors() {
    let Some(session) = session::current() else {
        return;
    };
    let cursors = session.peer_cursors();
    EDITOR.with(|e| {
        let guard = e.borrow();
        let Some(ed) = guard.as_ref() else {
            return;
        };
        let overlay = &ed.overlay;
        overlay.set_inner_html("");
        let base = overlay.get_bounding_client_rect();
        let doc = document();
        for (name, color, range) in cursors {
            let (Some(start), Some(end)) = (dom_point(ed, range.start), dom_point(ed, range.end))
            else {
                continue;
            };
            let Ok(dom_range) = doc.create_range() else {
                continue;
            };
            if dom_range.set_start(&start.0, start.1).is_err()
                || dom_range.set_end(&end.0, end.1).is_err()
            {
                continue;
            }
            if range.end > range.start
                && let Some(rects) = dom_range.get_client_rects()
            {
                for i in 0..rects.length() {
                    let Some(r) = rects.get(i) else { continue };
                    if let Ok(div) = doc.create_element("div") {
                        div.set_class_name("peer-selection");
                        let _ = div.set_attribute(
                            "style",
                            &format!(
                                "left:{}px;top:{}px;width:{}px;height:{}px;background:{}33",
                                r.left() - base.left(),
                                r.top() - base.top(),
                                r.width(),
                                r.height(),
                                color
                            ),
                        );
                        let _ = overlay.append_child(&div);
                    }
                }
            }
            // The caret sits at the end of the selection.
            dom_range.collapse_with_to_start(false);
            let rect = dom_range
                .get_client_rects()
                .and_then(|l| l.get(0))
                .or_else(|| {
                    end.0
                        .dyn_ref::<Element>()
                        .map(|el| el.get_bounding_client_rect())
                });
            let Some(r) = rect else { continue };
            if let Ok(caret) = doc.create_element("div") {
                caret.set_class_name("peer-caret");
                let _ = caret.set_attribute(
                    "style",
                    &format!(
                        "left:{}px;top:{}px;height:{}px;border-color:{color}",
                        r.left() - base.left(),
                        r.top() - base.top(),
                        r.height().max(16.0),
                    ),
                );
                if let Ok(label) = doc.create_element("span") {
                    label.set_class_name("peer-label");
                    label.set_text_content(Some(&name));
                    let _ = label.set_attribute("style", &format!("background:{color}"));
                    let _ = caret.append_child(&label);
                }
                let _ = overlay.append_child(&caret);
            }
        }
    });
}
