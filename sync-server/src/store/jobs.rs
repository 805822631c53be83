//! Job rows, the cost ledger, budgets and sealed credentials.
//!
//! Every query here is written once, with `$N` placeholders (which sqlx binds by number on
//! SQLite as on Postgres), and run on whichever pool the store holds.

use super::Store;
use crate::Result;
use crate::credentials::Sealed;

/// Runs `$body` with `$pool` bound to the store's pool, whichever database it is. The body
/// is compiled once per backend, so the same SQL and binds serve both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// The job lifecycle as stored in `jobs.state`.
pub mod state {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
}

const JOB_COLUMNS: &str = "id, project_id, kind, provider, shot_id, character_id, shot_number, recipe_id, \
    recipe_version, state, attempts, provider_task_id, submission, asset_sha256, error_class, \
    error_message, next_attempt_at_ms, cost_estimate, cost, idempotency_key, cancel_requested, \
    created_at_ms, batch_index, updated_at_ms";

/// One row of `jobs`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct JobRecord {
    pub id: String,
    pub project_id: String,
    pub kind: String,
    pub provider: String,
    pub shot_id: Option<String>,
    pub character_id: Option<String>,
    pub shot_number: Option<i64>,
    pub recipe_id: String,
    pub recipe_version: String,
    pub state: String,
    pub attempts: i64,
    /// Set right after the provider accepted the job; a restart polls it.
    pub provider_task_id: Option<String>,
    /// JSON: what was sent (final prompt, the adapter's provenance, reference asset ids).
    pub submission: Option<String>,
    /// Set once the output is in the object store, before it is attached to the document.
    pub asset_sha256: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    /// A queued job is not started before this (Unix ms): a rate-limited job waits here.
    pub next_attempt_at_ms: i64,
    /// USD reserved against the budget while the job may still spend.
    pub cost_estimate: f64,
    /// USD it cost, once it succeeded.
    pub cost: Option<f64>,
    pub idempotency_key: Option<String>,
    pub cancel_requested: i64,
    pub created_at_ms: i64,
    /// Order within one generate request (the storyboard order of its shots).
    pub batch_index: i64,
    pub updated_at_ms: i64,
}

impl JobRecord {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.state.as_str(),
            state::SUCCEEDED | state::FAILED | state::CANCELLED
        )
    }
}

