//! Breakdown by a language model: the prompt, the answer's schema and its validation, and the
//! loop over chunks of the novel. The model is reached through a caller-supplied `ask`
//! function (the server passes an OpenAI-compatible chat adapter in JSON mode), so this module
//! stays free of IO and is tested with scripted answers.
//!
//! Every answer is read into typed structs (through `serde_path_to_error`) and then validated
//! for what types cannot say (lengths in range, nothing empty); either way the message names
//! the exact field (`answer.scenes[2].shots[0].duration_seconds: invalid type: string "x",
//! expected f64`, `answer.scenes[0].shots must be a non-empty array`) and is what the re-ask
//! sends back to the model. Repair of broken JSON and re-asking are the adapter's job; what
//! reaches [`run`] is either a value that passed [`check`] or a final error.

use std::future::Future;
use std::ops::RangeInclusive;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::text::clip;
use crate::{Breakdown, CharacterDraft, Novel, SceneDraft, ShotDraft};

/// Chapters longer than this (in characters) are sent in several chunks, split at paragraphs,
/// so that the answer fits the model's output limit.
pub const DEFAULT_CHUNK_CHARS: usize = 6_000;

/// Changes whenever [`SYSTEM_PROMPT`] or the chunk prompt does; recorded with every LLM
/// breakdown job, so a result can be traced to the prompt that made it.
pub const PROMPT_VERSION: &str = "1";

/// The shortest and longest shot, in whole seconds, that the prompt asks for and [`check`]
/// accepts. Macros rather than constants because the prompt is a `const &str` built with
/// `concat!`, which takes literals only; [`SHOT_SECONDS`] reads the same two.
macro_rules! shortest_shot {
    () => {
        1
    };
}
macro_rules! longest_shot {
    () => {
        20
    };
}

/// Shot lengths, in seconds, that the prompt asks for and [`check`] accepts: a storyboard
/// panel holds one moment, and an answer of 45 s is a scene the model did not cut, so it is
/// re-asked rather than stored.
pub const SHOT_SECONDS: RangeInclusive<u32> = shortest_shot!()..=longest_shot!();

/// The system message of every chunk: the answer's shape, which [`check`] enforces.
pub const SYSTEM_PROMPT: &str = concat!(
    "You are a storyboard artist's assistant. You break a passage of a novel into \
film scenes and shots. Answer with one JSON object only, no prose, of this shape:\n\
{\"scenes\": [{\"title\": string, \"location\": string, \"time_of_day\": \"day\"|\"night\"|\"\", \
\"start_quote\": the first 10 to 20 characters of the passage text where the scene starts, copied exactly, \
\"shots\": [{\"description\": what the camera sees, \"dialogue\": spoken line or \"\", \
\"speaker\": character name or null, \"framing\": \"wide\"|\"medium\"|\"close-up\"|\"extreme close-up\", \
\"duration_seconds\": number between ",
    shortest_shot!(),
    " and ",
    longest_shot!(),
    ", \"characters\": [character names]}]}], \
\"characters\": [{\"name\": canonical name, \"aliases\": [other names used in the text], \"description\": appearance}]}\n\
Write descriptions and dialogue in the language of the passage. Every scene has at least one shot."
);

/// One request to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub chapter: String,
    /// Byte range of the novel's script.
    pub range: std::ops::Range<usize>,
    pub user_prompt: String,
}

/// Splits the novel into chunks of at most `max_chars` characters, at paragraph boundaries
/// within chapters.
pub fn chunks(novel: &Novel, max_chars: usize) -> Vec<Chunk> {
    let mut out = Vec::new();
    for chapter in &novel.chapters {
        let text = &novel.script[chapter.range.clone()];
        let mut start = 0;
        let mut chars = 0;
        let mut last_break = None;
        for (i, c) in text.char_indices() {
            chars += 1;
            if c == '\n' {
                last_break = Some(i + 1);
            }
            if chars >= max_chars
                && let Some(cut) = last_break.filter(|&b| b > start)
            {
                out.push(chunk(
                    novel,
                    &chapter.title,
                    chapter.range.start + start..chapter.range.start + cut,
                ));
                chars = text[cut..i + c.len_utf8()].chars().count();
                start = cut;
            }
        }
        if start < text.len() {
            out.push(chunk(
                novel,
                &chapter.title,
                chapter.range.start + start..chapter.range.end,
            ));
        }
    }
    out
}

