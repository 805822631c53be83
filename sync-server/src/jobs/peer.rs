//! The job runner's document peer: the server joins a project's room in-process, like any
//! client, and keeps a `shared_model::Project` replica synced through the y-websocket messages.
//!
//! Writing through the room (instead of beside it) reuses everything the room guarantees:
//! the update is committed before any client sees it, fans out to every connection, and
//! merges with concurrent edits like any other peer's. A write returns once the room has
//! echoed it back, which it does only after committing it, so a job is marked succeeded only
//! when its take is durable in the document. Live progress travels as this peer's awareness
//! state, never as document edits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use api_types::{JobId, LiveJob, ServerJobs};
use bytes::Bytes;
use serde::Serialize;
use shared_model::{Project, ProjectOptions};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, ReadTxn, Transact, Update};

use crate::auth::ProjectId;
use crate::protocol::ClientMessage;
use crate::room::{ConnIdentity, RoomHandle, Rooms};
use crate::{Error, Result};

/// The peer's connection ids live in the top half of the id space, far from the WebSocket
/// connections' counter (which starts at 1), so the two never collide within a room; the
/// protocol trusts only these with the server's presence.
const PEER_CONN_BASE: u64 = crate::protocol::SERVER_PEER_CONN_BASE;
static NEXT_PEER_CONN: AtomicU64 = AtomicU64::new(0);

/// How long a write may wait for the room to commit it before the job is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long joining may take (the room loads the document first).
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// What the peer announces, with the awareness clock of its last announcement.
#[derive(Debug, Default)]
struct Presence {
    clock: u32,
    jobs: ServerJobs,
}

/// The peer's awareness state. `user.server` is what the protocol trusts only from this peer
/// and what clients keep out of the people they show.
#[derive(Debug, Serialize)]
struct AwarenessState<'a> {
    user: ServerUser,
    jobs: &'a ServerJobs,
}

#[derive(Debug, Serialize)]
struct ServerUser {
    name: &'static str,
    server: bool,
}

#[derive(Debug)]
pub struct DocPeer {
    project: ProjectId,
    /// The replica. Guards every read and write of the server's copy of the document; held
    /// only for synchronous yrs calls, never across an await.
    replica: Mutex<Project>,
    client_id: ClientID,
    handle: RoomHandle,
    /// Keeps our updates in the order they were made: a later diff of this client must not
    /// reach the room before an earlier one. Held while computing a diff and handing it over.
    send_order: tokio::sync::Mutex<()>,
    /// The highest clock of our own client id that the room has echoed back (committed).
    acked: watch::Receiver<u32>,
    /// False once the room closed this peer; it is then replaced by a fresh one.
    alive: watch::Receiver<bool>,
    /// The awareness state we announce. Guards the clock and the job maps; never held across
    /// an await.
    presence: Mutex<Presence>,
    pump: JoinHandle<()>,
}

