//! Review mode: threads and comments on shots, script ranges and the project; verdicts on a
//! version; the name a share link's holder gives once. The review document is read through
//! [`crate::review`] (synced read-only); every change is a REST command (`api/review.rs`).
//!
//! What lives where:
//! - this file: the [`Host`] (the workspace's review state, in the context), opening the
//!   project with the right token, the layer the workspace mounts (panel, verdict bar, join
//!   bar, keyboard shortcuts), the header's toggle, the shot cards' badge and the script's
//!   margin;
//! - [`panel`]: the side panel of threads, their comments and the composer with @mentions;
//! - [`verdict`]: the verdict bar of the version under review;
//! - [`identity`]: the name asked once of a share link's holder, and the revoked notice.
//!
//! The board and the script know nothing of reviews beyond mounting [`ShotBadge`] and
//! [`ScriptMargin`]; the margin sits outside the editor's lines (only `editor/dom.rs` makes
//! those) and asks the editor where a line is.

mod identity;
mod panel;
mod verdict;

use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use api_types::{
    Anchor, NewAnchor, Role as WireRole, ShotId, Thread, ThreadId, ThreadStatus, VersionId,
};
use leptos::prelude::*;
use shared_model::{MetaPatch, ScriptAnchor};
use wasm_bindgen::JsCast;

use super::{Lang, ctx};
use crate::review::{self, ReviewSignals};
use crate::session::{self, Session, Signals};
use crate::storage::StoredProject;
use crate::{editor, storage};

pub(crate) use identity::{JoinBar, RevokedNotice};

const STYLE: &str = include_str!("review/review.css");

/// Where the script view keeps its weak handle on the mounted editor.
pub(crate) type MountedEditor = StoredValue<Option<Weak<editor::Editor>>, LocalStorage>;

/// Which threads the panel lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    Open,
    Resolved,
    Mine,
    Orphaned,
}

impl Filter {
    const ALL: [Filter; 4] = [
        Filter::Open,
        Filter::Resolved,
        Filter::Mine,
        Filter::Orphaned,
    ];

    fn slug(self) -> &'static str {
        match self {
            Filter::Open => "open",
            Filter::Resolved => "resolved",
            Filter::Mine => "mine",
            Filter::Orphaned => "orphaned",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Filter::Open => "Unresolved",
            Filter::Resolved => "Resolved",
            Filter::Mine => "Mine",
            Filter::Orphaned => "Orphaned",
        }
    }
}

/// What a new thread is about, chosen before its first comment is written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Draft {
    Project,
    Shot(ShotId),
    /// A script range, already anchored (base64 of the `ScriptAnchor`) so that it follows
    /// edits made while the comment is written; `quote` is the text selected.
    Script {
        anchor: String,
        quote: String,
    },
}

impl Draft {
    fn to_anchor(&self) -> NewAnchor {
        match self {
            Draft::Project => NewAnchor::Project,
            Draft::Shot(id) => NewAnchor::Shot {
                shot_id: id.clone(),
            },
            Draft::Script { anchor, .. } => NewAnchor::Script {
                anchor: Some(anchor.clone()),
                start: None,
                end: None,
            },
        }
    }
}

/// A thread as the panel shows it: the document's thread plus what the project says about its
/// anchor now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ThreadView {
    pub(crate) thread: Thread,
    pub(crate) orphaned: bool,
    /// The shot's number on the board, for a shot thread whose shot exists.
    pub(crate) shot_number: Option<usize>,
    /// The words the range covers now (a script thread that is not orphaned).
    pub(crate) text_now: Option<String>,
    /// Where the range starts now, for the margin and "show in script".
    pub(crate) range: Option<(u32, u32)>,
}

