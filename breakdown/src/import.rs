//! Bytes of a novel or screenplay to a clean [`Novel`] with chapters.

use std::sync::LazyLock;

use regex::Regex;

use crate::text::detect_language;
use crate::{Chapter, Error, Novel, Result, SourceFormat, clean, decode, fountain};

/// Limits and hints for [`import`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Larger files are refused before decoding. The longest novels are a few megabytes.
    pub max_bytes: usize,
    /// The file name, used for the title and to recognise `.fountain`/`.md`.
    pub file_name: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_bytes: 16 * 1024 * 1024,
            file_name: None,
        }
    }
}

/// `CHAPTER I.`, `Chapter 1`, `第一回`, `第1章`, `卷三`, or a Markdown `#`/`##` heading.
static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)^(?:(?i:chapter)\s+(?:[IVXLCDM]+|\d+|[A-Za-z]+)\b.*|第[一二三四五六七八九十百千零〇两\d]+[回章节卷].*|#{1,2}\s+\S.*)$",
    )
    .expect("valid regex")
});

/// A line made of `=` around a word, as in `========正文========`: scraper section markers.
static SECTION_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^=+\s*[^=\n]*?\s*=+$").expect("valid regex"));

pub fn import(bytes: &[u8], options: &ImportOptions) -> Result<Novel> {
    if bytes.len() > options.max_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: options.max_bytes,
        });
    }
    let decoded = decode::decode(bytes)?;
    let is_fountain = options
        .file_name
        .as_deref()
        .is_some_and(|n| n.ends_with(".fountain") || n.ends_with(".spmd"))
        || fountain::looks_like_fountain(&decoded.text);
    let title = options
        .file_name
        .as_deref()
        .map(|n| n.rsplit('/').next().unwrap_or(n))
        .map(|n| n.split('.').next().unwrap_or(n).replace(['-', '_'], " "))
        .unwrap_or_else(|| "Untitled".into());

    if is_fountain {
        let script = clean::clean(&decoded.text);
        if script.is_empty() {
            return Err(Error::NoText);
        }
        let chapters = vec![Chapter {
            title: title.clone(),
            range: 0..script.len(),
        }];
        return Ok(Novel {
            language: detect_language(&script),
            title: fountain::title(&script).unwrap_or(title),
            format: SourceFormat::Fountain,
            encoding: decoded.encoding.into(),
            script,
            chapters,
        });
    }

    let cleaned = clean::clean(&decoded.text);
    let cleaned = SECTION_MARKER.replace_all(&cleaned, "");
    // Front matter (a synopsis, a table of contents) before the first heading is not story.
    let headings: Vec<regex::Match> = HEADING.find_iter(&cleaned).collect();
    let body_start = headings.first().map_or(0, |m| m.start());
    let script = cleaned[body_start..].trim().to_owned();
    if script.is_empty() {
        return Err(Error::NoText);
    }
    let chapters = chapters(&script, &title);
    Ok(Novel {
        language: detect_language(&script),
        title,
        format: SourceFormat::Prose,
        encoding: decoded.encoding.into(),
        script,
        chapters,
    })
}

/// A novel over a script that is already clean (a project's current script), for breaking it
/// down again: the text is used exactly as it is, so scene ranges match the document.
pub fn novel_from_script(script: String, title: String) -> Novel {
    let format = if fountain::looks_like_fountain(&script) {
        SourceFormat::Fountain
    } else {
        SourceFormat::Prose
    };
    Novel {
        language: detect_language(&script),
        chapters: chapters(&script, &title),
        title,
        format,
        encoding: "UTF-8".into(),
        script,
    }
}

fn chapters(script: &str, title: &str) -> Vec<Chapter> {
    let starts: Vec<(usize, String)> = HEADING
        .find_iter(script)
        .map(|m| {
            (
                m.start(),
                m.as_str().trim_start_matches('#').trim().to_owned(),
            )
        })
        .collect();
    if starts.is_empty() {
        return vec![Chapter {
            title: title.to_owned(),
            range: 0..script.len(),
        }];
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, (start, heading))| Chapter {
            title: heading.clone(),
            range: *start..starts.get(i + 1).map_or(script.len(), |n| n.0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_in_both_languages_split_chapters() {
        let text = "Preface\n\nCHAPTER I. Down\nAlice.\n\nChapter 2\nMore.\n\n第一回 桃园\n话说。\n第12章 赤壁\n火。\n## Epilogue\nEnd.";
        let novel = import(text.as_bytes(), &ImportOptions::default()).expect("a novel");
        let titles: Vec<&str> = novel.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "CHAPTER I. Down",
                "Chapter 2",
                "第一回 桃园",
                "第12章 赤壁",
                "Epilogue"
            ]
        );
        assert!(
            novel.script.starts_with("CHAPTER I."),
            "front matter is dropped"
        );
        assert_eq!(
            novel.chapters.last().expect("chapters").range.end,
            novel.script.len()
        );
    }

    #[test]
    fn oversized_files_are_refused_before_decoding() {
        let options = ImportOptions {
            max_bytes: 10,
            ..Default::default()
        };
        let err = import(&[b'a'; 11], &options).expect_err("too large");
        assert_eq!(
            err.to_string(),
            "the file is 11 bytes; the import limit is 10 bytes"
        );
    }
}
