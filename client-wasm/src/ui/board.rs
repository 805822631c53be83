//! The storyboard: scenes as sections, shot cards, the shot panel.
//!
//! Cards are keyed by shot id, number and content, so a change re-creates only the cards it
//! touched; presence and character chips are read reactively inside a card, so people moving
//! around do not re-create anything. Reordering works by drag and drop and by keyboard
//! (Alt+arrows); every move is one `move_shot` transaction, which writes scene and position
//! together so that concurrent moves never duplicate a shot.

use std::hash::{DefaultHasher, Hash, Hasher};

use leptos::prelude::*;
use shared_model::{
    AssetId, CharacterId, NewScene, NewShot, Scene, SceneId, Shot, ShotId, ShotPatch,
};
use wasm_bindgen::JsCast;

use super::generate::{self, CardActions, CardStatusLine, GenerateBar, JobsPanel};
use super::{after_render, ctx, focus, format_duration};
use crate::api::Scope;
use crate::session::{self, Signals};

/// Content hash of a shot, for keying its card.
fn shot_hash(shot: &Shot) -> u64 {
    let mut h = DefaultHasher::new();
    format!("{shot:?}").hash(&mut h);
    h.finish()
}

fn focus_shot(id: &ShotId) {
    let selector = format!("[data-shot-id=\"{id}\"]");
    after_render(move || focus(&selector));
}

/// Runs a document edit if this session may edit; shows the error otherwise.
fn edit(f: impl FnOnce(&shared_model::Project) -> shared_model::Result<()>) {
    session::with(|s| {
        if !s.can_edit() {
            return;
        }
        if let Err(e) = f(&s.project) {
            s.show_error(&e.to_string());
        }
    });
}

/// The shots of `scene` in order.
fn scene_shots(sig: Signals, scene: &SceneId) -> Vec<Shot> {
    sig.shots.with_untracked(|all| {
        all.iter()
            .filter(|s| s.scene_id.as_ref() == Some(scene))
            .cloned()
            .collect()
    })
}

/// Moves a shot one place earlier or later; past the scene's edge it crosses into the
/// neighbouring scene.
fn nudge(sig: Signals, id: &ShotId, later: bool) {
    let Some(shot) = sig
        .shots
        .with_untracked(|all| all.iter().find(|s| &s.id == id).cloned())
    else {
        return;
    };
    let Some(scene) = shot.scene_id.clone() else {
        return;
    };
    let siblings = scene_shots(sig, &scene);
    let Some(i) = siblings.iter().position(|s| &s.id == id) else {
        return;
    };
    let scenes = sig.scenes.get_untracked();
    let scene_index = scenes.iter().position(|s| s.id == scene).unwrap_or(0);
    let target = if later {
        if i + 1 < siblings.len() {
            Some((scene.clone(), i + 1))
        } else {
            scenes.get(scene_index + 1).map(|s| (s.id.clone(), 0))
        }
    } else if i > 0 {
        Some((scene.clone(), i - 1))
    } else if scene_index > 0 {
        scenes
            .get(scene_index - 1)
            .map(|s| (s.id.clone(), usize::MAX))
    } else {
        None
    };
    if let Some((to, index)) = target {
        edit(|p| p.move_shot(id, &to, index));
        focus_shot(id);
    }
}

/// Moves `dragged` to where `onto` is (before it), in `onto`'s scene.
fn drop_onto(sig: Signals, dragged: &ShotId, onto: &Shot) {
    if dragged == &onto.id {
        return;
    }
    let Some(scene) = onto.scene_id.clone() else {
        return;
    };
    let index = scene_shots(sig, &scene)
        .iter()
        .filter(|s| &s.id != dragged)
        .position(|s| s.id == onto.id)
        .unwrap_or(usize::MAX);
    edit(|p| p.move_shot(dragged, &scene, index));
    focus_shot(dragged);
}

fn add_shot_at(scene: &SceneId, index: usize) -> Option<ShotId> {
    let id = ShotId::new();
    let mut ok = false;
    edit(|p| {
        p.insert_shot(&id, scene, index, &NewShot::default())?;
        ok = true;
        Ok(())
    });
    ok.then_some(id)
}

