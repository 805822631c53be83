//! Generation in the browser: the provider picker, "Generate" on shots, scenes and the whole
//! board, per-shot progress and the jobs panel. The owner's provider keys and budget are in
//! [`super::settings`].
//!
//! Live progress comes from the sync server's own document peer, whose awareness state lists
//! running jobs and a queued count (`Signals::live_jobs`); finished takes arrive through the
//! document like any edit. The job list (`GET .../jobs`) adds what awareness leaves out:
//! which shots are queued and why a job failed. It is fetched when the live state or the
//! document's job summaries change, and every few seconds while jobs are under way, never
//! more than one request at a time.

use std::collections::HashMap;

use gloo_timers::callback::Interval;
use leptos::prelude::*;

use super::{Lang, ctx};
use api_types::{JobId, JobKind, JobStatus, JobView, ProviderInfo};

use crate::api::{self, ApiError, Scope};
use crate::session::{self, Conn, Signals};

const PROVIDER_KEY: &str = "shotweave.provider";
/// How often the job list is re-read while jobs are queued or running.
const POLL_MS: u32 = 2_000;
/// The least time between two reads of the job list while changes keep coming.
const REFETCH_GAP_MS: u32 = 500;
/// Jobs of one status listed by name in the panel; the rest are counted.
const LISTED: usize = 8;
/// Failures listed by name (most recent first); each carries a long reason.
const LISTED_FAILED: usize = 3;

thread_local! {
    /// The shot and class of the card button that last had the focus, kept while the focus
    /// is on it (see `CardActions`).
    static LAST_FOCUS: std::cell::RefCell<Option<(String, String)>> =
        const { std::cell::RefCell::new(None) };
}

/// What a shot card shows about its latest job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CardStatus {
    Queued,
    Running(Option<f32>),
    Failed(String),
}

/// The generation state of one open board; `Copy`, provided as context to the cards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gen {
    sig: Signals,
    /// The providers the server offers that make frames or clips (empty until it answers).
    pub(crate) providers: RwSignal<Vec<ProviderInfo>>,
    /// The chosen provider's name.
    pub(crate) provider: RwSignal<String>,
    /// The project's jobs as the server lists them, oldest first.
    jobs: RwSignal<Vec<JobView>>,
    /// Why the last request failed (over budget, no key, refused), until the next one.
    pub(crate) error: RwSignal<Option<String>>,
    pub(crate) notice: RwSignal<Option<String>>,
    /// Shot id to what its card shows, recomputed once per change rather than per card.
    status: Memo<HashMap<String, CardStatus>>,
    /// (a fetch is in flight, another was asked for meanwhile).
    fetching: StoredValue<(bool, bool)>,
}

impl Gen {
    /// The chosen provider; an unknown name (a stored choice the server no longer offers)
    /// falls back to the first, the built-in renderer. Until the server's list arrives it is
    /// the stored choice making nothing, so no generate button shows.
    pub(crate) fn provider(&self) -> ProviderInfo {
        self.provider.with(|name| {
            self.providers.with(|all| {
                all.iter()
                    .find(|p| &p.name == name)
                    .or(all.first())
                    .cloned()
                    .unwrap_or_else(|| ProviderInfo {
                        name: name.clone(),
                        kinds: Vec::new(),
                        needs_key: false,
                        models: Vec::new(),
                        max_references: 0,
                        first_last_frame: false,
                    })
            })
        })
    }

    pub(crate) fn card_status(&self, shot: &str) -> Option<CardStatus> {
        self.status.with(|m| m.get(shot).cloned())
    }
}

fn stored_provider() -> String {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(PROVIDER_KEY).ok().flatten())
        .unwrap_or_else(|| "offline".into())
}

fn store_provider(name: &str) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(PROVIDER_KEY, name);
    }
}

/// The server's own words for a refusal (they are written for users), else ours.
pub(crate) fn error_text(e: &ApiError) -> String {
    match e {
        ApiError::Server { message, .. } => message.clone(),
        ApiError::Forbidden(message) => message.clone(),
        other => other.to_string(),
    }
}

