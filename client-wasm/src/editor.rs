//! The script editor: a `contenteditable` element with one child per line, driven by the
//! document rather than by the browser's own editing.
//!
//! Typing is intercepted at `beforeinput`: the edit goes into the shared `Y.Text`, and the
//! delta yrs reports is applied to [`Lines`] and to the one or two line elements it touches.
//! Nothing reads, renders or diffs the whole text per keystroke. IME composition cannot be
//! intercepted, so it is let through and reconciled at `compositionend` by diffing the one line
//! being composed. Remote deltas arriving during a composition wait until it ends, and the
//! composed text's position is moved through them.
//!
//! The editor is windowed: only the lines near the viewport, and the lines holding the
//! selection, are in the DOM; gap elements sized to the height of the lines they stand for
//! fill the rest ([`Layout`]). A browser lays out and paints a contenteditable holding a whole
//! novel slowly on every keystroke, however little changed; with a window it handles a few
//! dozen lines. Heights are estimated from the text until a line has been shown, then
//! measured. Scrolling re-windows on the next frame. Because the DOM does not hold the whole
//! text, select-all, copy and cut, and Ctrl+Home/End to an unshown line are done from the
//! model.
//!
//! Undo and redo (Ctrl/Cmd+Z, Ctrl/Cmd+Shift+Z, Ctrl+Y) take back only this user's own edits,
//! through [`ScriptHistory`]; other people's text is never undone.
//!
//! Other people's cursors and selections are drawn on an overlay from their presence anchors.

use std::cell::{Cell, RefCell};
use std::ops::Range;

use shared_model::{ScriptDelta, ScriptHistory};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, InputEvent, KeyboardEvent, Node};

use crate::lines::{
    Child, Inserted, Layout, LinePatch, Lines, Metrics, RENDER_INSERT_LIMIT, caret_after,
    normalize, transform,
};
use crate::session;

#[wasm_bindgen(inline_js = "
export function child_index(parent, child) {
  return Array.prototype.indexOf.call(parent.children, child);
}
export function set_clipboard(event, text) {
  if (!event.clipboardData) return false;
  event.clipboardData.setData('text/plain', text);
  event.preventDefault();
  return true;
}
")]
extern "C" {
    fn child_index(parent: &Element, child: &Element) -> i32;
    fn set_clipboard(event: &web_sys::Event, text: &str) -> bool;
}

