//! The dispatcher and the life of one job.
//!
//! What a job's error says to people is decided here: a provider's refusal keeps its class,
//! the provider and its reason (without the addresses our requests went to), and a failure
//! inside the server (database, object store, IO) is stored and shown only as the class
//! `internal` with a fixed message; its detail is logged once, in the job's span.

mod breakdown;
mod request;

use std::sync::Arc;
use std::time::Duration;

use api_types::{ErrorClass, JobKind, JobStatus, LiveJob};
use provider_adapters::{
    Error as ProviderError, GenerationProvider, OutputKind, ReferenceImage, TaskId, TaskStatus,
    Usage,
};
use shared_model::{AssetId, CharacterPatch, JobSummary, Project};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::peer::DocPeer;
use super::providers::needs_key;
use super::{Inner, Live, lock, now_ms};
use crate::assets::{sha256_hex, sniff_content_type};
use crate::store::{AssetRow, JobEnd, JobRecord};
use crate::{Error, Result};
use request::{OutputDims, Submission, Target};

/// The longest a dispatcher sleeps without looking at the queue (parked jobs come due).
const IDLE_RECHECK: Duration = Duration::from_secs(30);
/// A job still not finished at the provider after this long fails as timed out.
const MAX_JOB_TIME: Duration = Duration::from_secs(2 * 3600);
/// How long a job waits before its next attempt after a failure inside the server.
const INTERNAL_RETRY: Duration = Duration::from_secs(5);
/// What a job that failed inside the server says while it waits for its next attempt.
const INTERNAL_WILL_RETRY: &str = "the server could not finish this job; it will be tried again";
/// What a job that failed inside the server says once it has run out of attempts.
const INTERNAL_FAILED: &str = "the job failed inside the server; its log has the detail";

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
                let job = match job {
                    Ok(job) => job,
                    Err(e) => {
                        // Left as it is, for someone to look at: guessing its kind or project
                        // could pay a provider for the wrong thing.
                        tracing::error!(error = %e, "not resuming an unreadable job");
                        continue;
                    }
                };
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
    // Everything the job logs, including the detail of a failure inside the server that its
    // row and the document only call `internal`, carries these fields.
    let span = tracing::info_span!(
        "job",
        job = %job.id,
        project = %job.project_id,
        provider = %job.provider,
        kind = job.kind.as_str(),
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

/// Why a job stopped before succeeding. Every message here is fit for every collaborator.
#[derive(Debug)]
enum Stop {
    /// The provider (or our checks) said no: the job fails with this class and message.
    Failed {
        class: ErrorClass,
        message: String,
    },
    /// Try again later (rate limited before any work was accepted, or a failure in here).
    Retry {
        after: Duration,
        class: ErrorClass,
        message: String,
    },
    Cancelled,
    /// The server is stopping: leave the row as it is; the next start resumes it.
    Shutdown,
}

impl Stop {
    fn provider(e: &ProviderError) -> Stop {
        Stop::Failed {
            class: e.class(),
            message: provider_message(e),
        }
    }

    /// A failure inside the server: logged here, with the job's span, and retried; the row
    /// and the document only ever learn that it was internal.
    fn internal(e: Error) -> Stop {
        tracing::error!(error = %e, "the job failed inside the server");
        Stop::Retry {
            after: INTERNAL_RETRY,
            class: ErrorClass::Internal,
            message: INTERNAL_WILL_RETRY.into(),
        }
    }
}

/// A provider's error as collaborators read it: the provider, what went wrong and the
/// provider's own reason, but not the addresses our requests went to (a self-hosted
/// ComfyUI's host, a base URL the operator set) nor transport detail, which the log keeps.
fn provider_message(e: &ProviderError) -> String {
    let text = match e {
        ProviderError::Unreachable { provider, .. } => format!("{provider}: cannot connect"),
        ProviderError::Config(_) => {
            "the provider is not configured correctly on this server".into()
        }
        other => without_urls(&other.to_string()),
    };
    if text != e.to_string() {
        tracing::info!(error = %e, "provider error (shown without its detail)");
    }
    text
}

/// `text` with every URL replaced by `[address]`.
fn without_urls(text: &str) -> String {
    static URL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests below
        regex::Regex::new(r#"(?i)\b(?:https?|wss?)://[^\s)"'>\],]*"#).unwrap()
    });
    URL.replace_all(text, "[address]").into_owned()
}

/// The failure reason collaborators see (`GET /jobs`, the document's job summary). A failure
/// inside the server only ever shows the fixed text, whatever the row holds: rows written
/// before internal detail was kept out of them may still carry it.
pub(super) fn user_error(row: &JobRecord) -> Option<String> {
    match row.error_class {
        Some(ErrorClass::Internal) => Some(INTERNAL_FAILED.to_owned()),
        _ => row.error_message.clone(),
    }
}

