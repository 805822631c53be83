//! The offline, deterministic splitter: no model, no key, the same output for the same text.
//!
//! Scenes start at chapter headings, at break lines (`* * *`) and at paragraphs that open with a
//! transition cue (却说, 次日, "Meanwhile", "The next morning"...). Shots come from sentences
//! and dialogue: every quotation becomes a dialogue shot carrying its attribution, and narration
//! is grouped into shots of a few sentences. Characters come from [`crate::characters`].

use std::sync::LazyLock;

use regex::Regex;

use crate::text::{clip, is_han, reading_time_ms};
use crate::{
    Breakdown, CharacterDraft, Language, Novel, SceneDraft, ShotDraft, SourceFormat, characters,
    fountain,
};

/// A narration shot holds sentences up to about this many Han characters / English words.
const ZH_SHOT_CHARS: usize = 60;
const EN_SHOT_WORDS: usize = 45;
/// A transition cue only opens a new scene once the current one has this many shots, so that
/// a run of short cue paragraphs does not shred a chapter into one-shot scenes.
const MIN_SCENE_SHOTS: usize = 4;
const DESCRIPTION_CHARS: usize = 240;

const ZH_CUES: &[&str] = &[
    "却说",
    "且说",
    "次日",
    "当夜",
    "是夜",
    "是日",
    "话分两头",
    "再说",
    "却表",
    "不说",
    "当日",
    "至晚",
    "天明",
];
const EN_CUES: &[&str] = &[
    "Meanwhile",
    "The next morning",
    "Next morning",
    "That night",
    "The next day",
    "Some time later",
    "Soon after",
    "Later that",
    "In the morning",
    "At last",
];

static BREAK_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\s*＊·•◇◆~～—\-=#]{3,}$").expect("valid regex"));

/// Splits a novel into scenes, shots and characters.
pub fn breakdown(novel: &Novel) -> Breakdown {
    if novel.format == SourceFormat::Fountain {
        return fountain::breakdown(novel);
    }
    let characters = characters::find(&novel.script, novel.language);
    let matcher = Matcher::new(&characters, novel.language);
    let mut scenes = Vec::new();
    for chapter in &novel.chapters {
        let mut splitter = SceneSplitter {
            novel,
            matcher: &matcher,
            chapter_title: &chapter.title,
            scenes: &mut scenes,
            current: None,
            count_in_chapter: 0,
        };
        for para in paragraphs(&novel.script, chapter.range.clone(), novel.language) {
            splitter.paragraph(para);
        }
        splitter.finish();
    }
    Breakdown { scenes, characters }
}

/// Finds characters (by name or alias) in a piece of text, answering canonical names.
pub(crate) struct Matcher {
    regex: Option<Regex>,
    canonical: std::collections::HashMap<String, String>,
}

impl Matcher {
    pub(crate) fn new(characters: &[CharacterDraft], language: Language) -> Self {
        let mut canonical = std::collections::HashMap::new();
        for c in characters {
            canonical.insert(c.name.clone(), c.name.clone());
            for a in &c.aliases {
                canonical.entry(a.clone()).or_insert_with(|| c.name.clone());
            }
        }
        let mut needles: Vec<&String> = canonical.keys().collect();
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let alternation = needles
            .iter()
            .map(|n| regex::escape(n))
            .collect::<Vec<_>>()
            .join("|");
        let pattern = match language {
            Language::Zh => format!("(?:{alternation})"),
            Language::En => format!(r"\b(?:{alternation})\b"),
        };
        let regex =
            (!needles.is_empty()).then(|| Regex::new(&pattern).expect("escaped alternation"));
        Matcher { regex, canonical }
    }

