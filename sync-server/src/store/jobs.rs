//! Job rows, the cost ledger, budgets and sealed credentials.
//!
//! Every query here is written once, with `$N` placeholders (which sqlx binds by number on
//! SQLite as on Postgres), and run on whichever pool the store holds.

use api_types::{CharacterId, ErrorClass, JobId, JobKind, JobStatus, ProjectId, ShotId};

use super::Store;
use crate::credentials::Sealed;
use crate::{Error, Result};

const JOB_COLUMNS: &str = "id, project_id, kind, provider, shot_id, character_id, shot_number, recipe_id, \
    recipe_version, state, attempts, provider_task_id, submission, asset_sha256, error_class, \
    error_message, next_attempt_at_ms, cost_estimate, cost, idempotency_key, cancel_requested, \
    created_at_ms, batch_index, updated_at_ms";

/// One row of `jobs`, decoded: the state, kind, error class and ids are the wire types, so
/// that nothing past the store compares strings or guesses at a value it cannot read.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub project_id: ProjectId,
    pub kind: JobKind,
    pub provider: String,
    pub shot_id: Option<ShotId>,
    pub character_id: Option<CharacterId>,
    pub shot_number: Option<i64>,
    pub recipe_id: String,
    pub recipe_version: String,
    pub state: JobStatus,
    pub attempts: i64,
    /// Set right after the provider accepted the job; a restart polls it.
    pub provider_task_id: Option<String>,
    /// JSON: what was sent (final prompt, the adapter's provenance, reference asset ids).
    pub submission: Option<String>,
    /// Set once the output is in the object store, before it is attached to the document.
    pub asset_sha256: Option<String>,
    pub error_class: Option<ErrorClass>,
    /// Fit for every collaborator: the runner never stores internal detail here.
    pub error_message: Option<String>,
    /// A queued job is not started before this (Unix ms): a rate-limited job waits here.
    pub next_attempt_at_ms: i64,
    /// USD reserved against the budget while the job may still spend.
    pub cost_estimate: f64,
    /// USD it cost, once it succeeded.
    pub cost: Option<f64>,
    pub idempotency_key: Option<String>,
    pub cancel_requested: bool,
    pub created_at_ms: i64,
    /// Order within one generate request (the storyboard order of its shots).
    pub batch_index: i64,
    pub updated_at_ms: i64,
}

impl JobRecord {
    pub fn is_terminal(&self) -> bool {
        self.state.is_terminal()
    }
}

/// A row of `jobs` as the database holds it, before [`JobRecord::try_from`] reads it.
#[derive(Debug, sqlx::FromRow)]
struct RawJob {
    id: String,
    project_id: String,
    kind: String,
    provider: String,
    shot_id: Option<String>,
    character_id: Option<String>,
    shot_number: Option<i64>,
    recipe_id: String,
    recipe_version: String,
    state: String,
    attempts: i64,
    provider_task_id: Option<String>,
    submission: Option<String>,
    asset_sha256: Option<String>,
    error_class: Option<String>,
    error_message: Option<String>,
    next_attempt_at_ms: i64,
    cost_estimate: f64,
    cost: Option<f64>,
    idempotency_key: Option<String>,
    cancel_requested: i64,
    created_at_ms: i64,
    batch_index: i64,
    updated_at_ms: i64,
}

impl TryFrom<RawJob> for JobRecord {
    type Error = Error;

    /// Reads a stored row; a value this version does not know (a kind written by a newer
    /// server, a damaged id) is an error naming the row, never a guess.
    fn try_from(raw: RawJob) -> Result<Self> {
        let corrupt = |reason: String| Error::CorruptJobRow {
            id: raw.id.clone(),
            reason,
        };
        let project_id = ProjectId::parse(&raw.project_id)
            .ok_or_else(|| corrupt(format!("invalid project id {:?}", raw.project_id)))?;
        let kind: JobKind = raw.kind.parse().map_err(|e| corrupt(format!("{e}")))?;
        let state: JobStatus = raw.state.parse().map_err(|e| corrupt(format!("{e}")))?;
        let error_class = raw
            .error_class
            .as_deref()
            .map(str::parse::<ErrorClass>)
            .transpose()
            .map_err(|e| corrupt(format!("{e}")))?;
        if raw.id.is_empty() {
            return Err(corrupt("empty id".into()));
        }
        Ok(JobRecord {
            id: JobId::from(raw.id),
            project_id,
            kind,
            provider: raw.provider,
            shot_id: raw.shot_id.map(ShotId::from),
            character_id: raw.character_id.map(CharacterId::from),
            shot_number: raw.shot_number,
            recipe_id: raw.recipe_id,
            recipe_version: raw.recipe_version,
            state,
            attempts: raw.attempts,
            provider_task_id: raw.provider_task_id,
            submission: raw.submission,
            asset_sha256: raw.asset_sha256,
            error_class,
            error_message: raw.error_message,
            next_attempt_at_ms: raw.next_attempt_at_ms,
            cost_estimate: raw.cost_estimate,
            cost: raw.cost,
            idempotency_key: raw.idempotency_key,
            cancel_requested: raw.cancel_requested != 0,
            created_at_ms: raw.created_at_ms,
            batch_index: raw.batch_index,
            updated_at_ms: raw.updated_at_ms,
        })
    }
}

