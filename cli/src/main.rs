//! `shotweave`: the studio from the command line. Every command talks to a running studio
//! (`cargo xtask run`) over its HTTP API; the project id and token of the last import are
//! remembered, so the usual walk-through needs no ids:
//!
//! ```text
//! shotweave import novel.txt          # new project: script, scenes, shots, characters
//! shotweave generate                  # a frame for every shot without a take
//! shotweave export --out board        # .otio .edl .xml .fcpxml .fountain .html .mp4 + media,
//!                                     # and the review report (.review.html, .review.pdf)
//! shotweave review-export --format pdf --out review.pdf   # the review report alone
//! ```
//!
//! or, with a language model doing the breakdown (DeepSeek, Qwen, a local Ollama: whatever
//! OpenAI-compatible chat server the studio's `--provider-url openai-chat=...` points at):
//!
//! ```text
//! shotweave import novel.txt --breakdown none     # the script only
//! shotweave key openai-chat < deepseek.key        # stored encrypted in the studio
//! shotweave breakdown --mode llm                  # scenes, shots, characters, with progress
//! ```
//!
//! Versions name the project's state, compare two states and bring one back:
//!
//! ```text
//! shotweave version "Draft 2" --note "for the director"
//! shotweave versions                              # newest first
//! shotweave diff "Draft 2"                        # what changed since, shot by shot
//! shotweave restore "Draft 2"                     # as a new change; undo by restoring the
//!                                                 # automatic version it takes first
//! ```
//!
//! To let others in (owners only):
//!
//! ```text
//! shotweave share --role commenter --label "crew Discord" --expires 7d
//! shotweave share --role editor --name Lin        # a personal invite, already named
//! shotweave links                                 # role, label, person, expiry, last used
//! shotweave revoke LINK_ID                        # stops working at once
//! ```

mod api;
mod diff;
mod review;
mod saved;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use api_types::{
    BreakdownMode, CreateToken, ErrorCode, JobId, JobStatus, LinkInfo, Role, VersionId,
};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::api::{Api, ApiRefusal};
use crate::saved::Saved;

