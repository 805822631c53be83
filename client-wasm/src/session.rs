//! One open project: its document replica, IndexedDB log, WebSocket sync, presence, and the
//! signals the screens render from.
//!
//! yrs calls observers inside its transactions, where the document cannot be read. Observers
//! here therefore only queue what they saw (update bytes, [`Changes`]) in thread-locals and
//! schedule a flush on the microtask queue; the flush sends local updates to the server, appends
//! every update to IndexedDB and refreshes the signals of the parts that changed.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use shared_model::{
    Asset, Changes, Character, JobSummary, Meta, MetaPatch, Project, ProjectOptions, Scene,
    ScriptDelta, ScriptHistory, Shot,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::idb::DocStore;
use crate::net::{Socket, SocketHandler};
use crate::presence::{Presence, PresenceState, RENEW_INTERVAL_MS, ServerJobs, User};
use crate::sync::{Phase, SyncClient, SyncEvent, update_frame};
use crate::{api, storage};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// The close code the server gives the sockets of a share link it has just revoked.
pub(crate) const LINK_REVOKED_CLOSE: u16 = 4401;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conn {
    /// The browser says there is no network, or the server cannot be reached.
    Offline,
    Connecting,
    /// Connected, exchanging what each side lacks.
    Syncing,
    Online,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Owner,
    Editor,
    Commenter,
    Viewer,
}

impl Role {
    pub(crate) fn parse(s: &str) -> Role {
        match s {
            "owner" => Role::Owner,
            "editor" => Role::Editor,
            "commenter" => Role::Commenter,
            // Unknown roles get the least power.
            _ => Role::Viewer,
        }
    }

    pub(crate) fn can_edit(self) -> bool {
        matches!(self, Role::Owner | Role::Editor)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Commenter => "commenter",
            Role::Viewer => "viewer",
        }
    }
}

/// Another participant, as the status bar and the board show them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PeerView {
    pub(crate) client_id: u64,
    pub(crate) name: String,
    pub(crate) color: String,
    pub(crate) view: Option<String>,
    pub(crate) shot: Option<String>,
}

/// What the screens render from. `Copy`, so closures can capture it freely.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signals {
    pub(crate) conn: RwSignal<Conn>,
    pub(crate) role: RwSignal<Role>,
    /// False while updates are waiting to be written to IndexedDB.
    pub(crate) saved: RwSignal<bool>,
    /// True once the document has been read from IndexedDB.
    pub(crate) loaded: RwSignal<bool>,
    pub(crate) meta: RwSignal<Meta>,
    pub(crate) scenes: RwSignal<Vec<Scene>>,
    pub(crate) shots: RwSignal<Vec<Shot>>,
    pub(crate) characters: RwSignal<Vec<Character>>,
    pub(crate) assets: RwSignal<Vec<Asset>>,
    /// The people here; the server's own peer is not one of them.
    pub(crate) peers: RwSignal<Vec<PeerView>>,
    /// Generation work under way, from the server peer's awareness state.
    pub(crate) live_jobs: RwSignal<ServerJobs>,
    /// The job summaries the server writes into the document (terminal states).
    pub(crate) jobs: RwSignal<Vec<JobSummary>>,
}

impl Signals {
    fn new(role: Role) -> Self {
        Signals {
            conn: RwSignal::new(Conn::Offline),
            role: RwSignal::new(role),
            saved: RwSignal::new(true),
            loaded: RwSignal::new(false),
            meta: RwSignal::new(Meta::default()),
            scenes: RwSignal::new(Vec::new()),
            shots: RwSignal::new(Vec::new()),
            characters: RwSignal::new(Vec::new()),
            assets: RwSignal::new(Vec::new()),
            peers: RwSignal::new(Vec::new()),
            live_jobs: RwSignal::new(ServerJobs::default()),
            jobs: RwSignal::new(Vec::new()),
        }
    }
}

thread_local! {
    /// The open project. One at a time: the workspace opens it and closes it on unmount.
    static CURRENT: RefCell<Option<Rc<Session>>> = const { RefCell::new(None) };
    /// True while updates from the server or from IndexedDB are being applied, so that the
    /// update observer can tell them from local edits.
    static APPLYING: Cell<Source> = const { Cell::new(Source::Local) };
    /// Updates seen by the observer, waiting for the flush.
    static OUTBOX: RefCell<Vec<(Vec<u8>, Source)>> = const { RefCell::new(Vec::new()) };
    /// What changed since the last flush.
    static CHANGED: RefCell<Changes> = RefCell::new(Changes::default());
    static FLUSH_SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Local,
    Server,
    Storage,
}

