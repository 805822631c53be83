//! The owner's Share menu: make a link (role, label, expiry, a personal invite's name, or
//! "Share for review" of a named version) and manage the project's links (role, label,
//! person, expiry, last use; revoke). A revoked link stops working at once, on open
//! connections too (the server closes them).

use api_types::{CreateToken, LinkId, LinkInfo, Role, VersionId, VersionInfo};
use leptos::prelude::*;

use super::ctx;
use crate::api;
use crate::review::error_text;
use crate::session;

/// Link lifetimes offered; the server accepts up to ten years.
const EXPIRIES: [(u64, &str); 4] = [
    (24 * 3600, "1 day"),
    (7 * 24 * 3600, "7 days"),
    (30 * 24 * 3600, "30 days"),
    (365 * 24 * 3600, "1 year"),
];

fn date(secs: i64) -> String {
    js_sys::Date::new(&((secs as f64) * 1000.0).into())
        .to_locale_date_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Editor => "editor",
        Role::Commenter => "commenter",
        Role::Viewer => "viewer",
    }
}

#[component]
pub(crate) fn ShareMenu() -> impl IntoView {
    let ctx = ctx();
    let open = RwSignal::new(false);
    let link = RwSignal::new(None::<String>);
    let label = RwSignal::new(String::new());
    let person = RwSignal::new(String::new());
    let expiry = RwSignal::new(EXPIRIES[2].0);
    let version = RwSignal::new(None::<VersionId>);
    let versions = RwSignal::new(Vec::<VersionInfo>::new());
    let links = RwSignal::new(Vec::<LinkInfo>::new());
    let error = RwSignal::new(None::<String>);

    let load = move || {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            match api::links(&id, &token).await {
                Ok(list) => links.set(list),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    // Read when the owner goes to pick one, not whenever the menu opens.
    let load_versions = move || {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            match api::review_versions(&id, &token).await {
                Ok(list) => versions.set(list),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    let make = move |role: Role, for_review: bool| {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        let text = |s: RwSignal<String>| {
            let v = s.get_untracked().trim().to_owned();
            (!v.is_empty()).then_some(v)
        };
        let request = CreateToken {
            role,
            expires_in_secs: Some(expiry.get_untracked()),
            label: text(label),
            name: text(person),
            review_version: if for_review {
                version.get_untracked()
            } else {
                None
            },
        };
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::create_link(&id, &token, &request).await {
                Ok(created) => {
                    let origin = web_sys::window()
                        .and_then(|w| w.location().origin().ok())
                        .unwrap_or_default();
                    link.set(Some(format!(
                        "{origin}/#/p/{id}/board?token={}",
                        js_sys::encode_uri_component(&created.token)
                    )));
                    label.set(String::new());
                    person.set(String::new());
                    load();
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    let revoke = move |link_id: LinkId| {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            match api::revoke_link(&id, &token, &link_id).await {
                Ok(()) => load(),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    let toggle = move |_| {
        let now = !open.get_untracked();
        open.set(now);
        if now {
            load();
        }
    };

    view! {
        <div class="share">
            <button
                class="share-button"
                aria-expanded=move || open.get().to_string()
                on:click=toggle
            >
                {move || ctx.t("Share")}
            </button>
            <Show when=move || open.get()>
                <div
                    class="share-menu"
                    role="dialog"
                    aria-label="Share"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            open.set(false);
                        }
                    }
                >
                    <label>
                        {move || ctx.t("Label")}
                        <input
                            id="link-label"
                            type="text"
                            maxlength=api_types::review::MAX_LABEL_CHARS.to_string()
                            prop:value=move || label.get()
                            on:input=move |ev| label.set(event_target_value(&ev))
                        />
                    </label>
                    <label>
                        {move || ctx.t("For a person (optional name)")}
                        <input
                            id="link-person"
                            type="text"
                            maxlength=api_types::review::MAX_NAME_CHARS.to_string()
                            prop:value=move || person.get()
                            on:input=move |ev| person.set(event_target_value(&ev))
                        />
                    </label>
                    <label>
                        {move || ctx.t("Expires after")}
                        <select
                            id="link-expiry"
                            on:change=move |ev| {
                                if let Ok(secs) = event_target_value(&ev).parse() {
                                    expiry.set(secs);
                                }
                            }
                        >
                            {EXPIRIES
                                .into_iter()
                                .map(|(secs, name)| {
                                    view! {
                                        <option
                                            value=secs.to_string()
                                            selected=move || expiry.get() == secs
                                        >
                                            {move || ctx.t(name)}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </label>
                    <div class="share-roles">
                        <button data-role="viewer" on:click=move |_| make(Role::Viewer, false)>
                            {move || ctx.t("Viewer link")}
                        </button>
                        <button data-role="commenter" on:click=move |_| make(Role::Commenter, false)>
                            {move || ctx.t("Commenter link")}
                        </button>
                        <button data-role="editor" on:click=move |_| make(Role::Editor, false)>
                            {move || ctx.t("Editor link")}
                        </button>
                    </div>
                    <div class="share-review">
                        <label>
                            {move || ctx.t("Version to review")}
                            <select
                                id="link-version"
                                on:focus=move |_| load_versions()
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    version.set((!v.is_empty()).then(|| VersionId::from(v.as_str())));
                                }
                            >
                                <option value="">{move || ctx.t("Choose a version")}</option>
                                <For
                                    each=move || versions.get()
                                    key=|v| v.id.clone()
                                    children=move |v| {
                                        view! { <option value=v.id.to_string()>{v.name.clone()}</option> }
                                    }
                                />
                            </select>
                        </label>
                        <button
                            data-role="review"
                            disabled=move || version.get().is_none()
                            on:click=move |_| make(Role::Commenter, true)
                        >
                            {move || ctx.t("Share for review")}
                        </button>
                    </div>
                    {move || {
                        link.get()
                            .map(|l| {
                                view! {
                                    <label class="share-link">
                                        {move || ctx.t("Copy this link")}
                                        <input type="text" readonly prop:value=l />
                                    </label>
                                }
                            })
                    }}
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <h3>{move || ctx.t("Links")}</h3>
                    <table class="links">
                        <thead>
                            <tr>
                                <th>{move || ctx.t("Role")}</th>
                                <th>{move || ctx.t("Label")}</th>
                                <th>{move || ctx.t("Person")}</th>
                                <th>{move || ctx.t("Expires")}</th>
                                <th>{move || ctx.t("Last used")}</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || links.get()
                                key=|l| (l.id.clone(), l.revoked_at, l.last_used_at)
                                children=move |l| {
                                    let id = l.id.clone();
                                    let revoked = l.revoked_at.is_some();
                                    let role = role_label(l.role);
                                    let review = l.review_version.is_some();
                                    view! {
                                        <tr
                                            class="link-row"
                                            class:revoked=revoked
                                            data-link-id=l.id.to_string()
                                            data-link-role=role
                                        >
                                            <td>
                                                {move || ctx.t(role)}
                                                {review.then(|| view! { <span class="muted">" · " {move || ctx.t("review")}</span> })}
                                            </td>
                                            <td>{l.label.clone()}</td>
                                            <td>{l.person_name.clone().unwrap_or_default()}</td>
                                            <td>
                                                {l.expires_at
                                                    .map(date)
                                                    .unwrap_or_else(|| ctx.t("never").to_owned())}
                                            </td>
                                            <td>
                                                {l.last_used_at
                                                    .map(date)
                                                    .unwrap_or_else(|| "—".to_owned())}
                                            </td>
                                            <td>
                                                {if revoked {
                                                    view! { <span class="revoked-mark">{move || ctx.t("revoked")}</span> }
                                                        .into_any()
                                                } else {
                                                    view! {
                                                        <button
                                                            class="revoke"
                                                            on:click=move |_| revoke(id.clone())
                                                        >
                                                            {move || ctx.t("Revoke")}
                                                        </button>
                                                    }
                                                        .into_any()
                                                }}
                                            </td>
                                        </tr>
                                    }
                                }
                            />
                        </tbody>
                    </table>
                </div>
            </Show>
        </div>
    }
}