#[component]
pub(crate) fn Board(sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let selected = RwSignal::new(None::<ShotId>);
    let dragging = RwSignal::new(None::<ShotId>);
    let editable = move || sig.role.get().can_edit();
    generate::provide(sig);
    let numbered = Memo::new(move |_| {
        sig.shots
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i + 1, s))
            .collect::<Vec<_>>()
    });
    let total = move || {
        sig.shots
            .with(|all| all.iter().map(|s| u64::from(s.duration_ms)).sum::<u64>())
    };

    // What this person is looking at, for everyone else's status bar.
    Effect::new(move |_| {
        let shot = selected.get().map(|s| s.to_string());
        session::with(|s| s.set_presence(|p| p.shot = shot));
    });
    on_cleanup(|| {
        session::with(|s| s.set_presence(|p| p.shot = None));
    });
    // A shot deleted (here or elsewhere) closes its panel.
    Effect::new(move |_| {
        let gone = selected
            .get()
            .is_some_and(|id| sig.shots.with(|all| !all.iter().any(|s| s.id == id)));
        if gone {
            selected.set(None);
        }
    });

    let add_scene = move |_| {
        let n = sig.scenes.with_untracked(Vec::len) + 1;
        let title = format!("{} {n}", ctx.t("Scene"));
        edit(|p| {
            p.add_scene(&NewScene {
                title,
                ..Default::default()
            });
            Ok(())
        });
    };

    view! {
        <div class="board-layout">
            <section class="board" aria-label="Storyboard">
                <div class="board-toolbar">
                    <span class="total">
                        {move || ctx.t("Total running time")} ": "
                        <strong data-testid="total-time">{move || format_duration(total())}</strong>
                    </span>
                    <span class="hint">
                        {move || {
                            ctx.t(
                                "Keyboard: arrows move between shots, Alt+arrows reorder, Enter edits, Delete removes, N adds",
                            )
                        }}
                    </span>
                    <span class="spacer"></span>
                    <Show when=editable>
                        <GenerateBar />
                        <button class="add-scene primary" on:click=add_scene>
                            {move || ctx.t("Add scene")}
                        </button>
                    </Show>
                </div>
                <JobsPanel />
                <Show when=move || sig.scenes.with(|s| s.is_empty())>
                    <p class="muted empty-board">
                        {move || ctx.t("No scenes yet. Add one to start the storyboard.")}
                    </p>
                </Show>
                <For
                    each=move || sig.scenes.get()
                    key=|s: &Scene| (s.id.clone(), s.title.clone())
                    children=move |scene| {
                        view! {
                            <SceneSection
                                scene=scene
                                sig=sig
                                numbered=numbered
                                selected=selected
                                dragging=dragging
                            />
                        }
                    }
                />
            </section>
            {move || {
                selected
                    .get()
                    .map(|id| view! { <ShotPanel id=id sig=sig selected=selected numbered=numbered /> })
            }}
        </div>
    }
}