/// The workspace's review state, provided as context by the workspace. `Copy`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Host {
    /// The project's signals, once its session is open.
    pub(crate) project: RwSignal<Option<Signals>>,
    pub(crate) review: ReviewSignals,
    /// The side panel is open.
    pub(crate) open: RwSignal<bool>,
    pub(crate) filter: RwSignal<Filter>,
    /// Only the threads of this shot (its badge was clicked).
    pub(crate) shot_filter: RwSignal<Option<ShotId>>,
    /// The thread last stepped to or clicked.
    pub(crate) focus: RwSignal<Option<ThreadId>>,
    /// A new thread being written.
    pub(crate) draft: RwSignal<Option<Draft>>,
    /// The version whose verdict bar is shown.
    pub(crate) reviewing: RwSignal<Option<VersionId>>,
    /// Shots that some verdict on the reviewed version is stale for.
    pub(crate) stale: RwSignal<HashSet<ShotId>>,
    /// Bumped (at most every 300 ms) when the script changes, so that script anchors are
    /// resolved again without doing it per keystroke.
    pub(crate) script_rev: RwSignal<u64>,
    /// The name is being asked for (a share link not yet joined, or a first comment the
    /// server refused for want of one).
    pub(crate) asking: RwSignal<bool>,
    /// The threads with what the project says about their anchors, and open threads per shot.
    pub(crate) views: Views,
    /// The script view's handle on its editor, while the script is shown (set by
    /// [`ScriptMargin`]): the selection to comment on, where lines are, "show in script".
    script: StoredValue<Option<MountedEditor>, LocalStorage>,
    /// The title and language of a project this browser has just created (see `Session::open`).
    created: StoredValue<Option<MetaPatch>, LocalStorage>,
    /// The app-wide error banner.
    pub(crate) banner: RwSignal<Option<String>>,
}

pub(crate) fn host() -> Option<Host> {
    use_context::<Host>()
}

impl Host {
    /// Makes the workspace's review state and provides it to everything below.
    pub(crate) fn provide(project: RwSignal<Option<Signals>>) -> Host {
        let review = ReviewSignals::new();
        let script_rev = RwSignal::new(0);
        let threads = thread_views(project, review, script_rev);
        let host = Host {
            project,
            review,
            views: Views {
                threads,
                per_shot: shot_counts(threads),
            },
            open: RwSignal::new(false),
            filter: RwSignal::new(Filter::Open),
            shot_filter: RwSignal::new(None),
            focus: RwSignal::new(None),
            draft: RwSignal::new(None),
            reviewing: RwSignal::new(None),
            stale: RwSignal::new(HashSet::new()),
            script_rev,
            asking: review.ask_name,
            script: StoredValue::new_local(None),
            created: StoredValue::new_local(None),
            banner: ctx().banner,
        };
        provide_context(host);
        on_cleanup(review::close_current);
        host
    }

    /// Opens the project's session and its review with the token stored for it.
    pub(crate) fn open_project(self, project: StoredProject, created: Option<MetaPatch>) {
        self.created.set_value(created);
        self.start(project.id, project.token, project.role);
    }

    fn start(self, id: String, token: String, role: session::Role) {
        let created = self.created.try_update_value(Option::take).flatten();
        let banner = self.banner;
        leptos::task::spawn_local(async move {
            let session = Session::open(id.clone(), token.clone(), role, created, banner).await;
            let signals = session.signals;
            let rev = self.script_rev;
            // Called by yrs inside the transaction: only a timer is started here.
            session
                .project
                .observe_script("review", move |_| schedule_script_rev(rev));
            if self.project.try_set(Some(signals)).is_some() {
                // The workspace went away while the project was opening.
                session::close_current();
                return;
            }
            review::open(id, token, None, banner, self.review);
        });
    }

