//! The storyboard: scenes as sections, shot cards, the shot panel.
//!
//! The board is windowed ([`crate::grid`]): only the scenes and rows of cards in and around the
//! viewport are in the DOM, with spacers sized for the rest, so a board of thousands of shots
//! costs the page what a screenful does. The rows of the selected and the dragged shot stay in
//! the DOM wherever the view goes, so the keyboard focus and a drag survive scrolling; moving
//! the selection to a card out of view shows its row first, and dragging near the board's top
//! or bottom edge scrolls it, so a drop reaches any scene. Scrolling re-windows on the next
//! frame. Every card has the same height (the tallest seen, measured), which makes the spacers
//! exact. Thumbnails load lazily as their cards come near the viewport.
//!
//! Cards are keyed by shot id and read their shot reactively, so a change re-renders only the
//! parts of the cards it touched and a field being typed in keeps its focus. Reordering works
//! by drag and drop and by keyboard (Alt+arrows); every move is one `move_shot` transaction,
//! which writes scene and position together so that concurrent moves never duplicate a shot.
//! Where a move goes is decided by `shared_model::moves`.

use std::collections::HashMap;

use leptos::prelude::*;
use shared_model::{
    AssetId, CharacterId, NewScene, NewShot, SceneId, Shot, ShotId, ShotPatch, moves,
};
use wasm_bindgen::JsCast;

use super::fields::{LiveInput, LiveTextarea};
use super::generate::{self, CardActions, CardStatusLine, GenerateBar, JobsPanel};
use super::{after_render, ctx, focus, format_duration};
use crate::api::Scope;
use crate::grid::{GridLayout, GridMetrics, Piece, Window};
use crate::session::{self, Signals};

thread_local! {
    /// A shot another screen (the diff's change list) asked the next board to select.
    static SHOW_ON_OPEN: std::cell::RefCell<Option<ShotId>> = const { std::cell::RefCell::new(None) };
}

