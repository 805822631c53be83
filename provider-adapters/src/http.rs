//! HTTP plumbing shared by the adapters: credentials that never print, whole-request
//! timeouts, transport-error mapping and output downloads.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::{Deserialize, Serialize};

use crate::{Error, Output, OutputKind, OutputRef, OutputSource, Result};

/// A credential. Its `Debug` shows only whether it is set and it has no `Display`, so it
/// cannot reach a log line or an error message by accident; [`Secret::expose`] is the one
/// way to read it, used only where a request header is built.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(<unset>)")
        } else {
            f.write_str("Secret(<redacted>)")
        }
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// Every request has a deadline for the *whole* exchange, body included: some providers
/// (DeepSeek under load) hold a connection open for many minutes sending keep-alive blank
/// lines, which a read timeout never notices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    pub connect: Duration,
    /// Submissions, polls and synchronous generations.
    pub request: Duration,
    /// Output downloads (videos can be large).
    pub download: Duration,
}

impl Timeouts {
    pub const fn with_request(request: Duration) -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request,
            download: Duration::from_secs(300),
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::with_request(Duration::from_secs(120))
    }
}

/// An answer read in full.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, http: &Http) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Provider {
            provider: http.provider.clone(),
            status: Some(self.status.as_u16()),
            message: http.redact(&format!(
                "unreadable response ({e}): {}",
                snippet(&self.body)
            )),
        })
    }

    /// The body as text for an error message, shortened.
    pub(crate) fn text(&self) -> String {
        snippet(&self.body)
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

/// `retry-after` as seconds (the HTTP-date form is rare for APIs and is ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// One provider's HTTP client: its name for errors, its timeouts and the secrets to scrub
/// from anything it reports.
#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) provider: String,
    pub(crate) timeouts: Timeouts,
    secrets: Vec<String>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("provider", &self.provider)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Http {
    pub(crate) fn new(provider: &str, timeouts: Timeouts, secrets: &[&Secret]) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .user_agent(concat!("shotweave/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build an http client: {e}")))?;
        Ok(Http {
            client,
            provider: provider.to_owned(),
            timeouts,
            secrets: secrets
                .iter()
                .filter(|s| s.expose().len() >= 4)
                .map(|s| s.expose().to_owned())
                .collect(),
        })
    }

    /// Removes every configured secret from text that is about to leave the adapter.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        text
    }

    /// Sends a request and reads the whole answer within the request deadline.
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        request: RequestBuilder,
    ) -> Result<Reply> {
        self.send_within(operation, request, self.timeouts.request)
            .await
    }

    pub(crate) async fn send_within(
        &self,
        operation: &'static str,
        request: RequestBuilder,
        deadline: Duration,
    ) -> Result<Reply> {
        let exchange = async {
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Reply {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(deadline, exchange).await {
            Err(_) => Err(Error::Timeout {
                provider: self.provider.clone(),
                operation,
                after: deadline,
            }),
            Ok(Err(e)) => Err(self.transport_error(operation, e, deadline)),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    fn transport_error(
        &self,
        operation: &'static str,
        e: reqwest::Error,
        deadline: Duration,
    ) -> Error {
        // reqwest's Display includes the URL; none of our URLs carry a credential, but scrub
        // anyway in case a user put one into a base URL.
        let message = self.redact(&error_chain(&e));
        if e.is_timeout() {
            Error::Timeout {
                provider: self.provider.clone(),
                operation,
                after: deadline,
            }
        } else if e.is_connect() {
            Error::Unreachable {
                provider: self.provider.clone(),
                message,
            }
        } else {
            Error::Provider {
                provider: self.provider.clone(),
                status: None,
                message,
            }
        }
    }

    /// The error for an answer the adapter's own mapping did not recognise, by status class.
    pub(crate) fn status_error(&self, reply: &Reply, message: &str) -> Error {
        let provider = self.provider.clone();
        let message = self.redact(message);
        match reply.status.as_u16() {
            401 | 403 => Error::Auth { provider, message },
            402 => Error::Balance { provider, message },
            429 => Error::RateLimited {
                provider,
                retry_after: reply.retry_after(),
                message,
            },
            404 | 410 => Error::Expired { provider, message },
            400..=499 => Error::InvalidInput { provider, message },
            status => Error::Provider {
                provider,
                status: Some(status),
                message,
            },
        }
    }

    pub(crate) fn provider_error(&self, status: Option<u16>, message: &str) -> Error {
        Error::Provider {
            provider: self.provider.clone(),
            status,
            message: self.redact(message),
        }
    }

    /// Downloads an output. `auth` is attached only when the URL is on `api_base`'s origin, so
    /// a provider's credentials never travel to a CDN or to a host named in a response.
    pub(crate) async fn download(
        &self,
        output: &OutputRef,
        api_base: &url::Url,
        auth: Option<(&str, &str)>,
    ) -> Result<Output> {
        let bytes = match &output.source {
            OutputSource::Inline(bytes) => bytes.clone(),
            OutputSource::Url(url) => {
                let parsed = url::Url::parse(url).map_err(|e| {
                    self.provider_error(None, &format!("bad output url {url:?}: {e}"))
                })?;
                let mut request = self.client.get(parsed.clone());
                if let Some((name, value)) = auth
                    && parsed.origin() == api_base.origin()
                {
                    request = request.header(name, value);
                }
                let reply = self
                    .send_within("download", request, self.timeouts.download)
                    .await?;
                match reply.status.as_u16() {
                    200..=299 => reply.body,
                    // Signed URLs answer 403 once expired, deleted files 404.
                    403 | 404 | 410 => {
                        return Err(Error::Expired {
                            provider: self.provider.clone(),
                            message: format!("output download answered {}", reply.status),
                        });
                    }
                    _ => {
                        return Err(self.status_error(
                            &reply,
                            &format!("output download failed: {}", reply.text()),
                        ));
                    }
                }
            }
        };
        Ok(describe(output, bytes))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Fills in mime type and dimensions from the bytes themselves, falling back to what the
/// provider said.
pub(crate) fn describe(output: &OutputRef, bytes: Bytes) -> Output {
    let sniffed = sniff_mime(&bytes);
    let mime = sniffed
        .map(str::to_owned)
        .or_else(|| output.mime.clone())
        .unwrap_or_else(|| match output.kind {
            OutputKind::Image => "image/png".into(),
            OutputKind::Video => "video/mp4".into(),
        });
    let (width, height) = match imagesize::blob_size(&bytes) {
        Ok(size) if output.kind == OutputKind::Image => (
            u32::try_from(size.width).ok(),
            u32::try_from(size.height).ok(),
        ),
        _ => (output.width, output.height),
    };
    Output {
        kind: output.kind,
        bytes,
        mime,
        width,
        height,
        duration_ms: output.duration_ms,
        seed: output.seed,
    }
}

fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        Some("video/mp4")
    } else if bytes.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some("video/webm")
    } else {
        None
    }
}

/// Joins a base URL and a path without doubling or dropping slashes.
pub(crate) fn join(base: &url::Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The request's model, or the adapter's default (the first configured one).
pub(crate) fn pick_model(
    provider: &str,
    requested: Option<&str>,
    models: &[String],
) -> Result<String> {
    requested
        .map(str::to_owned)
        .or_else(|| models.first().cloned())
        .ok_or_else(|| Error::Config(format!("{provider}: no model configured")))
}

/// Merges the recipe's provider-specific settings into a JSON body; the recipe wins.
pub(crate) fn merge_extra(
    body: &mut serde_json::Value,
    extra: &serde_json::Map<String, serde_json::Value>,
) {
    if let Some(obj) = body.as_object_mut() {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
}

/// A JSON value as a multipart text field (strings without their quotes).
pub(crate) fn field_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A random id for a synchronous provider's job, which the provider does not name.
pub(crate) fn local_task_id(provider: &str) -> crate::TaskId {
    crate::TaskId(format!("{provider}-{:016x}", rand::random::<u64>()))
}

pub(crate) fn parse_base(provider: &str, base_url: &str) -> Result<url::Url> {
    url::Url::parse(base_url)
        .map_err(|e| Error::Config(format!("{provider}: bad base url {base_url:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("sk-live-123456");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(<unset>)");
    }

    #[test]
    fn redact_scrubs_every_secret() -> Result<()> {
        let a = Secret::new("sk-aaaa1111");
        let b = Secret::new("bbbb2222");
        let http = Http::new("p", Timeouts::default(), &[&a, &b])?;
        assert_eq!(
            http.redact("key sk-aaaa1111 and bbbb2222"),
            "key <redacted> and <redacted>"
        );
        Ok(())
    }

    #[test]
    fn join_handles_slashes() -> Result<()> {
        let base = parse_base("p", "http://h/v1/")?;
        assert_eq!(join(&base, "/videos"), "http://h/v1/videos");
        Ok(())
    }
}
