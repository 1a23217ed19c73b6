//! The processor's connector to Apache Kafka (`'connector' = 'kafka'`, cargo feature `kafka`):
//! a `Log` whose sources read assigned partitions by offset and whose sinks append as the
//! topic's single writer, through a small synchronous client over the `kafka-protocol` codec.
//! What the guarantees need from the cluster is written in `source` (the safe time) and `sink`
//! (one writer per output topic).

pub mod batch;
pub mod client;
pub mod sink;
pub mod source;

use std::time::Duration;

use crate::error::Result;
use crate::io::{Log, Sink, Source};

/// A Kafka cluster, by its bootstrap servers (`'properties.bootstrap.servers'`).
pub struct KafkaLog {
    bootstrap_servers: String,
}

impl KafkaLog {
    pub fn new(bootstrap_servers: &str) -> KafkaLog {
        KafkaLog {
            bootstrap_servers: bootstrap_servers.to_string(),
        }
    }
}

impl Log for KafkaLog {
    fn source(&self, topics: &[&str]) -> Result<Box<dyn Source>> {
        Ok(Box::new(source::KafkaSource::open(
            &self.bootstrap_servers,
            topics,
        )?))
    }

    fn sink(&self, topic: &str) -> Result<Box<dyn Sink>> {
        Ok(Box::new(sink::KafkaSink::open(
            &self.bootstrap_servers,
            topic,
        )?))
    }

    fn waiter(&self, _topic: &str) -> Box<dyn Fn(Duration) + Send + Sync> {
        // The cluster sends no notification; the run loop's timeout is the poll interval.
        Box::new(std::thread::sleep)
    }

    fn topics(&self) -> Result<Vec<String>> {
        Ok(client::Client::connect(&self.bootstrap_servers)?.topic_names())
    }

    fn has_topic(&self, topic: &str) -> Result<bool> {
        Ok(client::Client::connect(&self.bootstrap_servers)?
            .partitions(topic)?
            .is_some())
    }

    /// Without a source's partitions to ask, only the wall-clock bound holds (`source`).
    fn safe_time_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            .saturating_sub(crate::limits::KAFKA_SAFE_TIME_DELAY_MS)
    }
}
