//! Helpers for the job runner's tests: a project with shots made by a real y-websocket
//! client, and the generate/jobs API driven over real HTTP.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use shared_model::{NewCharacter, NewScene, NewShot, Project};
use sync_server::test_support::WsClient;

/// A client connected to a project's document, holding a `Project` view of its replica.
pub struct Board {
    pub client: WsClient,
    pub shots: Vec<String>,
}

impl Board {
    pub fn project(&self) -> Project {
        Project::from_doc(self.client.doc.clone())
    }

    /// Shots that have at least one take, per the client's replica.
    pub fn shots_with_takes(&self) -> usize {
        self.project()
            .shots()
            .iter()
            .filter(|s| !s.takes.is_empty())
            .count()
    }

    /// Waits until `n` shots have a take (as this client sees the document). Counts between
    /// bursts of frames rather than after each one: reading a thousand shots per frame would
    /// make the client, not the server, the bottleneck of the benchmark.
    pub async fn wait_takes(&mut self, n: usize, limit: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            self.client.pump_for(Duration::from_millis(20)).await?;
            let have = self.shots_with_takes();
            if have >= n {
                return Ok(());
            }
            if let Some(closed) = &self.client.closed {
                bail!("connection closed ({closed:?}) with {have} of {n} shots taken");
            }
            if tokio::time::Instant::now() > deadline {
                bail!("waiting for {n} shots with takes: {have} after {limit:?}");
            }
        }
    }
}

/// Connects to `ws_url`, writes one scene with `n` shots (the first two with a character),
/// and waits until the server has acknowledged the edit.
pub async fn board(ws_url: &str, n: usize) -> anyhow::Result<Board> {
    let mut client = WsClient::connect_synced(ws_url).await?;
    let project = Project::from_doc(client.doc.clone());
    let mut ids = Vec::new();
    client
        .send_changes(|| {
            let hero = project.add_character(&NewCharacter {
                name: "Liu Bei".into(),
                description: "a tall man with long arms, in a green robe".into(),
                ..NewCharacter::default()
            });
            let shots: Vec<NewShot> = (0..n)
                .map(|i| NewShot {
                    description: format!("Shot {i}: peach blossoms fall over the oath altar"),
                    framing: if i % 2 == 0 {
                        "wide".into()
                    } else {
                        "close-up".into()
                    },
                    camera: "slow push in".into(),
                    dialogue: if i == 1 {
                        "We swear to live and die as brothers".into()
                    } else {
                        String::new()
                    },
                    character_ids: if i < 2 {
                        vec![hero.clone()]
                    } else {
                        Vec::new()
                    },
                    ..NewShot::default()
                })
                .collect();
            let (_, shot_ids) = project.add_scene_with_shots(
                &NewScene {
                    title: "The Peach Garden".into(),
                    ..NewScene::default()
                },
                &shots,
            );
            ids = shot_ids.iter().map(ToString::to_string).collect();
        })
        .await?;
    // The server echoes our update once it is committed.
    let before = client.updates_received;
    client
        .pump_until(Duration::from_secs(10), |c| c.updates_received > before)
        .await?;
    Ok(Board { client, shots: ids })
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub project: String,
    pub token: String,
}

impl Api {
    pub fn new(base: String, project: String, token: String) -> Self {
        Api {
            http: reqwest::Client::new(),
            base,
            project,
            token,
        }
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/api/projects/{}{tail}", self.base, self.project)
    }

    /// Any request against the project, answering (status, JSON body or Null).
    pub async fn call(
        &self,
        method: reqwest::Method,
        tail: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method, self.url(tail))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    pub async fn generate(&self, body: Value) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::POST, "/generate", Some(body))
            .await
    }

    /// Generates and expects 202, returning the job ids.
    pub async fn generate_ok(&self, body: Value) -> anyhow::Result<Vec<String>> {
        let (status, answer) = self.generate(body).await?;
        if status != 202 {
            bail!("generate answered {status}: {answer}");
        }
        Ok(answer["jobs"]
            .as_array()
            .context("jobs")?
            .iter()
            .filter_map(|j| j.as_str().map(str::to_owned))
            .collect())
    }

    pub async fn set_key(&self, provider: &str, key: &str) -> anyhow::Result<()> {
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/credentials/{provider}"),
                Some(json!({"key": key})),
            )
            .await?;
        if status != 204 {
            bail!("setting the key answered {status}: {body}");
        }
        Ok(())
    }

    pub async fn jobs(&self) -> anyhow::Result<Vec<Value>> {
        let (status, body) = self.call(reqwest::Method::GET, "/jobs", None).await?;
        if status != 200 {
            bail!("jobs answered {status}: {body}");
        }
        Ok(body["jobs"].as_array().cloned().unwrap_or_default())
    }

    /// Polls the job list until every job in `ids` has ended; returns them.
    pub async fn wait_done(&self, ids: &[String], limit: Duration) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let jobs: Vec<Value> = self
                .jobs()
                .await?
                .into_iter()
                .filter(|j| ids.iter().any(|id| j["id"] == id.as_str()))
                .collect();
            let done = jobs
                .iter()
                .filter(|j| {
                    matches!(
                        j["status"].as_str(),
                        Some("succeeded" | "failed" | "cancelled")
                    )
                })
                .count();
            if jobs.len() == ids.len() && done == ids.len() {
                return Ok(jobs);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("jobs did not finish in time: {jobs:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
