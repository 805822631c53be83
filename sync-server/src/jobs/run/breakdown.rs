//! The life of an LLM breakdown job: the project's script goes to the chat provider chunk by
//! chunk (`breakdown::llm::run`), progress is announced after every chunk, and the finished
//! plan is written into the document in one update together with the job's summary. Nothing
//! reaches the document before the whole plan is in, so a failure (an answer that stays
//! invalid after the re-asks, a refused key, a cancel) leaves it exactly as it was.

use std::sync::Mutex;

use api_types::{ErrorClass, JobStatus};
use provider_adapters::{ChatRequest, Error as ProviderError, Usage};
use serde_json::Value;
use shared_model::Project;

use super::super::{BreakdownSubmission, board_not_empty, lock};
use super::{Job, Stop, provider_message, summary};
use crate::Error;
use crate::jobs::peer::DocPeer;
use crate::versions;

/// Answers asked for per chunk: the first plus two re-asks with the validation error.
const ASKS_PER_CHUNK: u32 = 3;

impl Job<'_> {
    pub(super) async fn breakdown(&self, peer: &DocPeer) -> Result<(), Stop> {
        if self.row.cancel_requested {
            return Err(Stop::Cancelled);
        }
        let job_id = &self.row.id;
        // A restart between committing the plan and recording the row: the summary written
        // with the plan says it is done.
        let committed = peer.read(|p| {
            p.job(job_id)
                .is_some_and(|j| j.status == JobStatus::Succeeded)
        });
        if committed {
            return self.succeed(None, "recorded").await;
        }
        let (script, title, shots) =
            peer.read(|p| (p.script_text(), p.meta().title, p.shots().len()));
        if shots > 0 {
            return Err(Stop::Failed {
                class: ErrorClass::Conflict,
                message: board_not_empty(shots),
            });
        }
        if script.trim().is_empty() {
            return Err(Stop::Failed {
                class: ErrorClass::InvalidInput,
                message: "the script is empty".into(),
            });
        }
        let submission: BreakdownSubmission = self
            .row
            .submission
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| Stop::internal(Error::Config(format!("stored breakdown request: {e}"))))?
            .unwrap_or_default();
        let adapter = self.adapter().await?;
        let novel =
            tokio::task::spawn_blocking(move || breakdown::novel_from_script(script, title))
                .await
                .map_err(|e| Stop::internal(Error::from(e)))?;

        // The provider's error behind a failed chunk, kept whole (`llm::run` only carries
        // its text) so that a rate limit parks the job instead of failing it. Written by the
        // chunk that failed, read after `run` returned; never held across an await.
        let last_error: Mutex<Option<ProviderError>> = Mutex::new(None);
        // Tokens the provider reported over every chunk and re-ask, for the log; the USD they
        // cost goes to `self.spent`. Updated after each answer; never held across an await.
        let tokens: Mutex<(u64, u64)> = Mutex::new((0, 0));
        let (tx, mut rx) = tokio::sync::watch::channel((0usize, 0usize));
        let ask = |system: String, user: String| {
            let (adapter, submission, last_error, tokens) =
                (&adapter, &submission, &last_error, &tokens);
            async move {
                let mut request = ChatRequest::new(system, user);
                request.model = submission.model.clone();
                request.max_attempts = ASKS_PER_CHUNK;
                let check = |v: &Value| breakdown::llm::check(v);
                match adapter.chat_json(&request, &check).await {
                    Ok(answer) => {
                        if let Some(usage) = &answer.usage {
                            self.bill(usage, &answer.model, tokens);
                        }
                        Ok(answer.value)
                    }
                    Err(e) => {
                        if let ProviderError::InvalidOutput { usage, .. } = &e {
                            self.bill(usage, submission.priced_model(), tokens);
                        }
                        let message = provider_message(&e);
                        *lock(last_error) = Some(e);
                        Err(message)
                    }
                }
            }
        };
        let run = breakdown::llm::run(
            &novel,
            breakdown::llm::DEFAULT_CHUNK_CHARS,
            ask,
            move |done, total| {
                let _ = tx.send((done, total));
            },
        );
        tokio::pin!(run);
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                Ok(()) = rx.changed() => {
                    let (done, total) = *rx.borrow_and_update();
                    let progress = (total > 0).then(|| done as f32 / total as f32);
                    self.announce_running(peer, progress).await;
                }
                () = self.cancel.cancelled() => return Err(Stop::Cancelled),
                () = self.inner.shutdown.cancelled() => return Err(Stop::Shutdown),
            }
        };
        let plan = match result {
            Ok(plan) => plan,
            Err(failed) => {
                let message = failed.to_string();
                return Err(match lock(&last_error).take() {
                    // Rate limited or unreachable even after the retry decorator's attempts:
                    // try the whole breakdown again later, like a parked generation job.
                    Some(e) if e.is_transient() => Stop::Retry {
                        after: e
                            .retry_after()
                            .unwrap_or(self.inner.config.providers.retry.max_delay)
                            .max(std::time::Duration::from_millis(100)),
                        class: e.class(),
                        message,
                    },
                    Some(e) => Stop::Failed {
                        class: e.class(),
                        message,
                    },
                    None => Stop::Failed {
                        class: ErrorClass::InvalidOutput,
                        message,
                    },
                });
            }
        };

        // What the plan adds is undone in one step by restoring the version taken here. Without
        // it the plan is not written: the job fails (as an internal error) rather than write
        // something nobody could take back at once.
        let archive = versions::Archive::new(&self.inner.store, &self.inner.assets);
        let reason = format!("Before the LLM breakdown (job {job_id})");
        if let Err(e) = versions::auto(archive, peer, versions::server_author(), reason).await {
            if self.inner.shutdown.is_cancelled() {
                return Err(Stop::Shutdown);
            }
            return Err(Stop::internal(e));
        }

        let mut done = self.row.clone();
        done.state = JobStatus::Succeeded;
        let summary = summary(&done);
        let written = peer
            .write(|p: &Project| {
                // A collaborator (or an offline breakdown) may have filled the board while the
                // model was working: never pile a second board on top.
                let shots = p.shots().len();
                if shots > 0 {
                    return Err(Error::Conflict(board_not_empty(shots)));
                }
                if p.script_text() != novel.script {
                    // Scenes are anchored by offsets into the script as it was read; an edit
                    // made meanwhile shifts them by its length. Still worth keeping.
                    tracing::info!("the script changed during the breakdown");
                }
                let applied = breakdown::apply_plan(&novel, &plan, p);
                p.put_job(&summary)?;
                Ok(applied)
            })
            .await;
        match written {
            Ok(applied) => {
                let (input_tokens, output_tokens) = *lock(&tokens);
                tracing::info!(
                    scenes = applied.scenes.len(),
                    shots = applied.shots.len(),
                    characters = applied.characters.len(),
                    input_tokens,
                    output_tokens,
                    usd = self.spent(),
                    "breakdown written"
                );
            }
            Err(Error::Conflict(message)) => {
                return Err(Stop::Failed {
                    class: ErrorClass::Conflict,
                    message,
                });
            }
            Err(_) if self.inner.shutdown.is_cancelled() => return Err(Stop::Shutdown),
            Err(e) => return Err(Stop::internal(e)),
        }
        self.succeed(Some(self.spent()), &self.billed_source())
            .await
    }

    /// Adds what `usage` of `model` cost (the provider's own figure when it gives one in USD,
    /// else the price table's) to the job's spending, and its tokens to `tokens`.
    fn bill(&self, usage: &Usage, model: &str, tokens: &Mutex<(u64, u64)>) {
        let (input, output) = (
            usage.input_tokens.unwrap_or(0),
            usage.output_tokens.unwrap_or(0),
        );
        let usd = match &usage.cost {
            Some(c) if c.currency.eq_ignore_ascii_case("usd") => c.amount,
            _ => self
                .inner
                .prices
                .tokens(&self.row.provider, model, input, output),
        };
        *lock(&self.spent) += usd;
        let mut t = lock(tokens);
        t.0 += input;
        t.1 += output;
    }
}
