//! Idempotent producers: producer ids, epochs and the last sequences per partition, so that a
//! retried batch is appended once (DESIGN.md §8).
//!
//! Surviving kill -9 needs no journal, as for HTTP's Idempotency-Key: the first record of every
//! idempotent batch carries a `kappa-producer` header (`id epoch first_sequence last_sequence`)
//! in the same atomic append as the batch. On start the server reads the keyed records of the
//! last window (`keyindex.rs`) and rebuilds the table. Producer ids are time-based, so ids
//! handed out after a restart never repeat earlier ones.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use crate::limits::{KAFKA_PRODUCERS_MAX, KAFKA_PRODUCER_BATCHES_KEPT};

use crate::produce::idempotency::HEADER_PRODUCER;

/// A batch already appended: its sequences and where it landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub base_offset: u64,
    pub timestamp_ms: u64,
}

/// One producer's state in one partition; locked across check and append.
#[derive(Debug, Default)]
pub struct Sequences {
    pub epoch: i16,
    pub recent: VecDeque<Landed>,
}

/// What to do with an incoming idempotent batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// A retry of a batch already appended: answer with where it landed.
    Duplicate(Landed),
    Refuse(i16, String),
}

impl Sequences {
    pub fn check(&mut self, epoch: i16, first: i32, last: i32) -> Verdict {
        if epoch < self.epoch {
            return Verdict::Refuse(
                ResponseError::InvalidProducerEpoch.code(),
                format!("producer epoch {epoch} is older than {}", self.epoch),
            );
        }
        if epoch > self.epoch {
            self.epoch = epoch;
            self.recent.clear();
        }
        if let Some(l) = self
            .recent
            .iter()
            .find(|l| l.first_sequence == first && l.last_sequence == last)
        {
            return Verdict::Duplicate(*l);
        }
        match self.recent.back() {
            Some(l) if first != l.last_sequence.wrapping_add(1) => Verdict::Refuse(
                ResponseError::OutOfOrderSequenceNumber.code(),
                format!("sequence {first} does not follow {}", l.last_sequence),
            ),
            _ => Verdict::Append,
        }
    }

    pub fn landed(&mut self, l: Landed) {
        if self.recent.len() >= KAFKA_PRODUCER_BATCHES_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(l);
    }
}

type Key = (i64, String, u32);

pub struct Producers {
    next_id: AtomicI64,
    table: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Sequences>>>>,
}

impl Producers {
    pub fn new(now_ms: u64) -> Producers {
        Producers {
            next_id: AtomicI64::new(now_ms as i64 * 1000),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// InitProducerId: a fresh id (epoch 0), or the same id with its epoch bumped (KIP-360).
    pub fn init(&self, r: &InitProducerIdRequest) -> InitProducerIdResponse {
        let mut resp = InitProducerIdResponse::default();
        if r.transactional_id.as_ref().is_some_and(|t| !t.0.is_empty()) {
            // Transactions are not supported (yet): the clearest refusal InitProducerId can carry.
            resp.error_code = ResponseError::UnsupportedVersion.code();
            resp.producer_id = ProducerId(-1);
            resp.producer_epoch = -1;
            return resp;
        }
        if r.producer_id.0 >= 0 && r.producer_epoch >= 0 && r.producer_epoch < i16::MAX {
            resp.producer_id = r.producer_id;
            resp.producer_epoch = r.producer_epoch + 1;
        } else {
            resp.producer_id = ProducerId(self.next_id.fetch_add(1, Ordering::Relaxed));
            resp.producer_epoch = 0;
        }
        resp
    }

    /// The state of `producer_id` in one partition (created empty), or `None` when the table is full.
    pub fn sequences(
        &self,
        producer_id: i64,
        topic: &str,
        partition: u32,
    ) -> Option<Arc<tokio::sync::Mutex<Sequences>>> {
        let mut table = self.table.lock().expect("producers lock is never poisoned");
        let key = (producer_id, topic.to_string(), partition);
        if let Some(s) = table.get(&key) {
            return Some(s.clone());
        }
        if table.len() >= KAFKA_PRODUCERS_MAX {
            return None;
        }
        Some(table.entry(key).or_default().clone())
    }

    /// Forgets a deleted topic's producers.
    pub fn forget(&self, topic: &str) {
        self.table
            .lock()
            .expect("producers lock is never poisoned")
            .retain(|(_, t, _), _| t != topic);
    }

    /// The header value for an idempotent batch's first record.
    pub fn header(producer_id: i64, epoch: i16, first: i32, last: i32) -> Vec<u8> {
        format!("{producer_id} {epoch} {first} {last}").into_bytes()
    }

    /// Takes one record of the window, in offset order per partition, into the table if it
    /// carries a `kappa-producer` header. Returns whether it did.
    pub fn recover_record(&self, topic: &str, partition: u32, r: &log_store::Record) -> bool {
        let Some((_, v)) = r.headers.iter().find(|(n, _)| n == HEADER_PRODUCER) else {
            return false;
        };
        let Some((id, epoch, first, last)) = parse_header(v) else {
            return false;
        };
        self.next_id.fetch_max(id + 1, Ordering::Relaxed);
        let Some(s) = self.sequences(id, topic, partition) else {
            return false;
        };
        let mut s = s.try_lock().expect("nothing else holds it at start");
        if epoch > s.epoch {
            s.epoch = epoch;
            s.recent.clear();
        }
        s.landed(Landed {
            first_sequence: first,
            last_sequence: last,
            base_offset: r.offset,
            timestamp_ms: r.timestamp_ms,
        });
        true
    }
}

fn parse_header(v: &[u8]) -> Option<(i64, i16, i32, i32)> {
    let s = std::str::from_utf8(v).ok()?;
    let mut it = s.split(' ');
    let id = it.next()?.parse().ok()?;
    let epoch = it.next()?.parse().ok()?;
    let first = it.next()?.parse().ok()?;
    let last = it.next()?.parse().ok()?;
    Some((id, epoch, first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landed(first: i32, last: i32, base_offset: u64) -> Landed {
        Landed {
            first_sequence: first,
            last_sequence: last,
            base_offset,
            timestamp_ms: 0,
        }
    }

    #[test]
    fn a_retried_batch_is_a_duplicate_and_a_gap_is_out_of_order() {
        let mut s = Sequences::default();
        assert_eq!(s.check(0, 0, 9), Verdict::Append);
        s.landed(landed(0, 9, 100));
        assert_eq!(s.check(0, 0, 9), Verdict::Duplicate(landed(0, 9, 100)));
        assert!(matches!(s.check(0, 11, 12), Verdict::Refuse(45, _)));
        assert_eq!(s.check(0, 10, 12), Verdict::Append);
        assert!(matches!(s.check(-1, 10, 12), Verdict::Refuse(47, _)));
        assert_eq!(s.check(1, 0, 0), Verdict::Append, "a new epoch starts over");
    }

    #[test]
    fn the_header_round_trips() {
        let h = Producers::header(42, 3, 7, 9);
        assert_eq!(parse_header(&h), Some((42, 3, 7, 9)));
        assert_eq!(parse_header(b"garbage"), None);
    }
}
