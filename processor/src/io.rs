//! The source/sink boundary: the only way the runtime reaches a log. `Source` fetches bounded
//! batches of owned records from a position and answers the safe time; `Sink` appends a batch
//! to one output partition (durable when it returns) and reads back what is stored, which the
//! exactly-once writer compares against. A `Log` opens both for topic names. `log_store`
//! implements them over kappa's log; `memory` is the deterministic in-memory log that tests
//! script; `kafka` (cargo feature `kafka`) reads and writes an Apache Kafka cluster.

#[cfg(feature = "kafka")]
pub mod kafka;
pub mod log_store;
pub mod memory;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

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

/// A log a processor's topics live on: opens sources and sinks by topic name.
pub trait Log: Send + Sync {
    /// A source over every partition of `topics`; an unknown topic is `InvalidDefinition`.
    fn source(&self, topics: &[&str]) -> Result<Box<dyn Source>>;
    /// A sink into `topic`, created (one partition) if it does not exist.
    fn sink(&self, topic: &str) -> Result<Box<dyn Sink>>;
    /// A wait for new records in `topic` (or the timeout) that holds no lock on a source.
    fn waiter(&self, topic: &str) -> Box<dyn Fn(Duration) + Send + Sync>;
    /// The names of the topics that exist.
    fn topics(&self) -> Result<Vec<String>>;
    fn has_topic(&self, topic: &str) -> Result<bool> {
        Ok(self.topics()?.iter().any(|t| t == topic))
    }
    /// Every record stamped at or below this is readable, in every topic (`Source::safe_time_ms`).
    fn safe_time_ms(&self) -> u64;
}

/// The log of a processor's tables: `own` (the log the processors' manager runs on) unless the
/// SQL names another connector.
pub fn log_for(own: &Arc<dyn Log>, connector: &crate::plan::Connector) -> Result<Arc<dyn Log>> {
    use crate::plan::Connector;
    match connector {
        Connector::Kappa => Ok(Arc::clone(own)),
        #[cfg(feature = "kafka")]
        Connector::Kafka { bootstrap_servers } => {
            Ok(Arc::new(kafka::KafkaLog::new(bootstrap_servers)))
        }
        #[cfg(not(feature = "kafka"))]
        Connector::Kafka { .. } => Err(crate::Error::InvalidDefinition {
            message: "'connector' = 'kafka': this build has no Kafka connector (cargo feature \
                      `kafka` of the processor crate)"
                .into(),
        }),
    }
}

/// How the timestamps of a source's records were assigned, as far as it has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timestamps {
    /// Nothing read yet.
    #[default]
    Unknown,
    /// Stamped by the log when appended: never decreasing per partition (kappa's own log
    /// always; Kafka with `message.timestamp.type=LogAppendTime`).
    LogAppendTime,
    /// Set by producers (Kafka's default `CreateTime`).
    CreateTime,
    /// Both kinds were read.
    Mixed,
}

impl Timestamps {
    pub fn and(self, other: Timestamps) -> Timestamps {
        match (self, other) {
            (Timestamps::Unknown, t) | (t, Timestamps::Unknown) => t,
            (a, b) if a == b => a,
            _ => Timestamps::Mixed,
        }
    }
}

/// Which log a processor reads and what its guarantees rest on (the processor status' `log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogInfo {
    /// `kappa` or `kafka`.
    pub connector: &'static str,
    pub bootstrap_servers: Option<String>,
    pub timestamps: Timestamps,
    /// The deterministic merge holds (live output equals a replay's, byte for byte): the
    /// record timestamps are append times.
    pub deterministic: bool,
}

impl LogInfo {
    pub fn new(
        connector: &'static str,
        bootstrap_servers: Option<String>,
        timestamps: Timestamps,
    ) -> LogInfo {
        LogInfo {
            connector,
            bootstrap_servers,
            timestamps,
            deterministic: matches!(timestamps, Timestamps::Unknown | Timestamps::LogAppendTime),
        }
    }
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
    /// Which log this is and how its timestamps are assigned.
    fn log(&self) -> LogInfo {
        LogInfo::new("kappa", None, Timestamps::LogAppendTime)
    }
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
