//! Fountain screenplays (fountain.io): scene headings (`INT.`/`EXT.` or a forced `.HEADING`),
//! character cues in capitals followed by dialogue, and action paragraphs. A screenplay is
//! already broken down into scenes, so the split follows its structure exactly.

use std::sync::LazyLock;

use regex::Regex;

use crate::offline::Matcher;
use crate::text::{clip, reading_time_ms};
use crate::{Breakdown, CharacterDraft, Language, Novel, SceneDraft, ShotDraft};

static SCENE_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:int|ext|est|int\./ext|int/ext|i/e)[. ]|\.[^.\s])").expect("valid regex")
});
/// A character cue: capitals (any script without case counts as such), optional extension like
/// (V.O.), forced with `@`.
static CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:@(?P<forced>[^(\n]+)|(?P<name>[A-Z][A-Z0-9 .'\-]+?))\s*(?:\([^)]*\))?\s*\^?$")
        .expect("valid regex")
});

pub(crate) fn looks_like_fountain(text: &str) -> bool {
    text.lines()
        .filter(|l| SCENE_HEADING.is_match(l.trim()))
        .take(2)
        .count()
        >= 2
}

/// The `Title:` of the title page, if any.
pub(crate) fn title(text: &str) -> Option<String> {
    text.lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| l.strip_prefix("Title:"))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn scene_heading(line: &str) -> Option<&str> {
    let line = line.trim();
    SCENE_HEADING
        .is_match(line)
        .then(|| line.strip_prefix('.').unwrap_or(line))
}

pub(crate) fn breakdown(novel: &Novel) -> Breakdown {
    let script = &novel.script;
    let blocks: Vec<(usize, &str)> = {
        let mut out = Vec::new();
        let mut offset = 0;
        for block in script.split("\n\n") {
            out.push((offset, block));
            offset += block.len() + 2;
        }
        out
    };

    let mut cues: Vec<String> = Vec::new();
    for (_, block) in &blocks {
        let first = block.lines().next().unwrap_or("");
        if block.lines().count() > 1
            && scene_heading(first).is_none()
            && let Some(name) = cue_name(first)
            && !cues.contains(&name)
        {
            cues.push(name);
        }
    }
    let characters: Vec<CharacterDraft> = cues
        .iter()
        .map(|n| CharacterDraft {
            name: n.clone(),
            aliases: Vec::new(),
            description: String::new(),
        })
        .collect();
    let matcher = Matcher::new(&characters, Language::En);

    let mut scenes: Vec<SceneDraft> = Vec::new();
    for (start, block) in blocks {
        let mut lines = block.lines();
        let first = lines.next().unwrap_or("").trim();
        if first.is_empty()
            || first.contains(':')
                && scenes.is_empty()
                && !first.starts_with('.')
                && scene_heading(first).is_none()
        {
            continue; // title page key: value lines
        }
        if let Some(heading) = scene_heading(first) {
            let (location, time) = heading.rsplit_once(" - ").unwrap_or((heading, ""));
            scenes.push(SceneDraft {
                title: heading.to_owned(),
                chapter: novel.title.clone(),
                range: start..start + block.len(),
                location: location.to_owned(),
                time_of_day: time.trim().to_lowercase(),
                shots: Vec::new(),
            });
            continue;
        }
        let Some(scene) = scenes.last_mut() else {
            continue;
        };
        scene.range.end = start + block.len();
        let rest: Vec<&str> = lines
            .map(str::trim)
            .filter(|l| !l.starts_with('('))
            .collect();
        match cue_name(first).filter(|_| !rest.is_empty()) {
            Some(speaker) => {
                let dialogue = rest.join(" ");
                scene.shots.push(ShotDraft {
                    description: format!("{speaker} speaks"),
                    duration_ms: reading_time_ms(&dialogue, Language::En),
                    framing: "medium".into(),
                    characters: vec![speaker],
                    dialogue,
                });
            }
            None => {
                let action = block.lines().map(str::trim).collect::<Vec<_>>().join(" ");
                let framing = if scene.shots.is_empty() {
                    "wide"
                } else {
                    "medium"
                };
                scene.shots.push(ShotDraft {
                    description: clip(&action, 240),
                    duration_ms: reading_time_ms(&action, Language::En),
                    framing: framing.into(),
                    characters: matcher.mentioned(&action),
                    dialogue: String::new(),
                });
            }
        }
    }
    scenes.retain(|s| !s.shots.is_empty());
    Breakdown { scenes, characters }
}

fn cue_name(line: &str) -> Option<String> {
    let caps = CUE.captures(line.trim())?;
    let name = caps.name("forced").or(caps.name("name"))?.as_str().trim();
    // A transition (CUT TO:) ends with a colon and never reaches here; a one-letter cue is noise.
    (name.chars().count() > 1).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImportOptions, import};

    const SCRIPT: &str = "Title: Brick & Steel\nAuthor: Stu Maschwitz\n\nEXT. BRICK'S PATIO - DAY\n\nA gorgeous day. The sun is shining.\n\nSTEEL (O.S.)\nBeer's ready!\n\nBRICK\n(cheerful)\nAre they cold?\n\nINT. GARAGE - NIGHT\n\nSteel opens the fridge. BRICK watches.\n";

    #[test]
    fn scenes_dialogue_and_cues() {
        let novel = import(SCRIPT.as_bytes(), &ImportOptions::default()).expect("a screenplay");
        assert_eq!(novel.title, "Brick & Steel");
        let b = breakdown(&novel);
        let titles: Vec<&str> = b.scenes.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["EXT. BRICK'S PATIO - DAY", "INT. GARAGE - NIGHT"]);
        assert_eq!(b.scenes[0].time_of_day, "day");
        let shots = &b.scenes[0].shots;
        assert_eq!(shots.len(), 3);
        assert_eq!(
            (shots[1].characters[0].as_str(), shots[1].dialogue.as_str()),
            ("STEEL", "Beer's ready!")
        );
        assert_eq!(shots[2].dialogue, "Are they cold?");
        assert_eq!(b.characters.len(), 2);
    }
}
