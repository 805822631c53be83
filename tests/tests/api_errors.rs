//! Every REST error answers the one shape `{"error", "code", "provider"?}` (`ApiErrorBody`) with
//! the status its code stands for, including the framework's own rejections (a body that is not
//! JSON, a missing field, the wrong content type, a body over the limit, a query that does not
//! parse, an unknown endpoint, a wrong method), which axum would otherwise answer in plain text.

use api_types::{ApiErrorBody, ErrorCode};
use reqwest::StatusCode;
use serde_json::json;
use sync_server::test_support::TestServer;

/// The status and the parsed error body; fails unless the body is JSON of the error shape.
async fn refusal(response: reqwest::Response) -> anyhow::Result<(StatusCode, ApiErrorBody)> {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await?;
    assert!(
        content_type.starts_with("application/json"),
        "{status}: {content_type:?} {text}"
    );
    let body: ApiErrorBody = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{status}: not the error shape ({e}): {text}"))?;
    assert!(!body.error.is_empty(), "{text}");
    // axum's own wording never reaches a client.
    assert!(!body.error.contains("Failed to"), "{text}");
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frameworks_rejections_take_the_error_shape() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (project, owner) = server.project().await;
    let json_post = |path: &str, body: String| {
        http.post(server.http(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
    };

    // Not JSON at all.
    let (status, body) = refusal(
        json_post("/api/projects", r#"{"title":"#.into())
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::InvalidBody);
    assert!(body.error.contains("not valid JSON"), "{}", body.error);

    // JSON without a required field (axum says 422 in plain text).
    let (status, body) = refusal(json_post("/api/projects", "{}".into()).send().await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::InvalidBody);
    assert!(
        body.error.contains("missing field `title`"),
        "{}",
        body.error
    );

    // A field of the wrong value is named by its path.
    let (status, body) = refusal(
        http.post(server.http(&format!("/api/projects/{project}/tokens")))
            .bearer_auth(&owner)
            .json(&json!({"role": "admin", "expires_in_secs": 60}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::InvalidBody);
    assert!(
        body.error.contains("role") && body.error.contains("admin"),
        "{}",
        body.error
    );

    // A body that is not declared as JSON.
    let (status, body) = refusal(
        http.post(server.http("/api/projects"))
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(r#"{"title":"Moby Dick"}"#)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body.code, ErrorCode::UnsupportedMediaType);

    // A JSON body over the default limit (2 MB).
    // On its own client: the server answers 413 without reading the rest and closes the
    // connection, and a pooled connection that is closing would fail the next request.
    let huge = format!(r#"{{"title":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let (status, body) = refusal(
        reqwest::Client::new()
            .post(server.http("/api/projects"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(huge)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.code, ErrorCode::PayloadTooLarge);

    // Endpoints that do not exist, under /api, for any method.
    for (method, path) in [
        (reqwest::Method::GET, "/api/nope".to_owned()),
        (
            reqwest::Method::POST,
            format!("/api/projects/{project}/nope"),
        ),
        (reqwest::Method::DELETE, "/api".to_owned()),
    ] {
        let (status, body) = refusal(
            http.request(method.clone(), server.http(&path))
                .bearer_auth(&owner)
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body.code, ErrorCode::NotFound, "{method} {path}");
    }

    // A path that exists, with a method it does not take; the Allow header still says which.
    let response = http.delete(server.http("/api/projects")).send().await?;
    let allow = response
        .headers()
        .get(reqwest::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = refusal(response).await?;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body.code, ErrorCode::MethodNotAllowed);
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow:?}");
    let (status, body) = refusal(
        http.get(server.http(&format!("/api/projects/{project}/generate")))
            .bearer_auth(&owner)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body.code, ErrorCode::MethodNotAllowed);

    // A query string that does not parse (a repeated field).
    let (status, body) = refusal(
        http.get(server.http("/api/projects?token=a&token=b"))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::BadRequest);
    assert!(body.error.contains("token"), "{}", body.error);

    // The handlers' own refusals have codes too.
    let (status, body) = refusal(
        http.get(server.http("/api/projects/not-a-project/jobs"))
            .bearer_auth(&owner)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body.code, ErrorCode::NotFound);
    let (status, body) = refusal(
        http.get(server.http(&format!("/api/projects/{project}/jobs")))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body.code, ErrorCode::Unauthorized);

    // Outside /api the studio's files are served as before, not API errors.
    let health = http.get(server.http("/healthz")).send().await?;
    assert_eq!(health.status(), StatusCode::OK);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_a_code_naming_the_provider() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let (project, owner) = server.project().await;

    let (status, body) = refusal(
        http.post(server.http(&format!("/api/projects/{project}/generate")))
            .bearer_auth(&owner)
            .json(&json!({"provider": "gemini", "kind": "frame", "scope": "missing"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::MissingCredential);
    assert_eq!(body.provider.as_deref(), Some("gemini"));

    // An LLM breakdown without the chat provider's key: the same code, its provider.
    let (status, body) = refusal(
        http.post(server.http(&format!("/api/projects/{project}/breakdown")))
            .bearer_auth(&owner)
            .json(&json!({"mode": "llm"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::MissingCredential);
    assert_eq!(body.provider.as_deref(), Some("openai-chat"));

    // Other refusals of a generate request are not mistaken for it.
    let (status, body) = refusal(
        http.post(server.http(&format!("/api/projects/{project}/generate")))
            .bearer_auth(&owner)
            .json(&json!({"provider": "gemini", "kind": "clip", "scope": "missing"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.code, ErrorCode::BadRequest);
    assert_eq!(body.provider, None);
    server.stop().await;
    Ok(())
}
