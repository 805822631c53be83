//! Restoring a version: making the live document's content equal to an earlier state of the
//! same document, as one new forward transaction.
//!
//! History is never rewritten, so a peer that was offline during the restore merges its own
//! edits on top when it comes back. For that to keep its edits (and to duplicate nothing), the
//! restore changes only what differs and changes it the way a person would: existing scene,
//! shot and character maps are patched field by field in place (a concurrent edit of another
//! field of the same shot survives), prose fields and the script get the minimal splice (anchors
//! outside the changed region keep their place), and entities missing from the live document
//! are created again under their own ids (so a shot is never doubled by a fresh id).

use std::collections::{HashMap, HashSet};

use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, Map, MapPrelim, MapRef, Out, Transact, TransactionMut,
};

use crate::board::{
    nested_maps, read_scene, read_shot, set_characters, set_duration, set_opt_str, set_str,
};
use crate::characters::{asset_list, read_character};
use crate::fields::{array_strings, get_array, get_bytes, string_list};
use crate::prose::{splice_to, write_prose};
use crate::schema::{character as ck, meta as mk, scene as sk, shot as hk};
use crate::{Character, Meta, Project, Result, Scene, Shot};

/// What the restore reads from the target, owned, so that no transaction on the target is open
/// while the live document is written (restoring a document from itself must not deadlock).
struct Target {
    meta: Meta,
    script: String,
    /// Each scene with its encoded script range, copied byte for byte.
    scenes: Vec<(Scene, Option<Vec<u8>>)>,
    shots: Vec<Shot>,
    characters: Vec<Character>,
    assets: Vec<(String, Any)>,
}

impl Target {
    fn read(project: &Project) -> Self {
        let meta = project.meta();
        let txn = project.doc.transact();
        let scenes = nested_maps(&project.scenes, &txn)
            .into_iter()
            .map(|(id, map)| {
                let range = get_bytes(&map, &txn, sk::SCRIPT_RANGE);
                (read_scene(&id, &map, &txn), range)
            })
            .collect();
        let shots = nested_maps(&project.shots, &txn)
            .into_iter()
            .map(|(id, map)| read_shot(&id, &map, &txn))
            .collect();
        let characters = nested_maps(&project.characters, &txn)
            .into_iter()
            .map(|(id, map)| read_character(&id, &map, &txn))
            .collect();
        let assets = project
            .assets
            .iter(&txn)
            .filter_map(|(k, v)| match v {
                Out::Any(any) => Some((k.to_owned(), any)),
                _ => None,
            })
            .collect();
        Target {
            meta,
            script: yrs::GetString::get_string(&project.script, &txn),
            scenes,
            shots,
            characters,
            assets,
        }
    }
}

impl Project {
    /// Makes this document's content equal to `target`'s, a document loaded from a stored state
    /// of the same project (a version), in one transaction: meta (not the schema version), the
    /// script, scenes, shots, characters and assets. Job summaries are left alone: they describe
    /// work that happened, whichever state the board is in.
    ///
    /// Only what differs is written (see the module docs), so restoring the state that was
    /// current just before a restore undoes it, and a peer that edited offline meanwhile keeps
    /// its edits. Fails, changing nothing, when `target` has a newer schema than this build.
    pub fn restore(&self, target: &Project) -> Result<()> {
        target.check_schema()?;
        let want = Target::read(target);
        let now_meta = self.meta();
        let mut txn = self.doc.transact_mut();

        for (key, now, new) in [
            (mk::TITLE, &now_meta.title, &want.meta.title),
            (mk::LANGUAGE, &now_meta.language, &want.meta.language),
            (
                mk::ASPECT_RATIO,
                &now_meta.aspect_ratio,
                &want.meta.aspect_ratio,
            ),
        ] {
            if now != new {
                self.meta.insert(&mut txn, key, new.as_str());
            }
        }

        let script = yrs::GetString::get_string(&self.script, &txn);
        let kind = txn.doc().offset_kind();
        splice_to(&mut txn, &self.script, &script, &want.script, kind);

        self.restore_scenes(&mut txn, &want.scenes);
        self.restore_shots(&mut txn, &want.shots);
        self.restore_characters(&mut txn, &want.characters);
        self.restore_assets(&mut txn, &want.assets);
        Ok(())
    }

