//! One partition: its segments, its single writer, group commit, reads and waiting.

use crate::error::Result;
use crate::record::{AppendRecord, Record};
use crate::types::{Offset, PartitionId};

/// What an append returns once it is durable under the fsync policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: Offset,
    pub count: u32,
    /// The append timestamp given to every record of the batch.
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionStats {
    pub start_offset: u64,
    /// The published end: the next offset to be written and visible.
    pub end_offset: u64,
    pub bytes: u64,
    pub segments: u32,
}

#[derive(Debug)]
pub struct Partition {}

impl Partition {
    pub fn topic(&self) -> &str {
        todo!()
    }
    pub fn id(&self) -> PartitionId {
        todo!()
    }
    /// Appends the batch atomically (all visible or none) and returns once durable.
    pub fn append(&self, records: &[AppendRecord<'_>]) -> Result<Appended> {
        let _ = records;
        todo!()
    }
    /// Up to `max_records` / about `max_bytes` published records from `from`. Empty at the end;
    /// `Error::OffsetOutOfRange` below the start offset (retention) or past the end.
    pub fn read(&self, from: Offset, max_records: usize, max_bytes: usize) -> Result<Vec<Record>> {
        let _ = (from, max_records, max_bytes);
        todo!()
    }
    /// The first offset whose timestamp is >= `timestamp_ms`, or the end offset if none.
    pub fn offset_for_timestamp(&self, timestamp_ms: u64) -> Result<Offset> {
        let _ = timestamp_ms;
        todo!()
    }
    pub fn start_offset(&self) -> Offset {
        todo!()
    }
    /// The published end offset.
    pub fn end_offset(&self) -> Offset {
        todo!()
    }
    /// A listener that fires on the next publish. Take it, re-check `end_offset`, then wait:
    /// `listener.await` in async code, `listener.wait()` / `wait_timeout` in threads.
    pub fn listen(&self) -> event_listener::EventListener {
        todo!()
    }
    pub fn stats(&self) -> PartitionStats {
        todo!()
    }
    /// Checks every frame's CRC; returns the number of records checked.
    pub fn verify(&self) -> Result<u64> {
        todo!()
    }
}