fn chunk(novel: &Novel, chapter: &str, range: std::ops::Range<usize>) -> Chunk {
    let user_prompt = format!(
        "Novel: {}\nChapter: {}\nBreak this passage into scenes and shots as JSON.\n\nPASSAGE:\n{}",
        novel.title,
        chapter,
        &novel.script[range.clone()]
    );
    Chunk {
        chapter: chapter.to_owned(),
        range,
        user_prompt,
    }
}

/// The answer as [`SYSTEM_PROMPT`] asks for it. The fields the board is built from are typed
/// strictly (a duration given as `"3"` is re-asked, as it always was); those models commonly
/// leave out or fill loosely are optional or a [`LooseString`]. Unknown fields are accepted
/// everywhere (no `deny_unknown_fields`): models add keys of their own ("camera", "notes") to
/// otherwise good answers, the check has always let them through, and refusing one would cost
/// a re-ask for nothing.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an object with \"scenes\"")]
struct Answer {
    scenes: Vec<Scene>,
    /// Missing or `null` is no new characters.
    #[serde(default)]
    characters: Option<Vec<Character>>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a scene object")]
struct Scene {
    /// `null`, missing or blank: [`run`] names the scene after its chapter.
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    location: LooseString,
    #[serde(default)]
    time_of_day: LooseString,
    #[serde(default)]
    start_quote: LooseString,
    shots: Vec<Shot>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a shot object")]
struct Shot {
    /// Missing, `null` or blank is refused by [`validate`], which says "must not be empty"
    /// for all three.
    #[serde(default)]
    description: Option<String>,
    duration_seconds: f64,
    #[serde(default)]
    dialogue: LooseString,
    #[serde(default)]
    speaker: LooseString,
    /// Missing or not a string: medium, the neutral framing.
    #[serde(default)]
    framing: LooseString,
    #[serde(default)]
    characters: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "a character object")]
struct Character {
    /// Missing, `null` or blank is refused by [`validate`].
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    description: LooseString,
}

/// A string field that may come as anything: models write `null`, `0` or `[]` for a location
/// or a speaker they have none for, and nothing downstream needs more than "a string or
/// nothing", so any non-string value reads as absent instead of failing the answer.
#[derive(Debug, Default)]
struct LooseString(Option<String>);

impl<'de> Deserialize<'de> for LooseString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(s) => LooseString(Some(s)),
            _ => LooseString(None),
        })
    }
}

impl LooseString {
    fn or(self, default: &str) -> String {
        self.0.unwrap_or_else(|| default.to_owned())
    }
}

/// The path of a field of the answer, as the messages name it: `answer.scenes[2].shots[0]`.
fn answer_path(path: &serde_path_to_error::Path) -> String {
    match path.to_string().as_str() {
        "." => "answer".to_owned(),
        p => format!("answer.{p}"),
    }
}

/// Validates one answer against the schema in [`SYSTEM_PROMPT`]; the error names the field and
/// says what to fix, and is sent back to the model as it is.
pub fn check(answer: &Value) -> Result<(), String> {
    parse(answer).map(|_| ())
}

/// Each scene with the quote it starts at (its range is found later), and the characters.
type Parsed = (Vec<(String, SceneDraft)>, Vec<CharacterDraft>);

