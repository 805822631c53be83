//! Final Cut Pro 7 XML (xmeml v5): a sequence with one video track, a clip item per shot with a
//! take and a gap (by position) for shots without one. Premiere and Resolve import it.

use crate::{Timeline, xml_escape};

pub fn write(timeline: &Timeline) -> String {
    let fps = timeline.fps;
    let rate = format!("<rate><timebase>{fps}</timebase><ntsc>FALSE</ntsc></rate>");
    let mut items = String::new();
    let mut start = 0u64;
    for shot in &timeline.shots {
        let end = start + shot.frames;
        if let Some(media) = &shot.media {
            let still = if media.is_video {
                ""
            } else {
                "<stillframe>TRUE</stillframe>"
            };
            items.push_str(&format!(
                r#"        <clipitem id="clipitem-{n}">
          <name>Shot {n}</name>
          <duration>{frames}</duration>
          {rate}
          <start>{start}</start>
          <end>{end}</end>
          <in>0</in>
          <out>{frames}</out>
          <file id="file-{n}">
            <name>{name}</name>
            <pathurl>{url}</pathurl>
            {rate}
            <duration>{frames}</duration>
            <media><video>{still}</video></media>
          </file>
          <comments><mastercomment1>{comment}</mastercomment1><mastercomment2>{id}</mastercomment2></comments>
        </clipitem>
"#,
                n = shot.number,
                frames = shot.frames,
                name = xml_escape(&media.asset_id),
                url = xml_escape(&media.url),
                comment = xml_escape(&shot.description),
                id = xml_escape(shot.shot_id.as_str()),
            ));
        }
        start = end;
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="5">
  <sequence id="sequence-1">
    <name>{name}</name>
    <duration>{total}</duration>
    {rate}
    <media>
      <video>
        <format><samplecharacteristics>{rate}<width>1920</width><height>1080</height></samplecharacteristics></format>
        <track>
{items}        </track>
      </video>
    </media>
  </sequence>
</xmeml>
"#,
        name = xml_escape(&timeline.name),
        total = timeline.total_frames(),
    )
}
