//! The verdict bar of the version under review: Approve / Request changes / Comment with a
//! summary, the tally, and which verdicts are stale for shots changed since (from
//! `GET .../verdicts`, which computes `stale_shots` against the live project when asked).

use std::collections::HashSet;

use api_types::{NewVerdict, Verdict, VerdictKind, VersionId, VersionInfo};
use leptos::prelude::*;

use super::host;
use crate::review;
use crate::ui::ctx;
use crate::{api, session};

fn kind_label(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Approve => "Approve",
        VerdictKind::RequestChanges => "Request changes",
        VerdictKind::Comment => "Comment",
    }
}

#[component]
pub(super) fn VerdictBar() -> impl IntoView {
    let ctx = ctx();
    let Some(host) = host() else {
        return ().into_any();
    };
    let versions = RwSignal::new(Vec::<VersionInfo>::new());
    // The verdicts with their stale shots, as the server last computed them.
    let judged = RwSignal::new(Vec::<Verdict>::new());
    let kind = RwSignal::new(VerdictKind::Approve);
    let summary = RwSignal::new(String::new());

    let fetch = move |version: VersionId| {
        let Some(s) = session::current() else {
            return;
        };
        let (id, token) = (s.id.clone(), s.token.clone());
        leptos::task::spawn_local(async move {
            if versions.with_untracked(Vec::is_empty)
                && let Ok(list) = api::review_versions(&id, &token).await
            {
                versions.set(list);
            }
            match api::verdicts(&id, &token, &version).await {
                Ok(list) => {
                    let stale: HashSet<_> = list
                        .iter()
                        .flat_map(|v| v.stale_shots.iter().cloned())
                        .collect();
                    host.stale.set(stale);
                    judged.set(list);
                }
                Err(e) => {
                    if let Some(r) = review::current() {
                        r.note_error(&e);
                    }
                }
            }
        });
    };
    // Asked again when the version changes, when a verdict is given (live, through the review
    // document), and a second after the board last changed (a shot changed may make a verdict
    // stale for it).
    let timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    Effect::new(move |first: Option<()>| {
        let version = host.reviewing.get();
        host.review.verdicts.track();
        let shots_changed = host.project.with(|p| p.map(|s| s.shots.track())).is_some();
        let Some(version) = version else {
            host.stale.set(HashSet::new());
            judged.set(Vec::new());
            return;
        };
        if first.is_none() || !shots_changed {
            fetch(version);
        } else {
            timer.set_value(Some(gloo_timers::callback::Timeout::new(1000, move || {
                fetch(version);
            })));
        }
    });
    on_cleanup(move || {
        host.stale.set(HashSet::new());
    });

    let name = move || {
        let v = host.reviewing.get()?;
        Some(
            versions
                .with(|all| all.iter().find(|x| x.id == v).map(|x| x.name.clone()))
                .unwrap_or_else(|| v.to_string()),
        )
    };
    let tally = move |k: VerdictKind| {
        let v = host.reviewing.get();
        host.review.verdicts.with(|all| {
            all.iter()
                .filter(|x| Some(&x.version) == v.as_ref() && x.verdict == k)
                .count()
        })
    };
    let submit = move |_| {
        let (Some(version), Some(s)) = (host.reviewing.get_untracked(), session::current()) else {
            return;
        };
        if !host.has_person() {
            host.asking.set(true);
            return;
        }
        let (id, token) = (s.id.clone(), s.token.clone());
        let body = NewVerdict {
            verdict: kind.get_untracked(),
            summary: summary.get_untracked().trim().to_owned(),
        };
        leptos::task::spawn_local(async move {
            match api::put_verdict(&id, &token, &version, &body).await {
                Ok(_) => summary.set(String::new()),
                Err(e) => {
                    if let Some(r) = review::current() {
                        r.note_error(&e);
                    }
                    ctx.banner.set(Some(review::error_text(&e)));
                }
            }
        });
    };
    let stale_lines = move || {
        judged.with(|all| {
            all.iter()
                .filter(|v| !v.stale_shots.is_empty())
                .map(|v| {
                    (
                        v.author.name.clone(),
                        kind_label(v.verdict),
                        v.stale_shots.len(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };

    view! {
        <Show when=move || host.reviewing.get().is_some()>
            <section class="verdict-bar" aria-label="Verdict" data-testid="verdict-bar">
                <span class="verdict-version">
                    {move || ctx.t("Reviewing")} " " <strong>{name}</strong>
                </span>
                <span class="tally" data-testid="tally">
                    <span class="approve">"✓ " {move || tally(VerdictKind::Approve)}</span>
                    <span class="request-changes">"✗ " {move || tally(VerdictKind::RequestChanges)}</span>
                    <span class="comment">{move || tally(VerdictKind::Comment)}</span>
                </span>
                <Show when=move || host.can_comment()>
                    <span class="verdict-choice" role="radiogroup">
                        {[VerdictKind::Approve, VerdictKind::RequestChanges, VerdictKind::Comment]
                            .into_iter()
                            .map(|k| {
                                view! {
                                    <button
                                        role="radio"
                                        data-verdict=k.as_str()
                                        aria-checked=move || (kind.get() == k).to_string()
                                        on:click=move |_| kind.set(k)
                                    >
                                        {move || ctx.t(kind_label(k))}
                                    </button>
                                }
                            })
                            .collect_view()}
                    </span>
                    <input
                        class="verdict-summary"
                        type="text"
                        placeholder=move || ctx.t("Summary")
                        prop:value=move || summary.get()
                        on:input=move |ev| summary.set(event_target_value(&ev))
                    />
                    <button class="primary submit-verdict" on:click=submit>
                        {move || ctx.t("Give verdict")}
                    </button>
                </Show>
                <ul class="stale-list">
                    {move || {
                        stale_lines()
                            .into_iter()
                            .map(|(who, what, n)| {
                                view! {
                                    <li class="stale" data-stale=n>
                                        {who} ": " {move || ctx.t(what)} " — "
                                        {move || ctx.t("stale for")} " " {n} " "
                                        {move || ctx.t("shots changed since")}
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
                <span class="spacer"></span>
                <button class="quiet" on:click=move |_| host.reviewing.set(None)>
                    {move || ctx.t("Stop reviewing")}
                </button>
            </section>
        </Show>
    }
    .into_any()
}
