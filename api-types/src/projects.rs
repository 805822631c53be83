//! Projects, share tokens and assets: `POST /api/projects`, `GET /api/projects`,
//! `POST /api/projects/{id}/tokens`, `POST /api/projects/{id}/assets`.

use serde::{Deserialize, Serialize};

use crate::ids::{LinkId, ProjectId, VersionId};
use crate::review::Person;

wire_enum!(
    /// What a token holder may do with a project. The wire names are the ones tokens carry.
    Role, "role" {
        Owner = "owner",
        Editor = "editor",
        Commenter = "commenter",
        Viewer = "viewer",
    }
);

/// `POST /api/projects`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateProject {
    /// 1 to 200 characters.
    pub title: String,
    /// The owner's display name, shown beside what they write ("Owner" when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
}

/// The answer to `POST /api/projects`: the new project and an owner token for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedProject {
    pub project_id: ProjectId,
    pub token: String,
}

/// One entry of `GET /api/projects`: a project the token grants, with the token's role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub project_id: ProjectId,
    pub title: String,
    pub role: Role,
    /// Unix seconds; `None` for a token that never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// `POST /api/projects/{id}/tokens` (owners only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateToken {
    pub role: Role,
    /// Lifetime in seconds; the server's default (a week) when absent.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// What the owner calls this link in the list of links ("crew Discord").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A personal invite: the link is this named person's (it needs no join).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// "Share for review": the link opens straight into review of this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_version: Option<VersionId>,
}

/// The answer to `POST /api/projects/{id}/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    pub role: Role,
    /// Unix seconds.
    pub expires_at: i64,
    /// The link this token is, for revoking it.
    pub link: LinkId,
    /// For a personal invite: the person it names.
    #[serde(default)]
    pub person: Option<Person>,
}

/// The answer to `POST /api/projects/{id}/assets`: the stored bytes, named by their hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadedAsset {
    /// Lowercase hex sha256 of the bytes, which is also the asset's id.
    pub sha256: String,
    pub size: u64,
    /// Sniffed from the bytes, not taken from the upload.
    pub content_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_have_their_token_names_and_unknown_ones_are_refused() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
            let json = serde_json::to_string(role).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(
            serde_json::to_string(&Role::Commenter).unwrap_or_default(),
            "\"commenter\""
        );
        assert!(serde_json::from_str::<Role>("\"admin\"").is_err());
        assert!("Owner".parse::<Role>().is_err());
    }

    #[test]
    fn a_summary_needs_a_canonical_project_id_and_may_lack_an_expiry() {
        let id = ProjectId::new_random();
        let summary: ProjectSummary = serde_json::from_str(&format!(
            r#"{{"project_id":"{id}","title":"Moby Dick","role":"viewer"}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(summary.project_id, id);
        assert_eq!(summary.role, Role::Viewer);
        assert_eq!(summary.expires_at, None);
        let bad = r#"{"project_id":"../etc","title":"x","role":"owner"}"#;
        assert!(serde_json::from_str::<ProjectSummary>(bad).is_err());
    }

    #[test]
    fn a_token_request_may_leave_out_the_lifetime() {
        let request: CreateToken =
            serde_json::from_str(r#"{"role":"editor"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            request,
            CreateToken {
                role: Role::Editor,
                expires_in_secs: None,
                label: None,
                name: None,
                review_version: None,
            }
        );
    }
}
