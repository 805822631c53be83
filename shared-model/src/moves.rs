//! Pure moves over what the document holds, without touching it: where a shot goes when it is
//! nudged or dropped on the board, and where an offset (a caret) goes when a text changes under
//! it.
//!
//! The board and the text editors in the browser decide these before calling a [`Project`]
//! method, and the answers are easy to get subtly wrong at a scene's edge or next to a
//! surrogate pair, so they live here where native tests reach them. Offsets are UTF-16 code
//! units, like every offset in this crate.
//!
//! [`Project`]: crate::Project

use crate::{Scene, SceneId, ScriptDelta, Shot, ShotId};

/// Where a shot goes: a scene and an index among that scene's shots (as
/// [`Project::move_shot`](crate::Project::move_shot) takes it; `usize::MAX` is the end).
pub type Target = (SceneId, usize);

/// The shots of `scene`, in the order `shots` (storyboard order) has them.
fn in_scene<'a>(shots: &'a [Shot], scene: &'a SceneId) -> impl Iterator<Item = &'a Shot> {
    shots
        .iter()
        .filter(move |s| s.scene_id.as_ref() == Some(scene))
}

/// Moving shot `id` one place later (or earlier): within its scene, or past the scene's edge
/// into the next scene's start (the previous scene's end). `None` when there is nowhere to go
/// (the first shot of the first scene moving earlier, the last of the last moving later) or the
/// shot is unknown or has no scene.
pub fn nudge(scenes: &[Scene], shots: &[Shot], id: &ShotId, later: bool) -> Option<Target> {
    let scene = shots.iter().find(|s| &s.id == id)?.scene_id.clone()?;
    let siblings: Vec<&Shot> = in_scene(shots, &scene).collect();
    let i = siblings.iter().position(|s| &s.id == id)?;
    let scene_index = scenes.iter().position(|s| s.id == scene)?;
    if later {
        if i + 1 < siblings.len() {
            Some((scene, i + 1))
        } else {
            scenes.get(scene_index + 1).map(|s| (s.id.clone(), 0))
        }
    } else if i > 0 {
        Some((scene, i - 1))
    } else {
        let previous = scene_index.checked_sub(1)?;
        scenes.get(previous).map(|s| (s.id.clone(), usize::MAX))
    }
}

/// Dropping shot `dragged` onto shot `onto`: it takes `onto`'s place (just before it) in
/// `onto`'s scene. The index counts the scene's shots without the dragged one, because
/// [`Project::move_shot`](crate::Project::move_shot) places the shot among the others. `None`
/// for a drop onto itself or onto a shot without a scene.
pub fn drop_onto(shots: &[Shot], dragged: &ShotId, onto: &ShotId) -> Option<Target> {
    if dragged == onto {
        return None;
    }
    let scene = shots.iter().find(|s| &s.id == onto)?.scene_id.clone()?;
    let index = in_scene(shots, &scene)
        .filter(|s| &s.id != dragged)
        .position(|s| &s.id == onto)?;
    Some((scene, index))
}

