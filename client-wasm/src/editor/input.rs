//! Input: `beforeinput` turned into document edits, keys (undo/redo, select-all, Ctrl+Home/End),
//! copy and cut from the model, IME composition reconciled when it ends. The only part of the
//! editor that changes the script.

use std::rc::Rc;

use shared_model::ScriptDelta;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Element, InputEvent, KeyboardEvent, Node};

use super::offsets::{char_range, line_of, selection_ends, selection_offsets, target_offsets};
use super::window::{everything_shown, reveal_point};
use super::{Editor, Listener, document};
use crate::lines::{caret_after, transform};

#[wasm_bindgen(inline_js = "
export function set_clipboard(event, text) {
  if (!event.clipboardData) return false;
  event.clipboardData.setData('text/plain', text);
  event.preventDefault();
  return true;
}
")]
extern "C" {
    fn set_clipboard(event: &web_sys::Event, text: &str) -> bool;
}

/// Attaches the editor's DOM listeners; they hold the editor weakly and are detached when it
/// is dropped.
pub(super) fn listen(editor: &Rc<Editor>) {
    let st = editor.state.borrow();
    let root: web_sys::EventTarget = st.root.clone().into();
    let scroller = st.scroller.clone();
    drop(st);
    let mut listeners = editor.listeners.borrow_mut();
    let mut on =
        |target: &web_sys::EventTarget, name: &'static str, f: fn(&Editor, web_sys::Event)| {
            let weak = Rc::downgrade(editor);
            let closure: Listener = Closure::new(move |e: web_sys::Event| {
                if let Some(ed) = weak.upgrade() {
                    f(&ed, e);
                }
            });
            let _ = target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
            listeners.push((target.clone(), name, closure));
        };
    on(&root, "beforeinput", |ed, e| {
        if let Ok(e) = e.dyn_into::<InputEvent>() {
            on_beforeinput(ed, &e);
        }
    });
    on(&root, "keydown", |ed, e| {
        if let Ok(e) = e.dyn_into::<KeyboardEvent>() {
            on_keydown(ed, &e);
        }
    });
    // A click moves the caret: typing after it is a new undo step.
    on(&root, "mousedown", |ed, _| stop_capturing(ed));
    on(&root, "copy", |ed, e| on_copy(ed, &e, false));
    on(&root, "cut", |ed, e| on_copy(ed, &e, true));
    on(&root, "compositionstart", |ed, _| on_composition_start(ed));
    on(&root, "compositionend", |ed, _| on_composition_end(ed));
    on(&root, "input", |ed, e| {
        let composing = e
            .dyn_ref::<InputEvent>()
            .map(InputEvent::is_composing)
            .unwrap_or(false);
        if !composing && !ed.state.borrow().composing {
            // Only edits the browser would not let us cancel get here.
            let pending = ed.queue.borrow().clone();
            reconcile_caret_line(ed, &pending);
        }
    });
    let doc: web_sys::EventTarget = document().into();
    on(&doc, "selectionchange", |ed, _| ed.schedule_presence());
    if let Some(window) = web_sys::window() {
        let window: web_sys::EventTarget = window.into();
        on(&window, "resize", |ed, _| ed.schedule_window());
        if scroller.is_none() {
            on(&window, "scroll", |ed, _| ed.schedule_window());
        }
    }
    if let Some(scroller) = &scroller {
        on(scroller.as_ref(), "scroll", |ed, _| ed.schedule_window());
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

fn on_beforeinput(ed: &Editor, event: &InputEvent) {
    let kind = event.input_type();
    if event.is_composing() || kind == "insertCompositionText" {
        // Composition cannot be cancelled; it is reconciled when it ends.
        return;
    }
    event.prevent_default();
    // The browser's own undo history (its menu items arrive here) is replaced by the
    // document's, which never undoes other people's edits.
    match kind.as_str() {
        "historyUndo" => return history_step(ed, false),
        "historyRedo" => return history_step(ed, true),
        _ => {}
    }
    let planned = {
        let st = ed.state.borrow();
        target_offsets(&st, event).and_then(|(start, end)| {
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
                        let (a, b) = char_range(&st, start, backward);
                        (a, b, String::new())
                    }
                }
                // Formatting does not apply to plain text that several people edit.
                _ => return None,
            })
        })
    };
    if let Some((start, end, text)) = planned {
        edit(ed, start, end, &text);
    }
}

fn stop_capturing(ed: &Editor) {
    if let Some(session) = ed.session() {
        session.with_script_history(|h| h.stop_capturing());
    }
}

/// Undoes (or redoes) the local user's last group of edits and puts the caret where it happened.
fn history_step(ed: &Editor, redo: bool) {
    let Some(session) = ed.session() else {
        return;
    };
    if !session.can_edit() || ed.state.borrow().composing {
        return;
    }
    // Remote changes that are waiting are shown first, so that the queue then holds only the
    // step's own change.
    ed.apply_queued(true);
    let changed = session.with_script_history(|h| if redo { h.redo() } else { h.undo() });
    if !changed {
        return;
    }
    let caret = ed.queue.borrow().iter().rev().find_map(|d| caret_after(d));
    ed.apply_queued(false);
    if let Some(caret) = caret {
        set_caret(ed, caret);
        scroll_caret_into_view();
    }
}