    fn restore_scenes(&self, txn: &mut TransactionMut, want: &[(Scene, Option<Vec<u8>>)]) {
        let keep: HashSet<&str> = want.iter().map(|(s, _)| s.id.as_str()).collect();
        let current = remove_others(&self.scenes, txn, &keep);
        for (scene, range) in want {
            let (map, now) = match current.get(scene.id.as_str()) {
                Some(map) => (map.clone(), read_scene(scene.id.as_str(), map, txn)),
                None => {
                    let map = self
                        .scenes
                        .insert(txn, scene.id.as_str(), MapPrelim::default());
                    (map, blank_scene())
                }
            };
            if now.position != scene.position {
                set_str(&map, txn, sk::POSITION, &scene.position);
            }
            if now.title != scene.title || !current.contains_key(scene.id.as_str()) {
                write_prose(txn, &self.meta, &map, sk::TITLE, &scene.title);
            }
            if now.location != scene.location {
                set_str(&map, txn, sk::LOCATION, &scene.location);
            }
            if now.time_of_day != scene.time_of_day {
                set_str(&map, txn, sk::TIME_OF_DAY, &scene.time_of_day);
            }
            if get_bytes(&map, txn, sk::SCRIPT_RANGE) != *range {
                match range {
                    Some(bytes) => {
                        map.insert(txn, sk::SCRIPT_RANGE, bytes.clone());
                    }
                    None => {
                        map.remove(txn, sk::SCRIPT_RANGE);
                    }
                }
            }
        }
    }

    fn restore_shots(&self, txn: &mut TransactionMut, want: &[Shot]) {
        let keep: HashSet<&str> = want.iter().map(|s| s.id.as_str()).collect();
        let current = remove_others(&self.shots, txn, &keep);
        for shot in want {
            let existing = current.get(shot.id.as_str());
            let (map, now) = match existing {
                Some(map) => (map.clone(), read_shot(shot.id.as_str(), map, txn)),
                None => {
                    let map = self
                        .shots
                        .insert(txn, shot.id.as_str(), MapPrelim::default());
                    (map, blank_shot())
                }
            };
            // Scene and position go together, as a move writes them (see `move_shot`).
            if now.scene_id != shot.scene_id || now.position != shot.position {
                set_opt_str(
                    &map,
                    txn,
                    hk::SCENE_ID,
                    shot.scene_id.as_ref().map(|s| s.as_str()),
                );
                set_str(&map, txn, hk::POSITION, &shot.position);
            }
            // A new map gets its prose fields even when empty, as `add_shot` writes them, so that
            // two later first writes of the field do not compete.
            if now.description != shot.description || existing.is_none() {
                write_prose(txn, &self.meta, &map, hk::DESCRIPTION, &shot.description);
            }
            if now.dialogue != shot.dialogue || existing.is_none() {
                write_prose(txn, &self.meta, &map, hk::DIALOGUE, &shot.dialogue);
            }
            if now.camera != shot.camera || existing.is_none() {
                set_str(&map, txn, hk::CAMERA, &shot.camera);
            }
            if now.framing != shot.framing || existing.is_none() {
                set_str(&map, txn, hk::FRAMING, &shot.framing);
            }
            if now.duration_ms != shot.duration_ms || existing.is_none() {
                set_duration(&map, txn, shot.duration_ms);
            }
            if now.character_ids != shot.character_ids || existing.is_none() {
                set_characters(&map, txn, &shot.character_ids);
            }
            if now.recipe_id != shot.recipe_id {
                set_opt_str(&map, txn, hk::RECIPE_ID, shot.recipe_id.as_deref());
            }
            let takes = match get_array(&map, txn, hk::TAKES) {
                Some(a) => a,
                None => map.insert(txn, hk::TAKES, ArrayPrelim::default()),
            };
            splice_strings(txn, &takes, &asset_list(&shot.takes));
            if now.selected_take != shot.selected_take {
                set_opt_str(
                    &map,
                    txn,
                    hk::SELECTED_TAKE,
                    shot.selected_take.as_ref().map(|a| a.as_str()),
                );
            }
        }
    }

