//! The open project's review: the review document (`{project}.review`) synced read-only over
//! its own y-websocket connection, the signals the review screens render from, and the
//! comments waiting to be posted.
//!
//! Only the server writes the review document, from REST commands it has validated (it sets
//! every author and time from the caller's token), so this replica never makes an edit: each
//! change the person asks for is a REST call, and its effect arrives back through the document
//! like anyone else's. The replica lives in memory; the server sends it whole on every
//! connection.
//!
//! A comment is first kept in `localStorage` with a client key (a UUID), then posted; one
//! written offline, or whose answer was lost, is posted again when the connection comes back,
//! and the server stores a client key once. Until the server has it, it is shown as pending.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};

use api_types::{Me, NewAnchor, NewComment, NewThread, Person, Thread, ThreadId, Verdict};
use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared_model::ReviewDoc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::api::{self, ApiError};
use crate::net::{Socket, SocketHandler};
use crate::presence::Presence;
use crate::storage;
use crate::sync::{SyncClient, SyncEvent};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// A comment not yet confirmed by the server: a reply to `thread`, or the first comment of a
/// new thread on `anchor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) client_key: String,
    #[serde(default)]
    pub(crate) thread: Option<ThreadId>,
    #[serde(default)]
    pub(crate) anchor: Option<NewAnchor>,
    pub(crate) text: String,
    /// What the new thread is about, as shown while it waits (a shot number, quoted words).
    #[serde(default)]
    pub(crate) label: String,
}

/// What the review screens render from. `Copy`, so closures can capture it freely.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReviewSignals {
    /// Every thread, oldest first, as the review document has them (`orphaned` is decided
    /// against the project by the screens).
    pub(crate) threads: RwSignal<Vec<Thread>>,
    /// Every verdict in the document (without `stale_shots`, which only `GET .../verdicts`
    /// computes).
    pub(crate) verdicts: RwSignal<Vec<Verdict>>,
    /// What the token is (role, person, a review link's version); `None` until the server said.
    pub(crate) me: RwSignal<Option<Me>>,
    /// The project's people, for @mentions.
    pub(crate) people: RwSignal<Vec<Person>>,
    pub(crate) pending: RwSignal<Vec<Pending>>,
    /// The server's review state has arrived at least once.
    pub(crate) synced: RwSignal<bool>,
    /// The share link was revoked: nothing works any more, and the page says so.
    pub(crate) revoked: RwSignal<bool>,
    /// The server wants a name before it takes a comment (`identity_required`): the join bar
    /// asks for it, and the comment waits.
    pub(crate) ask_name: RwSignal<bool>,
}

impl ReviewSignals {
    pub(crate) fn new() -> Self {
        ReviewSignals {
            threads: RwSignal::new(Vec::new()),
            verdicts: RwSignal::new(Vec::new()),
            me: RwSignal::new(None),
            people: RwSignal::new(Vec::new()),
            pending: RwSignal::new(Vec::new()),
            synced: RwSignal::new(false),
            revoked: RwSignal::new(false),
            ask_name: RwSignal::new(false),
        }
    }
}

