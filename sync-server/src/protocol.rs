//! Sans-IO core of the y-websocket protocol: frames in, frames out.
//!
//! Nothing here touches a socket, a clock or a database. [`decode_frame`] turns one WebSocket
//! binary frame into [`ClientMessage`]s (or a [`ProtocolError`] that closes only that
//! connection), and [`DocState`] applies them to the room's document and awareness, returning
//! [`Effects`]: frames to reply, frames to broadcast, and updates that must be persisted
//! before any of those frames may leave the server. The room task in [`crate::room`] owns the
//! IO around it.
//!
//! Wire format (y-protocols): `[messageType: varUint, ...]` with `0 = sync` (`0 = step1 |
//! 1 = step2 | 2 = update`, then a length-prefixed payload), `1 = awareness`, `2 = auth`
//! (`0 = permission denied` + reason string) and `3 = query awareness`.

mod awareness;

use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use yrs::encoding::read::{Cursor, Read};
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

pub use awareness::AwarenessStates;

/// Identifies one WebSocket connection within a room.
pub type ConnId = u64;

/// Connection ids from here up belong to the server's own in-process document peers (the job
/// runner's); WebSocket connections count up from 1 and never get there.
pub const SERVER_PEER_CONN_BASE: ConnId = 1 << 63;

const MSG_SYNC: u8 = 0;
const MSG_AWARENESS: u8 = 1;
const MSG_AUTH: u8 = 2;
const MSG_QUERY_AWARENESS: u8 = 3;

/// One decoded message from a client.
#[derive(Debug)]
pub enum ClientMessage {
    SyncStep1(StateVector),
    /// A sync step 2 or a sync update: both carry a yrs v1 update and are handled alike.
    /// The bytes were decoded once to validate them; a decoded `Update` cannot travel to the
    /// room task because it is neither `Send` nor `Sync`.
    Update(Vec<u8>),
    Awareness(AwarenessUpdate),
    QueryAwareness,
    /// Clients have nothing to say to the server with auth messages; they are ignored.
    Auth,
}

/// Why a connection is closed. Each variant maps to a WebSocket close code and a reason the
/// client can show; the room keeps serving everyone else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    #[error("update could not be applied: {0}")]
    InvalidUpdate(String),
}

impl ProtocolError {
    /// 1002 (protocol error) for bytes we cannot parse, 1003 (unsupported data) for messages
    /// we parse but do not support, 1007 (invalid payload) for updates yrs rejects.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::Malformed(_) => 1002,
            ProtocolError::UnknownMessageType(_) => 1003,
            ProtocolError::InvalidUpdate(_) => 1007,
        }
    }
}

/// Decodes every message in one binary frame.
///
/// y-websocket sends one message per frame, but the format allows several back to back, so
/// all are read; trailing or truncated bytes are an error rather than silently dropped.
pub fn decode_frame(frame: &[u8]) -> Result<Vec<ClientMessage>, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError::Malformed("empty frame".into()));
    }
    // yrs's decoders may panic on hostile input (for example a client id wider than 53 bits
    // trips a debug assertion). A panic here must close one connection, not the server.
    catch_unwind(AssertUnwindSafe(|| decode_frame_inner(frame))).unwrap_or_else(|_| {
        Err(ProtocolError::Malformed(
            "message could not be decoded".into(),
        ))
    })
}

