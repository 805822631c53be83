//! CMX3600 EDL: one event per shot on the video track. Stills and clips are referenced by a
//! reel name and a `* FROM CLIP NAME:` comment (the convention Avid, Resolve and Premiere read);
//! shots without a take are black (`BL`).

use crate::{Timeline, timecode};

pub fn write(timeline: &Timeline) -> String {
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
            "* COMMENT: SHOT {} {}\n\n",
            shot.number, shot.shot_id
        ));
    }
    out
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
