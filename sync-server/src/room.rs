//! Rooms: one task per loaded document, the only place its state is touched.
//!
//! A room task owns a [`DocState`] and the send queues of its connections. It loads the
//! stored state before it reads its first command, so no connection is ever served an
//! unloaded document, and since there is exactly one task per document in this process the
//! load happens once while later joiners wait in its inbox. Loading is also where a project
//! document of an older schema is converted, once, and stored (`upgrade_on_load`). It
//! processes commands in batches: every message of a batch is applied, the batch's document
//! updates are handed to the server-wide [`commit`] task, which appends the batches of many
//! rooms in one transaction (group commit), and only once that is done are the batch's replies
//! and broadcasts queued to the connections. A frame therefore never leaves the server before
//! the update it carries is durable.
//!
//! Connections never block the room: their send queues are bounded and a connection whose
//! queue is full is closed with a reason (the client reconnects and resyncs), rather than
//! silently skipped. The room unloads itself after its last connection has been gone for the
//! configured grace period, writing a snapshot first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

mod commit;

use shared_model::Project;
use shared_model::schema::SCHEMA_VERSION;

use crate::auth::{DocKind, DocName};
use crate::observability as obs;
use crate::protocol::{ClientMessage, ConnId, DocState, Effects};
use crate::store::Store;
use commit::Committer;

/// Upper bound on commands handled (and so updates committed) in one batch, to bound the
/// latency a large burst adds to the first message in it.
const MAX_BATCH: usize = 256;
/// Capacity of a room's inbox. Connections wait when it is full, which pushes back on fast
/// writers through TCP instead of buffering without bound.
const INBOX_CAPACITY: usize = 1024;

/// Tuning of rooms, taken from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Write a snapshot once this many updates follow the last one.
    pub compact_after_updates: u64,
    /// How long an empty room stays loaded before it is unloaded.
    pub idle_grace: Duration,
    /// Frames that may wait for one connection before it counts as fallen behind.
    pub send_queue_len: usize,
}

/// Why the server closes a connection: a WebSocket close code and a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: String,
}

impl CloseReason {
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// Who a connection is, as its token says (the server's own peer: "Shotweave"). Kept per
/// connection in its room so that what it writes can be attributed to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnIdentity {
    /// The person, or a bare link's holder (`id: None`), or the server.
    pub author: api_types::Author,
    /// The share link the connection's token is; `None` for the server and old tokens.
    pub link: Option<api_types::LinkId>,
}

impl ConnIdentity {
    /// The server itself (generation jobs, breakdowns).
    pub fn server() -> Self {
        Self {
            author: api_types::Author {
                id: None,
                name: "Shotweave".into(),
            },
            link: None,
        }
    }
}

/// Why a connection could not join a room.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JoinError {
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the document could not be loaded")]
    LoadFailed,
}

enum Command {
    Join {
        conn: ConnId,
        who: Arc<ConnIdentity>,
        outbound: mpsc::Sender<Bytes>,
        kick: oneshot::Sender<CloseReason>,
        joined: oneshot::Sender<Result<(), JoinError>>,
    },
    Messages {
        conn: ConnId,
        /// Carried with every batch (not looked up in the room's connection table) because a
        /// connection's last messages may arrive after the room noticed it closed, and its
        /// updates must be applied all the same.
        write_denied: Option<Arc<str>>,
        messages: Vec<ClientMessage>,
    },
    Leave {
        conn: ConnId,
    },
}

struct RoomEntry {
    /// Distinguishes this room task from a later one for the same document, so a task that
    /// unloads only ever removes its own registry entry.
    generation: u64,
    inbox: mpsc::Sender<Command>,
}

/// The registry of loaded rooms, shared by all connections.
#[derive(Clone, Debug)]
pub struct Rooms {
    inner: Arc<RoomsInner>,
}

struct RoomsInner {
    /// Loaded rooms by document name. Held only to look up or insert an entry (never across
    /// an await), which is what makes "one task per document" hold.
    rooms: Mutex<HashMap<String, RoomEntry>>,
    store: Store,
    committer: Committer,
    config: RoomConfig,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    generations: AtomicU64,
}

