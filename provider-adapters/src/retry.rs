//! [`Retry`]: exponential backoff with jitter, honouring `retry-after`, around any provider.

use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;

use crate::{
    ChatRequest, ChatResponse, Error, GenerationProvider, GenerationRequest, JsonCheck, Output,
    OutputRef, ProviderSpec, Result, TaskHandle, TaskId, TaskStatus,
};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; it doubles with every retry up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A provider asking for a longer wait than this gets its error passed on instead: the
    /// runner can park the job rather than hold a task for minutes.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Retries failed calls that are safe to repeat.
///
/// - `poll`, `cancel` and `fetch` are idempotent: retried on every transient error
///   ([`Error::is_transient`]: rate limits, 5xx, timeouts, connection failures).
/// - `submit` starts a paid job: retried only when the provider certainly did not accept the
///   first attempt ([`Error::is_safe_to_resubmit`]: a 429 or no connection). A 5xx or a
///   timeout after the request went out may hide an accepted job, so it is passed on and the
///   runner decides, knowing the job's history.
/// - `chat_json` has no lasting effect at the provider (nothing to poll or bill twice but the
///   tokens of a lost answer), so it is retried like `poll`.
#[derive(Debug)]
pub struct Retry<P> {
    inner: P,
    config: RetryConfig,
}

impl<P: GenerationProvider> Retry<P> {
    pub fn new(inner: P, config: RetryConfig) -> Self {
        Retry { inner, config }
    }

    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// How long to wait before retry number `attempt` (0-based), or `None` to give up.
    fn delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        if attempt >= self.config.max_retries {
            return None;
        }
        if let Some(after) = error.retry_after() {
            return (after <= self.config.max_retry_after).then_some(after);
        }
        let exp = self
            .config
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .min(self.config.max_delay);
        // "Equal jitter": half fixed, half random, so that many jobs throttled together do
        // not come back in lockstep, yet each still waits a fair share.
        let half = exp / 2;
        let jitter = rand::rng().random_range(0.0..=1.0);
        Some(half + half.mul_f64(jitter))
    }

    async fn run<T, F, Fut>(&self, retryable: fn(&Error) -> bool, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) => {
                    let Some(wait) = retryable(&error)
                        .then(|| self.delay(attempt, &error))
                        .flatten()
                    else {
                        return Err(error);
                    };
                    tracing::debug!(provider = self.inner.name(), %error, ?wait, attempt, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[async_trait]
impl<P: GenerationProvider> GenerationProvider for Retry<P> {
    fn spec(&self) -> &ProviderSpec {
        self.inner.spec()
    }
    fn models(&self) -> &[String] {
        self.inner.models()
    }
    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        self.run(Error::is_safe_to_resubmit, || self.inner.submit(request))
            .await
    }
    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        self.run(Error::is_transient, || self.inner.poll(task))
            .await
    }
    async fn cancel(&self, task: &TaskId) -> Result<()> {
        self.run(Error::is_transient, || self.inner.cancel(task))
            .await
    }
    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        self.run(Error::is_transient, || self.inner.fetch(output))
            .await
    }
    async fn chat_json(
        &self,
        request: &ChatRequest,
        check: &JsonCheck<'_>,
    ) -> Result<ChatResponse> {
        self.run(Error::is_transient, || self.inner.chat_json(request, check))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offline::{OfflineConfig, OfflineRenderer};

    fn retry(config: RetryConfig) -> Retry<OfflineRenderer> {
        Retry::new(OfflineRenderer::new(OfflineConfig::default()), config)
    }

    fn limited(after: Option<Duration>) -> Error {
        Error::RateLimited {
            provider: "p".into(),
            retry_after: after,
            message: String::new(),
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops() {
        let r = retry(RetryConfig {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(1),
        });
        let e = limited(None);
        for (attempt, full) in [(0, 100), (1, 200), (2, 300)] {
            let d = r.delay(attempt, &e).map(|d| d.as_millis());
            let full = full as u128;
            assert!(
                d.is_some_and(|d| d >= full / 2 && d <= full),
                "attempt {attempt}: {d:?}"
            );
        }
        assert_eq!(r.delay(3, &e), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let r = retry(RetryConfig {
            max_retry_after: Duration::from_secs(10),
            ..RetryConfig::default()
        });
        assert_eq!(
            r.delay(0, &limited(Some(Duration::from_secs(7)))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(r.delay(0, &limited(Some(Duration::from_secs(11)))), None);
    }
}