#[derive(Debug, Parser)]
#[command(
    name = "shotweave",
    version,
    about = "Shotweave studio from the command line"
)]
struct Cli {
    /// The studio's URL.
    #[arg(
        long,
        env = "SHOTWEAVE_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    /// Project id; defaults to the last imported project.
    #[arg(long, env = "SHOTWEAVE_PROJECT", global = true)]
    project: Option<String>,
    /// Access token; defaults to the one saved when the project was imported.
    #[arg(long, env = "SHOTWEAVE_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a novel (.txt/.md, any common encoding) or a Fountain screenplay as a new project,
    /// broken down offline into scenes, shots and characters.
    Import {
        file: PathBuf,
        /// Project title (default: from the file).
        #[arg(long)]
        title: Option<String>,
        /// `offline` (scenes, shots and characters at once) or `none` (the script only, to
        /// be broken down by `breakdown --mode llm`).
        #[arg(long, default_value = "offline")]
        breakdown: String,
    },
    /// Break the project's script down (only while the board has no shots).
    Breakdown {
        /// `offline` (deterministic, no key) or `llm` (a chat model, with the project's key).
        #[arg(long, value_enum, default_value = "offline")]
        mode: Mode,
        /// For `llm`: the chat provider; the studio's `--provider-url` decides where it is.
        #[arg(long, default_value = "openai-chat")]
        provider: String,
        /// For `llm`: the model, e.g. `deepseek-chat`, `qwen-plus`, `qwen2.5:7b` (default:
        /// the provider's).
        #[arg(long)]
        model: Option<String>,
        /// For `llm`: return once the job is queued instead of waiting.
        #[arg(long)]
        no_wait: bool,
    },
    /// Store a provider key for the project (owners only), read from standard input so it
    /// stays out of the shell history. The studio keeps it encrypted and never shows it again.
    Key {
        /// `openai-chat`, `openai-images`, `gemini`, `fal`, ...
        provider: String,
    },
    /// List the providers this studio can run and what each makes (the studio's provider
    /// picker shows the same list).
    Providers,
    /// Generate takes for shots and wait for them, showing progress.
    Generate {
        /// Provider to use.
        #[arg(long, default_value = "offline")]
        provider: String,
        /// `frame` or `clip`.
        #[arg(long, default_value = "frame")]
        kind: String,
        /// Regenerate shots that already have a take too.
        #[arg(long)]
        all: bool,
        /// Return once the jobs are queued instead of waiting.
        #[arg(long)]
        no_wait: bool,
    },
    /// List the project's versions, newest first.
    Versions,
    /// Name the project's current state as a version (owners and editors).
    Version {
        name: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Show what changed between two versions, or a version and now (TO defaults to now).
    /// Versions are given by id or by name.
    Diff { from: String, to: Option<String> },
    /// Make the project equal to a version again, as a new change (owners and editors). An
    /// automatic version of the state before is taken first: restore that one to undo.
    Restore { version: String },
    /// Delete a version (owners).
    VersionDelete { version: String },
    /// Make a share link (owners only) and print its URL and token.
    Share {
        /// owner, editor, commenter or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// What you call this link in `shotweave links` ("crew Discord").
        #[arg(long)]
        label: Option<String>,
        /// A personal invite: the link is this person's, who need not give a name.
        #[arg(long)]
        name: Option<String>,
        /// How long the link works: a number with s, m, h, d or w (`7d`), or seconds.
        /// The studio's default is a week.
        #[arg(long, value_parser = parse_lifetime)]
        expires: Option<u64>,
        /// "Share for review": the link opens straight into review of this version.
        #[arg(long)]
        review_version: Option<String>,
    },
    /// List the project's share links, newest first (owners only).
    Links,
    /// Revoke a share link (owners only): it stops working at once, open connections too.
    Revoke {
        /// The link's id, as `shotweave links` shows it.
        link: String,
    },
    /// Write the storyboard in editorial and screenplay formats, with the media they reference.
    Export {
        /// Output directory.
        #[arg(long, default_value = "export")]
        out: PathBuf,
        /// otio, edl, fcp7, fcpxml, fountain, sheet, animatic, review-html, review-pdf, or
        /// all. The timeline formats carry the open review threads as markers.
        #[arg(long, default_value = "all")]
        format: Vec<String>,
    },
    /// Write the review report alone: every thread with its shot's frame, comments and
    /// status, and the verdicts on each version with their tally.
    ReviewExport {
        #[arg(long, value_enum, default_value = "pdf")]
        format: ReportFormat,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    #[command(flatten)]
    Review(review::ReviewCommand),
}

const FORMATS: [(&str, &str); 9] = [
    ("otio", "otio"),
    ("edl", "edl"),
    ("fcp7", "xml"),
    ("fcpxml", "fcpxml"),
    ("fountain", "fountain"),
    ("sheet", "html"),
    ("animatic", "mp4"),
    ("review-html", "review.html"),
    ("review-pdf", "review.pdf"),
];

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut saved = Saved::load()?;
    let api = Api::new(&cli.server)?;
    match cli.command {
        Command::Import {
            file,
            title,
            breakdown,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("novel.txt");
            let spinner = spinner(&format!("importing {name} ({} KB)", bytes.len() / 1024));
            let imported = api.import(name, title.as_deref(), &breakdown, bytes).await;
            spinner.finish_and_clear();
            let imported = imported?;
            saved.remember(imported.project_id.as_str(), &imported.token)?;
            println!(
                "imported \"{}\": {} chapters, {} scenes, {} shots, {} characters",
                imported.title,
                imported.chapters,
                imported.scenes,
                imported.shots,
                imported.characters
            );
            println!(
                "project {}  (saved as the current project)",
                imported.project_id
            );
            println!(
                "open {}/#/p/{}/board?token={}",
                cli.server.trim_end_matches('/'),
                imported.project_id,
                imported.token
            );
        }
        Command::Breakdown {
            mode,
            provider,
            model,
            no_wait,
        } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            if mode == Mode::Llm {
                let queued = api
                    .breakdown_llm(&project, &token, &provider, model.as_deref())
                    .await
                    .map_err(key_hint)?;
                println!("breakdown job {} queued on {provider}", queued.job);
                if !no_wait {
                    wait_for_breakdown(&api, &project, &token, &queued.job).await?;
                    println!(
                        "open {}/#/p/{project}/board?token={token}",
                        cli.server.trim_end_matches('/')
                    );
                }
            } else {
                let result = api
                    .breakdown(&project, &token, BreakdownMode::Offline)
                    .await?;
                println!(
                    "{} scenes, {} shots, {} characters",
                    result.scenes, result.shots, result.characters
                );
            }
        }
        Command::Key { provider } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            if std::io::stdin().is_terminal() {
                eprintln!("paste the {provider} key and press Enter:");
            }
            let mut key = String::new();
            std::io::stdin()
                .read_line(&mut key)
                .context("reading the key from standard input")?;
            let key = key.trim();
            if key.is_empty() {
                bail!("no key on standard input");
            }
            api.set_key(&project, &token, &provider, key).await?;
            println!("{provider} key stored for project {project}");
        }
        Command::Share {
            role,
            label,
            name,
            expires,
            review_version,
        } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let body = CreateToken {
                role,
                expires_in_secs: expires,
                label,
                name,
                review_version: review_version.map(VersionId::from),
            };
            let created = api.share(&project, &token, &body).await?;
            let person = created
                .person
                .as_ref()
                .map(|p| format!(" for {}", p.name))
                .unwrap_or_default();
            println!(
                "{} link {}{person}, expires {}",
                created.role.as_str(),
                created.link,
                utc(created.expires_at)
            );
            println!(
                "open {}/#/p/{project}/board?token={}",
                cli.server.trim_end_matches('/'),
                created.token
            );
            println!("token {}", created.token);
        }
        Command::Links => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let links = api.links(&project, &token).await?;
            println!(
                "{:<32}  {:<9}  {:<24}  {:<16}  {:<20}  {:<20}  revoked",
                "id", "role", "label", "person", "expires", "last used"
            );
            for link in &links {
                println!("{}", link_line(link));
            }
        }
        Command::Revoke { link } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            api.revoke(&project, &token, &link).await?;
            println!("link {link} revoked");
        }
        Command::Providers => {
            for p in api.providers().await? {
                println!("{}", provider_line(&p));
            }
        }
        Command::Generate {
            provider,
            kind,
            all,
            no_wait,
        } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let queued = api
                .generate(&project, &token, &provider, &kind, all)
                .await
                .map_err(key_hint)?;
            if queued.jobs.is_empty() {
                println!("every shot already has a take (use --all to regenerate)");
                return Ok(());
            }
            println!("{} jobs queued on {provider}", queued.jobs.len());
            if !no_wait {
                wait_for(&api, &project, &token, &queued.jobs).await?;
            }
        }
        Command::Versions => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let versions = api.versions(&project, &token).await?;
            if versions.is_empty() {
                println!("no versions yet (name one with `shotweave version NAME`)");
            }
            for v in &versions {
                println!("{}", diff::version_line(v));
            }
        }
        Command::Version { name, note } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let v = api
                .create_version(&project, &token, &api_types::CreateVersion { name, note })
                .await?;
            println!("{}", diff::version_line(&v));
        }
        Command::Diff { from, to } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let versions = api.versions(&project, &token).await?;
            let from = diff::resolve(&versions, &from)?;
            let to = match to {
                Some(to) => diff::resolve(&versions, &to)?,
                None => "now".to_owned(),
            };
            let diff = api.diff(&project, &token, &from, &to).await?;
            print!("{}", diff::render(&diff));
        }
        Command::Restore { version } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let versions = api.versions(&project, &token).await?;
            let id = diff::resolve(&versions, &version)?;
            let restored = api.restore(&project, &token, &id).await?;
            let name = versions
                .iter()
                .find(|v| v.id == restored.restored)
                .map_or(id.as_str(), |v| v.name.as_str());
            println!("restored \"{name}\"");
            println!(
                "the state before is kept as \"{}\" ({}); restore it to undo",
                restored.before.name, restored.before.id
            );
        }
        Command::VersionDelete { version } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let versions = api.versions(&project, &token).await?;
            let id = diff::resolve(&versions, &version)?;
            api.delete_version(&project, &token, &id).await?;
            println!("deleted version {id}");
        }
        Command::Export { out, format } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let wanted: Vec<(&str, &str)> = if format.iter().any(|f| f == "all") {
                FORMATS.to_vec()
            } else {
                let mut list = Vec::new();
                for f in &format {
                    match FORMATS.iter().find(|(name, _)| name == f) {
                        Some(entry) => list.push(*entry),
                        None => bail!(
                            "unknown format {f}; choose from otio, edl, fcp7, fcpxml, fountain, sheet, animatic, review-html, review-pdf, all"
                        ),
                    }
                }
                list
            };
            std::fs::create_dir_all(out.join("media"))
                .with_context(|| format!("creating {}", out.display()))?;
            let bar = ProgressBar::new(wanted.len() as u64).with_style(bar_style());
            for (name, ext) in &wanted {
                bar.set_message(name.to_string());
                match api.export(&project, &token, name).await {
                    Ok(bytes) => std::fs::write(out.join(format!("storyboard.{ext}")), bytes)?,
                    // An animatic needs ffmpeg on the server: report it and go on with the rest.
                    Err(e)
                        if *name == "animatic"
                            && ApiRefusal::code_of(&e) == Some(ErrorCode::Unavailable) =>
                    {
                        bar.println(format!("animatic skipped: {e:#}"))
                    }
                    Err(e) => return Err(e),
                }
                bar.inc(1);
            }
            bar.finish_and_clear();
            let media = api.media(&project, &token).await?;
            let bar = ProgressBar::new(media.len() as u64).with_style(bar_style());
            bar.set_message("media");
            for item in &media {
                let path = out.join(&item.path);
                if !path.exists() {
                    std::fs::write(&path, api.asset(&project, &token, &item.sha256).await?)?;
                }
                bar.inc(1);
            }
            bar.finish_and_clear();
            println!(
                "wrote {} formats and {} media files to {}",
                wanted.len(),
                media.len(),
                out.display()
            );
        }
        Command::ReviewExport { format, out } => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            let name = match format {
                ReportFormat::Pdf => "review-pdf",
                ReportFormat::Html => "review-html",
            };
            let bytes = api.export(&project, &token, name).await?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote the review report to {}", out.display());
        }
        Command::Review(cmd) => {
            let (project, token) = saved.pick(cli.project, cli.token)?;
            review::run(&api, &project, &token, cmd).await?;
        }
    }
    Ok(())
}

