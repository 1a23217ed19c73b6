//! The keyed-record index: where the records that carry idempotency headers are, so that a
//! restart rebuilds the Idempotency-Key table and the Kafka producer sequences by reading those
//! records only, not every record of the idempotency window (issue 10: 1.6 s and 750 MB RSS at
//! 1.2 GB in the window).
//!
//! The log stays the source of truth: the headers are still appended atomically with the events
//! (`produce/idempotency.rs`, `kafka/producers.rs`), and the index only says where to look. Its files,
//! `<data>/keys/previous.idx` and `<data>/keys/current.idx` (FORMAT.md), are append-only lists
//! of entries, one per keyed record (topic, partition, offset, append time), written (not
//! fsynced) before the request's [`Stamp`](log_store::Stamp) is released, and of *marks*.
//! A mark `(complete_since, upto)` says: every keyed record stamped in `[complete_since, upto)`
//! has its entry before this mark, durably. The marker task takes `upto` from the store's safe
//! time (every record at or below it is published and its stamp released, so its entry is
//! written), fsyncs the file, then appends the mark.
//!
//! On start ([`KeyIndex::recover`]): with a mark whose `complete_since` is at or before the
//! window's start, read the records the entries name (each checked against the log: it must
//! exist and lie in `[since, upto)`), then scan only the log after `upto`; otherwise (no index,
//! a damaged one, an index that overflowed `KEY_INDEX_FILE_BYTES_MAX`, a failed keyed append)
//! scan the whole window as before. Either way the index is then rewritten with the keyed records
//! found (expired ones dropped) and a fresh mark. Files rotate every window, so the two cover it.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use log_store::{LogStore, Offset, Record};

use crate::limits::KEY_INDEX_FILE_BYTES_MAX;
use crate::produce::idempotency::{scan_since, Damage, HEADER_KEY, HEADER_PRODUCER};

const MAGIC: &[u8; 8] = b"KAPPAKI1";
const KIND_RECORD: u8 = 1;
const KIND_MARK: u8 = 2;
const CURRENT: &str = "current.idx";
const PREVIOUS: &str = "previous.idx";

/// One keyed record's place in the log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub timestamp_ms: u64,
}

/// Every keyed record stamped in `[complete_since, upto)` has its entry before the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub complete_since: u64,
    pub upto: u64,
}

/// What the index files held: their entries and the last mark (none: rescan everything).
#[derive(Debug, Default)]
pub struct Loaded {
    pub entries: Vec<Entry>,
    pub mark: Option<Mark>,
    /// Bytes read from the files (startup statistics).
    pub bytes: u64,
}

/// How the window was read at startup.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoveryStats {
    /// Whether the index was used (false: the whole window was scanned).
    pub from_index: bool,
    /// Records read through index entries.
    pub indexed_reads: u64,
    /// Records read by scanning (the tail after the mark, or the whole window).
    pub scanned: u64,
    /// Keyed records found (the entries of the rewritten index).
    pub keyed: u64,
}

#[derive(Debug)]
struct Writer {
    /// Shared so that the marker fsyncs it without holding the lock that `note` takes.
    file: Option<Arc<File>>,
    bytes: u64,
    /// When the current file was started (it rotates after a window).
    started_ms: u64,
    /// The `complete_since` of the next mark.
    complete_since: u64,
    /// Entries were left out (the file reached its ceiling) or may be missing (a keyed append
    /// failed): no more marks until the file rotates and the gap has left the window.
    gap_since: Option<u64>,
}

/// The index's writer (one per data dir, shared by HTTP and Kafka produce).
#[derive(Debug)]
pub struct KeyIndex {
    dir: PathBuf,
    window_ms: u64,
    writer: Mutex<Writer>,
}

fn encode(kind: u8, body: &[u8], out: &mut Vec<u8>) {
    let mut framed = Vec::with_capacity(1 + body.len());
    framed.push(kind);
    framed.extend_from_slice(body);
    out.extend_from_slice(&(framed.len() as u32).to_le_bytes());
    out.extend_from_slice(&framed);
    out.extend_from_slice(&crc32c::crc32c(&framed).to_le_bytes());
}

fn encode_entry(e: &Entry, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(22 + e.topic.len());
    body.extend_from_slice(&e.timestamp_ms.to_le_bytes());
    body.extend_from_slice(&e.partition.to_le_bytes());
    body.extend_from_slice(&e.offset.to_le_bytes());
    body.extend_from_slice(&(e.topic.len() as u16).to_le_bytes());
    body.extend_from_slice(e.topic.as_bytes());
    encode(KIND_RECORD, &body, out);
}

