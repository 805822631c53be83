//! Share links and people over real HTTP and WebSockets, on SQLite and on the test machine's
//! Postgres: joining a link with a name, listing and revoking links (HTTP and open sockets),
//! expiry, tokens made before links existed, and forged identities.

use std::time::Duration;

use api_types::{
    ApiErrorBody, CreatedProject, CreatedToken, ErrorCode, Joined, LinkInfo, Me, Person, ProjectId,
    Role,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sync_server::auth::{Claims, PersonId, TokenSigner};
use sync_server::config::Secret;
use sync_server::test_support::{
    TEST_SECRET, TestServer, WsClient, drop_postgres_schema, fresh_postgres_schema,
};

const WAIT: Duration = Duration::from_secs(10);

/// `both_dbs!(name)` turns `async fn name(server: &TestServer)` into `name::sqlite` and
/// `name::postgres`, each on a fresh server and database.
macro_rules! both_dbs {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                let server = sync_server::test_support::TestServer::start().await;
                super::$name(&server).await?;
                server.stop().await;
                Ok(())
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                let url = super::fresh_postgres_schema().await?;
                let server = super::TestServer::start_with(|c| {
                    c.database_url = Some(super::Secret(url.clone()));
                })
                .await;
                super::$name(&server).await?;
                server.stop().await;
                super::drop_postgres_schema(&url).await?;
                Ok(())
            }
        }
    )*};
}

both_dbs!(
    a_bare_link_reads_and_joining_makes_a_person,
    every_new_project_has_a_named_owner,
    owners_list_and_revoke_links,
    revoking_closes_that_links_sockets_only,
    an_expired_link_is_refused,
    tokens_made_before_links_still_work,
    forged_people_are_refused,
);

/// The REST API as one client sees it.
struct Api<'a> {
    server: &'a TestServer,
    http: reqwest::Client,
}

impl<'a> Api<'a> {
    fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            http: reqwest::Client::new(),
        }
    }

    /// Calls `path` with `token` and answers the status and the body (`null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self
            .http
            .request(method, self.server.http(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        };
        Ok((status, value))
    }

    async fn create_project(&self, body: Value) -> anyhow::Result<CreatedProject> {
        let response = self
            .http
            .post(self.server.http("/api/projects"))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(response.status() == StatusCode::CREATED);
        Ok(response.json().await?)
    }

    async fn share(&self, project: &str, owner: &str, body: Value) -> anyhow::Result<CreatedToken> {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/api/projects/{project}/tokens"),
                owner,
                Some(body),
            )
            .await?;
        anyhow::ensure!(status == StatusCode::CREATED, "{status}: {body}");
        Ok(serde_json::from_value(body)?)
    }

    async fn me(&self, project: &str, token: &str) -> anyhow::Result<Me> {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/api/projects/{project}/me"),
                token,
                None,
            )
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "{status}: {body}");
        Ok(serde_json::from_value(body)?)
    }

    async fn join(
        &self,
        project: &str,
        token: &str,
        name: &str,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.call(
            Method::POST,
            &format!("/api/projects/{project}/join"),
            token,
            Some(json!({ "name": name })),
        )
        .await
    }

    async fn people(&self, project: &str, token: &str) -> anyhow::Result<Vec<Person>> {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/api/projects/{project}/people"),
                token,
                None,
            )
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "{status}: {body}");
        Ok(serde_json::from_value(body)?)
    }

    async fn links(&self, project: &str, owner: &str) -> anyhow::Result<Vec<LinkInfo>> {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/api/projects/{project}/links"),
                owner,
                None,
            )
            .await?;
        anyhow::ensure!(status == StatusCode::OK, "{status}: {body}");
        Ok(serde_json::from_value(body)?)
    }

    async fn revoke(
        &self,
        project: &str,
        token: &str,
        link: &str,
    ) -> anyhow::Result<(StatusCode, Value)> {
        self.call(
            Method::DELETE,
            &format!("/api/projects/{project}/links/{link}"),
            token,
            None,
        )
        .await
    }
}

/// The code of an error answer.
fn code(body: &Value) -> ErrorCode {
    serde_json::from_value::<ApiErrorBody>(body.clone())
        .map(|b| b.code)
        .unwrap_or(ErrorCode::Other)
}

