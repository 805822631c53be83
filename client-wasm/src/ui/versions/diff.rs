//! The comparison of two versions, or of a version and now, as a director reads it: shots
//! added, removed, moved and changed, each with its number and scene and every changed field
//! old → new (the selected take as two pictures), then scenes, characters, the project's
//! settings, and the script as a line diff. The server computes the diff (`VersionDiff`); this
//! page only lays it out, and each shot entry leads to the shot.

use api_types::{
    ChangeKind, CharacterChange, FieldChange, LineOp, SceneChange, ScriptHunk, ShotChange,
    ShotPlace, VersionDiff, VersionId,
};
use leptos::prelude::*;

use super::{Page, Shared, VersionThumb, fill, go, href};
use crate::api;
use crate::ui::ctx;

/// The English label of a field key (the document's key, as the diff names it); `None` for a
/// key this build does not know, which is shown as it is.
fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "description" => "Description",
        "dialogue" => "Dialogue",
        "camera" => "Camera",
        "framing" => "Framing",
        "duration_ms" | "duration" => "Duration",
        "characters" | "character_ids" => "Characters",
        "selected_take" => "Selected take",
        "takes" => "Takes",
        "title" => "Title",
        "location" => "Location",
        "time_of_day" => "Time of day",
        "name" => "Name",
        "aliases" => "Aliases",
        "color" => "Colour",
        "references" | "reference_asset_ids" => "Reference images",
        "language" => "Language",
        "aspect_ratio" => "Aspect ratio",
        "recipe_id" | "recipe" => "Recipe",
        _ => return None,
    })
}

fn kind_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "Added",
        ChangeKind::Removed => "Removed",
        ChangeKind::Moved => "Moved",
        ChangeKind::Changed => "Changed",
    }
}

