//! The dispatcher and the life of one job.

mod breakdown;

use std::sync::Arc;
use std::time::Duration;

use provider_adapters::{
    Error as ProviderError, ErrorClass, GenerationProvider, GenerationRequest, Operation,
    OutputKind, ReferenceImage, ShotSketch, SketchCharacter, TaskId, TaskStatus, Usage,
};
use serde::{Deserialize, Serialize};
use shared_model::{
    Asset, AssetId, CharacterId, CharacterPatch, Cost, JobId, JobKind, JobStatus, JobSummary,
    Project, Provenance, ShotId,
};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::peer::{DocPeer, LiveJob};
use super::providers::{kind_name, needs_key, parse_kind};
use super::recipe::{self, PromptInputs};
use super::{Inner, Live, lock, now_ms};
use crate::assets::{sha256_hex, sniff_content_type};
use crate::auth::ProjectId;
use crate::store::{AssetRow, JobEnd, JobRecord, job_state};
use crate::{Error, Result};

/// The longest a dispatcher sleeps without looking at the queue (parked jobs come due).
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// A job still not finished at the provider after this long fails as timed out.
const MAX_JOB_TIME: Duration = Duration::from_secs(2 * 3600);
/// Reference images sent along with one request, at most.
const MAX_REFERENCES: usize = 4;
/// How long a job waits before its next attempt after a failure inside the server.
const INTERNAL_RETRY: Duration = Duration::from_secs(5);

/// Claims due jobs while slots are free; resumes the previous process's running jobs first.
pub(super) async fn dispatch(inner: Arc<Inner>) {
    match inner.store.running_jobs().await {
        Ok(orphans) => {
            if !orphans.is_empty() {
                tracing::info!(
                    jobs = orphans.len(),
                    "resuming jobs interrupted by a restart"
                );
            }
            for job in orphans {
                let Some(permit) = slot(&inner).await else {
                    return;
                };
                spawn_job(&inner, job, permit);
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read interrupted jobs"),
    }
    loop {
        let Some(permit) = slot(&inner).await else {
            return;
        };
        match inner.store.claim_next_job(now_ms()).await {
            Ok(Some(job)) => spawn_job(&inner, job, permit),
            Ok(None) => {
                drop(permit);
                let wait = match inner.store.next_due_ms().await {
                    Ok(Some(due)) => {
                        Duration::from_millis(due.saturating_sub(now_ms()).max(1) as u64)
                            .min(IDLE_RECHECK)
                    }
                    _ => IDLE_RECHECK,
                };
                tokio::select! {
                    () = inner.wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                    () = inner.shutdown.cancelled() => return,
                }
            }
            Err(e) => {
                drop(permit);
                tracing::error!(error = %e, "claiming a job failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = inner.shutdown.cancelled() => return,
                }
            }
        }
    }
}

async fn slot(inner: &Arc<Inner>) -> Option<OwnedSemaphorePermit> {
    tokio::select! {
        permit = inner.slots.clone().acquire_owned() => permit.ok(),
        () = inner.shutdown.cancelled() => None,
    }
}

fn spawn_job(inner: &Arc<Inner>, job: JobRecord, permit: OwnedSemaphorePermit) {
    let span = tracing::info_span!(
        "job",
        job = %job.id,
        provider = %job.provider,
        project = %job.project_id,
        attempt = job.attempts
    );
    let inner2 = inner.clone();
    inner.tracker.spawn(
        async move {
            let started = std::time::Instant::now();
            let id = job.id.clone();
            let cancel = tokio_util::sync::CancellationToken::new();
            lock(&inner2.live).insert(
                id.clone(),
                Live {
                    cancel: cancel.clone(),
                    progress: None,
                },
            );
            let outcome = Job::new(&inner2, job, cancel).run().await;
            lock(&inner2.live).remove(&id);
            drop(permit);
            tracing::info!(
                outcome = outcome,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "job done"
            );
        }
        .instrument(span),
    );
}

/// What was sent, stored with the job right after the provider accepted it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Submission {
    prompt: String,
    reference_asset_ids: Vec<String>,
    provenance: provider_adapters::Provenance,
}

/// An output's width, height, duration (ms) and seed, as far as the provider said.
type Dims = (Option<u32>, Option<u32>, Option<u32>, Option<i64>);

/// Why a job stopped before succeeding.
#[derive(Debug)]
enum Stop {
    /// The provider (or our checks) said no: the job fails with this class and message.
    Failed {
        class: String,
        message: String,
    },
    /// Try again later (rate limited before any work was accepted, or a failure in here).
    Retry {
        after: Duration,
        class: String,
        message: String,
    },
    Cancelled,
    /// The server is stopping: leave the row as it is; the next start resumes it.
    Shutdown,
}

impl Stop {
    fn provider(e: &ProviderError) -> Stop {
        Stop::Failed {
            class: class_name(e.class()).to_owned(),
            message: e.to_string(),
        }
    }
}

fn class_name(c: ErrorClass) -> &'static str {
    c.as_str()
}

