//! The side panel of review threads: filters (open, resolved, mine, orphaned), the new-thread
//! composer, each thread's anchor, comments, reply box, edit and delete of one's own comments,
//! and resolve / reopen where allowed. Comments not yet confirmed by the server are listed as
//! pending.

use api_types::{Anchor, Comment, PersonId, ThreadStatus, VersionInfo};
use leptos::prelude::*;

use super::{Draft, Filter, Host, ThreadView, Views, ago, host, show_thread};
use crate::mentions::mention_at;
use crate::review::{self, Pending};
use crate::ui::ctx;
use crate::{api, session};

/// The threads the panel lists now, in order.
pub(super) fn listed(host: Host, views: Views) -> Vec<ThreadView> {
    let filter = host.filter.get_untracked();
    let shot = host.shot_filter.get_untracked();
    let me = my_id(host);
    views.threads.with_untracked(|all| {
        all.iter()
            .filter(|v| keep(v, filter, shot.as_ref(), me.as_ref()))
            .cloned()
            .collect()
    })
}

fn my_id(host: Host) -> Option<PersonId> {
    host.review.me.with_untracked(|m| {
        m.as_ref()
            .and_then(|m| m.person.as_ref().map(|p| p.id.clone()))
    })
}

fn keep(
    v: &ThreadView,
    filter: Filter,
    shot: Option<&api_types::ShotId>,
    me: Option<&PersonId>,
) -> bool {
    if let Some(shot) = shot
        && !matches!(&v.thread.anchor, Anchor::Shot { shot_id } if shot_id == shot)
    {
        return false;
    }
    match filter {
        Filter::Open => v.thread.status == ThreadStatus::Open,
        Filter::Resolved => v.thread.status == ThreadStatus::Resolved,
        Filter::Orphaned => v.orphaned,
        Filter::Mine => me.is_some_and(|me| {
            v.thread.author.id.as_ref() == Some(me)
                || v.thread
                    .comments
                    .iter()
                    .any(|c| c.author.id.as_ref() == Some(me))
        }),
    }
}