#[component]
pub(crate) fn DiffView(shared: Shared, from: VersionId, to: Option<VersionId>) -> impl IntoView {
    let ctx = ctx();
    let diff = RwSignal::new(None::<Result<VersionDiff, String>>);
    {
        let (project, token) = (shared.project(), shared.token());
        let (from, to) = (from.clone(), to.clone());
        leptos::task::spawn_local(async move {
            let result = match api::diff(&project, &token, &from, to.as_ref()).await {
                Ok(d) => Ok(d),
                Err(e) if e.is_not_found() => {
                    Err(ctx.t("This version no longer exists").to_owned())
                }
                Err(e) => Err(e.to_string()),
            };
            diff.set(Some(result));
        });
    }
    let project = shared.project();
    let list_href = href(&project, &Page::List);

    // The two sides, chosen from the list of versions (the right side may be now).
    let options = move |selected: Option<VersionId>, with_now: bool| {
        let mut out = Vec::new();
        if with_now {
            let is = selected.is_none();
            out.push(
                view! { <option value="now" selected=is>{move || ctx.t("now")}</option> }
                    .into_any(),
            );
        }
        shared.list.with(|l| {
            for v in l.iter().flatten() {
                let is = selected.as_ref() == Some(&v.id);
                out.push(
                    view! { <option value=v.id.to_string() selected=is>{v.name.clone()}</option> }
                        .into_any(),
                );
            }
        });
        out
    };
    let pick_from = {
        let (project, to) = (project.clone(), to.clone());
        move |ev: leptos::ev::Event| {
            let from = VersionId::from(event_target_value(&ev));
            go(
                &project,
                &Page::Compare {
                    from,
                    to: to.clone(),
                },
            );
        }
    };
    let pick_to = {
        let (project, from) = (project.clone(), from.clone());
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            let to = (value != "now").then(|| VersionId::from(value));
            go(
                &project,
                &Page::Compare {
                    from: from.clone(),
                    to,
                },
            );
        }
    };
    let (from_sel, to_sel) = (from.clone(), to.clone());

    view! {
        <div class="diff-view" data-from=from.to_string() data-to=to.as_ref().map_or("now".to_owned(), ToString::to_string)>
            <header class="diff-header">
                <h2>{move || ctx.t("Compare")}</h2>
                <label class="diff-side">
                    {move || ctx.t("From")}
                    <select class="diff-from" on:change=pick_from>
                        {move || options(Some(from_sel.clone()), false)}
                    </select>
                </label>
                <span aria-hidden="true">"→"</span>
                <label class="diff-side">
                    {move || ctx.t("To")}
                    <select class="diff-to" on:change=pick_to>
                        {move || options(to_sel.clone(), true)}
                    </select>
                </label>
                <span class="spacer"></span>
                <a class="button" href=list_href>{move || ctx.t("All versions")}</a>
            </header>
            {move || match diff.get() {
                None => view! { <p class="muted loading">{move || ctx.t("Loading")}"…"</p> }.into_any(),
                Some(Err(message)) => view! { <p class="muted diff-error">{message}</p> }.into_any(),
                Some(Ok(d)) if d.is_empty() => {
                    view! { <p class="no-differences" data-empty="true">{move || ctx.t("No differences")}</p> }
                        .into_any()
                }
                Some(Ok(d)) => view! { <Changes shared=shared diff=d /> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn Changes(shared: Shared, diff: VersionDiff) -> impl IntoView {
    let ctx = ctx();
    let count = |k: ChangeKind| diff.shots.iter().filter(|s| s.kind == k).count();
    let summary = [
        ("{n} added", count(ChangeKind::Added)),
        ("{n} removed", count(ChangeKind::Removed)),
        ("{n} moved", count(ChangeKind::Moved)),
        ("{n} changed", count(ChangeKind::Changed)),
    ];
    let summary = move || {
        let parts: Vec<String> = summary
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| fill(ctx.t(t), &[("n", &n.to_string())]))
            .collect();
        if parts.is_empty() {
            return String::new();
        }
        format!("{}: {}", ctx.t("Shots"), parts.join(" · "))
    };
    let from = diff.from.version.clone();
    let to = diff.to.version.clone();
    let shots = (!diff.shots.is_empty()).then(|| {
        let items = diff
            .shots
            .into_iter()
            .map(|c| view! { <ShotEntry shared=shared change=c from=from.clone() to=to.clone() /> })
            .collect_view();
        view! {
            <section class="diff-section diff-shots">
                <h3>{move || ctx.t("Shots")}</h3>
                <ol class="changes">{items}</ol>
            </section>
        }
    });
    let scenes = (!diff.scenes.is_empty()).then(|| {
        let items = diff
            .scenes
            .into_iter()
            .map(|c| view! { <SceneEntry change=c /> })
            .collect_view();
        view! {
            <section class="diff-section diff-scenes">
                <h3>{move || ctx.t("Scenes")}</h3>
                <ol class="changes">{items}</ol>
            </section>
        }
    });
    let characters = (!diff.characters.is_empty()).then(|| {
        let items = diff
            .characters
            .into_iter()
            .map(|c| view! { <CharacterEntry change=c /> })
            .collect_view();
        view! {
            <section class="diff-section diff-characters">
                <h3>{move || ctx.t("Characters")}</h3>
                <ol class="changes">{items}</ol>
            </section>
        }
    });
    let meta = (!diff.meta.is_empty()).then(|| {
        view! {
            <section class="diff-section diff-meta">
                <h3>{move || ctx.t("Project settings")}</h3>
                <Fields fields=diff.meta />
            </section>
        }
    });
    let script = (!diff.script.is_empty()).then(|| {
        let hunks = diff
            .script
            .into_iter()
            .map(|h| view! { <Hunk hunk=h /> })
            .collect_view();
        view! {
            <section class="diff-section diff-script">
                <h3>{move || ctx.t("Script")}</h3>
                {hunks}
            </section>
        }
    });
    view! {
        <p class="diff-summary">{summary}</p>
        {shots}
        {scenes}
        {characters}
        {meta}
        {script}
    }
}

fn place_text(place: &ShotPlace, lang: crate::ui::Lang) -> String {
    fill(
        crate::ui::t(lang, "shot {n} of “{scene}”"),
        &[
            ("n", &place.index.to_string()),
            ("scene", &place.scene_title),
        ],
    )
}

#[component]
fn ShotEntry(
    shared: Shared,
    change: ShotChange,
    from: Option<VersionId>,
    to: Option<VersionId>,
) -> impl IntoView {
    let ctx = ctx();
    let kind = change.kind;
    let place = change.to.clone().or_else(|| change.from.clone());
    let title = {
        let place = place.clone();
        move || {
            let lang = ctx.lang.get();
            match &place {
                Some(p) => {
                    let t = place_text(p, lang);
                    // Sentence case for the heading.
                    let mut chars = t.chars();
                    chars
                        .next()
                        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                        .unwrap_or_default()
                }
                None => crate::ui::t(lang, "Shot").to_owned(),
            }
        }
    };
    let moved = (change.moved || kind == ChangeKind::Moved)
        .then(|| change.from.clone().zip(change.to.clone()))
        .flatten()
        .map(|(a, b)| {
            move || {
                let lang = ctx.lang.get();
                fill(
                    crate::ui::t(lang, "Moved from {from} to {to}"),
                    &[
                        ("from", &place_text(&a, lang)),
                        ("to", &place_text(&b, lang)),
                    ],
                )
            }
        });
    // Where the shot can be seen: the newer side that has it, or the older for a removed one.
    let (target, where_label) = match kind {
        ChangeKind::Removed => (from.clone(), "Show in the old version"),
        _ if to.is_none() => (None, "Show on the board"),
        _ => (to.clone(), "Show in that version"),
    };
    // A removed shot can only be shown when the older side is a version (it always is).
    let showable = kind != ChangeKind::Removed || from.is_some();
    let shot_id = change.shot_id.clone();
    let open = move |_| shared.open_shot(shot_id.clone(), target.clone());
    let take = change.take.clone().map(|t| {
        view! {
            <div class="take-change" data-field="selected_take">
                <span class="field-name">{move || ctx.t("Selected take")}</span>
                <figure class="take-old">
                    <VersionThumb shared=shared asset=t.old.clone() />
                    <figcaption>{move || ctx.t("before")}</figcaption>
                </figure>
                <span aria-hidden="true">"→"</span>
                <figure class="take-new">
                    <VersionThumb shared=shared asset=t.new.clone() />
                    <figcaption>{move || ctx.t("after")}</figcaption>
                </figure>
            </div>
        }
    });
    // The take is shown as pictures; its field row would say the same in ids.
    let fields: Vec<FieldChange> = change
        .fields
        .into_iter()
        .filter(|f| !(change.take.is_some() && f.field == "selected_take"))
        .collect();
    view! {
        <li class="change shot-change" data-kind=kind.as_str() data-shot-id=change.shot_id.to_string()>
            <div class="change-head">
                <span class=format!("kind-badge kind-{}", kind.as_str())>
                    {move || ctx.t(kind_label(kind))}
                </span>
                <strong class="change-title">{title}</strong>
                <span class="spacer"></span>
                {showable
                    .then(|| {
                        view! {
                            <button class="open-shot" on:click=open>
                                {move || ctx.t(where_label)}
                            </button>
                        }
                    })}
            </div>
            <p class="change-description">{change.description.clone()}</p>
            {moved.map(|m| view! { <p class="moved muted">{m}</p> })}
            <Fields fields=fields />
            {take}
        </li>
    }
}

#[component]
fn SceneEntry(change: SceneChange) -> impl IntoView {
    let ctx = ctx();
    let kind = change.kind;
    view! {
        <li class="change scene-change" data-kind=kind.as_str() data-scene-id=change.scene_id.to_string()>
            <div class="change-head">
                <span class=format!("kind-badge kind-{}", kind.as_str())>
                    {move || ctx.t(kind_label(kind))}
                </span>
                <strong class="change-title">{change.title.clone()}</strong>
            </div>
            <Fields fields=change.fields />
        </li>
    }
}

#[component]
fn CharacterEntry(change: CharacterChange) -> impl IntoView {
    let ctx = ctx();
    let kind = change.kind;
    view! {
        <li
            class="change character-change"
            data-kind=kind.as_str()
            data-character-id=change.character_id.to_string()
        >
            <div class="change-head">
                <span class=format!("kind-badge kind-{}", kind.as_str())>
                    {move || ctx.t(kind_label(kind))}
                </span>
                <strong class="change-title">{change.name.clone()}</strong>
            </div>
            <Fields fields=change.fields />
        </li>
    }
}

/// Each field old → new; an empty value says so.
#[component]
fn Fields(fields: Vec<FieldChange>) -> impl IntoView {
    let ctx = ctx();
    if fields.is_empty() {
        return ().into_any();
    }
    let value = move |v: String, class: &'static str| {
        if v.is_empty() {
            view! { <td class=format!("{class} empty")>{move || ctx.t("(empty)")}</td> }.into_any()
        } else {
            view! { <td class=class>{v}</td> }.into_any()
        }
    };
    let rows = fields
        .into_iter()
        .map(|f| {
            let key = f.field.clone();
            let label =
                move || field_label(&key).map_or_else(|| key.clone(), |l| ctx.t(l).to_owned());
            view! {
                <tr class="field" data-field=f.field.clone()>
                    <th scope="row">{label}</th>
                    {value(f.old, "old")}
                    <td class="arrow" aria-hidden="true">"→"</td>
                    {value(f.new, "new")}
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="fields">
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Hunk(hunk: ScriptHunk) -> impl IntoView {
    let ctx = ctx();
    let (old_start, new_start) = (hunk.old_start, hunk.new_start);
    let lines = hunk
        .lines
        .into_iter()
        .map(|l| {
            let (class, mark) = match l.op {
                LineOp::Added => ("line added", "+"),
                LineOp::Removed => ("line removed", "−"),
                LineOp::Same => ("line same", " "),
            };
            view! {
                <div class=class>
                    <span class="mark" aria-hidden="true">{mark}</span>
                    <span class="visually-hidden">
                        {move || match l.op {
                            LineOp::Added => ctx.t("added:"),
                            LineOp::Removed => ctx.t("removed:"),
                            LineOp::Same => "",
                        }}
                    </span>
                    <span class="text">{l.text.clone()}</span>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="hunk">
            <div class="hunk-head muted">
                {move || {
                    fill(
                        ctx.t("Line {old} before, line {new} after"),
                        &[("old", &old_start.to_string()), ("new", &new_start.to_string())],
                    )
                }}
            </div>
            <div class="hunk-lines" translate="no">{lines}</div>
        </div>
    }
}
