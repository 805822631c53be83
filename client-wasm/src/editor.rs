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
//! through the session's [`ScriptHistory`](shared_model::ScriptHistory); other people's text is
//! never undone.
//!
//! Other people's cursors and selections are drawn on an overlay from their presence anchors.
//!
//! The mounted editor is one [`Editor`], registered with the session as its
//! [`ScriptListener`] on mount and dropped on unmount; the session knows nothing else about
//! it. Its rooms:
//! - this file: the editor's state, mounting, and carrying queued deltas into the DOM;
//! - [`dom`]: creating and patching line and gap elements (the only room that writes them);
//! - [`window`]: which lines are in the DOM, measured heights, scheduling re-windows;
//! - [`offsets`]: DOM points to text offsets and back (reads the DOM, changes nothing);
//! - [`input`]: keys, `beforeinput`, IME, clipboard, undo (the only room that edits the script);
//! - [`cursors`]: our selection out to presence, other people's cursors in.

mod cursors;
mod dom;
mod input;
mod offsets;
mod window;

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::rc::{Rc, Weak};

use shared_model::ScriptDelta;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlElement, Node};

use crate::lines::{Layout, Lines, Metrics, transform};
use crate::session::{self, ScriptListener, Session};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// The mounted editor. The session holds it (as its script listener) while it is mounted; the
/// DOM listeners and frame callbacks hold only weak references, so unmounting drops it.
pub(crate) struct Editor {
    me: Weak<Editor>,
    session: Weak<Session>,
    state: RefCell<State>,
    /// Deltas reported by yrs, waiting to be applied to the lines and the DOM. Apart from
    /// `state` because yrs reports them inside a transaction, which the editor may start while
    /// it is looking at its state.
    queue: RefCell<Vec<Vec<ScriptDelta>>>,
    frames: Frames,
    listeners: RefCell<Vec<(web_sys::EventTarget, &'static str, Listener)>>,
}

/// What the editor shows and where.
struct State {
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
}

/// Work asked for the next animation frame, so that a burst of events costs one pass.
#[derive(Default)]
struct Frames {
    cursors: Cell<bool>,
    presence: Cell<bool>,
    window: Cell<bool>,
    /// Windowing passes since the last scroll or edit that asked for one: a pass that changes
    /// the window measures the new lines on the next frame, until the window settles.
    window_passes: Cell<u8>,
}

fn document() -> web_sys::Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser page has a document")
}

fn request_frame(f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(callback.unchecked_ref());
    }
}

/// Shows the script in `root` and starts handling input. `overlay` is where cursors are drawn.
/// Returns the editor, held by the session until [`unmount`] (or another mount).
pub(crate) fn mount(root: HtmlElement, overlay: HtmlElement) -> Option<Weak<Editor>> {
    let session = session::current()?;
    session.unlisten_script();
    let text = session.project.script_text();
    let lines = Lines::new(&text);
    drop(text);
    root.set_inner_html("");
    let metrics = dom::measure_metrics(&root);
    let heights = (0..lines.count())
        .map(|i| metrics.estimate(lines.line(i)))
        .collect();
    let layout = Layout::new(heights);
    let _ = root.append_child(&dom::gap_element());
    let _ = root.set_attribute("data-lines", &lines.count().to_string());
    dom::set_editable(&root, session.can_edit());
    let scroller = root.closest(".script-scroll").ok().flatten();
    let editor = Rc::new_cyclic(|me| Editor {
        me: me.clone(),
        session: Rc::downgrade(&session),
        state: RefCell::new(State {
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
        }),
        queue: RefCell::new(Vec::new()),
        frames: Frames::default(),
        listeners: RefCell::new(Vec::new()),
    });
    input::listen(&editor);
    // The first window now, so that the first frame shows text; the next frame measures it.
    window::pass(&mut editor.state.borrow_mut());
    session.listen_script(editor.clone());
    editor.schedule_window();
    session.set_presence(|p| p.view = Some("script".into()));
    editor.redraw_cursors();
    Some(Rc::downgrade(&editor))
}

