//! The LLM breakdown end to end: two chapters of Alice go into the studio over HTTP as a bare
//! script, the project's key is stored, and `POST /breakdown {"mode": "llm"}` runs as a job of
//! the real server (SQLite, real sockets) against the wire-compatible fake of an
//! OpenAI-compatible chat server, which plays the model by deriving a storyboard from the
//! passage each request carries. A collaborator connected the whole time sees the scenes,
//! shots and characters arrive. An answer that stays invalid after the re-asks fails the job
//! with the reason and leaves the document as it was; a project without a key is refused
//! with the name of the missing credential; the key never shows up anywhere; a restart in the
//! middle runs the breakdown again and still writes one board.

#[path = "../../sync-server/tests/support/jobs.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use provider_adapters::fake::{FAKE_KEY, FakeOpenAiChat, Fault};
use serde_json::{Value, json};
use shared_model::Project;
use shared_model::testing::data_dir;
use support::Api;
use sync_server::test_support::{TestServer, WsClient};

/// Every log line of the process, as written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The server's own credentials key, given as configuration (hex).
const CREDENTIALS_KEY: &str = "6b65792d6b65792d6b65792d6b65792d6b65792d6b65792d6b65792d6b65792d";

fn assert_clean(what: &str, haystack: &[u8]) {
    for secret in [FAKE_KEY, "0123456789abcdef"] {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{what} contains the key {secret:?}"
        );
    }
}

/// The first two chapters of Alice's Adventures in Wonderland.
fn alice_1_2() -> String {
    let full = std::fs::read_to_string(data_dir().join("novels/alice-in-wonderland.en.txt"))
        .expect("the Alice novel in the shared data");
    let end = full.find("CHAPTER III.").expect("chapter III heading");
    full[..end].to_owned()
}

async fn start(fake: &FakeOpenAiChat, dir: &std::path::Path) -> TestServer {
    start_on(fake, dir, None).await
}

/// A server on SQLite in `dir`, or on the given Postgres database.
async fn start_on(
    fake: &FakeOpenAiChat,
    dir: &std::path::Path,
    database_url: Option<String>,
) -> TestServer {
    start_with(fake, dir, |c| {
        c.database_url = database_url.map(sync_server::config::Secret);
    })
    .await
}

/// A server on SQLite in `dir` talking to `fake`, with `tweak` applied to its configuration.
async fn start_with(
    fake: &FakeOpenAiChat,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut sync_server::config::Config),
) -> TestServer {
    TestServer::start_in(dir, |c| {
        c.job_poll_ms = 5;
        c.provider_retry_base_ms = 5;
        c.credentials_key = Some(sync_server::config::Secret(CREDENTIALS_KEY.into()));
        c.provider_urls = vec![format!("openai-chat={}", fake.config().base_url)];
        tweak(c);
    })
    .await
}

/// Imports the text as a project holding the script alone (`breakdown=none`); returns the
/// project's API.
async fn import_script(server: &TestServer, text: &str) -> anyhow::Result<(Api, Value)> {
    let response = reqwest::Client::new()
        .post(server.http("/api/import?file_name=alice-1-2.txt&breakdown=none"))
        .body(text.to_owned())
        .send()
        .await?;
    if response.status() != 201 {
        bail!("import answered {}", response.status());
    }
    let imported: Value = response.json().await?;
    let api = Api::new(
        server.http(""),
        imported["project_id"]
            .as_str()
            .context("project id")?
            .to_owned(),
        imported["token"].as_str().context("token")?.to_owned(),
    );
    Ok((api, imported))
}

/// A server on `fake` with two chapters of Alice as the script and a key for the chat provider.
async fn keyed_alice(
    fake: &FakeOpenAiChat,
    dir: &std::path::Path,
) -> anyhow::Result<(TestServer, Api)> {
    let server = start(fake, dir).await;
    let (api, _) = import_script(&server, &alice_1_2()).await?;
    api.set_key("openai-chat", FAKE_KEY).await?;
    Ok((server, api))
}

