//! Adapter-specific behaviour the shared conformance suite does not cover: what goes on the
//! wire, ComfyUI's progress and failures, cancellation, and the decorators.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_trait::async_trait;
use provider_adapters::comfyui::ComfyUi;
use provider_adapters::fake::{self, Fault};
use provider_adapters::{
    ConcurrencyLimit, Error, GenerationProvider, GenerationRequest, Operation, Output, OutputRef,
    ProviderSpec, ReferenceImage, Retry, RetryConfig, TaskHandle, TaskId, TaskStatus, generate,
};
use serde_json::json;

const POLL: Duration = Duration::from_millis(5);

fn reference(name: &str) -> ReferenceImage {
    ReferenceImage::png(name, fake::fake_png(16, 9))
}

async fn wait(
    p: &dyn GenerationProvider,
    task: &TaskId,
) -> anyhow::Result<(TaskStatus, Vec<TaskStatus>)> {
    let mut seen = Vec::new();
    for _ in 0..400 {
        let status = p.poll(task).await?;
        if status.is_terminal() {
            return Ok((status, seen));
        }
        seen.push(status);
        tokio::time::sleep(POLL).await;
    }
    bail!("task {task} did not finish")
}

#[tokio::test]
async fn openai_edits_send_every_reference_as_image_array() -> anyhow::Result<()> {
    let fake = fake::FakeOpenAiImages::start().await;
    let p = provider_adapters::openai_images::OpenAiImages::new(fake.config())?;
    let request = GenerationRequest::text_to_image("two brothers")
        .with_operation(Operation::ImageEdit)
        .with_reference(reference("a.png"))
        .with_reference(reference("b.png"))
        .with_reference(reference("c.png"));
    let g = generate(&p, &request, POLL).await?;
    let sent = fake.last_request().context("nothing sent")?;
    assert_eq!(sent["image[]"].as_array().map(Vec::len), Some(3));
    assert_eq!(sent["size"], "1536x1024", "16:9 maps to the landscape size");
    assert_eq!(g.provenance.parameters["references"], 3);
    assert_eq!(g.usage.and_then(|u| u.total_tokens), Some(4210));
    Ok(())
}

#[tokio::test]
async fn gemini_sends_references_inline_and_asks_for_16_9() -> anyhow::Result<()> {
    let fake = fake::FakeGemini::start().await;
    let p = provider_adapters::gemini::Gemini::new(fake.config())?;
    let request = GenerationRequest::text_to_image("a frame")
        .with_operation(Operation::ImageEdit)
        .with_reference(reference("a.png"))
        .with_reference(reference("b.png"));
    let g = generate(&p, &request, POLL).await?;
    let sent = fake.last_request().context("nothing sent")?;
    assert_eq!(sent["references"], 2);
    assert_eq!(sent["model"], "gemini-3.1-flash-image");
    assert_eq!(
        sent["generationConfig"]["imageConfig"]["aspectRatio"],
        "16:9"
    );
    assert_eq!(
        (g.outputs[0].width, g.outputs[0].height),
        (Some(64), Some(36))
    );
    Ok(())
}

#[tokio::test]
async fn kling_text_to_video_reports_duration_and_polls_its_endpoint() -> anyhow::Result<()> {
    let fake = fake::FakeKling::start().await;
    let p = provider_adapters::kling::Kling::new(fake.config())?;
    let request = GenerationRequest {
        duration_s: Some(10),
        ..GenerationRequest::text_to_image("rain on the river")
            .with_operation(Operation::TextToVideo)
    };
    let handle = p.submit(&request).await?;
    assert!(handle.task_id.as_str().starts_with("text2video/"));
    let (status, _) = wait(&p, &handle.task_id).await?;
    let TaskStatus::Succeeded { outputs, .. } = status else {
        bail!("{status:?}")
    };
    assert_eq!(outputs[0].duration_ms, Some(10_000));
    assert_eq!(
        fake.last_request().context("nothing sent")?["aspect_ratio"],
        "16:9"
    );
    Ok(())
}

#[tokio::test]
async fn dashscope_video_and_forgotten_tasks() -> anyhow::Result<()> {
    let fake = fake::FakeDashScope::start().await;
    let p = provider_adapters::dashscope::DashScope::new(fake.config())?;
    let request = GenerationRequest::text_to_image("a horse")
        .with_operation(Operation::ImageToVideo)
        .with_reference(reference("first.png"));
    let g = generate(&p, &request, POLL).await?;
    assert_eq!(g.outputs[0].mime, "video/mp4");
    assert_eq!(g.provenance.model, "wan2.2-i2v-plus");
    // DashScope answers UNKNOWN for tasks it has forgotten: that is an expired task.
    let status = p.poll(&TaskId::from("no-such-task")).await?;
    assert!(
        matches!(
            status,
            TaskStatus::Failed {
                error: Error::Expired { .. }
            }
        ),
        "{status:?}"
    );
    Ok(())
}

