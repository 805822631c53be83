//! The built-in offline renderer: a storyboard frame drawn from the shot's own text, with no
//! key, no network and no model. It is the embedded default provider, so a fresh install can
//! "generate" a whole board at once.
//!
//! The frame is a 16:9 PNG: a header with the shot number, scene and shot size; a viewfinder
//! with the characters as coloured figures and a framing guide showing what the camera sees
//! (a shot-size chart: the rectangle closes in from wide to extreme close-up); a side panel
//! with the camera note, the cast and the dialogue; and the description, word-wrapped, below.
//! The same shot always gives the same bytes.

mod text;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tiny_skia::{
    Color, FillRule, LineCap, Paint, PathBuilder, Pixmap, Rect, Stroke, StrokeDash, Transform,
};

use crate::http::describe;
use crate::registry::ProviderSpec;
use crate::{
    Error, GenerationProvider, GenerationRequest, Operation, Output, OutputKind, OutputRef,
    OutputSource, Provenance, Result, ShotSketch, Size, TaskHandle, TaskId, TaskStatus,
};

pub const PROVIDER: &str = "offline";
pub const DEFAULT_MODELS: &[&str] = &["storyboard-sketch-v1"];

pub const SPEC: ProviderSpec =
    ProviderSpec::builtin(PROVIDER, DEFAULT_MODELS).with_operations(&[Operation::TextToImage]);

#[derive(Debug, Clone, PartialEq)]
pub struct OfflineConfig {
    /// Frame width in pixels; the height follows from 16:9.
    pub width: u32,
    pub models: Vec<String>,
}

