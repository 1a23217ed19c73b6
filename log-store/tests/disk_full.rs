//! A full disk when a new segment's space is reserved: the append fails with a disk-full
//! error, nothing acknowledged is lost, and appends resume once space is back. Tested with an
//! injected fault (always) and for real on a small tmpfs (when the test may mount one).

mod common;

use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use log_store::{
    FaultInjector, FsyncPolicy, LogStore, Offset, Partition, StoreConfig, TopicConfig,
    SEGMENT_BYTES_MIN,
};

#[derive(Debug, Default)]
struct FullDisk(AtomicBool);

impl FaultInjector for FullDisk {
    fn before_reserve(&self, _: &Path, _: u64) -> io::Result<()> {
        match self.0.load(Ordering::Relaxed) {
            true => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
            false => Ok(()),
        }
    }
}

/// Appends 100-record batches of 1000-byte values until one fails; returns the acknowledged end.
fn fill_until_error(p: &Partition, mut next: u64) -> (u64, log_store::Error) {
    let values: Vec<Vec<u8>> = (0..100).map(|i| value(i, 1000)).collect();
    loop {
        let records: Vec<_> = values
            .iter()
            .map(|v| log_store::AppendRecord {
                value: v,
                ..Default::default()
            })
            .collect();
        match p.append(&records) {
            Ok(a) => {
                assert_eq!(a.base_offset, Offset(next));
                next += 100;
            }
            Err(e) => return (next, e),
        }
        assert!(next < 1_000_000, "the disk never filled up");
    }
}

fn check_after_disk_full(store: &LogStore, p: &Partition, acked: u64) {
    assert_eq!(
        p.end_offset(),
        Offset(acked),
        "the failed append left nothing visible"
    );
    assert_eq!(read_all(p, 0).len() as u64, acked);
    assert_eq!(p.verify().unwrap(), acked);
    let _ = store;
}

#[test]
fn an_injected_full_disk_fails_the_append_and_appends_resume_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FullDisk::default());
    let store = LogStore::open_with_faults(
        dir.path(),
        StoreConfig {
            fsync: FsyncPolicy::Always,
        },
        faults.clone(),
    )
    .unwrap();
    let p = small_topic(&store, "t", 1).partitions()[0].clone();
    append_range(&p, 0, 100, 1000);
    faults.0.store(true, Ordering::Relaxed);
    let (acked, err) = fill_until_error(&p, 100);
    assert!(err.is_disk_full(), "{err}");
    check_after_disk_full(&store, &p, acked);
    // Still full: still an error, still nothing lost; reads keep working.
    assert!(fill_until_error(&p, acked).1.is_disk_full());
    faults.0.store(false, Ordering::Relaxed);
    append_range(&p, acked, 100, 1000);
    assert_eq!(p.end_offset(), Offset(acked + 100));
    drop(p);
    drop(store);
    let store = open(dir.path(), FsyncPolicy::Always);
    let p = partition(&store, "t", 0);
    assert_eq!(p.verify().unwrap(), acked + 100);
    assert_eq!(read_all(&p, 0).len() as u64, acked + 100);
}

/// Mounts a tmpfs of `mib` MiB at `dir`; false (with a message) when not allowed.
fn mount_tmpfs(dir: &Path, mib: u64) -> bool {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping the real disk-full test: cannot mount a tmpfs here (needs root)");
    }
    ok
}

struct Unmount<'a>(&'a Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_real_full_tmpfs_fails_the_append_and_appends_resume_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    if !mount_tmpfs(&mnt, 24) {
        return;
    }
    let _unmount = Unmount(&mnt);
    let data = mnt.join("data");
    {
        let store = open(&data, FsyncPolicy::Always);
        let p = store
            .create_topic(
                "t",
                TopicConfig {
                    partitions: 1,
                    segment_bytes: SEGMENT_BYTES_MIN,
                    ..TopicConfig::default()
                },
            )
            .unwrap()
            .partitions()[0]
            .clone();
        // Take most of the space with a file we can delete later.
        std::fs::write(mnt.join("filler"), vec![1u8; 12 << 20]).unwrap();
        let (acked, err) = fill_until_error(&p, 0);
        assert!(err.is_disk_full(), "{err}");
        assert!(acked > 0);
        check_after_disk_full(&store, &p, acked);
        std::fs::remove_file(mnt.join("filler")).unwrap();
        append_range(&p, acked, 100, 1000);
        assert_eq!(p.verify().unwrap(), acked + 100);
    }
    let store = open(&data, FsyncPolicy::Always);
    let p = partition(&store, "t", 0);
    assert!(p.end_offset().0 > 100);
    assert_eq!(p.verify().unwrap(), p.end_offset().0);
}

