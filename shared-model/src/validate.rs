//! Consistency checks that report rather than panic. Concurrent edits legitimately produce some
//! of these states (a shot names a character someone else just deleted); the UI shows them and
//! offers a fix instead of the document refusing the merge.

use std::collections::HashSet;

use serde::Serialize;
use yrs::{Map, Out, ReadTxn, Transact};

use crate::board::nested_maps;
use crate::fields::{Prose, read_prose};
use crate::ids::{AssetId, CharacterId, SceneId, ShotId};
use crate::{Project, position, schema};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnostic {
    ShotWithoutScene {
        shot: ShotId,
        scene: Option<SceneId>,
    },
    ShotNamesMissingCharacter {
        shot: ShotId,
        character: CharacterId,
    },
    SelectedTakeNotATake {
        shot: ShotId,
        asset: AssetId,
    },
    TakeWithoutAsset {
        shot: ShotId,
        asset: AssetId,
    },
    CharacterReferenceWithoutAsset {
        character: CharacterId,
        asset: AssetId,
    },
    InvalidPosition {
        root: &'static str,
        id: String,
        position: String,
    },
    /// An entry of the wrong shape under a root (written by a buggy or hostile peer).
    MalformedEntry {
        root: &'static str,
        key: String,
    },
    /// A prose field holding neither text nor a string (a number, a map...). It reads as empty
    /// and the next write replaces it.
    MalformedField {
        root: &'static str,
        id: String,
        field: &'static str,
    },
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Diagnostic::ShotWithoutScene {
                shot,
                scene: Some(scene),
            } => {
                write!(
                    f,
                    "shot {shot} belongs to scene {scene}, which no longer exists"
                )
            }
            Diagnostic::ShotWithoutScene { shot, scene: None } => {
                write!(f, "shot {shot} has no scene")
            }
            Diagnostic::ShotNamesMissingCharacter { shot, character } => {
                write!(
                    f,
                    "shot {shot} names character {character}, which no longer exists"
                )
            }
            Diagnostic::SelectedTakeNotATake { shot, asset } => {
                write!(
                    f,
                    "shot {shot} selects {asset}, which is not one of its takes"
                )
            }
            Diagnostic::TakeWithoutAsset { shot, asset } => {
                write!(f, "take {asset} of shot {shot} has no asset record")
            }
            Diagnostic::CharacterReferenceWithoutAsset { character, asset } => {
                write!(
                    f,
                    "reference {asset} of character {character} has no asset record"
                )
            }
            Diagnostic::InvalidPosition { root, id, position } => {
                write!(f, "{root} entry {id} has an invalid position {position:?}")
            }
            Diagnostic::MalformedEntry { root, key } => {
                write!(f, "{root} entry {key} is malformed")
            }
            Diagnostic::MalformedField { root, id, field } => {
                write!(
                    f,
                    "{field} of {root} entry {id} is neither text nor a string"
                )
            }
        }
    }
}

fn malformed_nested<T: ReadTxn>(
    root: &yrs::MapRef,
    name: &'static str,
    txn: &T,
    out: &mut Vec<Diagnostic>,
) {
    for (key, value) in root.iter(txn) {
        if !matches!(value, Out::YMap(_)) {
            out.push(Diagnostic::MalformedEntry {
                root: name,
                key: key.to_owned(),
            });
        }
    }
}

impl Project {
    /// Every inconsistency in the document, in a deterministic order. Empty means healthy.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let txn = self.doc.transact();
        let mut out = Vec::new();
        malformed_nested(&self.scenes, schema::SCENES, &txn, &mut out);
        malformed_nested(&self.shots, schema::SHOTS, &txn, &mut out);
        malformed_nested(&self.characters, schema::CHARACTERS, &txn, &mut out);
        for (root_name, root, field) in self.prose_roots() {
            let mut bad: Vec<String> = nested_maps(root, &txn)
                .into_iter()
                .filter(|(_, map)| matches!(read_prose(map, &txn, field), Prose::Malformed))
                .map(|(id, _)| id)
                .collect();
            bad.sort();
            out.extend(bad.into_iter().map(|id| Diagnostic::MalformedField {
                root: root_name,
                id,
                field,
            }));
        }

        let scenes = self.scenes_in(&txn);
        let shots = self.shots_in(&txn);
        let characters = self.characters_in(&txn);
        let assets = self.assets_in(&txn);
        for (key, _) in self.assets.iter(&txn) {
            if !assets.iter().any(|a| a.id.as_str() == key) {
                out.push(Diagnostic::MalformedEntry {
                    root: schema::ASSETS,
                    key: key.to_owned(),
                });
            }
        }

        let scene_ids: HashSet<&SceneId> = scenes.iter().map(|s| &s.id).collect();
        let character_ids: HashSet<&CharacterId> = characters.iter().map(|c| &c.id).collect();
        let asset_ids: HashSet<&AssetId> = assets.iter().map(|a| &a.id).collect();

        for scene in &scenes {
            if !position::is_valid(&scene.position) {
                out.push(Diagnostic::InvalidPosition {
                    root: schema::SCENES,
                    id: scene.id.to_string(),
                    position: scene.position.clone(),
                });
            }
        }
        for shot in &shots {
            if !shot
                .scene_id
                .as_ref()
                .is_some_and(|s| scene_ids.contains(s))
            {
                out.push(Diagnostic::ShotWithoutScene {
                    shot: shot.id.clone(),
                    scene: shot.scene_id.clone(),
                });
            }
            if !position::is_valid(&shot.position) {
                out.push(Diagnostic::InvalidPosition {
                    root: schema::SHOTS,
                    id: shot.id.to_string(),
                    position: shot.position.clone(),
                });
            }
            for c in &shot.character_ids {
                if !character_ids.contains(c) {
                    out.push(Diagnostic::ShotNamesMissingCharacter {
                        shot: shot.id.clone(),
                        character: c.clone(),
                    });
                }
            }
            for take in &shot.takes {
                if !asset_ids.contains(take) {
                    out.push(Diagnostic::TakeWithoutAsset {
                        shot: shot.id.clone(),
                        asset: take.clone(),
                    });
                }
            }
            if let Some(sel) = &shot.selected_take
                && !shot.takes.contains(sel)
            {
                out.push(Diagnostic::SelectedTakeNotATake {
                    shot: shot.id.clone(),
                    asset: sel.clone(),
                });
            }
        }
        for c in &characters {
            for r in &c.reference_asset_ids {
                if !asset_ids.contains(r) {
                    out.push(Diagnostic::CharacterReferenceWithoutAsset {
                        character: c.id.clone(),
                        asset: r.clone(),
                    });
                }
            }
        }
        out
    }
}
