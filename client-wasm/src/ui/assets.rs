//! The project's files: uploads and generated takes, with provenance.

use leptos::prelude::*;
use shared_model::{Asset, AssetId};

use super::board::first_file;
use super::ctx;
use crate::session::{self, Signals};

/// Uploads a file and records it in the document; returns its id.
pub(crate) async fn upload(file: web_sys::File) -> Option<AssetId> {
    let session = session::current()?;
    if !session.can_edit() {
        return None;
    }
    match crate::api::upload_asset(&session.id, &session.token, &file).await {
        Ok(uploaded) => {
            let asset = Asset {
                id: AssetId::from(uploaded.sha256.as_str()),
                sha256: uploaded.sha256,
                mime: uploaded.content_type,
                size: uploaded.size,
                name: file.name(),
                width: None,
                height: None,
                duration_ms: None,
                created_at_ms: js_sys::Date::now(),
                provenance: None,
            };
            match session.project.add_asset(&asset) {
                Ok(()) => Some(asset.id),
                Err(e) => {
                    session.show_error(&e.to_string());
                    None
                }
            }
        }
        Err(e) => {
            session.show_error(&e.to_string());
            None
        }
    }
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[component]
pub(crate) fn Assets(sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let editable = move || sig.role.get().can_edit();
    let on_upload = move |ev: leptos::ev::Event| {
        if let Some(file) = first_file(&ev) {
            leptos::task::spawn_local(async move {
                upload(file).await;
            });
        }
    };
    let (project, token) = session::current()
        .map(|s| (s.id.clone(), s.token.clone()))
        .unwrap_or_default();
    view! {
        <section class="assets" aria-label="Assets">
            <div class="board-toolbar">
                <span class="spacer"></span>
                <Show when=editable>
                    <label class="upload primary">
                        {move || ctx.t("Upload a file")}
                        <input type="file" on:change=on_upload />
                    </label>
                </Show>
            </div>
            <Show when=move || sig.assets.with(|a| a.is_empty())>
                <p class="muted">{move || ctx.t("No assets yet")}</p>
            </Show>
            <div class="asset-grid">
                <For
                    each=move || sig.assets.get()
                    key=|a: &Asset| a.id.clone()
                    children=move |a| {
                        let url = crate::api::asset_url(&project, &token, a.id.as_str());
                        let preview = if a.mime.starts_with("image/") {
                            view! { <img src=url.clone() alt=a.name.clone() loading="lazy" /> }
                                .into_any()
                        } else if a.mime.starts_with("video/") {
                            view! { <video src=url.clone() controls preload="metadata"></video> }
                                .into_any()
                        } else {
                            view! { <div class="file-icon">{a.mime.clone()}</div> }.into_any()
                        };
                        let origin = match &a.provenance {
                            Some(p) => format!("{} · {}", p.provider, p.model),
                            None => ctx.t("uploaded").to_owned(),
                        };
                        view! {
                            <figure class="asset card" data-asset-id=a.id.to_string()>
                                {preview}
                                <figcaption>
                                    <a href=url.clone() download=a.name.clone() class="asset-name">
                                        {if a.name.is_empty() { a.id.to_string() } else { a.name.clone() }}
                                    </a>
                                    <span class="muted">
                                        {a.mime.clone()} " · " {human_size(a.size)} " · " {origin}
                                    </span>
                                </figcaption>
                            </figure>
                        }
                    }
                />
            </div>
        </section>
    }
}
