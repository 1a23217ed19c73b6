//! The log store's behaviour through its public API: append, read, reopen, roll, time lookups,
//! waiting, locking, concurrency and retention.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use event_listener::Listener;
use log_store::{
    AppendRecord, Error, FsyncPolicy, LogStore, Offset, StoreConfig, TopicConfig, SEGMENT_BYTES_MIN,
};

#[test]
fn appended_records_read_back_with_keys_headers_and_dense_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let topic = small_topic(&store, "t", 2);
    let p = topic.partitions()[1].clone();
    let a = p
        .append(&[
            AppendRecord {
                key: Some(b"k1"),
                headers: &[("h", b"v")],
                value: b"one",
            },
            AppendRecord {
                key: None,
                headers: &[],
                value: b"two",
            },
        ])
        .unwrap();
    assert_eq!((a.base_offset, a.count), (Offset(0), 2));
    let b = append_range(&p, 2, 3, 10);
    assert_eq!(b.base_offset, Offset(2));
    assert!(b.timestamp_ms >= a.timestamp_ms);
    let all = read_all(&p, 0);
    assert_eq!(
        all.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(all[0].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(
        all[0].headers,
        vec![("h".to_string(), bytes::Bytes::from_static(b"v"))]
    );
    assert_eq!(&all[1].value[..], b"two");
    assert_eq!(all[4].value, value(4, 10));
    assert_eq!(p.end_offset(), Offset(5));
    assert!(p.read(Offset(5), 10, 1000).unwrap().is_empty());
    assert!(matches!(
        p.read(Offset(6), 10, 1000),
        Err(Error::OffsetOutOfRange {
            requested: 6,
            latest: 5,
            ..
        })
    ));
    assert_eq!(topic.partitions()[0].end_offset(), Offset(0));
}

#[test]
fn records_survive_reopen_across_many_segments_and_reads_by_time_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut stamps = Vec::new();
    {
        let store = open(dir.path(), FsyncPolicy::Never);
        let p = small_topic(&store, "t", 1).partitions()[0].clone();
        for i in 0..60u64 {
            let a = append_range(&p, i * 100, 100, 1000);
            stamps.push(a.timestamp_ms);
            if i % 20 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        assert!(p.stats().segments >= 2, "{:?}", p.stats());
        store.flush_all().unwrap();
    }
    let store = open(dir.path(), FsyncPolicy::Always);
    assert!(store.recovery_report().truncated.is_empty());
    let p = partition(&store, "t", 0);
    let stats = p.stats();
    assert_eq!((stats.start_offset, stats.end_offset), (0, 6000));
    let all = read_all(&p, 0);
    assert_eq!(all.len(), 6000);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r.offset, i as u64);
        assert_eq!(r.value, value(i as u64, 1000));
        assert_eq!(r.timestamp_ms, stamps[i / 100]);
    }
    // Reads from any offset start right there.
    for from in [0u64, 1, 99, 100, 4095, 4097, 5999] {
        assert_eq!(p.read(Offset(from), 1, 1).unwrap()[0].offset, from);
    }
    // By time: the first offset whose timestamp is >= t, as a linear scan says.
    for t in stamps.iter().copied().chain([0, u64::MAX, stamps[30] + 1]) {
        let expect = all
            .iter()
            .find(|r| r.timestamp_ms >= t)
            .map_or(6000, |r| r.offset);
        assert_eq!(
            p.offset_for_timestamp(t).unwrap(),
            Offset(expect),
            "t = {t}"
        );
    }
    assert_eq!(p.verify().unwrap(), 6000);
    // Appends continue after the reopen with the next offset and a timestamp not below the last.
    let a = append_range(&p, 6000, 1, 10);
    assert_eq!(a.base_offset, Offset(6000));
    assert!(a.timestamp_ms >= *stamps.last().unwrap());
}

#[test]
fn a_second_open_of_the_same_directory_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    assert!(matches!(
        LogStore::open(dir.path(), StoreConfig::default()),
        Err(Error::Locked { .. })
    ));
    drop(store);
    LogStore::open(dir.path(), StoreConfig::default()).expect("unlocked after drop");
}