    fn restore_characters(&self, txn: &mut TransactionMut, want: &[Character]) {
        let keep: HashSet<&str> = want.iter().map(|c| c.id.as_str()).collect();
        let current = remove_others(&self.characters, txn, &keep);
        for c in want {
            let existing = current.get(c.id.as_str());
            let (map, now) = match existing {
                Some(map) => (map.clone(), Some(read_character(c.id.as_str(), map, txn))),
                None => {
                    let map = self
                        .characters
                        .insert(txn, c.id.as_str(), MapPrelim::default());
                    (map, None)
                }
            };
            let differs = |f: &dyn Fn(&Character) -> bool| now.as_ref().is_none_or(f);
            if differs(&|n| n.name != c.name) {
                map.insert(txn, ck::NAME, c.name.as_str());
            }
            if differs(&|n| n.aliases != c.aliases) {
                map.insert(txn, ck::ALIASES, string_list(&c.aliases));
            }
            if differs(&|n| n.description != c.description) {
                write_prose(txn, &self.meta, &map, ck::DESCRIPTION, &c.description);
            }
            if differs(&|n| n.color != c.color) {
                map.insert(txn, ck::COLOR, c.color.as_str());
            }
            if differs(&|n| n.reference_asset_ids != c.reference_asset_ids) {
                map.insert(
                    txn,
                    ck::REFERENCE_ASSET_IDS,
                    string_list(&asset_list(&c.reference_asset_ids)),
                );
            }
        }
    }

    fn restore_assets(&self, txn: &mut TransactionMut, want: &[(String, Any)]) {
        let keep: HashSet<&str> = want.iter().map(|(k, _)| k.as_str()).collect();
        let extra: Vec<String> = self
            .assets
            .keys(txn)
            .filter(|k| !keep.contains(k))
            .map(str::to_owned)
            .collect();
        for key in extra {
            self.assets.remove(txn, &key);
        }
        for (key, value) in want {
            let same = matches!(self.assets.get(txn, key), Some(Out::Any(ref v)) if v == value);
            if !same {
                self.assets.insert(txn, key.as_str(), value.clone());
            }
        }
    }
}

/// Removes the entries of `root` not in `keep` and returns the remaining nested maps by id.
fn remove_others(
    root: &MapRef,
    txn: &mut TransactionMut,
    keep: &HashSet<&str>,
) -> HashMap<String, MapRef> {
    let all: Vec<String> = root.keys(txn).map(str::to_owned).collect();
    for key in all {
        if !keep.contains(key.as_str()) {
            root.remove(txn, &key);
        }
    }
    nested_maps(root, txn).into_iter().collect()
}

/// Turns the strings of `array` into `want` by removing and inserting only the run that
/// differs between their common prefix and suffix.
fn splice_strings(txn: &mut TransactionMut, array: &ArrayRef, want: &[String]) {
    let now = array_strings(array, txn);
    // A foreign peer's non-string item would make indices disagree: rewrite the array whole.
    if now.len() != array.len(txn) as usize {
        array.remove_range(txn, 0, array.len(txn));
        array.insert_range(txn, 0, want.iter().map(String::as_str));
        return;
    }
    if now == want {
        return;
    }
    let prefix = now.iter().zip(want).take_while(|(a, b)| a == b).count();
    let suffix = now[prefix..]
        .iter()
        .rev()
        .zip(want[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let removed = now.len() - prefix - suffix;
    if removed > 0 {
        array.remove_range(txn, prefix as u32, removed as u32);
    }
    let inserted = &want[prefix..want.len() - suffix];
    if !inserted.is_empty() {
        array.insert_range(txn, prefix as u32, inserted.iter().map(String::as_str));
    }
}

fn blank_scene() -> Scene {
    Scene {
        id: "".into(),
        title: String::new(),
        position: String::new(),
        location: String::new(),
        time_of_day: String::new(),
        script_range: None,
    }
}

fn blank_shot() -> Shot {
    Shot {
        id: "".into(),
        scene_id: None,
        position: String::new(),
        description: String::new(),
        dialogue: String::new(),
        camera: String::new(),
        framing: String::new(),
        duration_ms: 0,
        character_ids: Vec::new(),
        recipe_id: None,
        takes: Vec::new(),
        selected_take: None,
    }
}
