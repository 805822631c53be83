//! The review report's PDF, checked with poppler (`pdftoppm`, `pdftotext`, `pdffonts`,
//! `pdfinfo`; Debian's `poppler-utils`, installed by `cargo xtask test`): it renders to a page
//! with ink and the shot's frame on it, its text (Chinese included) comes back out, both fonts
//! are embedded, long reviews break across pages without losing a thread, and an image that
//! cannot be decoded costs only its frame.

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use api_types::ids::{CommentId, ShotId, ThreadId};
use api_types::review::{Anchor, Author, Comment, Thread, ThreadStatus};
use exports::review_report::{self, Review};

#[path = "fixtures/markup.rs"]
mod markup;

/// The frame's colour: a blue no text or rule of the report uses.
const FRAME: [u8; 3] = [0, 150, 255];

fn solid_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..width * height).flat_map(|_| rgb).collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

fn poppler(program: &str, args: &[&str], pdf: &Path) -> String {
    let output = Command::new(program)
        .args(args)
        .arg(pdf)
        .args(if program == "pdftotext" {
            &["-"][..]
        } else {
            &[]
        })
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} runs (poppler-utils, installed by `cargo xtask test`): {e}")
        });
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Page 1 rendered at 50 dpi, as RGB pixels.
fn render_first_page(pdf: &Path) -> (Vec<u8>, u32, u32) {
    let out = pdf.with_extension("");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
        .arg(pdf)
        .arg(&out)
        .status()
        .expect("pdftoppm runs (poppler-utils, installed by `cargo xtask test`)");
    assert!(status.success());
    let file = std::fs::File::open(out.with_extension("png")).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (buf, info.width, info.height)
}

