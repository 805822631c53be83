//! Undo and redo of the local user's own script edits.
//!
//! Several people edit the script at once, so undo must never take back what someone else
//! typed: [`Project::script_insert`] and [`Project::script_delete`] run in transactions carrying
//! this replica's local origin, and [`ScriptHistory`] (a yrs `UndoManager` scoped to the script
//! text) tracks only that origin. Remote updates, applied without an origin, are never captured;
//! undoing a local edit that remote text has since surrounded removes only the local characters.
//!
//! The crate performs no IO, so the clock used to group keystrokes is supplied by the caller
//! (`Date.now` in the browser, a test's own counter natively).

use std::sync::Arc;

use yrs::undo::Options;
use yrs::{Origin, UndoManager};

use crate::Project;

/// The origin of every script edit made through [`Project`]'s methods on this replica. Origins
/// never leave the replica; eight bytes or fewer are stored inline (no allocation per
/// keystroke).
pub(crate) const LOCAL_ORIGIN: &str = "local";

pub(crate) fn local_origin() -> Origin {
    Origin::from(LOCAL_ORIGIN)
}

/// Milliseconds since some fixed point; only differences matter.
pub type Clock = fn() -> u64;

/// Edits closer together than this (ms) form one undo step, so that undo takes back a burst of
/// typing rather than one character.
pub const CAPTURE_TIMEOUT_MS: u64 = 500;

/// The undo and redo stacks of this replica's script edits.
pub struct ScriptHistory {
    manager: UndoManager,
}

impl std::fmt::Debug for ScriptHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptHistory")
            .field("undo", &self.manager.undo_stack().len())
            .field("redo", &self.manager.redo_stack().len())
            .finish()
    }
}

impl ScriptHistory {
    /// Starts recording the local script edits of `project` from now on. Must not be called
    /// while a transaction is open (nothing in this crate's API leaves one open).
    pub fn new(project: &Project, clock: Clock) -> Self {
        let options = Options {
            capture_timeout_millis: CAPTURE_TIMEOUT_MS,
            tracked_origins: Default::default(),
            capture_transaction: None,
            timestamp: Arc::new(clock),
            init_undo_stack: Vec::new(),
            init_redo_stack: Vec::new(),
        };
        let mut manager = UndoManager::with_options(options);
        manager.expand_scope(&project.doc, &project.script);
        manager.include_origin(local_origin());
        ScriptHistory { manager }
    }

    /// Takes back the last group of local edits still in the text. Returns false when there was
    /// nothing to undo.
    pub fn undo(&mut self) -> bool {
        self.manager.undo_blocking()
    }

    /// Re-applies the last undone group. Returns false when there was nothing to redo; any new
    /// local edit clears the redo stack.
    pub fn redo(&mut self) -> bool {
        self.manager.redo_blocking()
    }

    pub fn can_undo(&self) -> bool {
        self.manager.can_undo()
    }

    pub fn can_redo(&self) -> bool {
        self.manager.can_redo()
    }

    /// Ends the current group: the next edit starts a new undo step even if it follows quickly
    /// (the caret moved elsewhere, for instance).
    pub fn stop_capturing(&mut self) {
        self.manager.reset();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::ProjectOptions;

    // Per-test clocks: `Clock` is a plain fn, so each test owns a static it advances by hand.
    static CLOCK_A: AtomicU64 = AtomicU64::new(1);
    fn clock_a() -> u64 {
        CLOCK_A.load(Ordering::SeqCst)
    }
    static CLOCK_B: AtomicU64 = AtomicU64::new(1);
    fn clock_b() -> u64 {
        CLOCK_B.load(Ordering::SeqCst)
    }

    fn sync(a: &Project, b: &Project) {
        let diff = a
            .encode_diff(&b.state_vector())
            .expect("a valid state vector");
        b.apply_update(&diff).expect("a valid update");
        let diff = b
            .encode_diff(&a.state_vector())
            .expect("a valid state vector");
        a.apply_update(&diff).expect("a valid update");
    }

    #[test]
    fn undo_takes_back_only_the_local_users_text_and_peers_converge() {
        let a = Project::empty(ProjectOptions {
            client_id: Some(1),
            ..Default::default()
        });
        let b = Project::empty(ProjectOptions {
            client_id: Some(2),
            ..Default::default()
        });
        let mut history = ScriptHistory::new(&a, clock_a);

        // A types a line, one keystroke per transaction, as the editor does.
        for (i, c) in "刘备 enters.".chars().enumerate() {
            CLOCK_A.fetch_add(50, Ordering::SeqCst);
            a.script_insert(i as u32, &c.to_string());
        }
        sync(&a, &b);
        // B types before and after it.
        b.script_insert(0, "INT. GARDEN\n");
        b.script_insert(b.script_len(), " Bows.");
        sync(&a, &b);
        assert_eq!(a.script_text(), "INT. GARDEN\n刘备 enters. Bows.");
        assert!(history.can_undo());

        // One undo takes back the whole burst of typing and nothing of B's.
        assert!(history.undo());
        assert_eq!(a.script_text(), "INT. GARDEN\n Bows.");
        assert!(!history.can_undo());
        sync(&a, &b);
        assert_eq!(b.script_text(), a.script_text());

        // Redo brings it back in place; both converge again.
        assert!(history.redo());
        assert_eq!(a.script_text(), "INT. GARDEN\n刘备 enters. Bows.");
        sync(&a, &b);
        assert_eq!(b.script_text(), a.script_text());
    }

    #[test]
    fn pauses_and_stops_separate_undo_steps_and_a_new_edit_clears_redo() {
        let a = Project::empty(ProjectOptions::default());
        let mut history = ScriptHistory::new(&a, clock_b);
        a.script_insert(0, "one");
        CLOCK_B.fetch_add(CAPTURE_TIMEOUT_MS + 1, Ordering::SeqCst);
        a.script_insert(3, " two");
        history.stop_capturing();
        a.script_insert(7, " three");
        a.script_delete(0, 1);

        assert!(history.undo());
        assert_eq!(a.script_text(), "one two");
        assert!(history.undo());
        assert_eq!(a.script_text(), "one");
        assert!(history.redo());
        assert_eq!(a.script_text(), "one two");
        a.script_insert(0, ">");
        assert!(!history.can_redo());
        assert!(!history.redo());
        assert_eq!(a.script_text(), ">one two");

        // A whole-script replacement (an import) is not a user edit and is not undone.
        a.script_replace_all("imported");
        history.stop_capturing();
        // The local text it replaced is already gone: there is nothing left to take back.
        history.undo();
        assert_eq!(a.script_text(), "imported");
    }
}