impl Default for OfflineConfig {
    fn default() -> Self {
        OfflineConfig {
            width: 1280,
            models: DEFAULT_MODELS.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct OfflineRenderer {
    config: OfflineConfig,
}

impl OfflineRenderer {
    pub fn new(config: OfflineConfig) -> Self {
        OfflineRenderer { config }
    }
}

/// 16:9 at the given width, within sensible bounds.
fn frame_size(width: u32) -> Size {
    let width = width.clamp(320, 3840) & !15;
    Size::new(width, width * 9 / 16)
}

#[async_trait]
impl GenerationProvider for OfflineRenderer {
    fn spec(&self) -> &ProviderSpec {
        &SPEC
    }

    fn models(&self) -> &[String] {
        &self.config.models
    }

    async fn submit(&self, request: &GenerationRequest) -> Result<TaskHandle> {
        SPEC.check(request.operation)?;
        let sketch = request.sketch.clone().unwrap_or_else(|| ShotSketch {
            description: request.prompt.clone(),
            ..ShotSketch::default()
        });
        let size = frame_size(request.size.map_or(self.config.width, |s| s.width));
        // Drawing takes tens of milliseconds of CPU: keep it off the async workers.
        let png = tokio::task::spawn_blocking({
            let sketch = sketch.clone();
            move || render_frame(&sketch, size)
        })
        .await
        .map_err(|e| Error::Provider {
            provider: PROVIDER.into(),
            status: None,
            message: format!("renderer task failed: {e}"),
        })??;
        let task_id = TaskId(format!(
            "offline-{}",
            &hex::encode(Sha256::digest(&png))[..16]
        ));
        let mut output = OutputRef::new(OutputKind::Image, OutputSource::Inline(png.into()));
        output.mime = Some("image/png".into());
        output.width = Some(size.width);
        output.height = Some(size.height);
        let model = request
            .model
            .clone()
            .or_else(|| self.config.models.first().cloned())
            .unwrap_or_default();
        Ok(TaskHandle {
            task_id,
            status: TaskStatus::Succeeded {
                outputs: vec![output],
                usage: None,
            },
            provenance: Provenance {
                provider: PROVIDER.into(),
                model,
                prompt: request.prompt.clone(),
                seed: None,
                parameters: serde_json::json!({
                    "width": size.width,
                    "height": size.height,
                    "sketch": sketch,
                }),
            },
        })
    }

    async fn fetch(&self, output: &OutputRef) -> Result<Output> {
        match &output.source {
            OutputSource::Inline(bytes) => Ok(describe(output, bytes.clone())),
            OutputSource::Url(_) => Err(Error::Expired {
                provider: PROVIDER.into(),
                message: "the offline renderer keeps no files".into(),
            }),
        }
    }
}

/// The shot sizes a framing note can name, widest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShotSize {
    ExtremeWide,
    Wide,
    Full,
    MediumWide,
    Medium,
    MediumCloseUp,
    CloseUp,
    ExtremeCloseUp,
}

impl ShotSize {
    /// Reads English (with the usual abbreviations) and Chinese shot-size names.
    pub(crate) fn parse(note: &str) -> Option<ShotSize> {
        let lower = note.to_lowercase().replace(['-', '_'], " ");
        let tokens: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .collect();
        let has = |phrase: &str| lower.contains(phrase);
        let token = |t: &str| tokens.contains(&t);
        use ShotSize::*;
        let size = if has("extreme close") || has("大特写") || token("ecu") || token("xcu") {
            ExtremeCloseUp
        } else if has("medium close") || has("近景") || token("mcu") {
            MediumCloseUp
        } else if has("close") || has("特写") || token("cu") {
            CloseUp
        } else if has("extreme wide")
            || has("extreme long")
            || has("大远景")
            || token("ews")
            || token("els")
        {
            ExtremeWide
        } else if has("medium wide")
            || has("medium long")
            || has("cowboy")
            || has("中全景")
            || token("mws")
        {
            MediumWide
        } else if has("medium") || has("mid shot") || has("waist") || has("中景") || token("ms") {
            Medium
        } else if has("full") || has("全景") || token("fs") {
            Full
        } else if has("wide")
            || has("long shot")
            || has("establishing")
            || has("远景")
            || token("ws")
            || token("ls")
        {
            Wide
        } else {
            return None;
        };
        Some(size)
    }

    fn label(self) -> &'static str {
        match self {
            ShotSize::ExtremeWide => "EXTREME WIDE",
            ShotSize::Wide => "WIDE",
            ShotSize::Full => "FULL",
            ShotSize::MediumWide => "MEDIUM WIDE",
            ShotSize::Medium => "MEDIUM",
            ShotSize::MediumCloseUp => "MEDIUM CLOSE-UP",
            ShotSize::CloseUp => "CLOSE-UP",
            ShotSize::ExtremeCloseUp => "EXTREME CLOSE-UP",
        }
    }

    /// The guide's height as a fraction of a standing figure's height (None = whole frame).
    fn figure_fraction(self) -> Option<f32> {
        match self {
            ShotSize::ExtremeWide | ShotSize::Wide => None,
            ShotSize::Full => Some(1.25),
            ShotSize::MediumWide => Some(0.85),
            ShotSize::Medium => Some(0.62),
            ShotSize::MediumCloseUp => Some(0.45),
            ShotSize::CloseUp => Some(0.3),
            ShotSize::ExtremeCloseUp => Some(0.16),
        }
    }
}

// Colours as RGB triples: tiny-skia cannot build a `Color` in a const.
const PAPER: (u8, u8, u8) = (0xF4, 0xF1, 0xEA);
const INK: (u8, u8, u8) = (0x1F, 0x24, 0x30);
const MUTED: (u8, u8, u8) = (0x6B, 0x70, 0x7C);
const GRID: (u8, u8, u8) = (0xDD, 0xD8, 0xCC);
const ACCENT: (u8, u8, u8) = (0xD0, 0x47, 0x3A);
const HEADER_TEXT: (u8, u8, u8) = (0xF4, 0xF1, 0xEA);
const HEADER_ACCENT: (u8, u8, u8) = (0xE8, 0xC5, 0x47);

fn rgb((r, g, b): (u8, u8, u8)) -> Color {
    Color::from_rgba8(r, g, b, 255)
}

/// Distinct, readable character colours for names that bring none.
const PALETTE: [(u8, u8, u8); 10] = [
    (0xC0, 0x39, 0x2B),
    (0x27, 0x6F, 0xBF),
    (0x2E, 0x8B, 0x57),
    (0x8E, 0x44, 0xAD),
    (0xD3, 0x7A, 0x1F),
    (0x16, 0x8F, 0x8F),
    (0xB0, 0x3A, 0x7A),
    (0x5D, 0x6D, 0x1E),
    (0x7A, 0x4E, 0x2D),
    (0x34, 0x49, 0x5E),
];

/// Each character's colour: the document's, or a palette colour picked by name and moved on
/// to the next free one, so that two characters in one frame never share a colour by chance.
fn cast_colors(characters: &[crate::SketchCharacter]) -> Vec<Color> {
    let mut used: Vec<usize> = characters
        .iter()
        .filter_map(|ch| document_color(ch.color.as_deref()))
        .filter_map(|c| {
            PALETTE
                .iter()
                .position(|&(r, g, b)| Color::from_rgba8(r, g, b, 255) == c)
        })
        .collect();
    characters
        .iter()
        .map(|ch| {
            if let Some(c) = document_color(ch.color.as_deref()) {
                return c;
            }
            let mut i = name_hash(&ch.name) as usize % PALETTE.len();
            for _ in 0..PALETTE.len() {
                if !used.contains(&i) {
                    break;
                }
                i = (i + 1) % PALETTE.len();
            }
            used.push(i);
            let (r, g, b) = PALETTE[i];
            Color::from_rgba8(r, g, b, 255)
        })
        .collect()
}

fn document_color(color: Option<&str>) -> Option<Color> {
    let hex = color?.strip_prefix('#')?;
    let v = u32::from_str_radix(hex, 16)
        .ok()
        .filter(|_| hex.len() == 6)?;
    Some(Color::from_rgba8(
        (v >> 16) as u8,
        (v >> 8) as u8,
        v as u8,
        255,
    ))
}

/// FNV-1a: stable across runs and platforms, unlike std's randomly seeded hasher.
fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn paint(color: Color) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(color);
    p.anti_alias = true;
    p
}