#[tokio::test]
async fn async_providers_cancel() -> anyhow::Result<()> {
    let runway = fake::FakeRunway::start().await;
    let replicate = fake::FakeReplicate::start().await;
    let dashscope = fake::FakeDashScope::start().await;
    let fal = fake::FakeFal::start().await;
    let i2v = GenerationRequest::text_to_image("x")
        .with_operation(Operation::ImageToVideo)
        .with_reference(reference("f.png"));
    let t2i = GenerationRequest::text_to_image("x");
    let cases: Vec<(
        &fake::FakeServer,
        Box<dyn GenerationProvider>,
        &GenerationRequest,
    )> = vec![
        (
            &runway,
            Box::new(provider_adapters::runway::Runway::new(runway.config())?),
            &i2v,
        ),
        (
            &replicate,
            Box::new(provider_adapters::replicate::Replicate::new(
                replicate.config(),
            )?),
            &t2i,
        ),
        (
            &dashscope,
            Box::new(provider_adapters::dashscope::DashScope::new(
                dashscope.config(),
            )?),
            &t2i,
        ),
        (
            &fal,
            Box::new(provider_adapters::fal::Fal::new(fal.config())?),
            &t2i,
        ),
    ];
    for (server, p, request) in cases {
        let handle = p.submit(request).await?;
        p.cancel(&handle.task_id).await?;
        assert_eq!(server.cancels(), 1, "{}", p.name());
        let (status, _) = wait(&*p, &handle.task_id).await?;
        assert!(
            !matches!(status, TaskStatus::Succeeded { .. }),
            "{}: {status:?}",
            p.name()
        );
    }
    Ok(())
}

fn comfy_graph(scale_by: f64) -> serde_json::Value {
    json!({
        "graph": {
            "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 32, "batch_size": 1, "color": 0}},
            "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": "nearest-exact", "scale_by": scale_by}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "probe"}}
        },
        "bindings": {"1.color": "seed"}
    })
}

#[tokio::test]
async fn comfyui_reports_progress_and_provenance() -> anyhow::Result<()> {
    let fake = fake::FakeComfyUi::start().await;
    let p = ComfyUi::new(fake.config())?;
    let mut request = GenerationRequest::text_to_image("a lantern");
    request.extra.insert("workflow".into(), comfy_graph(1.0));
    let handle = p.submit(&request).await?;
    let seed = handle
        .provenance
        .seed
        .context("a seed is always recorded")?;
    let sent = fake.last_request().context("nothing sent")?;
    assert_eq!(
        sent["prompt"]["1"]["inputs"]["color"], seed,
        "the seed binding was applied"
    );
    let (status, seen) = wait(&p, &handle.task_id).await?;
    assert!(matches!(status, TaskStatus::Succeeded { .. }), "{status:?}");
    let progressed = seen
        .iter()
        .any(|s| matches!(s, TaskStatus::Running { progress: Some(p) } if *p > 0.0));
    assert!(
        progressed,
        "no progress reported over the websocket: {seen:?}"
    );
    Ok(())
}

#[tokio::test]
async fn comfyui_uploads_only_the_references_its_workflow_binds() -> anyhow::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let fake = fake::FakeComfyUi::start().await;
    let p = ComfyUi::new(fake.config())?;
    let edit = GenerationRequest::text_to_image("x")
        .with_operation(Operation::ImageEdit)
        .with_reference(reference("a.png"))
        .with_reference(reference("b.png"));
    // The default workflow binds no reference: nothing goes up.
    p.submit(&edit).await?;
    assert_eq!(fake.counters().uploads.load(Relaxed), 0);
    let mut second_only = edit.clone();
    second_only.extra.insert(
        "workflow".into(),
        json!({
            "graph": {
                "1": {"class_type": "LoadImage", "inputs": {"image": ""}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "refs"}}
            },
            "bindings": {"1.image": "reference.1"}
        }),
    );
    p.submit(&second_only).await?;
    assert_eq!(fake.counters().uploads.load(Relaxed), 1);
    let sent = fake.last_request().context("nothing sent")?;
    assert_eq!(sent["prompt"]["1"]["inputs"]["image"], "b.png");
    Ok(())
}

#[tokio::test]
async fn comfyui_runtime_errors_fail_the_task_with_the_node_and_message() -> anyhow::Result<()> {
    let fake = fake::FakeComfyUi::start().await;
    let p = ComfyUi::new(fake.config())?;
    let mut request = GenerationRequest::text_to_image("x");
    request.extra.insert("workflow".into(), comfy_graph(0.01));
    let handle = p.submit(&request).await?;
    let (status, _) = wait(&p, &handle.task_id).await?;
    let TaskStatus::Failed { error } = status else {
        bail!("{status:?}")
    };
    let text = error.to_string();
    assert!(text.contains("node 2 (ImageScaleBy)"), "{text}");
    assert!(text.contains("sizes should be greater than 0"), "{text}");
    Ok(())
}

