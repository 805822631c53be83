//! Content-addressed asset bytes in an object store (local directory by default, any
//! object_store URL such as `s3://bucket/prefix` when configured).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::auth::ProjectId;
use crate::{Config, Error, Result};

/// Where asset bytes live. Keys are `projects/{id}/assets/{sha256}` under a prefix.
#[derive(Clone)]
pub struct AssetStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    description: String,
}

impl fmt::Debug for AssetStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetStore")
            .field("store", &self.description)
            .finish()
    }
}

impl fmt::Display for AssetStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// The hex sha256 of `bytes`, the asset's id.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The MIME type sniffed from the bytes themselves; the client's claim is not trusted.
pub fn sniff_content_type(bytes: &[u8]) -> &'static str {
    infer::get(bytes).map_or("application/octet-stream", |t| t.mime_type())
}

/// Whether `s` looks like a hex sha256 (so it is safe inside an object path).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl AssetStore {
    pub fn open(config: &Config) -> Result<Self> {
        match &config.asset_store_url {
            None => {
                let dir = config.data_dir.join("assets");
                std::fs::create_dir_all(&dir)?;
                Ok(Self {
                    store: Arc::new(LocalFileSystem::new_with_prefix(&dir)?),
                    prefix: Path::default(),
                    description: format!("file://{}", dir.display()),
                })
            }
            Some(raw) => {
                let url = url::Url::parse(raw)
                    .map_err(|e| Error::Config(format!("invalid asset store url: {e}")))?;
                let (store, prefix): (Arc<dyn ObjectStore>, Path) = if url.scheme() == "s3" {
                    // `from_env` picks up AWS_ACCESS_KEY_ID, AWS_ENDPOINT, AWS_REGION, ...
                    let store = object_store::aws::AmazonS3Builder::from_env()
                        .with_url(raw.as_str())
                        .build()?;
                    let prefix = Path::parse(url.path().trim_start_matches('/'))
                        .map_err(|e| Error::Config(format!("invalid asset store path: {e}")))?;
                    (Arc::new(store), prefix)
                } else {
                    let (store, prefix) = object_store::parse_url(&url)?;
                    (Arc::from(store), prefix)
                };
                let mut description = url.clone();
                let _ = description.set_password(None);
                Ok(Self {
                    store,
                    prefix,
                    description: description.to_string(),
                })
            }
        }
    }

    fn path(&self, project: &ProjectId, sha256: &str) -> Path {
        let mut parts: Vec<String> = self.prefix.parts().map(|p| p.as_ref().to_owned()).collect();
        parts.extend([
            "projects".to_owned(),
            project.as_str().to_owned(),
            "assets".to_owned(),
            sha256.to_owned(),
        ]);
        Path::from_iter(parts)
    }

    /// Stores `bytes` under their sha256 (idempotent: same bytes, same key).
    pub async fn put(&self, project: &ProjectId, sha256: &str, bytes: Bytes) -> Result<()> {
        self.store
            .put(&self.path(project, sha256), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// The key of a version's stored state, relative to the store's prefix. Both ids are
    /// checked by their callers (a project id parses as a UUID, a version id is hex).
    pub fn version_key(project: &ProjectId, version: &str) -> String {
        format!("projects/{}/versions/{version}", project.as_str())
    }

    fn key_path(&self, key: &str) -> Path {
        let mut parts: Vec<String> = self.prefix.parts().map(|p| p.as_ref().to_owned()).collect();
        parts.extend(key.split('/').map(str::to_owned));
        Path::from_iter(parts)
    }

    /// Stores a blob (a version's compressed state) under `key`.
    pub async fn put_blob(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.store
            .put(&self.key_path(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads a whole blob.
    pub async fn get_blob(&self, key: &str) -> Result<Bytes> {
        Ok(self.store.get(&self.key_path(key)).await?.bytes().await?)
    }

    /// Deletes a blob; one already gone is not an error.
    pub async fn delete_blob(&self, key: &str) -> Result<()> {
        match self.store.delete(&self.key_path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Streams an asset's bytes.
    pub async fn get(
        &self,
        project: &ProjectId,
        sha256: &str,
    ) -> Result<BoxStream<'static, object_store::Result<Bytes>>> {
        Ok(self
            .store
            .get(&self.path(project, sha256))
            .await?
            .into_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_uses_bytes_not_names() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        assert_eq!(sniff_content_type(&png), "image/png");
        assert_eq!(sniff_content_type(b"just text"), "application/octet-stream");
        assert!(is_sha256_hex(&sha256_hex(b"x")));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }
}
