//! Sans-IO y-websocket client: frames in, frames and events out.
//!
//! The browser's WebSocket lives in `net.rs`; this module only decides what to send and what a
//! received frame means, so the protocol is unit-tested natively. The exchange is the standard
//! one: on open the client sends its sync step 1 (its state vector) and its awareness state; it
//! answers the server's step 1 with a step 2 (everything the server lacks, which includes edits
//! made offline), applies the server's step 2 and updates, and counts as synced once the server's
//! step 2 has been applied.

use shared_model::Project;
use shared_model::yrs::sync::{Message, SyncMessage};
use shared_model::yrs::updates::decoder::Decode;
use shared_model::yrs::updates::encoder::Encode;
use shared_model::yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::presence::Presence;

/// A document the client keeps in sync: the project ([`Project`]), or the review document
/// (a plain yrs [`Doc`] that only the server writes, read through `shared_model::ReviewDoc`).
pub trait Replica {
    /// The replica's state vector (v1).
    fn state_vector(&self) -> Vec<u8>;
    /// Everything the replica has that a peer with `state_vector` lacks (an update, v1).
    fn encode_diff(&self, state_vector: &[u8]) -> Result<Vec<u8>, SyncError>;
    fn apply_update(&self, update: &[u8]) -> Result<(), SyncError>;
}

impl Replica for Project {
    fn state_vector(&self) -> Vec<u8> {
        Project::state_vector(self)
    }
    fn encode_diff(&self, state_vector: &[u8]) -> Result<Vec<u8>, SyncError> {
        Ok(Project::encode_diff(self, state_vector)?)
    }
    fn apply_update(&self, update: &[u8]) -> Result<(), SyncError> {
        Ok(Project::apply_update(self, update)?)
    }
}

impl Replica for Doc {
    fn state_vector(&self) -> Vec<u8> {
        self.transact().state_vector().encode_v1()
    }
    fn encode_diff(&self, state_vector: &[u8]) -> Result<Vec<u8>, SyncError> {
        let sv = StateVector::decode_v1(state_vector)
            .map_err(|e| SyncError::Malformed(e.to_string()))?;
        Ok(self.transact().encode_state_as_update_v1(&sv))
    }
    fn apply_update(&self, update: &[u8]) -> Result<(), SyncError> {
        let update = Update::decode_v1(update).map_err(|e| SyncError::Malformed(e.to_string()))?;
        self.transact_mut()
            .apply_update(update)
            .map_err(|e| SyncError::Malformed(e.to_string()))
    }
}

/// Where the connection is in the sync exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Closed,
    /// Open, waiting for the server's step 2.
    Syncing,
    Synced,
}

/// Something the UI needs to know about after a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// The server's state has been applied: the document is up to date.
    Synced,
    /// The server refused a write (a viewer or commenter tried to edit).
    PermissionDenied(String),
    /// Someone's presence (name, view, shot, cursor) changed or went away.
    PresenceChanged,
}

/// What handling one frame produced.
#[derive(Debug, Default)]
pub struct Received {
    /// Frames to send back on the same socket.
    pub reply: Vec<Vec<u8>>,
    pub events: Vec<SyncEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("malformed message from the server: {0}")]
    Malformed(String),
    #[error("the server sent an update that cannot be applied: {0}")]
    InvalidUpdate(#[from] shared_model::Error),
}

#[derive(Debug)]
pub struct SyncClient {
    phase: Phase,
}