fn on_keydown(ed: &Editor, event: &KeyboardEvent) {
    if event.is_composing() {
        return;
    }
    let key = event.key();
    if !(event.ctrl_key() || event.meta_key()) || event.alt_key() {
        if key.starts_with("Arrow") || key.starts_with("Page") || key == "Home" || key == "End" {
            stop_capturing(ed);
        }
        return;
    }
    let all_shown = everything_shown(&ed.state.borrow());
    match key.to_lowercase().as_str() {
        "z" => {
            event.prevent_default();
            history_step(ed, event.shift_key());
        }
        "y" if !event.shift_key() => {
            event.prevent_default();
            history_step(ed, true);
        }
        // Left to the browser when every line is in the DOM.
        "a" if !event.shift_key() && !all_shown => {
            event.prevent_default();
            select_all(ed);
        }
        "home" | "end" if !event.shift_key() => {
            stop_capturing(ed);
            let end = key == "End";
            let target = {
                let st = ed.state.borrow();
                let line = if end { st.lines.count() - 1 } else { 0 };
                (!st.layout.is_shown(line)).then(|| if end { st.lines.len() } else { 0 })
            };
            // The browser can only go to lines in the DOM; the first or last line is shown
            // first when it is not.
            if let Some(offset) = target {
                event.prevent_default();
                set_caret(ed, offset);
                scroll_caret_into_view();
            }
        }
        _ => {}
    }
}

/// Selects the whole script, lines not in the DOM included: the selection runs from the start
/// to the end of the editor element, which the offset maths reads as the whole text.
fn select_all(ed: &Editor) {
    let mut st = ed.state.borrow_mut();
    if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
        let root: &Node = st.root.as_ref();
        let _ = selection.set_base_and_extent(root, 0, root, st.root.child_element_count());
        // The browser moves the ends off the gaps (they are not editable), so the
        // selection is recognised by what it became rather than by where it points.
        st.all_selected = selection_ends(&selection);
    }
}

/// Copies (and cuts) the selected text from the model: the DOM may hold only part of it.
fn on_copy(ed: &Editor, event: &web_sys::Event, cut: bool) {
    let selected = {
        let st = ed.state.borrow();
        selection_offsets(&st)
            .filter(|(start, end)| end > start)
            .map(|(start, end)| (start, end, st.lines.slice(start, end)))
    };
    if let Some((start, end, text)) = selected
        && set_clipboard(event, &text)
        && cut
    {
        edit(ed, start, end, "");
    }
}

fn on_composition_start(ed: &Editor) {
    let selection = selection_offsets(&ed.state.borrow());
    if let Some((start, end)) = selection
        && end > start
    {
        // The composed text replaces the selection: remove it through the document first, so
        // that the composition happens inside a single line.
        edit(ed, start, end, "");
    }
    ed.state.borrow_mut().composing = true;
}

fn on_composition_end(ed: &Editor) {
    ed.state.borrow_mut().composing = false;
    let pending = ed.queue.borrow().clone();
    reconcile_caret_line(ed, &pending);
    // Windowing waits while a composition is in progress.
    ed.schedule_window();
}

/// Brings the document in line with what the browser put in the caret's line (after an IME
/// composition). `concurrent` are deltas that reached the document since the line was last
/// rendered; the local change is moved through them.
fn reconcile_caret_line(ed: &Editor, concurrent: &[Vec<ScriptDelta>]) {
    let change = (|| {
        let st = ed.state.borrow();
        let selection = web_sys::window()?.get_selection().ok()??;
        let focus = selection.focus_node()?;
        let (line_el, line) = line_of(&st, &focus)?;
        let shown: Vec<u16> = line_el
            .text_content()
            .unwrap_or_default()
            .encode_utf16()
            .collect();
        let model: Vec<u16> = st.lines.line(line).encode_utf16().collect();
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
        let base = st.lines.offset(line, 0);
        let start = base + prefix as u32;
        let end = base + (model.len() - suffix) as u32;
        let inserted = String::from_utf16_lossy(&shown[prefix..shown.len() - suffix]);
        Some((start, end, inserted))
    })();
    let Some((mut start, mut end, inserted)) = change else {
        ed.apply_queued(true);
        return;
    };
    for delta in concurrent {
        start = transform(start, delta);
        end = transform(end, delta).max(start);
    }
    edit(ed, start, end, &inserted);
}

/// Puts the caret at `offset`; returns whether its line was on screen at the last windowing
/// pass.
fn set_caret(ed: &Editor, offset: u32) -> bool {
    let mut st = ed.state.borrow_mut();
    let Some((node, col)) = reveal_point(&mut st, offset) else {
        return true;
    };
    if let Some(selection) = web_sys::window().and_then(|w| w.get_selection().ok().flatten()) {
        let _ = selection.collapse_with_offset(Some(&node), col);
    }
    let (line, _) = st.lines.position(offset);
    st.visible.contains(&line)
}

/// Replaces `start..end` with `text` in the document and shows the result with the caret after
/// the inserted text.
fn edit(ed: &Editor, start: u32, end: u32, text: &str) {
    let Some(session) = ed.session() else {
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
    ed.apply_queued(false);
    let on_screen = set_caret(ed, start + text.encode_utf16().count() as u32);
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