#[test]
fn topics_are_created_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    small_topic(&store, "b", 1);
    small_topic(&store, "a", 3);
    assert!(matches!(
        store.create_topic("a", TopicConfig::default()),
        Err(Error::TopicExists { .. })
    ));
    assert!(matches!(
        store.create_topic("../x", TopicConfig::default()),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        store.create_topic(
            "x",
            TopicConfig {
                segment_bytes: 10,
                ..TopicConfig::default()
            }
        ),
        Err(Error::InvalidConfig { .. })
    ));
    assert_eq!(
        store
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    store.delete_topic("a").unwrap();
    assert!(matches!(store.topic("a"), Err(Error::UnknownTopic { .. })));
    assert!(!dir.path().join("topics/a").exists());
    drop(store);
    let store = open(dir.path(), FsyncPolicy::Never);
    assert_eq!(store.topics().len(), 1);
    assert!(matches!(
        store
            .topic("b")
            .unwrap()
            .partition(log_store::PartitionId(1)),
        Err(Error::UnknownPartition { .. })
    ));
}

#[test]
fn oversized_records_and_batches_are_refused_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    let big = vec![0u8; log_store::RECORD_BYTES_MAX + 1];
    let ok = vec![0u8; 10];
    let r = p.append(&[
        AppendRecord {
            value: &ok,
            ..Default::default()
        },
        AppendRecord {
            value: &big,
            ..Default::default()
        },
    ]);
    assert!(matches!(r, Err(Error::RecordTooLarge { .. })));
    let mb = vec![0u8; log_store::RECORD_BYTES_MAX];
    let batch: Vec<_> = (0..5)
        .map(|_| AppendRecord {
            value: &mb,
            ..Default::default()
        })
        .collect();
    assert!(matches!(
        p.append(&batch),
        Err(Error::BatchBytesTooLarge { .. })
    ));
    assert_eq!(p.end_offset(), Offset(0));
}

#[test]
fn a_waiter_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    let waiter = {
        let p = p.clone();
        std::thread::spawn(move || loop {
            let listener = p.listen();
            if p.end_offset() > Offset(0) {
                return p.read(Offset(0), 10, 1000).unwrap();
            }
            assert!(
                listener.wait_timeout(Duration::from_secs(10)).is_some(),
                "no wake-up within 10 s"
            );
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    append_range(&p, 0, 2, 10);
    assert_eq!(waiter.join().unwrap().len(), 2);
}

#[test]
fn concurrent_appenders_share_flushes_and_readers_see_a_consistent_prefix() {
    // Goal: under fsync always, with 8 appending threads and 2 readers, every read is a dense
    // prefix of whole batches (a batch of n records carries n copies of its batch id), and all
    // acknowledged records are there at the end.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (p, stop) = (p.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let end = p.end_offset().0;
                    let all = read_all(&p, 0);
                    assert!(
                        all.len() as u64 >= end,
                        "a read saw less than the published end"
                    );
                    let mut i = 0;
                    while i < all.len() {
                        let n = u64::from_le_bytes(all[i].value[..8].try_into().unwrap()) as usize;
                        assert!(i + n <= all.len(), "a torn batch is visible");
                        assert!(all[i..i + n].iter().all(|r| r.value == all[i].value));
                        i += n;
                    }
                    for (k, r) in all.iter().enumerate() {
                        assert_eq!(r.offset, k as u64);
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = (0..8u64)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                let mut acked = 0;
                for b in 0..40u64 {
                    let n = 1 + (b + t) % 5;
                    let mut v = n.to_le_bytes().to_vec();
                    v.extend_from_slice(&(t * 1000 + b).to_le_bytes());
                    let records: Vec<_> = (0..n)
                        .map(|_| AppendRecord {
                            value: &v,
                            ..Default::default()
                        })
                        .collect();
                    let a = p.append(&records).unwrap();
                    assert!(
                        p.end_offset().0 >= a.base_offset.0 + n,
                        "acknowledged before published"
                    );
                    acked += n;
                }
                acked
            })
        })
        .collect();
    let acked: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert_eq!(p.end_offset().0, acked);
    assert_eq!(p.verify().unwrap(), acked);
}

