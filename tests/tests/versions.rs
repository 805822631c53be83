//! Named versions end to end, on SQLite and on Postgres: naming the live state, the diff
//! between a version and now (field by field), restoring with a second client connected and a
//! third offline, undoing a restore, large states through the object store, and bad input
//! that changes nothing.

use std::time::Duration;

use anyhow::Context;
use api_types::{
    ApiErrorBody, ChangeKind, ErrorCode, Restored, ShotId, VersionDiff, VersionInfo, VersionKind,
};
use serde_json::{Value, json};
use shared_model::{
    CharacterId, MetaPatch, NewCharacter, NewScene, NewShot, Project, ProjectOptions,
    ProjectSnapshot, SceneId, ShotPatch,
};
use sync_server::auth::{ProjectId, Role};
use sync_server::test_support::{
    TestServer, WsClient, drop_postgres_schema, fresh_postgres_schema,
};

const WAIT: Duration = Duration::from_secs(10);

async fn start(database_url: Option<String>) -> TestServer {
    TestServer::start_with(|c| {
        c.database_url = database_url.map(sync_server::config::Secret);
    })
    .await
}

/// Runs `scenario` on SQLite, or on a fresh Postgres schema dropped afterwards.
macro_rules! on_both {
    ($sqlite:ident, $postgres:ident, $scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() -> anyhow::Result<()> {
            $scenario(start(None).await).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() -> anyhow::Result<()> {
            let url = fresh_postgres_schema().await?;
            let result = $scenario(start(Some(url.clone())).await).await;
            drop_postgres_schema(&url).await?;
            result
        }
    };
}

/// The REST API of one project, as one token.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: &TestServer, project: &ProjectId, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: server.http(&format!("/api/projects/{project}")),
            token: token.to_owned(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        Ok((response.status().as_u16(), response.bytes().await?.to_vec()))
    }

    /// A call expected to succeed with `status`, its JSON answer read as `T`.
    async fn ok<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> anyhow::Result<T> {
        let (got, bytes) = self.send(method, path, body).await?;
        anyhow::ensure!(
            got == status,
            "{path}: {got} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).with_context(|| format!("{path}: answer"))
    }

    /// A call expected to fail: its status and error code.
    async fn refused(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, ErrorCode)> {
        let (status, bytes) = self.send(method, path, body).await?;
        let error: ApiErrorBody = serde_json::from_slice(&bytes)
            .with_context(|| format!("{path}: {status} {}", String::from_utf8_lossy(&bytes)))?;
        Ok((status, error.code))
    }

    async fn name(&self, name: &str) -> anyhow::Result<VersionInfo> {
        self.ok(
            reqwest::Method::POST,
            "/versions",
            Some(json!({"name": name})),
            201,
        )
        .await
    }

    async fn list(&self) -> anyhow::Result<Vec<VersionInfo>> {
        self.ok(reqwest::Method::GET, "/versions", None, 200).await
    }

    async fn diff(&self, query: &str) -> anyhow::Result<VersionDiff> {
        self.ok(reqwest::Method::GET, &format!("/diff?{query}"), None, 200)
            .await
    }

    async fn restore(&self, version: &VersionInfo) -> anyhow::Result<Restored> {
        self.ok(
            reqwest::Method::POST,
            &format!("/versions/{}/restore", version.id),
            None,
            200,
        )
        .await
    }

    /// A version's state, read back as a document snapshot.
    async fn version_snapshot(&self, version: &VersionInfo) -> anyhow::Result<ProjectSnapshot> {
        let (status, bytes) = self
            .send(
                reqwest::Method::GET,
                &format!("/versions/{}/state", version.id),
                None,
            )
            .await?;
        anyhow::ensure!(status == 200, "state: {status}");
        Ok(Project::load(&bytes, ProjectOptions::default())?.snapshot())
    }
}

/// The board the scenario starts from: a script, two characters, two scenes of four shots.
struct Board {
    scenes: Vec<SceneId>,
    shots: Vec<ShotId>,
    characters: Vec<CharacterId>,
}

/// Stores a project document built here as the project's first state (as an import does),
/// before any room has loaded it.
async fn seed(server: &TestServer, project: &ProjectId, script: &str) -> anyhow::Result<Board> {
    let doc = Project::create(
        &MetaPatch {
            title: Some("Pier".into()),
            ..Default::default()
        },
        ProjectOptions::default(),
    );
    doc.script_insert(0, script);
    let characters = vec![
        doc.add_character(&NewCharacter {
            name: "Mara".into(),
            ..Default::default()
        }),
        doc.add_character(&NewCharacter {
            name: "Ivo".into(),
            ..Default::default()
        }),
    ];
    let mut scenes = Vec::new();
    let mut shots = Vec::new();
    for (s, title) in ["The pier", "The car"].iter().enumerate() {
        let scene = doc.add_scene(&NewScene {
            title: (*title).into(),
            ..Default::default()
        });
        for i in 0..4 {
            shots.push(doc.add_shot(
                &scene,
                &NewShot {
                    description: format!("scene {} shot {}", s + 1, i + 1),
                    camera: "static".into(),
                    framing: "wide".into(),
                    duration_ms: 3_000,
                    character_ids: vec![characters[0].clone()],
                    ..Default::default()
                },
            )?);
        }
        scenes.push(scene);
    }
    server
        .state
        .store()
        .write_snapshot(project.as_str(), 0, &doc.encode_state())
        .await?;
    Ok(Board {
        scenes,
        shots,
        characters,
    })
}

/// Sends what `change` does to the client's replica and waits for the server's echo (sent
/// only once the update is committed).
async fn edit(client: &mut WsClient, change: impl FnOnce(&Project)) -> anyhow::Result<()> {
    let project = Project::from_doc(client.doc.clone());
    let before = client.updates_received;
    client.send_changes(|| change(&project)).await?;
    client
        .pump_until(WAIT, |c| c.updates_received > before)
        .await
}

fn snapshot(client: &WsClient) -> ProjectSnapshot {
    Project::from_doc(client.doc.clone()).snapshot()
}

/// The parts of a document a restore makes equal (not job summaries or asset records,
/// which describe work done and are never taken back), as JSON for readable failures.
fn content(s: &ProjectSnapshot) -> (String, String, Value, Value, Value) {
    let json = |v: serde_json::Result<Value>| v.unwrap_or_default();
    (
        s.meta.title.clone(),
        s.script.clone(),
        json(serde_json::to_value(&s.scenes)),
        json(serde_json::to_value(&s.shots)),
        json(serde_json::to_value(&s.characters)),
    )
}

async fn wait_content(client: &mut WsClient, expected: &ProjectSnapshot) -> anyhow::Result<()> {
    let want = content(expected);
    let result = client
        .pump_until(WAIT, |c| content(&snapshot(c)) == want)
        .await;
    if result.is_err() {
        let got = content(&snapshot(client));
        anyhow::ensure!(
            got == want,
            "replica differs:\n{got:#?}\nexpected:\n{want:#?}"
        );
    }
    Ok(())
}

fn field<'a>(diff: &'a VersionDiff, shot: &ShotId) -> Option<&'a api_types::ShotChange> {
    diff.shots.iter().find(|c| &c.shot_id == shot)
}

