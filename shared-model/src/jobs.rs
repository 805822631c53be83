//! Job summaries: what the server's job runner tells every collaborator about generation work.
//! The durable job rows live in the server's database; these records are the shared view.

use serde::{Deserialize, Serialize};
use yrs::{Map, Out, ReadTxn, Transact};

use crate::ids::{CharacterId, JobId, ShotId};
use crate::{Error, Project, Result};

pub use api_types::{JobKind, JobStatus};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: JobId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot_id: Option<ShotId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_id: Option<CharacterId>,
    /// A short, user-facing reason when the job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub updated_at_ms: f64,
}

impl Project {
    /// Writes (or replaces) a job's summary.
    pub fn put_job(&self, job: &JobSummary) -> Result<()> {
        let value = yrs::encoding::serde::to_any(job).map_err(|e| Error::InvalidValue {
            field: "job",
            reason: e.to_string(),
        })?;
        let mut txn = self.doc.transact_mut();
        self.jobs.insert(&mut txn, job.id.as_str(), value);
        Ok(())
    }

    pub fn job(&self, id: &JobId) -> Option<JobSummary> {
        let txn = self.doc.transact();
        read_job(self.jobs.get(&txn, id.as_str())?)
    }

    /// All job summaries, most recently updated first.
    pub fn jobs(&self) -> Vec<JobSummary> {
        let txn = self.doc.transact();
        self.jobs_in(&txn)
    }

    pub(crate) fn jobs_in<T: ReadTxn>(&self, txn: &T) -> Vec<JobSummary> {
        let mut all: Vec<JobSummary> = self
            .jobs
            .iter(txn)
            .filter_map(|(_, v)| read_job(v))
            .collect();
        all.sort_by(|a, b| {
            b.updated_at_ms
                .total_cmp(&a.updated_at_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        all
    }
}

fn read_job(value: Out) -> Option<JobSummary> {
    match value {
        Out::Any(any) => yrs::encoding::serde::from_any(&any).ok(),
        _ => None,
    }
}