impl Drop for DocPeer {
    fn drop(&mut self) {
        // Dropping the handle's sender is enough for the room; the pump only applies frames.
        self.pump.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves the value consistent, so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DocPeer {
    /// Joins the project's room with write access and waits for the initial sync.
    pub async fn join(rooms: &Rooms, project: &ProjectId) -> Result<Arc<DocPeer>> {
        let conn = PEER_CONN_BASE + NEXT_PEER_CONN.fetch_add(1, Ordering::Relaxed);
        let joined = rooms
            .join(project.as_str(), conn, None, ConnIdentity::server())
            .await
            .map_err(|e| Error::Peer(e.to_string()))?;
        let replica = Project::empty(ProjectOptions::default());
        let client_id = replica.doc().client_id();
        let (acked_tx, acked) = watch::channel(0u32);
        let (alive_tx, alive) = watch::channel(true);
        let (synced_tx, synced_rx) = oneshot::channel();
        let handle = joined.handle;
        let sv = replica.doc().transact().state_vector();
        handle
            .send(vec![ClientMessage::SyncStep1(sv)])
            .await
            .map_err(|()| Error::Peer("the room closed while joining".into()))?;
        // The pump needs the peer (to apply frames to its replica) and the peer owns the pump,
        // so the pump gets a weak reference through a channel once the peer exists.
        let (peer_tx, peer_rx) = oneshot::channel::<Weak<DocPeer>>();
        let pump = tokio::spawn(pump(
            joined.outbound,
            joined.kick,
            peer_rx,
            synced_tx,
            acked_tx,
            alive_tx,
        ));
        let peer = Arc::new(DocPeer {
            project: project.clone(),
            replica: Mutex::new(replica),
            client_id,
            handle,
            send_order: tokio::sync::Mutex::new(()),
            acked,
            alive,
            presence: Mutex::new(Presence::default()),
            pump,
        });
        let _ = peer_tx.send(Arc::downgrade(&peer));
        match tokio::time::timeout(SYNC_TIMEOUT, synced_rx).await {
            Ok(Ok(())) => Ok(peer),
            Ok(Err(_)) => Err(Error::Peer(
                "the room closed before the initial sync".into(),
            )),
            Err(_) => Err(Error::Peer("timed out waiting for the initial sync".into())),
        }
    }

    pub fn project(&self) -> &ProjectId {
        &self.project
    }

    pub fn is_alive(&self) -> bool {
        *self.alive.borrow()
    }

    /// Reads the replica.
    pub fn read<R>(&self, f: impl FnOnce(&Project) -> R) -> R {
        f(&lock(&self.replica))
    }

    /// Changes the replica with `f` and returns once the room has committed the change.
    pub async fn write<R>(&self, f: impl FnOnce(&Project) -> Result<R>) -> Result<R> {
        let (value, target) = {
            let _order = self.send_order.lock().await;
            let (value, update, target) = {
                let replica = lock(&self.replica);
                let before = replica.doc().transact().state_vector();
                let value = f(&replica)?;
                let txn = replica.doc().transact();
                let update = txn.encode_state_as_update_v1(&before);
                let target = txn.state_vector().get(&self.client_id);
                (value, update, target)
            };
            if target > 0 && target > *self.acked.borrow() {
                self.handle
                    .send(vec![ClientMessage::Update(update)])
                    .await
                    .map_err(|()| Error::Peer("the room is gone".into()))?;
            }
            (value, target)
        };
        self.wait_acked(target).await?;
        Ok(value)
    }

    async fn wait_acked(&self, target: u32) -> Result<()> {
        let mut acked = self.acked.clone();
        let mut alive = self.alive.clone();
        let wait = async {
            loop {
                if *acked.borrow_and_update() >= target {
                    return Ok(());
                }
                if !*alive.borrow_and_update() {
                    return Err(Error::Peer("the room closed before committing".into()));
                }
                tokio::select! {
                    r = acked.changed() => if r.is_err() { return Err(Error::Peer("the room is gone".into())) },
                    r = alive.changed() => if r.is_err() { return Err(Error::Peer("the room is gone".into())) },
                }
            }
        };
        tokio::time::timeout(ACK_TIMEOUT, wait)
            .await
            .map_err(|_| Error::Peer("timed out waiting for the room to commit".into()))?
    }

    /// Announces a job's live state (`None` removes it) and the number of queued jobs.
    pub async fn announce(&self, job: &JobId, live: Option<LiveJob>, queued: u64) {
        let update = {
            let mut presence = lock(&self.presence);
            let running = &presence.jobs.running;
            let changed = match &live {
                Some(l) => running.get(job) != Some(l),
                None => running.contains_key(job),
            };
            if !changed && presence.jobs.queued == queued {
                return;
            }
            match live {
                Some(l) => presence.jobs.running.insert(job.clone(), l),
                None => presence.jobs.running.remove(job),
            };
            presence.jobs.queued = queued;
            let json = match awareness_json(&presence.jobs) {
                Ok(json) => json,
                Err(e) => {
                    // Plain strings and numbers do not fail to serialize; were one to, nobody would
                    // miss a single announcement.
                    tracing::warn!(error = %e, "the awareness state does not serialize");
                    return;
                }
            };
            presence.clock += 1;
            let mut clients = HashMap::new();
            clients.insert(
                self.client_id,
                AwarenessUpdateEntry {
                    clock: presence.clock,
                    json: json.into(),
                },
            );
            AwarenessUpdate { clients }
        };
        // Progress is best effort: a closed room just means nobody is watching.
        let _ = self
            .handle
            .send(vec![ClientMessage::Awareness(update)])
            .await;
    }
}

/// The awareness state announcing `jobs`, as the server peer sends it.
fn awareness_json(jobs: &ServerJobs) -> serde_json::Result<String> {
    serde_json::to_string(&AwarenessState {
        user: ServerUser {
            name: "Shotweave",
            server: true,
        },
        jobs,
    })
}

/// Applies the room's frames to the replica: answers the room's step 1, marks the initial
/// sync done on its step 2, and advances `acked` whenever an update carries our own client's
/// changes back (the room echoes an update only after committing it).
async fn pump(
    mut outbound: mpsc::Receiver<Bytes>,
    mut kick: oneshot::Receiver<crate::room::CloseReason>,
    peer: oneshot::Receiver<Weak<DocPeer>>,
    synced: oneshot::Sender<()>,
    acked: watch::Sender<u32>,
    alive: watch::Sender<bool>,
) {
    let Ok(peer) = peer.await else { return };
    let mut synced = Some(synced);
    loop {
        let frame = tokio::select! {
            biased;
            reason = &mut kick => {
                if let Ok(reason) = reason {
                    tracing::debug!(code = reason.code, reason = %reason.reason, "room closed the job runner's peer");
                }
                break;
            }
            frame = outbound.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
        };
        let Some(peer) = peer.upgrade() else { break };
        let message = match Message::decode_v1(&frame) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable frame from the room");
                continue;
            }
        };
        match message {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = {
                    let replica = lock(&peer.replica);
                    replica.doc().transact().encode_state_as_update_v1(&sv)
                };
                if Update::decode_v1(&diff).is_ok_and(|u| !u.is_empty()) {
                    let _ = peer.handle.send(vec![ClientMessage::Update(diff)]).await;
                }
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => {
                apply(&peer, &update, &acked);
                if let Some(tx) = synced.take() {
                    let _ = tx.send(());
                }
            }
            Message::Sync(SyncMessage::Update(update)) => apply(&peer, &update, &acked),
            Message::Auth(Some(reason)) => {
                tracing::warn!(%reason, "the room refused the job runner's write");
            }
            _ => {}
        }
    }
    let _ = alive.send(false);
}

