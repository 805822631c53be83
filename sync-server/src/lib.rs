//! Shotweave's sync server: y-websocket-compatible rooms over durable storage.
//!
//! - [`protocol`] is the sans-IO core: WebSocket frames in, frames and updates to persist out.
//! - [`room`] runs one task per loaded document around it: loads the stored state before
//!   serving anyone, commits each batch of updates before broadcasting it, closes connections
//!   that fall behind, compacts, and unloads when idle.
//! - [`ws`] is the `/sync/{doc}` WebSocket endpoint: token check, frame limits, keepalive.
//! - [`http`] is the REST API (projects, share tokens, assets), `/healthz` and `/metrics`,
//!   with [`http::ApiError`] as the one place internal errors are logged and redacted.
//! - [`store`] is SQLite/Postgres persistence (schemas in `migrations/`), [`assets`] the
//!   object store, [`auth`] signed tokens and roles, [`links`] what a token names (its share
//!   link and person), and the routes that make, list and revoke links.
//! - [`jobs`] is the durable generation job runner: it writes results into documents as the
//!   server's own peer; [`credentials`] keeps provider keys encrypted at rest.
//!
//! The binary only parses a [`Config`], initialises tracing and calls [`run`]; tests do the
//! same on port 0.

pub mod assets;
pub mod auth;
pub mod config;
pub mod credentials;
mod error;
pub mod http;
pub mod jobs;
pub mod links;
pub mod observability;
pub mod protocol;
pub mod room;
pub mod store;
pub mod studio;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod ws;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::Config;
pub use error::{Error, Result};

use crate::assets::AssetStore;
use crate::auth::TokenSigner;
use crate::credentials::Keyring;
use crate::jobs::{JobRunner, RunnerConfig, providers};
use crate::links::Revocations;
use crate::room::{RoomConfig, Rooms};
use crate::store::Store;

/// Everything request handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<AppInner>,
}

#[derive(Debug)]
struct AppInner {
    config: Config,
    store: Store,
    assets: AssetStore,
    signer: TokenSigner,
    rooms: Rooms,
    jobs: JobRunner,
    revocations: Revocations,
    /// Cancelled when the server shuts down; rooms and connections watch it.
    shutdown: CancellationToken,
    /// Every room and connection task, so shutdown can wait for them to flush.
    tracker: TaskTracker,
    next_conn_id: AtomicU64,
}

impl AppState {
    /// Opens storage (running pending migrations), the asset store and the token secret.
    pub async fn open(config: Config) -> Result<Self> {
        // Install the recorder before anything records, or early metrics are lost.
        observability::prometheus();
        std::fs::create_dir_all(&config.data_dir)?;
        let store = open_store(&config).await?;
        store.migrate().await?;
        let assets = AssetStore::open(&config)?;
        let signer = match &config.token_secret {
            Some(secret) if secret.0.len() >= 16 => TokenSigner::new(secret.0.as_bytes()),
            Some(_) => {
                return Err(Error::Config(
                    "token secret must be at least 16 bytes".into(),
                ));
            }
            None => TokenSigner::load_or_create(&config.data_dir)?,
        };
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let rooms = Rooms::new(
            store.clone(),
            RoomConfig {
                compact_after_updates: config.compact_after_updates.max(1),
                idle_grace: Duration::from_secs(config.room_idle_secs),
                send_queue_len: config.send_queue_len,
            },
            tracker.clone(),
            shutdown.clone(),
        );
        let keyring = match &config.credentials_key {
            Some(key) => Keyring::from_config(&key.0)?,
            None => Keyring::load_or_create(&config.data_dir)?,
        };
        let jobs = JobRunner::new(
            RunnerConfig {
                concurrency: config.job_concurrency.max(1),
                poll_interval: Duration::from_millis(config.job_poll_ms),
                max_attempts: config.job_max_attempts.max(1),
                providers: providers::ProviderSettings {
                    urls: providers::ProviderSettings::parse_urls(&config.provider_urls)?,
                    retry: providers::retry_config(
                        Duration::from_millis(config.provider_retry_base_ms),
                        config.provider_retries,
                    ),
                    max_in_flight: config.provider_concurrency.max(1),
                },
            },
            store.clone(),
            assets.clone(),
            rooms.clone(),
            keyring,
            shutdown.clone(),
            tracker.clone(),
        );
        tracing::info!(
            database = store.backend_name(),
            assets = %assets,
            "storage ready"
        );
        Ok(Self {
            inner: Arc::new(AppInner {
                config,
                store,
                assets,
                signer,
                rooms,
                jobs,
                revocations: Revocations::default(),
                shutdown,
                tracker,
                next_conn_id: AtomicU64::new(1),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn assets(&self) -> &AssetStore {
        &self.inner.assets
    }
    pub fn signer(&self) -> &TokenSigner {
        &self.inner.signer
    }
    pub fn rooms(&self) -> &Rooms {
        &self.inner.rooms
    }
    pub fn jobs(&self) -> &JobRunner {
        &self.inner.jobs
    }
    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }
}

/// Opens the configured database: `DATABASE_URL` when set, else the embedded SQLite file.
pub async fn open_store(config: &Config) -> Result<Store> {
    match &config.database_url {
        Some(url) => Store::connect(&url.0).await,
        None => Store::sqlite_file(&config.sqlite_path()).await,
    }
}

/// Serves HTTP and WebSocket connections on `listener` until `shutdown` is cancelled, then
/// closes every connection (code 1001), lets each room write its snapshot, and returns once
/// all of that is done.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> Result<()> {
    let app = http::router(state.clone());
    // Jobs start with the server (resuming any a previous process left running) and stop
    // with the same shutdown token as the rooms.
    state.inner.jobs.start();
    let internal = state.inner.shutdown.clone();
    let graceful = async move {
        shutdown.cancelled().await;
        internal.cancel();
    };
    // Sync frames are small and must leave at once: with Nagle's algorithm a broadcast waits
    // for the client's delayed ACK of the previous one (up to 40 ms on Linux).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot disable Nagle's algorithm");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(graceful)
        .await?;
    state.inner.shutdown.cancel();
    state.inner.tracker.close();
    state.inner.tracker.wait().await;
    state.inner.store.close().await;
    tracing::info!("server stopped");
    Ok(())
}
