//! The [`GenerationProvider`] trait and a helper that drives one job to the end.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::{
    ChatRequest, ChatResponse, Error, GenerationRequest, JsonCheck, Operation, Output, OutputRef,
    Provenance, ProviderSpec, Result, TaskId, TaskStatus, Usage,
};

/// A generation backend: one per provider, plus decorators that wrap another provider.
///
/// Long-running providers are submit/poll: [`submit`](Self::submit) returns as soon as the
/// provider has accepted the job, with a [`TaskId`] the caller persists; [`poll`](Self::poll)
/// with that id works from any instance with the same configuration, including one created
/// after a restart. Synchronous providers finish inside `submit` and return a terminal status.
/// Finished outputs are references: [`fetch`](Self::fetch) downloads them, at once, because
/// provider URLs expire.
///
/// Every method a provider cannot do returns [`Error::NotSupported`].
#[async_trait]
pub trait GenerationProvider: Debug + Send + Sync {
    /// What the provider is and can do: its name, operations and limits, as data
    /// ([`crate::registry`]).
    fn spec(&self) -> &ProviderSpec;

    /// Stable name for provenance and errors, e.g. `openai-images`.
    fn name(&self) -> &str {
        self.spec().name
    }

    fn operations(&self) -> &[Operation] {
        self.spec().operations
    }

    /// The configured models, default first.
    fn models(&self) -> &[String];

    fn supports(&self, operation: Operation) -> bool {
        self.operations().contains(&operation)
    }

    /// Starts a job. Not idempotent: never call it twice for one job unless the first call
    /// failed with an error for which [`Error::is_safe_to_resubmit`] holds.
    async fn submit(&self, request: &GenerationRequest) -> Result<crate::TaskHandle> {
        Err(Error::not_supported(
            self.name(),
            request.operation.as_str(),
        ))
    }

    /// The job's current state. Idempotent.
    async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
        let _ = task;
        Err(Error::not_supported(self.name(), "poll"))
    }

    /// Asks the provider to stop the job. Idempotent; a finished job stays finished.
    async fn cancel(&self, task: &TaskId) -> Result<()> {
        let _ = task;
        Err(Error::not_supported(self.name(), "cancel"))
    }

    /// Downloads one output. Idempotent until the provider expires the URL
    /// ([`Error::Expired`]).
    async fn fetch(&self, output: &OutputRef) -> Result<Output>;

    /// A chat completion parsed as JSON and accepted by `check`, repairing and re-asking as
    /// needed.
    async fn chat_json(
        &self,
        request: &ChatRequest,
        check: &JsonCheck<'_>,
    ) -> Result<ChatResponse> {
        let _ = (request, check);
        Err(Error::not_supported(
            self.name(),
            Operation::ChatJson.as_str(),
        ))
    }
}

macro_rules! forward_provider {
    ($ty:ty) => {
        #[async_trait]
        impl<T: GenerationProvider + ?Sized> GenerationProvider for $ty {
            fn spec(&self) -> &ProviderSpec {
                (**self).spec()
            }
            fn models(&self) -> &[String] {
                (**self).models()
            }
            async fn submit(&self, request: &GenerationRequest) -> Result<crate::TaskHandle> {
                (**self).submit(request).await
            }
            async fn poll(&self, task: &TaskId) -> Result<TaskStatus> {
                (**self).poll(task).await
            }
            async fn cancel(&self, task: &TaskId) -> Result<()> {
                (**self).cancel(task).await
            }
            async fn fetch(&self, output: &OutputRef) -> Result<Output> {
                (**self).fetch(output).await
            }
            async fn chat_json(
                &self,
                request: &ChatRequest,
                check: &JsonCheck<'_>,
            ) -> Result<ChatResponse> {
                (**self).chat_json(request, check).await
            }
        }
    };
}

forward_provider!(Box<T>);
forward_provider!(Arc<T>);

/// A finished job with its outputs downloaded.
#[derive(Debug, Clone)]
pub struct Generation {
    pub task_id: TaskId,
    pub outputs: Vec<Output>,
    pub usage: Option<Usage>,
    pub provenance: Provenance,
}

/// Submits, polls until done and downloads every output: the whole job in one call, for
/// tools, tests and benchmarks. The job runner does the same steps itself so that it can
/// persist the task id between them.
pub async fn generate(
    provider: &dyn GenerationProvider,
    request: &GenerationRequest,
    poll_interval: Duration,
) -> Result<Generation> {
    let handle = provider.submit(request).await?;
    let mut status = handle.status;
    while !status.is_terminal() {
        // Even a zero sleep waits for the timer's next millisecond tick.
        if !poll_interval.is_zero() {
            tokio::time::sleep(poll_interval).await;
        }
        status = provider.poll(&handle.task_id).await?;
    }
    match status {
        TaskStatus::Succeeded { outputs, usage } => {
            let mut fetched = Vec::with_capacity(outputs.len());
            for output in &outputs {
                fetched.push(provider.fetch(output).await?);
            }
            Ok(Generation {
                task_id: handle.task_id,
                outputs: fetched,
                usage,
                provenance: handle.provenance,
            })
        }
        TaskStatus::Failed { error } => Err(error),
        TaskStatus::Cancelled => Err(Error::Provider {
            provider: provider.name().to_owned(),
            status: None,
            message: "the job was cancelled".into(),
        }),
        TaskStatus::Queued | TaskStatus::Running { .. } => unreachable!("loop ends on terminal"),
    }
}
