//! What the exports carry of the review: the open threads as markers and locators in the
//! timeline formats (`otio`, `edl`, `fcp7`, `fcpxml`), and the review report (`review-html`,
//! `review-pdf`).
//!
//! Threads and verdicts are read through the review routes' own functions
//! ([`crate::review::threads`], [`crate::review::verdicts_on`]), never from the review document
//! directly, so an export says what `GET .../threads` says (`orphaned` included). The storyboard
//! these exports draw is the server's live replica of the project, the one those `orphaned`
//! flags were computed against, so a thread and the clip it lands on come from one state.

use std::collections::HashMap;
use std::ops::Range;

use api_types::review::Anchor;
use api_types::{Thread, ThreadId, Verdict, VersionInfo, VersionKind};
use base64::Engine as _;
use exports::review_report::{self, Review};
use exports::{Media, ReviewNotes, Timeline};
use futures_util::TryStreamExt;
use shared_model::{Project, ProjectSnapshot, ScriptAnchor, ShotId};

use crate::AppState;
use crate::auth::ProjectId;
use crate::review;
use crate::{Error, Result};

/// The project's review threads, with the shot each script-range thread's note goes on.
#[derive(Debug, Default)]
pub(super) struct Reviewed {
    pub(super) threads: Vec<Thread>,
    script_shots: HashMap<ThreadId, ShotId>,
}

/// Reads the live project and its review threads together.
pub(super) async fn read(
    state: &AppState,
    project: &ProjectId,
) -> Result<(ProjectSnapshot, Reviewed)> {
    let live = review::live_project(state, project).await?;
    let threads = review::threads(state, project, &live).await?;
    let (snapshot, script_shots) = live.read(|p| {
        let snapshot = p.snapshot();
        let placed = script_shots(p, &snapshot, &threads);
        (snapshot, placed)
    });
    Ok((
        snapshot,
        Reviewed {
            threads,
            script_shots,
        },
    ))
}

impl Reviewed {
    /// The notes the timeline writers turn into markers (they skip resolved threads).
    pub(super) fn notes(&self) -> ReviewNotes {
        ReviewNotes::from_threads(&self.threads, |thread| {
            self.script_shots.get(&thread.id).cloned()
        })
    }
}

/// Where each script-range thread's note goes: the first shot of the (first) scene whose
/// script range contains the start of the thread's range, both anchors resolved against the
/// live script. A thread with no such scene, or whose text was deleted (orphaned: its range
/// collapsed to wherever the deletion was), is left out and goes on the timeline as a whole.
fn script_shots(
    project: &Project,
    snapshot: &ProjectSnapshot,
    threads: &[Thread],
) -> HashMap<ThreadId, ShotId> {
    let mut first_shot: HashMap<&shared_model::SceneId, &ShotId> = HashMap::new();
    for shot in &snapshot.shots {
        if let Some(scene) = &shot.scene_id {
            first_shot.entry(scene).or_insert(&shot.id);
        }
    }
    // In storyboard order, so that overlapping scenes resolve to the earlier one.
    let scenes: Vec<(Range<u32>, &ShotId)> = snapshot
        .scenes
        .iter()
        .filter_map(|scene| {
            let range = project.resolve_anchor(scene.script_range.as_ref()?)?;
            Some((range, *first_shot.get(&scene.id)?))
        })
        .collect();
    threads
        .iter()
        .filter(|thread| !thread.orphaned)
        .filter_map(|thread| {
            let Anchor::Script { anchor } = &thread.anchor else {
                return None;
            };
            let range = project.resolve_anchor(&ScriptAnchor::from_base64(anchor).ok()?)?;
            let (_, shot) = scenes
                .iter()
                .find(|(scene, _)| scene.contains(&range.start))?;
            Some((thread.id.clone(), (*shot).clone()))
        })
        .collect()
}

/// The two renderings of the review report.
#[derive(Debug, Clone, Copy)]
pub(super) enum Report {
    Html,
    Pdf,
}