async fn llm_breakdown(api: &Api, body: Value) -> anyhow::Result<(u16, Value)> {
    api.call(reqwest::Method::POST, "/breakdown", Some(body))
        .await
}

/// What the stand-in model answered, in order.
#[derive(Debug, Default)]
struct Emitted {
    /// Each scene's `start_quote`.
    scenes: Vec<String>,
    shots: usize,
    dialogue: Vec<String>,
    /// Chunks answered inside a Markdown code fence (which the adapter has to repair).
    fenced: usize,
}

/// The stand-in model: a storyboard made from the passage in the request. Every eight
/// paragraphs make a scene that starts with its first paragraph's opening words; every
/// paragraph is a shot described by its own opening, with the quoted line it starts with as
/// dialogue; Alice and the White Rabbit (also named "Rabbit") are the cast wherever named.
fn storyboard(request: &Value, emitted: &Mutex<Emitted>) -> String {
    let user = request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let passage = user.split_once("PASSAGE:\n").map_or("", |(_, p)| p);
    let paragraphs: Vec<&str> = passage
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let mut emitted = lock(emitted);
    let mut scenes = Vec::new();
    let mut cast = Vec::new();
    for group in paragraphs.chunks(8) {
        let quote: String = group[0].chars().take(16).collect();
        let shots: Vec<Value> = group
            .iter()
            .map(|p| {
                let dialogue = p
                    .strip_prefix('\'')
                    .and_then(|rest| rest.split_once("' ").or(rest.split_once("',")))
                    .map_or("", |(line, _)| line);
                if !dialogue.is_empty() {
                    emitted.dialogue.push(dialogue.to_owned());
                }
                let mut characters = Vec::new();
                for (named, name) in [("Alice", "Alice"), ("Rabbit", "Rabbit")] {
                    if p.contains(named) {
                        characters.push(name);
                        if !cast.contains(&named) {
                            cast.push(named);
                        }
                    }
                }
                json!({
                    "description": p.chars().take(120).collect::<String>(),
                    "dialogue": dialogue,
                    "speaker": if p.contains("said Alice") { json!("Alice") } else { Value::Null },
                    "framing": if dialogue.is_empty() { "wide" } else { "close-up" },
                    "duration_seconds": 3.5,
                    "characters": characters,
                })
            })
            .collect();
        emitted.shots += shots.len();
        emitted.scenes.push(quote.clone());
        scenes.push(json!({
            "title": format!("Scene {}", emitted.scenes.len()),
            "location": "Wonderland",
            "time_of_day": "day",
            "start_quote": quote,
            "shots": shots,
        }));
    }
    let characters: Vec<Value> = cast
        .iter()
        .map(|named| match *named {
            "Rabbit" => json!({"name": "White Rabbit", "aliases": ["Rabbit"], "description": "pink eyes, a waistcoat and a watch"}),
            _ => json!({"name": "Alice", "aliases": [], "description": "a girl in a blue dress"}),
        })
        .collect();
    let answer = json!({"scenes": scenes, "characters": characters}).to_string();
    // Models like to wrap JSON in a code fence: the second chapter's answers come that way.
    if user.contains("Chapter: CHAPTER II.") {
        emitted.fenced += 1;
        format!("Here is the breakdown:\n```json\n{answer}\n```")
    } else {
        answer
    }
}

