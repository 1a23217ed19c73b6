//! Crash recovery and corruption: torn tails cut at every byte, flipped bits in the tail and in
//! sealed data, and missing or garbage index files.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use log_store::{AppendRecord, Error, FsyncPolicy, LogStore, Offset, StoreConfig};

fn seg_dir(root: &Path) -> PathBuf {
    root.join("topics/t/0")
}

fn segment_files(root: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = fs::read_dir(seg_dir(root))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Writes `n` single-record batches of varying sizes into one segment; returns the data dir and
/// the byte position where each frame ends.
fn one_segment_of_frames(n: u64) -> (tempfile::TempDir, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    let mut ends = Vec::new();
    for i in 0..n {
        append_range(&p, i, 1, 20 + (i as usize * 7) % 40);
        ends.push(p.stats().bytes);
    }
    (dir, ends)
}

/// Copies the data dir with the log cut at `cut`: zeroed from there (a torn pre-sized segment)
/// or truncated there (a torn trimmed one).
fn copy_cut(src: &Path, cut: u64, data_end: u64, truncate: bool) -> tempfile::TempDir {
    // Hundreds of these: on tmpfs where there is one, so the fsyncs of recovery cost nothing.
    let shm = Path::new("/dev/shm");
    let dst = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    fs::create_dir_all(seg_dir(dst.path())).unwrap();
    fs::copy(
        src.join("topics/t/topic.json"),
        dst.path().join("topics/t/topic.json"),
    )
    .unwrap();
    for f in fs::read_dir(seg_dir(src)).unwrap() {
        let f = f.unwrap().path();
        let to = seg_dir(dst.path()).join(f.file_name().unwrap());
        if f.extension().is_some_and(|e| e == "log") {
            let full_len = fs::metadata(&f).unwrap().len();
            let bytes = fs::read(&f).unwrap();
            fs::write(&to, &bytes[..cut.min(data_end) as usize]).unwrap();
            if !truncate {
                // Sparse: the zeroed, reserved tail of a pre-sized segment.
                fs::OpenOptions::new()
                    .write(true)
                    .open(&to)
                    .unwrap()
                    .set_len(full_len)
                    .unwrap();
            }
        } else {
            fs::copy(&f, &to).unwrap();
        }
    }
    dst
}

#[test]
fn a_last_segment_cut_at_every_byte_of_its_last_frames_reopens_to_the_whole_frames_before_the_cut()
{
    let (dir, ends) = one_segment_of_frames(12);
    let data_end = *ends.last().unwrap();
    let first_cut = ends[ends.len() - 4];
    for truncate in [false, true] {
        for cut in first_cut..=data_end {
            let copy = copy_cut(dir.path(), cut, data_end, truncate);
            let store = open(copy.path(), FsyncPolicy::Always);
            let whole = ends.iter().filter(|&&e| e <= cut).count() as u64;
            let p = partition(&store, "t", 0);
            assert_eq!(
                p.end_offset(),
                Offset(whole),
                "cut at {cut} (truncate: {truncate})"
            );
            let report = store.recovery_report();
            let torn = !ends.contains(&cut);
            assert_eq!(
                report.truncated.len(),
                usize::from(torn),
                "cut at {cut}: {report:?}"
            );
            if let Some(t) = report.truncated.first() {
                assert_eq!((t.topic.as_str(), t.partition, t.offset), ("t", 0, whole));
                // A torn tail is counted up to its last non-zero byte: trailing zeros of the cut
                // frame look like reserved space, which (reserved in steps) may end anywhere, so
                // a file cut short is an active segment with a torn tail too.
                let torn_bytes = cut - ends[whole as usize - 1];
                assert!(t.bytes > 0 && t.bytes <= torn_bytes, "{t:?}");
            }
            let all = read_all(&p, 0);
            assert_eq!(all.len() as u64, whole);
            for r in &all {
                assert_eq!(r.value, value(r.offset, 20 + (r.offset as usize * 7) % 40));
            }
            // The log continues cleanly after the cut, and a second reopen agrees.
            if cut % 16 == 0 || cut == data_end {
                append_range(&p, whole, 2, 33);
                drop(p);
                drop(store);
                let store = open(copy.path(), FsyncPolicy::Always);
                assert!(store.recovery_report().truncated.is_empty());
                let p = partition(&store, "t", 0);
                assert_eq!(p.end_offset(), Offset(whole + 2));
                assert_eq!(p.verify().unwrap(), whole + 2);
            }
        }
    }
}

#[test]
fn a_torn_multi_record_batch_is_dropped_whole() {
    let dir = tempfile::tempdir().unwrap();
    let ends = {
        let store = open(dir.path(), FsyncPolicy::Never);
        let p = small_topic(&store, "t", 1).partitions()[0].clone();
        append_range(&p, 0, 3, 50);
        let first = p.stats().bytes;
        append_range(&p, 3, 5, 50);
        (first, p.stats().bytes)
    };
    // Cut inside the last frame of the second batch: its first four frames are intact.
    let copy = copy_cut(dir.path(), ends.1 - 10, ends.1, false);
    let store = open(copy.path(), FsyncPolicy::Always);
    assert_eq!(partition(&store, "t", 0).end_offset(), Offset(3));
    assert_eq!(
        store.recovery_report().truncated[0].bytes,
        ends.1 - 10 - ends.0
    );
}

#[test]
fn a_flipped_bit_in_the_tail_truncates_there() {
    let (dir, ends) = one_segment_of_frames(10);
    let log = &segment_files(dir.path(), "log")[0];
    let mut bytes = fs::read(log).unwrap();
    bytes[ends[6] as usize + 30] ^= 0x08; // inside frame 7
    fs::write(log, &bytes).unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let t = &store.recovery_report().truncated[0];
    assert_eq!((t.offset, t.bytes), (7, ends[9] - ends[6]));
    let p = partition(&store, "t", 0);
    assert_eq!(p.end_offset(), Offset(7));
    assert_eq!(p.verify().unwrap(), 7);
}

/// Several sealed segments of 100-record batches of 1000-byte values.
fn sealed_segments() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), FsyncPolicy::Never);
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    for i in 0..100 {
        append_range(&p, i * 100, 100, 1000);
        if i % 30 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    assert!(p.stats().segments >= 3);
    dir
}