/// How a terminal state is written.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnd<'a> {
    pub state: &'static str,
    pub error_class: Option<&'a str>,
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
        project_id: &str,
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
            .bind(project_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((limit,)) = limit {
                let (spent,): (f64,) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(amount_usd), 0) AS DOUBLE PRECISION) \
                     FROM cost_ledger WHERE project_id = $1",
                )
                .bind(project_id)
                .fetch_one(&mut *tx)
                .await?;
                let (reserved,): (f64,) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(cost_estimate), 0) AS DOUBLE PRECISION) FROM jobs \
                     WHERE project_id = $1 AND state IN ('queued', 'running')",
                )
                .bind(project_id)
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
                .bind(&j.id)
                .bind(&j.project_id)
                .bind(&j.kind)
                .bind(&j.provider)
                .bind(&j.shot_id)
                .bind(&j.character_id)
                .bind(j.shot_number)
                .bind(&j.recipe_id)
                .bind(&j.recipe_version)
                .bind(&j.state)
                .bind(j.attempts)
                .bind(&j.provider_task_id)
                .bind(&j.submission)
                .bind(&j.asset_sha256)
                .bind(&j.error_class)
                .bind(&j.error_message)
                .bind(j.next_attempt_at_ms)
                .bind(j.cost_estimate)
                .bind(j.cost)
                .bind(&j.idempotency_key)
                .bind(j.cancel_requested)
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
        project_id: &str,
        prefix: &str,
    ) -> Result<Vec<JobRecord>> {
        // `substr` instead of LIKE, so that `%` or `_` in a client's key match only themselves.
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 \
             AND substr(idempotency_key, 1, $2) = $3 ORDER BY created_at_ms, batch_index"
        );
        let len = prefix.chars().count() as i32;
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project_id)
                .bind(len)
                .bind(prefix)
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn job(&self, project_id: &str, id: &str) -> Result<Option<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 AND id = $2");
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A project's jobs, oldest first.
    pub async fn project_jobs(&self, project_id: &str) -> Result<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE project_id = $1 ORDER BY created_at_ms, batch_index"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// How many of a project's jobs wait in the queue (announced to collaborators).
    pub async fn queued_jobs(&self, project_id: &str) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE project_id = $1 AND state = 'queued'")
                .bind(project_id)
                .fetch_one(pool)
                .await?
        });
        Ok(n)
    }

    /// Jobs left `running` by a previous process: resumed at start-up.
    pub async fn running_jobs(&self) -> Result<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'running' ORDER BY created_at_ms, batch_index"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
        }))
    }

    /// Moves the oldest due queued job to `running` (counting an attempt) and returns it. The
    /// outer `state = 'queued'` re-check makes two concurrent claimers on Postgres take
    /// different jobs (or none) rather than the same one.
    pub async fn claim_next_job(&self, now_ms: i64) -> Result<Option<JobRecord>> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at_ms = $1 \
             WHERE state = 'queued' AND id = (SELECT id FROM jobs WHERE state = 'queued' \
             AND next_attempt_at_ms <= $1 ORDER BY created_at_ms, batch_index LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        }))
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
        id: &str,
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
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records that the output is in the object store (attaching it to the document is next).
    pub async fn record_output(&self, id: &str, sha256: &str, now_ms: i64) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE jobs SET asset_sha256 = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(sha256)
                .bind(now_ms)
                .bind(id)
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
        id: &str,
        next_attempt_at_ms: i64,
        error_class: &str,
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
            .bind(error_class)
            .bind(error_message)
            .bind(now_ms)
            .bind(id)
            .bind(spent)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Ends a job and, when it cost something, records that in the ledger, atomically.
    pub async fn finish_job(
        &self,
        project_id: &str,
        id: &str,
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
            .bind(end.state)
            .bind(end.error_class)
            .bind(end.error_message)
            .bind(end.cost)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if let Some(cost) = end.cost.filter(|c| *c > 0.0) {
                sqlx::query(
                    "INSERT INTO cost_ledger (job_id, project_id, amount_usd, source, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING",
                )
                .bind(id)
                .bind(project_id)
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
    pub async fn cancel_queued_job(&self, project_id: &str, id: &str, now_ms: i64) -> Result<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, updated_at_ms = $1 \
                 WHERE project_id = $2 AND id = $3 AND state = 'queued'",
            )
            .bind(now_ms)
            .bind(project_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Flags a running job for cancellation (durably, so a restart still cancels it).
    pub async fn request_cancel(&self, project_id: &str, id: &str, now_ms: i64) -> Result<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET cancel_requested = 1, updated_at_ms = $1 \
                 WHERE project_id = $2 AND id = $3 AND state = 'running'",
            )
            .bind(now_ms)
            .bind(project_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn set_budget(&self, project_id: &str, limit_usd: Option<f64>) -> Result<()> {
        let now = super::unix_now();
        on_pool!(self, pool => {
            match limit_usd {
                Some(limit) => {
                    sqlx::query(
                        "INSERT INTO project_budgets (project_id, limit_usd, updated_at) \
                         VALUES ($1, $2, $3) ON CONFLICT (project_id) DO UPDATE \
                         SET limit_usd = excluded.limit_usd, updated_at = excluded.updated_at",
                    )
                    .bind(project_id)
                    .bind(limit)
                    .bind(now)
                    .execute(pool)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM project_budgets WHERE project_id = $1")
                        .bind(project_id)
                        .execute(pool)
                        .await?;
                }
            }
        });
        Ok(())
    }

    pub async fn spending(&self, project_id: &str) -> Result<Spending> {
        on_pool!(self, pool => {
            let limit: Option<(f64,)> =
                sqlx::query_as("SELECT limit_usd FROM project_budgets WHERE project_id = $1")
                    .bind(project_id)
                    .fetch_optional(pool)
                    .await?;
            let (spent,): (f64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(amount_usd), 0) AS DOUBLE PRECISION) \
                 FROM cost_ledger WHERE project_id = $1",
            )
            .bind(project_id)
            .fetch_one(pool)
            .await?;
            let (reserved,): (f64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(cost_estimate), 0) AS DOUBLE PRECISION) FROM jobs \
                 WHERE project_id = $1 AND state IN ('queued', 'running')",
            )
            .bind(project_id)
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
        project_id: &str,
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
            .bind(project_id)
            .bind(provider)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn delete_credential(&self, project_id: &str, provider: &str) -> Result<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("DELETE FROM provider_credentials WHERE project_id = $1 AND provider = $2")
                .bind(project_id)
                .bind(provider)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    pub async fn credential(&self, project_id: &str, provider: &str) -> Result<Option<Sealed>> {
        let row: Option<(Vec<u8>, Vec<u8>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT nonce, ciphertext FROM provider_credentials \
                 WHERE project_id = $1 AND provider = $2",
            )
            .bind(project_id)
            .bind(provider)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(nonce, ciphertext)| Sealed { nonce, ciphertext }))
    }

    /// The providers a project has a key for (never the keys).
    pub async fn credential_providers(&self, project_id: &str) -> Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT provider, updated_at FROM provider_credentials WHERE project_id = $1 \
                 ORDER BY provider",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
