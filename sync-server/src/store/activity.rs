//! Activity with attribution: runs of one person's edits to a project document, and who last
//! changed each shot (`migrations/*/0006_activity.sql`).
//!
//! The room that applied the edits accumulates them in memory and hands them here every few
//! seconds ([`Store::record_activity`]); one call is one transaction, which extends each
//! person's latest group when it ended within the grouping gap and starts a new one otherwise.
//! One room per document writes a project's activity, so the read-then-write needs no lock.

use std::collections::{BTreeMap, BTreeSet};

use api_types::{
    ActivityGroup, Author, CharacterId, PersonId, SceneId, SceneRef, ShotAuthor, ShotId,
};

use super::Store;
use crate::{Error, Result};

/// One person's edits since the room's last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityBatch {
    pub author: Author,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Shots changed, with the time of the last change of each.
    pub shots: BTreeMap<ShotId, i64>,
    pub scenes: BTreeSet<SceneId>,
    pub characters: BTreeSet<CharacterId>,
    pub script_edits: u32,
}

impl ActivityBatch {
    pub fn new(author: Author, at_ms: i64) -> Self {
        Self {
            author,
            from_ms: at_ms,
            to_ms: at_ms,
            shots: BTreeMap::new(),
            scenes: BTreeSet::new(),
            characters: BTreeSet::new(),
            script_edits: 0,
        }
    }
}

/// A stored group; scene titles are the caller's to add (they live in the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub author: Author,
    pub from_ms: i64,
    pub to_ms: i64,
    pub shots: Vec<ShotId>,
    pub scenes: Vec<SceneId>,
    pub characters: u32,
    pub script_edits: u32,
}

impl ActivityRow {
    /// The wire group, with each scene's title looked up by `title`.
    pub fn into_group(self, title: impl Fn(&SceneId) -> String) -> ActivityGroup {
        ActivityGroup {
            scenes: self
                .scenes
                .into_iter()
                .map(|id| SceneRef {
                    title: title(&id),
                    id,
                })
                .collect(),
            author: self.author,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            shots: self.shots,
            characters: self.characters,
            script_edits: self.script_edits,
        }
    }
}

/// The key a person's groups are found by: their id, or the name of an author without one.
fn person_key(author: &Author) -> String {
    match &author.id {
        Some(id) => format!("p:{id}"),
        None => format!("n:{}", author.name),
    }
}

type GroupRow = (
    String,
    Option<String>,
    String,
    i64,
    i64,
    String,
    String,
    String,
    i64,
);

const GROUP_COLUMNS: &str =
    "id, person_id, name, from_ms, to_ms, shots, scenes, characters, script_edits";

fn ids<T: From<String>>(json: &str, what: &str) -> Result<Vec<T>> {
    let raw: Vec<String> = serde_json::from_str(json).map_err(|e| Error::CorruptDocument {
        doc: format!("activity {what}"),
        reason: e.to_string(),
    })?;
    Ok(raw.into_iter().map(T::from).collect())
}

