//! OpenAI-compatible chat in JSON mode against its fake: validation, repair, re-asking,
//! and the failures a breakdown job meets (429s, 402, stalls, bad keys).

use std::time::Duration;

use anyhow::Context;
use provider_adapters::fake::{FAKE_KEY, FakeOpenAiChat, Fault};
use provider_adapters::openai_chat::OpenAiChat;
use provider_adapters::{ChatRequest, Error, GenerationProvider, Retry, RetryConfig, Secret};
use serde_json::Value;

/// The caller's check: an object with a `shots` array of objects with a numeric `n`.
fn shots(value: &Value) -> Result<(), String> {
    let shots = value["shots"].as_array().ok_or("missing array `shots`")?;
    for (i, shot) in shots.iter().enumerate() {
        if !shot["n"].is_number() {
            return Err(format!("shots[{i}].n must be a number"));
        }
    }
    Ok(())
}

fn request() -> ChatRequest {
    ChatRequest::new(
        "You split a scene into shots.",
        "Scene: Liu Bei meets Guan Yu.",
    )
}

async fn setup() -> anyhow::Result<(FakeOpenAiChat, OpenAiChat)> {
    let fake = FakeOpenAiChat::start().await;
    let chat = OpenAiChat::new(fake.config())?;
    Ok((fake, chat))
}

fn last_messages(fake: &FakeOpenAiChat) -> Vec<Value> {
    fake.last_request()
        .and_then(|r| r["messages"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_valid_answer_is_accepted_first_time() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.push_reply(r#"{"shots": [{"n": 1}, {"n": 2}]}"#);
    let answer = chat.chat_json(&request(), &shots).await?;
    assert_eq!(answer.attempts, 1);
    assert!(!answer.repaired);
    assert_eq!(answer.value["shots"][1]["n"], 2);
    assert_eq!(answer.usage.and_then(|u| u.total_tokens), Some(160));
    // JSON mode was asked for, and the prompt was given the word "json" it requires.
    let sent = fake.last_request().context("nothing sent")?;
    assert_eq!(sent["response_format"]["type"], "json_object");
    assert!(
        sent["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("JSON")
    );
    Ok(())
}

#[tokio::test]
async fn fenced_answers_with_trailing_commas_are_repaired() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.push_reply("Sure!\n```json\n{\"shots\": [{\"n\": 1},],}\n```");
    let answer = chat.chat_json(&request(), &shots).await?;
    assert_eq!((answer.attempts, answer.repaired), (1, true));
    assert_eq!(fake.submissions(), 1);
    Ok(())
}

#[tokio::test]
async fn truncated_answers_are_closed() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.push_truncated(r#"{"shots": [{"n": 1}, {"n": 2"#);
    let answer = chat.chat_json(&request(), &shots).await?;
    assert!(answer.repaired);
    assert_eq!(answer.value["shots"].as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test]
async fn a_failed_check_is_sent_back_to_the_model() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.push_reply(r#"{"shots": [{"n": "one"}]}"#);
    fake.push_reply(r#"{"shots": [{"n": 1}]}"#);
    let answer = chat.chat_json(&request(), &shots).await?;
    assert_eq!(answer.attempts, 2);
    let messages = last_messages(&fake);
    // system, user, the bad answer, the correction.
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["role"], "assistant");
    let correction = messages[3]["content"].as_str().unwrap_or_default();
    assert!(
        correction.contains("shots[0].n must be a number"),
        "{correction}"
    );
    Ok(())
}

#[tokio::test]
async fn empty_answers_are_asked_again() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.push_reply("");
    fake.push_reply(r#"{"shots": []}"#);
    let answer = chat.chat_json(&request(), &shots).await?;
    assert_eq!(answer.attempts, 2);
    Ok(())
}

#[tokio::test]
async fn hopeless_answers_fail_clearly_after_the_attempt_limit() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    for _ in 0..3 {
        fake.push_reply("I am sorry, I cannot produce that.");
    }
    let err = chat
        .chat_json(&request(), &shots)
        .await
        .err()
        .context("accepted prose")?;
    match &err {
        Error::InvalidOutput {
            attempts,
            message,
            usage,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert!(message.contains("not valid JSON"), "{message}");
            // The fake reports 120 prompt and 40 completion tokens per answer.
            assert_eq!(usage.input_tokens, Some(3 * 120), "{usage:?}");
            assert_eq!(usage.output_tokens, Some(3 * 40), "{usage:?}");
        }
        other => panic!("got {other:?}"),
    }
    assert_eq!(fake.submissions(), 3);
    assert!(
        err.to_string()
            .starts_with("openai-chat: the model's answer failed validation after 3 attempts")
    );
    Ok(())
}

#[tokio::test]
async fn insufficient_balance_is_a_balance_error() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.push_error(402, "Insufficient Balance");
    let err = chat
        .chat_json(&request(), &shots)
        .await
        .err()
        .context("no error")?;
    assert!(matches!(err, Error::Balance { .. }), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn a_429_storm_ends_in_success_through_retry() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.inject(Fault::RateLimit {
        times: 4,
        retry_after_secs: Some(0),
    });
    let chat = Retry::new(
        chat,
        RetryConfig {
            base_delay: Duration::from_millis(5),
            ..RetryConfig::default()
        },
    );
    chat.chat_json(&request(), &|_| Ok(())).await?;
    assert_eq!(fake.rate_limited(), 4);
    assert_eq!(fake.submissions(), 1);
    Ok(())
}

#[tokio::test]
async fn keep_alive_blanks_do_not_hold_the_call_forever() -> anyhow::Result<()> {
    let (fake, chat) = setup().await?;
    fake.inject(Fault::Stall);
    let started = std::time::Instant::now();
    let err = chat
        .chat_json(&request(), &shots)
        .await
        .err()
        .context("no error")?;
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_without_the_key() -> anyhow::Result<()> {
    let fake = FakeOpenAiChat::start().await;
    let mut config = fake.config();
    config.api_key = Secret::new("sk-wrong-key-123");
    let chat = OpenAiChat::new(config.clone())?;
    let err = chat
        .chat_json(&request(), &shots)
        .await
        .err()
        .context("no error")?;
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{chat:?}"),
        format!("{config:?}"),
    ] {
        assert!(
            !text.contains("sk-wrong-key-123") && !text.contains(FAKE_KEY),
            "{text}"
        );
    }
    // Images are not this adapter's job.
    assert!(!chat.supports(provider_adapters::Operation::TextToImage));
    Ok(())
}
