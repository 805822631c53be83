//! Golden files: every text export of one small, fixed timeline, compared byte for byte with
//! the files in `tests/golden/`. The timeline carries the names that break hand-made markup
//! (`&`, `<`, `>`, both quotes, CJK) and both kinds of take (a still, a video) and a shot
//! without one, so a change to escaping or structure shows up as a diff to review.
//!
//! After a deliberate change of an export, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p exports --test golden` and review the diff before committing.

use std::path::Path;

use exports::{Media, Timeline, TimelineShot};
use shared_model::{SceneId, ShotId};

/// A title, a description and dialogue with every character XML and HTML treat specially.
const TITLE: &str = "Tom & Jerry <\"Pilot\"> — 猫和老鼠 'draft'";

fn shot(number: usize, frames: u64, media: Option<Media>) -> TimelineShot {
    TimelineShot {
        number,
        shot_id: ShotId::from(format!("shot-{number}").as_str()),
        scene_id: Some(SceneId::from("scene-1")),
        scene_title: "INT. KITCHEN & HALL - NIGHT".into(),
        description: format!("Shot {number}: Tom <sneaks> past \"the\" bowl & Jerry's hole · 汤姆"),
        dialogue: if number == 2 {
            "Say \"cheese\" & <run>!".into()
        } else {
            String::new()
        },
        speaker: (number == 2).then(|| "Jerry & Co.".to_owned()),
        characters: vec!["Tom".into(), "Jerry & Co.".into()],
        framing: if number == 3 {
            String::new()
        } else {
            "close-up".into()
        },
        duration_ms: (frames * 1000 / 24) as u32,
        frames,
        media,
    }
}

fn timeline() -> Timeline {
    let still = Media {
        asset_id: "a&1".into(),
        mime: "image/png".into(),
        url: "media/a&1 <still>.png".into(),
        is_video: false,
    };
    let video = Media {
        asset_id: "b'2".into(),
        mime: "video/mp4".into(),
        url: "media/b'2 \"clip\" 猫.mp4".into(),
        is_video: true,
    };
    Timeline {
        name: TITLE.into(),
        fps: 24,
        shots: vec![
            shot(1, 72, Some(still)),
            shot(2, 30, None),
            shot(3, 48, Some(video)),
        ],
    }
}

fn check(file: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("the golden file is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{file} differs from its golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (if the change is deliberate, regenerate with UPDATE_GOLDEN=1 and review the diff)",
            line + 1,
            expected.lines().nth(line).unwrap_or("<end of file>"),
            actual.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn fcp7_xml() {
    check("board.xml", &exports::fcp7::write(&timeline()));
}

#[test]
fn fcpxml() {
    check("board.fcpxml", &exports::fcpxml::write(&timeline()));
}

#[test]
fn edl() {
    check("board.edl", &exports::edl::write(&timeline()));
}

#[test]
fn otio() {
    check("board.otio", &exports::otio::write(&timeline()));
}

#[test]
fn sheet() {
    check("board.html", &exports::sheet::write(&timeline()));
}
