//! The store: the locked data directory, its topics and the shared clock.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::topic::{Topic, TopicConfig};

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
        StoreConfig { fsync: FsyncPolicy::Always }
    }
}

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

#[derive(Debug)]
pub struct LogStore {}

impl LogStore {
    /// Locks `dir` (exclusive; `Error::Locked` if another process holds it), creates it if
    /// missing, and opens and recovers every topic under `dir/topics`.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<LogStore> {
        let _ = (dir, config);
        todo!()
    }
    pub fn dir(&self) -> &Path {
        todo!()
    }
    pub fn config(&self) -> &StoreConfig {
        todo!()
    }
    pub fn recovery_report(&self) -> &RecoveryReport {
        todo!()
    }
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Arc<Topic>> {
        let _ = (name, config);
        todo!()
    }
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        let _ = name;
        todo!()
    }
    /// All topics, sorted by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        todo!()
    }
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        let _ = name;
        todo!()
    }
    pub fn clock(&self) -> &Clock {
        todo!()
    }
    /// Every record with a timestamp at or below this is published, in every partition.
    pub fn safe_time_ms(&self) -> u64 {
        self.clock().safe_time_ms()
    }
    /// Flushes every partition's written bytes (used by `interval` and at shutdown).
    pub fn flush_all(&self) -> Result<()> {
        todo!()
    }
    /// Applies retention to every topic; returns the number of segments deleted.
    pub fn apply_retention(&self) -> Result<usize> {
        todo!()
    }
}
