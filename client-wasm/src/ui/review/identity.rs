//! The name a share link's holder gives once (a small bar, not a wall: the project stays
//! readable behind it), and the notice shown when the link has been revoked.

use leptos::prelude::*;

use super::host;
use crate::storage;
use crate::ui::ctx;

/// Asks for the display name others will see beside this person's comments. The server
/// answers with a personal token, which replaces the link's (see [`super::Host::join`]).
#[component]
pub(crate) fn JoinBar() -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    // The name this browser already uses in presence, unless it is a made-up guest name.
    let initial = storage::user().name;
    let name = RwSignal::new(if initial.starts_with("Guest ") {
        String::new()
    } else {
        initial
    });
    let submit = move || {
        let n = name.get_untracked().trim().to_owned();
        if n.is_empty() || n.chars().count() > api_types::review::MAX_NAME_CHARS {
            return;
        }
        host.join(n);
    };
    view! {
        <Show when=move || host.asking.get() && !host.review.revoked.get()>
            <form
                class="join-bar"
                role="dialog"
                aria-label="Your name"
                data-testid="join"
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit();
                }
            >
                <label>
                    {move || ctx.t("Your name, as others will see it beside your comments")}
                    <input
                        id="join-name"
                        type="text"
                        maxlength=api_types::review::MAX_NAME_CHARS.to_string()
                        required
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="primary">{move || ctx.t("Join")}</button>
                <button type="button" class="quiet" on:click=move |_| host.asking.set(false)>
                    {move || ctx.t("Not now")}
                </button>
            </form>
        </Show>
    }
    .into_any()
}

/// The link was revoked: nothing on this page will work again, and it says why.
#[component]
pub(crate) fn RevokedNotice() -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    view! {
        <Show when=move || host.review.revoked.get()>
            <div class="revoked" role="alert" data-testid="revoked">
                <strong>{move || ctx.t("This link was revoked by the project's owner")}</strong>
                <a href="#/">{move || ctx.t("Back to projects")}</a>
            </div>
        </Show>
    }
    .into_any()
}