/// Polls the job until it ends, returning it, every response body seen, and the progress
/// values reported while it ran.
async fn follow(api: &Api, job: &str) -> anyhow::Result<(Value, Vec<Value>, Vec<f64>)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut bodies = Vec::new();
    let mut progress = Vec::new();
    loop {
        let (status, body) = api.call(reqwest::Method::GET, "/jobs", None).await?;
        if status != 200 {
            bail!("jobs answered {status}: {body}");
        }
        let found = body["jobs"]
            .as_array()
            .and_then(|jobs| jobs.iter().find(|j| j["id"] == job))
            .cloned()
            .with_context(|| format!("job {job} listed"))?;
        bodies.push(body);
        if let Some(p) = found["progress"].as_f64() {
            progress.push(p);
        }
        if matches!(
            found["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return Ok((found, bodies, progress));
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the breakdown did not end: {found}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_alice_chapters_broken_down_by_a_chat_model_reach_a_connected_client()
-> anyhow::Result<()> {
    // Everything the process logs, at the most verbose level, is searched for the key below.
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace,hyper=debug,h2=debug")
        .with_writer(move || writer.clone())
        .json()
        .try_init()
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let fake = FakeOpenAiChat::start().await;
    let emitted = Arc::new(Mutex::new(Emitted::default()));
    let model = emitted.clone();
    fake.set_responder(move |request| storyboard(request, &model));
    // Slow enough answers that progress between chunks can be seen.
    fake.set_answer_delay(Duration::from_millis(150));
    // The provider is busy once: the retry decorator waits and asks again.
    fake.inject(Fault::RateLimit {
        times: 1,
        retry_after_secs: None,
    });
    let dir = tempfile::tempdir()?;
    let server = start(&fake, dir.path()).await;
    let script = alice_1_2();
    let (api, imported) = import_script(&server, &script).await?;
    assert_eq!(imported["chapters"], 2, "{imported}");
    assert_eq!(imported["shots"], 0, "the script alone: {imported}");
    let mut responses = vec![imported.clone()];
    let mut watcher = WsClient::connect_synced(&server.ws_url(&api.project, &api.token)).await?;
    watcher.pump_for(Duration::from_millis(100)).await?;
    let script_before = Project::from_doc(watcher.doc.clone()).script_text();
    let awareness_before = watcher.awareness_received;

    api.set_key("openai-chat", FAKE_KEY).await?;
    let (status, queued) =
        llm_breakdown(&api, json!({"mode": "llm", "model": "deepseek-chat"})).await?;
    assert_eq!(status, 202, "{queued}");
    responses.push(queued.clone());
    let job = queued["job"].as_str().context("job id")?.to_owned();
    // While the model works, neither a second breakdown nor an offline one may start a board.
    for mode in ["llm", "offline"] {
        let (status, busy) = llm_breakdown(&api, json!({ "mode": mode })).await?;
        assert_eq!(status, 409, "{mode}: {busy}");
        let message = busy["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("a breakdown of this project is already") && message.contains(&job),
            "{message}"
        );
        responses.push(busy);
    }

    // The collaborator's replica keeps syncing while the job runs; the job list reports it.
    let (done, bodies, progress) = tokio::select! {
        followed = follow(&api, &job) => followed?,
        _ = watcher.pump_for(Duration::from_secs(60)) => bail!("the watcher stopped"),
    };
    responses.extend(bodies);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["kind"], "breakdown");
    assert_eq!(done["provider"], "openai-chat");
    // The state before the plan was written is kept as an automatic version, by the server.
    let (status, versions) = api.call(reqwest::Method::GET, "/versions", None).await?;
    assert_eq!(status, 200, "{versions}");
    let versions = versions.as_array().context("a list")?;
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(
        (
            &versions[0]["kind"],
            &versions[0]["shots"],
            &versions[0]["author"]["name"]
        ),
        (&json!("auto"), &json!(0), &json!("Shotweave"))
    );
    assert!(
        versions[0]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("Before the LLM breakdown") && n.contains(&job)),
        "{versions:?}"
    );
    assert!(
        progress.iter().any(|p| *p > 0.0 && *p < 1.0),
        "progress between chunks was reported: {progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {progress:?}"
    );
    assert_eq!(fake.rate_limited(), 1, "the 429 was answered, then retried");
    // Every answer's tokens (the fake reports 120 in, 40 out) are charged at the price table's
    // list price for the model, and nothing stays reserved.
    let (input_price, output_price) = token_price("deepseek-chat")?;
    let answers = fake.submissions() as f64;
    let expected = answers * (120.0 * input_price + 40.0 * output_price) / 1e6;
    let (status, budget) = api.call(reqwest::Method::GET, "/budget", None).await?;
    assert_eq!(status, 200, "{budget}");
    let spent = budget["spent_usd"].as_f64().context("spent_usd")?;
    assert!(
        expected > 0.0 && (spent - expected).abs() < 1e-12,
        "{answers} answers should cost ${expected}: {budget}"
    );
    assert_eq!(budget["reserved_usd"].as_f64(), Some(0.0), "{budget}");
    let last = fake.last_request().context("the fake was asked")?;
    assert_eq!(last["model"], "deepseek-chat");
    assert_eq!(last["response_format"]["type"], "json_object");

    let (scenes, shots, dialogue, fenced) = {
        let e = lock(&emitted);
        (e.scenes.clone(), e.shots, e.dialogue.clone(), e.fenced)
    };
    assert!(
        scenes.len() >= 4,
        "two chapters in several chunks: {scenes:?}"
    );
    assert!(fenced >= 1, "some answers needed repair");
    watcher
        .pump_until(Duration::from_secs(30), |c| {
            Project::from_doc(c.doc.clone()).shots().len() >= shots
        })
        .await?;
    watcher.pump_for(Duration::from_millis(100)).await?;
    assert!(
        watcher.awareness_received > awareness_before,
        "the server announced the running job"
    );

    let seen = Project::from_doc(watcher.doc.clone());
    assert_eq!(seen.script_text(), script_before, "the script is untouched");
    assert_eq!(seen.shots().len(), shots);
    let board = seen.scenes();
    assert_eq!(board.len(), scenes.len());
    for (scene, quote) in board.iter().zip(&scenes) {
        let text = scene
            .script_range
            .as_ref()
            .and_then(|a| seen.anchored_text(a))
            .with_context(|| format!("scene {} is anchored", scene.title))?;
        assert!(
            text.starts_with(quote.as_str()),
            "scene {} starts at its quote {quote:?}: {:?}",
            scene.title,
            text.chars().take(40).collect::<String>()
        );
        assert_eq!(scene.location, "Wonderland");
    }
    let alice = seen.find_character("Alice").context("Alice")?;
    let rabbit = seen
        .find_character("Rabbit")
        .context("the White Rabbit, by his alias")?;
    assert_eq!(rabbit.name, "White Rabbit");
    assert_eq!(seen.characters().len(), 2, "merged across chunks");
    let all = seen.shots();
    assert!(all.iter().all(|s| s.duration_ms == 3_500));
    assert!(
        all.iter()
            .all(|s| script_before.contains(s.description.as_str()) && !s.description.is_empty()),
        "every shot is described by its own paragraph"
    );
    assert!(all.iter().any(|s| s.character_ids.contains(&alice.id)));
    assert!(
        all.iter().any(|s| s.character_ids.contains(&rabbit.id)),
        "an alias in a shot points at the canonical character"
    );
    let spoken: Vec<&str> = all
        .iter()
        .map(|s| s.dialogue.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(spoken, dialogue, "every line of dialogue, in order");
    assert!(seen.validate().is_empty(), "{:?}", seen.validate());
    let summary = seen
        .job(&shared_model::JobId::from(job.as_str()))
        .context("the job's summary is in the document")?;
    assert_eq!(summary.status, shared_model::JobStatus::Succeeded);

    // A second breakdown would pile a second board on this one.
    let (status, again) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 409, "{again}");
    assert!(
        again["error"]
            .as_str()
            .unwrap_or_default()
            .contains("already has")
    );
    responses.push(again);

    // The key is nowhere: not in a response, the document, the logs or the database file.
    for response in &responses {
        assert_clean("an API response", response.to_string().as_bytes());
    }
    assert_clean("the document (encoded)", &seen.encode_state());
    assert_clean("the document (as JSON)", seen.to_json().as_bytes());
    watcher.close().await;
    server.stop().await;
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        if path.is_file() {
            stored.extend(std::fs::read(&path)?);
        }
    }
    assert!(stored.len() > 10_000, "the database was found");
    assert_clean("the data dir", &stored);
    let logs = lock(&logs.0).clone();
    assert!(
        logs.windows(17).any(|w| w == b"breakdown written"),
        "the capture saw the job's logs"
    );
    assert_clean("the logs", &logs);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_still_invalid_after_the_re_asks_fail_the_job_and_leave_the_document_as_it_was()
-> anyhow::Result<()> {
    let fake = FakeOpenAiChat::start().await;
    let dir = tempfile::tempdir()?;
    let (server, api) = keyed_alice(&fake, dir.path()).await?;
    let mut watcher = WsClient::connect_synced(&server.ws_url(&api.project, &api.token)).await?;
    watcher.pump_for(Duration::from_millis(100)).await?;
    let before = Project::from_doc(watcher.doc.clone());
    let (state_before, json_before) = (before.state_vector(), before.to_json());

    // Prose, then JSON of the wrong shape twice: each answer is checked, the model is told
    // what is wrong and asked again, and after the third the adapter gives up.
    fake.push_reply("I'm sorry, but I can't help with storyboards.");
    fake.push_reply(r#"{"scenes": []}"#);
    fake.push_reply(r#"{"scenes": [{"title": "The bank", "shots": []}]}"#);
    let (status, queued) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 202, "{queued}");
    let job = queued["job"].as_str().context("job id")?;
    let (done, _, _) = follow(&api, job).await?;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error_class"], "invalid_output", "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    for needle in [
        "CHAPTER I. Down the Rabbit-Hole (part 1)",
        "after 3 attempts",
        "scenes[0].shots must be a non-empty array",
    ] {
        assert!(error.contains(needle), "{needle:?} in {error:?}");
    }
    // The provider billed the three rejected answers all the same: so does the budget.
    assert_eq!(fake.submissions(), 3);
    let (input_price, output_price) = token_price("deepseek-chat")?;
    let billed = 3.0 * (120.0 * input_price + 40.0 * output_price) / 1e6;
    let (_, budget) = api.call(reqwest::Method::GET, "/budget", None).await?;
    let spent = budget["spent_usd"].as_f64().context("spent_usd")?;
    assert!(
        billed > 0.0 && (spent - billed).abs() < 1e-12,
        "three answers cost ${billed}: {budget}"
    );
    let last = fake.last_request().context("the fake was asked")?;
    let messages = last["messages"].as_array().context("messages")?;
    assert_eq!(messages.len(), 6, "system, passage, then two re-asks");
    assert!(
        messages[5]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("answer.scenes must not be empty"),
        "the re-ask says what was wrong: {}",
        messages[5]
    );

    // Nothing was written: the replica and a fresh client's copy are what they were.
    watcher.pump_for(Duration::from_millis(200)).await?;
    let after = Project::from_doc(watcher.doc.clone());
    assert_eq!(
        after.state_vector(),
        state_before,
        "no update reached the room"
    );
    assert_eq!(after.to_json(), json_before);
    let fresh = WsClient::connect_synced(&server.ws_url(&api.project, &api.token)).await?;
    let stored = Project::from_doc(fresh.doc.clone());
    assert_eq!(stored.state_vector(), state_before, "nor the database");
    assert!(stored.shots().is_empty() && stored.characters().is_empty());

    // The project can be broken down once the model behaves.
    fake.set_responder(|_| {
        json!({"scenes": [{"title": "All of it", "start_quote": "", "shots": [
            {"description": "Alice on the river bank", "duration_seconds": 4}]}]})
        .to_string()
    });
    let (status, queued) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 202, "{queued}");
    let (done, _, _) = follow(&api, queued["job"].as_str().context("job id")?).await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    fresh.close().await;
    watcher.close().await;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_the_breakdown_is_refused_naming_the_missing_credential() -> anyhow::Result<()>
{
    let fake = FakeOpenAiChat::start().await;
    let dir = tempfile::tempdir()?;
    let server = start(&fake, dir.path()).await;
    let (api, _) = import_script(&server, &alice_1_2()).await?;
    let watcher = WsClient::connect_synced(&server.ws_url(&api.project, &api.token)).await?;
    let state_before = Project::from_doc(watcher.doc.clone()).state_vector();

    let (status, refused) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 400, "{refused}");
    let message = refused["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("no openai-chat key is set for this project"),
        "{message}"
    );
    assert!(
        message.contains("/credentials/openai-chat"),
        "the message says how to set it: {message}"
    );
    let (status, refused) =
        llm_breakdown(&api, json!({"mode": "llm", "provider": "gemini"})).await?;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown breakdown provider"),
        "{refused}"
    );
    let (status, refused) = llm_breakdown(&api, json!({"mode": "poetry"})).await?;
    assert_eq!(status, 400, "{refused}");
    // A chat provider makes no frames: generation points at the breakdown instead.
    let (status, refused) = api
        .generate(json!({"provider": "openai-chat", "kind": "frame", "scope": "all"}))
        .await?;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or_default()
            .contains("makes no frames or clips"),
        "{refused}"
    );
    assert!(api.jobs().await?.is_empty(), "no job was queued");

    // A key for another provider is not a key for this one.
    api.set_key("openai-images", FAKE_KEY).await?;
    let (status, _) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 400);
    let fresh = WsClient::connect_synced(&server.ws_url(&api.project, &api.token)).await?;
    assert_eq!(
        Project::from_doc(fresh.doc.clone()).state_vector(),
        state_before,
        "the document is untouched"
    );
    assert!(fake.last_request().is_none(), "the model was never asked");
    fresh.close().await;
    watcher.close().await;
    server.stop().await;
    Ok(())
}

