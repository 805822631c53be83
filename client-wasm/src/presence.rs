//! Presence over the awareness protocol: who is here, what they look at, where their cursor is.
//!
//! Follows y-protocols' awareness rules so that Yjs clients in the same room agree with us: each
//! client owns one JSON state with a clock; a higher clock wins; a `null` state means the client
//! left; a state not renewed for 30 s is dropped. Presence never enters the document.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared_model::ScriptAnchor;
use shared_model::yrs::ClientID;
use shared_model::yrs::sync::awareness::AwarenessUpdateEntry;
use shared_model::yrs::sync::{AwarenessUpdate, Message};
use shared_model::yrs::updates::encoder::Encode;

/// How long a peer's state lives without renewal (y-protocols' `outdatedTimeout`).
pub const PEER_TIMEOUT_MS: f64 = 30_000.0;
/// How often the local state is renewed, well inside [`PEER_TIMEOUT_MS`].
pub const RENEW_INTERVAL_MS: f64 = 15_000.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(default)]
    pub name: String,
    /// `#rrggbb`.
    #[serde(default)]
    pub color: String,
    /// Set by the sync server's own document peer (the job runner), which is not a person.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub server: bool,
}

/// The server peer's job state (running jobs by id, queued ones as a count), in the shape
/// the server writes it.
pub use api_types::{LiveJob, ServerJobs};

/// One participant's awareness state. Every field is optional on the wire, so states written by
/// other Yjs applications still parse (they show up as unnamed guests).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PresenceState {
    #[serde(default)]
    pub user: User,
    /// Which screen: `script`, `board`, `characters` or `assets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// The shot id they have selected on the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot: Option<String>,
    /// Their selection in the script, anchored so that it follows concurrent edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<ScriptAnchor>,
    /// Only in the server peer's state: generation work under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<ServerJobs>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    pub client_id: u64,
    pub state: PresenceState,
    clock: u32,
    last_seen_ms: f64,
}

impl Peer {
    /// The sync server's document peer rather than a person.
    pub fn is_server(&self) -> bool {
        self.state.user.server
    }
}

/// What applying an awareness update did.
#[derive(Debug, Default)]
pub struct Applied {
    pub changed: bool,
    /// Someone announced that we left (we were offline too long): our state, re-sent with a
    /// higher clock so that the others see us again.
    pub reannounce: Option<Vec<u8>>,
}

#[derive(Debug)]
pub struct Presence {
    client_id: u64,
    clock: u32,
    local: Option<PresenceState>,
    peers: BTreeMap<u64, Peer>,
}

impl Presence {
    /// `client_id` is the document's client id, as y-protocols expects.
    pub fn new(client_id: u64) -> Self {
        Presence {
            client_id,
            clock: 0,
            local: None,
            peers: BTreeMap::new(),
        }
    }

    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    pub fn local(&self) -> Option<&PresenceState> {
        self.local.as_ref()
    }

    /// Replaces the local state and returns the frame announcing it (`None` announces leaving).
    pub fn set_local(&mut self, state: Option<PresenceState>) -> Vec<u8> {
        self.clock += 1;
        self.local = state;
        self.frame_for_local()
    }

    /// The local state as a frame, without changing it (for a new connection).
    pub fn local_frame(&self) -> Option<Vec<u8>> {
        self.local.as_ref().map(|_| self.frame_for_local())
    }

    /// Re-announces the local state with a higher clock so that peers do not time it out.
    pub fn renew(&mut self) -> Option<Vec<u8>> {
        self.local.as_ref()?;
        self.clock += 1;
        Some(self.frame_for_local())
    }