async fn versions_diff_and_restore(server: TestServer) -> anyhow::Result<()> {
    let (project, owner) = server.project().await;
    let board = seed(
        &server,
        &project,
        "EXT. PIER - NIGHT\nRain on the boards.\n",
    )
    .await?;
    let api = Api::new(&server, &project, &owner);
    let url = server.ws_url(project.as_str(), &owner);
    let mut alice = WsClient::connect_synced(&url).await?;

    let v1 = api.name("v1").await?;
    assert_eq!(
        (v1.name.as_str(), v1.kind, v1.shots),
        ("v1", VersionKind::Named, 8)
    );
    assert!(v1.state_bytes > 0 && v1.stored_bytes > 0, "{v1:?}");
    let v1_snapshot = api.version_snapshot(&v1).await?;
    assert_eq!(content(&v1_snapshot), content(&snapshot(&alice)));

    // Three shots change (different fields), the last of the first scene goes, one is added
    // at the end of the second.
    let (s0, s1, s2, s3) = (
        board.shots[0].clone(),
        board.shots[1].clone(),
        board.shots[5].clone(),
        board.shots[3].clone(),
    );
    let added = {
        let mut added = None;
        let (s0, s1, s2, s3, chars, scene) = (
            s0.clone(),
            s1.clone(),
            s2.clone(),
            s3.clone(),
            board.characters.clone(),
            board.scenes[1].clone(),
        );
        edit(&mut alice, |p| {
            p.update_shot(
                &s0,
                &ShotPatch {
                    description: Some("Mara runs along the pier".into()),
                    ..Default::default()
                },
            )
            .expect("shot 0");
            p.update_shot(
                &s1,
                &ShotPatch {
                    camera: Some("slow push in".into()),
                    duration_ms: Some(4_500),
                    ..Default::default()
                },
            )
            .expect("shot 1");
            p.update_shot(
                &s2,
                &ShotPatch {
                    character_ids: Some(chars.clone()),
                    ..Default::default()
                },
            )
            .expect("shot 5");
            p.delete_shot(&s3).expect("shot 3");
            added = Some(
                p.add_shot(
                    &scene,
                    &NewShot {
                        description: "Headlights in the rain".into(),
                        ..Default::default()
                    },
                )
                .expect("scene 1"),
            );
        })
        .await?;
        added.context("added")?
    };
    // Carol syncs everything so far, then goes offline (she keeps her replica).
    let carol = WsClient::connect_synced(&url).await?;
    let carol_doc = carol.doc.clone();
    carol.close().await;

    let diff = api.diff(&format!("from={}", v1.id)).await?;
    assert_eq!(diff.from.version.as_ref(), Some(&v1.id));
    assert_eq!(diff.from.label, "v1");
    assert_eq!(
        (diff.to.version.as_ref(), diff.to.label.as_str()),
        (None, "now")
    );
    let mut changed: Vec<(ShotId, ChangeKind)> = diff
        .shots
        .iter()
        .map(|c| (c.shot_id.clone(), c.kind))
        .collect();
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (s0.clone(), ChangeKind::Changed),
        (s1.clone(), ChangeKind::Changed),
        (s2.clone(), ChangeKind::Changed),
        (s3.clone(), ChangeKind::Removed),
        (added.clone(), ChangeKind::Added),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(changed, expected, "{diff:#?}");
    let fields = |shot: &ShotId| -> Vec<(String, String, String)> {
        field(&diff, shot)
            .map(|c| {
                c.fields
                    .iter()
                    .map(|f| (f.field.clone(), f.old.clone(), f.new.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        fields(&s0),
        vec![(
            "description".to_owned(),
            "scene 1 shot 1".to_owned(),
            "Mara runs along the pier".to_owned()
        )]
    );
    let s1_fields = fields(&s1);
    assert_eq!(
        s1_fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["camera", "duration_ms"],
        "{s1_fields:?}"
    );
    assert_eq!(
        (s1_fields[0].1.as_str(), s1_fields[0].2.as_str()),
        ("static", "slow push in")
    );
    assert!(
        s1_fields[1].1.contains('3') && s1_fields[1].2.contains("4.5"),
        "{s1_fields:?}"
    );
    let s2_fields = fields(&s2);
    assert_eq!(s2_fields.len(), 1, "{s2_fields:?}");
    assert_eq!(
        (
            s2_fields[0].0.as_str(),
            s2_fields[0].1.as_str(),
            s2_fields[0].2.as_str()
        ),
        ("characters", "Mara", "Ivo, Mara")
    );
    // A removed shot lists no fields; an added one its values (from empty).
    assert!(fields(&s3).is_empty());
    assert!(
        fields(&added).contains(&(
            "description".to_owned(),
            String::new(),
            "Headlights in the rain".to_owned()
        )),
        "{:?}",
        fields(&added)
    );
    assert_eq!(
        field(&diff, &added).map(|c| c.description.as_str()),
        Some("Headlights in the rain")
    );
    assert!(diff.scenes.is_empty() && diff.characters.is_empty() && diff.script.is_empty());
    // Named, the same changes read the same between two versions.
    let v2 = api.name("v2").await?;
    let between = api.diff(&format!("from={}&to={}", v1.id, v2.id)).await?;
    assert_eq!(between.shots, diff.shots);
    assert_eq!(between.to.label, "v2");
    assert!(api.diff(&format!("from={}", v2.id)).await?.is_empty());

    // Restore v1 while Bob is connected.
    let editor = server.token(&project, Role::Editor, None);
    let mut bob = WsClient::connect_synced(&server.ws_url(project.as_str(), &editor)).await?;
    let before_restore = snapshot(&bob);
    let restored = api.restore(&v1).await?;
    assert_eq!(restored.restored, v1.id);
    assert_eq!(restored.before.kind, VersionKind::Auto);
    assert!(
        restored.before.name.contains("v1"),
        "{}",
        restored.before.name
    );
    wait_content(&mut bob, &v1_snapshot).await?;
    wait_content(&mut alice, &v1_snapshot).await?;
    assert!(api.diff(&format!("from={}", v1.id)).await?.is_empty());
    assert_eq!(
        content(&api.version_snapshot(&restored.before).await?),
        content(&before_restore)
    );

    // Carol edits another shot offline and comes back: her edit is kept, the shot removed by
    // the restore stays removed, nothing is doubled.
    let carol_project = Project::from_doc(carol_doc.clone());
    carol_project.update_shot(
        &board.shots[6],
        &ShotPatch {
            dialogue: Some("Carol's line".into()),
            ..Default::default()
        },
    )?;
    let mut carol = WsClient::connect_with_doc(&url, carol_doc).await?;
    carol.wait_synced().await?;
    let mut merged = v1_snapshot.clone();
    for shot in &mut merged.shots {
        if shot.id == board.shots[6] {
            shot.dialogue = "Carol's line".into();
        }
    }
    wait_content(&mut bob, &merged).await?;
    wait_content(&mut carol, &merged).await?;
    let ids: Vec<ShotId> = snapshot(&bob).shots.into_iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), 8, "{ids:?}");
    assert!(!ids.contains(&added));

    // Restoring the automatic version undoes the restore.
    let undone = api.restore(&restored.before).await?;
    wait_content(&mut bob, &before_restore).await?;
    let list = api.list().await?;
    let names: Vec<(&str, VersionKind)> = list.iter().map(|v| (v.name.as_str(), v.kind)).collect();
    assert_eq!(
        names,
        [
            (undone.before.name.as_str(), VersionKind::Auto),
            (restored.before.name.as_str(), VersionKind::Auto),
            ("v2", VersionKind::Named),
            ("v1", VersionKind::Named),
        ]
    );
    bob.close().await;
    carol.close().await;
    alice.close().await;
    server.stop().await;
    Ok(())
}

on_both!(
    versions_diff_and_restore_sqlite,
    versions_diff_and_restore_postgres,
    versions_diff_and_restore
);

async fn bad_input_changes_nothing(server: TestServer) -> anyhow::Result<()> {
    use reqwest::Method;
    let (project, owner) = server.project().await;
    let board = seed(&server, &project, "INT. CAR - NIGHT\nWipers.\n").await?;
    let api = Api::new(&server, &project, &owner);
    let mut alice = WsClient::connect_synced(&server.ws_url(project.as_str(), &owner)).await?;
    let kept = api.name("kept").await?;
    let doomed = api.name("doomed").await?;

    // Names and notes out of bounds.
    for body in [
        json!({"name": "x".repeat(121)}),
        json!({"name": "   "}),
        json!({"name": "ok", "note": "n".repeat(10_001)}),
    ] {
        assert_eq!(
            api.refused(Method::POST, "/versions", Some(body.clone()))
                .await?,
            (400, ErrorCode::BadRequest),
            "{body}"
        );
    }
    assert_eq!(
        api.refused(Method::POST, "/versions", Some(json!({"note": "no name"})))
            .await?,
        (400, ErrorCode::InvalidBody)
    );
    // 120 characters (not bytes) is within bounds.
    let long = api.name(&"镜".repeat(120)).await?;

    // A deleted version is gone for every route, and restoring it changes nothing.
    let (status, _) = api
        .send(Method::DELETE, &format!("/versions/{}", doomed.id), None)
        .await?;
    assert_eq!(status, 204);
    edit(&mut alice, |p| {
        p.update_shot(
            &board.shots[0],
            &ShotPatch {
                description: Some("after".into()),
                ..Default::default()
            },
        )
        .expect("shot");
    })
    .await?;
    let listed = api.list().await?;
    let before = snapshot(&alice);
    for (method, path) in [
        (Method::POST, format!("/versions/{}/restore", doomed.id)),
        (Method::DELETE, format!("/versions/{}", doomed.id)),
        (Method::GET, format!("/versions/{}/state", doomed.id)),
        (Method::GET, format!("/diff?from={}", doomed.id)),
        (Method::POST, "/versions/not-a-version/restore".to_owned()),
        (
            Method::POST,
            format!("/versions/{}/restore", api_types::VersionId::new()),
        ),
    ] {
        assert_eq!(
            api.refused(method, &path, None).await?,
            (404, ErrorCode::NotFound),
            "{path}"
        );
    }
    alice.pump_for(Duration::from_millis(200)).await?;
    assert_eq!(content(&snapshot(&alice)), content(&before));
    assert_eq!(api.list().await?, listed);
    assert_eq!(
        listed.iter().map(|v| v.id.clone()).collect::<Vec<_>>(),
        [long.id.clone(), kept.id.clone()]
    );

    // Another project's version does not exist here.
    let (other, other_owner) = server.project().await;
    seed(&server, &other, "elsewhere\n").await?;
    let theirs = Api::new(&server, &other, &other_owner)
        .name("theirs")
        .await?;
    for query in [
        format!("from={}", theirs.id),
        format!("from={}&to={}", kept.id, theirs.id),
        format!("from={}", api_types::VersionId::new()),
        "from=nonsense".to_owned(),
    ] {
        assert_eq!(
            api.refused(Method::GET, &format!("/diff?{query}"), None)
                .await?,
            (404, ErrorCode::NotFound),
            "{query}"
        );
    }
    for path in [
        format!("/versions/{}/state", theirs.id),
        format!("/versions/{}/restore", theirs.id),
    ] {
        let method = if path.ends_with("restore") {
            Method::POST
        } else {
            Method::GET
        };
        assert_eq!(
            api.refused(method, &path, None).await?,
            (404, ErrorCode::NotFound),
            "{path}"
        );
    }
    for query in ["", "to=now", "from="] {
        assert_eq!(
            api.refused(Method::GET, &format!("/diff?{query}"), None)
                .await?,
            (400, ErrorCode::BadRequest),
            "{query:?}"
        );
    }

    // Roles: commenters and viewers read; editors name and restore; only owners delete.
    let commenter = Api::new(
        &server,
        &project,
        &server.token(&project, Role::Commenter, None),
    );
    let viewer = Api::new(
        &server,
        &project,
        &server.token(&project, Role::Viewer, None),
    );
    let editor = Api::new(
        &server,
        &project,
        &server.token(&project, Role::Editor, None),
    );
    for who in [&commenter, &viewer] {
        assert_eq!(
            who.refused(Method::POST, "/versions", Some(json!({"name": "mine"})))
                .await?,
            (403, ErrorCode::Forbidden)
        );
        assert_eq!(
            who.refused(
                Method::POST,
                &format!("/versions/{}/restore", kept.id),
                None
            )
            .await?,
            (403, ErrorCode::Forbidden)
        );
        assert_eq!(who.list().await?, listed);
        assert_eq!(
            content(&who.version_snapshot(&kept).await?),
            content(&api.version_snapshot(&kept).await?)
        );
        who.diff(&format!("from={}", kept.id)).await?;
    }
    assert_eq!(
        editor
            .refused(Method::DELETE, &format!("/versions/{}", kept.id), None)
            .await?,
        (403, ErrorCode::Forbidden)
    );
    editor.name("by the editor").await?;
    assert_eq!(api.list().await?.len(), listed.len() + 1);
    alice.pump_for(Duration::from_millis(100)).await?;
    assert_eq!(content(&snapshot(&alice)), content(&before));
    alice.close().await;
    server.stop().await;
    Ok(())
}

on_both!(
    bad_input_changes_nothing_sqlite,
    bad_input_changes_nothing_postgres,
    bad_input_changes_nothing
);

/// A state larger than a row should hold goes to the object store and comes back equal; an
/// offline breakdown takes an automatic version first.
async fn large_states_and_breakdowns(server: TestServer) -> anyhow::Result<()> {
    let (project, owner) = server.project().await;
    let novel = shared_model::testing::load_novel("sanguo-full.zh.txt");
    let doc = Project::create(&MetaPatch::default(), ProjectOptions::default());
    doc.script_insert(0, &novel);
    server
        .state
        .store()
        .write_snapshot(project.as_str(), 0, &doc.encode_state())
        .await?;
    let api = Api::new(&server, &project, &owner);
    let client = WsClient::connect_synced(&server.ws_url(project.as_str(), &owner)).await?;
    let big = api.name("the whole novel").await?;
    assert!(
        big.stored_bytes > sync_server::versions::INLINE_LIMIT as u64,
        "{big:?}"
    );
    assert!(big.stored_bytes < big.state_bytes, "{big:?}");
    let (_, stored) = server
        .state
        .store()
        .version(&project, &big.id)
        .await?
        .context("row")?;
    let key = match stored {
        sync_server::store::StoredState::Object(key) => key,
        other => anyhow::bail!("kept in the row: {other:?}"),
    };
    let file = server.state.config().data_dir.join("assets").join(&key);
    assert!(file.is_file(), "{}", file.display());
    let back = api.version_snapshot(&big).await?;
    assert_eq!(back.script, novel);
    assert_eq!(content(&back), content(&snapshot(&client)));

    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/versions/{}", big.id),
            None,
        )
        .await?;
    assert_eq!(status, 204);
    assert!(!file.exists(), "a deleted version's state stays behind");
    client.close().await;

    // An offline breakdown takes an automatic version first, with the board still empty.
    let (project, owner) = server.project().await;
    let doc = Project::create(&MetaPatch::default(), ProjectOptions::default());
    doc.script_insert(0, "CHAPTER I.\n\n'Hello,' said Alice. The rabbit ran.\n");
    server
        .state
        .store()
        .write_snapshot(project.as_str(), 0, &doc.encode_state())
        .await?;
    let api = Api::new(&server, &project, &owner);
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/breakdown",
            Some(json!({"mode": "offline"})),
        )
        .await?;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let list = api.list().await?;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].name.as_str(), list[0].kind, list[0].shots),
        ("Before the offline breakdown", VersionKind::Auto, 0)
    );
    assert_eq!(
        api.version_snapshot(&list[0]).await?.script,
        doc.script_text()
    );
    server.stop().await;
    Ok(())
}

on_both!(
    large_states_go_to_the_object_store_sqlite,
    large_states_go_to_the_object_store_postgres,
    large_states_and_breakdowns
);
