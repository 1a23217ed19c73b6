//! What a produce can fail with, naming what and where: mapped to statuses in `http/error.rs`
//! and to error codes by the Kafka listener.

use std::fmt;
use std::sync::Arc;

/// Why a produce was refused or failed, naming where (line and column, event, topic, key) and
/// which limit.
#[derive(Debug, Clone)]
pub enum ProduceError {
    /// The body holds nothing but whitespace.
    EmptyBody,
    /// The body is not UTF-8 from this place on (1-based line and column, in characters).
    BadUtf8 { line: usize, column: usize },
    /// The body is not JSON here; `reason` is the parser's.
    BadJson {
        line: usize,
        column: usize,
        reason: String,
    },
    /// More events than `--max-events-per-request`.
    TooManyEvents { events: usize, limit: usize },
    /// Event `index` is larger than `--max-event-bytes`.
    EventTooLarge {
        index: usize,
        bytes: usize,
        limit: usize,
    },
    /// The idempotency key was first used with another body or key parameter on this topic.
    KeyReused { topic: String, key: String },
    /// Another request with this idempotency key is being handled.
    KeyInProgress { key: String },
    /// The partition's appender thread went away before answering.
    AppenderStopped,
    /// The blocking worker parsing the body failed.
    Worker(String),
    /// The log refused or failed the append (shared: one failed batch answers every request
    /// merged into it).
    Log(Arc<log_store::Error>),
}

impl fmt::Display for ProduceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProduceError::EmptyBody => write!(f, "the request body holds no events"),
            ProduceError::BadUtf8 { line, column } => write!(
                f,
                "invalid UTF-8 at line {line} column {column}; nothing was appended"
            ),
            ProduceError::BadJson {
                line,
                column,
                reason,
            } => write!(
                f,
                "invalid JSON at line {line} column {column}: {reason}; nothing was appended"
            ),
            ProduceError::TooManyEvents { events, limit } => write!(
                f,
                "request holds {events} events; the limit is {limit} per request \
                 (--max-events-per-request)"
            ),
            ProduceError::EventTooLarge {
                index,
                bytes,
                limit,
            } => write!(
                f,
                "event {index} is {bytes} bytes; the limit is {limit} bytes per event \
                 (--max-event-bytes)"
            ),
            ProduceError::KeyReused { topic, key } => write!(
                f,
                "Idempotency-Key {key:?} was used for a different request on topic {topic}: \
                 a retry must repeat the same body and key parameter (use a new key for new events)"
            ),
            ProduceError::KeyInProgress { key } => write!(
                f,
                "a request with Idempotency-Key {key:?} is still being handled"
            ),
            ProduceError::AppenderStopped => write!(f, "the partition's appender stopped"),
            ProduceError::Worker(e) => write!(f, "worker failed: {e}"),
            ProduceError::Log(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ProduceError {}

impl From<log_store::Error> for ProduceError {
    fn from(e: log_store::Error) -> Self {
        ProduceError::Log(Arc::new(e))
    }
}
