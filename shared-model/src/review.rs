//! The review document (`{project}.review`): review threads with their comments, and verdicts
//! on versions.
//!
//! Only the server writes it, from commands it has validated (author and time come from the
//! caller's identity), so a raw client can forge nothing; every client reads it and re-renders
//! from [`ReviewDoc::observe`]. It is a yrs document of its own rather than roots of the project
//! document, so that a commenter can be given read access to it without write access to the
//! board. The layout (see [`crate::schema::review`]) is a wire format.
//!
//! Records written once and replaced whole (anchors, authors, comments, verdicts) are plain
//! values; a thread is a `Y.Map` so that its status changes without rewriting its comments, and
//! its comments a `Y.Array` so that their order is the order they were posted in.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use api_types::{
    Anchor, Author, Comment, CommentId, PersonId, Thread, ThreadId, ThreadStatus, Verdict,
    VersionId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use yrs::types::{Event, PathSegment};
use yrs::{
    Any, Array, ArrayPrelim, ArrayRef, DeepObservable, Doc, Map, MapPrelim, MapRef, Out, ReadTxn,
    StateVector, Transact, TransactionMut,
};

use crate::fields::{get_array, get_f64, get_map, get_string};
use crate::schema::review::{self as rk, client_key as ckk, thread as tk};
use crate::{Error, Result};

/// What one transaction changed in the review document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewChanges {
    /// Threads created, commented on, edited, resolved or reopened.
    pub threads: BTreeSet<ThreadId>,
    /// Some verdict was given, replaced or removed.
    pub verdicts: bool,
}

impl ReviewChanges {
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty() && !self.verdicts
    }
}

/// The review document over a yrs [`Doc`]. Clones share the document.
#[derive(Clone)]
pub struct ReviewDoc {
    doc: Doc,
    threads: MapRef,
    verdicts: MapRef,
    client_keys: MapRef,
}

impl std::fmt::Debug for ReviewDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewDoc")
            .field("client_id", &self.doc.client_id())
            .finish_non_exhaustive()
    }
}

fn to_any<T: Serialize>(what: &'static str, value: &T) -> Result<Any> {
    yrs::encoding::serde::to_any(value).map_err(|e| Error::InvalidValue {
        field: what,
        reason: e.to_string(),
    })
}

fn from_out<T: DeserializeOwned>(value: Option<Out>) -> Option<T> {
    match value? {
        Out::Any(any) => yrs::encoding::serde::from_any(&any).ok(),
        _ => None,
    }
}

/// Times are Unix milliseconds, stored as numbers (what a JavaScript reader gets).
fn ms(value: i64) -> f64 {
    value as f64
}

fn get_ms<T: ReadTxn>(map: &MapRef, txn: &T, key: &str) -> Option<i64> {
    get_f64(map, txn, key)
        .filter(|n| n.is_finite())
        .map(|n| n as i64)
}

fn client_key_id(person: &PersonId, key: &str) -> String {
    // Person ids are UUIDs (no ':'), so the pair is unambiguous.
    format!("{person}:{key}")
}

fn verdict_key(verdict: &Verdict) -> String {
    let who = match &verdict.author.id {
        Some(id) => id.to_string(),
        // The server gives verdicts only to people; a nameless author is keyed by name so that
        // it still replaces its own verdict.
        None => format!("name:{}", verdict.author.name),
    };
    format!("{}:{who}", verdict.version)
}

fn not_found(kind: &'static str, id: impl std::fmt::Display) -> Error {
    Error::NotFound {
        kind,
        id: id.to_string(),
    }
}

fn read_comments<T: ReadTxn>(array: &ArrayRef, txn: &T) -> Vec<Comment> {
    array
        .iter(txn)
        .filter_map(|v| from_out::<Comment>(Some(v)))
        .collect()
}

/// A thread as stored, or `None` for a record a foreign writer left malformed.
fn read_thread<T: ReadTxn>(id: &str, map: &MapRef, txn: &T) -> Option<Thread> {
    let status = get_string(map, txn, tk::STATUS)
        .and_then(|s| s.parse::<ThreadStatus>().ok())
        .unwrap_or(ThreadStatus::Open);
    Some(Thread {
        id: ThreadId::from(id),
        anchor: from_out(map.get(txn, tk::ANCHOR))?,
        quote: get_string(map, txn, tk::QUOTE).unwrap_or_default(),
        version: get_string(map, txn, tk::VERSION).map(VersionId::from),
        author: from_out(map.get(txn, tk::AUTHOR))?,
        created_at_ms: get_ms(map, txn, tk::CREATED_AT_MS).unwrap_or(0),
        status,
        resolved_by: from_out(map.get(txn, tk::RESOLVED_BY)),
        resolved_at_ms: get_ms(map, txn, tk::RESOLVED_AT_MS),
        comments: get_array(map, txn, tk::COMMENTS)
            .map(|a| read_comments(&a, txn))
            .unwrap_or_default(),
        // Whether the anchor still points at something is the project's to say
        // (`Project::is_orphaned`), not the review document's.
        orphaned: false,
    })
}

