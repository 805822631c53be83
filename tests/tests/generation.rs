//! Generation end to end across crates: the sync server's job runner drives the provider
//! adapters against their wire-compatible fakes, and the frames arrive as takes in a native
//! y-websocket client that is connected the whole time.

#[path = "../../sync-server/tests/support/jobs.rs"]
mod support;

use std::time::Duration;

use anyhow::Context;
use provider_adapters::fake::{FAKE_KEY, FakeComfyUi, FakeOpenAiImages};
use serde_json::json;
use support::{Api, board};
use sync_server::test_support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_for_20_shots_through_openai_images_and_comfyui_reach_a_connected_client()
-> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("sync_server=warn")
        .with_test_writer()
        .try_init();
    let openai = FakeOpenAiImages::start().await;
    let comfy = FakeComfyUi::start().await;
    let server = TestServer::start_with(|c| {
        c.job_poll_ms = 5;
        c.provider_urls = vec![
            format!("openai-images={}", openai.config().base_url),
            format!("comfyui={}", comfy.config().base_url),
        ];
    })
    .await;
    let (project, token) = server.project().await;
    let api = Api::new(server.http(""), project.to_string(), token.clone());
    let mut board = board(&server.ws_url(project.as_str(), &token), 20).await?;
    // A second collaborator, watching.
    let mut watcher = sync_server::test_support::WsClient::connect_synced(
        &server.ws_url(project.as_str(), &token),
    )
    .await?;

    // The character of the first two shots has a reference image: it goes along to adapters
    // that take references.
    let reference = provider_adapters::fake::fake_png(32, 18);
    let uploaded: serde_json::Value = api
        .http
        .post(format!("{}/api/projects/{project}/assets", api.base))
        .bearer_auth(&token)
        .body(reference.to_vec())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let sha = uploaded["sha256"].as_str().context("sha256")?.to_owned();
    let p = board.project();
    let hero = p.characters()[0].id.clone();
    board
        .client
        .send_changes(|| {
            p.update_character(
                &hero,
                &shared_model::CharacterPatch {
                    reference_asset_ids: Some(vec![sha.as_str().into()]),
                    ..Default::default()
                },
            )
            .expect("character exists");
        })
        .await?;
    board.client.pump_for(Duration::from_millis(100)).await?;

    api.set_key("openai-images", FAKE_KEY).await?;
    // The hero's shots first, on their own: the fakes answer every request with the same
    // image, and identical bytes are one content-addressed asset whose record the last job
    // writes, so the reference check has to look before other shots reuse those bytes.
    let hero_shots = api
        .generate_ok(json!({"provider": "openai-images", "kind": "frame", "scope": {"shots": &board.shots[..2]}}))
        .await?;
    api.wait_done(&hero_shots, Duration::from_secs(60)).await?;
    let sent = openai
        .last_request()
        .context("a request reached the fake")?;
    assert!(
        sent["image[]"].is_object() || sent["image[]"].is_array(),
        "an image edit with the reference: {sent}"
    );
    board.wait_takes(2, Duration::from_secs(30)).await?;
    let p = board.project();
    let provenance = p
        .asset(&p.shots()[0].takes[0])
        .and_then(|a| a.provenance)
        .context("provenance")?;
    assert_eq!(
        provenance.reference_asset_ids,
        vec![shared_model::AssetId::from(sha.as_str())]
    );
    assert!(
        provenance.prompt.contains("Liu Bei"),
        "{}",
        provenance.prompt
    );

    let mut ids = api
        .generate_ok(json!({"provider": "openai-images", "kind": "frame", "scope": {"shots": &board.shots[2..10]}}))
        .await?;
    ids.extend(
        api.generate_ok(
            json!({"provider": "comfyui", "kind": "frame", "scope": {"shots": &board.shots[10..]}}),
        )
        .await?,
    );
    assert_eq!(ids.len(), 18);
    board.wait_takes(20, Duration::from_secs(120)).await?;
    let jobs = api.wait_done(&ids, Duration::from_secs(60)).await?;
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"), "{jobs:?}");
    assert_eq!(openai.submissions(), 10, "one submission per shot, no more");

    watcher
        .pump_until(Duration::from_secs(30), |c| {
            shared_model::Project::from_doc(c.doc.clone())
                .shots()
                .iter()
                .all(|s| s.selected_take.is_some())
        })
        .await?;
    let seen = shared_model::Project::from_doc(watcher.doc.clone());
    for (i, shot) in seen.shots().iter().enumerate() {
        assert_eq!(shot.selected_take.as_ref(), shot.takes.first(), "shot {i}");
        let asset = seen.asset(&shot.takes[0]).context("asset record")?;
        assert_eq!(asset.mime, "image/png");
        let provenance = asset.provenance.context("provenance")?;
        let expected = if i < 10 { "openai-images" } else { "comfyui" };
        assert_eq!(provenance.provider, expected, "shot {i}");
        assert!(
            provenance.prompt.contains("peach blossoms"),
            "shot {i}: {}",
            provenance.prompt
        );
        if i >= 10 {
            assert!(
                provenance.seed.is_some(),
                "ComfyUI frames record their seed"
            );
            assert_eq!(provenance.recipe_id, "builtin/comfyui");
        }
    }
    server.stop().await;
    Ok(())
}
