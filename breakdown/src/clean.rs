//! Text as found in the wild: HTML fragments from web scrapes, entities, replacement glyphs for
//! characters a converter could not map, Windows line endings, full-width indentation.

use std::sync::LazyLock;

use regex::Regex;

static BLOCK_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<\s*/?\s*(p|br|div|li|h[1-6]|tr)\b[^>]*>").expect("valid regex")
});
static ANY_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<\s*/?\s*[A-Za-z][^<>]*>").expect("valid regex"));
/// A `?` or `□` standing for a lost character between two Han characters (a half-width `?`
/// is never punctuation in Chinese text).
static LOST_HAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\p{Han})[?□\x{FFFD}]+").expect("valid regex"));

pub(crate) fn clean(raw: &str) -> String {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let text = BLOCK_TAG.replace_all(&text, "\n");
    let text = ANY_TAG.replace_all(&text, "");
    let text = html_escape::decode_html_entities(&text);
    let text = LOST_HAN.replace_all(&text, "$1");
    let text = text.replace(['\u{FFFD}', '□'], "").replace('\u{a0}', " ");

    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        // Full-width spaces indent Chinese paragraphs; trailing spaces are noise.
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_entities_and_lost_glyphs_are_removed() {
        let raw = "第一回\r\n<p> 话说天下&nbsp;大势。</p><br/>豫州刺史孔□。何?进曰：“可。”<b>x</b>\n\n\n\n下一段";
        let clean = clean(raw);
        assert_eq!(
            clean,
            "第一回\n\n话说天下 大势。\n\n豫州刺史孔。何进曰：“可。”x\n\n下一段"
        );
        assert!(!clean.contains('<'));
    }

    #[test]
    fn english_question_marks_survive() {
        assert_eq!(
            clean("'Who are you?' said the Caterpillar."),
            "'Who are you?' said the Caterpillar."
        );
    }
}