impl std::fmt::Debug for RoomsInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooms")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A joined connection's way into its room. Dropping it without [`RoomHandle::leave`] is
/// fine: the room notices the closed send queue on its next send.
#[derive(Debug)]
pub struct RoomHandle {
    conn: ConnId,
    write_denied: Option<Arc<str>>,
    inbox: mpsc::Sender<Command>,
}

/// What a connection receives on joining.
#[derive(Debug)]
pub struct Joined {
    pub handle: RoomHandle,
    /// Frames to send to the client, in order. Closed when the room goes away.
    pub outbound: mpsc::Receiver<Bytes>,
    /// Fires when the room closes this connection (fell behind, bad message, shutdown...).
    pub kick: oneshot::Receiver<CloseReason>,
}

impl RoomHandle {
    /// Hands decoded messages to the room; waits while the room's inbox is full.
    /// Fails when the room is gone.
    pub async fn send(&self, messages: Vec<ClientMessage>) -> Result<(), ()> {
        self.inbox
            .send(Command::Messages {
                conn: self.conn,
                write_denied: self.write_denied.clone(),
                messages,
            })
            .await
            .map_err(|_| ())
    }

    pub async fn leave(self) {
        // An error means the room is already gone, which is what leaving wants anyway.
        let _ = self.inbox.send(Command::Leave { conn: self.conn }).await;
    }
}

