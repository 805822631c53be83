//! The durable job runner: generation jobs as database rows, driven by tokio tasks, with
//! their results written into the project document by the server acting as a document peer.
//!
//! - A generate request becomes one row per target (shot or character) in `jobs`, in one
//!   transaction that also checks the project's budget ([`JobRunner::generate`]).
//! - The dispatcher ([`run`]) claims due queued rows, up to `job_concurrency` at a time, and
//!   at start-up first resumes rows a previous process left `running`.
//! - A job builds its prompt from the provider's built-in [`recipe`], the shot and its
//!   characters; submits through `Retry(ConcurrencyLimit(adapter))`; stores the provider's task
//!   id before anything else (so a restart polls instead of paying again); polls; downloads
//!   the output at once; stores it content-addressed; and attaches it to the shot as a take,
//!   with provenance and a job summary, through the project's [`peer::DocPeer`].
//! - Progress goes out as the peer's awareness state; the document only gets terminal states.
//! - An LLM breakdown is a job too ([`JobRunner::breakdown`]): one row for the project, run
//!   chunk by chunk through the chat adapter, its progress reported like a generation's, and
//!   its scenes, shots and characters written in one update only once the whole plan is in.
//! - Provider keys come from [`crate::credentials`]; nothing here logs or returns them.

pub mod api;
pub mod peer;
pub mod providers;
pub mod recipe;
mod run;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_types::{CharacterId, JobId, JobKind, JobStatus, ShotId};
use provider_adapters::Secret;
use serde::{Deserialize, Serialize};
use shared_model::Project;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub(crate) use api::routes;

use crate::assets::AssetStore;
use crate::auth::ProjectId;
use crate::credentials::{Keyring, MAX_CREDENTIAL_LEN};
use crate::room::Rooms;
use crate::store::{JobRecord, Spending, Store};
use crate::{Error, Result};
use peer::Peers;
use providers::{AdapterCache, Prices, ProviderSettings, needs_key};

/// A job as the API shows it (`GET /api/projects/{id}/jobs`, a cancel's answer).
pub use api_types::JobView;

/// How the runner behaves, taken from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Jobs running at once across all projects.
    pub concurrency: usize,
    /// The first wait between polls of a submitted job; it grows to 10x while a job runs long.
    pub poll_interval: Duration,
    /// Attempts before a job that keeps being rate limited (or failing inside the server)
    /// fails for good.
    pub max_attempts: u32,
    pub providers: ProviderSettings,
}

pub use api_types::{GenerateRequest, Scope};

/// The job row's `recipe_id` for LLM breakdowns.
pub const BREAKDOWN_RECIPE: &str = "builtin/llm-breakdown";
/// Longest model name a breakdown request may give.
const MAX_MODEL_NAME: usize = 200;

/// What an LLM breakdown job keeps in its row's `submission` column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakdownSubmission {
    /// The model asked for; `None` takes the provider's default.
    pub model: Option<String>,
}

impl BreakdownSubmission {
    /// The model answers are priced as when the provider does not name one: the one asked
    /// for, else the chat adapter's default.
    pub fn priced_model(&self) -> &str {
        self.model
            .as_deref()
            .unwrap_or(provider_adapters::openai_chat::DEFAULT_MODELS[0])
    }
}

/// The message for a board that already has shots, shared by both breakdown modes.
pub fn board_not_empty(shots: usize) -> String {
    format!(
        "the board already has {shots} shots; delete them before breaking the script down again"
    )
}

/// What a running job shares with the API and with cancel requests.
#[derive(Debug)]
struct Live {
    cancel: CancellationToken,
    progress: Option<f32>,
}

