//! Share links and the people of a project: who a token speaks for, and the routes that make,
//! list and revoke links and let a link's holder join with a name.
//!
//! | route | who | body / answer |
//! |---|---|---|
//! | `GET /api/projects/{id}/me` | any token | [`Me`] |
//! | `POST /api/projects/{id}/join` `{name}` | a link token without a person | [`Joined`] (201) |
//! | `GET /api/projects/{id}/people` | any role | `Vec<`[`Person`]`>` |
//! | `GET /api/projects/{id}/links` | owner | `Vec<`[`LinkInfo`]`>`, newest first |
//! | `DELETE /api/projects/{id}/links/{link}` | owner | 204; the link stops working at once |
//!
//! `POST /api/projects/{id}/tokens` (in [`crate::http`]) makes a link.
//!
//! A token names its link (`l`) and, once its holder has given a name, its person (`u`);
//! both are signed, so neither can be changed by the holder. [`AppState::identify`] is the one
//! place a token becomes an [`Identity`]: the signature, the project, the link's row (revoked
//! or missing: `link_revoked`), the person's row. [`crate::http::ProjectCaller`] and the
//! WebSocket upgrade both go through it. Revoking a link also closes its open WebSockets, told
//! through [`Revocations`].

use api_types::review::{MAX_LABEL_CHARS, MAX_NAME_CHARS};
use api_types::{Author, JoinRequest, Joined, LinkId, LinkInfo, Me, Person, ProjectId, Role};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use tokio::sync::broadcast;

use crate::AppState;
use crate::auth::Claims;
use crate::http::{ANYONE, ApiError, ApiResult, Json, OWNERS, Path, ProjectCaller};
use crate::room::ConnIdentity;
use crate::store::{LinkRow, NewLink, PersonRow, unix_now};

/// A link's `last_used_at` is written at most this often (seconds), so that reading a project
/// does not write to the database on every request.
const TOUCH_EVERY_SECS: i64 = 60;
/// The owner's display name when the project's creator gives none.
pub const DEFAULT_OWNER_NAME: &str = "Owner";
/// Revocations waiting for slow connection tasks; one that falls further behind re-reads its
/// link's row instead.
const REVOCATION_BACKLOG: usize = 64;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects/{id}/me", get(me))
        .route("/api/projects/{id}/join", post(join))
        .route("/api/projects/{id}/people", get(people))
        .route("/api/projects/{id}/links", get(list_links))
        .route("/api/projects/{id}/links/{link}", delete(revoke_link))
}

/// What a verified token stands for.
#[derive(Debug, Clone)]
pub struct Identity {
    pub claims: Claims,
    /// The token's link; `None` for a token made before links existed.
    pub link: Option<LinkRow>,
    /// The person the token speaks for; `None` for a share link whose holder has not joined
    /// (and for tokens made before people existed).
    pub person: Option<PersonRow>,
}

impl Identity {
    /// Who is acting, for attribution: the person, else the bare link.
    pub fn author(&self) -> Author {
        match &self.person {
            Some(p) => Author {
                id: Some(p.id.clone()),
                name: p.name.clone(),
            },
            None => Author {
                id: None,
                name: "someone with a link".into(),
            },
        }
    }

    /// Who a WebSocket connection made with this token is, for the room.
    pub fn conn_identity(&self) -> ConnIdentity {
        ConnIdentity {
            author: self.author(),
            link: self.claims.link.clone(),
        }
    }
}

impl AppState {
    /// Verifies a token and looks up what it names: 401 without a valid token, 403 when it is
    /// for another project than `project` (when given), 401 `link_revoked` when its link was
    /// revoked (or is unknown here), 401 when it names no person of its project. Tokens without
    /// a link (made before links existed) are taken on their signature alone, as before.
    pub async fn identify(
        &self,
        token: Option<&str>,
        project: Option<&ProjectId>,
    ) -> ApiResult<Identity> {
        let claims = match project {
            Some(project) => self.authorize(token, project)?,
            None => self.authenticate(token)?,
        };
        let now = unix_now();
        let link = match &claims.link {
            Some(id) => {
                let link = self
                    .store()
                    .link(id)
                    .await?
                    .filter(|l| l.project_id == claims.project && l.revoked_at.is_none())
                    .ok_or(ApiError::LinkRevoked)?;
                if link.expires_at.is_some_and(|e| e <= now) {
                    return Err(ApiError::Unauthorized("token has expired"));
                }
                if link
                    .last_used_at
                    .is_none_or(|t| t <= now - TOUCH_EVERY_SECS)
                {
                    // A failure here must not refuse the request: the time is a courtesy.
                    if let Err(e) = self
                        .store()
                        .touch_link(&link.id, now, now - TOUCH_EVERY_SECS)
                        .await
                    {
                        tracing::warn!(error = %e, link = %link.id, "recording a link's use failed");
                    }
                }
                Some(link)
            }
            None => None,
        };
        let person = match &claims.person {
            Some(id) => {
                let person = self.store().person(id).await?.filter(|p| {
                    p.project_id == claims.project && Some(&p.link_id) == claims.link.as_ref()
                });
                Some(person.ok_or(ApiError::Unauthorized(
                    "the token names no person of this project",
                ))?)
            }
            None => None,
        };
        Ok(Identity {
            claims,
            link,
            person,
        })
    }
}

/// Tells open WebSocket connections which links were just revoked, so that a revoked link's
/// sockets close at once rather than at their next reconnect.
#[derive(Debug, Clone)]
pub struct Revocations {
    /// Guards nothing: a fan-out of revoked link ids to every connection task holding a link
    /// token. A task subscribes before its link's row is checked, so a revocation committed
    /// after that check always reaches it.
    sender: broadcast::Sender<LinkId>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(REVOCATION_BACKLOG).0,
        }
    }
}