    /// The holder of a share link gives their name: the server answers with a personal token,
    /// which replaces the link's here and on the device, and the project is opened again with
    /// it (the sockets and every request then speak for this person).
    pub(crate) fn join(self, name: String) {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token, role) = (
            s.id.clone(),
            s.token.clone(),
            s.signals.role.get_untracked(),
        );
        let banner = self.banner;
        leptos::task::spawn_local(async move {
            match crate::api::join(&id, &token, &name).await {
                Ok(joined) => {
                    storage::set_token(&id, &joined.token);
                    let mut user = storage::user();
                    user.name = joined.person.name.clone();
                    storage::set_user(&user);
                    self.asking.set(false);
                    // Comments kept while the name was asked for go out once the review is
                    // synced again, with the personal token.
                    self.start(id, joined.token, role);
                }
                Err(e) => {
                    if let Some(r) = review::current() {
                        r.note_error(&e);
                    }
                    banner.set(Some(review::error_text(&e)));
                }
            }
        });
    }

    /// Whether this person has a name the server knows (needed to write anything).
    pub(crate) fn has_person(self) -> bool {
        self.review
            .me
            .with_untracked(|m| m.as_ref().is_some_and(|m| m.person.is_some()))
    }

    /// Posts a comment (a new thread's first, or a reply). If the server does not know this
    /// person yet it refuses with `identity_required`: the comment is kept and the name asked.
    pub(crate) fn send(self, thread: Option<ThreadId>, draft: Option<&Draft>, text: String) {
        let label = match draft {
            Some(Draft::Script { quote, .. }) => quote.clone(),
            _ => String::new(),
        };
        let pending = review::Pending {
            client_key: review::new_client_key(),
            thread,
            anchor: draft.map(Draft::to_anchor),
            text,
            label,
        };
        if let Some(r) = review::current() {
            r.post(pending);
        }
    }

    /// Starts a new thread on what is selected: script text, else the selected shot, else the
    /// project.
    pub(crate) fn comment_on_selection(self) {
        let draft = script_draft(self)
            .or_else(|| selected_shot().map(Draft::Shot))
            .unwrap_or(Draft::Project);
        // The list shows the shot's threads when commenting on a shot, else all of them.
        self.shot_filter.set(match &draft {
            Draft::Shot(id) => Some(id.clone()),
            _ => None,
        });
        self.draft.set(Some(draft));
        self.open.set(true);
        super::after_render(|| super::focus(".review-panel .composer.new textarea"));
    }

    /// The script's editor, while the script is shown.
    pub(crate) fn editor(self) -> Option<Rc<editor::Editor>> {
        self.script
            .try_get_value()
            .flatten()
            .and_then(|m| m.try_get_value().flatten())
            .and_then(|w| w.upgrade())
    }

    /// The person's role, as the project's session has it.
    pub(crate) fn role(self) -> session::Role {
        self.project
            .with(|p| p.map(|s| s.role.get()))
            .unwrap_or(session::Role::Viewer)
    }

    /// Commenters and up may write comments and verdicts (until their link is revoked).
    pub(crate) fn can_comment(self) -> bool {
        self.role() != session::Role::Viewer && !self.review.revoked.get()
    }
}

/// Bumps the script revision 300 ms after the last change (a burst of typing costs one pass).
fn schedule_script_rev(rev: RwSignal<u64>) {
    thread_local! {
        static TIMER: std::cell::RefCell<Option<gloo_timers::callback::Timeout>> =
            const { std::cell::RefCell::new(None) };
    }
    TIMER.with(|t| {
        *t.borrow_mut() = Some(gloo_timers::callback::Timeout::new(300, move || {
            rev.try_update(|r| *r += 1);
        }));
    });
}

/// The script's selected text as a draft, anchored now.
fn script_draft(host: Host) -> Option<Draft> {
    let (start, end) = host.editor()?.selected_range()?;
    let s = session::current()?;
    let anchor = s.project.script_anchor(start..end).ok()?;
    let quote = s.project.anchored_text(&anchor).unwrap_or_default();
    Some(Draft::Script {
        anchor: anchor.to_base64(),
        quote,
    })
}

/// The board's selected shot (its card is always in the DOM: the board pins its row).
fn selected_shot() -> Option<ShotId> {
    let doc = web_sys::window()?.document()?;
    let card = doc.query_selector(".shot-card.selected").ok()??;
    card.get_attribute("data-shot-id").map(ShotId::from)
}

/// The threads with what the project says about their anchors, oldest first.
fn thread_views(
    project: RwSignal<Option<Signals>>,
    review: ReviewSignals,
    script_rev: RwSignal<u64>,
) -> Memo<Vec<ThreadView>> {
    Memo::new(move |_| {
        script_rev.track();
        let threads = review.threads.get();
        let Some(sig) = project.get() else {
            return Vec::new();
        };
        let numbers: HashMap<ShotId, usize> = sig.shots.with(|all| {
            all.iter()
                .enumerate()
                .map(|(i, s)| (s.id.clone(), i + 1))
                .collect()
        });
        let s = session::current();
        threads
            .into_iter()
            .map(|thread| {
                let (orphaned, shot_number, text_now, range) = match &thread.anchor {
                    Anchor::Project => (false, None, None, None),
                    Anchor::Shot { shot_id } => {
                        let n = numbers.get(shot_id).copied();
                        (n.is_none(), n, None, None)
                    }
                    Anchor::Script { anchor } => {
                        let range = ScriptAnchor::from_base64(anchor)
                            .ok()
                            .and_then(|a| s.as_ref().and_then(|s| s.project.resolve_anchor(&a)));
                        match range {
                            Some(r) if !r.is_empty() => {
                                let text = s
                                    .as_ref()
                                    .and_then(|s| s.project.anchor_text(&thread.anchor));
                                (false, None, text, Some((r.start, r.end)))
                            }
                            _ => (true, None, None, None),
                        }
                    }
                };
                ThreadView {
                    thread,
                    orphaned,
                    shot_number,
                    text_now,
                    range,
                }
            })
            .collect()
    })
}