/// Scenes (without ranges) and characters from a valid answer.
fn parse(answer: &Value) -> Result<Parsed, String> {
    // serde also reads a struct from an array of its fields in order, which no prompt asks
    // for and which would make `[]` fail as "invalid length 0": refuse a non-object plainly.
    let kind = match answer {
        Value::Object(_) => None,
        Value::Null => Some("null"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(_) => Some("number"),
        Value::String(_) => Some("string"),
        Value::Array(_) => Some("array"),
    };
    if let Some(kind) = kind {
        return Err(format!(
            "answer: invalid type: {kind}, expected an object with \"scenes\""
        ));
    }
    let answer: Answer = serde_path_to_error::deserialize(answer)
        .map_err(|e| format!("{}: {}", answer_path(e.path()), e.inner()))?;
    validate(&answer)?;
    let scenes = answer
        .scenes
        .into_iter()
        .map(|scene| {
            let shots = scene.shots.into_iter().map(shot_draft).collect();
            let draft = SceneDraft {
                title: scene.title.unwrap_or_default(),
                chapter: String::new(),
                range: 0..0,
                location: scene.location.or(""),
                time_of_day: scene.time_of_day.or(""),
                shots,
            };
            (scene.start_quote.or(""), draft)
        })
        .collect();
    let characters = answer
        .characters
        .unwrap_or_default()
        .into_iter()
        .map(|c| CharacterDraft {
            name: c.name.unwrap_or_default(),
            aliases: c.aliases.unwrap_or_default(),
            description: c.description.or(""),
        })
        .collect();
    Ok((scenes, characters))
}

/// What the types cannot say: nothing the board needs is empty, and every shot is as long as
/// the prompt asked. Shot characters are not checked against the answer's character list: a
/// chunk's shots may name someone introduced by an earlier chunk, and names that resolve to
/// no character are dropped when the plan is applied.
fn validate(answer: &Answer) -> Result<(), String> {
    if answer.scenes.is_empty() {
        return Err("answer.scenes must not be empty".into());
    }
    for (i, scene) in answer.scenes.iter().enumerate() {
        let path = format!("answer.scenes[{i}]");
        if scene.shots.is_empty() {
            return Err(format!("{path}.shots must be a non-empty array"));
        }
        for (j, shot) in scene.shots.iter().enumerate() {
            let path = format!("{path}.shots[{j}]");
            let seconds = shot.duration_seconds;
            if !(f64::from(*SHOT_SECONDS.start())..=f64::from(*SHOT_SECONDS.end()))
                .contains(&seconds)
            {
                return Err(format!(
                    "{path}.duration_seconds must be between {} and {} seconds, not {seconds}",
                    SHOT_SECONDS.start(),
                    SHOT_SECONDS.end()
                ));
            }
            if shot
                .description
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
            {
                return Err(format!("{path}.description must not be empty"));
            }
        }
    }
    for (i, character) in answer.characters.iter().flatten().enumerate() {
        if character
            .name
            .as_deref()
            .is_none_or(|n| n.trim().is_empty())
        {
            return Err(format!("answer.characters[{i}].name must not be empty"));
        }
    }
    Ok(())
}

/// A validated shot as a draft: the speaker first among its characters, the description
/// clipped to what a card shows.
fn shot_draft(shot: Shot) -> ShotDraft {
    let mut characters = shot.characters.unwrap_or_default();
    if let Some(speaker) = shot.speaker.0.filter(|s| !s.is_empty()) {
        characters.retain(|c| *c != speaker);
        characters.insert(0, speaker);
    }
    ShotDraft {
        description: clip(&shot.description.unwrap_or_default(), 400),
        dialogue: shot.dialogue.or(""),
        framing: shot.framing.or("medium"),
        duration_ms: (shot.duration_seconds * 1000.0).round() as u32,
        characters,
    }
}

/// Why an LLM breakdown failed, with the chunk it failed on.
#[derive(Debug, thiserror::Error)]
#[error("breakdown of {chapter} (part {part}) failed: {reason}")]
pub struct LlmError {
    pub chapter: String,
    pub part: usize,
    pub reason: String,
}

/// Runs the breakdown chunk by chunk. `ask(system, user)` returns the model's JSON answer,
/// already checked with [`check`] (the chat adapter validates, repairs and re-asks), or a final
/// error message. `progress(done, total)` is called after every chunk.
pub async fn run<F, Fut>(
    novel: &Novel,
    max_chars: usize,
    ask: F,
    mut progress: impl FnMut(usize, usize),
) -> Result<Breakdown, LlmError>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<Value, String>>,
{
    let chunks = chunks(novel, max_chars);
    let mut scenes: Vec<SceneDraft> = Vec::new();
    let mut characters: Vec<CharacterDraft> = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let fail = |reason: String| LlmError {
            chapter: chunk.chapter.clone(),
            part: i + 1,
            reason,
        };
        let answer = ask(SYSTEM_PROMPT.to_owned(), chunk.user_prompt.clone())
            .await
            .map_err(fail)?;
        // The adapter checked the answer; check again so a misbehaving caller cannot slip
        // unvalidated data into the document.
        let (found, cast) = parse(&answer).map_err(fail)?;
        let text = &novel.script[chunk.range.clone()];
        // Scenes are in order, so each quote is looked for after the previous scene's: a
        // phrase the text repeats ("* * *" break lines, a refrain) must find its own place,
        // and a quote the model garbled must not move a scene backwards.
        let mut starts: Vec<usize> = Vec::with_capacity(found.len());
        let (mut last, mut search_from) = (0, 0);
        for (quote, _) in &found {
            if let Some(at) = (!quote.is_empty())
                .then(|| text.get(search_from..)?.find(quote.as_str()))
                .flatten()
            {
                last = search_from + at;
                search_from = last + quote.len();
            }
            starts.push(last);
        }
        for (k, (_, mut scene)) in found.into_iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(text.len());
            scene.range = chunk.range.start + starts[k]..chunk.range.start + end;
            scene.chapter = chunk.chapter.clone();
            if scene.title.trim().is_empty() {
                scene.title = format!("{} · {}", chunk.chapter, scenes.len() + 1);
            }
            scenes.push(scene);
        }
        merge_characters(&mut characters, cast);
        progress(i + 1, chunks.len());
    }
    // Shots name characters by any of their names; point them at the canonical one.
    for shot in scenes.iter_mut().flat_map(|s| s.shots.iter_mut()) {
        for name in shot.characters.iter_mut() {
            if let Some(c) = characters.iter().find(|c| c.aliases.contains(name)) {
                *name = c.name.clone();
            }
        }
        shot.characters.dedup();
    }
    Ok(Breakdown { scenes, characters })
}

