//! One conformance suite, run against every image/video adapter and its fake server (the
//! shape of object_store's `integration.rs`): success, a 429 storm through the retry
//! decorator, 5xx, refusals, expired URLs, stalls, resuming by task id, bad keys and
//! unsupported operations. Each test runs all adapters concurrently and reports every
//! adapter that failed, not just the first.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use provider_adapters::fake::{self, FakeServer, Fault};
use provider_adapters::{
    Error, GenerationProvider, GenerationRequest, Operation, OutputKind, ReferenceImage, Retry,
    RetryConfig, Secret, Size, TaskStatus, generate,
};

type Make = Box<dyn Fn(bool) -> Box<dyn GenerationProvider> + Send + Sync>;

/// One adapter pointed at its fake.
struct Fixture {
    name: &'static str,
    server: FakeServer,
    /// Builds a fresh adapter (as after a restart); `true` gives it a wrong key.
    make: Make,
    request: GenerationRequest,
    /// The provider has a content-policy refusal to map.
    refuses: bool,
    /// Outputs are URLs that can expire (not inline bytes).
    expires: bool,
    /// Jobs outlive the request: submit/poll, resumable by task id.
    resumable: bool,
    /// The provider checks a key (a local ComfyUI has none).
    authenticates: bool,
}

const POLL: Duration = Duration::from_millis(5);

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 5,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    }
}

fn reference() -> ReferenceImage {
    ReferenceImage::png("ref.png", fake::fake_png(32, 18))
}

fn image_request() -> GenerationRequest {
    GenerationRequest {
        prompt: "a misty peach orchard at dawn, three men kneeling".into(),
        size: Some(Size::HD),
        seed: Some(42),
        ..GenerationRequest::default()
    }
}

fn boxed<P: GenerationProvider + 'static>(
    p: provider_adapters::Result<P>,
) -> Box<dyn GenerationProvider> {
    Box::new(p.expect("adapter config is valid"))
}

/// Which of the suite's fault cases apply to an adapter.
#[derive(Clone, Copy)]
struct Traits {
    refuses: bool,
    expires: bool,
    resumable: bool,
    authenticates: bool,
}

/// Synchronous providers that return images inline.
const SYNC_INLINE: Traits = Traits {
    refuses: true,
    expires: false,
    resumable: false,
    authenticates: true,
};
/// Submit/poll providers whose results are URLs.
const ASYNC: Traits = Traits {
    refuses: true,
    expires: true,
    resumable: true,
    authenticates: true,
};
/// A local ComfyUI: submit/poll with expiring files, but no key and no content policy.
const LOCAL: Traits = Traits {
    refuses: false,
    expires: true,
    resumable: true,
    authenticates: false,
};

fn fixture<C, P>(
    name: &'static str,
    server: FakeServer,
    config: C,
    break_key: fn(&mut C),
    new: fn(C) -> provider_adapters::Result<P>,
    request: GenerationRequest,
    traits: Traits,
) -> Fixture
where
    C: Clone + Send + Sync + 'static,
    P: GenerationProvider + 'static,
{
    Fixture {
        name,
        server,
        make: Box::new(move |bad| {
            let mut c = config.clone();
            if bad {
                break_key(&mut c);
            }
            boxed(new(c))
        }),
        request,
        refuses: traits.refuses,
        expires: traits.expires,
        resumable: traits.resumable,
        authenticates: traits.authenticates,
    }
}

fn wrong() -> Secret {
    Secret::new("sk-wrong")
}

