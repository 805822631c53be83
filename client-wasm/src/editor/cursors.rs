//! Presence in the script: the local selection goes out as an anchor, other people's cursors
//! and selections are drawn on the overlay. Reads the DOM; writes only the overlay.

use wasm_bindgen::JsCast;
use web_sys::Element;

use super::offsets::{dom_point, selection_offsets};
use super::{Editor, document, request_frame};

impl Editor {
    /// Announces the local selection on the next frame.
    pub(super) fn schedule_presence(&self) {
        if self.frames.presence.replace(true) {
            return;
        }
        let me = self.me.clone();
        request_frame(move || {
            let Some(ed) = me.upgrade() else {
                return;
            };
            ed.frames.presence.set(false);
            let offsets = (|| {
                let st = ed.state.borrow();
                let selection = web_sys::window()?.get_selection().ok()??;
                let anchor = selection.anchor_node()?;
                if !st.root.contains(Some(&anchor)) {
                    return None;
                }
                selection_offsets(&st)
            })();
            if let (Some((start, end)), Some(session)) = (offsets, ed.session()) {
                let anchor = session.project.script_anchor(start..end).ok();
                session.set_presence(|p| p.cursor = anchor);
            }
        });
    }

    /// Redraws other people's cursors on the next frame.
    pub(super) fn redraw_cursors(&self) {
        if self.frames.cursors.replace(true) {
            return;
        }
        let me = self.me.clone();
        request_frame(move || {
            if let Some(ed) = me.upgrade() {
                ed.frames.cursors.set(false);
                ed.draw_cursors();
            }
        });
    }

    fn draw_cursors(&self) {
        let Some(session) = self.session() else {
            return;
        };
        let cursors = session.peer_cursors();
        let st = self.state.borrow();
        let overlay = &st.overlay;
        overlay.set_inner_html("");
        let base = overlay.get_bounding_client_rect();
        let doc = document();
        for (name, color, range) in cursors {
            let (Some(start), Some(end)) = (dom_point(&st, range.start), dom_point(&st, range.end))
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
    }
}
