//! Character sheets.

use serde::{Deserialize, Serialize};
use yrs::{Map, MapPrelim, MapRef, ReadTxn, Transact};

use crate::board::nested_maps;
use crate::fields::{get_map, get_prose, get_string, get_string_list, string_list};
use crate::ids::{AssetId, CharacterId};
use crate::prose::write_prose;
use crate::schema::character as ck;
use crate::{Error, Project, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Character {
    pub id: CharacterId,
    pub name: String,
    /// Other names the text uses for the same person (玄德 for 刘备, "the Hatter").
    pub aliases: Vec<String>,
    pub description: String,
    /// Display colour as `#rrggbb`, used for presence and the offline renderer.
    pub color: String,
    /// Reference images sent to providers that accept them.
    pub reference_asset_ids: Vec<AssetId>,
}

#[derive(Debug, Clone, Default)]
pub struct NewCharacter {
    pub name: String,
    pub aliases: Vec<String>,
    pub description: String,
    pub color: Option<String>,
    pub reference_asset_ids: Vec<AssetId>,
}

/// Changes to a character; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CharacterPatch {
    pub name: Option<String>,
    pub aliases: Option<Vec<String>>,
    pub description: Option<String>,
    pub color: Option<String>,
    pub reference_asset_ids: Option<Vec<AssetId>>,
}

/// A stable, readable colour for a character without one, derived from its id.
fn default_color(id: &CharacterId) -> String {
    const PALETTE: [&str; 8] = [
        "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
    ];
    let hash = id
        .as_str()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    PALETTE[hash as usize % PALETTE.len()].to_owned()
}

pub(crate) fn read_character<T: ReadTxn>(id: &str, map: &MapRef, txn: &T) -> Character {
    let id = CharacterId::from(id);
    Character {
        name: get_string(map, txn, ck::NAME).unwrap_or_default(),
        aliases: get_string_list(map, txn, ck::ALIASES),
        description: get_prose(map, txn, ck::DESCRIPTION).unwrap_or_default(),
        color: get_string(map, txn, ck::COLOR).unwrap_or_else(|| default_color(&id)),
        reference_asset_ids: get_string_list(map, txn, ck::REFERENCE_ASSET_IDS)
            .into_iter()
            .map(Into::into)
            .collect(),
        id,
    }
}

pub(crate) fn asset_list(ids: &[AssetId]) -> Vec<String> {
    ids.iter().map(|a| a.as_str().to_owned()).collect()
}

impl Project {
    /// All characters, sorted by name (then id).
    pub fn characters(&self) -> Vec<Character> {
        let txn = self.doc.transact();
        self.characters_in(&txn)
    }

    pub(crate) fn characters_in<T: ReadTxn>(&self, txn: &T) -> Vec<Character> {
        let mut all: Vec<Character> = nested_maps(&self.characters, txn)
            .iter()
            .map(|(id, m)| read_character(id, m, txn))
            .collect();
        all.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        all
    }

    pub fn character(&self, id: &CharacterId) -> Option<Character> {
        let txn = self.doc.transact();
        let map = get_map(&self.characters, &txn, id.as_str())?;
        Some(read_character(id.as_str(), &map, &txn))
    }

    /// Finds a character by name or alias (case-insensitive).
    pub fn find_character(&self, name: &str) -> Option<Character> {
        let wanted = name.to_lowercase();
        self.characters().into_iter().find(|c| {
            c.name.to_lowercase() == wanted || c.aliases.iter().any(|a| a.to_lowercase() == wanted)
        })
    }

    pub fn add_character(&self, character: &NewCharacter) -> CharacterId {
        let id = CharacterId::new();
        self.insert_character(&id, character);
        id
    }

    pub fn insert_character(&self, id: &CharacterId, c: &NewCharacter) {
        let mut txn = self.doc.transact_mut();
        let map = self
            .characters
            .insert(&mut txn, id.as_str(), MapPrelim::default());
        map.insert(&mut txn, ck::NAME, c.name.as_str());
        map.insert(&mut txn, ck::ALIASES, string_list(&c.aliases));
        write_prose(&mut txn, &self.meta, &map, ck::DESCRIPTION, &c.description);
        let color = c.color.clone().unwrap_or_else(|| default_color(id));
        map.insert(&mut txn, ck::COLOR, color);
        map.insert(
            &mut txn,
            ck::REFERENCE_ASSET_IDS,
            string_list(&asset_list(&c.reference_asset_ids)),
        );
    }

    pub fn update_character(&self, id: &CharacterId, patch: &CharacterPatch) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = get_map(&self.characters, &txn, id.as_str())
            .ok_or_else(|| Error::not_found("character", id))?;
        if let Some(v) = &patch.name {
            map.insert(&mut txn, ck::NAME, v.as_str());
        }
        if let Some(v) = &patch.aliases {
            map.insert(&mut txn, ck::ALIASES, string_list(v));
        }
        if let Some(v) = &patch.description {
            write_prose(&mut txn, &self.meta, &map, ck::DESCRIPTION, v);
        }
        if let Some(v) = &patch.color {
            map.insert(&mut txn, ck::COLOR, v.as_str());
        }
        if let Some(v) = &patch.reference_asset_ids {
            map.insert(
                &mut txn,
                ck::REFERENCE_ASSET_IDS,
                string_list(&asset_list(v)),
            );
        }
        Ok(())
    }

    /// Deletes a character and removes it from the shots that name it. A shot that names it
    /// through a concurrent edit on another peer is reported by [`Project::validate`].
    pub fn delete_character(&self, id: &CharacterId) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        if self.characters.remove(&mut txn, id.as_str()).is_none() {
            return Err(Error::not_found("character", id));
        }
        for (_, shot) in nested_maps(&self.shots, &txn) {
            if let Some(set) = get_map(&shot, &txn, crate::schema::shot::CHARACTER_IDS) {
                set.remove(&mut txn, id.as_str());
            }
        }
        Ok(())
    }
}
