//! Helpers shared by the integration tests: small stores, batches of numbered records.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use log_store::{
    AppendRecord, FsyncPolicy, LogStore, Offset, Partition, PartitionId, StoreConfig, Topic,
    TopicConfig, SEGMENT_BYTES_MIN,
};

pub fn open(dir: &Path, fsync: FsyncPolicy) -> LogStore {
    LogStore::open(dir, StoreConfig { fsync }).expect("open store")
}

pub fn small_topic(store: &LogStore, name: &str, partitions: u32) -> Arc<Topic> {
    store
        .create_topic(
            name,
            TopicConfig {
                partitions,
                segment_bytes: SEGMENT_BYTES_MIN,
                retention_ms: None,
                retention_bytes: None,
            },
        )
        .expect("create topic")
}

pub fn value(i: u64, len: usize) -> Vec<u8> {
    let mut v = format!("record-{i:010}-").into_bytes();
    v.resize(len.max(v.len()), b'a' + (i % 26) as u8);
    v
}

/// Appends records `from..from + n` (values from [`value`]) as one batch.
pub fn append_range(p: &Partition, from: u64, n: u64, len: usize) -> log_store::Appended {
    let values: Vec<Vec<u8>> = (from..from + n).map(|i| value(i, len)).collect();
    let records: Vec<AppendRecord<'_>> = values
        .iter()
        .map(|v| AppendRecord {
            value: v,
            ..Default::default()
        })
        .collect();
    p.append(&records).expect("append")
}

/// Reads everything from `from` to the published end.
pub fn read_all(p: &Partition, from: u64) -> Vec<log_store::Record> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let batch = p.read(Offset(next), 10_000, 1 << 20).expect("read");
        if batch.is_empty() {
            return out;
        }
        next = batch.last().expect("non-empty").offset + 1;
        out.extend(batch);
    }
}

pub fn partition(store: &LogStore, topic: &str, p: u32) -> Arc<Partition> {
    store
        .topic(topic)
        .expect("topic")
        .partition(PartitionId(p))
        .expect("partition")
        .clone()
}