/// One job being worked on.
struct Job<'a> {
    inner: &'a Arc<Inner>,
    row: JobRecord,
    kind: JobKind,
    project: ProjectId,
    cancel: tokio_util::sync::CancellationToken,
    /// USD this attempt has been billed as it went (a chat model's tokens, answers that
    /// failed the check included): charged however the job ends, or kept in the row when it
    /// is parked. Generation is priced once, at the end, and leaves this at zero.
    spent: std::sync::Mutex<f64>,
}

impl<'a> Job<'a> {
    fn new(
        inner: &'a Arc<Inner>,
        row: JobRecord,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Self {
        Job {
            kind: parse_kind(&row.kind).unwrap_or(JobKind::Frame),
            project: ProjectId::parse(&row.project_id).unwrap_or_else(ProjectId::new_random),
            inner,
            row,
            cancel,
            spent: std::sync::Mutex::new(0.0),
        }
    }

    /// What the job has cost so far: earlier attempts' (kept in the row) and this one's.
    fn spent(&self) -> f64 {
        self.row.cost.unwrap_or(0.0) + *lock(&self.spent)
    }

    /// Runs the job to a durable end (or leaves it for the next start on shutdown); returns
    /// a word for the log.
    async fn run(mut self) -> &'static str {
        let peer = match self.inner.peers.get(&self.inner.rooms, &self.project).await {
            Ok(peer) => Some(peer),
            Err(e) if self.inner.shutdown.is_cancelled() => {
                tracing::debug!(error = %e, "not starting: shutting down");
                return "shutdown";
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot join the project's document");
                None
            }
        };
        let result = match &peer {
            Some(peer) => {
                self.announce(peer, Some((job_state::RUNNING, None))).await;
                let r = if self.kind == JobKind::Breakdown {
                    self.breakdown(peer).await
                } else {
                    self.work(peer).await
                };
                self.announce(peer, None).await;
                r
            }
            None => Err(Stop::Retry {
                after: INTERNAL_RETRY,
                class: "internal".into(),
                message: "the project document could not be opened".into(),
            }),
        };
        let (outcome, result) = match result {
            Ok(()) => ("succeeded", Ok(())),
            Err(Stop::Shutdown) => return "shutdown",
            Err(Stop::Cancelled) => (
                "cancelled",
                self.end(job_state::CANCELLED, None, None, peer.as_deref())
                    .await,
            ),
            Err(Stop::Failed { class, message }) => {
                tracing::info!(class, %message, "job failed");
                (
                    "failed",
                    self.end(
                        job_state::FAILED,
                        Some(&class),
                        Some(&message),
                        peer.as_deref(),
                    )
                    .await,
                )
            }
            Err(Stop::Retry {
                after,
                class,
                message,
            }) => {
                if self.row.attempts >= i64::from(self.inner.config.max_attempts) {
                    let message =
                        format!("gave up after {} attempts: {message}", self.row.attempts);
                    (
                        "failed",
                        self.end(
                            job_state::FAILED,
                            Some(&class),
                            Some(&message),
                            peer.as_deref(),
                        )
                        .await,
                    )
                } else {
                    tracing::info!(class, %message, retry_in_ms = after.as_millis() as u64, "job parked");
                    let at = now_ms() + after.as_millis() as i64;
                    let spent = *lock(&self.spent);
                    let r = self
                        .inner
                        .store
                        .requeue_job(&self.row.id, at, &class, &message, spent, now_ms())
                        .await;
                    self.inner.wake.notify_one();
                    ("parked", r)
                }
            }
        };
        if let Err(e) = result {
            // The row stays `running`; the next start resumes it from what was recorded.
            tracing::error!(error = %e, "recording the job's end failed");
            return "unrecorded";
        }
        outcome
    }

