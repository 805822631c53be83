//! Newtype ids, so that a shot id can never be passed where a character id is expected.

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id (UUID v4).
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4().simple().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        // Maps keyed by an id can be read with a `&str`: the derived `Eq`, `Ord` and `Hash`
        // are the inner string's, as `Borrow` requires.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(SceneId);
string_id!(ShotId);
string_id!(CharacterId);
string_id!(
    /// Assets are content-addressed: the id is the lowercase hex sha256 of the bytes.
    AssetId
);
string_id!(JobId);
string_id!(
    /// A person known to a project: the owner, someone invited by name, or someone who opened
    /// a share link and gave a display name. Set by the server, never by a client.
    PersonId
);
string_id!(
    /// A share link (a token the owner made and can revoke).
    LinkId
);
string_id!(
    /// A named (or automatic) version of a project document.
    VersionId
);
string_id!(ThreadId);
string_id!(CommentId);

/// A project id: a UUID in its canonical hyphenated lowercase form. Unlike the ids above it
/// is checked when parsed, because it arrives in URLs and names database rows and documents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectId(String);

impl ProjectId {
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    pub fn parse(s: &str) -> Option<Self> {
        let uuid = uuid::Uuid::try_parse(s).ok()?;
        let canonical = uuid.hyphenated().to_string();
        (canonical == s).then_some(Self(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("invalid project id {s:?}"))
    }
}

impl From<ProjectId> for String {
    fn from(id: ProjectId) -> String {
        id.0
    }
}

impl std::fmt::Display for ProjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ProjectId;

    #[test]
    fn project_ids_are_canonical_uuids() {
        let id = ProjectId::new_random();
        assert_eq!(ProjectId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(ProjectId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(ProjectId::parse("../etc"), None);
        assert!(serde_json::from_str::<ProjectId>("\"x\"").is_err());
    }
}
