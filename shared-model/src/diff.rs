//! What changed between two states of a project, in the terms a director thinks in: shots
//! added, removed, moved and changed field by field, scenes and characters the same way, the
//! project's settings, and the script as a line diff.
//!
//! Pure functions over two [`ProjectSnapshot`]s: the server diffs a stored version against
//! another (or against the live document), the browser could do the same with two replicas.

use std::collections::{HashMap, HashSet};

use api_types::{
    ChangeKind, CharacterChange, DiffSide, FieldChange, LineOp, SceneChange, ScriptHunk,
    ScriptLine, ShotChange, ShotPlace, TakeChange, VersionDiff,
};

use crate::ids::{AssetId, CharacterId, SceneId, ShotId};
use crate::{Character, ProjectSnapshot, Scene, Shot, schema};

/// Lines of unchanged script shown around each changed run.
const SCRIPT_CONTEXT: usize = 2;

/// Everything that differs between `from` and `to`. Shots, scenes and characters come in the
/// storyboard order of `to` (characters by name), the removed ones after them in the order of
/// `from`.
pub fn diff(
    from: &ProjectSnapshot,
    to: &ProjectSnapshot,
    from_side: DiffSide,
    to_side: DiffSide,
) -> VersionDiff {
    VersionDiff {
        from: from_side,
        to: to_side,
        meta: meta_changes(from, to),
        scenes: scene_changes(from, to),
        shots: shot_changes(from, to),
        characters: character_changes(from, to),
        script: script_hunks(&from.script, &to.script),
    }
}

/// The shots of `from` that are gone, changed or moved in `to`: what a review verdict given on
/// `from` no longer covers. In the storyboard order of `from`.
pub fn changed_shots(from: &ProjectSnapshot, to: &ProjectSnapshot) -> Vec<ShotId> {
    let changes: HashSet<ShotId> = shot_changes(from, to)
        .into_iter()
        .filter(|c| c.kind != ChangeKind::Added)
        .map(|c| c.shot_id)
        .collect();
    from.shots
        .iter()
        .filter(|s| changes.contains(&s.id))
        .map(|s| s.id.clone())
        .collect()
}

fn field(name: &str, old: impl Into<String>, new: impl Into<String>) -> FieldChange {
    FieldChange {
        field: name.to_owned(),
        old: old.into(),
        new: new.into(),
    }
}

/// Pushes a change of `name` when the readable values differ.
fn compare(out: &mut Vec<FieldChange>, name: &str, old: String, new: String) {
    if old != new {
        out.push(field(name, old, new));
    }
}

fn meta_changes(from: &ProjectSnapshot, to: &ProjectSnapshot) -> Vec<FieldChange> {
    let (a, b) = (&from.meta, &to.meta);
    let mut out = Vec::new();
    compare(
        &mut out,
        schema::meta::TITLE,
        a.title.clone(),
        b.title.clone(),
    );
    compare(
        &mut out,
        schema::meta::LANGUAGE,
        a.language.clone(),
        b.language.clone(),
    );
    compare(
        &mut out,
        schema::meta::ASPECT_RATIO,
        a.aspect_ratio.clone(),
        b.aspect_ratio.clone(),
    );
    out
}

