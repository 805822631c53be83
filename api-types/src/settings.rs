//! A project's provider keys and budget: `.../credentials`, `.../budget`.

use serde::{Deserialize, Serialize};

/// Which provider has a key (never the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub provider: String,
    /// Unix seconds.
    pub updated_at: i64,
}

/// `GET /api/projects/{id}/credentials`: `{"credentials": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub credentials: Vec<CredentialInfo>,
}

/// `PUT /api/projects/{id}/credentials/{provider}`: `{"key": "..."}`. The key's type is the
/// caller's choice (the server reads it into a secret type, a client sends a `&str`); `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetCredential<K = String> {
    pub key: K,
}

impl<K> std::fmt::Debug for SetCredential<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetCredential")
            .field("key", &"<redacted>")
            .finish()
    }
}

/// `GET /api/projects/{id}/budget`, and the answer to a `PUT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// USD; `None` for no limit.
    pub limit_usd: Option<f64>,
    pub spent_usd: f64,
    /// Estimates of queued and running jobs, held against the limit.
    pub reserved_usd: f64,
    /// The version of the price table estimates come from.
    #[serde(default)]
    pub price_table: String,
}

/// `PUT /api/projects/{id}/budget` (owners only): `{"limit_usd": number | null}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetLimit {
    pub limit_usd: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_never_shows_in_debug_output() {
        let body = SetCredential {
            key: "sk-live-secret",
        };
        assert!(!format!("{body:?}").contains("sk-live"));
        assert_eq!(
            serde_json::to_string(&body).unwrap_or_default(),
            r#"{"key":"sk-live-secret"}"#
        );
    }

    #[test]
    fn a_budget_limit_may_be_null_or_absent() {
        for json in [r#"{"limit_usd":null}"#, "{}"] {
            let limit: BudgetLimit = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(limit.limit_usd, None, "{json}");
        }
        let limit: BudgetLimit =
            serde_json::from_str(r#"{"limit_usd":2.5}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(limit.limit_usd, Some(2.5));
    }
}