/// Open threads per shot, for the cards' badges.
fn shot_counts(views: Memo<Vec<ThreadView>>) -> Memo<HashMap<ShotId, usize>> {
    Memo::new(move |_| {
        views.with(|all| {
            let mut counts = HashMap::new();
            for v in all {
                if let Anchor::Shot { shot_id } = &v.thread.anchor
                    && v.thread.status == ThreadStatus::Open
                {
                    *counts.entry(shot_id.clone()).or_insert(0) += 1;
                }
            }
            counts
        })
    })
}

/// Derived lists, made once per workspace and shared through the context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Views {
    pub(crate) threads: Memo<Vec<ThreadView>>,
    pub(crate) per_shot: Memo<HashMap<ShotId, usize>>,
}

/// "3 min ago", in the interface's language.
pub(crate) fn ago(lang: Lang, at_ms: i64) -> String {
    let secs = ((js_sys::Date::now() as i64 - at_ms) / 1000).max(0);
    let (n, unit) = match secs {
        0..60 => return super::t(lang, "just now").to_owned(),
        60..3600 => (secs / 60, "min ago"),
        3600..86_400 => (secs / 3600, "h ago"),
        _ => (secs / 86_400, "d ago"),
    };
    let unit = super::t(lang, unit);
    if lang == Lang::Zh {
        format!("{n}{unit}")
    } else {
        format!("{n} {unit}")
    }
}

/// The workspace's review layer: the join bar, the verdict bar, the side panel, and the
/// keyboard shortcuts. Mounted once per open project, above the workspace's main area.
#[component]
pub(crate) fn ReviewLayer() -> impl IntoView {
    let Some(host) = host() else {
        return ().into_any();
    };
    let views = host.views;

    // A "share for review" link opens straight into its version.
    Effect::new(move |_| {
        let version = host
            .review
            .me
            .with(|m| m.as_ref().and_then(|m| m.review_version.clone()));
        if version.is_some() && host.reviewing.get_untracked().is_none() {
            host.reviewing.set(version);
        }
    });
    // A share link not joined yet asks for the name once; an owner is asked at the first
    // comment.
    Effect::new(move |_| {
        let ask = host.review.me.with(|m| {
            m.as_ref()
                .is_some_and(|m| m.person.is_none() && m.role != WireRole::Owner)
        });
        if ask {
            host.asking.set(true);
        }
    });
    // The panel leaves room for itself.
    Effect::new(move |_| {
        let open = host.open.get();
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.class_list().toggle_with_force("review-open", open);
        }
    });
    on_cleanup(|| {
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.class_list().remove_1("review-open");
        }
    });
    let keys = window_event_listener(leptos::ev::keydown, move |ev| shortcut(host, views, ev));
    on_cleanup(move || keys.remove());

    view! {
        <style>{STYLE}</style>
        <RevokedNotice />
        <JoinBar />
        <verdict::VerdictBar />
        <Show when=move || host.open.get()>
            <panel::ReviewPanel />
        </Show>
    }
    .into_any()
}

fn is_typing_target(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(el) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return false;
    };
    let tag = el.tag_name();
    tag == "INPUT" || tag == "TEXTAREA" || tag == "SELECT" || el.is_content_editable()
}

/// `c` comments on the selection, `]`/`[` step through the listed threads, Esc closes the
/// panel. Keys typed into a field or the editable script are text, not commands.
fn shortcut(host: Host, views: Views, ev: web_sys::KeyboardEvent) {
    if ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
        return;
    }
    if ev.key() == "Escape" {
        if host.open.get_untracked() {
            host.open.set(false);
            host.draft.set(None);
            ev.prevent_default();
        }
        return;
    }
    if is_typing_target(&ev) {
        return;
    }
    match ev.key().as_str() {
        "c" | "C" if host.can_comment() => {
            ev.prevent_default();
            host.comment_on_selection();
        }
        "]" | "[" => {
            ev.prevent_default();
            host.open.set(true);
            let listed = panel::listed(host, views);
            if listed.is_empty() {
                return;
            }
            let at = host.focus.with_untracked(|f| {
                f.as_ref()
                    .and_then(|f| listed.iter().position(|v| &v.thread.id == f))
            });
            let next = match (at, ev.key() == "]") {
                (None, true) => 0,
                (None, false) => listed.len() - 1,
                (Some(i), true) => (i + 1) % listed.len(),
                (Some(i), false) => (i + listed.len() - 1) % listed.len(),
            };
            show_thread(host, &listed[next]);
        }
        _ => {}
    }
}

