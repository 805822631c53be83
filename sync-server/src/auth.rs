//! Signed capability tokens, roles, and which document a role may write.
//!
//! A token is `sw1.<claims>.<mac>`: base64url JSON claims (project, role, expiry, and the
//! share link and person it names) and an HMAC-SHA256 over `sw1.<claims>`. The signature makes
//! the claims unforgeable; the link's row in the database (`links`) is what can be listed and
//! revoked, and is checked on every request that names one (see `crate::links`). Tokens made
//! before links existed name none and keep working until they expire (rotate the secret to
//! revoke all of them).

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

const TOKEN_PREFIX: &str = "sw1.";
const SECRET_FILE: &str = "token-secret";

pub use api_types::{LinkId, PersonId, ProjectId, Role};

/// The two documents of a project. They are separate so that reviews (threads, comments,
/// verdicts) can be read live by everyone without any write access to the project document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// Doc name `{project_id}`.
    Project,
    /// Doc name `{project_id}.review`.
    Review,
}

impl DocKind {
    /// Whether `role` may change this document over the wire. Everybody may still read it and
    /// send awareness. The review document is written by the server alone, through validated
    /// REST commands that set each comment's author and time from the caller's identity: a
    /// client writing it directly could forge both, so no role may.
    pub fn writable_by(self, role: Role) -> bool {
        match self {
            DocKind::Project => matches!(role, Role::Owner | Role::Editor),
            DocKind::Review => false,
        }
    }

    /// Why `role` may not write this document, as the permission-denied message says it.
    pub fn write_denied(self, role: Role) -> Option<String> {
        if self.writable_by(role) {
            return None;
        }
        Some(match self {
            DocKind::Project => format!(
                "permission denied: a {} cannot edit the project document",
                role.as_str()
            ),
            DocKind::Review => "permission denied: reviews are written through the review API, \
                 which signs them with your name, not over the sync connection"
                .to_owned(),
        })
    }
}

/// A parsed `/sync/{doc}` name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DocName {
    pub project: ProjectId,
    pub kind: DocKind,
}

impl DocName {
    pub fn parse(name: &str) -> Option<Self> {
        let (id, kind) = match name.strip_suffix(".review") {
            Some(id) => (id, DocKind::Review),
            None => (name, DocKind::Project),
        };
        Some(Self {
            project: ProjectId::parse(id)?,
            kind,
        })
    }
}

impl fmt::Display for DocName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DocKind::Project => write!(f, "{}", self.project),
            DocKind::Review => write!(f, "{}.review", self.project),
        }
    }
}

/// The signed content of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    #[serde(rename = "p")]
    pub project: ProjectId,
    #[serde(rename = "r")]
    pub role: Role,
    /// Expiry in Unix seconds; `None` never expires (owner tokens).
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The share link this token is (its row can be revoked); `None` in tokens made before
    /// links existed.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkId>,
    /// The person the token speaks for; `None` for a share link whose holder has not joined.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonId>,
}

/// Why a token was rejected. Deliberately coarse: the HTTP layer answers 401 for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
}

/// Signs and verifies tokens with one secret key.
#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner").finish_non_exhaustive()
    }
}

