//! Every export of a real storyboard (the first chapters of Alice in Wonderland, some shots with
//! takes, some without), read back by the format's reference reader: Python `opentimelineio`
//! (with its FCP7 XML and FCPXML adapters), `pycmx`, `screenplain`, `ffprobe`. Set-up (`pip install -r tests/readers/requirements.txt`,
//! ffmpeg) is done by `cargo xtask test`.

// Helpers outside `#[test]` functions state their expectations with unwrap too (clippy.toml's
// allow-unwrap-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use exports::{Timeline, extension};
use shared_model::testing::data_dir;
use shared_model::{Asset, AssetId, Project, ProjectOptions};

#[path = "fixtures/markup.rs"]
mod markup;

const FPS: u32 = 24;

fn reader(kind: &str, file: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readers/check.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(kind)
        .arg(file)
        .output()
        .expect("python3 runs (installed with the test prerequisites)");
    assert!(
        output.status.success(),
        "{kind} reader failed on {}: {}\n(run `cargo xtask test`, which installs tests/readers/requirements.txt)",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("reader prints JSON")
}

fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    let mut writer = encoder.write_header().expect("header");
    let pixels: Vec<u8> = (0..width * height)
        .flat_map(|i| [shade, (i % 251) as u8, 255 - shade])
        .collect();
    writer.write_image_data(&pixels).expect("pixels");
    writer.finish().expect("finish");
    out
}

/// A project from the first two chapters of Alice, every other shot with a PNG take on disk.
fn storyboard(media_dir: &Path) -> Project {
    let bytes = std::fs::read(data_dir().join("novels/alice-in-wonderland.en.txt")).expect("novel");
    let options = breakdown::ImportOptions {
        file_name: Some("Alice.txt".into()),
        ..Default::default()
    };
    let mut novel = breakdown::import(&bytes, &options).expect("import");
    let end = novel.chapters[1].range.end;
    novel.script.truncate(end);
    novel.chapters.truncate(2);
    let mut plan = breakdown::offline::breakdown(&novel);
    // Keep the test quick: the first 40 shots are plenty for every format.
    let mut kept = 0;
    for scene in &mut plan.scenes {
        scene.shots.truncate(40usize.saturating_sub(kept));
        kept += scene.shots.len();
    }
    plan.scenes.retain(|s| !s.shots.is_empty());
    let project = Project::empty(ProjectOptions::default());
    breakdown::apply(&novel, &plan, &project);

    for (i, shot) in project
        .shots()
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
    {
        let bytes = png(64, 36, (i * 7) as u8);
        let sha = format!("{:064x}", i + 1);
        std::fs::write(media_dir.join(format!("{sha}.png")), &bytes).unwrap();
        let asset = Asset {
            id: AssetId::from(sha.as_str()),
            sha256: sha.clone(),
            mime: "image/png".into(),
            size: bytes.len() as u64,
            name: format!("shot {}", i + 1),
            width: Some(64),
            height: Some(36),
            duration_ms: None,
            created_at_ms: 0.0,
            provenance: None,
        };
        project.add_asset(&asset).unwrap();
        project.add_take(&shot.id, &asset.id, true).unwrap();
    }
    project
}

fn media_url(id: &str, mime: &str) -> String {
    format!("media/{id}.{}", extension(mime))
}

