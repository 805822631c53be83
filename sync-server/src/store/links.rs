//! Share links and the people of a project.
//!
//! A link is a token the owner made (or the owner's own, made with the project); a person is
//! someone who acts through one: the owner, someone invited by name, or someone who opened a
//! link and gave a display name. Every query is written once, with `$N` placeholders, and run
//! on whichever pool the store holds.

use api_types::{LinkId, LinkInfo, Person, PersonId, ProjectId, Role, VersionId};

use super::{Store, unix_now};
use crate::{Error, Result};

const LINK_COLUMNS: &str = "id, project_id, role, label, person_id, review_version, created_at, \
    expires_at, last_used_at, revoked_at";
const PERSON_COLUMNS: &str = "id, project_id, link_id, name, role, created_at";

/// The label of the link an owner token made with its project is.
pub const OWNER_LINK_LABEL: &str = "owner";

/// One row of `links`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub id: LinkId,
    pub project_id: ProjectId,
    pub role: Role,
    pub label: String,
    /// For a personal invite: the person it was made for.
    pub person_id: Option<PersonId>,
    pub review_version: Option<VersionId>,
    /// Unix seconds, like every time of this table.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// One row of `people`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: PersonId,
    pub project_id: ProjectId,
    /// The link they came through (for the owner: the owner link).
    pub link_id: LinkId,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
}

impl PersonRow {
    /// The person as the API shows them.
    pub fn person(&self) -> Person {
        Person {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
        }
    }
}

/// What a new link is.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    pub project: &'a ProjectId,
    pub role: Role,
    pub label: &'a str,
    pub expires_at: Option<i64>,
    pub review_version: Option<&'a VersionId>,
    /// A personal invite: the person is created with the link, under this name.
    pub person_name: Option<&'a str>,
}

