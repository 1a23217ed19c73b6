//! Idempotent produce: a retried request with the same `Idempotency-Key` (per topic, within a
//! window) returns the original offsets and appends nothing.
//!
//! Surviving kill -9 needs no separate journal: the first record of every partition batch a keyed
//! request appends carries the key, the request's number of partition batches and this batch's
//! record count as headers, in the same atomic append as the events. On start the server reads
//! the keyed records of the last window (found through the keyed-record index, `keyindex.rs`,
//! or, without one, by scanning the window) and rebuilds the table. A request cut
//! short between two partitions' appends is found partial; its retry appends only the missing
//! partitions' batches (the split by key hash is deterministic).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use log_store::{Offset, Partition};

use crate::limits::{DAMAGE_REPORTS_MAX, IDEMPOTENCY_KEYS_MAX};

pub const HEADER_KEY: &str = "kappa-idempotency-key";
/// The header that marks an idempotent Kafka batch's first record (`kafka::producers`).
pub const HEADER_PRODUCER: &str = "kappa-producer";
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
    /// Damaged ranges met by `recover` (served by topic describe and /metrics).
    damage: Mutex<Vec<Damage>>,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<String, Slot>,
    /// The fingerprint of the request that first used a key (issue 15).
    bodies: HashMap<String, u64>,
    order: VecDeque<(u64, String)>,
}

/// What recovery finds of one key: first timestamp, parts, expected parts, body fingerprint.
pub type Found = (u64, Vec<PartResult>, u32, Option<u64>);

fn slot_key(topic: &str, key: &str) -> String {
    format!("{topic}\u{0}{key}")
}

impl Idempotency {
    pub fn new(window_ms: u64) -> Idempotency {
        Idempotency {
            window_ms,
            inner: Mutex::new(Inner::default()),
            damage: Mutex::new(Vec::new()),
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

    /// The damaged ranges found at startup (at most `DAMAGE_REPORTS_MAX`).
    pub fn damage(&self) -> Vec<Damage> {
        self.damage.lock().expect("idempotency lock").clone()
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

    /// Damage does not stop the rebuild (issue 10: one flipped byte in a sealed segment kept
    /// the server from starting): a corrupt record ends the scan of its segment, the range
    /// skipped is logged and kept in `damage()` (reads of it still fail, naming the file), and
    /// the scan resumes at the next segment. Keys of batches in a skipped range are not
    /// remembered.
    /// Installs what [`collect`] found in the window's records, and the damage met reading
    /// them. Returns the number of keys.
    pub fn install(&self, found: HashMap<String, Found>, mut damage: Vec<Damage>) -> usize {
        for d in &damage {
            tracing::warn!(
                topic = %d.topic,
                partition = d.partition,
                offset = d.from_offset,
                to_offset = d.to_offset,
                error = %d.error,
                "damaged log range skipped while recovering idempotency keys; reads of it fail"
            );
        }
        damage.truncate(DAMAGE_REPORTS_MAX);
        *self.damage.lock().expect("idempotency lock") = damage;
        self.install_found(found)
    }

    fn install_found(&self, found: HashMap<String, Found>) -> usize {
        let mut inner = self.inner.lock().expect("idempotency lock");
        let mut entries: Vec<_> = found.into_iter().collect();
        entries.sort_by_key(|(_, (ts, _, _, _))| *ts);
        let n = entries.len();
        for (k, (ts, mut parts, expected_parts, body)) in entries {
            parts.sort_by_key(|p| p.partition);
            if let Some(body) = body {
                inner.bodies.insert(k.clone(), body);
            }
            inner.order.push_back((ts, k.clone()));
            inner.slots.insert(
                k,
                Slot::Done {
                    parts,
                    expected_parts,
                },
            );
        }
        n
    }
}

/// A range of a partition that could not be read at startup (a corrupt record): from the
/// damaged offset up to where reading resumed.
#[derive(Debug, Clone)]
pub struct Damage {
    pub topic: String,
    pub partition: u32,
    pub from_offset: u64,
    pub to_offset: u64,
    pub error: String,
}

/// Reads `partition`'s records from `since` on (by timestamp) and hands each to `each`. Damage
/// does not stop it: a corrupt record ends the scan of its segment, the range skipped (from the
/// damaged offset to the segment's end) is returned, and the scan resumes at the next segment; a
/// damaged segment met by the time lookup makes it scan from the start instead. The startup
/// recoveries (idempotency keys, Kafka producer sequences) all read the log this way (issue 10).
pub fn scan_since(
    topic: &str,
    partition: &Partition,
    since: u64,
    mut each: impl FnMut(&log_store::Record),
) -> log_store::Result<Vec<Damage>> {
    let mut damage = Vec::new();
    let mut next = match partition.offset_for_timestamp(since) {
        Ok(o) => o,
        Err(log_store::Error::Corrupt { .. }) => partition.start_offset(),
        Err(e) => return Err(e),
    };
    loop {
        let batch = match partition.read(next, 10_000, 16 << 20) {
            Ok(b) => b,
            Err(e @ log_store::Error::Corrupt { offset, .. }) => {
                let from = offset.max(next.0);
                let to = partition.segment_end(Offset(from));
                damage.push(Damage {
                    topic: topic.to_string(),
                    partition: partition.id().0,
                    from_offset: from,
                    to_offset: to.0,
                    error: e.to_string(),
                });
                if to <= next {
                    break; // nothing further to read
                }
                next = to;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(last) = batch.last() else { break };
        next = Offset(last.offset + 1);
        batch
            .iter()
            .filter(|r| r.timestamp_ms >= since)
            .for_each(&mut each);
    }
    Ok(damage)
}

/// Adds `r`'s idempotency headers, if it has them, to `found`.
pub fn collect(
    topic: &str,
    partition: u32,
    r: &log_store::Record,
    found: &mut HashMap<String, Found>,
) {
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let Some(key) = header(HEADER_KEY) else {
        return;
    };
    let parse = |v: Option<bytes::Bytes>| {
        v.and_then(|b| {
            std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
        })
    };
    let (Some(expected), Some(count)) = (parse(header(HEADER_PARTS)), parse(header(HEADER_COUNT)))
    else {
        return;
    };
    let k = slot_key(topic, &String::from_utf8_lossy(&key));
    let entry = found
        .entry(k)
        .or_insert((r.timestamp_ms, Vec::new(), expected, None));
    let body = header(HEADER_BODY)
        .and_then(|b| u64::from_str_radix(std::str::from_utf8(&b).ok()?, 16).ok());
    entry.3 = entry.3.or(body);
    entry.1.push(PartResult {
        partition,
        base_offset: r.offset,
        count,
    });
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