fn write_pdf(
    dir: &Path,
    name: &str,
    review: &Review,
    frame: impl Fn(&exports::Media) -> Option<Vec<u8>>,
) -> std::path::PathBuf {
    let bytes = review_report::pdf(review, frame).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_review_pdf_renders_with_its_frames_text_and_fonts() {
    let dir = tempfile::tempdir().unwrap();
    let (timeline, threads) = (markup::timeline(), markup::threads());
    let (versions, verdicts) = (markup::versions(), markup::verdicts());
    let review = Review {
        timeline: &timeline,
        threads: &threads,
        versions: &versions,
        verdicts: &verdicts,
    };
    let still = timeline.shots[0].media.clone().unwrap();
    let pdf = write_pdf(dir.path(), "review.pdf", &review, |m| {
        (m == &still).then(|| solid_png(160, 90, FRAME))
    });

    // Page 1 has ink on it, and the still's frame (the only thing of that blue): shot 1 has
    // two threads, so two frames of 192×108 pt, about 133×75 px each at 50 dpi.
    let (pixels, width, height) = render_first_page(&pdf);
    let rgb: Vec<&[u8]> = pixels.chunks_exact(3).collect();
    assert_eq!(rgb.len(), (width * height) as usize);
    let inked = rgb.iter().filter(|p| p.iter().any(|&c| c < 200)).count();
    assert!(
        inked > rgb.len() / 100,
        "{inked} of {} pixels inked",
        rgb.len()
    );
    let framed = rgb
        .iter()
        .filter(|p| p.iter().zip(FRAME).all(|(&c, f)| c.abs_diff(f) <= 8))
        .count();
    assert!(framed > 2 * 120 * 65, "{framed} frame pixels");

    // Every comment, heading, status and verdict comes back out as text, Chinese included.
    let text = poppler("pdftotext", &["-enc", "UTF-8"], &pdf);
    for thread in &threads {
        for comment in thread.comments.iter().filter(|c| !c.deleted) {
            assert!(
                text.contains(&comment.text),
                "{:?} missing in:\n{text}",
                comment.text
            );
        }
    }
    for expected in [
        "Tom & Jerry <\"Pilot\"> — 猫和老鼠 'draft' — review",
        "7 threads, 6 open · 3 shots",
        "Draft 2 for the \"director\" & <crew> 第二稿",
        "1 approve · 1 request changes · 0 comment",
        "Mei: Approve — Ship it & celebrate 好",
        "Shot 1 needs <light>",
        "Shot 1 · INT. KITCHEN & HALL - NIGHT",
        "Shot 2 · INT. KITCHEN & HALL - NIGHT",
        "Script: “Tom <sneaks> past \"the\" bowl & 汤姆”",
        "Deleted shot: “Tom <sneaks> past \"the\" bowl & 汤姆”",
        "Project",
        "Resolved by Mei",
        "orphaned",
        "(deleted)",
        "Lin & <Co> · 2026-12-07 13:43 UTC",
        "Mei · 2026-12-07 13:44 UTC",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }

    // Both fonts are embedded (as subsets), so the text renders without system fonts.
    let fonts = poppler("pdffonts", &[], &pdf);
    for family in ["DejaVuSans", "DroidSansFallback"] {
        let line = fonts
            .lines()
            .find(|l| l.contains(family))
            .unwrap_or_else(|| panic!("{family} not in:\n{fonts}"));
        assert!(
            line.split_whitespace().any(|w| w == "yes"),
            "{family} not embedded: {line}"
        );
    }
}

#[test]
fn a_long_review_breaks_across_pages_and_keeps_every_thread() {
    let dir = tempfile::tempdir().unwrap();
    let timeline = markup::timeline();
    let long = "The light falls off too early on the left and the cat's eyes lose their shine; \
                左边的光太早暗下去了, 猫的眼睛失去了光泽。";
    let threads: Vec<Thread> = (0..40)
        .map(|i| Thread {
            id: ThreadId::from(format!("t{i}").as_str()),
            anchor: Anchor::Shot {
                shot_id: ShotId::from(if i % 2 == 0 { "shot-1" } else { "shot-2" }),
            },
            quote: String::new(),
            version: None,
            author: Author {
                id: None,
                name: "Lin".into(),
            },
            created_at_ms: 0,
            status: ThreadStatus::Open,
            resolved_by: None,
            resolved_at_ms: None,
            comments: vec![Comment {
                id: CommentId::from(format!("c{i}").as_str()),
                author: Author {
                    id: None,
                    name: "Lin".into(),
                },
                created_at_ms: 0,
                edited_at_ms: None,
                text: format!("note{i}start {long} {long} note{i}end"),
                deleted: false,
                mentions: vec![],
            }],
            orphaned: false,
        })
        .collect();
    let review = Review {
        timeline: &timeline,
        threads: &threads,
        versions: &[],
        verdicts: &[],
    };
    let pdf = write_pdf(dir.path(), "long.pdf", &review, |_| {
        Some(solid_png(32, 18, FRAME))
    });
    let info = poppler("pdfinfo", &[], &pdf);
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(pages >= 10, "{pages} pages for 40 threads with frames");
    let text = poppler("pdftotext", &["-enc", "UTF-8"], &pdf);
    for i in 0..40 {
        for word in [format!("note{i}start"), format!("note{i}end")] {
            assert!(text.contains(&word), "{word} missing");
        }
    }
    // Wrapped, not cut: every line of the long comment stays on the page, so the text of
    // each thread comes back whole (pdftotext ends each line with a line break).
    assert_eq!(text.matches("光泽").count(), 80);
    assert_eq!(text.matches("shine;").count(), 80);
}

/// An asset that is not a readable image costs only its frame: the report is still written.
#[test]
fn an_unreadable_frame_is_drawn_empty() {
    let dir = tempfile::tempdir().unwrap();
    let (timeline, threads) = (markup::timeline(), markup::threads());
    let review = Review {
        timeline: &timeline,
        threads: &threads,
        versions: &[],
        verdicts: &[],
    };
    let broken = |_: &exports::Media| Some(b"\x89PNG\r\n\x1a\nnot really".to_vec());
    let pdf = write_pdf(dir.path(), "broken.pdf", &review, broken);
    let text = poppler("pdftotext", &["-enc", "UTF-8"], &pdf);
    assert!(text.contains("太暗了"), "{text}");
    let (pixels, ..) = render_first_page(&pdf);
    assert!(
        !pixels
            .chunks_exact(3)
            .any(|p| p.iter().zip(FRAME).all(|(&c, f)| c.abs_diff(f) <= 8)),
        "no frame colour without a frame"
    );
    let unknown = |_: &exports::Media| Some(b"plain text, no image".to_vec());
    write_pdf(dir.path(), "unknown.pdf", &review, unknown);
}