/// Focuses a thread in the panel and shows what it is about.
pub(crate) fn show_thread(host: Host, view: &ThreadView) {
    host.focus.set(Some(view.thread.id.clone()));
    let id = view.thread.id.to_string();
    super::after_render(move || {
        if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| {
            d.query_selector(&format!(".thread[data-thread-id=\"{id}\"]"))
                .ok()
                .flatten()
        }) {
            el.scroll_into_view();
        }
    });
    match &view.thread.anchor {
        Anchor::Script { .. } => {
            if let (Some((start, end)), Some(editor)) = (view.range, host.editor()) {
                editor.reveal(start, end);
            }
        }
        Anchor::Shot { shot_id } => {
            if let Some(card) = web_sys::window().and_then(|w| w.document()).and_then(|d| {
                d.query_selector(&format!(".shot-card[data-shot-id=\"{shot_id}\"]"))
                    .ok()
                    .flatten()
            }) {
                card.scroll_into_view();
            }
        }
        Anchor::Project => {}
    }
}

/// The header's button opening the review panel, with the count of open threads.
#[component]
pub(crate) fn ReviewToggle() -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let open_count = move || {
        host.review.threads.with(|all| {
            all.iter()
                .filter(|t| t.status == ThreadStatus::Open)
                .count()
        })
    };
    view! {
        <button
            class="review-toggle"
            aria-pressed=move || host.open.get().to_string()
            title=move || ctx.t("Review: c comments on the selection, ] and [ step through threads, Esc closes")
            on:click=move |_| host.open.update(|o| *o = !*o)
        >
            {move || ctx.t("Review")}
            <span class="count" data-testid="open-threads">{open_count}</span>
        </button>
    }
    .into_any()
}

/// A shot card's review mark: its open threads (click to comment or read them), and "changed
/// since review" when a verdict on the version under review is stale for it.
#[component]
pub(crate) fn ShotBadge(shot: ShotId) -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let views = host.views;
    let count = {
        let shot = shot.clone();
        move || views.per_shot.with(|c| c.get(&shot).copied().unwrap_or(0))
    };
    let stale = {
        let shot = shot.clone();
        move || host.stale.with(|s| s.contains(&shot))
    };
    let visible = {
        let count = count.clone();
        move || count() > 0 || host.can_comment()
    };
    let on_click = {
        let shot = shot.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.stop_propagation();
            host.shot_filter.set(Some(shot.clone()));
            if host.can_comment() {
                host.draft.set(Some(Draft::Shot(shot.clone())));
            }
            host.open.set(true);
            super::after_render(|| super::focus(".review-panel .composer.new textarea"));
        }
    };
    view! {
        <Show when=stale.clone()>
            <span class="stale-mark" title=move || ctx.t("changed since review")>
                {move || ctx.t("changed since review")}
            </span>
        </Show>
        <Show when=visible.clone()>
            <button
                class="shot-comments"
                data-count=count.clone()
                title=move || ctx.t("Comment on this shot")
                on:click=on_click.clone()
            >
                {count.clone()}
            </button>
        </Show>
    }
    .into_any()
}

