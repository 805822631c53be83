//! Final Cut Pro 7 XML (xmeml v5): a sequence with one video track, a clip item per shot with a
//! take and a gap (by position) for shots without one. Premiere and Resolve import it.
//!
//! xmeml has no gap element, so the frames of shots without a take are simply left empty;
//! consecutive ones read back as one gap, and trailing ones only as the sequence's duration.
//!
//! [`write_with_notes`] adds the open review notes as `<marker>`s (name: the note's one-line
//! label; comment: the thread id and status; in/out: the first frame): inside their shot's
//! `<clipitem>`, in the clip's own frames. A shot without a take has no element to carry
//! them, so its notes, and those for the timeline as a whole, are sequence markers at the frame
//! where the shot starts (at 0 for the whole timeline).

use std::io;

use crate::Timeline;
use crate::review::{Note, Placed, ReviewNotes};
use crate::xml::{XmlWriter, document, element, empty, text};

/// The timeline as FCP7 XML, without review notes.
pub fn write(timeline: &Timeline) -> String {
    write_with_notes(timeline, &ReviewNotes::default())
}

/// The timeline as FCP7 XML, with the open review notes as markers.
pub fn write_with_notes(timeline: &Timeline, notes: &ReviewNotes) -> String {
    let fps = timeline.fps;
    let placed = notes.placed(timeline);
    // Sequence markers: the whole timeline's at 0, then those of shots without a take at the
    // frame each starts.
    let mut sequence_markers: Vec<(u64, &Note)> = placed.whole.iter().map(|n| (0, *n)).collect();
    let mut start = 0u64;
    for shot in &timeline.shots {
        if shot.media.is_none() {
            sequence_markers.extend(placed.on(&shot.shot_id).iter().map(|n| (start, *n)));
        }
        start += shot.frames;
    }
    document("xmeml", |w| {
        element(w, "xmeml", &[("version", "5")], |w| {
            element(w, "sequence", &[("id", "sequence-1")], |w| {
                text(w, "name", &timeline.name)?;
                text(w, "duration", &timeline.total_frames().to_string())?;
                rate(w, fps)?;
                for (at, note) in &sequence_markers {
                    marker(w, note, *at)?;
                }
                element(w, "media", &[], |w| {
                    element(w, "video", &[], |w| {
                        element(w, "format", &[], |w| {
                            element(w, "samplecharacteristics", &[], |w| {
                                rate(w, fps)?;
                                text(w, "width", "1920")?;
                                text(w, "height", "1080")
                            })
                        })?;
                        element(w, "track", &[], |w| clip_items(w, timeline, &placed))
                    })
                })
            })
        })
    })
}

fn rate(w: &mut XmlWriter, fps: u32) -> io::Result<()> {
    element(w, "rate", &[], |w| {
        text(w, "timebase", &fps.to_string())?;
        text(w, "ntsc", "FALSE")
    })
}

/// One clip item per shot with a take; a shot without one leaves its frames empty, which
/// editors read as a gap.
fn clip_items(w: &mut XmlWriter, timeline: &Timeline, placed: &Placed) -> io::Result<()> {
    let mut start = 0u64;
    for shot in &timeline.shots {
        let end = start + shot.frames;
        if let Some(media) = &shot.media {
            let (n, frames) = (shot.number, shot.frames.to_string());
            let clip_id = format!("clipitem-{n}");
            element(w, "clipitem", &[("id", &clip_id)], |w| {
                text(w, "name", &format!("Shot {n}"))?;
                text(w, "duration", &frames)?;
                rate(w, timeline.fps)?;
                text(w, "start", &start.to_string())?;
                text(w, "end", &end.to_string())?;
                text(w, "in", "0")?;
                text(w, "out", &frames)?;
                element(w, "file", &[("id", &format!("file-{n}"))], |w| {
                    text(w, "name", &media.asset_id)?;
                    text(w, "pathurl", &media.url)?;
                    rate(w, timeline.fps)?;
                    text(w, "duration", &frames)?;
                    element(w, "media", &[], |w| {
                        if media.is_video {
                            empty(w, "video", &[])
                        } else {
                            element(w, "video", &[], |w| text(w, "stillframe", "TRUE"))
                        }
                    })
                })?;
                element(w, "comments", &[], |w| {
                    text(w, "mastercomment1", &shot.description)?;
                    text(w, "mastercomment2", shot.shot_id.as_str())
                })?;
                for note in placed.on(&shot.shot_id) {
                    marker(w, note, 0)?;
                }
                Ok(())
            })?;
        }
        start = end;
    }
    Ok(())
}

/// A one-frame marker at frame `at` of what contains it.
fn marker(w: &mut XmlWriter, note: &Note, at: u64) -> io::Result<()> {
    element(w, "marker", &[], |w| {
        text(w, "name", &note.label())?;
        let comment = format!(
            "Shotweave review thread {} ({})",
            note.thread_id,
            note.status.as_str()
        );
        text(w, "comment", &comment)?;
        text(w, "in", &at.to_string())?;
        text(w, "out", &(at + 1).to_string())
    })
}
