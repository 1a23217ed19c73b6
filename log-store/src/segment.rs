//! One segment: a `.log` file of frames and its `.index` / `.timeindex`, either *active* (pre-sized,
//! space reserved, written through a writable map) or *sealed* (trimmed, flushed, mapped
//! read-only on first use). Also the scans that read records out of a segment's bytes.
//!
//! Invariants: offsets inside a segment are dense from its base offset; a batch never spans two
//! segments; an active segment's readable prefix (the published end) only grows and never
//! changes; index entries of the active segment are written only for published (so, under
//! `fsync always`, flushed) frames, so a durable index entry never points past durable frames.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fault::FaultInjector;
use crate::files::{
    index_file_bytes, index_path, io_err, log_path, sync_dir_with, time_index_path, Ident,
};
use crate::index::{
    self, Bounds, IndexEntry, IndexKind, SparseRule, INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES,
};
use crate::limits::RESERVE_STEP_BYTES;
use crate::mmap::{FrozenOwner, MapWriter, ReadMap, SharedMap};
use crate::record::{decode_frame, encode_frame, AppendRecord, FrameError, Record};
use crate::scan;
use crate::storage::Storage;
use crate::types::StampRun;

/// Opens (creating) a file and reserves `bytes` for it.
fn create_reserved(
    path: &Path,
    bytes: u64,
    faults: &dyn FaultInjector,
    storage: &Storage,
) -> Result<File> {
    let created = faults
        .before_reserve(path, bytes)
        .and_then(|()| storage.create_reserved(path, bytes));
    created.map_err(|source| {
        let _ = storage.remove(path);
        Error::Io {
            op: "reserve space for segment file",
            path: path.to_path_buf(),
            source,
        }
    })
}

/// The readers' handle on the active segment: its maps, readable below their frozen ends.
#[derive(Debug, Clone)]
pub(crate) struct ActiveShared {
    pub base: u64,
    pub path: PathBuf,
    pub log: Arc<SharedMap>,
    pub index: Arc<SharedMap>,
    pub time: Arc<SharedMap>,
}

impl ActiveShared {
    pub(crate) fn view(&self) -> SegmentView<'_> {
        let index = self.index.frozen();
        let time = self.time.frozen();
        SegmentView {
            base: self.base,
            path: &self.path,
            log: Bytes::from_owner(FrozenOwner::new(self.log.clone())),
            index,
            index_count: (index.len().saturating_sub(INDEX_HEADER_BYTES)) / INDEX_ENTRY_BYTES,
            time,
            time_count: (time.len().saturating_sub(INDEX_HEADER_BYTES)) / INDEX_ENTRY_BYTES,
        }
    }
}

/// Index entries of written but not yet published frames (bounded by one per interval of the
/// segment, like the index itself).
#[derive(Debug, Clone, Copy)]
struct Pending {
    offset: u64,
    entry: IndexEntry,
    kind: IndexKind,
}

/// The active segment, owned by the partition's writer.
#[derive(Debug)]
pub(crate) struct Active {
    pub base: u64,
    pub path: PathBuf,
    dir: PathBuf,
    storage: Storage,
    /// The log file, opened on the first prefill (`fsync never` only). Otherwise an active
    /// segment holds no file descriptor: its maps do not need one, and sealing reopens the
    /// files by path (issue 10: three descriptors per written partition ran a server with a
    /// few hundred partitions out of them).
    prefill_file: Option<File>,
    /// The log file's reserved (fallocated) length: the writer never writes at or past it; it
    /// is raised in RESERVE_STEP_BYTES steps before an append that needs more (`reserve_for`).
    /// The map spans the whole segment; the pages past this are never touched.
    reserved: usize,
    log: MapWriter,
    index: MapWriter,
    time: MapWriter,
    /// The written end (bytes) and the next offset to write.
    pub write_pos: usize,
    pub next_offset: u64,
    /// The published end (bytes), always at a batch boundary.
    pub published_pos: usize,
    pub flushed_pos: usize,
    pub last_ts: Option<u64>,
    last_time_entry_offset: Option<u64>,
    rule: SparseRule,
    pending: Vec<Pending>,
    /// Bring pages into the page cache ahead of the writes (`MapWriter::prefill`). Only when no
    /// flush follows each append (`fsync never`): it makes the kernel cache the tail in large
    /// folios, and writeback of a folio writes all of it.
    pub prefill: bool,
}

