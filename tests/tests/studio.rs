//! Day one: a novel goes in over HTTP, comes out as a shared storyboard every client sees, and
//! leaves in every export format. Bad files end in clear errors and touch nothing.

use std::time::Duration;

use serde_json::Value;
use shared_model::Project;
use shared_model::testing::data_dir;
use sync_server::test_support::{TestServer, WsClient};

async fn import(server: &TestServer, file: &str, bytes: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.http(&format!("/api/import?file_name={file}")))
        .body(bytes)
        .send()
        .await
        .expect("server answers")
}

fn novel(file: &str) -> Vec<u8> {
    std::fs::read(data_dir().join("novels").join(file)).expect("novel present")
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON error body");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_chinese_novel_imports_and_every_client_sees_the_storyboard() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let response = import(
        &server,
        "sanguo-ch01-10.zh.txt",
        novel("sanguo-ch01-10.zh.txt"),
    )
    .await;
    assert_eq!(response.status(), 201);
    let imported: Value = response.json().await?;
    assert_eq!(imported["chapters"], 10);
    assert_eq!(imported["language"], "zh");
    let shots = imported["shots"].as_u64().unwrap() as usize;
    assert!(shots > 500, "{imported}");

    let project = imported["project_id"].as_str().unwrap();
    let token = imported["token"].as_str().unwrap();
    let mut client = WsClient::connect_synced(&server.ws_url(project, token)).await?;
    client.pump_for(Duration::from_millis(200)).await?;
    let replica = Project::from_doc(client.doc.clone());
    assert_eq!(replica.shots().len(), shots);
    assert!(replica.script_text().starts_with("第一回"));
    let liu = replica
        .find_character("玄德")
        .expect("刘备 found by his courtesy name");
    assert_eq!(liu.name, "刘备");
    assert!(replica.validate().is_empty());
    client.close().await;
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn exports_come_out_in_every_format() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let script = "Title: Pier\n\nEXT. PIER - NIGHT\n\nRain on the boards.\n\nMARA\nYou came.\n\nINT. CAR - NIGHT\n\nWipers. Silence.\n";
    let imported: Value = import(&server, "pier.fountain", script.into())
        .await
        .json()
        .await?;
    let project = imported["project_id"].as_str().unwrap();
    let token = imported["token"].as_str().unwrap();
    let http = reqwest::Client::new();
    for (format, mime, needle) in [
        ("otio", "application/json", "Timeline.1"),
        ("edl", "text/plain; charset=utf-8", "TITLE: Pier"),
        ("fcp7", "application/xml", "<xmeml"),
        ("fcpxml", "application/xml", "<fcpxml"),
        ("fountain", "text/plain; charset=utf-8", "EXT. PIER - NIGHT"),
        ("sheet", "text/html; charset=utf-8", "3 shots"),
        ("media", "application/json", "\"media\":[]"),
        ("animatic", "video/mp4", "ftyp"),
    ] {
        let response = http
            .get(server.http(&format!("/api/projects/{project}/export/{format}")))
            .bearer_auth(token)
            .send()
            .await?;
        assert_eq!(response.status(), 200, "{format}");
        assert_eq!(response.headers()["content-type"], mime, "{format}");
        let body = response.bytes().await?;
        assert!(
            String::from_utf8_lossy(&body).contains(needle),
            "{format} lacks {needle}"
        );
    }
    let unknown = http
        .get(server.http(&format!("/api/projects/{project}/export/pdf")))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(error_of(unknown).await.0, 400);
    let anonymous = http
        .get(server.http(&format!("/api/projects/{project}/export/otio")))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn broken_files_end_in_clear_errors_and_change_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let count = || async { server.state.store().project_count().await.expect("count") };
    let good: Value = import(
        &server,
        "a.txt",
        "CHAPTER I.\n\n'Hello,' said Alice.".into(),
    )
    .await
    .json()
    .await?;
    let before = count().await;

    let (status, message) = error_of(import(&server, "empty.txt", Vec::new()).await).await;
    assert_eq!((status, message.as_str()), (400, "the file is empty"));
    let binary: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (status, message) = error_of(import(&server, "a.bin", binary).await).await;
    assert_eq!(status, 400);
    assert!(message.contains("does not look like text"), "{message}");
    let (status, message) =
        error_of(import(&server, "big.txt", vec![b'a'; 50 * 1024 * 1024]).await).await;
    assert_eq!(status, 413);
    assert!(message.contains("limited to"), "{message}");

    assert_eq!(count().await, before, "a failed import created a project");
    let project = good["project_id"].as_str().unwrap();
    let token = good["token"].as_str().unwrap();
    let otio = reqwest::Client::new()
        .get(server.http(&format!("/api/projects/{project}/export/otio")))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(otio.status(), 200);
    server.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_typed_script_is_broken_down_as_a_document_peer() -> anyhow::Result<()> {
    let server = TestServer::start().await;
    let (project, token) = server.project().await;
    let mut writer = WsClient::connect_synced(&server.ws_url(project.as_str(), &token)).await?;
    writer
        .append_script("CHAPTER I. The Pier\n\n'You came,' said Mara.\n\n'I did,' said Tom.\n\nRain fell on the boards.")
        .await?;
    writer.pump_for(Duration::from_millis(200)).await?;

    let http = reqwest::Client::new();
    let url = server.http(&format!("/api/projects/{project}/breakdown"));
    let response = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"mode": "offline"}))
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await?;
    assert!(result["shots"].as_u64().unwrap() >= 3, "{result}");

    // The collaborator sees the new board arrive live.
    writer
        .pump_until(Duration::from_secs(10), |c| {
            Project::from_doc(c.doc.clone()).shots().len() >= 3
        })
        .await?;
    let replica = Project::from_doc(writer.doc.clone());
    assert!(
        replica.shots().iter().any(|s| s.dialogue == "You came,"),
        "{:?}",
        replica.shots()
    );

    // A second breakdown would duplicate the board: refused, nothing changes.
    let again = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"mode": "offline"}))
        .send()
        .await?;
    let (status, message) = error_of(again).await;
    assert_eq!(status, 409);
    assert!(message.contains("already has"), "{message}");
    let viewer = server.token(&project, sync_server::auth::Role::Viewer, None);
    let denied = http
        .post(&url)
        .bearer_auth(viewer)
        .json(&serde_json::json!({"mode": "offline"}))
        .send()
        .await?;
    assert_eq!(denied.status(), 403);
    writer.close().await;
    server.stop().await;
    Ok(())
}
