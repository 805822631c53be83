//! One change notification per transaction, naming what changed, for the UI to re-render only
//! the affected parts.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use yrs::types::{Delta, Event, PathSegment};
use yrs::{Any, DeepObservable, MapRef, Observable, Out, TransactionMut};

use crate::ids::{AssetId, CharacterId, JobId, SceneId, ShotId};
use crate::{Project, ProseField, schema};

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

/// One step of a change to the script or a prose field, in UTF-16 code units, applied left to
/// right: keep `Retain` units, insert the text, or remove `Delete` units.
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

fn text_deltas(delta: &[Delta]) -> Vec<ScriptDelta> {
    delta
        .iter()
        .map(|d| match d {
            Delta::Retain(n, _) => ScriptDelta::Retain(*n),
            Delta::Deleted(n) => ScriptDelta::Delete(*n),
            Delta::Inserted(Out::Any(Any::String(s)), _) => ScriptDelta::Insert(s.to_string()),
            // The texts hold plain text only; an embed written by a foreign peer has no text to
            // show and still occupies one position.
            Delta::Inserted(_, _) => ScriptDelta::Insert("\u{fffc}".into()),
        })
        .collect()
}

/// Deep observers are keyed per root: the prose observer gets a key of its own so that it and
/// [`Project::observe`]'s observer of the same name do not replace each other.
fn prose_key(key: &str) -> String {
    format!("{key}\u{0}prose")
}

/// The prose field at `root`/`id`/`key`, if that key is one.
fn prose_field(root: &str, id: &str, key: &str) -> Option<ProseField> {
    match (root, key) {
        (schema::SCENES, schema::scene::TITLE) => Some(ProseField::SceneTitle(SceneId::from(id))),
        (schema::SHOTS, schema::shot::DESCRIPTION) => {
            Some(ProseField::ShotDescription(ShotId::from(id)))
        }
        (schema::SHOTS, schema::shot::DIALOGUE) => Some(ProseField::ShotDialogue(ShotId::from(id))),
        (schema::CHARACTERS, schema::character::DESCRIPTION) => {
            Some(ProseField::CharacterDescription(CharacterId::from(id)))
        }
        _ => None,
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
            f(&text_deltas(event.delta(txn)));
        });
    }

    /// Calls `f` after every transaction that edited a prose field's text in place, local or
    /// remote, with the field and the change as a delta in UTF-16 code units, so that an editor
    /// showing the field can apply it where the caret is. A field replaced whole (a new entity,
    /// the server's conversion, a foreign peer's plain string) is reported by
    /// [`Project::observe`] only: re-read it then. Registered under `key` (independently of
    /// [`Project::observe`]'s observers of the same key) until [`Project::unobserve_prose`].
    pub fn observe_prose<F>(&self, key: &str, f: F)
    where
        F: Fn(&ProseField, &[ScriptDelta]) + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        for (root, name) in self.prose_observed_roots() {
            let f = f.clone();
            root.observe_deep(prose_key(key), move |txn, events| {
                for event in events.iter() {
                    let Event::Text(text) = event else { continue };
                    let path = event.path();
                    let (Some(PathSegment::Key(id)), Some(PathSegment::Key(field)), 2) =
                        (path.front(), path.get(1), path.len())
                    else {
                        continue;
                    };
                    if let Some(field) = prose_field(name, id, field) {
                        f(&field, &text_deltas(text.delta(txn)));
                    }
                }
            });
        }
    }

    pub fn unobserve_prose(&self, key: &str) {
        for (root, _) in self.prose_observed_roots() {
            root.unobserve_deep(prose_key(key));
        }
    }

    fn prose_observed_roots(&self) -> [(&MapRef, &'static str); 3] {
        [
            (&self.scenes, schema::SCENES),
            (&self.shots, schema::SHOTS),
            (&self.characters, schema::CHARACTERS),
        ]
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
    fn prose_edits_in_place_report_the_field_and_its_delta() {
        let a = Project::create(&crate::MetaPatch::default(), ProjectOptions::default());
        let scene = a.add_scene(&NewScene {
            title: "Deck".into(),
            ..Default::default()
        });
        let shot = a
            .add_shot(
                &scene,
                &NewShot {
                    description: "刘备🎬 rain".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let b = Project::empty(ProjectOptions::default());
        b.apply_update(&a.encode_state()).unwrap();
        let deltas = Arc::new(Mutex::new(Vec::new()));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let (d, c) = (deltas.clone(), changes.clone());
        // The same key for both observers: neither may replace the other.
        b.observe_prose("ui", move |field, delta| {
            d.lock().unwrap().push((field.clone(), delta.to_vec()))
        });
        b.observe("ui", move |ch| c.lock().unwrap().push(ch.clone()));

        // "刘备🎬" is 4 UTF-16 units; the whole-value write becomes one small splice. (One
        // update each: the order of events of different roots within one transaction is not
        // defined.)
        for edit in [
            Box::new(|| a.set_shot_description(&shot, "刘备🎬 heavy rain")) as Box<dyn Fn() -> _>,
            Box::new(|| a.set_scene_title(&scene, "Deck at night")),
        ] {
            let sv = b.state_vector();
            edit().unwrap();
            b.apply_update(&a.encode_diff(&sv).unwrap()).unwrap();
        }
        b.prose_delete(&ProseField::ShotDescription(shot.clone()), 0, 2)
            .unwrap();
        b.unobserve_prose("ui");
        b.prose_insert(&ProseField::ShotDescription(shot.clone()), 0, "x")
            .unwrap();

        let deltas = deltas.lock().unwrap();
        assert_eq!(
            *deltas,
            vec![
                (
                    ProseField::ShotDescription(shot.clone()),
                    vec![ScriptDelta::Retain(5), ScriptDelta::Insert("heavy ".into())]
                ),
                (
                    ProseField::SceneTitle(scene.clone()),
                    vec![
                        ScriptDelta::Retain(4),
                        ScriptDelta::Insert(" at night".into())
                    ]
                ),
                (
                    ProseField::ShotDescription(shot.clone()),
                    vec![ScriptDelta::Delete(2)]
                ),
            ]
        );
        let changes = changes.lock().unwrap();
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(changes[0].shots.contains(&shot) && changes[0].scenes.is_empty());
        assert!(changes[1].scenes.contains(&scene) && changes[1].shots.is_empty());
        assert!(changes[3].shots.contains(&shot));
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