fn decode_all(rows: Vec<RawJob>) -> Result<Vec<JobRecord>> {
    rows.into_iter().map(JobRecord::try_from).collect()
}

/// How a terminal state is written.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnd<'a> {
    pub state: JobStatus,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<&'a str>,
    pub cost: Option<f64>,
}

/// What a project has spent and reserved, in USD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spending {
    pub limit_usd: Option<f64>,
    /// Recorded in the ledger by finished jobs.
    pub spent_usd: f64,
    /// Estimates of jobs that are queued or running.
    pub reserved_usd: f64,
}

impl Store {
    /// Inserts new jobs in one transaction, unless the budget would be exceeded: returns
    /// `Err(spending)` (and inserts nothing) when spent + reserved + the new estimates would
    /// go over the project's limit. On Postgres the budget row is locked for the transaction,
    /// so two concurrent requests cannot both squeeze under the limit.
    pub async fn insert_jobs(
        &self,
        project_id: &ProjectId,
        jobs: &[JobRecord],
    ) -> Result<std::result::Result<(), Spending>> {
        let extra: f64 = jobs.iter().map(|j| j.cost_estimate).sum();
        on_pool!(self, pool => {
            // SQLite: take the write lock before reading the budget. A deferred transaction
            // that reads first fails with SQLITE_BUSY_SNAPSHOT (no busy wait) when another
            // connection commits before its first write, and two requests could otherwise
            // both read the same spending.
            let mut tx = if matches!(self, Store::Postgres(_)) {
                pool.begin().await?
            } else {
                pool.begin_with("BEGIN IMMEDIATE").await?
            };
            let limit: Option<(f64,)> = sqlx::query_as(if matches!(self, Store::Postgres(_)) {
                "SELECT limit_usd FROM project_budgets WHERE project_id = $1 FOR UPDATE"
            } else {
                "SELECT limit_usd FROM project_budgets WHERE project_id = $1"
            })
            .bind(project_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((limit,)) = limit {
                let (spent,): (f64,) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(amount_usd), 0) AS DOUBLE PRECISION) \
                     FROM cost_ledger WHERE project_id = $1",
                )
                .bind(project_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
                let (reserved,): (f64,) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(cost_estimate), 0) AS DOUBLE PRECISION) FROM jobs \
                     WHERE project_id = $1 AND state IN ('queued', 'running')",
                )
                .bind(project_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
                // A cent's tolerance keeps float sums from refusing an exact fit.
                if extra > 0.0 && spent + reserved + extra > limit + 1e-9 {
                    tx.rollback().await?;
                    return Ok(Err(Spending {
                        limit_usd: Some(limit),
                        spent_usd: spent,
                        reserved_usd: reserved,
                    }));
                }
            }
            for j in jobs {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO jobs ({JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
                )))
                .bind(j.id.as_str())
                .bind(j.project_id.as_str())
                .bind(j.kind.as_str())
                .bind(&j.provider)
                .bind(j.shot_id.as_ref().map(ShotId::as_str))
                .bind(j.character_id.as_ref().map(CharacterId::as_str))
                .bind(j.shot_number)
                .bind(&j.recipe_id)
                .bind(&j.recipe_version)
                .bind(j.state.as_str())
                .bind(j.attempts)
                .bind(&j.provider_task_id)
                .bind(&j.submission)
                .bind(&j.asset_sha256)
                .bind(j.error_class.map(ErrorClass::as_str))
                .bind(&j.error_message)
                .bind(j.next_attempt_at_ms)
                .bind(j.cost_estimate)
                .bind(j.cost)
                .bind(&j.idempotency_key)
                .bind(i64::from(j.cancel_requested))
                .bind(j.created_at_ms)
                .bind(j.batch_index)
                .bind(j.updated_at_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Ok(()))
        })
    }

    /// Jobs of a project whose idempotency key starts with `prefix` (a repeated request).
    pub async fn jobs_by_key_prefix(
        &self,
        project_id: &ProjectId,
        prefix: &str,
    ) -> Result<Vec<JobRecord>> {
        // `substr` instead of LIKE, so that `%` or `_` in a client's key match only themselves.
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 \
             AND substr(idempotency_key, 1, $2) = $3 ORDER BY created_at_ms, batch_index"
        );
        let len = prefix.chars().count() as i32;
        decode_all(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project_id.as_str())
                .bind(len)
                .bind(prefix)
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn job(&self, project_id: &ProjectId, id: &JobId) -> Result<Option<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 AND id = $2");
        let row: Option<RawJob> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project_id.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.map(JobRecord::try_from).transpose()
    }

    /// A project's jobs, oldest first.
    pub async fn project_jobs(&self, project_id: &ProjectId) -> Result<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 ORDER BY created_at_ms, batch_index"
        );
        decode_all(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project_id.as_str())
                .fetch_all(pool)
                .await?
        }))
    }

    /// How many of a project's jobs wait in the queue (announced to collaborators).
    pub async fn queued_jobs(&self, project_id: &ProjectId) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE project_id = $1 AND state = 'queued'")
                .bind(project_id.as_str())
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// Jobs left `running` by a previous process: resumed at start-up. Each row is decoded on
    /// its own, so that one unreadable row is reported without keeping the others waiting.
    pub async fn running_jobs(&self) -> Result<Vec<Result<JobRecord>>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'running' ORDER BY created_at_ms, batch_index"
        );
        let rows: Vec<RawJob> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(JobRecord::try_from).collect())
    }

    /// Moves the oldest due queued job to `running` (counting an attempt) and returns it. The
    /// outer `state = 'queued'` re-check makes two concurrent claimers on Postgres take
    /// different jobs (or none) rather than the same one. A claimed row that cannot be read
    /// is an error (it stays `running`, out of the queue, for someone to look at).
    pub async fn claim_next_job(&self, now_ms: i64) -> Result<Option<JobRecord>> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at_ms = $1 \
             WHERE state = 'queued' AND id = (SELECT id FROM jobs WHERE state = 'queued' \
             AND next_attempt_at_ms <= $1 ORDER BY created_at_ms, batch_index LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        );
        let row: Option<RawJob> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        });
        row.map(JobRecord::try_from).transpose()
    }

    /// When the next parked job becomes due, if any is waiting.
    pub async fn next_due_ms(&self) -> Result<Option<i64>> {
        let row: (Option<i64>,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MIN(next_attempt_at_ms) FROM jobs WHERE state = 'queued'")
                .fetch_one(pool)
                .await?
        });
        Ok(row.0)
    }

    /// Records the provider's task id and what was sent, right after the provider accepted
    /// the job and before anything else happens to it.
    pub async fn record_submission(
        &self,
        id: &JobId,
        task_id: &str,
        submission: &str,
        now_ms: i64,
    ) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET provider_task_id = $1, submission = $2, updated_at_ms = $3 \
                 WHERE id = $4",
            )
            .bind(task_id)
            .bind(submission)
            .bind(now_ms)
            .bind(id.as_str())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records that the output is in the object store (attaching it to the document is next).
    pub async fn record_output(&self, id: &JobId, sha256: &str, now_ms: i64) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE jobs SET asset_sha256 = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(sha256)
                .bind(now_ms)
                .bind(id.as_str())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Puts a running job back in the queue until `next_attempt_at_ms`, keeping its task id
    /// (a parked job that was accepted resumes by polling). `spent` (USD the attempt was
    /// billed, for a chat model's tokens) is added to the row's `cost`, which then holds what
    /// earlier attempts spent until the job ends.
    pub async fn requeue_job(
        &self,
        id: &JobId,
        next_attempt_at_ms: i64,
        error_class: ErrorClass,
        error_message: &str,
        spent: f64,
        now_ms: i64,
    ) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'queued', next_attempt_at_ms = $1, error_class = $2, \
                 error_message = $3, updated_at_ms = $4, \
                 cost = CASE WHEN $6 > 0 THEN COALESCE(cost, 0) + $6 ELSE cost END \
                 WHERE id = $5 AND state = 'running'",
            )
            .bind(next_attempt_at_ms)
            .bind(error_class.as_str())
            .bind(error_message)
            .bind(now_ms)
            .bind(id.as_str())
            .bind(spent)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Ends a job and, when it cost something, records that in the ledger, atomically.
    pub async fn finish_job(
        &self,
        project_id: &ProjectId,
        id: &JobId,
        end: &JobEnd<'_>,
        cost_source: &str,
        now_ms: i64,
    ) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE jobs SET state = $1, error_class = $2, error_message = $3, cost = $4, \
                 updated_at_ms = $5 WHERE id = $6",
            )
            .bind(end.state.as_str())
            .bind(end.error_class.map(ErrorClass::as_str))
            .bind(end.error_message)
            .bind(end.cost)
            .bind(now_ms)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            if let Some(cost) = end.cost.filter(|c| *c > 0.0) {
                sqlx::query(
                    "INSERT INTO cost_ledger (job_id, project_id, amount_usd, source, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING",
                )
                .bind(id.as_str())
                .bind(project_id.as_str())
                .bind(cost)
                .bind(cost_source)
                .bind(now_ms / 1000)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Cancels a queued job at once; returns false when it was not queued (any more).
    pub async fn cancel_queued_job(
        &self,
        project_id: &ProjectId,
        id: &JobId,
        now_ms: i64,
    ) -> Result<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, updated_at_ms = $1 \
                 WHERE project_id = $2 AND id = $3 AND state = 'queued'",
            )
            .bind(now_ms)
            .bind(project_id.as_str())
            .bind(id.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Flags a running job for cancellation (durably, so a restart still cancels it).
    pub async fn request_cancel(
        &self,
        project_id: &ProjectId,
        id: &JobId,
        now_ms: i64,
    ) -> Result<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET cancel_requested = 1, updated_at_ms = $1 \
                 WHERE project_id = $2 AND id = $3 AND state = 'running'",
            )
            .bind(now_ms)
            .bind(project_id.as_str())
            .bind(id.as_str())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn set_budget(&self, project_id: &ProjectId, limit_usd: Option<f64>) -> Result<()> {
        let now = super::unix_now();
        on_pool!(self, pool => {
            match limit_usd {
                Some(limit) => {
                    sqlx::query(
                        "INSERT INTO project_budgets (project_id, limit_usd, updated_at) \
                         VALUES ($1, $2, $3) ON CONFLICT (project_id) DO UPDATE \
                         SET limit_usd = excluded.limit_usd, updated_at = excluded.updated_at",
                    )
                    .bind(project_id.as_str())
                    .bind(limit)
                    .bind(now)
                    .execute(pool)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM project_budgets WHERE project_id = $1")
                        .bind(project_id.as_str())
                        .execute(pool)
                        .await?;
                }
            }
        });
        Ok(())
    }

    pub async fn spending(&self, project_id: &ProjectId) -> Result<Spending> {
        on_pool!(self, pool => {
            let limit: Option<(f64,)> =
                sqlx::query_as("SELECT limit_usd FROM project_budgets WHERE project_id = $1")
                    .bind(project_id.as_str())
                    .fetch_optional(pool)
                    .await?;
            let (spent,): (f64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(amount_usd), 0) AS DOUBLE PRECISION) \
                 FROM cost_ledger WHERE project_id = $1",
            )
            .bind(project_id.as_str())
            .fetch_one(pool)
            .await?;
            let (reserved,): (f64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(cost_estimate), 0) AS DOUBLE PRECISION) FROM jobs \
                 WHERE project_id = $1 AND state IN ('queued', 'running')",
            )
            .bind(project_id.as_str())
            .fetch_one(pool)
            .await?;
            Ok(Spending {
                limit_usd: limit.map(|l| l.0),
                spent_usd: spent,
                reserved_usd: reserved,
            })
        })
    }

    pub async fn put_credential(
        &self,
        project_id: &ProjectId,
        provider: &str,
        sealed: &Sealed,
    ) -> Result<()> {
        let now = super::unix_now();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO provider_credentials (project_id, provider, nonce, ciphertext, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, provider) DO UPDATE \
                 SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, \
                 updated_at = excluded.updated_at",
            )
            .bind(project_id.as_str())
            .bind(provider)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn delete_credential(&self, project_id: &ProjectId, provider: &str) -> Result<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM provider_credentials WHERE project_id = $1 AND provider = $2")
                .bind(project_id.as_str())
                .bind(provider)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    pub async fn credential(
        &self,
        project_id: &ProjectId,
        provider: &str,
    ) -> Result<Option<Sealed>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT nonce, ciphertext FROM provider_credentials \
                 WHERE project_id = $1 AND provider = $2",
            )
            .bind(project_id.as_str())
            .bind(provider)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(nonce, ciphertext)| Sealed { nonce, ciphertext }))
    }

    /// The providers a project has a key for (never the keys).
    pub async fn credential_providers(&self, project_id: &ProjectId) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT provider, updated_at FROM provider_credentials WHERE project_id = $1 \
                 ORDER BY provider",
            )
            .bind(project_id.as_str())
            .fetch_all(pool)
            .await?
        }))
    }
}
