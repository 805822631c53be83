//! Review threads, comments, verdicts and activity through the real server, over HTTP and the
//! WebSocket, against SQLite and Postgres. The reviewers are raw clients: JSON bodies written by
//! hand (forged fields included) and y-websocket frames sent straight to the rooms.

use std::time::Duration;

use anyhow::{Context, ensure};
use api_types::review::MAX_TEXT_CHARS;
use api_types::{Activity, Comment, Person, Thread, ThreadStatus, Verdict, VersionInfo};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared_model::{NewScene, NewShot, Project, ProjectOptions, ReviewDoc, ShotId, ShotPatch};
use sync_server::config::Secret;
use sync_server::test_support::{
    TestServer, WsClient, drop_postgres_schema, fresh_postgres_schema,
};

const WAIT: Duration = Duration::from_secs(10);

/// A token and the person it names.
struct Member {
    token: String,
    person: Person,
}

struct Studio {
    server: TestServer,
    http: reqwest::Client,
    project: String,
    owner: Member,
}

impl Studio {
    async fn start(database_url: Option<String>) -> anyhow::Result<Self> {
        let server = TestServer::start_with(|c| c.database_url = database_url.map(Secret)).await;
        let http = reqwest::Client::new();
        let created: Value = http
            .post(server.http("/api/projects"))
            .json(&json!({"title": "Three Kingdoms", "owner_name": "Olga"}))
            .send()
            .await?
            .json()
            .await?;
        let project = created["project_id"]
            .as_str()
            .context("project id")?
            .to_owned();
        let token = created["token"].as_str().context("token")?.to_owned();
        let me: Value = http
            .get(server.http(&format!("/api/projects/{project}/me")))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let person: Person = serde_json::from_value(me["person"].clone())
            .with_context(|| format!("the owner is a person: {me}"))?;
        Ok(Self {
            server,
            http,
            project,
            owner: Member { token, person },
        })
    }

    /// A personal invite: a token that names `name` with `role`.
    async fn invite(&self, name: &str, role: &str) -> anyhow::Result<Member> {
        let created: Value = self
            .http
            .post(self.url("/tokens"))
            .bearer_auth(&self.owner.token)
            .json(&json!({"role": role, "name": name, "expires_in_secs": 3600}))
            .send()
            .await?
            .json()
            .await?;
        Ok(Member {
            token: created["token"].as_str().context("token")?.to_owned(),
            person: serde_json::from_value(created["person"].clone())
                .with_context(|| format!("an invite names its person: {created}"))?,
        })
    }

    fn url(&self, rest: &str) -> String {
        self.server
            .http(&format!("/api/projects/{}{rest}", self.project))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        rest: &str,
        who: &Member,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self
            .http
            .request(method, self.url(rest))
            .bearer_auth(&who.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).with_context(|| format!("{status}: {text}"))?
        };
        Ok((status, value))
    }

    async fn post(
        &self,
        rest: &str,
        who: &Member,
        body: Value,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.send(reqwest::Method::POST, rest, who, Some(body))
            .await
    }

    async fn threads(&self, who: &Member) -> anyhow::Result<Vec<Thread>> {
        let (status, body) = self
            .send(reqwest::Method::GET, "/threads", who, None)
            .await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        Ok(serde_json::from_value(body)?)
    }

    fn ws(&self, doc_suffix: &str, who: &Member) -> String {
        self.server
            .ws_url(&format!("{}{doc_suffix}", self.project), &who.token)
    }

    /// A synced client of the project document, with a typed replica.
    async fn project_client(&self, who: &Member) -> anyhow::Result<(WsClient, Project)> {
        let project = Project::empty(ProjectOptions::default());
        let mut client =
            WsClient::connect_with_doc(&self.ws("", who), project.doc().clone()).await?;
        client.wait_synced().await?;
        Ok((client, project))
    }

    /// A synced client of the review document, with a typed replica.
    async fn review_client(&self, who: &Member) -> anyhow::Result<(WsClient, ReviewDoc)> {
        let review = ReviewDoc::empty();
        let mut client =
            WsClient::connect_with_doc(&self.ws(".review", who), review.doc().clone()).await?;
        client.wait_synced().await?;
        Ok((client, review))
    }
}

