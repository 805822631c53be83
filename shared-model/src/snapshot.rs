//! A plain serde view of the whole project, for exports, debugging and convergence checks.

use serde::{Deserialize, Serialize};
use yrs::{GetString, Transact};

use crate::{Asset, Character, JobSummary, Meta, Project, Scene, Shot};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSnapshot {
    pub meta: Meta,
    pub script: String,
    /// In storyboard order.
    pub scenes: Vec<Scene>,
    /// In storyboard order.
    pub shots: Vec<Shot>,
    pub characters: Vec<Character>,
    pub assets: Vec<Asset>,
    pub jobs: Vec<JobSummary>,
}

impl Project {
    /// Reads everything in one read transaction, so the snapshot is consistent.
    pub fn snapshot(&self) -> ProjectSnapshot {
        let meta = self.meta();
        let txn = self.doc.transact();
        ProjectSnapshot {
            meta,
            script: self.script.get_string(&txn),
            scenes: self.scenes_in(&txn),
            shots: self.shots_in(&txn),
            characters: self.characters_in(&txn),
            assets: self.assets_in(&txn),
            jobs: self.jobs_in(&txn),
        }
    }

    /// The snapshot as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.snapshot()).unwrap_or_else(|e| {
            // Serialising plain structs of strings and numbers cannot fail; say so loudly if
            // it ever does instead of returning a half document.
            format!("{{\"error\":\"snapshot serialisation failed: {e}\"}}")
        })
    }
}
