//! Text for the offline renderer: the bundled fonts, per-character font fallback, line
//! wrapping that handles both space-separated and CJK text, and glyph drawing.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use tiny_skia::{Color, Pixmap};

/// DejaVu Sans (Bitstream Vera licence) for Latin, Greek, Cyrillic and typographic
/// punctuation; Droid Sans Fallback Full (Apache-2.0, from Debian's `fonts-droid-fallback`)
/// for the 20,902 CJK Unified Ideographs, Extension A, kana, hangul and full-width
/// punctuation. Both ship inside the binary, whole and unmodified (licences in `fonts/`), so a
/// frame renders the same on every machine and needs no system font.
const LATIN_FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
const CJK_FONT: &[u8] = include_bytes!("../../fonts/DroidSansFallbackFull.ttf");

pub(crate) struct Fonts {
    latin: FontRef<'static>,
    cjk: FontRef<'static>,
}

pub(crate) fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        // Both are compile-time constants checked by the offline tests; a parse failure is a
        // broken build, not a runtime condition.
        latin: FontRef::try_from_slice(LATIN_FONT).expect("bundled DejaVu Sans parses"),
        cjk: FontRef::try_from_slice(CJK_FONT).expect("bundled Droid Sans Fallback parses"),
    })
}

impl Fonts {
    /// The first font that has the character; the Latin font's "missing" box otherwise.
    fn pick(&self, c: char) -> (&FontRef<'static>, GlyphId) {
        let id = self.latin.glyph_id(c);
        if id.0 != 0 {
            return (&self.latin, id);
        }
        let id = self.cjk.glyph_id(c);
        if id.0 != 0 {
            return (&self.cjk, id);
        }
        (&self.latin, self.latin.glyph_id(c))
    }

    pub(crate) fn advance(&self, c: char, px: f32) -> f32 {
        let (font, id) = self.pick(c);
        font.as_scaled(em_scale(font, px)).h_advance(id)
    }

    pub(crate) fn width(&self, text: &str, px: f32) -> f32 {
        text.chars().map(|c| self.advance(c, px)).sum()
    }

    /// Draws `text` with its baseline at `y`, returning the pen position after it.
    pub(crate) fn draw(
        &self,
        pixmap: &mut Pixmap,
        text: &str,
        x: f32,
        y: f32,
        px: f32,
        color: Color,
    ) -> f32 {
        let (w, h) = (pixmap.width() as i32, pixmap.height() as i32);
        let rgba = color.to_color_u8();
        let data = pixmap.data_mut();
        let mut pen = x;
        for c in text.chars() {
            let (font, id) = self.pick(c);
            let scale = em_scale(font, px);
            let glyph = id.with_scale_and_position(scale, point(pen, y));
            pen += font.as_scaled(scale).h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i32 + gx as i32;
                let py = bounds.min.y as i32 + gy as i32;
                if px < 0 || py < 0 || px >= w || py >= h {
                    return;
                }
                let a = coverage.clamp(0.0, 1.0) * f32::from(rgba.alpha()) / 255.0;
                let i = (py as usize * w as usize + px as usize) * 4;
                // The canvas is opaque, so premultiplied "source over" reduces to a mix.
                for (k, src) in [rgba.red(), rgba.green(), rgba.blue()]
                    .into_iter()
                    .enumerate()
                {
                    let dst = f32::from(data[i + k]);
                    data[i + k] = (f32::from(src) * a + dst * (1.0 - a)).round() as u8;
                }
            });
        }
        pen
    }
}

/// ab_glyph's `PxScale` is the font's ascent-to-descent height, which differs between the two
/// fonts; scaling by the em square instead makes `px` the same type size in both, so Chinese
/// and Latin text sit together evenly.
fn em_scale(font: &FontRef<'_>, px: f32) -> PxScale {
    let em = font.units_per_em().unwrap_or(1000.0);
    PxScale::from(px * font.height_unscaled() / em)
}

/// Characters that may be set without a space between them, and may break anywhere.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF | 0xF900..=0xFAFF |
        0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Punctuation that must not start a line (kinsoku): it hangs at the end of the previous one.
