//! FCPXML 1.9 (Final Cut Pro X / Resolve): assets in the resources, a spine with an asset clip
//! per shot with a take and a gap per shot without one. Times are rational seconds (`72/24s`).

use crate::{Timeline, xml_escape};

pub fn write(timeline: &Timeline) -> String {
    let fps = timeline.fps;
    let t = |frames: u64| format!("{frames}/{fps}s");
    let mut resources = format!(
        "    <format id=\"r1\" name=\"FFVideoFormat1080p{fps}\" frameDuration=\"1/{fps}s\" width=\"1920\" height=\"1080\"/>\n"
    );
    let mut spine = String::new();
    let mut offset = 0u64;
    for shot in &timeline.shots {
        let name = format!("Shot {}", shot.number);
        match &shot.media {
            Some(media) => {
                let id = format!("a{}", shot.number);
                resources.push_str(&format!(
                    "    <asset id=\"{id}\" name=\"{asset}\" start=\"0s\" duration=\"{dur}\" hasVideo=\"1\" format=\"r1\">\n      <media-rep kind=\"original-media\" src=\"{src}\"/>\n    </asset>\n",
                    asset = xml_escape(&media.asset_id),
                    dur = t(shot.frames),
                    src = xml_escape(&media.url),
                ));
                spine.push_str(&format!(
                    "          <asset-clip ref=\"{id}\" name=\"{name}\" offset=\"{off}\" duration=\"{dur}\" start=\"0s\">\n            <note>{note}</note>\n            <metadata><md key=\"com.shotweave.shot_id\" value=\"{sid}\"/></metadata>\n          </asset-clip>\n",
                    off = t(offset),
                    dur = t(shot.frames),
                    note = xml_escape(&shot.description),
                    sid = xml_escape(shot.shot_id.as_str()),
                ));
            }
            None => spine.push_str(&format!(
                "          <gap name=\"{name}\" offset=\"{off}\" duration=\"{dur}\" start=\"0s\"/>\n",
                off = t(offset),
                dur = t(shot.frames),
            )),
        }
        offset += shot.frames;
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE fcpxml>
<fcpxml version="1.9">
  <resources>
{resources}  </resources>
  <library>
    <event name="Shotweave">
      <project name="{name}">
        <sequence format="r1" duration="{total}" tcStart="0s" tcFormat="NDF">
          <spine>
{spine}          </spine>
        </sequence>
      </project>
    </event>
  </library>
</fcpxml>
"#,
        name = xml_escape(&timeline.name),
        total = t(timeline.total_frames()),
    )
}
