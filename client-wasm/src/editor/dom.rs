//! Line and gap elements: created, patched in place, and sized. The only part of the editor
//! that writes them; which lines exist in the DOM is decided by [`super::window`].

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use super::{State, document, offsets};
use crate::lines::{Inserted, LinePatch, Metrics, RENDER_INSERT_LIMIT};

pub(super) fn new_line_element(text: &str) -> Element {
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

pub(super) fn gap_element() -> Element {
    let el = document()
        .create_element("div")
        .expect("creating a div cannot fail");
    el.set_class_name("gap");
    // Not a place for the caret: the lines it stands for are shown when scrolled to.
    let _ = el.set_attribute("contenteditable", "false");
    el
}

/// Measures a row's height and a full-width character's advance with a probe line.
pub(super) fn measure_metrics(root: &HtmlElement) -> Metrics {
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

pub(super) fn set_editable(root: &HtmlElement, editable: bool) {
    // `plaintext-only` keeps pasted markup and formatting shortcuts out of the DOM.
    let _ = root.set_attribute(
        "contenteditable",
        if editable { "plaintext-only" } else { "false" },
    );
    let _ = root.set_attribute("aria-readonly", if editable { "false" } else { "true" });
}

/// Applies line patches to the DOM. Returns whether the window must be redone (a large paste
/// or deletion changed which lines are on screen).
pub(super) fn apply_patches(st: &mut State, patches: &[LinePatch]) -> bool {
    // After a change the same DOM points may mean other text; a selection carried through the
    // change is set again from offsets.
    st.all_selected = None;
    let mut structural = false;
    let mut rewindow = false;
    for patch in patches {
        match patch {
            LinePatch::Set { line, text } => {
                if let Some(el) = offsets::line_element(st, *line) {
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
                if let Some(el) = offsets::line_element(st, *line) {
                    edit_line(&el, *col, *delete, insert, text);
                }
            }
            LinePatch::Insert { at, texts } => {
                structural = true;
                let heights: Vec<f32> = texts.iter().map(|t| st.metrics.estimate(t)).collect();
                let children = st.root.children();
                match st.layout.insert(*at, &heights) {
                    Inserted::Hidden => rewindow = true,
                    Inserted::Shown { child } => {
                        let fragment = document().create_document_fragment();
                        for text in texts {
                            let _ = fragment.append_child(&new_line_element(text));
                        }
                        let before = children.item(child as u32);
                        let _ = st
                            .root
                            .insert_before(&fragment, before.as_ref().map(|e| e.as_ref()));
                    }
                    Inserted::SplitGap { child } => {
                        rewindow = true;
                        let before = children.item(child as u32);
                        let _ = st
                            .root
                            .insert_before(&gap_element(), before.as_ref().map(|e| e.as_ref()));
                    }
                }
            }
            LinePatch::Remove { at, count } => {
                structural = true;
                rewindow |= *count > RENDER_INSERT_LIMIT;
                let children = st.root.children();
                let gone: Vec<Element> = st
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
        st.gaps = vec![-1.0; st.layout.ranges().len() + 1];
        update_gaps(st);
        let _ = st
            .root
            .set_attribute("data-lines", &st.lines.count().to_string());
    }
    rewindow
}

/// Writes the gap elements' heights that changed.
pub(super) fn update_gaps(st: &mut State) {
    let heights = st.layout.gap_heights();
    st.gaps.resize(heights.len(), -1.0);
    let children = st.root.children();
    for (g, &h) in heights.iter().enumerate() {
        if (st.gaps[g] - h).abs() < 0.5 {
            continue;
        }
        if let Some(el) = children.item(st.layout.gap_child(g) as u32) {
            let _ = el.set_attribute("style", &format!("height:{h:.1}px"));
            st.gaps[g] = h;
        }
    }
}