impl Default for SyncClient {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncClient {
    pub fn new() -> Self {
        SyncClient {
            phase: Phase::Closed,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The socket opened: the frames to send first.
    pub fn open(&mut self, project: &impl Replica, presence: &Presence) -> Vec<Vec<u8>> {
        self.phase = Phase::Syncing;
        let sv = StateVector::decode_v1(&project.state_vector()).unwrap_or_default();
        let mut frames = vec![Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1()];
        if let Some(frame) = presence.local_frame() {
            frames.push(frame);
        }
        frames
    }

    /// The socket closed. Peers are forgotten: the server re-sends everyone's presence on the
    /// next connection, and stale cursors must not linger while offline.
    pub fn close(&mut self, presence: &mut Presence) -> bool {
        self.phase = Phase::Closed;
        presence.clear_peers()
    }

    /// Handles one binary frame. Updates are applied to `project` here, so a caller that needs
    /// to tell remote changes from local ones marks the call (the document's observers fire
    /// during it).
    pub fn receive(
        &mut self,
        project: &impl Replica,
        presence: &mut Presence,
        frame: &[u8],
        now_ms: f64,
    ) -> Result<Received, SyncError> {
        let mut out = Received::default();
        // y-websocket sends exactly one message per frame. yrs's multi-message reader takes a
        // truncated message for the end of the frame, which would hide corruption.
        let message = Message::decode_v1(frame).map_err(|e| SyncError::Malformed(e.to_string()))?;
        {
            match message {
                Message::Sync(SyncMessage::SyncStep1(sv)) => {
                    let diff = project.encode_diff(&sv.encode_v1())?;
                    out.reply
                        .push(Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1());
                }
                Message::Sync(SyncMessage::SyncStep2(update)) => {
                    project.apply_update(&update)?;
                    if self.phase != Phase::Synced {
                        self.phase = Phase::Synced;
                        out.events.push(SyncEvent::Synced);
                    }
                }
                Message::Sync(SyncMessage::Update(update)) => {
                    project.apply_update(&update)?;
                }
                Message::Auth(Some(reason)) => {
                    out.events.push(SyncEvent::PermissionDenied(reason));
                }
                Message::Auth(None) => {}
                Message::AwarenessQuery => {
                    if let Some(frame) = presence.local_frame() {
                        out.reply.push(frame);
                    }
                }
                Message::Awareness(update) => {
                    let applied = presence.apply(update, now_ms);
                    if let Some(frame) = applied.reannounce {
                        out.reply.push(frame);
                    }
                    if applied.changed {
                        out.events.push(SyncEvent::PresenceChanged);
                    }
                }
                // Custom messages belong to other applications sharing the protocol.
                Message::Custom(_, _) => {}
            }
        }
        Ok(out)
    }
}

/// Wraps a local document update for the wire.
pub fn update_frame(update: &[u8]) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update.to_vec())).encode_v1()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::{PresenceState, User};
    use shared_model::yrs::ClientID;
    use shared_model::yrs::sync::AwarenessUpdate;
    use shared_model::yrs::sync::awareness::AwarenessUpdateEntry;
    use shared_model::{NewScene, ProjectOptions};
    use std::collections::HashMap;