thread_local! {
    static EDITOR: RefCell<Option<Editor>> = const { RefCell::new(None) };
    /// Deltas reported by yrs, waiting to be applied to the lines and the DOM.
    static QUEUE: RefCell<Vec<Vec<ScriptDelta>>> = const { RefCell::new(Vec::new()) };
    static MOUNTED: Cell<bool> = const { Cell::new(false) };
    static CURSORS_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static PRESENCE_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static WINDOW_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// Windowing passes since the last scroll or edit that asked for one: a pass that changes
    /// the window measures the new lines on the next frame, until the window settles.
    static WINDOW_PASSES: Cell<u8> = const { Cell::new(0) };
    /// The local user's undo history, with the session it belongs to (project id and the
    /// session's yrs client id, new for every opening). It outlives the editor (switching to
    /// the board and back keeps it) and is replaced when another session mounts the editor.
    static HISTORY: RefCell<Option<(HistoryKey, ScriptHistory)>> = const { RefCell::new(None) };
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Editor {
    root: HtmlElement,
    overlay: HtmlElement,
    /// The element that scrolls the script (the window when there is none).
    scroller: Option<Element>,
    lines: Lines,
    /// Which lines are in the DOM, and every line's height.
    layout: Layout,
    metrics: Metrics,
    /// The heights last written to the gap elements (negative: not written yet).
    gaps: Vec<f32>,
    /// The lines on screen at the last windowing pass.
    visible: Range<usize>,
    /// The DOM selection that select-all left (anchor, focus), read back after the browser
    /// adjusted it: while the selection is still exactly that, it means the whole text.
    all_selected: Option<((Node, u32), (Node, u32))>,
    composing: bool,
    listeners: Vec<(web_sys::EventTarget, &'static str, Listener)>,
}

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser page has a document")
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
        // An empty block has no height and cannot hold the caret without a <br>.
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

fn gap_element() -> Element {
    let el = document()
        .create_element("div")
        .expect("creating a div cannot fail");
    el.set_class_name("gap");
    // Not a place for the caret: the lines it stands for are shown when scrolled to.
    let _ = el.set_attribute("contenteditable", "false");
    el
}

/// Measures a row's height and a full-width character's advance with a probe line.
fn measure_metrics(root: &HtmlElement) -> Metrics {
    let fallback = Metrics::default();
    let probe = new_line_element("国");
    if root.append_child(&probe).is_err() {
        return fallback;
    }
    let row = probe.get_bounding_client_rect().height() as f32;
    let run = document()
        .create_element("span")
        .expect("creating a span cannot fail");
    run.set_text_content(Some(&"国".repeat(20)));
    probe.set_text_content(None);
    let _ = probe.append_child(&run);
    let wide = run.get_bounding_client_rect().width() as f32 / 20.0;
    let width = root.client_width() as f32;
    probe.remove();
    if row > 0.0 && wide > 0.0 && width > 0.0 {
        Metrics { row, wide, width }
    } else {
        fallback
    }
}

type HistoryKey = (String, u64);

fn history_key(session: &session::Session) -> HistoryKey {
    (session.id.clone(), session.project.doc().client_id().get())
}

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
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
    drop(text);
    root.set_inner_html("");
    let metrics = measure_metrics(&root);
    let heights = (0..lines.count())
        .map(|i| metrics.estimate(lines.line(i)))
        .collect();
    let layout = Layout::new(heights);
    let _ = root.append_child(&gap_element());
    let _ = root.set_attribute("data-lines", &lines.count().to_string());
    set_editable_on(&root, session.can_edit());
    HISTORY.with(|h| {
        let mut h = h.borrow_mut();
        let key = history_key(&session);
        if h.as_ref().is_none_or(|(k, _)| *k != key) {
            *h = Some((key, ScriptHistory::new(&session.project, now_ms)));
        }
    });
    let scroller = root.closest(".script-scroll").ok().flatten();

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
        "keydown",
        Closure::new(|e: web_sys::Event| {
            if let Ok(e) = e.dyn_into::<KeyboardEvent>() {
                on_keydown(&e);
            }
        }),
    );
    listen(
        target,
        "mousedown",
        // A click moves the caret: typing after it is a new undo step.
        Closure::new(|_| stop_capturing()),
    );
    listen(
        target,
        "copy",
        Closure::new(|e: web_sys::Event| on_copy(&e, false)),
    );
    listen(
        target,
        "cut",
        Closure::new(|e: web_sys::Event| on_copy(&e, true)),
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
    if let Some(window) = web_sys::window() {
        let window: web_sys::EventTarget = window.into();
        listen(&window, "resize", Closure::new(|_| schedule_window()));
        if scroller.is_none() {
            listen(&window, "scroll", Closure::new(|_| schedule_window()));
        }
    }
    if let Some(scroller) = &scroller {
        listen(
            scroller.as_ref(),
            "scroll",
            Closure::new(|_| schedule_window()),
        );
    }
    EDITOR.with(|e| {
        let mut editor = Editor {
            root,
            overlay,
            scroller,
            lines,
            layout,
            metrics,
            gaps: vec![-1.0],
            visible: 0..0,
            all_selected: None,
            composing: false,
            listeners,
        };
        // The first window now, so that the first frame shows text; the next frame measures it.
        window_pass(&mut editor);
        *e.borrow_mut() = Some(editor);
    });
    MOUNTED.with(|m| m.set(true));
    schedule_window();
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
            apply_patches(ed, &patches);
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

fn select(ed: &mut Editor, start: u32, end: u32) {
    let (Some(a), Some(b)) = (reveal_point(ed, start), reveal_point(ed, end)) else {
        return;
    };
    if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
        let _ = selection.set_base_and_extent(&a.0, a.1, &b.0, b.1);
    }
}

fn apply_patches(ed: &mut Editor, patches: &[LinePatch]) {
    // After a change the same DOM points may mean other text; a selection carried through the
    // change is set again from offsets.
    ed.all_selected = None;
    let mut structural = false;
    let mut rewindow = false;
    for patch in patches {
        match patch {
            LinePatch::Set { line, text } => {
                if let Some(el) = line_element(ed, *line) {
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
                if let Some(el) = line_element(ed, *line) {
                    edit_line(&el, *col, *delete, insert, text);
                }
            }
            LinePatch::Insert { at, texts } => {
                structural = true;
                let heights: Vec<f32> = texts.iter().map(|t| ed.metrics.estimate(t)).collect();
                let children = ed.root.children();
                match ed.layout.insert(*at, &heights) {
                    Inserted::Hidden => rewindow = true,
                    Inserted::Shown { child } => {
                        let fragment = document().create_document_fragment();
                        for text in texts {
                            let _ = fragment.append_child(&new_line_element(text));
                        }
                        let before = children.item(child as u32);
                        let _ = ed
                            .root
                            .insert_before(&fragment, before.as_ref().map(|e| e.as_ref()));
                    }
                    Inserted::SplitGap { child } => {
                        rewindow = true;
                        let before = children.item(child as u32);
                        let _ = ed
                            .root
                            .insert_before(&gap_element(), before.as_ref().map(|e| e.as_ref()));
                    }
                }
            }
            LinePatch::Remove { at, count } => {
                structural = true;
                rewindow |= *count > RENDER_INSERT_LIMIT;
                let children = ed.root.children();
                let gone: Vec<Element> = ed
                    .layout
                    .remove(*at, *count)
                    .into_iter()
                    .filter_map(|i| children.item(i as u32))
                    .collect();
                for el in gone {
                    el.remove();
                }
            }
        }
    }
    if structural {
        ed.gaps = vec![-1.0; ed.layout.ranges().len() + 1];
        update_gaps(ed);
        let _ = ed
            .root
            .set_attribute("data-lines", &ed.lines.count().to_string());
    }
    if rewindow {
        // A large paste or deletion: the lines now on screen are shown on the next frame.
        schedule_window();
    }
}

/// Writes the gap elements' heights that changed.
fn update_gaps(ed: &mut Editor) {
    let heights = ed.layout.gap_heights();
    ed.gaps.resize(heights.len(), -1.0);
    let children = ed.root.children();
    for (g, &h) in heights.iter().enumerate() {
        if (ed.gaps[g] - h).abs() < 0.5 {
            continue;
        }
        if let Some(el) = children.item(ed.layout.gap_child(g) as u32) {
            let _ = el.set_attribute("style", &format!("height:{h:.1}px"));
            ed.gaps[g] = h;
        }
    }
}

/// The band of the script on screen, in px from the top of the first line.
fn viewport(ed: &Editor) -> Option<(f32, f32)> {
    let root = ed.root.get_bounding_client_rect();
    let (top, height) = match &ed.scroller {
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
fn selection_lines(ed: &Editor) -> Vec<usize> {
    let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) else {
        return Vec::new();
    };
    [selection.anchor_node(), selection.focus_node()]
        .into_iter()
        .flatten()
        .filter_map(|node| line_of(ed, &node).map(|(_, line)| line))
        .collect()
}

/// Measures the shown lines, then shows the lines in and near the viewport (and the selection's
/// lines) and nothing else.
fn window_pass(ed: &mut Editor) -> bool {
    if ed.composing {
        return false;
    }
    let width = ed.root.client_width() as f32;
    if width > 0.0 && (width - ed.metrics.width).abs() > 1.0 {
        ed.metrics = measure_metrics(&ed.root);
        ed.layout.reestimate(&ed.lines, &ed.metrics);
    }
    let children = ed.root.children();
    for range in ed.layout.ranges().to_vec() {
        for line in range {
            if let Some(el) = ed
                .layout
                .child_of_line(line)
                .and_then(|i| children.item(i as u32))
            {
                let h = el.get_bounding_client_rect().height() as f32;
                if h > 0.0 {
                    ed.layout.set_height(line, h);
                }
            }
        }
    }
    let Some((top, bottom)) = viewport(ed) else {
        return false;
    };
    // Half a screen above and below: scrolling a little, or moving the caret a few lines,
    // needs no new lines.
    let margin = ((bottom - top) * 0.5).max(200.0);
    ed.visible = ed.layout.lines_between(top, bottom);
    let mut want = vec![ed.layout.lines_between(top - margin, bottom + margin)];
    want.extend(selection_lines(ed).into_iter().map(|l| l..l + 1));
    let changed = rebuild(ed, normalize(want));
    update_gaps(ed);
    changed
}

/// Makes the DOM show exactly `want` (sorted, disjoint, non-empty ranges), keeping the elements
/// of lines shown before and after (so the selection inside them survives).
fn rebuild(ed: &mut Editor, want: Vec<Range<usize>>) -> bool {
    if want == ed.layout.ranges() {
        return false;
    }
    let selection = web_sys::window().and_then(|w| w.get_selection().ok().flatten());
    let all_selected =
        ed.all_selected.is_some() && selection.as_ref().and_then(selection_ends) == ed.all_selected;
    let children = ed.root.children();
    let all: Vec<Element> = (0..children.length())
        .filter_map(|i| children.item(i))
        .collect();
    let wanted = |line: usize| want.iter().any(|r| r.contains(&line));
    let mut kept: Vec<(usize, Element)> = Vec::new();
    for (i, el) in all.into_iter().enumerate() {
        match ed.layout.child(i) {
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
                let _ = ed.root.insert_before(&fragment, Some(el.as_ref()));
                fragment = doc.create_document_fragment();
            } else {
                let _ = fragment.append_child(&new_line_element(ed.lines.line(line)));
            }
        }
    }
    let _ = fragment.append_child(&gap_element());
    let _ = ed.root.append_child(&fragment);
    ed.gaps = vec![-1.0; want.len() + 1];
    ed.layout.set_ranges(want);
    if all_selected && let Some(selection) = selection {
        // The children moved under the selection's root-level ends: select all again.
        let root: &Node = ed.root.as_ref();
        let _ = selection.set_base_and_extent(root, 0, root, ed.root.child_element_count());
        ed.all_selected = selection_ends(&selection);
    }
    true
}

/// Re-windows on the next frame (after a scroll, a resize or a large edit).
fn schedule_window() {
    WINDOW_PASSES.with(|p| p.set(0));
    request_window();
}

fn request_window() {
    if !MOUNTED.with(Cell::get) || WINDOW_SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    request_frame(|| {
        WINDOW_SCHEDULED.with(|s| s.set(false));
        let changed = EDITOR.with(|e| e.borrow_mut().as_mut().is_some_and(window_pass));
        if changed {
            redraw_cursors();
            // The new lines were estimated: measure them, and settle, on the next frame.
            let passes = WINDOW_PASSES.with(|p| p.replace(p.get() + 1));
            if passes < 4 {
                request_window();
            }
        }
    });
}

/// The line element for a line, if it is shown.
fn line_element(ed: &Editor, line: usize) -> Option<Element> {
    let i = ed.layout.child_of_line(line)?;
    ed.root.children().item(i as u32)
}

/// The editor's child element containing `node` (or being it), and its index.
fn root_child(ed: &Editor, node: &Node) -> Option<(Element, usize)> {
    let root: &Node = ed.root.as_ref();
    let mut child = node.clone();
    loop {
        let parent = child.parent_node()?;
        if &parent == root {
            break;
        }
        child = parent;
    }
    let el: Element = child.dyn_into().ok()?;
    let i = child_index(&ed.root, &el);
    (i >= 0).then_some((el, i as usize))
}

/// The line element containing `node`, and its line number.
fn line_of(ed: &Editor, node: &Node) -> Option<(Element, usize)> {
    let (el, i) = root_child(ed, node)?;
    match ed.layout.child(i)? {
        Child::Line(line) => Some((el, line)),
        Child::Gap(_) => None,
    }
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
        // A point between the editor's children.
        return Some(match ed.layout.child(offset as usize) {
            Some(Child::Line(line)) => line_start(line),
            Some(Child::Gap(g)) => line_start(ed.layout.gap_start(g)),
            None => ed.lines.len(),
        });
    }
    let (line_el, i) = root_child(ed, node)?;
    let line = match ed.layout.child(i)? {
        Child::Line(line) => line,
        // Inside a gap: where the lines it stands for begin.
        Child::Gap(g) => return Some(line_start(ed.layout.gap_start(g))),
    };
    // The common case, a point in the line's one text node, needs no range: the offset in the
    // node is the column (a range's text would copy the paragraph up to the caret).
    if node.node_type() == Node::TEXT_NODE
        && line_el.first_child().as_ref() == Some(node)
        && node.next_sibling().is_none()
    {
        return Some(ed.lines.offset(line, offset));
    }
    // The range's text length counts UTF-16 units however the line's nodes are split.
    let range = document().create_range().ok()?;
    range.set_start(&line_el, 0).ok()?;
    range.set_end(node, offset).ok()?;
    let col = range.to_string().length();
    Some(ed.lines.offset(line, col))
}

/// The DOM point of a text offset, if its line is shown.
fn dom_point(ed: &Editor, offset: u32) -> Option<(Node, u32)> {
    let (line, col) = ed.lines.position(offset);
    let el = line_element(ed, line)?;
    match el.first_child() {
        Some(child) if child.node_type() == Node::TEXT_NODE => Some((child, col)),
        _ => Some((el.into(), 0)),
    }
}

/// The DOM point of a text offset, showing its line first if it is not shown.
fn reveal_point(ed: &mut Editor, offset: u32) -> Option<(Node, u32)> {
    let (line, _) = ed.lines.position(offset);
    if let Some(after) = ed.layout.reveal(line) {
        let children = ed.root.children();
        let before = children.item(after as u32 + 1);
        let fragment = document().create_document_fragment();
        let _ = fragment.append_child(&new_line_element(ed.lines.line(line)));
        let _ = fragment.append_child(&gap_element());
        let _ = ed
            .root
            .insert_before(&fragment, before.as_ref().map(|e| e.as_ref()));
        ed.gaps = vec![-1.0; ed.layout.ranges().len() + 1];
        update_gaps(ed);
    }
    dom_point(ed, offset)
}

fn selection_offsets(ed: &Editor) -> Option<(u32, u32)> {
    let selection = web_sys::window()?.get_selection().ok()??;
    if selection.range_count() == 0 {
        return None;
    }
    if ed.all_selected.is_some() && ed.all_selected == selection_ends(&selection) {
        return Some((0, ed.lines.len()));
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

/// The range an input event will act on: a non-empty selection, else its target range when
/// the browser reports one (deletions by word or grapheme), else the caret.
fn target_offsets(ed: &Editor, event: &InputEvent) -> Option<(u32, u32)> {
    // A selection (select-all included, which spans lines not in the DOM) is replaced whole.
    let collapsed = web_sys::window()
        .and_then(|w| w.get_selection().ok().flatten())
        .is_none_or(|s| s.is_collapsed());
    if !collapsed
        && let Some((a, b)) = selection_offsets(ed)
        && b > a
    {
        return Some((a, b));
    }
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

/// Puts the caret at `offset`; returns whether its line was on screen at the last windowing
/// pass.
fn set_caret(offset: u32) -> bool {
    EDITOR.with(|e| {
        let mut guard = e.borrow_mut();
        let Some(ed) = guard.as_mut() else {
            return true;
        };
        let Some((node, col)) = reveal_point(ed, offset) else {
            return true;
        };
        if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
            let _ = selection.collapse_with_offset(Some(&node), col);
        }
        let (line, _) = ed.lines.position(offset);
        ed.visible.contains(&line)
    })
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
    let on_screen = set_caret(start + text.encode_utf16().count() as u32);
    if text.contains('\n') || !on_screen {
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
    // The browser's own undo history (its menu items arrive here) is replaced by the
    // document's, which never undoes other people's edits.
    match kind.as_str() {
        "historyUndo" => return history_step(false),
        "historyRedo" => return history_step(true),
        _ => {}
    }
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
            // Formatting does not apply to plain text that several people edit.
            _ => return None,
        })
    });
    if let Some((start, end, text)) = planned {
        edit(start, end, &text);
    }
}

