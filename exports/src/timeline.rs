//! The project as an editor sees it: shots in order with frame durations and media.

use shared_model::{ProjectSnapshot, SceneId, ShotId};

/// The file behind a selected take.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub asset_id: String,
    pub mime: String,
    /// Where the file is, as the export should reference it (a relative path or a URL).
    pub url: String,
    pub is_video: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineShot {
    /// 1-based, in storyboard order.
    pub number: usize,
    pub shot_id: ShotId,
    pub scene_id: Option<SceneId>,
    pub scene_title: String,
    pub description: String,
    pub dialogue: String,
    /// The first character of the shot, who speaks its dialogue.
    pub speaker: Option<String>,
    pub characters: Vec<String>,
    pub framing: String,
    pub duration_ms: u32,
    pub frames: u64,
    pub media: Option<Media>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub name: String,
    pub fps: u32,
    pub shots: Vec<TimelineShot>,
}

impl Timeline {
    /// Builds the timeline of a project. `media_url` maps a selected take's asset id and mime
    /// type to the reference the export should carry (e.g. `media/<sha256>.png`).
    pub fn new(
        snapshot: &ProjectSnapshot,
        fps: u32,
        media_url: impl Fn(&str, &str) -> String,
    ) -> Self {
        let scene_titles: std::collections::HashMap<&SceneId, &str> = snapshot
            .scenes
            .iter()
            .map(|s| (&s.id, s.title.as_str()))
            .collect();
        let character_names: std::collections::HashMap<&str, &str> = snapshot
            .characters
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        let shots = snapshot
            .shots
            .iter()
            .enumerate()
            .map(|(i, shot)| {
                let characters: Vec<String> = shot
                    .character_ids
                    .iter()
                    .filter_map(|id| character_names.get(id.as_str()).map(|n| (*n).to_owned()))
                    .collect();
                let media = shot.selected_take.as_ref().and_then(|take| {
                    let asset = snapshot.assets.iter().find(|a| &a.id == take)?;
                    Some(Media {
                        asset_id: asset.id.to_string(),
                        url: media_url(asset.id.as_str(), &asset.mime),
                        is_video: asset.mime.starts_with("video/"),
                        mime: asset.mime.clone(),
                    })
                });
                TimelineShot {
                    number: i + 1,
                    shot_id: shot.id.clone(),
                    scene_id: shot.scene_id.clone(),
                    scene_title: shot
                        .scene_id
                        .as_ref()
                        .and_then(|s| scene_titles.get(s))
                        .map(|t| (*t).to_owned())
                        .unwrap_or_default(),
                    description: shot.description.clone(),
                    dialogue: shot.dialogue.clone(),
                    speaker: characters.first().cloned(),
                    characters,
                    framing: shot.framing.clone(),
                    duration_ms: shot.duration_ms,
                    frames: ms_to_frames(shot.duration_ms, fps),
                    media,
                }
            })
            .collect();
        Timeline {
            name: snapshot.meta.title.clone(),
            fps,
            shots,
        }
    }

    pub fn total_frames(&self) -> u64 {
        self.shots.iter().map(|s| s.frames).sum()
    }
}

/// Rounded to the nearest frame, and never zero: a shot always occupies the timeline.
pub(crate) fn ms_to_frames(ms: u32, fps: u32) -> u64 {
    ((u64::from(ms) * u64::from(fps) + 500) / 1000).max(1)
}

/// `HH:MM:SS:FF` (non-drop-frame).
pub fn timecode(frames: u64, fps: u32) -> String {
    let fps = u64::from(fps);
    let (h, rest) = (frames / (3600 * fps), frames % (3600 * fps));
    let (m, rest) = (rest / (60 * fps), rest % (60 * fps));
    let (s, f) = (rest / fps, rest % fps);
    format!("{h:02}:{m:02}:{s:02}:{f:02}")
}

/// The file extension for a mime type, for media file names.
pub fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecodes_and_frame_rounding() {
        assert_eq!(timecode(0, 24), "00:00:00:00");
        assert_eq!(timecode(24 * 3661 + 5, 24), "01:01:01:05");
        assert_eq!(ms_to_frames(3_000, 24), 72);
        assert_eq!(ms_to_frames(1, 24), 1);
        assert_eq!(ms_to_frames(2_520, 25), 63);
    }
}