impl Rooms {
    pub fn new(
        store: Store,
        config: RoomConfig,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(RoomsInner {
                rooms: Mutex::new(HashMap::new()),
                committer: Committer::spawn(store.clone()),
                store,
                config,
                tracker,
                shutdown,
                generations: AtomicU64::new(0),
            }),
        }
    }

    /// Number of rooms currently loaded.
    pub fn loaded(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoomEntry>> {
        // A panic while holding this lock cannot leave the map half-updated (each critical
        // section is a single insert, lookup or remove), so a poisoned lock is still usable.
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Joins connection `conn`, made by `who`, to the room of `doc`, loading the room if
    /// needed. Returns once the room has loaded the document and queued its welcome frames.
    pub async fn join(
        &self,
        doc: &str,
        conn: ConnId,
        write_denied: Option<String>,
        who: ConnIdentity,
    ) -> Result<Joined, JoinError> {
        let who = Arc::new(who);
        loop {
            if self.inner.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            let (generation, inbox) = self.get_or_spawn(doc);
            let (out_tx, out_rx) = mpsc::channel(self.inner.config.send_queue_len.max(16));
            let (kick_tx, kick_rx) = oneshot::channel();
            let (joined_tx, joined_rx) = oneshot::channel();
            let command = Command::Join {
                conn,
                who: who.clone(),
                outbound: out_tx,
                kick: kick_tx,
                joined: joined_tx,
            };
            if inbox.send(command).await.is_ok() {
                match joined_rx.await {
                    Ok(Ok(())) => {
                        return Ok(Joined {
                            handle: RoomHandle {
                                conn,
                                write_denied: write_denied.as_deref().map(Arc::from),
                                inbox,
                            },
                            outbound: out_rx,
                            kick: kick_rx,
                        });
                    }
                    Ok(Err(e)) => return Err(e),
                    // The room was unloading and dropped our join: try a fresh room.
                    Err(_) => {}
                }
            }
            self.remove_if_generation(doc, generation);
        }
    }

    fn get_or_spawn(&self, doc: &str) -> (u64, mpsc::Sender<Command>) {
        let mut rooms = self.lock();
        if let Some(entry) = rooms.get(doc)
            && !entry.inbox.is_closed()
        {
            return (entry.generation, entry.inbox.clone());
        }
        let generation = self.inner.generations.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        rooms.insert(
            doc.to_owned(),
            RoomEntry {
                generation,
                inbox: tx.clone(),
            },
        );
        metrics::gauge!(obs::ROOMS).set(rooms.len() as f64);
        let span = info_span!("room", doc = %doc);
        let task = run_room(self.clone(), doc.to_owned(), generation, rx).instrument(span);
        self.inner.tracker.spawn(task);
        (generation, tx)
    }

    fn remove_if_generation(&self, doc: &str, generation: u64) {
        let mut rooms = self.lock();
        if rooms.get(doc).is_some_and(|e| e.generation == generation) {
            rooms.remove(doc);
        }
        metrics::gauge!(obs::ROOMS).set(rooms.len() as f64);
    }
}

struct Conn {
    outbound: mpsc::Sender<Bytes>,
    kick: Option<oneshot::Sender<CloseReason>>,
    /// Who the connection is, for attributing its updates (issue 13, activity).
    #[allow(dead_code)]
    who: Arc<ConnIdentity>,
}

enum Target {
    One(ConnId),
    All,
}

/// The state of a loaded room, owned by its task.
struct Room {
    doc: Arc<str>,
    state: DocState,
    conns: HashMap<ConnId, Conn>,
    next_seq: i64,
    /// Updates stored after the last snapshot.
    tail_len: u64,
    /// Frames produced by the current batch, sent after its updates are committed.
    outbox: Vec<(Target, Bytes)>,
    /// Updates produced by the current batch, not yet committed.
    pending: Vec<Vec<u8>>,
}

enum Exit {
    Idle,
    Shutdown,
    StorageFailed,
}

/// Loads the stored document: its state, the next sequence number and the tail length. A
/// project document of an older schema is converted here, before anyone is served.
async fn load(inner: &RoomsInner, doc: &str) -> Option<(DocState, i64, u64)> {
    let stored = match inner.store.load_doc(doc).await {
        Ok(stored) => stored,
        Err(e) => {
            error!(error = %e, "loading document failed");
            return None;
        }
    };
    let next_seq = stored.next_seq();
    let mut tail_len = stored.tail.len() as u64;
    let state = match DocState::load(
        stored.snapshot.as_deref(),
        stored.tail.iter().map(|(_, u)| u.as_slice()),
    ) {
        Ok(state) => state,
        Err(e) => {
            error!(error = %e, "stored document is corrupt");
            return None;
        }
    };
    // Review documents are not project documents and have no schema of their own.
    let is_project = DocName::parse(doc).is_some_and(|name| matches!(name.kind, DocKind::Project));
    if is_project && upgrade_on_load(&inner.committer, doc, &state, next_seq).await? {
        tail_len = 0;
    }
    Some((state, next_seq, tail_len))
}

/// Converts a project document of an older schema to the current one (`Project::upgrade`)
/// and returns whether it did. This is the one place a conversion runs: clients never
/// convert, because two peers converting the same field concurrently would each create a
/// text for it and one of the two would be lost whole; the room is the only task that
/// touches this document in this process and it runs before the first joiner is served.
///
/// The converted state is written as the document's snapshot (covering the tail it was
/// loaded from, through the committer like every write) before anyone is served, and a
/// failure fails the load: a conversion that clients had seen but the store lacked would be
/// redone after a restart with new items, which would compete with the texts the clients
/// hold. A document with nothing stored gets its first snapshot this way, as an imported one
/// does. `None` means the load failed.
async fn upgrade_on_load(
    committer: &Committer,
    doc: &str,
    state: &DocState,
    next_seq: i64,
) -> Option<bool> {
    let project = Project::from_doc(state.doc().clone());
    let from = project.meta().schema_version;
    match project.upgrade() {
        Ok(None) => Some(false),
        Ok(Some(_)) => {
            let snapshot = state.encode_state();
            match committer
                .snapshot(Arc::from(doc), next_seq - 1, snapshot)
                .await
            {
                Ok(()) => {
                    info!(from, to = SCHEMA_VERSION, "document schema upgraded");
                    Some(true)
                }
                Err(e) => {
                    error!(error = %e, "persisting the schema upgrade failed");
                    None
                }
            }
        }
        // Served as it is, as before conversions existed: the server moves a document's bytes
        // without interpreting them, and rewriting a newer layout could damage it.
        Err(e) => {
            warn!(error = %e, "document has a newer schema; serving it unconverted");
            Some(false)
        }
    }
}

async fn run_room(rooms: Rooms, doc: String, generation: u64, mut inbox: mpsc::Receiver<Command>) {
    let inner = &rooms.inner;
    let started = Instant::now();
    let loaded = load(inner, &doc).await;
    let Some((state, next_seq, tail_len)) = loaded else {
        // Tell everyone waiting, then let later joiners retry with a fresh room.
        rooms.remove_if_generation(&doc, generation);
        inbox.close();
        while let Some(cmd) = inbox.recv().await {
            if let Command::Join { joined, .. } = cmd {
                let _ = joined.send(Err(JoinError::LoadFailed));
            }
        }
        return;
    };
    info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        tail_len, "room loaded"
    );

    let mut room = Room {
        doc: Arc::from(doc.as_str()),
        state,
        conns: HashMap::new(),
        next_seq,
        tail_len,
        outbox: Vec::new(),
        pending: Vec::new(),
    };

    let exit = loop {
        let first = if room.conns.is_empty() {
            tokio::select! {
                cmd = inbox.recv() => cmd,
                () = tokio::time::sleep(inner.config.idle_grace) => break Exit::Idle,
                () = inner.shutdown.cancelled() => break Exit::Shutdown,
            }
        } else {
            tokio::select! {
                cmd = inbox.recv() => cmd,
                () = inner.shutdown.cancelled() => break Exit::Shutdown,
            }
        };
        // The registry holds a sender, so the inbox only closes if the room was replaced.
        let Some(first) = first else { break Exit::Idle };
        room.handle(first);
        for _ in 1..MAX_BATCH {
            match inbox.try_recv() {
                Ok(cmd) => room.handle(cmd),
                Err(_) => break,
            }
        }
        if !room.commit(&inner.committer).await {
            break Exit::StorageFailed;
        }
        room.flush();
        if room.tail_len >= inner.config.compact_after_updates {
            room.compact(&inner.committer).await;
        }
    };

    match exit {
        Exit::Idle => debug!("room idle, unloading"),
        Exit::Shutdown => room.close_all(CloseReason::new(1001, "server is shutting down")),
        Exit::StorageFailed => room.close_all(CloseReason::new(
            1011,
            "storage failure; reconnect to resync",
        )),
    }
    if !matches!(exit, Exit::StorageFailed) && room.tail_len > 0 {
        // The next load then reads one snapshot instead of replaying the tail.
        room.compact(&inner.committer).await;
    }
    // After this no command reaches this task's state: joins that raced with the unload are
    // dropped (their joiner retries with a fresh room, which loads what we just stored).
    rooms.remove_if_generation(&doc, generation);
    inbox.close();
    while let Some(cmd) = inbox.recv().await {
        drop(cmd);
    }
    info!(reason = exit.name(), "room unloaded");
}

