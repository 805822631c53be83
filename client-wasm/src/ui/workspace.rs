//! One project's workspace: header with tabs, the active screen, the status bar.

use leptos::prelude::*;

use super::{LangSwitch, Route, Tab, ctx, navigate};
use crate::session::{self, Signals};
use crate::{editor, storage};

#[component]
pub(crate) fn Workspace(id: String) -> impl IntoView {
    let ctx = ctx();
    let signals: RwSignal<Option<Signals>> = RwSignal::new(None);
    let stored = storage::project(&id);
    let tab = Memo::new(move |_| match ctx.route.get() {
        Route::Project { tab, .. } => tab,
        Route::Projects => Tab::Board,
    });

    // The session and the review are opened by the review host, which also swaps a share
    // link's token for the personal one once its holder has given a name.
    let review = super::review::Host::provide(signals);
    if let Some(project) = stored.clone() {
        let created = super::projects::take_created(&project.id);
        review.open_project(project, created);
    }
    // Closing the session drops the script editor too, if it is mounted.
    on_cleanup(session::close_current);

    // Presence follows the screen being looked at.
    Effect::new(move |_| {
        let tab = tab.get();
        if signals.get().is_some() {
            session::with(|s| s.set_presence(|p| p.view = Some(tab.slug().into())));
        }
    });

    // A memo, so that the owner's menus are built once: the role signal is set again whenever
    // the token is re-checked, and rebuilding a menu on that closed it under the user's hand.
    let is_owner = Memo::new(move |_| {
        signals
            .get()
            .is_some_and(|s| s.role.get() == session::Role::Owner)
    });
    let has_access = stored.is_some();
    let title = move || {
        signals
            .get()
            .map(|s| s.meta.get().title)
            .filter(|t| !t.is_empty())
            .or_else(|| stored.as_ref().map(|p| p.title.clone()))
            .unwrap_or_default()
    };
    let project_id = id.clone();

    view! {
        <header class="topbar">
            <a class="brand" href="#/" title=move || ctx.t("Back to projects")>
                "Shotweave"
            </a>
            <h1 class="project-title">{title}</h1>
            <nav class="tabs" role="tablist">
                {Tab::ALL
                    .into_iter()
                    .map(|t| {
                        let id = project_id.clone();
                        view! {
                            <button
                                role="tab"
                                class="tab"
                                data-tab=t.slug()
                                aria-selected=move || (tab.get() == t).to_string()
                                on:click=move |_| {
                                    navigate(&Route::Project { id: id.clone(), tab: t })
                                }
                            >
                                {move || ctx.t(t.label())}
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            <span class="spacer"></span>
            {move || signals.get().map(|_| view! { <super::review::ReviewToggle /> })}
            {move || is_owner.get().then(|| view! { <super::links::ShareMenu /> })}
            {move || is_owner.get().then(|| view! { <super::settings::SettingsMenu /> })}
            {move || signals.get().map(|_| view! { <super::transfer::ExportMenu /> })}
            <LangSwitch />
        </header>
        {move || match (signals.get(), has_access) {
            (_, false) => {
                view! {
                    <main class="empty-state">
                        <p>
                            {move || {
                                ctx.t(
                                    "You have no access to this project on this device. Open a link someone shared with you.",
                                )
                            }}
                        </p>
                        <a href="#/">{move || ctx.t("Back to projects")}</a>
                    </main>
                }
                    .into_any()
            }
            (None, true) => {
                view! { <main class="empty-state">{move || ctx.t("Loading")}"…"</main> }.into_any()
            }
            (Some(sig), true) => {
                view! {
                    <super::review::ReviewLayer />
                    <main class="workspace" data-ready="true">
                        {move || match tab.get() {
                            Tab::Script => view! { <ScriptView sig=sig /> }.into_any(),
                            Tab::Board => view! { <super::board::Board sig=sig /> }.into_any(),
                            Tab::Characters => {
                                view! { <super::characters::Characters sig=sig /> }.into_any()
                            }
                            Tab::Assets => view! { <super::assets::Assets sig=sig /> }.into_any(),
                            Tab::Versions => {
                                view! { <super::versions::Versions sig=sig /> }.into_any()
                            }
                        }}
                    </main>
                    <super::status::StatusBar sig=sig />
                }
                    .into_any()
            }
        }}
    }
}

/// The script: a document-driven contenteditable (see `editor.rs`) plus the cursor overlay.
#[component]
fn ScriptView(sig: Signals) -> impl IntoView {
    let text = NodeRef::<leptos::html::Div>::new();
    let overlay = NodeRef::<leptos::html::Div>::new();
    // The session holds the mounted editor; this view keeps only a weak handle to it.
    let mounted = StoredValue::new_local(None::<std::rc::Weak<editor::Editor>>);
    Effect::new(move |_| {
        if let (Some(text), Some(overlay)) = (text.get(), overlay.get()) {
            mounted.set_value(editor::mount(text.into(), overlay.into()));
        }
    });
    Effect::new(move |_| {
        let editable = sig.role.get().can_edit();
        if let Some(editor) = mounted.with_value(|m| m.as_ref().and_then(|w| w.upgrade())) {
            editor.set_editable(editable);
        }
    });
    on_cleanup(editor::unmount);
    view! {
        <div class="script-scroll">
            <div class="script-page">
                <div
                    class="script-text"
                    node_ref=text
                    role="textbox"
                    aria-multiline="true"
                    aria-label="Script"
                    spellcheck="false"
                    translate="no"
                ></div>
                <div class="script-overlay" node_ref=overlay aria-hidden="true"></div>
                <super::review::ScriptMargin editor=mounted />
            </div>
        </div>
    }
}