    /// Canonical names mentioned in `text`, in order of first mention.
    pub(crate) fn mentioned(&self, text: &str) -> Vec<String> {
        let Some(regex) = &self.regex else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for m in regex.find_iter(text) {
            let name = &self.canonical[m.as_str()];
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }
}

/// One paragraph: its byte range in the script and its text (hard-wrapped English lines
/// joined with spaces).
struct Paragraph {
    start: usize,
    end: usize,
    text: String,
}

fn paragraphs(script: &str, range: std::ops::Range<usize>, language: Language) -> Vec<Paragraph> {
    let body = &script[range.clone()];
    let mut out = Vec::new();
    let mut offset = range.start;
    // Chinese web texts put one paragraph per line; English books wrap lines inside paragraphs
    // and separate paragraphs with blank lines.
    let separator = match language {
        Language::Zh => "\n",
        Language::En => "\n\n",
    };
    for chunk in body.split(separator) {
        let start = offset;
        offset += chunk.len() + separator.len();
        let text = chunk
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() {
            out.push(Paragraph {
                start,
                end: (start + chunk.len()).min(range.end),
                text,
            });
        }
    }
    out
}

struct SceneSplitter<'a> {
    novel: &'a Novel,
    matcher: &'a Matcher,
    chapter_title: &'a str,
    scenes: &'a mut Vec<SceneDraft>,
    current: Option<SceneDraft>,
    count_in_chapter: usize,
}

impl SceneSplitter<'_> {
    fn paragraph(&mut self, para: Paragraph) {
        if para.text == self.chapter_title {
            // The heading line opens the chapter's first scene but makes no shot.
            self.open(para.start, "");
            return;
        }
        if BREAK_LINE.is_match(&para.text) {
            self.finish();
            return;
        }
        let cued = match self.novel.language {
            Language::Zh => ZH_CUES.iter().any(|c| para.text.starts_with(c)),
            Language::En => EN_CUES.iter().any(|c| para.text.starts_with(c)),
        };
        let long_enough = self
            .current
            .as_ref()
            .is_some_and(|s| s.shots.len() >= MIN_SCENE_SHOTS);
        if self.current.is_none() || (cued && long_enough) {
            self.finish();
            self.open(para.start, &para.text);
        }
        let shots = shots_of(&para.text, self.novel.language, self.matcher);
        let scene = self.current.as_mut().expect("a scene is open");
        if scene.shots.is_empty()
            && let Some(first) = shots.first()
            && first.dialogue.is_empty()
        {
            scene.time_of_day = time_of_day(&para.text, self.novel.language).to_owned();
        }
        scene.shots.extend(shots);
        scene.range.end = para.end;
    }

    fn open(&mut self, start: usize, text: &str) {
        if self.current.is_some() {
            return;
        }
        self.count_in_chapter += 1;
        self.current = Some(SceneDraft {
            title: format!("{} · {}", self.chapter_title, self.count_in_chapter),
            chapter: self.chapter_title.to_owned(),
            range: start..start,
            location: String::new(),
            time_of_day: time_of_day(text, self.novel.language).to_owned(),
            shots: Vec::new(),
        });
    }

    fn finish(&mut self) {
        // A scene with no shot yet (just a heading) stays open for the next paragraph.
        if self.current.as_ref().is_some_and(|s| s.shots.is_empty()) {
            return;
        }
        if let Some(mut scene) = self.current.take() {
            if let Some(first) = scene.shots.first_mut() {
                // The first shot of a scene establishes the place.
                if first.dialogue.is_empty() {
                    first.framing = "wide".into();
                }
            }
            self.scenes.push(scene);
        }
    }
}

fn time_of_day(text: &str, language: Language) -> &'static str {
    let head: String = text.chars().take(24).collect();
    match language {
        Language::Zh if ["夜", "晚", "更时"].iter().any(|w| head.contains(w)) => "night",
        Language::Zh
            if ["次日", "天明", "平明", "清晨"]
                .iter()
                .any(|w| head.contains(w)) =>
        {
            "day"
        }
        Language::En
            if ["night", "evening"]
                .iter()
                .any(|w| head.to_lowercase().contains(w)) =>
        {
            "night"
        }
        Language::En
            if ["morning", "day"]
                .iter()
                .any(|w| head.to_lowercase().contains(w)) =>
        {
            "day"
        }
        _ => "",
    }
}

#[derive(Debug, PartialEq)]
enum Segment {
    Narration(String),
    Quote(String),
}

