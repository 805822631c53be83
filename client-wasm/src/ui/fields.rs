//! Text fields bound to collaborative text in the document: a shot's description and
//! dialogue, a scene's title, a character's name and description.
//!
//! A field writes on every input (not on blur), so that two people typing in the same field
//! see each other's words as they come and the document merges them. A change arriving while
//! the field has focus replaces its value with the caret and selection carried through the
//! change ([`moves::carry_selection`]), instead of jumping to the end. While an input method
//! composes, the field is left alone and nothing is written; at the end of the composition the
//! composed text is merged with whatever arrived meanwhile ([`moves::merge_field`]).

use leptos::prelude::*;
use shared_model::moves;
use wasm_bindgen::JsCast;

/// The DOM side of a text field: a textarea or an input, read and written the same way.
#[derive(Clone)]
enum Control {
    Area(web_sys::HtmlTextAreaElement),
    Line(web_sys::HtmlInputElement),
}

impl Control {
    fn of(el: &web_sys::Element) -> Option<Control> {
        if let Some(a) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            return Some(Control::Area(a.clone()));
        }
        el.dyn_ref::<web_sys::HtmlInputElement>()
            .map(|i| Control::Line(i.clone()))
    }

    fn value(&self) -> String {
        match self {
            Control::Area(a) => a.value(),
            Control::Line(i) => i.value(),
        }
    }

    fn set_value(&self, v: &str) {
        match self {
            Control::Area(a) => a.set_value(v),
            Control::Line(i) => i.set_value(v),
        }
    }

    fn selection(&self) -> Option<(u32, u32)> {
        let (start, end) = match self {
            Control::Area(a) => (a.selection_start(), a.selection_end()),
            Control::Line(i) => (i.selection_start(), i.selection_end()),
        };
        Some((start.ok()??, end.ok()??))
    }

    fn select(&self, start: u32, end: u32) {
        let _ = match self {
            Control::Area(a) => a.set_selection_range(start, end),
            Control::Line(i) => i.set_selection_range(start, end),
        };
    }

    fn focused(&self) -> bool {
        let el: &web_sys::Element = match self {
            Control::Area(a) => a.as_ref(),
            Control::Line(i) => i.as_ref(),
        };
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element())
            .is_some_and(|a| &a == el)
    }
}

/// State shared by a field's handlers.
#[derive(Clone, Copy)]
struct Sync {
    /// The document's text as the field last knew it: what it last showed or wrote (the base
    /// of a merge).
    base: StoredValue<String>,
    /// The document value the field last took in. While the value is still this, nothing
    /// arrived that the field has not shown: its own writes reach the value a moment later.
    seen: StoredValue<String>,
    composing: StoredValue<bool>,
}

impl Sync {
    fn new() -> Self {
        Sync {
            base: StoredValue::new(String::new()),
            seen: StoredValue::new(String::new()),
            composing: StoredValue::new(false),
        }
    }

    /// Shows the document's text `new` in the field, keeping a focused field's selection.
    fn show(&self, control: &Control, new: &str) {
        if self.composing.get_value() {
            // Written at the end of the composition, merged with this.
            return;
        }
        let shown = control.value();
        self.base.set_value(new.to_owned());
        self.seen.set_value(new.to_owned());
        if shown == new {
            return;
        }
        let selection = control.focused().then(|| control.selection()).flatten();
        control.set_value(new);
        if let Some((start, end)) = selection {
            let (start, end) = moves::carry_selection(&shown, new, start, end);
            control.select(start, end);
        }
    }

    /// Writes what the user made of the field, merged with what the document got meanwhile.
    fn write(&self, control: &Control, current: &str, write: &dyn Fn(String)) {
        let local = control.value();
        let base = self.base.get_value();
        if local == base {
            return;
        }
        if current == base || self.seen.with_value(|seen| seen == current) {
            self.base.set_value(local.clone());
            write(local);
            return;
        }
        let (merged, caret) = moves::merge_field(&base, &local, current);
        control.set_value(&merged);
        if control.focused() {
            control.select(caret, caret);
        }
        self.base.set_value(merged.clone());
        write(merged);
    }
}

