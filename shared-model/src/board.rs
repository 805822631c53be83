//! Scenes and shots: the storyboard.

use serde::{Deserialize, Serialize};
use yrs::{Array, ArrayPrelim, Map, MapPrelim, MapRef, Out, ReadTxn, Transact, TransactionMut};

use crate::fields::{
    array_strings, get_array, get_bytes, get_map, get_prose, get_string, get_u32, set_keys,
};
use crate::ids::{AssetId, CharacterId, SceneId, ShotId};
use crate::prose::write_prose;
use crate::schema::{scene as sk, shot as hk};
use crate::{Error, Project, Result, ScriptAnchor, position};

/// Duration of a shot that nobody has timed yet.
pub const DEFAULT_SHOT_DURATION_MS: u32 = 3_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    pub id: SceneId,
    pub title: String,
    pub position: String,
    pub location: String,
    pub time_of_day: String,
    /// The part of the script this scene adapts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_range: Option<ScriptAnchor>,
}

#[derive(Debug, Clone, Default)]
pub struct NewScene {
    pub title: String,
    pub location: String,
    pub time_of_day: String,
    pub script_range: Option<ScriptAnchor>,
}

/// Changes to a scene; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ScenePatch {
    pub title: Option<String>,
    pub location: Option<String>,
    pub time_of_day: Option<String>,
    pub script_range: Option<Option<ScriptAnchor>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    pub id: ShotId,
    /// `None` only when a peer wrote a shot without a scene; such shots sort last.
    pub scene_id: Option<SceneId>,
    pub position: String,
    pub description: String,
    pub dialogue: String,
    /// Camera angle and movement, e.g. "low angle, slow push in".
    pub camera: String,
    /// Shot size, e.g. "wide", "medium", "close-up".
    pub framing: String,
    pub duration_ms: u32,
    pub character_ids: Vec<CharacterId>,
    pub recipe_id: Option<String>,
    /// Generated or uploaded takes, newest last.
    pub takes: Vec<AssetId>,
    pub selected_take: Option<AssetId>,
}

#[derive(Debug, Clone)]
pub struct NewShot {
    pub description: String,
    pub dialogue: String,
    pub camera: String,
    pub framing: String,
    pub duration_ms: u32,
    pub character_ids: Vec<CharacterId>,
    pub recipe_id: Option<String>,
}

impl Default for NewShot {
    fn default() -> Self {
        NewShot {
            description: String::new(),
            dialogue: String::new(),
            camera: String::new(),
            framing: String::new(),
            duration_ms: DEFAULT_SHOT_DURATION_MS,
            character_ids: Vec::new(),
            recipe_id: None,
        }
    }
}

/// Changes to a shot; `None` leaves a field as it is. Moving and takes have their own methods.
#[derive(Debug, Clone, Default)]
pub struct ShotPatch {
    pub description: Option<String>,
    pub dialogue: Option<String>,
    pub camera: Option<String>,
    pub framing: Option<String>,
    pub duration_ms: Option<u32>,
    /// Replaces the set of characters; concurrent additions by others are kept.
    pub character_ids: Option<Vec<CharacterId>>,
    pub recipe_id: Option<Option<String>>,
}

pub(crate) fn set_str(map: &MapRef, txn: &mut TransactionMut, key: &str, value: &str) {
    map.insert(txn, key, value);
}

pub(crate) fn set_opt_str(map: &MapRef, txn: &mut TransactionMut, key: &str, value: Option<&str>) {
    match value {
        Some(v) => {
            map.insert(txn, key, v);
        }
        None => {
            map.remove(txn, key);
        }
    }
}

pub(crate) fn set_duration(map: &MapRef, txn: &mut TransactionMut, ms: u32) {
    // Stored as a float: that is what a JavaScript number is, so Yjs clients read a number.
    map.insert(txn, hk::DURATION_MS, ms as f64);
}

pub(crate) fn set_characters(shot: &MapRef, txn: &mut TransactionMut, ids: &[CharacterId]) {
    let set = match get_map(shot, txn, hk::CHARACTER_IDS) {
        Some(set) => set,
        None => shot.insert(txn, hk::CHARACTER_IDS, MapPrelim::default()),
    };
    let current = set_keys(&set, txn);
    for key in current {
        if !ids.iter().any(|id| id.as_str() == key) {
            set.remove(txn, &key);
        }
    }
    for id in ids {
        if set.get(txn, id.as_str()).is_none() {
            set.insert(txn, id.as_str(), true);
        }
    }
}