    fn frame_for_local(&self) -> Vec<u8> {
        let json = match &self.local {
            Some(state) => serde_json::to_string(state).unwrap_or_else(|_| "null".into()),
            None => "null".into(),
        };
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            ClientID::new(self.client_id),
            AwarenessUpdateEntry {
                clock: self.clock,
                json: Arc::from(json),
            },
        );
        Message::Awareness(AwarenessUpdate { clients }).encode_v1()
    }

    pub fn apply(&mut self, update: AwarenessUpdate, now_ms: f64) -> Applied {
        let mut applied = Applied::default();
        for (client, entry) in update.clients {
            let client = client.get();
            let gone = entry.json.as_ref() == "null";
            if client == self.client_id {
                if gone && self.local.is_some() {
                    self.clock = self.clock.max(entry.clock) + 1;
                    applied.reannounce = Some(self.frame_for_local());
                }
                continue;
            }
            let current = self.peers.get(&client).map(|p| p.clock);
            // A higher clock wins; an equal clock may still say "gone" (the server does this
            // for a connection that dropped).
            let newer = match current {
                None => true,
                Some(clock) => entry.clock > clock || (entry.clock == clock && gone),
            };
            if !newer {
                continue;
            }
            if gone {
                applied.changed |= self.peers.remove(&client).is_some();
                continue;
            }
            let state: PresenceState = serde_json::from_str(&entry.json).unwrap_or_default();
            let peer = Peer {
                client_id: client,
                state,
                clock: entry.clock,
                last_seen_ms: now_ms,
            };
            let same = self.peers.get(&client).map(|p| &p.state) == Some(&peer.state);
            self.peers.insert(client, peer);
            applied.changed |= !same;
        }
        applied
    }

    /// Drops peers not heard from for [`PEER_TIMEOUT_MS`]. Returns whether any went.
    ///
    /// The server's own peer is exempt: it announces only when its jobs change (a job may sit
    /// at one progress value for minutes), the room removes its state when it leaves, and a
    /// lost connection clears every peer anyway.
    pub fn expire(&mut self, now_ms: f64) -> bool {
        let before = self.peers.len();
        self.peers
            .retain(|_, p| p.is_server() || now_ms - p.last_seen_ms < PEER_TIMEOUT_MS);
        self.peers.len() != before
    }

    /// The generation work the server peers announce, merged (one peer per server process).
    pub fn server_jobs(&self) -> ServerJobs {
        let mut all = ServerJobs::default();
        for jobs in self.peers().filter_map(|p| p.state.jobs.as_ref()) {
            all.running
                .extend(jobs.running.iter().map(|(k, v)| (k.clone(), v.clone())));
            all.queued += jobs.queued;
        }
        all
    }

    /// Forgets every peer. Returns whether there were any.
    pub fn clear_peers(&mut self) -> bool {
        let had = !self.peers.is_empty();
        self.peers.clear();
        had
    }

    /// Everyone else, in client id order.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_model::yrs::updates::decoder::Decode;

    fn update(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
        let mut clients = std::collections::HashMap::new();
        clients.insert(
            ClientID::new(client),
            AwarenessUpdateEntry {
                clock,
                json: json.into(),
            },
        );
        AwarenessUpdate { clients }
    }

    #[test]
    fn newer_clocks_win_null_removes_and_silence_expires() {
        let mut p = Presence::new(1);
        assert!(
            p.apply(
                update(2, 3, r#"{"user":{"name":"Bo"},"view":"script"}"#),
                0.0
            )
            .changed
        );
        assert!(
            !p.apply(update(2, 2, r#"{"user":{"name":"old"}}"#), 0.0)
                .changed
        );
        assert_eq!(p.peers().next().unwrap().state.user.name, "Bo");
        assert!(p.apply(update(2, 3, "null"), 0.0).changed);
        assert_eq!(p.peers().count(), 0);

        // Foreign Yjs states parse as unnamed guests rather than being dropped.
        p.apply(
            update(3, 1, r#"{"name":"x","cursor":null,"extra":[1]}"#),
            1000.0,
        );
        assert_eq!(p.peers().count(), 1);
        assert!(!p.expire(1000.0 + PEER_TIMEOUT_MS - 1.0));
        assert!(p.expire(1000.0 + PEER_TIMEOUT_MS));
    }

    #[test]
    fn cursors_cross_to_another_replica_and_follow_its_edits() {
        use shared_model::{Project, ProjectOptions};
        let a = Project::empty(ProjectOptions::default());
        a.script_insert(0, "hello world\nsecond");
        let b = Project::empty(ProjectOptions::default());
        b.apply_update(&a.encode_state()).unwrap();
        let len = a.script_len();
        for range in [len..len, 0..0, 6..11] {
            let mut p = Presence::new(1);
            let frame = p.set_local(Some(PresenceState {
                cursor: Some(a.script_anchor(range.clone()).unwrap()),
                ..Default::default()
            }));
            let Message::Awareness(sent) = Message::decode_v1(&frame).unwrap() else {
                panic!("not an awareness message");
            };
            let mut other = Presence::new(2);
            other.apply(sent, 0.0);
            let anchor = other.peers().next().unwrap().state.cursor.clone().unwrap();
            assert_eq!(b.resolve_anchor(&anchor), Some(range.clone()), "{range:?}");
        }
    }

    #[test]
    fn local_state_round_trips_and_is_reannounced_when_declared_gone() {
        let mut p = Presence::new(9);
        let frame = p.set_local(Some(PresenceState {
            user: User {
                name: "刘备".into(),
                color: "#e6194b".into(),
                server: false,
            },
            view: Some("board".into()),
            shot: Some("abc".into()),
            cursor: None,
            jobs: None,
        }));
        let Message::Awareness(sent) = Message::decode_v1(&frame).unwrap() else {
            panic!("not an awareness message");
        };
        let mut other = Presence::new(5);
        other.apply(sent, 0.0);
        assert_eq!(other.peers().next().unwrap().state.user.name, "刘备");

        let applied = p.apply(update(9, 4, "null"), 0.0);
        let Message::Awareness(again) = Message::decode_v1(&applied.reannounce.unwrap()).unwrap()
        else {
            panic!("not an awareness message");
        };
        assert!(again.clients[&ClientID::new(9)].clock > 4);
    }

    #[test]
    fn the_server_peer_is_recognised_with_its_jobs_and_never_expires() {
        let mut p = Presence::new(1);
        let server = r#"{"user":{"name":"Shotweave","server":true},"jobs":{"running":{"j1":{"shot_id":"s1","kind":"frame","provider":"offline","status":"running","progress":0.5}},"queued":3}}"#;
        p.apply(update(7, 1, server), 0.0);
        p.apply(update(8, 1, r#"{"user":{"name":"Bo"}}"#), 0.0);
        let jobs = p.server_jobs();
        assert_eq!(jobs.queued, 3);
        assert_eq!(
            jobs.running["j1"].shot_id.as_ref().map(|s| s.as_str()),
            Some("s1")
        );
        assert_eq!(jobs.running["j1"].kind, api_types::JobKind::Frame);
        assert_eq!(jobs.running["j1"].progress, Some(0.5));
        let servers: Vec<u64> = p
            .peers()
            .filter(|x| x.is_server())
            .map(|x| x.client_id)
            .collect();
        assert_eq!(servers, vec![7]);
        assert!(p.expire(PEER_TIMEOUT_MS + 1.0));
        assert_eq!(p.peers().map(|x| x.client_id).collect::<Vec<_>>(), vec![7]);

        // People's states never carry the flag or jobs on the wire.
        let mut me = Presence::new(2);
        let frame = me.set_local(Some(PresenceState::default()));
        let Message::Awareness(sent) = Message::decode_v1(&frame).unwrap() else {
            panic!("not an awareness message");
        };
        let json = &sent.clients[&ClientID::new(2)].json;
        assert!(!json.contains("server") && !json.contains("jobs"), "{json}");
    }
}