impl TokenSigner {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: secret.to_vec(),
        }
    }

    /// Reads the secret from `data_dir/token-secret`, creating it (32 random bytes, hex, file
    /// mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = hex::decode(text.trim()).map_err(|_| {
                    Error::Config(format!("{} does not contain a hex secret", path.display()))
                })?;
                if key.len() < 16 {
                    return Err(Error::Config(format!(
                        "{} holds a secret shorter than 16 bytes",
                        path.display()
                    )));
                }
                Ok(Self::new(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::fill(&mut key);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(&path)?;
                file.write_all(hex::encode(key).as_bytes())?;
                file.sync_all()?;
                tracing::info!(path = %path.display(), "generated a new token secret");
                Ok(Self::new(&key))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        <HmacSha256 as KeyInit>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        let mut mac = self.mac();
        mac.update(token.as_bytes());
        let sig = mac.finalize().into_bytes();
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(sig));
        token
    }

    /// Checks the signature first (in constant time), then the expiry against `now` (Unix s).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let (signed, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let payload = signed
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        match claims.expires_at {
            Some(exp) if exp <= now => Err(TokenError::Expired),
            _ => Ok(claims),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires_at: Option<i64>) -> Claims {
        Claims {
            project: ProjectId::new_random(),
            role: Role::Editor,
            expires_at,
            link: Some(LinkId::new()),
            person: None,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef");
        let c = claims(Some(100));
        let token = signer.sign(&c);
        assert_eq!(signer.verify(&token, 99), Ok(c));
        assert_eq!(signer.verify(&token, 100), Err(TokenError::Expired));
    }

    #[test]
    fn forged_tokens_are_rejected() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef");
        let other = TokenSigner::new(b"another secret, another server!!");
        let token = other.sign(&claims(None));
        assert_eq!(signer.verify(&token, 0), Err(TokenError::BadSignature));

        // Upgrading the role inside a valid token breaks the signature.
        let token = signer.sign(&claims(None));
        let (_, sig) = token.rsplit_once('.').expect("token has a signature");
        let mut forged = claims(None);
        forged.role = Role::Owner;
        let forged_json = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let forged = format!("{TOKEN_PREFIX}{forged_json}.{sig}");
        assert_eq!(signer.verify(&forged, 0), Err(TokenError::BadSignature));

        // So does naming another person: a link token cannot be made someone's.
        let token = signer.sign(&claims(None));
        let (_, sig) = token.rsplit_once('.').expect("token has a signature");
        let mut forged = claims(None);
        forged.person = Some(PersonId::new());
        let forged_json = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let forged = format!("{TOKEN_PREFIX}{forged_json}.{sig}");
        assert_eq!(signer.verify(&forged, 0), Err(TokenError::BadSignature));

        for junk in ["", "sw1.", "sw1..", "abc.def", "sw1.!!!.???"] {
            assert!(signer.verify(junk, 0).is_err(), "{junk:?} was accepted");
        }
    }

    #[test]
    fn tokens_made_before_links_still_verify() {
        let signer = TokenSigner::new(b"0123456789abcdef0123456789abcdef");
        let project = ProjectId::new_random();
        // The claims exactly as the previous version serialized them.
        let json = format!(r#"{{"p":"{project}","r":"viewer","e":500}}"#);
        let signed = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        let mut mac = signer.mac();
        mac.update(signed.as_bytes());
        let token = format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let claims = signer.verify(&token, 0).expect("an old token verifies");
        assert_eq!((&claims.link, &claims.person), (&None, &None));
        assert_eq!(claims.role, Role::Viewer);
        // And a token without a link or person is written as before, without the new fields.
        let old_style = Claims {
            link: None,
            ..claims
        };
        let payload = signer.sign(&old_style);
        let payload = payload.split('.').nth(1).expect("claims part");
        let json = URL_SAFE_NO_PAD.decode(payload).expect("base64");
        let json = String::from_utf8(json).expect("utf-8");
        assert!(!json.contains("\"l\"") && !json.contains("\"u\""), "{json}");
    }

    #[test]
    fn doc_names() {
        let id = ProjectId::new_random();
        let review = DocName::parse(&format!("{id}.review")).expect("review doc");
        assert_eq!(review.kind, DocKind::Review);
        assert_eq!(review.to_string(), format!("{id}.review"));
        assert_eq!(
            DocName::parse(id.as_str()).map(|d| d.kind),
            Some(DocKind::Project)
        );
        assert!(DocName::parse("../etc/passwd").is_none());
        assert!(DocName::parse(&id.as_str().to_uppercase()).is_none());
    }

    #[test]
    fn roles() {
        assert!(!DocKind::Project.writable_by(Role::Commenter));
        assert!(!DocKind::Project.writable_by(Role::Viewer));
        assert!(DocKind::Project.writable_by(Role::Editor));
        assert!(DocKind::Project.writable_by(Role::Owner));
        assert_eq!(DocKind::Project.write_denied(Role::Editor), None);
        assert!(
            DocKind::Project
                .write_denied(Role::Viewer)
                .is_some_and(|m| m.contains("a viewer cannot edit the project document"))
        );
        // Nobody writes reviews over the wire, not even the owner: the server does.
        for role in Role::ALL {
            assert!(!DocKind::Review.writable_by(*role));
            assert!(
                DocKind::Review
                    .write_denied(*role)
                    .is_some_and(|m| m.starts_with("permission denied: reviews are written"))
            );
        }
    }
}
