//! A sealed segment: trimmed, flushed and immutable; its maps are opened read-only on first use.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::files::{index_path, io_err, sync_dir_with, time_index_path, Ident};
use crate::index::{
    self, Bounds, IndexEntry, IndexKind, SparseRule, INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES,
};
use crate::mmap::ReadMap;
use crate::record::{decode_frame, FrameError};
use crate::scan;
use crate::storage::Storage;

use super::SegmentView;

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
