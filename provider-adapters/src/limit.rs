//! [`ConcurrencyLimit`]: at most N calls in flight to one provider.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{
    ChatRequest, ChatResponse, Error, GenerationProvider, GenerationRequest, JsonCheck, Output,
    OutputRef, ProviderSpec, Result, TaskHandle, TaskId, TaskStatus,
};

/// Bounds the calls in flight to the wrapped provider, so that a "generate all" of a thousand
/// shots does not open a thousand connections to a local ComfyUI or trip a provider's
/// concurrency limit (Kling 1303).
///
/// For synchronous providers a call is a whole job, so this bounds jobs. For submit/poll
/// providers it bounds requests; how many jobs may run at the provider at once is the job
/// runner's decision, because only it knows which persisted jobs are still running. Put it
/// inside [`Retry`](crate::Retry) (`Retry::new(ConcurrencyLimit::new(p, n), ..)`) so that
/// backoff sleeps do not hold a permit.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit<P> {
    inner: P,
    /// One permit per call that may be in flight to `inner`; shared by clones.
    permits: Arc<Semaphore>,
}

impl<P: GenerationProvider> ConcurrencyLimit<P> {
    pub fn new(inner: P, max_in_flight: usize) -> Self {
        ConcurrencyLimit {
            inner,
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    async fn permit(&self) -> Result<SemaphorePermit<'_>> {
        // The semaphore is never closed, so this fails only if that invariant breaks.
        self.permits.acquire().await.map_err(|_| Error::Provider {
            provider: self.inner.name().to_owned(),
            status: None,
            message: "concurrency limiter closed".into(),
        })
    }
}

#[async_trait]
impl<P: GenerationProvider> GenerationProvider for ConcurrencyLimit<P> {
    fn spec(&self) -> &ProviderSpec {
        self.inner.spec()
    }
    fn models(&self) -> &[String] {
        self.inner.models()
    }
    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        let _permit = self.permit().await?;
        self.inner.submit(request).await
    }
    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let _permit = self.permit().await?;
        self.inner.poll(task).await
    }
    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let _permit = self.permit().await?;
        self.inner.cancel(task).await
    }
    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        let _permit = self.permit().await?;
        self.inner.fetch(output).await
    }
    async fn chat_json(
        &self,
        request: &ChatRequest,
        check: &JsonCheck<'_>,
    ) -> Result<ChatResponse> {
        let _permit = self.permit().await?;
        self.inner.chat_json(request, check).await
    }
}