#[test]
fn a_flipped_bit_in_a_sealed_segment_is_a_named_error_and_verify_finds_it() {
    let dir = sealed_segments();
    let log = segment_files(dir.path(), "log")[0].clone();
    let mut bytes = fs::read(&log).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    fs::write(&log, &bytes).unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    assert!(
        store.recovery_report().truncated.is_empty(),
        "sealed data is not touched at open"
    );
    let p = partition(&store, "t", 0);
    let err = (|| {
        for r in (0..10_000).step_by(500) {
            p.read(Offset(r), 1000, usize::MAX)?;
        }
        Ok::<_, Error>(())
    })()
    .expect_err("the damaged record is reported");
    match &err {
        Error::Corrupt {
            topic,
            partition,
            offset,
            segment,
            position,
            ..
        } => {
            assert_eq!((topic.as_str(), *partition), ("t", 0));
            assert_eq!(segment, &log);
            assert!(
                *position <= at as u64 && at as u64 - *position < 1100,
                "{err}"
            );
            assert!(*offset > 0 && *offset < 10_000);
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert!(matches!(p.verify(), Err(Error::Corrupt { .. })));
    drop(p);
    let report = store.verify().unwrap();
    assert_eq!(report.corrupt.len(), 1);
    assert!(report.corrupt[0]
        .to_string()
        .contains(&log.display().to_string()));
    drop(store);
    assert_eq!(LogStore::verify_dir(dir.path()).unwrap().corrupt.len(), 1);
}

#[test]
fn deleted_or_garbage_index_files_are_rebuilt_and_reads_stay_correct() {
    let dir = sealed_segments();
    let (expected, stamps): (Vec<_>, Vec<_>) = {
        let store = LogStore::open(dir.path(), StoreConfig::default()).unwrap();
        let all = read_all(&partition(&store, "t", 0), 0);
        (
            all.iter().map(|r| r.value.clone()).collect(),
            all.iter().map(|r| r.timestamp_ms).collect(),
        )
    };
    let index = segment_files(dir.path(), "index");
    let time = segment_files(dir.path(), "timeindex");
    let last = index.len() - 1;
    fs::remove_file(&index[0]).unwrap();
    fs::write(&time[1], vec![0xA5; 4096]).unwrap();
    let mut garbage = fs::read(&index[1]).unwrap();
    for b in garbage.iter_mut().skip(40).step_by(7) {
        *b ^= 0x5A;
    }
    fs::write(&index[1], &garbage).unwrap();
    fs::remove_file(&index[last]).unwrap();
    fs::write(&time[last], b"not an index").unwrap();
    let store = open(dir.path(), FsyncPolicy::Always);
    let rebuilt = &store.recovery_report().indexes_rebuilt;
    assert!(
        rebuilt.contains(&index[0])
            && rebuilt.contains(&index[last])
            && rebuilt.contains(&time[last]),
        "{rebuilt:?}"
    );
    let p = partition(&store, "t", 0);
    let all = read_all(&p, 0);
    assert_eq!(
        all.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        expected
    );
    for from in [0u64, 1, 57, 4000, 4321, 9999] {
        assert_eq!(p.read(Offset(from), 1, 1).unwrap()[0].offset, from);
    }
    for t in stamps.iter().copied().step_by(997).chain([0, u64::MAX]) {
        let expect = stamps
            .iter()
            .position(|&s| s >= t)
            .map_or(10_000, |i| i as u64);
        assert_eq!(p.offset_for_timestamp(t).unwrap(), Offset(expect));
    }
    // Appends after the rebuild keep working and a clean reopen needs no rebuild.
    append_range(&p, 10_000, 1, 5);
    drop(p);
    drop(store);
    let store = open(dir.path(), FsyncPolicy::Always);
    assert!(store.recovery_report().indexes_rebuilt.is_empty());
    assert_eq!(partition(&store, "t", 0).verify().unwrap(), 10_001);
}

#[test]
fn a_record_appended_with_a_key_and_headers_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), FsyncPolicy::Always);
        let p = small_topic(&store, "t", 1).partitions()[0].clone();
        p.append(&[AppendRecord {
            key: Some(b""),
            headers: &[("a", b"1"), ("b", b"")],
            value: b"",
        }])
        .unwrap();
    }
    let store = open(dir.path(), FsyncPolicy::Always);
    let r = &read_all(&partition(&store, "t", 0), 0)[0];
    assert_eq!(r.key.as_deref(), Some(&b""[..]));
    assert_eq!(r.headers.len(), 2);
}
