//! An in-memory log for tests and simulation: topics of partitions of records with scripted
//! timestamps and a scripted safe time. It implements `Source` and `Sink` exactly as the log
//! store does, and can fail the n-th append to simulate a crash in the middle of a batch.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::io::{InputPartition, Log, Sink, Source, SourceRecord, StoredRecord};
use crate::operator::OutRecord;

#[derive(Debug, Default)]
struct Inner {
    topics: BTreeMap<String, Vec<Vec<SourceRecord>>>,
    /// The timestamp given to records appended through a `Sink`.
    clock_ms: u64,
    safe_time_ms: Option<u64>,
    /// Appends through sinks still allowed before they fail (None: unlimited).
    appends_left: Option<u64>,
}

/// A shared in-memory log; clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryLog {
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("memory log lock poisoned")
    }

    pub fn create_topic(&self, topic: &str, partitions: u32) {
        self.lock()
            .topics
            .entry(topic.to_string())
            .or_insert_with(|| vec![Vec::new(); partitions as usize]);
    }

    pub fn has_topic(&self, topic: &str) -> bool {
        self.lock().topics.contains_key(topic)
    }

    /// Appends one record with an explicit timestamp (creating the topic with `partition + 1`
    /// partitions if needed); returns its offset.
    pub fn append(
        &self,
        topic: &str,
        partition: u32,
        timestamp_ms: u64,
        key: Option<&[u8]>,
        value: &[u8],
    ) -> u64 {
        let mut inner = self.lock();
        let parts = inner.topics.entry(topic.to_string()).or_default();
        while parts.len() <= partition as usize {
            parts.push(Vec::new());
        }
        let p = &mut parts[partition as usize];
        let offset = p.len() as u64;
        p.push(SourceRecord {
            offset,
            timestamp_ms,
            key: key.map(Bytes::copy_from_slice),
            value: Bytes::copy_from_slice(value),
        });
        inner.clock_ms = inner.clock_ms.max(timestamp_ms);
        offset
    }

    /// Sets the safe time (default: everything appended is safe).
    pub fn set_safe_time(&self, safe_time_ms: Option<u64>) {
        self.lock().safe_time_ms = safe_time_ms;
    }

    /// Lets `n` more sink appends succeed, then fails every later one (None: never fail).
    pub fn fail_appends_after(&self, n: Option<u64>) {
        self.lock().appends_left = n;
    }

    /// Every record of a partition.
    pub fn records(&self, topic: &str, partition: u32) -> Vec<SourceRecord> {
        self.lock()
            .topics
            .get(topic)
            .and_then(|p| p.get(partition as usize))
            .cloned()
            .unwrap_or_default()
    }

    /// Overwrites the value of one stored record (to simulate divergent stored output).
    pub fn overwrite(&self, topic: &str, partition: u32, offset: u64, value: &[u8]) {
        let mut inner = self.lock();
        let r = &mut inner.topics.get_mut(topic).expect("topic exists")[partition as usize]
            [offset as usize];
        r.value = Bytes::copy_from_slice(value);
    }

    /// A source over these topics' partitions.
    pub fn source(&self, topics: &[&str]) -> MemorySource {
        let inner = self.lock();
        let mut inputs = Vec::new();
        for t in topics {
            let n = inner.topics.get(*t).map_or(1, |p| p.len().max(1));
            inputs.extend((0..n as u32).map(|partition| InputPartition {
                topic: t.to_string(),
                partition,
            }));
        }
        inputs.sort();
        MemorySource {
            log: self.clone(),
            inputs,
        }
    }

    /// A sink appending to `topic` (created with `partitions` partitions if missing).
    pub fn sink(&self, topic: &str, partitions: u32) -> MemorySink {
        self.create_topic(topic, partitions);
        MemorySink {
            log: self.clone(),
            topic: topic.to_string(),
        }
    }

    fn partition_len(&self, topic: &str, partition: u32) -> u64 {
        self.lock()
            .topics
            .get(topic)
            .and_then(|p| p.get(partition as usize))
            .map_or(0, |p| p.len() as u64)
    }
}

