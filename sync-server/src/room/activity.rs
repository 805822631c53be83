//! Who changed what in a project document: the room's side of activity with attribution.
//!
//! A deep observer on the room's document (`Project::observe`, one [`Changes`] per
//! transaction) collects what each applied update touched; right after the room applied a
//! connection's messages it hands what was collected to [`Tracker::attribute`] with that
//! connection's author, which folds it into the author's pending [`ActivityBatch`]. The room
//! flushes the batches to the store every [`FLUSH_EVERY`] and when it unloads: one small
//! transaction every few seconds instead of a write per edit, so the sync path (thousands of
//! updates a second) only pays for the observer and a few set inserts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::Author;
use shared_model::{Changes, Project};
use yrs::Doc;

use crate::store::ActivityBatch;

/// How often a room writes its pending activity.
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// A person's edits separated by less than this belong to one activity group.
pub const GROUP_GAP_MS: i64 = 10 * 60 * 1000;
/// The name the server's own writes (generation jobs, restores) are attributed to.
pub const SERVER_NAME: &str = "Shotweave";

/// The author of the server's own writes.
pub fn server_author() -> Author {
    Author {
        id: None,
        name: SERVER_NAME.to_owned(),
    }
}

const OBSERVER_KEY: &str = "sync-server-activity";

/// What the observer saw since the last [`Tracker::attribute`].
#[derive(Debug, Default)]
struct Seen {
    changes: Changes,
    script_edits: u32,
}

impl Seen {
    fn add(&mut self, c: &Changes) {
        self.changes.shots.extend(c.shots.iter().cloned());
        self.changes.scenes.extend(c.scenes.iter().cloned());
        self.changes.characters.extend(c.characters.iter().cloned());
        if c.script {
            self.script_edits += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.changes.shots.is_empty()
            && self.changes.scenes.is_empty()
            && self.changes.characters.is_empty()
            && self.script_edits == 0
    }
}

/// The activity of one loaded project document, not yet stored.
pub(super) struct Tracker {
    project: Project,
    seen: Arc<Mutex<Seen>>,
    /// Pending batches by person key.
    pending: HashMap<String, ActivityBatch>,
}

fn lock(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    // The observer only inserts into sets: a poisoned value is still consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Tracker {
    /// Starts observing `doc`, the room's project document (after it was loaded and upgraded,
    /// so neither counts as anyone's edit).
    pub(super) fn attach(doc: &Doc) -> Self {
        let project = Project::from_doc(doc.clone());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = seen.clone();
        project.observe(OBSERVER_KEY, move |changes| lock(&sink).add(changes));
        Self {
            project,
            seen,
            pending: HashMap::new(),
        }
    }

    /// Credits what the document's transactions since the last call changed to `author`.
    pub(super) fn attribute(&mut self, author: &Author, now_ms: i64) {
        let seen = {
            let mut seen = lock(&self.seen);
            if seen.is_empty() {
                return;
            }
            std::mem::take(&mut *seen)
        };
        let key = match &author.id {
            Some(id) => format!("p:{id}"),
            None => format!("n:{}", author.name),
        };
        let batch = self
            .pending
            .entry(key)
            .or_insert_with(|| ActivityBatch::new(author.clone(), now_ms));
        batch.to_ms = batch.to_ms.max(now_ms);
        // The name may have changed since the batch began; the latest one is shown.
        batch.author.name.clone_from(&author.name);
        for shot in seen.changes.shots {
            // A shot's scene is looked up once per batch, while the shot still exists.
            if batch.shots.insert(shot.clone(), now_ms).is_none()
                && let Some(scene) = self.project.shot(&shot).and_then(|s| s.scene_id)
            {
                batch.scenes.insert(scene);
            }
        }
        batch.scenes.extend(seen.changes.scenes);
        batch.characters.extend(seen.changes.characters);
        batch.script_edits += seen.script_edits;
    }

    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The pending batches, oldest first, leaving none.
    pub(super) fn take(&mut self) -> Vec<ActivityBatch> {
        let mut batches: Vec<ActivityBatch> = self.pending.drain().map(|(_, b)| b).collect();
        batches.sort_by_key(|b| b.from_ms);
        batches
    }

    /// Puts back batches a failed flush could not store, merged with what came since.
    pub(super) fn restore(&mut self, batches: Vec<ActivityBatch>) {
        for old in batches {
            let key = match &old.author.id {
                Some(id) => format!("p:{id}"),
                None => format!("n:{}", old.author.name),
            };
            match self.pending.get_mut(&key) {
                Some(new) => {
                    new.from_ms = new.from_ms.min(old.from_ms);
                    for (shot, at) in old.shots {
                        new.shots.entry(shot).or_insert(at);
                    }
                    new.scenes.extend(old.scenes);
                    new.characters.extend(old.characters);
                    new.script_edits += old.script_edits;
                }
                None => {
                    self.pending.insert(key, old);
                }
            }
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.project.unobserve(OBSERVER_KEY);
    }
}

#[cfg(test)]
mod tests {
    use shared_model::{NewScene, NewShot, ProjectOptions};

    use super::*;

    fn person(id: &str, name: &str) -> Author {
        Author {
            id: Some(id.into()),
            name: name.into(),
        }
    }

    #[test]
    fn edits_are_credited_to_whoever_applied_them() {
        let project = Project::empty(ProjectOptions::default());
        let mut tracker = Tracker::attach(project.doc());
        let scene = project.add_scene(&NewScene::default());
        let shot = project
            .add_shot(&scene, &NewShot::default())
            .unwrap_or_else(|e| panic!("{e}"));
        tracker.attribute(&person("lin", "Lin"), 1_000);
        project.script_insert(0, "INT. HALL");
        project.script_insert(0, "x");
        tracker.attribute(&person("ada", "Ada"), 2_000);
        // Nothing changed since: nothing is credited.
        tracker.attribute(&person("bo", "Bo"), 3_000);

        let batches = tracker.take();
        assert_eq!(batches.len(), 2);
        let lin = &batches[0];
        assert_eq!(lin.author.name, "Lin");
        assert_eq!(lin.shots.keys().collect::<Vec<_>>(), vec![&shot]);
        assert!(lin.scenes.contains(&scene));
        assert_eq!(lin.script_edits, 0);
        let ada = &batches[1];
        assert_eq!((ada.author.name.as_str(), ada.script_edits), ("Ada", 2));
        assert!(ada.shots.is_empty());
        assert!(!tracker.has_pending());
    }
}