impl ReviewDoc {
    /// An empty review document (a new project's, or a client's before the server's state
    /// arrives).
    pub fn empty() -> Self {
        Self::from_doc(Doc::new())
    }

    /// Opens a stored review document. Corrupt bytes are an error, never a panic.
    pub fn load(state: &[u8]) -> Result<Self> {
        let review = Self::empty();
        review.apply_update(state)?;
        Ok(review)
    }

    /// Wraps an existing document (the sync server's room document, for instance).
    pub fn from_doc(doc: Doc) -> Self {
        ReviewDoc {
            threads: doc.get_or_insert_map(rk::THREADS),
            verdicts: doc.get_or_insert_map(rk::VERDICTS),
            client_keys: doc.get_or_insert_map(rk::CLIENT_KEYS),
            doc,
        }
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Applies a v1 update from the server or from storage; corrupt bytes are rejected before
    /// anything is integrated.
    pub fn apply_update(&self, update: &[u8]) -> Result<()> {
        let update = crate::decode_update(update)?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| Error::InvalidUpdate(e.to_string()))
    }

    /// The whole document as one v1 update.
    pub fn encode_state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    // -----------------------------------------------------------------------------------------
    // Reads

    /// Every thread, oldest first (by creation time, then id).
    pub fn threads(&self) -> Vec<Thread> {
        let txn = self.doc.transact();
        let mut all: Vec<Thread> = crate::board::nested_maps(&self.threads, &txn)
            .iter()
            .filter_map(|(id, map)| read_thread(id, map, &txn))
            .collect();
        all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        all
    }

    pub fn thread(&self, id: &ThreadId) -> Option<Thread> {
        let txn = self.doc.transact();
        let map = get_map(&self.threads, &txn, id.as_str())?;
        read_thread(id.as_str(), &map, &txn)
    }

    /// Every verdict, oldest first. `stale_shots` is empty: staleness is computed against the
    /// live project when asked ([`crate::changed_shots`]).
    pub fn verdicts(&self) -> Vec<Verdict> {
        let txn = self.doc.transact();
        let mut all: Vec<Verdict> = self
            .verdicts
            .iter(&txn)
            .filter_map(|(_, v)| from_out::<Verdict>(Some(v)))
            .collect();
        all.sort_by(|a, b| {
            (a.created_at_ms, &a.version, &a.author.name).cmp(&(
                b.created_at_ms,
                &b.version,
                &b.author.name,
            ))
        });
        all
    }

    /// The verdicts given on one version, oldest first.
    pub fn verdicts_on(&self, version: &VersionId) -> Vec<Verdict> {
        self.verdicts()
            .into_iter()
            .filter(|v| &v.version == version)
            .collect()
    }

    /// What `person`'s earlier post with `client_key` created: the thread, and the comment when
    /// it was a reply. A retried post answers with that instead of posting twice.
    pub fn find_client_key(
        &self,
        person: &PersonId,
        client_key: &str,
    ) -> Option<(ThreadId, Option<CommentId>)> {
        let txn = self.doc.transact();
        let map = get_map(&self.client_keys, &txn, &client_key_id(person, client_key))?;
        let thread = get_string(&map, &txn, ckk::THREAD)?;
        let comment = get_string(&map, &txn, ckk::COMMENT);
        Some((thread.into(), comment.map(CommentId::from)))
    }

    // -----------------------------------------------------------------------------------------
    // Writes (the server's)

    fn remember_client_key(
        &self,
        txn: &mut TransactionMut,
        author: &Author,
        client_key: Option<&str>,
        thread: &ThreadId,
        comment: Option<&CommentId>,
    ) {
        let (Some(person), Some(key)) = (&author.id, client_key) else {
            return;
        };
        let map = self.client_keys.insert(
            txn,
            client_key_id(person, key).as_str(),
            MapPrelim::default(),
        );
        map.insert(txn, ckk::THREAD, thread.as_str());
        if let Some(comment) = comment {
            map.insert(txn, ckk::COMMENT, comment.as_str());
        }
    }

