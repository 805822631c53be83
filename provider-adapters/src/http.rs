//! HTTP plumbing shared by the adapters: credentials that never print, one client per
//! provider that applies its auth scheme and whole-request timeouts, transport-error mapping,
//! and output downloads with the media type sniffed from the bytes.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::multipart::Part;
use reqwest::{RequestBuilder, StatusCode};
use serde::{Deserialize, Serialize};

use crate::{
    Error, GenerationRequest, Output, OutputKind, OutputRef, OutputSource, ReferenceImage, Result,
};

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

/// How a provider authenticates its API requests. Applied by [`Http`] to every API request
/// (and to output downloads only when the adapter asks and the URL is on the API's origin).
#[derive(Clone)]
pub(crate) enum Auth {
    /// A local server without keys (ComfyUI).
    None,
    /// `name: {prefix}{key}`: `Authorization: Bearer KEY` for most providers,
    /// `x-goog-api-key: KEY` for Gemini, `Authorization: Key KEY` for fal. An empty key sends
    /// no header, for OpenAI-compatible servers that take none (a local Ollama).
    Header {
        name: &'static str,
        prefix: &'static str,
        key: Secret,
    },
    /// Kling: `Authorization: Bearer JWT`, a short-lived token signed with the secret key,
    /// made fresh for each request so that it never expires mid-job.
    KlingJwt {
        access_key: Secret,
        secret_key: Secret,
    },
}

impl Auth {
    pub(crate) fn bearer(key: &Secret) -> Auth {
        Auth::Header {
            name: "authorization",
            prefix: "Bearer ",
            key: key.clone(),
        }
    }

    fn secrets(&self) -> Vec<&Secret> {
        match self {
            Auth::None => Vec::new(),
            Auth::Header { key, .. } => vec![key],
            Auth::KlingJwt {
                access_key,
                secret_key,
            } => vec![access_key, secret_key],
        }
    }

    /// The header to send, if any.
    fn header(&self, provider: &str) -> Result<Option<(&'static str, String)>> {
        Ok(match self {
            Auth::None => None,
            Auth::Header { key, .. } if key.is_empty() => None,
            Auth::Header { name, prefix, key } => {
                Some((*name, format!("{prefix}{}", key.expose())))
            }
            Auth::KlingJwt {
                access_key,
                secret_key,
            } => {
                let token = crate::kling::jwt(access_key, secret_key, unix_now())
                    .map_err(|e| Error::Config(format!("{provider}: cannot sign a token: {e}")))?;
                Some(("authorization", format!("Bearer {token}")))
            }
        })
    }
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// One provider's HTTP client: its name for errors, its API base URL, how it authenticates,
/// headers every API request carries, its timeouts, and the secrets to scrub from anything it
/// reports. Every adapter builds one and sends everything through it.
#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    pub(crate) provider: String,
    base: url::Url,
    auth: Auth,
    /// Headers on every API request (Runway's API version), never on downloads.
    headers: HeaderMap,
    pub(crate) timeouts: Timeouts,
    secrets: Vec<String>,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("provider", &self.provider)
            .field("base", &self.base.as_str())
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Http {
    pub(crate) fn new(
        provider: &str,
        base_url: &str,
        timeouts: Timeouts,
        auth: Auth,
    ) -> Result<Self> {
        let base = url::Url::parse(base_url)
            .map_err(|e| Error::Config(format!("{provider}: bad base url {base_url:?}: {e}")))?;
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .user_agent(concat!("shotweave/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build an http client: {e}")))?;
        let secrets = auth
            .secrets()
            .into_iter()
            .filter(|s| s.expose().len() >= 4)
            .map(|s| s.expose().to_owned())
            .collect();
        Ok(Http {
            client,
            provider: provider.to_owned(),
            base,
            auth,
            headers: HeaderMap::new(),
            timeouts,
            secrets,
        })
    }