impl Revocations {
    pub fn subscribe(&self) -> broadcast::Receiver<LinkId> {
        self.sender.subscribe()
    }

    fn announce(&self, link: LinkId) {
        // No receiver means no open connection to close.
        let _ = self.sender.send(link);
    }
}

/// A display name as given: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control
/// characters (a name is shown on one line beside comments).
pub(crate) fn valid_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "a name cannot contain control characters such as line breaks".into(),
        ));
    }
    Ok(name.to_owned())
}

/// A link's label: trimmed, at most [`MAX_LABEL_CHARS`] characters; `None` when empty.
pub(crate) fn valid_label(label: Option<&str>) -> ApiResult<Option<String>> {
    let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "a label must be at most {MAX_LABEL_CHARS} characters on one line"
        )));
    }
    Ok(Some(label.to_owned()))
}

/// Creates a project with its owner (person and link) and signs the owner's token. Every
/// place that creates a project goes through here, so every owner token names its owner.
pub(crate) async fn create_owned_project(
    state: &AppState,
    id: &ProjectId,
    title: &str,
    owner_name: Option<&str>,
) -> ApiResult<String> {
    let owner_name = match owner_name {
        Some(name) => valid_name(name)?,
        None => DEFAULT_OWNER_NAME.to_owned(),
    };
    let (link, person) = state
        .store()
        .create_project_with_owner(id, title, &owner_name)
        .await?;
    Ok(state.signer().sign(&Claims {
        project: id.clone(),
        role: Role::Owner,
        expires_at: None,
        link: Some(link.id),
        person: Some(person.id),
    }))
}

/// Makes a share link and signs its token (see `POST /api/projects/{id}/tokens`).
pub(crate) async fn create_link(
    state: &AppState,
    new: &NewLink<'_>,
) -> ApiResult<(String, LinkRow, Option<PersonRow>)> {
    let (link, person) = state.store().create_link(new).await?;
    let token = state.signer().sign(&Claims {
        project: new.project.clone(),
        role: link.role,
        expires_at: link.expires_at,
        link: Some(link.id.clone()),
        person: person.as_ref().map(|p| p.id.clone()),
    });
    Ok((token, link, person))
}

async fn me(caller: ProjectCaller) -> Json<Me> {
    Json(Me {
        role: caller.role,
        review_version: caller.link.as_ref().and_then(|l| l.review_version.clone()),
        link: caller.link.map(|l| l.id),
        person: caller.person,
        expires_at: caller.expires_at,
    })
}

async fn join(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Json(body): Json<JoinRequest>,
) -> ApiResult<(StatusCode, Json<Joined>)> {
    if let Some(person) = &caller.person {
        return Err(ApiError::Conflict(format!(
            "this token is already {}'s; open the share link itself to join as someone else",
            person.name
        )));
    }
    let link = caller.link.ok_or_else(|| {
        ApiError::Conflict(
            "this token was made before share links could be joined; ask the owner for a new link"
                .into(),
        )
    })?;
    let name = valid_name(&body.name)?;
    let person = state.store().create_person(&link, &name).await?;
    let token = state.signer().sign(&Claims {
        project: caller.project,
        role: caller.role,
        expires_at: caller.expires_at,
        link: Some(link.id),
        person: Some(person.id.clone()),
    });
    tracing::info!(person = %person.id, "joined through a share link");
    Ok((
        StatusCode::CREATED,
        Json(Joined {
            token,
            person: person.person(),
        }),
    ))
}

async fn people(
    State(state): State<AppState>,
    caller: ProjectCaller,
) -> ApiResult<Json<Vec<Person>>> {
    let project = caller.require(ANYONE, "no access")?;
    let people = state.store().people(&project).await?;
    Ok(Json(people.iter().map(PersonRow::person).collect()))
}

async fn list_links(
    State(state): State<AppState>,
    caller: ProjectCaller,
) -> ApiResult<Json<Vec<LinkInfo>>> {
    let project = caller.require(OWNERS, "only owners can see a project's links")?;
    Ok(Json(state.store().links(&project).await?))
}

async fn revoke_link(
    State(state): State<AppState>,
    caller: ProjectCaller,
    Path((_, link)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let link = LinkId::from(link);
    let own = caller.link.as_ref().map(|l| l.id.clone());
    let project = caller.require(OWNERS, "only owners can revoke links")?;
    if own.as_ref() == Some(&link) {
        return Err(ApiError::Conflict(
            "this is the link you are using: revoke it from another owner link".into(),
        ));
    }
    if !state.store().revoke_link(&project, &link).await? {
        return Err(ApiError::NotFound("no such link"));
    }
    tracing::info!(link = %link, "link revoked");
    state.revocations().announce(link);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  Lin  ").ok().as_deref(), Some("Lin"));
        assert_eq!(valid_name("关羽").ok().as_deref(), Some("关羽"));
        let longest = "名".repeat(MAX_NAME_CHARS);
        assert_eq!(valid_name(&longest).ok(), Some(longest.clone()));
        for bad in ["", "   ", "a\nb", "tab\there"] {
            assert!(valid_name(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(valid_name(&format!("{longest}x")).is_err());
    }

    #[test]
    fn labels_may_be_absent_but_not_too_long() {
        assert_eq!(valid_label(None).ok(), Some(None));
        assert_eq!(valid_label(Some("  ")).ok(), Some(None));
        assert_eq!(
            valid_label(Some(" crew Discord ")).ok(),
            Some(Some("crew Discord".into()))
        );
        assert!(valid_label(Some(&"x".repeat(MAX_LABEL_CHARS + 1))).is_err());
    }
}
