//! The crate's error type. HTTP handlers convert it into [`crate::http::ApiError`], which is
//! the one place where internal errors are logged and redacted.

/// Everything that can go wrong inside the sync server outside of a single connection's
/// protocol handling (see [`crate::protocol::ProtocolError`] for that).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("object store error: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("stored document {doc} cannot be loaded: {reason}")]
    CorruptDocument { doc: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
