//! Server configuration: one struct, parsed by clap in the binary (every flag has an
//! environment fallback) and built directly by tests.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
pub const DEFAULT_MAX_ASSET_BYTES: usize = 256 * 1024 * 1024;
pub const DEFAULT_SEND_QUEUE_LEN: usize = 1024;
pub const DEFAULT_COMPACT_AFTER_UPDATES: u64 = 1000;
pub const DEFAULT_ROOM_IDLE_SECS: u64 = 30;
/// y-websocket clients reconnect after 30 s without a message; half of that leaves margin.
pub const DEFAULT_KEEPALIVE_SECS: u64 = 15;
/// Where `cargo xtask` puts the browser studio's bundle, relative to the repository root.
pub const DEFAULT_WEB_DIR: &str = "client-wasm/dist";
pub const DEFAULT_JOB_CONCURRENCY: usize = 4;
pub const DEFAULT_PROVIDER_CONCURRENCY: usize = 4;
pub const DEFAULT_JOB_POLL_MS: u64 = 2000;
pub const DEFAULT_JOB_MAX_ATTEMPTS: u32 = 5;
pub const DEFAULT_PROVIDER_RETRIES: u32 = 5;
pub const DEFAULT_PROVIDER_RETRY_BASE_MS: u64 = 500;

/// A value that must never appear in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Directory for the embedded SQLite database, local assets and the token secret.
    #[arg(long, env = "SHOTWEAVE_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// `postgres://...` to use Postgres instead of `<data-dir>/shotweave.sqlite`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<Secret>,

    /// Any object_store URL (`s3://bucket/prefix`, `file:///path`, `memory:///`) instead of
    /// `<data-dir>/assets`. S3 credentials come from the usual `AWS_*` variables.
    #[arg(long, env = "SHOTWEAVE_ASSET_STORE_URL")]
    pub asset_store_url: Option<String>,

    /// HMAC secret for tokens. Without it a random one is kept in `<data-dir>/token-secret`.
    #[arg(long, env = "SHOTWEAVE_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<Secret>,

    /// Largest WebSocket message accepted; bigger ones close the connection with code 1009.
    #[arg(long, env = "SHOTWEAVE_MAX_FRAME_BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,

    /// Largest asset upload accepted.
    #[arg(long, env = "SHOTWEAVE_MAX_ASSET_BYTES", default_value_t = DEFAULT_MAX_ASSET_BYTES)]
    pub max_asset_bytes: usize,

    /// Frames queued for one connection before it counts as fallen behind and is closed.
    /// A room may queue a whole batch (up to 256 frames) at once, so keep this well above
    /// that; values below 16 are raised to 16.
    #[arg(long, env = "SHOTWEAVE_SEND_QUEUE_LEN", default_value_t = DEFAULT_SEND_QUEUE_LEN)]
    pub send_queue_len: usize,

    /// Write a snapshot once this many updates follow the last one.
    #[arg(long, env = "SHOTWEAVE_COMPACT_AFTER_UPDATES", default_value_t = DEFAULT_COMPACT_AFTER_UPDATES)]
    pub compact_after_updates: u64,

    /// Seconds an empty document stays in memory after its last connection leaves.
    #[arg(long, env = "SHOTWEAVE_ROOM_IDLE_SECS", default_value_t = DEFAULT_ROOM_IDLE_SECS)]
    pub room_idle_secs: u64,

    /// Seconds of silence after which the server sends a keepalive to a connection.
    #[arg(long, env = "SHOTWEAVE_KEEPALIVE_SECS", default_value_t = DEFAULT_KEEPALIVE_SECS)]
    pub keepalive_secs: u64,

    /// The browser studio's files (built by `cargo xtask`), served at `/`.
    #[arg(long, env = "SHOTWEAVE_WEB_DIR", default_value = DEFAULT_WEB_DIR)]
    pub web_dir: PathBuf,

    /// Generation jobs running at once (across all projects and providers).
    #[arg(long, env = "SHOTWEAVE_JOB_CONCURRENCY", default_value_t = DEFAULT_JOB_CONCURRENCY)]
    pub job_concurrency: usize,

    /// Requests in flight to one provider for one project.
    #[arg(long, env = "SHOTWEAVE_PROVIDER_CONCURRENCY", default_value_t = DEFAULT_PROVIDER_CONCURRENCY)]
    pub provider_concurrency: usize,

    /// First wait between polls of a submitted job, in milliseconds.
    #[arg(long, env = "SHOTWEAVE_JOB_POLL_MS", default_value_t = DEFAULT_JOB_POLL_MS)]
    pub job_poll_ms: u64,

    /// Attempts before a job that keeps being rate limited fails for good.
    #[arg(long, env = "SHOTWEAVE_JOB_MAX_ATTEMPTS", default_value_t = DEFAULT_JOB_MAX_ATTEMPTS)]
    pub job_max_attempts: u32,

    /// Retries of one provider call (rate limits, 5xx on idempotent calls) before the job
    /// runner sees the error.
    #[arg(long, env = "SHOTWEAVE_PROVIDER_RETRIES", default_value_t = DEFAULT_PROVIDER_RETRIES)]
    pub provider_retries: u32,

    /// First backoff between retries of a provider call, in milliseconds (it doubles, with
    /// jitter; a provider's `retry-after` takes precedence).
    #[arg(long, env = "SHOTWEAVE_PROVIDER_RETRY_BASE_MS", default_value_t = DEFAULT_PROVIDER_RETRY_BASE_MS)]
    pub provider_retry_base_ms: u64,

    /// `NAME=URL` overrides of provider API base URLs (a gateway, a local ComfyUI, a test
    /// fake), e.g. `comfyui=http://gpu-box:8188,openai-images=https://gw.example/v1`.
    #[arg(
        long = "provider-url",
        env = "SHOTWEAVE_PROVIDER_URLS",
        value_delimiter = ','
    )]
    pub provider_urls: Vec<String>,

    /// 32 bytes (hex or base64) that encrypt stored provider keys. Without it a random key is
    /// kept in `<data-dir>/credentials-key`.
    #[arg(long, env = "SHOTWEAVE_CREDENTIALS_KEY", hide_env_values = true)]
    pub credentials_key: Option<Secret>,
}

impl Config {
    /// The embedded defaults (SQLite and local files under `data_dir`), ignoring the
    /// environment.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            asset_store_url: None,
            token_secret: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_asset_bytes: DEFAULT_MAX_ASSET_BYTES,
            send_queue_len: DEFAULT_SEND_QUEUE_LEN,
            compact_after_updates: DEFAULT_COMPACT_AFTER_UPDATES,
            room_idle_secs: DEFAULT_ROOM_IDLE_SECS,
            keepalive_secs: DEFAULT_KEEPALIVE_SECS,
            web_dir: DEFAULT_WEB_DIR.into(),
            job_concurrency: DEFAULT_JOB_CONCURRENCY,
            provider_concurrency: DEFAULT_PROVIDER_CONCURRENCY,
            job_poll_ms: DEFAULT_JOB_POLL_MS,
            job_max_attempts: DEFAULT_JOB_MAX_ATTEMPTS,
            provider_retries: DEFAULT_PROVIDER_RETRIES,
            provider_retry_base_ms: DEFAULT_PROVIDER_RETRY_BASE_MS,
            provider_urls: Vec::new(),
            credentials_key: None,
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("shotweave.sqlite")
    }

    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs.max(1))
    }
}