/// Wires `el` (a textarea or an input) to a document text: shows `value` as it changes and
/// calls `write` with the field's text on every input.
fn bind(
    node: NodeRef<leptos::html::Textarea>,
    line: NodeRef<leptos::html::Input>,
    value: Signal<String>,
) -> (Sync, impl Fn() -> Option<Control> + Copy) {
    let sync = Sync::new();
    let control = move || {
        let el: Option<web_sys::Element> = node
            .get_untracked()
            .map(Into::into)
            .or_else(|| line.get_untracked().map(Into::into));
        el.as_ref().and_then(Control::of)
    };
    Effect::new(move |_| {
        // Tracks the node refs too, so that the first value is shown once mounted.
        let mounted = node.get().is_some() || line.get().is_some();
        let new = value.get();
        if mounted && let Some(c) = control() {
            sync.show(&c, &new);
        }
    });
    (sync, control)
}

/// The field's two writers: every input event outside an IME composition, and the end of a
/// composition (whose text is merged with what arrived meanwhile), both written through `sync`.
fn writers(
    sync: Sync,
    control: impl Fn() -> Option<Control> + Copy + 'static,
    value: Signal<String>,
    write: impl Fn(String) + Clone + 'static,
) -> (
    impl Fn(leptos::ev::Event) + 'static,
    impl Fn(leptos::ev::CompositionEvent) + 'static,
) {
    let on_input = {
        let write = write.clone();
        move |ev: leptos::ev::Event| {
            let composing = ev
                .dyn_ref::<web_sys::InputEvent>()
                .is_some_and(|e| e.is_composing());
            if composing {
                return;
            }
            if let Some(c) = control() {
                sync.write(&c, &value.get_untracked(), &write);
            }
        }
    };
    let on_end = move |_: leptos::ev::CompositionEvent| {
        sync.composing.set_value(false);
        if let Some(c) = control() {
            sync.write(&c, &value.get_untracked(), &write);
        }
    };
    (on_input, on_end)
}

/// A multi-line field (`<textarea>`) bound to a document text.
#[component]
pub(crate) fn LiveTextarea(
    value: Signal<String>,
    write: impl Fn(String) + Clone + 'static,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(optional, into)] class: String,
    #[prop(optional, into)] id: Option<String>,
    #[prop(optional, into)] label: Option<String>,
    #[prop(default = 3)] rows: u32,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Textarea>::new();
    let (sync, control) = bind(node, NodeRef::new(), value);
    let (on_input, on_end) = writers(sync, control, value, write);
    view! {
        <textarea
            node_ref=node
            class=class
            id=id
            aria-label=label
            rows=rows
            prop:disabled=move || disabled.get()
            on:input=on_input
            on:compositionstart=move |_| sync.composing.set_value(true)
            on:compositionend=on_end
        ></textarea>
    }
}

/// A one-line field (`<input type=text>`) bound to a document text.
#[component]
pub(crate) fn LiveInput(
    value: Signal<String>,
    write: impl Fn(String) + Clone + 'static,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(optional, into)] class: String,
    #[prop(optional, into)] id: Option<String>,
    #[prop(optional, into)] label: Option<String>,
    #[prop(optional, into)] list: Option<String>,
) -> impl IntoView {
    let line = NodeRef::<leptos::html::Input>::new();
    let (sync, control) = bind(NodeRef::new(), line, value);
    let (on_input, on_end) = writers(sync, control, value, write);
    view! {
        <input
            node_ref=line
            type="text"
            class=class
            id=id
            aria-label=label
            list=list
            prop:disabled=move || disabled.get()
            on:input=on_input
            on:compositionstart=move |_| sync.composing.set_value(true)
            on:compositionend=on_end
        />
    }
}
