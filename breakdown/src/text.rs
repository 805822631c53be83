//! Small text utilities shared by the splitters.

use crate::Language;

pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Chinese when Han characters outnumber Latin letters.
pub(crate) fn detect_language(text: &str) -> Language {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars().take(200_000) {
        if is_han(c) {
            han += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    if han > latin / 4 {
        Language::Zh
    } else {
        Language::En
    }
}

/// Seconds it takes to read `text` aloud at a storyboard pace, as a shot duration.
pub(crate) fn reading_time_ms(text: &str, language: Language) -> u32 {
    let ms = match language {
        // About five characters a second for Chinese narration.
        Language::Zh => text.chars().filter(|&c| is_han(c)).count() as u32 * 200,
        // About two and a half words a second for English.
        Language::En => text.split_whitespace().count() as u32 * 400,
    };
    ms.clamp(2_000, 10_000) / 100 * 100
}

/// Cuts `text` to about `max` characters at a character boundary, adding an ellipsis.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// Maps byte offsets of `text` to UTF-16 offsets (the unit of script offsets), for offsets
/// given in ascending order, in one pass.
pub(crate) struct Utf16Cursor<'a> {
    text: &'a str,
    byte: usize,
    utf16: u32,
}

impl<'a> Utf16Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Utf16Cursor {
            text,
            byte: 0,
            utf16: 0,
        }
    }

    /// The UTF-16 offset of byte offset `to`; `to` must not go backwards.
    pub(crate) fn advance(&mut self, to: usize) -> u32 {
        let to = to.min(self.text.len());
        if to > self.byte {
            self.utf16 += self.text[self.byte..to].encode_utf16().count() as u32;
            self.byte = to;
        }
        self.utf16
    }
}