#[test]
fn every_export_is_read_by_its_reference_reader() {
    let dir = tempfile::tempdir().unwrap();
    let media_dir = dir.path().join("media");
    std::fs::create_dir(&media_dir).unwrap();
    let project = storyboard(&media_dir);
    let snapshot = project.snapshot();
    let shots = &snapshot.shots;
    assert!(shots.len() >= 30, "{} shots", shots.len());
    let timeline = Timeline::new(&snapshot, FPS, media_url);
    let write = |name: &str, text: String| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };

    // OpenTimelineIO: one item per shot in order, clips for takes, gaps otherwise, durations.
    let otio = reader(
        "otio",
        &write("board.otio", exports::otio::write(&timeline)),
    );
    let items = otio["items"].as_array().unwrap();
    assert_eq!(items.len(), shots.len());
    for (item, shot) in items.iter().zip(shots) {
        assert_eq!(item["shot_id"], shot.id.as_str());
        assert_eq!(
            item["kind"],
            if shot.selected_take.is_some() {
                "clip"
            } else {
                "gap"
            }
        );
        let expected_frames = ((u64::from(shot.duration_ms) * 24 + 500) / 1000).max(1);
        assert_eq!(
            item["frames"].as_f64().unwrap() as u64,
            expected_frames,
            "shot {}",
            shot.id
        );
        assert_eq!(item["rate"].as_f64().unwrap(), 24.0);
        if let Some(take) = &shot.selected_take {
            assert_eq!(item["target_url"], format!("media/{take}.png"));
        }
    }

    // CMX3600: one event per shot, contiguous record timecodes starting at 01:00:00:00.
    let edl = reader("edl", &write("board.edl", exports::edl::write(&timeline)));
    let events = edl["events"].as_array().unwrap();
    assert_eq!(events.len(), shots.len());
    assert_eq!(events[0]["record_in"], "01:00:00:00");
    for pair in events.windows(2) {
        assert_eq!(pair[0]["record_out"], pair[1]["record_in"]);
    }
    assert_eq!(
        events[0]["clip_name"],
        format!("media/{}.png", shots[0].selected_take.as_ref().unwrap())
    );
    assert_eq!(events[1]["reel"], "BL");

    // Fountain: the title, one scene heading per scene, dialogue under its speaker.
    let fountain = reader(
        "fountain",
        &write("board.fountain", exports::fountain::write(&snapshot)),
    );
    assert_eq!(fountain["title"], snapshot.meta.title);
    assert_eq!(
        fountain["slugs"].as_array().unwrap().len(),
        snapshot.scenes.len()
    );
    let dialogue_shots = shots.iter().filter(|s| !s.dialogue.is_empty()).count();
    assert_eq!(
        fountain["kinds"]["Dialog"].as_u64().unwrap() as usize,
        dialogue_shots
    );
    assert!(
        fountain["speakers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "ALICE"),
        "{fountain}"
    );

    // FCP7 XML and FCPXML, read by OpenTimelineIO's adapters for them. Both readers rebuild
    // the track from where each clip is placed and fill the frames between clips with gaps
    // (a shot without a take at the very end leaves only the sequence's length, which they do
    // not read), so what must hold is that every take is read at the frame its shot starts,
    // with its length and name; FCP7's reader also gives its path, shot id and description.
    let starts: Vec<u64> = timeline
        .shots
        .iter()
        .scan(0, |at, s| {
            let start = *at;
            *at += s.frames;
            Some(start)
        })
        .collect();
    let with_takes: Vec<usize> = (0..shots.len())
        .filter(|&i| shots[i].selected_take.is_some())
        .collect();
    let fcp7 = exports::fcp7::write(&timeline);
    let fcpxml = exports::fcpxml::write(&timeline);
    assert_eq!(
        fcpxml.matches("<gap ").count(),
        shots.len() - with_takes.len()
    );
    for (kind, file, text) in [
        ("fcp7", "board.xml", fcp7),
        ("fcpxml", "board.fcpxml", fcpxml),
    ] {
        let read = reader(kind, &write(file, text));
        assert_eq!(read["name"], snapshot.meta.title, "{kind}");
        let mut at = 0;
        let mut clips = Vec::new();
        for item in read["items"].as_array().unwrap() {
            if item["kind"] == "clip" {
                clips.push((at, item));
            }
            at += item["frames"].as_f64().unwrap() as u64;
        }
        assert_eq!(clips.len(), with_takes.len(), "{kind}: {read}");
        for ((at, item), &i) in clips.iter().zip(&with_takes) {
            let (shot, placed) = (&shots[i], &timeline.shots[i]);
            assert_eq!(
                *at,
                starts[i],
                "{kind}: shot {} starts at its frame: {item}",
                i + 1
            );
            assert_eq!(
                item["frames"].as_f64().unwrap() as u64,
                placed.frames,
                "{kind}"
            );
            assert_eq!(item["rate"].as_f64().unwrap(), 24.0, "{kind}");
            assert_eq!(item["name"], format!("Shot {}", placed.number), "{kind}");
            if kind == "fcp7" {
                let take = shot.selected_take.as_ref().unwrap();
                assert_eq!(item["target_url"], format!("media/{take}.png"));
                assert_eq!(item["shot_id"], shot.id.as_str());
                assert_eq!(item["comment"], shot.description);
            }
        }
    }

    // The sheet shows every shot.
    let sheet = exports::sheet::write(&timeline);
    assert_eq!(
        sheet.matches("<article class=\"shot\">").count(),
        shots.len()
    );

    // The animatic lasts as long as the storyboard, takes and gaps alike.
    let mp4 = dir.path().join("animatic.mp4");
    exports::animatic::render(
        &timeline,
        |m| media_dir.join(format!("{}.png", m.asset_id)),
        &mp4,
    )
    .unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&mp4)
        .output()
        .expect("ffprobe (installed with ffmpeg by the test prerequisites)");
    let seconds: f64 = String::from_utf8_lossy(&probe.stdout)
        .trim()
        .parse()
        .expect("a duration");
    let expected = timeline.total_frames() as f64 / 24.0;
    assert!(
        (seconds - expected).abs() <= 2.0 / 24.0,
        "animatic {seconds}s, storyboard {expected}s"
    );
}