fn stop_capturing() {
    HISTORY.with(|h| {
        if let Some((_, history)) = h.borrow_mut().as_mut() {
            history.stop_capturing();
        }
    });
}

/// Undoes (or redoes) the local user's last group of edits and puts the caret where it happened.
fn history_step(redo: bool) {
    let Some(session) = session::current() else {
        return;
    };
    if !session.can_edit() || EDITOR.with(|e| e.borrow().as_ref().is_none_or(|ed| ed.composing)) {
        return;
    }
    // Remote changes that are waiting are shown first, so that the queue then holds only the
    // step's own change.
    flush();
    let key = history_key(&session);
    let changed = HISTORY.with(|h| match h.borrow_mut().as_mut() {
        Some((k, history)) if *k == key => {
            if redo {
                history.redo()
            } else {
                history.undo()
            }
        }
        _ => false,
    });
    if !changed {
        return;
    }
    let caret = QUEUE.with(|q| q.borrow().iter().rev().find_map(|d| caret_after(d)));
    apply_queued(false);
    if let Some(caret) = caret {
        set_caret(caret);
        scroll_caret_into_view();
    }
}

fn on_keydown(event: &KeyboardEvent) {
    if event.is_composing() {
        return;
    }
    let key = event.key();
    if !(event.ctrl_key() || event.meta_key()) || event.alt_key() {
        if key.starts_with("Arrow") || key.starts_with("Page") || key == "Home" || key == "End" {
            stop_capturing();
        }
        return;
    }
    match key.to_lowercase().as_str() {
        "z" => {
            event.prevent_default();
            history_step(event.shift_key());
        }
        "y" if !event.shift_key() => {
            event.prevent_default();
            history_step(true);
        }
        // Left to the browser when every line is in the DOM.
        "a" if !event.shift_key() && !everything_shown() => {
            event.prevent_default();
            select_all();
        }
        "home" | "end" if !event.shift_key() => {
            stop_capturing();
            let end = key == "End";
            let target = EDITOR.with(|e| {
                let guard = e.borrow();
                let ed = guard.as_ref()?;
                let line = if end { ed.lines.count() - 1 } else { 0 };
                (!ed.layout.is_shown(line)).then(|| if end { ed.lines.len() } else { 0 })
            });
            // The browser can only go to lines in the DOM; the first or last line is shown
            // first when it is not.
            if let Some(offset) = target {
                event.prevent_default();
                set_caret(offset);
                scroll_caret_into_view();
            }
        }
        _ => {}
    }
}

