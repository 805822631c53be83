use crate::schema::SCHEMA_VERSION;

/// Everything that can go wrong when reading or changing a project document.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a valid yrs v1 update (random bytes, truncated or bit-flipped data).
    #[error("invalid document update: {0}")]
    InvalidUpdate(String),

    /// The bytes are not a valid yrs state vector.
    #[error("invalid state vector: {0}")]
    InvalidStateVector(String),

    /// The document was written by a newer Shotweave; opening it here could corrupt it.
    #[error(
        "document schema version {found} is newer than the supported version {SCHEMA_VERSION}; \
         upgrade Shotweave to open it"
    )]
    NewerSchema { found: u32 },

    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },

    #[error("script range {start}..{end} is outside the script (length {len})")]
    RangeOutOfBounds { start: u32, end: u32, len: u32 },

    #[error("invalid {field}: {reason}")]
    InvalidValue { field: &'static str, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn not_found(kind: &'static str, id: impl std::fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}