pub(crate) fn read_scene<T: ReadTxn>(id: &str, map: &MapRef, txn: &T) -> Scene {
    Scene {
        id: id.into(),
        title: get_prose(map, txn, sk::TITLE).unwrap_or_default(),
        position: get_string(map, txn, sk::POSITION).unwrap_or_default(),
        location: get_string(map, txn, sk::LOCATION).unwrap_or_default(),
        time_of_day: get_string(map, txn, sk::TIME_OF_DAY).unwrap_or_default(),
        script_range: get_bytes(map, txn, sk::SCRIPT_RANGE)
            .and_then(|b| ScriptAnchor::decode(&b).ok()),
    }
}

pub(crate) fn read_shot<T: ReadTxn>(id: &str, map: &MapRef, txn: &T) -> Shot {
    Shot {
        id: id.into(),
        scene_id: get_string(map, txn, hk::SCENE_ID).map(SceneId::from),
        position: get_string(map, txn, hk::POSITION).unwrap_or_default(),
        description: get_prose(map, txn, hk::DESCRIPTION).unwrap_or_default(),
        dialogue: get_prose(map, txn, hk::DIALOGUE).unwrap_or_default(),
        camera: get_string(map, txn, hk::CAMERA).unwrap_or_default(),
        framing: get_string(map, txn, hk::FRAMING).unwrap_or_default(),
        duration_ms: get_u32(map, txn, hk::DURATION_MS).unwrap_or(DEFAULT_SHOT_DURATION_MS),
        character_ids: get_map(map, txn, hk::CHARACTER_IDS)
            .map(|set| set_keys(&set, txn).into_iter().map(Into::into).collect())
            .unwrap_or_default(),
        recipe_id: get_string(map, txn, hk::RECIPE_ID),
        takes: get_array(map, txn, hk::TAKES)
            .map(|a| array_strings(&a, txn).into_iter().map(Into::into).collect())
            .unwrap_or_default(),
        selected_take: get_string(map, txn, hk::SELECTED_TAKE).map(AssetId::from),
    }
}

/// Entries of a root map whose values are nested maps; anything else (a hostile peer's doing)
/// is skipped here and reported by validation.
pub(crate) fn nested_maps<T: ReadTxn>(root: &MapRef, txn: &T) -> Vec<(String, MapRef)> {
    root.iter(txn)
        .filter_map(|(k, v)| match v {
            Out::YMap(m) => Some((k.to_owned(), m)),
            _ => None,
        })
        .collect()
}

fn by_position<T>(items: &mut [T], key: impl Fn(&T) -> (&str, &str)) {
    items.sort_by(|a, b| key(a).cmp(&key(b)));
}

impl Project {
    /// All scenes in storyboard order.
    pub fn scenes(&self) -> Vec<Scene> {
        let txn = self.doc.transact();
        self.scenes_in(&txn)
    }

    pub(crate) fn scenes_in<T: ReadTxn>(&self, txn: &T) -> Vec<Scene> {
        let mut scenes: Vec<Scene> = nested_maps(&self.scenes, txn)
            .iter()
            .map(|(id, m)| read_scene(id, m, txn))
            .collect();
        by_position(&mut scenes, |s| (s.position.as_str(), s.id.as_str()));
        scenes
    }

    pub fn scene(&self, id: &SceneId) -> Option<Scene> {
        let txn = self.doc.transact();
        let map = get_map(&self.scenes, &txn, id.as_str())?;
        Some(read_scene(id.as_str(), &map, &txn))
    }

    /// Appends a scene with a fresh id.
    pub fn add_scene(&self, scene: &NewScene) -> SceneId {
        let id = SceneId::new();
        self.insert_scene(&id, usize::MAX, scene);
        id
    }

