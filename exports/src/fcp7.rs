//! Final Cut Pro 7 XML (xmeml v5): a sequence with one video track, a clip item per shot with a
//! take and a gap (by position) for shots without one. Premiere and Resolve import it.
//!
//! xmeml has no gap element, so the frames of shots without a take are simply left empty;
//! consecutive ones read back as one gap, and trailing ones only as the sequence's duration.

use std::io;

use crate::Timeline;
use crate::xml::{XmlWriter, document, element, empty, text};

pub fn write(timeline: &Timeline) -> String {
    let fps = timeline.fps;
    document("xmeml", |w| {
        element(w, "xmeml", &[("version", "5")], |w| {
            element(w, "sequence", &[("id", "sequence-1")], |w| {
                text(w, "name", &timeline.name)?;
                text(w, "duration", &timeline.total_frames().to_string())?;
                rate(w, fps)?;
                element(w, "media", &[], |w| {
                    element(w, "video", &[], |w| {
                        element(w, "format", &[], |w| {
                            element(w, "samplecharacteristics", &[], |w| {
                                rate(w, fps)?;
                                text(w, "width", "1920")?;
                                text(w, "height", "1080")
                            })
                        })?;
                        element(w, "track", &[], |w| clip_items(w, timeline))
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
fn clip_items(w: &mut XmlWriter, timeline: &Timeline) -> io::Result<()> {
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
                })
            })?;
        }
        start = end;
    }
    Ok(())
}