/// The job runner; cheap to clone.
#[derive(Debug, Clone)]
pub struct JobRunner {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: RunnerConfig,
    store: Store,
    assets: AssetStore,
    rooms: Rooms,
    keyring: Keyring,
    adapters: AdapterCache,
    prices: Prices,
    peers: Peers,
    /// One permit per job that may run at once.
    slots: Arc<Semaphore>,
    /// Wakes the dispatcher when jobs were queued.
    wake: Notify,
    /// Running jobs by id. Guards inserts, removals and progress updates; never held across
    /// an await.
    live: Mutex<HashMap<JobId, Live>>,
    /// Serialises generate requests within this process, so that a double click's two
    /// requests cannot both pass the "missing" and idempotency checks before either inserts.
    enqueue: tokio::sync::Mutex<()>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is a single map operation, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long a document peer used by a request outlives it (see [`JobRunner::peer`]).
pub const PEER_KEEP: Duration = Duration::from_secs(30);

/// Longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 200;
/// Most targets one generate request may queue.
const MAX_JOBS_PER_REQUEST: usize = 20_000;

impl JobRunner {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: RunnerConfig,
        store: Store,
        assets: AssetStore,
        rooms: Rooms,
        keyring: Keyring,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let adapters = AdapterCache::new(config.providers.clone());
        JobRunner {
            inner: Arc::new(Inner {
                config,
                store,
                assets,
                rooms,
                keyring,
                adapters,
                prices: Prices::builtin(),
                peers: Peers::default(),
                slots,
                wake: Notify::new(),
                live: Mutex::default(),
                enqueue: tokio::sync::Mutex::new(()),
                shutdown,
                tracker,
            }),
        }
    }

    /// Starts the dispatcher; it resumes interrupted jobs first and stops with the shutdown
    /// token.
    pub fn start(&self) {
        let inner = self.inner.clone();
        self.inner.tracker.spawn(run::dispatch(inner));
    }

