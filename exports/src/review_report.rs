//! The review report: every review thread with what it is about (a shot with its selected
//! take's frame, a quoted piece of script, or the project), its comments with author and time,
//! its status, and the verdicts given on each version with their tally. Two renderings of the
//! same content:
//!
//! - [`html`]: a print-ready HTML page (like the storyboard sheet), images referenced by the
//!   caller's URLs or data URIs;
//! - [`pdf`]: a real PDF (A4, text wrapped, page breaks, the frames embedded as images), drawn
//!   with krilla (typst's PDF backend). It embeds subsets of the two bundled fonts, DejaVu Sans
//!   for Latin, Greek and Cyrillic and Droid Sans Fallback for CJK, chosen per character, so
//!   Chinese comments render and can be searched and copied on any machine.
//!
//! ```
//! use exports::Timeline;
//! use exports::review_report::{self, Review};
//!
//! let timeline = Timeline { name: "Draft 2".into(), fps: 24, shots: vec![] };
//! // From the server: GET .../threads, .../versions and each version's verdicts.
//! let review = Review { timeline: &timeline, threads: &[], versions: &[], verdicts: &[] };
//! let page = review_report::html(&review, |media| Some(format!("/media/{}", media.asset_id)));
//! assert!(page.contains("Draft 2 — review"));
//! // The frame closure returns the selected take's image bytes (PNG, JPEG, WebP, GIF).
//! let pdf = review_report::pdf(&review, |_media| None)?;
//! assert!(pdf.starts_with(b"%PDF-"));
//! # Ok::<(), exports::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::HashMap;

use api_types::ids::ShotId;
use api_types::review::{Anchor, Thread, ThreadStatus, Verdict, VerdictKind, VersionInfo};

use crate::{Media, Result, Timeline, TimelineShot};

/// What the report shows. Threads and versions are listed in the order given (the server lists
/// versions newest first).
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    /// The storyboard: its title, and the shots threads point at (number, scene, selected take).
    pub timeline: &'a Timeline,
    pub threads: &'a [Thread],
    /// The versions whose verdicts to show, each with its tally.
    pub versions: &'a [VersionInfo],
    /// Verdicts on those versions (others are ignored).
    pub verdicts: &'a [Verdict],
}

/// What a thread is about, as the reader sees it.
enum About<'a> {
    Shot(&'a TimelineShot),
    /// A shot the storyboard no longer has.
    GoneShot,
    Script,
    Project,
}

impl Review<'_> {
    fn shots(&self) -> HashMap<&ShotId, &TimelineShot> {
        self.timeline
            .shots
            .iter()
            .map(|s| (&s.shot_id, s))
            .collect()
    }

    fn open_count(&self) -> usize {
        self.threads
            .iter()
            .filter(|t| t.status == ThreadStatus::Open)
            .count()
    }

    fn verdicts_on<'v>(&'v self, version: &'v VersionInfo) -> impl Iterator<Item = &'v Verdict> {
        self.verdicts.iter().filter(|v| v.version == version.id)
    }
}

fn about<'a>(thread: &Thread, shots: &HashMap<&ShotId, &'a TimelineShot>) -> About<'a> {
    match &thread.anchor {
        Anchor::Shot { shot_id } => shots
            .get(shot_id)
            .map_or(About::GoneShot, |s| About::Shot(s)),
        Anchor::Script { .. } => About::Script,
        Anchor::Project => About::Project,
    }
}

/// The one-line heading of a thread: "Shot 3 · INT. KITCHEN", "Script: “…”", "Project".
fn heading(thread: &Thread, about: &About) -> String {
    match about {
        About::Shot(shot) if shot.scene_title.is_empty() => format!("Shot {}", shot.number),
        About::Shot(shot) => format!("Shot {} · {}", shot.number, shot.scene_title),
        About::GoneShot => format!("Deleted shot: “{}”", thread.quote),
        About::Script => format!("Script: “{}”", thread.quote),
        About::Project => "Project".to_owned(),
    }
}

