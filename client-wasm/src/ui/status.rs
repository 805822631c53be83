//! The status bar: connection, local saving, who else is here and what they look at, and the
//! local user's name.

use leptos::prelude::*;

use super::ctx;
use crate::presence::User;
use crate::session::{self, Conn, Signals};
use crate::storage;

#[component]
pub(crate) fn StatusBar(sig: Signals) -> impl IntoView {
    let ctx = ctx();
    let conn = move || match sig.conn.get() {
        Conn::Online => ("online", ctx.t("Online")),
        Conn::Offline => ("offline", ctx.t("Offline")),
        Conn::Connecting => ("connecting", ctx.t("Connecting")),
        Conn::Syncing => ("syncing", ctx.t("Syncing")),
    };
    let shot_number = move |id: &str| {
        sig.shots
            .with(|all| all.iter().position(|s| s.id.as_str() == id))
            .map(|i| i + 1)
    };
    let me = RwSignal::new(storage::user());
    let rename = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev).trim().to_owned();
        if name.is_empty() {
            return;
        }
        let user = User {
            name,
            color: me.get_untracked().color,
            server: false,
        };
        storage::set_user(&user);
        me.set(user.clone());
        session::with(|s| s.set_user(user));
    };
    view! {
        <footer class="statusbar" role="status">
            <span class="conn" data-state=move || conn().0>
                <span class="conn-dot"></span>
                {move || conn().1}
            </span>
            <span class="saved" data-saved=move || sig.saved.get().to_string()>
                {move || if sig.saved.get() { ctx.t("Saved on this device") } else { ctx.t("Saving") }}
            </span>
            <Show when=move || !sig.role.get().can_edit()>
                <span class="role-badge readonly">
                    {move || ctx.t("Read-only")} " (" {move || sig.role.get().as_str()} ")"
                </span>
            </Show>
            <span class="spacer"></span>
            <ul class="peers" aria-label="People here">
                <Show when=move || sig.peers.with(|p| p.is_empty())>
                    <li class="muted">{move || ctx.t("Only you are here")}</li>
                </Show>
                <For
                    each=move || sig.peers.get()
                    key=|p| (p.client_id, p.name.clone(), p.color.clone(), p.view.clone(), p.shot.clone())
                    children=move |p| {
                        let (shot, view) = (p.shot.clone(), p.view.clone());
                        // Reactive: shot numbers change when the board is reordered.
                        let place = move || match (&shot, &view) {
                            (Some(shot), Some(view)) if view == "board" => shot_number(shot)
                                .map(|n| format!("{} #{n}", ctx.t("Shot")))
                                .unwrap_or_else(|| ctx.t("Storyboard").to_owned()),
                            (_, Some(view)) => ctx
                                .t(match view.as_str() {
                                    "script" => "Script",
                                    "characters" => "Characters",
                                    "assets" => "Assets",
                                    _ => "Storyboard",
                                })
                                .to_owned(),
                            _ => String::new(),
                        };
                        view! {
                            <li class="peer" data-peer=p.name.clone()>
                                <span class="peer-dot" style=format!("background:{}", p.color)></span>
                                <span class="peer-name">{p.name.clone()}</span>
                                <span class="peer-place muted">{place}</span>
                            </li>
                        }
                    }
                />
            </ul>
            <label class="me">
                <span class="peer-dot" style=move || format!("background:{}", me.get().color)></span>
                <span class="visually-hidden">{move || ctx.t("You")}</span>
                <input
                    class="my-name"
                    type="text"
                    aria-label="Your name"
                    prop:value=move || me.get().name
                    on:change=rename
                />
            </label>
        </footer>
    }
}
