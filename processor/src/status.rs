//! What `GET /v1/processors/{p}` shows (DESIGN.md §5, "Processor status").

use serde::Serialize;

use crate::io::LogInfo;
use crate::operator::StateSize;
use crate::task::{InputStatus, Start};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Processing, with lag > 0.
    Running,
    /// Processed everything published (lag 0); a live processor keeps waiting for more.
    CaughtUp,
    /// A bounded run (backfill, batch job) that wrote its final rows.
    Finished,
    /// Stopped by an error (divergence, limit, I/O); `error` says which.
    Failed,
    /// Stopped by the user, by shutdown, or superseded by a promoted version.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub name: String,
    pub version: u32,
    pub status: RunStatus,
    pub sql: String,
    pub output: String,
    pub late_topic: String,
    pub inputs: Vec<InputStatus>,
    /// Records behind, over all inputs.
    pub lag: u64,
    /// RFC 3339, or null before the first record.
    pub watermark: Option<String>,
    pub records_in: u64,
    pub records_out: u64,
    pub late_records: u64,
    /// Records that could not be processed (not JSON, no event time); also in the late topic.
    pub invalid_records: u64,
    /// Serialized operator state at the last checkpoint.
    pub state_bytes: u64,
    pub error: Option<String>,
    pub versions: Vec<VersionStatus>,
    /// The log the processor reads and writes (`connector`: kappa or kafka) and whether its
    /// guarantees hold there (`deterministic`); null until the current version has started.
    pub log: Option<LogInfo>,
    /// The current version's operator state, kind by kind, against each kind's ceiling (as of
    /// its last step).
    pub state: Vec<StateSize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionStatus {
    pub version: u32,
    pub status: RunStatus,
    /// The version the processor's name, results and output alias refer to.
    pub current: bool,
    pub output: String,
    pub late_topic: String,
    pub start: Start,
    /// Event-time start of a backfill (RFC 3339): earlier events are skipped.
    pub from: Option<String>,
    /// Event-time end of a bounded run (RFC 3339, exclusive), null for a live version.
    pub end: Option<String>,
    /// A bounded run that reached its end.
    pub finished: bool,
    pub lag: u64,
    /// This version's watermark (RFC 3339), null before its first event time.
    pub watermark: Option<String>,
    /// This version's input positions, with each partition's watermark.
    pub inputs: Vec<InputStatus>,
    pub records_in: u64,
    pub records_out: u64,
    pub late_records: u64,
    pub invalid_records: u64,
    /// Input records processed per second, over the last few seconds of running.
    pub events_per_s: f64,
    /// Seconds until caught up at that rate; null when idle or caught up.
    pub eta_s: Option<f64>,
    pub error: Option<String>,
}
