//! What the browser remembers between visits in `localStorage`: the projects it has tokens for,
//! and the local user's name and colour. (The documents themselves live in IndexedDB.)

use serde::{Deserialize, Serialize};

use crate::presence::User;
use crate::session::Role;

const PROJECTS: &str = "shotweave.projects";
const USER: &str = "shotweave.user";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredProject {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) token: String,
    pub(crate) role: Role,
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn read<T: for<'de> Deserialize<'de>>(key: &str) -> Option<T> {
    let raw = local_storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&raw).ok()
}

fn write<T: Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(raw)) = (local_storage(), serde_json::to_string(value)) {
        let _ = storage.set_item(key, &raw);
    }
}

/// Known projects, most recently opened first.
pub(crate) fn projects() -> Vec<StoredProject> {
    read(PROJECTS).unwrap_or_default()
}

pub(crate) fn project(id: &str) -> Option<StoredProject> {
    projects().into_iter().find(|p| p.id == id)
}

/// Adds or updates a project and moves it to the front.
pub(crate) fn remember_project(project: &StoredProject) {
    let mut all = projects();
    all.retain(|p| p.id != project.id);
    all.insert(0, project.clone());
    write(PROJECTS, &all);
}

pub(crate) fn forget_project(id: &str) {
    let mut all = projects();
    all.retain(|p| p.id != id);
    write(PROJECTS, &all);
}

const COLORS: [&str; 8] = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#0f9fb4", "#d0309f", "#9a6324",
];

/// The local user; a guest name and colour are picked (and kept) on first use.
pub(crate) fn user() -> User {
    if let Some(user) = read::<User>(USER)
        && !user.name.is_empty()
    {
        return user;
    }
    let n = (js_sys::Math::random() * 9000.0) as u32 + 1000;
    let user = User {
        name: format!("Guest {n}"),
        color: COLORS[n as usize % COLORS.len()].into(),
        server: false,
    };
    write(USER, &user);
    user
}

pub(crate) fn set_user(user: &User) {
    write(USER, user);
}

/// Replaces a project's token: a share link's holder who has given a name gets a personal
/// token, which is sent instead of the link's from then on (the link's is forgotten, so a
/// reload does not ask for the name again).
pub(crate) fn set_token(id: &str, token: &str) {
    let mut all = projects();
    if let Some(p) = all.iter_mut().find(|p| p.id == id) {
        p.token = token.to_owned();
        write(PROJECTS, &all);
    }
}

fn pending_key(project: &str) -> String {
    format!("shotweave.pending.{project}")
}

/// Review comments written while offline (or whose answer was lost), kept until the server
/// has them. `T` is the review session's record; stored as JSON.
pub(crate) fn pending_comments<T: for<'de> Deserialize<'de>>(project: &str) -> Vec<T> {
    read(&pending_key(project)).unwrap_or_default()
}

pub(crate) fn set_pending_comments<T: Serialize>(project: &str, pending: &[T]) {
    if pending.is_empty() {
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(&pending_key(project));
        }
        return;
    }
    write(&pending_key(project), &pending);
}
