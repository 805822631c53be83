//! Character sheets: name, aliases, description, colour and reference images.

use leptos::prelude::*;
use shared_model::{Character, CharacterId, CharacterPatch, NewCharacter};

use super::board::first_file;
use super::ctx;
use super::fields::{LiveInput, LiveTextarea};
use crate::session::{self, Signals};

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

fn patch(id: &CharacterId, p: CharacterPatch) {
    edit(|proj| proj.update_character(id, &p));
}

#[component]
pub(crate) fn Characters(sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let editable = move || sig.role.get().can_edit();
    let add = move |_| {
        let n = sig.characters.with_untracked(Vec::len) + 1;
        edit(|p| {
            p.add_character(&NewCharacter {
                name: format!("{} {n}", ctx.t("Name")),
                ..Default::default()
            });
            Ok(())
        });
    };
    view! {
        <section class="characters" aria-label="Characters">
            <div class="board-toolbar">
                <span class="spacer"></span>
                <Show when=editable>
                    <button class="primary add-character" on:click=add>
                        {move || ctx.t("Add character")}
                    </button>
                </Show>
            </div>
            <Show when=move || sig.characters.with(|c| c.is_empty())>
                <p class="muted">{move || ctx.t("No characters yet")}</p>
            </Show>
            <div class="sheet-grid">
                // Keyed by id: a sheet reads its character reactively, so a field being typed
                // in keeps its focus while the character changes.
                <For
                    each=move || sig.characters.with(|all| all.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
                    key=|id: &CharacterId| id.clone()
                    children=move |id| view! { <Sheet id=id sig=sig /> }
                />
            </div>
        </section>
    }
}

#[component]
fn Sheet(id: CharacterId, sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let editable = move || sig.role.get().can_edit();
    let character = {
        let id = id.clone();
        Memo::new(move |_| {
            sig.characters
                .with(|all| all.iter().find(|c| c.id == id).cloned())
        })
    };
    let read = move |f: fn(&Character) -> String| {
        Signal::derive(move || character.with(|c| c.as_ref().map(f).unwrap_or_default()))
    };
    let on = |f: fn(String) -> CharacterPatch, id: CharacterId| {
        move |ev: leptos::ev::Event| patch(&id, f(event_target_value(&ev)))
    };
    let write =
        |f: fn(String) -> CharacterPatch, id: CharacterId| move |v: String| patch(&id, f(v));
    let upload = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            let Some(file) = first_file(&ev) else {
                return;
            };
            let id = id.clone();
            let mut refs = character
                .get_untracked()
                .map(|c| c.reference_asset_ids)
                .unwrap_or_default();
            leptos::task::spawn_local(async move {
                if let Some(asset) = super::assets::upload(file).await {
                    if !refs.contains(&asset) {
                        refs.push(asset);
                    }
                    patch(
                        &id,
                        CharacterPatch {
                            reference_asset_ids: Some(refs),
                            ..Default::default()
                        },
                    );
                }
            });
        }
    };
    let remove = {
        let id = id.clone();
        move |_| edit(|p| p.delete_character(&id))
    };
    let (project, token) = session::current()
        .map(|s| (s.id.clone(), s.token.clone()))
        .unwrap_or_default();
    let color = read(|c| c.color.clone());
    // Its own memo, so that typing in the sheet does not reload the pictures.
    let refs = Memo::new(move |_| {
        character
            .with(|c| {
                c.as_ref()
                    .map(|c| (c.reference_asset_ids.clone(), c.name.clone()))
            })
            .unwrap_or_default()
    });
    let aliases = read(|c| c.aliases.join(", "));
    view! {
        <article class="sheet card" data-character-id=id.to_string()>
            <header class="sheet-header" style=move || format!("border-color:{}", color.get())>
                <LiveInput
                    class="character-name"
                    label=ctx.t("Name")
                    value=read(|c| c.name.clone())
                    write=write(|v| CharacterPatch { name: Some(v), ..Default::default() }, id.clone())
                    disabled=Signal::derive(move || !editable())
                />
                <input
                    type="color"
                    aria-label=move || ctx.t("Colour")
                    prop:value=color
                    prop:disabled=move || !editable()
                    on:change=on(|v| CharacterPatch { color: Some(v), ..Default::default() }, id.clone())
                />
            </header>
            <label>
                {move || ctx.t("Aliases (comma separated)")}
                <input
                    type="text"
                    prop:value=aliases
                    prop:disabled=move || !editable()
                    on:change=on(
                        |v| CharacterPatch {
                            aliases: Some(
                                v.split([',', '，'])
                                    .map(|a| a.trim().to_owned())
                                    .filter(|a| !a.is_empty())
                                    .collect(),
                            ),
                            ..Default::default()
                        },
                        id.clone(),
                    )
                />
            </label>
            <label>
                {move || ctx.t("Description")}
                <LiveTextarea
                    class="character-description"
                    rows=3
                    value=read(|c| c.description.clone())
                    write=write(|v| CharacterPatch { description: Some(v), ..Default::default() }, id.clone())
                    disabled=Signal::derive(move || !editable())
                />
            </label>
            <h3>{move || ctx.t("Reference images")}</h3>
            <div class="refs">
                {move || {
                    let (refs, name) = refs.get();
                    refs.iter()
                        .map(|a| {
                            let url = crate::api::asset_url(&project, &token, a.as_str());
                            view! { <img class="ref" src=url alt=name.clone() /> }
                        })
                        .collect_view()
                }}
            </div>
            <Show when=editable>
                <label class="upload">
                    {move || ctx.t("Upload reference image")}
                    <input type="file" accept="image/*" on:change=upload.clone() />
                </label>
                <button class="quiet danger" on:click=remove.clone()>
                    {move || ctx.t("Delete character")}
                </button>
            </Show>
        </article>
    }
}
