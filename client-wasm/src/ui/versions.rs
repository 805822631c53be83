//! The Versions tab: the project's named versions (name the current state, list them, restore,
//! delete), a version's read-only view (`versions/view.rs`) and the diff between two versions
//! or a version and now (`versions/diff.rs`).
//!
//! Every page is addressed by the URL hash, so that a link (a review link, a bookmark) opens it:
//! `#/p/{id}/versions` is the list, `#/p/{id}/versions/{v}[/script|/characters][?shot={s}]` a
//! version's view, `#/p/{id}/versions/compare?from={v}&to={v|now}` a comparison. A version is
//! read from the server as a whole document state and opened as its own
//! `shared_model::Project`, apart from the live session: nothing in these pages can write the
//! live document, which changes only by a restore, on the server.

mod diff;
mod view;

use api_types::{AssetId, ShotId, VersionId, VersionInfo, VersionKind};
use leptos::prelude::*;

use super::{Lang, Route, Tab, ctx, navigate};
use crate::api;
use crate::session::{self, Role, Signals};

pub(crate) use crate::pages::{Page, Part, fill, href, without_token};

fn part_label(part: Part) -> &'static str {
    match part {
        Part::Board => "Storyboard",
        Part::Script => "Script",
        Part::Characters => "Characters",
    }
}

fn go(project: &str, page: &Page) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&href(project, page));
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "5 Dec 14:02" (or "12月5日 14:02") in the browser's time zone; the year only when it is not
/// this year's.
pub(crate) fn when(ms: i64, lang: Lang) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let this_year = js_sys::Date::new_0().get_full_year();
    let (year, month, day) = (d.get_full_year(), d.get_month(), d.get_date());
    let (h, m) = (d.get_hours(), d.get_minutes());
    let year = if year == this_year {
        String::new()
    } else {
        year.to_string()
    };
    match lang {
        Lang::En => {
            let month = MONTHS.get(month as usize).copied().unwrap_or("");
            let year = if year.is_empty() {
                year
            } else {
                format!(" {year}")
            };
            format!("{day} {month}{year} {h:02}:{m:02}")
        }
        Lang::Zh => {
            let year = if year.is_empty() {
                year
            } else {
                format!("{year}年")
            };
            format!("{year}{}月{day}日 {h:02}:{m:02}", month + 1)
        }
    }
}

/// What the tab's pages share: the project, the caller's token and the list of versions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shared {
    pub(crate) sig: Signals,
    project: StoredValue<String>,
    token: StoredValue<String>,
    /// `None` until first loaded.
    pub(crate) list: RwSignal<Option<Vec<VersionInfo>>>,
    /// The app's error banner (kept here: `reload` runs where no context can be read).
    banner: RwSignal<Option<String>>,
}

impl Shared {
    pub(crate) fn project(&self) -> String {
        self.project.get_value()
    }

    pub(crate) fn token(&self) -> String {
        self.token.get_value()
    }

    pub(crate) fn info(&self, version: &VersionId) -> Option<VersionInfo> {
        self.list.with(|l| {
            l.as_ref()
                .and_then(|l| l.iter().find(|v| &v.id == version).cloned())
        })
    }

    /// Reads the list again; a failure leaves the old list and shows the error.
    pub(crate) fn reload(self) {
        let (project, token, banner) = (self.project(), self.token(), self.banner);
        leptos::task::spawn_local(async move {
            match api::versions(&project, &token).await {
                Ok(list) => self.list.set(Some(list)),
                Err(e) => banner.set(Some(e.to_string())),
            }
        });
    }

    pub(crate) fn asset_url(&self, asset: &AssetId) -> String {
        api::asset_url(&self.project(), &self.token(), asset.as_str())
    }

    pub(crate) fn is_video(&self, asset: &AssetId) -> bool {
        self.sig.assets.with_untracked(|all| {
            all.iter()
                .find(|a| &a.id == asset)
                .is_some_and(|a| a.mime.starts_with("video/"))
        })
    }

