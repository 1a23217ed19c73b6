//! What opening (recovery) and verifying a store found: plain values returned to the caller.

use std::path::PathBuf;

use crate::error::Error;

/// A tail truncated during recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub bytes: u64,
    pub segment: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    pub truncated: Vec<TruncatedTail>,
    pub indexes_rebuilt: Vec<PathBuf>,
}

/// What `LogStore::verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// (topic, partition, records checked) for every intact partition.
    pub ok: Vec<(String, u32, u64)>,
    /// Every partition holding a corrupt record: the error names topic, partition, offset, file.
    pub corrupt: Vec<Error>,
}
