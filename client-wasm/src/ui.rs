//! The screens. Routing is by URL hash (`#/` lists projects, `#/p/{id}/{tab}` opens one), so the
//! server only ever serves `index.html` and the service worker can cache the whole app.

mod assets;
mod board;
mod characters;
mod fields;
mod generate;
mod i18n;
mod links;
mod projects;
mod review;
mod settings;
mod status;
mod transfer;
mod versions;
mod workspace;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

pub(crate) use i18n::{Lang, t};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Script,
    Board,
    Characters,
    Assets,
    /// Named versions, a version's read-only view and the diff (`ui/versions.rs`).
    Versions,
}

impl Tab {
    pub(crate) const ALL: [Tab; 5] = [
        Tab::Script,
        Tab::Board,
        Tab::Characters,
        Tab::Assets,
        Tab::Versions,
    ];

    fn parse(s: &str) -> Tab {
        match s {
            "script" => Tab::Script,
            "characters" => Tab::Characters,
            "assets" => Tab::Assets,
            "versions" => Tab::Versions,
            _ => Tab::Board,
        }
    }

    pub(crate) fn slug(self) -> &'static str {
        match self {
            Tab::Script => "script",
            Tab::Board => "board",
            Tab::Characters => "characters",
            Tab::Assets => "assets",
            Tab::Versions => "versions",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Tab::Script => "Script",
            Tab::Board => "Storyboard",
            Tab::Characters => "Characters",
            Tab::Assets => "Assets",
            Tab::Versions => "Versions",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Projects,
    Project { id: String, tab: Tab },
}

/// Parses `#/p/{id}/{tab}?token=...`; the token, if any, comes back separately.
fn parse_hash(hash: &str) -> (Route, Option<String>) {
    let hash = hash.trim_start_matches('#');
    let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .and_then(|t| js_sys::decode_uri_component(t).ok())
        .map(String::from);
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let route = match parts.as_slice() {
        ["p", id, rest @ ..] if !id.is_empty() => Route::Project {
            id: (*id).to_owned(),
            tab: Tab::parse(rest.first().copied().unwrap_or("board")),
        },
        _ => Route::Projects,
    };
    (route, token)
}

pub(crate) fn navigate(route: &Route) {
    let hash = match route {
        Route::Projects => "#/".to_owned(),
        Route::Project { id, tab } => format!("#/p/{id}/{}", tab.slug()),
    };
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(&hash);
    }
}

/// What every screen may need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub(crate) lang: RwSignal<Lang>,
    /// The error banner's message.
    pub(crate) banner: RwSignal<Option<String>>,
    pub(crate) route: RwSignal<Route>,
}

impl Ctx {
    pub(crate) fn t(&self, en: &'static str) -> &'static str {
        t(self.lang.get(), en)
    }
}

pub(crate) fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

pub(crate) fn mount() {
    console_panics();
    register_service_worker();
    leptos::mount::mount_to_body(App);
}

/// Panics go to the console with their message instead of an opaque "unreachable".
fn console_panics() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("shotweave: {info}").into());
    }));
}

/// The service worker caches the app so that a reload without network still opens it.
fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    let promise = container.register("/sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        // Failing here (private mode, plain HTTP on another host) only costs offline reloads.
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    });
}

/// Takes the token out of the address bar (it would otherwise end up in bookmarks and
/// screenshots), remembering it for the project.
fn accept_link(route: &Route, token: String) {
    let Route::Project { id, tab } = route else {
        return;
    };
    let title = crate::storage::project(id)
        .map(|p| p.title)
        .unwrap_or_default();
    // The role is unknown until the server confirms it; assume the least.
    crate::storage::remember_project(&crate::storage::StoredProject {
        id: id.clone(),
        title,
        token,
        role: crate::session::Role::Viewer,
    });
    if let Some(w) = web_sys::window()
        && let Ok(history) = w.history()
    {
        // The rest of the address stays (a version, a comparison), so that a link can open
        // straight into it.
        let hash = w.location().hash().unwrap_or_default();
        let clean =
            versions::without_token(&hash).unwrap_or_else(|| format!("#/p/{id}/{}", tab.slug()));
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
    }
}

fn current_route() -> Route {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let (route, token) = parse_hash(&hash);
    if let Some(token) = token {
        accept_link(&route, token);
    }
    route
}

#[component]
fn App() -> impl IntoView {
    let lang = RwSignal::new(Lang::initial());
    let ctx = Ctx {
        lang,
        banner: RwSignal::new(None),
        route: RwSignal::new(current_route()),
    };
    provide_context(ctx);

    let on_hash = Closure::<dyn FnMut()>::new(move || ctx.route.set(current_route()));
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("hashchange", on_hash.as_ref().unchecked_ref());
    }
    // The app lives as long as the page.
    on_hash.forget();

    Effect::new(move |_| {
        let tag = lang.get().tag();
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = el.set_attribute("lang", if tag == "zh" { "zh-CN" } else { "en" });
        }
    });

    // Only a change of project replaces the page; switching tabs must keep the session open.
    let page = Memo::new(move |_| match ctx.route.get() {
        Route::Projects => None,
        Route::Project { id, .. } => Some(id),
    });

    view! {
        <Banner />
        {move || match page.get() {
            None => view! { <projects::ProjectList /> }.into_any(),
            Some(id) => view! { <workspace::Workspace id=id /> }.into_any(),
        }}
    }
}

/// Auth and server errors, shown until dismissed.
#[component]
fn Banner() -> impl IntoView {
    let ctx = ctx();
    view! {
        <Show when=move || ctx.banner.get().is_some()>
            <div class="banner" role="alert">
                <span class="banner-text">{move || ctx.banner.get().unwrap_or_default()}</span>
                <button class="banner-close" on:click=move |_| ctx.banner.set(None)>
                    {move || ctx.t("Dismiss")}
                </button>
            </div>
        </Show>
    }
}

/// Language switch, shown in every header.
#[component]
pub(crate) fn LangSwitch() -> impl IntoView {
    let ctx = ctx();
    view! {
        <button
            class="lang"
            title="English / 中文"
            on:click=move |_| {
                let next = if ctx.lang.get_untracked() == Lang::En { Lang::Zh } else { Lang::En };
                next.store();
                ctx.lang.set(next);
            }
        >
            {move || if ctx.lang.get() == Lang::En { "中文" } else { "English" }}
        </button>
    }
}

/// Formats milliseconds as `m:ss.s`.
pub(crate) fn format_duration(ms: u64) -> String {
    let tenths = ms / 100;
    format!("{}:{:02}.{}", tenths / 600, (tenths / 10) % 60, tenths % 10)
}

/// Runs `f` after the browser has rendered the current changes (to focus re-created elements).
pub(crate) fn after_render(f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(callback.unchecked_ref());
    }
}

/// Focuses the first element matching `selector`.
pub(crate) fn focus(selector: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}
