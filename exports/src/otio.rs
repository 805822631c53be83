//! OpenTimelineIO JSON: one video track with a clip per shot (its selected take) and a gap for
//! shots without one. Every item carries `metadata.shotweave.shot_id`, so a timeline re-timed
//! or re-ordered in an editor can come back ([`read_edits`], [`apply_edits`]).

use serde_json::{Value, json};
use shared_model::{Project, ShotId};

use crate::review::{Note, ReviewNotes};
use crate::{Error, Result, Timeline, TimelineShot};

fn rational_time(value: u64, rate: u32) -> Value {
    json!({"OTIO_SCHEMA": "RationalTime.1", "rate": f64::from(rate), "value": value as f64})
}

fn time_range(duration: u64, rate: u32) -> Value {
    json!({
        "OTIO_SCHEMA": "TimeRange.1",
        "start_time": rational_time(0, rate),
        "duration": rational_time(duration, rate),
    })
}

fn time_range_at(start: u64, duration: u64, rate: u32) -> Value {
    json!({
        "OTIO_SCHEMA": "TimeRange.1",
        "start_time": rational_time(start, rate),
        "duration": rational_time(duration, rate),
    })
}

/// A one-frame red marker at the first frame of what carries it (a clip's source range and the
/// stack's time both start at 0). The full first comment goes in `comment`, the one-line label
/// in `name`, which is what editors show on the timeline.
fn marker(note: &Note, fps: u32) -> Value {
    json!({
        "OTIO_SCHEMA": "Marker.2",
        "name": note.label(),
        "marked_range": time_range_at(0, 1, fps),
        "color": "RED",
        "comment": note.text,
        "metadata": {"shotweave": {
            "thread_id": note.thread_id.as_str(),
            "shot_id": note.shot_id.as_ref().map(|s| s.as_str()),
            "author": note.author,
            "status": note.status.as_str(),
            "replies": note.replies,
        }},
    })
}

fn item(shot: &TimelineShot, fps: u32, notes: &[&Note]) -> Value {
    let markers: Vec<Value> = notes.iter().map(|n| marker(n, fps)).collect();
    let metadata = json!({"shotweave": {
        "shot_id": shot.shot_id.as_str(),
        "scene_id": shot.scene_id.as_ref().map(|s| s.as_str()),
        "shot_number": shot.number,
        "description": shot.description,
        "dialogue": shot.dialogue,
        "duration_ms": shot.duration_ms,
    }});
    let name = format!("Shot {}", shot.number);
    match &shot.media {
        Some(media) => json!({
            "OTIO_SCHEMA": "Clip.2",
            "name": name,
            "source_range": time_range(shot.frames, fps),
            "media_references": {"DEFAULT_MEDIA": {
                "OTIO_SCHEMA": "ExternalReference.1",
                "name": media.asset_id,
                "target_url": media.url,
                "available_range": null,
                "available_image_bounds": null,
                "metadata": {"shotweave": {"asset_id": media.asset_id, "mime": media.mime}},
            }},
            "active_media_reference_key": "DEFAULT_MEDIA",
            "metadata": metadata,
            "effects": [],
            "markers": markers,
            "enabled": true,
        }),
        None => json!({
            "OTIO_SCHEMA": "Gap.1",
            "name": name,
            "source_range": time_range(shot.frames, fps),
            "metadata": metadata,
            "effects": [],
            "markers": markers,
            "enabled": true,
        }),
    }
}

/// The timeline as OpenTimelineIO JSON, without review notes.
pub fn write(timeline: &Timeline) -> String {
    write_with_notes(timeline, &ReviewNotes::default())
}

