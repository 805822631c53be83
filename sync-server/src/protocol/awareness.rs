//! Server-side awareness bookkeeping.
//!
//! yrs's `Awareness` wraps a `Doc` and observer callbacks that are not `Send` without yrs's
//! `sync` feature; the server needs less: the latest state per client id, which connection
//! introduced it (so its states can be removed when it closes), and the merge rule of
//! y-protocols (a higher clock wins; a `null` state with the same clock removes).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use yrs::ClientID;
use yrs::sync::AwarenessUpdate;
use yrs::sync::awareness::AwarenessUpdateEntry;

use super::ConnId;

const NULL: &str = "null";

#[derive(Debug, Clone)]
struct State {
    clock: u32,
    /// `None` once the client went away; the clock is kept so that stale updates for the
    /// same client cannot bring it back.
    json: Option<Arc<str>>,
}

/// Awareness states of one room.
#[derive(Debug, Default)]
pub struct AwarenessStates {
    states: HashMap<ClientID, State>,
    /// Client ids whose live state arrived through each connection.
    owners: HashMap<ConnId, HashSet<ClientID>>,
}

impl AwarenessStates {
    /// Applies an update received from `conn` and returns the entries that changed, ready to
    /// be broadcast, or `None` when nothing did.
    pub fn apply(&mut self, conn: ConnId, update: AwarenessUpdate) -> Option<AwarenessUpdate> {
        let mut changed = HashMap::new();
        for (client, entry) in update.clients {
            let is_null = &*entry.json == NULL;
            let accept = match self.states.get(&client) {
                None => !is_null,
                Some(cur) => {
                    cur.clock < entry.clock
                        || (cur.clock == entry.clock && is_null && cur.json.is_some())
                }
            };
            if !accept {
                continue;
            }
            let owned = self.owners.entry(conn).or_default();
            if is_null {
                owned.remove(&client);
            } else {
                owned.insert(client);
            }
            self.states.insert(
                client,
                State {
                    clock: entry.clock,
                    json: (!is_null).then(|| entry.json.clone()),
                },
            );
            changed.insert(client, entry);
        }
        (!changed.is_empty()).then_some(AwarenessUpdate { clients: changed })
    }

    /// Marks every live state that `conn` introduced as removed; returns the removal entries.
    pub fn remove_connection(&mut self, conn: ConnId) -> Option<AwarenessUpdate> {
        let owned = self.owners.remove(&conn)?;
        let mut removed = HashMap::new();
        for client in owned {
            if let Some(state) = self.states.get_mut(&client)
                && state.json.is_some()
            {
                state.clock += 1;
                state.json = None;
                removed.insert(
                    client,
                    AwarenessUpdateEntry {
                        clock: state.clock,
                        json: NULL.into(),
                    },
                );
            }
        }
        (!removed.is_empty()).then_some(AwarenessUpdate { clients: removed })
    }

    /// Every live state, or `None` when there is none.
    pub fn full_update(&self) -> Option<AwarenessUpdate> {
        let clients: HashMap<_, _> = self
            .states
            .iter()
            .filter_map(|(client, state)| {
                let json = state.json.clone()?;
                Some((
                    *client,
                    AwarenessUpdateEntry {
                        clock: state.clock,
                        json,
                    },
                ))
            })
            .collect();
        (!clients.is_empty()).then_some(AwarenessUpdate { clients })
    }

    /// Number of clients with a live state.
    pub fn live_clients(&self) -> usize {
        self.states.values().filter(|s| s.json.is_some()).count()
    }
}