/// What recovery found in an existing active segment, to resume writing after it.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    pub write_pos: usize,
    pub next_offset: u64,
    pub last_ts: Option<u64>,
    pub offsets: Vec<IndexEntry>,
    pub times: Vec<IndexEntry>,
    pub rule: SparseRule,
}

impl Active {
    /// Creates a new, empty active segment at `base`, reserving its full size.
    pub(crate) fn create(
        dir: &Path,
        base: u64,
        segment_bytes: u64,
        faults: &dyn FaultInjector,
        storage: &Storage,
    ) -> Result<Active> {
        let path = log_path(dir, base);
        let log_file = create_reserved(
            &path,
            RESERVE_STEP_BYTES.min(segment_bytes),
            faults,
            storage,
        )?;
        let index_bytes = index_file_bytes(segment_bytes);
        let made =
            create_reserved(&index_path(dir, base), index_bytes, faults, storage).and_then(|i| {
                Ok((
                    i,
                    create_reserved(&time_index_path(dir, base), index_bytes, faults, storage)?,
                ))
            });
        let (index_file, time_file) = match made {
            Ok(files) => files,
            Err(e) => {
                // Leave no half-created segment behind; the next append tries again.
                for p in [&path, &index_path(dir, base), &time_index_path(dir, base)] {
                    let _ = storage.remove(p);
                }
                return Err(e);
            }
        };
        sync_dir_with(storage, dir)?;
        Active::open(
            dir,
            base,
            segment_bytes,
            (log_file, index_file, time_file),
            Resume {
                next_offset: base,
                ..Resume::default()
            },
            storage,
        )
    }

    /// Maps an existing (pre-sized) active segment, resuming after what recovery found.
    pub(crate) fn open(
        dir: &Path,
        base: u64,
        segment_bytes: u64,
        files: (File, File, File),
        resume: Resume,
        storage: &Storage,
    ) -> Result<Active> {
        let path = log_path(dir, base);
        let (log_file, index_file, time_file) = files;
        let reserved = log_file
            .metadata()
            .map_err(io_err("stat segment", &path))?
            .len()
            .min(segment_bytes) as usize;
        assert!(
            reserved >= resume.write_pos,
            "recovery resumes inside the reserved length"
        );
        let index_bytes = index_file_bytes(segment_bytes) as usize;
        let log = MapWriter::open(&log_file, segment_bytes as usize, resume.write_pos)
            .map_err(io_err("map segment", &path))?;
        let ipath = index_path(dir, base);
        let tpath = time_index_path(dir, base);
        let index = open_index_map(
            &index_file,
            &ipath,
            index_bytes,
            IndexKind::Offset,
            base,
            &resume.offsets,
        )?;
        let time = open_index_map(
            &time_file,
            &tpath,
            index_bytes,
            IndexKind::Time,
            base,
            &resume.times,
        )?;
        let last_time_entry_offset = resume.times.last().map(|e| base + e.value as u64);
        Ok(Active {
            base,
            path,
            dir: dir.to_path_buf(),
            storage: storage.clone(),
            prefill_file: None,
            reserved,
            log,
            index,
            time,
            write_pos: resume.write_pos,
            next_offset: resume.next_offset,
            published_pos: resume.write_pos,
            flushed_pos: resume.write_pos,
            last_ts: resume.last_ts,
            last_time_entry_offset,
            rule: resume.rule,
            pending: Vec::new(),
            prefill: false,
        })
    }

    pub(crate) fn shared(&self) -> ActiveShared {
        ActiveShared {
            base: self.base,
            path: self.path.clone(),
            log: self.log.shared().clone(),
            index: self.index.shared().clone(),
            time: self.time.shared().clone(),
        }
    }

    /// Makes sure the next `frame_total` bytes are reserved on disk before they are written
    /// through the map: raises the file's reserved length to the step past them (at most the
    /// segment). A full disk is this `Err` (nothing written), never a SIGBUS later.
    pub(crate) fn reserve_for(
        &mut self,
        frame_total: usize,
        faults: &dyn FaultInjector,
    ) -> Result<()> {
        let end = self.write_pos + frame_total;
        if end <= self.reserved {
            return Ok(());
        }
        let step = RESERVE_STEP_BYTES as usize;
        let target = (end.next_multiple_of(step) + step).min(self.log.len());
        assert!(
            target >= end,
            "a batch that fits the segment fits its reservation"
        );
        let reserved = File::options()
            .write(true)
            .open(&self.path)
            .and_then(|file| {
                faults.before_reserve(&self.path, target as u64)?;
                self.storage.reserve(&self.path, &file, target as u64)
            });
        reserved.map_err(|source| Error::Io {
            op: "reserve space for segment file",
            path: self.path.clone(),
            source,
        })?;
        self.reserved = target;
        Ok(())
    }

