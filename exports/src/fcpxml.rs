//! FCPXML 1.9 (Final Cut Pro X / Resolve): assets in the resources, a spine with an asset clip
//! per shot with a take and a gap per shot without one. Times are rational seconds (`72/24s`).
//!
//! [`write_with_notes`] adds the open review notes as to-do markers (`completed="0"`, which
//! Final Cut shows red) at the first frame of their shot's asset clip or gap: `value` is the
//! note's one-line label, `note` the thread id and status. A sequence cannot carry markers
//! itself, so notes for the timeline as a whole go on the first item of the spine.

use std::io;

use crate::review::{Note, Placed, ReviewNotes};
use crate::xml::{XmlWriter, document, element, empty, text};
use crate::{Timeline, TimelineShot};

/// The timeline as FCPXML 1.9, without review notes.
pub fn write(timeline: &Timeline) -> String {
    write_with_notes(timeline, &ReviewNotes::default())
}

/// The timeline as FCPXML 1.9, with the open review notes as markers.
pub fn write_with_notes(timeline: &Timeline, notes: &ReviewNotes) -> String {
    let placed = notes.placed(timeline);
    let total = time(timeline.total_frames(), timeline.fps);
    let sequence = [
        ("format", "r1"),
        ("duration", total.as_str()),
        ("tcStart", "0s"),
        ("tcFormat", "NDF"),
    ];
    document("fcpxml", |w| {
        element(w, "fcpxml", &[("version", "1.9")], |w| {
            element(w, "resources", &[], |w| resources(w, timeline))?;
            element(w, "library", &[], |w| {
                element(w, "event", &[("name", "Shotweave")], |w| {
                    element(w, "project", &[("name", &timeline.name)], |w| {
                        element(w, "sequence", &sequence, |w| {
                            element(w, "spine", &[], |w| spine(w, timeline, &placed))
                        })
                    })
                })
            })
        })
    })
}

/// `frames` at `fps` as FCPXML's rational seconds.
fn time(frames: u64, fps: u32) -> String {
    format!("{frames}/{fps}s")
}

fn asset_id(shot: &TimelineShot) -> String {
    format!("a{}", shot.number)
}

/// The one video format, then an asset per take.
fn resources(w: &mut XmlWriter, timeline: &Timeline) -> io::Result<()> {
    let fps = timeline.fps;
    let format = [
        ("id", "r1"),
        ("name", &format!("FFVideoFormat1080p{fps}")),
        ("frameDuration", &format!("1/{fps}s")),
        ("width", "1920"),
        ("height", "1080"),
    ];
    empty(w, "format", &format)?;
    for shot in &timeline.shots {
        let Some(media) = &shot.media else { continue };
        let (id, duration) = (asset_id(shot), time(shot.frames, fps));
        let asset = [
            ("id", id.as_str()),
            ("name", &media.asset_id),
            ("start", "0s"),
            ("duration", &duration),
            ("hasVideo", "1"),
            ("format", "r1"),
        ];
        element(w, "asset", &asset, |w| {
            empty(
                w,
                "media-rep",
                &[("kind", "original-media"), ("src", &media.url)],
            )
        })?;
    }
    Ok(())
}

/// The shots one after another: an asset clip (with the description as its note and the shot
/// id as metadata) for a shot with a take, a gap otherwise.
fn spine(w: &mut XmlWriter, timeline: &Timeline, placed: &Placed) -> io::Result<()> {
    let mut offset = 0u64;
    for (i, shot) in timeline.shots.iter().enumerate() {
        let whole = if i == 0 { placed.whole.as_slice() } else { &[] };
        let notes: Vec<&Note> = placed
            .on(&shot.shot_id)
            .iter()
            .chain(whole)
            .copied()
            .collect();
        let name = format!("Shot {}", shot.number);
        let (off, dur) = (time(offset, timeline.fps), time(shot.frames, timeline.fps));
        offset += shot.frames;
        let timing = [
            ("name", name.as_str()),
            ("offset", &off),
            ("duration", &dur),
            ("start", "0s"),
        ];
        if shot.media.is_none() {
            if notes.is_empty() {
                empty(w, "gap", &timing)?;
            } else {
                element(w, "gap", &timing, |w| markers(w, &notes, timeline.fps))?;
            }
            continue;
        }
        let reference = asset_id(shot);
        let clip: Vec<(&str, &str)> = std::iter::once(("ref", reference.as_str()))
            .chain(timing)
            .collect();
        element(w, "asset-clip", &clip, |w| {
            text(w, "note", &shot.description)?;
            markers(w, &notes, timeline.fps)?;
            element(w, "metadata", &[], |w| {
                let md = [
                    ("key", "com.shotweave.shot_id"),
                    ("value", shot.shot_id.as_str()),
                ];
                empty(w, "md", &md)
            })
        })?;
    }
    Ok(())
}

/// One-frame to-do markers at the first frame of the item that contains them.
fn markers(w: &mut XmlWriter, notes: &[&Note], fps: u32) -> io::Result<()> {
    let (start, duration) = (time(0, fps), time(1, fps));
    for note in notes {
        let label = note.label();
        let about = format!(
            "Shotweave review thread {} ({})",
            note.thread_id,
            note.status.as_str()
        );
        let attrs = [
            ("start", start.as_str()),
            ("duration", &duration),
            ("value", &label),
            ("completed", "0"),
            ("note", &about),
        ];
        empty(w, "marker", &attrs)?;
    }
    Ok(())
}