fn apply(peer: &DocPeer, update: &[u8], acked: &watch::Sender<u32>) {
    // The end of our own client's clock range in this update. (`Update::state_vector` only
    // counts updates that start at clock 0, which an echo of a later write does not.)
    let ours = Update::decode_v1(update)
        .ok()
        .and_then(|u| {
            u.insertions(true)
                .get(&peer.client_id)
                .and_then(|r| r.ranges().map(|r| r.end).max())
        })
        .unwrap_or(0);
    if let Err(e) = lock(&peer.replica).apply_update(update) {
        tracing::warn!(error = %e, "update from the room does not apply to the replica");
    }
    if ours > 0 {
        acked.send_if_modified(|a| {
            let grew = ours > *a;
            if grew {
                *a = ours;
            }
            grew
        });
    }
}

/// The live peers by project. Peers are shared by every job of a project and dropped with the
/// last of them (the registry holds weak references only).
#[derive(Debug, Default)]
pub struct Peers {
    /// Guards only lookups and inserts; joining happens outside it.
    peers: Mutex<HashMap<ProjectId, Weak<DocPeer>>>,
    /// Serialises joins per process, so that two jobs of one project starting together share
    /// one peer instead of joining twice.
    joining: tokio::sync::Mutex<()>,
}

impl Peers {
    pub async fn get(&self, rooms: &Rooms, project: &ProjectId) -> Result<Arc<DocPeer>> {
        if let Some(peer) = self.lookup(project) {
            return Ok(peer);
        }
        let _joining = self.joining.lock().await;
        if let Some(peer) = self.lookup(project) {
            return Ok(peer);
        }
        let peer = DocPeer::join(rooms, project).await?;
        let mut peers = lock(&self.peers);
        peers.retain(|_, p| p.strong_count() > 0);
        peers.insert(project.clone(), Arc::downgrade(&peer));
        Ok(peer)
    }

    fn lookup(&self, project: &ProjectId) -> Option<Arc<DocPeer>> {
        lock(&self.peers)
            .get(project)
            .and_then(Weak::upgrade)
            .filter(|p| p.is_alive())
    }
}

#[cfg(test)]
mod tests {
    use api_types::{JobKind, JobStatus, ShotId};

    use super::*;

    /// The state is the one the studio's presence code reads (`client-wasm/src/presence.rs`
    /// parses this shape) and the protocol recognises as the server's.
    #[test]
    fn the_awareness_state_is_the_shared_server_jobs_shape() {
        let mut jobs = ServerJobs {
            queued: 3,
            ..ServerJobs::default()
        };
        jobs.running.insert(
            JobId::from("j1"),
            LiveJob {
                shot_id: Some(ShotId::from("s1")),
                kind: JobKind::Frame,
                provider: "offline".into(),
                status: JobStatus::Running,
                progress: Some(0.5),
            },
        );
        let json = awareness_json(&jobs).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            json,
            r#"{"user":{"name":"Shotweave","server":true},"jobs":{"running":{"j1":{"shot_id":"s1","kind":"frame","provider":"offline","status":"running","progress":0.5}},"queued":3}}"#
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let parsed: ServerJobs =
            serde_json::from_value(back["jobs"].clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, jobs);
    }
}