#[test]
fn retention_by_bytes_deletes_whole_segments_from_the_front() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    let topic = store
        .create_topic(
            "t",
            TopicConfig {
                partitions: 1,
                segment_bytes: SEGMENT_BYTES_MIN,
                retention_ms: None,
                retention_bytes: Some(SEGMENT_BYTES_MIN * 2),
            },
        )
        .unwrap();
    let p = topic.partitions()[0].clone();
    for i in 0..200 {
        append_range(&p, i * 100, 100, 1000);
    }
    let before = p.stats();
    assert!(before.segments >= 5, "{before:?}");
    let deleted = store.apply_retention().unwrap();
    let after = p.stats();
    assert!(
        deleted >= 2 && after.segments as usize == before.segments as usize - deleted,
        "{before:?} {after:?}"
    );
    assert!(after.bytes <= SEGMENT_BYTES_MIN * 2, "{after:?}");
    assert!(after.start_offset > 0);
    assert_eq!(after.end_offset, 20_000);
    assert!(
        matches!(p.read(Offset(0), 1, 1), Err(Error::OffsetOutOfRange { earliest, .. }) if earliest == after.start_offset)
    );
    assert_eq!(
        read_all(&p, after.start_offset).len() as u64,
        20_000 - after.start_offset
    );
    assert_eq!(
        p.offset_for_timestamp(0).unwrap(),
        Offset(after.start_offset)
    );
    drop(p);
    drop(topic);
    drop(store);
    let store = open(dir.path(), FsyncPolicy::Never);
    let p = partition(&store, "t", 0);
    assert_eq!(
        (p.start_offset(), p.end_offset()),
        (Offset(after.start_offset), Offset(20_000))
    );
}

/// Retention of 2 s, not 200 ms: on a loaded machine (tests in parallel, 2 cores) writing the
/// segments took longer than 200 ms, and the first was already old at the first check.
#[test]
fn retention_by_age_deletes_old_segments_but_never_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    let topic = store
        .create_topic(
            "t",
            TopicConfig {
                partitions: 1,
                segment_bytes: SEGMENT_BYTES_MIN,
                retention_ms: Some(2_000),
                retention_bytes: None,
            },
        )
        .unwrap();
    let p = topic.partitions()[0].clone();
    for i in 0..90 {
        append_range(&p, i * 100, 100, 1000);
    }
    let segments = p.stats().segments;
    assert!(segments >= 3);
    assert_eq!(store.apply_retention().unwrap(), 0, "nothing is old yet");
    std::thread::sleep(Duration::from_millis(2_100));
    append_range(&p, 9000, 1, 10);
    assert_eq!(store.apply_retention().unwrap() as u32, segments - 1);
    let stats = p.stats();
    assert_eq!(stats.segments, 1);
    assert!(matches!(
        p.read(Offset(0), 1, 1),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert_eq!(
        read_all(&p, stats.start_offset).last().unwrap().offset,
        9000
    );
}

#[test]
fn safe_time_trails_published_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    let a = append_range(&p, 0, 1, 10);
    std::thread::sleep(Duration::from_millis(3));
    let safe = store.safe_time_ms();
    assert!(
        safe >= a.timestamp_ms,
        "published records are at or below the safe time once the clock moves on"
    );
    let b = append_range(&p, 1, 1, 10);
    assert!(b.timestamp_ms > safe);
}

