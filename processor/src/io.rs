//! The source/sink boundary: the only way the runtime reaches a log. `Source` fetches bounded
//! batches of owned records from a position and answers the safe time; `Sink` appends a batch
//! to one output partition (durable when it returns) and reads back what is stored, which the
//! exactly-once writer compares against. `log_store` implements both over kappa's log;
//! `memory` is the deterministic in-memory log that tests script. A Kafka source/sink would be
//! a third implementation behind a cargo feature, without touching operators.

pub mod log_store;
pub mod memory;

use std::time::Duration;

use bytes::Bytes;

use crate::error::Result;
use crate::operator::OutRecord;

/// One input partition of a processor. A source lists them in (topic, partition) order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputPartition {
    pub topic: String,
    pub partition: u32,
}

/// A record read from a source. Owned handles (zero-copy for sealed segments of the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub offset: u64,
    pub timestamp_ms: u64,
    pub key: Option<Bytes>,
    pub value: Bytes,
}

/// A record read back from a sink, for comparison with regenerated output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub key: Option<Bytes>,
    pub value: Bytes,
}

pub trait Source: Send {
    /// The input partitions, in (topic, partition) order; indexes below refer to this list.
    fn inputs(&self) -> &[InputPartition];
    /// Every record with a timestamp at or below this is already readable, in every input.
    fn safe_time_ms(&self) -> u64;
    /// Up to `max_records` published records of input `input` from offset `from`.
    fn fetch(&mut self, input: usize, from: u64, max_records: usize) -> Result<Vec<SourceRecord>>;
    fn start_offset(&self, input: usize) -> Result<u64>;
    fn end_offset(&self, input: usize) -> Result<u64>;
    /// The first offset of `input` whose record timestamp is >= `timestamp_ms` (end if none).
    fn offset_for_timestamp(&self, input: usize, timestamp_ms: u64) -> Result<u64>;
    /// Blocks until an input may have new records, or `timeout` passes.
    fn wait(&self, timeout: Duration);
}

pub trait Sink: Send {
    fn topic(&self) -> &str;
    fn partitions(&self) -> u32;
    fn end_offset(&self, partition: u32) -> Result<u64>;
    /// Up to `max_records` stored records of `partition` from `from`.
    fn read(&self, partition: u32, from: u64, max_records: usize) -> Result<Vec<StoredRecord>>;
    /// Appends the batch atomically to `partition`; returns when it is durable.
    fn append(&mut self, partition: u32, records: &[OutRecord]) -> Result<()>;
}