/// A view of the script (the editor, while it is mounted), registered with
/// [`Session::listen_script`]. The session tells it what happened and knows nothing else about
/// it.
pub(crate) trait ScriptListener {
    /// A change to the script, local or remote. Called by yrs inside the transaction, where the
    /// document cannot be read: queue it.
    fn delta(&self, delta: &[ScriptDelta]);
    /// The session has applied a batch of updates (after the deltas they caused).
    fn flushed(&self);
    /// Other people's presence changed (their cursors may have moved).
    fn peers_changed(&self);
}

/// The open session, if any.
pub(crate) fn current() -> Option<Rc<Session>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `f` with the open session; does nothing when none is open (the workspace is closing).
pub(crate) fn with<R>(f: impl FnOnce(&Rc<Session>) -> R) -> Option<R> {
    current().map(|s| f(&s))
}

pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) token: String,
    pub(crate) project: Project,
    pub(crate) signals: Signals,
    /// The app-wide error banner.
    banner: RwSignal<Option<String>>,
    sync: RefCell<SyncClient>,
    presence: RefCell<Presence>,
    socket: RefCell<Option<Socket>>,
    store: RefCell<Option<DocStore>>,
    /// Writes to IndexedDB not yet committed.
    pending_writes: Cell<u32>,
    closed: Cell<bool>,
    /// The server refused the token: stop reconnecting.
    auth_failed: Cell<bool>,
    /// Whether the current socket ever opened (a refused upgrade never does).
    opened: Cell<bool>,
    /// The server has confirmed the token and told us its role.
    token_checked: Cell<bool>,
    retry_ms: Cell<u32>,
    retry: RefCell<Option<Timeout>>,
    renew: RefCell<Option<Interval>>,
    window_listeners: RefCell<Vec<(&'static str, Listener)>>,
    /// The script's view, while one is mounted.
    script_listener: RefCell<Option<Rc<dyn ScriptListener>>>,
    /// The local user's script undo history, made when first needed. It lives as long as the
    /// session, so switching to the board and back keeps it, and another opening (a new yrs
    /// client id) starts a new one.
    script_history: RefCell<Option<ScriptHistory>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A random 53-bit yrs client id. yrs's own generator is seeded with a constant on wasm32
/// (fastrand without its `js` feature), which would give every browser the same id and corrupt
/// documents; `crypto.getRandomValues` is the browser's real source.
fn random_client_id() -> u64 {
    let mut bytes = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    let mut id = u64::from_le_bytes(bytes);
    if !filled {
        id = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
    }
    (id & ((1 << 53) - 1)).max(1)
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The clock of the undo history's grouping of keystrokes, in ms.
fn clock_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

impl Session {
    /// Opens a project: reads it from IndexedDB, shows it, then connects. `created` carries the
    /// title and language when this browser has just created the project, so that it writes the
    /// document's meta (including the schema version).
    pub(crate) async fn open(
        id: String,
        token: String,
        role: Role,
        created: Option<MetaPatch>,
        banner: RwSignal<Option<String>>,
    ) -> Rc<Session> {
        close_current();
        let options = ProjectOptions {
            client_id: Some(random_client_id()),
            skip_gc: false,
        };
        let project = match &created {
            Some(meta) => Project::create(meta, options.clone()),
            None => Project::empty(options.clone()),
        };
        let client_id = project.doc().client_id().get();
        let session = Rc::new(Session {
            id,
            token,
            project,
            signals: Signals::new(role),
            banner,
            sync: RefCell::new(SyncClient::new()),
            presence: RefCell::new(Presence::new(client_id)),
            socket: RefCell::new(None),
            store: RefCell::new(None),
            pending_writes: Cell::new(0),
            closed: Cell::new(false),
            auth_failed: Cell::new(false),
            opened: Cell::new(false),
            token_checked: Cell::new(false),
            retry_ms: Cell::new(500),
            retry: RefCell::new(None),
            renew: RefCell::new(None),
            window_listeners: RefCell::new(Vec::new()),
            script_listener: RefCell::new(None),
            script_history: RefCell::new(None),
        });
        CURRENT.with(|c| *c.borrow_mut() = Some(session.clone()));
        session.observe();

        match DocStore::open(&session.id).await {
            Ok(store) => {
                match store.load().await {
                    Ok(updates) => {
                        APPLYING.with(|a| a.set(Source::Storage));
                        for update in &updates {
                            // A damaged record must not keep the project from opening; the
                            // server still has everything that was synced.
                            if let Err(e) = session.project.apply_update(update) {
                                web_sys::console::warn_1(
                                    &format!("skipping a stored update: {e}").into(),
                                );
                            }
                        }
                        APPLYING.with(|a| a.set(Source::Local));
                    }
                    Err(e) => session.show_error(&e.to_string()),
                }
                *session.store.borrow_mut() = Some(store);
            }
            Err(e) => session.show_error(&e.to_string()),
        }
        if created.is_some() {
            // The meta written by `Project::create` happened before the store was open.
            let state = session.project.encode_state();
            OUTBOX.with(|o| o.borrow_mut().push((state, Source::Local)));
        }
        session.refresh_all();
        session.signals.loaded.set(true);
        session.set_presence(|p| p.view = Some("board".into()));
        session.listen_to_network();
        session.start_renewing();
        session.connect();
        if online() {
            session.check_token();
        }
        schedule_flush();
        session
    }

    fn observe(&self) {
        let doc = self.project.doc();
        // Registration fails only inside a transaction, and none is open here.
        let _ = doc.observe_update_v1("session", |_, e| {
            let source = APPLYING.with(Cell::get);
            OUTBOX.with(|o| o.borrow_mut().push((e.update.clone(), source)));
            schedule_flush();
        });
        self.project.observe("session", |changes| {
            CHANGED.with(|c| merge(&mut c.borrow_mut(), changes));
            schedule_flush();
        });
    }

    /// Registers the script's view, replacing (and dropping) any earlier one. The script is
    /// observed only while a view listens.
    pub(crate) fn listen_script(&self, listener: Rc<dyn ScriptListener>) {
        self.unlisten_script();
        *self.script_listener.borrow_mut() = Some(listener);
        self.project.observe_script("view", |delta| {
            if let Some(listener) = current().and_then(|s| s.script_listener()) {
                listener.delta(delta);
            }
        });
    }

    /// Drops the script's view, if any.
    pub(crate) fn unlisten_script(&self) {
        let old = self.script_listener.borrow_mut().take();
        if old.is_some() {
            self.project.unobserve_script("view");
        }
        // Dropped outside the borrow: the view's drop announces its cursor gone.
        drop(old);
    }

    fn script_listener(&self) -> Option<Rc<dyn ScriptListener>> {
        self.script_listener.borrow().clone()
    }

    /// Runs `f` with the local user's script undo history, starting it if need be.
    pub(crate) fn with_script_history<R>(&self, f: impl FnOnce(&mut ScriptHistory) -> R) -> R {
        let mut history = self.script_history.borrow_mut();
        let history = history.get_or_insert_with(|| ScriptHistory::new(&self.project, clock_ms));
        f(history)
    }

    /// Detaches everything; the page stays usable for another project.
    fn close(&self) {
        self.closed.set(true);
        // First, so that the view's last presence change goes out before the local state ends.
        self.unlisten_script();
        let frame = self.presence.borrow_mut().set_local(None);
        if let Some(socket) = self.socket.borrow_mut().take() {
            socket.send(&frame);
        }
        self.retry.borrow_mut().take();
        self.renew.borrow_mut().take();
        let window = web_sys::window();
        for (name, listener) in self.window_listeners.borrow_mut().drain(..) {
            if let Some(w) = &window {
                let _ =
                    w.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            }
        }
        let _ = self.project.doc().unobserve_update_v1("session");
        self.project.unobserve("session");
    }

    pub(crate) fn show_error(&self, message: &str) {
        self.banner.set(Some(message.to_owned()));
    }

    pub(crate) fn can_edit(&self) -> bool {
        self.signals.role.get_untracked().can_edit()
    }

    fn refresh_all(&self) {
        self.refresh(true, true, true, true);
        self.signals.jobs.set(self.project.jobs());
    }

    fn refresh_changed(&self, changes: &Changes) {
        let board = !changes.scenes.is_empty()
            || (!changes.shots.is_empty() && !self.patch_shots(&changes.shots));
        self.refresh(
            changes.meta,
            board,
            !changes.characters.is_empty(),
            !changes.assets.is_empty(),
        );
        if !changes.jobs.is_empty() {
            self.signals.jobs.set(self.project.jobs());
        }
    }

    /// Re-reads only the few shots that changed, in place, when none of them moved, appeared or
    /// went: typing in a shot's description on a board of thousands of shots must not re-read
    /// them all per keystroke. Returns false when the whole board has to be re-read.
    fn patch_shots(&self, changed: &std::collections::BTreeSet<shared_model::ShotId>) -> bool {
        const FEW: usize = 16;
        if changed.len() > FEW {
            return false;
        }
        let mut fresh = Vec::with_capacity(changed.len());
        for id in changed {
            let Some(shot) = self.project.shot(id) else {
                return false;
            };
            fresh.push(shot);
        }
        let places: Option<Vec<usize>> = self.signals.shots.with_untracked(|all| {
            fresh
                .iter()
                .map(|new| {
                    let i = all.iter().position(|s| s.id == new.id)?;
                    let old = &all[i];
                    // A move changes the order: the whole board is re-read and re-sorted.
                    (old.scene_id == new.scene_id && old.position == new.position).then_some(i)
                })
                .collect()
        });
        let Some(places) = places else {
            return false;
        };
        self.signals.shots.update(|all| {
            for (i, shot) in places.into_iter().zip(fresh) {
                all[i] = shot;
            }
        });
        true
    }

    /// Re-reads the named parts of the document into their signals.
    fn refresh(&self, meta: bool, board: bool, characters: bool, assets: bool) {
        let s = &self.signals;
        let p = &self.project;
        if meta {
            s.meta.set(p.meta());
        }
        if board {
            s.scenes.set(p.scenes());
            s.shots.set(p.shots());
        }
        if characters {
            s.characters.set(p.characters());
        }
        if assets {
            s.assets.set(p.assets());
        }
    }

    fn flush(self: &Rc<Self>) {
        let outbox = OUTBOX.with(|o| std::mem::take(&mut *o.borrow_mut()));
        let changes = CHANGED.with(|c| std::mem::take(&mut *c.borrow_mut()));
        if let Some(listener) = self.script_listener() {
            listener.flushed();
        }
        if !changes.is_empty() {
            self.refresh_changed(&changes);
        }
        if outbox.is_empty() {
            return;
        }
        if self.sync.borrow().phase() != Phase::Closed
            && let Some(socket) = &*self.socket.borrow()
        {
            for (update, _) in outbox.iter().filter(|(_, s)| *s == Source::Local) {
                socket.send(&update_frame(update));
            }
        }
        let to_store: Vec<Vec<u8>> = outbox
            .into_iter()
            .filter(|(_, s)| *s != Source::Storage)
            .map(|(u, _)| u)
            .collect();
        let Some(store) = self.store.borrow().clone() else {
            return;
        };
        if to_store.is_empty() {
            return;
        }
        self.pending_writes.set(self.pending_writes.get() + 1);
        self.signals.saved.set(false);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = store.append(&to_store).await;
            if result.is_ok() && store.needs_compaction() {
                let state = this.project.encode_state();
                if let Err(e) = store.compact(&state).await {
                    this.show_error(&e.to_string());
                }
            }
            if let Err(e) = result {
                this.show_error(&e.to_string());
            }
            this.pending_writes.set(this.pending_writes.get() - 1);
            if this.pending_writes.get() == 0 {
                this.signals.saved.set(true);
            }
        });
    }

    // ---- connection ----

    fn connect(self: &Rc<Self>) {
        if self.closed.get()
            || self.auth_failed.get()
            || self.socket.borrow().is_some()
            || !online()
        {
            if !online() {
                self.signals.conn.set(Conn::Offline);
            }
            return;
        }
        self.retry.borrow_mut().take();
        self.signals.conn.set(Conn::Connecting);
        self.opened.set(false);
        let path = format!(
            "/sync/{}?token={}",
            self.id,
            js_sys::encode_uri_component(&self.token)
        );
        let handler = Rc::new(Handler(Rc::downgrade(self)));
        match Socket::connect(&path, handler) {
            Ok(socket) => *self.socket.borrow_mut() = Some(socket),
            Err(_) => self.schedule_reconnect(),
        }
    }

    fn disconnect(&self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            // Dropping the socket detaches its handlers, so no close event will follow.
            drop(socket);
        }
        if self
            .sync
            .borrow_mut()
            .close(&mut self.presence.borrow_mut())
        {
            self.refresh_peers();
        }
        self.signals.conn.set(Conn::Offline);
    }

    fn schedule_reconnect(self: &Rc<Self>) {
        if self.closed.get() || self.auth_failed.get() || !online() {
            self.signals.conn.set(Conn::Offline);
            return;
        }
        self.signals.conn.set(Conn::Offline);
        let delay = self.retry_ms.get();
        self.retry_ms.set((delay * 2).min(10_000));
        let weak = Rc::downgrade(self);
        *self.retry.borrow_mut() = Some(Timeout::new(delay, move || {
            if let Some(s) = weak.upgrade() {
                s.connect();
            }
        }));
    }

    /// Asks the REST API what the token grants: detects revoked or expired links (a refused
    /// WebSocket upgrade does not tell the browser why) and picks up the current role.
    fn check_token(self: &Rc<Self>) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = api::project_for_token(&this.token).await;
            // A session closed meanwhile (reopened with a personal token after a join) must
            // not write its old token back.
            if this.closed.get() {
                return;
            }
            match answer {
                Ok(Some(summary)) => {
                    this.token_checked.set(true);
                    let role = Role::parse(summary.role.as_str());
                    // Only a change is news: every view built from the role is rebuilt on a
                    // set, and open menus with it.
                    if this.signals.role.get_untracked() != role {
                        this.signals.role.set(role);
                    }
                    storage::remember_project(&storage::StoredProject {
                        id: this.id.clone(),
                        title: summary.title,
                        token: this.token.clone(),
                        role,
                    });
                }
                Ok(None) => this.show_error("this project no longer exists on the server"),
                Err(e) if e.is_auth() => {
                    this.auth_failed.set(true);
                    this.disconnect();
                    this.show_error(&e.to_string());
                }
                // Offline or the server is down: the connection status already says so.
                Err(_) => {}
            }
        });
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
                s.disconnect();
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

    fn start_renewing(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        *self.renew.borrow_mut() = Some(Interval::new(RENEW_INTERVAL_MS as u32, move || {
            let Some(s) = weak.upgrade() else {
                return;
            };
            let frame = s.presence.borrow_mut().renew();
            if let (Some(frame), Some(socket)) = (frame, &*s.socket.borrow()) {
                socket.send(&frame);
            }
            if s.presence.borrow_mut().expire(now_ms()) {
                s.refresh_peers();
            }
        }));
    }

    // ---- presence ----

    /// Changes the local presence state and announces it.
    pub(crate) fn set_presence(&self, change: impl FnOnce(&mut PresenceState)) {
        let mut presence = self.presence.borrow_mut();
        let mut state = presence.local().cloned().unwrap_or_else(|| PresenceState {
            user: storage::user(),
            ..Default::default()
        });
        let before = state.clone();
        change(&mut state);
        if presence.local().is_some() && state == before {
            return;
        }
        let frame = presence.set_local(Some(state));
        drop(presence);
        if let Some(socket) = &*self.socket.borrow() {
            socket.send(&frame);
        }
    }

    pub(crate) fn set_user(&self, user: User) {
        self.set_presence(|p| p.user = user);
    }

    fn refresh_peers(&self) {
        let presence = self.presence.borrow();
        let peers: Vec<PeerView> = presence
            .peers()
            .filter(|p| !p.is_server())
            .map(|p| PeerView {
                client_id: p.client_id,
                name: if p.state.user.name.is_empty() {
                    "Guest".into()
                } else {
                    p.state.user.name.clone()
                },
                color: if p.state.user.color.is_empty() {
                    "#888888".into()
                } else {
                    p.state.user.color.clone()
                },
                view: p.state.view.clone(),
                shot: p.state.shot.clone(),
            })
            .collect();
        let live = presence.server_jobs();
        drop(presence);
        // The server peer announces every job start and end; people did not change then.
        if self.signals.peers.with_untracked(|p| p != &peers) {
            self.signals.peers.set(peers);
        }
        if self.signals.live_jobs.with_untracked(|l| l != &live) {
            self.signals.live_jobs.set(live);
        }
        if let Some(listener) = self.script_listener() {
            listener.peers_changed();
        }
    }

    /// Remote cursors in the script, for the editor to draw: (name, colour, UTF-16 range).
    pub(crate) fn peer_cursors(&self) -> Vec<(String, String, std::ops::Range<u32>)> {
        self.presence
            .borrow()
            .peers()
            .filter_map(|p| {
                let anchor = p.state.cursor.as_ref()?;
                let range = self.project.resolve_anchor(anchor)?;
                Some((p.state.user.name.clone(), p.state.user.color.clone(), range))
            })
            .collect()
    }

    // ---- socket events ----

    fn on_open(self: &Rc<Self>) {
        self.opened.set(true);
        if !self.token_checked.get() {
            // Opened offline: the role stored with the link may be out of date.
            self.check_token();
        }
        self.retry_ms.set(500);
        self.signals.conn.set(Conn::Syncing);
        let frames = self
            .sync
            .borrow_mut()
            .open(&self.project, &self.presence.borrow());
        if let Some(socket) = &*self.socket.borrow() {
            for frame in frames {
                socket.send(&frame);
            }
        }
    }

    fn on_frame(self: &Rc<Self>, frame: &[u8]) {
        APPLYING.with(|a| a.set(Source::Server));
        let received = {
            let mut sync = self.sync.borrow_mut();
            let mut presence = self.presence.borrow_mut();
            sync.receive(&self.project, &mut presence, frame, now_ms())
        };
        APPLYING.with(|a| a.set(Source::Local));
        match received {
            Ok(received) => {
                if let Some(socket) = &*self.socket.borrow() {
                    for reply in &received.reply {
                        socket.send(reply);
                    }
                }
                for event in received.events {
                    match event {
                        SyncEvent::Synced => self.signals.conn.set(Conn::Online),
                        SyncEvent::PermissionDenied(reason) => {
                            self.show_error(&reason);
                        }
                        SyncEvent::PresenceChanged => self.refresh_peers(),
                    }
                }
            }
            Err(e) => {
                self.show_error(&e.to_string());
                self.drop_socket_later();
                self.schedule_reconnect();
            }
        }
    }

    fn on_close(self: &Rc<Self>, code: u16, reason: String) {
        self.drop_socket_later();
        if self
            .sync
            .borrow_mut()
            .close(&mut self.presence.borrow_mut())
        {
            self.refresh_peers();
        }
        if self.closed.get() {
            return;
        }
        match code {
            // The server closed us on purpose with a reason worth showing (frame too large,
            // protocol error); a normal restart (1001, 1012) is not an error.
            1002 | 1003 | 1007 | 1008 | 1009 | 1011 if !reason.is_empty() => {
                self.show_error(&reason);
            }
            _ => {}
        }
        if (!self.opened.get() || code == LINK_REVOKED_CLOSE) && online() {
            // A refused upgrade looks like any network failure, and a revoked link's socket is
            // closed with 4401: ask the REST API why (it stops reconnecting on a refusal).
            self.check_token();
        }
        self.schedule_reconnect();
    }

    /// The socket's own close handler is running: dropping the socket (and its handlers) right
    /// now would free the closure that is executing, so it is dropped on the next tick.
    fn drop_socket_later(&self) {
        if let Some(socket) = self.socket.borrow_mut().take() {
            wasm_bindgen_futures::spawn_local(async move { drop(socket) });
        }
    }
}

