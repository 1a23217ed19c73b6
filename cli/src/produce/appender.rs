//! One appender thread per active partition that merges the produce requests queued for it into one
//! atomic log batch: concurrent small requests then share one append and one flush (on top of the
//! log's own group commit), the way a Kafka broker batches. Each request keeps its own contiguous
//! offsets inside the batch, in arrival order, and is answered with them.
//!
//! Bounded: a queue of `PRODUCE_QUEUE_DEPTH` requests per partition (a full queue makes the
//! handler wait: backpressure), and a merged batch of at most `BATCH_RECORDS_MAX` records and a
//! quarter of the topic's segment size (a request larger than that goes alone). A thread idle for
//! `IDLE_EXIT` exits, so threads are bounded by the partitions being written to. Dedicated
//! threads rather than tokio's blocking pool: a measured profile of one-event requests was
//! dominated by the pool's per-call thread hand-offs.
//!
//! A queue belongs to one partition *instance*, not to a name: a request is queued only on the
//! thread that holds the very `Partition` the request looked up (`Arc::ptr_eq`). A topic deleted
//! and re-created under the same name has new instances, so a thread still bound to the deleted
//! one never takes the new topic's writes (issue 10: they were acknowledged and lost).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use log_store::{AppendRecord, Partition, StampRun, BATCH_RECORDS_MAX};
use tokio::sync::oneshot;

use super::error::ProduceError;
use crate::limits::PRODUCE_QUEUE_DEPTH;

/// One request's share for one partition: its events as ranges of the request body.
pub struct Share {
    pub body: Bytes,
    pub events: Vec<Range<usize>>,
    pub keys: Vec<Option<Vec<u8>>>,
    /// Headers of the share's first record (the idempotency marker), if any.
    pub first_headers: Vec<(&'static str, Vec<u8>)>,
    /// Each event's own headers (Kafka record headers); empty when none has any.
    pub headers: Vec<Vec<(String, Bytes)>>,
    /// The request's append time, from a `Stamp` the request holds until it is answered.
    pub timestamp_ms: u64,
}

impl Share {
    fn bytes(&self) -> usize {
        self.events.iter().map(|r| r.len()).sum()
    }
}

/// The offsets a share got: `count` records from `base_offset`, stamped `timestamp_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub base_offset: u64,
    pub count: u32,
    pub timestamp_ms: u64,
}

struct Job {
    share: Share,
    reply: oneshot::Sender<Result<Placed, ProduceError>>,
}

/// How long an idle appender thread lingers before it exits (it is re-created on demand).
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// A running appender: the partition instance it writes to and its queue.
struct Queue {
    partition: Arc<Partition>,
    tx: SyncSender<Job>,
}

type Queues = Arc<Mutex<HashMap<(String, u32), Queue>>>;

#[derive(Default)]
pub struct Appenders {
    queues: Queues,
}

impl Appenders {
    /// Appends `share` to `partition` (merged with whatever else is queued) and returns where it
    /// landed once durable under the store's fsync policy.
    pub async fn append(
        &self,
        partition: &Arc<Partition>,
        segment_bytes: u64,
        share: Share,
    ) -> Result<Placed, ProduceError> {
        let (reply, rx) = oneshot::channel();
        let mut job = Job { share, reply };
        // An idle thread may exit between our taking its sender and sending: then start anew.
        for _ in 0..3 {
            let tx = self.queue(partition, segment_bytes);
            job = match tx.try_send(job) {
                Ok(()) => return rx.await.map_err(|_| stopped())?,
                Err(TrySendError::Full(job)) => {
                    // Backpressure: wait for room without holding an async worker.
                    match tokio::task::spawn_blocking(move || {
                        tx.send(job).map_err(|e| Box::new(e.0))
                    })
                    .await
                    {
                        Ok(Ok(())) => return rx.await.map_err(|_| stopped())?,
                        Ok(Err(job)) => *job,
                        Err(_) => return Err(stopped()),
                    }
                }
                Err(TrySendError::Disconnected(job)) => job,
            };
            leave(&self.queues, partition);
        }
        Err(stopped())
    }

    /// Forgets a topic's queues (on delete); their threads end when their queues drain.
    pub fn forget(&self, topic: &str) {
        self.queues
            .lock()
            .expect("appenders lock is never poisoned")
            .retain(|(t, _), _| t != topic);
    }