#[test]
fn an_edited_otio_flows_back_into_the_shots() {
    let dir = tempfile::tempdir().unwrap();
    let project = storyboard(dir.path());
    let snapshot = project.snapshot();
    let scene = snapshot.scenes[0].id.clone();
    let in_scene: Vec<_> = snapshot
        .shots
        .iter()
        .filter(|s| s.scene_id.as_ref() == Some(&scene))
        .collect();
    assert!(in_scene.len() >= 3);
    let otio = exports::otio::write(&Timeline::new(&snapshot, FPS, media_url));

    // An editor swaps the first two shots and makes the third 5 s long, with the real library.
    let path = dir.path().join("board.otio");
    std::fs::write(&path, otio).unwrap();
    let edit = r#"
import sys, opentimelineio as otio
t = otio.adapters.read_from_file(sys.argv[1])
track = t.tracks[0]
first = track[0]
track.remove(first)
track.insert(1, first)
third = track[2]
third.source_range = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(120, 24))
otio.adapters.write_to_file(t, sys.argv[1])
"#;
    let status = Command::new("python3")
        .args(["-c", edit])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());

    let edits = exports::otio::read_edits(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(edits.len(), snapshot.shots.len());
    let changed = exports::otio::apply_edits(&project, &edits);
    assert!(changed >= 2);
    let after: Vec<_> = project.scene_shots(&scene);
    assert_eq!(after[0].id, in_scene[1].id);
    assert_eq!(after[1].id, in_scene[0].id);
    assert_eq!(after[2].id, in_scene[2].id);
    assert_eq!(after[2].duration_ms, 5_000);
    assert_eq!(after.len(), in_scene.len());

    assert!(matches!(
        exports::otio::read_edits("{not json"),
        Err(exports::Error::InvalidOtio(_))
    ));
}