/// Sends a change made on `project` and waits until the server echoed it (committed).
async fn edit(client: &mut WsClient, change: impl FnOnce()) -> anyhow::Result<()> {
    let before = client.updates_received;
    client.send_changes(change).await?;
    client
        .pump_until(WAIT, |c| c.updates_received > before)
        .await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn review_end_to_end(database_url: Option<String>) -> anyhow::Result<()> {
    let studio = Studio::start(database_url).await?;
    let lin = studio.invite("Lin", "commenter").await?;
    let ada = studio.invite("Ada", "commenter").await?;
    let vic = studio.invite("Vic", "viewer").await?;
    let ed = studio.invite("Ed", "editor").await?;

    // The owner's board: one scene, two shots, a script.
    let (mut board, project) = studio.project_client(&studio.owner).await?;
    let mut scene = None;
    let mut shots: Vec<ShotId> = Vec::new();
    edit(&mut board, || {
        project.script_insert(0, "The quick brown fox jumps.");
        let s = project.add_scene(&NewScene::default());
        for description in ["A dark stable", "A bright field"] {
            let shot = project
                .add_shot(&s, &NewShot::default())
                .unwrap_or_else(|e| panic!("{e}"));
            project
                .update_shot(
                    &shot,
                    &ShotPatch {
                        description: Some(description.into()),
                        ..ShotPatch::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
            shots.push(shot);
        }
        scene = Some(s);
    })
    .await?;
    let (dark, bright) = (shots[0].clone(), shots[1].clone());

    // Someone else has the review document open.
    let (mut watcher, watched) = studio.review_client(&studio.owner).await?;

    // (a) A forged author and time in the body are ignored: the server signs with the token.
    let before = now_ms();
    let (status, body) = studio
        .post(
            "/threads",
            &lin,
            json!({
                "anchor": {"kind": "shot", "shot_id": dark},
                "text": "Too dark, @Ada what do you think?",
                "client_key": "k-1",
                "author": {"id": studio.owner.person.id, "name": "Olga"},
                "created_at_ms": 1,
                "comments": [{"author": {"name": "Olga"}, "text": "forged"}],
            }),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let thread: Thread = serde_json::from_value(body)?;
    let after = now_ms();
    assert_eq!(thread.author.id.as_ref(), Some(&lin.person.id));
    assert_eq!(thread.author.name, "Lin");
    assert!((before..=after).contains(&thread.created_at_ms));
    assert_eq!(thread.quote, "A dark stable");
    assert_eq!(thread.comments.len(), 1);
    let first = &thread.comments[0];
    assert_eq!(
        (first.author.name.as_str(), first.text.as_str()),
        ("Lin", "Too dark, @Ada what do you think?")
    );
    assert_eq!(first.mentions, vec![ada.person.id.clone()]);

    // The same post again (a retry after a lost answer) is stored once.
    let (status, body) = studio
        .post(
            "/threads",
            &lin,
            json!({"anchor": {"kind": "shot", "shot_id": dark}, "text": "Too dark, @Ada what do you think?", "client_key": "k-1"}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_value::<Thread>(body)?.id, thread.id);

    // The thread reached the other client's replica live.
    watcher
        .pump_until(WAIT, |_| watched.thread(&thread.id).is_some())
        .await?;
    assert_eq!(watched.threads().len(), 1);

    // A reply, with its own key.
    let (status, body) = studio
        .post(
            &format!("/threads/{}/comments", thread.id),
            &ada,
            json!({"text": "Agreed", "client_key": "k-2", "author": {"name": "Lin"}}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let reply: Comment = serde_json::from_value(body)?;
    assert_eq!(reply.author.name, "Ada");
    let (status, again) = studio
        .post(
            &format!("/threads/{}/comments", thread.id),
            &ada,
            json!({"text": "Agreed", "client_key": "k-2"}),
        )
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_value::<Comment>(again)?.id, reply.id);
    watcher
        .pump_until(WAIT, |_| {
            watched
                .thread(&thread.id)
                .is_some_and(|t| t.comments.len() == 2)
        })
        .await?;

    // (b) Nobody edits or deletes another person's comment.
    let comment_url = format!("/threads/{}/comments/{}", thread.id, first.id);
    let (status, body) = studio
        .send(
            reqwest::Method::PATCH,
            &comment_url,
            &ada,
            Some(json!({"text": "hijacked"})),
        )
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = studio
        .send(reqwest::Method::DELETE, &comment_url, &ada, None)
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = studio
        .send(reqwest::Method::DELETE, &comment_url, &studio.owner, None)
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "not even the owner");
    let now = studio.threads(&vic).await?;
    assert_eq!(now[0].comments[0].text, first.text);
    assert!(!now[0].comments[0].deleted);
    // Its author can.
    let (status, body) = studio
        .send(
            reqwest::Method::PATCH,
            &comment_url,
            &lin,
            Some(json!({"text": "Too dark."})),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let edited: Comment = serde_json::from_value(body)?;
    assert_eq!(edited.text, "Too dark.");
    assert!(edited.edited_at_ms.is_some());

    // (c) A viewer cannot resolve, nor can another commenter; the author and the owner can.
    let resolve = format!("/threads/{}/resolve", thread.id);
    let reopen = format!("/threads/{}/reopen", thread.id);
    let (status, _) = studio.post(&resolve, &vic, json!({})).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = studio.post(&resolve, &ada, json!({})).await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(studio.threads(&vic).await?[0].status, ThreadStatus::Open);
    let (status, body) = studio.post(&resolve, &lin, json!({})).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resolved: Thread = serde_json::from_value(body)?;
    assert_eq!(resolved.status, ThreadStatus::Resolved);
    assert_eq!(resolved.resolved_by.map(|a| a.name).as_deref(), Some("Lin"));
    let (status, body) = studio.post(&reopen, &studio.owner, json!({})).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_value::<Thread>(body)?.status,
        ThreadStatus::Open
    );
    // A viewer writes nothing at all.
    let (status, _) = studio
        .post(
            "/threads",
            &vic,
            json!({"anchor": {"kind": "project"}, "text": "hi"}),
        )
        .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // (d) Over the WebSocket, a commenter writes neither document, and nothing it sends
    // reaches anyone else.
    let (mut raw_board, raw_project) = studio.project_client(&lin).await?;
    let (mut raw_review, raw_reviewdoc) = studio.review_client(&lin).await?;
    // Everything so far has reached the other clients first.
    watcher
        .pump_until(WAIT, |_| {
            watched.thread(&thread.id).is_some_and(|t| {
                t.status == ThreadStatus::Open
                    && t.resolved_by.is_none()
                    && t.comments[0].text == "Too dark."
            })
        })
        .await?;
    watcher.pump_for(Duration::from_millis(200)).await?;
    board.pump_for(Duration::from_millis(200)).await?;
    let (board_seen, watcher_seen) = (board.updates_received, watcher.updates_received);
    raw_board
        .send_changes(|| {
            raw_project.script_insert(0, "FORGED ");
        })
        .await?;
    raw_review
        .send_changes(|| {
            let forged = Thread {
                author: api_types::Author {
                    id: Some(studio.owner.person.id.clone()),
                    name: "Olga".into(),
                },
                ..thread.clone()
            };
            let forged = Thread {
                id: api_types::ThreadId::new(),
                ..forged
            };
            raw_reviewdoc
                .add_thread(&forged, None)
                .unwrap_or_else(|e| panic!("{e}"));
        })
        .await?;
    raw_board.pump_until(WAIT, |c| !c.denied.is_empty()).await?;
    raw_review
        .pump_until(WAIT, |c| !c.denied.is_empty())
        .await?;
    board.pump_for(Duration::from_millis(500)).await?;
    watcher.pump_for(Duration::from_millis(300)).await?;
    assert_eq!(board.updates_received, board_seen);
    assert_eq!(watcher.updates_received, watcher_seen);
    assert_eq!(project.script_text(), "The quick brown fox jumps.");
    assert_eq!(studio.threads(&vic).await?.len(), 1);

    // A thread on a script range keeps its words while someone types before and inside it.
    let start = "The quick ".encode_utf16().count() as u32;
    let end = start + "brown fox".encode_utf16().count() as u32;
    let (status, body) = studio
        .post(
            "/threads",
            &lin,
            json!({"anchor": {"kind": "script", "start": start, "end": end}, "text": "Which fox?"}),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let on_words: Thread = serde_json::from_value(body)?;
    assert_eq!(on_words.quote, "brown fox");
    edit(&mut board, || {
        project.script_insert(0, "Very early, ");
        let inside = project.script_text().find("fox").map_or(0, |i| {
            project.script_text()[..i].encode_utf16().count() as u32
        });
        project.script_insert(inside, "red ");
    })
    .await?;
    assert_eq!(
        project.script_text(),
        "Very early, The quick brown red fox jumps."
    );
    assert_eq!(
        project.anchor_text(&on_words.anchor).as_deref(),
        Some("brown red fox")
    );

    // A thread whose shot is deleted is kept, and reported orphaned with its quote.
    edit(&mut board, || {
        project.delete_shot(&dark).unwrap_or_else(|e| panic!("{e}"))
    })
    .await?;
    let listed = studio.threads(&vic).await?;
    let on_shot = listed.iter().find(|t| t.id == thread.id).context("kept")?;
    assert!(on_shot.orphaned);
    assert_eq!(on_shot.quote, "A dark stable");
    let on_text = listed
        .iter()
        .find(|t| t.id == on_words.id)
        .context("kept")?;
    assert!(!on_text.orphaned);

    // Bad input: a clear 4xx, and nothing changes.
    let count = studio.threads(&vic).await?.len();
    let too_long = "x".repeat(MAX_TEXT_CHARS + 1);
    for (body, what) in [
        (
            json!({"anchor": {"kind": "project"}, "text": too_long}),
            "too long",
        ),
        (
            json!({"anchor": {"kind": "project"}, "text": "  "}),
            "empty",
        ),
        (
            json!({"anchor": {"kind": "shot", "shot_id": "no-such-shot"}, "text": "hi"}),
            "missing shot",
        ),
        (
            json!({"anchor": {"kind": "shot", "shot_id": dark}, "text": "hi"}),
            "deleted shot",
        ),
        (
            json!({"anchor": {"kind": "script", "start": 0, "end": 9999}}),
            "no text field",
        ),
        (
            json!({"anchor": {"kind": "script", "start": 0, "end": 9999}, "text": "hi"}),
            "past the end",
        ),
        (
            json!({"anchor": {"kind": "script", "start": 5, "end": 5}, "text": "hi"}),
            "empty range",
        ),
        (
            json!({"anchor": {"kind": "script", "anchor": "bm90IGFuIGFuY2hvcg=="}, "text": "hi"}),
            "bad anchor",
        ),
    ] {
        let (status, answer) = studio.post("/threads", &lin, body).await?;
        assert!(status.is_client_error(), "{what}: {status} {answer}");
        assert!(
            answer["code"].is_string() && answer["error"].is_string(),
            "{what}: {answer}"
        );
    }
    let (status, answer) = studio
        .post(
            &format!("/threads/{}/comments", thread.id),
            &lin,
            json!({"text": "y".repeat(MAX_TEXT_CHARS + 1)}),
        )
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, _) = studio
        .post(
            "/threads/no-such-thread/comments",
            &lin,
            json!({"text": "hi"}),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = studio
        .send(
            reqwest::Method::PUT,
            "/versions/no-such-version/verdict",
            &lin,
            Some(json!({"verdict": "approve"})),
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let after_bad = studio.threads(&vic).await?;
    assert_eq!(after_bad.len(), count);
    assert_eq!(after_bad.iter().map(|t| t.comments.len()).sum::<usize>(), 3);

    // Activity: the owner's and an editor's edits, each under their own name.
    let (mut ed_board, ed_project) = studio.project_client(&ed).await?;
    edit(&mut ed_board, || {
        ed_project
            .update_shot(
                &bright,
                &ShotPatch {
                    framing: Some("wide".into()),
                    ..ShotPatch::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    })
    .await?;
    let scene = scene.context("scene")?;
    let deadline = tokio::time::Instant::now() + WAIT;
    let activity = loop {
        let (status, body) = studio
            .send(reqwest::Method::GET, "/activity", &vic, None)
            .await?;
        ensure!(status == StatusCode::OK, "{status}: {body}");
        let activity: Activity = serde_json::from_value(body)?;
        let names: Vec<&str> = activity
            .groups
            .iter()
            .map(|g| g.author.name.as_str())
            .collect();
        if names.contains(&"Ed") && names.contains(&"Olga") {
            break activity;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "activity so far: {activity:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ed_group = activity
        .groups
        .iter()
        .find(|g| g.author.name == "Ed")
        .context("Ed")?;
    assert_eq!(ed_group.author.id.as_ref(), Some(&ed.person.id));
    assert_eq!(ed_group.shots, vec![bright.clone()]);
    assert_eq!(
        ed_group.scenes.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&scene]
    );
    assert_eq!(ed_group.script_edits, 0);
    assert_eq!(activity.groups[0].author.name, "Ed", "newest first");
    let olga = activity
        .groups
        .iter()
        .find(|g| g.author.name == "Olga")
        .context("Olga")?;
    assert!(olga.shots.contains(&dark) && olga.shots.contains(&bright));
    assert!(olga.script_edits >= 2);
    let last = activity
        .shots
        .iter()
        .find(|s| s.shot_id == bright)
        .context("shot author")?;
    assert_eq!(last.author.name, "Ed");
    // Nothing the commenter tried over the WebSocket counts as anyone's edit.
    assert!(activity.groups.iter().all(|g| g.author.name != "Lin"));

    for client in [board, watcher, raw_board, raw_review, ed_board] {
        client.close().await;
    }
    studio.server.stop().await;
    Ok(())
}

/// Verdicts on a named version (needs the versions routes, issue 13 item 1).
async fn verdicts_go_stale(database_url: Option<String>) -> anyhow::Result<()> {
    let studio = Studio::start(database_url).await?;
    let ada = studio.invite("Ada", "commenter").await?;
    let vic = studio.invite("Vic", "viewer").await?;
    let (mut board, project) = studio.project_client(&studio.owner).await?;
    let mut shots: Vec<ShotId> = Vec::new();
    edit(&mut board, || {
        let s = project.add_scene(&NewScene::default());
        for _ in 0..2 {
            shots.push(
                project
                    .add_shot(&s, &NewShot::default())
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
    })
    .await?;
    let bright = shots[1].clone();

    // A verdict on v1 is stale for a shot changed after v1.
    let (status, body) = studio
        .post("/versions", &studio.owner, json!({"name": "v1"}))
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v1: VersionInfo = serde_json::from_value(body)?;
    let (status, body) = studio
        .send(
            reqwest::Method::PUT,
            &format!("/versions/{}/verdict", v1.id),
            &ada,
            Some(json!({"verdict": "approve", "summary": "ship it"})),
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let given: Verdict = serde_json::from_value(body)?;
    assert_eq!(
        (given.author.name.as_str(), given.stale_shots.len()),
        ("Ada", 0)
    );
    edit(&mut board, || {
        project
            .update_shot(
                &bright,
                &ShotPatch {
                    camera: Some("low angle".into()),
                    ..ShotPatch::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
    })
    .await?;
    let (status, body) = studio
        .send(
            reqwest::Method::GET,
            &format!("/versions/{}/verdicts", v1.id),
            &vic,
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let verdicts: Vec<Verdict> = serde_json::from_value(body)?;
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].stale_shots, vec![bright.clone()]);
    // A second verdict by the same person replaces the first.
    let (status, _) = studio
        .send(
            reqwest::Method::PUT,
            &format!("/versions/{}/verdict", v1.id),
            &ada,
            Some(json!({"verdict": "request_changes"})),
        )
        .await?;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = studio
        .send(
            reqwest::Method::GET,
            &format!("/versions/{}/verdicts", v1.id),
            &vic,
            None,
        )
        .await?;
    let verdicts: Vec<Verdict> = serde_json::from_value(body)?;
    assert_eq!(verdicts.len(), 1);
    assert_eq!(verdicts[0].verdict, api_types::VerdictKind::RequestChanges);

    board.close().await;
    studio.server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_on_sqlite() -> anyhow::Result<()> {
    review_end_to_end(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_on_postgres() -> anyhow::Result<()> {
    let url = fresh_postgres_schema().await?;
    let result = review_end_to_end(Some(url.clone())).await;
    drop_postgres_schema(&url).await?;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_on_sqlite() -> anyhow::Result<()> {
    verdicts_go_stale(None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_on_postgres() -> anyhow::Result<()> {
    let url = fresh_postgres_schema().await?;
    let result = verdicts_go_stale(Some(url.clone())).await;
    drop_postgres_schema(&url).await?;
    result
}