/// The positions (indices into `old_order`) of the items of `new_order` that keep their
/// relative order: the longest increasing subsequence of their old indices. An item outside it
/// is the one that moved; one inserted or deleted elsewhere moves nothing.
fn kept_in_order(old_indices: &[usize]) -> Vec<bool> {
    // Patience-style LIS in O(n log n): tails[k] is the index (into old_indices) of the
    // smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut parent: Vec<Option<usize>> = vec![None; old_indices.len()];
    for (i, &v) in old_indices.iter().enumerate() {
        let k = tails.partition_point(|&t| old_indices[t] < v);
        parent[i] = k.checked_sub(1).map(|p| tails[p]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut kept = vec![false; old_indices.len()];
    let mut cursor = tails.last().copied();
    while let Some(i) = cursor {
        kept[i] = true;
        cursor = parent[i];
    }
    kept
}

/// Ids of `items` (in the new order) whose place changed: absent from neither side, and outside
/// the longest run of common items that kept their relative order.
fn moved_among<'a, I>(common_new_order: I, old_index: &HashMap<&str, usize>) -> HashSet<String>
where
    I: Iterator<Item = &'a str>,
{
    let common: Vec<&str> = common_new_order.collect();
    let indices: Vec<usize> = common.iter().map(|id| old_index[id]).collect();
    kept_in_order(&indices)
        .into_iter()
        .zip(common)
        .filter(|(kept, _)| !kept)
        .map(|(_, id)| id.to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Scenes

fn scene_fields(a: &Scene, b: &Scene) -> Vec<FieldChange> {
    let mut out = Vec::new();
    compare(
        &mut out,
        schema::scene::TITLE,
        a.title.clone(),
        b.title.clone(),
    );
    compare(
        &mut out,
        schema::scene::LOCATION,
        a.location.clone(),
        b.location.clone(),
    );
    compare(
        &mut out,
        schema::scene::TIME_OF_DAY,
        a.time_of_day.clone(),
        b.time_of_day.clone(),
    );
    out
}

fn scene_changes(from: &ProjectSnapshot, to: &ProjectSnapshot) -> Vec<SceneChange> {
    let old: HashMap<&str, (usize, &Scene)> = from
        .scenes
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), (i, s)))
        .collect();
    let new_ids: HashSet<&str> = to.scenes.iter().map(|s| s.id.as_str()).collect();
    let old_index: HashMap<&str, usize> = old.iter().map(|(k, (i, _))| (*k, *i)).collect();
    let moved = moved_among(
        to.scenes
            .iter()
            .map(|s| s.id.as_str())
            .filter(|id| old.contains_key(id)),
        &old_index,
    );
    let mut out = Vec::new();
    for scene in &to.scenes {
        let Some((_, before)) = old.get(scene.id.as_str()) else {
            out.push(SceneChange {
                scene_id: scene.id.clone(),
                kind: ChangeKind::Added,
                title: scene.title.clone(),
                fields: scene_fields(&empty_scene(), scene),
            });
            continue;
        };
        let fields = scene_fields(before, scene);
        let kind = if !fields.is_empty() {
            ChangeKind::Changed
        } else if moved.contains(scene.id.as_str()) {
            ChangeKind::Moved
        } else {
            continue;
        };
        out.push(SceneChange {
            scene_id: scene.id.clone(),
            kind,
            title: scene.title.clone(),
            fields,
        });
    }
    for scene in from
        .scenes
        .iter()
        .filter(|s| !new_ids.contains(s.id.as_str()))
    {
        out.push(SceneChange {
            scene_id: scene.id.clone(),
            kind: ChangeKind::Removed,
            title: scene.title.clone(),
            fields: Vec::new(),
        });
    }
    out
}

fn empty_scene() -> Scene {
    Scene {
        id: SceneId::from(""),
        title: String::new(),
        position: String::new(),
        location: String::new(),
        time_of_day: String::new(),
        script_range: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Shots

/// How a duration reads: seconds with one decimal, "3.0 s".
fn seconds(ms: u32) -> String {
    format!("{:.1} s", f64::from(ms) / 1000.0)
}

/// Character ids as the names the snapshot gives them (the id itself for one it does not know),
/// sorted: the set has no order of its own, and its ids are random.
fn names(ids: &[CharacterId], characters: &HashMap<&str, &Character>) -> String {
    let mut names: Vec<String> = ids
        .iter()
        .map(|id| {
            characters
                .get(id.as_str())
                .map_or_else(|| id.to_string(), |c| c.name.clone())
        })
        .collect();
    names.sort();
    names.join(", ")
}

/// An asset as a person reads it: its name, else its id.
fn asset_label(id: Option<&AssetId>, assets: &HashMap<&str, &str>) -> String {
    match id {
        None => String::new(),
        Some(id) => assets
            .get(id.as_str())
            .filter(|n| !n.is_empty())
            .map_or_else(|| id.to_string(), |n| (*n).to_owned()),
    }
}

/// Lookups of one snapshot, built once per diff.
struct Side<'a> {
    snapshot: &'a ProjectSnapshot,
    characters: HashMap<&'a str, &'a Character>,
    assets: HashMap<&'a str, &'a str>,
    scene_titles: HashMap<&'a str, &'a str>,
    /// Shot id -> (shot, 0-based index among its scene's shots).
    shots: HashMap<&'a str, (&'a Shot, usize)>,
}

impl<'a> Side<'a> {
    fn new(snapshot: &'a ProjectSnapshot) -> Self {
        let mut counts: HashMap<Option<&str>, usize> = HashMap::new();
        let shots = snapshot
            .shots
            .iter()
            .map(|s| {
                let n = counts
                    .entry(s.scene_id.as_ref().map(SceneId::as_str))
                    .or_default();
                let index = *n;
                *n += 1;
                (s.id.as_str(), (s, index))
            })
            .collect();
        Side {
            snapshot,
            characters: snapshot
                .characters
                .iter()
                .map(|c| (c.id.as_str(), c))
                .collect(),
            assets: snapshot
                .assets
                .iter()
                .map(|a| (a.id.as_str(), a.name.as_str()))
                .collect(),
            scene_titles: snapshot
                .scenes
                .iter()
                .map(|s| (s.id.as_str(), s.title.as_str()))
                .collect(),
            shots,
        }
    }

    fn place(&self, shot: &Shot, index: usize) -> ShotPlace {
        ShotPlace {
            scene_id: shot.scene_id.clone(),
            scene_title: shot
                .scene_id
                .as_ref()
                .and_then(|s| self.scene_titles.get(s.as_str()))
                .map(|t| (*t).to_owned())
                .unwrap_or_default(),
            index: u32::try_from(index + 1).unwrap_or(u32::MAX),
        }
    }
}

fn takes_label(n: usize) -> String {
    match n {
        1 => "1 take".into(),
        n => format!("{n} takes"),
    }
}

/// The readable field changes of a shot from `a` (read in `old`) to `b` (read in `new`), and
/// its take change.
fn shot_fields(
    a: &Shot,
    b: &Shot,
    old: &Side,
    new: &Side,
) -> (Vec<FieldChange>, Option<TakeChange>) {
    use schema::shot as k;
    let mut out = Vec::new();
    compare(
        &mut out,
        k::DESCRIPTION,
        a.description.clone(),
        b.description.clone(),
    );
    compare(
        &mut out,
        k::DIALOGUE,
        a.dialogue.clone(),
        b.dialogue.clone(),
    );
    compare(&mut out, k::CAMERA, a.camera.clone(), b.camera.clone());
    compare(&mut out, k::FRAMING, a.framing.clone(), b.framing.clone());
    if a.duration_ms != b.duration_ms {
        out.push(field(
            k::DURATION_MS,
            seconds(a.duration_ms),
            seconds(b.duration_ms),
        ));
    }
    // The characters are a set: compare them as one, show them as names.
    let old_set: HashSet<&CharacterId> = a.character_ids.iter().collect();
    let new_set: HashSet<&CharacterId> = b.character_ids.iter().collect();
    if old_set != new_set {
        out.push(field(
            "characters",
            names(&a.character_ids, &old.characters),
            names(&b.character_ids, &new.characters),
        ));
    }
    if a.recipe_id != b.recipe_id {
        out.push(field(
            "recipe",
            a.recipe_id.clone().unwrap_or_default(),
            b.recipe_id.clone().unwrap_or_default(),
        ));
    }
    if a.takes.len() != b.takes.len() {
        out.push(field(
            k::TAKES,
            takes_label(a.takes.len()),
            takes_label(b.takes.len()),
        ));
    }
    let take = (a.selected_take != b.selected_take).then(|| {
        out.push(field(
            k::SELECTED_TAKE,
            asset_label(a.selected_take.as_ref(), &old.assets),
            asset_label(b.selected_take.as_ref(), &new.assets),
        ));
        TakeChange {
            old: a.selected_take.clone(),
            new: b.selected_take.clone(),
        }
    });
    (out, take)
}

fn empty_shot() -> Shot {
    Shot {
        id: ShotId::from(""),
        scene_id: None,
        position: String::new(),
        description: String::new(),
        dialogue: String::new(),
        camera: String::new(),
        framing: String::new(),
        duration_ms: crate::DEFAULT_SHOT_DURATION_MS,
        character_ids: Vec::new(),
        recipe_id: None,
        takes: Vec::new(),
        selected_take: None,
    }
}

/// Ids of the shots of `to` that kept their scene but not their place among the scene's shots
/// common to both states, plus those that changed scene.
fn moved_shots(old: &Side, new: &Side) -> HashSet<String> {
    // Per scene of `to`, the shots that were in that same scene in `from`, in `to`'s order.
    let mut per_scene: HashMap<Option<&str>, Vec<&str>> = HashMap::new();
    let mut moved = HashSet::new();
    for shot in &new.snapshot.shots {
        let Some((before, _)) = old.shots.get(shot.id.as_str()) else {
            continue;
        };
        if before.scene_id != shot.scene_id {
            moved.insert(shot.id.to_string());
        } else {
            per_scene
                .entry(shot.scene_id.as_ref().map(SceneId::as_str))
                .or_default()
                .push(shot.id.as_str());
        }
    }
    let old_index: HashMap<&str, usize> = old.shots.iter().map(|(id, (_, i))| (*id, *i)).collect();
    for ids in per_scene.into_values() {
        moved.extend(moved_among(ids.into_iter(), &old_index));
    }
    moved
}

fn shot_changes(from: &ProjectSnapshot, to: &ProjectSnapshot) -> Vec<ShotChange> {
    let old = Side::new(from);
    let new = Side::new(to);
    let moved = moved_shots(&old, &new);
    let mut out = Vec::new();
    for shot in &to.shots {
        let (_, index) = new.shots[shot.id.as_str()];
        let Some(&(before, old_index)) = old.shots.get(shot.id.as_str()) else {
            let (fields, take) = shot_fields(&empty_shot(), shot, &old, &new);
            out.push(ShotChange {
                shot_id: shot.id.clone(),
                kind: ChangeKind::Added,
                from: None,
                to: Some(new.place(shot, index)),
                moved: false,
                description: shot.description.clone(),
                fields,
                take,
            });
            continue;
        };
        let (fields, take) = shot_fields(before, shot, &old, &new);
        let is_moved = moved.contains(shot.id.as_str());
        let kind = if !fields.is_empty() || take.is_some() {
            ChangeKind::Changed
        } else if is_moved {
            ChangeKind::Moved
        } else {
            continue;
        };
        out.push(ShotChange {
            shot_id: shot.id.clone(),
            kind,
            from: Some(old.place(before, old_index)),
            to: Some(new.place(shot, index)),
            moved: is_moved,
            description: shot.description.clone(),
            fields,
            take,
        });
    }
    for shot in &from.shots {
        if new.shots.contains_key(shot.id.as_str()) {
            continue;
        }
        let (_, index) = old.shots[shot.id.as_str()];
        out.push(ShotChange {
            shot_id: shot.id.clone(),
            kind: ChangeKind::Removed,
            from: Some(old.place(shot, index)),
            to: None,
            moved: false,
            description: shot.description.clone(),
            fields: Vec::new(),
            take: None,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Characters

fn character_fields(
    a: &Character,
    b: &Character,
    old_assets: &HashMap<&str, &str>,
    new_assets: &HashMap<&str, &str>,
) -> Vec<FieldChange> {
    use schema::character as k;
    let mut out = Vec::new();
    compare(&mut out, k::NAME, a.name.clone(), b.name.clone());
    compare(
        &mut out,
        k::ALIASES,
        a.aliases.join(", "),
        b.aliases.join(", "),
    );
    compare(
        &mut out,
        k::DESCRIPTION,
        a.description.clone(),
        b.description.clone(),
    );
    compare(&mut out, k::COLOR, a.color.clone(), b.color.clone());
    if a.reference_asset_ids != b.reference_asset_ids {
        let list = |ids: &[AssetId], assets: &HashMap<&str, &str>| {
            ids.iter()
                .map(|id| asset_label(Some(id), assets))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(field(
            "references",
            list(&a.reference_asset_ids, old_assets),
            list(&b.reference_asset_ids, new_assets),
        ));
    }
    out
}

fn character_changes(from: &ProjectSnapshot, to: &ProjectSnapshot) -> Vec<CharacterChange> {
    let old = Side::new_characters_only(from);
    let new = Side::new_characters_only(to);
    let mut out = Vec::new();
    for c in &to.characters {
        let (kind, fields) = match old.characters.get(c.id.as_str()) {
            None => (
                ChangeKind::Added,
                character_fields(&empty_character(), c, &old.assets, &new.assets),
            ),
            Some(before) => {
                let fields = character_fields(before, c, &old.assets, &new.assets);
                if fields.is_empty() {
                    continue;
                }
                (ChangeKind::Changed, fields)
            }
        };
        out.push(CharacterChange {
            character_id: c.id.clone(),
            kind,
            name: c.name.clone(),
            fields,
        });
    }
    for c in &from.characters {
        if !new.characters.contains_key(c.id.as_str()) {
            out.push(CharacterChange {
                character_id: c.id.clone(),
                kind: ChangeKind::Removed,
                name: c.name.clone(),
                fields: Vec::new(),
            });
        }
    }
    out
}

impl<'a> Side<'a> {
    /// The lookups the character diff needs (no shot indexing).
    fn new_characters_only(snapshot: &'a ProjectSnapshot) -> Self {
        Side {
            snapshot,
            characters: snapshot
                .characters
                .iter()
                .map(|c| (c.id.as_str(), c))
                .collect(),
            assets: snapshot
                .assets
                .iter()
                .map(|a| (a.id.as_str(), a.name.as_str()))
                .collect(),
            scene_titles: HashMap::new(),
            shots: HashMap::new(),
        }
    }
}

fn empty_character() -> Character {
    Character {
        id: CharacterId::from(""),
        name: String::new(),
        aliases: Vec::new(),
        description: String::new(),
        color: String::new(),
        reference_asset_ids: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Script

/// The script as a line diff, grouped into hunks with [`SCRIPT_CONTEXT`] lines of context.
fn script_hunks(old: &str, new: &str) -> Vec<ScriptHunk> {
    if old == new {
        return Vec::new();
    }
    let diff = similar::TextDiff::from_lines(old, new);
    diff.grouped_ops(SCRIPT_CONTEXT)
        .into_iter()
        .filter_map(|group| {
            let first = group.first()?;
            let lines = group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| ScriptLine {
                    op: match change.tag() {
                        similar::ChangeTag::Equal => LineOp::Same,
                        similar::ChangeTag::Insert => LineOp::Added,
                        similar::ChangeTag::Delete => LineOp::Removed,
                    },
                    text: change
                        .value()
                        .trim_end_matches('\n')
                        .trim_end_matches('\r')
                        .to_owned(),
                })
                .collect();
            Some(ScriptHunk {
                old_start: line_number(first.old_range().start),
                new_start: line_number(first.new_range().start),
                lines,
            })
        })
        .collect()
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_run_in_order_stays_and_the_rest_moved() {
        assert_eq!(kept_in_order(&[0, 1, 2, 3]), vec![true; 4]);
        // One item taken from the end to the front: only it moved.
        assert_eq!(kept_in_order(&[3, 0, 1, 2]), vec![false, true, true, true]);
        // Gaps (deleted items) move nothing.
        assert_eq!(kept_in_order(&[0, 4, 7, 9]), vec![true; 4]);
        assert_eq!(kept_in_order(&[1, 0]).iter().filter(|k| **k).count(), 1);
        assert!(kept_in_order(&[]).is_empty());
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(3_000), "3.0 s");
        assert_eq!(seconds(12_500), "12.5 s");
        assert_eq!(seconds(0), "0.0 s");
    }
}