/// The review report of `timeline` and `reviewed`: every thread (shot threads with their
/// shot's frame), and the verdicts with their tally on each named version (and on any other
/// version someone gave a verdict on).
pub(super) async fn report(
    state: &AppState,
    project: &ProjectId,
    timeline: Timeline,
    reviewed: Reviewed,
    kind: Report,
) -> Result<Vec<u8>> {
    let tallies = review::tallies(state, project).await?;
    let mut versions: Vec<VersionInfo> = Vec::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    for mut version in state.store().versions(project).await? {
        if let Some(tally) = tallies.get(&version.id) {
            version.tally = *tally;
        }
        let t = version.tally;
        let judged = t.approve + t.request_changes + t.comment > 0;
        if judged {
            verdicts.extend(
                review::verdicts_on(state, project, &version.id)
                    .await?
                    .unwrap_or_default(),
            );
        }
        if judged || version.kind == VersionKind::Named {
            versions.push(version);
        }
    }
    let frames = frames(state, project, &timeline, &reviewed.threads).await;
    let threads = reviewed.threads;
    tokio::task::spawn_blocking(move || {
        let review = Review {
            timeline: &timeline,
            threads: &threads,
            versions: &versions,
            verdicts: &verdicts,
        };
        match kind {
            Report::Html => {
                Ok(review_report::html(&review, |media| frame_src(media, &frames)).into_bytes())
            }
            Report::Pdf => review_report::pdf(&review, |media| {
                // A video take has no still to draw; the report shows an empty frame.
                (!media.is_video)
                    .then(|| frames.get(&media.asset_id).cloned())
                    .flatten()
            })
            .map_err(Error::from),
        }
    })
    .await?
}

