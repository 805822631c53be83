//! Job runner benchmark: `cargo bench -p sync-server --bench jobs`.
//!
//! 1. "Generate all" end to end with the offline renderer: a project of 1,000 shots (override
//!    with `SHOTWEAVE_BENCH_SHOTS`), one request, until every job has succeeded and a
//!    connected client's replica holds every take (jobs, rendering, asset store, asset rows,
//!    document updates through the room). Target: at most 60 s on the 2-core dev machine.
//! 2. Orchestration overhead per job: the same path against a provider that answers at once
//!    (the fake OpenAI images server, a 64x36 PNG over loopback), so what is measured is the
//!    runner itself: claiming rows, recording submissions, storing outputs, writing takes.
//!
//! A plain binary (not a statistics harness): each run takes seconds and is measured once.

#[path = "../tests/support/jobs.rs"]
mod support;

use std::time::{Duration, Instant};

use provider_adapters::fake::{FAKE_KEY, FakeOpenAiImages};
use serde_json::json;
use support::{Api, board};
use sync_server::test_support::TestServer;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn generate_all(
    server: &TestServer,
    shots: usize,
    provider: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let (project, token) = server.project().await;
    let ws = server.ws_url(project.as_str(), &token);
    let api = Api::new(server.http(""), project.to_string(), token);
    let mut board = board(&ws, shots).await?;
    if provider != "offline" {
        api.set_key(provider, FAKE_KEY).await?;
    }
    let started = Instant::now();
    let ids = api
        .generate_ok(json!({"provider": provider, "kind": "frame", "scope": "all"}))
        .await?;
    anyhow::ensure!(ids.len() == shots, "queued {} of {shots}", ids.len());
    let jobs = api.wait_done(&ids, Duration::from_secs(600)).await?;
    let jobs_done = started.elapsed();
    let failed: Vec<_> = jobs.iter().filter(|j| j["status"] != "succeeded").collect();
    anyhow::ensure!(
        failed.is_empty(),
        "{} jobs failed, first: {}",
        failed.len(),
        failed[0]
    );
    board.wait_takes(shots, Duration::from_secs(120)).await?;
    Ok((jobs_done, started.elapsed()))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let shots = env_usize("SHOTWEAVE_BENCH_SHOTS", 1000);
    let concurrency = env_usize("SHOTWEAVE_BENCH_CONCURRENCY", 4);
    let overhead_jobs = env_usize("SHOTWEAVE_BENCH_OVERHEAD_JOBS", 300);

    let server = TestServer::start_with(|c| {
        c.job_concurrency = concurrency;
        c.job_poll_ms = 1;
    })
    .await;
    let (jobs, seen) = generate_all(&server, shots, "offline").await?;
    println!(
        "generate all, offline renderer, {shots} shots, concurrency {concurrency}: \
         jobs done in {:.1} s, every take in a client's replica after {:.1} s ({:.1} ms/shot)",
        jobs.as_secs_f64(),
        seen.as_secs_f64(),
        seen.as_secs_f64() * 1000.0 / shots as f64
    );
    server.stop().await;

    let fake = FakeOpenAiImages::start().await;
    let base = fake.config().base_url;
    for concurrency in [1, 4] {
        let server = TestServer::start_with(|c| {
            c.job_concurrency = concurrency;
            c.provider_concurrency = concurrency;
            c.job_poll_ms = 1;
            c.provider_urls = vec![format!("openai-images={base}")];
        })
        .await;
        let (_, seen) = generate_all(&server, overhead_jobs, "openai-images").await?;
        println!(
            "orchestration overhead, zero-latency fake provider, {overhead_jobs} jobs, \
             concurrency {concurrency}: {:.2} ms/job ({:.0} jobs/s)",
            seen.as_secs_f64() * 1000.0 / overhead_jobs as f64,
            overhead_jobs as f64 / seen.as_secs_f64()
        );
        server.stop().await;
    }
    Ok(())
}