    /// Queues jobs for the request's targets and returns their ids (the same ids again for a
    /// repeated idempotency key).
    pub async fn generate(
        &self,
        project: &ProjectId,
        request: &GenerateRequest,
    ) -> Result<Vec<String>> {
        let inner = &self.inner;
        let provider = request.provider.trim();
        if providers::CHAT_PROVIDERS.contains(&provider) {
            return Err(Error::Invalid(format!(
                "{provider} makes no frames or clips: it breaks a script down, with \
                 POST /api/projects/{project}/breakdown {{\"mode\": \"llm\"}}"
            )));
        }
        if !providers::PROVIDERS.contains(&provider) {
            return Err(Error::Invalid(format!(
                "unknown provider {provider:?} (known: {})",
                providers::PROVIDERS.join(", ")
            )));
        }
        let kind: JobKind = request.kind.trim().parse().map_err(|_| {
            Error::Invalid(format!(
                "unknown kind {:?} (frame, clip or {})",
                request.kind,
                JobKind::CharacterSheet.as_str()
            ))
        })?;
        if kind == JobKind::Breakdown {
            return Err(Error::Invalid(
                "breakdown runs through POST /api/projects/{id}/breakdown, not as a generation job"
                    .into(),
            ));
        }
        let able = provider_adapters::registry::spec(provider).is_some_and(|s| s.can_make(kind));
        if !able {
            return Err(Error::Invalid(format!(
                "{provider} cannot make a {}",
                kind.as_str()
            )));
        }
        if needs_key(provider) {
            self.require_key(project, provider).await?;
        }
        let key = match &request.idempotency_key {
            Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY => {
                return Err(Error::Invalid(format!(
                    "idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} bytes"
                )));
            }
            other => other.clone(),
        };

        let _enqueue = inner.enqueue.lock().await;
        if let Some(key) = &key {
            let earlier = inner
                .store
                .jobs_by_key_prefix(project, &key_prefix(key))
                .await?;
            if !earlier.is_empty() {
                return Ok(earlier.into_iter().map(|j| j.id.to_string()).collect());
            }
        }
        // Shot and character ids of the jobs of this kind under way ("missing" skips them).
        let active: HashSet<String> = inner
            .store
            .project_jobs(project)
            .await?
            .into_iter()
            .filter(|j| !j.is_terminal() && j.kind == kind)
            .filter_map(|j| {
                j.shot_id
                    .map(|s| s.to_string())
                    .or(j.character_id.map(|c| c.to_string()))
            })
            .collect();
        let peer = inner.peers.get(&inner.rooms, project).await?;
        let targets = peer.read(|p| select_targets(p, kind, &request.scope, &active))?;
        if targets.len() > MAX_JOBS_PER_REQUEST {
            return Err(Error::Invalid(format!(
                "at most {MAX_JOBS_PER_REQUEST} jobs per request"
            )));
        }
        let recipe = recipe::builtin(provider, kind);
        let estimate = inner.prices.price(provider, None, kind);
        let now = now_ms();
        let rows: Vec<JobRecord> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| JobRecord {
                id: JobId::new(),
                project_id: project.clone(),
                kind,
                provider: provider.to_owned(),
                shot_id: t.shot_id.clone(),
                character_id: t.character_id.clone(),
                shot_number: t.number,
                recipe_id: recipe.id.clone(),
                recipe_version: recipe.version.clone(),
                state: JobStatus::Queued,
                attempts: 0,
                provider_task_id: None,
                submission: None,
                asset_sha256: None,
                error_class: None,
                error_message: None,
                next_attempt_at_ms: now,
                cost_estimate: estimate,
                cost: None,
                idempotency_key: key.as_ref().map(|k| {
                    format!(
                        "{}{}",
                        key_prefix(k),
                        t.shot_id
                            .as_ref()
                            .map(|s| s.as_str())
                            .or(t.character_id.as_ref().map(|c| c.as_str()))
                            .unwrap_or("")
                    )
                }),
                cancel_requested: false,
                created_at_ms: now,
                batch_index: i as i64,
                updated_at_ms: now,
            })
            .collect();
        if let Err(spending) = inner.store.insert_jobs(project, &rows).await? {
            return Err(Error::BudgetExceeded(over_budget_message(
                &spending,
                &format!("{} {provider} jobs (${estimate:.3} each)", rows.len()),
                estimate * rows.len() as f64,
            )));
        }
        drop(_enqueue);
        tracing::info!(project = %project, provider, kind = kind.as_str(), jobs = rows.len(), "jobs queued");
        inner.wake.notify_one();
        Ok(rows.into_iter().map(|j| j.id.to_string()).collect())
    }

    /// Refuses work for `provider` while the project has no key for it
    /// ([`Error::MissingCredential`], which names the provider so that a client can point
    /// owners to where keys are set).
    async fn require_key(&self, project: &ProjectId, provider: &str) -> Result<()> {
        if self
            .inner
            .store
            .credential(project, provider)
            .await?
            .is_none()
        {
            return Err(Error::MissingCredential {
                provider: provider.to_owned(),
            });
        }
        Ok(())
    }

    /// Queues an LLM breakdown of the project's current script with a chat provider and
    /// returns the job id. Refused (with a message naming what is missing) without a key for
    /// the provider, while the board has shots, with an empty script, or while another
    /// breakdown of the project is queued or running.
    pub async fn breakdown(
        &self,
        project: &ProjectId,
        provider: &str,
        model: Option<String>,
    ) -> Result<String> {
        let inner = &self.inner;
        let provider = provider.trim();
        if !providers::CHAT_PROVIDERS.contains(&provider) {
            return Err(Error::Invalid(format!(
                "unknown breakdown provider {provider:?} (known: {})",
                providers::CHAT_PROVIDERS.join(", ")
            )));
        }
        let model = model.map(|m| m.trim().to_owned());
        if let Some(m) = &model
            && (m.is_empty() || m.len() > MAX_MODEL_NAME)
        {
            return Err(Error::Invalid(format!(
                "model must be 1 to {MAX_MODEL_NAME} bytes"
            )));
        }
        // A server that needs no key (a local Ollama) still gets one: any placeholder does.
        self.require_key(project, provider).await?;
        let _enqueue = inner.enqueue.lock().await;
        self.refuse_during_breakdown(project).await?;
        let peer = inner.peers.get(&inner.rooms, project).await?;
        let (shots, chars, empty) = peer.read(|p| {
            let script = p.script_text();
            (
                p.shots().len(),
                script.chars().count(),
                script.trim().is_empty(),
            )
        });
        if shots > 0 {
            return Err(Error::Conflict(board_not_empty(shots)));
        }
        if empty {
            return Err(Error::Invalid("the script is empty".into()));
        }
        let submission = BreakdownSubmission { model };
        let estimate =
            breakdown_estimate(&inner.prices, provider, submission.priced_model(), chars);
        let now = now_ms();
        let row = JobRecord {
            id: JobId::new(),
            project_id: project.clone(),
            kind: JobKind::Breakdown,
            provider: provider.to_owned(),
            shot_id: None,
            character_id: None,
            shot_number: None,
            recipe_id: BREAKDOWN_RECIPE.to_owned(),
            recipe_version: breakdown::llm::PROMPT_VERSION.to_owned(),
            state: JobStatus::Queued,
            attempts: 0,
            provider_task_id: None,
            submission: Some(serde_json::to_string(&submission).map_err(|e| {
                Error::Config(format!("breakdown submission does not serialize: {e}"))
            })?),
            asset_sha256: None,
            error_class: None,
            error_message: None,
            next_attempt_at_ms: now,
            // Reserved until the job ends; then the tokens the provider reported are charged.
            cost_estimate: estimate,
            cost: None,
            idempotency_key: None,
            cancel_requested: false,
            created_at_ms: now,
            batch_index: 0,
            updated_at_ms: now,
        };
        let id = row.id.to_string();
        if let Err(spending) = inner
            .store
            .insert_jobs(project, std::slice::from_ref(&row))
            .await?
        {
            return Err(Error::BudgetExceeded(over_budget_message(
                &spending,
                &format!(
                    "an LLM breakdown of this script with {}",
                    submission.priced_model()
                ),
                estimate,
            )));
        }
        drop(_enqueue);
        tracing::info!(project = %project, provider, job = %id, "llm breakdown queued");
        inner.wake.notify_one();
        Ok(id)
    }

    /// The server's document peer of `project` (shared with the project's jobs), for other
    /// parts of the server that read or write the live document: versions, restores, review
    /// anchors and exports.
    ///
    /// The registry holds peers weakly, so a peer used by a request alone would be dropped
    /// with it and the next request would join the room again, syncing the whole document
    /// (tens of milliseconds for a large project). It is kept for [`PEER_KEEP`] after its last
    /// use instead (and keeps its room loaded that long), or until shutdown.
    pub async fn peer(&self, project: &ProjectId) -> Result<Arc<peer::DocPeer>> {
        let peer = self.inner.peers.get(&self.inner.rooms, project).await?;
        let kept = peer.clone();
        let shutdown = self.inner.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(PEER_KEEP) => {}
                () = shutdown.cancelled() => {}
            }
            drop(kept);
        });
        Ok(peer)
    }

    /// Refuses (409) while an LLM breakdown of the project is queued or running: whatever
    /// writes a board meanwhile would make it fail at the end.
    pub async fn refuse_during_breakdown(&self, project: &ProjectId) -> Result<()> {
        match self
            .inner
            .store
            .project_jobs(project)
            .await?
            .into_iter()
            .find(|j| !j.is_terminal() && j.kind == JobKind::Breakdown)
        {
            Some(running) => Err(Error::Conflict(format!(
                "a breakdown of this project is already {} (job {})",
                running.state, running.id
            ))),
            None => Ok(()),
        }
    }

    /// The project's jobs, oldest first, with live progress for running ones.
    pub async fn list(&self, project: &ProjectId) -> Result<Vec<JobView>> {
        let rows = self.inner.store.project_jobs(project).await?;
        let live = lock(&self.inner.live);
        Ok(rows
            .into_iter()
            .map(|j| {
                let progress = live.get(&j.id).and_then(|l| l.progress);
                view(j, progress)
            })
            .collect())
    }

    /// Cancels a job: a queued one at once, a running one by telling its task (which also
    /// asks the provider to stop). Returns the job as it is after the request.
    pub async fn cancel(&self, project: &ProjectId, job: &str) -> Result<JobView> {
        let job = JobId::from(job);
        let store = &self.inner.store;
        let now = now_ms();
        if !store.cancel_queued_job(project, &job, now).await?
            && store.request_cancel(project, &job, now).await?
            && let Some(live) = lock(&self.inner.live).get(&job)
        {
            live.cancel.cancel();
        }
        let row = store
            .job(project, &job)
            .await?
            .ok_or(Error::NotFound("no such job"))?;
        if row.state == JobStatus::Cancelled
            && row.provider_task_id.is_none()
            && row.kind != JobKind::Breakdown
        {
            // Cancelled before it ever ran: the document learns of it here, since no task will.
            // (A breakdown that did not finish leaves the document exactly as it was.)
            run::write_summary(&self.inner, &row).await;
        } else if row.is_terminal() && row.state != JobStatus::Cancelled {
            return Err(Error::Conflict(format!("the job already {}", row.state)));
        }
        let progress = lock(&self.inner.live).get(&job).and_then(|l| l.progress);
        Ok(view(row, progress))
    }

    /// Stores a provider key for a project, encrypted. Write-only: nothing reads it back out.
    pub async fn put_credential(
        &self,
        project: &ProjectId,
        provider: &str,
        key: Secret,
    ) -> Result<()> {
        if !providers::is_known(provider) {
            return Err(Error::Invalid(format!(
                "unknown provider {provider:?} (known: {})",
                providers::known_names()
            )));
        }
        if key.is_empty() || key.expose().len() > MAX_CREDENTIAL_LEN {
            return Err(Error::Invalid(format!(
                "a key must be 1 to {MAX_CREDENTIAL_LEN} bytes"
            )));
        }
        let sealed = self.inner.keyring.seal(project, provider, &key)?;
        self.inner
            .store
            .put_credential(project, provider, &sealed)
            .await?;
        self.inner.adapters.forget(project.as_str(), provider);
        tracing::info!(project = %project, provider, "provider key set");
        Ok(())
    }

    pub async fn delete_credential(&self, project: &ProjectId, provider: &str) -> Result<bool> {
        self.inner.adapters.forget(project.as_str(), provider);
        self.inner.store.delete_credential(project, provider).await
    }

    /// Which providers have a key, and when it was set (Unix s). Never the keys.
    pub async fn credential_providers(&self, project: &ProjectId) -> Result<Vec<(String, i64)>> {
        self.inner.store.credential_providers(project).await
    }

    pub async fn set_budget(
        &self,
        project: &ProjectId,
        limit_usd: Option<f64>,
    ) -> Result<Spending> {
        if let Some(l) = limit_usd
            && !(l.is_finite() && l >= 0.0)
        {
            return Err(Error::Invalid(
                "limit_usd must be a non-negative number".into(),
            ));
        }
        self.inner.store.set_budget(project, limit_usd).await?;
        self.inner.store.spending(project).await
    }

    pub async fn spending(&self, project: &ProjectId) -> Result<Spending> {
        self.inner.store.spending(project).await
    }

    /// The version of the price table budgets are reserved from.
    pub fn price_table_version(&self) -> &str {
        self.inner.prices.version()
    }
}

