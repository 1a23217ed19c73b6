//! Which sealed segments keep their maps. A sealed segment is mapped on first read and kept
//! mapped for the next; without a ceiling every segment ever read stays mapped (three maps
//! each, against the kernel's per-process map count) for the life of the process (issue 10).
//! At most `SEALED_SEGMENTS_MAPPED_MAX` stay mapped: past it, the least recently used are
//! dropped first, by the second-chance clock (a segment read since the last sweep goes round
//! once more). Dropping only drops the cache's reference: readers that hold records keep their
//! own reference to the map, and the next read maps the segment again.
//!
//! Lock order: a segment's own map slot is never held while this cache's lock is taken, and
//! this cache's lock is held while taking a segment's slot (to drop it) — one way only.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

use crate::segment::Sealed;

#[derive(Debug)]
pub(crate) struct MapCache {
    max: usize,
    /// The segments mapped through this cache, oldest first (entries of segments since dropped
    /// by retention are skipped when met).
    mapped: Mutex<VecDeque<Weak<Sealed>>>,
}

impl MapCache {
    pub(crate) fn new(max: usize) -> MapCache {
        assert!(max > 0, "a map cache holds at least one segment");
        MapCache {
            max,
            mapped: Mutex::new(VecDeque::new()),
        }
    }

    /// `segment` was just mapped: note it, and unmap others until at most `max` remain.
    pub(crate) fn mapped(&self, segment: &Arc<Sealed>) {
        let mut mapped = self.mapped.lock().unwrap_or_else(|p| p.into_inner());
        mapped.push_back(Arc::downgrade(segment));
        // Each entry is looked at most twice: once to clear its bit, once to drop it.
        let mut budget = 2 * mapped.len();
        while mapped.len() > self.max && budget > 0 {
            budget -= 1;
            let Some(entry) = mapped.pop_front() else {
                break;
            };
            let Some(s) = entry.upgrade() else {
                continue; // deleted by retention
            };
            if s.referenced.swap(false, Ordering::AcqRel) {
                mapped.push_back(entry);
            } else {
                s.unload();
            }
        }
    }

    /// How many segments are noted as mapped (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.mapped.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendRecord, FsyncPolicy, LogStore, NoFaults, Offset, StoreConfig, TopicConfig};

    /// Issue 10: every sealed segment read stayed mapped for good. With a ceiling of 2, reading
    /// six sealed segments in turn keeps at most 2 mapped, and everything still reads back (an
    /// unmapped segment is mapped again).
    #[test]
    fn at_most_the_ceiling_of_sealed_segments_stays_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig {
            fsync: FsyncPolicy::Never,
        };
        let store = LogStore::open_inner(
            dir.path(),
            config,
            Arc::new(NoFaults),
            2,
            crate::storage::Storage::Os,
        )
        .unwrap();
        let topic = store
            .create_topic(
                "t",
                TopicConfig {
                    partitions: 1,
                    segment_bytes: crate::SEGMENT_BYTES_MIN,
                    retention_ms: None,
                    retention_bytes: None,
                },
            )
            .unwrap();
        let p = topic.partitions()[0].clone();
        let value = vec![7u8; 10_000];
        let batch: Vec<AppendRecord<'_>> = (0..100)
            .map(|_| AppendRecord {
                value: &value,
                ..Default::default()
            })
            .collect();
        while p.sealed_mapped().1 < 6 {
            p.append(&batch).unwrap();
        }
        let end = p.end_offset().0;
        let mut read = 0u64;
        let mut next = 0u64;
        while next < end {
            let records = p.read(Offset(next), 1_000, 64 << 20).unwrap();
            assert!(records.iter().all(|r| r.value.as_ref() == value.as_slice()));
            read += records.len() as u64;
            next = records.last().unwrap().offset + 1;
            drop(records);
            let (mapped, sealed) = p.sealed_mapped();
            assert!(mapped <= 2, "{mapped} of {sealed} sealed segments mapped");
            assert!(store.maps.len() <= 2);
        }
        assert_eq!(read, end);
        // Reading the first segment again maps it again.
        assert_eq!(p.read(Offset(0), 1, 1 << 20).unwrap().len(), 1);
    }
}