async fn a_bare_link_reads_and_joining_makes_a_person(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    let created = api
        .create_project(json!({ "title": "Three Kingdoms" }))
        .await?;
    let (project, owner) = (created.project_id.as_str(), created.token.as_str());
    let link = api
        .share(
            project,
            owner,
            json!({ "role": "commenter", "label": "crew Discord" }),
        )
        .await?;
    assert_eq!((link.role, link.person.clone()), (Role::Commenter, None));

    // The bare link reads, and says it has no person yet.
    let me = api.me(project, &link.token).await?;
    assert_eq!(me.role, Role::Commenter);
    assert_eq!(me.person, None);
    assert_eq!(me.link.as_ref(), Some(&link.link));
    assert_eq!(me.expires_at, Some(link.expires_at));
    let before = api.people(project, &link.token).await?;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(
        (before[0].name.as_str(), before[0].role),
        ("Owner", Role::Owner)
    );

    // Names that are not names are refused with a reason, and make nobody.
    let too_long = "名".repeat(api_types::review::MAX_NAME_CHARS + 1);
    for bad in ["", "   ", "two\nlines", too_long.as_str()] {
        let (status, body) = api.join(project, &link.token, bad).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
        assert_eq!(code(&body), ErrorCode::BadRequest);
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains("name")),
            "{body}"
        );
    }
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/api/projects/{project}/join"),
            &link.token,
            Some(json!({})),
        )
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidBody)
    );
    assert_eq!(api.people(project, owner).await?, before);

    // Joining gives a personal token whose `/me` names the person.
    let (status, body) = api.join(project, &link.token, "  Lin  ").await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let lin: Joined = serde_json::from_value(body)?;
    assert_eq!(
        (lin.person.name.as_str(), lin.person.role),
        ("Lin", Role::Commenter)
    );
    let me = api.me(project, &lin.token).await?;
    assert_eq!(me.person.as_ref(), Some(&lin.person));
    assert_eq!(me.link.as_ref(), Some(&link.link));
    assert_eq!(
        (me.role, me.expires_at),
        (Role::Commenter, Some(link.expires_at))
    );

    // A second person on the same link, even under the same name, is another person.
    let (status, body) = api.join(project, &link.token, "Lin").await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other: Joined = serde_json::from_value(body)?;
    assert_ne!(other.person.id, lin.person.id);
    let people = api.people(project, &other.token).await?;
    let ids: Vec<&PersonId> = people.iter().map(|p| &p.id).collect();
    assert_eq!(people.len(), 3, "{people:?}");
    assert!(ids.contains(&&lin.person.id) && ids.contains(&&other.person.id));

    // A personal token has joined already.
    let (status, body) = api.join(project, &lin.token, "Lin again").await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, ErrorCode::Conflict),
        "{body}"
    );

    // The personal token works where the link does, with the link's role: still no writes.
    let mut socket = WsClient::connect_synced(&server.ws_url(project, &lin.token)).await?;
    socket.append_script("not mine to write").await?;
    socket.pump_until(WAIT, |c| !c.denied.is_empty()).await?;
    socket.close().await;
    Ok(())
}

async fn every_new_project_has_a_named_owner(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    let named = api
        .create_project(json!({ "title": "Red Cliff", "owner_name": " Zhuge Liang " }))
        .await?;
    let me = api.me(named.project_id.as_str(), &named.token).await?;
    assert_eq!(me.role, Role::Owner);
    let owner = me.person.clone().expect("the owner token names the owner");
    assert_eq!(
        (owner.name.as_str(), owner.role),
        ("Zhuge Liang", Role::Owner)
    );
    assert_eq!(me.expires_at, None);
    let links = api.links(named.project_id.as_str(), &named.token).await?;
    assert_eq!(links.len(), 1);
    assert_eq!(Some(&links[0].id), me.link.as_ref());
    assert_eq!(
        (links[0].role, links[0].person_name.as_deref()),
        (Role::Owner, Some("Zhuge Liang"))
    );

    let plain = api.create_project(json!({ "title": "Red Cliff" })).await?;
    let me = api.me(plain.project_id.as_str(), &plain.token).await?;
    assert_eq!(me.person.map(|p| p.name).as_deref(), Some("Owner"));

    // A bad owner name creates no project.
    let response = api
        .http
        .post(server.http("/api/projects"))
        .json(&json!({ "title": "Red Cliff", "owner_name": "" }))
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(server.state.store().project_count().await?, 2);

    // A novel import creates a project as well, and its owner token names its owner.
    let response = api
        .http
        .post(server.http("/api/import?file_name=tale.txt"))
        .body("Chapter 1\n\nLiu Bei met Guan Yu in the peach garden. They swore an oath.\n")
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let imported: Value = response.json().await?;
    let project = imported["project_id"].as_str().expect("project id");
    let token = imported["token"].as_str().expect("token");
    let me = api.me(project, token).await?;
    assert_eq!(
        me.person.map(|p| (p.name, p.role)),
        Some(("Owner".into(), Role::Owner))
    );
    Ok(())
}