/// The script's review margin: a marker beside each line where an open thread's range starts
/// (with the count), and the "Comment" button for selected text. It sits outside the editor's
/// lines and asks the editor where a line is.
#[component]
pub(crate) fn ScriptMargin(editor: MountedEditor) -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    host.script.set_value(Some(editor));
    on_cleanup(move || {
        host.script.try_set_value(None);
    });
    let views = host.views;
    // Bumped on scroll and when the selection changes: markers move as lines are measured.
    let tick = RwSignal::new(0u32);
    let has_selection = RwSignal::new(false);
    let pending_frame = StoredValue::new(false);
    let retick = move || {
        if pending_frame.get_value() {
            return;
        }
        pending_frame.set_value(true);
        super::after_render(move || {
            if pending_frame.try_update_value(|p| *p = false).is_some() {
                tick.update(|t| *t += 1);
            }
        });
    };
    // `selectionchange` is fired at the document and does not bubble to the window.
    let on_selection = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        let now = host.editor().and_then(|e| e.selected_range()).is_some();
        if has_selection
            .try_get_untracked()
            .is_some_and(|had| had != now)
        {
            has_selection.set(now);
        }
    });
    let document = web_sys::window().and_then(|w| w.document());
    if let Some(d) = &document {
        let _ = d.add_event_listener_with_callback(
            "selectionchange",
            on_selection.as_ref().unchecked_ref(),
        );
    }
    let on_selection = StoredValue::new_local(Some((document, on_selection)));
    on_cleanup(move || {
        if let Some(Some((Some(d), f))) = on_selection.try_update_value(Option::take) {
            let _ = d
                .remove_event_listener_with_callback("selectionchange", f.as_ref().unchecked_ref());
        }
    });
    let scroll = leptos::prelude::window_event_listener_untyped("scroll", move |_| retick());
    on_cleanup(move || scroll.remove());
    // The scroller is the script's own element, whose scrolling does not reach the window.
    type Held = (
        web_sys::Element,
        wasm_bindgen::closure::Closure<dyn FnMut()>,
    );
    let held = StoredValue::new_local(None::<Held>);
    Effect::new(move |_| {
        if held.with_value(Option::is_none)
            && let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector(".script-scroll").ok().flatten())
        {
            let f = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(retick);
            let _ = el.add_event_listener_with_callback("scroll", f.as_ref().unchecked_ref());
            held.set_value(Some((el, f)));
        }
        retick();
    });
    on_cleanup(move || {
        if let Some(Some((el, f))) = held.try_update_value(Option::take) {
            let _ = el.remove_event_listener_with_callback("scroll", f.as_ref().unchecked_ref());
        }
    });
    // Threads and the script changing move markers too (the memo below reads them).
    let markers = Memo::new(move |_| {
        tick.track();
        let open: Vec<(u32, ThreadId)> = views.threads.with(|all| {
            all.iter()
                .filter(|v| v.thread.status == ThreadStatus::Open && !v.orphaned)
                .filter_map(|v| v.range.map(|(start, _)| (start, v.thread.id.clone())))
                .collect()
        });
        let starts: Vec<u32> = open.iter().map(|(s, _)| *s).collect();
        let tops = host
            .editor()
            .map(|e| e.line_tops(&starts))
            .unwrap_or_default();
        let mut by_top: Vec<(i64, Vec<ThreadId>)> = Vec::new();
        for ((_, id), top) in open.into_iter().zip(tops) {
            let key = top.round() as i64;
            match by_top.iter_mut().find(|(t, _)| *t == key) {
                Some((_, ids)) => ids.push(id),
                None => by_top.push((key, vec![id])),
            }
        }
        by_top.sort_by_key(|(t, _)| *t);
        by_top
    });
    let offset_top = move || {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(".script-text").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
            .map_or(0, |e| e.offset_top())
    };
    view! {
        <div class="review-margin" aria-label="Comments in the margin">
            <For
                each=move || markers.get()
                key=|(top, ids)| (*top, ids.clone())
                children=move |(top, ids)| {
                    let first = ids[0].clone();
                    let n = ids.len();
                    view! {
                        <button
                            class="margin-mark"
                            style=move || format!("top:{}px", top + i64::from(offset_top()))
                            data-count=n
                            title=move || ctx.t("Comments on this line")
                            on:mousedown=move |ev| ev.prevent_default()
                            on:click=move |_| {
                                host.filter.set(Filter::Open);
                                host.open.set(true);
                                let v = views
                                    .threads
                                    .with_untracked(|all| {
                                        all.iter().find(|v| v.thread.id == first).cloned()
                                    });
                                if let Some(v) = v {
                                    show_thread(host, &v);
                                }
                            }
                        >
                            {n}
                        </button>
                    }
                }
            />
        </div>
        <Show when=move || host.can_comment() && has_selection.get()>
            <button
                class="comment-selection primary"
                // Keeps the script's selection: the button must not take it away.
                on:mousedown=move |ev| ev.prevent_default()
                on:click=move |_| host.comment_on_selection()
                title=move || ctx.t("Comment on the selected text (c)")
            >
                {move || ctx.t("Comment")}
            </button>
        </Show>
    }
    .into_any()
}
