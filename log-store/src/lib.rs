//! `log-store`: kappa's durable log. Topics with partitions; each partition is a sequence of
//! segment files written through a memory map, with sparse offset and time indexes, CRC-32 per
//! record frame and crash recovery of the tail. A plain blocking API; it spawns no threads or
//! tasks and knows nothing of HTTP, SQL or async runtimes.
//!
//! The public contract (what `processor` and `cli` rely on):
//! - [`LogStore::open`] locks the data dir, recovers every topic and returns the store.
//! - [`Partition::append`] appends one batch atomically and returns once it is durable under the
//!   store's [`FsyncPolicy`] (concurrent appenders share flushes: group commit).
//! - [`Partition::read`] returns published records only; [`Partition::listen`] wakes on append.
//! - [`LogStore::safe_time_ms`] is the time at or below which every record is published.

mod clock;
mod commit;
mod config;
#[cfg(test)]
mod crash_tests;
mod error;
mod fault;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod index;
mod limits;
mod map_cache;
mod mmap;
mod names;
mod partition;
mod record;
mod recovery;
mod report;
mod scan;
mod segment;
mod stats;
mod storage;
mod store;
mod topic;
mod types;

pub use clock::{Clock, Stamp};
pub use config::{FsyncPolicy, StoreConfig, TopicConfig};
pub use error::{Error, Result};
pub use fault::{FaultInjector, NoFaults};
pub use limits::*;
pub use names::validate_name;
pub use partition::{Appended, Partition, PartitionStats};
pub use record::{AppendRecord, Record};
pub use report::{RecoveryReport, TruncatedTail, VerifyReport};
pub use stats::{FlushSnapshot, FlushStats, FLUSH_BUCKETS_S};
pub use store::LogStore;
pub use topic::Topic;
pub use types::{Offset, PartitionId, StampRun};
