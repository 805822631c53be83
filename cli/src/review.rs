//! `shotweave threads | comment | reply | resolve | reopen | verdict | activity`: review from
//! the command line, over the same routes the studio's review panel uses. The server sets
//! every author and time; nothing here decides anything beyond what to print.

use anyhow::{Result, bail};
use api_types::{Anchor, NewAnchor, ShotId, Thread, ThreadId, ThreadStatus, VerdictKind};
use clap::{Args, Subcommand, ValueEnum};

use crate::api::Api;

#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCommand {
    /// List the project's review threads with their comments (open ones by default).
    Threads {
        #[arg(long, group = "which")]
        all: bool,
        #[arg(long, group = "which")]
        open: bool,
        #[arg(long, group = "which")]
        resolved: bool,
        /// Threads you opened.
        #[arg(long, group = "which")]
        mine: bool,
    },
    /// Open a review thread on a shot (`--shot`), a range of the script (`--script`), or,
    /// with neither, on the whole project (`--project` already names the project).
    Comment {
        #[command(flatten)]
        on: Target,
        /// The comment; `@Name` mentions a project member.
        text: String,
    },
    /// Reply to a thread.
    Reply { thread: String, text: String },
    /// Mark a thread resolved (its author, an editor or the owner).
    Resolve { thread: String },
    /// Reopen a resolved thread.
    Reopen { thread: String },
    /// Give a version your verdict (one per person and version; a new one replaces it).
    Verdict {
        version: String,
        #[arg(value_enum)]
        verdict: Kind,
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// Who changed what recently, grouped by person and time, newest first.
    Activity,
}

#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub(crate) struct Target {
    /// The shot's id.
    #[arg(long)]
    shot: Option<String>,
    /// A range of the script, `START:END` in UTF-16 units.
    #[arg(long, value_name = "START:END")]
    script: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Kind {
    Approve,
    RequestChanges,
    Comment,
}

impl From<Kind> for VerdictKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Approve => VerdictKind::Approve,
            Kind::RequestChanges => VerdictKind::RequestChanges,
            Kind::Comment => VerdictKind::Comment,
        }
    }
}

fn anchor(on: Target) -> Result<NewAnchor> {
    if let Some(shot) = on.shot {
        return Ok(NewAnchor::Shot {
            shot_id: ShotId::from(shot),
        });
    }
    if let Some(range) = on.script {
        let Some((start, end)) = range.split_once(':') else {
            bail!("--script takes START:END, e.g. --script 120:164");
        };
        let (Ok(start), Ok(end)) = (start.trim().parse(), end.trim().parse()) else {
            bail!("--script takes two numbers, START:END");
        };
        return Ok(NewAnchor::Script {
            anchor: None,
            start: Some(start),
            end: Some(end),
        });
    }
    Ok(NewAnchor::Project)
}

/// A fresh key for one post, so that the server stores it once however often it is sent.
fn client_key() -> String {
    api_types::CommentId::new().to_string()
}

pub(crate) async fn run(api: &Api, project: &str, token: &str, cmd: ReviewCommand) -> Result<()> {
    match cmd {
        ReviewCommand::Threads {
            all,
            open: _,
            resolved,
            mine,
        } => {
            let me = if mine {
                match api.me(project, token).await?.person {
                    Some(p) => Some(p.id),
                    None => bail!("this token names nobody yet, so no thread is yours"),
                }
            } else {
                None
            };
            let threads = api.threads(project, token).await?;
            let shown: Vec<&Thread> = threads
                .iter()
                .filter(|t| match (&me, all, resolved) {
                    (Some(me), _, _) => t.author.id.as_ref() == Some(me),
                    (None, true, _) => true,
                    (None, false, true) => t.status == ThreadStatus::Resolved,
                    (None, false, false) => t.status == ThreadStatus::Open,
                })
                .collect();
            if shown.is_empty() {
                println!("no threads");
            }
            for t in shown {
                print!("{}", thread_text(t));
            }
        }
        ReviewCommand::Comment { on, text } => {
            let thread = api
                .new_thread(project, token, anchor(on)?, &text, &client_key())
                .await?;
            println!("thread {} opened", thread.id);
        }
        ReviewCommand::Reply { thread, text } => {
            let comment = api
                .reply(
                    project,
                    token,
                    &ThreadId::from(thread),
                    &text,
                    &client_key(),
                )
                .await?;
            println!("comment {} posted", comment.id);
        }
        ReviewCommand::Resolve { thread } => {
            let t = api
                .thread_status(project, token, &ThreadId::from(thread), "resolve")
                .await?;
            println!("thread {} resolved", t.id);
        }
        ReviewCommand::Reopen { thread } => {
            let t = api
                .thread_status(project, token, &ThreadId::from(thread), "reopen")
                .await?;
            println!("thread {} reopened", t.id);
        }
        ReviewCommand::Verdict {
            version,
            verdict,
            summary,
        } => {
            let v = api
                .verdict(project, token, &version, verdict.into(), &summary)
                .await?;
            println!("{} on version {}", v.verdict, v.version);
            if !v.stale_shots.is_empty() {
                println!(
                    "{} shots changed since that version: the verdict is stale for them",
                    v.stale_shots.len()
                );
            }
        }
        ReviewCommand::Activity => {
            let activity = api.activity(project, token).await?;
            if activity.groups.is_empty() {
                println!("no activity yet");
            }
            for g in &activity.groups {
                let mut what = Vec::new();
                if !g.shots.is_empty() {
                    what.push(format!("changed {} shots", g.shots.len()));
                }
                if g.characters > 0 {
                    what.push(format!("{} characters", g.characters));
                }
                if g.script_edits > 0 {
                    what.push(format!("{} script edits", g.script_edits));
                }
                let scenes: Vec<&str> = g.scenes.iter().map(|s| s.title.as_str()).collect();
                let scenes = if scenes.is_empty() {
                    String::new()
                } else {
                    format!(" in {}", scenes.join(", "))
                };
                println!(
                    "{} {}{scenes}, {} to {} (Unix ms)",
                    g.author.name,
                    what.join(", "),
                    g.from_ms,
                    g.to_ms
                );
            }
        }
    }
    Ok(())
}

/// A thread as `shotweave threads` prints it: a header line, then one line per comment.
fn thread_text(t: &Thread) -> String {
    let on = match &t.anchor {
        Anchor::Project => "the project".to_owned(),
        Anchor::Shot { shot_id } => format!("shot {shot_id}"),
        Anchor::Script { .. } => "the script".to_owned(),
    };
    let mut out = format!(
        "{}  {}{}  on {on}",
        t.id,
        t.status,
        if t.orphaned { " (orphaned)" } else { "" }
    );
    if !t.quote.is_empty() {
        out.push_str(&format!(": \"{}\"", t.quote.replace('\n', " ")));
    }
    out.push('\n');
    for c in &t.comments {
        let text = if c.deleted {
            "(deleted)"
        } else {
            c.text.as_str()
        };
        out.push_str(&format!("    {}: {}\n", c.author.name, text));
    }
    out
}