/// Splits a paragraph into narration and quotations. Curly quotes, corner brackets and
/// straight double quotes are quotation marks; in English a straight single quote is one only
/// at a word edge, so apostrophes (don't, Alice's) stay inside words.
fn segments(text: &str, language: Language) -> Vec<Segment> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut closer: Option<char> = None;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let opens = match c {
            '“' => Some('”'),
            '「' => Some('」'),
            '『' => Some('』'),
            '‘' if language == Language::En => Some('’'),
            '"' => Some('"'),
            '\'' if language == Language::En
                && prev.is_none_or(|p| p.is_whitespace() || "([—-".contains(p))
                && next.is_some_and(char::is_alphanumeric) =>
            {
                Some('\'')
            }
            _ => None,
        };
        match closer {
            None if opens.is_some() => {
                if !buf.trim().is_empty() {
                    out.push(Segment::Narration(buf.trim().to_owned()));
                }
                buf.clear();
                closer = opens;
            }
            Some(close)
                if c == close && (close != '\'' || next.is_none_or(|n| !n.is_alphanumeric())) =>
            {
                if !buf.trim().is_empty() {
                    out.push(Segment::Quote(buf.trim().to_owned()));
                }
                buf.clear();
                closer = None;
            }
            _ => buf.push(c),
        }
    }
    if !buf.trim().is_empty() {
        // An unclosed quotation runs to the end of the paragraph, as in multi-paragraph speeches.
        let text = buf.trim().to_owned();
        out.push(if closer.is_some() {
            Segment::Quote(text)
        } else {
            Segment::Narration(text)
        });
    }
    out
}

fn sentences(text: &str, language: Language) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        buf.push(c);
        let end = match language {
            Language::Zh => "。！？；…".contains(c),
            Language::En => ".!?".contains(c) && chars.get(i + 1).is_none_or(|n| n.is_whitespace()),
        };
        if end {
            out.push(buf.trim().to_owned());
            buf.clear();
        }
    }
    if !buf.trim().is_empty() {
        out.push(buf.trim().to_owned());
    }
    out
}

fn size(text: &str, language: Language) -> usize {
    match language {
        Language::Zh => text.chars().filter(|&c| is_han(c)).count(),
        Language::En => text.split_whitespace().count(),
    }
}

/// A short narration next to a quotation is its attribution ("玄德曰：", "said the Hatter").
/// Chinese attributions come before the quotation and end with a colon; English ones come on
/// either side.
fn is_attribution(text: &str, language: Language, before_quote: bool) -> bool {
    match language {
        Language::Zh => {
            before_quote && text.ends_with(['：', ':', '，', ',']) && size(text, language) <= 16
        }
        Language::En => size(text, language) <= 10,
    }
}

fn shots_of(paragraph: &str, language: Language, matcher: &Matcher) -> Vec<ShotDraft> {
    let limit = match language {
        Language::Zh => ZH_SHOT_CHARS,
        Language::En => EN_SHOT_WORDS,
    };
    let joiner = if language == Language::En { " " } else { "" };
    let mut shots: Vec<ShotDraft> = Vec::new();
    let mut pending = String::new();
    let flush = |pending: &mut String, shots: &mut Vec<ShotDraft>| {
        if !pending.trim().is_empty() {
            shots.push(narration_shot(pending.trim(), language, matcher));
        }
        pending.clear();
    };
    let segs = segments(paragraph, language);
    for (i, seg) in segs.iter().enumerate() {
        match seg {
            Segment::Narration(text) => {
                let followed_by_quote = matches!(segs.get(i + 1), Some(Segment::Quote(_)));
                let after_quote = i > 0 && matches!(segs[i - 1], Segment::Quote(_));
                let mut sents = sentences(text, language);
                // An attribution right after a quote belongs to that dialogue shot.
                if after_quote
                    && is_attribution(&sents[0], language, false)
                    && let Some(last) = shots.last_mut().filter(|s| !s.dialogue.is_empty())
                {
                    let attribution = sents.remove(0);
                    attach_attribution(last, &attribution, matcher);
                }
                // And one right before a quote opens the next dialogue shot.
                let lead = if followed_by_quote
                    && sents
                        .last()
                        .is_some_and(|s| is_attribution(s, language, true))
                {
                    sents.pop()
                } else {
                    None
                };
                for s in sents {
                    if size(&pending, language) + size(&s, language) > limit {
                        flush(&mut pending, &mut shots);
                    }
                    if !pending.is_empty() {
                        pending.push_str(joiner);
                    }
                    pending.push_str(&s);
                }
                flush(&mut pending, &mut shots);
                if let Some(lead) = lead {
                    let mut shot = dialogue_shot(String::new(), language);
                    attach_attribution(&mut shot, &lead, matcher);
                    shots.push(shot);
                }
            }
            Segment::Quote(quote) => {
                match shots.last_mut() {
                    // The attribution before this quote already opened its shot.
                    Some(last) if last.dialogue.is_empty() && last.framing.is_empty() => {
                        last.dialogue = quote.clone();
                        finish_dialogue(last, language);
                    }
                    _ => {
                        let mut shot = dialogue_shot(quote.clone(), language);
                        finish_dialogue(&mut shot, language);
                        shots.push(shot);
                    }
                }
            }
        }
    }
    // A lead attribution whose quote never came is plain narration.
    for shot in &mut shots {
        if shot.framing.is_empty() {
            shot.framing = "medium".into();
        }
    }
    shots
}

