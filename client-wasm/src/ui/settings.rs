//! The owner's generation settings, behind the header's "Settings" button: the project's
//! provider keys (write-only: the server says which are set, never what they are) and its
//! budget. Generation itself (picker, buttons, progress, jobs) is in [`super::generate`].

use api_types::{Budget, ProviderInfo};
use leptos::prelude::*;

use super::ctx;
use super::generate::error_text;
use crate::api;
use crate::session;

/// The owner's provider keys (write-only) and budget, behind a header button.
#[component]
pub(crate) fn SettingsMenu() -> impl IntoView {
    let ctx = ctx();
    let open = RwSignal::new(false);
    let keys_set = RwSignal::new(Vec::<String>::new());
    // The server's providers, read when the menu opens: the ones that need a key get a row.
    let catalog = RwSignal::new(Vec::<ProviderInfo>::new());
    let budget = RwSignal::new(None::<Budget>);
    let limit = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let button = NodeRef::<leptos::html::Button>::new();

    let load = move || {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            if let Ok(list) = api::providers().await
                && !list.is_empty()
                && catalog.with_untracked(|c| c != &list)
            {
                catalog.set(list);
            }
            match api::credentials(&id, &token).await {
                Ok(set) => keys_set.set(set),
                Err(e) => error.set(Some(error_text(&e))),
            }
            match api::budget(&id, &token).await {
                Ok(b) => {
                    limit.set(b.limit_usd.map(|l| format!("{l}")).unwrap_or_default());
                    budget.set(Some(b));
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    let toggle = move |_| {
        let now = !open.get_untracked();
        open.set(now);
        if now {
            error.set(None);
            saved.set(None);
            load();
        }
    };
    let close = move || {
        open.set(false);
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    let save_budget = move || {
        let text = limit.get_untracked().trim().to_owned();
        let value = if text.is_empty() {
            None
        } else {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => {
                    error.set(Some(
                        ctx.t("The budget must be a number of dollars, 0 or more")
                            .into(),
                    ));
                    return;
                }
            }
        };
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::put_budget(&id, &token, value).await {
                Ok(b) => {
                    budget.set(Some(b));
                    saved.set(Some(ctx.t("Budget saved").into()));
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    let money = |v: f64| format!("${v:.2}");

    view! {
        <div class="settings">
            <button
                class="settings-button"
                node_ref=button
                aria-expanded=move || open.get().to_string()
                on:click=toggle
            >
                {move || ctx.t("Settings")}
            </button>
            <Show when=move || open.get()>
                <div
                    class="settings-menu"
                    role="dialog"
                    aria-label="Generation settings"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" {
                            close();
                        }
                    }
                >
                    {move || {
                        error.get().map(|e| view! { <p class="settings-error" role="alert">{e}</p> })
                    }}
                    {move || {
                        saved.get().map(|m| view! { <p class="settings-saved" role="status">{m}</p> })
                    }}
                    <h3>{move || ctx.t("Budget")}</h3>
                    <p class="budget-now muted">
                        {move || {
                            budget
                                .get()
                                .map(|b| {
                                    format!(
                                        "{} {} · {} {} · {} {}",
                                        ctx.t("Spent"),
                                        money(b.spent_usd),
                                        ctx.t("reserved"),
                                        money(b.reserved_usd),
                                        ctx.t("limit"),
                                        b.limit_usd.map_or_else(|| ctx.t("none").to_owned(), money),
                                    )
                                })
                                .unwrap_or_default()
                        }}
                    </p>
                    <form
                        class="budget-form"
                        on:submit=move |ev| {
                            ev.prevent_default();
                            save_budget();
                        }
                    >
                        <label>
                            {move || ctx.t("Budget limit (USD, empty for none)")}
                            <input
                                id="budget-limit"
                                type="number"
                                min="0"
                                step="0.01"
                                prop:value=move || limit.get()
                                on:input=move |ev| limit.set(event_target_value(&ev))
                            />
                        </label>
                        <button type="submit" class="save-budget">
                            {move || ctx.t("Save budget")}
                        </button>
                    </form>
                    <h3>{move || ctx.t("Provider keys")}</h3>
                    <p class="muted small">
                        {move || ctx.t("Keys are stored encrypted on the server and never shown again.")}
                    </p>
                    <ul class="key-list">
                        {move || {
                            catalog
                                .get()
                                .into_iter()
                                .filter(|p| p.needs_key)
                                .map(|p| {
                                    view! {
                                        <KeyRow
                                            provider=p.name
                                            keys_set=keys_set
                                            error=error
                                            saved=saved
                                        />
                                    }
                                })
                                .collect_view()
                        }}
                    </ul>
                    <button class="quiet close-settings" on:click=move |_| close()>
                        {move || ctx.t("Close")}
                    </button>
                </div>
            </Show>
        </div>
    }
}

#[component]
fn KeyRow(
    provider: String,
    keys_set: RwSignal<Vec<String>>,
    error: RwSignal<Option<String>>,
    saved: RwSignal<Option<String>>,
) -> impl IntoView {
    let ctx = ctx();
    let input = NodeRef::<leptos::html::Input>::new();
    let field_id = format!("key-{provider}");
    let is_kling = provider == "kling";
    let label = provider.clone();
    let row_name = provider.clone();
    let provider = StoredValue::new(provider);
    let is_set = move || keys_set.with(|k| provider.with_value(|name| k.contains(name)));
    let save = move || {
        let Some(el) = input.get_untracked() else {
            return;
        };
        let key = el.value();
        if key.trim().is_empty() {
            return;
        }
        // The key leaves the page once, and the field is emptied at once.
        el.set_value("");
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        error.set(None);
        leptos::task::spawn_local(async move {
            let provider = provider.get_value();
            match api::put_credential(&id, &token, &provider, key.trim()).await {
                Ok(()) => {
                    keys_set.update(|k| {
                        if !k.contains(&provider) {
                            k.push(provider.clone());
                        }
                    });
                    saved.set(Some(format!("{provider}: {}", ctx.t("key set"))));
                }
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    let remove = move |_| {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            let provider = provider.get_value();
            match api::delete_credential(&id, &token, &provider).await {
                Ok(()) => keys_set.update(|k| k.retain(|p| p != &provider)),
                Err(e) => error.set(Some(error_text(&e))),
            }
        });
    };
    view! {
        <li class="key-row" data-provider=row_name>
            <form on:submit=move |ev| {
                ev.prevent_default();
                save();
            }>
                <label for=field_id.clone()>{label}</label>
                <span class="key-state" data-set=move || is_set().to_string()>
                    {move || if is_set() { ctx.t("key set") } else { ctx.t("not set") }}
                </span>
                <input
                    id=field_id
                    class="key-input"
                    type="password"
                    autocomplete="off"
                    spellcheck="false"
                    // Kling signs requests with two keys, stored together.
                    placeholder=is_kling.then_some("ACCESS_KEY:SECRET_KEY")
                    node_ref=input
                />
                <button type="submit" class="save-key">
                    {move || ctx.t("Save key")}
                </button>
                <Show when=is_set>
                    <button type="button" class="quiet remove-key" on:click=remove>
                        {move || ctx.t("Remove")}
                    </button>
                </Show>
            </form>
        </li>
    }
}
