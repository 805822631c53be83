//! The studio's HTTP API, as the CLI uses it. The bodies are [`api_types`]', shared with the
//! server; a refusal is an [`ApiRefusal`] carrying the server's message (shown as is) and its
//! machine-readable code (what the CLI decides on).

use anyhow::{Context, Result};
use api_types::{
    ApiErrorBody, BreakdownMode, BreakdownQueued, BreakdownRequest, BrokenDown, CreateToken,
    CreatedToken, ErrorCode, GenerateRequest, Imported, JobList, JobView, LinkInfo, MediaItem,
    MediaList, ProviderInfo, ProviderList, Queued, Scope, SetCredential,
};
use reqwest::{RequestBuilder, Response, StatusCode};

#[derive(Debug)]
pub(crate) struct Api {
    base: String,
    http: reqwest::Client,
}

/// The studio said no: its status and error body.
#[derive(Debug)]
pub(crate) struct ApiRefusal {
    pub status: StatusCode,
    pub body: ApiErrorBody,
}

impl std::fmt::Display for ApiRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.body.error)
    }
}

impl std::error::Error for ApiRefusal {}

impl ApiRefusal {
    /// The refusal's code, when `e` is one.
    pub(crate) fn code_of(e: &anyhow::Error) -> Option<ErrorCode> {
        e.downcast_ref::<ApiRefusal>().map(|r| r.body.code)
    }
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
        let text = response.text().await.unwrap_or_default();
        // Something in front of the studio (a proxy) may answer in its own words.
        let body = serde_json::from_str::<ApiErrorBody>(&text)
            .unwrap_or_else(|_| ApiErrorBody::new(ErrorCode::Other, text));
        Err(ApiRefusal { status, body }.into())
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
        mode: BreakdownMode,
    ) -> Result<BrokenDown> {
        let request = self
            .http
            .post(format!("{}/api/projects/{project}/breakdown", self.base))
            .bearer_auth(token)
            .json(&BreakdownRequest {
                mode,
                provider: None,
                model: None,
            });
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
            .json(&BreakdownRequest {
                mode: BreakdownMode::Llm,
                provider: Some(provider.to_owned()),
                model: model.map(str::to_owned),
            });
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
            .json(&SetCredential { key });
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
            .json(&GenerateRequest {
                provider: provider.to_owned(),
                kind: kind.to_owned(),
                scope: if all { Scope::all() } else { Scope::missing() },
                idempotency_key: None,
            });
        Ok(self.send(request).await?.json().await?)
    }

    /// What each provider can make on this studio (`GET /api/providers`), the default first.
    pub(crate) async fn providers(&self) -> Result<Vec<ProviderInfo>> {
        let request = self.http.get(format!("{}/api/providers", self.base));
        Ok(self
            .send(request)
            .await?
            .json::<ProviderList>()
            .await?
            .providers)
    }

    /// Makes a share link (owners only).
    pub(crate) async fn share(
        &self,
        project: &str,
        token: &str,
        body: &CreateToken,
    ) -> Result<CreatedToken> {
        let request = self
            .http
            .post(format!("{}/api/projects/{project}/tokens", self.base))
            .bearer_auth(token)
            .json(body);
        Ok(self.send(request).await?.json().await?)
    }

    /// The project's share links, newest first (owners only).
    pub(crate) async fn links(&self, project: &str, token: &str) -> Result<Vec<LinkInfo>> {
        let request = self
            .http
            .get(format!("{}/api/projects/{project}/links", self.base))
            .bearer_auth(token);
        Ok(self.send(request).await?.json().await?)
    }

    /// Revokes a share link (owners only); it stops working at once.
    pub(crate) async fn revoke(&self, project: &str, token: &str, link: &str) -> Result<()> {
        let request = self
            .http
            .delete(format!("{}/api/projects/{project}/links/{link}", self.base))
            .bearer_auth(token);
        self.send(request).await?;
        Ok(())
    }

    pub(crate) async fn jobs(&self, project: &str, token: &str) -> Result<Vec<JobView>> {
        let request = self
            .http
            .get(format!("{}/api/projects/{project}/jobs", self.base))
            .bearer_auth(token);
        Ok(self.send(request).await?.json::<JobList>().await?.jobs)
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