/// Regression (issue 5's exactly-once test diverged after kill -9): `publish` released a batch's
/// timestamp before making it readable, so a reader could see the safe time pass a record it
/// could not read yet, and later read it out of order. The invariant, checked under concurrent
/// appends to several partitions: whatever a reader finds beyond the ends it read after seeing
/// safe time S is stamped after S.
#[test]
fn every_record_at_or_below_the_safe_time_is_already_readable() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::Never] {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open(dir.path(), policy));
        let topic = small_topic(&store, "t", 3);
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..6)
            .map(|i| {
                let (p, stop) = (topic.partitions()[i % 3].clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        append_range(&p, n, 1, 50);
                        n += 1;
                    }
                })
            })
            .collect();
        let mut ends = [0u64; 3];
        let mut last_safe = 0;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(700) {
            for (p, end) in topic.partitions().iter().zip(ends.iter_mut()) {
                for r in p.read(Offset(*end), 100_000, 64 << 20).unwrap() {
                    assert!(r.timestamp_ms > last_safe, "{policy:?}: record {} stamped {} appeared after the safe time {last_safe} was seen", r.offset, r.timestamp_ms);
                    *end = r.offset + 1;
                }
            }
            // Safe time first, then the ends: everything stamped at or below it is within them.
            let safe = store.safe_time_ms();
            for (p, end) in topic.partitions().iter().zip(ends.iter_mut()) {
                for r in p.read(Offset(*end), 100_000, 64 << 20).unwrap() {
                    *end = r.offset + 1;
                }
            }
            last_safe = safe;
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }
}

/// Issue 10: an append through a partition handle taken before its topic was deleted was
/// acknowledged into the deleted files; it fails now, and the re-created topic is untouched.
#[test]
fn append_to_a_deleted_partition_fails_and_never_reaches_the_new_topic() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let old = small_topic(&store, "t", 1).partitions()[0].clone();
    let rec = [AppendRecord {
        key: None,
        headers: &[],
        value: b"x",
    }];
    old.append(&rec).unwrap();
    store.delete_topic("t").unwrap();
    let new = small_topic(&store, "t", 1).partitions()[0].clone();
    assert!(matches!(old.append(&rec), Err(Error::UnknownTopic { .. })));
    assert_eq!(new.end_offset(), Offset(0));
    assert_eq!(new.append(&rec).unwrap().base_offset, Offset(0));
}

/// Issue 10: an active segment reserved its whole size at creation (four 2-byte events in new
/// topics reserved 8.1 GB). Disk is reserved in RESERVE_STEP_BYTES steps ahead of the write
/// position now (DESIGN.md §2); a reopened store keeps appending to the same segment.
#[test]
fn disk_is_reserved_in_steps_ahead_of_the_write_position() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let topic = store
        .create_topic(
            "t",
            TopicConfig {
                partitions: 1,
                segment_bytes: 64 << 20,
                retention_ms: None,
                retention_bytes: None,
            },
        )
        .unwrap();
    let p = topic.partitions()[0].clone();
    let log = dir.path().join("topics/t/0/00000000000000000000.log");
    append_range(&p, 0, 4, 2);
    let step = log_store::RESERVE_STEP_BYTES;
    let meta = std::fs::metadata(&log).unwrap();
    assert_eq!(meta.len(), step, "one step, not the 64 MiB segment");
    assert!(
        meta.blocks() * 512 <= step + 4096,
        "{} bytes allocated",
        meta.blocks() * 512
    );
    // Past a few steps: the file grows with the data, one step ahead at most.
    let mut next = 4;
    for _ in 0..12 {
        append_range(&p, next, 1_000, 1_000);
        next += 1_000;
    }
    let written = p.stats().bytes;
    let len = std::fs::metadata(&log).unwrap().len();
    assert!(
        len >= written && len <= written + 2 * step,
        "{len} for {written} written"
    );
    assert_eq!(p.stats().segments, 1);
    drop(p);
    drop(topic);
    drop(store);
    let store = open(dir.path(), FsyncPolicy::Always);
    let p = partition(&store, "t", 0);
    assert_eq!(p.end_offset(), Offset(next));
    append_range(&p, next, 10, 10);
    assert_eq!(
        p.stats().segments,
        1,
        "still the same active segment after a reopen"
    );
    assert_eq!(read_all(&p, 0).len() as u64, next + 10);
}