/// Names with `&`, `<`, `>`, both quotes and CJK come back from the FCP readers exactly as they
/// went in: the project title, and in FCP7 each take's path, description and shot id.
#[test]
fn markup_characters_and_cjk_in_names_survive_the_fcp_readers() {
    let dir = tempfile::tempdir().unwrap();
    let timeline = markup::timeline();
    assert!(timeline.name.contains(['&', '<', '"', '\'', '猫']));

    let path = dir.path().join("markup.xml");
    std::fs::write(&path, exports::fcp7::write(&timeline)).unwrap();
    let read = reader("fcp7", &path);
    assert_eq!(read["name"], timeline.name);
    let items = read["items"].as_array().unwrap();
    assert_eq!(items.len(), timeline.shots.len(), "{read}");
    for (item, shot) in items.iter().zip(&timeline.shots) {
        assert_eq!(item["frames"].as_f64().unwrap() as u64, shot.frames);
        let Some(media) = &shot.media else {
            assert_eq!(item["kind"], "gap");
            continue;
        };
        assert_eq!(item["target_url"], media.url);
        assert_eq!(item["comment"], shot.description);
        assert_eq!(item["shot_id"], shot.shot_id.as_str());
    }

    let path = dir.path().join("markup.fcpxml");
    std::fs::write(&path, exports::fcpxml::write(&timeline)).unwrap();
    let read = reader("fcpxml", &path);
    assert_eq!(read["name"], timeline.name);
    let kinds: Vec<&str> = read["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["clip", "gap", "clip"]);
}

/// The markers' names as a reader gives them.
fn names(markers: &serde_json::Value) -> Vec<&str> {
    markers
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect()
}

/// Open review threads come back from every timeline format's reader as markers (locators in
/// the EDL) on the right clips, at the right frames, with names and CJK intact; the resolved
/// thread is nowhere. The expected labels are written out here by hand from the fixture's
/// threads (first comment, live replies, author).
#[test]
fn review_notes_are_read_back_as_markers_and_locators() {
    const SHOT1_DARK: &str = "Too dark \"here\" & <there> — 太暗了 (1 reply) — Lin & <Co>";
    const SHOT1_HOLD: &str = "Hold two frames longer — Mei";
    const SHOT2_CUT: &str = "Cut 'this' line? 猫 — Mei";
    const SCRIPT_ON_SHOT3: &str = "Rewrite <b>this</b> & that (2 replies) — Lin & <Co>";
    const PROJECT: &str = "Music & <sound>: 配乐 — Mei";
    const DELETED_SHOT: &str = "Bring the \"cat\" back — Mei";
    let dir = tempfile::tempdir().unwrap();
    let timeline = markup::timeline();
    let notes = markup::notes();
    let shot2_at = timeline.shots[0].frames as f64;
    let write = |name: &str, text: String| -> PathBuf {
        let path = dir.path().join(name);
        assert!(
            !text.contains("Old note"),
            "{name} carries a resolved thread"
        );
        std::fs::write(&path, text).unwrap();
        path
    };

    // OpenTimelineIO: clip and gap markers at the item's first frame, one frame long, red,
    // with the thread in metadata; the project's and the deleted shot's on the stack.
    let otio = reader(
        "otio_markers",
        &write(
            "notes.otio",
            exports::otio::write_with_notes(&timeline, &notes),
        ),
    );
    assert_eq!(names(&otio["stack"]), [PROJECT, DELETED_SHOT], "{otio}");
    let items = otio["items"].as_array().unwrap();
    let expected: [&[&str]; 3] = [&[SHOT1_DARK, SHOT1_HOLD], &[SHOT2_CUT], &[SCRIPT_ON_SHOT3]];
    for ((item, shot), want) in items.iter().zip(&timeline.shots).zip(expected) {
        assert_eq!(item["shot_id"], shot.shot_id.as_str());
        assert_eq!(names(&item["markers"]), want, "{item}");
        for m in item["markers"].as_array().unwrap() {
            assert_eq!(
                (
                    m["start"].as_f64(),
                    m["duration"].as_f64(),
                    m["rate"].as_f64()
                ),
                (Some(0.0), Some(1.0), Some(24.0))
            );
            assert_eq!(m["color"], "RED");
            assert_eq!(m["status"], "open");
        }
    }
    assert_eq!(items[0]["markers"][0]["thread_id"], "thread-1");
    assert_eq!(items[0]["markers"][0]["author"], "Lin & <Co>");
    assert_eq!(
        items[0]["markers"][0]["comment"],
        "Too dark \"here\" & <there> — 太暗了"
    );
    assert_eq!(items[1]["kind"], "gap");

    // CMX3600 through pycmx: LOC remarks on their shot's event at its record timecode; the
    // whole timeline's on the first event.
    let edl = reader(
        "edl_locators",
        &write(
            "notes.edl",
            exports::edl::write_with_notes(&timeline, &notes),
        ),
    );
    let events = edl["events"].as_array().unwrap();
    let expected: [&[&str]; 3] = [
        &[SHOT1_DARK, SHOT1_HOLD, PROJECT, DELETED_SHOT],
        &[SHOT2_CUT],
        &[SCRIPT_ON_SHOT3],
    ];
    assert_eq!(events.len(), 3);
    for (event, want) in events.iter().zip(expected) {
        let locators = event["locators"].as_array().unwrap();
        let texts: Vec<&str> = locators
            .iter()
            .map(|l| l["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, want, "{event}");
        for l in locators {
            assert_eq!(l["timecode"], event["record_in"]);
            assert_eq!(l["color"], "RED");
        }
    }
    assert_eq!(events[1]["record_in"], "01:00:03:00");

    // FCP7 XML through OpenTimelineIO's fcp_xml adapter: clip markers on the clips; the gap
    // shot's marker on the sequence at the frame the shot starts, the whole timeline's at 0.
    let fcp7 = reader(
        "fcp7_markers",
        &write(
            "notes.xml",
            exports::fcp7::write_with_notes(&timeline, &notes),
        ),
    );
    assert_eq!(
        names(&fcp7["stack"]),
        [PROJECT, DELETED_SHOT, SHOT2_CUT],
        "{fcp7}"
    );
    let starts: Vec<f64> = fcp7["stack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["start"].as_f64().unwrap())
        .collect();
    assert_eq!(starts, [0.0, 0.0, shot2_at]);
    let clips: Vec<&serde_json::Value> = fcp7["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "clip")
        .collect();
    assert_eq!(clips.len(), 2);
    assert_eq!(names(&clips[0]["markers"]), [SHOT1_DARK, SHOT1_HOLD]);
    assert_eq!(names(&clips[1]["markers"]), [SCRIPT_ON_SHOT3]);
    assert_eq!(
        clips[0]["markers"][0]["fcp_comment"],
        "Shotweave review thread thread-1 (open)"
    );
    assert_eq!(clips[0]["markers"][0]["start"].as_f64(), Some(0.0));

    // FCPXML through OpenTimelineIO's fcpx_xml adapter: to-do markers (red) on the asset
    // clips, the whole timeline's on the first item. The adapter rebuilds gaps from the
    // clips' offsets and so never reads a marker inside a <gap>: that one is checked with a
    // plain XML parse of the same file.
    let path = write(
        "notes.fcpxml",
        exports::fcpxml::write_with_notes(&timeline, &notes),
    );
    let fcpx = reader("fcpxml_markers", &path);
    let clips: Vec<&serde_json::Value> = fcpx["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "clip")
        .collect();
    assert_eq!(
        names(&clips[0]["markers"]),
        [SHOT1_DARK, SHOT1_HOLD, PROJECT, DELETED_SHOT],
        "{fcpx}"
    );
    assert_eq!(names(&clips[1]["markers"]), [SCRIPT_ON_SHOT3]);
    for m in clips[0]["markers"].as_array().unwrap() {
        assert_eq!(m["color"], "RED");
        assert_eq!(
            (m["start"].as_f64(), m["duration"].as_f64()),
            (Some(0.0), Some(1.0))
        );
    }
    let tree = reader("fcpxml_tree", &path);
    let gap = &tree["items"][1];
    assert_eq!(
        (gap["tag"].as_str(), gap["name"].as_str()),
        (Some("gap"), Some("Shot 2"))
    );
    let values: Vec<&str> = gap["markers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, [SHOT2_CUT]);
    assert_eq!(gap["markers"][0]["completed"], "0");

    // Without notes, no format carries a marker.
    assert!(!exports::otio::write(&timeline).contains("Marker.2"));
    assert!(!exports::edl::write(&timeline).contains("LOC:"));
    assert!(!exports::fcp7::write(&timeline).contains("<marker>"));
    assert!(!exports::fcpxml::write(&timeline).contains("<marker"));
}
