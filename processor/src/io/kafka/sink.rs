//! `Sink` into one topic of an Apache Kafka cluster. The processor must be the topic's only
//! writer: every batch is checked to land at the offset the exactly-once writer expects, and
//! a batch that lands elsewhere stops the processor with an error naming both offsets.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::io::kafka::client::{Client, LATEST};
use crate::io::{Sink, StoredRecord};
use crate::limits::{FETCH_BYTES_MAX, KAFKA_PRODUCE_BATCH_BYTES_MAX};
use crate::operator::OutRecord;

pub struct KafkaSink {
    client: Mutex<Client>,
    topic: String,
    partitions: u32,
}

impl KafkaSink {
    /// Opens `topic`, creating it with one partition if the cluster does not have it.
    pub fn open(bootstrap: &str, topic: &str) -> Result<KafkaSink> {
        let mut client = Client::connect(bootstrap)?;
        let partitions = match client.partitions(topic)? {
            Some(n) => n,
            None => {
                client.create_topic(topic, 1)?;
                client.partitions(topic)?.unwrap_or(1)
            }
        };
        Ok(KafkaSink {
            client: Mutex::new(client),
            topic: topic.to_string(),
            partitions,
        })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().expect("kafka client lock poisoned")
    }

    /// One produce request: lands at the partition's end, or the processor stops.
    fn append_batch(&self, partition: u32, records: &[OutRecord]) -> Result<()> {
        let mut client = self.client();
        let expected = client.list_offset(&self.topic, partition, LATEST)?.0.max(0) as u64;
        let batch: Vec<(Option<&[u8]>, &[u8])> = records
            .iter()
            .map(|r| (r.key.as_deref(), r.value.as_slice()))
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let base = client.produce(&self.topic, partition, &batch, now)?;
        if base != expected {
            return Err(Error::Diverged {
                topic: self.topic.clone(),
                partition,
                offset: base,
                reason: format!(
                    "the batch landed at offset {base}, not at the end {expected} this processor \
                     wrote up to: another producer writes to its output topic"
                ),
            });
        }
        Ok(())
    }
}

/// A record's framing in a batch, about (length, attributes, varints, header count).
const RECORD_OVERHEAD_BYTES: usize = 24;

impl Sink for KafkaSink {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn partitions(&self) -> u32 {
        self.partitions
    }

    fn end_offset(&self, partition: u32) -> Result<u64> {
        Ok(self
            .client()
            .list_offset(&self.topic, partition, LATEST)?
            .0
            .max(0) as u64)
    }

    fn read(&self, partition: u32, from: u64, max_records: usize) -> Result<Vec<StoredRecord>> {
        let fetched = self
            .client()
            .fetch(&self.topic, partition, from, FETCH_BYTES_MAX)?;
        Ok(fetched
            .records
            .into_iter()
            .take(max_records)
            .map(|r| StoredRecord {
                key: r.key,
                value: r.value.unwrap_or_default(),
            })
            .collect())
    }

    /// Appends in batches of at most `KAFKA_PRODUCE_BATCH_BYTES_MAX` (a broker refuses batches
    /// over its `message.max.bytes`, 1 MiB by default). A crash between two of them leaves a
    /// prefix, which the exactly-once writer compares on restart like any stored output.
    fn append(&mut self, partition: u32, records: &[OutRecord]) -> Result<()> {
        let mut start = 0;
        while start < records.len() {
            let mut bytes = 0;
            let mut end = start;
            while end < records.len() {
                let r = &records[end];
                let size =
                    r.value.len() + r.key.as_ref().map_or(0, Vec::len) + RECORD_OVERHEAD_BYTES;
                if end > start && bytes + size > KAFKA_PRODUCE_BATCH_BYTES_MAX {
                    break;
                }
                bytes += size;
                end += 1;
            }
            self.append_batch(partition, &records[start..end])?;
            start = end;
        }
        Ok(())
    }
}
