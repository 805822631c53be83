//! Breakdown by a language model: the prompt, the answer's schema and its validation, and the
//! loop over chunks of the novel. The model is reached through a caller-supplied `ask`
//! function (the server passes an OpenAI-compatible chat adapter in JSON mode), so this module
//! stays free of IO and is tested with scripted answers.
//!
//! Every answer is validated; the error message names the exact field ("scenes[2].shots[0]
//! .duration_seconds must be a positive number") so that a re-ask can fix it. Repair of broken
//! JSON and re-asking are the adapter's job; what reaches [`run`] is either a value that passed
//! [`check`] or a final error.

use std::future::Future;

use serde_json::Value;

use crate::text::clip;
use crate::{Breakdown, CharacterDraft, Novel, SceneDraft, ShotDraft};

/// Chapters longer than this (in characters) are sent in several chunks, split at paragraphs,
/// so that the answer fits the model's output limit.
pub const DEFAULT_CHUNK_CHARS: usize = 6_000;

/// Changes whenever [`SYSTEM_PROMPT`] or the chunk prompt does; recorded with every LLM
/// breakdown job, so a result can be traced to the prompt that made it.
pub const PROMPT_VERSION: &str = "1";

pub const SYSTEM_PROMPT: &str = "You are a storyboard artist's assistant. You break a passage of a novel into \
film scenes and shots. Answer with one JSON object only, no prose, of this shape:\n\
{\"scenes\": [{\"title\": string, \"location\": string, \"time_of_day\": \"day\"|\"night\"|\"\", \
\"start_quote\": the first 10 to 20 characters of the passage text where the scene starts, copied exactly, \
\"shots\": [{\"description\": what the camera sees, \"dialogue\": spoken line or \"\", \
\"speaker\": character name or null, \"framing\": \"wide\"|\"medium\"|\"close-up\"|\"extreme close-up\", \
\"duration_seconds\": number between 1 and 20, \"characters\": [character names]}]}], \
\"characters\": [{\"name\": canonical name, \"aliases\": [other names used in the text], \"description\": appearance}]}\n\
Write descriptions and dialogue in the language of the passage. Every scene has at least one shot.";

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

fn field<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("{path}.{key} is missing"))
}

fn string(v: &Value, key: &str, path: &str) -> Result<String, String> {
    match field(v, key, path)? {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(format!("{path}.{key} must be a string")),
    }
}

fn strings(v: &Value, key: &str, path: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{path}.{key}[{i}] must be a string"))
            })
            .collect(),
        Some(_) => Err(format!("{path}.{key} must be an array of strings")),
    }
}

/// Validates one answer against the schema in [`SYSTEM_PROMPT`]; the error says what to fix.
pub fn check(answer: &Value) -> Result<(), String> {
    parse(answer).map(|_| ())
}

/// Each scene with the quote it starts at (its range is found later), and the characters.
type Parsed = (Vec<(String, SceneDraft)>, Vec<CharacterDraft>);

/// Scenes (without ranges) and characters from a valid answer.
fn parse(answer: &Value) -> Result<Parsed, String> {
    let scenes = match field(answer, "scenes", "answer")? {
        Value::Array(s) if !s.is_empty() => s,
        Value::Array(_) => return Err("answer.scenes must not be empty".into()),
        _ => return Err("answer.scenes must be an array".into()),
    };
    let mut out = Vec::new();
    for (i, scene) in scenes.iter().enumerate() {
        let path = format!("scenes[{i}]");
        let shots = match field(scene, "shots", &path)? {
            Value::Array(s) if !s.is_empty() => s,
            _ => return Err(format!("{path}.shots must be a non-empty array")),
        };
        let mut drafts = Vec::new();
        for (j, shot) in shots.iter().enumerate() {
            let path = format!("{path}.shots[{j}]");
            let seconds = field(shot, "duration_seconds", &path)?
                .as_f64()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 120.0)
                .ok_or_else(|| {
                    format!("{path}.duration_seconds must be a positive number of seconds")
                })?;
            let description = string(shot, "description", &path)?;
            if description.trim().is_empty() {
                return Err(format!("{path}.description must not be empty"));
            }
            let mut characters = strings(shot, "characters", &path)?;
            if let Some(speaker) = shot
                .get("speaker")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                characters.retain(|c| c != speaker);
                characters.insert(0, speaker.to_owned());
            }
            drafts.push(ShotDraft {
                description: clip(&description, 400),
                dialogue: shot
                    .get("dialogue")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                framing: shot
                    .get("framing")
                    .and_then(Value::as_str)
                    .unwrap_or("medium")
                    .to_owned(),
                duration_ms: (seconds * 1000.0).round() as u32,
                characters,
            });
        }
        let start_quote = scene
            .get("start_quote")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        out.push((
            start_quote,
            SceneDraft {
                title: string(scene, "title", &path)?,
                chapter: String::new(),
                range: 0..0,
                location: scene
                    .get("location")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                time_of_day: scene
                    .get("time_of_day")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                shots: drafts,
            },
        ));
    }
    let mut characters = Vec::new();
    if let Some(list) = answer.get("characters") {
        let list = list
            .as_array()
            .ok_or("answer.characters must be an array")?;
        for (i, c) in list.iter().enumerate() {
            let path = format!("characters[{i}]");
            let name = string(c, "name", &path)?;
            if name.trim().is_empty() {
                return Err(format!("{path}.name must not be empty"));
            }
            characters.push(CharacterDraft {
                name,
                aliases: strings(c, "aliases", &path)?,
                description: c
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
    }
    Ok((out, characters))
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
    fn validation_names_the_broken_field() {
        assert_eq!(
            check(&json!({})).expect_err("no scenes"),
            "answer.scenes is missing"
        );
        let mut bad = answer("话说", "刘备");
        bad["scenes"][0]["shots"][1]["duration_seconds"] = json!("three");
        assert_eq!(
            check(&bad).expect_err("a broken answer"),
            "scenes[0].shots[1].duration_seconds must be a positive number of seconds"
        );
        bad["scenes"][0]["shots"] = json!([]);
        assert_eq!(
            check(&bad).expect_err("a broken answer"),
            "scenes[0].shots must be a non-empty array"
        );
        assert!(check(&answer("话说", "刘备")).is_ok());
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