fn decode_frame_inner(frame: &[u8]) -> Result<Vec<ClientMessage>, ProtocolError> {
    let malformed = |what: &str, e: yrs::encoding::read::Error| {
        ProtocolError::Malformed(format!("{what}: {e}"))
    };
    let mut cursor = Cursor::new(frame);
    let mut messages = Vec::with_capacity(1);
    while cursor.has_content() {
        let tag: u64 = cursor
            .read_var()
            .map_err(|e| malformed("message type", e))?;
        let message = match u8::try_from(tag) {
            Ok(MSG_SYNC) => {
                let sub: u64 = cursor
                    .read_var()
                    .map_err(|e| malformed("sync message type", e))?;
                let payload = cursor
                    .read_buf()
                    .map_err(|e| malformed("sync payload", e))?;
                match sub {
                    0 => ClientMessage::SyncStep1(
                        StateVector::decode_v1(payload)
                            .map_err(|e| malformed("state vector", e))?,
                    ),
                    1 | 2 => {
                        // Never raw `Update::decode_v1` on client bytes: yrs reserves memory
                        // for the client count an update declares before reading any of them.
                        decode_update(payload)?;
                        ClientMessage::Update(payload.to_vec())
                    }
                    other => {
                        return Err(ProtocolError::Malformed(format!(
                            "unknown sync message type {other}"
                        )));
                    }
                }
            }
            Ok(MSG_AWARENESS) => {
                let payload = cursor
                    .read_buf()
                    .map_err(|e| malformed("awareness payload", e))?;
                ClientMessage::Awareness(
                    AwarenessUpdate::decode_v1(payload)
                        .map_err(|e| malformed("awareness update", e))?,
                )
            }
            Ok(MSG_AUTH) => {
                let status: u64 = cursor.read_var().map_err(|e| malformed("auth", e))?;
                if status == 0 {
                    cursor.read_string().map_err(|e| malformed("auth", e))?;
                }
                ClientMessage::Auth
            }
            Ok(MSG_QUERY_AWARENESS) => ClientMessage::QueryAwareness,
            _ => return Err(ProtocolError::UnknownMessageType(tag)),
        };
        messages.push(message);
    }
    Ok(messages)
}

/// Decodes a v1 update from the network with shared-model's guarded decoder: a declared client
/// count larger than the input is refused before yrs reserves memory for it (five bytes
/// declaring 2^28 clients otherwise cost 0.4 s and 0.5 GB here, larger counts gigabytes where
/// the allocator grants them), and panics inside yrs are contained.
fn decode_update(bytes: &[u8]) -> Result<Update, ProtocolError> {
    shared_model::decode_update(bytes).map_err(|e| {
        let reason = match e {
            shared_model::Error::InvalidUpdate(reason) => reason,
            other => other.to_string(),
        };
        ProtocolError::Malformed(format!("update: {reason}"))
    })
}

/// Encodes a permission-denied auth message (type 2, status 0, reason).
pub fn permission_denied(reason: &str) -> Bytes {
    Message::Auth(Some(reason.to_owned())).encode_v1().into()
}

/// Whether an awareness state says `{"user": {"server": true}}`.
fn claims_server(json: &str) -> bool {
    // Cursor moves send awareness all the time: parse only the states that could match.
    json.contains("\"server\"")
        && serde_json::from_str::<serde_json::Value>(json).is_ok_and(|state| {
            state.pointer("/user/server") == Some(&serde_json::Value::Bool(true))
        })
}

/// An awareness message with no client states. Sent to idle connections so that y-websocket
/// clients, which reconnect after 30 s without any message, stay connected; applying it
/// changes nothing.
pub fn keepalive() -> Bytes {
    Bytes::from_static(&[MSG_AWARENESS, 1, 0])
}

fn sync_frame(message: SyncMessage) -> Bytes {
    Message::Sync(message).encode_v1().into()
}

/// A sync update frame carrying a v1 update, as the server broadcasts every change.
pub fn update_frame(update: &[u8]) -> Bytes {
    sync_frame(SyncMessage::Update(update.to_vec()))
}

/// What handling one message asks the IO layer to do.
#[derive(Debug, Default)]
pub struct Effects {
    /// Frames for the connection the message came from.
    pub reply: Vec<Bytes>,
    /// Frames for every connection of the room, the sender included: y-websocket servers echo
    /// updates and awareness to their sender, which is how a client learns its edit landed.
    pub broadcast: Vec<Bytes>,
    /// yrs v1 updates that changed the document. They must be durable before any frame in
    /// `reply` or `broadcast` is sent.
    pub persist: Vec<Vec<u8>>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.reply.is_empty() && self.broadcast.is_empty() && self.persist.is_empty()
    }
}