/// A row of `links` as the database holds it, before [`decode_link`] reads it.
#[derive(Debug, sqlx::FromRow)]
struct RawLink {
    id: String,
    project_id: String,
    role: String,
    label: String,
    person_id: Option<String>,
    review_version: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// A row of the links listing: the link and the invited person's name.
#[derive(Debug, sqlx::FromRow)]
struct RawListedLink {
    #[sqlx(flatten)]
    link: RawLink,
    person_name: Option<String>,
}

type RawPerson = (String, String, String, String, String, i64);

fn corrupt(what: &'static str, id: &str, reason: impl Into<String>) -> Error {
    Error::CorruptRow {
        what,
        id: id.to_owned(),
        reason: reason.into(),
    }
}

fn decode_link(raw: RawLink) -> Result<LinkRow> {
    let project_id = ProjectId::parse(&raw.project_id).ok_or_else(|| {
        corrupt(
            "link",
            &raw.id,
            format!("invalid project id {:?}", raw.project_id),
        )
    })?;
    let role: Role = raw
        .role
        .parse()
        .map_err(|e| corrupt("link", &raw.id, format!("{e}")))?;
    Ok(LinkRow {
        id: LinkId::from(raw.id),
        project_id,
        role,
        label: raw.label,
        person_id: raw.person_id.map(PersonId::from),
        review_version: raw.review_version.map(VersionId::from),
        created_at: raw.created_at,
        expires_at: raw.expires_at,
        last_used_at: raw.last_used_at,
        revoked_at: raw.revoked_at,
    })
}

fn decode_person(raw: RawPerson) -> Result<PersonRow> {
    let (id, project, link, name, role, created_at) = raw;
    let project_id = ProjectId::parse(&project)
        .ok_or_else(|| corrupt("person", &id, format!("invalid project id {project:?}")))?;
    let role: Role = role
        .parse()
        .map_err(|e| corrupt("person", &id, format!("{e}")))?;
    Ok(PersonRow {
        id: PersonId::from(id),
        project_id,
        link_id: LinkId::from(link),
        name,
        role,
        created_at,
    })
}

/// Ids that sort by creation (UUID v7, monotonic within this process), so that "newest first"
/// holds between rows made in the same second.
fn sortable_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn new_link_row(new: &NewLink<'_>, person_id: Option<PersonId>, now: i64) -> LinkRow {
    LinkRow {
        id: LinkId::from(sortable_id()),
        project_id: new.project.clone(),
        role: new.role,
        label: new.label.to_owned(),
        person_id,
        review_version: new.review_version.cloned(),
        created_at: now,
        expires_at: new.expires_at,
        last_used_at: None,
        revoked_at: None,
    }
}

fn new_person_row(link: &LinkRow, id: PersonId, name: &str, now: i64) -> PersonRow {
    PersonRow {
        id,
        project_id: link.project_id.clone(),
        link_id: link.id.clone(),
        name: name.to_owned(),
        role: link.role,
        created_at: now,
    }
}

/// Inserts a link and, for a personal invite, its person, on one connection (the caller's
/// transaction).
macro_rules! insert_link_and_person {
    ($tx:expr, $link:expr, $person:expr) => {{
        let link: &LinkRow = $link;
        sqlx::query(
            "INSERT INTO links (id, project_id, role, label, person_id, review_version, \
             created_at, expires_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        )
        .bind(link.id.as_str())
        .bind(link.project_id.as_str())
        .bind(link.role.as_str())
        .bind(&link.label)
        .bind(link.person_id.as_ref().map(PersonId::as_str))
        .bind(link.review_version.as_ref().map(VersionId::as_str))
        .bind(link.created_at)
        .bind(link.expires_at)
        .execute(&mut *$tx)
        .await?;
        if let Some(person) = $person {
            let person: &PersonRow = person;
            sqlx::query(
                "INSERT INTO people (id, project_id, link_id, name, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(person.id.as_str())
            .bind(person.project_id.as_str())
            .bind(person.link_id.as_str())
            .bind(&person.name)
            .bind(person.role.as_str())
            .bind(person.created_at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Store {
    /// Creates a project with its owner: the owner's link (no expiry) and the owner as a
    /// person named `owner_name`, in one transaction, so that no project exists without an
    /// owner who can be named.
    pub async fn create_project_with_owner(
        &self,
        id: &ProjectId,
        title: &str,
        owner_name: &str,
    ) -> Result<(LinkRow, PersonRow)> {
        let now = unix_now();
        let person_id = PersonId::from(sortable_id());
        let link = new_link_row(
            &NewLink {
                project: id,
                role: Role::Owner,
                label: OWNER_LINK_LABEL,
                expires_at: None,
                review_version: None,
                person_name: Some(owner_name),
            },
            Some(person_id.clone()),
            now,
        );
        let person = new_person_row(&link, person_id, owner_name, now);
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO projects (id, title, created_at) VALUES ($1, $2, $3)")
                .bind(id.as_str())
                .bind(title)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_link_and_person!(tx, &link, Some(&person));
            tx.commit().await?;
        });
        Ok((link, person))
    }

    /// Creates a share link (and, for a personal invite, its person) in one transaction.
    pub async fn create_link(&self, new: &NewLink<'_>) -> Result<(LinkRow, Option<PersonRow>)> {
        let now = unix_now();
        let person_id = new.person_name.map(|_| PersonId::from(sortable_id()));
        let link = new_link_row(new, person_id.clone(), now);
        let person = person_id
            .zip(new.person_name)
            .map(|(id, name)| new_person_row(&link, id, name, now));
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            insert_link_and_person!(tx, &link, person.as_ref());
            tx.commit().await?;
        });
        Ok((link, person))
    }

    /// A new person who came through `link` (with its role).
    pub async fn create_person(&self, link: &LinkRow, name: &str) -> Result<PersonRow> {
        let person = new_person_row(link, PersonId::from(sortable_id()), name, unix_now());
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO people (id, project_id, link_id, name, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(person.id.as_str())
            .bind(person.project_id.as_str())
            .bind(person.link_id.as_str())
            .bind(&person.name)
            .bind(person.role.as_str())
            .bind(person.created_at)
            .execute(pool)
            .await?;
        });
        Ok(person)
    }

    pub async fn link(&self, id: &LinkId) -> Result<Option<LinkRow>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM links WHERE id = $1");
        let raw: Option<RawLink> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        raw.map(decode_link).transpose()
    }

    pub async fn person(&self, id: &PersonId) -> Result<Option<PersonRow>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = $1");
        let raw: Option<RawPerson> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        raw.map(decode_person).transpose()
    }

    /// Every person of the project, in the order they arrived.
    pub async fn people(&self, project: &ProjectId) -> Result<Vec<PersonRow>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE project_id = $1 ORDER BY created_at, id"
        );
        let raw: Vec<RawPerson> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(project.as_str())
                .fetch_all(pool)
                .await?
        });
        raw.into_iter().map(decode_person).collect()
    }

    /// Every link of the project, newest first, with the invited person's name.
    pub async fn links(&self, project: &ProjectId) -> Result<Vec<LinkInfo>> {
        let raw: Vec<RawListedLink> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT l.id, l.project_id, l.role, l.label, l.person_id, l.review_version, \
                 l.created_at, l.expires_at, l.last_used_at, l.revoked_at, p.name AS person_name \
                 FROM links l LEFT JOIN people p ON p.id = l.person_id \
                 WHERE l.project_id = $1 ORDER BY l.created_at DESC, l.id DESC",
            )
            .bind(project.as_str())
            .fetch_all(pool)
            .await?
        });
        raw.into_iter()
            .map(|RawListedLink { link, person_name }| {
                let link = decode_link(link)?;
                Ok(LinkInfo {
                    id: link.id,
                    role: link.role,
                    label: link.label,
                    person_name,
                    review_version: link.review_version,
                    created_at: link.created_at,
                    expires_at: link.expires_at,
                    last_used_at: link.last_used_at,
                    revoked_at: link.revoked_at,
                })
            })
            .collect()
    }

    /// Marks a link of `project` revoked (keeping the first revocation's time); false when the
    /// project has no such link.
    pub async fn revoke_link(&self, project: &ProjectId, link: &LinkId) -> Result<bool> {
        let now = unix_now();
        let affected = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE links SET revoked_at = COALESCE(revoked_at, $3) \
                 WHERE project_id = $1 AND id = $2",
            )
            .bind(project.as_str())
            .bind(link.as_str())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(affected > 0)
    }

    /// Records that `link` was used at `now`, unless a use since `not_before` is recorded
    /// already (another request or server instance got there first).
    pub async fn touch_link(&self, link: &LinkId, now: i64, not_before: i64) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE links SET last_used_at = $2 \
                 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(link.as_str())
            .bind(now)
            .bind(not_before)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
