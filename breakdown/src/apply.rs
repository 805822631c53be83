//! Writing a breakdown into a project document.

use shared_model::{
    CharacterId, MetaPatch, NewCharacter, NewScene, NewShot, Project, SceneId, ShotId,
};

use crate::text::Utf16Cursor;
use crate::{Breakdown, Novel};

/// What [`apply`] created.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub scenes: Vec<SceneId>,
    pub shots: Vec<ShotId>,
    pub characters: Vec<CharacterId>,
}

/// Writes the novel's script and the breakdown into `project`: meta (title, language), the
/// script, characters, then each scene with its shots in one transaction, every scene anchored
/// to its range of the script.
pub fn apply(novel: &Novel, breakdown: &Breakdown, project: &Project) -> Applied {
    project.update_meta(&MetaPatch {
        title: Some(novel.title.clone()),
        language: Some(novel.language.tag().into()),
        aspect_ratio: None,
    });
    project.script_replace_all(&novel.script);
    apply_plan(novel, breakdown, project)
}

/// Writes characters, scenes and shots only, for a project whose script already is
/// `novel.script` (a second breakdown of an existing project).
pub fn apply_plan(novel: &Novel, breakdown: &Breakdown, project: &Project) -> Applied {
    let mut applied = Applied::default();
    let mut by_name = std::collections::HashMap::new();
    for c in &breakdown.characters {
        let id = project.add_character(&NewCharacter {
            name: c.name.clone(),
            aliases: c.aliases.clone(),
            description: c.description.clone(),
            ..Default::default()
        });
        by_name.insert(c.name.clone(), id.clone());
        applied.characters.push(id);
    }

    let mut cursor = Utf16Cursor::new(&novel.script);
    for scene in &breakdown.scenes {
        let start = cursor.advance(scene.range.start);
        let end = cursor.advance(scene.range.end);
        let anchor = project.script_anchor(start..end).ok();
        let shots: Vec<NewShot> = scene
            .shots
            .iter()
            .map(|s| NewShot {
                description: s.description.clone(),
                dialogue: s.dialogue.clone(),
                framing: s.framing.clone(),
                duration_ms: s.duration_ms,
                character_ids: s
                    .characters
                    .iter()
                    .filter_map(|n| by_name.get(n).cloned())
                    .collect(),
                ..Default::default()
            })
            .collect();
        let new_scene = NewScene {
            title: scene.title.clone(),
            location: scene.location.clone(),
            time_of_day: scene.time_of_day.clone(),
            script_range: anchor,
        };
        let (id, shot_ids) = project.add_scene_with_shots(&new_scene, &shots);
        applied.scenes.push(id);
        applied.shots.extend(shot_ids);
    }
    applied
}
