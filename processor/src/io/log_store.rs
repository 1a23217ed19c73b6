//! The one module that uses `log_store`: `Source` and `Sink` over kappa's own log. Reads are
//! owned `Bytes` handles (zero-copy for sealed segments); waiting uses the partitions'
//! listeners with a timeout, because the safe time also advances while the log is idle.

use std::sync::Arc;
use std::time::Duration;

use event_listener::Listener;
use log_store::{AppendRecord, LogStore, Offset, Partition, Topic, TopicConfig};

use crate::error::{Error, Result};
use crate::io::{InputPartition, Log, Sink, Source, SourceRecord, StoredRecord};
use crate::limits::FETCH_BYTES_MAX;
use crate::operator::OutRecord;

/// kappa's own log as a processor's `Log`.
pub struct StoreLog(pub Arc<LogStore>);

impl Log for StoreLog {
    fn source(&self, topics: &[&str]) -> Result<Box<dyn Source>> {
        Ok(Box::new(LogSource::open(Arc::clone(&self.0), topics)?))
    }
    fn sink(&self, topic: &str) -> Result<Box<dyn Sink>> {
        Ok(Box::new(LogSink::open(&self.0, topic)?))
    }
    fn waiter(&self, topic: &str) -> Box<dyn Fn(Duration) + Send + Sync> {
        match waiter(&self.0, topic) {
            Ok(w) => Box::new(w),
            Err(_) => Box::new(std::thread::sleep),
        }
    }
    fn topics(&self) -> Result<Vec<String>> {
        Ok(self
            .0
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .collect())
    }
    fn has_topic(&self, topic: &str) -> Result<bool> {
        Ok(self.0.topic(topic).is_ok())
    }
    fn safe_time_ms(&self) -> u64 {
        self.0.safe_time_ms()
    }
}

/// Reads every partition of the given topics.
pub struct LogSource {
    store: Arc<LogStore>,
    inputs: Vec<InputPartition>,
    partitions: Vec<Arc<Partition>>,
}

impl LogSource {
    pub fn open(store: Arc<LogStore>, topics: &[&str]) -> Result<LogSource> {
        let mut pairs = Vec::new();
        for t in topics {
            let topic = store.topic(t)?;
            for p in topic.partitions() {
                pairs.push((
                    InputPartition {
                        topic: t.to_string(),
                        partition: p.id().0,
                    },
                    Arc::clone(p),
                ));
            }
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        if pairs.len() > crate::limits::INPUT_PARTITIONS_MAX {
            return Err(Error::Limit {
                limit: "INPUT_PARTITIONS_MAX",
                max: crate::limits::INPUT_PARTITIONS_MAX as u64,
                what: "input partitions of one processor".into(),
            });
        }
        let (inputs, partitions) = pairs.into_iter().unzip();
        Ok(LogSource {
            store,
            inputs,
            partitions,
        })
    }
}

impl Source for LogSource {
    fn inputs(&self) -> &[InputPartition] {
        &self.inputs
    }
    fn safe_time_ms(&self) -> u64 {
        self.store.safe_time_ms()
    }
    fn fetch(&mut self, input: usize, from: u64, max_records: usize) -> Result<Vec<SourceRecord>> {
        let records = self.partitions[input].read(Offset(from), max_records, FETCH_BYTES_MAX)?;
        Ok(records
            .into_iter()
            .map(|r| SourceRecord {
                offset: r.offset,
                timestamp_ms: r.timestamp_ms,
                key: r.key,
                value: r.value,
            })
            .collect())
    }
    fn start_offset(&self, input: usize) -> Result<u64> {
        Ok(self.partitions[input].start_offset().0)
    }
    fn end_offset(&self, input: usize) -> Result<u64> {
        Ok(self.partitions[input].end_offset().0)
    }
    fn offset_for_timestamp(&self, input: usize, timestamp_ms: u64) -> Result<u64> {
        Ok(self.partitions[input].offset_for_timestamp(timestamp_ms)?.0)
    }
    fn wait(&self, timeout: Duration) {
        // One listener is enough: another partition's append is picked up at the next timeout
        // at the latest, and the timeout is short anyway (the safe time moves with wall time).
        match self.partitions.first() {
            Some(p) => {
                let listener = p.listen();
                let _ = listener.wait_timeout(timeout);
            }
            None => std::thread::sleep(timeout),
        }
    }
}

/// A wait that needs no `LogSource`: sleeps on the first partition of `topic` until an append
/// or the timeout (used by processor threads while they hold no lock).
pub fn waiter(store: &LogStore, topic: &str) -> Result<impl Fn(Duration) + Send + Sync + 'static> {
    let partition = store.topic(topic)?.partitions().first().cloned();
    Ok(move |timeout: Duration| match &partition {
        Some(p) => {
            let listener = p.listen();
            let _ = listener.wait_timeout(timeout);
        }
        None => std::thread::sleep(timeout),
    })
}

/// Appends to one topic, creating it (one partition) if it does not exist.
pub struct LogSink {
    topic: Arc<Topic>,
    name: String,
}

impl LogSink {
    pub fn open(store: &LogStore, name: &str) -> Result<LogSink> {
        let topic = match store.topic(name) {
            Ok(t) => t,
            Err(log_store::Error::UnknownTopic { .. }) => {
                match store.create_topic(name, TopicConfig::default()) {
                    Ok(t) => t,
                    Err(log_store::Error::TopicExists { .. }) => store.topic(name)?,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        Ok(LogSink {
            topic,
            name: name.to_string(),
        })
    }

    fn partition(&self, partition: u32) -> Result<&Arc<Partition>> {
        Ok(self.topic.partition(log_store::PartitionId(partition))?)
    }
}

impl Sink for LogSink {
    fn topic(&self) -> &str {
        &self.name
    }
    fn partitions(&self) -> u32 {
        self.topic.partitions().len() as u32
    }
    fn end_offset(&self, partition: u32) -> Result<u64> {
        Ok(self.partition(partition)?.end_offset().0)
    }
    fn read(&self, partition: u32, from: u64, max_records: usize) -> Result<Vec<StoredRecord>> {
        let records =
            self.partition(partition)?
                .read(Offset(from), max_records, FETCH_BYTES_MAX)?;
        Ok(records
            .into_iter()
            .map(|r| StoredRecord {
                key: r.key,
                value: r.value,
            })
            .collect())
    }
    fn append(&mut self, partition: u32, records: &[OutRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let batch: Vec<AppendRecord<'_>> = records
            .iter()
            .map(|r| AppendRecord {
                key: r.key.as_deref(),
                headers: &[],
                value: &r.value,
            })
            .collect();
        self.partition(partition)?.append(&batch)?;
        Ok(())
    }
}
