//! The studio's HTTP API, as the CLI uses it. Error responses carry `{"error": message}`,
//! which is shown as is.

use anyhow::{Context, Result, anyhow};
use reqwest::{RequestBuilder, Response};
use serde::Deserialize;

#[derive(Debug)]
pub(crate) struct Api {
    base: String,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Imported {
    pub project_id: String,
    pub token: String,
    pub title: String,
    pub chapters: usize,
    pub scenes: usize,
    pub shots: usize,
    pub characters: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BrokenDown {
    pub scenes: usize,
    pub shots: usize,
    pub characters: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Queued {
    pub jobs: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BreakdownQueued {
    pub job: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Job {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    /// 0.0 to 1.0 while running, when known.
    #[serde(default)]
    pub progress: Option<f32>,
}

#[derive(Debug, Deserialize)]
struct Jobs {
    jobs: Vec<Job>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MediaItem {
    pub sha256: String,
    /// Where exports reference it, relative to the export directory (`media/<sha256>.png`).
    pub path: String,
}

#[derive(Debug, Deserialize)]
struct MediaList {
    media: Vec<MediaItem>,
}

impl Api {
    pub(crate) fn new(base: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach the studio at {}; is it running (`cargo xtask run`)?",
                self.base
            )
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or(body);
        Err(anyhow!("{status}: {message}"))
    }

    pub(crate) async fn import(
        &self,
        file_name: &str,
        title: Option<&str>,
        breakdown: &str,
        bytes: Vec<u8>,
    ) -> Result<Imported> {
        let mut query = vec![("file_name", file_name), ("breakdown", breakdown)];
        if let Some(t) = title {
            query.push(("title", t));
        }
        let request = self
            .http
            .post(format!("{}/api/import", self.base))
            .query(&query)
            .body(bytes);
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn breakdown(
        &self,
        project: &str,
        token: &str,
        mode: &str,
    ) -> Result<BrokenDown> {
        let request = self
            .http
            .post(format!("{}/api/projects/{project}/breakdown", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "mode": mode }));
        Ok(self.send(request).await?.json().await?)
    }

    /// Queues an LLM breakdown; the answer names the job to follow.
    pub(crate) async fn breakdown_llm(
        &self,
        project: &str,
        token: &str,
        provider: &str,
        model: Option<&str>,
    ) -> Result<BreakdownQueued> {
        let request = self
            .http
            .post(format!("{}/api/projects/{project}/breakdown", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "mode": "llm", "provider": provider, "model": model }));
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn set_key(
        &self,
        project: &str,
        token: &str,
        provider: &str,
        key: &str,
    ) -> Result<()> {
        let request = self
            .http
            .put(format!(
                "{}/api/projects/{project}/credentials/{provider}",
                self.base
            ))
            .bearer_auth(token)
            .json(&serde_json::json!({ "key": key }));
        self.send(request).await?;
        Ok(())
    }

    pub(crate) async fn generate(
        &self,
        project: &str,
        token: &str,
        provider: &str,
        kind: &str,
        all: bool,
    ) -> Result<Queued> {
        let request = self
            .http
            .post(format!("{}/api/projects/{project}/generate", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({ "provider": provider, "kind": kind, "scope": if all { "all" } else { "missing" } }));
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn jobs(&self, project: &str, token: &str) -> Result<Vec<Job>> {
        let request = self
            .http
            .get(format!("{}/api/projects/{project}/jobs", self.base))
            .bearer_auth(token);
        Ok(self.send(request).await?.json::<Jobs>().await?.jobs)
    }

    pub(crate) async fn export(&self, project: &str, token: &str, format: &str) -> Result<Vec<u8>> {
        let request = self
            .http
            .get(format!(
                "{}/api/projects/{project}/export/{format}",
                self.base
            ))
            .bearer_auth(token);
        Ok(self.send(request).await?.bytes().await?.to_vec())
    }

    pub(crate) async fn media(&self, project: &str, token: &str) -> Result<Vec<MediaItem>> {
        let request = self
            .http
            .get(format!("{}/api/projects/{project}/export/media", self.base))
            .bearer_auth(token);
        Ok(self.send(request).await?.json::<MediaList>().await?.media)
    }

    pub(crate) async fn asset(&self, project: &str, token: &str, sha256: &str) -> Result<Vec<u8>> {
        let request = self
            .http
            .get(format!(
                "{}/api/projects/{project}/assets/{sha256}",
                self.base
            ))
            .bearer_auth(token);
        Ok(self.send(request).await?.bytes().await?.to_vec())
    }
}