/// Makes the next board that opens select `shot` and give its card the focus.
pub(crate) fn show_on_open(shot: ShotId) {
    SHOW_ON_OPEN.with(|s| *s.borrow_mut() = Some(shot));
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

fn move_to(id: &ShotId, target: Option<moves::Target>) {
    if let Some((scene, index)) = target {
        edit(|p| p.move_shot(id, &scene, index));
        focus_shot(id);
    }
}

/// Moves a shot one place earlier or later; past the scene's edge it crosses into the
/// neighbouring scene.
fn nudge(sig: Signals, id: &ShotId, later: bool) {
    let target = sig.scenes.with_untracked(|scenes| {
        sig.shots
            .with_untracked(|shots| moves::nudge(scenes, shots, id, later))
    });
    move_to(id, target);
}

/// Moves `dragged` to where `onto` is (before it), in `onto`'s scene.
fn drop_onto(sig: Signals, dragged: &ShotId, onto: &ShotId) {
    let target = sig
        .shots
        .with_untracked(|shots| moves::drop_onto(shots, dragged, onto));
    move_to(dragged, target);
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

/// The board's derived state, shared by its parts. `Copy`: every field is a signal.
#[derive(Clone, Copy)]
struct BoardState {
    sig: Signals,
    selected: RwSignal<Option<ShotId>>,
    dragging: RwSignal<Option<ShotId>>,
    /// Each shot's place in storyboard order (its number is one more).
    index: Memo<HashMap<ShotId, usize>>,
    /// The shot ids of each scene, in the order of `sig.scenes`.
    grouped: Memo<Vec<Vec<ShotId>>>,
    layout: Memo<GridLayout>,
    window: Memo<Window>,
}

impl BoardState {
    fn shot(&self, id: &ShotId) -> Option<Shot> {
        let i = self.index.with(|ix| ix.get(id).copied())?;
        self.sig.shots.with(|all| all.get(i).cloned())
    }

    /// (scene index, index within the scene) of a shot.
    fn place(&self, id: &ShotId) -> Option<(usize, usize)> {
        self.grouped.with(|groups| {
            groups
                .iter()
                .enumerate()
                .find_map(|(s, ids)| ids.iter().position(|i| i == id).map(|p| (s, p)))
        })
    }
}

/// The part of the board's scroll area the window covers beyond the viewport, above and below:
/// a little scrolling shows cards already there.
const MARGIN_SCREENS: f32 = 0.5;

#[component]
pub(crate) fn Board(sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let selected = RwSignal::new(SHOW_ON_OPEN.with(|s| s.borrow_mut().take()));
    if let Some(id) = selected.get_untracked() {
        focus_shot(&id);
    }
    let dragging = RwSignal::new(None::<ShotId>);
    let editable = move || sig.role.get().can_edit();
    generate::provide(sig);
    let scroller = NodeRef::<leptos::html::Section>::new();
    let scenes_el = NodeRef::<leptos::html::Div>::new();
    let metrics = RwSignal::new(GridMetrics::default());
    // The card height once measured (until then cards size themselves).
    let card_height = RwSignal::new(None::<f32>);
    // The viewport in px from the top of the first scene.
    let band = RwSignal::new((0.0f32, 1000.0f32));

    let index = Memo::new(move |_| {
        sig.shots.with(|all| {
            all.iter()
                .enumerate()
                .map(|(i, s)| (s.id.clone(), i))
                .collect::<HashMap<_, _>>()
        })
    });
    let grouped = Memo::new(move |_| {
        sig.scenes.with(|scenes| {
            let at: HashMap<&SceneId, usize> =
                scenes.iter().enumerate().map(|(i, s)| (&s.id, i)).collect();
            let mut groups = vec![Vec::new(); scenes.len()];
            sig.shots.with(|all| {
                for shot in all {
                    if let Some(&i) = shot.scene_id.as_ref().and_then(|s| at.get(s)) {
                        groups[i].push(shot.id.clone());
                    }
                }
            });
            groups
        })
    });
    let layout = Memo::new(move |_| {
        let counts = grouped.with(|g| g.iter().map(Vec::len).collect());
        GridLayout::new(counts, metrics.get())
    });
    let state_for_pins = move |id: Option<ShotId>| {
        id.and_then(|id| {
            grouped.with(|groups| {
                groups
                    .iter()
                    .enumerate()
                    .find_map(|(s, ids)| ids.iter().position(|i| *i == id).map(|p| (s, p)))
            })
        })
    };
    let window = Memo::new(move |_| {
        let (top, bottom) = band.get();
        let margin = (bottom - top) * MARGIN_SCREENS;
        let pinned: Vec<(usize, usize)> = [selected.get(), dragging.get()]
            .into_iter()
            .filter_map(state_for_pins)
            .collect();
        layout.with(|l| l.window(top - margin, bottom + margin, &pinned))
    });
    let state = BoardState {
        sig,
        selected,
        dragging,
        index,
        grouped,
        layout,
        window,
    };

    // The band on screen, read from the page.
    let read_band = move || {
        let (Some(board), Some(scenes)) = (scroller.get_untracked(), scenes_el.get_untracked())
        else {
            return;
        };
        let b = board.get_bounding_client_rect();
        let s = scenes.get_bounding_client_rect();
        let top = (b.top() - s.top()) as f32;
        let next = (top, top + b.height() as f32);
        if band.get_untracked() != next {
            band.set(next);
        }
    };
    // The sizes the layout assumes, read from what is rendered.
    let measure = move || {
        let Some(scenes) = scenes_el.get_untracked() else {
            return;
        };
        let scenes: &web_sys::Element = scenes.as_ref();
        let Some(next) = measure_metrics(scenes, metrics.get_untracked(), card_height) else {
            return;
        };
        if next != metrics.get_untracked() {
            metrics.set(next);
        }
        read_band();
    };
    let frame_pending = StoredValue::new(false);
    let on_scroll = move || {
        if frame_pending.get_value() {
            return;
        }
        frame_pending.set_value(true);
        after_render(move || {
            if frame_pending.try_update_value(|p| *p = false).is_some() {
                read_band();
            }
        });
    };
    // The card that has the keyboard focus. Re-windowing can move a card's element in the
    // DOM (the list around it changed), which drops the focus to the page; it is given back.
    let focused = StoredValue::new(None::<String>);
    let on_focusin = move |ev: leptos::ev::FocusEvent| {
        let card = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .filter(|el| el.class_list().contains("shot-card"))
            .and_then(|el| el.get_attribute("data-shot-id"));
        focused.set_value(card);
    };
    let refocus = move || {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let lost = doc
            .active_element()
            .is_none_or(|a| doc.body().is_some_and(|b| a == *b));
        if lost
            && let Some(id) = focused.try_get_value().flatten()
            && let Ok(Some(el)) = doc.query_selector(&format!("[data-shot-id=\"{id}\"]"))
            && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
        {
            // Where the user scrolled stays: the card only takes the focus back.
            let options = web_sys::FocusOptions::new();
            options.set_prevent_scroll(true);
            let _ = el.focus_with_options(&options);
        }
    };
    // After the window changes, measure what came into the DOM on the next frame.
    Effect::new(move |_| {
        window.track();
        after_render(move || {
            if metrics.try_get_untracked().is_some() {
                measure();
                refocus();
            }
        });
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        measure();
        read_band();
    });
    on_cleanup(move || resize.remove());

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
            .is_some_and(|id| index.with(|ix| !ix.contains_key(&id)));
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
    let total = move || {
        sig.shots
            .with(|all| all.iter().map(|s| u64::from(s.duration_ms)).sum::<u64>())
    };
    // Dragging near the top or bottom edge scrolls the board, so that a shot can be dropped
    // into a scene that is not on screen (it comes into the window as it scrolls in).
    let autoscroll = move |ev: leptos::ev::DragEvent| {
        if dragging.get_untracked().is_none() {
            return;
        }
        let Some(board) = scroller.get_untracked() else {
            return;
        };
        let r = board.get_bounding_client_rect();
        let y = f64::from(ev.client_y());
        const EDGE: f64 = 64.0;
        let step = if y < r.top() + EDGE {
            -(EDGE - (y - r.top())).max(8.0)
        } else if y > r.bottom() - EDGE {
            (EDGE - (r.bottom() - y)).max(8.0)
        } else {
            return;
        };
        board.scroll_by_with_x_and_y(0.0, step);
    };
    let blocks = move || {
        window.with(|w| {
            sig.scenes.with(|scenes| {
                let mut blocks = Vec::with_capacity(w.scenes.len() * 2 + 1);
                for shown in &w.scenes {
                    let Some(scene) = scenes.get(shown.scene) else {
                        continue;
                    };
                    if shown.gap_before > 0.5 {
                        blocks.push(Block::Gap {
                            before: Some(scene.id.clone()),
                            height: px(shown.gap_before),
                        });
                    }
                    let before = shown
                        .scene
                        .checked_sub(1)
                        .and_then(|i| scenes.get(i))
                        .map(|s| s.id.clone());
                    blocks.push(Block::Scene(scene.id.clone(), before));
                }
                if w.gap_after > 0.5 {
                    blocks.push(Block::Gap {
                        before: None,
                        height: px(w.gap_after),
                    });
                }
                blocks
            })
        })
    };
    let card_style = move || {
        card_height
            .get()
            .map(|h| format!("--card-h:{h:.0}px"))
            .unwrap_or_default()
    };

    view! {
        <div class="board-layout">
            <section
                class="board"
                aria-label="Storyboard"
                node_ref=scroller
                on:scroll=move |_| on_scroll()
                on:dragover=autoscroll
                on:focusin=on_focusin
            >
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
                <div
                    class="scenes"
                    node_ref=scenes_el
                    style=card_style
                    data-shots=move || sig.shots.with(Vec::len).to_string()
                    data-scenes=move || sig.scenes.with(Vec::len).to_string()
                >
                    <For
                        each=blocks
                        key=|b: &Block| b.clone()
                        children=move |b| match b {
                            Block::Gap { height, .. } => {
                                view! {
                                    <div
                                        class="scene-gap"
                                        aria-hidden="true"
                                        style=format!("height:{:.1}px", f64::from(height) / 10.0)
                                    ></div>
                                }
                                    .into_any()
                            }
                            Block::Scene(id, _) => view! { <SceneSection id=id state=state /> }.into_any(),
                        }
                    />
                </div>
            </section>
            {move || {
                selected
                    .get()
                    .map(|id| view! { <ShotPanel id=id sig=sig selected=selected index=index /> })
            }}
        </div>
    }
}

/// A height in tenths of a px, so that blocks can be keyed by it.
fn px(h: f32) -> u32 {
    (h.max(0.0) * 10.0).round() as u32
}

/// What the board renders between its toolbar and its end: shown scenes and the spacers for
/// the hidden ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Block {
    Gap {
        before: Option<SceneId>,
        height: u32,
    },
    /// A scene, keyed with the scene before it on the board (as cards are, see [`Item`]).
    Scene(SceneId, Option<SceneId>),
}

/// Reads the grid's sizes from the rendered board: the column count and row gap from the
/// first list's computed style, a card's height (the tallest card's content, never less than
/// the height already set), a scene's heading and spacing from the first scene.
fn measure_metrics(
    scenes: &web_sys::Element,
    old: GridMetrics,
    card_height: RwSignal<Option<f32>>,
) -> Option<GridMetrics> {
    let window = web_sys::window()?;
    let list = scenes.query_selector(".scene .shots").ok()??;
    let style = window.get_computed_style(&list).ok()??;
    let prop = |name: &str| -> f32 {
        style
            .get_property_value(name)
            .ok()
            .and_then(|v| v.trim().trim_end_matches("px").parse::<f32>().ok())
            .unwrap_or(0.0)
    };
    let columns = style
        .get_property_value("grid-template-columns")
        .ok()
        .map(|v| v.split_whitespace().count())
        .filter(|n| *n > 0)
        .unwrap_or(old.columns);
    let gap = prop("row-gap");
    let (pad_top, pad_bottom) = (prop("padding-top"), prop("padding-bottom"));

    let cards = scenes.query_selector_all(".shot-card").ok()?;
    let mut tallest: f32 = 0.0;
    for i in 0..cards.length() {
        if let Some(card) = cards
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let border = (card.offset_height() - card.client_height()) as f32;
            let needed = (card.scroll_height() as f32 + border).max(card.offset_height() as f32);
            tallest = tallest.max(needed);
        }
    }
    let card = match card_height.get_untracked() {
        // Only ever grows: a card's content can be taller than the height set, never shorter.
        Some(h) if tallest <= h + 0.5 => h,
        _ if tallest > 0.0 => {
            card_height.set(Some(tallest.ceil()));
            tallest.ceil()
        }
        _ => old.card,
    };

    let section = list.closest(".scene").ok()??;
    let s = section.get_bounding_client_rect();
    let l = list.get_bounding_client_rect();
    let content = l.height() as f32 - pad_top - pad_bottom;
    let head = (l.top() - s.top()) as f32 + pad_top;
    let chrome = s.height() as f32 - content;
    let empty = if list
        .query_selector(".shot-card, .shot-spacer")
        .ok()?
        .is_none()
    {
        content
    } else {
        old.empty
    };
    Some(GridMetrics {
        columns,
        card,
        gap,
        head,
        chrome,
        empty,
    })
}

