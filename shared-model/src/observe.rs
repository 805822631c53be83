//! One change notification per transaction, naming what changed, for the UI to re-render only
//! the affected parts.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use yrs::types::{Delta, Event, PathSegment};
use yrs::{Any, DeepObservable, Observable, Out, TransactionMut};

use crate::Project;
use crate::ids::{AssetId, CharacterId, JobId, SceneId, ShotId};

/// What one transaction (local or remote) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub meta: bool,
    pub script: bool,
    pub scenes: BTreeSet<SceneId>,
    pub shots: BTreeSet<ShotId>,
    pub characters: BTreeSet<CharacterId>,
    pub assets: BTreeSet<AssetId>,
    pub jobs: BTreeSet<JobId>,
}

/// One step of a script change, in UTF-16 code units, applied left to right: keep `Retain`
/// units, insert the text, or remove `Delete` units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptDelta {
    Retain(u32),
    Insert(String),
    Delete(u32),
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// The ids an event on a root map touched: keys changed on the root itself, or the first path
/// segment for changes inside a nested map.
fn touched_ids(txn: &TransactionMut, event: &Event) -> Vec<String> {
    match event.path().front() {
        Some(PathSegment::Key(key)) => vec![key.to_string()],
        Some(PathSegment::Index(_)) => Vec::new(),
        None => match event {
            Event::Map(e) => e.keys(txn).keys().map(|k| k.to_string()).collect(),
            _ => Vec::new(),
        },
    }
}

impl Project {
    /// Calls `f` once after every transaction that changed the project, local or remote. The
    /// observer stays registered under `key` until [`Project::unobserve`].
    pub fn observe<F>(&self, key: &str, f: F)
    where
        F: Fn(&Changes) + Send + Sync + 'static,
    {
        // Collects what the per-root observers saw during one transaction; drained when the
        // transaction ends.
        let pending = Arc::new(Mutex::new(Changes::default()));

        macro_rules! collect_ids {
            ($root:expr, $field:ident) => {{
                let pending = pending.clone();
                $root.observe_deep(key, move |txn, events| {
                    let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                    for event in events.iter() {
                        p.$field
                            .extend(touched_ids(txn, event).into_iter().map(Into::into));
                    }
                });
            }};
        }
        collect_ids!(self.scenes, scenes);
        collect_ids!(self.shots, shots);
        collect_ids!(self.characters, characters);
        collect_ids!(self.assets, assets);
        collect_ids!(self.jobs, jobs);
        {
            let pending = pending.clone();
            self.meta.observe_deep(key, move |_, _| {
                pending.lock().unwrap_or_else(|e| e.into_inner()).meta = true;
            });
        }
        {
            let pending = pending.clone();
            self.script.observe(key, move |_, _| {
                pending.lock().unwrap_or_else(|e| e.into_inner()).script = true;
            });
        }
        let result = self.doc.observe_after_transaction(key, move |_| {
            let changes = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
            if !changes.is_empty() {
                f(&changes);
            }
        });
        // Registering fails only while another transaction is open on this thread, which the
        // API never leaves open between calls.
        debug_assert!(result.is_ok(), "observe called inside a transaction");
    }

    /// Calls `f` after every transaction that changed the script, local or remote, with the
    /// change as a delta in UTF-16 code units. An editor applies it to what it shows instead of
    /// re-reading (and re-diffing) the whole text on every keystroke. The observer stays
    /// registered under `key` until [`Project::unobserve_script`].
    pub fn observe_script<F>(&self, key: &str, f: F)
    where
        F: Fn(&[ScriptDelta]) + Send + Sync + 'static,
    {
        self.script.observe(key, move |txn, event| {
            let delta: Vec<ScriptDelta> = event
                .delta(txn)
                .iter()
                .map(|d| match d {
                    Delta::Retain(n, _) => ScriptDelta::Retain(*n),
                    Delta::Deleted(n) => ScriptDelta::Delete(*n),
                    Delta::Inserted(Out::Any(Any::String(s)), _) => {
                        ScriptDelta::Insert(s.to_string())
                    }
                    // The script holds plain text only; an embed written by a foreign peer has
                    // no text to show and still occupies one position.
                    Delta::Inserted(_, _) => ScriptDelta::Insert("\u{fffc}".into()),
                })
                .collect();
            f(&delta);
        });
    }

    pub fn unobserve_script(&self, key: &str) {
        self.script.unobserve(key);
    }

    pub fn unobserve(&self, key: &str) {
        self.scenes.unobserve_deep(key);
        self.shots.unobserve_deep(key);
        self.characters.unobserve_deep(key);
        self.assets.unobserve_deep(key);
        self.jobs.unobserve_deep(key);
        self.meta.unobserve_deep(key);
        self.script.unobserve(key);
        let _ = self.doc.unobserve_after_transaction(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewScene, NewShot, ProjectOptions, ShotPatch};

    #[test]
    fn one_notification_per_transaction_naming_the_shot() {
        let a = Project::empty(ProjectOptions::default());
        let scene = a.add_scene(&NewScene::default());
        let shot = a.add_shot(&scene, &NewShot::default()).unwrap();

        let b = Project::empty(ProjectOptions::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        b.observe("ui", move |c| sink.lock().unwrap().push(c.clone()));
        b.apply_update(&a.encode_state()).unwrap();
        let sv = b.state_vector();
        a.update_shot(
            &shot,
            &ShotPatch {
                description: Some("rain".into()),
                ..Default::default()
            },
        )
        .unwrap();
        b.apply_update(&a.encode_diff(&sv).unwrap()).unwrap();
        b.script_insert(0, "x");
        b.unobserve("ui");
        b.script_insert(0, "y");

        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[0].scenes.contains(&scene) && seen[0].shots.contains(&shot));
        assert_eq!(seen[1].shots.iter().collect::<Vec<_>>(), vec![&shot]);
        assert!(seen[1].scenes.is_empty() && !seen[1].script);
        assert!(seen[2].script);
    }

    #[test]
    fn script_deltas_are_in_utf16_units_for_local_and_remote_edits() {
        let a = Project::empty(ProjectOptions::default());
        a.script_insert(0, "刘备🎬\nabc");
        let b = Project::empty(ProjectOptions::default());
        b.apply_update(&a.encode_state()).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        b.observe_script("editor", move |d| sink.lock().unwrap().push(d.to_vec()));

        let sv = b.state_vector();
        // "刘备🎬\n" is 5 UTF-16 units (the emoji is a surrogate pair).
        a.script_delete(5, 1);
        a.script_insert(5, "XY");
        b.apply_update(&a.encode_diff(&sv).unwrap()).unwrap();
        b.script_insert(0, "Z");
        b.unobserve_script("editor");
        b.script_insert(0, "ignored");

        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            vec![
                vec![
                    ScriptDelta::Retain(5),
                    ScriptDelta::Delete(1),
                    ScriptDelta::Insert("XY".into()),
                ],
                vec![ScriptDelta::Insert("Z".into())],
            ]
        );
    }
}
