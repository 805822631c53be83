//! Provider credentials (bring your own key), encrypted at rest.
//!
//! Keys are sealed with ChaCha20-Poly1305 under one server-wide credentials key, which comes
//! from the configuration (`--credentials-key`, 32 bytes as hex or base64) or is generated on
//! first start into `<data-dir>/credentials-key` with owner-only permissions. The project id and
//! provider name are the associated data, so a ciphertext copied into another project's row
//! does not decrypt. The API is write-only: [`Keyring::open`] is called only by the job runner,
//! to build an adapter; nothing returns a key to a client, a log line or a document.

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use provider_adapters::Secret;

use crate::auth::ProjectId;
use crate::{Error, Result};

const KEY_FILE: &str = "credentials-key";
const NONCE_LEN: usize = 12;
/// The longest key accepted: real provider keys are far shorter; this only bounds storage.
pub const MAX_CREDENTIAL_LEN: usize = 4096;

/// An encrypted credential as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Seals and opens credentials with the server's credentials key.
#[derive(Clone)]
pub struct Keyring {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

impl Keyring {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    /// A key given as 64 hex digits or as base64 of 32 bytes.
    pub fn from_config(text: &str) -> Result<Self> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| {
                Error::Config("the credentials key must be 32 bytes as hex or base64".into())
            })?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Config("the credentials key must be exactly 32 bytes".into()))?;
        Ok(Self::new(key))
    }

    /// Reads `data_dir/credentials-key`, creating it (32 random bytes, hex, mode 0600) on
    /// first start. Losing this file makes every stored credential unreadable (users then set
    /// their keys again), so it belongs in backups with the database.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_config(&text)
                .map_err(|_| Error::Config(format!("{} is not a 32-byte hex key", path.display()))),
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
                tracing::info!(path = %path.display(), "generated a new credentials key");
                Ok(Self::new(key))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn aad(project: &ProjectId, provider: &str) -> Vec<u8> {
        format!("shotweave-credential\0{project}\0{provider}").into_bytes()
    }

    pub fn seal(&self, project: &ProjectId, provider: &str, secret: &Secret) -> Result<Sealed> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let aad = Self::aad(project, provider);
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Credentials("encryption failed".into()))?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypts a stored credential. Fails (without detail) when the key changed or the row
    /// was tampered with or moved.
    pub fn open(&self, project: &ProjectId, provider: &str, sealed: &Sealed) -> Result<Secret> {
        let nonce: [u8; NONCE_LEN] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| Error::Credentials("stored nonce has the wrong length".into()))?;
        let aad = Self::aad(project, provider);
        let plain = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                Error::Credentials(format!(
                    "the stored {provider} key cannot be decrypted (was the credentials key changed?)"
                ))
            })?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| Error::Credentials("stored credential is not utf-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_for_their_project_and_provider() -> Result<()> {
        let ring = Keyring::new([7; 32]);
        let project = ProjectId::new_random();
        let secret = Secret::new("sk-live-abcdef");
        let sealed = ring.seal(&project, "openai-images", &secret)?;
        assert!(
            !sealed.ciphertext.windows(6).any(|w| w == b"sk-liv"),
            "ciphertext must not contain the key"
        );
        assert_eq!(ring.open(&project, "openai-images", &sealed)?, secret);
        assert!(ring.open(&project, "gemini", &sealed).is_err());
        assert!(
            ring.open(&ProjectId::new_random(), "openai-images", &sealed)
                .is_err()
        );
        assert!(
            Keyring::new([8; 32])
                .open(&project, "openai-images", &sealed)
                .is_err()
        );
        assert!(!format!("{ring:?} {sealed:?}").contains("sk-live"));
        Ok(())
    }

    #[test]
    fn the_generated_key_file_is_private_and_reused() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let first = Keyring::load_or_create(dir.path())?;
        let project = ProjectId::new_random();
        let sealed = first.seal(&project, "kling", &Secret::new("ak:sk"))?;
        let second = Keyring::load_or_create(dir.path())?;
        assert_eq!(second.open(&project, "kling", &sealed)?.expose(), "ak:sk");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Keyring::from_config("too short").is_err());
        assert!(Keyring::from_config(&"ab".repeat(32)).is_ok());
        Ok(())
    }
}
