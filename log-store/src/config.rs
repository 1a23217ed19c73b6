//! The store's and a topic's configuration: plain values, validated against the named limits.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{PARTITIONS_MAX, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN};

/// When appends are flushed (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Acknowledge after the bytes are flushed; concurrent appends share one flush.
    Always,
    /// Flush at most this often; a machine crash may lose the unflushed tail.
    Interval(Duration),
    /// Never flush explicitly; the OS writes back the map.
    Never,
}

impl FromStr for FsyncPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            _ => s
                .strip_prefix("interval:")
                .and_then(|ms| ms.parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map(|ms| FsyncPolicy::Interval(Duration::from_millis(ms)))
                .ok_or_else(|| Error::InvalidConfig {
                    reason: format!("fsync policy {s:?}: expected always, never or interval:<ms>"),
                }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub fsync: FsyncPolicy,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            fsync: FsyncPolicy::Always,
        }
    }
}

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
        TopicConfig {
            partitions: 1,
            segment_bytes: crate::limits::SEGMENT_BYTES_DEFAULT,
            retention_ms: None,
            retention_bytes: None,
        }
    }
}

impl TopicConfig {
    /// Refuses values outside the named limits.
    pub fn validate(&self) -> Result<()> {
        if self.partitions == 0 || self.partitions > PARTITIONS_MAX {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "partitions = {}: expected 1..={PARTITIONS_MAX}",
                    self.partitions
                ),
            });
        }
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "segment_bytes = {}: expected {SEGMENT_BYTES_MIN}..={SEGMENT_BYTES_MAX}",
                    self.segment_bytes
                ),
            });
        }
        Ok(())
    }
}