impl Log for MemoryLog {
    fn source(&self, topics: &[&str]) -> Result<Box<dyn Source>> {
        if let Some(t) = topics.iter().find(|t| !self.has_topic(t)) {
            return Err(Error::UnknownTopic {
                topic: t.to_string(),
            });
        }
        Ok(Box::new(MemoryLog::source(self, topics)))
    }
    fn sink(&self, topic: &str) -> Result<Box<dyn Sink>> {
        Ok(Box::new(MemoryLog::sink(self, topic, 1)))
    }
    fn waiter(&self, _topic: &str) -> Box<dyn Fn(Duration) + Send + Sync> {
        Box::new(|timeout: Duration| std::thread::sleep(timeout.min(Duration::from_millis(1))))
    }
    fn topics(&self) -> Result<Vec<String>> {
        Ok(self.lock().topics.keys().cloned().collect())
    }
    fn has_topic(&self, topic: &str) -> Result<bool> {
        Ok(MemoryLog::has_topic(self, topic))
    }
    fn safe_time_ms(&self) -> u64 {
        let inner = self.lock();
        inner.safe_time_ms.unwrap_or(u64::MAX)
    }
}

pub struct MemorySource {
    log: MemoryLog,
    inputs: Vec<InputPartition>,
}

impl Source for MemorySource {
    fn inputs(&self) -> &[InputPartition] {
        &self.inputs
    }
    fn safe_time_ms(&self) -> u64 {
        self.log.lock().safe_time_ms.unwrap_or(u64::MAX)
    }
    fn fetch(&mut self, input: usize, from: u64, max_records: usize) -> Result<Vec<SourceRecord>> {
        let i = &self.inputs[input];
        let records = self.log.records(&i.topic, i.partition);
        Ok(records
            .into_iter()
            .skip(from as usize)
            .take(max_records)
            .collect())
    }
    fn start_offset(&self, _input: usize) -> Result<u64> {
        Ok(0)
    }
    fn end_offset(&self, input: usize) -> Result<u64> {
        let i = &self.inputs[input];
        Ok(self.log.partition_len(&i.topic, i.partition))
    }
    fn offset_for_timestamp(&self, input: usize, timestamp_ms: u64) -> Result<u64> {
        let i = &self.inputs[input];
        let records = self.log.records(&i.topic, i.partition);
        Ok(records
            .iter()
            .position(|r| r.timestamp_ms >= timestamp_ms)
            .unwrap_or(records.len()) as u64)
    }
    fn wait(&self, timeout: Duration) {
        std::thread::sleep(timeout.min(Duration::from_millis(1)));
    }
}

pub struct MemorySink {
    log: MemoryLog,
    topic: String,
}

impl Sink for MemorySink {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn partitions(&self) -> u32 {
        self.log
            .lock()
            .topics
            .get(&self.topic)
            .map_or(1, |p| p.len() as u32)
    }
    fn end_offset(&self, partition: u32) -> Result<u64> {
        Ok(self.log.partition_len(&self.topic, partition))
    }
    fn read(&self, partition: u32, from: u64, max_records: usize) -> Result<Vec<StoredRecord>> {
        let records = self.log.records(&self.topic, partition);
        Ok(records
            .into_iter()
            .skip(from as usize)
            .take(max_records)
            .map(|r| StoredRecord {
                key: r.key,
                value: r.value,
            })
            .collect())
    }
    fn append(&mut self, partition: u32, records: &[OutRecord]) -> Result<()> {
        let mut inner = self.log.lock();
        if let Some(left) = inner.appends_left.as_mut() {
            if *left == 0 {
                return Err(Error::Io {
                    op: "append (simulated crash)",
                    path: self.topic.clone().into(),
                    source: std::io::Error::other("injected failure"),
                });
            }
            *left -= 1;
        }
        let ts = inner.clock_ms;
        let p = &mut inner
            .topics
            .get_mut(&self.topic)
            .expect("sink topic exists")[partition as usize];
        for r in records {
            let offset = p.len() as u64;
            p.push(SourceRecord {
                offset,
                timestamp_ms: ts,
                key: r.key.as_deref().map(Bytes::copy_from_slice),
                value: Bytes::copy_from_slice(&r.value),
            });
        }
        Ok(())
    }
}