/// The in-memory state of one document: the yrs document and the awareness states of the
/// clients connected to it.
#[derive(Debug)]
pub struct DocState {
    doc: Doc,
    awareness: AwarenessStates,
}

impl Default for DocState {
    fn default() -> Self {
        Self::new()
    }
}

impl DocState {
    pub fn new() -> Self {
        // GC stays on: the live document does not need the deleted content; named versions
        // are snapshots taken with their own `skip_gc` documents.
        Self {
            doc: Doc::new(),
            awareness: AwarenessStates::default(),
        }
    }

    /// Rebuilds a document from a stored snapshot and the updates after it.
    pub fn load<'a>(
        snapshot: Option<&'a [u8]>,
        tail: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, ProtocolError> {
        let state = Self::new();
        for bytes in snapshot.into_iter().chain(tail) {
            let update = shared_model::decode_update(bytes)
                .map_err(|e| ProtocolError::Malformed(format!("stored update: {e}")))?;
            // One transaction per stored update keeps yrs fast (see TOOLCHAIN.md).
            state
                .doc
                .transact_mut()
                .apply_update(update)
                .map_err(|e| ProtocolError::InvalidUpdate(e.to_string()))?;
        }
        Ok(state)
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// The whole document as one v1 update, pending (not yet integrable) structs included.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// The frames a server sends first on a new connection: its own sync step 1 (so the
    /// client answers with whatever the server lacks) and the current awareness states.
    pub fn welcome(&self) -> Vec<Bytes> {
        let sv = self.doc.transact().state_vector();
        let mut frames = vec![sync_frame(SyncMessage::SyncStep1(sv))];
        if let Some(update) = self.awareness.full_update() {
            frames.push(Message::Awareness(update).encode_v1().into());
        }
        frames
    }

    /// Handles one message of connection `conn`. `write_denied` is `Some(reason)` when the
    /// connection's role may not change this document.
    pub fn handle(
        &mut self,
        conn: ConnId,
        write_denied: Option<&str>,
        message: ClientMessage,
        effects: &mut Effects,
    ) -> Result<(), ProtocolError> {
        match message {
            ClientMessage::SyncStep1(sv) => {
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                effects.reply.push(sync_frame(SyncMessage::SyncStep2(diff)));
            }
            ClientMessage::Update(bytes) => {
                // Already validated by `decode_frame`; decoded again because a decoded `Update`
                // cannot cross to the room task.
                let update = decode_update(&bytes)?;
                if update.is_empty() {
                    // Clients answer our step 1 with an empty step 2 when they have nothing new;
                    // that is not a write attempt, not even for a viewer.
                    return Ok(());
                }
                if let Some(reason) = write_denied {
                    effects.reply.push(permission_denied(reason));
                    return Ok(());
                }
                let mut txn = self.doc.transact_mut();
                txn.apply_update(update)
                    .map_err(|e| ProtocolError::InvalidUpdate(e.to_string()))?;
                // Only what this transaction integrated is persisted and broadcast: a
                // reconnecting client's step 2 often repeats what we already have.
                let changed =
                    txn.before_state() != txn.after_state() || !txn.delete_set().is_empty();
                if changed {
                    let diff = txn.encode_update_v1();
                    effects
                        .broadcast
                        .push(sync_frame(SyncMessage::Update(diff.clone())));
                    effects.persist.push(diff);
                }
            }
            ClientMessage::Awareness(mut update) => {
                if conn < SERVER_PEER_CONN_BASE {
                    // Clients show the server's presence as job progress and leave it out of
                    // the list of people, so only the server may present itself as the server.
                    update
                        .clients
                        .retain(|_, entry| !claims_server(&entry.json));
                }
                if let Some(changed) = self.awareness.apply(conn, update) {
                    effects
                        .broadcast
                        .push(Message::Awareness(changed).encode_v1().into());
                }
            }
            ClientMessage::QueryAwareness => {
                let update = self
                    .awareness
                    .full_update()
                    .unwrap_or_else(|| AwarenessUpdate {
                        clients: Default::default(),
                    });
                effects
                    .reply
                    .push(Message::Awareness(update).encode_v1().into());
            }
            ClientMessage::Auth => {}
        }
        Ok(())
    }

    /// Forgets the awareness states connection `conn` introduced and returns the frame that
    /// tells the remaining clients they are gone.
    pub fn disconnect(&mut self, conn: ConnId) -> Option<Bytes> {
        self.awareness
            .remove_connection(conn)
            .map(|update| Message::Awareness(update).encode_v1().into())
    }

    pub fn awareness(&self) -> &AwarenessStates {
        &self.awareness
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{GetString, Text, WriteTxn};

    fn update_frame(update: Vec<u8>) -> Vec<u8> {
        Message::Sync(SyncMessage::Update(update)).encode_v1()
    }

    fn edit(doc: &Doc, text: &str) -> Vec<u8> {
        let mut txn = doc.transact_mut();
        let root = txn.get_or_insert_text("script");
        let len = root.len(&txn);
        root.insert(&mut txn, len, text);
        txn.encode_update_v1()
    }

    fn apply_all(
        state: &mut DocState,
        conn: ConnId,
        denied: Option<&str>,
        frame: &[u8],
    ) -> Effects {
        let mut effects = Effects::default();
        for m in decode_frame(frame).expect("frame decodes") {
            state
                .handle(conn, denied, m, &mut effects)
                .expect("message applies");
        }
        effects
    }

    fn script(doc: &Doc) -> String {
        let txn = doc.transact();
        txn.get_text("script")
            .map(|t| t.get_string(&txn))
            .unwrap_or_default()
    }

    #[test]
    fn writer_update_is_persisted_and_broadcast() {
        let client = Doc::new();
        let mut state = DocState::new();
        let effects = apply_all(&mut state, 1, None, &update_frame(edit(&client, "hello")));
        assert_eq!(effects.persist.len(), 1);
        assert_eq!(effects.broadcast.len(), 1);
        assert!(effects.reply.is_empty());
        assert_eq!(script(state.doc()), "hello");

        // The persisted diff alone rebuilds the document.
        let reloaded =
            DocState::load(None, effects.persist.iter().map(Vec::as_slice)).expect("reload");
        assert_eq!(script(reloaded.doc()), "hello");
    }

    #[test]
    fn duplicate_update_is_not_persisted_twice() {
        let client = Doc::new();
        let update = edit(&client, "once");
        let mut state = DocState::new();
        assert_eq!(
            apply_all(&mut state, 1, None, &update_frame(update.clone()))
                .persist
                .len(),
            1
        );
        assert!(apply_all(&mut state, 2, None, &update_frame(update)).is_empty());
    }

    #[test]
    fn viewer_update_is_refused_with_permission_denied() {
        let client = Doc::new();
        let mut state = DocState::new();
        let effects = apply_all(
            &mut state,
            1,
            Some("viewers cannot edit"),
            &update_frame(edit(&client, "nope")),
        );
        assert!(effects.persist.is_empty() && effects.broadcast.is_empty());
        assert_eq!(
            effects.reply,
            vec![permission_denied("viewers cannot edit")]
        );
        assert_eq!(effects.reply[0][0], MSG_AUTH);
        assert_eq!(script(state.doc()), "");
    }

    #[test]
    fn step1_is_answered_with_the_missing_diff() {
        let mut state = DocState::new();
        apply_all(&mut state, 1, None, &update_frame(edit(&Doc::new(), "abc")));
        let frame = Message::Sync(SyncMessage::SyncStep1(StateVector::default())).encode_v1();
        let effects = apply_all(&mut state, 2, Some("read only"), &frame);
        let [reply] = effects.reply.as_slice() else {
            panic!("expected one reply, got {:?}", effects.reply)
        };
        let Ok(Message::Sync(SyncMessage::SyncStep2(diff))) = Message::decode_v1(reply) else {
            panic!("expected step 2")
        };
        let fresh = DocState::load(Some(&diff), []).expect("diff applies");
        assert_eq!(script(fresh.doc()), "abc");
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let cases: &[(&[u8], u16)] = &[
            (&[], 1002),
            (&[0x80], 1002),                            // truncated varint
            (&[0, 2, 10, 1, 2], 1002),                  // update shorter than its length prefix
            (&[0, 7, 0], 1002),                         // unknown sync message type
            (&[9, 1, 2, 3], 1003),                      // unknown message type
            (&[0xff, 0xff, 0x03], 1003),                // unknown, multi-byte message type
            (&[1, 5, 1, 0xff, 0xff, 0xff, 0xff], 1002), // garbage awareness
            // Updates declaring 2^28 and 2^32 - 1 clients, as sync step 2 and as update:
            // refused before yrs reserves memory for them.
            (&[0, 1, 5, 0x80, 0x80, 0x80, 0x80, 0x01], 1002),
            (&[0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f], 1002),
            (&[0, 2, 5, 0xff, 0xff, 0xff, 0xff, 0x0f], 1002),
        ];
        for (frame, code) in cases {
            let err = decode_frame(frame).expect_err("frame must be rejected");
            assert_eq!(err.close_code(), *code, "{frame:?}: {err}");
        }
        // Random bytes never panic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..2000 {
            let frame: Vec<u8> = (0..len % 64)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = decode_frame(&frame);
        }
    }

    #[test]
    fn awareness_of_a_closed_connection_is_removed() {
        let mut state = DocState::new();
        let mut update = AwarenessUpdate {
            clients: Default::default(),
        };
        update.clients.insert(
            yrs::ClientID::new(42),
            yrs::sync::awareness::AwarenessUpdateEntry {
                clock: 1,
                json: r#"{"user":"ann"}"#.into(),
            },
        );
        let frame = Message::Awareness(update).encode_v1();
        let effects = apply_all(&mut state, 7, None, &frame);
        assert_eq!(effects.broadcast.len(), 1);
        assert_eq!(state.welcome().len(), 2, "step1 + awareness");

        let removal = state.disconnect(7).expect("removal is broadcast");
        let Ok(Message::Awareness(removal)) = Message::decode_v1(&removal) else {
            panic!("expected awareness")
        };
        let entry = &removal.clients[&yrs::ClientID::new(42)];
        assert_eq!((entry.clock, &*entry.json), (2, "null"));
        assert_eq!(state.welcome().len(), 1, "no awareness left");
        assert!(state.disconnect(7).is_none());
    }

    #[test]
    fn only_the_server_peer_may_present_itself_as_the_server() {
        let frame = |client: u64, json: &str| {
            let mut update = AwarenessUpdate {
                clients: Default::default(),
            };
            update.clients.insert(
                yrs::ClientID::new(client),
                yrs::sync::awareness::AwarenessUpdateEntry {
                    clock: 1,
                    json: json.into(),
                },
            );
            Message::Awareness(update).encode_v1()
        };
        let server_state = r#"{"user":{"name":"Shotweave","server":true},"jobs":{"queued":3}}"#;
        let mut state = DocState::new();

        // A WebSocket client claiming to be the server is not relayed nor kept; its ordinary
        // presence (naming a "server" elsewhere) still is.
        let effects = apply_all(&mut state, 7, None, &frame(42, server_state));
        assert!(effects.broadcast.is_empty());
        assert_eq!(state.welcome().len(), 1, "no awareness kept");
        let effects = apply_all(
            &mut state,
            7,
            None,
            &frame(43, r#"{"user":{"name":"server room","server":false}}"#),
        );
        assert_eq!(effects.broadcast.len(), 1);

        // The server's own peer is.
        let effects = apply_all(
            &mut state,
            SERVER_PEER_CONN_BASE,
            None,
            &frame(44, server_state),
        );
        assert_eq!(effects.broadcast.len(), 1);
        assert_eq!(state.welcome().len(), 2, "step1 + awareness");
    }
}
