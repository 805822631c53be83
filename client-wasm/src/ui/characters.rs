//! Character sheets: name, aliases, description, colour and reference images.

use leptos::prelude::*;
use shared_model::{Character, CharacterId, CharacterPatch, NewCharacter};

use super::board::first_file;
use super::ctx;
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
                <For
                    each=move || sig.characters.get()
                    key=|c: &Character| format!("{c:?}")
                    children=move |c| view! { <Sheet character=c sig=sig /> }
                />
            </div>
        </section>
    }
}

#[component]
fn Sheet(character: Character, sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let editable = move || sig.role.get().can_edit();
    let id = character.id.clone();
    let on = |f: fn(String) -> CharacterPatch, id: CharacterId| {
        move |ev: leptos::ev::Event| patch(&id, f(event_target_value(&ev)))
    };
    let upload = {
        let id = id.clone();
        let refs = character.reference_asset_ids.clone();
        move |ev: leptos::ev::Event| {
            let Some(file) = first_file(&ev) else {
                return;
            };
            let (id, mut refs) = (id.clone(), refs.clone());
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
    view! {
        <article class="sheet card" data-character-id=id.to_string()>
            <header class="sheet-header" style=format!("border-color:{}", character.color)>
                <input
                    class="character-name"
                    type="text"
                    aria-label=move || ctx.t("Name")
                    prop:value=character.name.clone()
                    prop:disabled=move || !editable()
                    on:change=on(|v| CharacterPatch { name: Some(v), ..Default::default() }, id.clone())
                />
                <input
                    type="color"
                    aria-label=move || ctx.t("Colour")
                    prop:value=character.color.clone()
                    prop:disabled=move || !editable()
                    on:change=on(|v| CharacterPatch { color: Some(v), ..Default::default() }, id.clone())
                />
            </header>
            <label>
                {move || ctx.t("Aliases (comma separated)")}
                <input
                    type="text"
                    prop:value=character.aliases.join(", ")
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
                <textarea
                    rows="3"
                    prop:value=character.description.clone()
                    prop:disabled=move || !editable()
                    on:change=on(|v| CharacterPatch { description: Some(v), ..Default::default() }, id.clone())
                ></textarea>
            </label>
            <h3>{move || ctx.t("Reference images")}</h3>
            <div class="refs">
                {character
                    .reference_asset_ids
                    .iter()
                    .map(|a| {
                        let url = crate::api::asset_url(&project, &token, a.as_str());
                        view! { <img class="ref" src=url alt=character.name.clone() /> }
                    })
                    .collect_view()}
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