    pub(crate) fn room(&self) -> usize {
        self.log.len() - self.write_pos
    }

    /// Encodes a checked batch of `frame_total` bytes straight into the map. Not yet readable.
    /// `runs` stamps the records: run `k` gives its timestamp to the records below its `end`
    /// (and at or above the previous run's); the runs cover the batch, timestamps never falling.
    pub(crate) fn append(
        &mut self,
        records: &[AppendRecord<'_>],
        frame_total: usize,
        runs: &[StampRun],
    ) {
        assert!(
            !records.is_empty() && frame_total <= self.room(),
            "batch does not fit the segment"
        );
        assert!(
            runs.last().is_some_and(|r| r.end == records.len())
                && runs
                    .windows(2)
                    .all(|w| w[0].end < w[1].end && w[0].ts <= w[1].ts),
            "stamp runs must cover the batch in order"
        );
        assert!(
            self.last_ts.is_none_or(|t| t <= runs[0].ts),
            "timestamps decrease within a partition"
        );
        assert!(
            self.write_pos + frame_total <= self.reserved,
            "writing past the reserved length (reserve_for first)"
        );
        let start = self.write_pos;
        let (base, first) = (self.base, self.next_offset);
        if self.prefill {
            if self.prefill_file.is_none() {
                // A hint only (see MapWriter::prefill): without the file there is no prefill.
                self.prefill_file = File::options().write(true).open(&self.path).ok();
            }
            if let Some(file) = &self.prefill_file {
                self.log.prefill(file, start + frame_total, self.reserved);
            }
        }
        let buf = self.log.tail_mut(start, frame_total);
        let mut at = 0;
        let mut run = 0;
        for (i, record) in records.iter().enumerate() {
            while runs[run].end <= i {
                run += 1;
            }
            let ts = runs[run].ts;
            let offset = first + i as u64;
            let (o, t) = self.rule.on_frame(base, offset, (start + at) as u64, ts);
            if let Some(entry) = o {
                self.pending.push(Pending {
                    offset,
                    entry,
                    kind: IndexKind::Offset,
                });
            }
            if let Some(entry) = t {
                self.pending.push(Pending {
                    offset,
                    entry,
                    kind: IndexKind::Time,
                });
            }
            at += encode_frame(&mut buf[at..], offset, ts, i + 1 == records.len(), record);
        }
        assert_eq!(
            at, frame_total,
            "encoded size disagrees with the checked size"
        );
        self.log.commit(start + frame_total);
        self.write_pos = start + frame_total;
        self.next_offset = first + records.len() as u64;
        self.last_ts = runs.last().map(|r| r.ts);
    }

    /// Makes frames below `end_pos` (offsets below `end_offset`) readable, writing their pending
    /// index entries first. Both must be a batch boundary at or below the written end.
    pub(crate) fn publish(&mut self, end_offset: u64, end_pos: usize) {
        assert!(end_pos <= self.write_pos && end_offset <= self.next_offset);
        if end_pos <= self.published_pos {
            return;
        }
        let ready = self
            .pending
            .iter()
            .take_while(|p| p.offset < end_offset)
            .count();
        for p in self.pending.drain(..ready) {
            let map = match p.kind {
                IndexKind::Offset => &mut self.index,
                IndexKind::Time => {
                    self.last_time_entry_offset = Some(p.offset);
                    &mut self.time
                }
            };
            append_entry(map, p.entry);
        }
        self.log.freeze(end_pos);
        self.published_pos = end_pos;
    }

    /// What a group-commit leader flushes: the map and the unflushed written range.
    pub(crate) fn flush_target(&self) -> (Arc<SharedMap>, usize, usize) {
        (self.log.shared().clone(), self.flushed_pos, self.write_pos)
    }

    /// Where the segment's bytes become durable (the flush goes through it).
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Seals the segment: flushes everything, publishes it, adds the time index's final entry,
    /// trims the three files to their lengths and flushes them. Returns the sealed segment.
    ///
    /// With `durable` false (`fsync never`) nothing waits for the disk: the files are trimmed
    /// and the sealed segment is marked to be synced by the next explicit flush (shutdown).
    pub(crate) fn seal(mut self, durable: bool) -> Result<Sealed> {
        let (map, from, to) = self.flush_target();
        if durable {
            self.storage
                .flush_range(&self.path, &map, from, to - from)
                .map_err(io_err("flush segment", &self.path))?;
            self.flushed_pos = to;
        }
        self.publish(self.next_offset, self.write_pos);
        if let (Some(ts), Some(last)) = (self.last_ts, self.next_offset.checked_sub(1)) {
            if self.last_time_entry_offset != Some(last) && last >= self.base {
                append_entry(
                    &mut self.time,
                    IndexEntry {
                        key: ts,
                        value: (last - self.base) as u32,
                    },
                );
                self.time.freeze(self.time.committed());
            }
        }
        let ipath = index_path(&self.dir, self.base);
        let tpath = time_index_path(&self.dir, self.base);
        for (map, path, len) in [
            (self.index.shared(), &ipath, self.index.committed()),
            (self.time.shared(), &tpath, self.time.committed()),
            (self.log.shared(), &self.path, self.write_pos),
        ] {
            let file = File::options()
                .write(true)
                .open(path)
                .map_err(io_err("open segment to seal", path))?;
            if durable {
                self.storage
                    .flush_range(path, map, 0, len)
                    .map_err(io_err("flush segment", path))?;
            }
            // Trimming under live maps is sound: nothing at or past `len` is ever read through
            // them (frozen <= committed <= len), see mmap.rs.
            self.storage
                .set_len(path, &file, len as u64)
                .map_err(io_err("trim sealed segment", path))?;
            if durable {
                self.storage
                    .sync_file(path, &file)
                    .map_err(io_err("sync sealed segment", path))?;
            }
        }
        Ok(Sealed::new(
            self.base,
            self.next_offset,
            self.path.clone(),
            self.write_pos as u64,
            &self.storage,
        ))
    }
}

fn append_entry(map: &mut MapWriter, entry: IndexEntry) {
    let at = map.committed();
    map.tail_mut(at, INDEX_ENTRY_BYTES)
        .copy_from_slice(&index::encode_entry(entry));
    map.commit(at + INDEX_ENTRY_BYTES);
    map.freeze(at + INDEX_ENTRY_BYTES);
}

/// Maps an active segment's index writable, rewriting its header and entries (and zeroing what
/// follows) so it holds exactly `entries`.
fn open_index_map(
    file: &File,
    path: &Path,
    len: usize,
    kind: IndexKind,
    base: u64,
    entries: &[IndexEntry],
) -> Result<MapWriter> {
    let mut map = MapWriter::open(file, len, 0).map_err(io_err("map index", path))?;
    let used = INDEX_HEADER_BYTES + entries.len() * INDEX_ENTRY_BYTES;
    assert!(used <= len, "more index entries than the index file holds");
    let buf = map.tail_mut(0, len);
    buf[..INDEX_HEADER_BYTES].copy_from_slice(&index::encode_header(kind, base));
    for (i, e) in entries.iter().enumerate() {
        let at = INDEX_HEADER_BYTES + i * INDEX_ENTRY_BYTES;
        buf[at..at + INDEX_ENTRY_BYTES].copy_from_slice(&index::encode_entry(*e));
    }
    // Only touch the rest where it is not already zero (it normally is: fresh fallocate).
    for chunk in buf[used..].chunks_mut(4096) {
        if !scan::is_zero(chunk) {
            chunk.fill(0);
        }
    }
    map.commit(used);
    map.freeze(used);
    Ok(map)
}

/// A sealed segment: immutable. Its maps are opened on first use, so opening a partition costs
/// nothing per sealed byte.
#[derive(Debug)]
pub(crate) struct Sealed {
    pub base: u64,
    /// One past its last offset (the next segment's base).
    pub end_offset: u64,
    pub path: PathBuf,
    pub bytes: u64,
    storage: Storage,
    maps: Mutex<Option<Arc<SealedMaps>>>,
    /// Sealed without waiting for the disk (`fsync never`); the next flush syncs it.
    needs_sync: std::sync::atomic::AtomicBool,
    /// Read since the map cache last swept past it (`MapCache`'s second chance).
    pub(crate) referenced: std::sync::atomic::AtomicBool,
}

#[derive(Debug)]
pub(crate) struct SealedMaps {
    log: Bytes,
    index: ReadMap,
    index_count: usize,
    time: ReadMap,
    time_count: usize,
    /// The newest timestamp in the segment (its time index's last entry).
    pub max_ts: u64,
}

impl SealedMaps {
    pub(crate) fn view<'a>(&'a self, sealed: &'a Sealed) -> SegmentView<'a> {
        SegmentView {
            base: sealed.base,
            path: &sealed.path,
            log: self.log.clone(),
            index: self.index.as_slice(),
            index_count: self.index_count,
            time: self.time.as_slice(),
            time_count: self.time_count,
        }
    }
}

impl Sealed {
    pub(crate) fn new(
        base: u64,
        end_offset: u64,
        path: PathBuf,
        bytes: u64,
        storage: &Storage,
    ) -> Sealed {
        Sealed {
            base,
            end_offset,
            path,
            bytes,
            storage: storage.clone(),
            maps: Mutex::new(None),
            needs_sync: Default::default(),
            referenced: Default::default(),
        }
    }