/// The HTML report's `src` for a take: an image embedded as a data URI, so the downloaded
/// page shows its frames anywhere and carries no access token; a video (too large to embed)
/// by its path in the export folder (`media/...`, as the `media` export lists it), which the
/// CLI's `export` writes next to the report.
fn frame_src(media: &Media, frames: &HashMap<String, Vec<u8>>) -> Option<String> {
    if media.is_video {
        return Some(media.url.clone());
    }
    let bytes = frames.get(&media.asset_id)?;
    Some(format!(
        "data:{};base64,{}",
        media.mime,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// The image bytes of the selected takes of the shots threads are on, read once per asset.
/// A take the object store cannot give is logged and shown as an empty frame: one lost file
/// should not cost the whole report.
async fn frames(
    state: &AppState,
    project: &ProjectId,
    timeline: &Timeline,
    threads: &[Thread],
) -> HashMap<String, Vec<u8>> {
    let on: std::collections::HashSet<&ShotId> = threads
        .iter()
        .filter_map(|t| match &t.anchor {
            Anchor::Shot { shot_id } => Some(shot_id),
            _ => None,
        })
        .collect();
    let mut frames = HashMap::new();
    for media in timeline
        .shots
        .iter()
        .filter(|s| on.contains(&s.shot_id))
        .filter_map(|s| s.media.as_ref())
        .filter(|m| !m.is_video)
    {
        if frames.contains_key(&media.asset_id) {
            continue;
        }
        match read_asset(state, project, &media.asset_id).await {
            Ok(bytes) => {
                frames.insert(media.asset_id.clone(), bytes);
            }
            Err(e) => {
                tracing::warn!(project = %project, asset = %media.asset_id, error = %e, "a frame of the review report could not be read");
            }
        }
    }
    frames
}

async fn read_asset(state: &AppState, project: &ProjectId, sha256: &str) -> Result<Vec<u8>> {
    let chunks: Vec<bytes::Bytes> = state
        .assets()
        .get(project, sha256)
        .await?
        .try_collect()
        .await
        .map_err(Error::from)?;
    Ok(chunks.concat())
}

#[cfg(test)]
mod tests {
    use api_types::{Author, Comment, CommentId, ThreadStatus};
    use shared_model::{NewScene, NewShot, ProjectOptions};

    use super::*;

    fn thread(project: &Project, anchor: Anchor) -> Thread {
        let author = Author {
            id: None,
            name: "Lin".into(),
        };
        Thread {
            id: ThreadId::new(),
            orphaned: project.is_orphaned(&anchor),
            anchor,
            quote: String::new(),
            version: None,
            author: author.clone(),
            created_at_ms: 0,
            status: ThreadStatus::Open,
            resolved_by: None,
            resolved_at_ms: None,
            comments: vec![Comment {
                id: CommentId::new(),
                author,
                created_at_ms: 0,
                edited_at_ms: None,
                mentions: Vec::new(),
                text: "a note".into(),
                deleted: false,
            }],
        }
    }

    fn on_script(project: &Project, range: Range<u32>) -> Anchor {
        Anchor::Script {
            anchor: project.script_anchor(range).unwrap().to_base64(),
        }
    }

    #[test]
    fn script_threads_go_on_the_first_shot_of_the_scene_holding_their_start() {
        let project = Project::empty(ProjectOptions::default());
        //                     0         10        20        30
        project.script_insert(0, "Stable scene. Field scene. Coda.");
        let stable = project.add_scene(&NewScene {
            script_range: Some(project.script_anchor(0..14).unwrap()),
            ..NewScene::default()
        });
        let field = project.add_scene(&NewScene {
            script_range: Some(project.script_anchor(14..27).unwrap()),
            ..NewScene::default()
        });
        // A scene without shots never takes a note.
        project.add_scene(&NewScene {
            script_range: Some(project.script_anchor(27..32).unwrap()),
            ..NewScene::default()
        });
        let stable_first = project.add_shot(&stable, &NewShot::default()).unwrap();
        project.add_shot(&stable, &NewShot::default()).unwrap();
        let field_first = project.add_shot(&field, &NewShot::default()).unwrap();

        let inside = thread(&project, on_script(&project, 2..6));
        // Starts in the first scene, runs into the second: its start decides.
        let across = thread(&project, on_script(&project, 10..20));
        let second = thread(&project, on_script(&project, 14..19));
        let coda = thread(&project, on_script(&project, 28..31));
        let shot = thread(
            &project,
            Anchor::Shot {
                shot_id: field_first.clone(),
            },
        );
        let whole = thread(&project, Anchor::Project);
        // Text typed before the scenes moves every anchor alike.
        project.script_insert(0, "Prologue. ");
        let threads = vec![
            inside.clone(),
            across.clone(),
            second.clone(),
            coda.clone(),
            shot,
            whole,
        ];
        let placed = script_shots(&project, &project.snapshot(), &threads);
        assert_eq!(placed.get(&inside.id), Some(&stable_first));
        assert_eq!(placed.get(&across.id), Some(&stable_first));
        assert_eq!(placed.get(&second.id), Some(&field_first));
        assert_eq!(placed.get(&coda.id), None);
        assert_eq!(placed.len(), 3, "only script threads are placed here");

        let notes = Reviewed {
            threads: threads.clone(),
            script_shots: placed,
        }
        .notes();
        let shot_of = |t: &Thread| {
            notes
                .notes
                .iter()
                .find(|n| n.thread_id == t.id)
                .and_then(|n| n.shot_id.clone())
        };
        assert_eq!(shot_of(&second), Some(field_first.clone()));
        assert_eq!(shot_of(&threads[4]), Some(field_first));
        assert_eq!(shot_of(&coda), None);
        assert_eq!(shot_of(&threads[5]), None);
    }

    #[test]
    fn a_thread_whose_text_was_deleted_goes_on_the_timeline() {
        let project = Project::empty(ProjectOptions::default());
        project.script_insert(0, "Stable scene. Field scene.");
        let scene = project.add_scene(&NewScene {
            script_range: Some(project.script_anchor(0..26).unwrap()),
            ..NewScene::default()
        });
        project.add_shot(&scene, &NewShot::default()).unwrap();
        let anchor = on_script(&project, 14..19);
        project.script_delete(14, 6);
        let gone = thread(&project, anchor);
        assert!(gone.orphaned);
        let placed = script_shots(&project, &project.snapshot(), &[gone]);
        assert!(placed.is_empty());
    }
}