#[tokio::test]
async fn comfyui_validation_errors_are_invalid_input() -> anyhow::Result<()> {
    let fake = fake::FakeComfyUi::start().await;
    let p = ComfyUi::new(fake.config())?;
    let mut request = GenerationRequest::text_to_image("x");
    let mut bad = comfy_graph(1.0);
    bad["graph"]["1"]["inputs"]["width"] = json!(0);
    request.extra.insert("workflow".into(), bad);
    let err = p.submit(&request).await.err().context("accepted width 0")?;
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("Value 0 smaller than min of 1"),
        "{err}"
    );

    let mut unknown = comfy_graph(1.0);
    unknown["graph"]["2"]["class_type"] = json!("NoSuchNode");
    request.extra.insert("workflow".into(), unknown);
    let err = p
        .submit(&request)
        .await
        .err()
        .context("accepted an unknown node")?;
    assert!(
        err.to_string().contains("NoSuchNode does not exist"),
        "{err}"
    );
    assert_eq!(fake.submissions(), 0);

    // The default workflow's graph needs a checkpoint the fake does not have... but its
    // nodes are all known, so it is accepted: check the bindings landed.
    p.submit(&GenerationRequest::text_to_image("a red door"))
        .await?;
    let sent = fake.last_request().context("nothing sent")?;
    assert_eq!(sent["prompt"]["6"]["inputs"]["text"], "a red door");
    assert_eq!(sent["prompt"]["5"]["inputs"]["width"], 1024);

    // An id ComfyUI does not know (history answers {} and the queue lacks it) has expired.
    let err = p
        .poll(&TaskId::from("00000000-0000-4000-a000-000000000000"))
        .await
        .err();
    assert!(matches!(err, Some(Error::Expired { .. })), "{err:?}");
    Ok(())
}

/// Counts calls in flight, to check the concurrency limit.
#[derive(Debug, Default)]
struct Slow {
    in_flight: AtomicUsize,
    max_seen: AtomicUsize,
}

#[async_trait]
impl GenerationProvider for Slow {
    fn spec(&self) -> &ProviderSpec {
        const SLOW: ProviderSpec =
            ProviderSpec::builtin("slow", &[]).with_operations(&[Operation::TextToImage]);
        &SLOW
    }
    fn models(&self) -> &[String] {
        &[]
    }
    async fn submit(&self, _: &GenerationRequest) -> provider_adapters::Result<TaskHandle> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_seen.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Err(Error::Provider {
            provider: "slow".into(),
            status: Some(503),
            message: "busy".into(),
        })
    }
    async fn fetch(&self, _: &OutputRef) -> provider_adapters::Result<Output> {
        Err(Error::Config("unused".into()))
    }
}

#[tokio::test]
async fn the_concurrency_limit_bounds_calls_in_flight() {
    let slow = Arc::new(Slow::default());
    let limited = Arc::new(ConcurrencyLimit::new(slow.clone(), 3));
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let limited = limited.clone();
            tokio::spawn(async move { limited.submit(&GenerationRequest::default()).await })
        })
        .collect();
    for call in calls {
        let _ = call.await;
    }
    assert_eq!(slow.max_seen.load(Ordering::SeqCst), 3);
    assert_eq!(limited.available(), 3);
}

#[tokio::test]
async fn retry_waits_as_long_as_retry_after_says() -> anyhow::Result<()> {
    let fake = fake::FakeReplicate::start().await;
    fake.inject(Fault::RateLimit {
        times: 1,
        retry_after_secs: Some(1),
    });
    let p = Retry::new(
        provider_adapters::replicate::Replicate::new(fake.config())?,
        RetryConfig::default(),
    );
    let started = Instant::now();
    p.submit(&GenerationRequest::text_to_image("x")).await?;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "retried after {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(fake.submissions(), 1);
    Ok(())
}

#[tokio::test]
async fn retry_gives_up_on_errors_that_are_not_transient() -> anyhow::Result<()> {
    let fake = fake::FakeRunway::start().await;
    let mut config = fake.config();
    config.api_key = provider_adapters::Secret::new("bad-key");
    let p = Retry::new(
        provider_adapters::runway::Runway::new(config)?,
        RetryConfig::default(),
    );
    let started = Instant::now();
    let request = GenerationRequest::text_to_image("x")
        .with_operation(Operation::ImageToVideo)
        .with_reference(reference("f.png"));
    let err = p
        .submit(&request)
        .await
        .err()
        .context("accepted a bad key")?;
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "auth errors are not retried"
    );
    Ok(())
}
