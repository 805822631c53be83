//! Calls to the real providers. Each runs only when its credentials are in the environment
//! (they cost money); without them it prints why it did nothing and passes.

use std::time::Duration;

use provider_adapters::{
    ChatRequest, GenerationProvider, GenerationRequest, Operation, OutputKind, ReferenceImage,
    Secret, generate,
};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn skip(names: &str) {
    eprintln!("skipped: set {names} to run this test against the real provider");
}

async fn check(
    provider: &dyn GenerationProvider,
    request: GenerationRequest,
) -> anyhow::Result<()> {
    // Real jobs take seconds to minutes; poll gently.
    let generation = generate(provider, &request, Duration::from_secs(3)).await?;
    let output = generation
        .outputs
        .first()
        .ok_or_else(|| anyhow::anyhow!("no output"))?;
    let want = if request.operation.produces_video() {
        OutputKind::Video
    } else {
        OutputKind::Image
    };
    anyhow::ensure!(
        output.kind == want && output.bytes.len() > 1000,
        "unexpected output {output:?}"
    );
    eprintln!(
        "{}: {output:?}, usage {:?}",
        provider.name(),
        generation.usage
    );
    Ok(())
}

fn frame() -> GenerationRequest {
    GenerationRequest::text_to_image("storyboard frame, pencil sketch: a lantern on a wooden table")
}

fn first_frame() -> ReferenceImage {
    let png = provider_adapters::offline::render_frame(
        &provider_adapters::ShotSketch {
            description: "a lantern on a wooden table".into(),
            ..Default::default()
        },
        provider_adapters::Size::HD,
    )
    .unwrap_or_default();
    ReferenceImage::png("first.png", png)
}

#[tokio::test]
async fn live_openai_images() -> anyhow::Result<()> {
    let Some(key) = env("OPENAI_API_KEY") else {
        skip("OPENAI_API_KEY");
        return Ok(());
    };
    let p = provider_adapters::openai_images::OpenAiImages::new(
        provider_adapters::openai_images::OpenAiImagesConfig::new(Secret::new(key)),
    )?;
    check(&p, frame()).await
}

#[tokio::test]
async fn live_gemini() -> anyhow::Result<()> {
    let Some(key) = env("GEMINI_API_KEY") else {
        skip("GEMINI_API_KEY");
        return Ok(());
    };
    let p = provider_adapters::gemini::Gemini::new(provider_adapters::gemini::GeminiConfig::new(
        Secret::new(key),
    ))?;
    check(&p, frame()).await
}

#[tokio::test]
async fn live_openai_videos() -> anyhow::Result<()> {
    let (Some(base), Some(key)) = (env("OPENAI_VIDEOS_BASE_URL"), env("OPENAI_VIDEOS_API_KEY"))
    else {
        skip("OPENAI_VIDEOS_BASE_URL and OPENAI_VIDEOS_API_KEY");
        return Ok(());
    };
    let mut config =
        provider_adapters::openai_videos::OpenAiVideosConfig::new(base, Secret::new(key));
    if let Some(model) = env("OPENAI_VIDEOS_MODEL") {
        config.models = vec![model];
    }
    let p = provider_adapters::openai_videos::OpenAiVideos::new(config)?;
    check(&p, frame().with_operation(Operation::TextToVideo)).await
}

#[tokio::test]
async fn live_kling() -> anyhow::Result<()> {
    let (Some(ak), Some(sk)) = (env("KLING_ACCESS_KEY"), env("KLING_SECRET_KEY")) else {
        skip("KLING_ACCESS_KEY and KLING_SECRET_KEY");
        return Ok(());
    };
    let p = provider_adapters::kling::Kling::new(provider_adapters::kling::KlingConfig::new(
        Secret::new(ak),
        Secret::new(sk),
    ))?;
    check(&p, frame().with_operation(Operation::TextToVideo)).await
}

#[tokio::test]
async fn live_runway() -> anyhow::Result<()> {
    let Some(key) = env("RUNWAYML_API_SECRET") else {
        skip("RUNWAYML_API_SECRET");
        return Ok(());
    };
    let p = provider_adapters::runway::Runway::new(provider_adapters::runway::RunwayConfig::new(
        Secret::new(key),
    ))?;
    check(
        &p,
        frame()
            .with_operation(Operation::ImageToVideo)
            .with_reference(first_frame()),
    )
    .await
}

#[tokio::test]
async fn live_dashscope() -> anyhow::Result<()> {
    let Some(key) = env("DASHSCOPE_API_KEY") else {
        skip("DASHSCOPE_API_KEY");
        return Ok(());
    };
    let mut config = provider_adapters::dashscope::DashScopeConfig::new(Secret::new(key));
    if let Some(base) = env("DASHSCOPE_BASE_URL") {
        config.base_url = base;
    }
    let p = provider_adapters::dashscope::DashScope::new(config)?;
    check(&p, frame()).await
}

#[tokio::test]
async fn live_fal() -> anyhow::Result<()> {
    let Some(key) = env("FAL_KEY") else {
        skip("FAL_KEY");
        return Ok(());
    };
    let p =
        provider_adapters::fal::Fal::new(provider_adapters::fal::FalConfig::new(Secret::new(key)))?;
    check(&p, frame()).await
}

#[tokio::test]
async fn live_replicate() -> anyhow::Result<()> {
    let Some(token) = env("REPLICATE_API_TOKEN") else {
        skip("REPLICATE_API_TOKEN");
        return Ok(());
    };
    let p = provider_adapters::replicate::Replicate::new(
        provider_adapters::replicate::ReplicateConfig::new(Secret::new(token)),
    )?;
    check(&p, frame()).await
}

#[tokio::test]
async fn live_comfyui() -> anyhow::Result<()> {
    let Some(url) = env("COMFYUI_URL") else {
        skip("COMFYUI_URL (e.g. http://127.0.0.1:8188)");
        return Ok(());
    };
    let config = provider_adapters::comfyui::ComfyUiConfig {
        base_url: url,
        ..Default::default()
    };
    let p = provider_adapters::comfyui::ComfyUi::new(config)?;
    // Weightless built-in nodes, so any ComfyUI install can run it.
    let mut request = frame();
    request.extra.insert(
        "workflow".into(),
        serde_json::json!({
            "graph": {
                "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 32, "batch_size": 1, "color": 0}},
                "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "shotweave-live"}}
            },
            "bindings": {"1.color": "seed"}
        }),
    );
    let generation = generate(&p, &request, Duration::from_millis(200)).await?;
    anyhow::ensure!(generation.outputs[0].mime == "image/png");
    Ok(())
}

#[tokio::test]
async fn live_chat() -> anyhow::Result<()> {
    let Some(key) = env("DEEPSEEK_API_KEY") else {
        skip("DEEPSEEK_API_KEY");
        return Ok(());
    };
    let p = provider_adapters::openai_chat::OpenAiChat::new(
        provider_adapters::openai_chat::OpenAiChatConfig::new(
            provider_adapters::openai_chat::DEFAULT_BASE_URL,
            Secret::new(key),
        ),
    )?;
    let request = ChatRequest::new(
        "Split the scene into shots. Answer as JSON: {\"shots\": [{\"description\": string}]}",
        "Liu Bei, Guan Yu and Zhang Fei swear brotherhood in the peach garden.",
    );
    let answer = p
        .chat_json(&request, &|v| match v["shots"].as_array() {
            Some(s) if !s.is_empty() => Ok(()),
            _ => Err("`shots` must be a non-empty array".into()),
        })
        .await?;
    eprintln!("chat: {} attempts, {}", answer.attempts, answer.value);
    Ok(())
}
