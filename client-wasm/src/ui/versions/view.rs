//! A version, read-only: its storyboard (with that version's chosen takes), its script and its
//! characters, under a banner that says which version this is and leads back to the live
//! project.
//!
//! The state comes from `GET .../versions/{v}/state` and is opened as a `Project` of its own,
//! read once into plain values; the live session is not touched. The cards here are simpler
//! than the live board's (no editing, no windowing, no presence): the live board's components
//! write to the live document, which a version's view must never do.

use std::collections::HashMap;

use api_types::{ShotId, VersionId, VersionInfo};
use leptos::prelude::*;
use shared_model::{Character, CharacterId, Project, ProjectOptions, Scene, Shot};

use super::{Page, Part, Shared, VersionThumb, fill, go, href, part_label, when};
use crate::api;
use crate::ui::{Route, Tab, ctx, format_duration, navigate};

/// What a version holds, read out of its document.
#[derive(Debug, Clone)]
struct Snapshot {
    scenes: Vec<Scene>,
    shots: Vec<Shot>,
    characters: Vec<Character>,
    script: String,
}

fn read(state: &[u8]) -> shared_model::Result<Snapshot> {
    let project = Project::load(state, ProjectOptions::default())?;
    Ok(Snapshot {
        scenes: project.scenes(),
        shots: project.shots(),
        characters: project.characters(),
        script: project.script_text(),
    })
}

#[component]
pub(crate) fn VersionView(
    shared: Shared,
    version: VersionId,
    part: Part,
    shot: Option<ShotId>,
) -> impl IntoView {
    let ctx = ctx();
    let snapshot = RwSignal::new(None::<Result<Snapshot, String>>);
    {
        let (project, token, version) = (shared.project(), shared.token(), version.clone());
        leptos::task::spawn_local(async move {
            let result = match api::version_state(&project, &token, &version).await {
                Ok(bytes) => read(&bytes).map_err(|e| {
                    web_sys::console::warn_1(&format!("cannot open version: {e}").into());
                    ctx.t("This version cannot be opened").to_owned()
                }),
                Err(e) if e.is_not_found() => {
                    Err(ctx.t("This version no longer exists").to_owned())
                }
                Err(e) => Err(e.to_string()),
            };
            snapshot.set(Some(result));
        });
    }
    let info = {
        let version = version.clone();
        Memo::new(move |_| shared.info(&version))
    };
    let project = shared.project();
    let back = {
        let project = project.clone();
        move |_| {
            navigate(&Route::Project {
                id: project.clone(),
                tab: Tab::Board,
            })
        }
    };
    let parts = Part::ALL
        .into_iter()
        .map(|p| {
            let link = href(
                &project,
                &Page::View {
                    version: version.clone(),
                    part: p,
                    shot: None,
                },
            );
            view! {
                <a
                    class="tab version-part"
                    role="tab"
                    data-part=p.slug()
                    aria-selected=(p == part).to_string()
                    href=link
                >
                    {move || ctx.t(part_label(p))}
                </a>
            }
        })
        .collect_view();
    let compare = {
        let (project, version) = (project.clone(), version.clone());
        move |_| {
            go(
                &project,
                &Page::Compare {
                    from: version.clone(),
                    to: None,
                },
            )
        }
    };
    let list_href = href(&project, &Page::List);

    view! {
        <div class="version-view" data-version-id=version.to_string()>
            <div class="version-banner" role="status">
                <span class="version-banner-text">
                    {move || banner_text(info.get(), ctx.lang.get())}
                </span>
                " · "
                <span class="readonly-mark">{move || ctx.t("read-only")}</span>
                " · "
                <button class="back-to-live" on:click=back>
                    {move || ctx.t("Back to the live project")}
                </button>
                <span class="spacer"></span>
                <button class="compare-this" on:click=compare>
                    {move || ctx.t("Compare with now")}
                </button>
                <a class="button" href=list_href>
                    {move || ctx.t("All versions")}
                </a>
            </div>
            <nav class="tabs version-parts" role="tablist">
                {parts}
            </nav>
            {move || match snapshot.get() {
                None => view! { <p class="muted loading">{move || ctx.t("Loading")}"…"</p> }.into_any(),
                Some(Err(message)) => view! { <p class="muted version-error">{message}</p> }.into_any(),
                Some(Ok(snap)) => match part {
                    Part::Board => view! { <ReadOnlyBoard shared=shared snap=snap shot=shot.clone() /> }
                        .into_any(),
                    Part::Script => {
                        let empty = snap.script.is_empty();
                        view! {
                            <div class="version-script-scroll">
                                <pre class="version-script" translate="no">{snap.script}</pre>
                                {empty.then(|| view! { <p class="muted">{move || ctx.t("The script is empty")}</p> })}
                            </div>
                        }
                            .into_any()
                    }
                    Part::Characters => view! { <ReadOnlyCharacters shared=shared snap=snap /> }.into_any(),
                },
            }}
        </div>
    }
}

/// "Viewing “Draft 2” — 5 Dec 14:02 by Lin".
fn banner_text(info: Option<VersionInfo>, lang: crate::ui::Lang) -> String {
    let t = |en| crate::ui::t(lang, en);
    match info {
        Some(v) => fill(
            t("Viewing “{name}” — {time} by {author}"),
            &[
                ("name", &v.name),
                ("time", &when(v.created_at_ms, lang)),
                ("author", &v.author.name),
            ],
        ),
        None => t("Viewing a version").to_owned(),
    }
}