    /// A minimal server side: answers like the sync server's `DocState` does.
    fn server_reply(server: &Project, frame: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        match Message::decode_v1(frame).unwrap() {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = server.encode_diff(&sv.encode_v1()).unwrap();
                out.push(Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1());
            }
            Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
                server.apply_update(&u).unwrap();
            }
            _ => {}
        }
        out
    }

    fn presence(project: &Project, name: &str) -> Presence {
        let mut p = Presence::new(project.doc().client_id().get());
        p.set_local(Some(PresenceState {
            user: User {
                name: name.into(),
                color: "#336699".into(),
                ..Default::default()
            },
            ..Default::default()
        }));
        p
    }

    #[test]
    fn offline_edits_reach_the_server_and_server_edits_reach_the_client() {
        let server = Project::empty(ProjectOptions::default());
        server.script_insert(0, "server text");
        let client = Project::empty(ProjectOptions::default());
        client.add_scene(&NewScene {
            title: "made offline".into(),
            ..Default::default()
        });
        let mut presence = presence(&client, "Ann");
        let mut sync = SyncClient::new();

        let opening = sync.open(&client, &presence);
        assert_eq!(opening.len(), 2, "step 1 and the awareness state");
        assert_eq!(sync.phase(), Phase::Syncing);

        // The server answers our step 1 with step 2 and sends its own step 1.
        let mut to_client = server_reply(&server, &opening[0]);
        let server_sv = server.state_vector();
        let server_step1 = Message::Sync(SyncMessage::SyncStep1(
            StateVector::decode_v1(&server_sv).unwrap(),
        ))
        .encode_v1();
        to_client.insert(0, server_step1);

        let mut events = Vec::new();
        for frame in &to_client {
            let r = sync.receive(&client, &mut presence, frame, 0.0).unwrap();
            for reply in &r.reply {
                server_reply(&server, reply);
            }
            events.extend(r.events);
        }
        assert_eq!(events, vec![SyncEvent::Synced]);
        assert_eq!(sync.phase(), Phase::Synced);
        assert_eq!(client.script_text(), "server text");
        assert_eq!(server.scenes()[0].title, "made offline");
    }

    #[test]
    fn permission_denied_and_presence_are_reported() {
        let client = Project::empty(ProjectOptions::default());
        let mut presence = presence(&client, "Ann");
        let mut sync = SyncClient::new();
        sync.open(&client, &presence);

        let denied = Message::Auth(Some("permission denied: a viewer".into())).encode_v1();
        let r = sync.receive(&client, &mut presence, &denied, 0.0).unwrap();
        assert_eq!(
            r.events,
            vec![SyncEvent::PermissionDenied(
                "permission denied: a viewer".into()
            )]
        );

        let bob = r##"{"user":{"name":"Bob","color":"#aa0000"},"view":"board","shot":"s1"}"##;
        let update = AwarenessUpdate {
            clients: HashMap::from([(
                ClientID::new(77),
                AwarenessUpdateEntry {
                    clock: 1,
                    json: bob.into(),
                },
            )]),
        };
        let frame = Message::Awareness(update).encode_v1();
        let r = sync.receive(&client, &mut presence, &frame, 0.0).unwrap();
        assert_eq!(r.events, vec![SyncEvent::PresenceChanged]);
        let peer = presence.peers().next().unwrap();
        assert_eq!(peer.state.user.name, "Bob");
        assert_eq!(peer.state.shot.as_deref(), Some("s1"));

        assert!(sync.close(&mut presence), "closing forgets peers");
        assert_eq!(presence.peers().count(), 0);
    }

    #[test]
    fn a_read_only_replica_syncs_and_sends_nothing_of_its_own() {
        use shared_model::yrs::{Map, Transact};
        // The server's review document: only the server writes it.
        let server = Doc::new();
        let threads = server.get_or_insert_map("threads");
        threads.insert(&mut server.transact_mut(), "t1", "first");
        let client = Doc::new();
        let mut presence = Presence::new(7);
        let mut sync = SyncClient::new();
        let opening = sync.open(&client, &presence);
        assert_eq!(
            opening.len(),
            1,
            "step 1 only: no presence on this connection"
        );

        // The server answers our step 1 and sends its own.
        let Message::Sync(SyncMessage::SyncStep1(sv)) = Message::decode_v1(&opening[0]).unwrap()
        else {
            panic!("the client opens with step 1");
        };
        let diff = server.encode_diff(&sv.encode_v1()).unwrap();
        let step2 = Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1();
        let server_sv = StateVector::decode_v1(&Replica::state_vector(&server)).unwrap();
        let step1 = Message::Sync(SyncMessage::SyncStep1(server_sv)).encode_v1();

        let r = sync.receive(&client, &mut presence, &step1, 0.0).unwrap();
        // Its answer carries nothing the server lacks (the server ignores an empty update even
        // from a read-only connection).
        let Message::Sync(SyncMessage::SyncStep2(reply)) = Message::decode_v1(&r.reply[0]).unwrap()
        else {
            panic!("step 1 is answered with step 2");
        };
        let before = server.transact().state_vector();
        server.apply_update(&reply).unwrap();
        assert_eq!(server.transact().state_vector(), before);

        let r = sync.receive(&client, &mut presence, &step2, 0.0).unwrap();
        assert_eq!(r.events, vec![SyncEvent::Synced]);
        let seen = client.get_or_insert_map("threads");
        assert_eq!(
            seen.get(&client.transact(), "t1")
                .map(|v| v.to_string(&client.transact())),
            Some("first".to_owned())
        );

        // A later update arrives live; a damaged one is an error, not a panic.
        threads.insert(&mut server.transact_mut(), "t2", "second");
        let update = server
            .transact()
            .encode_state_as_update_v1(&client.transact().state_vector());
        sync.receive(&client, &mut presence, &update_frame(&update), 0.0)
            .unwrap();
        assert_eq!(seen.len(&client.transact()), 2);
        assert!(
            sync.receive(&client, &mut presence, &update_frame(&[1, 2, 3]), 0.0)
                .is_err()
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let client = Project::empty(ProjectOptions::default());
        let mut presence = presence(&client, "Ann");
        let mut sync = SyncClient::new();
        for frame in [&[0u8, 2, 200, 1][..], &[9, 9, 9], &[0, 1, 3, 255, 255, 255]] {
            assert!(sync.receive(&client, &mut presence, frame, 0.0).is_err());
        }
    }
}