async fn fixtures() -> Vec<Fixture> {
    use provider_adapters::comfyui::ComfyUi;
    use provider_adapters::dashscope::DashScope;
    use provider_adapters::fal::Fal;
    use provider_adapters::gemini::Gemini;
    use provider_adapters::kling::Kling;
    use provider_adapters::openai_images::OpenAiImages;
    use provider_adapters::openai_videos::OpenAiVideos;
    use provider_adapters::replicate::Replicate;
    use provider_adapters::runway::Runway;

    let edit = image_request()
        .with_operation(Operation::ImageEdit)
        .with_reference(reference())
        .with_reference(reference());
    let image_to_video = GenerationRequest {
        duration_s: Some(5),
        ..image_request()
            .with_operation(Operation::ImageToVideo)
            .with_reference(reference())
    };
    let mut all = Vec::new();

    let f = fake::FakeOpenAiImages::start().await;
    let c = f.config();
    all.push(fixture(
        "openai-images",
        f.into_inner(),
        c,
        |c| c.api_key = wrong(),
        OpenAiImages::new,
        edit.clone(),
        SYNC_INLINE,
    ));

    let f = fake::FakeOpenAiVideos::start().await;
    let c = f.config();
    all.push(fixture(
        "openai-videos",
        f.into_inner(),
        c,
        |c| c.api_key = wrong(),
        OpenAiVideos::new,
        image_to_video.clone(),
        ASYNC,
    ));

    let f = fake::FakeGemini::start().await;
    let c = f.config();
    all.push(fixture(
        "gemini",
        f.into_inner(),
        c,
        |c| c.api_key = wrong(),
        Gemini::new,
        edit.clone(),
        SYNC_INLINE,
    ));

    let f = fake::FakeKling::start().await;
    let c = f.config();
    all.push(fixture(
        "kling",
        f.into_inner(),
        c,
        |c| c.secret_key = wrong(),
        Kling::new,
        image_to_video.clone(),
        ASYNC,
    ));

    let f = fake::FakeRunway::start().await;
    let c = f.config();
    all.push(fixture(
        "runway",
        f.into_inner(),
        c,
        |c| c.api_key = wrong(),
        Runway::new,
        image_to_video.clone(),
        ASYNC,
    ));

    let f = fake::FakeDashScope::start().await;
    let c = f.config();
    all.push(fixture(
        "dashscope",
        f.into_inner(),
        c,
        |c| c.api_key = wrong(),
        DashScope::new,
        image_request(),
        ASYNC,
    ));

    let f = fake::FakeFal::start().await;
    let c = f.config();
    all.push(fixture(
        "fal",
        f.into_inner(),
        c,
        |c| c.api_key = wrong(),
        Fal::new,
        edit.clone(),
        ASYNC,
    ));

    let f = fake::FakeReplicate::start().await;
    let c = f.config();
    all.push(fixture(
        "replicate",
        f.into_inner(),
        c,
        |c| c.api_token = wrong(),
        Replicate::new,
        image_request(),
        ASYNC,
    ));

    // The recorded "load an uploaded image" run: LoadImage -> ImageInvert -> SaveImage, with
    // the uploaded reference bound into the LoadImage node.
    let mut comfy = image_request()
        .with_operation(Operation::ImageEdit)
        .with_reference(reference());
    comfy.extra.insert(
        "workflow".into(),
        serde_json::json!({
            "graph": {
                "1": {"class_type": "LoadImage", "inputs": {"image": ""}},
                "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "roundtrip"}}
            },
            "bindings": {"1.image": "reference.0"}
        }),
    );
    let f = fake::FakeComfyUi::start().await;
    let c = f.config();
    all.push(fixture(
        "comfyui",
        f.into_inner(),
        c,
        |_| {},
        ComfyUi::new,
        comfy,
        LOCAL,
    ));

    all
}

type Check<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Runs `check` against every fixture at once and fails listing every adapter that failed.
async fn for_each_adapter(check: for<'a> fn(&'a Fixture) -> Check<'a>) {
    let fixtures = fixtures().await;
    let results = futures_util::future::join_all(
        fixtures
            .iter()
            .map(|f| async move { (f.name, check(f).await) }),
    )
    .await;
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(name, r)| r.err().map(|e| format!("{name}: {e:#}")))
        .collect();
    assert!(
        failures.is_empty(),
        "failed adapters:\n{}",
        failures.join("\n")
    );
}