/// The review report's two renderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Pdf,
    Html,
}

/// How the project's script is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Offline,
    Llm,
}

/// A refusal for a missing provider key, with the command that sets one; anything else as is.
fn key_hint(e: anyhow::Error) -> anyhow::Error {
    let provider = e
        .downcast_ref::<ApiRefusal>()
        .filter(|r| r.body.code == ErrorCode::MissingCredential)
        .and_then(|r| r.body.provider.clone());
    match provider {
        Some(provider) => e.context(format!(
            "the project has no {provider} key; an owner can store one with `shotweave key {provider}`"
        )),
        None => e,
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
        .expect("valid template")
        .progress_chars("=> ")
}

fn spinner(message: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(message.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// Polls the project's jobs until the breakdown job has ended, showing its progress (the
/// share of the script's chunks the model has answered); fails with the job's reason.
async fn wait_for_breakdown(api: &Api, project: &str, token: &str, id: &JobId) -> Result<()> {
    let bar = ProgressBar::new(100).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}% {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("breakdown");
    loop {
        let jobs = api.jobs(project, token).await?;
        let job = jobs
            .iter()
            .find(|j| &j.id == id)
            .with_context(|| format!("job {id} is not in the project's job list"))?;
        if let Some(progress) = job.progress {
            bar.set_position((progress.clamp(0.0, 1.0) * 100.0).round() as u64);
        }
        match job.status {
            JobStatus::Succeeded => {
                bar.finish_and_clear();
                println!("breakdown done");
                return Ok(());
            }
            JobStatus::Failed | JobStatus::Cancelled => {
                bar.finish_and_clear();
                bail!(
                    "the breakdown {}: {}",
                    job.status,
                    job.error.as_deref().unwrap_or("no reason given")
                );
            }
            JobStatus::Queued | JobStatus::Running => {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
        }
    }
}

/// Polls the project's jobs until every one of `ids` has ended, with a progress bar; fails if
/// any job failed, naming the reasons.
async fn wait_for(api: &Api, project: &str, token: &str, ids: &[JobId]) -> Result<()> {
    let bar = ProgressBar::new(ids.len() as u64).with_style(bar_style());
    bar.set_message("generate");
    loop {
        let jobs = api.jobs(project, token).await?;
        let mine: Vec<_> = jobs.iter().filter(|j| ids.contains(&j.id)).collect();
        let ended = mine.iter().filter(|j| j.status.is_terminal()).count();
        bar.set_position(ended as u64);
        if ended == ids.len() {
            bar.finish_and_clear();
            let failed: Vec<_> = mine
                .iter()
                .filter(|j| j.status != JobStatus::Succeeded)
                .collect();
            println!(
                "{} succeeded, {} failed or cancelled",
                ids.len() - failed.len(),
                failed.len()
            );
            if let Some(first) = failed.first() {
                bail!(
                    "{} jobs did not succeed; first: {}",
                    failed.len(),
                    first.error.as_deref().unwrap_or(first.status.as_str())
                );
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One provider as `shotweave providers` prints it: name, what it makes, whether it needs a
/// key, how many reference images it takes, its models (the default first).
fn provider_line(p: &api_types::ProviderInfo) -> String {
    let kinds: Vec<&str> = p.kinds.iter().map(|k| k.as_str()).collect();
    let mut line = format!(
        "{:<14} {:<30} {}",
        p.name,
        kinds.join(", "),
        if p.needs_key { "needs a key" } else { "no key" }
    );
    if p.max_references > 0 {
        line.push_str(&format!(", up to {} references", p.max_references));
    }
    if p.first_last_frame {
        line.push_str(", first/last frame");
    }
    if !p.models.is_empty() {
        line.push_str(&format!(", models: {}", p.models.join(" ")));
    }
    line
}

/// A role as the API names it.
fn parse_role(text: &str) -> Result<Role, String> {
    text.parse::<Role>().map_err(|_| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("{text:?} is not a role; use one of {}", names.join(", "))
    })
}

/// A link's lifetime in seconds: `90s`, `30m`, `12h`, `7d`, `2w`, or a number of seconds.
/// The studio checks the bounds (it refuses 0 and more than ten years, saying so).
fn parse_lifetime(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a lifetime; write it like 7d, 12h, 30m, 90s or 2w");
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        "w" => 7 * 24 * 3600,
        _ => return Err(bad()),
    };
    number.checked_mul(unit).ok_or_else(bad)
}

/// Unix seconds as a UTC date and time, `2026-12-07 09:30 UTC`.
fn utc(secs: i64) -> String {
    utc_ms(secs.saturating_mul(1000))
}

/// Unix milliseconds as a UTC date and time, `2026-12-07 09:30 UTC`.
pub(crate) fn utc_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// One link as `shotweave links` prints it.
fn link_line(link: &LinkInfo) -> String {
    let time = |t: Option<i64>, none: &str| t.map_or_else(|| none.to_owned(), utc);
    format!(
        "{:<32}  {:<9}  {:<24}  {:<16}  {:<20}  {:<20}  {}",
        link.id,
        link.role.as_str(),
        link.label,
        link.person_name.as_deref().unwrap_or("-"),
        time(link.expires_at, "never"),
        time(link.last_used_at, "never"),
        time(link.revoked_at, "-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_like_the_flag_says() {
        assert_eq!(parse_lifetime("7d"), Ok(7 * 24 * 3600));
        assert_eq!(parse_lifetime("12h"), Ok(12 * 3600));
        assert_eq!(parse_lifetime("30m"), Ok(1800));
        assert_eq!(parse_lifetime("2w"), Ok(14 * 24 * 3600));
        assert_eq!(parse_lifetime("3600"), Ok(3600));
        for bad in ["", "d", "7x", "-1d", "1.5h", "99999999999999999999w"] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34:56 UTC, a leap day in a century leap year.
        assert_eq!(utc(951_827_696), "2000-02-29 12:34 UTC");
        assert_eq!(utc(1_796_000_000), "2026-11-30 00:53 UTC");
    }
}