    async fn end(
        &self,
        state: &'static str,
        class: Option<&str>,
        message: Option<&str>,
        peer: Option<&DocPeer>,
    ) -> Result<()> {
        self.inner
            .store
            .finish_job(
                &self.row.project_id,
                &self.row.id,
                &JobEnd {
                    state,
                    error_class: class,
                    error_message: message,
                    // A job that never got as far as being billed costs nothing.
                    cost: Some(self.spent()).filter(|c| *c > 0.0),
                },
                &self.billed_source(),
                now_ms(),
            )
            .await?;
        let mut row = self.row.clone();
        row.state = state.to_owned();
        row.error_message = message.map(str::to_owned);
        // A breakdown that did not finish leaves the document exactly as it was: its row and
        // the jobs API carry the reason.
        if let Some(peer) = peer
            && self.kind != JobKind::Breakdown
        {
            summary_into(peer, &row).await;
        }
        Ok(())
    }

    async fn announce(&self, peer: &DocPeer, state: Option<(&'static str, Option<f32>)>) {
        if let Some((_, progress)) = state
            && let Some(live) = lock(&self.inner.live).get_mut(&self.row.id)
        {
            live.progress = progress;
        }
        let queued = self
            .inner
            .store
            .queued_jobs(&self.row.project_id)
            .await
            .map_or(0, |n| n as usize);
        let live = state.map(|(status, progress)| LiveJob {
            shot_id: self.row.shot_id.clone(),
            kind: kind_name(self.kind),
            provider: self.row.provider.clone(),
            status,
            progress,
        });
        peer.announce(&self.row.id, live, queued).await;
    }

    fn internal(e: Error) -> Stop {
        Stop::Retry {
            after: INTERNAL_RETRY,
            class: "internal".into(),
            message: format!("server error: {e}"),
        }
    }

    /// Submit (unless a restart found a task id), poll, download, store, attach.
    async fn work(&mut self, peer: &DocPeer) -> Result<(), Stop> {
        if self.row.cancel_requested != 0 {
            if let Some(task) = &self.row.provider_task_id
                && let Ok(adapter) = self.adapter().await
            {
                let _ = adapter.cancel(&TaskId(task.clone())).await;
            }
            return Err(Stop::Cancelled);
        }
        // The output is already stored: only attaching it to the document is left.
        if let (Some(sha), Some(submission)) = (&self.row.asset_sha256, &self.row.submission) {
            let submission: Submission = serde_json::from_str(submission)
                .map_err(|e| Self::internal(Error::Config(format!("stored submission: {e}"))))?;
            let (cost, source) = self.cost(None, &submission);
            let asset = self
                .inner
                .store
                .asset(&self.row.project_id, sha)
                .await
                .map_err(Self::internal)?;
            if let Some(asset) = asset {
                return self
                    .attach(peer, &submission, &asset, None, cost, Some(source))
                    .await;
            }
        }
        let adapter = self.adapter().await?;
        let (task, mut status, submission) = match (
            &self.row.provider_task_id,
            &self.row.submission,
        ) {
            (Some(task), Some(submission)) => {
                tracing::info!(task = %task, "resuming: polling the provider instead of submitting again");
                let submission: Submission = serde_json::from_str(submission).map_err(|e| {
                    Self::internal(Error::Config(format!("stored submission: {e}")))
                })?;
                (TaskId(task.clone()), TaskStatus::Queued, submission)
            }
            _ => self.submit(peer, adapter.as_ref()).await?,
        };
        let started = std::time::Instant::now();
        let mut interval = self.inner.config.poll_interval;
        let mut last_progress = None;
        while !status.is_terminal() {
            if let TaskStatus::Running { progress } = &status
                && *progress != last_progress
            {
                last_progress = *progress;
                self.announce(peer, Some((job_state::RUNNING, *progress)))
                    .await;
            }
            if started.elapsed() > MAX_JOB_TIME {
                return Err(Stop::Failed {
                    class: "timeout".into(),
                    message: format!(
                        "{} did not finish within {} minutes",
                        self.row.provider,
                        MAX_JOB_TIME.as_secs() / 60
                    ),
                });
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = self.cancel.cancelled() => {
                    if let Err(e) = adapter.cancel(&task).await {
                        tracing::warn!(error = %e, "the provider did not confirm the cancel");
                    }
                    return Err(Stop::Cancelled);
                }
                () = self.inner.shutdown.cancelled() => return Err(Stop::Shutdown),
            }
            // Long jobs (video) are polled less often the longer they run.
            interval = (interval + interval / 4).min(self.inner.config.poll_interval * 10);
            status = match adapter.poll(&task).await {
                Ok(s) => s,
                // Retry has already retried transient errors; the job is paid for, so keep
                // polling rather than give it up.
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "polling failed; will poll again");
                    continue;
                }
                Err(e) => return Err(Stop::provider(&e)),
            };
        }
        match status {
            TaskStatus::Succeeded { outputs, usage } => {
                let wanted = if self.kind == JobKind::Clip {
                    OutputKind::Video
                } else {
                    OutputKind::Image
                };
                let output = outputs
                    .iter()
                    .find(|o| o.kind == wanted)
                    .or(outputs.first())
                    .ok_or_else(|| Stop::Failed {
                        class: "provider".into(),
                        message: format!("{} finished without an output", self.row.provider),
                    })?;
                // Provider URLs expire: download now, before anything else can delay it.
                let output = adapter
                    .fetch(output)
                    .await
                    .map_err(|e| Stop::provider(&e))?;
                let sha = sha256_hex(&output.bytes);
                let row = AssetRow {
                    sha256: sha.clone(),
                    size: output.bytes.len() as i64,
                    content_type: match sniff_content_type(&output.bytes) {
                        "application/octet-stream" => output.mime.clone(),
                        sniffed => sniffed.to_owned(),
                    },
                };
                self.inner
                    .assets
                    .put(&self.project, &sha, output.bytes.clone())
                    .await
                    .map_err(Self::internal)?;
                self.inner
                    .store
                    .insert_asset(&self.row.project_id, &row)
                    .await
                    .map_err(Self::internal)?;
                self.inner
                    .store
                    .record_output(&self.row.id, &sha, now_ms())
                    .await
                    .map_err(Self::internal)?;
                let (cost, source) = self.cost(usage.as_ref(), &submission);
                let dims = (output.width, output.height, output.duration_ms, output.seed);
                self.attach(peer, &submission, &row, Some(dims), cost, Some(source))
                    .await
            }
            TaskStatus::Failed { error } => Err(Stop::provider(&error)),
            TaskStatus::Cancelled => Err(Stop::Cancelled),
            TaskStatus::Queued | TaskStatus::Running { .. } => Err(Stop::Shutdown),
        }
    }

    /// The project's adapter for this job's provider (with its decrypted key).
    async fn adapter(&self) -> Result<Arc<dyn GenerationProvider>, Stop> {
        let provider = &self.row.provider;
        if let Some(a) = self.inner.adapters.cached(&self.row.project_id, provider) {
            return Ok(a);
        }
        let key = if needs_key(provider) {
            let sealed = self
                .inner
                .store
                .credential(&self.row.project_id, provider)
                .await
                .map_err(Self::internal)?
                .ok_or_else(|| Stop::Failed {
                    class: "auth".into(),
                    message: format!("no {provider} key is set for this project"),
                })?;
            self.inner
                .keyring
                .open(&self.project, provider, &sealed)
                .map_err(|e| Stop::Failed {
                    class: "auth".into(),
                    message: e.to_string(),
                })?
        } else {
            provider_adapters::Secret::default()
        };
        self.inner
            .adapters
            .insert(&self.row.project_id, provider, key)
            .map_err(|e| Stop::provider(&e))
    }

    /// Builds the request from recipe + shot + characters and submits it. The task id is
    /// stored before this returns, so no later step can lose it.
    async fn submit(
        &self,
        peer: &DocPeer,
        adapter: &dyn GenerationProvider,
    ) -> Result<(TaskId, TaskStatus, Submission), Stop> {
        let (request, reference_ids) = self.request(peer, adapter).await?;
        let handle = match adapter.submit(&request).await {
            Ok(h) => h,
            Err(e) if e.is_safe_to_resubmit() => {
                // The provider refused before doing any work (429, no connection), and the
                // retry decorator already waited as long as it may: park the job.
                let after = e
                    .retry_after()
                    .unwrap_or(self.inner.config.providers.retry.max_delay)
                    .max(Duration::from_millis(100));
                return Err(Stop::Retry {
                    after,
                    class: class_name(e.class()).into(),
                    message: e.to_string(),
                });
            }
            Err(e) => return Err(Stop::provider(&e)),
        };
        let submission = Submission {
            prompt: request.prompt.clone(),
            reference_asset_ids: reference_ids,
            provenance: handle.provenance.clone(),
        };
        let json = serde_json::to_string(&submission).unwrap_or_default();
        self.inner
            .store
            .record_submission(&self.row.id, handle.task_id.as_str(), &json, now_ms())
            .await
            .map_err(Self::internal)?;
        Ok((handle.task_id, handle.status, submission))
    }

    /// The provider-neutral request and the ids of the reference images attached to it.
    async fn request(
        &self,
        peer: &DocPeer,
        adapter: &dyn GenerationProvider,
    ) -> Result<(GenerationRequest, Vec<String>), Stop> {
        let recipe = recipe::builtin(&self.row.provider, self.kind);
        let gone = |what: &str| Stop::Failed {
            class: "invalid_input".into(),
            message: format!("the {what} was deleted before the job ran"),
        };
        // Read everything needed from the replica in one go, then do IO without the lock.
        let (inputs, sketch, reference_ids, aspect) = peer
            .read(|p| {
                let aspect = p.meta().aspect_ratio;
                if let Some(character) = &self.row.character_id {
                    let c = p.character(&CharacterId::from(character.as_str()))?;
                    return Some((PromptInputs::for_character(&c), None, Vec::new(), aspect));
                }
                let shot = p.shot(&ShotId::from(self.row.shot_id.as_deref()?))?;
                let characters: Vec<_> = shot
                    .character_ids
                    .iter()
                    .filter_map(|id| p.character(id))
                    .collect();
                let inputs = PromptInputs::for_shot(&shot, &characters, &aspect);
                let references: Vec<String> = match self.kind {
                    // A clip starts from the shot's chosen frame, when it has one.
                    JobKind::Clip => shot
                        .selected_take
                        .iter()
                        .filter(|t| p.asset(t).is_some_and(|a| a.mime.starts_with("image/")))
                        .map(|t| t.to_string())
                        .collect(),
                    _ => characters
                        .iter()
                        .filter_map(|c| c.reference_asset_ids.first().map(|a| a.to_string()))
                        .take(MAX_REFERENCES)
                        .collect(),
                };
                let sketch = ShotSketch {
                    number: self
                        .row
                        .shot_number
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    scene: shot
                        .scene_id
                        .as_ref()
                        .and_then(|s| p.scene(s))
                        .map(|s| s.title)
                        .unwrap_or_default(),
                    framing: shot.framing.clone(),
                    camera: shot.camera.clone(),
                    description: shot.description.clone(),
                    dialogue: shot.dialogue.clone(),
                    characters: characters
                        .iter()
                        .map(|c| SketchCharacter {
                            name: c.name.clone(),
                            color: Some(c.color.clone()).filter(|c| !c.is_empty()),
                        })
                        .collect(),
                    duration_ms: shot.duration_ms,
                };
                Some((inputs, Some(sketch), references, aspect))
            })
            .ok_or_else(|| {
                gone(if self.row.character_id.is_some() {
                    "character"
                } else {
                    "shot"
                })
            })?;
        let _ = aspect;
        let prompt = recipe::render(recipe.template, &inputs);
        let (with_refs, without) = match self.kind {
            JobKind::Clip => (Operation::ImageToVideo, Operation::TextToVideo),
            _ => (Operation::ImageEdit, Operation::TextToImage),
        };
        let mut references = Vec::new();
        let mut used_ids = Vec::new();
        if adapter.supports(with_refs) {
            for id in &reference_ids {
                match self.reference(id).await {
                    Ok(Some(r)) => {
                        references.push(r);
                        used_ids.push(id.clone());
                    }
                    Ok(None) => tracing::warn!(asset = %id, "reference asset is missing; skipped"),
                    Err(e) => return Err(Self::internal(e)),
                }
            }
        }
        let operation = if references.is_empty() {
            without
        } else {
            with_refs
        };
        if !adapter.supports(operation) {
            return Err(Stop::Failed {
                class: "not_supported".into(),
                message: format!("{} cannot do {operation}", self.row.provider),
            });
        }
        let request = GenerationRequest {
            operation,
            model: None,
            prompt,
            negative_prompt: recipe.negative_prompt.map(str::to_owned),
            references,
            size: Some(provider_adapters::Size::HD),
            duration_s: (self.kind == JobKind::Clip).then(|| {
                sketch
                    .as_ref()
                    .map_or(4, |s| s.duration_ms.div_ceil(1000).clamp(1, 20))
            }),
            seed: None,
            extra: recipe.parameters.clone(),
            sketch,
        };
        Ok((request, used_ids))
    }

    async fn reference(&self, sha: &str) -> Result<Option<ReferenceImage>> {
        use futures_util::TryStreamExt;
        let Some(row) = self.inner.store.asset(&self.row.project_id, sha).await? else {
            return Ok(None);
        };
        let chunks: Vec<bytes::Bytes> = self
            .inner
            .assets
            .get(&self.project, sha)
            .await?
            .try_collect()
            .await?;
        Ok(Some(ReferenceImage {
            bytes: chunks.concat().into(),
            mime: row.content_type,
            name: format!("{}.png", &sha[..12.min(sha.len())]),
        }))
    }

    /// USD and where the figure came from: the provider's own report, else the price table.
    fn cost(&self, usage: Option<&Usage>, submission: &Submission) -> (f64, String) {
        if let Some(cost) = usage.and_then(|u| u.cost.as_ref())
            && cost.currency.eq_ignore_ascii_case("usd")
        {
            return (cost.amount, "provider".into());
        }
        let model = Some(submission.provenance.model.as_str()).filter(|m| !m.is_empty());
        (
            self.inner
                .prices
                .price(&self.row.provider, model, self.kind),
            format!("price-table {}", self.inner.prices.version()),
        )
    }

    /// Writes the asset, the take (selected if the shot had none) and the job summary into
    /// the document in one update, waits for the room to commit it, then ends the job.
    async fn attach(
        &self,
        peer: &DocPeer,
        submission: &Submission,
        row: &AssetRow,
        dims: Option<Dims>,
        cost: f64,
        source: Option<String>,
    ) -> Result<(), Stop> {
        let (width, height, duration_ms, seed) = dims.unwrap_or((None, None, None, None));
        let p = &submission.provenance;
        let asset = Asset {
            id: AssetId::from(row.sha256.as_str()),
            sha256: row.sha256.clone(),
            mime: row.content_type.clone(),
            size: row.size as u64,
            name: match (self.kind, self.row.shot_number) {
                (JobKind::CharacterSheet, _) => "character sheet".into(),
                (_, Some(n)) => format!("shot {n} {}", kind_name(self.kind)),
                _ => kind_name(self.kind).into(),
            },
            width,
            height,
            duration_ms,
            created_at_ms: now_ms() as f64,
            provenance: Some(Provenance {
                provider: p.provider.clone(),
                model: p.model.clone(),
                recipe_id: self.row.recipe_id.clone(),
                recipe_version: self.row.recipe_version.clone(),
                prompt: p.prompt.clone(),
                seed: seed.or(p.seed),
                parameters: p.parameters.clone(),
                reference_asset_ids: submission
                    .reference_asset_ids
                    .iter()
                    .map(|s| AssetId::from(s.as_str()))
                    .collect(),
                job_id: JobId::from(self.row.id.as_str()),
                cost: Some(Cost {
                    amount: cost,
                    currency: "USD".into(),
                }),
            }),
        };
        let mut done = self.row.clone();
        done.state = job_state::SUCCEEDED.to_owned();
        let summary = summary(&done);
        let result = peer
            .write(|project: &Project| {
                // A concurrent edit may have replaced the asset record with the same bytes;
                // re-adding it is harmless (same id, same content).
                project.add_asset(&asset)?;
                if let Some(shot) = &self.row.shot_id {
                    let shot_id = ShotId::from(shot.as_str());
                    if let Some(shot) = project.shot(&shot_id) {
                        project.add_take(&shot_id, &asset.id, shot.selected_take.is_none())?;
                    }
                }
                if let Some(character) = &self.row.character_id {
                    let id = CharacterId::from(character.as_str());
                    if let Some(c) = project.character(&id) {
                        let mut refs = c.reference_asset_ids;
                        if !refs.contains(&asset.id) {
                            refs.push(asset.id.clone());
                        }
                        project.update_character(
                            &id,
                            &CharacterPatch {
                                reference_asset_ids: Some(refs),
                                ..CharacterPatch::default()
                            },
                        )?;
                    }
                }
                project.put_job(&summary)?;
                Ok(())
            })
            .await;
        if let Err(e) = result {
            if self.inner.shutdown.is_cancelled() {
                return Err(Stop::Shutdown);
            }
            return Err(Self::internal(e));
        }
        self.succeed(Some(cost), source.as_deref().unwrap_or("recorded"))
            .await
    }

    /// Where a cost billed as the job went comes from.
    fn billed_source(&self) -> String {
        format!("tokens, price-table {}", self.inner.prices.version())
    }

    /// Marks the job succeeded, recording `cost` (from `source`) in the ledger.
    async fn succeed(&self, cost: Option<f64>, source: &str) -> Result<(), Stop> {
        self.inner
            .store
            .finish_job(
                &self.row.project_id,
                &self.row.id,
                &JobEnd {
                    state: job_state::SUCCEEDED,
                    error_class: None,
                    error_message: None,
                    cost,
                },
                source,
                now_ms(),
            )
            .await
            .map_err(Self::internal)
    }
}

