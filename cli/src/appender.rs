//! One appender task per partition that merges the produce requests queued for it into one
//! atomic log batch: concurrent small requests then share one append and one flush (on top of the
//! log's own group commit), the way a Kafka broker batches. Each request keeps its own contiguous
//! offsets inside the batch, in arrival order, and is answered with them.
//!
//! Bounded: a queue of `PRODUCE_QUEUE_DEPTH` requests per partition (a full queue makes the
//! handler wait: backpressure), and a merged batch of at most `BATCH_RECORDS_MAX` records and a
//! quarter of the topic's segment size (a request larger than that goes alone).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use log_store::{AppendRecord, Partition, BATCH_RECORDS_MAX};
use tokio::sync::{mpsc, oneshot};

use crate::http::error::ApiError;
use crate::limits::PRODUCE_QUEUE_DEPTH;

/// One request's share for one partition: its events as ranges of the request body.
pub struct Share {
    pub body: Bytes,
    pub events: Vec<Range<usize>>,
    pub keys: Vec<Option<Vec<u8>>>,
    /// Headers of the share's first record (the idempotency marker), if any.
    pub first_headers: Vec<(&'static str, Vec<u8>)>,
}

impl Share {
    fn bytes(&self) -> usize {
        self.events.iter().map(|r| r.len()).sum()
    }
}

/// The offsets a share got: `count` records from `base_offset`.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub base_offset: u64,
    pub count: u32,
}

struct Job {
    share: Share,
    reply: oneshot::Sender<Result<Placed, ApiError>>,
}

#[derive(Default)]
pub struct Appenders {
    queues: Mutex<HashMap<(String, u32), mpsc::Sender<Job>>>,
}

impl Appenders {
    /// Appends `share` to `partition` (merged with whatever else is queued) and returns where it
    /// landed once durable under the store's fsync policy.
    pub async fn append(&self, partition: &Arc<Partition>, segment_bytes: u64, share: Share) -> Result<Placed, ApiError> {
        let tx = self.queue(partition, segment_bytes);
        let (reply, rx) = oneshot::channel();
        tx.send(Job { share, reply }).await.map_err(|_| ApiError::internal("the partition's appender stopped"))?;
        rx.await.map_err(|_| ApiError::internal("the partition's appender stopped"))?
    }

    /// Forgets a topic's queues (on delete); their tasks end when the last request is answered.
    pub fn forget(&self, topic: &str) {
        self.queues.lock().expect("appenders lock is never poisoned").retain(|(t, _), _| t != topic);
    }

    fn queue(&self, partition: &Arc<Partition>, segment_bytes: u64) -> mpsc::Sender<Job> {
        let mut queues = self.queues.lock().expect("appenders lock is never poisoned");
        let key = (partition.topic().to_string(), partition.id().0);
        if let Some(tx) = queues.get(&key).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(PRODUCE_QUEUE_DEPTH);
        let merge_bytes_max = (segment_bytes / 4).max(1 << 20) as usize;
        tokio::spawn(run(partition.clone(), rx, merge_bytes_max));
        queues.insert(key, tx.clone());
        tx
    }
}

async fn run(partition: Arc<Partition>, mut rx: mpsc::Receiver<Job>, merge_bytes_max: usize) {
    let mut held: Option<Job> = None;
    loop {
        let first = match held.take() {
            Some(j) => j,
            None => match rx.recv().await {
                Some(j) => j,
                None => return,
            },
        };
        let (mut records, mut bytes) = (first.share.events.len(), first.share.bytes());
        let mut jobs = vec![first];
        while let Ok(next) = rx.try_recv() {
            let (r, b) = (next.share.events.len(), next.share.bytes());
            if records + r > BATCH_RECORDS_MAX || bytes + b > merge_bytes_max {
                held = Some(next);
                break;
            }
            records += r;
            bytes += b;
            jobs.push(next);
        }
        let p = partition.clone();
        let appended = tokio::task::spawn_blocking(move || {
            let result = append_merged(&p, &jobs);
            (jobs, result)
        })
        .await;
        let Ok((jobs, result)) = appended else {
            tracing::error!(topic = partition.topic(), partition = partition.id().0, "appender worker panicked");
            return;
        };
        match result {
            Ok(base) => {
                let mut next = base;
                for job in jobs {
                    let count = job.share.events.len() as u32;
                    let _ = job.reply.send(Ok(Placed { base_offset: next, count }));
                    next += u64::from(count);
                }
            }
            Err(e) => {
                let e = ApiError::from(e);
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One append of every job's records, in job order; returns the batch's base offset.
fn append_merged(partition: &Partition, jobs: &[Job]) -> log_store::Result<u64> {
    let headers: Vec<Vec<(&str, &[u8])>> =
        jobs.iter().map(|j| j.share.first_headers.iter().map(|(n, v)| (*n, v.as_slice())).collect()).collect();
    let mut records = Vec::with_capacity(jobs.iter().map(|j| j.share.events.len()).sum());
    for (job, first_headers) in jobs.iter().zip(&headers) {
        let s = &job.share;
        for (i, (range, key)) in s.events.iter().zip(&s.keys).enumerate() {
            records.push(AppendRecord {
                key: key.as_deref(),
                headers: if i == 0 { first_headers } else { &[] },
                value: &s.body[range.clone()],
            });
        }
    }
    Ok(partition.append(&records)?.base_offset.0)
}
