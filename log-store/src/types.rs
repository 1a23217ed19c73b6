//! Newtypes for the log's vocabulary, so an offset and a partition number cannot be mixed up.
//! *Offset*: a logical record number in a partition. *PartitionId*: a partition's number within
//! its topic. (A byte position inside a segment file stays a plain integer: it never leaves the
//! segment and scan modules.)

use std::fmt;

/// A logical record number in a partition; dense, starting at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub u64);

/// A partition's number within its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PartitionId(pub u32);

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Consecutive records of one append batch that share a timestamp: the records below `end`
/// (and at or above the previous run's `end`) are stamped `ts`. A batch merged from several
/// produce requests has one run per request (DESIGN.md §2: one request, one append time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampRun {
    pub end: usize,
    pub ts: u64,
}
