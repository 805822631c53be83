//! Provider keys never appear in a log line, an API response, the project document or the
//! database file: everything the server says and stores during a run with keys (one
//! working, one wrong, one never used) is captured and searched for them.
//!
//! A test binary of its own, because it installs a process-wide tracing subscriber at the
//! most verbose level.

#[path = "support/jobs.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use provider_adapters::fake::{FAKE_KEY, FakeFal, FakeOpenAiImages};
use serde_json::{Value, json};
use support::{Api, board};
use sync_server::test_support::TestServer;

/// Every log line of the process, as written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const WRONG_FAL_KEY: &str = "fal-key-WRONG-5ecr3t-0987654321";
/// The server's own credentials key, given as configuration (hex).
const CREDENTIALS_KEY: &str = "6b65792d6b65792d6b65792d6b65792d6b65792d6b65792d6b65792d6b65792d";
const UNUSED_GEMINI_KEY: &str = "AIzaSy-UNUSED-s3cr3t-abcdefghij";

fn assert_clean(what: &str, haystack: &[u8]) {
    for secret in [
        FAKE_KEY,
        WRONG_FAL_KEY,
        UNUSED_GEMINI_KEY,
        "5ecr3t",
        "s3cr3t",
        "0123456789abcdef",
    ] {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{what} contains the secret {secret:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_responses_documents_and_the_database_never_hold_a_key() -> anyhow::Result<()> {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace,hyper=debug,h2=debug")
        .with_writer(move || writer.clone())
        .json()
        .init();

    let images = FakeOpenAiImages::start().await;
    let fal = FakeFal::start().await;
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_in(dir.path(), |c| {
        c.job_poll_ms = 5;
        c.provider_retry_base_ms = 5;
        c.credentials_key = Some(sync_server::config::Secret(CREDENTIALS_KEY.into()));
        c.provider_urls = vec![
            format!("openai-images={}", images.config().base_url),
            format!("fal={}", fal.config().base_url),
        ];
    })
    .await;
    let (project, token) = server.project().await;
    let api = Api::new(server.http(""), project.to_string(), token.clone());
    let mut board = board(&server.ws_url(project.as_str(), &token), 2).await?;

    let mut responses: Vec<Value> = Vec::new();
    api.set_key("openai-images", FAKE_KEY).await?;
    api.set_key("fal", WRONG_FAL_KEY).await?;
    api.set_key("gemini", UNUSED_GEMINI_KEY).await?;
    let good = api
        .generate_ok(json!({"provider": "openai-images", "kind": "frame", "scope": {"shots": [board.shots[0]]}}))
        .await?;
    let bad = api
        .generate_ok(
            json!({"provider": "fal", "kind": "frame", "scope": {"shots": [board.shots[1]]}}),
        )
        .await?;
    let done = api
        .wait_done(
            &[good.clone(), bad.clone()].concat(),
            Duration::from_secs(60),
        )
        .await?;
    let by_id = |id: &str| {
        done.iter()
            .find(|j| j["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_id(&good[0])["status"], "succeeded");
    assert_eq!(by_id(&bad[0])["status"], "failed");
    assert_eq!(by_id(&bad[0])["error_class"], "auth", "{}", by_id(&bad[0]));
    board.wait_takes(1, Duration::from_secs(30)).await?;
    board.client.pump_for(Duration::from_millis(200)).await?;

    for tail in ["/jobs", "/credentials", "/budget"] {
        let (status, body) = api.call(reqwest::Method::GET, tail, None).await?;
        assert_eq!(status, 200, "{tail}: {body}");
        responses.push(body);
    }
    let listed = responses[1]["credentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed.len(), 3, "which providers have a key is visible");
    responses.push(
        api.generate(json!({"provider": "gemini", "kind": "frame", "scope": "all"}))
            .await?
            .1,
    );
    for response in &responses {
        assert_clean("an API response", response.to_string().as_bytes());
    }

    let document = board.project();
    assert_clean("the document (encoded)", &document.encode_state());
    assert_clean("the document (as JSON)", document.to_json().as_bytes());
    assert!(!format!("{:?}", server.state.config()).contains(CREDENTIALS_KEY));
    server.stop().await;

    // Encrypted at rest: the database files hold only ciphertext.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        if path.is_file() {
            stored.extend(std::fs::read(&path)?);
        }
    }
    assert!(stored.len() > 10_000, "the database was found");
    assert_clean("the data dir", &stored);

    let logs = logs
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(
        logs.windows(8).any(|w| w == b"job done"),
        "the capture saw the job runner's logs"
    );
    assert_clean("the logs", &logs);
    Ok(())
}
