//! Golden files: every export written from a `Timeline` (FCP7 XML, FCPXML, EDL, OTIO, the
//! sheet, and the first four again with review notes, and the review report's HTML; Fountain is written from the snapshot and checked by its reader) for one small, fixed
//! timeline, compared byte for byte with the files in `tests/golden/`. The timeline carries the names that break hand-made markup
//! (`&`, `<`, `>`, both quotes, CJK) and both kinds of take (a still, a video) and a shot
//! without one, so a change to escaping or structure shows up as a diff to review.
//!
//! After a deliberate change of an export, regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p exports --test golden` and review the diff before committing.

use std::path::Path;

#[path = "fixtures/markup.rs"]
mod markup;

use markup::{notes, timeline};

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

// The same timeline with review notes (`fixtures/markup.rs`: threads whose texts carry markup
// characters and CJK): open threads as markers and locators, resolved ones left out.

#[test]
fn fcp7_xml_with_notes() {
    check(
        "board-notes.xml",
        &exports::fcp7::write_with_notes(&timeline(), &notes()),
    );
}

#[test]
fn fcpxml_with_notes() {
    check(
        "board-notes.fcpxml",
        &exports::fcpxml::write_with_notes(&timeline(), &notes()),
    );
}

#[test]
fn edl_with_notes() {
    check(
        "board-notes.edl",
        &exports::edl::write_with_notes(&timeline(), &notes()),
    );
}

#[test]
fn otio_with_notes() {
    check(
        "board-notes.otio",
        &exports::otio::write_with_notes(&timeline(), &notes()),
    );
}

#[test]
fn review_report_html() {
    let (timeline, threads) = (timeline(), markup::threads());
    let (versions, verdicts) = (markup::versions(), markup::verdicts());
    let review = exports::review_report::Review {
        timeline: &timeline,
        threads: &threads,
        versions: &versions,
        verdicts: &verdicts,
    };
    check(
        "review.html",
        &exports::review_report::html(&review, |m| Some(m.url.clone())),
    );
}