/// A chat model's list prices (input, output per million tokens), read from the table the
/// server is built with.
fn token_price(model: &str) -> anyhow::Result<(f64, f64)> {
    let table: Value =
        serde_json::from_str(include_str!("../../sync-server/src/jobs/prices.json"))?;
    let entry = table["token_prices"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["provider"] == "openai-chat" && p["model"] == model)
        .with_context(|| format!("no price for {model}"))?;
    Ok((
        entry["input_usd_per_million"].as_f64().context("input")?,
        entry["output_usd_per_million"].as_f64().context("output")?,
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breakdown_that_would_exceed_the_budget_is_refused_before_the_model_is_asked()
-> anyhow::Result<()> {
    let fake = FakeOpenAiChat::start().await;
    let dir = tempfile::tempdir()?;
    let (server, api) = keyed_alice(&fake, dir.path()).await?;
    // Two chapters of Alice are tens of thousands of tokens: more than a hundredth of a cent.
    let (status, budget) = api
        .call(
            reqwest::Method::PUT,
            "/budget",
            Some(json!({"limit_usd": 0.0001})),
        )
        .await?;
    assert_eq!(status, 200, "{budget}");
    let (status, refused) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 402, "{refused}");
    let message = refused["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("budget exceeded")
            && message.contains("LLM breakdown")
            && message.contains("deepseek-chat"),
        "{message}"
    );
    assert!(api.jobs().await?.is_empty(), "no job was queued");
    assert!(fake.last_request().is_none(), "the model was never asked");
    // A model the table has no price for (a local one) reserves nothing and may run.
    let (status, queued) =
        llm_breakdown(&api, json!({"mode": "llm", "model": "llama3.1:8b"})).await?;
    assert_eq!(status, 202, "{queued}");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breakdown_parked_by_rate_limits_is_charged_for_the_answers_of_every_attempt()
-> anyhow::Result<()> {
    let fake = FakeOpenAiChat::start().await;
    let emitted = Arc::new(Mutex::new(Emitted::default()));
    let model = emitted.clone();
    fake.set_responder(move |request| storyboard(request, &model));
    // Slow enough answers that the fault below lands while chunks are still to be asked.
    fake.set_answer_delay(Duration::from_millis(100));
    let dir = tempfile::tempdir()?;
    // One retry in the decorator: two 429s in a row give up, and the job is parked.
    let server = start_with(&fake, dir.path(), |c| c.provider_retries = 1).await;
    let (api, _) = import_script(&server, &alice_1_2()).await?;
    api.set_key("openai-chat", FAKE_KEY).await?;
    let (status, queued) =
        llm_breakdown(&api, json!({"mode": "llm", "model": "deepseek-chat"})).await?;
    assert_eq!(status, 202, "{queued}");
    let job = queued["job"].as_str().context("job id")?.to_owned();
    // Once the first chunk is answered (and billed), the provider turns busy.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fake.submissions() == 0 {
        if std::time::Instant::now() > deadline {
            bail!("the model was never asked");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    fake.inject(Fault::RateLimit {
        times: 2,
        retry_after_secs: Some(0),
    });
    let (done, _, _) = follow(&api, &job).await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(fake.rate_limited(), 2);
    assert!(
        done["attempts"].as_i64().unwrap_or(0) >= 2,
        "the job was parked and ran again: {done}"
    );
    // Every answer the provider served was billed once: those of the parked attempt (kept in
    // the row meanwhile) and those of the attempt that finished.
    let (input_price, output_price) = token_price("deepseek-chat")?;
    let expected = fake.submissions() as f64 * (120.0 * input_price + 40.0 * output_price) / 1e6;
    let (_, budget) = api.call(reqwest::Method::GET, "/budget", None).await?;
    let spent = budget["spent_usd"].as_f64().context("spent_usd")?;
    assert!(
        (spent - expected).abs() < 1e-12,
        "{} answers should cost ${expected}: {budget}",
        fake.submissions()
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breakdown_interrupted_by_a_restart_runs_again_and_writes_one_board_sqlite()
-> anyhow::Result<()> {
    restart_mid_breakdown(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breakdown_interrupted_by_a_restart_runs_again_and_writes_one_board_postgres()
-> anyhow::Result<()> {
    let url = sync_server::test_support::fresh_postgres_schema().await?;
    let result = restart_mid_breakdown(Some(url.clone())).await;
    sync_server::test_support::drop_postgres_schema(&url).await?;
    result
}

async fn restart_mid_breakdown(database_url: Option<String>) -> anyhow::Result<()> {
    let fake = FakeOpenAiChat::start().await;
    let emitted = Arc::new(Mutex::new(Emitted::default()));
    let model = emitted.clone();
    fake.set_responder(move |request| storyboard(request, &model));
    fake.set_answer_delay(Duration::from_millis(150));
    let dir = tempfile::tempdir()?;
    let server = start_on(&fake, dir.path(), database_url.clone()).await;
    let (api, _) = import_script(&server, &alice_1_2()).await?;
    api.set_key("openai-chat", FAKE_KEY).await?;
    let (status, queued) = llm_breakdown(&api, json!({"mode": "llm"})).await?;
    assert_eq!(status, 202, "{queued}");
    let job = queued["job"].as_str().context("job id")?.to_owned();

    // Stop the server once the model has answered part of the script.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = api.jobs().await?;
        let running = jobs.iter().find(|j| j["id"] == job.as_str());
        if running
            .and_then(|j| j["progress"].as_f64())
            .is_some_and(|p| p > 0.0)
        {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no progress before the restart: {jobs:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
    let answered_before_restart = lock(&emitted).scenes.len();
    assert!(answered_before_restart > 0);

    // The same data dir: the job is resumed without being asked again, from the start.
    *lock(&emitted) = Emitted::default();
    let server = start_on(&fake, dir.path(), database_url).await;
    let api = Api::new(server.http(""), api.project.clone(), api.token.clone());
    let (done, _, _) = follow(&api, &job).await?;
    assert_eq!(done["status"], "succeeded", "{done}");
    let expected = lock(&emitted).shots;
    let client = WsClient::connect_synced(&server.ws_url(&api.project, &api.token)).await?;
    let seen = Project::from_doc(client.doc.clone());
    assert_eq!(
        seen.shots().len(),
        expected,
        "one board, from the run that finished"
    );
    assert_eq!(seen.scenes().len(), lock(&emitted).scenes.len());
    client.close().await;
    server.stop().await;
    Ok(())
}
