//! The project list (projects this browser has a token for) and project creation.

use leptos::prelude::*;
use shared_model::MetaPatch;

use super::{LangSwitch, Route, Tab, ctx, navigate};
use crate::session::Role;
use crate::{api, storage};

thread_local! {
    /// The meta of a project this page has just created, for the workspace to write into the
    /// new document.
    static CREATED: std::cell::RefCell<Option<(String, MetaPatch)>> =
        const { std::cell::RefCell::new(None) };
}

/// The meta to write if `id` was just created here (taken once).
pub(crate) fn take_created(id: &str) -> Option<MetaPatch> {
    CREATED.with(|c| {
        let mut c = c.borrow_mut();
        match &*c {
            Some((created, _)) if created == id => c.take().map(|(_, m)| m),
            _ => None,
        }
    })
}

#[component]
pub(crate) fn ProjectList() -> impl IntoView {
    let ctx = ctx();
    let projects = RwSignal::new(storage::projects());
    let title = RwSignal::new(String::new());
    let language = RwSignal::new(ctx.lang.get_untracked().tag().to_owned());
    let busy = RwSignal::new(false);

    let create = move || {
        let name = title.get_untracked().trim().to_owned();
        if name.is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::create_project(&name).await {
                Ok(created) => {
                    storage::remember_project(&storage::StoredProject {
                        id: created.project_id.to_string(),
                        title: name.clone(),
                        token: created.token,
                        role: Role::Owner,
                    });
                    CREATED.with(|c| {
                        *c.borrow_mut() = Some((
                            created.project_id.to_string(),
                            MetaPatch {
                                title: Some(name),
                                language: Some(language.get_untracked()),
                                aspect_ratio: None,
                            },
                        ))
                    });
                    navigate(&Route::Project {
                        id: created.project_id.to_string(),
                        tab: Tab::Board,
                    });
                }
                Err(e) => ctx.banner.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    view! {
        <header class="topbar">
            <h1 class="brand">"Shotweave"</h1>
            <span class="spacer"></span>
            <LangSwitch />
        </header>
        <main class="projects">
            <div class="project-actions">
                <section class="card new-project">
                    <h2>{move || ctx.t("New project")}</h2>
                    <form on:submit=move |ev| {
                        ev.prevent_default();
                        create();
                    }>
                        <label>
                            {move || ctx.t("Title")}
                            <input
                                id="new-project-title"
                                type="text"
                                required
                                maxlength="200"
                                prop:value=move || title.get()
                                on:input=move |ev| title.set(event_target_value(&ev))
                            />
                        </label>
                        <label>
                            {move || ctx.t("Language")}
                            <select
                                prop:value=move || language.get()
                                on:change=move |ev| language.set(event_target_value(&ev))
                            >
                                <option value="en">"English"</option>
                                <option value="zh">"中文"</option>
                            </select>
                        </label>
                        <button type="submit" class="primary" prop:disabled=move || busy.get()>
                            {move || ctx.t("Create")}
                        </button>
                    </form>
                </section>
                <super::transfer::ImportNovel />
            </div>
            <section class="card">
                <h2>{move || ctx.t("Projects")}</h2>
                <Show
                    when=move || !projects.get().is_empty()
                    fallback=move || {
                        view! {
                            <p class="muted">
                                {move || {
                                    ctx.t(
                                        "No projects yet. Create one, or open a link someone shared with you.",
                                    )
                                }}
                            </p>
                        }
                    }
                >
                    <ul class="project-list">
                        <For
                            each=move || projects.get()
                            key=|p| (p.id.clone(), p.title.clone(), p.role)
                            children=move |p| {
                                let id = p.id.clone();
                                let forget_id = p.id.clone();
                                let href = format!("#/p/{}/board", p.id);
                                let title = if p.title.is_empty() { p.id.clone() } else { p.title.clone() };
                                view! {
                                    <li class="project-item">
                                        <a class="project-link" href=href data-project-id=id>
                                            {title}
                                        </a>
                                        <span class="role-badge">{p.role.as_str()}</span>
                                        <button
                                            class="quiet"
                                            on:click=move |_| {
                                                storage::forget_project(&forget_id);
                                                projects.set(storage::projects());
                                            }
                                        >
                                            {move || ctx.t("Forget")}
                                        </button>
                                    </li>
                                }
                            }
                        />
                    </ul>
                </Show>
            </section>
        </main>
    }
}