#[component]
fn SceneSection(
    scene: Scene,
    sig: Signals,
    numbered: Memo<Vec<(usize, Shot)>>,
    selected: RwSignal<Option<ShotId>>,
    dragging: RwSignal<Option<ShotId>>,
) -> impl IntoView {
    let ctx = ctx();
    let editable = move || sig.role.get().can_edit();
    let sid = scene.id.clone();
    let shots = {
        let sid = sid.clone();
        move || {
            numbered.with(|all| {
                all.iter()
                    .filter(|(_, s)| s.scene_id.as_ref() == Some(&sid))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        }
    };
    let number = {
        let sid = sid.clone();
        move || {
            sig.scenes
                .with(|all| all.iter().position(|s| s.id == sid).map_or(0, |i| i + 1))
        }
    };
    let duration = {
        let shots = shots.clone();
        move || format_duration(shots().iter().map(|(_, s)| u64::from(s.duration_ms)).sum())
    };
    let empty = {
        let shots = shots.clone();
        move || shots().is_empty()
    };
    let rename = {
        let sid = sid.clone();
        move |ev: leptos::ev::Event| {
            let title = event_target_value(&ev);
            edit(|p| {
                p.update_scene(
                    &sid,
                    &shared_model::ScenePatch {
                        title: Some(title),
                        ..Default::default()
                    },
                )
            });
        }
    };
    let add = {
        let sid = sid.clone();
        move |_| {
            if let Some(id) = add_shot_at(&sid, usize::MAX) {
                selected.set(Some(id.clone()));
                focus_shot(&id);
            }
        }
    };
    let remove = {
        let sid = sid.clone();
        move |_| edit(|p| p.delete_scene(&sid))
    };
    let generate_scene = {
        let sid = sid.clone();
        let g = use_context::<generate::Gen>();
        move |_| {
            if let Some(g) = g {
                let kind = generate::bulk_kind(g.provider());
                generate::generate(
                    g,
                    kind,
                    Scope::Scene {
                        scene: sid.to_string(),
                    },
                );
            }
        }
    };
    let drop_at_end = {
        let sid = sid.clone();
        move |ev: leptos::ev::DragEvent| {
            ev.prevent_default();
            if let Some(dragged) = dragging.get_untracked() {
                edit(|p| p.move_shot(&dragged, &sid, usize::MAX));
                focus_shot(&dragged);
            }
            dragging.set(None);
        }
    };

    view! {
        <section class="scene" data-scene-id=sid.to_string()>
            <header class="scene-header">
                <span class="scene-number">{move || ctx.t("Scene")} " " {number}</span>
                <input
                    class="scene-title"
                    type="text"
                    aria-label="Scene title"
                    prop:value=scene.title.clone()
                    prop:disabled=move || !editable()
                    on:change=rename
                />
                <span class="scene-duration">{duration}</span>
                <Show when=editable>
                    <button class="add-shot" on:click=add.clone()>
                        {move || ctx.t("Add shot")}
                    </button>
                    <button class="gen-scene" on:click=generate_scene.clone()>
                        {move || ctx.t("Generate scene")}
                    </button>
                    <button class="quiet delete-scene" on:click=remove.clone()>
                        {move || ctx.t("Delete scene")}
                    </button>
                </Show>
            </header>
            <ol
                class="shots"
                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                on:drop=drop_at_end
            >
                <For
                    each=shots
                    key=|(n, s): &(usize, Shot)| (s.id.clone(), *n, shot_hash(s))
                    children=move |(n, shot)| {
                        view! {
                            <ShotCard
                                number=n
                                shot=shot
                                sig=sig
                                selected=selected
                                dragging=dragging
                            />
                        }
                    }
                />
                <Show when=empty.clone()>
                    <li class="muted no-shots">{move || ctx.t("No shots yet")}</li>
                </Show>
            </ol>
        </section>
    }
}

/// The picture for a shot: its selected take, or an empty frame.
#[component]
fn Thumb(asset: Option<AssetId>, sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let Some(asset) = asset else {
        return view! { <div class="thumb empty-frame">{move || ctx.t("empty frame")}</div> }
            .into_any();
    };
    let url = session::current()
        .map(|s| crate::api::asset_url(&s.id, &s.token, asset.as_str()))
        .unwrap_or_default();
    let is_video = move || {
        sig.assets.with(|all| {
            all.iter()
                .find(|a| a.id == asset)
                .is_some_and(|a| a.mime.starts_with("video/"))
        })
    };
    view! {
        <div class="thumb">
            {move || {
                if is_video() {
                    view! { <video src=url.clone() muted preload="metadata"></video> }.into_any()
                } else {
                    view! { <img src=url.clone() alt="" loading="lazy" /> }.into_any()
                }
            }}
        </div>
    }
    .into_any()
}

#[component]
fn ShotCard(
    number: usize,
    shot: Shot,
    sig: Signals,
    selected: RwSignal<Option<ShotId>>,
    dragging: RwSignal<Option<ShotId>>,
) -> impl IntoView {
    let editable = move || sig.role.get().can_edit();
    let id = shot.id.clone();
    let is_selected = {
        let id = id.clone();
        move || selected.get().as_ref() == Some(&id)
    };
    let peers_here = {
        let id = id.to_string();
        move || {
            sig.peers.with(|ps| {
                ps.iter()
                    .filter(|p| p.shot.as_deref() == Some(id.as_str()))
                    .map(|p| (p.name.clone(), p.color.clone()))
                    .collect::<Vec<_>>()
            })
        }
    };
    let characters = {
        let ids: Vec<CharacterId> = shot.character_ids.clone();
        move || {
            sig.characters.with(|all| {
                all.iter()
                    .filter(|c| ids.contains(&c.id))
                    .map(|c| (c.name.clone(), c.color.clone()))
                    .collect::<Vec<_>>()
            })
        }
    };
    let on_key = {
        let shot = shot.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            // Keys typed into a control inside the card are not board commands.
            if ev.target() != ev.current_target() {
                return;
            }
            let id = shot.id.clone();
            let all = sig.shots.get_untracked();
            let i = all.iter().position(|s| s.id == id).unwrap_or(0);
            let go = |j: usize| {
                if let Some(s) = all.get(j) {
                    selected.set(Some(s.id.clone()));
                    focus_shot(&s.id);
                }
            };
            let handled = match (ev.key().as_str(), ev.alt_key()) {
                ("ArrowRight" | "ArrowDown", false) => {
                    go(i + 1);
                    true
                }
                ("ArrowLeft" | "ArrowUp", false) => {
                    if i > 0 {
                        go(i - 1);
                    }
                    true
                }
                ("Home", _) => {
                    go(0);
                    true
                }
                ("End", _) => {
                    go(all.len().saturating_sub(1));
                    true
                }
                ("ArrowRight" | "ArrowDown", true) => {
                    nudge(sig, &id, true);
                    true
                }
                ("ArrowLeft" | "ArrowUp", true) => {
                    nudge(sig, &id, false);
                    true
                }
                ("Enter", _) => {
                    selected.set(Some(id.clone()));
                    after_render(|| focus("#shot-description"));
                    true
                }
                ("Delete" | "Backspace", _) if editable() => {
                    let next = all
                        .get(i + 1)
                        .or_else(|| i.checked_sub(1).and_then(|j| all.get(j)));
                    let next = next.map(|s| s.id.clone());
                    edit(|p| p.delete_shot(&id));
                    selected.set(next.clone());
                    if let Some(next) = next {
                        focus_shot(&next);
                    }
                    true
                }
                ("n" | "N", false) if editable() && !ev.ctrl_key() && !ev.meta_key() => {
                    if let Some(scene) = &shot.scene_id {
                        let index = scene_shots(sig, scene)
                            .iter()
                            .position(|s| s.id == id)
                            .map_or(usize::MAX, |j| j + 1);
                        if let Some(new) = add_shot_at(scene, index) {
                            selected.set(Some(new.clone()));
                            focus_shot(&new);
                        }
                    }
                    true
                }
                _ => false,
            };
            if handled {
                ev.prevent_default();
            }
        }
    };
    let on_drop = {
        let shot = shot.clone();
        move |ev: leptos::ev::DragEvent| {
            ev.prevent_default();
            ev.stop_propagation();
            let dragged = dragging.get_untracked().or_else(|| {
                ev.data_transfer()
                    .and_then(|d| d.get_data("text/plain").ok())
                    .filter(|s| !s.is_empty())
                    .map(ShotId::from)
            });
            if let Some(dragged) = dragged {
                drop_onto(sig, &dragged, &shot);
            }
            dragging.set(None);
        }
    };
    let select = {
        let id = id.clone();
        move || {
            if selected.get_untracked().as_ref() != Some(&id) {
                selected.set(Some(id.clone()));
            }
        }
    };
    let drag_id = id.clone();
    let action_id = id.clone();
    let duration = format!("{:.1}s", f64::from(shot.duration_ms) / 1000.0);
    let description = shot.description.clone();
    let label = format!("Shot {number}: {}", shot.description);

    view! {
        <li
            class="shot-card"
            class:selected=is_selected
            tabindex="0"
            data-shot-id=id.to_string()
            aria-label=label
            draggable=move || if editable() { "true" } else { "false" }
            on:click={
                let select = select.clone();
                move |_| select()
            }
            on:focus=move |ev: leptos::ev::FocusEvent| {
                if ev.target() == ev.current_target() {
                    select()
                }
            }
            on:keydown=on_key
            on:dragstart=move |ev: leptos::ev::DragEvent| {
                if let Some(d) = ev.data_transfer() {
                    let _ = d.set_data("text/plain", drag_id.as_str());
                    d.set_effect_allowed("move");
                }
                dragging.set(Some(drag_id.clone()));
            }
            on:dragend=move |_| dragging.set(None)
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
        >
            <Thumb asset=shot.selected_take.clone() sig=sig />
            <div class="shot-meta">
                <span class="shot-number">"#" {number}</span>
                <span class="shot-duration">{duration}</span>
                <span class="peers-here">
                    {move || {
                        peers_here()
                            .into_iter()
                            .map(|(name, color)| {
                                view! {
                                    <span
                                        class="peer-dot"
                                        title=name.clone()
                                        style=format!("background:{color}")
                                    >
                                        {name.chars().next().map(String::from).unwrap_or_default()}
                                    </span>
                                }
                            })
                            .collect_view()
                    }}
                </span>
            </div>
            <CardStatusLine shot=id.to_string() />
            <p class="shot-description">{description}</p>
            <ul class="chips">
                {move || {
                    characters()
                        .into_iter()
                        .map(|(name, color)| {
                            view! {
                                <li class="chip" style=format!("border-color:{color}")>
                                    {name}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <Show when=editable>
                <CardActions shot=action_id.to_string() number=number />
            </Show>
        </li>
    }
}

#[component]
fn ShotPanel(
    id: ShotId,
    sig: Signals,
    selected: RwSignal<Option<ShotId>>,
    numbered: Memo<Vec<(usize, Shot)>>,
) -> impl IntoView {
    let ctx = ctx();
    let editable = move || sig.role.get().can_edit();
    let shot = {
        let id = id.clone();
        Memo::new(move |_| {
            sig.shots
                .with(|all| all.iter().find(|s| s.id == id).cloned())
        })
    };
    let number = {
        let id = id.clone();
        move || numbered.with(|all| all.iter().find(|(_, s)| s.id == id).map_or(0, |(n, _)| *n))
    };
    let field = move |f: fn(&Shot) -> String| move || shot.get().map(|s| f(&s)).unwrap_or_default();
    let patch = {
        let id = id.clone();
        move |p: ShotPatch| {
            let id = id.clone();
            edit(move |proj| proj.update_shot(&id, &p));
        }
    };
    let set_text = {
        let patch = patch.clone();
        move |which: &'static str| {
            let patch = patch.clone();
            move |ev: leptos::ev::Event| {
                let v = Some(event_target_value(&ev));
                let mut p = ShotPatch::default();
                match which {
                    "description" => p.description = v,
                    "dialogue" => p.dialogue = v,
                    "camera" => p.camera = v,
                    _ => p.framing = v,
                }
                patch(p);
            }
        }
    };
    let set_duration = {
        let patch = patch.clone();
        move |ev: leptos::ev::Event| {
            if let Ok(secs) = event_target_value(&ev).trim().parse::<f64>()
                && secs.is_finite()
                && secs >= 0.0
            {
                patch(ShotPatch {
                    duration_ms: Some((secs * 1000.0).round() as u32),
                    ..Default::default()
                });
            }
        }
    };
    let toggle_character = {
        let patch = patch.clone();
        move |cid: CharacterId, on: bool| {
            let Some(s) = shot.get_untracked() else {
                return;
            };
            let mut ids = s.character_ids.clone();
            ids.retain(|c| c != &cid);
            if on {
                ids.push(cid);
            }
            patch(ShotPatch {
                character_ids: Some(ids),
                ..Default::default()
            });
        }
    };
    let pick_take = {
        let id = id.clone();
        move |asset: AssetId| {
            let id = id.clone();
            edit(move |p| p.select_take(&id, Some(&asset)));
        }
    };
    let upload_take = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            let Some(file) = first_file(&ev) else {
                return;
            };
            let id = id.clone();
            leptos::task::spawn_local(async move {
                if let Some(asset) = super::assets::upload(file).await {
                    edit(|p| p.add_take(&id, &asset, true));
                }
            });
        }
    };
    let delete = {
        let id = id.clone();
        move |_| {
            edit(|p| p.delete_shot(&id));
            selected.set(None);
        }
    };
    let takes = move || {
        shot.get()
            .map(|s| (s.takes.clone(), s.selected_take.clone()))
    };

    view! {
        <aside class="shot-panel" aria-label="Shot details">
            <header class="panel-header">
                <h2>{move || ctx.t("Shot")} " #" {number}</h2>
                <button class="quiet close-panel" on:click=move |_| selected.set(None)>
                    {move || ctx.t("Close")}
                </button>
            </header>
            <label>
                {move || ctx.t("Description")}
                <textarea
                    id="shot-description"
                    rows="4"
                    prop:value=field(|s| s.description.clone())
                    prop:disabled=move || !editable()
                    on:change=set_text("description")
                ></textarea>
            </label>
            <label>
                {move || ctx.t("Dialogue")}
                <textarea
                    id="shot-dialogue"
                    rows="2"
                    prop:value=field(|s| s.dialogue.clone())
                    prop:disabled=move || !editable()
                    on:change=set_text("dialogue")
                ></textarea>
            </label>
            <div class="row">
                <label>
                    {move || ctx.t("Camera")}
                    <input
                        id="shot-camera"
                        type="text"
                        prop:value=field(|s| s.camera.clone())
                        prop:disabled=move || !editable()
                        on:change=set_text("camera")
                    />
                </label>
                <label>
                    {move || ctx.t("Framing")}
                    <input
                        id="shot-framing"
                        type="text"
                        list="framings"
                        prop:value=field(|s| s.framing.clone())
                        prop:disabled=move || !editable()
                        on:change=set_text("framing")
                    />
                    <datalist id="framings">
                        <option value="wide"></option>
                        <option value="medium"></option>
                        <option value="close-up"></option>
                        <option value="extreme close-up"></option>
                    </datalist>
                </label>
                <label>
                    {move || ctx.t("Duration (s)")}
                    <input
                        id="shot-duration"
                        type="number"
                        min="0"
                        step="0.1"
                        prop:value=field(|s| format!("{:.1}", f64::from(s.duration_ms) / 1000.0))
                        prop:disabled=move || !editable()
                        on:change=set_duration
                    />
                </label>
            </div>
            <fieldset class="characters-in-shot">
                <legend>{move || ctx.t("Characters in shot")}</legend>
                {move || {
                    let on = shot.get().map(|s| s.character_ids).unwrap_or_default();
                    sig.characters
                        .get()
                        .into_iter()
                        .map(|c| {
                            let checked = on.contains(&c.id);
                            let cid = c.id.clone();
                            let toggle = toggle_character.clone();
                            view! {
                                <label class="check">
                                    <input
                                        type="checkbox"
                                        prop:checked=checked
                                        prop:disabled=move || !editable()
                                        on:change=move |ev| {
                                            toggle(cid.clone(), event_target_checked(&ev))
                                        }
                                    />
                                    <span class="chip" style=format!("border-color:{}", c.color)>
                                        {c.name.clone()}
                                    </span>
                                </label>
                            }
                        })
                        .collect_view()
                }}
            </fieldset>
            <section class="takes">
                <h3>{move || ctx.t("Takes")}</h3>
                {move || {
                    let (takes, chosen) = takes().unwrap_or_default();
                    if takes.is_empty() {
                        return view! { <p class="muted">{move || ctx.t("No takes yet")}</p> }
                            .into_any();
                    }
                    takes
                        .into_iter()
                        .rev()
                        .map(|asset| {
                            let is_chosen = chosen.as_ref() == Some(&asset);
                            let pick = pick_take.clone();
                            let a = asset.clone();
                            view! {
                                <div class="take" class:chosen=is_chosen data-asset-id=asset.to_string()>
                                    <Thumb asset=Some(asset.clone()) sig=sig />
                                    {if is_chosen {
                                        view! { <span class="badge">{move || ctx.t("Selected")}</span> }
                                            .into_any()
                                    } else {
                                        view! {
                                            <button
                                                class="pick-take"
                                                prop:disabled=move || !editable()
                                                on:click=move |_| pick(a.clone())
                                            >
                                                {move || ctx.t("Use this take")}
                                            </button>
                                        }
                                            .into_any()
                                    }}
                                </div>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
                <Show when=editable>
                    <label class="upload">
                        {move || ctx.t("Upload a take")}
                        <input
                            type="file"
                            accept="image/*,video/*"
                            on:change=upload_take.clone()
                        />
                    </label>
                </Show>
            </section>
            <Show when=editable>
                <button class="danger delete-shot" on:click=delete.clone()>
                    {move || ctx.t("Delete shot")}
                </button>
            </Show>
        </aside>
    }
}

/// The file chosen in an `<input type=file>`.
pub(crate) fn first_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    ev.target()?
        .dyn_into::<web_sys::HtmlInputElement>()
        .ok()?
        .files()?
        .get(0)
}