/// What an LLM breakdown of a script of `chars` characters is likely to cost, reserved against
/// the budget until the job ends: a token in per character of script and of each chunk's
/// instructions (about right for Chinese, generous for English), and half as many out.
fn breakdown_estimate(prices: &Prices, provider: &str, model: &str, chars: usize) -> f64 {
    let chunks = chars.div_ceil(breakdown::llm::DEFAULT_CHUNK_CHARS).max(1);
    let input = (chars + chunks * breakdown::llm::SYSTEM_PROMPT.chars().count()) as u64;
    prices.tokens(provider, model, input, input / 2)
}

fn key_prefix(key: &str) -> String {
    // The separator cannot occur in a shot or character id, so prefixes of different keys
    // never overlap ("a" vs "a#b").
    format!("{key}\u{1f}")
}

/// `what` would cost about `total` (the caller says it, with any detail), more than is left.
fn over_budget_message(s: &Spending, what: &str, total: f64) -> String {
    format!(
        "budget exceeded: {what} would cost about ${total:.2}, but the project has ${:.2} left \
         of its ${:.2} budget (${:.2} spent, ${:.2} reserved by queued and running jobs)",
        (s.limit_usd.unwrap_or(0.0) - s.spent_usd - s.reserved_usd).max(0.0),
        s.limit_usd.unwrap_or(0.0),
        s.spent_usd,
        s.reserved_usd
    )
}