/// The timeline as OpenTimelineIO JSON, with the open review notes as markers.
pub fn write_with_notes(timeline: &Timeline, notes: &ReviewNotes) -> String {
    let placed = notes.placed(timeline);
    let children: Vec<Value> = timeline
        .shots
        .iter()
        .map(|s| item(s, timeline.fps, placed.on(&s.shot_id)))
        .collect();
    let whole: Vec<Value> = placed
        .whole
        .iter()
        .map(|n| marker(n, timeline.fps))
        .collect();
    let doc = json!({
        "OTIO_SCHEMA": "Timeline.1",
        "name": timeline.name,
        "global_start_time": null,
        "metadata": {"shotweave": {"fps": timeline.fps}},
        "tracks": {
            "OTIO_SCHEMA": "Stack.1",
            "name": "tracks",
            "source_range": null,
            "metadata": {},
            "effects": [],
            "markers": whole,
            "enabled": true,
            "children": [{
                "OTIO_SCHEMA": "Track.1",
                "name": "Storyboard",
                "kind": "Video",
                "source_range": null,
                "metadata": {},
                "effects": [],
                "markers": [],
                "enabled": true,
                "children": children,
            }],
        },
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value always serialises")
}

/// A shot's place and length as an edited timeline has them.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedShot {
    pub shot_id: ShotId,
    pub duration_ms: u32,
}

/// Reads shot order and durations from an `.otio` file: every clip or gap on the first video
/// track that carries a Shotweave shot id, in track order. Items without one (titles an editor
/// added) are skipped.
pub fn read_edits(otio: &str) -> Result<Vec<EditedShot>> {
    let invalid = |what: &str| Error::InvalidOtio(what.to_owned());
    let doc: Value = serde_json::from_str(otio).map_err(|e| Error::InvalidOtio(e.to_string()))?;
    let tracks = doc
        .pointer("/tracks/children")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no tracks"))?;
    let track = tracks
        .iter()
        .find(|t| t.get("kind").and_then(Value::as_str) == Some("Video"))
        .ok_or_else(|| invalid("no video track"))?;
    let items = track
        .get("children")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("video track has no children"))?;
    let mut out = Vec::new();
    for item in items {
        let Some(id) = item
            .pointer("/metadata/shotweave/shot_id")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let duration = item
            .pointer("/source_range/duration")
            .ok_or_else(|| invalid("an item has no source_range"))?;
        let value = duration
            .get("value")
            .and_then(Value::as_f64)
            .ok_or_else(|| invalid("duration without value"))?;
        let rate = duration
            .get("rate")
            .and_then(Value::as_f64)
            .filter(|r| *r > 0.0)
            .ok_or_else(|| invalid("duration without rate"))?;
        out.push(EditedShot {
            shot_id: ShotId::from(id),
            duration_ms: (value / rate * 1000.0).round() as u32,
        });
    }
    Ok(out)
}

/// Writes edited durations and order back into the project: each shot takes its new duration,
/// and shots are re-ordered within their scenes to follow the timeline. Shots the timeline does
/// not name stay where they are. Returns how many shots changed.
pub fn apply_edits(project: &Project, edits: &[EditedShot]) -> usize {
    let mut changed = 0;
    for edit in edits {
        if let Some(shot) = project.shot(&edit.shot_id)
            && shot.duration_ms != edit.duration_ms
        {
            let patch = shared_model::ShotPatch {
                duration_ms: Some(edit.duration_ms),
                ..Default::default()
            };
            if project.update_shot(&edit.shot_id, &patch).is_ok() {
                changed += 1;
            }
        }
    }
    for scene in project.scenes() {
        let current: Vec<ShotId> = project
            .scene_shots(&scene.id)
            .into_iter()
            .map(|s| s.id)
            .collect();
        let wanted: Vec<&ShotId> = edits
            .iter()
            .map(|e| &e.shot_id)
            .filter(|id| current.contains(id))
            .collect();
        let in_current_order: Vec<&ShotId> =
            current.iter().filter(|id| wanted.contains(id)).collect();
        if wanted == in_current_order {
            continue;
        }
        // Re-place the timeline's shots one after another at the front of the scene, in
        // timeline order; unnamed shots keep their relative order after them.
        for (index, id) in wanted.iter().enumerate() {
            if project.move_shot(id, &scene.id, index).is_ok() {
                changed += 1;
            }
        }
    }
    changed
}