    /// Adds a header that every API request carries.
    pub(crate) fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers
            .insert(name, reqwest::header::HeaderValue::from_static(value));
        self
    }

    pub(crate) fn base(&self) -> &url::Url {
        &self.base
    }

    /// `path` under the base URL.
    pub(crate) fn url(&self, path: &str) -> String {
        join(&self.base, path)
    }

    /// A request to the provider's API, `path` under the base URL; [`Http::send`]
    /// authenticates it.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    pub(crate) fn post(&self, path: &str) -> RequestBuilder {
        self.request(reqwest::Method::POST, path)
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

    fn authenticate(&self, request: RequestBuilder) -> Result<RequestBuilder> {
        Ok(match self.auth.header(&self.provider)? {
            Some((name, value)) => request.header(name, value),
            None => request,
        })
    }

    /// Authenticates an API request, sends it and reads the whole answer within the request
    /// deadline.
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        request: RequestBuilder,
    ) -> Result<Reply> {
        let request = self.authenticate(request.headers(self.headers.clone()))?;
        self.exchange(operation, request, self.timeouts.request)
            .await
    }

    async fn exchange(
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
    /// `lookup` is set for requests about something we created (a task, a prediction): there
    /// a 404 or 410 means the provider has forgotten it; on a submission it is bad input (an
    /// unknown model path).
    pub(crate) fn status_error(&self, reply: &Reply, message: &str, lookup: bool) -> Error {
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
            404 | 410 if lookup => Error::Expired { provider, message },
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

    pub(crate) fn invalid_input(&self, message: &str) -> Error {
        Error::InvalidInput {
            provider: self.provider.clone(),
            message: self.redact(message),
        }
    }

    /// The first reference image, which image-to-video needs as its first frame.
    pub(crate) fn first_frame<'r>(
        &self,
        request: &'r GenerationRequest,
    ) -> Result<&'r ReferenceImage> {
        request
            .references
            .first()
            .ok_or_else(|| self.invalid_input("image-to-video needs a first-frame reference image"))
    }

    /// A reference image as a multipart file part.
    pub(crate) fn file_part(&self, reference: &ReferenceImage) -> Result<Part> {
        Part::bytes(reference.bytes.to_vec())
            .file_name(reference.name.clone())
            .mime_str(&reference.mime)
            .map_err(|e| self.invalid_input(&format!("reference {:?}: {e}", reference.name)))
    }

    /// A base64 image from a synchronous answer.
    pub(crate) fn decode_image(&self, b64: &str) -> Result<Bytes> {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map(Bytes::from)
            .map_err(|e| self.provider_error(Some(200), &format!("bad base64 image: {e}")))
    }

    /// Downloads an output. With `authenticated`, the provider's credentials go along, but
    /// only when the URL is on the API's origin, so that they never travel to a CDN or to a
    /// host named in a response.
    pub(crate) async fn download(&self, output: &OutputRef, authenticated: bool) -> Result<Output> {
        let bytes = match &output.source {
            OutputSource::Inline(bytes) => bytes.clone(),
            OutputSource::Url(url) => {
                let parsed = url::Url::parse(url).map_err(|e| {
                    self.provider_error(None, &format!("bad output url {url:?}: {e}"))
                })?;
                let same_origin = parsed.origin() == self.base.origin();
                let mut request = self.client.get(parsed);
                if authenticated && same_origin {
                    request = self.authenticate(request)?;
                }
                let reply = self
                    .exchange("download", request, self.timeouts.download)
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
                            true,
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

/// The media type the bytes themselves announce (PNG, JPEG, WebP, GIF, MP4, WebM, ...).
fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes).map(|t| t.mime_type())
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
        let auth = Auth::KlingJwt {
            access_key: Secret::new("sk-aaaa1111"),
            secret_key: Secret::new("bbbb2222"),
        };
        let http = Http::new("p", "http://h", Timeouts::default(), auth)?;
        assert_eq!(
            http.redact("key sk-aaaa1111 and bbbb2222"),
            "key <redacted> and <redacted>"
        );
        Ok(())
    }

    #[test]
    fn auth_schemes_make_their_headers() -> Result<()> {
        let key = Secret::new("k-123");
        let header = |auth: Auth| auth.header("p");
        assert_eq!(
            header(Auth::bearer(&key))?,
            Some(("authorization", "Bearer k-123".to_owned()))
        );
        let fal = Auth::Header {
            name: "authorization",
            prefix: "Key ",
            key: key.clone(),
        };
        assert_eq!(
            header(fal)?,
            Some(("authorization", "Key k-123".to_owned()))
        );
        // No key, no header: a local OpenAI-compatible server takes none.
        assert_eq!(header(Auth::bearer(&Secret::default()))?, None);
        assert_eq!(header(Auth::None)?, None);
        let kling = Auth::KlingJwt {
            access_key: Secret::new("ak"),
            secret_key: Secret::new("sk"),
        };
        let value = header(kling)?.map(|(_, v)| v).unwrap_or_default();
        assert!(value.starts_with("Bearer ey"), "{value}");
        Ok(())
    }

    #[test]
    fn not_found_is_expired_only_for_lookups() -> Result<()> {
        let http = Http::new("p", "http://h", Timeouts::default(), Auth::None)?;
        let reply = Reply {
            status: StatusCode::NOT_FOUND,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        // Polling a task the provider forgot, versus submitting to a model path it lacks.
        assert!(matches!(
            http.status_error(&reply, "gone", true),
            Error::Expired { .. }
        ));
        assert!(matches!(
            http.status_error(&reply, "no such model", false),
            Error::InvalidInput { .. }
        ));
        Ok(())
    }

    #[test]
    fn a_bad_base_url_is_a_config_error() {
        let err = Http::new("p", "not a url", Timeouts::default(), Auth::None);
        assert!(matches!(err, Err(Error::Config(m)) if m.starts_with("p: bad base url")));
    }

    #[test]
    fn join_handles_slashes() -> Result<()> {
        let http = Http::new("p", "http://h/v1/", Timeouts::default(), Auth::None)?;
        assert_eq!(http.url("/videos"), "http://h/v1/videos");
        Ok(())
    }

    #[test]
    fn media_types_come_from_the_bytes_before_the_providers_word() {
        let mut jpeg = OutputRef::new(OutputKind::Image, OutputSource::Inline(Bytes::new()));
        jpeg.mime = Some("image/png".into());
        let out = describe(
            &jpeg,
            Bytes::from_static(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]),
        );
        assert_eq!(out.mime, "image/jpeg");
        let mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom";
        let video = OutputRef::new(OutputKind::Video, OutputSource::Inline(Bytes::new()));
        assert_eq!(describe(&video, Bytes::from_static(mp4)).mime, "video/mp4");
        // Unknown bytes keep what the provider said, else the kind's default.
        assert_eq!(describe(&jpeg, Bytes::from_static(b"??")).mime, "image/png");
        assert_eq!(
            describe(&video, Bytes::from_static(b"??")).mime,
            "video/mp4"
        );
    }
}
