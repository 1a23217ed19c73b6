//! The log store's one public error type. Each variant carries what a person needs to find the
//! bytes: topic, partition, offset, file and position.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt record in topic {topic} partition {partition} at offset {offset} ({}, byte {position}): {reason}", segment.display())]
    Corrupt {
        topic: String,
        partition: u32,
        offset: u64,
        segment: PathBuf,
        position: u64,
        reason: String,
    },
    #[error("offset {requested} is out of range for topic {topic} partition {partition} (earliest {earliest}, latest {latest})")]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        requested: u64,
        earliest: u64,
        latest: u64,
    },
    #[error("unknown topic {topic:?}")]
    UnknownTopic { topic: String },
    #[error("topic {topic} has no partition {partition} (it has {partitions})")]
    UnknownPartition {
        topic: String,
        partition: u32,
        partitions: u32,
    },
    #[error("topic {topic:?} already exists")]
    TopicExists { topic: String },
    #[error("the store holds {max} topics, its limit (TOPICS_MAX); delete one first")]
    TooManyTopics { max: usize },
    #[error("invalid name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("invalid config: {reason}")]
    InvalidConfig { reason: String },
    #[error("record of {bytes} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge { bytes: usize, max: usize },
    #[error("batch of {records} records exceeds the limit of {max}")]
    BatchTooLarge { records: usize, max: usize },
    #[error("batch of {bytes} encoded bytes does not fit one segment of {max} bytes (a batch never spans segments)")]
    BatchBytesTooLarge { bytes: usize, max: u64 },
    #[error("invalid record: {reason}")]
    InvalidRecord { reason: String },
    #[error("data directory {} is locked by another process", path.display())]
    Locked { path: PathBuf },
}

impl Error {
    /// True when the cause is a full disk or quota (ENOSPC/EDQUOT), which callers report as 507.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::ENOSPC) | Some(libc::EDQUOT)
            ),
            _ => false,
        }
    }
}