fn encode_mark(m: Mark, out: &mut Vec<u8>) {
    let mut body = Vec::with_capacity(16);
    body.extend_from_slice(&m.complete_since.to_le_bytes());
    body.extend_from_slice(&m.upto.to_le_bytes());
    encode(KIND_MARK, &body, out);
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Parses one file's entries and marks into `loaded`, stopping at the first damaged or torn one
/// (what follows it is ignored: the last good mark still holds for what precedes it).
pub fn parse(buf: &[u8], loaded: &mut Loaded) {
    if buf.len() < MAGIC.len() || &buf[..MAGIC.len()] != MAGIC {
        return;
    }
    let mut at = MAGIC.len();
    while let Some(len) = buf
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
    {
        let Some(framed) = buf.get(at + 4..at + 4 + len) else {
            return;
        };
        let Some(crc) = buf.get(at + 4 + len..at + 8 + len) else {
            return;
        };
        if len == 0 || crc32c::crc32c(framed).to_le_bytes() != crc {
            return;
        }
        let body = &framed[1..];
        match framed[0] {
            KIND_RECORD if body.len() >= 22 => {
                let topic_len = u16::from_le_bytes([body[20], body[21]]) as usize;
                let Some(topic) = body
                    .get(22..22 + topic_len)
                    .and_then(|t| std::str::from_utf8(t).ok())
                else {
                    return;
                };
                loaded.entries.push(Entry {
                    timestamp_ms: u64_at(body, 0),
                    partition: u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")),
                    offset: u64_at(body, 12),
                    topic: topic.to_string(),
                });
            }
            KIND_MARK if body.len() == 16 => {
                loaded.mark = Some(Mark {
                    complete_since: u64_at(body, 0),
                    upto: u64_at(body, 8),
                });
            }
            _ => return,
        }
        at += 8 + len;
    }
}

/// Whether `r` carries one of the headers the startup recoveries read.
fn is_keyed(r: &Record) -> bool {
    r.headers
        .iter()
        .any(|(n, _)| n == HEADER_KEY || n == HEADER_PRODUCER)
}

impl KeyIndex {
    /// Reads the index files under `dir` (missing or damaged files read as far as they are
    /// intact). Nothing is written until [`recover`](Self::recover).
    pub fn load(dir: &Path) -> Loaded {
        let mut loaded = Loaded::default();
        for name in [PREVIOUS, CURRENT] {
            let Ok(buf) = fs::read(dir.join(name)) else {
                continue;
            };
            loaded.bytes += buf.len() as u64;
            // A file without a mark leaves the previous file's last mark in force.
            parse(&buf, &mut loaded);
        }
        loaded
    }

    /// Rebuilds what the startup recoveries need: hands every keyed record of the window (stamped
    /// at or after `since`) to `each`, each record once, in offset order per partition; then
    /// rewrites the index with them and a fresh mark. `loaded` is what [`load`](Self::load)
    /// read. Damage does not stop it (see `scan_since`).
    pub fn recover(
        dir: &Path,
        window_ms: u64,
        store: &LogStore,
        since: u64,
        loaded: Loaded,
        mut each: impl FnMut(&str, u32, &Record),
    ) -> anyhow::Result<(KeyIndex, Vec<Damage>, RecoveryStats)> {
        use anyhow::Context;
        // Taken before reading: every record at or below it is published, so the reading below
        // finds every keyed record stamped before `upto`.
        let upto = store.safe_time_ms().saturating_add(1);
        let mut stats = RecoveryStats::default();
        let mut damage = Vec::new();
        let mut keyed: Vec<Entry> = Vec::new();
        let mut visit = |topic: &str, partition: u32, r: &Record| {
            if is_keyed(r) {
                keyed.push(Entry {
                    topic: topic.to_string(),
                    partition,
                    offset: r.offset,
                    timestamp_ms: r.timestamp_ms,
                });
                each(topic, partition, r);
            }
        };
        let usable = loaded.mark.filter(|m| m.complete_since <= since);
        stats.from_index = usable.is_some();
        let scan_from = match usable {
            Some(m) => {
                // An entry's time is its request's stamp, at or below its record's (which a merged
                // batch may raise): only the record's own time, read below, decides.
                let mut entries = loaded.entries;
                entries.sort();
                entries.dedup_by(|a, b| {
                    (&a.topic, a.partition, a.offset) == (&b.topic, b.partition, b.offset)
                });
                for e in entries {
                    let Ok(topic) = store.topic(&e.topic) else {
                        continue;
                    };
                    let Ok(p) = topic.partition(log_store::PartitionId(e.partition)) else {
                        continue;
                    };
                    if e.offset < p.start_offset().0 || e.offset >= p.end_offset().0 {
                        continue; // gone (retention, a topic re-created, a lost unflushed tail)
                    }
                    stats.indexed_reads += 1;
                    match p.read(Offset(e.offset), 1, 1) {
                        Ok(recs) => {
                            let Some(r) = recs.first().filter(|r| r.offset == e.offset) else {
                                continue;
                            };
                            // Only what the mark covers: the scan below reads the rest.
                            if r.timestamp_ms >= since && r.timestamp_ms < m.upto {
                                visit(&e.topic, e.partition, r);
                            }
                        }
                        Err(err @ log_store::Error::Corrupt { .. }) => damage.push(Damage {
                            topic: e.topic.clone(),
                            partition: e.partition,
                            from_offset: e.offset,
                            to_offset: p.segment_end(Offset(e.offset)).0,
                            error: err.to_string(),
                        }),
                        Err(err) => return Err(err).context("reading a keyed record"),
                    }
                }
                m.upto.max(since)
            }
            None => since,
        };
        for topic in store.topics() {
            for p in topic.partitions() {
                let (name, id) = (topic.name(), p.id().0);
                damage.extend(
                    scan_since(name, p, scan_from, |r| {
                        stats.scanned += 1;
                        visit(name, id, r);
                    })
                    .context("scanning the log after the index")?,
                );
            }
        }
        stats.keyed = keyed.len() as u64;
        let index = KeyIndex::create(dir, window_ms, &keyed, since, upto)?;
        Ok((index, damage, stats))
    }

    /// Writes a fresh index holding `entries` and one mark `[since, upto)` (it holds every keyed
    /// record of the window; older ones were left out, so a later start with a longer window
    /// scans), replacing both files.
    fn create(
        dir: &Path,
        window_ms: u64,
        entries: &[Entry],
        since: u64,
        upto: u64,
    ) -> anyhow::Result<KeyIndex> {
        use anyhow::Context;
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut buf = MAGIC.to_vec();
        for e in entries {
            encode_entry(e, &mut buf);
        }
        let mark = Mark {
            complete_since: since,
            upto,
        };
        encode_mark(mark, &mut buf);
        let tmp = dir.join("current.idx.tmp");
        let write = || -> std::io::Result<File> {
            let mut f = File::create(&tmp)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            fs::rename(&tmp, dir.join(CURRENT))?;
            let _ = fs::remove_file(dir.join(PREVIOUS));
            File::open(dir)?.sync_all()?;
            File::options().append(true).open(dir.join(CURRENT))
        };
        let file = write().with_context(|| format!("writing {}", dir.join(CURRENT).display()))?;
        Ok(KeyIndex {
            dir: dir.to_path_buf(),
            window_ms,
            writer: Mutex::new(Writer {
                file: Some(Arc::new(file)),
                bytes: buf.len() as u64,
                started_ms: upto,
                complete_since: since,
                gap_since: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a keyed record that was just appended (call before the request's stamp is
    /// released). Written to the file, not fsynced: kill -9 keeps it, and a mark after it is
    /// only written after an fsync.
    pub fn note(&self, topic: &str, partition: u32, offset: u64, timestamp_ms: u64) {
        let mut buf = Vec::with_capacity(64);
        encode_entry(
            &Entry {
                topic: topic.to_string(),
                partition,
                offset,
                timestamp_ms,
            },
            &mut buf,
        );
        let mut w = self.lock();
        if w.gap_since.is_some() {
            return;
        }
        if w.bytes + buf.len() as u64 > KEY_INDEX_FILE_BYTES_MAX {
            tracing::warn!(
                limit = KEY_INDEX_FILE_BYTES_MAX,
                "keyed-record index file is full; the next start scans the idempotency window"
            );
            w.gap_since = Some(timestamp_ms.saturating_sub(1));
            return;
        }
        let written = match w.file.as_deref() {
            Some(mut f) => f.write_all(&buf),
            None => return,
        };
        match written {
            Ok(()) => w.bytes += buf.len() as u64,
            Err(e) => {
                tracing::warn!(error = %e, "writing the keyed-record index failed; the next start scans the idempotency window");
                w.gap_since = Some(timestamp_ms.saturating_sub(1));
            }
        }
    }

    /// A keyed append failed: its records may still be in the log (unacknowledged, found intact
    /// by recovery), with no entry. Until that leaves the window, a start scans the window.
    pub fn gap(&self, since_ms: u64) {
        let mut w = self.lock();
        w.gap_since = Some(w.gap_since.map_or(since_ms, |g| g.min(since_ms)));
    }

    /// The marker task's step: fsync what was noted, then append a mark up to `safe_time_ms + 1`
    /// (every record stamped at or below the safe time was noted before its stamp was
    /// released). Rotates the files once the current one is a window old.
    pub fn mark(&self, safe_time_ms: u64) -> std::io::Result<()> {
        let upto = safe_time_ms.saturating_add(1);
        let mut w = self.lock();
        if upto.saturating_sub(w.started_ms) >= self.window_ms {
            if w.gap_since.is_some() {
                // Entries of records stamped before `upto` may be missing (they were dropped
                // until now); later ones go into the new file. Marks say so from now on.
                w.complete_since = w.complete_since.max(upto);
            }
            self.rotate(&mut w, upto)?;
        }
        if w.gap_since.is_some() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(32);
        encode_mark(
            Mark {
                complete_since: w.complete_since,
                upto,
            },
            &mut buf,
        );
        let Some(file) = w.file.clone() else {
            return Ok(());
        };
        // Every entry of a record stamped below `upto` was written before the caller read the
        // safe time; entries written during the fsync are of later records. So the lock is not
        // held over the fsync (produce requests noting entries do not wait for the disk).
        drop(w);
        file.sync_data()?;
        let mut w = self.lock();
        // Only the marker task calls this, so the file is still the one synced.
        if w.gap_since.is_some() || !w.file.as_ref().is_some_and(|f| Arc::ptr_eq(f, &file)) {
            return Ok(());
        }
        (&*file).write_all(&buf)?;
        w.bytes += buf.len() as u64;
        Ok(())
    }

    /// current → previous (replacing it: its entries are older than a window), new current.
    fn rotate(&self, w: &mut Writer, upto: u64) -> std::io::Result<()> {
        if let Some(f) = w.file.take() {
            f.sync_data()?;
        }
        fs::rename(self.dir.join(CURRENT), self.dir.join(PREVIOUS))?;
        let mut f = File::options()
            .create(true)
            .truncate(true)
            .write(true)
            .open(self.dir.join(CURRENT))?;
        f.write_all(MAGIC)?;
        File::open(&self.dir)?.sync_all()?;
        w.file = Some(Arc::new(f));
        w.bytes = MAGIC.len() as u64;
        w.started_ms = upto;
        // Entries go into the new file from now on: a gap before it ends once the previous
        // file, which holds the gap, leaves the window (its `complete_since` says so).
        w.gap_since = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log_store::{AppendRecord, StoreConfig, TopicConfig};

    /// Appends `n` batches of 50 unkeyed records, each second one preceded by a keyed batch
    /// (noted in `index`, as the produce paths do). Returns the keyed batches appended.
    fn produce(store: &LogStore, index: Option<&KeyIndex>, n: usize, tag: &str) -> usize {
        let topic = store.topic("t").unwrap();
        let filler = vec![b'x'; 200];
        let mut keyed = 0;
        for i in 0..n {
            let p = &topic.partitions()[i % 2];
            let plain: Vec<AppendRecord<'_>> = (0..50)
                .map(|_| AppendRecord {
                    value: &filler,
                    ..AppendRecord::default()
                })
                .collect();
            p.append(&plain).unwrap();
            if i % 2 == 0 {
                let key = format!("{tag}-{i}");
                let headers: [(&str, &[u8]); 3] = [
                    (HEADER_KEY, key.as_bytes()),
                    (crate::produce::idempotency::HEADER_PARTS, b"1"),
                    (crate::produce::idempotency::HEADER_COUNT, b"1"),
                ];
                let a = p
                    .append(&[AppendRecord {
                        value: b"{}",
                        headers: &headers,
                        ..AppendRecord::default()
                    }])
                    .unwrap();
                if let Some(index) = index {
                    index.note("t", p.id().0, a.base_offset.0, a.timestamp_ms);
                }
                keyed += 1;
            }
        }
        keyed
    }

    type Seen = Vec<(String, u32, u64)>;

    fn recover(dir: &Path, store: &LogStore) -> (KeyIndex, RecoveryStats, Seen) {
        recover_since(dir, store, 0)
    }

    fn recover_since(dir: &Path, store: &LogStore, since: u64) -> (KeyIndex, RecoveryStats, Seen) {
        let mut seen = Vec::new();
        let (index, damage, stats) = KeyIndex::recover(
            &dir.join("keys"),
            60_000,
            store,
            since,
            KeyIndex::load(&dir.join("keys")),
            |t, p, r| seen.push((t.to_string(), p, r.offset)),
        )
        .unwrap();
        assert!(damage.is_empty());
        seen.sort();
        (index, stats, seen)
    }

    /// Issue 10: startup time and memory grew with the data in the idempotency window, because
    /// every start read all of it. With the index, a start reads the keyed records it names and
    /// scans only what was appended after its last mark.
    #[test]
    fn a_start_reads_the_keyed_records_not_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .create_topic(
                "t",
                TopicConfig {
                    partitions: 2,
                    ..TopicConfig::default()
                },
            )
            .unwrap();
        let keyed = produce(&store, None, 200, "a") as u64;
        // No index yet (a data dir from before it): the window is scanned, and indexed.
        let (index, first, seen) = recover(dir.path(), &store);
        assert!(!first.from_index);
        assert_eq!(first.scanned, 200 * 50 + keyed);
        assert_eq!((first.keyed, seen.len() as u64), (keyed, keyed));
        // Keyed appends while serving are noted; a mark covers them.
        let more = produce(&store, Some(&index), 100, "b") as u64;
        // The safe time passes the last append's millisecond once the clock has moved on; a
        // mark taken within that millisecond would leave its records to the next start's scan.
        let last = store.safe_time_ms() + 1;
        while store.safe_time_ms() < last {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        index.mark(store.safe_time_ms()).unwrap();
        drop(index);
        let (index, second, seen2) = recover(dir.path(), &store);
        assert!(second.from_index);
        assert_eq!(
            second.scanned, 0,
            "nothing after the mark: no record scanned"
        );
        assert_eq!(second.indexed_reads, keyed + more);
        assert_eq!(seen2.len() as u64, keyed + more);
        assert_eq!(&seen2[..], {
            let mut all = seen.clone();
            all.extend(seen2.iter().filter(|s| !seen.contains(s)).cloned());
            all.sort();
            all
        });
        // Appended after the last mark (a kill -9 before the next one): scanned, only that.
        let last = produce(&store, Some(&index), 10, "c") as u64;
        drop(index);
        let (_, third, seen3) = recover(dir.path(), &store);
        assert!(third.from_index);
        assert_eq!(third.scanned, 10 * 50 + last);
        assert_eq!(seen3.len() as u64, keyed + more + last);
        // A damaged index falls back to scanning the window.
        std::fs::write(dir.path().join("keys").join(CURRENT), b"garbage").unwrap();
        let (_, fourth, seen4) = recover(dir.path(), &store);
        assert!(!fourth.from_index);
        assert_eq!(seen4, seen3);
        // A start with a shorter window leaves the older keys out of the index; a later start
        // with the longer window again must not believe it complete.
        let (_, short, none) = recover_since(dir.path(), &store, u64::MAX);
        assert!(short.from_index && none.is_empty());
        let (_, long, seen5) = recover(dir.path(), &store);
        assert!(!long.from_index, "the index only covers the shorter window");
        assert_eq!(seen5, seen3);
    }

    #[test]
    fn entries_and_marks_round_trip_and_a_torn_tail_is_ignored() {
        let mut buf = MAGIC.to_vec();
        let e = Entry {
            topic: "t".into(),
            partition: 3,
            offset: 42,
            timestamp_ms: 1000,
        };
        encode_entry(&e, &mut buf);
        let m = Mark {
            complete_since: 0,
            upto: 1001,
        };
        encode_mark(m, &mut buf);
        let good = buf.len();
        encode_entry(&e, &mut buf);
        encode_mark(
            Mark {
                complete_since: 0,
                upto: 2000,
            },
            &mut buf,
        );
        buf.truncate(buf.len() - 3); // torn
        let mut loaded = Loaded::default();
        parse(&buf, &mut loaded);
        assert_eq!(loaded.entries.len(), 2);
        assert_eq!(loaded.mark, Some(m), "the torn mark is not believed");
        let mut flipped = buf[..good].to_vec();
        flipped[MAGIC.len() + 6] ^= 1;
        let mut loaded = Loaded::default();
        parse(&flipped, &mut loaded);
        assert!(loaded.entries.is_empty() && loaded.mark.is_none());
    }
}