    /// Opens a shot: on the live board, or in a version's view when `version` is given.
    pub(crate) fn open_shot(&self, shot: ShotId, version: Option<VersionId>) {
        let project = self.project();
        match version {
            Some(version) => go(
                &project,
                &Page::View {
                    version,
                    part: Part::Board,
                    shot: Some(shot),
                },
            ),
            None => {
                super::board::show_on_open(shot);
                navigate(&Route::Project {
                    id: project,
                    tab: Tab::Board,
                });
            }
        }
    }
}

/// The Versions tab.
#[component]
pub(crate) fn Versions(sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let Some(session) = session::current() else {
        return ().into_any();
    };
    let shared = Shared {
        sig,
        project: StoredValue::new(session.id.clone()),
        token: StoredValue::new(session.token.clone()),
        list: RwSignal::new(None),
        banner: ctx.banner,
    };
    shared.reload();
    // The route signal is set on every hash change; the page is read from the hash itself,
    // which holds what `Route` does not (the version, the comparison).
    let page = Memo::new(move |_| {
        ctx.route.track();
        let hash = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        crate::pages::parse(&hash)
    });
    view! {
        <section class="versions-tab" aria-label="Versions">
            {move || match page.get() {
                Page::List => view! { <VersionList shared=shared /> }.into_any(),
                Page::View { version, part, shot } => {
                    view! { <view::VersionView shared=shared version=version part=part shot=shot /> }
                        .into_any()
                }
                Page::Compare { from, to } => {
                    view! { <diff::DiffView shared=shared from=from to=to /> }.into_any()
                }
            }}
        </section>
    }
    .into_any()
}

/// A thumbnail of an asset (a selected take), or an empty frame.
#[component]
pub(crate) fn VersionThumb(shared: Shared, asset: Option<AssetId>) -> impl IntoView {
    let ctx = ctx();
    match asset {
        None => {
            view! { <div class="thumb empty-frame">{move || ctx.t("empty frame")}</div> }.into_any()
        }
        Some(asset) => {
            let url = shared.asset_url(&asset);
            let id = asset.to_string();
            if shared.is_video(&asset) {
                view! {
                    <div class="thumb" data-asset-id=id>
                        <video src=url muted preload="metadata"></video>
                    </div>
                }
                .into_any()
            } else {
                view! {
                    <div class="thumb" data-asset-id=id>
                        <img src=url alt="" loading="lazy" />
                    </div>
                }
                .into_any()
            }
        }
    }
}

/// A restore or a delete waiting for the user's word.
#[derive(Debug, Clone, PartialEq)]
enum Ask {
    Restore(VersionInfo),
    Delete(VersionInfo),
}