async fn owners_list_and_revoke_links(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    let created = api
        .create_project(json!({ "title": "Three Kingdoms" }))
        .await?;
    let (project, owner) = (created.project_id.as_str(), created.token.as_str());
    let press = api
        .share(
            project,
            owner,
            json!({ "role": "viewer", "label": "press", "expires_in_secs": 3600 }),
        )
        .await?;
    let cao = api
        .share(
            project,
            owner,
            json!({ "role": "commenter", "name": "Cao Cao" }),
        )
        .await?;
    // A personal invite names its person at once.
    let invited = cao
        .person
        .clone()
        .expect("a personal invite names its person");
    assert_eq!(
        (invited.name.as_str(), invited.role),
        ("Cao Cao", Role::Commenter)
    );
    assert_eq!(api.me(project, &cao.token).await?.person, Some(invited));

    // Bad links are refused and make nothing.
    for bad in [
        json!({ "role": "viewer", "label": "x".repeat(api_types::review::MAX_LABEL_CHARS + 1) }),
        json!({ "role": "viewer", "name": " " }),
        json!({ "role": "viewer", "expires_in_secs": 0 }),
    ] {
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/api/projects/{project}/tokens"),
                owner,
                Some(bad.clone()),
            )
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, ErrorCode::BadRequest),
            "{bad}"
        );
    }

    let links = api.links(project, owner).await?;
    let order: Vec<_> = links.iter().map(|l| (l.label.as_str(), l.role)).collect();
    assert_eq!(
        order,
        [
            ("Cao Cao", Role::Commenter),
            ("press", Role::Viewer),
            ("owner", Role::Owner)
        ],
        "newest first"
    );
    assert_eq!(links[0].person_name.as_deref(), Some("Cao Cao"));
    assert_eq!(links[1].person_name, None);
    assert_eq!(links[1].expires_at, Some(press.expires_at));
    // Used links say when; `press` has not been used yet.
    assert!(links[0].last_used_at.is_some() && links[2].last_used_at.is_some());
    assert_eq!(links[1].last_used_at, None);
    assert!(links.iter().all(|l| l.revoked_at.is_none()));

    // Only owners see and revoke links.
    for path in ["links".to_owned(), format!("links/{}", press.link)] {
        let method = if path == "links" {
            Method::GET
        } else {
            Method::DELETE
        };
        let (status, body) = api
            .call(
                method,
                &format!("/api/projects/{project}/{path}"),
                &cao.token,
                None,
            )
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            "{path}"
        );
    }
    // An owner cannot revoke the link they are using, and an unknown link is not found.
    let own = api.me(project, owner).await?.link.expect("owner link");
    let (status, body) = api.revoke(project, owner, own.as_str()).await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, ErrorCode::Conflict)
    );
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("link you are using")),
        "{body}"
    );
    let (status, _) = api.revoke(project, owner, "nosuchlink").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(api.me(project, &press.token).await?.role, Role::Viewer);
    let (status, _) = api.revoke(project, owner, press.link.as_str()).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Refused at once, everywhere, with the code a client branches on.
    for path in [
        format!("/api/projects/{project}/me"),
        "/api/projects".to_owned(),
    ] {
        let (status, body) = api.call(Method::GET, &path, &press.token, None).await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, ErrorCode::LinkRevoked),
            "{path}"
        );
    }
    let upgrade = WsClient::connect(&server.ws_url(project, &press.token)).await;
    let refused = upgrade.expect_err("a revoked link cannot open a socket");
    assert!(format!("{refused:#}").contains("401"), "{refused:#}");

    // Revoking again changes nothing; the list shows when; other links keep working.
    let revoked_at = api.links(project, owner).await?[1]
        .revoked_at
        .expect("revoked");
    let (status, _) = api.revoke(project, owner, press.link.as_str()).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let links = api.links(project, owner).await?;
    assert_eq!(links[1].revoked_at, Some(revoked_at));
    assert!(
        links[1].last_used_at.is_some(),
        "used before it was revoked"
    );
    assert!(links[0].revoked_at.is_none());
    assert_eq!(api.me(project, &cao.token).await?.role, Role::Commenter);
    Ok(())
}

async fn revoking_closes_that_links_sockets_only(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    let created = api
        .create_project(json!({ "title": "Three Kingdoms" }))
        .await?;
    let (project, owner) = (created.project_id.as_str(), created.token.as_str());
    let crew = api
        .share(project, owner, json!({ "role": "commenter" }))
        .await?;
    let press = api
        .share(project, owner, json!({ "role": "viewer" }))
        .await?;
    let (status, body) = api.join(project, &crew.token, "Lin").await?;
    assert_eq!(status, StatusCode::CREATED);
    let lin: Joined = serde_json::from_value(body)?;

    // Two sockets on the revoked link (its bare token and a person's), one on another link.
    let mut bare = WsClient::connect_synced(&server.ws_url(project, &crew.token)).await?;
    let review = format!("{project}.review");
    let mut personal = WsClient::connect_synced(&server.ws_url(&review, &lin.token)).await?;
    let mut other = WsClient::connect_synced(&server.ws_url(project, &press.token)).await?;
    let mut writer = WsClient::connect_synced(&server.ws_url(project, owner)).await?;

    let (status, _) = api.revoke(project, owner, crew.link.as_str()).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for socket in [&mut bare, &mut personal] {
        let closed = socket.wait_closed(WAIT).await?;
        assert_eq!(
            (closed.code, closed.reason.as_str()),
            (4401, "link revoked")
        );
    }
    writer.append_script("still here").await?;
    other
        .pump_until(WAIT, |c| c.script() == "still here")
        .await?;
    assert!(other.closed.is_none());
    other.close().await;
    writer.close().await;
    Ok(())
}