fn status(thread: &Thread) -> String {
    let mut out = match (&thread.status, &thread.resolved_by) {
        (ThreadStatus::Open, _) => "Open".to_owned(),
        (ThreadStatus::Resolved, Some(by)) => format!("Resolved by {}", by.name),
        (ThreadStatus::Resolved, None) => "Resolved".to_owned(),
    };
    if thread.orphaned {
        out.push_str(" · orphaned (what it pointed at was deleted)");
    }
    out
}

fn verdict_name(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Approve => "Approve",
        VerdictKind::RequestChanges => "Request changes",
        VerdictKind::Comment => "Comment",
    }
}

fn tally(version: &VersionInfo) -> String {
    let t = version.tally;
    format!(
        "{} approve · {} request changes · {} comment",
        t.approve, t.request_changes, t.comment
    )
}

fn verdict_line(verdict: &Verdict) -> String {
    let mut out = format!("{}: {}", verdict.author.name, verdict_name(verdict.verdict));
    if !verdict.summary.is_empty() {
        out.push_str(&format!(" — {}", verdict.summary));
    }
    match verdict.stale_shots.len() {
        0 => {}
        1 => out.push_str(" (stale for 1 shot changed since)"),
        n => out.push_str(&format!(" (stale for {n} shots changed since)")),
    }
    out
}

fn comment_meta(comment: &api_types::review::Comment) -> String {
    let mut out = format!("{} · {}", comment.author.name, utc(comment.created_at_ms));
    if comment.edited_at_ms.is_some() {
        out.push_str(" · edited");
    }
    out
}

fn comment_text(comment: &api_types::review::Comment) -> &str {
    if comment.deleted {
        "(deleted)"
    } else {
        &comment.text
    }
}

fn summary(review: &Review) -> String {
    format!(
        "{} threads, {} open · {} shots",
        review.threads.len(),
        review.open_count(),
        review.timeline.shots.len()
    )
}

/// Unix milliseconds as `2026-12-07 14:02 UTC` (the report is read anywhere, so in UTC).
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// HTML

