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
    /// A `jobs` row this version cannot read (a kind or state it does not know, a bad id).
    #[error("stored job {id} cannot be read: {reason}")]
    CorruptJobRow { id: String, reason: String },
    /// A row of another table this version cannot read (a role it does not know, a bad id).
    #[error("stored {what} {id} cannot be read: {reason}")]
    CorruptRow {
        what: &'static str,
        id: String,
        reason: String,
    },
    #[error("credentials: {0}")]
    Credentials(String),
    /// A provider call failed in a way the job runner could not turn into a job state.
    #[error("provider error: {0}")]
    Provider(#[from] provider_adapters::Error),
    #[error("document error: {0}")]
    Document(#[from] shared_model::Error),
    /// The job runner's document peer lost its room (shutdown, or the room closed it).
    #[error("document peer: {0}")]
    Peer(String),
    /// A request the server understood but cannot carry out as asked (answered with 400).
    #[error("{0}")]
    Invalid(String),
    /// A provider needs a key the project does not have (answered with 400 and the code
    /// `missing_credential` naming `provider`, so that clients need not read the message).
    #[error(
        "no {provider} key is set for this project: an owner can set one under Settings, with `shotweave key {provider}` or PUT /api/projects/{{id}}/credentials/{provider}"
    )]
    MissingCredential { provider: String },
    /// Work refused because it would exceed the project's budget (answered with 402).
    #[error("{0}")]
    BudgetExceeded(String),
    /// The request conflicts with the current state, e.g. cancelling a finished job (409).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("export failed: {0}")]
    Export(#[from] exports::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
