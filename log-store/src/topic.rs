//! A topic: its config (`topic.json`) and its partitions.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::partition::Partition;
use crate::types::PartitionId;

/// Stored as `<data>/topics/<topic>/topic.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    pub partitions: u32,
    pub segment_bytes: u64,
    /// Delete sealed segments whose newest record is older than this; `None` keeps forever.
    pub retention_ms: Option<u64>,
    /// Delete the oldest sealed segments while the partition is larger than this.
    pub retention_bytes: Option<u64>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig { partitions: 1, segment_bytes: crate::limits::SEGMENT_BYTES_DEFAULT, retention_ms: None, retention_bytes: None }
    }
}

#[derive(Debug)]
pub struct Topic {}

impl Topic {
    pub fn name(&self) -> &str {
        todo!()
    }
    pub fn config(&self) -> &TopicConfig {
        todo!()
    }
    pub fn partitions(&self) -> &[Arc<Partition>] {
        todo!()
    }
    pub fn partition(&self, id: PartitionId) -> Result<&Arc<Partition>> {
        let _ = id;
        todo!()
    }
}