#[component]
fn ReadOnlyBoard(shared: Shared, snap: Snapshot, shot: Option<ShotId>) -> impl IntoView {
    let ctx = ctx();
    let characters: HashMap<CharacterId, Character> = snap
        .characters
        .iter()
        .map(|c| (c.id.clone(), c.clone()))
        .collect();
    // Storyboard numbers, as the live board gives them.
    let numbers: HashMap<ShotId, usize> = snap
        .shots
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i + 1))
        .collect();
    let total: u64 = snap.shots.iter().map(|s| u64::from(s.duration_ms)).sum();
    if let Some(target) = shot.clone() {
        let selector = format!(".version-board [data-shot-id=\"{target}\"]");
        crate::ui::after_render(move || {
            if let Some(el) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector(&selector).ok().flatten())
            {
                let options = web_sys::ScrollIntoViewOptions::new();
                options.set_block(web_sys::ScrollLogicalPosition::Center);
                el.scroll_into_view_with_scroll_into_view_options(&options);
                if let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el) {
                    let _ = el.focus();
                }
            }
        });
    }
    let empty = snap.scenes.is_empty();
    let scenes = snap
        .scenes
        .iter()
        .enumerate()
        .map(|(i, scene)| {
            let shots: Vec<Shot> = snap
                .shots
                .iter()
                .filter(|s| s.scene_id.as_ref() == Some(&scene.id))
                .cloned()
                .collect();
            let duration: u64 = shots.iter().map(|s| u64::from(s.duration_ms)).sum();
            let place = [scene.location.as_str(), scene.time_of_day.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            let no_shots = shots.is_empty();
            let cards = shots
                .into_iter()
                .map(|s| {
                    let number = numbers.get(&s.id).copied().unwrap_or(0);
                    let chips: Vec<(String, String)> = s
                        .character_ids
                        .iter()
                        .filter_map(|c| characters.get(c))
                        .map(|c| (c.name.clone(), c.color.clone()))
                        .collect();
                    let highlight = shot.as_ref() == Some(&s.id);
                    view! { <ReadOnlyCard shared=shared shot=s number=number chips=chips highlight=highlight /> }
                })
                .collect_view();
            view! {
                <section class="scene" data-scene-id=scene.id.to_string()>
                    <header class="scene-header">
                        <span class="scene-number">{move || ctx.t("Scene")} " " {i + 1}</span>
                        <span class="scene-title readonly">{scene.title.clone()}</span>
                        <span class="muted">{place}</span>
                        <span class="scene-duration">{format_duration(duration)}</span>
                    </header>
                    <ol class="shots">
                        {cards}
                        {no_shots.then(|| view! { <li class="muted no-shots">{move || ctx.t("No shots yet")}</li> })}
                    </ol>
                </section>
            }
        })
        .collect_view();
    view! {
        <section class="board version-board" aria-label="Storyboard" data-shots=snap.shots.len().to_string()>
            <div class="board-toolbar">
                <span class="total">
                    {move || ctx.t("Total running time")} ": "
                    <strong data-testid="version-total-time">{format_duration(total)}</strong>
                </span>
            </div>
            {empty.then(|| view! { <p class="muted">{move || ctx.t("No scenes yet")}</p> })}
            {scenes}
        </section>
    }
}

#[component]
fn ReadOnlyCard(
    shared: Shared,
    shot: Shot,
    number: usize,
    chips: Vec<(String, String)>,
    highlight: bool,
) -> impl IntoView {
    let ctx = ctx();
    let looks = [shot.framing.as_str(), shot.camera.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    let label = format!("Shot {number}: {}", shot.description);
    view! {
        <li
            class="shot-card readonly"
            class:highlight=highlight
            tabindex="0"
            data-shot-id=shot.id.to_string()
            aria-label=label
        >
            <VersionThumb shared=shared asset=shot.selected_take.clone() />
            <div class="shot-meta">
                <span class="shot-number">"#" {number}</span>
                <span class="shot-duration">
                    {format!("{:.1}s", f64::from(shot.duration_ms) / 1000.0)}
                </span>
            </div>
            {(!looks.is_empty()).then(|| view! { <p class="shot-looks muted">{looks}</p> })}
            <p class="shot-description">{shot.description.clone()}</p>
            {(!shot.dialogue.is_empty())
                .then(|| {
                    view! {
                        <p class="shot-dialogue">
                            <span class="visually-hidden">{move || ctx.t("Dialogue")} ": "</span>
                            {shot.dialogue.clone()}
                        </p>
                    }
                })}
            <ul class="chips">
                {chips
                    .into_iter()
                    .map(|(name, color)| {
                        view! { <li class="chip" style=format!("border-color:{color}")>{name}</li> }
                    })
                    .collect_view()}
            </ul>
        </li>
    }
}

#[component]
fn ReadOnlyCharacters(shared: Shared, snap: Snapshot) -> impl IntoView {
    let ctx = ctx();
    let empty = snap.characters.is_empty();
    let sheets = snap
        .characters
        .into_iter()
        .map(|c| {
            let aliases = c.aliases.join(", ");
            let refs = c
                .reference_asset_ids
                .into_iter()
                .map(|a| view! { <VersionThumb shared=shared asset=Some(a) /> })
                .collect_view();
            view! {
                <article class="sheet card" data-character-id=c.id.to_string()>
                    <header class="sheet-header" style=format!("border-color:{}", c.color)>
                        <span class="character-name">{c.name.clone()}</span>
                        {(!aliases.is_empty()).then(|| view! { <span class="muted">{aliases}</span> })}
                    </header>
                    <p class="character-description">{c.description.clone()}</p>
                    <div class="refs">{refs}</div>
                </article>
            }
        })
        .collect_view();
    view! {
        <section class="characters version-characters" aria-label="Characters">
            {empty.then(|| view! { <p class="muted">{move || ctx.t("No characters yet")}</p> })}
            <div class="sheet-grid">{sheets}</div>
        </section>
    }
}