/// Creates the board's generation state and starts following the project's jobs.
pub(crate) fn provide(sig: Signals) -> Gen {
    let jobs = RwSignal::new(Vec::<JobView>::new());
    let status = Memo::new(move |_| {
        let mut by_shot: HashMap<String, CardStatus> = HashMap::new();
        // Oldest first, so the latest job of a shot decides what its card says.
        jobs.with(|all| {
            for j in all {
                let Some(shot) = &j.shot_id else { continue };
                let s = match j.status {
                    JobStatus::Queued => Some(CardStatus::Queued),
                    JobStatus::Running => Some(CardStatus::Running(j.progress)),
                    JobStatus::Failed => {
                        Some(CardStatus::Failed(j.error.clone().unwrap_or_default()))
                    }
                    JobStatus::Succeeded | JobStatus::Cancelled => None,
                };
                match s {
                    Some(s) => by_shot.insert(shot.to_string(), s),
                    None => by_shot.remove(shot.as_str()),
                };
            }
        });
        // The server peer's awareness is the freshest word on what runs now.
        sig.live_jobs.with(|live| {
            for job in live.running.values() {
                if let Some(shot) = &job.shot_id {
                    by_shot.insert(shot.to_string(), CardStatus::Running(job.progress));
                }
            }
        });
        by_shot
    });
    let gen_state = Gen {
        sig,
        providers: RwSignal::new(Vec::new()),
        provider: RwSignal::new(stored_provider()),
        jobs,
        error: RwSignal::new(None),
        notice: RwSignal::new(None),
        status,
        fetching: StoredValue::new((false, false)),
    };
    provide_context(gen_state);
    // The server's provider list, once connected (nothing is fetched while offline). Only
    // the providers that make frames or clips belong in the picker.
    let asked = StoredValue::new(false);
    Effect::new(move |_| {
        if sig.conn.get() != Conn::Online || asked.get_value() {
            return;
        }
        asked.set_value(true);
        leptos::task::spawn_local(async move {
            if let Ok(list) = api::providers().await {
                let list: Vec<ProviderInfo> = list
                    .into_iter()
                    .filter(|p| p.makes(JobKind::Frame) || p.makes(JobKind::Clip))
                    .collect();
                let _ = gen_state.providers.try_set(list);
            }
        });
    });

    // Anything the server announces or writes about jobs is a reason to re-read the list.
    // So is coming back online (nothing is fetched while offline).
    Effect::new(move |_| {
        sig.live_jobs.track();
        sig.jobs.track();
        sig.conn.track();
        refresh(gen_state);
    });
    let poll = Interval::new(POLL_MS, move || {
        if jobs.with_untracked(|all| all.iter().any(JobView::is_active)) {
            refresh(gen_state);
        }
    });
    let poll = StoredValue::new_local(Some(poll));
    on_cleanup(move || {
        poll.update_value(|p| {
            p.take();
        });
    });
    gen_state
}

/// Re-reads the job list; a call while a fetch is in flight makes that fetch run once more.
pub(crate) fn refresh(g: Gen) {
    // Every access is a `try_`: a request that ends after the board closed finds it gone.
    if g.sig.conn.try_get_untracked() != Some(Conn::Online) {
        return;
    }
    match g.fetching.try_get_value() {
        None => return,
        Some((true, _)) => {
            g.fetching.try_update_value(|f| *f = (true, true));
            return;
        }
        Some((false, _)) => {}
    }
    let Some(s) = session::current() else {
        return;
    };
    g.fetching.try_update_value(|f| *f = (true, false));
    let (id, token) = (s.id.clone(), s.token.clone());
    leptos::task::spawn_local(async move {
        loop {
            // Offline, the connection status says so and the next change retries.
            if let Ok(list) = api::jobs(&id, &token).await
                && g.jobs.try_with_untracked(|j| j != &list) == Some(true)
            {
                g.jobs.try_set(list);
            }
            let again = g.fetching.try_get_value().is_some_and(|(_, again)| again);
            if !again {
                break;
            }
            // A "generate all" changes the live state at every job's start and end; the list
            // (which grows with the board) is re-read at most twice a second meanwhile.
            gloo_timers::future::TimeoutFuture::new(REFETCH_GAP_MS).await;
            if g.fetching
                .try_update_value(|f| *f = (true, false))
                .is_none()
            {
                return;
            }
        }
        g.fetching.try_update_value(|f| *f = (false, false));
    });
}