fn no_line_start(c: char) -> bool {
    "，。、；：！？）」』》〉】”’…,.;:!?)]}".contains(c)
}

/// Splits text into words, single CJK characters and whitespace runs.
fn segments(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<(bool, bool)> = None; // (is whitespace, is cjk)
    for (i, c) in line.char_indices() {
        let class = (c.is_whitespace(), is_cjk(c));
        let boundary = match prev {
            None => false,
            Some(p) => p != class || class.1,
        };
        if boundary {
            out.push(&line[start..i]);
            start = i;
        }
        prev = Some(class);
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// Greedy line wrapping to `max_width` pixels; explicit newlines are kept. At most
/// `max_lines` lines, the last ending in an ellipsis when text was cut.
pub(crate) fn wrap(
    fonts: &Fonts,
    text: &str,
    px: f32,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut width = 0.0;
        for seg in segments(paragraph.trim_end()) {
            let seg_width = fonts.width(seg, px);
            if seg.chars().all(char::is_whitespace) {
                if line.is_empty() {
                    continue;
                }
                if width + seg_width > max_width {
                    // The break replaces the space.
                    lines.push(std::mem::take(&mut line).trim_end().to_owned());
                    width = 0.0;
                } else {
                    line.push_str(seg);
                    width += seg_width;
                }
                continue;
            }
            if width + seg_width <= max_width {
                line.push_str(seg);
                width += seg_width;
                continue;
            }
            if seg.chars().next().is_some_and(no_line_start) && seg.chars().count() == 1 {
                line.push_str(seg);
                width += seg_width;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line).trim_end().to_owned());
                width = 0.0;
            }
            if seg_width <= max_width {
                line.push_str(seg);
                width = seg_width;
            } else {
                // A word longer than the line (a URL, a long name): break it anywhere.
                for c in seg.chars() {
                    let cw = fonts.advance(c, px);
                    if width + cw > max_width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        width = 0.0;
                    }
                    line.push(c);
                    width += cw;
                }
            }
        }
        lines.push(line.trim_end().to_owned());
    }
    while lines.last().is_some_and(String::is_empty) && lines.len() > 1 {
        lines.pop();
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let ellipsis = fonts.width("…", px);
            while !last.is_empty() && fonts.width(last, px) + ellipsis > max_width {
                last.pop();
            }
            last.push('…');
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fonts_cover_latin_and_chinese() {
        let f = fonts();
        assert_ne!(f.latin.glyph_id('A').0, 0);
        assert_ne!(f.cjk.glyph_id('刘').0, 0);
        assert_ne!(f.cjk.glyph_id('龘').0, 0, "a rare ideograph is covered too");
        assert!(f.advance('中', 20.0) > 15.0);
    }

    #[test]
    fn wraps_english_at_spaces() {
        let lines = wrap(
            fonts(),
            "the quick brown fox jumps over the lazy dog",
            20.0,
            120.0,
            10,
        );
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(fonts().width(line, 20.0) <= 120.0, "{line:?} too wide");
            assert!(!line.starts_with(' ') && !line.ends_with(' '));
        }
        assert_eq!(
            lines.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
    }

    #[test]
    fn wraps_chinese_anywhere_but_not_before_closing_punctuation() {
        let text = "刘备、关羽、张飞三人于桃园结义，誓同生死。";
        let lines = wrap(fonts(), text, 20.0, 100.0, 10);
        assert!(lines.len() >= 4, "{lines:?}");
        assert_eq!(lines.concat(), text);
        for line in &lines {
            assert!(
                !line.starts_with(no_line_start),
                "{line:?} starts with punctuation"
            );
        }
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let text = "word ".repeat(200);
        let lines = wrap(fonts(), &text, 20.0, 200.0, 3);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with('…'));
        assert!(fonts().width(&lines[2], 20.0) <= 200.0);
    }

    #[test]
    fn overlong_words_break() {
        let lines = wrap(fonts(), &"x".repeat(100), 20.0, 100.0, 20);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), "x".repeat(100));
    }
}