    /// Stores a new thread with its comments (the first one, usually), in one transaction.
    /// `client_key` is remembered for the thread's author (see [`ReviewDoc::find_client_key`]).
    /// The thread's `orphaned` flag is not stored.
    pub fn add_thread(&self, thread: &Thread, client_key: Option<&str>) -> Result<()> {
        let anchor = to_any("thread anchor", &thread.anchor)?;
        let author = to_any("thread author", &thread.author)?;
        let resolved_by = thread
            .resolved_by
            .as_ref()
            .map(|a| to_any("thread resolver", a))
            .transpose()?;
        let comments = thread
            .comments
            .iter()
            .map(|c| to_any("comment", c))
            .collect::<Result<Vec<_>>>()?;
        let mut txn = self.doc.transact_mut();
        let map = self
            .threads
            .insert(&mut txn, thread.id.as_str(), MapPrelim::default());
        map.insert(&mut txn, tk::ANCHOR, anchor);
        map.insert(&mut txn, tk::QUOTE, thread.quote.as_str());
        if let Some(version) = &thread.version {
            map.insert(&mut txn, tk::VERSION, version.as_str());
        }
        map.insert(&mut txn, tk::AUTHOR, author);
        map.insert(&mut txn, tk::CREATED_AT_MS, ms(thread.created_at_ms));
        map.insert(&mut txn, tk::STATUS, thread.status.as_str());
        if let Some(by) = resolved_by {
            map.insert(&mut txn, tk::RESOLVED_BY, by);
        }
        if let Some(at) = thread.resolved_at_ms {
            map.insert(&mut txn, tk::RESOLVED_AT_MS, ms(at));
        }
        map.insert(&mut txn, tk::COMMENTS, ArrayPrelim::from(comments));
        self.remember_client_key(&mut txn, &thread.author, client_key, &thread.id, None);
        Ok(())
    }

    fn thread_map<T: ReadTxn>(&self, txn: &T, id: &ThreadId) -> Result<MapRef> {
        get_map(&self.threads, txn, id.as_str()).ok_or_else(|| not_found("thread", id))
    }

    fn comments_of(&self, txn: &mut TransactionMut, thread: &MapRef) -> ArrayRef {
        match get_array(thread, txn, tk::COMMENTS) {
            Some(a) => a,
            None => thread.insert(txn, tk::COMMENTS, ArrayPrelim::default()),
        }
    }

    /// Appends a comment to a thread. Fails with `NotFound` for an unknown thread.
    pub fn add_comment(
        &self,
        thread: &ThreadId,
        comment: &Comment,
        client_key: Option<&str>,
    ) -> Result<()> {
        let value = to_any("comment", comment)?;
        let mut txn = self.doc.transact_mut();
        let map = self.thread_map(&txn, thread)?;
        let comments = self.comments_of(&mut txn, &map);
        comments.push_back(&mut txn, value);
        self.remember_client_key(
            &mut txn,
            &comment.author,
            client_key,
            thread,
            Some(&comment.id),
        );
        Ok(())
    }

    /// Rewrites one stored comment with `change`. Fails with `NotFound` for an unknown thread or
    /// comment.
    fn change_comment(
        &self,
        thread: &ThreadId,
        comment: &CommentId,
        change: impl FnOnce(&mut Comment),
    ) -> Result<()> {
        let mut txn = self.doc.transact_mut();
        let map = self.thread_map(&txn, thread)?;
        let comments =
            get_array(&map, &txn, tk::COMMENTS).ok_or_else(|| not_found("comment", comment))?;
        let found = comments.iter(&txn).enumerate().find_map(|(i, v)| {
            from_out::<Comment>(Some(v))
                .filter(|c| &c.id == comment)
                .map(|c| (i, c))
        });
        let (index, mut current) = found.ok_or_else(|| not_found("comment", comment))?;
        change(&mut current);
        let value = to_any("comment", &current)?;
        let index = index as u32;
        comments.remove(&mut txn, index);
        comments.insert(&mut txn, index, value);
        Ok(())
    }

    /// Replaces a comment's text and marks it edited at `at_ms`.
    pub fn edit_comment(
        &self,
        thread: &ThreadId,
        comment: &CommentId,
        text: &str,
        at_ms: i64,
    ) -> Result<()> {
        self.change_comment(thread, comment, |c| {
            c.text = text.to_owned();
            c.edited_at_ms = Some(at_ms);
        })
    }

    /// Marks a comment deleted and empties its text. It keeps its place, so the replies after
    /// it still read in order.
    pub fn delete_comment(&self, thread: &ThreadId, comment: &CommentId, at_ms: i64) -> Result<()> {
        self.change_comment(thread, comment, |c| {
            c.text.clear();
            c.mentions.clear();
            c.deleted = true;
            c.edited_at_ms = Some(at_ms);
        })
    }