async fn an_expired_link_is_refused(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    let created = api
        .create_project(json!({ "title": "Three Kingdoms" }))
        .await?;
    let (project, owner) = (created.project_id.as_str(), created.token.as_str());
    let brief = api
        .share(
            project,
            owner,
            json!({ "role": "viewer", "expires_in_secs": 1 }),
        )
        .await?;
    assert_eq!(api.me(project, &brief.token).await?.role, Role::Viewer);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for (method, path) in [(Method::GET, "me"), (Method::POST, "join")] {
        let (status, body) = api
            .call(
                method,
                &format!("/api/projects/{project}/{path}"),
                &brief.token,
                Some(json!({"name": "Lin"})),
            )
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            "{path}"
        );
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("expired")),
            "{body}"
        );
    }
    assert_eq!(api.people(project, owner).await?.len(), 1);
    Ok(())
}

async fn tokens_made_before_links_still_work(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    // `server.token` signs claims without a link or person, as every token was before.
    let (id, owner) = server.project().await;
    let project = id.as_str();
    let viewer = server.token(&id, Role::Viewer, None);
    let me = api.me(project, &viewer).await?;
    assert_eq!((me.role, me.person, me.link), (Role::Viewer, None, None));
    let mut socket = WsClient::connect_synced(&server.ws_url(project, &viewer)).await?;
    let mut writer = WsClient::connect_synced(&server.ws_url(project, &owner)).await?;
    writer.append_script("old tokens").await?;
    socket
        .pump_until(WAIT, |c| c.script() == "old tokens")
        .await?;

    // The old owner token still shares, and the links it makes are listed and revocable.
    let link = api
        .share(project, &owner, json!({ "role": "commenter" }))
        .await?;
    let links = api.links(project, &owner).await?;
    assert_eq!(
        links.iter().map(|l| &l.id).collect::<Vec<_>>(),
        [&link.link]
    );
    let (status, _) = api.revoke(project, &owner, link.link.as_str()).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // An old token names no link, so there is nothing to join.
    let (status, body) = api.join(project, &viewer, "Lin").await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, ErrorCode::Conflict),
        "{body}"
    );
    socket.close().await;
    writer.close().await;
    Ok(())
}

async fn forged_people_are_refused(server: &TestServer) -> anyhow::Result<()> {
    let api = Api::new(server);
    let created = api
        .create_project(json!({ "title": "Three Kingdoms" }))
        .await?;
    let (project, owner) = (created.project_id.as_str(), created.token.as_str());
    let owner_person = api.me(project, owner).await?.person.expect("owner person");
    let link = api
        .share(project, owner, json!({ "role": "commenter" }))
        .await?;

    // Writing the owner's person into a link token breaks its signature.
    let (signed, signature) = link.token.rsplit_once('.').expect("signature");
    let payload = signed.strip_prefix("sw1.").expect("prefix");
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    claims["u"] = json!(owner_person.id);
    let forged = format!(
        "sw1.{}.{signature}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
    );
    let (status, body) = api
        .call(
            Method::GET,
            &format!("/api/projects/{project}/me"),
            &forged,
            None,
        )
        .await?;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized)
    );
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("signature")),
        "{body}"
    );
    assert!(
        WsClient::connect(&server.ws_url(project, &forged))
            .await
            .is_err()
    );

    // A correctly signed token whose person is of another link, or of no project at all,
    // names nobody here.
    let signer = TokenSigner::new(TEST_SECRET.as_bytes());
    let project_id = ProjectId::parse(project).expect("project id");
    for person in [owner_person.id.clone(), PersonId::new()] {
        let token = signer.sign(&Claims {
            project: project_id.clone(),
            role: Role::Commenter,
            expires_at: None,
            link: Some(link.link.clone()),
            person: Some(person),
        });
        let (status, body) = api
            .call(
                Method::GET,
                &format!("/api/projects/{project}/me"),
                &token,
                None,
            )
            .await?;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized),
            "{body}"
        );
    }
    Ok(())
}