fn narration_shot(text: &str, language: Language, matcher: &Matcher) -> ShotDraft {
    ShotDraft {
        description: clip(text, DESCRIPTION_CHARS),
        dialogue: String::new(),
        framing: "medium".into(),
        duration_ms: reading_time_ms(text, language),
        characters: matcher.mentioned(text),
    }
}

fn dialogue_shot(quote: String, language: Language) -> ShotDraft {
    ShotDraft {
        description: String::new(),
        duration_ms: reading_time_ms(&quote, language),
        dialogue: quote,
        framing: String::new(),
        characters: Vec::new(),
    }
}

fn attach_attribution(shot: &mut ShotDraft, attribution: &str, matcher: &Matcher) {
    if !shot.description.is_empty() {
        shot.description.push(' ');
    }
    shot.description.push_str(attribution);
    for name in matcher.mentioned(attribution) {
        if !shot.characters.contains(&name) {
            shot.characters.push(name);
        }
    }
}

fn finish_dialogue(shot: &mut ShotDraft, language: Language) {
    shot.dialogue = clip(&shot.dialogue, DESCRIPTION_CHARS * 2);
    shot.duration_ms = reading_time_ms(&shot.dialogue, language);
    shot.framing = if size(&shot.dialogue, language) < 12 {
        "close-up"
    } else {
        "medium"
    }
    .into();
    if shot.description.is_empty() {
        shot.description = match shot.characters.first() {
            Some(speaker) => format!("{speaker} speaks"),
            None => clip(&shot.dialogue, 60),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_apostrophes_and_attributions() {
        let segs = segments(
            "'Who are you?' said the Caterpillar. Alice's reply was shy: 'I--I hardly know.'",
            Language::En,
        );
        assert_eq!(
            segs,
            [
                Segment::Quote("Who are you?".into()),
                Segment::Narration("said the Caterpillar. Alice's reply was shy:".into()),
                Segment::Quote("I--I hardly know.".into()),
            ]
        );
    }

    #[test]
    fn a_chinese_paragraph_becomes_narration_and_dialogue_shots() {
        let characters = [CharacterDraft {
            name: "刘备".into(),
            aliases: vec!["玄德".into()],
            description: String::new(),
        }];
        let matcher = Matcher::new(&characters, Language::Zh);
        let shots = shots_of(
            "玄德见他形貌异常，问其姓名。玄德曰：\"我本汉室宗亲。\"众皆大喜。",
            Language::Zh,
            &matcher,
        );
        assert_eq!(shots.len(), 3, "{shots:#?}");
        assert_eq!(shots[1].dialogue, "我本汉室宗亲。");
        assert_eq!(shots[1].characters, ["刘备"]);
        assert!(shots[1].description.contains("玄德曰"));
    }
}
