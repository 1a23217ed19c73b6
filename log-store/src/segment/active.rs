//! The active segment: the partition's writer appends frames through writable maps; readers
//! see it through `ActiveShared`, below the published end.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fault::FaultInjector;
use crate::files::{
    index_file_bytes, index_path, io_err, log_path, sync_dir_with, time_index_path,
};
use crate::index::{
    self, IndexEntry, IndexKind, SparseRule, INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES,
};
use crate::limits::RESERVE_STEP_BYTES;
use crate::mmap::{FrozenOwner, MapWriter, SharedMap};
use crate::record::{encode_frame, AppendRecord};
use crate::scan;
use crate::storage::Storage;
use crate::types::StampRun;

use super::{Sealed, SegmentView};

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
