//! One real call to a real provider, through the same factory the server uses:
//!
//! ```text
//! cargo run -p provider-adapters --example live -- PROVIDER [--base-url URL] [--model NAME]
//! ```
//!
//! It costs money, so it is not a test: `cargo test` never runs it, and it fails (exit code 1,
//! with the variable to set) when the provider's credentials are not in the environment.
//! Credentials: `OPENAI_API_KEY` (openai-images), `OPENAI_VIDEOS_API_KEY` and
//! `OPENAI_VIDEOS_BASE_URL` (openai-videos: OpenAI's own video API is gone, name a gateway),
//! `GEMINI_API_KEY`, `KLING_ACCESS_KEY` and `KLING_SECRET_KEY`, `RUNWAYML_API_SECRET`,
//! `DASHSCOPE_API_KEY` (and `DASHSCOPE_BASE_URL` outside mainland China), `FAL_KEY`,
//! `REPLICATE_API_TOKEN`, `COMFYUI_URL` (a running ComfyUI; no key), `DEEPSEEK_API_KEY`
//! (openai-chat). `offline` needs nothing.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use provider_adapters::registry::{self, ProviderSpec};
use provider_adapters::{
    ChatRequest, GenerationRequest, Operation, OutputKind, ReferenceImage, Secret, ShotSketch,
    Size, generate,
};
use url::Url;

/// The environment variables holding a provider's key (joined with `:` when there are two)
/// and, where the provider has no usable default, its base URL.
fn credentials(provider: &str) -> (&'static [&'static str], Option<&'static str>) {
    match provider {
        "openai-images" => (&["OPENAI_API_KEY"], None),
        "openai-videos" => (&["OPENAI_VIDEOS_API_KEY"], Some("OPENAI_VIDEOS_BASE_URL")),
        "gemini" => (&["GEMINI_API_KEY"], None),
        "kling" => (&["KLING_ACCESS_KEY", "KLING_SECRET_KEY"], None),
        "runway" => (&["RUNWAYML_API_SECRET"], None),
        "dashscope" => (&["DASHSCOPE_API_KEY"], None),
        "fal" => (&["FAL_KEY"], None),
        "replicate" => (&["REPLICATE_API_TOKEN"], None),
        "comfyui" => (&[], Some("COMFYUI_URL")),
        "openai-chat" => (&["DEEPSEEK_API_KEY"], None),
        _ => (&[], None),
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

struct Args {
    provider: String,
    base_url: Option<String>,
    model: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        provider: String::new(),
        base_url: None,
        model: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--base-url" => parsed.base_url = Some(args.next().context("--base-url needs a URL")?),
            "--model" => parsed.model = Some(args.next().context("--model needs a name")?),
            name if parsed.provider.is_empty() && !name.starts_with('-') => {
                parsed.provider = name.to_owned();
            }
            other => bail!("unexpected argument {other:?}"),
        }
    }
    ensure!(
        !parsed.provider.is_empty(),
        "usage: live PROVIDER [--base-url URL] [--model NAME] (providers: {})",
        registry::known_names()
    );
    Ok(parsed)
}

fn first_frame() -> anyhow::Result<ReferenceImage> {
    let sketch = ShotSketch {
        description: "a lantern on a wooden table".into(),
        ..ShotSketch::default()
    };
    let png = provider_adapters::offline::render_frame(&sketch, Size::HD)?;
    Ok(ReferenceImage::png("first.png", png))
}

/// The cheapest request that proves the adapter against the real API: a frame where it can
/// make one, else a clip (from the offline renderer's frame where it needs a first frame).
fn request(spec: &ProviderSpec, model: Option<String>) -> anyhow::Result<GenerationRequest> {
    let mut request = GenerationRequest::text_to_image(
        "storyboard frame, pencil sketch: a lantern on a wooden table",
    );
    request.model = model;
    if spec.supports(Operation::TextToImage) {
        if spec.name == "comfyui" {
            // Weightless built-in nodes, so any ComfyUI install can run it.
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
        }
        return Ok(request);
    }
    if spec.supports(Operation::TextToVideo) {
        return Ok(request.with_operation(Operation::TextToVideo));
    }
    Ok(request
        .with_operation(Operation::ImageToVideo)
        .with_reference(first_frame()?))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let spec = registry::spec(&args.provider).with_context(|| {
        format!(
            "unknown provider {:?} (known: {})",
            args.provider,
            registry::known_names()
        )
    })?;
    let (key_vars, url_var) = credentials(spec.name);
    let mut parts = Vec::new();
    for var in key_vars {
        parts.push(
            env(var).with_context(|| format!("set {var} to call the real {} API", spec.name))?,
        );
    }
    let key = (!parts.is_empty()).then(|| Secret::new(parts.join(":")));
    let base_url =
        match (args.base_url, url_var) {
            (Some(url), _) => Some(url),
            (None, Some(var)) => Some(env(var).with_context(|| {
                format!("set {var} (or pass --base-url) to reach {}", spec.name)
            })?),
            (None, None) => env("DASHSCOPE_BASE_URL").filter(|_| spec.name == "dashscope"),
        };
    let base_url = base_url
        .map(|u| Url::parse(&u).with_context(|| format!("bad base url {u:?}")))
        .transpose()?;
    let provider = registry::build(spec.name, key, base_url.as_ref())?;

    if spec.supports(Operation::ChatJson) {
        let mut request = ChatRequest::new(
            "Split the scene into shots. Answer as JSON: {\"shots\": [{\"description\": string}]}",
            "Liu Bei, Guan Yu and Zhang Fei swear brotherhood in the peach garden.",
        );
        request.model = args.model;
        let answer = provider
            .chat_json(&request, &|v| match v["shots"].as_array() {
                Some(s) if !s.is_empty() => Ok(()),
                _ => Err("`shots` must be a non-empty array".into()),
            })
            .await?;
        println!(
            "{}: {} attempts, {}",
            spec.name, answer.attempts, answer.value
        );
        return Ok(());
    }

    let request = request(spec, args.model)?;
    // Real jobs take seconds to minutes; poll gently.
    let generation = generate(provider.as_ref(), &request, Duration::from_secs(3)).await?;
    let output = generation
        .outputs
        .first()
        .context("the job made no output")?;
    let want = if request.operation.produces_video() {
        OutputKind::Video
    } else {
        OutputKind::Image
    };
    ensure!(
        output.kind == want && !output.bytes.is_empty(),
        "unexpected output {output:?}"
    );
    println!("{}: {output:?}, usage {:?}", spec.name, generation.usage);
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match args() {
        Ok(args) => match run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("live: {e:#}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("live: {e:#}");
            ExitCode::from(2)
        }
    }
}
