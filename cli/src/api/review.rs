//! The review routes (threads, comments, verdicts, activity), as the CLI uses them.

use anyhow::Result;
use api_types::{
    Activity, Comment, Me, NewAnchor, NewComment, NewThread, NewVerdict, Thread, ThreadId, Verdict,
    VerdictKind,
};

use super::Api;

impl Api {
    fn project_url(&self, project: &str, rest: &str) -> String {
        format!("{}/api/projects/{project}{rest}", self.base)
    }

    /// What the token is (`GET .../me`): its role and the person it names.
    pub(crate) async fn me(&self, project: &str, token: &str) -> Result<Me> {
        let request = self
            .http
            .get(self.project_url(project, "/me"))
            .bearer_auth(token);
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn threads(&self, project: &str, token: &str) -> Result<Vec<Thread>> {
        let request = self
            .http
            .get(self.project_url(project, "/threads"))
            .bearer_auth(token);
        Ok(self.send(request).await?.json().await?)
    }

    /// Opens a thread. `client_key` makes a retry of the same post land once.
    pub(crate) async fn new_thread(
        &self,
        project: &str,
        token: &str,
        anchor: NewAnchor,
        text: &str,
        client_key: &str,
    ) -> Result<Thread> {
        let request = self
            .http
            .post(self.project_url(project, "/threads"))
            .bearer_auth(token)
            .json(&NewThread {
                anchor,
                text: text.to_owned(),
                client_key: Some(client_key.to_owned()),
            });
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn reply(
        &self,
        project: &str,
        token: &str,
        thread: &ThreadId,
        text: &str,
        client_key: &str,
    ) -> Result<Comment> {
        let request = self
            .http
            .post(self.project_url(project, &format!("/threads/{thread}/comments")))
            .bearer_auth(token)
            .json(&NewComment {
                text: text.to_owned(),
                client_key: Some(client_key.to_owned()),
            });
        Ok(self.send(request).await?.json().await?)
    }

    /// Resolves (`resolve`) or reopens (`reopen`) a thread.
    pub(crate) async fn thread_status(
        &self,
        project: &str,
        token: &str,
        thread: &ThreadId,
        action: &str,
    ) -> Result<Thread> {
        let request = self
            .http
            .post(self.project_url(project, &format!("/threads/{thread}/{action}")))
            .bearer_auth(token);
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn verdict(
        &self,
        project: &str,
        token: &str,
        version: &str,
        verdict: VerdictKind,
        summary: &str,
    ) -> Result<Verdict> {
        let request = self
            .http
            .put(self.project_url(project, &format!("/versions/{version}/verdict")))
            .bearer_auth(token)
            .json(&NewVerdict {
                verdict,
                summary: summary.to_owned(),
            });
        Ok(self.send(request).await?.json().await?)
    }

    pub(crate) async fn activity(&self, project: &str, token: &str) -> Result<Activity> {
        let request = self
            .http
            .get(self.project_url(project, "/activity"))
            .bearer_auth(token);
        Ok(self.send(request).await?.json().await?)
    }
}
