//! Idempotent produce: a retried request with the same `Idempotency-Key` (per topic, within a
//! window) returns the original offsets and appends nothing.
//!
//! Surviving kill -9 needs no separate journal: the first record of every partition batch a keyed
//! request appends carries the key, the request's number of partition batches and this batch's
//! record count as headers, in the same atomic append as the events. On start the server scans
//! the records of the last window (through the time index) and rebuilds the table. A request cut
//! short between two partitions' appends is found partial; its retry appends only the missing
//! partitions' batches (the split by key hash is deterministic).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use log_store::{LogStore, Offset};

use crate::limits::IDEMPOTENCY_KEYS_MAX;

pub const HEADER_KEY: &str = "kappa-idempotency-key";
pub const HEADER_PARTS: &str = "kappa-idempotency-parts";
pub const HEADER_COUNT: &str = "kappa-idempotency-count";
/// The request's fingerprint (`fingerprint`, hex): a reused key with another body is refused.
pub const HEADER_BODY: &str = "kappa-idempotency-body";

/// FNV-1a (64 bit) over the parts of a request that decide what it appends: stable across
/// builds and restarts, which `std`'s hashers do not promise.
pub fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartResult {
    pub partition: u32,
    pub base_offset: u64,
    pub count: u32,
}

#[derive(Debug)]
enum Slot {
    InFlight,
    Done {
        parts: Vec<PartResult>,
        expected_parts: u32,
    },
}

pub enum Begin {
    Fresh,
    /// Seen before: the parts already appended, and whether that was all of them.
    Replay {
        parts: Vec<PartResult>,
        complete: bool,
    },
    /// The same key is being handled by another request right now.
    Busy,
}

pub struct Idempotency {
    window_ms: u64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<String, Slot>,
    /// The fingerprint of the request that first used a key (issue 15).
    bodies: HashMap<String, u64>,
    order: VecDeque<(u64, String)>,
}

fn slot_key(topic: &str, key: &str) -> String {
    format!("{topic}\u{0}{key}")
}