fn view(j: JobRecord, progress: Option<f32>) -> JobView {
    let running = j.state == JobStatus::Running;
    let failed = j.state == JobStatus::Failed;
    JobView {
        error: failed.then(|| run::user_error(&j)).flatten(),
        error_class: j.error_class.filter(|_| failed),
        id: j.id,
        status: j.state,
        kind: j.kind,
        provider: j.provider,
        shot_id: j.shot_id,
        character_id: j.character_id,
        attempts: j.attempts,
        cost: j.cost,
        progress: if running { progress } else { None },
        created_at_ms: j.created_at_ms,
        updated_at_ms: j.updated_at_ms,
    }
}

/// One thing a job makes something for.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    shot_id: Option<ShotId>,
    character_id: Option<CharacterId>,
    number: Option<i64>,
}

/// The targets of a request, in storyboard order. `missing` skips targets that already have
/// a result of this kind (a video take for clips, any image take for frames, a reference
/// image for character sheets) or a job of this kind under way.
fn select_targets(
    p: &Project,
    kind: JobKind,
    scope: &Scope,
    active: &HashSet<String>,
) -> Result<Vec<Target>> {
    if kind == JobKind::CharacterSheet {
        let all = p.characters();
        return match scope {
            Scope::Named(s) if s == "all" => Ok(all.into_iter().map(character_target).collect()),
            Scope::Named(s) if s == "missing" => Ok(all
                .into_iter()
                .filter(|c| c.reference_asset_ids.is_empty() && !active.contains(c.id.as_str()))
                .map(character_target)
                .collect()),
            _ => Err(Error::Invalid(
                "character sheets take the scope \"missing\" or \"all\"".into(),
            )),
        };
    }
    let shots = p.shots();
    let numbered = shots
        .into_iter()
        .enumerate()
        .map(|(i, s)| (i as i64 + 1, s));
    let has_result = |s: &shared_model::Shot| {
        s.takes.iter().any(|t| {
            let video = p.asset(t).is_some_and(|a| a.mime.starts_with("video/"));
            video == (kind == JobKind::Clip)
        })
    };
    let chosen: Vec<(i64, shared_model::Shot)> = match scope {
        Scope::Named(s) if s == "all" => numbered.collect(),
        Scope::Named(s) if s == "missing" => numbered
            .filter(|(_, s)| !has_result(s) && !active.contains(s.id.as_str()))
            .collect(),
        Scope::Named(other) => {
            return Err(Error::Invalid(format!(
                "unknown scope {other:?}: \"missing\", \"all\", {{\"scene\": id}} or {{\"shots\": [ids]}}"
            )));
        }
        Scope::Scene { scene } => {
            if p.scene(&scene.as_str().into()).is_none() {
                return Err(Error::Invalid(format!(
                    "no scene {scene:?} in this project"
                )));
            }
            numbered
                .filter(|(_, s)| s.scene_id.as_ref().is_some_and(|id| id.as_str() == scene))
                .collect()
        }
        Scope::Shots { shots: wanted } => {
            let by_id: HashMap<String, (i64, shared_model::Shot)> =
                numbered.map(|(n, s)| (s.id.to_string(), (n, s))).collect();
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for id in wanted {
                let found = by_id
                    .get(id)
                    .ok_or_else(|| Error::Invalid(format!("no shot {id:?} in this project")))?;
                if seen.insert(id.clone()) {
                    out.push(found.clone());
                }
            }
            out.sort_by_key(|(n, _)| *n);
            out
        }
    };
    Ok(chosen
        .into_iter()
        .map(|(n, s)| Target {
            shot_id: Some(s.id),
            character_id: None,
            number: Some(n),
        })
        .collect())
}

fn character_target(c: shared_model::Character) -> Target {
    Target {
        shot_id: None,
        character_id: Some(c.id),
        number: None,
    }
}