/// Adds characters from a later chunk, merging those that share a name or alias.
fn merge_characters(into: &mut Vec<CharacterDraft>, found: Vec<CharacterDraft>) {
    for c in found {
        let names: Vec<&String> = std::iter::once(&c.name).chain(&c.aliases).collect();
        match into
            .iter_mut()
            .find(|e| names.iter().any(|n| **n == e.name || e.aliases.contains(n)))
        {
            Some(existing) => {
                for n in std::iter::once(c.name).chain(c.aliases) {
                    if n != existing.name && !existing.aliases.contains(&n) {
                        existing.aliases.push(n);
                    }
                }
                if existing.description.is_empty() {
                    existing.description = c.description;
                }
            }
            None => into.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImportOptions, import};
    use serde_json::json;

    fn novel() -> Novel {
        let text = "第一回 桃园\n话说天下大势，分久必合。\n玄德曰：“我本汉室宗亲。”\n第二回 黄巾\n张飞大怒。";
        import(text.as_bytes(), &ImportOptions::default()).expect("a valid novel")
    }

    fn answer(quote: &str, speaker: &str) -> Value {
        json!({
            "scenes": [{"title": "桃园", "location": "涿县", "time_of_day": "day", "start_quote": quote,
                "shots": [{"description": "桃园全景", "dialogue": "", "speaker": null, "framing": "wide", "duration_seconds": 4, "characters": []},
                          {"description": "玄德开口", "dialogue": "我本汉室宗亲。", "speaker": speaker, "framing": "close-up", "duration_seconds": 3.5, "characters": ["关羽"]}]}],
            "characters": [{"name": "刘备", "aliases": ["玄德"], "description": "双耳垂肩"}]
        })
    }

    #[test]
    fn every_rejection_names_the_field_path() {
        let good = answer("话说", "刘备");
        assert!(check(&good).is_ok());
        type Spoil = fn(&mut Value);
        let cases: Vec<(Spoil, &str)> = vec![
            (|a| *a = json!({}), "answer: missing field `scenes`"),
            (
                |a| *a = json!([]),
                "answer: invalid type: array, expected an object with \"scenes\"",
            ),
            (
                |a| a["scenes"] = json!("x"),
                "answer.scenes: invalid type: string \"x\", expected a sequence",
            ),
            (
                |a| a["scenes"] = json!(["桃园"]),
                "answer.scenes[0]: invalid type: string \"桃园\", expected a scene object",
            ),
            (
                |a| a["scenes"][0]["shots"][0] = json!(4),
                "answer.scenes[0].shots[0]: invalid type: integer `4`, expected a shot object",
            ),
            (
                |a| a["scenes"] = json!([]),
                "answer.scenes must not be empty",
            ),
            (
                |a| a["scenes"][0]["shots"] = json!([]),
                "answer.scenes[0].shots must be a non-empty array",
            ),
            (
                |a| a["scenes"][0]["shots"][1]["duration_seconds"] = json!("three"),
                "answer.scenes[0].shots[1].duration_seconds: invalid type: string \"three\", expected f64",
            ),
            (
                |a| {
                    let shot = a["scenes"][0]["shots"][1].as_object_mut().expect("a shot");
                    shot.remove("duration_seconds");
                },
                "answer.scenes[0].shots[1]: missing field `duration_seconds`",
            ),
            (
                |a| a["scenes"][0]["shots"][1]["duration_seconds"] = json!(45),
                "answer.scenes[0].shots[1].duration_seconds must be between 1 and 20 seconds, not 45",
            ),
            (
                |a| a["scenes"][0]["shots"][0]["duration_seconds"] = json!(0.5),
                "answer.scenes[0].shots[0].duration_seconds must be between 1 and 20 seconds, not 0.5",
            ),
            (
                |a| a["scenes"][0]["shots"][0]["description"] = json!("  "),
                "answer.scenes[0].shots[0].description must not be empty",
            ),
            (
                |a| a["scenes"][0]["shots"][0]["description"] = Value::Null,
                "answer.scenes[0].shots[0].description must not be empty",
            ),
            (
                |a| a["scenes"][0]["shots"][0]["description"] = json!(5),
                "answer.scenes[0].shots[0].description: invalid type: integer `5`, expected a string",
            ),
            (
                |a| a["scenes"][0]["shots"][1]["characters"] = json!(["关羽", 3]),
                "answer.scenes[0].shots[1].characters[1]: invalid type: integer `3`, expected a string",
            ),
            (
                |a| a["scenes"][0]["title"] = json!(["桃园"]),
                "answer.scenes[0].title: invalid type: sequence, expected a string",
            ),
            (
                |a| a["characters"][0]["name"] = json!(""),
                "answer.characters[0].name must not be empty",
            ),
            (
                |a| a["characters"][0]["aliases"] = json!("玄德"),
                "answer.characters[0].aliases: invalid type: string \"玄德\", expected a sequence",
            ),
            (
                |a| a["characters"] = json!({"name": "刘备"}),
                "answer.characters: invalid type: map, expected a sequence",
            ),
        ];
        for (spoil, expected) in cases {
            let mut bad = good.clone();
            spoil(&mut bad);
            assert_eq!(check(&bad).expect_err(expected), expected, "{bad}");
        }
    }

    #[test]
    fn the_prompt_asks_for_the_shot_lengths_the_check_accepts() {
        let (min, max) = (*SHOT_SECONDS.start(), *SHOT_SECONDS.end());
        assert!(
            SYSTEM_PROMPT.contains(&format!(
                "\"duration_seconds\": number between {min} and {max},"
            )),
            "{SYSTEM_PROMPT}"
        );
        let with = |seconds: Value| {
            let mut a = answer("话说", "刘备");
            a["scenes"][0]["shots"][0]["duration_seconds"] = seconds;
            check(&a)
        };
        assert!(with(json!(min)).is_ok() && with(json!(max)).is_ok());
        assert!(with(json!(f64::from(max) + 0.1)).is_err());
        assert!(with(json!(f64::from(min) - 0.1)).is_err());
    }

    /// Everything the hand-written check let through still passes, read as it was: extra
    /// keys, `null` for optional strings, non-strings where nothing needs a string, missing
    /// lists, whole-number durations.
    #[test]
    fn the_loose_answers_models_give_are_accepted() {
        let loose = json!({
            "scenes": [{"title": null, "location": null, "time_of_day": 3, "mood": "grim",
                "shots": [{"description": "桃园全景", "duration_seconds": 20, "dialogue": null,
                           "speaker": 7, "framing": null, "camera": {"move": "pan"}},
                          {"description": "玄德开口", "duration_seconds": 1, "characters": null}]}],
            "characters": [{"name": "刘备", "aliases": null, "description": 0}],
            "notes": "extra keys are ignored"
        });
        let (scenes, characters) = parse(&loose).expect("a loose but usable answer");
        let (quote, scene) = &scenes[0];
        assert_eq!(quote, "");
        assert_eq!(
            (
                scene.title.as_str(),
                scene.location.as_str(),
                scene.time_of_day.as_str()
            ),
            ("", "", "")
        );
        assert_eq!(
            scene.shots[0],
            ShotDraft {
                description: "桃园全景".into(),
                dialogue: String::new(),
                framing: "medium".into(),
                duration_ms: 20_000,
                characters: vec![],
            }
        );
        assert_eq!(scene.shots[1].duration_ms, 1_000);
        assert_eq!(
            characters,
            [CharacterDraft {
                name: "刘备".into(),
                aliases: vec![],
                description: String::new(),
            }]
        );
        let without_characters = json!({"scenes": loose["scenes"].clone()});
        assert!(check(&without_characters).is_ok());
        let null_characters = json!({"scenes": loose["scenes"].clone(), "characters": null});
        assert!(check(&null_characters).is_ok());
    }

    #[test]
    fn chunks_split_long_chapters_at_paragraphs() {
        let n = novel();
        let all = chunks(&n, 10);
        assert!(all.len() > 2);
        assert!(
            all.iter()
                .all(|c| n.script[c.range.clone()].chars().count() <= 30)
        );
        let covered: usize = all.iter().map(|c| c.range.len()).sum();
        assert_eq!(
            covered,
            n.script.len(),
            "chunks cover the script without overlap"
        );
    }

    #[test]
    fn answers_become_scenes_with_ranges_and_canonical_characters() {
        let n = novel();
        let mut calls = 0;
        let result = futures_lite_block_on(run(
            &n,
            DEFAULT_CHUNK_CHARS,
            |_, user| {
                let quote = if user.contains("第一回") {
                    "话说天下"
                } else {
                    "张飞"
                };
                std::future::ready(Ok(answer(quote, "玄德")))
            },
            |_, _| calls += 1,
        ))
        .expect("valid answers");
        assert_eq!(calls, 2);
        assert_eq!(result.scenes.len(), 2);
        assert!(n.script[result.scenes[0].range.clone()].starts_with("话说天下"));
        assert_eq!(
            result.scenes[0].shots[1].characters,
            ["刘备", "关羽"],
            "speaker first, alias resolved"
        );
        assert_eq!(result.characters.len(), 1);
        assert_eq!(result.scenes[0].shots[1].duration_ms, 3_500);
    }

    #[test]
    fn a_repeated_quote_finds_the_occurrence_after_the_previous_scene() {
        let text = "CHAPTER I.\n* * *\nThe first part.\n* * *\nThe second part.";
        let n = import(text.as_bytes(), &ImportOptions::default()).expect("a valid novel");
        let scene = |quote: &str| {
            json!({"title": "", "start_quote": quote,
                "shots": [{"description": "x", "duration_seconds": 2}]})
        };
        let result = futures_lite_block_on(run(
            &n,
            DEFAULT_CHUNK_CHARS,
            |_, _| {
                std::future::ready(Ok(json!({"scenes": [
                    scene("* * *"), scene("* * *")
                ]})))
            },
            |_, _| {},
        ))
        .expect("a valid answer");
        let texts: Vec<&str> = result
            .scenes
            .iter()
            .map(|s| &n.script[s.range.clone()])
            .collect();
        assert!(texts[0].starts_with("* * *\nThe first"), "{texts:?}");
        assert!(texts[1].starts_with("* * *\nThe second"), "{texts:?}");
    }

    #[test]
    fn a_final_error_names_the_chunk() {
        let n = novel();
        let err = futures_lite_block_on(run(
            &n,
            DEFAULT_CHUNK_CHARS,
            |_, _| std::future::ready(Err("model answered invalid JSON 3 times".to_string())),
            |_, _| {},
        ))
        .expect_err("the model failed");
        assert_eq!(
            err.to_string(),
            "breakdown of 第一回 桃园 (part 1) failed: model answered invalid JSON 3 times"
        );
    }

    /// `run` checks every answer again, so one the caller let through unchecked still fails
    /// with the field named.
    #[test]
    fn an_unchecked_answer_with_a_long_shot_fails_the_run_naming_the_field() {
        let n = novel();
        let err = futures_lite_block_on(run(
            &n,
            DEFAULT_CHUNK_CHARS,
            |_, _| {
                let mut a = answer("话说", "刘备");
                a["scenes"][0]["shots"][0]["duration_seconds"] = json!(45);
                std::future::ready(Ok(a))
            },
            |_, _| {},
        ))
        .expect_err("a 45 s shot");
        assert_eq!(
            err.to_string(),
            "breakdown of 第一回 桃园 (part 1) failed: answer.scenes[0].shots[0].duration_seconds \
             must be between 1 and 20 seconds, not 45"
        );
    }

    /// The futures here are all ready at once, so polling once completes them.
    fn futures_lite_block_on<F: Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("a ready future was pending"),
        }
    }
}