#[component]
pub(super) fn ReviewPanel() -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let views = host.views;
    let list = Memo::new(move |_| {
        let filter = host.filter.get();
        let shot = host.shot_filter.get();
        let me = host.review.me.with(|m| {
            m.as_ref()
                .and_then(|m| m.person.as_ref().map(|p| p.id.clone()))
        });
        views.threads.with(|all| {
            all.iter()
                .filter(|v| keep(v, filter, shot.as_ref(), me.as_ref()))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let shot_number = move |id: &api_types::ShotId| {
        host.project.with(|p| {
            p.and_then(|s| {
                s.shots
                    .with(|all| all.iter().position(|s| &s.id == id).map(|i| i + 1))
            })
        })
    };
    let versions = RwSignal::new(Vec::<VersionInfo>::new());
    // Read when the person goes to pick one.
    let load_versions = move || {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            if let Ok(list) = api::review_versions(&id, &token).await {
                versions.set(list);
            }
        });
    };
    // A review link's version is named in the picker from the start.
    Effect::new(move |_| {
        if host.reviewing.get().is_some() && versions.with_untracked(Vec::is_empty) {
            load_versions();
        }
    });
    let pending_threads = move || {
        host.review.pending.with(|p| {
            p.iter()
                .filter(|p| p.thread.is_none())
                .cloned()
                .collect::<Vec<_>>()
        })
    };

    // Between the header and the status bar, wherever they end on this screen.
    let place = {
        let rect = |sel: &str| {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector(sel).ok().flatten())
                .map(|e| e.get_bounding_client_rect())
        };
        let top = rect(".topbar").map_or(48.0, |r| r.bottom());
        let height = web_sys::window()
            .and_then(|w| w.inner_height().ok())
            .and_then(|h| h.as_f64())
            .unwrap_or(720.0);
        let bottom = rect(".statusbar").map_or(0.0, |r| (height - r.top()).max(0.0));
        format!("top:{top:.0}px;bottom:{bottom:.0}px")
    };

    view! {
        <aside class="review-panel" aria-label="Review" data-testid="review-panel" style=place>
            <header class="review-head">
                <h2>{move || ctx.t("Review")}</h2>
                <span class="spacer"></span>
                <button class="quiet" on:click=move |_| host.open.set(false)>
                    {move || ctx.t("Close")}
                </button>
            </header>
            <p class="hint">
                {move || ctx.t("Keys: c comments on the selection, ] next thread, [ previous, Esc closes")}
            </p>
            <label class="review-version">
                {move || ctx.t("Version under review")}
                <select on:focus=move |_| load_versions() on:change=move |ev| {
                    let v = event_target_value(&ev);
                    host.reviewing
                        .set(if v.is_empty() { None } else { Some(api_types::VersionId::from(v.as_str())) });
                }>
                    <option value="" selected=move || host.reviewing.get().is_none()>
                        {move || ctx.t("none")}
                    </option>
                    <For
                        each=move || versions.get()
                        key=|v| v.id.clone()
                        children=move |v| {
                            let id = v.id.clone();
                            view! {
                                <option
                                    value=v.id.to_string()
                                    selected=move || host.reviewing.get().as_ref() == Some(&id)
                                >
                                    {v.name.clone()}
                                </option>
                            }
                        }
                    />
                </select>
            </label>
            <nav class="review-filters" role="tablist">
                {Filter::ALL
                    .into_iter()
                    .map(|f| {
                        view! {
                            <button
                                role="tab"
                                data-filter=f.slug()
                                aria-selected=move || (host.filter.get() == f).to_string()
                                on:click=move |_| host.filter.set(f)
                            >
                                {move || ctx.t(f.label())}
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            {move || {
                host.shot_filter
                    .get()
                    .map(|shot| {
                        let n = shot_number(&shot);
                        view! {
                            <p class="shot-filter">
                                {move || ctx.t("Shot")}
                                {n.map(|n| format!(" #{n}")).unwrap_or_default()}
                                <button class="quiet" on:click=move |_| host.shot_filter.set(None)>
                                    {move || ctx.t("All threads")}
                                </button>
                            </p>
                        }
                    })
            }}
            <Show when=move || host.can_comment()>
                <div class="new-thread-actions">
                    <button
                        class="comment-project"
                        on:click=move |_| {
                            host.draft.set(Some(Draft::Project));
                            crate::ui::after_render(|| crate::ui::focus(".review-panel .composer.new textarea"));
                        }
                    >
                        {move || ctx.t("Comment on the project")}
                    </button>
                </div>
            </Show>
            {move || host.draft.get().map(|d| view! { <NewThread draft=d /> })}
            <ul class="threads">
                <For
                    each=pending_threads
                    key=|p| p.client_key.clone()
                    children=move |p| view! { <PendingThread pending=p /> }
                />
                <For
                    each=move || list.get()
                    key=|v| v.thread.id.clone()
                    children=move |v| view! { <ThreadCard id=v.thread.id /> }
                />
            </ul>
            <Show when=move || list.with(Vec::is_empty) && host.draft.get().is_none()>
                <p class="muted">{move || ctx.t("No threads here")}</p>
            </Show>
        </aside>
    }
    .into_any()
}

/// What a new thread or a pending one is about, in words.
fn draft_label(host: Host, draft: &Draft, lang: crate::ui::Lang) -> String {
    let t = |s| crate::ui::t(lang, s);
    match draft {
        Draft::Project => t("Project").to_owned(),
        Draft::Shot(id) => {
            let n = host.project.with_untracked(|p| {
                p.and_then(|s| {
                    s.shots
                        .with_untracked(|all| all.iter().position(|s| &s.id == id).map(|i| i + 1))
                })
            });
            format!("{} #{}", t("Shot"), n.unwrap_or(0))
        }
        Draft::Script { quote, .. } => format!("“{quote}”"),
    }
}

#[component]
fn NewThread(draft: Draft) -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let label = {
        let draft = draft.clone();
        move || draft_label(host, &draft, ctx.lang.get())
    };
    let send = Callback::new(move |text: String| {
        host.send(None, Some(&draft), text);
        host.draft.set(None);
    });
    view! {
        <div class="new-thread">
            <p class="anchor">
                <span class="muted">{move || ctx.t("New comment on")} " "</span>
                <strong class="anchor-label">{label}</strong>
            </p>
            <Composer class="composer new" send=send />
            <button class="quiet" on:click=move |_| host.draft.set(None)>
                {move || ctx.t("Cancel")}
            </button>
        </div>
    }
    .into_any()
}

#[component]
fn PendingThread(pending: Pending) -> impl IntoView {
    let ctx = ctx();
    let anchor = match &pending.anchor {
        Some(api_types::NewAnchor::Shot { .. }) => ctx.t("Shot").to_owned(),
        Some(api_types::NewAnchor::Script { .. }) => format!("“{}”", pending.label),
        _ => ctx.t("Project").to_owned(),
    };
    view! {
        <li class="thread pending" data-pending="true">
            <p class="anchor">{anchor}</p>
            <p class="comment-text">{pending.text.clone()}</p>
            <span class="pending-mark">{move || ctx.t("pending")}</span>
        </li>
    }
}

/// One thread. Keyed by its id in the list, and reading its thread reactively, so that a
/// comment arriving does not throw away a reply being written.
#[component]
fn ThreadCard(id: api_types::ThreadId) -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let view = {
        let id = id.clone();
        Memo::new(move |_| {
            host.views
                .threads
                .with(|all| all.iter().find(|v| v.thread.id == id).cloned())
        })
    };
    let me = my_id(host);
    let resolved = move || {
        view.with(|v| {
            v.as_ref()
                .is_some_and(|v| v.thread.status == ThreadStatus::Resolved)
        })
    };
    let orphaned = move || view.with(|v| v.as_ref().is_some_and(|v| v.orphaned));
    let may_resolve = {
        let me = me.clone();
        move || {
            let mine =
                me.is_some() && view.with(|v| v.as_ref().is_some_and(|v| v.thread.author.id == me));
            (mine || host.role().can_edit()) && !host.review.revoked.get()
        }
    };
    let anchor_kind = view.with_untracked(|v| match v.as_ref().map(|v| &v.thread.anchor) {
        Some(Anchor::Shot { .. }) => "shot",
        Some(Anchor::Script { .. }) => "script",
        _ => "project",
    });
    let anchor = move || {
        let lang = ctx.lang.get();
        let t = |s| crate::ui::t(lang, s);
        view.with(|v| {
            let Some(v) = v else {
                return String::new();
            };
            match &v.thread.anchor {
                Anchor::Project => t("Project").to_owned(),
                Anchor::Shot { .. } => match v.shot_number {
                    Some(n) => format!("{} #{n}", t("Shot")),
                    None => format!("{} “{}”", t("Shot"), v.thread.quote),
                },
                Anchor::Script { .. } => format!(
                    "“{}”",
                    v.text_now.clone().unwrap_or_else(|| v.thread.quote.clone())
                ),
            }
        })
    };
    let focused = {
        let id = id.clone();
        move || host.focus.get().as_ref() == Some(&id)
    };
    let set_status = {
        let id = id.clone();
        move |_| {
            let Some(s) = session::current() else {
                return;
            };
            let (pid, token, id) = (s.id.clone(), s.token.clone(), id.clone());
            let resolve = !resolved();
            leptos::task::spawn_local(async move {
                if let Err(e) = api::set_resolved(&pid, &token, &id, resolve).await {
                    report(host, &e);
                }
            });
        }
    };
    let reply = {
        let id = id.clone();
        Callback::new(move |text: String| host.send(Some(id.clone()), None, text))
    };
    let pending_replies = {
        let id = id.clone();
        move || {
            host.review.pending.with(|p| {
                p.iter()
                    .filter(|p| p.thread.as_ref() == Some(&id))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        }
    };
    let show = move |_| {
        if let Some(v) = view.get_untracked() {
            show_thread(host, &v);
        }
    };
    let comments = move || {
        view.with(|v| {
            v.as_ref()
                .map(|v| v.thread.comments.clone())
                .unwrap_or_default()
        })
    };
    let tid = id.clone();
    view! {
        <li
            class="thread"
            class:focused=focused
            class:resolved=resolved
            class:orphaned=orphaned
            data-thread-id=id.to_string()
            data-anchor=anchor_kind
            data-status=move || if resolved() { "resolved" } else { "open" }
        >
            <p class="anchor">
                <button class="anchor-label quiet" on:click=show>
                    {anchor}
                </button>
                <Show when=orphaned>
                    <span class="orphaned-mark">{move || ctx.t("orphaned")}</span>
                </Show>
                <Show when=resolved>
                    <span class="resolved-mark">{move || ctx.t("Resolved")}</span>
                </Show>
            </p>
            <ul class="comments">
                <For
                    each=comments
                    key=|c| (c.id.clone(), c.edited_at_ms, c.deleted)
                    children=move |c| {
                        view! { <CommentRow thread=tid.clone() comment=c me=me.clone() /> }
                    }
                />
                <For
                    each=pending_replies
                    key=|p| p.client_key.clone()
                    children=move |p| {
                        view! {
                            <li class="comment pending" data-pending="true">
                                <p class="comment-text">{p.text.clone()}</p>
                                <span class="pending-mark">{move || ctx.t("pending")}</span>
                            </li>
                        }
                    }
                />
            </ul>
            <Show when=move || host.can_comment()>
                <Composer class="composer reply" send=reply />
            </Show>
            <Show when=may_resolve.clone()>
                <button class="resolve" on:click=set_status.clone()>
                    {move || if resolved() { ctx.t("Reopen") } else { ctx.t("Resolve") }}
                </button>
            </Show>
        </li>
    }
    .into_any()
}

fn report(host: Host, e: &api::ApiError) {
    if let Some(r) = review::current() {
        r.note_error(e);
    }
    if e.identity_required() {
        host.asking.set(true);
    }
    host.banner.set(Some(review::error_text(e)));
}

#[component]
fn CommentRow(
    thread: api_types::ThreadId,
    comment: Comment,
    me: Option<PersonId>,
) -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let own = me.is_some() && comment.author.id == me && !comment.deleted;
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(comment.text.clone());
    let cid = comment.id.clone();
    let save = {
        let (thread, cid) = (thread.clone(), cid.clone());
        move |_| {
            let Some(s) = session::current() else {
                return;
            };
            let (pid, token) = (s.id.clone(), s.token.clone());
            let (thread, cid, text) = (thread.clone(), cid.clone(), draft.get_untracked());
            editing.set(false);
            leptos::task::spawn_local(async move {
                if let Err(e) = api::edit_comment(&pid, &token, &thread, &cid, &text).await {
                    report(host, &e);
                }
            });
        }
    };
    let delete = {
        let (thread, cid) = (thread.clone(), cid.clone());
        move |_| {
            let Some(s) = session::current() else {
                return;
            };
            let (pid, token) = (s.id.clone(), s.token.clone());
            let (thread, cid) = (thread.clone(), cid.clone());
            leptos::task::spawn_local(async move {
                if let Err(e) = api::delete_comment(&pid, &token, &thread, &cid).await {
                    report(host, &e);
                }
            });
        }
    };
    let at = comment.created_at_ms;
    let text = comment.text.clone();
    let deleted = comment.deleted;
    view! {
        <li class="comment" data-comment-id=cid.to_string() class:own=own>
            <p class="comment-head">
                <strong class="author">{comment.author.name.clone()}</strong>
                " "
                <span class="when" title=move || js_sys::Date::new(&(at as f64).into()).to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED).as_string().unwrap_or_default()>
                    {move || ago(ctx.lang.get(), at)}
                </span>
                {comment.edited_at_ms.map(|_| view! { <span class="edited">" · " {move || ctx.t("edited")}</span> })}
            </p>
            {move || {
                if editing.get() {
                    view! {
                        <div class="comment-edit">
                            <textarea
                                rows="3"
                                prop:value=move || draft.get()
                                on:input=move |ev| draft.set(event_target_value(&ev))
                            ></textarea>
                            <button class="primary" on:click=save.clone()>{move || ctx.t("Save")}</button>
                            <button class="quiet" on:click=move |_| editing.set(false)>{move || ctx.t("Cancel")}</button>
                        </div>
                    }
                        .into_any()
                } else if deleted {
                    view! { <p class="comment-text deleted">{move || ctx.t("deleted")}</p> }.into_any()
                } else {
                    view! { <p class="comment-text">{text.clone()}</p> }.into_any()
                }
            }}
            <Show when=move || own && !editing.get() && !host.review.revoked.get()>
                <span class="own-actions">
                    <button class="quiet edit-comment" on:click=move |_| editing.set(true)>
                        {move || ctx.t("Edit")}
                    </button>
                    <button class="quiet delete-comment" on:click=delete.clone()>
                        {move || ctx.t("Delete")}
                    </button>
                </span>
            </Show>
        </li>
    }
    .into_any()
}

/// A comment box: Ctrl/Cmd+Enter or the button sends; `@` offers the project's people.
#[component]
fn Composer(class: &'static str, send: Callback<String>) -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let text = RwSignal::new(String::new());
    let caret = RwSignal::new(0usize);
    let area = NodeRef::<leptos::html::Textarea>::new();
    let suggestions = move || {
        let t = text.get();
        let Some((_, word)) = mention_at(&t, caret.get()) else {
            return Vec::new();
        };
        let word = word.to_lowercase();
        host.review.people.with(|people| {
            people
                .iter()
                .filter(|p| p.name.to_lowercase().contains(&word))
                .take(6)
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        })
    };
    let mentioning = RwSignal::new(false);
    Effect::new(move |_| {
        let now = text.with(|t| mention_at(t, caret.get()).is_some());
        if now && !mentioning.get_untracked() {
            // The people may have changed since the panel opened.
            if let Some(r) = review::current() {
                r.load_people();
            }
        }
        mentioning.set(now);
    });
    let pick = move |name: String| {
        let t = text.get_untracked();
        let c = caret.get_untracked();
        let Some((at, _)) = mention_at(&t, c) else {
            return;
        };
        let chars: Vec<char> = t.chars().collect();
        let mut next: String = chars[..at].iter().collect();
        next.push('@');
        next.push_str(&name);
        next.push(' ');
        let new_caret = next.chars().count();
        next.extend(chars[c.min(chars.len())..].iter());
        // The box is changed and the caret placed now, not on the next render: the person
        // may already be typing the next word.
        if let Some(el) = area.get_untracked() {
            el.set_value(&next);
            let utf16: u32 = next
                .chars()
                .take(new_caret)
                .map(|c| c.len_utf16() as u32)
                .sum();
            let _ = el.set_selection_range(utf16, utf16);
            let _ = el.focus();
        }
        text.set(next);
        caret.set(new_caret);
    };
    let submit = move || {
        let t = text.get_untracked().trim().to_owned();
        if t.is_empty() {
            return;
        }
        send.run(t);
        text.set(String::new());
        caret.set(0);
    };
    let read_caret = move || {
        if let Some(el) = area.get_untracked() {
            let utf16 = el.selection_start().ok().flatten().unwrap_or(0) as usize;
            let value = el.value();
            // The textarea counts UTF-16 units; the text is walked in chars.
            let mut units = 0;
            let mut chars = 0;
            for c in value.chars() {
                if units >= utf16 {
                    break;
                }
                units += c.len_utf16();
                chars += 1;
            }
            caret.set(chars);
        }
    };
    view! {
        <div class=class>
            <textarea
                node_ref=area
                rows="2"
                placeholder=move || ctx.t("Write a comment; @ mentions someone")
                prop:value=move || text.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    read_caret();
                }
                on:click=move |_| read_caret()
                on:keyup=move |_| read_caret()
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        submit();
                    } else if ev.key() == "Tab"
                        && !ev.shift_key()
                        && let Some(first) = suggestions().into_iter().next()
                    {
                        ev.prevent_default();
                        pick(first);
                    }
                }
            ></textarea>
            <ul class="mentions" role="listbox">
                {move || {
                    suggestions()
                        .into_iter()
                        .map(|name| {
                            let n = name.clone();
                            view! {
                                <li>
                                    <button
                                        class="quiet mention"
                                        on:mousedown=move |ev| ev.prevent_default()
                                        on:click=move |_| pick(n.clone())
                                    >
                                        "@"
                                        {name}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <button class="primary send" on:click=move |_| submit()>
                {move || ctx.t("Send")}
            </button>
        </div>
    }
    .into_any()
}
