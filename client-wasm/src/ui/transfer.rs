//! Novels in, storyboards out: "New project from a novel" on the project list, and the
//! workspace's Export menu.

use leptos::prelude::*;

use super::generate::error_text;
use super::{Route, Tab, ctx, navigate};
use crate::session::{self, Role};
use crate::{api, storage};

/// The export formats the server writes (`sync-server/src/studio.rs`), with their labels
/// (English, translated through `i18n` where a translation exists). The timeline formats carry
/// the open review threads as markers; the review report lists every thread and verdict.
const FORMATS: [(&str, &str); 10] = [
    ("otio", "OpenTimelineIO (.otio)"),
    ("edl", "CMX 3600 EDL (.edl)"),
    ("fcp7", "Final Cut Pro 7 XML (.xml)"),
    ("fcpxml", "Final Cut Pro X (.fcpxml)"),
    ("fountain", "Fountain screenplay (.fountain)"),
    ("sheet", "Storyboard sheet (.html)"),
    ("animatic", "Animatic (.mp4)"),
    ("media", "Media list (.json)"),
    ("review-pdf", "Review report (PDF)"),
    ("review-html", "Review report (HTML)"),
];

/// Download links for every export format; any role may export.
#[component]
pub(crate) fn ExportMenu() -> impl IntoView {
    let ctx = ctx();
    let open = RwSignal::new(false);
    let button = NodeRef::<leptos::html::Button>::new();
    let close = move || {
        open.set(false);
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    let links = move || {
        let Some(s) = session::current() else {
            return Vec::new();
        };
        FORMATS
            .iter()
            .map(|(format, label)| {
                let href = api::export_url(&s.id, &s.token, format);
                view! {
                    <li>
                        <a class="export-link" data-format=*format href=href download="">
                            {ctx.t(label)}
                        </a>
                    </li>
                }
            })
            .collect::<Vec<_>>()
    };
    view! {
        <div class="export">
            <button
                class="export-button"
                node_ref=button
                aria-expanded=move || open.get().to_string()
                aria-haspopup="true"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || ctx.t("Export")}
            </button>
            <Show when=move || open.get()>
                <ul
                    class="export-menu"
                    aria-label="Export formats"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            close();
                        }
                    }
                >
                    {links}
                </ul>
            </Show>
        </div>
    }
}

/// "New project from a novel": a `.txt`, `.md` or `.fountain` file becomes a project with its
/// storyboard broken down by the server, which then opens.
#[component]
pub(crate) fn ImportNovel() -> impl IntoView {
    let ctx = ctx();
    let busy = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let on_file = move |ev: leptos::ev::Event| {
        let Some(file) = super::board::first_file(&ev) else {
            return;
        };
        // The same file chosen again after an error must fire `change` again.
        if let Some(input) = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
        {
            input.set_value("");
        }
        if busy.get_untracked().is_some() {
            return;
        }
        error.set(None);
        busy.set(Some(file.name()));
        leptos::task::spawn_local(async move {
            match api::import_novel(&file).await {
                Ok(imported) => {
                    storage::remember_project(&storage::StoredProject {
                        id: imported.project_id.to_string(),
                        title: imported.title.clone(),
                        token: imported.token,
                        role: Role::Owner,
                    });
                    busy.set(None);
                    if imported.shots == 0 {
                        web_sys::console::warn_1(&"the imported novel gave no shots".into());
                    }
                    navigate(&Route::Project {
                        id: imported.project_id.to_string(),
                        tab: Tab::Board,
                    });
                }
                Err(e) => {
                    busy.set(None);
                    error.set(Some(error_text(&e)));
                }
            }
        });
    };
    view! {
        <section class="card import-novel">
            <h2>{move || ctx.t("New project from a novel")}</h2>
            <p class="muted small">
                {move || {
                    ctx.t(
                        "A .txt, .md or .fountain file; chapters become scenes and shots, ready to generate.",
                    )
                }}
            </p>
            <label class="upload primary" class:disabled=move || busy.get().is_some()>
                {move || ctx.t("Choose a novel file")}
                <input
                    id="import-novel-file"
                    type="file"
                    accept=".txt,.md,.markdown,.fountain,text/plain,text/markdown"
                    prop:disabled=move || busy.get().is_some()
                    on:change=on_file
                />
            </label>
            {move || {
                busy.get()
                    .map(|name| {
                        view! {
                            <p class="import-progress" role="status" aria-live="polite">
                                <span class="spinner" aria-hidden="true"></span>
                                {move || ctx.t("Importing and breaking down")}
                                " "
                                {name}
                                "…"
                            </p>
                        }
                    })
            }}
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="import-error" role="alert">
                                <strong>{move || ctx.t("Could not import")}</strong>
                                ": "
                                {e}
                            </p>
                        }
                    })
            }}
        </section>
    }
}
