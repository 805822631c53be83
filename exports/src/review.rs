//! Review notes as the timeline exports carry them: open review threads become markers on their
//! shots' clips (OTIO, FCP7 XML, FCPXML) and locators on their shots' events (CMX3600), so a
//! film editor sees the notes in the timeline.
//!
//! A [`Note`] is one thread reduced to what a marker can hold: its first comment, how many
//! replies it has, its author and status, and the shot whose clip carries it. Which shot a
//! script-range thread belongs to is the caller's knowledge (the scene that contains the range),
//! so [`ReviewNotes::from_threads`] asks for it; a note with no shot, or with a shot the timeline
//! no longer has, goes on the timeline as a whole where the format allows it (see each writer).
//! Only open threads become markers: the writers skip resolved ones.
//!
//! ```
//! use exports::{ReviewNotes, Timeline};
//!
//! let timeline = Timeline { name: "Draft 2".into(), fps: 24, shots: vec![] };
//! // `threads` from GET /api/projects/{id}/threads; script-range threads placed by the caller
//! // (here: nowhere, so they go on the timeline as a whole).
//! let threads: Vec<api_types::review::Thread> = vec![];
//! let notes = ReviewNotes::from_threads(&threads, |_thread| None);
//! let otio = exports::otio::write_with_notes(&timeline, &notes);
//! let edl = exports::edl::write_with_notes(&timeline, &notes);
//! let fcp7 = exports::fcp7::write_with_notes(&timeline, &notes);
//! let fcpxml = exports::fcpxml::write_with_notes(&timeline, &notes);
//! assert_eq!(edl, exports::edl::write(&timeline));
//! ```

use std::collections::HashMap;

use api_types::ids::{ShotId, ThreadId};
use api_types::review::{Anchor, Thread, ThreadStatus};

use crate::Timeline;

/// The longest first-comment text a marker's label carries, in characters.
pub const LABEL_TEXT_CHARS: usize = 200;

/// One review thread as a timeline marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub thread_id: ThreadId,
    /// The shot whose clip carries the note; `None` puts it on the timeline as a whole.
    pub shot_id: Option<ShotId>,
    /// The thread's first comment (`(deleted)` when its author deleted it).
    pub text: String,
    /// Comments after the first that are not deleted.
    pub replies: usize,
    /// The display name of the thread's author.
    pub author: String,
    pub status: ThreadStatus,
}

impl Note {
    /// The note for `thread`, placed on `shot_id`'s clip (or on the timeline, for `None`).
    pub fn from_thread(thread: &Thread, shot_id: Option<ShotId>) -> Self {
        let text = match thread.comments.first() {
            Some(c) if !c.deleted => c.text.clone(),
            Some(_) => "(deleted)".to_owned(),
            None => thread.quote.clone(),
        };
        let replies = thread
            .comments
            .iter()
            .skip(1)
            .filter(|c| !c.deleted)
            .count();
        Note {
            thread_id: thread.id.clone(),
            shot_id,
            text,
            replies,
            author: thread.author.name.clone(),
            status: thread.status,
        }
    }

    /// What a marker shows: `text (N replies) — author`, on one line (markers and EDL
    /// comments are single lines; line breaks become spaces), the text cut at
    /// [`LABEL_TEXT_CHARS`] characters with `…` (a marker is a pointer to the note, and OTIO
    /// markers carry the whole text in their `comment`).
    pub fn label(&self) -> String {
        let mut text = one_line(&self.text);
        if let Some((cut, _)) = text.char_indices().nth(LABEL_TEXT_CHARS) {
            text.truncate(cut);
            text.push('…');
        }
        let replies = match self.replies {
            0 => String::new(),
            1 => " (1 reply)".to_owned(),
            n => format!(" ({n} replies)"),
        };
        format!("{text}{replies} — {}", one_line(&self.author))
    }

    pub fn is_open(&self) -> bool {
        self.status == ThreadStatus::Open
    }
}

/// Collapses every run of whitespace (line breaks included) and drops control characters.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The review notes an export carries; `ReviewNotes::default()` is none (a plain export).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewNotes {
    pub notes: Vec<Note>,
}

impl ReviewNotes {
    /// Notes for `threads`: a shot thread goes on its shot, a script-range thread on the shot
    /// `script_shot` names for it (e.g. the first shot of the scene whose text contains the
    /// range; `None` for the timeline as a whole), a project thread on the timeline. Resolved
    /// threads are kept here (the writers skip them), so one value serves every export.
    pub fn from_threads(
        threads: &[Thread],
        script_shot: impl Fn(&Thread) -> Option<ShotId>,
    ) -> Self {
        let notes = threads
            .iter()
            .map(|thread| {
                let shot = match &thread.anchor {
                    Anchor::Shot { shot_id } => Some(shot_id.clone()),
                    Anchor::Script { .. } => script_shot(thread),
                    Anchor::Project => None,
                };
                Note::from_thread(thread, shot)
            })
            .collect();
        ReviewNotes { notes }
    }