/// Asks the server to generate `kind` for `scope`; the outcome shows in the jobs panel.
pub(crate) fn generate(g: Gen, kind: JobKind, scope: Scope) {
    let ctx = ctx();
    let Some(s) = session::current() else {
        return;
    };
    if !s.can_edit() {
        return;
    }
    let provider = g.provider.with_untracked(|_| g.provider().name);
    let single_shot = match &scope {
        Scope::Shots { shots } if shots.len() == 1 => Some(shots[0].clone()),
        _ => None,
    };
    g.error.set(None);
    g.notice.set(None);
    let (id, token) = (s.id.clone(), s.token.clone());
    leptos::task::spawn_local(async move {
        match api::generate(&id, &token, &provider, kind, scope).await {
            Ok(ids) if ids.is_empty() => {
                g.notice.set(Some(
                    ctx.t("Nothing to generate: every shot has a take").into(),
                ));
            }
            Ok(ids) => {
                // The queued state shows at once, before the list comes back.
                if let Some(shot) = single_shot {
                    g.jobs.update(|all| {
                        for job in &ids {
                            if !all.iter().any(|j| &j.id == job) {
                                all.push(queued_view(job, kind, &provider, &shot));
                            }
                        }
                    });
                }
                g.notice
                    .set(Some(format!("{} {}", ids.len(), ctx.t("jobs queued"))));
                refresh(g);
            }
            Err(e) => g
                .error
                .set(Some(refusal_text(&e, ctx.lang.get_untracked()))),
        }
    });
}