    /// Inserts a scene with a caller-chosen id at `index` (clamped to the end).
    pub fn insert_scene(&self, id: &SceneId, index: usize, scene: &NewScene) {
        let mut txn = self.doc.transact_mut();
        let key = self.place_scene(&mut txn, None, index);
        let map = self
            .scenes
            .insert(&mut txn, id.as_str(), MapPrelim::default());
        set_str(&map, &mut txn, sk::POSITION, &key);
        write_prose(&mut txn, &self.meta, &map, sk::TITLE, &scene.title);
        set_str(&map, &mut txn, sk::LOCATION, &scene.location);
        set_str(&map, &mut txn, sk::TIME_OF_DAY, &scene.time_of_day);
        if let Some(anchor) = &scene.script_range {
            map.insert(&mut txn, sk::SCRIPT_RANGE, anchor.encode());
        }
    }

    pub fn update_scene(&self, id: &SceneId, patch: &ScenePatch) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = get_map(&self.scenes, &txn, id.as_str())
            .ok_or_else(|| Error::not_found("scene", id))?;
        if let Some(v) = &patch.title {
            write_prose(&mut txn, &self.meta, &map, sk::TITLE, v);
        }
        if let Some(v) = &patch.location {
            set_str(&map, &mut txn, sk::LOCATION, v);
        }
        if let Some(v) = &patch.time_of_day {
            set_str(&map, &mut txn, sk::TIME_OF_DAY, v);
        }
        match &patch.script_range {
            Some(Some(anchor)) => {
                map.insert(&mut txn, sk::SCRIPT_RANGE, anchor.encode());
            }
            Some(None) => {
                map.remove(&mut txn, sk::SCRIPT_RANGE);
            }
            None => {}
        }
        Ok(())
    }

    /// Moves a scene to `index` in the scene order.
    pub fn move_scene(&self, id: &SceneId, index: usize) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = get_map(&self.scenes, &txn, id.as_str())
            .ok_or_else(|| Error::not_found("scene", id))?;
        let key = self.place_scene(&mut txn, Some(id), index);
        set_str(&map, &mut txn, sk::POSITION, &key);
        Ok(())
    }

    /// Deletes a scene and the shots in it.
    pub fn delete_scene(&self, id: &SceneId) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        if self.scenes.remove(&mut txn, id.as_str()).is_none() {
            return Err(Error::not_found("scene", id));
        }
        let doomed: Vec<String> = nested_maps(&self.shots, &txn)
            .into_iter()
            .filter(|(_, m)| get_string(m, &txn, hk::SCENE_ID).as_deref() == Some(id.as_str()))
            .map(|(k, _)| k)
            .collect();
        for shot in doomed {
            self.shots.remove(&mut txn, &shot);
        }
        Ok(())
    }

    /// Computes a position key for a scene at `index` among the others (excluding `moving`),
    /// re-keying tied neighbours when needed.
    fn place_scene(
        &self,
        txn: &mut TransactionMut,
        moving: Option<&SceneId>,
        index: usize,
    ) -> String {
        let others: Vec<Scene> = self
            .scenes_in(txn)
            .into_iter()
            .filter(|s| Some(&s.id) != moving)
            .collect();
        let keys: Vec<&str> = others.iter().map(|s| s.position.as_str()).collect();
        let placement = position::place(&keys, index);
        for (i, key) in placement.rekeyed {
            if let Some(map) = get_map(&self.scenes, txn, others[i].id.as_str()) {
                set_str(&map, txn, sk::POSITION, &key);
            }
        }
        placement.key
    }

    /// All shots in storyboard order: by scene order, then by position within the scene. Shots
    /// whose scene is gone (deleted concurrently) come last rather than disappear.
    pub fn shots(&self) -> Vec<Shot> {
        let txn = self.doc.transact();
        self.shots_in(&txn)
    }

    pub(crate) fn shots_in<T: ReadTxn>(&self, txn: &T) -> Vec<Shot> {
        let scene_rank: std::collections::HashMap<SceneId, usize> = self
            .scenes_in(txn)
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let mut shots: Vec<(usize, Shot)> = nested_maps(&self.shots, txn)
            .iter()
            .map(|(id, m)| {
                let shot = read_shot(id, m, txn);
                let rank = shot
                    .scene_id
                    .as_ref()
                    .and_then(|s| scene_rank.get(s).copied())
                    .unwrap_or(usize::MAX);
                (rank, shot)
            })
            .collect();
        shots.sort_by(|(ra, a), (rb, b)| {
            (ra, a.position.as_str(), a.id.as_str()).cmp(&(rb, b.position.as_str(), b.id.as_str()))
        });
        shots.into_iter().map(|(_, s)| s).collect()
    }

    /// Appends a scene together with its shots in one transaction: how an import writes a
    /// breakdown without re-reading the board for every shot.
    pub fn add_scene_with_shots(
        &self,
        scene: &NewScene,
        shots: &[NewShot],
    ) -> (SceneId, Vec<ShotId>) {
        let id = SceneId::new();
        self.insert_scene(&id, usize::MAX, scene);
        let mut txn = self.doc.transact_mut();
        let mut ids = Vec::with_capacity(shots.len());
        let mut previous: Option<String> = None;
        for shot in shots {
            let key = position::place(&previous.as_deref().into_iter().collect::<Vec<_>>(), 1).key;
            let shot_id = ShotId::new();
            self.write_new_shot(&mut txn, &shot_id, &id, &key, shot);
            previous = Some(key);
            ids.push(shot_id);
        }
        (id, ids)
    }

    /// The shots of one scene, in order.
    pub fn scene_shots(&self, scene: &SceneId) -> Vec<Shot> {
        self.shots()
            .into_iter()
            .filter(|s| s.scene_id.as_ref() == Some(scene))
            .collect()
    }

    pub fn shot(&self, id: &ShotId) -> Option<Shot> {
        let txn = self.doc.transact();
        let map = get_map(&self.shots, &txn, id.as_str())?;
        Some(read_shot(id.as_str(), &map, &txn))
    }

    /// Appends a shot with a fresh id to the end of a scene.
    pub fn add_shot(&self, scene: &SceneId, shot: &NewShot) -> Result<ShotId> {
        let id = ShotId::new();
        self.insert_shot(&id, scene, usize::MAX, shot)?;
        Ok(id)
    }

    /// Inserts a shot with a caller-chosen id at `index` within `scene` (clamped to the end).
    pub fn insert_shot(
        &self,
        id: &ShotId,
        scene: &SceneId,
        index: usize,
        shot: &NewShot,
    ) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        if get_map(&self.scenes, &txn, scene.as_str()).is_none() {
            return Err(Error::not_found("scene", scene));
        }
        let key = self.place_shot(&mut txn, scene, None, index);
        self.write_new_shot(&mut txn, id, scene, &key, shot);
        Ok(())
    }

    fn write_new_shot(
        &self,
        txn: &mut TransactionMut,
        id: &ShotId,
        scene: &SceneId,
        key: &str,
        shot: &NewShot,
    ) {
        let map = self.shots.insert(txn, id.as_str(), MapPrelim::default());
        set_str(&map, txn, hk::SCENE_ID, scene.as_str());
        set_str(&map, txn, hk::POSITION, key);
        write_prose(txn, &self.meta, &map, hk::DESCRIPTION, &shot.description);
        write_prose(txn, &self.meta, &map, hk::DIALOGUE, &shot.dialogue);
        set_str(&map, txn, hk::CAMERA, &shot.camera);
        set_str(&map, txn, hk::FRAMING, &shot.framing);
        set_duration(&map, txn, shot.duration_ms);
        set_characters(&map, txn, &shot.character_ids);
        set_opt_str(&map, txn, hk::RECIPE_ID, shot.recipe_id.as_deref());
        map.insert(txn, hk::TAKES, ArrayPrelim::default());
    }

    pub fn update_shot(&self, id: &ShotId, patch: &ShotPatch) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.shot_map(&txn, id)?;
        // The prose fields are spliced (or written as strings in a document not yet upgraded).
        if let Some(v) = &patch.description {
            write_prose(&mut txn, &self.meta, &map, hk::DESCRIPTION, v);
        }
        if let Some(v) = &patch.dialogue {
            write_prose(&mut txn, &self.meta, &map, hk::DIALOGUE, v);
        }
        if let Some(v) = &patch.camera {
            set_str(&map, &mut txn, hk::CAMERA, v);
        }
        if let Some(v) = &patch.framing {
            set_str(&map, &mut txn, hk::FRAMING, v);
        }
        if let Some(v) = patch.duration_ms {
            set_duration(&map, &mut txn, v);
        }
        if let Some(ids) = &patch.character_ids {
            set_characters(&map, &mut txn, ids);
        }
        if let Some(v) = &patch.recipe_id {
            set_opt_str(&map, &mut txn, hk::RECIPE_ID, v.as_deref());
        }
        Ok(())
    }

    /// Moves a shot to `index` within `scene` (which may be another scene).
    pub fn move_shot(&self, id: &ShotId, scene: &SceneId, index: usize) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.shot_map(&txn, id)?;
        if get_map(&self.scenes, &txn, scene.as_str()).is_none() {
            return Err(Error::not_found("scene", scene));
        }
        let key = self.place_shot(&mut txn, scene, Some(id), index);
        // Scene and position are always written together, so that of two concurrent moves the
        // same one wins both keys and the shot lands where one person put it.
        set_str(&map, &mut txn, hk::SCENE_ID, scene.as_str());
        set_str(&map, &mut txn, hk::POSITION, &key);
        Ok(())
    }

    pub fn delete_shot(&self, id: &ShotId) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        self.shots
            .remove(&mut txn, id.as_str())
            .map(|_| ())
            .ok_or_else(|| Error::not_found("shot", id))
    }

    /// Adds a take (newest last) and optionally selects it.
    pub fn add_take(&self, id: &ShotId, asset: &AssetId, select: bool) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.shot_map(&txn, id)?;
        let takes = match get_array(&map, &txn, hk::TAKES) {
            Some(a) => a,
            None => map.insert(&mut txn, hk::TAKES, ArrayPrelim::default()),
        };
        if !array_strings(&takes, &txn)
            .iter()
            .any(|t| t == asset.as_str())
        {
            takes.push_back(&mut txn, asset.as_str());
        }
        if select {
            set_str(&map, &mut txn, hk::SELECTED_TAKE, asset.as_str());
        }
        Ok(())
    }

    /// Selects one of the shot's takes, or clears the selection.
    pub fn select_take(&self, id: &ShotId, asset: Option<&AssetId>) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.shot_map(&txn, id)?;
        if let Some(asset) = asset {
            let takes = get_array(&map, &txn, hk::TAKES)
                .map(|a| array_strings(&a, &txn))
                .unwrap_or_default();
            if !takes.iter().any(|t| t == asset.as_str()) {
                return Err(Error::InvalidValue {
                    field: "selected take",
                    reason: format!("asset {asset} is not a take of shot {id}"),
                });
            }
        }
        set_opt_str(
            &map,
            &mut txn,
            hk::SELECTED_TAKE,
            asset.map(AssetId::as_str),
        );
        Ok(())
    }

    fn shot_map<T: ReadTxn>(&self, txn: &T, id: &ShotId) -> Result<MapRef> {
        get_map(&self.shots, txn, id.as_str()).ok_or_else(|| Error::not_found("shot", id))
    }

    fn place_shot(
        &self,
        txn: &mut TransactionMut,
        scene: &SceneId,
        moving: Option<&ShotId>,
        index: usize,
    ) -> String {
        // Only the scene's (position, id) pairs are read: placing a shot must stay cheap on a
        // board with thousands of shots.
        let mut others: Vec<(String, String)> = nested_maps(&self.shots, txn)
            .into_iter()
            .filter(|(id, m)| {
                Some(id.as_str()) != moving.map(ShotId::as_str)
                    && get_string(m, txn, hk::SCENE_ID).as_deref() == Some(scene.as_str())
            })
            .map(|(id, m)| (get_string(&m, txn, hk::POSITION).unwrap_or_default(), id))
            .collect();
        others.sort();
        let keys: Vec<&str> = others.iter().map(|(p, _)| p.as_str()).collect();
        let placement = position::place(&keys, index);
        for (i, key) in placement.rekeyed {
            if let Some(map) = get_map(&self.shots, txn, &others[i].1) {
                set_str(&map, txn, hk::POSITION, &key);
            }
        }
        placement.key
    }
}
