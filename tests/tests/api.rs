//! The REST API over real HTTP: projects, share tokens, assets, health and metrics.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sync_server::test_support::TestServer;

/// A tiny but real PNG (1x1, transparent).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

async fn create_project(
    http: &reqwest::Client,
    server: &TestServer,
) -> anyhow::Result<(String, String)> {
    let response = http
        .post(server.http("/api/projects"))
        .json(&json!({ "title": "Moby Dick" }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await?;
    Ok((
        body["project_id"].as_str().expect("id").to_owned(),
        body["token"].as_str().expect("token").to_owned(),
    ))
}

async fn share(
    http: &reqwest::Client,
    server: &TestServer,
    project: &str,
    token: &str,
    role: &str,
) -> anyhow::Result<reqwest::Response> {
    Ok(http
        .post(server.http(&format!("/api/projects/{project}/tokens")))
        .bearer_auth(token)
        .json(&json!({ "role": role, "expires_in_secs": 3600 }))
        .send()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_share_tokens() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (project, owner) = create_project(&http, &server).await?;

    let listed: Value = http
        .get(server.http("/api/projects"))
        .bearer_auth(&owner)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed[0]["project_id"], project.as_str());
    assert_eq!(listed[0]["title"], "Moby Dick");
    assert_eq!(listed[0]["role"], "owner");

    let response = share(&http, &server, &project, &owner, "viewer").await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let viewer: Value = response.json().await?;
    let viewer = viewer["token"].as_str().expect("token").to_owned();
    let listed: Value = http
        .get(server.http("/api/projects"))
        .bearer_auth(&viewer)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(listed[0]["role"], "viewer");
    assert!(listed[0]["expires_at"].as_i64().is_some());

    // Only owners share; a viewer cannot mint itself an editor token.
    assert_eq!(
        share(&http, &server, &project, &viewer, "editor")
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    // Tokens are checked on every call.
    for bad in ["", "garbage", &format!("{owner}x")] {
        let status = http
            .get(server.http("/api/projects"))
            .bearer_auth(bad)
            .send()
            .await?
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad:?}");
    }
    assert_eq!(
        http.get(server.http("/api/projects"))
            .send()
            .await?
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, other_owner) = create_project(&http, &server).await?;
    assert_eq!(
        share(&http, &server, &project, &other_owner, "editor")
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    let bad_title = http
        .post(server.http("/api/projects"))
        .json(&json!({ "title": "  " }))
        .send()
        .await?;
    assert_eq!(bad_title.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_content_addressed_sniffed_and_guarded() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_asset_bytes = 1024).await;
    let http = reqwest::Client::new();
    let (project, owner) = create_project(&http, &server).await?;
    let assets = server.http(&format!("/api/projects/{project}/assets"));

    // Raw body; the client's claimed type is ignored in favour of the bytes.
    let uploaded: Value = http
        .post(&assets)
        .bearer_auth(&owner)
        .header("content-type", "text/plain")
        .body(PNG)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let sha = sync_server::assets::sha256_hex(PNG);
    assert_eq!(uploaded["sha256"], sha.as_str());
    assert_eq!(uploaded["content_type"], "image/png");
    assert_eq!(uploaded["size"], PNG.len());

    // Multipart gives the same address.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("x.png"),
    );
    let again: Value = http
        .post(&assets)
        .bearer_auth(&owner)
        .multipart(form)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(again["sha256"], sha.as_str());

    // Download with the token in the query string, as an <img src> would.
    let response = http
        .get(format!("{assets}/{sha}?token={owner}"))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(&response.bytes().await?[..], PNG);

    // Limits and roles.
    let too_big = http
        .post(&assets)
        .bearer_auth(&owner)
        .body(vec![7u8; 2048])
        .send()
        .await?;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let viewer: Value = share(&http, &server, &project, &owner, "viewer")
        .await?
        .json()
        .await?;
    let viewer = viewer["token"].as_str().expect("token");
    let denied = http
        .post(&assets)
        .bearer_auth(viewer)
        .body(PNG)
        .send()
        .await?;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let ok = http
        .get(format!("{assets}/{sha}"))
        .bearer_auth(viewer)
        .send()
        .await?;
    assert_eq!(ok.status(), StatusCode::OK);
    let (other, other_owner) = create_project(&http, &server).await?;
    let cross = http
        .get(format!("{assets}/{sha}"))
        .bearer_auth(&other_owner)
        .send()
        .await?;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    // Another project does not see this project's asset even with its own valid token.
    let missing = http
        .get(server.http(&format!("/api/projects/{other}/assets/{sha}")))
        .bearer_auth(&other_owner)
        .send()
        .await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let traversal = http
        .get(format!("{assets}/..%2F..%2Ftoken-secret"))
        .bearer_auth(&owner)
        .send()
        .await?;
    assert_eq!(traversal.status(), StatusCode::NOT_FOUND);
    let no_token = http.get(format!("{assets}/{sha}")).send().await?;
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let health = http.get(server.http("/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    // Open a connection and commit an update so the gauges and counters exist.
    let (project, owner) = server.project().await;
    let mut client = sync_server::test_support::WsClient::connect_synced(
        &server.ws_url(project.as_str(), &owner),
    )
    .await?;
    client.append_script("x").await?;
    client
        .pump_until(std::time::Duration::from_secs(10), |c| {
            c.updates_received >= 1
        })
        .await?;
    let metrics = http
        .get(server.http("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    for name in [
        "sync_connections",
        "sync_rooms",
        "sync_updates_total",
        "sync_persist_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    // Internal errors never leak: the body of an error is a fixed, short message.
    let error = http
        .post(server.http("/api/projects"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await?;
    assert!(error.status().is_client_error());
    server.stop().await;
    Ok(())
}