#[derive(Debug, Default)]
struct ConfigWriteFails(AtomicBool);

impl FaultInjector for ConfigWriteFails {
    fn before_write_config(&self, _: &Path) -> io::Result<()> {
        match self.0.load(Ordering::Relaxed) {
            true => Err(io::Error::from_raw_os_error(libc::ENOSPC)),
            false => Ok(()),
        }
    }
}

/// Issue 10: a topic create on a full disk left a directory without its config behind, and the
/// name could never be created again (409 forever, ignored at startup). The failed create
/// cleans up, a leftover from a crash mid-create is replaced, and the name works once space
/// is back.
#[test]
fn a_topic_create_on_a_full_disk_leaves_the_name_usable() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(ConfigWriteFails::default());
    let config = StoreConfig {
        fsync: FsyncPolicy::Always,
    };
    let store = LogStore::open_with_faults(dir.path(), config.clone(), faults.clone()).unwrap();
    faults.0.store(true, Ordering::Relaxed);
    let e = store.create_topic("t", TopicConfig::default()).unwrap_err();
    assert!(e.is_disk_full(), "{e}");
    assert!(!dir.path().join("topics/t").exists(), "nothing left behind");
    faults.0.store(false, Ordering::Relaxed);
    store.create_topic("t", TopicConfig::default()).unwrap();
    // A crash between mkdir and the config's rename leaves a bare directory: replaced.
    std::fs::create_dir_all(dir.path().join("topics/u/0")).unwrap();
    drop(store);
    let store = LogStore::open(dir.path(), config).unwrap();
    store.create_topic("u", TopicConfig::default()).unwrap();
    assert_eq!(store.topics().len(), 2);
}

/// Fails every flush of files under topic `bad`'s directory while set.
#[derive(Debug, Default)]
struct FlushFails(AtomicBool);

impl FaultInjector for FlushFails {
    fn before_flush(&self, path: &Path) -> io::Result<()> {
        let bad = path.components().any(|c| c.as_os_str() == "bad");
        match bad && self.0.load(Ordering::Relaxed) {
            true => Err(io::Error::from_raw_os_error(libc::EIO)),
            false => Ok(()),
        }
    }
}

/// Issue 10: a failed flush left its batch's timestamp in flight, so the whole store's safe
/// time froze until a restart and every processor stopped. Now the failed partition refuses
/// appends and says why (`failed()`), its unacknowledged batch is abandoned, and the safe time
/// moves on with the other partitions' appends.
#[test]
fn a_failed_flush_fails_its_partition_but_not_the_safe_time() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FlushFails::default());
    let store = LogStore::open_with_faults(
        dir.path(),
        StoreConfig {
            fsync: FsyncPolicy::Always,
        },
        faults.clone(),
    )
    .unwrap();
    let bad = small_topic(&store, "bad", 1).partitions()[0].clone();
    let good = small_topic(&store, "good", 1).partitions()[0].clone();
    append_range(&bad, 0, 1, 10);
    faults.0.store(true, Ordering::Relaxed);
    let rec = [log_store::AppendRecord {
        value: b"lost",
        ..Default::default()
    }];
    let e = bad.append(&rec).unwrap_err();
    assert!(e.to_string().contains("flush"), "{e}");
    assert!(
        bad.failed().is_some(),
        "the partition says why it refuses appends"
    );
    assert!(bad.append(&rec).is_err(), "and it does");
    assert_eq!(
        bad.end_offset(),
        Offset(1),
        "nothing unacknowledged is visible"
    );
    let before = store.safe_time_ms();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let a = append_range(&good, 0, 1, 10);
    assert!(
        store.safe_time_ms() >= a.timestamp_ms,
        "the safe time moved past the failed batch (was {before}, good appended at {})",
        a.timestamp_ms
    );
    assert!(good.failed().is_none());
}