impl Idempotency {
    pub fn new(window_ms: u64) -> Idempotency {
        Idempotency {
            window_ms,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn begin(&self, topic: &str, key: &str, now_ms: u64) -> Begin {
        let mut inner = self
            .inner
            .lock()
            .expect("idempotency lock is never poisoned");
        inner.expire(now_ms.saturating_sub(self.window_ms));
        let k = slot_key(topic, key);
        match inner.slots.get_mut(&k) {
            Some(Slot::InFlight) => Begin::Busy,
            Some(slot @ Slot::Done { .. }) => {
                let Slot::Done {
                    parts,
                    expected_parts,
                } = std::mem::replace(slot, Slot::InFlight)
                else {
                    unreachable!()
                };
                let complete = parts.len() as u32 >= expected_parts;
                if complete {
                    *slot = Slot::Done {
                        parts: parts.clone(),
                        expected_parts,
                    };
                }
                Begin::Replay { parts, complete }
            }
            None => {
                inner.slots.insert(k.clone(), Slot::InFlight);
                inner.order.push_back((now_ms, k));
                Begin::Fresh
            }
        }
    }

    /// Whether `fingerprint` may use this key: the first request's fingerprint is kept, and
    /// a different one is refused (422) for as long as the key is remembered.
    pub fn same_body(&self, topic: &str, key: &str, fingerprint: u64) -> bool {
        let mut inner = self.inner.lock().expect("idempotency lock");
        *inner
            .bodies
            .entry(slot_key(topic, key))
            .or_insert(fingerprint)
            == fingerprint
    }

    /// Records what the request appended (all of it, or the part done before an error).
    pub fn finish(&self, topic: &str, key: &str, parts: Vec<PartResult>, expected_parts: u32) {
        let mut inner = self.inner.lock().expect("idempotency lock");
        let k = slot_key(topic, key);
        if parts.is_empty() {
            inner.slots.remove(&k);
            inner.bodies.remove(&k);
        } else {
            inner.slots.insert(
                k,
                Slot::Done {
                    parts,
                    expected_parts,
                },
            );
        }
    }

    /// Rebuilds the table from the log: the headers of batches appended within the window.
    pub fn recover(&self, store: &LogStore, now_ms: u64) -> log_store::Result<usize> {
        let since = now_ms.saturating_sub(self.window_ms);
        let mut found: HashMap<String, (u64, Vec<PartResult>, u32)> = HashMap::new();
        let mut bodies: HashMap<String, u64> = HashMap::new();
        for topic in store.topics() {
            for partition in topic.partitions() {
                let mut next = partition.offset_for_timestamp(since)?;
                loop {
                    let batch = partition.read(next, 10_000, 16 << 20)?;
                    let Some(last) = batch.last() else { break };
                    next = Offset(last.offset + 1);
                    for r in &batch {
                        let header = |name: &str| {
                            r.headers
                                .iter()
                                .find(|(n, _)| n == name)
                                .map(|(_, v)| v.clone())
                        };
                        let Some(key) = header(HEADER_KEY) else {
                            continue;
                        };
                        let parse = |v: Option<bytes::Bytes>| {
                            v.and_then(|b| {
                                std::str::from_utf8(&b)
                                    .ok()
                                    .and_then(|s| s.parse::<u32>().ok())
                            })
                        };
                        let (Some(expected), Some(count)) =
                            (parse(header(HEADER_PARTS)), parse(header(HEADER_COUNT)))
                        else {
                            continue;
                        };
                        let k = slot_key(topic.name(), &String::from_utf8_lossy(&key));
                        let body = header(HEADER_BODY).and_then(|b| {
                            u64::from_str_radix(std::str::from_utf8(&b).ok()?, 16).ok()
                        });
                        if let Some(body) = body {
                            bodies.insert(k.clone(), body);
                        }
                        let entry =
                            found
                                .entry(k)
                                .or_insert((r.timestamp_ms, Vec::new(), expected));
                        entry.1.push(PartResult {
                            partition: partition.id().0,
                            base_offset: r.offset,
                            count,
                        });
                    }
                }
            }
        }
        let mut inner = self.inner.lock().expect("idempotency lock");
        let mut entries: Vec<_> = found.into_iter().collect();
        entries.sort_by_key(|(_, (ts, _, _))| *ts);
        let n = entries.len();
        inner.bodies.extend(bodies);
        for (k, (ts, mut parts, expected_parts)) in entries {
            parts.sort_by_key(|p| p.partition);
            inner.order.push_back((ts, k.clone()));
            inner.slots.insert(
                k,
                Slot::Done {
                    parts,
                    expected_parts,
                },
            );
        }
        Ok(n)
    }
}

impl Inner {
    fn expire(&mut self, before_ms: u64) {
        while let Some((ts, _)) = self.order.front() {
            if *ts >= before_ms && self.order.len() < IDEMPOTENCY_KEYS_MAX {
                break;
            }
            let (_, k) = self.order.pop_front().expect("front exists");
            if matches!(self.slots.get(&k), Some(Slot::Done { .. })) {
                self.slots.remove(&k);
                self.bodies.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_key_with_another_body_is_told_apart() {
        let idem = Idempotency::new(1_000);
        let (a, b) = (fingerprint(&[b"[1]"]), fingerprint(&[b"[2]"]));
        assert_ne!(a, b);
        assert_eq!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"ab", b"c"]));
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        assert!(idem.same_body("t", "k", a));
        assert!(idem.same_body("t", "k", a));
        assert!(!idem.same_body("t", "k", b));
        assert!(idem.same_body("u", "k", b), "keys are per topic");
    }

    #[test]
    fn a_key_is_fresh_then_busy_then_replayed_then_forgotten() {
        let idem = Idempotency::new(1_000);
        assert!(matches!(idem.begin("t", "k", 0), Begin::Fresh));
        assert!(matches!(idem.begin("t", "k", 1), Begin::Busy));
        assert!(
            matches!(idem.begin("u", "k", 1), Begin::Fresh),
            "keys are per topic"
        );
        let part = PartResult {
            partition: 0,
            base_offset: 5,
            count: 2,
        };
        idem.finish("t", "k", vec![part], 1);
        assert!(
            matches!(idem.begin("t", "k", 2), Begin::Replay { complete: true, ref parts } if parts == &vec![part])
        );
        assert!(
            matches!(idem.begin("t", "k", 5_000), Begin::Fresh),
            "expired after the window"
        );
    }
}