    /// Resolves (with who and when) or reopens a thread.
    pub fn set_status(
        &self,
        thread: &ThreadId,
        status: ThreadStatus,
        by: Option<&Author>,
        at_ms: i64,
    ) -> Result<()> {
        let by = by.map(|a| to_any("thread resolver", a)).transpose()?;
        let mut txn = self.doc.transact_mut();
        let map = self.thread_map(&txn, thread)?;
        map.insert(&mut txn, tk::STATUS, status.as_str());
        match status {
            ThreadStatus::Resolved => {
                match by {
                    Some(by) => {
                        map.insert(&mut txn, tk::RESOLVED_BY, by);
                    }
                    None => {
                        map.remove(&mut txn, tk::RESOLVED_BY);
                    }
                }
                map.insert(&mut txn, tk::RESOLVED_AT_MS, ms(at_ms));
            }
            ThreadStatus::Open => {
                map.remove(&mut txn, tk::RESOLVED_BY);
                map.remove(&mut txn, tk::RESOLVED_AT_MS);
            }
        }
        Ok(())
    }

    /// Stores a verdict, replacing the same person's earlier verdict on the same version.
    /// `stale_shots` is not stored.
    pub fn put_verdict(&self, verdict: &Verdict) -> Result<()> {
        let stored = Verdict {
            stale_shots: Vec::new(),
            ..verdict.clone()
        };
        let value = to_any("verdict", &stored)?;
        let mut txn = self.doc.transact_mut();
        self.verdicts
            .insert(&mut txn, verdict_key(verdict).as_str(), value);
        Ok(())
    }

    /// Removes every verdict on a version (the version was deleted).
    pub fn remove_verdicts_on(&self, version: &VersionId) {
        let mut txn = self.doc.transact_mut();
        let doomed: Vec<String> = self
            .verdicts
            .iter(&txn)
            .filter(|(_, v)| {
                from_out::<Verdict>(Some(v.clone())).is_some_and(|v| &v.version == version)
            })
            .map(|(k, _)| k.to_owned())
            .collect();
        for key in doomed {
            self.verdicts.remove(&mut txn, &key);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Observing

    /// Calls `f` once after every transaction (local or from the server) that changed threads
    /// or verdicts, naming the threads. Registered under `key` until [`ReviewDoc::unobserve`].
    pub fn observe<F>(&self, key: &str, f: F)
    where
        F: Fn(&ReviewChanges) + Send + Sync + 'static,
    {
        let pending = Arc::new(Mutex::new(ReviewChanges::default()));
        {
            let pending = pending.clone();
            self.threads.observe_deep(key, move |txn, events| {
                let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                for event in events.iter() {
                    match event.path().front() {
                        Some(PathSegment::Key(id)) => {
                            p.threads.insert(ThreadId::from(id.as_ref()));
                        }
                        Some(PathSegment::Index(_)) => {}
                        None => {
                            if let Event::Map(e) = event {
                                p.threads
                                    .extend(e.keys(txn).keys().map(|k| ThreadId::from(k.as_ref())));
                            }
                        }
                    }
                }
            });
        }
        {
            let pending = pending.clone();
            self.verdicts.observe_deep(key, move |_, _| {
                pending.lock().unwrap_or_else(|e| e.into_inner()).verdicts = true;
            });
        }
        let result = self.doc.observe_after_transaction(key, move |_| {
            let changes = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
            if !changes.is_empty() {
                f(&changes);
            }
        });
        // Registering fails only while a transaction is open on this thread, which the API never
        // leaves open between calls.
        debug_assert!(result.is_ok(), "observe called inside a transaction");
    }

    pub fn unobserve(&self, key: &str) {
        self.threads.unobserve_deep(key);
        self.verdicts.unobserve_deep(key);
        let _ = self.doc.unobserve_after_transaction(key);
    }
}

impl crate::Project {
    /// Whether a thread's anchor points at nothing any more: its shot was deleted, or its whole
    /// script range was (or the anchor cannot be read at all). A project anchor never is.
    pub fn is_orphaned(&self, anchor: &Anchor) -> bool {
        match anchor {
            Anchor::Project => false,
            Anchor::Shot { shot_id } => self.shot(shot_id).is_none(),
            Anchor::Script { anchor } => crate::ScriptAnchor::from_base64(anchor)
                .ok()
                .and_then(|a| self.resolve_anchor(&a))
                .is_none_or(|range| range.is_empty()),
        }
    }

    /// What the anchor points at now: the script range's text, or the shot's description.
    /// `None` for a project anchor and for an orphaned one.
    pub fn anchor_text(&self, anchor: &Anchor) -> Option<String> {
        match anchor {
            Anchor::Project => None,
            Anchor::Shot { shot_id } => self.shot(shot_id).map(|s| s.description),
            Anchor::Script { anchor } => {
                let anchor = crate::ScriptAnchor::from_base64(anchor).ok()?;
                self.anchored_text(&anchor).filter(|t| !t.is_empty())
            }
        }
    }
}