    pub(crate) fn mark_unsynced(&self) {
        self.needs_sync
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// fsyncs the segment's three files if it was sealed without waiting for the disk.
    pub(crate) fn sync_if_needed(&self) -> Result<()> {
        if !self
            .needs_sync
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return Ok(());
        }
        let dir = self.dir();
        for path in [
            self.path.clone(),
            index_path(dir, self.base),
            time_index_path(dir, self.base),
        ] {
            let synced = File::open(&path).and_then(|f| self.storage.sync_file(&path, &f));
            if let Err(source) = synced {
                self.needs_sync
                    .store(true, std::sync::atomic::Ordering::Release);
                return Err(Error::Io {
                    op: "sync sealed segment",
                    path,
                    source,
                });
            }
        }
        Ok(())
    }

    /// The segment's maps, opening them (and rebuilding a missing or damaged index) on first use.
    pub(crate) fn load(&self, id: &Ident) -> Result<Arc<SealedMaps>> {
        self.load_noting(id).map(|(maps, _)| maps)
    }

    /// [`load`](Self::load), also saying whether this call mapped the segment (so the caller
    /// notes it in the map cache, after this segment's slot is released).
    pub(crate) fn load_noting(&self, id: &Ident) -> Result<(Arc<SealedMaps>, bool)> {
        self.referenced
            .store(true, std::sync::atomic::Ordering::Release);
        let mut slot = self.maps.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(maps) = slot.as_ref() {
            return Ok((maps.clone(), false));
        }
        let maps = Arc::new(self.open_maps(id)?);
        *slot = Some(maps.clone());
        Ok((maps, true))
    }