/// One job being worked on.
struct Job<'a> {
    inner: &'a Arc<Inner>,
    row: JobRecord,
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
    async fn run(self) -> &'static str {
        let peer = match self
            .inner
            .peers
            .get(&self.inner.rooms, &self.row.project_id)
            .await
        {
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
                self.announce_running(peer, None).await;
                let r = if self.row.kind == JobKind::Breakdown {
                    self.breakdown(peer).await
                } else {
                    self.work(peer).await
                };
                self.announce_gone(peer).await;
                r
            }
            None => Err(Stop::Retry {
                after: INTERNAL_RETRY,
                class: ErrorClass::Internal,
                message: INTERNAL_WILL_RETRY.into(),
            }),
        };
        let (outcome, result) = match result {
            Ok(()) => ("succeeded", Ok(())),
            Err(Stop::Shutdown) => return "shutdown",
            Err(Stop::Cancelled) => (
                "cancelled",
                self.end(JobStatus::Cancelled, None, None, peer.as_deref())
                    .await,
            ),
            Err(Stop::Failed { class, message }) => {
                tracing::info!(class = class.as_str(), %message, "job failed");
                (
                    "failed",
                    self.end(
                        JobStatus::Failed,
                        Some(class),
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
                    let message = match class {
                        ErrorClass::Internal => INTERNAL_FAILED.to_owned(),
                        _ => format!("gave up after {} attempts: {message}", self.row.attempts),
                    };
                    tracing::info!(class = class.as_str(), %message, "job failed");
                    (
                        "failed",
                        self.end(
                            JobStatus::Failed,
                            Some(class),
                            Some(&message),
                            peer.as_deref(),
                        )
                        .await,
                    )
                } else {
                    tracing::info!(class = class.as_str(), %message, retry_in_ms = after.as_millis() as u64, "job parked");
                    let at = now_ms() + after.as_millis() as i64;
                    let spent = *lock(&self.spent);
                    let r = self
                        .inner
                        .store
                        .requeue_job(&self.row.id, at, class, &message, spent, now_ms())
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
        state: JobStatus,
        class: Option<ErrorClass>,
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
        row.state = state;
        row.error_class = class;
        row.error_message = message.map(str::to_owned);
        // A breakdown that did not finish leaves the document exactly as it was: its row and
        // the jobs API carry the reason.
        if let Some(peer) = peer
            && self.row.kind != JobKind::Breakdown
        {
            summary_into(peer, &row).await;
        }
        Ok(())
    }

    /// Tells collaborators the job is running, with its progress (0 to 1) if known.
    async fn announce_running(&self, peer: &DocPeer, progress: Option<f32>) {
        if let Some(live) = lock(&self.inner.live).get_mut(&self.row.id) {
            live.progress = progress;
        }
        let live = LiveJob {
            shot_id: self.row.shot_id.clone(),
            kind: self.row.kind,
            provider: self.row.provider.clone(),
            status: JobStatus::Running,
            progress,
        };
        self.announce(peer, Some(live)).await;
    }

    /// Takes the job out of the peer's running jobs.
    async fn announce_gone(&self, peer: &DocPeer) {
        self.announce(peer, None).await;
    }

    async fn announce(&self, peer: &DocPeer, live: Option<LiveJob>) {
        let queued = self
            .inner
            .store
            .queued_jobs(&self.row.project_id)
            .await
            .map_or(0, |n| u64::try_from(n).unwrap_or(0));
        peer.announce(&self.row.id, live, queued).await;
    }

    /// Submit (unless a restart found a task id), poll, download, store, attach.
    async fn work(&self, peer: &DocPeer) -> Result<(), Stop> {
        if self.row.cancel_requested {
            if let Some(task) = &self.row.provider_task_id
                && let Ok(adapter) = self.adapter().await
            {
                let _ = adapter.cancel(&TaskId(task.clone())).await;
            }
            return Err(Stop::Cancelled);
        }
        // The output is already stored: only attaching it to the document is left.
        if let (Some(sha), Some(submission)) = (&self.row.asset_sha256, &self.row.submission) {
            let submission = stored_submission(submission)?;
            let (cost, source) = self.cost(None, &submission);
            let asset = self
                .inner
                .store
                .asset(self.row.project_id.as_str(), sha)
                .await
                .map_err(Stop::internal)?;
            if let Some(asset) = asset {
                return self
                    .attach(
                        peer,
                        &submission,
                        &asset,
                        OutputDims::default(),
                        cost,
                        &source,
                    )
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
                let submission = stored_submission(submission)?;
                let task = TaskId(task.clone());
                match adapter.poll(&task).await {
                    Ok(status) => (task, status, submission),
                    Err(ProviderError::NotSupported { .. }) => {
                        self.resubmit_lost(peer, adapter.as_ref()).await?
                    }
                    Err(e) if e.is_transient() => {
                        tracing::warn!(error = %e, "polling failed; will poll again");
                        (task, TaskStatus::Queued, submission)
                    }
                    Err(e) => return Err(Stop::provider(&e)),
                }
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
                self.announce_running(peer, *progress).await;
            }
            if started.elapsed() > MAX_JOB_TIME {
                return Err(Stop::Failed {
                    class: ErrorClass::Timeout,
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
                let wanted = if self.row.kind == JobKind::Clip {
                    OutputKind::Video
                } else {
                    OutputKind::Image
                };
                let output = outputs
                    .iter()
                    .find(|o| o.kind == wanted)
                    .or(outputs.first())
                    .ok_or_else(|| Stop::Failed {
                        class: ErrorClass::Provider,
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
                    .put(&self.row.project_id, &sha, output.bytes.clone())
                    .await
                    .map_err(Stop::internal)?;
                self.inner
                    .store
                    .insert_asset(self.row.project_id.as_str(), &row)
                    .await
                    .map_err(Stop::internal)?;
                self.inner
                    .store
                    .record_output(&self.row.id, &sha, now_ms())
                    .await
                    .map_err(Stop::internal)?;
                let (cost, source) = self.cost(usage.as_ref(), &submission);
                let dims = OutputDims {
                    width: output.width,
                    height: output.height,
                    duration_ms: output.duration_ms,
                    seed: output.seed,
                };
                self.attach(peer, &submission, &row, dims, cost, &source)
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
        let project = self.row.project_id.as_str();
        if let Some(a) = self.inner.adapters.cached(project, provider) {
            return Ok(a);
        }
        let key = if needs_key(provider) {
            let sealed = self
                .inner
                .store
                .credential(&self.row.project_id, provider)
                .await
                .map_err(Stop::internal)?
                .ok_or_else(|| Stop::Failed {
                    class: ErrorClass::Auth,
                    message: format!("no {provider} key is set for this project"),
                })?;
            self.inner
                .keyring
                .open(&self.row.project_id, provider, &sealed)
                .map_err(|e| {
                    tracing::warn!(error = %e, "the stored key cannot be opened");
                    Stop::Failed {
                        class: ErrorClass::Auth,
                        message: format!(
                            "the stored {provider} key cannot be read; an owner can set it again"
                        ),
                    }
                })?
        } else {
            provider_adapters::Secret::default()
        };
        self.inner
            .adapters
            .insert(project, provider, key)
            .map_err(|e| Stop::provider(&e))
    }

    /// A provider that answers at once (the offline renderer, image APIs) keeps no task to
    /// poll, so an attempt that failed before storing its output lost it. Running it again is
    /// free only when the provider needs no key (our own renderer, the operator's machine);
    /// a paid one is never asked twice for one job.
    async fn resubmit_lost(
        &self,
        peer: &DocPeer,
        adapter: &dyn GenerationProvider,
    ) -> Result<(TaskId, TaskStatus, Submission), Stop> {
        if needs_key(&self.row.provider) {
            return Err(Stop::Failed {
                class: ErrorClass::Expired,
                message: format!(
                    "{} made the result, but it was lost before the server could store it and \
                     cannot be fetched again; generate again for a new one",
                    self.row.provider
                ),
            });
        }
        tracing::info!("the provider keeps no task to poll: running it again");
        self.submit(peer, adapter).await
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
                    class: e.class(),
                    message: provider_message(&e),
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
            .map_err(Stop::internal)?;
        Ok((handle.task_id, handle.status, submission))
    }

    /// The provider-neutral request and the ids of the reference images attached to it.
    async fn request(
        &self,
        peer: &DocPeer,
        adapter: &dyn GenerationProvider,
    ) -> Result<(provider_adapters::GenerationRequest, Vec<AssetId>), Stop> {
        // Everything from the document in one read of the replica; the IO comes after.
        let draft = peer
            .read(|p| request::draft(p, &Target::of(&self.row)))
            .map_err(|gone| Stop::Failed {
                class: ErrorClass::InvalidInput,
                message: gone.message(),
            })?;
        let mut references = Vec::new();
        let mut used_ids = Vec::new();
        let (with_references, _) = request::operations(self.row.kind);
        if adapter.supports(with_references) {
            for id in &draft.reference_ids {
                match self.reference(id).await {
                    Ok(Some(r)) => {
                        references.push(r);
                        used_ids.push(id.clone());
                    }
                    Ok(None) => tracing::warn!(asset = %id, "reference asset is missing; skipped"),
                    Err(e) => return Err(Stop::internal(e)),
                }
            }
        }
        let request = request::request(draft, references, |op| adapter.supports(op)).map_err(
            |operation| Stop::Failed {
                class: ErrorClass::NotSupported,
                message: format!("{} cannot do {operation}", self.row.provider),
            },
        )?;
        Ok((request, used_ids))
    }

    async fn reference(&self, id: &AssetId) -> Result<Option<ReferenceImage>> {
        use futures_util::TryStreamExt;
        let sha = id.as_str();
        let Some(row) = self
            .inner
            .store
            .asset(self.row.project_id.as_str(), sha)
            .await?
        else {
            return Ok(None);
        };
        let chunks: Vec<bytes::Bytes> = self
            .inner
            .assets
            .get(&self.row.project_id, sha)
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
                .price(&self.row.provider, model, self.row.kind),
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
        dims: OutputDims,
        cost: f64,
        source: &str,
    ) -> Result<(), Stop> {
        let asset = request::output_asset(&self.row, row, dims, submission, cost, now_ms());
        let mut done = self.row.clone();
        done.state = JobStatus::Succeeded;
        let summary = summary(&done);
        let result = peer
            .write(|project: &Project| {
                // A concurrent edit may have replaced the asset record with the same bytes;
                // re-adding it is harmless (same id, same content).
                project.add_asset(&asset)?;
                if let Some(shot_id) = &self.row.shot_id
                    && let Some(shot) = project.shot(shot_id)
                {
                    project.add_take(shot_id, &asset.id, shot.selected_take.is_none())?;
                }
                if let Some(id) = &self.row.character_id
                    && let Some(c) = project.character(id)
                {
                    let mut refs = c.reference_asset_ids;
                    if !refs.contains(&asset.id) {
                        refs.push(asset.id.clone());
                    }
                    project.update_character(
                        id,
                        &CharacterPatch {
                            reference_asset_ids: Some(refs),
                            ..CharacterPatch::default()
                        },
                    )?;
                }
                project.put_job(&summary)?;
                Ok(())
            })
            .await;
        if let Err(e) = result {
            if self.inner.shutdown.is_cancelled() {
                return Err(Stop::Shutdown);
            }
            return Err(Stop::internal(e));
        }
        self.succeed(Some(cost), source).await
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
                    state: JobStatus::Succeeded,
                    error_class: None,
                    error_message: None,
                    cost,
                },
                source,
                now_ms(),
            )
            .await
            .map_err(Stop::internal)
    }
}

/// The submission stored with a job that the provider had accepted.
fn stored_submission(json: &str) -> Result<Submission, Stop> {
    serde_json::from_str(json)
        .map_err(|e| Stop::internal(Error::Config(format!("stored submission: {e}"))))
}

fn summary(row: &JobRecord) -> JobSummary {
    JobSummary {
        id: row.id.clone(),
        kind: row.kind,
        status: row.state,
        provider: row.provider.clone(),
        shot_id: row.shot_id.clone(),
        character_id: row.character_id.clone(),
        error: (row.state == JobStatus::Failed)
            .then(|| user_error(row))
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
pub(super) async fn write_summary(inner: &Arc<Inner>, row: &JobRecord) {
    match inner.peers.get(&inner.rooms, &row.project_id).await {
        Ok(peer) => summary_into(&peer, row).await,
        Err(e) => tracing::warn!(error = %e, "cannot open the document for a job summary"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_keep_the_reason_and_drop_addresses() {
        let refused = ProviderError::ContentPolicy {
            provider: "openai-images".into(),
            reason: "rejected by the safety system".into(),
        };
        assert_eq!(
            provider_message(&refused),
            "openai-images: refused by content policy: rejected by the safety system"
        );
        let unreachable = ProviderError::Unreachable {
            provider: "comfyui".into(),
            message: "error sending request for url (http://gpu-box.internal:8188/prompt)".into(),
        };
        assert_eq!(provider_message(&unreachable), "comfyui: cannot connect");
        let failed = ProviderError::Provider {
            provider: "kling".into(),
            status: None,
            message: "error sending request for url (https://API.kling.example/v1/videos?x=1): \
                      connection closed; see HTTPS://docs.example"
                .into(),
        };
        assert_eq!(
            provider_message(&failed),
            "kling: provider error: error sending request for url ([address]): connection \
             closed; see [address]"
        );
        let config = ProviderError::Config("base url http://10.0.0.7:9000 is not https".into());
        assert_eq!(
            provider_message(&config),
            "the provider is not configured correctly on this server"
        );
    }
}