fn json<'a, T: AsRef<str> + 'a>(items: impl IntoIterator<Item = &'a T>) -> String {
    let v: Vec<&str> = items.into_iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

fn decode(row: GroupRow) -> Result<ActivityRow> {
    let (_, person_id, name, from_ms, to_ms, shots, scenes, characters, script_edits) = row;
    Ok(ActivityRow {
        author: Author {
            id: person_id.map(PersonId::from),
            name,
        },
        from_ms,
        to_ms,
        shots: ids(&shots, "shots")?,
        scenes: ids(&scenes, "scenes")?,
        characters: ids::<CharacterId>(&characters, "characters")?.len() as u32,
        script_edits: u32::try_from(script_edits).unwrap_or(u32::MAX),
    })
}

impl Store {
    /// Stores the edits of a flush: each batch extends its person's latest group when that
    /// group ended at most `gap_ms` before the batch began, else starts a new group; the
    /// batch's shots get their author. All in one transaction.
    pub async fn record_activity(
        &self,
        project: &str,
        batches: &[ActivityBatch],
        gap_ms: i64,
    ) -> Result<()> {
        if batches.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for batch in batches {
                let key = person_key(&batch.author);
                let latest: Option<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {GROUP_COLUMNS} FROM activity WHERE project_id = $1 AND person_key = $2 \
                     ORDER BY to_ms DESC LIMIT 1"
                )))
                .bind(project)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
                let extend = latest.filter(|row| batch.from_ms - row.4 <= gap_ms);
                match extend {
                    Some(row) => {
                        let mut shots: BTreeSet<String> = ids::<String>(&row.5, "shots")?.into_iter().collect();
                        shots.extend(batch.shots.keys().map(|s| s.as_str().to_owned()));
                        let mut scenes: BTreeSet<String> = ids::<String>(&row.6, "scenes")?.into_iter().collect();
                        scenes.extend(batch.scenes.iter().map(|s| s.as_str().to_owned()));
                        let mut characters: BTreeSet<String> = ids::<String>(&row.7, "characters")?.into_iter().collect();
                        characters.extend(batch.characters.iter().map(|s| s.as_str().to_owned()));
                        sqlx::query(
                            "UPDATE activity SET name = $1, from_ms = $2, to_ms = $3, shots = $4, \
                             scenes = $5, characters = $6, script_edits = $7 WHERE id = $8",
                        )
                        .bind(&batch.author.name)
                        .bind(row.3.min(batch.from_ms))
                        .bind(row.4.max(batch.to_ms))
                        .bind(json(&shots))
                        .bind(json(&scenes))
                        .bind(json(&characters))
                        .bind(row.8 + i64::from(batch.script_edits))
                        .bind(&row.0)
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO activity (id, project_id, person_key, person_id, name, \
                             from_ms, to_ms, shots, scenes, characters, script_edits) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        )
                        .bind(uuid::Uuid::new_v4().simple().to_string())
                        .bind(project)
                        .bind(&key)
                        .bind(batch.author.id.as_ref().map(|p| p.as_str()))
                        .bind(&batch.author.name)
                        .bind(batch.from_ms)
                        .bind(batch.to_ms)
                        .bind(json(batch.shots.keys()))
                        .bind(json(&batch.scenes))
                        .bind(json(&batch.characters))
                        .bind(i64::from(batch.script_edits))
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                for (shot, at_ms) in &batch.shots {
                    sqlx::query(
                        "INSERT INTO shot_authors (project_id, shot_id, person_id, name, at_ms) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, shot_id) DO UPDATE \
                         SET person_id = excluded.person_id, name = excluded.name, at_ms = excluded.at_ms \
                         WHERE shot_authors.at_ms <= excluded.at_ms",
                    )
                    .bind(project)
                    .bind(shot.as_str())
                    .bind(batch.author.id.as_ref().map(|p| p.as_str()))
                    .bind(&batch.author.name)
                    .bind(*at_ms)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The project's activity groups, newest first, at most `limit`.
    pub async fn activity(&self, project: &str, limit: i64) -> Result<Vec<ActivityRow>> {
        let rows: Vec<GroupRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {GROUP_COLUMNS} FROM activity WHERE project_id = $1 \
                 ORDER BY to_ms DESC, id LIMIT $2"
            )))
            .bind(project)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(decode).collect()
    }

    /// Who last changed each shot of the project.
    pub async fn shot_authors(&self, project: &str) -> Result<Vec<ShotAuthor>> {
        let rows: Vec<(String, Option<String>, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT shot_id, person_id, name, at_ms FROM shot_authors WHERE project_id = $1 \
                 ORDER BY at_ms DESC, shot_id",
            )
            .bind(project)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(shot, person, name, at_ms)| ShotAuthor {
                shot_id: ShotId::from(shot),
                author: Author {
                    id: person.map(PersonId::from),
                    name,
                },
                at_ms,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: Option<&str>, name: &str, from: i64, to: i64, shots: &[&str]) -> ActivityBatch {
        let mut b = ActivityBatch::new(
            Author {
                id: id.map(PersonId::from),
                name: name.into(),
            },
            from,
        );
        b.to_ms = to;
        b.shots = shots.iter().map(|s| (ShotId::from(*s), to)).collect();
        b
    }

    async fn check(store: Store) {
        store.migrate().await.expect("migrations");
        let gap = 10_000;
        let mut lin = batch(Some("lin"), "Lin", 1_000, 2_000, &["s1", "s2"]);
        lin.scenes.insert(SceneId::from("c1"));
        lin.characters.insert(CharacterId::from("k1"));
        lin.script_edits = 3;
        let ada = batch(Some("ada"), "Ada", 1_500, 1_600, &["s2"]);
        store
            .record_activity("p", &[lin.clone(), ada], gap)
            .await
            .expect("record");
        // Lin again within the gap: the same group grows. The server, without an id, is its
        // own author.
        let mut more = batch(Some("lin"), "Lin", 5_000, 6_000, &["s3", "s1"]);
        more.characters.insert(CharacterId::from("k1"));
        more.script_edits = 1;
        let server = batch(None, "Shotweave", 5_500, 5_500, &["s3"]);
        store
            .record_activity("p", &[more, server], gap)
            .await
            .expect("record");
        // Lin after a long pause: a new group.
        let later = batch(Some("lin"), "Lin", 30_000, 31_000, &["s4"]);
        store
            .record_activity("p", &[later], gap)
            .await
            .expect("record");
        // Another project's activity stays its own.
        store
            .record_activity("q", &[batch(Some("lin"), "Lin", 1, 2, &["x"])], gap)
            .await
            .expect("record");

        let groups = store.activity("p", 50).await.expect("activity");
        // Name, from, to, shots, characters, script edits.
        type Summary<'a> = (&'a str, i64, i64, Vec<&'a str>, u32, u32);
        let summary: Vec<Summary> = groups
            .iter()
            .map(|g| {
                (
                    g.author.name.as_str(),
                    g.from_ms,
                    g.to_ms,
                    g.shots.iter().map(ShotId::as_str).collect(),
                    g.characters,
                    g.script_edits,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("Lin", 30_000, 31_000, vec!["s4"], 0, 0),
                ("Lin", 1_000, 6_000, vec!["s1", "s2", "s3"], 1, 4),
                ("Shotweave", 5_500, 5_500, vec!["s3"], 0, 0),
                ("Ada", 1_500, 1_600, vec!["s2"], 0, 0),
            ]
        );
        assert_eq!(groups[1].scenes, vec![SceneId::from("c1")]);
        assert_eq!(groups[2].author.id, None);

        let authors = store.shot_authors("p").await.expect("shot authors");
        let by_shot: BTreeMap<&str, (&str, i64)> = authors
            .iter()
            .map(|a| (a.shot_id.as_str(), (a.author.name.as_str(), a.at_ms)))
            .collect();
        assert_eq!(by_shot["s4"], ("Lin", 31_000));
        assert_eq!(by_shot["s3"], ("Lin", 6_000));
        assert_eq!(by_shot["s2"], ("Lin", 2_000));
        assert_eq!(by_shot.len(), 4);
    }

    #[tokio::test]
    async fn activity_groups_extend_within_the_gap_on_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::sqlite_file(&dir.path().join("t.sqlite"))
            .await
            .expect("sqlite");
        check(store).await;
    }

    #[tokio::test]
    async fn activity_groups_extend_within_the_gap_on_postgres() {
        let url = crate::test_support::fresh_postgres_schema()
            .await
            .expect("test postgres");
        let store = Store::connect(&url).await.expect("postgres");
        check(store.clone()).await;
        store.close().await;
        crate::test_support::drop_postgres_schema(&url)
            .await
            .expect("drop schema");
    }
}