    /// Whether the segment holds its maps now (tests).
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.maps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Drops this segment's own maps (retention, before deleting the files). Readers holding
    /// records keep their own reference to the log map.
    pub(crate) fn unload(&self) {
        self.maps.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn dir(&self) -> &Path {
        self.path
            .parent()
            .expect("a segment path has a parent directory")
    }

    fn bounds(&self) -> Bounds {
        Bounds {
            base_offset: self.base,
            end_offset: self.end_offset,
            log_bytes: self.bytes,
        }
    }

    fn open_maps(&self, id: &Ident) -> Result<SealedMaps> {
        let file = File::open(&self.path).map_err(io_err("open segment", &self.path))?;
        let len = file
            .metadata()
            .map_err(io_err("stat segment", &self.path))?
            .len();
        if len != self.bytes {
            return Err(id.corrupt(
                &self.path,
                self.base,
                len,
                format!(
                    "sealed segment changed size: {} bytes, expected {}",
                    len, self.bytes
                ),
            ));
        }
        let log = ReadMap::open(&file, len as usize).map_err(io_err("map segment", &self.path))?;
        log.advise_sequential();
        let log = Bytes::from_owner(log);
        let (ipath, tpath) = (
            index_path(self.dir(), self.base),
            time_index_path(self.dir(), self.base),
        );
        let mut loaded = (
            self.load_index(&ipath, IndexKind::Offset, &log),
            self.load_index(&tpath, IndexKind::Time, &log),
        );
        if loaded.0.is_none() || loaded.1.is_none() {
            tracing::warn!(topic = %id.topic, partition = id.partition, segment = %self.path.display(), "missing or damaged index; rebuilding it");
            self.rebuild_indexes(id, &log)?;
            loaded = (
                self.load_index(&ipath, IndexKind::Offset, &log),
                self.load_index(&tpath, IndexKind::Time, &log),
            );
        }
        let ((index, index_count), (time, time_count)) = match loaded {
            (Some(i), Some(t)) => (i, t),
            _ => {
                return Err(id.corrupt(
                    &self.path,
                    self.base,
                    0,
                    "index still invalid after rebuilding it",
                ))
            }
        };
        let max_ts = time_count
            .checked_sub(1)
            .map_or(0, |i| index::entry_at(time.as_slice(), i).key);
        Ok(SealedMaps {
            log,
            index,
            index_count,
            time,
            time_count,
            max_ts,
        })
    }

    /// Maps and validates one index; `None` if missing or damaged in any way.
    fn load_index(&self, path: &Path, kind: IndexKind, log: &[u8]) -> Option<(ReadMap, usize)> {
        let file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len() as usize;
        if len < INDEX_HEADER_BYTES || !(len - INDEX_HEADER_BYTES).is_multiple_of(INDEX_ENTRY_BYTES)
        {
            return None;
        }
        let map = ReadMap::open(&file, len).ok()?;
        let buf = map.as_slice();
        let count = (len - INDEX_HEADER_BYTES) / INDEX_ENTRY_BYTES;
        if !index::header_ok(buf, kind, self.base)
            || index::valid_prefix(buf, kind, self.bounds()) != count
        {
            return None;
        }
        let last = count.checked_sub(1).map(|i| index::entry_at(buf, i));
        let consistent = match (kind, last) {
            (_, None) => self.bytes == 0,
            // The last offset entry points at a frame with that offset.
            (IndexKind::Offset, Some(e)) => {
                decode_frame(&log[e.value as usize..]).is_ok_and(|f| f.offset == e.key)
                    && index::entry_at(buf, 0).value == 0
            }
            // The time index ends with the segment's last record.
            (IndexKind::Time, Some(e)) => self.base + e.value as u64 + 1 == self.end_offset,
        };
        consistent.then_some((map, count))
    }

    /// Rebuilds both indexes by scanning every frame (checking every CRC), writing them to
    /// temporary files and renaming them into place.
    pub(crate) fn rebuild_indexes(&self, id: &Ident, log: &[u8]) -> Result<()> {
        let scan = scan::scan(
            log,
            self.base,
            0,
            self.base,
            SparseRule::default(),
            None,
            log.len(),
        );
        if scan.valid_end != log.len() || scan.next_offset != self.end_offset {
            let offset = scan.next_offset;
            let reason = match scan.stop {
                scan::Stop::Frame(FrameError::Corrupt(r)) => r.to_string(),
                other => format!(
                    "sealed segment ends early ({other:?}) at byte {} of {}",
                    scan.valid_end,
                    log.len()
                ),
            };
            return Err(id.corrupt(&self.path, offset, scan.valid_end as u64, reason));
        }
        let mut times = scan.times;
        if let (Some(ts), Some(last)) = (scan.last_ts, self.end_offset.checked_sub(1)) {
            if times.last().map(|e| self.base + e.value as u64) != Some(last) {
                times.push(IndexEntry {
                    key: ts,
                    value: (last - self.base) as u32,
                });
            }
        }
        write_index_file(
            &self.storage,
            &index_path(self.dir(), self.base),
            IndexKind::Offset,
            self.base,
            &scan.offsets,
        )?;
        write_index_file(
            &self.storage,
            &time_index_path(self.dir(), self.base),
            IndexKind::Time,
            self.base,
            &times,
        )?;
        sync_dir_with(&self.storage, self.dir())
    }

    /// Deletes the segment's three files (retention; its maps are dropped first).
    pub(crate) fn remove_files(&self) -> Result<()> {
        for p in [
            self.path.clone(),
            index_path(self.dir(), self.base),
            time_index_path(self.dir(), self.base),
        ] {
            self.storage
                .remove(&p)
                .map_err(io_err("delete segment", &p))?;
        }
        Ok(())
    }
}

/// Writes a complete index file atomically: temporary file, fsync, rename.
pub(crate) fn write_index_file(
    storage: &Storage,
    path: &Path,
    kind: IndexKind,
    base: u64,
    entries: &[IndexEntry],
) -> Result<()> {
    let mut buf = Vec::with_capacity(INDEX_HEADER_BYTES + entries.len() * INDEX_ENTRY_BYTES);
    buf.extend_from_slice(&index::encode_header(kind, base));
    for e in entries {
        buf.extend_from_slice(&index::encode_entry(*e));
    }
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = File::create(&tmp)?;
        f.write_all(&buf)?;
        storage.sync_file(&tmp, &f)?;
        storage.rename(&tmp, path)
    };
    write().map_err(io_err("write index", path))
}

/// One segment's readable bytes and indexes, for the scans below.
pub(crate) struct SegmentView<'a> {
    pub base: u64,
    pub path: &'a Path,
    pub log: Bytes,
    pub index: &'a [u8],
    pub index_count: usize,
    pub time: &'a [u8],
    pub time_count: usize,
}