/// The list of versions, with the form that names the current state.
#[component]
fn VersionList(shared: Shared) -> impl IntoView {
    let ctx = ctx();
    let sig = shared.sig;
    let can_edit = move || sig.role.get().can_edit();
    let is_owner = move || sig.role.get() == Role::Owner;
    let name = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    // What the last action did, said in the live region.
    let notice = RwSignal::new(None::<String>);
    let ask = RwSignal::new(None::<Ask>);
    // Up to two versions picked for a comparison, in the order picked.
    let picked = RwSignal::new(Vec::<VersionId>::new());

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_owned();
        if n.is_empty() || busy.get_untracked() {
            return;
        }
        let text = note.get_untracked().trim().to_owned();
        let note_text = (!text.is_empty()).then_some(text);
        busy.set(true);
        let (project, token) = (shared.project(), shared.token());
        leptos::task::spawn_local(async move {
            match api::create_version(&project, &token, n, note_text).await {
                Ok(info) => {
                    notice.set(Some(fill(ctx.t("Named “{name}”"), &[("name", &info.name)])));
                    shared
                        .list
                        .update(|l| l.get_or_insert_with(Vec::new).insert(0, info));
                    name.set(String::new());
                    note.set(String::new());
                    shared.reload();
                }
                Err(e) => ctx.banner.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    let confirm = move || {
        let Some(what) = ask.get_untracked() else {
            return;
        };
        ask.set(None);
        let (project, token) = (shared.project(), shared.token());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match what {
                Ask::Restore(v) => match api::restore_version(&project, &token, &v.id).await {
                    Ok(restored) => notice.set(Some(fill(
                        ctx.t("Restored “{name}”. To undo it, restore “{before}”."),
                        &[("name", &v.name), ("before", &restored.before.name)],
                    ))),
                    Err(e) if e.is_not_found() => {
                        notice.set(Some(ctx.t("This version no longer exists").to_owned()))
                    }
                    Err(e) => ctx.banner.set(Some(e.to_string())),
                },
                Ask::Delete(v) => match api::delete_version(&project, &token, &v.id).await {
                    Ok(()) | Err(api::ApiError::Server { status: 404, .. }) => {
                        picked.update(|p| p.retain(|id| id != &v.id));
                        notice.set(Some(fill(ctx.t("Deleted “{name}”"), &[("name", &v.name)])));
                    }
                    Err(e) => ctx.banner.set(Some(e.to_string())),
                },
            }
            busy.set(false);
            shared.reload();
        });
    };

    let toggle_pick = move |id: VersionId, on: bool| {
        picked.update(|p| {
            p.retain(|x| x != &id);
            if on {
                p.push(id);
                if p.len() > 2 {
                    p.remove(0);
                }
            }
        });
    };
    let compare_picked = move |_| {
        let ids = picked.get_untracked();
        let [a, b] = ids.as_slice() else {
            return;
        };
        // Older → newer, by the list's order (newest first).
        let order = |id: &VersionId| {
            shared.list.with_untracked(|l| {
                l.as_ref()
                    .and_then(|l| l.iter().position(|v| &v.id == id))
                    .unwrap_or(0)
            })
        };
        let (from, to) = if order(a) >= order(b) { (a, b) } else { (b, a) };
        go(
            &shared.project(),
            &Page::Compare {
                from: from.clone(),
                to: Some(to.clone()),
            },
        );
    };

    view! {
        <div class="versions">
            <Show when=can_edit>
                <form class="name-version card" on:submit=create>
                    <h2>{move || ctx.t("Name the current state")}</h2>
                    <label>
                        {move || ctx.t("Version name")}
                        <input
                            id="version-name"
                            type="text"
                            maxlength=api_types::review::MAX_VERSION_NAME_CHARS.to_string()
                            placeholder=move || ctx.t("Draft 2 for the director")
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                        />
                    </label>
                    <label>
                        {move || ctx.t("Note (optional)")}
                        <textarea
                            id="version-note"
                            rows="2"
                            prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev))
                        ></textarea>
                    </label>
                    <button
                        type="submit"
                        class="primary name-version-submit"
                        prop:disabled=move || busy.get() || name.with(|n| n.trim().is_empty())
                    >
                        {move || ctx.t("Name this version")}
                    </button>
                </form>
            </Show>
            <section class="version-list-section">
                <header class="versions-header">
                    <h2>{move || ctx.t("Versions")}</h2>
                    <span class="spacer"></span>
                    <button
                        class="compare-picked"
                        prop:disabled=move || picked.with(|p| p.len() != 2)
                        on:click=compare_picked
                    >
                        {move || ctx.t("Compare the two selected")}
                    </button>
                </header>
                <p class="notice" role="status" aria-live="polite">
                    {move || notice.get().unwrap_or_default()}
                </p>
                {move || {
                    ask.get()
                        .map(|a| view! { <Confirm ask=a on_yes=confirm on_no=move || ask.set(None) /> })
                }}
                {move || match shared.list.get() {
                    None => view! { <p class="muted">{move || ctx.t("Loading")}"…"</p> }.into_any(),
                    Some(list) if list.is_empty() => {
                        view! {
                            <p class="muted no-versions">
                                {move || ctx.t("No versions yet. Name the current state to keep it.")}
                            </p>
                        }
                            .into_any()
                    }
                    Some(list) => {
                        view! {
                            <ol class="version-list">
                                {list
                                    .into_iter()
                                    .map(|v| {
                                        view! {
                                            <VersionRow
                                                shared=shared
                                                v=v
                                                picked=picked
                                                toggle_pick=toggle_pick
                                                ask=ask
                                                busy=busy
                                                can_edit=Signal::derive(can_edit)
                                                is_owner=Signal::derive(is_owner)
                                            />
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        }
                            .into_any()
                    }
                }}
            </section>
            <ActivityList shared=shared />
        </div>
    }
}

/// The project's activity (item 5 of review): who changed how many shots in which scenes,
/// and when, as the server attributed each person's edits.
#[component]
fn ActivityList(shared: Shared) -> impl IntoView {
    let ctx = ctx();
    // The server writes activity every few seconds, so the list is re-read that often while
    // it is shown, and whenever the versions list is (after a restore or a new version).
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|t| *t = t.wrapping_add(1)),
        std::time::Duration::from_secs(5),
    ) {
        on_cleanup(move || handle.clear());
    }
    let groups = LocalResource::new(move || {
        tick.track();
        shared.list.track();
        let (project, token) = (shared.project(), shared.token());
        async move { api::activity(&project, &token).await.ok() }
    });
    let line = move |g: &api_types::ActivityGroup| {
        let lang = ctx.lang.get();
        let scenes = g
            .scenes
            .iter()
            .map(|s| s.title.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut parts = Vec::new();
        if !g.shots.is_empty() {
            parts.push(fill(
                ctx.t("changed {n} shots"),
                &[("n", &g.shots.len().to_string())],
            ));
        }
        if g.script_edits > 0 {
            parts.push(fill(
                ctx.t("edited the script {n} times"),
                &[("n", &g.script_edits.to_string())],
            ));
        }
        if g.characters > 0 {
            parts.push(fill(
                ctx.t("changed {n} characters"),
                &[("n", &g.characters.to_string())],
            ));
        }
        let mut text = format!("{} {}", g.author.name, parts.join(", "));
        if !scenes.is_empty() {
            text.push_str(&fill(ctx.t(" in {scenes}"), &[("scenes", &scenes)]));
        }
        text.push_str(&fill(
            ctx.t(", {from} to {to}"),
            &[
                ("from", &when(g.from_ms, lang)),
                ("to", &when(g.to_ms, lang)),
            ],
        ));
        text
    };
    view! {
        <section class="activity-section">
            <h2>{move || ctx.t("Activity")}</h2>
            {move || match groups.get().flatten() {
                None => view! { <p class="muted">{move || ctx.t("Loading")}"…"</p> }.into_any(),
                Some(a) if a.groups.is_empty() => {
                    view! { <p class="muted">{move || ctx.t("No edits recorded yet")}</p> }
                        .into_any()
                }
                Some(a) => {
                    view! {
                        <ol class="activity-list">
                            {a
                                .groups
                                .iter()
                                .map(|g| {
                                    let g = g.clone();
                                    view! { <li class="activity-group">{move || line(&g)}</li> }
                                })
                                .collect_view()}
                        </ol>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn VersionRow(
    shared: Shared,
    v: VersionInfo,
    picked: RwSignal<Vec<VersionId>>,
    toggle_pick: impl Fn(VersionId, bool) + Copy + 'static,
    ask: RwSignal<Option<Ask>>,
    busy: RwSignal<bool>,
    can_edit: Signal<bool>,
    is_owner: Signal<bool>,
) -> impl IntoView {
    let ctx = ctx();
    let project = shared.project();
    let view_href = href(
        &project,
        &Page::View {
            version: v.id.clone(),
            part: Part::Board,
            shot: None,
        },
    );
    let compare_href = href(
        &project,
        &Page::Compare {
            from: v.id.clone(),
            to: None,
        },
    );
    let auto = v.kind == VersionKind::Auto;
    let (id, name, note) = (v.id.clone(), v.name.clone(), v.note.clone());
    let author = v.author.name.clone();
    let created = v.created_at_ms;
    let shots = v.shots;
    let tally = v.tally;
    let pick_id = id.clone();
    let is_picked = {
        let id = id.clone();
        move || picked.with(|p| p.contains(&id))
    };
    let (restore_v, delete_v) = (v.clone(), v.clone());
    let label = name.clone();
    view! {
        <li class="version card" data-version-id=id.to_string() data-kind=v.kind.as_str()>
            <div class="version-head">
                <label class="check pick">
                    <input
                        type="checkbox"
                        class="pick-version"
                        aria-label=move || fill(ctx.t("Select “{name}” to compare"), &[("name", &label)])
                        prop:checked=is_picked
                        on:change=move |ev| toggle_pick(pick_id.clone(), event_target_checked(&ev))
                    />
                </label>
                <strong class="version-name">{name.clone()}</strong>
                {auto.then(|| view! { <span class="badge auto-badge">{move || ctx.t("automatic")}</span> })}
                <span class="spacer"></span>
                <span class="version-when muted">
                    {move || {
                        fill(
                            ctx.t("{time} by {author}"),
                            &[("time", &when(created, ctx.lang.get())), ("author", &author)],
                        )
                    }}
                </span>
            </div>
            {note.filter(|n| !n.is_empty()).map(|n| view! { <p class="version-note">{n}</p> })}
            <div class="version-facts">
                <span class="version-shots">
                    {move || {
                        if shots == 1 {
                            ctx.t("1 shot").to_owned()
                        } else {
                            fill(ctx.t("{n} shots"), &[("n", &shots.to_string())])
                        }
                    }}
                </span>
                <span
                    class="tally"
                    data-approve=tally.approve.to_string()
                    data-request-changes=tally.request_changes.to_string()
                    data-comment=tally.comment.to_string()
                >
                    <span class="tally-approve">
                        {move || fill(ctx.t("Approved {n}"), &[("n", &tally.approve.to_string())])}
                    </span>
                    " · "
                    <span class="tally-changes">
                        {move || {
                            fill(
                                ctx.t("Changes requested {n}"),
                                &[("n", &tally.request_changes.to_string())],
                            )
                        }}
                    </span>
                    " · "
                    <span class="tally-comment">
                        {move || fill(ctx.t("Comments {n}"), &[("n", &tally.comment.to_string())])}
                    </span>
                </span>
            </div>
            <div class="version-actions">
                <a class="button view-version" href=view_href>
                    {move || ctx.t("View")}
                </a>
                <a class="button compare-now" href=compare_href>
                    {move || ctx.t("Compare with now")}
                </a>
                <Show when=move || can_edit.get()>
                    {
                        let v = restore_v.clone();
                        view! {
                            <button
                                class="restore-version"
                                prop:disabled=move || busy.get()
                                on:click=move |_| ask.set(Some(Ask::Restore(v.clone())))
                            >
                                {move || ctx.t("Restore")}
                            </button>
                        }
                    }
                </Show>
                <Show when=move || is_owner.get()>
                    {
                        let v = delete_v.clone();
                        view! {
                            <button
                                class="quiet danger delete-version"
                                prop:disabled=move || busy.get()
                                on:click=move |_| ask.set(Some(Ask::Delete(v.clone())))
                            >
                                {move || ctx.t("Delete version")}
                            </button>
                        }
                    }
                </Show>
            </div>
        </li>
    }
}

/// Asks before a restore or a delete; the confirming button takes the focus, Escape cancels.
#[component]
fn Confirm(
    ask: Ask,
    on_yes: impl Fn() + Copy + 'static,
    on_no: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let ctx = ctx();
    let (title, body, yes, class) = match &ask {
        Ask::Restore(v) => (
            fill(ctx.t("Restore “{name}”?"), &[("name", &v.name)]),
            ctx.t("The project becomes exactly as it was in this version, for everyone working on it. An automatic version of the current state is taken first: restoring that one undoes this restore."),
            ctx.t("Restore"),
            "confirm-restore",
        ),
        Ask::Delete(v) => (
            fill(ctx.t("Delete “{name}”?"), &[("name", &v.name)]),
            ctx.t("The version is deleted for everyone. The live project does not change."),
            ctx.t("Delete version"),
            "confirm-delete",
        ),
    };
    super::after_render(|| super::focus(".confirm .confirm-yes"));
    view! {
        <div
            class=format!("confirm card {class}")
            role="alertdialog"
            aria-labelledby="confirm-title"
            aria-describedby="confirm-body"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    ev.prevent_default();
                    on_no();
                }
            }
        >
            <h3 id="confirm-title">{title}</h3>
            <p id="confirm-body">{body}</p>
            <div class="confirm-buttons">
                <button class="primary confirm-yes" on:click=move |_| on_yes()>
                    {yes}
                </button>
                <button class="confirm-no" on:click=move |_| on_no()>
                    {move || ctx.t("Cancel")}
                </button>
            </div>
        </div>
    }
}