fn summary(row: &JobRecord) -> JobSummary {
    JobSummary {
        id: JobId::from(row.id.as_str()),
        kind: parse_kind(&row.kind).unwrap_or(JobKind::Frame),
        status: match row.state.as_str() {
            job_state::QUEUED => JobStatus::Queued,
            job_state::RUNNING => JobStatus::Running,
            job_state::SUCCEEDED => JobStatus::Succeeded,
            job_state::CANCELLED => JobStatus::Cancelled,
            _ => JobStatus::Failed,
        },
        provider: row.provider.clone(),
        shot_id: row.shot_id.as_deref().map(ShotId::from),
        character_id: row.character_id.as_deref().map(CharacterId::from),
        error: (row.state == job_state::FAILED)
            .then(|| row.error_message.clone())
            .flatten(),
        updated_at_ms: now_ms() as f64,
    }
}

/// Writes a job's summary into the document; a failure only costs collaborators the news
/// (the row is the truth), so it is logged, not propagated.
async fn summary_into(peer: &DocPeer, row: &JobRecord) {
    let summary = summary(row);
    if let Err(e) = peer.write(|p: &Project| Ok(p.put_job(&summary)?)).await {
        tracing::warn!(error = %e, "writing the job summary failed");
    }
}

/// For jobs that end without a task of their own (cancelled while queued).
pub(super) async fn write_summary(inner: &Arc<Inner>, row: &JobRecord, _progress: Option<f32>) {
    let Some(project) = ProjectId::parse(&row.project_id) else {
        return;
    };
    match inner.peers.get(&inner.rooms, &project).await {
        Ok(peer) => summary_into(&peer, row).await,
        Err(e) => tracing::warn!(error = %e, "cannot open the document for a job summary"),
    }
}
