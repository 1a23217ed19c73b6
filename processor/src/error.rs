//! The processor crate's one public error type. The cli maps each variant to an HTTP status
//! (Sql/InvalidName/InvalidDefinition 400, NotFound 404, Exists/Conflict 409, the rest 500).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL text is outside kappa's subset or wrong; `line`/`column` are 1-based (0 when the
    /// construct has no position), `construct` names what was refused.
    #[error("line {line}, column {column}: {message}")]
    Sql {
        line: u64,
        column: u64,
        construct: String,
        message: String,
    },
    #[error("processor {name:?} not found")]
    NotFound { name: String },
    #[error("processor {name:?} has no version {version}")]
    UnknownVersion { name: String, version: u32 },
    #[error("processor {name:?} already exists")]
    Exists { name: String },
    #[error("invalid processor name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    /// A definition that compiles but cannot run (missing input topic, bad start position...).
    #[error("{message}")]
    InvalidDefinition { message: String },
    /// A request that conflicts with the processor's current state.
    #[error("{message}")]
    Conflict { message: String },
    /// A topic the processor reads or writes is not in its log (kappa's, memory, Kafka).
    #[error("unknown topic {topic:?}")]
    UnknownTopic { topic: String },
    #[error("topic {topic:?} already exists")]
    TopicExists { topic: String },
    /// Any other failure of kappa's store (I/O, a full disk, corruption, limits), as it said.
    #[error(transparent)]
    Log(log_store::Error),
    /// Regenerated output differs from what is stored: exactly-once cannot hold, so the
    /// processor stops here rather than writing anything divergent.
    #[error("output diverged from the stored output in topic {topic} partition {partition} at offset {offset}: {reason}")]
    Diverged {
        topic: String,
        partition: u32,
        offset: u64,
        reason: String,
    },
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint { path: PathBuf, reason: String },
    /// A named limit from `limits.rs` was hit.
    #[error("limit {limit} ({max}) exceeded: {what}")]
    Limit {
        limit: &'static str,
        max: u64,
        what: String,
    },
    /// A Kafka cluster (`'connector' = 'kafka'`) could not be reached or refused a request.
    #[error("kafka cluster at {servers}: {what}")]
    Kafka { servers: String, what: String },
    /// A user-supplied Rust processor failed.
    #[error("processor failed: {message}")]
    User { message: String },
}

impl Error {
    pub(crate) fn sql(
        line: u64,
        column: u64,
        construct: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        Error::Sql {
            line,
            column,
            construct: construct.into(),
            message: message.into(),
        }
    }
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The store's errors become the processor's at the door to the log (`io::log_store`): the
/// conditions every log can report get the processor's own names.
impl From<log_store::Error> for Error {
    fn from(e: log_store::Error) -> Error {
        match e {
            log_store::Error::UnknownTopic { topic } => Error::UnknownTopic { topic },
            log_store::Error::TopicExists { topic } => Error::TopicExists { topic },
            other => Error::Log(other),
        }
    }
}

impl Error {
    /// True when the cause is a full disk or quota: the run waits for space and resumes from
    /// its checkpoint instead of failing for good.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Log(e) => e.is_disk_full(),
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ),
            _ => false,
        }
    }
}
