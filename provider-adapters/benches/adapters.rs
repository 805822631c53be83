//! `cargo bench -p provider-adapters`: how fast the offline renderer draws frames, and what
//! an adapter adds per job on top of a provider that answers instantly (a fake on loopback).

use std::time::Duration;

use divan::Bencher;
use provider_adapters::fake::{FakeOpenAiImages, FakeReplicate};
use provider_adapters::offline::{OfflineConfig, OfflineRenderer, render_frame};
use provider_adapters::openai_images::OpenAiImages;
use provider_adapters::replicate::Replicate;
use provider_adapters::{GenerationRequest, ShotSketch, Size, SketchCharacter, generate};

fn main() {
    divan::main();
}

fn sketch(chinese: bool) -> ShotSketch {
    let description = if chinese {
        "刘备、关羽、张飞三人在桃园中焚香结义，誓同生死。花瓣纷纷落下，远处的马匹低头吃草，\
         庄客站在门口，不知该不该叫他们进去吃饭。"
    } else {
        "The camera drifts across the orchard as petals fall on the three men, who kneel in a \
         row before a makeshift altar; incense smoke curls into the morning light."
    };
    ShotSketch {
        number: "12".into(),
        scene: "桃园 · day".into(),
        framing: "medium".into(),
        camera: "low angle, slow push in".into(),
        description: description.into(),
        dialogue: "“We were not born on the same day, but we shall die on the same day.”".into(),
        characters: ["刘备", "关羽", "张飞"]
            .iter()
            .map(|n| SketchCharacter {
                name: (*n).into(),
                color: None,
            })
            .collect(),
        duration_ms: 3500,
    }
}

/// One 1280x720 frame, drawn and PNG-encoded (frames per second = 1 / median).
#[divan::bench(args = [false, true])]
fn offline_frame(bencher: Bencher, chinese: bool) {
    let s = sketch(chinese);
    bencher.bench(|| render_frame(divan::black_box(&s), Size::HD).map(|png| png.len()));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The offline renderer as a provider: frame plus the provider plumbing.
#[divan::bench]
fn offline_provider_job(bencher: Bencher) {
    let rt = runtime();
    let renderer = OfflineRenderer::new(OfflineConfig::default());
    let mut request = GenerationRequest::text_to_image("x");
    request.sketch = Some(sketch(false));
    bencher.bench(|| {
        rt.block_on(generate(&renderer, &request, Duration::ZERO))
            .map(|g| g.outputs.len())
    });
}

/// A synchronous provider job against an instant fake: request, base64 decode, describe.
#[divan::bench]
fn sync_job_zero_latency_fake(bencher: Bencher) {
    let rt = runtime();
    let fake = rt.block_on(FakeOpenAiImages::start());
    let provider = OpenAiImages::new(fake.config()).expect("config");
    let request = GenerationRequest::text_to_image("a lantern");
    bencher.bench(|| {
        rt.block_on(generate(&provider, &request, Duration::ZERO))
            .map(|g| g.outputs.len())
    });
}

/// A submit/poll job against an instant fake: submit, three polls, one download.
#[divan::bench]
fn async_job_zero_latency_fake(bencher: Bencher) {
    let rt = runtime();
    let fake = rt.block_on(FakeReplicate::start());
    let provider = Replicate::new(fake.config()).expect("config");
    let request = GenerationRequest::text_to_image("a lantern");
    bencher.bench(|| {
        rt.block_on(generate(&provider, &request, Duration::ZERO))
            .map(|g| g.outputs.len())
    });
}