/// Stops the editor: the session drops it, which detaches its listeners.
pub(crate) fn unmount() {
    session::with(|s| s.unlisten_script());
}

impl Drop for Editor {
    fn drop(&mut self) {
        for (target, name, f) in self.listeners.get_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(name, f.as_ref().unchecked_ref());
        }
        if let Some(session) = self.session.upgrade() {
            session.set_presence(|p| p.cursor = None);
        }
    }
}

impl ScriptListener for Editor {
    /// Called by the yrs observer (inside a transaction: nothing may read the document here).
    fn delta(&self, delta: &[ScriptDelta]) {
        self.queue.borrow_mut().push(delta.to_vec());
    }

    /// Applies queued deltas (from the server) to the lines and the DOM, keeping the local
    /// selection where it was in the text. Waits while a composition is in progress.
    fn flushed(&self) {
        self.apply_queued(true);
    }

    fn peers_changed(&self) {
        self.redraw_cursors();
    }
}

impl Editor {
    fn session(&self) -> Option<Rc<Session>> {
        self.session.upgrade()
    }

    /// Follows a role change (a token refreshed from the server).
    pub(crate) fn set_editable(&self, editable: bool) {
        dom::set_editable(&self.state.borrow().root, editable);
    }

    /// The selected script range (UTF-16 offsets, start before end), when the selection is
    /// non-empty and inside this editor: what a review comment on the script anchors to.
    pub(crate) fn selected_range(&self) -> Option<(u32, u32)> {
        let st = self.state.try_borrow().ok()?;
        offsets::selection_offsets(&st).filter(|(a, b)| a < b)
    }

    /// The top of the line holding each offset, in px from the top of the editor's element
    /// (lines not in the DOM are placed by their estimated heights): where the review margin
    /// puts its markers.
    pub(crate) fn line_tops(&self, at: &[u32]) -> Vec<f32> {
        let Ok(st) = self.state.try_borrow() else {
            return Vec::new();
        };
        let len = st.lines.len();
        at.iter()
            .map(|&o| st.layout.top(st.lines.position(o.min(len)).0))
            .collect()
    }

    /// Selects `start..end`, showing its lines, and scrolls it into view (a review thread's
    /// "show in the script").
    pub(crate) fn reveal(&self, start: u32, end: u32) {
        let Ok(mut st) = self.state.try_borrow_mut() else {
            return;
        };
        let len = st.lines.len();
        window::select(&mut st, start.min(len), end.min(len));
        let (line, _) = st.lines.position(start.min(len));
        if let Some(el) = offsets::line_element(&st, line) {
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            el.scroll_into_view_with_scroll_into_view_options(&options);
        }
        drop(st);
        self.schedule_window();
    }

    fn apply_queued(&self, keep_selection: bool) {
        self.apply_deltas(keep_selection);
        self.redraw_cursors();
    }

    fn apply_deltas(&self, keep_selection: bool) {
        let mut st = self.state.borrow_mut();
        if st.composing {
            return;
        }
        let queued = std::mem::take(&mut *self.queue.borrow_mut());
        if queued.is_empty() {
            return;
        }
        // Rewriting a text node moves the browser's selection inside it to the node's start,
        // so the local selection is carried through the change by hand.
        let focused = document().active_element().is_some_and(|a| a == *st.root);
        let selection = if focused && keep_selection {
            offsets::selection_offsets(&st)
        } else {
            None
        };
        let mut rewindow = false;
        for delta in &queued {
            let patches = st.lines.apply(delta);
            rewindow |= dom::apply_patches(&mut st, &patches);
        }
        if let Some((mut start, mut end)) = selection {
            for delta in &queued {
                start = transform(start, delta);
                end = transform(end, delta);
            }
            window::select(&mut st, start, end);
        }
        if rewindow {
            // A large paste or deletion: the lines now on screen are shown on the next frame.
            self.schedule_window();
        }
    }
}
