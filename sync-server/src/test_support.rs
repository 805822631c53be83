//! Test helpers shared by this crate's integration tests and the workspace `tests` crate:
//! an in-process server on a loopback port and a minimal native y-websocket client.
//! Everything is real (SQLite or Postgres, sockets, yrs); nothing is mocked.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact, TransactionMut, Update};

use crate::auth::{Claims, ProjectId, Role};
use crate::config::Secret;
use crate::{AppState, Config};

/// The token secret test servers use, so tests can sign (and forge) tokens themselves.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret";

/// The Postgres the test machine provides; overridable with `SHOTWEAVE_TEST_POSTGRES`.
pub fn postgres_url() -> String {
    std::env::var("SHOTWEAVE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Creates a fresh schema in the test Postgres and returns a URL whose connections use it,
/// so parallel tests never see each other's rows.
pub async fn fresh_postgres_schema() -> anyhow::Result<String> {
    use sqlx::Connection;
    let base = postgres_url();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .with_context(|| format!("connecting to the test Postgres at {base}"))?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options[search_path]={schema}"))
}

/// Drops the schema a URL from [`fresh_postgres_schema`] points at.
pub async fn drop_postgres_schema(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let schema = url
        .rsplit_once("options[search_path]=")
        .map(|(_, s)| s)
        .context("not a test schema url")?;
    anyhow::ensure!(
        schema.starts_with("t_")
            && schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "refusing to drop {schema:?}"
    );
    let mut conn = sqlx::PgConnection::connect(&postgres_url()).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// A config for tests: a temp data dir, the test secret, fast keepalive and unload.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::new(data_dir);
    config.token_secret = Some(Secret(TEST_SECRET.to_owned()));
    config.room_idle_secs = 1;
    config
}

/// A server running in this process on `127.0.0.1:<random port>`.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: CancellationToken,
    task: JoinHandle<crate::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Embedded defaults (SQLite, local assets) in a fresh temp dir.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestServer::start`], with `tweak` applied to the config first.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(dir.path(), tweak).await;
        server._dir = Some(dir);
        server
    }

    /// A server on an existing data dir (to restart on the same data), which the caller keeps.
    pub async fn start_in(data_dir: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(data_dir);
        tweak(&mut config);
        let state = AppState::open(config).await.expect("server state opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(crate::run(listener, state.clone(), shutdown.clone()));
        Self {
            addr,
            state,
            shutdown,
            task,
            _dir: None,
        }
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, doc: &str, token: &str) -> String {
        format!("ws://{}/sync/{doc}?token={token}", self.addr)
    }

    /// Creates a project directly in the store and returns its id and an owner token.
    pub async fn project(&self) -> (ProjectId, String) {
        let id = ProjectId::new_random();
        self.state
            .store()
            .create_project(id.as_str(), "test project")
            .await
            .expect("project row");
        let token = self.token(&id, Role::Owner, None);
        (id, token)
    }

    /// A token signed directly, naming no share link or person: a token as they were before
    /// links existed (it cannot be listed or revoked).
    pub fn token(&self, project: &ProjectId, role: Role, expires_at: Option<i64>) -> String {
        self.state.signer().sign(&Claims {
            project: project.clone(),
            role,
            expires_at,
            link: None,
            person: None,
        })
    }

    /// Graceful shutdown; returns once every room has flushed.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("server task")
            .expect("server stops cleanly");
    }
}

/// How a connection ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

/// A minimal y-websocket client over yrs: it syncs like the npm client (sends step 1,
/// answers the server's step 1 with step 2, applies updates) and records what it saw.
#[derive(Debug)]
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub doc: Doc,
    /// Reasons of permission-denied messages received.
    pub denied: Vec<String>,
    /// Sync updates received (the server echoes our own, so this counts acks too).
    pub updates_received: usize,
    /// Awareness messages received.
    pub awareness_received: usize,
    /// Whether the server's answer to our step 1 arrived.
    pub synced: bool,
    pub closed: Option<Closed>,
}

impl WsClient {
    /// Connects and sends step 1; call [`WsClient::wait_synced`] to finish the handshake.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with_doc(url, Doc::new()).await
    }

    pub async fn connect_with_doc(url: &str, doc: Doc) -> anyhow::Result<Self> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .with_context(|| "websocket connect")?;
        let mut client = Self {
            ws,
            doc,
            denied: Vec::new(),
            updates_received: 0,
            awareness_received: 0,
            synced: false,
            closed: None,
        };
        let sv = client.doc.transact().state_vector();
        client
            .send_raw(Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1())
            .await?;
        Ok(client)
    }

    /// Connects and waits for the initial sync.
    pub async fn connect_synced(url: &str) -> anyhow::Result<Self> {
        let mut client = Self::connect(url).await?;
        client.wait_synced().await?;
        Ok(client)
    }

    pub async fn wait_synced(&mut self) -> anyhow::Result<()> {
        self.pump_until(Duration::from_secs(10), |c| c.synced).await
    }

    pub async fn send_raw(&mut self, frame: Vec<u8>) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Binary(frame.into())).await?;
        Ok(())
    }

    pub async fn send_text(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Text(text.into())).await?;
        Ok(())
    }

    /// Changes the local document in one transaction and sends the resulting update.
    pub async fn edit(&mut self, change: impl FnOnce(&mut TransactionMut)) -> anyhow::Result<()> {
        let update = {
            let mut txn = self.doc.transact_mut();
            change(&mut txn);
            txn.encode_update_v1()
        };
        self.send_raw(Message::Sync(SyncMessage::Update(update)).encode_v1())
            .await
    }

    /// Runs `change` (which edits `self.doc` through any API, shared-model's `Project` for
    /// instance) and sends everything it added as one update.
    pub async fn send_changes(&mut self, change: impl FnOnce()) -> anyhow::Result<()> {
        let before = self.doc.transact().state_vector();
        change();
        let update = self.doc.transact().encode_state_as_update_v1(&before);
        self.send_raw(Message::Sync(SyncMessage::Update(update)).encode_v1())
            .await
    }

    /// Appends `text` to the `script` text root and sends it.
    pub async fn append_script(&mut self, text: &str) -> anyhow::Result<()> {
        use yrs::{Text, WriteTxn};
        self.edit(|txn| {
            let script = txn.get_or_insert_text("script");
            let len = script.len(txn);
            script.insert(txn, len, text);
        })
        .await
    }

    pub fn script(&self) -> String {
        let txn = self.doc.transact();
        txn.get_text("script")
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    }

    /// Reads and handles frames until `done(self)` holds, the connection closes, or
    /// `limit` passes (both errors, with what was seen).
    pub async fn pump_until(
        &mut self,
        limit: Duration,
        done: impl Fn(&Self) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            if let Some(closed) = &self.closed {
                bail!(
                    "connection closed ({} {:?}) before the condition held",
                    closed.code,
                    closed.reason
                );
            }
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| {
                    let script = self.script();
                    let tail: String = script
                        .chars()
                        .rev()
                        .take(200)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    anyhow!(
                        "timed out; script ({} chars) ends with {tail:?}",
                        script.chars().count()
                    )
                })?;
            self.handle(next).await?;
        }
        Ok(())
    }

    /// Reads frames until the server closes the connection and returns how it closed.
    pub async fn wait_closed(&mut self, limit: Duration) -> anyhow::Result<Closed> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.closed.is_none() {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| anyhow!("timed out waiting for the server to close"))?;
            // Protocol errors after a close are irrelevant here.
            let _ = self.handle(next).await;
        }
        Ok(self.closed.clone().unwrap_or_else(|| unreachable!()))
    }

    /// Reads frames for `duration`, handling them; a close is recorded, not an error.
    pub async fn pump_for(&mut self, duration: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + duration;
        while self.closed.is_none() {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Ok(()),
                Ok(next) => self.handle(next).await?,
            }
        }
        Ok(())
    }

    async fn handle(
        &mut self,
        next: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> anyhow::Result<()> {
        match next {
            None => {
                self.closed.get_or_insert(Closed {
                    code: 1006,
                    reason: "stream ended without a close frame".into(),
                });
            }
            Some(Err(e)) => {
                self.closed.get_or_insert(Closed {
                    code: 1006,
                    reason: format!("socket error: {e}"),
                });
            }
            Some(Ok(WsMessage::Close(frame))) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                self.closed = Some(Closed { code, reason });
            }
            Some(Ok(WsMessage::Binary(frame))) => self.handle_frame(&frame).await?,
            Some(Ok(_)) => {}
        }
        Ok(())
    }

    async fn handle_frame(&mut self, frame: &[u8]) -> anyhow::Result<()> {
        let message = Message::decode_v1(frame).context("server sent an undecodable frame")?;
        match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send_raw(Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1())
                    .await?;
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => {
                self.apply(&update)?;
                self.synced = true;
            }
            Message::Sync(SyncMessage::Update(update)) => {
                self.apply(&update)?;
                self.updates_received += 1;
            }
            Message::Auth(Some(reason)) => self.denied.push(reason),
            Message::Awareness(_) => self.awareness_received += 1,
            Message::Auth(None) | Message::AwarenessQuery | Message::Custom(..) => {}
        }
        Ok(())
    }

    fn apply(&mut self, update: &[u8]) -> anyhow::Result<()> {
        let update = Update::decode_v1(update)?;
        self.doc.transact_mut().apply_update(update)?;
        Ok(())
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }

    /// The state vector of the local document.
    pub fn state_vector(&self) -> StateVector {
        self.doc.transact().state_vector()
    }
}