    /// The open notes, sorted onto the timeline: by shot, and those for the timeline as a whole
    /// (no shot, or a shot the timeline does not have).
    pub(crate) fn placed<'a>(&'a self, timeline: &Timeline) -> Placed<'a> {
        let mut placed = Placed::default();
        for note in self.notes.iter().filter(|n| n.is_open()) {
            match &note.shot_id {
                Some(id) if timeline.shots.iter().any(|s| &s.shot_id == id) => {
                    placed.by_shot.entry(id.clone()).or_default().push(note);
                }
                _ => placed.whole.push(note),
            }
        }
        placed
    }
}

/// Open notes by where they go, in the order they were given.
#[derive(Debug, Default)]
pub(crate) struct Placed<'a> {
    by_shot: HashMap<ShotId, Vec<&'a Note>>,
    /// For the timeline as a whole.
    pub(crate) whole: Vec<&'a Note>,
}

impl Placed<'_> {
    pub(crate) fn on(&self, shot: &ShotId) -> &[&Note] {
        self.by_shot
            .get(shot)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use api_types::ids::CommentId;
    use api_types::review::{Author, Comment};

    use super::*;

    fn comment(text: &str, deleted: bool) -> Comment {
        Comment {
            id: CommentId::new(),
            author: Author {
                id: None,
                name: "Lin".into(),
            },
            created_at_ms: 0,
            edited_at_ms: None,
            text: text.into(),
            deleted,
            mentions: vec![],
        }
    }

    fn thread(anchor: Anchor, status: ThreadStatus, comments: Vec<Comment>) -> Thread {
        Thread {
            id: ThreadId::new(),
            anchor,
            quote: "the quote".into(),
            version: None,
            author: Author {
                id: None,
                name: "Mei\nChen".into(),
            },
            created_at_ms: 0,
            status,
            resolved_by: None,
            resolved_at_ms: None,
            comments,
            orphaned: false,
        }
    }

    #[test]
    fn labels_count_live_replies_and_stay_on_one_line() {
        let t = thread(
            Anchor::Project,
            ThreadStatus::Open,
            vec![
                comment("too\n dark", false),
                comment("agreed", false),
                comment("", true),
                comment("fixed?", false),
            ],
        );
        let note = Note::from_thread(&t, None);
        assert_eq!(note.replies, 2);
        assert_eq!(note.label(), "too dark (2 replies) — Mei Chen");
        let one = thread(
            Anchor::Project,
            ThreadStatus::Open,
            vec![comment("", true), comment("yes", false)],
        );
        assert_eq!(
            Note::from_thread(&one, None).label(),
            "(deleted) (1 reply) — Mei Chen"
        );
        let long = thread(
            Anchor::Project,
            ThreadStatus::Open,
            vec![comment(&"猫".repeat(201), false)],
        );
        let label = Note::from_thread(&long, None).label();
        assert_eq!(label, format!("{}… — Mei Chen", "猫".repeat(200)));
        let exact = thread(
            Anchor::Project,
            ThreadStatus::Open,
            vec![comment(&"a".repeat(200), false)],
        );
        let label = Note::from_thread(&exact, None).label();
        assert_eq!(label, format!("{} — Mei Chen", "a".repeat(200)));
    }

    #[test]
    fn anchors_decide_the_shot_and_resolved_threads_are_left_out() {
        let shot = ShotId::from("s1");
        let threads = vec![
            thread(
                Anchor::Shot {
                    shot_id: shot.clone(),
                },
                ThreadStatus::Open,
                vec![comment("a", false)],
            ),
            thread(
                Anchor::Script { anchor: "x".into() },
                ThreadStatus::Open,
                vec![comment("b", false)],
            ),
            thread(
                Anchor::Project,
                ThreadStatus::Resolved,
                vec![comment("c", false)],
            ),
            thread(
                Anchor::Shot {
                    shot_id: ShotId::from("gone"),
                },
                ThreadStatus::Open,
                vec![comment("d", false)],
            ),
        ];
        let notes = ReviewNotes::from_threads(&threads, |_| Some(ShotId::from("s1")));
        assert_eq!(notes.notes[1].shot_id, Some(shot.clone()));
        assert_eq!(notes.notes[2].shot_id, None);
        let timeline = Timeline {
            name: "t".into(),
            fps: 24,
            shots: vec![crate::TimelineShot {
                number: 1,
                shot_id: shot.clone(),
                scene_id: None,
                scene_title: String::new(),
                description: String::new(),
                dialogue: String::new(),
                speaker: None,
                characters: vec![],
                framing: String::new(),
                duration_ms: 1000,
                frames: 24,
                media: None,
            }],
        };
        let placed = notes.placed(&timeline);
        let on_shot: Vec<&str> = placed.on(&shot).iter().map(|n| n.text.as_str()).collect();
        assert_eq!(on_shot, ["a", "b"]);
        let whole: Vec<&str> = placed.whole.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(whole, ["d"]);
    }
}
