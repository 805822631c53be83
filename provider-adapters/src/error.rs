//! The one error taxonomy every adapter maps its provider's failures into.

use std::time::Duration;

use crate::Usage;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a provider call failed, in terms the job runner can act on.
///
/// Every variant carries only text the adapter has already scrubbed of its credentials, so an
/// `Error` can be logged, stored in a job row or shown to a user as it is. It is `Clone` so that
/// a failed task can report the same error to every poller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{provider}: authentication failed: {message}")]
    Auth { provider: String, message: String },

    #[error("{provider}: insufficient balance or quota: {message}")]
    Balance { provider: String, message: String },

    #[error("{provider}: rate limited{}: {message}", fmt_retry_after(*.retry_after))]
    RateLimited {
        provider: String,
        retry_after: Option<Duration>,
        message: String,
    },

    #[error("{provider}: invalid input: {message}")]
    InvalidInput { provider: String, message: String },

    #[error("{provider}: refused by content policy: {reason}")]
    ContentPolicy { provider: String, reason: String },

    /// The provider failed on its side (a 5xx, a failed task, a response we cannot read).
    #[error("{provider}: provider error{}: {message}", fmt_status(*.status))]
    Provider {
        provider: String,
        status: Option<u16>,
        message: String,
    },

    /// No connection could be made, so the request was certainly not received.
    #[error("{provider}: cannot connect: {message}")]
    Unreachable { provider: String, message: String },

    /// A result URL or task the provider no longer has.
    #[error("{provider}: expired or unknown: {message}")]
    Expired { provider: String, message: String },

    #[error("{provider}: {operation} timed out after {:.1}s", after.as_secs_f64())]
    Timeout {
        provider: String,
        operation: &'static str,
        after: Duration,
    },

    #[error("{provider} does not support {operation}")]
    NotSupported {
        operation: &'static str,
        provider: String,
    },

    /// A chat model kept answering with JSON that failed the caller's check.
    #[error(
        "{provider}: the model's answer failed validation after {attempts} attempts: {message}"
    )]
    InvalidOutput {
        provider: String,
        attempts: u32,
        message: String,
        /// What the rejected answers used: the provider bills them all the same.
        usage: Box<Usage>,
    },

    #[error("invalid configuration: {0}")]
    Config(String),
}

fn fmt_retry_after(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64()))
        .unwrap_or_default()
}

fn fmt_status(status: Option<u16>) -> String {
    status.map(|s| format!(" (http {s})")).unwrap_or_default()
}

/// The error's class as stored in a job row (`error_class`): the one wire vocabulary of
/// `api_types`, of which adapters use the provider classes.
pub use api_types::ErrorClass;

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Auth { .. } => ErrorClass::Auth,
            Error::Balance { .. } => ErrorClass::Balance,
            Error::RateLimited { .. } => ErrorClass::RateLimited,
            Error::InvalidInput { .. } => ErrorClass::InvalidInput,
            Error::ContentPolicy { .. } => ErrorClass::ContentPolicy,
            Error::Provider { .. } => ErrorClass::Provider,
            Error::Unreachable { .. } => ErrorClass::Unreachable,
            Error::Expired { .. } => ErrorClass::Expired,
            Error::Timeout { .. } => ErrorClass::Timeout,
            Error::NotSupported { .. } => ErrorClass::NotSupported,
            Error::InvalidOutput { .. } => ErrorClass::InvalidOutput,
            Error::Config(_) => ErrorClass::Config,
        }
    }

    /// How long the provider asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth trying the same idempotent call again (a poll, a download, a cancel).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Unreachable { .. } | Error::Timeout { .. } => true,
            Error::Provider { status, .. } => status.is_none_or(|s| s >= 500),
            _ => false,
        }
    }

    /// Safe to send a *submission* again: the provider certainly did not accept the first one,
    /// so a second cannot start (and bill) a second job. A 429 is a refusal before any work; an
    /// unreachable host never saw the request. A 5xx or a timeout may have come after the job
    /// was created, so those are not safe.
    pub fn is_safe_to_resubmit(&self) -> bool {
        matches!(self, Error::RateLimited { .. } | Error::Unreachable { .. })
    }

    pub(crate) fn not_supported(provider: &str, operation: &'static str) -> Self {
        Error::NotSupported {
            operation,
            provider: provider.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_carry_the_retry_hint() {
        let e = Error::RateLimited {
            provider: "kling".into(),
            retry_after: Some(Duration::from_secs(3)),
            message: "too many requests".into(),
        };
        assert_eq!(
            e.to_string(),
            "kling: rate limited (retry after 3.0s): too many requests"
        );
        let e = Error::not_supported("runway", "text_to_image");
        assert_eq!(e.to_string(), "runway does not support text_to_image");
    }

    #[test]
    fn only_refusals_before_work_are_safe_to_resubmit() {
        let server = Error::Provider {
            provider: "p".into(),
            status: Some(502),
            message: String::new(),
        };
        assert!(server.is_transient());
        assert!(!server.is_safe_to_resubmit());
        let timeout = Error::Timeout {
            provider: "p".into(),
            operation: "submit",
            after: Duration::from_secs(1),
        };
        assert!(!timeout.is_safe_to_resubmit());
        let bad = Error::Provider {
            provider: "p".into(),
            status: Some(404),
            message: String::new(),
        };
        assert!(!bad.is_transient());
    }
}