/// A shown scene's list: spacers and cards. A card is keyed by its id and the id of the card
/// before it in the scene, so that a reorder re-creates the few cards whose neighbour changed
/// and the keyed list never has to move an element (leptos 0.8's `For` did not always move a
/// card when another person's reorder swapped two of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Item {
    Spacer {
        first_row: usize,
        rows: usize,
        height: u32,
    },
    Card(ShotId, Option<ShotId>),
}

#[component]
fn SceneSection(id: SceneId, state: BoardState) -> impl IntoView {
    let ctx = ctx();
    let sig = state.sig;
    let editable = move || sig.role.get().can_edit();
    let position = {
        let id = id.clone();
        Memo::new(move |_| sig.scenes.with(|all| all.iter().position(|s| s.id == id)))
    };
    let title = {
        let id = id.clone();
        Signal::derive(move || {
            sig.scenes.with(|all| {
                all.iter()
                    .find(|s| s.id == id)
                    .map(|s| s.title.clone())
                    .unwrap_or_default()
            })
        })
    };
    let number = move || position.get().map_or(0, |i| i + 1);
    let duration = move || {
        let Some(i) = position.get() else {
            return format_duration(0);
        };
        let ms: u64 = state.grouped.with(|g| {
            g.get(i).map_or(0, |ids| {
                ids.iter()
                    .filter_map(|id| state.shot(id))
                    .map(|s| u64::from(s.duration_ms))
                    .sum()
            })
        });
        format_duration(ms)
    };
    let empty = move || {
        position
            .get()
            .is_none_or(|i| state.grouped.with(|g| g.get(i).is_none_or(Vec::is_empty)))
    };
    let items = move || {
        let Some(i) = position.get() else {
            return Vec::new();
        };
        let rows = state.window.with(|w| {
            w.scenes
                .iter()
                .find(|s| s.scene == i)
                .map(|s| s.rows.clone())
                .unwrap_or_default()
        });
        let pieces = state.layout.with(|l| l.pieces(i, &rows));
        state.grouped.with(|g| {
            let ids = g.get(i).map(Vec::as_slice).unwrap_or(&[]);
            pieces
                .into_iter()
                .flat_map(|piece| match piece {
                    Piece::Spacer {
                        first_row,
                        rows,
                        height,
                    } => vec![Item::Spacer {
                        first_row,
                        rows,
                        height: px(height),
                    }],
                    Piece::Cards(range) => range
                        .filter_map(|i| {
                            let before = i.checked_sub(1).and_then(|j| ids.get(j)).cloned();
                            ids.get(i).map(|id| Item::Card(id.clone(), before))
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        })
    };
    let rename = {
        let id = id.clone();
        move |title: String| {
            edit(|p| {
                p.update_scene(
                    &id,
                    &shared_model::ScenePatch {
                        title: Some(title),
                        ..Default::default()
                    },
                )
            });
        }
    };
    let add = {
        let id = id.clone();
        move |_| {
            if let Some(new) = add_shot_at(&id, usize::MAX) {
                state.selected.set(Some(new.clone()));
                focus_shot(&new);
            }
        }
    };
    let remove = {
        let id = id.clone();
        move |_| edit(|p| p.delete_scene(&id))
    };
    let generate_scene = {
        let id = id.clone();
        let g = use_context::<generate::Gen>();
        move |_| {
            if let Some(g) = g {
                let kind = generate::bulk_kind(g.provider());
                generate::generate(
                    g,
                    kind,
                    Scope::Scene {
                        scene: id.to_string(),
                    },
                );
            }
        }
    };
    let drop_at_end = {
        let id = id.clone();
        move |ev: leptos::ev::DragEvent| {
            ev.prevent_default();
            if let Some(dragged) = state.dragging.get_untracked() {
                edit(|p| p.move_shot(&dragged, &id, usize::MAX));
                focus_shot(&dragged);
            }
            state.dragging.set(None);
        }
    };

    view! {
        <section class="scene" data-scene-id=id.to_string()>
            <header class="scene-header">
                <span class="scene-number">{move || ctx.t("Scene")} " " {number}</span>
                <LiveInput
                    class="scene-title"
                    label="Scene title"
                    value=title
                    write=rename
                    disabled=Signal::derive(move || !editable())
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
                    each=items
                    key=|item: &Item| item.clone()
                    children=move |item| match item {
                        Item::Spacer { height, rows, .. } => {
                            view! {
                                <li
                                    class="shot-spacer"
                                    aria-hidden="true"
                                    data-rows=rows.to_string()
                                    style=format!("height:{:.1}px", f64::from(height) / 10.0)
                                ></li>
                            }
                                .into_any()
                        }
                        Item::Card(id, _) => view! { <ShotCard id=id state=state /> }.into_any(),
                    }
                />
                <Show when=empty>
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
fn ShotCard(id: ShotId, state: BoardState) -> impl IntoView {
    let sig = state.sig;
    let (selected, dragging) = (state.selected, state.dragging);
    let editable = move || sig.role.get().can_edit();
    let shot = {
        let id = id.clone();
        Memo::new(move |_| state.shot(&id))
    };
    let number = {
        let id = id.clone();
        Memo::new(move |_| state.index.with(|ix| ix.get(&id).map_or(0, |i| i + 1)))
    };
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
    let characters = move || {
        let ids: Vec<CharacterId> = shot.with(|s| {
            s.as_ref()
                .map(|s| s.character_ids.clone())
                .unwrap_or_default()
        });
        sig.characters.with(|all| {
            all.iter()
                .filter(|c| ids.contains(&c.id))
                .map(|c| (c.name.clone(), c.color.clone()))
                .collect::<Vec<_>>()
        })
    };
    // Typing in the card's own fields must not make it draggable under the pointer (the
    // browser would drag the card instead of selecting text).
    let typing = RwSignal::new(false);
    let on_key = {
        let id = id.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            // Keys typed into a control inside the card are not board commands.
            if ev.target() != ev.current_target() {
                return;
            }
            let Some(i) = state.index.with_untracked(|ix| ix.get(&id).copied()) else {
                return;
            };
            let count = sig.shots.with_untracked(Vec::len);
            // The target's row is pinned into the window when it is selected, so its card
            // exists by the time it is focused, however far away it was.
            let go = |j: usize| {
                if let Some(s) = sig
                    .shots
                    .with_untracked(|all| all.get(j).map(|s| s.id.clone()))
                {
                    selected.set(Some(s.clone()));
                    focus_shot(&s);
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
                    go(count.saturating_sub(1));
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
                    let next = sig
                        .shots
                        .with_untracked(|all| moves::after_delete(all, &id));
                    edit(|p| p.delete_shot(&id));
                    selected.set(next.clone());
                    if let Some(next) = next {
                        focus_shot(&next);
                    }
                    true
                }
                ("n" | "N", false) if editable() && !ev.ctrl_key() && !ev.meta_key() => {
                    if let Some((scene, index)) = state.place(&id) {
                        let scene_id = sig
                            .scenes
                            .with_untracked(|s| s.get(scene).map(|s| s.id.clone()));
                        if let Some(scene_id) = scene_id
                            && let Some(new) = add_shot_at(&scene_id, index + 1)
                        {
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
        let id = id.clone();
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
                drop_onto(sig, &dragged, &id);
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
    let field = move |f: fn(&Shot) -> String| {
        Signal::derive(move || shot.with(|s| s.as_ref().map(f).unwrap_or_default()))
    };
    let write = {
        let id = id.clone();
        move |which: fn(String) -> ShotPatch| {
            let id = id.clone();
            move |v: String| {
                let p = which(v);
                edit(|proj| proj.update_shot(&id, &p));
            }
        }
    };
    let duration = move || {
        shot.with(|s| {
            s.as_ref()
                .map(|s| format!("{:.1}s", f64::from(s.duration_ms) / 1000.0))
                .unwrap_or_default()
        })
    };
    let label = move || {
        format!(
            "Shot {}: {}",
            number.get(),
            shot.with(|s| s
                .as_ref()
                .map(|s| s.description.clone())
                .unwrap_or_default())
        )
    };
    // Its own memo, so that typing in the card does not re-create the picture.
    let take = Memo::new(move |_| shot.with(|s| s.as_ref().and_then(|s| s.selected_take.clone())));
    let action_id = id.to_string();
    let status_id = id.to_string();

    view! {
        <li
            class="shot-card"
            class:selected=is_selected
            tabindex="0"
            data-shot-id=id.to_string()
            aria-label=label
            draggable=move || if editable() && !typing.get() { "true" } else { "false" }
            on:click={
                let select = select.clone();
                move |_| select()
            }
            on:focus=move |ev: leptos::ev::FocusEvent| {
                if ev.target() == ev.current_target() {
                    select()
                }
            }
            on:focusin=move |ev: leptos::ev::FocusEvent| {
                typing.set(ev.target() != ev.current_target());
            }
            on:focusout=move |_| typing.set(false)
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
            {move || view! { <Thumb asset=take.get() sig=sig /> }}
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
                <super::review::ShotBadge shot=id.clone() />
            </div>
            <CardStatusLine shot=status_id />
            <LiveTextarea
                class="shot-description"
                label="Shot description"
                rows=3
                value=field(|s| s.description.clone())
                write=write(|v| ShotPatch { description: Some(v), ..Default::default() })
                disabled=Signal::derive(move || !editable())
            />
            <LiveInput
                class="shot-dialogue"
                label="Dialogue"
                value=field(|s| s.dialogue.clone())
                write=write(|v| ShotPatch { dialogue: Some(v), ..Default::default() })
                disabled=Signal::derive(move || !editable())
            />
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
                {
                    let action_id = action_id.clone();
                    move || view! { <CardActions shot=action_id.clone() number=number.get() /> }
                }
            </Show>
        </li>
    }
}

#[component]
fn ShotPanel(
    id: ShotId,
    sig: Signals,
    selected: RwSignal<Option<ShotId>>,
    index: Memo<HashMap<ShotId, usize>>,
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
        move || index.with(|ix| ix.get(&id).map_or(0, |i| i + 1))
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
                    "camera" => p.camera = v,
                    _ => p.framing = v,
                }
                patch(p);
            }
        }
    };
    let live = move |f: fn(&Shot) -> String| {
        Signal::derive(move || shot.with(|s| s.as_ref().map(f).unwrap_or_default()))
    };
    let write_text = {
        let patch = patch.clone();
        move |which: fn(String) -> ShotPatch| {
            let patch = patch.clone();
            move |v: String| patch(which(v))
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
                <LiveTextarea
                    id="shot-description"
                    rows=4
                    value=live(|s| s.description.clone())
                    write=write_text(|v| ShotPatch { description: Some(v), ..Default::default() })
                    disabled=Signal::derive(move || !editable())
                />
            </label>
            <label>
                {move || ctx.t("Dialogue")}
                <LiveTextarea
                    id="shot-dialogue"
                    rows=2
                    value=live(|s| s.dialogue.clone())
                    write=write_text(|v| ShotPatch { dialogue: Some(v), ..Default::default() })
                    disabled=Signal::derive(move || !editable())
                />
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