impl SegmentView<'_> {
    /// Where to start scanning for `offset`: (position, offset there).
    fn start_for(&self, offset: u64) -> (usize, u64) {
        index::lookup_offset(self.index, self.index_count, offset)
            .map_or((0, self.base), |e| (e.value as usize, e.key))
    }

    /// Appends records from `from` to `out` until the segment ends or a limit is reached.
    /// Returns false once a limit is reached.
    /// Records at or past `end` (the published end the caller saw) are left out, so what a
    /// caller gets agrees with the end offset it read.
    pub(crate) fn read(
        &self,
        id: &Ident,
        range: (u64, u64),
        max_records: usize,
        max_bytes: usize,
        out: &mut Vec<Record>,
        bytes: &mut usize,
    ) -> Result<bool> {
        let (from, end) = range;
        let (mut pos, mut expect) = self.start_for(from);
        loop {
            if out.len() >= max_records || (*bytes >= max_bytes && !out.is_empty()) || expect >= end
            {
                return Ok(false);
            }
            let Some(frame) = self.frame_at(id, pos, expect)? else {
                return Ok(true);
            };
            if frame.offset >= from {
                out.push(frame.record_in(&self.log));
                *bytes += frame.frame_bytes;
            }
            pos += frame.frame_bytes;
            expect += 1;
        }
    }

    /// The first offset in this segment with timestamp >= `ts`, if any.
    pub(crate) fn offset_for_timestamp(&self, id: &Ident, ts: u64) -> Result<Option<u64>> {
        let start = index::lookup_time(self.time, self.time_count, ts)
            .map_or(self.base, |e| self.base + e.value as u64);
        let (mut pos, mut expect) = self.start_for(start);
        while let Some(frame) = self.frame_at(id, pos, expect)? {
            if frame.offset >= start && frame.timestamp_ms >= ts {
                return Ok(Some(frame.offset));
            }
            pos += frame.frame_bytes;
            expect += 1;
        }
        Ok(None)
    }

    /// Checks every frame; returns the number of records.
    pub(crate) fn verify(&self, id: &Ident, sealed: bool) -> Result<u64> {
        let (mut pos, mut expect, mut last_ts, mut batch_end) = (0usize, self.base, 0u64, true);
        while let Some(frame) = self.frame_at(id, pos, expect)? {
            if frame.timestamp_ms < last_ts {
                return Err(id.corrupt(
                    self.path,
                    expect,
                    pos as u64,
                    "timestamp lower than the previous record's",
                ));
            }
            last_ts = frame.timestamp_ms;
            batch_end = frame.batch_end();
            pos += frame.frame_bytes;
            expect += 1;
        }
        if sealed && (pos != self.log.len() || !batch_end) {
            return Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                "sealed segment ends inside a frame or a batch",
            ));
        }
        Ok(expect - self.base)
    }

    /// The frame at `pos`, which must carry offset `expect`; `None` at the end of the readable
    /// bytes. Anything else is corruption, named precisely.
    fn frame_at(
        &self,
        id: &Ident,
        pos: usize,
        expect: u64,
    ) -> Result<Option<crate::record::FrameView<'_>>> {
        if pos >= self.log.len() {
            return Ok(None);
        }
        match decode_frame(&self.log[pos..]) {
            Ok(f) if f.offset == expect => Ok(Some(f)),
            Ok(f) => Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                format!("frame holds offset {}, expected {expect}", f.offset),
            )),
            Err(FrameError::Corrupt(reason)) => {
                Err(id.corrupt(self.path, expect, pos as u64, reason))
            }
            Err(FrameError::End) => Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                "zero length inside the readable bytes",
            )),
            Err(FrameError::Incomplete) => Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                "frame runs past the end of the segment",
            )),
        }
    }
}