/// Polls until the status is terminal (bounded).
async fn wait(
    provider: &dyn GenerationProvider,
    task: &provider_adapters::TaskId,
) -> anyhow::Result<TaskStatus> {
    for _ in 0..200 {
        let status = provider.poll(task).await?;
        if status.is_terminal() {
            return Ok(status);
        }
        tokio::time::sleep(POLL).await;
    }
    bail!("task {task} did not finish")
}

#[tokio::test]
async fn every_adapter_generates() {
    for_each_adapter(|f| {
        Box::pin(async move {
            let provider = (f.make)(false);
            let generation = generate(&*provider, &f.request, POLL).await?;
            ensure!(!generation.outputs.is_empty(), "no outputs");
            for output in &generation.outputs {
                let want = match output.kind {
                    OutputKind::Image => "image/png",
                    OutputKind::Video => "video/mp4",
                };
                ensure!(
                    output.mime == want,
                    "mime {} for {:?}",
                    output.mime,
                    output.kind
                );
                ensure!(
                    output.kind == OutputKind::Video || output.width.is_some_and(|w| w > 0),
                    "image without dimensions"
                );
                ensure!(
                    (output.kind == OutputKind::Video) == f.request.operation.produces_video(),
                    "wrong output kind"
                );
            }
            ensure!(generation.provenance.provider == provider.name());
            ensure!(
                !generation.provenance.model.is_empty(),
                "no model in provenance"
            );
            ensure!(
                f.server.submissions() == 1,
                "{} submissions",
                f.server.submissions()
            );
            if f.resumable {
                ensure!(f.server.polls() >= 1, "never polled");
            }
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn a_429_storm_ends_in_success_through_the_retry_decorator() {
    for_each_adapter(|f| {
        Box::pin(async move {
            f.server.inject(Fault::RateLimit {
                times: 3,
                retry_after_secs: Some(0),
            });
            let provider = Retry::new((f.make)(false), fast_retry());
            generate(&provider, &f.request, POLL).await?;
            ensure!(
                f.server.rate_limited() == 3,
                "{} 429s",
                f.server.rate_limited()
            );
            ensure!(
                f.server.submissions() == 1,
                "submitted {} times",
                f.server.submissions()
            );
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn rate_limits_without_retry_report_retry_after() {
    for_each_adapter(|f| {
        Box::pin(async move {
            f.server.inject(Fault::RateLimit {
                times: 1,
                retry_after_secs: Some(7),
            });
            let err = (f.make)(false).submit(&f.request).await.err().context("no error")?;
            ensure!(
                matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
                "got {err:?}"
            );
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_provider_errors_and_never_resubmitted() {
    for_each_adapter(|f| {
        Box::pin(async move {
            f.server.inject(Fault::ServerError { times: 1 });
            // Through the retry decorator: a 5xx on submit may hide an accepted job, so it is
            // passed on rather than retried.
            let provider = Retry::new((f.make)(false), fast_retry());
            let err = provider
                .submit(&f.request)
                .await
                .err()
                .context("no error")?;
            ensure!(
                matches!(
                    err,
                    Error::Provider {
                        status: Some(500),
                        ..
                    }
                ),
                "got {err:?}"
            );
            ensure!(f.server.submissions() == 0);
            if f.resumable {
                // Polls are idempotent: a 5xx there is retried.
                let handle = provider.submit(&f.request).await?;
                f.server.inject(Fault::ServerError { times: 2 });
                let status = provider.poll(&handle.task_id).await?;
                ensure!(!matches!(status, TaskStatus::Failed { .. }), "{status:?}");
            }
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn refusals_are_content_policy_errors_with_the_reason() {
    for_each_adapter(|f| {
        Box::pin(async move {
            if !f.refuses {
                return Ok(());
            }
            f.server.inject(Fault::Refuse);
            let err = generate(&*(f.make)(false), &f.request, POLL)
                .await
                .err()
                .context("a refused job succeeded")?;
            match err {
                Error::ContentPolicy { reason, .. } => {
                    ensure!(!reason.trim().is_empty(), "empty reason")
                }
                other => bail!("got {other:?}"),
            }
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn expired_result_urls_are_expired_errors() {
    for_each_adapter(|f| {
        Box::pin(async move {
            if !f.expires {
                return Ok(());
            }
            let provider = (f.make)(false);
            let handle = provider.submit(&f.request).await?;
            let status = match handle.status {
                s if s.is_terminal() => s,
                _ => wait(&*provider, &handle.task_id).await?,
            };
            let TaskStatus::Succeeded { outputs, .. } = status else {
                bail!("job did not succeed: {status:?}");
            };
            f.server.inject(Fault::ExpireOutputs);
            let err = provider
                .fetch(&outputs[0])
                .await
                .err()
                .context("expired url downloaded")?;
            ensure!(matches!(err, Error::Expired { .. }), "got {err:?}");
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn stalled_connections_time_out() {
    for_each_adapter(|f| {
        Box::pin(async move {
            f.server.inject(Fault::Stall);
            let started = Instant::now();
            let err = (f.make)(false)
                .submit(&f.request)
                .await
                .err()
                .context("no error")?;
            ensure!(matches!(err, Error::Timeout { .. }), "got {err:?}");
            ensure!(
                started.elapsed() < Duration::from_secs(5),
                "took {:?}",
                started.elapsed()
            );
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn jobs_resume_by_task_id_without_a_second_submission() {
    for_each_adapter(|f| {
        Box::pin(async move {
            if !f.resumable {
                return Ok(());
            }
            let task_id = {
                let first = (f.make)(false);
                let handle = first.submit(&f.request).await?;
                ensure!(!handle.status.is_terminal(), "finished in submit");
                handle.task_id
                // `first` is dropped here, as in a crash.
            };
            let persisted = serde_json::to_string(&task_id)?;
            let task_id = serde_json::from_str(&persisted)?;
            let second = (f.make)(false);
            let TaskStatus::Succeeded { outputs, .. } = wait(&*second, &task_id).await? else {
                bail!("resumed job did not succeed");
            };
            second.fetch(&outputs[0]).await?;
            ensure!(
                f.server.submissions() == 1,
                "submitted {} times",
                f.server.submissions()
            );
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn wrong_keys_are_auth_errors_that_do_not_leak_keys() {
    for_each_adapter(|f| {
        Box::pin(async move {
            if !f.authenticates {
                return Ok(());
            }
            let provider = (f.make)(true);
            let err = provider
                .submit(&f.request)
                .await
                .err()
                .context("accepted a wrong key")?;
            ensure!(matches!(err, Error::Auth { .. }), "got {err:?}");
            let good = (f.make)(false);
            for text in [
                format!("{err}"),
                format!("{err:?}"),
                format!("{good:?}"),
                format!("{provider:?}"),
            ] {
                ensure!(!text.contains(fake::FAKE_KEY), "key leaked: {text}");
                ensure!(!text.contains("sk-wrong"), "key leaked: {text}");
            }
            Ok(())
        })
    })
    .await;
}

#[tokio::test]
async fn unsupported_operations_say_so() {
    for_each_adapter(|f| {
        Box::pin(async move {
            let provider = (f.make)(false);
            for op in Operation::ALL {
                if provider.supports(op) || op == Operation::ChatJson {
                    continue;
                }
                let request = f.request.clone().with_operation(op);
                match provider.submit(&request).await {
                    Err(Error::NotSupported {
                        operation,
                        provider: p,
                    }) => {
                        ensure!(operation == op.as_str() && p == provider.name());
                    }
                    other => bail!("{op}: got {other:?}"),
                }
            }
            let err = provider
                .chat_json(&provider_adapters::ChatRequest::new("s", "u"), &|_| Ok(()))
                .await
                .err()
                .context("chat worked")?;
            ensure!(matches!(err, Error::NotSupported { .. }));
            ensure!(f.server.submissions() == 0);
            Ok(())
        })
    })
    .await;
}