fn esc(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// The review as a print-ready HTML page. `frame_src` gives the `src` of a selected take (a URL
/// the reader can load, or a `data:` URI for a self-contained file; a video take becomes a
/// `<video>`); `None` shows an empty frame.
pub fn html(review: &Review, frame_src: impl Fn(&Media) -> Option<String>) -> String {
    let shots = review.shots();
    let mut verdicts = String::new();
    for version in review.versions {
        let mut lines = String::new();
        for verdict in review.verdicts_on(version) {
            lines.push_str(&format!(
                "<li class=\"{}\">{}</li>",
                verdict.verdict.as_str(),
                esc(&verdict_line(verdict))
            ));
        }
        verdicts.push_str(&format!(
            "<section class=\"version\"><h3>{name} <span class=\"tally\">{tally}</span></h3><ul>{lines}</ul></section>\n",
            name = esc(&version.name),
            tally = esc(&tally(version)),
        ));
    }
    let mut threads = String::new();
    for thread in review.threads {
        let about = about(thread, &shots);
        let frame = match &about {
            About::Shot(shot) => {
                let img = match shot.media.as_ref().map(|m| (m, frame_src(m))) {
                    Some((m, Some(src))) if m.is_video => format!(
                        "<video src=\"{}\" muted preload=\"metadata\"></video>",
                        esc(&src)
                    ),
                    Some((_, Some(src))) => {
                        format!("<img src=\"{}\" alt=\"Shot {}\">", esc(&src), shot.number)
                    }
                    _ => "<span class=\"empty\">no frame</span>".to_owned(),
                };
                format!("<div class=\"frame\">{img}</div>")
            }
            _ => String::new(),
        };
        let mut comments = String::new();
        for comment in &thread.comments {
            comments.push_str(&format!(
                "<li><div class=\"meta\">{}</div><p>{}</p></li>",
                esc(&comment_meta(comment)),
                esc(comment_text(comment))
            ));
        }
        threads.push_str(&format!(
            "<article class=\"thread {state}{orphaned}\">{frame}<div class=\"body\"><h3>{heading}</h3><div class=\"status\">{status}</div><ol class=\"comments\">{comments}</ol></div></article>\n",
            state = thread.status.as_str(),
            orphaned = if thread.orphaned { " orphaned" } else { "" },
            heading = esc(&heading(thread, &about)),
            status = esc(&status(thread)),
        ));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="und">
<head>
<meta charset="utf-8">
<title>{title} — review</title>
<style>
  @page {{ size: A4; margin: 15mm; }}
  body {{ font-family: "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0; color: #111; font-size: 10pt; }}
  h1 {{ font-size: 18pt; margin: 0 0 1mm; }}
  h2 {{ font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; }}
  h3 {{ font-size: 11pt; margin: 0 0 1mm; }}
  .summary, .meta, .tally {{ color: #555; font-weight: normal; font-size: 9pt; }}
  .version ul {{ margin: 0 0 3mm; }}
  li.approve {{ color: #1a7f37; }} li.request_changes {{ color: #b42318; }}
  .thread {{ break-inside: avoid; display: flex; gap: 4mm; border-top: 1px solid #ccc; padding: 3mm 0; }}
  .frame {{ flex: 0 0 55mm; aspect-ratio: 16 / 9; background: #eee; display: flex; align-items: center; justify-content: center; overflow: hidden; }}
  .frame img, .frame video {{ width: 100%; height: 100%; object-fit: contain; }}
  .empty {{ color: #888; }}
  .body {{ flex: 1; }}
  .status {{ font-size: 9pt; font-weight: bold; }}
  .open .status {{ color: #b42318; }} .resolved .status {{ color: #1a7f37; }} .orphaned .status {{ color: #666; }}
  .comments {{ list-style: none; padding: 0; margin: 1mm 0 0; }}
  .comments p {{ margin: 0 0 2mm; white-space: pre-wrap; }}
</style>
</head>
<body>
<h1>{title} — review</h1>
<p class="summary">{summary}</p>
<h2>Verdicts</h2>
{verdicts}<h2>Threads</h2>
<main>
{threads}</main>
</body>
</html>
"#,
        title = esc(&review.timeline.name),
        summary = esc(&summary(review)),
    )
}

// ---------------------------------------------------------------------------------------------
// PDF

/// The review as a PDF (A4 portrait). `frame` gives the bytes of a selected take's image (PNG,
/// JPEG, WebP or GIF; a video take's poster, if the caller has one); `None` draws an empty
/// frame. An image that cannot be decoded is drawn as an empty frame too, so one broken asset
/// does not cost the whole report.
pub fn pdf(review: &Review, frame: impl Fn(&Media) -> Option<Vec<u8>>) -> Result<Vec<u8>> {
    let fonts = pdf::Fonts::load()?;
    let mut layout = pdf::Layout::new(&fonts);
    let shots = review.shots();

    layout.paragraph(
        &format!("{} — review", review.timeline.name),
        20.0,
        pdf::INK,
        0.0,
    );
    layout.paragraph(&summary(review), 10.0, pdf::GREY, 0.0);
    layout.gap(10.0);

    layout.heading("Verdicts");
    if review.versions.is_empty() {
        layout.paragraph("No versions.", 10.0, pdf::GREY, 0.0);
    }
    for version in review.versions {
        layout.paragraph(&version.name, 12.0, pdf::INK, 0.0);
        layout.paragraph(&tally(version), 9.0, pdf::GREY, 0.0);
        for verdict in review.verdicts_on(version) {
            let color = match verdict.verdict {
                VerdictKind::Approve => pdf::GREEN,
                VerdictKind::RequestChanges => pdf::RED,
                VerdictKind::Comment => pdf::INK,
            };
            layout.paragraph(&verdict_line(verdict), 10.0, color, 12.0);
        }
        layout.gap(6.0);
    }

    layout.heading("Threads");
    if review.threads.is_empty() {
        layout.paragraph("No threads.", 10.0, pdf::GREY, 0.0);
    }
    for thread in review.threads {
        let about = about(thread, &shots);
        // Keep a thread's heading with its frame and first comment on one page.
        layout.keep(if matches!(about, About::Shot(_)) {
            200.0
        } else {
            80.0
        });
        layout.rule();
        layout.paragraph(&heading(thread, &about), 12.0, pdf::INK, 0.0);
        let color = match (thread.orphaned, thread.status) {
            (true, _) => pdf::GREY,
            (false, ThreadStatus::Open) => pdf::RED,
            (false, ThreadStatus::Resolved) => pdf::GREEN,
        };
        layout.paragraph(&status(thread), 9.0, color, 0.0);
        if let About::Shot(shot) = about {
            let image = shot
                .media
                .as_ref()
                .and_then(&frame)
                .and_then(|b| pdf::image(&b));
            layout.frame(image);
        }
        for comment in &thread.comments {
            layout.paragraph(&comment_meta(comment), 8.5, pdf::GREY, 12.0);
            layout.paragraph(comment_text(comment), 10.5, pdf::INK, 12.0);
            layout.gap(3.0);
        }
        layout.gap(6.0);
    }
    layout.finish(&review.timeline.name)
}

mod pdf {
    //! A tiny layout engine over krilla: wrapped paragraphs with per-character font fallback,
    //! rules, image frames and page breaks, laid out first into a display list per page and
    //! then drawn (krilla's page and surface borrow the document, so drawing happens page by
    //! page once everything is placed).

    use ab_glyph::Font as _;
    use krilla::Document;
    use krilla::color::rgb;
    use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
    use krilla::image::Image;
    use krilla::metadata::Metadata;
    use krilla::num::NormalizedF32;
    use krilla::page::PageSettings;
    use krilla::paint::Fill;
    use krilla::text::{Font, TextDirection};

    use crate::{Error, Result};

    const LATIN_FONT: &[u8] = include_bytes!("../../provider-adapters/fonts/DejaVuSans.ttf");
    const CJK_FONT: &[u8] =
        include_bytes!("../../provider-adapters/fonts/DroidSansFallbackFull.ttf");

    const PAGE_W: f32 = 595.28;
    const PAGE_H: f32 = 841.89;
    const MARGIN: f32 = 48.0;
    const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;
    const FRAME_W: f32 = 192.0;
    const FRAME_H: f32 = 108.0;

    pub(super) type Color = (u8, u8, u8);
    pub(super) const INK: Color = (17, 17, 17);
    pub(super) const GREY: Color = (100, 100, 100);
    pub(super) const RED: Color = (180, 35, 24);
    pub(super) const GREEN: Color = (26, 127, 55);
    const PALE: Color = (235, 235, 235);

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Face {
        Latin,
        Cjk,
    }

    pub(super) struct Fonts {
        latin: (Font, ab_glyph::FontRef<'static>),
        cjk: (Font, ab_glyph::FontRef<'static>),
    }

    impl Fonts {
        pub(super) fn load() -> Result<Self> {
            // The bytes are compiled in, so these fail only for a broken build; a clear error
            // is still better than a panic in a server.
            let bad = |name: &str| Error::Pdf(format!("the bundled font {name} does not parse"));
            let font = |bytes: &'static [u8], name: &str| -> Result<_> {
                Ok((
                    Font::new(bytes.into(), 0).ok_or_else(|| bad(name))?,
                    ab_glyph::FontRef::try_from_slice(bytes).map_err(|_| bad(name))?,
                ))
            };
            Ok(Fonts {
                latin: font(LATIN_FONT, "DejaVu Sans")?,
                cjk: font(CJK_FONT, "Droid Sans Fallback")?,
            })
        }

        /// DejaVu Sans when it has the character, else Droid Sans Fallback.
        fn face(&self, c: char) -> Face {
            if self.latin.1.glyph_id(c).0 != 0 || self.cjk.1.glyph_id(c).0 == 0 {
                Face::Latin
            } else {
                Face::Cjk
            }
        }

        fn metrics(&self, face: Face) -> &ab_glyph::FontRef<'static> {
            match face {
                Face::Latin => &self.latin.1,
                Face::Cjk => &self.cjk.1,
            }
        }

        fn font(&self, face: Face) -> Font {
            match face {
                Face::Latin => self.latin.0.clone(),
                Face::Cjk => self.cjk.0.clone(),
            }
        }

        fn advance(&self, c: char, size: f32) -> f32 {
            let font = self.metrics(self.face(c));
            let em = font.units_per_em().unwrap_or(1000.0);
            font.h_advance_unscaled(font.glyph_id(c)) / em * size
        }

        fn width(&self, text: &str, size: f32) -> f32 {
            text.chars().map(|c| self.advance(c, size)).sum()
        }

        /// `text` in lines no wider than `width`: breaks at spaces, and anywhere between CJK
        /// characters (which have no spaces); a word longer than a line is broken where it
        /// must be. Line breaks in the text are kept.
        fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
            let mut lines = Vec::new();
            for paragraph in text.split('\n') {
                let mut line = String::new();
                let mut line_w = 0.0;
                for token in tokens(paragraph, |c| self.face(c) == Face::Cjk) {
                    let token_w = self.width(token, size);
                    let blank = token.trim().is_empty();
                    if line_w + token_w <= width {
                        if !(blank && line.is_empty()) {
                            line.push_str(token);
                            line_w += token_w;
                        }
                        continue;
                    }
                    if blank {
                        lines.push(std::mem::take(&mut line).trim_end().to_owned());
                        line_w = 0.0;
                        continue;
                    }
                    if !line.is_empty() {
                        lines.push(std::mem::take(&mut line).trim_end().to_owned());
                        line_w = 0.0;
                    }
                    for c in token.chars() {
                        let w = self.advance(c, size);
                        if line_w + w > width && !line.is_empty() {
                            lines.push(std::mem::take(&mut line));
                            line_w = 0.0;
                        }
                        line.push(c);
                        line_w += w;
                    }
                }
                lines.push(line.trim_end().to_owned());
            }
            lines
        }
    }

    /// Words, runs of whitespace, and single CJK characters, in order.
    fn tokens(text: &str, is_cjk: impl Fn(char) -> bool) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        let kind = |c: char| {
            if c.is_whitespace() {
                0
            } else if is_cjk(c) {
                1
            } else {
                2
            }
        };
        let mut prev: Option<u8> = None;
        for (i, c) in text.char_indices() {
            let k = kind(c);
            // Every CJK character stands alone; other kinds run on.
            if i > start && (prev != Some(k) || k == 1) {
                out.push(&text[start..i]);
                start = i;
            }
            prev = Some(k);
        }
        if start < text.len() {
            out.push(&text[start..]);
        }
        out
    }

    /// Decodes a take's image for embedding, or `None` when it cannot be read. PNGs are
    /// decoded here so that a broken one is found now rather than when the document is
    /// written (krilla decodes lazily); JPEG, WebP and GIF headers are checked by krilla.
    pub(super) fn image(bytes: &[u8]) -> Option<Image> {
        if bytes.starts_with(b"\x89PNG") {
            return png_rgba(bytes).map(|(rgba, w, h)| Image::from_rgba8(rgba, w, h));
        }
        let data = || krilla::Data::from(bytes.to_vec());
        if bytes.starts_with(&[0xff, 0xd8]) {
            Image::from_jpeg(data(), true).ok()
        } else if bytes.starts_with(b"RIFF") {
            Image::from_webp(data(), true).ok()
        } else if bytes.starts_with(b"GIF8") {
            Image::from_gif(data(), true).ok()
        } else {
            None
        }
    }

    fn png_rgba(bytes: &[u8]) -> Option<(Vec<u8>, u32, u32)> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().ok()?;
        let mut buf = vec![0; reader.output_buffer_size()?];
        let info = reader.next_frame(&mut buf).ok()?;
        buf.truncate(info.buffer_size());
        let rgba: Vec<u8> = match info.color_type {
            png::ColorType::Rgba => buf,
            png::ColorType::Rgb => buf
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::GrayscaleAlpha => buf
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
            // `normalize_to_color8` expands palettes, so this is not reached.
            png::ColorType::Indexed => return None,
        };
        Some((rgba, info.width, info.height))
    }

    enum Op {
        Text {
            x: f32,
            baseline: f32,
            size: f32,
            face: Face,
            text: String,
            color: Color,
        },
        Rect {
            x: f32,
            y: f32,
            w: f32,
            h: f32,
            color: Color,
        },
        Image {
            x: f32,
            y: f32,
            w: f32,
            h: f32,
            image: Image,
        },
    }

    pub(super) struct Layout<'f> {
        fonts: &'f Fonts,
        pages: Vec<Vec<Op>>,
        /// The top of the free space on the current page.
        y: f32,
    }

    impl<'f> Layout<'f> {
        pub(super) fn new(fonts: &'f Fonts) -> Self {
            Layout {
                fonts,
                pages: vec![Vec::new()],
                y: MARGIN,
            }
        }

        fn ops(&mut self) -> &mut Vec<Op> {
            if self.pages.is_empty() {
                self.pages.push(Vec::new());
            }
            let last = self.pages.len() - 1;
            &mut self.pages[last]
        }

        /// Starts a new page unless `height` still fits on this one.
        pub(super) fn keep(&mut self, height: f32) {
            if self.y + height > PAGE_H - MARGIN && self.y > MARGIN {
                self.pages.push(Vec::new());
                self.y = MARGIN;
            }
        }

        pub(super) fn gap(&mut self, height: f32) {
            self.y += height;
        }

        pub(super) fn heading(&mut self, text: &str) {
            self.keep(80.0);
            self.gap(6.0);
            self.paragraph(text, 14.0, INK, 0.0);
            self.gap(4.0);
        }

        pub(super) fn rule(&mut self) {
            let y = self.y;
            self.ops().push(Op::Rect {
                x: MARGIN,
                y,
                w: WIDTH,
                h: 0.6,
                color: (190, 190, 190),
            });
            self.gap(6.0);
        }

        /// Wrapped text, `indent` points in from the left margin.
        pub(super) fn paragraph(&mut self, text: &str, size: f32, color: Color, indent: f32) {
            let line_h = size * 1.35;
            for line in self.fonts.wrap(text, size, WIDTH - indent) {
                self.keep(line_h);
                let baseline = self.y + size;
                let mut x = MARGIN + indent;
                // One text op per run of characters in the same font.
                let mut run = String::new();
                let mut face = None;
                for c in line.chars() {
                    let f = self.fonts.face(c);
                    if face.is_some_and(|prev| prev != f) {
                        x = self.run(x, baseline, size, face, &mut run, color);
                    }
                    face = Some(f);
                    run.push(c);
                }
                self.run(x, baseline, size, face, &mut run, color);
                self.y += line_h;
            }
        }

        fn run(
            &mut self,
            x: f32,
            baseline: f32,
            size: f32,
            face: Option<Face>,
            run: &mut String,
            color: Color,
        ) -> f32 {
            let (Some(face), false) = (face, run.is_empty()) else {
                return x;
            };
            let text = std::mem::take(run);
            let end = x + self.fonts.width(&text, size);
            self.ops().push(Op::Text {
                x,
                baseline,
                size,
                face,
                text,
                color,
            });
            end
        }

        /// A 16:9 frame with the image fitted inside it, or empty.
        pub(super) fn frame(&mut self, image: Option<Image>) {
            self.keep(FRAME_H + 6.0);
            let (x, y) = (MARGIN + 12.0, self.y + 2.0);
            self.ops().push(Op::Rect {
                x,
                y,
                w: FRAME_W,
                h: FRAME_H,
                color: PALE,
            });
            if let Some(image) = image {
                let (iw, ih) = image.size();
                let scale = (FRAME_W / iw.max(1) as f32).min(FRAME_H / ih.max(1) as f32);
                let (w, h) = (iw as f32 * scale, ih as f32 * scale);
                self.ops().push(Op::Image {
                    x: x + (FRAME_W - w) / 2.0,
                    y: y + (FRAME_H - h) / 2.0,
                    w,
                    h,
                    image,
                });
            }
            self.y += FRAME_H + 8.0;
        }

        pub(super) fn finish(self, title: &str) -> Result<Vec<u8>> {
            let mut document = Document::new();
            document.set_metadata(
                Metadata::new()
                    .title(format!("{title} — review"))
                    .creator("Shotweave".to_owned()),
            );
            let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
                .ok_or_else(|| Error::Pdf("invalid page size".into()))?;
            for ops in self.pages {
                let mut page = document.start_page_with(settings.clone());
                let mut surface = page.surface();
                for op in ops {
                    match op {
                        Op::Text {
                            x,
                            baseline,
                            size,
                            face,
                            text,
                            color,
                        } => {
                            surface.set_fill(Some(fill(color)));
                            surface.draw_text(
                                Point::from_xy(x, baseline),
                                self.fonts.font(face),
                                size,
                                &text,
                                false,
                                TextDirection::Auto,
                            );
                        }
                        Op::Rect { x, y, w, h, color } => {
                            let Some(rect) = Rect::from_xywh(x, y, w, h) else {
                                continue;
                            };
                            let mut path = PathBuilder::new();
                            path.push_rect(rect);
                            if let Some(path) = path.finish() {
                                surface.set_fill(Some(fill(color)));
                                surface.draw_path(&path);
                            }
                        }
                        Op::Image { x, y, w, h, image } => {
                            let Some(size) = Size::from_wh(w, h) else {
                                continue;
                            };
                            surface.push_transform(&Transform::from_translate(x, y));
                            surface.draw_image(image, size);
                            surface.pop();
                        }
                    }
                }
                surface.finish();
                page.finish();
            }
            document.finish().map_err(|e| Error::Pdf(format!("{e:?}")))
        }
    }

    fn fill(color: Color) -> Fill {
        Fill {
            paint: rgb::Color::new(color.0, color.1, color.2).into(),
            opacity: NormalizedF32::ONE,
            rule: Default::default(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn wrapping_breaks_at_spaces_and_between_cjk_characters() {
            let fonts = Fonts::load().unwrap_or_else(|e| panic!("{e}"));
            let size = 10.0;
            let width = fonts.width("the quick brown", size) + 0.5;
            let lines = fonts.wrap("the quick brown fox jumps over", size, width);
            assert_eq!(lines, ["the quick brown", "fox jumps over"]);
            let cjk = "汤姆悄悄走过碗边杰瑞的洞";
            let lines = fonts.wrap(cjk, size, fonts.width("汤姆悄悄走", size) + 0.5);
            assert_eq!(lines, ["汤姆悄悄走", "过碗边杰瑞", "的洞"]);
            for line in fonts.wrap(&"x".repeat(400), size, 100.0) {
                assert!(fonts.width(&line, size) <= 100.0, "{line}");
            }
            assert_eq!(fonts.wrap("a\n\nb", size, 100.0), ["a", "", "b"]);
            assert_eq!(fonts.face('猫'), Face::Cjk);
            assert_eq!(fonts.face('&'), Face::Latin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_796_651_000_000), "2026-12-07 13:43 UTC");
        assert_eq!(utc(-60_000), "1969-12-31 23:59 UTC");
    }
}