/// Draws one storyboard frame and encodes it as PNG. Pure and deterministic. The height always
/// follows from the width at 16:9.
pub fn render_frame(sketch: &ShotSketch, size: Size) -> Result<Vec<u8>> {
    let fail = |what: &str| Error::Provider {
        provider: PROVIDER.into(),
        status: None,
        message: format!("cannot draw the frame: {what}"),
    };
    let size = frame_size(size.width);
    let mut pm = Pixmap::new(size.width, size.height).ok_or_else(|| fail("bad size"))?;
    // Everything is laid out on a 1280x720 canvas and scaled.
    let s = size.width as f32 / 1280.0;
    let fonts = text::fonts();
    let id = Transform::identity();
    pm.fill(rgb(PAPER));

    let rect = |x: f32, y: f32, w: f32, h: f32| Rect::from_xywh(x * s, y * s, w * s, h * s);
    let fill = |pm: &mut Pixmap, r: Option<Rect>, c: Color| {
        if let Some(r) = r {
            pm.fill_rect(r, &paint(c), id, None);
        }
    };
    let stroke_rect = |pm: &mut Pixmap, r: Option<Rect>, c: Color, width: f32, dash: bool| {
        if let Some(r) = r {
            let path = PathBuilder::from_rect(r);
            let mut st = Stroke {
                width: width * s,
                line_cap: LineCap::Butt,
                ..Stroke::default()
            };
            if dash {
                st.dash = StrokeDash::new(vec![12.0 * s, 8.0 * s], 0.0);
            }
            pm.stroke_path(&path, &paint(c), &st, id, None);
        }
    };
    let draw_text = |pm: &mut Pixmap, t: &str, x: f32, y: f32, px: f32, c: Color| {
        fonts.draw(pm, t, x * s, y * s, px * s, c) / s
    };

    // Header band.
    fill(&mut pm, rect(0.0, 0.0, 1280.0, 64.0), rgb(INK));
    let label = if sketch.number.is_empty() {
        "SHOT".to_owned()
    } else {
        format!("SHOT {}", sketch.number)
    };
    // Drawn twice, one pixel apart: a bold face for the one label that needs it.
    draw_text(&mut pm, &label, 24.0, 43.0, 30.0, rgb(HEADER_TEXT));
    let end = draw_text(
        &mut pm,
        &label,
        24.0 + 1.0 / s,
        43.0,
        30.0,
        rgb(HEADER_TEXT),
    );
    let shot_size = ShotSize::parse(&sketch.framing).or_else(|| ShotSize::parse(&sketch.camera));
    let mut right = String::new();
    if let Some(size) = shot_size {
        right.push_str(size.label());
    } else if !sketch.framing.is_empty() {
        right.push_str(&sketch.framing);
    }
    if sketch.duration_ms > 0 {
        if !right.is_empty() {
            right.push_str("  ·  ");
        }
        right.push_str(&format!("{:.1}s", f64::from(sketch.duration_ms) / 1000.0));
    }
    let right_width = fonts.width(&right, 22.0 * s) / s;
    let scene_room = 1256.0 - right_width - 24.0 - (end + 24.0);
    if !sketch.scene.is_empty() && scene_room > 40.0 {
        let scene = text::wrap(fonts, &sketch.scene, 22.0 * s, scene_room * s, 1);
        if let Some(line) = scene.first() {
            draw_text(&mut pm, line, end + 24.0, 41.0, 22.0, rgb(GRID));
        }
    }
    draw_text(
        &mut pm,
        &right,
        1256.0 - right_width,
        41.0,
        22.0,
        rgb(HEADER_ACCENT),
    );

    // Viewfinder.
    let (vx, vy, vw, vh) = (24.0, 84.0, 800.0, 450.0);
    fill(&mut pm, rect(vx, vy, vw, vh), Color::WHITE);
    for i in 1..3 {
        let f = i as f32 / 3.0;
        fill(&mut pm, rect(vx + vw * f, vy, 1.0, vh), rgb(GRID));
        fill(&mut pm, rect(vx, vy + vh * f, vw, 1.0), rgb(GRID));
    }
    let ground = vy + vh * 0.9;
    fill(&mut pm, rect(vx, ground, vw, 2.0), rgb(GRID));

    // Figures: heads and bodies in the character's colour, standing on the ground line.
    // People look small in wide shots; from full shot in, the guide does the closing in.
    let figure_h = vh
        * match shot_size {
            Some(ShotSize::ExtremeWide) => 0.3,
            Some(ShotSize::Wide) => 0.45,
            _ => 0.72,
        };
    let head_r = figure_h * 0.085;
    let n = sketch.characters.len();
    let colors = cast_colors(&sketch.characters);
    let xs: Vec<f32> = (0..n)
        .map(|i| vx + vw * (i as f32 + 1.0) / (n as f32 + 1.0))
        .collect();
    for (&color, &x) in colors.iter().zip(&xs) {
        let top = ground - figure_h;
        if let Some(head) = PathBuilder::from_circle(x * s, (top + head_r) * s, head_r * s) {
            pm.fill_path(&head, &paint(color), FillRule::Winding, id, None);
        }
        let mut body = PathBuilder::new();
        let (shoulders, waist) = (head_r * 1.6, head_r * 1.0);
        body.move_to((x - shoulders) * s, (top + head_r * 2.4) * s);
        body.line_to((x + shoulders) * s, (top + head_r * 2.4) * s);
        body.line_to((x + waist) * s, ground * s);
        body.line_to((x - waist) * s, ground * s);
        body.close();
        if let Some(body) = body.finish() {
            let mut faded = color;
            faded.set_alpha(0.75);
            pm.fill_path(&body, &paint(faded), FillRule::Winding, id, None);
        }
    }

    // Framing guide: what the camera sees, as a 16:9 rectangle in the viewfinder.
    let size_or_default = shot_size.unwrap_or(ShotSize::Medium);
    let (gw, gh, gx, gy) = match size_or_default.figure_fraction() {
        None => {
            let f = if size_or_default == ShotSize::ExtremeWide {
                0.98
            } else {
                0.9
            };
            (
                vw * f,
                vh * f,
                vx + vw * (1.0 - f) / 2.0,
                vy + vh * (1.0 - f) / 2.0,
            )
        }
        Some(frac) => {
            let gh = (figure_h * frac).min(vh);
            let gw = (gh * 16.0 / 9.0).min(vw);
            let gh = gw * 9.0 / 16.0;
            let cx = match size_or_default {
                ShotSize::CloseUp | ShotSize::ExtremeCloseUp => xs.first().copied(),
                _ => (!xs.is_empty()).then(|| xs.iter().sum::<f32>() / n as f32),
            }
            .unwrap_or(vx + vw / 2.0);
            // Anchored a little above the head, as a camera operator leaves headroom.
            let top = ground - figure_h - gh * 0.08;
            let top = if size_or_default == ShotSize::ExtremeCloseUp {
                ground - figure_h + head_r - gh / 2.0
            } else {
                top
            };
            let gx = (cx - gw / 2.0).clamp(vx, vx + vw - gw);
            let gy = top.clamp(vy, vy + vh - gh);
            (gw, gh, gx, gy)
        }
    };
    // Dim what the camera does not see.
    let mut dim = rgb(INK);
    dim.set_alpha(0.22);
    for (x, y, w, h) in [
        (vx, vy, vw, gy - vy),
        (vx, gy + gh, vw, vy + vh - gy - gh),
        (vx, gy, gx - vx, gh),
        (gx + gw, gy, vx + vw - gx - gw, gh),
    ] {
        if w > 0.5 && h > 0.5 {
            fill(&mut pm, rect(x, y, w, h), dim);
        }
    }
    stroke_rect(
        &mut pm,
        rect(gx, gy, gw, gh),
        rgb(ACCENT),
        3.0,
        shot_size.is_none(),
    );
    let guide_label = shot_size.map_or("FRAMING ?", ShotSize::label);
    // Above the guide when there is room, so it does not cover a face.
    let label_y = if gy - vy > 26.0 { gy - 8.0 } else { gy + 22.0 };
    draw_text(&mut pm, guide_label, gx + 4.0, label_y, 16.0, rgb(ACCENT));
    stroke_rect(&mut pm, rect(vx, vy, vw, vh), rgb(INK), 3.0, false);

    // Names under the figures, on top of the dimming so they stay readable.
    for ((ch, &color), &x) in sketch.characters.iter().zip(&colors).zip(&xs) {
        let max = vw / n as f32 - 8.0;
        let name = text::wrap(fonts, &ch.name, 20.0 * s, max * s, 1);
        if let Some(name) = name.first() {
            let w = fonts.width(name, 20.0 * s) / s;
            // A light backing keeps the name readable where the guide's line crosses it.
            let mut backing = Color::WHITE;
            backing.set_alpha(0.85);
            fill(
                &mut pm,
                rect(x - w / 2.0 - 4.0, ground + 10.0, w + 8.0, 27.0),
                backing,
            );
            draw_text(&mut pm, name, x - w / 2.0, ground + 30.0, 20.0, color);
        }
    }

    // Side panel: camera, cast, dialogue.
    let (px, pw) = (848.0, 408.0);
    let mut y = 104.0;
    let section = |pm: &mut Pixmap, title: &str, y: &mut f32| {
        draw_text(pm, title, px, *y, 15.0, rgb(MUTED));
        fill(pm, rect(px, *y + 6.0, pw, 1.0), rgb(GRID));
        *y += 32.0;
    };
    if !sketch.camera.is_empty() {
        section(&mut pm, "CAMERA", &mut y);
        for line in text::wrap(fonts, &sketch.camera, 20.0 * s, pw * s, 3) {
            draw_text(&mut pm, &line, px, y, 20.0, rgb(INK));
            y += 28.0;
        }
        y += 12.0;
    }
    if n > 0 {
        section(&mut pm, "CHARACTERS", &mut y);
        for (ch, &color) in sketch.characters.iter().zip(&colors).take(6) {
            fill(&mut pm, rect(px, y - 15.0, 16.0, 16.0), color);
            let name = text::wrap(fonts, &ch.name, 20.0 * s, (pw - 28.0) * s, 1);
            if let Some(name) = name.first() {
                draw_text(&mut pm, name, px + 28.0, y, 20.0, rgb(INK));
            }
            y += 28.0;
        }
        y += 12.0;
    }
    if !sketch.dialogue.is_empty() && y < 480.0 {
        section(&mut pm, "DIALOGUE", &mut y);
        let room = ((534.0 - y) / 28.0).floor().max(1.0) as usize;
        for line in text::wrap(fonts, &sketch.dialogue, 20.0 * s, pw * s, room) {
            draw_text(&mut pm, &line, px, y, 20.0, rgb(INK));
            y += 28.0;
        }
    }

    // Description under the viewfinder, across the whole width.
    fill(&mut pm, rect(24.0, 552.0, 1232.0, 1.0), rgb(GRID));
    let mut y = 588.0;
    for line in text::wrap(fonts, &sketch.description, 24.0 * s, 1232.0 * s, 4) {
        draw_text(&mut pm, &line, 24.0, y, 24.0, rgb(INK));
        y += 34.0;
    }

    encode_png(&pm).map_err(|e| fail(&e.to_string()))
}