/// A just-queued job, shown before the server's list comes back.
fn queued_view(id: &JobId, kind: JobKind, provider: &str, shot: &str) -> JobView {
    JobView {
        id: id.clone(),
        status: JobStatus::Queued,
        kind,
        provider: provider.to_owned(),
        shot_id: Some(shot.into()),
        character_id: None,
        error: None,
        error_class: None,
        attempts: 0,
        cost: None,
        progress: None,
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}

/// A refused generate request in words for the studio: the server's message, except that a
/// missing key (the server's `missing_credential` code) points to the settings panel rather
/// than to the API.
fn refusal_text(e: &ApiError, lang: Lang) -> String {
    match (e.missing_credential(), lang) {
        (Some(p), Lang::Zh) => {
            format!("此项目还没有 {p} 的密钥（no {p} key is set）。项目所有者可以在“设置”中添加。")
        }
        (Some(p), Lang::En) => {
            format!("no {p} key is set for this project: an owner can add one in Settings")
        }
        (None, _) => error_text(e),
    }
}

fn cancel(g: Gen, job: String) {
    let Some(s) = session::current() else {
        return;
    };
    let (id, token) = (s.id.clone(), s.token.clone());
    leptos::task::spawn_local(async move {
        if let Err(e) = api::cancel_job(&id, &token, &job).await {
            g.error.set(Some(error_text(&e)));
        }
        refresh(g);
    });
}

/// The kind a scene's or the board's "Generate" makes with the chosen provider.
pub(crate) fn bulk_kind(p: ProviderInfo) -> JobKind {
    if p.makes(JobKind::Frame) {
        JobKind::Frame
    } else {
        JobKind::Clip
    }
}

/// Provider picker and "Generate all", in the board's toolbar (owners and editors).
#[component]
pub(crate) fn GenerateBar() -> impl IntoView {
    let ctx = ctx();
    let g = expect_context::<Gen>();
    view! {
        <div class="generate-bar">
            <label class="provider-pick">
                <span>{move || ctx.t("Provider")}</span>
                <select
                    id="gen-provider"
                    prop:value=move || g.provider().name
                    on:change=move |ev| {
                        let name = event_target_value(&ev);
                        store_provider(&name);
                        g.provider.set(name);
                    }
                >
                    {move || {
                        let chosen = g.provider().name;
                        let mut list = g.providers.get();
                        // Until the server's list arrives, the stored choice stands alone.
                        if list.is_empty() {
                            list.push(g.provider());
                        }
                        list.into_iter()
                            .map(|p| {
                                let (frames, clips) =
                                    (p.makes(JobKind::Frame), p.makes(JobKind::Clip));
                                let label = match (p.name.as_str(), frames, clips) {
                                    ("offline", _, _) => format!("offline ({})", ctx.t("built-in")),
                                    (n, false, true) => format!("{n} ({})", ctx.t("video")),
                                    (n, true, true) => {
                                        format!("{n} ({}, {})", ctx.t("image"), ctx.t("video"))
                                    }
                                    (n, _, _) => n.to_owned(),
                                };
                                let selected = p.name == chosen;
                                view! {
                                    <option value=p.name.clone() selected=selected>
                                        {label}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <button
                class="generate-all primary"
                title=move || ctx.t("Generate a take for every shot that has none")
                disabled=move || g.providers.with(Vec::is_empty)
                on:click=move |_| generate(g, bulk_kind(g.provider()), Scope::missing())
            >
                {move || ctx.t("Generate all")}
            </button>
        </div>
    }
}

/// A card's "Generate frame" / "Generate clip" buttons (owners and editors).
#[component]
pub(crate) fn CardActions(shot: String, number: usize) -> impl IntoView {
    let ctx = ctx();
    let g = expect_context::<Gen>();
    let frame_shot = shot.clone();
    // A shot with a job under way is not sent again (a double click would pay twice). The
    // buttons stay focusable (`aria-disabled`, not `disabled`, which would drop the focus).
    let busy = {
        let shot = shot.clone();
        move || {
            matches!(
                g.card_status(&shot),
                Some(CardStatus::Queued | CardStatus::Running(_))
            )
        }
    };
    let frame_busy = busy.clone();
    // The take that a generation brings re-creates the card, and the focused button goes with
    // the old one: the new card's button takes the focus back if nothing else has it, so a
    // keyboard user keeps their place.
    {
        let shot = shot.clone();
        super::after_render(move || {
            let nothing_focused = web_sys::window()
                .and_then(|w| w.document())
                .is_none_or(|d| d.active_element().is_none_or(|e| e.tag_name() == "BODY"));
            let last = LAST_FOCUS.with(|l| l.borrow().clone());
            if let Some((last_shot, class)) = last
                && nothing_focused
                && last_shot == shot
            {
                super::focus(&format!("[data-shot-id=\"{shot}\"] .{class}"));
            }
        });
    }
    let on_focusin = {
        let shot = shot.clone();
        move |ev: leptos::ev::FocusEvent| {
            let class = ev
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                .map(|e| e.class_name())
                .unwrap_or_default();
            LAST_FOCUS.with(|l| *l.borrow_mut() = Some((shot.clone(), class)));
        }
    };
    // Focus moving somewhere else (not away with a removed card) forgets the place.
    let on_focusout = move |ev: leptos::ev::FocusEvent| {
        if ev.related_target().is_some() {
            LAST_FOCUS.with(|l| *l.borrow_mut() = None);
        }
    };
    view! {
        <div class="gen-actions" on:focusin=on_focusin on:focusout=on_focusout>
            <Show when=move || g.provider().makes(JobKind::Frame)>
                <button
                    class="gen-frame"
                    aria-disabled={
                        let busy = frame_busy.clone();
                        move || busy().to_string()
                    }
                    aria-label=move || format!("{} #{number}", ctx.t("Generate frame for shot"))
                    on:click={
                        let shot = frame_shot.clone();
                        let busy = frame_busy.clone();
                        move |ev: leptos::ev::MouseEvent| {
                            ev.stop_propagation();
                            if busy() {
                                return;
                            }
                            generate(g, JobKind::Frame, Scope::Shots { shots: vec![shot.clone()] });
                        }
                    }
                >
                    {move || ctx.t("Generate frame")}
                </button>
            </Show>
            <Show when=move || g.provider().makes(JobKind::Clip)>
                <button
                    class="gen-clip"
                    aria-disabled={
                        let busy = busy.clone();
                        move || busy().to_string()
                    }
                    aria-label=move || format!("{} #{number}", ctx.t("Generate clip for shot"))
                    on:click={
                        let shot = shot.clone();
                        let busy = busy.clone();
                        move |ev: leptos::ev::MouseEvent| {
                            ev.stop_propagation();
                            if busy() {
                                return;
                            }
                            generate(g, JobKind::Clip, Scope::Shots { shots: vec![shot.clone()] });
                        }
                    }
                >
                    {move || ctx.t("Generate clip")}
                </button>
            </Show>
        </div>
    }
}

/// A card's job state: a progress bar while running, "queued", or why it failed.
#[component]
pub(crate) fn CardStatusLine(shot: String) -> impl IntoView {
    let ctx = ctx();
    let g = expect_context::<Gen>();
    let status = move || g.card_status(&shot);
    move || {
        status().map(|s| match s {
            CardStatus::Queued => view! {
                <div class="gen-status" data-status="queued">
                    <span class="spinner" aria-hidden="true"></span>
                    {move || ctx.t("Queued")}
                </div>
            }
            .into_any(),
            CardStatus::Running(progress) => {
                let pct = progress.map(|p| (p.clamp(0.0, 1.0) * 100.0).round());
                view! {
                    <div class="gen-status" data-status="running">
                        {match pct {
                            Some(pct) => {
                                view! { <progress max="100" value=pct.to_string()></progress> }
                                    .into_any()
                            }
                            None => view! { <progress></progress> }.into_any(),
                        }}
                        <span>
                            {move || ctx.t("Generating")}
                            {pct.map(|p| format!(" {p}%")).unwrap_or_else(|| "…".into())}
                        </span>
                    </div>
                }
                .into_any()
            }
            CardStatus::Failed(reason) => view! {
                <div class="gen-status" data-status="failed" title=reason.clone()>
                    <strong>{move || ctx.t("Failed")}</strong>
                    ": "
                    <span class="gen-reason">{reason.clone()}</span>
                </div>
            }
            .into_any(),
        })
    }
}

/// Running, queued and failed jobs, the last request's outcome, and cancel buttons.
#[component]
pub(crate) fn JobsPanel() -> impl IntoView {
    let ctx = ctx();
    let g = expect_context::<Gen>();
    let sig = g.sig;
    let editable = move || sig.role.get().can_edit();
    let shot_number = move |id: &Option<api_types::ShotId>| {
        id.as_ref().and_then(|id| {
            sig.shots
                .with(|all| all.iter().position(|s| s.id.as_str() == id.as_str()))
                .map(|i| i + 1)
        })
    };
    let of_status = move |status: JobStatus| {
        move || {
            g.jobs.with(|all| {
                let mut list: Vec<JobView> =
                    all.iter().filter(|j| j.status == status).cloned().collect();
                if status == JobStatus::Failed {
                    // The most recent failures matter; old ones stay in the list's count.
                    list.reverse();
                }
                list
            })
        }
    };
    let running_count = move || {
        let live = sig.live_jobs.with(|l| l.running.len());
        live.max(of_status(JobStatus::Running)().len())
    };
    let queued_count = move || {
        let live = sig.live_jobs.with(|l| l.queued as usize);
        live.max(of_status(JobStatus::Queued)().len())
    };
    let done_count = move || {
        g.jobs.with(|all| {
            all.iter()
                .filter(|j| j.status == JobStatus::Succeeded)
                .count()
        })
    };
    let live_progress = move |job: &str| {
        sig.live_jobs
            .with(|l| l.running.get(job).and_then(|j| j.progress))
    };
    let visible = move || {
        g.error.with(Option::is_some)
            || g.notice.with(Option::is_some)
            || g.jobs.with(|j| !j.is_empty())
            || running_count() + queued_count() > 0
    };
    let row = move |j: JobView| {
        let number = shot_number(&j.shot_id);
        let what = format!(
            "{} · {} · {}",
            number.map_or_else(|| "—".to_owned(), |n| format!("#{n}")),
            j.kind,
            j.provider
        );
        let progress = live_progress(j.id.as_str()).or(j.progress);
        let status = j.status;
        let cancellable = status != JobStatus::Failed;
        let running = status == JobStatus::Running;
        let id = j.id.to_string();
        view! {
            <li class="job" data-job-id=j.id.to_string() data-status=status.as_str()>
                <span class="job-what">{what}</span>
                <span class="job-status">
                    {move || ctx.t(match status {
                        JobStatus::Running => "Running",
                        JobStatus::Queued => "Queued",
                        _ => "Failed",
                    })}
                </span>
                {running
                    .then(|| match progress {
                        Some(p) => {
                            view! {
                                <progress max="100" value=(p * 100.0).round().to_string()></progress>
                            }
                                .into_any()
                        }
                        None => view! { <progress></progress> }.into_any(),
                    })}
                {j.error.clone().map(|e| {
                    let full = e.clone();
                    view! { <span class="job-error" title=full>{e}</span> }
                })}
                <Show when=move || editable() && cancellable>
                    <button
                        class="cancel-job quiet"
                        on:click={
                            let id = id.clone();
                            move |_| cancel(g, id.clone())
                        }
                    >
                        {move || ctx.t("Cancel")}
                    </button>
                </Show>
            </li>
        }
    };
    let section = move |status: JobStatus, title: &'static str| {
        let list = of_status(status);
        view! {
            <Show when=move || !list().is_empty()>
                <h4>{move || ctx.t(title)}</h4>
                <ul class="job-list" data-list=status.as_str()>
                    {move || {
                        let all = list();
                        let listed = if status == JobStatus::Failed { LISTED_FAILED } else { LISTED };
                        let more = all.len().saturating_sub(listed);
                        let rows = all.into_iter().take(listed).map(row).collect_view();
                        view! {
                            {rows}
                            {(more > 0)
                                .then(|| {
                                    view! {
                                        <li class="muted">{format!("+{more} ")} {move || ctx.t("more")}</li>
                                    }
                                })}
                        }
                    }}
                </ul>
            </Show>
        }
    };
    view! {
        <Show when=visible>
            <section
                class="jobs-panel"
                aria-label="Jobs"
                data-running=move || running_count().to_string()
                data-queued=move || queued_count().to_string()
            >
                <header class="jobs-header">
                    <h3>{move || ctx.t("Jobs")}</h3>
                    <span class="jobs-counts" aria-live="polite">
                        {move || ctx.t("Running")} ": " {running_count} " · "
                        {move || ctx.t("Queued")} ": " {queued_count} " · "
                        {move || ctx.t("Done")} ": " {done_count} " · "
                        {move || ctx.t("Failed")} ": " {move || of_status(JobStatus::Failed)().len()}
                    </span>
                </header>
                {move || {
                    g.error
                        .get()
                        .map(|e| {
                            view! {
                                <div class="gen-error" role="alert">
                                    <strong>{move || ctx.t("Could not generate")}</strong>
                                    ": "
                                    <span class="gen-error-text">{e}</span>
                                    <button
                                        class="quiet"
                                        on:click=move |_| g.error.set(None)
                                    >
                                        {move || ctx.t("Dismiss")}
                                    </button>
                                </div>
                            }
                        })
                }}
                {move || {
                    g.notice.get().map(|n| view! { <p class="gen-notice" role="status">{n}</p> })
                }}
                {section(JobStatus::Running, "Running")}
                {section(JobStatus::Queued, "Queued")}
                {section(JobStatus::Failed, "Failed")}
            </section>
        </Show>
    }
}
