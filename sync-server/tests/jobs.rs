//! The job runner end to end in one process: a real server (SQLite or Postgres), real
//! WebSocket clients, and provider-adapters' wire-compatible fake servers.

#[path = "support/jobs.rs"]
mod support;

use std::time::Duration;

use anyhow::Context;
use provider_adapters::fake::{FAKE_KEY, FakeFal, FakeOpenAiImages, FakeOpenAiVideos, Fault};
use serde_json::json;
use shared_model::{JobStatus, Project};
use support::{Api, board};
use sync_server::auth::Role;
use sync_server::test_support::{
    TestServer, WsClient, drop_postgres_schema, fresh_postgres_schema,
};

const LIMIT: Duration = Duration::from_secs(60);

/// Fast polling and retries, and the given provider URLs.
fn fast(urls: Vec<String>) -> impl FnOnce(&mut sync_server::Config) {
    move |c| {
        c.job_poll_ms = 5;
        c.provider_retry_base_ms = 5;
        c.provider_urls = urls;
    }
}

async fn api_for(server: &TestServer) -> (Api, String) {
    let (project, token) = server.project().await;
    let ws = server.ws_url(project.as_str(), &token);
    (Api::new(server.http(""), project.to_string(), token), ws)
}

/// Offline frames for every shot appear as selected takes, with provenance and a job summary,
/// for a client that is connected while they are made; a second "missing" finds nothing to
/// do, and a repeated idempotency key returns the same jobs.
async fn offline_frames_become_takes(server: TestServer) -> anyhow::Result<()> {
    let (api, ws) = api_for(&server).await;
    let mut board = board(&ws, 6).await?;
    let body = json!({"provider": "offline", "kind": "frame", "scope": "missing", "idempotency_key": "click-1"});
    let ids = api.generate_ok(body.clone()).await?;
    assert_eq!(ids.len(), 6);
    assert_eq!(api.generate_ok(body).await?, ids, "same key, same jobs");
    board.wait_takes(6, LIMIT).await?;
    let jobs = api.wait_done(&ids, LIMIT).await?;
    for j in &jobs {
        assert_eq!(j["status"], "succeeded", "{j}");
        assert_eq!(j["attempts"], 1);
        assert_eq!(j["cost"], 0.0);
    }

    // The client's replica has everything the runner wrote.
    board.client.pump_for(Duration::from_millis(200)).await?;
    let project = board.project();
    for shot in project.shots() {
        assert_eq!(shot.takes.len(), 1);
        assert_eq!(shot.selected_take.as_ref(), shot.takes.first());
        let asset = project.asset(&shot.takes[0]).context("asset record")?;
        assert_eq!(asset.mime, "image/png");
        let p = asset.provenance.context("provenance")?;
        assert_eq!(
            (p.provider.as_str(), p.model.as_str()),
            ("offline", "storyboard-sketch-v1")
        );
        assert_eq!(
            (p.recipe_id.as_str(), p.recipe_version.as_str()),
            ("builtin/offline", "1")
        );
        assert!(p.prompt.contains(&shot.description), "{}", p.prompt);
        assert!(ids.contains(&p.job_id.to_string()));
        let summary = project.job(&p.job_id).context("job summary")?;
        assert_eq!(summary.status, JobStatus::Succeeded);
        assert_eq!(summary.shot_id.as_ref(), Some(&shot.id));
        // The bytes are in the object store under their sha256.
        let bytes = api
            .http
            .get(format!(
                "{}/assets/{}",
                api.base.clone() + "/api/projects/" + &api.project,
                asset.sha256
            ))
            .bearer_auth(&api.token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        assert_eq!(sync_server::assets::sha256_hex(&bytes), asset.sha256);
        assert!(bytes.starts_with(b"\x89PNG"));
    }
    // The dialogue shot's prompt carries the dialogue and the character.
    let second = &project.shots()[1];
    let prompt = project
        .asset(&second.takes[0])
        .and_then(|a| a.provenance)
        .context("p")?
        .prompt;
    assert!(
        prompt.contains("Liu Bei") && prompt.contains("brothers"),
        "{prompt}"
    );

    assert!(
        api.generate_ok(json!({"provider": "offline", "kind": "frame", "scope": "missing"}))
            .await?
            .is_empty()
    );
    // "all" regenerates; the new takes are added but the first stays selected.
    let again = api
        .generate_ok(
            json!({"provider": "offline", "kind": "frame", "scope": {"shots": [board.shots[0]]}}),
        )
        .await?;
    api.wait_done(&again, LIMIT).await?;
    board.client.pump_for(Duration::from_millis(200)).await?;
    let shot = board
        .project()
        .shot(&board.shots[0].as_str().into())
        .context("shot")?;
    // The offline renderer is deterministic: same shot, same bytes, same asset, one take.
    assert_eq!(shot.takes.len(), 1);
    board.client.close().await;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_frames_become_takes_sqlite() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("sync_server=debug,info")
        .with_test_writer()
        .try_init();
    offline_frames_become_takes(TestServer::start_with(fast(Vec::new())).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_frames_become_takes_postgres() -> anyhow::Result<()> {
    let url = fresh_postgres_schema().await?;
    let u = url.clone();
    let server = TestServer::start_with(move |c| {
        fast(Vec::new())(c);
        c.database_url = Some(sync_server::config::Secret(u));
    })
    .await;
    let result = offline_frames_become_takes(server).await;
    drop_postgres_schema(&url).await?;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_ends_in_success_after_retries() -> anyhow::Result<()> {
    let fake = FakeOpenAiImages::start().await;
    let server = TestServer::start_with(fast(vec![format!(
        "openai-images={}",
        fake.config().base_url
    )]))
    .await;
    let (api, ws) = api_for(&server).await;
    let mut board = board(&ws, 1).await?;
    api.set_key("openai-images", FAKE_KEY).await?;
    // Eight 429s in a row: more than one call's retries (5), so the job is parked once and
    // picked up again, and still succeeds, having been accepted exactly once.
    fake.inject(Fault::RateLimit {
        times: 8,
        retry_after_secs: Some(0),
    });
    let ids = api
        .generate_ok(json!({"provider": "openai-images", "kind": "frame", "scope": "all"}))
        .await?;
    let jobs = api.wait_done(&ids, LIMIT).await?;
    assert_eq!(jobs[0]["status"], "succeeded", "{}", jobs[0]);
    assert_eq!(
        jobs[0]["attempts"], 2,
        "parked once after the first call's retries ran out"
    );
    assert_eq!(fake.rate_limited(), 8);
    assert_eq!(fake.submissions(), 1);
    board.wait_takes(1, LIMIT).await?;
    // The cost came from the price table and went into the ledger.
    let (_, budget) = api.call(reqwest::Method::GET, "/budget", None).await?;
    assert!(
        (budget["spent_usd"].as_f64().unwrap_or(0.0) - 0.063).abs() < 1e-9,
        "{budget}"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_refuses_with_a_clear_error() -> anyhow::Result<()> {
    let fake = FakeOpenAiImages::start().await;
    let server = TestServer::start_with(fast(vec![format!(
        "openai-images={}",
        fake.config().base_url
    )]))
    .await;
    let (api, ws) = api_for(&server).await;
    let board = board(&ws, 3).await?;
    api.set_key("openai-images", FAKE_KEY).await?;
    let (status, budget) = api
        .call(
            reqwest::Method::PUT,
            "/budget",
            Some(json!({"limit_usd": 0.10})),
        )
        .await?;
    assert_eq!(status, 200, "{budget}");

    let frame = |shots: &[String]| json!({"provider": "openai-images", "kind": "frame", "scope": {"shots": shots}});
    let (status, refused) = api.generate(frame(&board.shots)).await?;
    assert_eq!(status, 402, "{refused}");
    let message = refused["error"].as_str().context("error message")?;
    assert!(
        message.contains("budget exceeded") && message.contains("$0.10 budget"),
        "{message}"
    );
    assert!(
        api.jobs().await?.is_empty(),
        "a refused request queues nothing"
    );
    assert_eq!(fake.submissions(), 0);

    let one = api.generate_ok(frame(&board.shots[..1])).await?;
    api.wait_done(&one, LIMIT).await?;
    let (status, refused) = api.generate(frame(&board.shots[1..2])).await?;
    assert_eq!(status, 402, "0.063 spent + 0.063 > 0.10: {refused}");
    // Offline frames cost nothing and are never refused.
    api.generate_ok(json!({"provider": "offline", "kind": "frame", "scope": "missing"}))
        .await?;
    // An editor cannot raise the budget.
    let editor = Api::new(
        api.base.clone(),
        api.project.clone(),
        server.token(
            &sync_server::auth::ProjectId::parse(&api.project).context("id")?,
            Role::Editor,
            None,
        ),
    );
    let (status, _) = editor
        .call(
            reqwest::Method::PUT,
            "/budget",
            Some(json!({"limit_usd": 100})),
        )
        .await?;
    assert_eq!(status, 403);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_policy_refusal_fails_the_job_with_that_reason() -> anyhow::Result<()> {
    let fake = FakeOpenAiImages::start().await;
    let server = TestServer::start_with(fast(vec![format!(
        "openai-images={}",
        fake.config().base_url
    )]))
    .await;
    let (api, ws) = api_for(&server).await;
    let mut board = board(&ws, 1).await?;
    api.set_key("openai-images", FAKE_KEY).await?;
    fake.inject(Fault::Refuse);
    let ids = api
        .generate_ok(json!({"provider": "openai-images", "kind": "frame", "scope": "all"}))
        .await?;
    let jobs = api.wait_done(&ids, LIMIT).await?;
    assert_eq!(jobs[0]["status"], "failed");
    assert_eq!(jobs[0]["error_class"], "content_policy");
    let error = jobs[0]["error"].as_str().context("error")?;
    assert!(
        error.contains("content policy") && error.contains("safety system"),
        "{error}"
    );
    assert_eq!(jobs[0]["attempts"], 1, "a refusal is not retried");
    // Collaborators see the failure in the document too, with the reason.
    let id = shared_model::JobId::from(ids[0].as_str());
    board
        .client
        .pump_until(LIMIT, |c| {
            Project::from_doc(c.doc.clone()).job(&id).is_some()
        })
        .await?;
    let summary = board.project().job(&id).context("summary")?;
    assert_eq!(summary.status, JobStatus::Failed);
    assert!(summary.error.is_some_and(|e| e.contains("content policy")));
    assert_eq!(board.shots_with_takes(), 0);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clips_poll_to_the_end_and_cancel_reaches_the_provider() -> anyhow::Result<()> {
    let videos = FakeOpenAiVideos::start().await;
    let fal = FakeFal::start().await;
    let server = TestServer::start_with(fast(vec![
        format!("openai-videos={}", videos.config().base_url),
        format!("fal={}", fal.config().base_url),
    ]))
    .await;
    let (api, ws) = api_for(&server).await;
    let mut board = board(&ws, 2).await?;
    api.set_key("openai-videos", FAKE_KEY).await?;
    api.set_key("fal", FAKE_KEY).await?;

    let clip =
        json!({"provider": "openai-videos", "kind": "clip", "scope": {"shots": [board.shots[0]]}});
    let done = api.generate_ok(clip).await?;
    api.wait_done(&done, LIMIT).await?;
    board.wait_takes(1, LIMIT).await?;
    let project = board.project();
    let take = &project.shots()[0].takes[0];
    assert_eq!(project.asset(take).context("asset")?.mime, "video/mp4");
    assert!(videos.polls() >= 2, "a clip is polled until done");

    // A frame that never finishes at fal: cancel it while it runs.
    fal.set_polls_to_finish(1_000_000);
    let long = api
        .generate_ok(
            json!({"provider": "fal", "kind": "frame", "scope": {"shots": [board.shots[1]]}}),
        )
        .await?;
    let deadline = tokio::time::Instant::now() + LIMIT;
    while fal.polls() < 3 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never polled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, job) = api
        .call(
            reqwest::Method::POST,
            &format!("/jobs/{}/cancel", long[0]),
            None,
        )
        .await?;
    assert_eq!(status, 200, "{job}");
    let jobs = api.wait_done(&long, LIMIT).await?;
    assert_eq!(jobs[0]["status"], "cancelled");
    assert_eq!(fal.cancels(), 1, "the provider was asked to stop");
    assert_eq!(fal.submissions(), 1);
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/jobs/{}/cancel", done[0]),
            None,
        )
        .await?;
    assert_eq!(status, 409, "a finished job cannot be cancelled");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_write_only_and_checked_before_queueing() -> anyhow::Result<()> {
    let server = TestServer::start_with(fast(Vec::new())).await;
    let (api, ws) = api_for(&server).await;
    let _board = board(&ws, 1).await?;
    // Without a key, a paid provider is refused before anything is queued.
    let (status, body) = api
        .generate(json!({"provider": "gemini", "kind": "frame", "scope": "all"}))
        .await?;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("no gemini key")),
        "{body}"
    );
    let (status, body) = api
        .generate(json!({"provider": "gemini", "kind": "clip", "scope": "all"}))
        .await?;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot make a clip")),
        "{body}"
    );

    let project = sync_server::auth::ProjectId::parse(&api.project).context("id")?;
    let editor = Api::new(
        api.base.clone(),
        api.project.clone(),
        server.token(&project, Role::Editor, None),
    );
    let (status, _) = editor
        .call(
            reqwest::Method::PUT,
            "/credentials/gemini",
            Some(json!({"key": "k"})),
        )
        .await?;
    assert_eq!(status, 403, "only owners set keys");
    api.set_key("gemini", "AIza-secret-value").await?;
    let (status, listed) = editor
        .call(reqwest::Method::GET, "/credentials", None)
        .await?;
    assert_eq!(status, 200);
    assert_eq!(listed["credentials"][0]["provider"], "gemini");
    assert!(!listed.to_string().contains("AIza"), "{listed}");
    let viewer = Api::new(
        api.base.clone(),
        api.project.clone(),
        server.token(&project, Role::Viewer, None),
    );
    let (status, _) = viewer
        .generate(json!({"provider": "offline", "kind": "frame", "scope": "all"}))
        .await?;
    assert_eq!(status, 403, "viewers cannot generate");
    let (status, _) = api
        .call(
            reqwest::Method::PUT,
            "/credentials/no-such-provider",
            Some(json!({"key": "k"})),
        )
        .await?;
    assert_eq!(status, 400);
    let (status, _) = api
        .call(reqwest::Method::DELETE, "/credentials/gemini", None)
        .await?;
    assert_eq!(status, 204);
    let (_, listed) = api.call(reqwest::Method::GET, "/credentials", None).await?;
    assert_eq!(listed["credentials"], json!([]));
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_select_scenes_shots_and_reject_unknown_ids() -> anyhow::Result<()> {
    let server = TestServer::start_with(fast(Vec::new())).await;
    let (api, ws) = api_for(&server).await;
    let board = board(&ws, 3).await?;
    let scene = board.project().scenes()[0].id.to_string();
    let ids = api
        .generate_ok(json!({"provider": "offline", "kind": "frame", "scope": {"scene": scene}}))
        .await?;
    assert_eq!(ids.len(), 3);
    for (scope, needle) in [
        (json!({"shots": ["nope"]}), "no shot"),
        (json!({"scene": "nope"}), "no scene"),
        (json!("some"), "unknown scope"),
    ] {
        let (status, body) = api
            .generate(json!({"provider": "offline", "kind": "frame", "scope": scope}))
            .await?;
        assert_eq!(status, 400);
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(needle)),
            "{body}"
        );
    }
    api.wait_done(&ids, LIMIT).await?;
    // A late joiner sees the takes too (they are in the stored document, not just broadcast).
    let mut late = WsClient::connect_synced(&ws).await?;
    late.pump_for(Duration::from_millis(100)).await?;
    let takes = Project::from_doc(late.doc.clone())
        .shots()
        .iter()
        .filter(|s| !s.takes.is_empty())
        .count();
    assert_eq!(takes, 3);
    server.stop().await;
    Ok(())
}

/// A job that fails inside the server (here a file stands where the project's asset directory
/// should be, so the object store cannot write the frame) is retried, then fails with the class
/// `internal` and a fixed message: neither `GET /jobs` nor the job summary every collaborator
/// receives carries the path, the database's words or a host name. `words` are the backend's
/// own words to look for besides the common ones.
async fn internal_failures_reach_nobody(
    server: TestServer,
    data_dir: &std::path::Path,
    words: &[&str],
) -> anyhow::Result<()> {
    let (api, ws) = api_for(&server).await;
    let mut board = board(&ws, 1).await?;
    let project_assets = data_dir.join("assets").join("projects").join(&api.project);
    std::fs::create_dir_all(&project_assets)?;
    std::fs::write(project_assets.join("assets"), b"not a directory")?;

    let ids = api
        .generate_ok(json!({"provider": "offline", "kind": "frame", "scope": "all"}))
        .await?;
    let jobs = api.wait_done(&ids, LIMIT).await?;
    let job = &jobs[0];
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error_class"], "internal", "{job}");
    assert_eq!(
        job["attempts"], 2,
        "a failure inside the server is tried again: {job}"
    );
    let listed = job["error"].as_str().context("error")?.to_owned();

    let id = shared_model::JobId::from(ids[0].as_str());
    board
        .client
        .pump_until(LIMIT, |c| {
            Project::from_doc(c.doc.clone())
                .job(&id)
                .is_some_and(|j| j.status == JobStatus::Failed)
        })
        .await?;
    let summary = board.project().job(&id).context("summary")?;
    let summarised = summary.error.context("summary error")?;
    assert_eq!(summarised, listed, "the document says what the API says");

    let data_dir = data_dir.to_string_lossy().into_owned();
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let mut forbidden = vec![
        data_dir.as_str(),
        "/assets",
        "not a directory",
        "sql",
        "database",
        "object store",
        "io error",
        "server error",
        "127.0.0.1",
        "localhost",
        hostname.trim(),
    ];
    forbidden.extend_from_slice(words);
    for text in [&listed, &summarised] {
        let lower = text.to_lowercase();
        for word in forbidden.iter().filter(|w| !w.is_empty()) {
            assert!(
                !lower.contains(&word.to_lowercase()),
                "{text:?} contains {word:?}"
            );
        }
        assert!(lower.contains("inside the server"), "{text:?}");
    }
    assert_eq!(board.shots_with_takes(), 0);
    board.client.close().await;
    server.stop().await;
    Ok(())
}

/// Fast retries, and two attempts in all.
fn two_attempts(c: &mut sync_server::Config) {
    fast(Vec::new())(c);
    c.job_max_attempts = 2;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_failures_reach_nobody_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_in(dir.path(), two_attempts).await;
    internal_failures_reach_nobody(server, dir.path(), &["sqlite"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_failures_reach_nobody_postgres() -> anyhow::Result<()> {
    let url = fresh_postgres_schema().await?;
    let dir = tempfile::tempdir()?;
    let u = url.clone();
    let server = TestServer::start_in(dir.path(), move |c| {
        two_attempts(c);
        c.database_url = Some(sync_server::config::Secret(u));
    })
    .await;
    let result = internal_failures_reach_nobody(server, dir.path(), &["postgres", "5432"]).await;
    drop_postgres_schema(&url).await?;
    result
}

/// After an attempt that failed to store its output, the next attempt cannot poll a provider
/// that answered at once: the offline renderer (free, ours) renders again and succeeds, while
/// a paid provider is not asked twice for one job: that job fails as expired, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_output_is_made_again_only_when_that_costs_nothing() -> anyhow::Result<()> {
    let fake = FakeOpenAiImages::start().await;
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_in(dir.path(), |c| {
        two_attempts(c);
        c.provider_urls = vec![format!("openai-images={}", fake.config().base_url)];
    })
    .await;
    let (api, ws) = api_for(&server).await;
    let mut board = board(&ws, 2).await?;
    api.set_key("openai-images", FAKE_KEY).await?;
    let blocker = dir
        .path()
        .join("assets")
        .join("projects")
        .join(&api.project)
        .join("assets");
    std::fs::create_dir_all(blocker.parent().context("parent")?)?;
    std::fs::write(&blocker, b"not a directory")?;

    let offline = api
        .generate_ok(
            json!({"provider": "offline", "kind": "frame", "scope": {"shots": [board.shots[0]]}}),
        )
        .await?;
    let paid = api
        .generate_ok(
            json!({"provider": "openai-images", "kind": "frame", "scope": {"shots": [board.shots[1]]}}),
        )
        .await?;
    // Both first attempts fail to store their frame and park their jobs.
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let jobs = api.jobs().await?;
        let parked = jobs
            .iter()
            .filter(|j| j["status"] == "queued" && j["attempts"] == 1)
            .count();
        if parked == 2 {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "never parked: {jobs:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::remove_file(&blocker)?;

    let done = api.wait_done(&offline, LIMIT).await?;
    assert_eq!(done[0]["status"], "succeeded", "{}", done[0]);
    assert_eq!(done[0]["attempts"], 2);
    board.wait_takes(1, LIMIT).await?;
    let lost = api.wait_done(&paid, LIMIT).await?;
    assert_eq!(lost[0]["status"], "failed", "{}", lost[0]);
    assert_eq!(lost[0]["error_class"], "expired", "{}", lost[0]);
    let error = lost[0]["error"].as_str().context("error")?;
    assert!(
        error.contains("openai-images") && error.contains("lost before the server could store it"),
        "{error}"
    );
    assert_eq!(
        fake.submissions(),
        1,
        "a paid provider is asked once per job"
    );
    board.client.close().await;
    server.stop().await;
    Ok(())
}