/// RGB PNG with fast compression: the frame is opaque, so dropping alpha loses nothing, and
/// the fast deflate mode takes a fraction of the default's time for flat-colour drawings.
fn encode_png(pm: &Pixmap) -> std::result::Result<Vec<u8>, png::EncodingError> {
    // Premultiplied and straight colour are the same for opaque pixels.
    let rgb: Vec<u8> = pm
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, pm.width(), pm.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_sizes_parse_in_english_and_chinese() {
        use ShotSize::*;
        for (note, want) in [
            ("Wide", Some(Wide)),
            ("extreme close-up", Some(ExtremeCloseUp)),
            ("MCU", Some(MediumCloseUp)),
            ("medium close up", Some(MediumCloseUp)),
            ("close up, low angle", Some(CloseUp)),
            ("CU", Some(CloseUp)),
            ("medium shot", Some(Medium)),
            ("establishing shot", Some(Wide)),
            ("特写", Some(CloseUp)),
            ("大特写", Some(ExtremeCloseUp)),
            ("近景", Some(MediumCloseUp)),
            ("中景", Some(Medium)),
            ("全景", Some(Full)),
            ("远景", Some(Wide)),
            ("大远景", Some(ExtremeWide)),
            ("slow push in", None),
            ("focus", None),
        ] {
            assert_eq!(ShotSize::parse(note), want, "{note}");
        }
    }

    #[test]
    fn colours_are_stable_distinct_and_honour_the_document() {
        let ch = |name: &str, color: Option<&str>| crate::SketchCharacter {
            name: name.into(),
            color: color.map(Into::into),
        };
        let cast = [
            ch("刘备", None),
            ch("x", Some("#ff0000")),
            ch("y", Some("red")),
        ];
        let a = cast_colors(&cast);
        assert_eq!(a, cast_colors(&cast));
        assert_eq!(a[1], Color::from_rgba8(255, 0, 0, 255));
        // A bad colour falls back to the palette.
        assert!(
            PALETTE
                .iter()
                .any(|&(r, g, b)| a[2] == Color::from_rgba8(r, g, b, 255))
        );
        // Ten unnamed-colour characters get ten different colours.
        let many: Vec<_> = (0..10).map(|i| ch(&format!("c{i}"), None)).collect();
        let colors = cast_colors(&many);
        for (i, c) in colors.iter().enumerate() {
            assert!(!colors[..i].contains(c), "colour {i} repeats");
        }
    }

    #[test]
    fn frame_sizes_are_16_by_9() {
        for w in [1, 640, 1280, 1920, 10_000] {
            let s = frame_size(w);
            assert_eq!(s.width * 9, s.height * 16, "{s:?}");
        }
    }
}