/// Merges one transaction's changes into the pending ones.
fn merge(into: &mut Changes, from: &Changes) {
    into.meta |= from.meta;
    into.script |= from.script;
    into.scenes.extend(from.scenes.iter().cloned());
    into.shots.extend(from.shots.iter().cloned());
    into.characters.extend(from.characters.iter().cloned());
    into.assets.extend(from.assets.iter().cloned());
    into.jobs.extend(from.jobs.iter().cloned());
}

fn schedule_flush() {
    if FLUSH_SCHEDULED.with(|f| f.replace(true)) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        FLUSH_SCHEDULED.with(|f| f.set(false));
        if let Some(session) = current() {
            session.flush();
        }
    });
}

/// Closes the open session, if any.
pub(crate) fn close_current() {
    if let Some(session) = CURRENT.with(|c| c.borrow_mut().take()) {
        // Whatever the last microtask has not written yet still goes to IndexedDB.
        session.flush();
        session.close();
    }
    OUTBOX.with(|o| o.borrow_mut().clear());
    CHANGED.with(|c| *c.borrow_mut() = Changes::default());
}

struct Handler(Weak<Session>);

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
    fn closed(&self, code: u16, reason: String) {
        if let Some(s) = self.0.upgrade() {
            s.on_close(code, reason);
        }
    }
}
