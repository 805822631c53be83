//! Asset records: uploaded and generated files, with provenance.
//!
//! An asset record is written once (by the uploader or by the server after a job) and never
//! edited, so it is stored as one plain value rather than a nested `Y.Map`.

use serde::{Deserialize, Serialize};
use yrs::{Map, Out, ReadTxn, Transact};

use crate::ids::{AssetId, JobId};
use crate::{Error, Project, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Equal to `sha256`: assets are content-addressed.
    pub id: AssetId,
    pub sha256: String,
    pub mime: String,
    pub size: u64,
    /// A human name (the uploaded file's name, or "shot 12 take 3").
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u32>,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub created_at_ms: f64,
    /// How a generated asset was made; `None` for uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Everything needed to understand, reproduce or re-run a generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub provider: String,
    pub model: String,
    pub recipe_id: String,
    pub recipe_version: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Provider-specific parameters as sent (size, steps, duration...).
    #[serde(default)]
    pub parameters: serde_json::Value,
    #[serde(default)]
    pub reference_asset_ids: Vec<AssetId>,
    pub job_id: JobId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// As the provider (or the price table) reported it, in `currency`.
    pub amount: f64,
    pub currency: String,
}

fn invalid(reason: impl ToString) -> Error {
    Error::InvalidValue {
        field: "asset",
        reason: reason.to_string(),
    }
}

impl Project {
    /// Records an asset. Re-adding the same content (same id) replaces the record.
    pub fn add_asset(&self, asset: &Asset) -> Result<()> {
        if asset.id.as_str() != asset.sha256 {
            return Err(invalid("id must equal the sha256 of the content"));
        }
        let value = yrs::encoding::serde::to_any(asset).map_err(invalid)?;
        let mut txn = self.doc.transact_mut();
        self.assets.insert(&mut txn, asset.id.as_str(), value);
        Ok(())
    }

    pub fn asset(&self, id: &AssetId) -> Option<Asset> {
        let txn = self.doc.transact();
        read_asset(self.assets.get(&txn, id.as_str())?)
    }

    /// All assets, newest first.
    pub fn assets(&self) -> Vec<Asset> {
        let txn = self.doc.transact();
        self.assets_in(&txn)
    }

    pub(crate) fn assets_in<T: ReadTxn>(&self, txn: &T) -> Vec<Asset> {
        let mut all: Vec<Asset> = self
            .assets
            .iter(txn)
            .filter_map(|(_, v)| read_asset(v))
            .collect();
        all.sort_by(|a, b| {
            b.created_at_ms
                .total_cmp(&a.created_at_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        all
    }
}

fn read_asset(value: Out) -> Option<Asset> {
    match value {
        Out::Any(any) => yrs::encoding::serde::from_any(&any).ok(),
        _ => None,
    }
}