impl Exit {
    fn name(&self) -> &'static str {
        match self {
            Exit::Idle => "idle",
            Exit::Shutdown => "shutdown",
            Exit::StorageFailed => "storage_failed",
        }
    }
}

impl Room {
    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Join {
                conn,
                who,
                outbound,
                kick,
                joined,
            } => {
                if joined.send(Ok(())).is_err() {
                    return; // The connection gave up while waiting for the load.
                }
                for frame in self.state.welcome() {
                    self.outbox.push((Target::One(conn), frame));
                }
                self.conns.insert(
                    conn,
                    Conn {
                        outbound,
                        kick: Some(kick),
                        who,
                    },
                );
            }
            Command::Messages {
                conn,
                write_denied,
                messages,
            } => {
                // A connection that is already gone (closed, kicked, or its queue found closed
                // while these messages waited in the inbox) still gets its document updates
                // applied: the client sent them and may have no other copy. Everything
                // addressed to it, and its awareness, is moot.
                let live = self.conns.contains_key(&conn);
                let mut effects = Effects::default();
                let mut failure = None;
                for message in messages {
                    if !live && !matches!(message, ClientMessage::Update(_)) {
                        continue;
                    }
                    if let Err(e) =
                        self.state
                            .handle(conn, write_denied.as_deref(), message, &mut effects)
                    {
                        failure = Some(e);
                        break;
                    }
                }
                let Effects {
                    reply,
                    broadcast,
                    persist,
                } = effects;
                if live {
                    self.outbox
                        .extend(reply.into_iter().map(|f| (Target::One(conn), f)));
                }
                self.outbox
                    .extend(broadcast.into_iter().map(|f| (Target::All, f)));
                self.pending.extend(persist);
                if let Some(e) = failure {
                    warn!(conn, error = %e, "closing connection after a bad message");
                    self.kick(conn, CloseReason::new(e.close_code(), e.to_string()));
                }
            }
            Command::Leave { conn } => self.remove(conn),
        }
    }

    /// Makes the batch's updates durable. On failure the in-memory document is ahead of the
    /// store, so the room must not keep serving it: the caller closes every connection.
    async fn commit(&mut self, committer: &Committer) -> bool {
        if self.pending.is_empty() {
            return true;
        }
        let updates = std::mem::take(&mut self.pending);
        let n = updates.len() as u64;
        match committer
            .commit(self.doc.clone(), self.next_seq, updates)
            .await
        {
            Ok(()) => {
                self.next_seq += n as i64;
                self.tail_len += n;
                true
            }
            Err(e) => {
                error!(error = %e, "persisting updates failed; dropping the room");
                self.outbox.clear();
                false
            }
        }
    }

    /// Queues the batch's frames. A full queue closes that connection (it reconnects and
    /// resyncs) instead of skipping frames it would silently miss.
    fn flush(&mut self) {
        while !self.outbox.is_empty() {
            let outbox = std::mem::take(&mut self.outbox);
            let mut failed: Vec<(ConnId, bool)> = Vec::new();
            let mut send = |id: ConnId, conn: &Conn, frame: &Bytes| {
                if failed.iter().any(|(f, _)| *f == id) {
                    return;
                }
                match conn.outbound.try_send(frame.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => failed.push((id, true)),
                    Err(mpsc::error::TrySendError::Closed(_)) => failed.push((id, false)),
                }
            };
            for (target, frame) in &outbox {
                match target {
                    Target::One(id) => {
                        if let Some(conn) = self.conns.get(id) {
                            send(*id, conn, frame);
                        }
                    }
                    Target::All => {
                        for (id, conn) in &self.conns {
                            send(*id, conn, frame);
                        }
                    }
                }
            }
            // Removing connections broadcasts their awareness removal, refilling the outbox.
            for (id, fell_behind) in failed {
                if fell_behind {
                    metrics::counter!(obs::SLOW_CLIENTS_CLOSED).increment(1);
                    warn!(conn = id, "connection fell behind; closing it");
                    self.kick(
                        id,
                        CloseReason::new(1013, "client fell behind; reconnect to resync"),
                    );
                } else {
                    self.remove(id);
                }
            }
        }
    }

    fn kick(&mut self, conn: ConnId, reason: CloseReason) {
        if let Some(c) = self.conns.get_mut(&conn)
            && let Some(kick) = c.kick.take()
        {
            let _ = kick.send(reason);
        }
        self.remove(conn);
    }

    fn remove(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some()
            && let Some(frame) = self.state.disconnect(conn)
        {
            self.outbox.push((Target::All, frame));
        }
    }

    fn close_all(&mut self, reason: CloseReason) {
        for (_, mut conn) in self.conns.drain() {
            if let Some(kick) = conn.kick.take() {
                let _ = kick.send(reason.clone());
            }
        }
        self.outbox.clear();
    }

    /// Folds the tail into a new snapshot. Failure only costs load time, so it is logged.
    async fn compact(&mut self, committer: &Committer) {
        let started = Instant::now();
        let state = self.state.encode_state();
        let last_seq = self.next_seq - 1;
        let bytes = state.len();
        match committer.snapshot(self.doc.clone(), last_seq, state).await {
            Ok(()) => {
                debug!(
                    bytes,
                    folded = self.tail_len,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "compacted"
                );
                self.tail_len = 0;
            }
            Err(e) => warn!(error = %e, "compaction failed; keeping the tail"),
        }
    }
}
