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
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("shotweave.sqlite")
    }

    pub fn keepalive(&self) -> Duration {
        Duration::from_secs(self.keepalive_secs.max(1))
    }
}
