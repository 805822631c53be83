//! CMX3600 EDL: one event per shot on the video track. Stills and clips are referenced by a
//! reel name and a `* FROM CLIP NAME:` comment (the convention Avid, Resolve and Premiere read);
//! shots without a take are black (`BL`).
//!
//! [`write_with_notes`] adds the open review notes as locator comments after their shot's event,
//! `* LOC: 01:00:03:00 RED     text (2 replies) — author`, in the column layout Avid writes
//! and OpenTimelineIO's CMX reader parses (timecode, a colour padded to seven, the text).
//! The locator's timecode is the record timecode of the shot's first frame, so the note sits
//! where the shot is on the editor's timeline (every source starts at 00:00:00:00, so a source
//! timecode would put every note at zero). EDLs have no timeline-wide comment an editor sees,
//! so notes for the timeline as a whole become locators on the first event.

use crate::review::{Note, ReviewNotes};
use crate::{Timeline, timecode};

/// The timeline as a CMX3600 EDL, without review notes.
pub fn write(timeline: &Timeline) -> String {
    write_with_notes(timeline, &ReviewNotes::default())
}

/// The timeline as a CMX3600 EDL, with the open review notes as locators.
pub fn write_with_notes(timeline: &Timeline, notes: &ReviewNotes) -> String {
    let placed = notes.placed(timeline);
    let mut out = format!("TITLE: {}\nFCM: NON-DROP FRAME\n\n", title(&timeline.name));
    // Record timecode starts at one hour, as editorial timelines do.
    let mut record = 3600 * u64::from(timeline.fps);
    for (i, shot) in timeline.shots.iter().enumerate() {
        let (reel, clip) = match &shot.media {
            Some(m) => ("AX", Some(m.url.as_str())),
            None => ("BL", None),
        };
        let src_in = timecode(0, timeline.fps);
        let src_out = timecode(shot.frames, timeline.fps);
        let rec_in = timecode(record, timeline.fps);
        record += shot.frames;
        let rec_out = timecode(record, timeline.fps);
        out.push_str(&format!(
            "{:03}  {reel:<8} V     C        {src_in} {src_out} {rec_in} {rec_out}\n",
            i + 1
        ));
        if let Some(clip) = clip {
            out.push_str(&format!("* FROM CLIP NAME: {clip}\n"));
        }
        out.push_str(&format!(
            "* COMMENT: SHOT {} {}\n",
            shot.number, shot.shot_id
        ));
        let whole = if i == 0 { placed.whole.as_slice() } else { &[] };
        for note in placed.on(&shot.shot_id).iter().chain(whole) {
            out.push_str(&locator(&rec_in, note));
        }
        out.push('\n');
    }
    out
}

fn locator(at: &str, note: &Note) -> String {
    // `label` is already one line without control characters.
    format!("* LOC: {at} {:<7} {}\n", "RED", note.label())
}

/// EDL titles are one line of plain text.
fn title(name: &str) -> String {
    let t: String = name.chars().filter(|c| !c.is_control()).take(70).collect();
    if t.trim().is_empty() {
        "SHOTWEAVE".into()
    } else {
        t
    }
}