fn everything_shown() -> bool {
    EDITOR.with(|e| {
        e.borrow()
            .as_ref()
            .is_none_or(|ed| matches!(ed.layout.ranges(), [r] if *r == (0..ed.lines.count())))
    })
}

/// Selects the whole script, lines not in the DOM included: the selection runs from the start
/// to the end of the editor element, which [`dom_offset`] reads as the whole text.
fn select_all() {
    EDITOR.with(|e| {
        let mut guard = e.borrow_mut();
        let Some(ed) = guard.as_mut() else {
            return;
        };
        if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
            let root: &Node = ed.root.as_ref();
            let _ = selection.set_base_and_extent(root, 0, root, ed.root.child_element_count());
            // The browser moves the ends off the gaps (they are not editable), so the
            // selection is recognised by what it became rather than by where it points.
            ed.all_selected = selection_ends(&selection);
        }
    });
}

fn selection_ends(selection: &web_sys::Selection) -> Option<((Node, u32), (Node, u32))> {
    Some((
        (selection.anchor_node()?, selection.anchor_offset()),
        (selection.focus_node()?, selection.focus_offset()),
    ))
}

/// Copies (and cuts) the selected text from the model: the DOM may hold only part of it.
fn on_copy(event: &web_sys::Event, cut: bool) {
    let selected = EDITOR.with(|e| {
        let guard = e.borrow();
        let ed = guard.as_ref()?;
        let (start, end) = selection_offsets(ed)?;
        (end > start).then(|| (start, end, ed.lines.slice(start, end)))
    });
    if let Some((start, end, text)) = selected
        && set_clipboard(event, &text)
        && cut
    {
        edit(start, end, "");
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
    // Windowing waits while a composition is in progress.
    schedule_window();
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