    fn queue(&self, partition: &Arc<Partition>, segment_bytes: u64) -> SyncSender<Job> {
        let mut queues = self
            .queues
            .lock()
            .expect("appenders lock is never poisoned");
        let key = key_of(partition);
        if let Some(q) = queues.get(&key) {
            if Arc::ptr_eq(&q.partition, partition) {
                return q.tx.clone();
            }
            // A queue of a deleted instance under the same name: replaced here; its thread
            // drains what it holds (those appends fail: the partition is deleted) and exits.
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(PRODUCE_QUEUE_DEPTH);
        let merge_bytes_max = (segment_bytes / 4).max(1 << 20) as usize;
        let (p, registry) = (partition.clone(), self.queues.clone());
        std::thread::Builder::new()
            .name(format!("append-{}", partition.id()))
            .spawn(move || run(p, rx, registry, merge_bytes_max))
            .expect("spawning an appender thread");
        queues.insert(
            key,
            Queue {
                partition: partition.clone(),
                tx: tx.clone(),
            },
        );
        tx
    }
}

/// Removes `partition`'s queue from the registry, only if it is still that instance's.
fn leave(registry: &Queues, partition: &Arc<Partition>) {
    let mut queues = registry.lock().expect("appenders lock is never poisoned");
    let key = key_of(partition);
    if queues
        .get(&key)
        .is_some_and(|q| Arc::ptr_eq(&q.partition, partition))
    {
        queues.remove(&key);
    }
}

fn key_of(partition: &Partition) -> (String, u32) {
    (partition.topic().to_string(), partition.id().0)
}

fn stopped() -> ProduceError {
    ProduceError::AppenderStopped
}

fn run(partition: Arc<Partition>, rx: Receiver<Job>, registry: Queues, merge_bytes_max: usize) {
    let _span = tracing::debug_span!(
        "appender",
        topic = partition.topic(),
        partition = partition.id().0
    )
    .entered();
    let mut held: Option<Job> = None;
    loop {
        let first = match held.take() {
            Some(j) => j,
            None => match rx.recv_timeout(IDLE_EXIT) {
                Ok(j) => j,
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    // Leave the registry first, then serve whatever raced in before exiting.
                    leave(&registry, &partition);
                    match rx.try_recv() {
                        Ok(j) => j,
                        Err(_) => return,
                    }
                }
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
        match append_merged(&partition, &jobs) {
            Ok((base, first_ms)) => {
                let mut next = base;
                // Each share's time as the log stamped it: its request's, raised to the newest
                // before it (as `append_stamped` does).
                let mut timestamp_ms = first_ms;
                for job in jobs {
                    let count = job.share.events.len() as u32;
                    timestamp_ms = timestamp_ms.max(job.share.timestamp_ms);
                    let _ = job.reply.send(Ok(Placed {
                        base_offset: next,
                        count,
                        timestamp_ms,
                    }));
                    next += u64::from(count);
                }
            }
            Err(e) => {
                let e = ProduceError::Log(Arc::new(e));
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
/// One append of every job's records, in job order; returns the batch's base offset and time.
fn append_merged(partition: &Partition, jobs: &[Job]) -> log_store::Result<(u64, u64)> {
    // Every record's headers: the share's marker on its first record, then the event's own.
    let headers: Vec<Vec<(&str, &[u8])>> = jobs
        .iter()
        .flat_map(|j| {
            let s = &j.share;
            (0..s.events.len()).map(move |i| {
                let mut h: Vec<(&str, &[u8])> = Vec::new();
                if i == 0 {
                    h.extend(s.first_headers.iter().map(|(n, v)| (*n, v.as_slice())));
                }
                if let Some(own) = s.headers.get(i) {
                    h.extend(own.iter().map(|(n, v)| (n.as_str(), &v[..])));
                }
                h
            })
        })
        .collect();
    let mut records = Vec::with_capacity(headers.len());
    let mut runs = Vec::with_capacity(jobs.len());
    let mut record_headers = headers.iter();
    for job in jobs {
        let s = &job.share;
        for (range, key) in s.events.iter().zip(&s.keys) {
            records.push(AppendRecord {
                key: key.as_deref(),
                headers: record_headers.next().expect("one header list per record"),
                value: &s.body[range.clone()],
            });
        }
        runs.push(StampRun {
            end: records.len(),
            ts: s.timestamp_ms,
        });
    }
    let appended = partition.append_stamped(&records, &runs)?;
    Ok((appended.base_offset.0, appended.timestamp_ms))
}