/// The shot to select after deleting `id`: the next one in storyboard order, else the previous
/// one.
pub fn after_delete(shots: &[Shot], id: &ShotId) -> Option<ShotId> {
    let i = shots.iter().position(|s| &s.id == id)?;
    shots
        .get(i + 1)
        .or_else(|| i.checked_sub(1).and_then(|j| shots.get(j)))
        .map(|s| s.id.clone())
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// Where the caret belongs after a change made by undo or redo: after the last text inserted,
/// or where the last text was removed. `None` for a delta that changes nothing.
pub fn caret_after(delta: &[ScriptDelta]) -> Option<u32> {
    let mut offset = 0u32;
    let mut caret = None;
    for step in delta {
        match step {
            ScriptDelta::Retain(n) => offset += n,
            ScriptDelta::Insert(text) => {
                offset += utf16_len(text);
                caret = Some(offset);
            }
            ScriptDelta::Delete(_) => caret = Some(offset),
        }
    }
    caret
}

/// Where `offset` ends up after `delta` is applied (someone else's change arriving while ours
/// was not yet in the document). An insertion exactly at `offset` pushes it right; an offset
/// inside deleted text goes to where the deletion was.
pub fn transform(offset: u32, delta: &[ScriptDelta]) -> u32 {
    let mut pos = 0u32; // position in the old text
    let mut moved = offset;
    for step in delta {
        if pos > offset {
            break;
        }
        match step {
            ScriptDelta::Retain(n) => pos += n,
            ScriptDelta::Insert(text) => moved += utf16_len(text),
            ScriptDelta::Delete(n) => {
                let overlap = (*n).min(offset.saturating_sub(pos));
                moved -= overlap;
                pos += n;
            }
        }
    }
    moved
}

/// The smallest change that turns `old` into `new`, found by their common prefix and suffix:
/// the whole-value view of a text field (what an `<input>` reports, or what a remote change left
/// in a shot's description) turned back into one edit. Never splits a surrogate pair, so the
/// delta's pieces are valid strings.
pub fn splice(old: &str, new: &str) -> Vec<ScriptDelta> {
    let (prefix, suffix) = common_ends(old, new);
    let deleted = utf16_len(&old[prefix..old.len() - suffix]);
    let inserted = &new[prefix..new.len() - suffix];
    let mut delta = Vec::with_capacity(3);
    if deleted == 0 && inserted.is_empty() {
        return delta;
    }
    if prefix > 0 {
        delta.push(ScriptDelta::Retain(utf16_len(&old[..prefix])));
    }
    if deleted > 0 {
        delta.push(ScriptDelta::Delete(deleted));
    }
    if !inserted.is_empty() {
        delta.push(ScriptDelta::Insert(inserted.to_owned()));
    }
    delta
}

/// The byte lengths of the longest common prefix of `old` and `new` and of the longest common
/// suffix after it (so the two never overlap), on character boundaries: what differs between
/// them is `old[prefix..old.len() - suffix]` against `new[prefix..new.len() - suffix]`. The one
/// diff behind [`splice`] and the document's whole-value writes of text fields.
pub(crate) fn common_ends(old: &str, new: &str) -> (usize, usize) {
    let prefix = old
        .char_indices()
        .zip(new.chars())
        .find(|((_, x), y)| x != y)
        .map_or_else(|| old.len().min(new.len()), |((i, _), _)| i);
    let suffix = old[prefix..]
        .chars()
        .rev()
        .zip(new[prefix..].chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum();
    (prefix, suffix)
}

/// A field's selection carried from `old` to `new` text (a remote change arrived while the
/// field had focus): both ends move through the [`splice`] between them.
pub fn carry_selection(old: &str, new: &str, start: u32, end: u32) -> (u32, u32) {
    let delta = splice(old, new);
    let start = transform(start, &delta);
    let end = transform(end, &delta).max(start);
    (start, end)
}

/// A text field's edit merged with a change the document got meanwhile: the field showed
/// `base`, its user made it `local`, and the document now holds `current` (someone else's edit
/// of `base` that the field has not shown yet, as while an input method composes). The local
/// edit, as one [`splice`] of `base`, is moved through the remote one and applied to `current`.
/// Returns the merged text and where the caret goes (after the local edit).
pub fn merge_field(base: &str, local: &str, current: &str) -> (String, u32) {
    let mine = splice(base, local);
    let theirs = splice(base, current);
    let (mut start, mut deleted, mut inserted) = (0u32, 0u32, "");
    for step in &mine {
        match step {
            ScriptDelta::Retain(n) => start = *n,
            ScriptDelta::Delete(n) => deleted = *n,
            ScriptDelta::Insert(text) => inserted = text,
        }
    }
    let from = transform(start, &theirs);
    let to = transform(start + deleted, &theirs).max(from);
    let units: Vec<u16> = current.encode_utf16().collect();
    let (from, to) = (
        (from as usize).min(units.len()),
        (to as usize).min(units.len()),
    );
    let mut merged: Vec<u16> = Vec::with_capacity(units.len() + inserted.len());
    merged.extend(&units[..from]);
    merged.extend(inserted.encode_utf16());
    merged.extend(&units[to..]);
    let caret = (from + inserted.encode_utf16().count()) as u32;
    (String::from_utf16_lossy(&merged), caret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScriptDelta::*;

    fn scene(id: &str) -> Scene {
        Scene {
            id: SceneId::from(id),
            title: String::new(),
            position: String::new(),
            location: String::new(),
            time_of_day: String::new(),
            script_range: None,
        }
    }

    fn shot(id: &str, scene: &str) -> Shot {
        Shot {
            id: ShotId::from(id),
            scene_id: Some(SceneId::from(scene)),
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

    /// Two scenes, `a1 a2 a3 | b1 b2`, and an empty third scene.
    fn board() -> (Vec<Scene>, Vec<Shot>) {
        let scenes = vec![scene("A"), scene("B"), scene("C")];
        let shots = vec![
            shot("a1", "A"),
            shot("a2", "A"),
            shot("a3", "A"),
            shot("b1", "B"),
            shot("b2", "B"),
        ];
        (scenes, shots)
    }

    fn target(scene: &str, index: usize) -> Option<Target> {
        Some((SceneId::from(scene), index))
    }

    #[test]
    fn nudging_moves_within_a_scene_and_across_its_edges() {
        let (scenes, shots) = board();
        let id = |s: &str| ShotId::from(s);
        assert_eq!(nudge(&scenes, &shots, &id("a1"), true), target("A", 1));
        assert_eq!(nudge(&scenes, &shots, &id("a2"), false), target("A", 0));
        // Past the end of A: the start of B; past the start of B: the end of A.
        assert_eq!(nudge(&scenes, &shots, &id("a3"), true), target("B", 0));
        assert_eq!(
            nudge(&scenes, &shots, &id("b1"), false),
            target("A", usize::MAX)
        );
        // The last shot of B crosses into the empty scene C.
        assert_eq!(nudge(&scenes, &shots, &id("b2"), true), target("C", 0));
        // Nowhere to go, or nothing to move.
        assert_eq!(nudge(&scenes, &shots, &id("a1"), false), None);
        assert_eq!(nudge(&scenes[..2], &shots, &id("b2"), true), None);
        assert_eq!(nudge(&scenes, &shots, &id("zz"), true), None);
    }

    #[test]
    fn a_dropped_shot_takes_the_place_of_the_shot_it_lands_on() {
        let (_, shots) = board();
        let id = |s: &str| ShotId::from(s);
        // a3 onto a1: first of A. a1 onto a3: a3 is second once a1 is out of the way.
        assert_eq!(drop_onto(&shots, &id("a3"), &id("a1")), target("A", 0));
        assert_eq!(drop_onto(&shots, &id("a1"), &id("a3")), target("A", 1));
        // Into another scene, before the shot it lands on.
        assert_eq!(drop_onto(&shots, &id("a2"), &id("b2")), target("B", 1));
        assert_eq!(drop_onto(&shots, &id("b1"), &id("b1")), None);
        assert_eq!(drop_onto(&shots, &id("b1"), &id("zz")), None);
    }

    #[test]
    fn deleting_selects_the_next_shot_else_the_previous() {
        let (_, shots) = board();
        let id = |s: &str| ShotId::from(s);
        assert_eq!(after_delete(&shots, &id("a3")), Some(id("b1")));
        assert_eq!(after_delete(&shots, &id("b2")), Some(id("b1")));
        assert_eq!(after_delete(&shots[..1], &id("a1")), None);
    }

    #[test]
    fn the_caret_goes_after_the_last_change() {
        assert_eq!(
            caret_after(&[Retain(3), Insert("ab".into()), Retain(4)]),
            Some(5)
        );
        assert_eq!(caret_after(&[Retain(3), Delete(2)]), Some(3));
        assert_eq!(caret_after(&[Retain(3)]), None);
        // A surrogate pair counts two units.
        assert_eq!(caret_after(&[Insert("🎬".into())]), Some(2));
    }

    #[test]
    fn offsets_transform_through_concurrent_deltas() {
        assert_eq!(transform(5, &[Retain(2), Insert("abc".into())]), 8);
        assert_eq!(transform(5, &[Retain(5), Insert("abc".into())]), 8);
        assert_eq!(transform(5, &[Retain(6), Insert("abc".into())]), 5);
        assert_eq!(transform(5, &[Retain(1), Delete(2)]), 3);
        assert_eq!(transform(5, &[Retain(4), Delete(3)]), 4);
        assert_eq!(transform(5, &[Delete(9)]), 0);
    }

    /// Applies a delta to a string, independently of the code under test.
    fn apply(text: &str, delta: &[ScriptDelta]) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let mut out: Vec<u16> = Vec::new();
        let mut pos = 0usize;
        for step in delta {
            match step {
                Retain(n) => {
                    out.extend(&units[pos..pos + *n as usize]);
                    pos += *n as usize;
                }
                Delete(n) => pos += *n as usize,
                Insert(s) => out.extend(s.encode_utf16()),
            }
        }
        out.extend(&units[pos..]);
        String::from_utf16(&out).unwrap_or_else(|_| panic!("delta split a surrogate pair"))
    }

    #[test]
    fn a_splice_is_the_smallest_edit_between_two_texts() {
        assert_eq!(
            splice("the cat sat", "the black cat sat"),
            vec![Retain(4), Insert("black ".into())]
        );
        assert_eq!(splice("abcdef", "abef"), vec![Retain(2), Delete(2)]);
        assert_eq!(splice("abc", "xyz"), vec![Delete(3), Insert("xyz".into())]);
        assert_eq!(splice("same", "same"), Vec::<ScriptDelta>::new());
        assert_eq!(splice("", ""), Vec::<ScriptDelta>::new());
        assert_eq!(splice("", "new"), vec![Insert("new".into())]);
        // Repeated letters: the prefix is taken first, the suffix never overlaps it.
        assert_eq!(splice("aaa", "aaaa"), vec![Retain(3), Insert("a".into())]);
        assert_eq!(splice("aaaa", "aa"), vec![Retain(2), Delete(2)]);
    }

    #[test]
    fn a_splice_never_splits_a_surrogate_pair() {
        // 🎬 (D83C DFAC) and 🎥 (D83C DFA5) share their high half; 🍎 (D83C DF4E) and 𠍎
        // (D840 DF4E) their low half.
        for (old, new) in [
            ("a🎬b", "a🎥b"),
            ("🎬", "🎥"),
            ("x🍎", "x𠍎"),
            ("🍎y", "𠍎y"),
            ("刘备🎬", "刘备🎥关羽"),
        ] {
            let delta = splice(old, new);
            assert_eq!(apply(old, &delta), new, "{old} -> {new}: {delta:?}");
        }
        assert_eq!(
            splice("a🎬b", "a🎥b"),
            vec![Retain(1), Delete(2), Insert("🎥".into())]
        );
        assert_eq!(splice("🍎y", "𠍎y"), vec![Delete(2), Insert("𠍎".into())]);
    }

    #[test]
    fn a_focused_fields_selection_follows_a_remote_change() {
        let old = "The rabbit runs.";
        // Caret after "rabbit" (offset 10); someone inserts "white " before it.
        let new = "The white rabbit runs.";
        assert_eq!(carry_selection(old, new, 10, 10), (16, 16));
        // A change after the caret leaves it alone.
        assert_eq!(
            carry_selection(old, "The rabbit runs away.", 10, 10),
            (10, 10)
        );
        // A selection of "rabbit" (4..10) keeps covering it when text arrives in front.
        assert_eq!(carry_selection(old, new, 4, 10), (10, 16));
        // The selected text removed: both ends collapse to where it was.
        assert_eq!(carry_selection(old, "The  runs.", 4, 10), (4, 4));
        // Text in Chinese, with the caret between two characters.
        assert_eq!(carry_selection("刘备关羽", "张飞刘备关羽", 2, 2), (4, 4));
    }

    #[test]
    fn a_field_edit_merges_with_a_change_it_had_not_shown() {
        // The field showed "The rabbit runs."; its user typed " fast" before the full stop
        // while someone else put "white " before "rabbit".
        let (merged, caret) = merge_field(
            "The rabbit runs.",
            "The rabbit runs fast.",
            "The white rabbit runs.",
        );
        assert_eq!(merged, "The white rabbit runs fast.");
        assert_eq!(
            caret,
            "The white rabbit runs fast".encode_utf16().count() as u32
        );
        // Nothing arrived meanwhile: the local text as it is.
        assert_eq!(merge_field("ab", "abc", "ab"), ("abc".to_owned(), 3));
        // A deletion on both sides of the same text removes it once.
        assert_eq!(
            merge_field("刘备关羽张飞", "刘备张飞", "刘备张飞"),
            ("刘备张飞".to_owned(), 2)
        );
    }
}