thread_local! {
    /// The open project's review. One at a time, like the project's session.
    static CURRENT: RefCell<Option<Rc<ReviewSession>>> = const { RefCell::new(None) };
    /// Threads the document's observer reported, waiting for the refresh (observers run inside
    /// yrs transactions, where the document cannot be read).
    static CHANGED: RefCell<(BTreeSet<ThreadId>, bool)> = const { RefCell::new((BTreeSet::new(), false)) };
    static REFRESH_SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn current() -> Option<Rc<ReviewSession>> {
    CURRENT.with(|c| c.borrow().clone())
}

pub(crate) struct ReviewSession {
    pub(crate) id: String,
    pub(crate) token: String,
    doc: ReviewDoc,
    pub(crate) signals: ReviewSignals,
    /// The app-wide error banner.
    banner: RwSignal<Option<String>>,
    sync: RefCell<SyncClient>,
    /// The review connection carries no presence of ours (the project's connection does); the
    /// sync client still wants somewhere to keep other people's.
    presence: RefCell<Presence>,
    socket: RefCell<Option<Socket>>,
    closed: Cell<bool>,
    opened: Cell<bool>,
    retry_ms: Cell<u32>,
    retry: RefCell<Option<Timeout>>,
    /// A pass over the pending comments is under way (it posts them one at a time).
    posting: Cell<bool>,
    window_listeners: RefCell<Vec<(&'static str, Listener)>>,
}

impl std::fmt::Debug for ReviewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewSession")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

/// A random UUID (v4) for a comment's client key.
pub(crate) fn new_client_key() -> String {
    let mut b = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut b).ok())
        .is_some();
    if !filled {
        for byte in &mut b {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Opens the review of project `id` with `token` (the personal one, once the person joined).
/// `me` is what `GET /me` answered, when it did.
pub(crate) fn open(
    id: String,
    token: String,
    me: Option<Me>,
    banner: RwSignal<Option<String>>,
    signals: ReviewSignals,
) -> Rc<ReviewSession> {
    close_current();
    // The signals outlive a re-opening (after the holder of a link joined): the screens built
    // on them stay.
    signals.me.set(me);
    signals.synced.set(false);
    signals.pending.set(storage::pending_comments(&id));
    let doc = ReviewDoc::empty();
    let review = Rc::new(ReviewSession {
        id,
        token,
        presence: RefCell::new(Presence::new(doc.doc().client_id().get())),
        doc,
        signals,
        banner,
        sync: RefCell::new(SyncClient::new()),
        socket: RefCell::new(None),
        closed: Cell::new(false),
        opened: Cell::new(false),
        retry_ms: Cell::new(500),
        retry: RefCell::new(None),
        posting: Cell::new(false),
        window_listeners: RefCell::new(Vec::new()),
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(review.clone()));
    review.doc.observe("review", |changes| {
        CHANGED.with(|c| {
            let mut c = c.borrow_mut();
            c.0.extend(changes.threads.iter().cloned());
            c.1 |= changes.verdicts;
        });
        schedule_refresh();
    });
    review.listen_to_network();
    review.connect();
    review.load_identity();
    review
}

/// Closes the open review, if any.
pub(crate) fn close_current() {
    if let Some(review) = CURRENT.with(|c| c.borrow_mut().take()) {
        review.close();
    }
    CHANGED.with(|c| *c.borrow_mut() = (BTreeSet::new(), false));
}

fn schedule_refresh() {
    if REFRESH_SCHEDULED.with(|f| f.replace(true)) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        REFRESH_SCHEDULED.with(|f| f.set(false));
        if let Some(review) = current() {
            review.refresh();
        }
    });
}

impl ReviewSession {
    fn close(&self) {
        self.closed.set(true);
        self.retry.borrow_mut().take();
        self.socket.borrow_mut().take();
        self.doc.unobserve("review");
        let window = web_sys::window();
        for (name, listener) in self.window_listeners.borrow_mut().drain(..) {
            if let Some(w) = &window {
                let _ =
                    w.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            }
        }
    }

    /// Carries what the observer saw into the signals: only the threads it named are re-read,
    /// so a comment on one thread of a thousand costs one thread.
    fn refresh(&self) {
        let (threads, verdicts) = CHANGED.with(|c| std::mem::take(&mut *c.borrow_mut()));
        if verdicts {
            self.signals.verdicts.set(self.doc.verdicts());
        }
        if threads.is_empty() {
            return;
        }
        let few = threads.len() * 8 < self.signals.threads.with_untracked(Vec::len);
        if !few {
            self.signals.threads.set(self.doc.threads());
            return;
        }
        let fresh: Vec<Thread> = threads
            .iter()
            .filter_map(|id| self.doc.thread(id))
            .collect();
        self.signals.threads.update(|all| {
            for thread in fresh {
                match all.iter_mut().find(|t| t.id == thread.id) {
                    Some(old) => *old = thread,
                    None => all.push(thread),
                }
            }
            all.retain(|t| !threads.contains(&t.id) || self.doc.thread(&t.id).is_some());
            all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        });
    }

    /// The link was revoked: stop everything that would try again, and say so.
    pub(crate) fn revoked(&self) {
        self.signals.revoked.set(true);
        self.retry.borrow_mut().take();
        if let Some(socket) = self.socket.borrow_mut().take() {
            wasm_bindgen_futures::spawn_local(async move { drop(socket) });
        }
    }

    /// Takes a failed request's error: a revoked link stops the review.
    pub(crate) fn note_error(&self, e: &ApiError) {
        if *e == ApiError::Revoked {
            self.revoked();
        }
    }

    /// Asks the server what the token is, and who the project's people are. Not while
    /// offline (a request that cannot go out is only noise in the console); the review's
    /// first sync after reconnecting asks again.
    fn load_identity(self: &Rc<Self>) {
        if !online() {
            return;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if this.signals.me.get_untracked().is_none() {
                match api::me(&this.id, &this.token).await {
                    Ok(me) => this.signals.me.set(Some(me)),
                    Err(e) => this.note_error(&e),
                }
            }
            this.load_people();
        });
    }

    /// Re-reads the project's people (for @mentions).
    pub(crate) fn load_people(self: &Rc<Self>) {
        if !online() {
            return;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match api::people(&this.id, &this.token).await {
                Ok(people) => this.signals.people.set(people),
                Err(e) => this.note_error(&e),
            }
        });
    }

    // ---- comments ----

    /// Keeps a comment on the device and posts it (now, or when the connection is back).
    pub(crate) fn post(self: &Rc<Self>, pending: Pending) {
        self.signals.pending.update(|all| all.push(pending));
        self.save_pending();
        self.post_pending();
    }

    fn save_pending(&self) {
        self.signals
            .pending
            .with_untracked(|all| storage::set_pending_comments(&self.id, all));
    }

    /// Posts the waiting comments one at a time, oldest first. A comment the server refuses
    /// (too long, its thread gone) is dropped with the reason shown; one that cannot reach the
    /// server waits for the next connection.
    pub(crate) fn post_pending(self: &Rc<Self>) {
        if self.posting.get() || self.signals.revoked.get_untracked() || !online() {
            return;
        }
        self.posting.set(true);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(next) = this.signals.pending.with_untracked(|p| p.first().cloned()) {
                let result = match (&next.thread, &next.anchor) {
                    (Some(thread), _) => api::new_comment(
                        &this.id,
                        &this.token,
                        thread,
                        &NewComment {
                            text: next.text.clone(),
                            client_key: Some(next.client_key.clone()),
                        },
                    )
                    .await
                    .map(|_| ()),
                    (None, Some(anchor)) => api::new_thread(
                        &this.id,
                        &this.token,
                        &NewThread {
                            anchor: anchor.clone(),
                            text: next.text.clone(),
                            client_key: Some(next.client_key.clone()),
                        },
                    )
                    .await
                    .map(|_| ()),
                    (None, None) => Ok(()),
                };
                match result {
                    Ok(()) => {}
                    Err(ApiError::Network) => break,
                    // Kept: it goes out with the personal token once the name is given.
                    Err(e) if e.identity_required() => {
                        this.signals.ask_name.set(true);
                        break;
                    }
                    Err(e) => {
                        this.note_error(&e);
                        if e == ApiError::Revoked {
                            break;
                        }
                        this.banner.set(Some(error_text(&e)));
                    }
                }
                this.signals
                    .pending
                    .update(|p| p.retain(|x| x.client_key != next.client_key));
                this.save_pending();
            }
            this.posting.set(false);
        });
    }

    // ---- connection ----

    fn connect(self: &Rc<Self>) {
        if self.closed.get()
            || self.signals.revoked.get_untracked()
            || self.socket.borrow().is_some()
            || !online()
        {
            return;
        }
        self.retry.borrow_mut().take();
        self.opened.set(false);
        let path = format!(
            "/sync/{}.review?token={}",
            self.id,
            js_sys::encode_uri_component(&self.token)
        );
        let handler = Rc::new(Handler(Rc::downgrade(self)));
        match Socket::connect(&path, handler) {
            Ok(socket) => *self.socket.borrow_mut() = Some(socket),
            Err(_) => self.schedule_reconnect(),
        }
    }

    fn schedule_reconnect(self: &Rc<Self>) {
        if self.closed.get() || self.signals.revoked.get_untracked() || !online() {
            return;
        }
        let delay = self.retry_ms.get();
        self.retry_ms.set((delay * 2).min(10_000));
        let weak = Rc::downgrade(self);
        *self.retry.borrow_mut() = Some(Timeout::new(delay, move || {
            if let Some(s) = weak.upgrade() {
                s.connect();
            }
        }));
    }

    fn listen_to_network(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let weak = Rc::downgrade(self);
        let on_online = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(s) = weak.upgrade() {
                s.retry_ms.set(500);
                s.connect();
            }
        });
        let weak = Rc::downgrade(self);
        let on_offline = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(s) = weak.upgrade() {
                s.socket.borrow_mut().take();
                s.sync.borrow_mut().close(&mut s.presence.borrow_mut());
            }
        });
        let _ =
            window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        let _ =
            window.add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
        let mut listeners = self.window_listeners.borrow_mut();
        listeners.push(("online", on_online));
        listeners.push(("offline", on_offline));
    }

    fn on_open(self: &Rc<Self>) {
        self.opened.set(true);
        self.retry_ms.set(500);
        let frames = self
            .sync
            .borrow_mut()
            .open(self.doc.doc(), &self.presence.borrow());
        if let Some(socket) = &*self.socket.borrow() {
            for frame in frames {
                socket.send(&frame);
            }
        }
    }

    fn on_frame(self: &Rc<Self>, frame: &[u8]) {
        let received = {
            let mut sync = self.sync.borrow_mut();
            let mut presence = self.presence.borrow_mut();
            sync.receive(self.doc.doc(), &mut presence, frame, js_sys::Date::now())
        };
        match received {
            Ok(received) => {
                if let Some(socket) = &*self.socket.borrow() {
                    for reply in &received.reply {
                        socket.send(reply);
                    }
                }
                if received.events.contains(&SyncEvent::Synced) {
                    self.signals.synced.set(true);
                    if self.signals.me.with_untracked(Option::is_none) {
                        self.load_identity();
                    }
                    // Back online: what was written meanwhile goes out now.
                    self.post_pending();
                }
            }
            Err(e) => {
                web_sys::console::warn_1(&format!("review sync: {e}").into());
                self.drop_socket_later();
                self.schedule_reconnect();
            }
        }
    }

    fn on_close(self: &Rc<Self>) {
        self.drop_socket_later();
        self.sync
            .borrow_mut()
            .close(&mut self.presence.borrow_mut());
        if self.closed.get() {
            return;
        }
        if online() {
            // A refused upgrade (or a connection the server closed on revoking the link) looks
            // like any network failure; ask the REST API why before trying again.
            let this = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::me(&this.id, &this.token).await {
                    Err(ApiError::Revoked) => this.revoked(),
                    Ok(me) => {
                        this.signals.me.set(Some(me));
                        this.schedule_reconnect();
                    }
                    Err(_) => this.schedule_reconnect(),
                }
            });
        }
    }

    /// The socket's own close handler is running: the socket is dropped on the next tick.
    fn drop_socket_later(&self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            wasm_bindgen_futures::spawn_local(async move { drop(socket) });
        }
    }
}

/// A refusal in words the person can read: the server's own message when it gave one.
pub(crate) fn error_text(e: &ApiError) -> String {
    match e {
        ApiError::Server { message, .. } | ApiError::Forbidden(message) => message.clone(),
        other => other.to_string(),
    }
}

struct Handler(Weak<ReviewSession>);

impl SocketHandler for Handler {
    fn opened(&self) {
        if let Some(s) = self.0.upgrade() {
            s.on_open();
        }
    }
    fn frame(&self, bytes: Vec<u8>) {
        if let Some(s) = self.0.upgrade() {
            s.on_frame(&bytes);
        }
    }
    fn closed(&self, code: u16, _reason: String) {
        if let Some(s) = self.0.upgrade() {
            if code == crate::session::LINK_REVOKED_CLOSE {
                // The server says why itself; the next request would only confirm it.
                s.revoked();
                return;
            }
            s.on_close();
        }
    }
}
