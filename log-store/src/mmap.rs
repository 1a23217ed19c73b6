//! Every memmap2 call lives here; the rest of the crate sees only safe slices and safe methods.
//!
//! Two kinds of map:
//! - [`ReadMap`]: a read-only map of a sealed file. Sealed files never change again.
//! - [`MapWriter`] / [`SharedMap`]: a writable shared map of the active segment and its
//!   indexes (the indexes pre-sized; the log reserved in steps, see below). One `MapWriter` (unique, `&mut self` to write) and any number of
//!   `Arc<SharedMap>` readers.
//!
//! The invariant that makes the writable map sound: the map tracks two watermarks,
//! `committed` and `frozen`, with `frozen <= committed <= len`, both only ever increasing.
//! - The writer only creates `&mut [u8]` at positions `>= committed` ([`MapWriter::tail_mut`]),
//!   and can only move `committed` (and `frozen`) while no such slice is alive (both need
//!   `&mut self`).
//! - Readers only create `&[u8]` below `frozen` ([`SharedMap::frozen`]).
//!
//! So a byte is never read while it can still be written, and bytes below `frozen` are immutable
//! for the rest of the map's life.
//!
//! [`MapWriter::prefill`] also writes the file with `pwrite`, but only zeros, only over bytes at
//! or past `committed` that are still zero (the reserved tail), and only while it holds `&mut
//! self`: no slice can see those bytes change, and their contents do not change anyway. It exists
//! because a write fault on a page that is not in the page cache makes the kernel allocate and
//! zero the page one fault at a time; copying zeros in with one `pwrite` per window is several
//! times cheaper, and the faults that remain find the page already there. The file-level half of the invariant (SIGBUS safety) is the
//! crate's: while a file is mapped, only this process changes it (the data directory lock), the
//! active segment's map may span past the end of its file, but every byte is reserved with
//! fallocate (the file extended to cover it) before it is written or read through the map
//! (`Active::reserve_for`, in RESERVE_STEP_BYTES steps; readers stop at the published end, below
//! the written end; `prefill` stops at the reserved length), a file is only trimmed
//! to a length at or above every position still readable through a live map, and sealed files
//! are mapped read-only. An outside process that truncates a mapped file can still crash us with
//! SIGBUS; that is the documented cost of mmap (ARCHITECTURE.md).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use std::os::unix::fs::FileExt;

use memmap2::{Advice, Mmap, MmapOptions, MmapRaw};

use crate::limits::PREFILL_WINDOW_BYTES;

/// What `prefill` copies from. Never written, so it stays in bss, backed by the kernel's shared
/// zero page: it costs no memory and is always in cache.
static ZEROS: [u8; PREFILL_WINDOW_BYTES] = [0; PREFILL_WINDOW_BYTES];

/// Prefill windows start and end on this boundary (the usual page size; any other page size is
/// only slower, never wrong: a partial-page `pwrite` of zeros over zeros is still correct).
const PREFILL_ALIGN_BYTES: usize = 4096;

/// A read-only map of a whole sealed file (or nothing, for an empty file).
#[derive(Debug)]
pub(crate) struct ReadMap {
    map: Option<Mmap>,
}

impl ReadMap {
    /// Maps `len` bytes of `file` read-only. `len` must not exceed the file's length.
    pub(crate) fn open(file: &File, len: usize) -> io::Result<ReadMap> {
        if len == 0 {
            return Ok(ReadMap { map: None });
        }
        // SAFETY: the file is sealed: this process never writes it again, and the data directory
        // lock keeps other kappa processes out. `len` is within the file (callers pass its
        // length, checked by `metadata()` just before), so no page of the map lies past EOF
        // unless someone outside kappa truncates the file (documented in ARCHITECTURE.md).
        let map = unsafe { MmapOptions::new().len(len).map(file)? };
        Ok(ReadMap { map: Some(map) })
    }

    /// Hints the kernel that the map will be read front to back (read-ahead, early reclaim).
    pub(crate) fn advise_sequential(&self) {
        if let Some(map) = &self.map {
            // Advice is only a hint; a failure changes nothing we rely on.
            let _ = map.advise(Advice::Sequential);
        }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}

impl AsRef<[u8]> for ReadMap {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// The shared half of a writable map: readable below `frozen`, flushable anywhere.
#[derive(Debug)]
pub(crate) struct SharedMap {
    raw: MmapRaw,
    committed: AtomicUsize,
    frozen: AtomicUsize,
}

impl SharedMap {
    /// The immutable prefix `[0, frozen)`.
    pub(crate) fn frozen(&self) -> &[u8] {
        let end = self.frozen.load(Ordering::Acquire);
        assert!(end <= self.raw.len(), "frozen end past the map");
        // SAFETY: `[0, end)` lies inside the map (asserted) and below `frozen`, which only grows
        // and is never above `committed`; the writer only writes at `>= committed` (see the
        // module invariant), so nothing writes these bytes while the slice lives. The map lives
        // as long as `self`, which the returned borrow cannot outlive.
        unsafe { std::slice::from_raw_parts(self.raw.as_ptr(), end) }
    }

    pub(crate) fn frozen_len(&self) -> usize {
        self.frozen.load(Ordering::Acquire)
    }

    /// msync(MS_SYNC) of `[start, start + len)` (page-aligned by memmap2). Creates no reference
    /// to the bytes, so it may run while the writer writes elsewhere in the map.
    pub(crate) fn flush_range(&self, start: usize, len: usize) -> io::Result<()> {
        assert!(start
            .checked_add(len)
            .is_some_and(|end| end <= self.raw.len()));
        if len == 0 {
            return Ok(());
        }
        self.raw.flush_range(start, len)
    }
}

/// The unique writing half of a writable map.
#[derive(Debug)]
pub(crate) struct MapWriter {
    shared: Arc<SharedMap>,
    /// `prefill` has brought every page in `[committed, prefilled)` into the page cache (writer
    /// only; never decreases).
    prefilled: usize,
}

impl MapWriter {
    /// Maps the first `len` bytes of `file` writable and shared. `committed` and `frozen` start at
    /// `committed`: the bytes below are taken as written (recovered) and immutable.
    pub(crate) fn open(file: &File, len: usize, committed: usize) -> io::Result<MapWriter> {
        assert!(len > 0 && committed <= len);
        // `map_raw` is safe in memmap2; every access through the raw pointer below is not, and
        // each one is justified where it happens.
        let raw = MmapOptions::new().len(len).map_raw(file)?;
        let shared = SharedMap {
            raw,
            committed: AtomicUsize::new(committed),
            frozen: AtomicUsize::new(committed),
        };
        Ok(MapWriter {
            shared: Arc::new(shared),
            prefilled: committed,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<SharedMap> {
        &self.shared
    }

    pub(crate) fn committed(&self) -> usize {
        self.shared.committed.load(Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.shared.raw.len()
    }

    /// A writable window `[start, start + len)` at or after the committed end.
    pub(crate) fn tail_mut(&mut self, start: usize, len: usize) -> &mut [u8] {
        let end = start.checked_add(len).expect("window end overflows");
        assert!(start >= self.committed(), "write below the committed end");
        assert!(end <= self.shared.raw.len(), "write past the map");
        // SAFETY: the window is inside the map (asserted) and at or above `committed`, so no
        // reader can see it (readers stop at `frozen <= committed`), and `committed` cannot move
        // while this `&mut self` borrow lives, so no other `&mut` window can overlap it either.
        unsafe { std::slice::from_raw_parts_mut(self.shared.raw.as_mut_ptr().add(start), len) }
    }

    /// Makes sure the pages up to `end` are in the page cache before the writer writes them, in
    /// windows of `PREFILL_WINDOW_BYTES`: the zeroed tail is rewritten with zeros by one `pwrite`
    /// per window (`file` is the mapped file). The kernel then caches the window in large folios,
    /// and the writes through the map take only a cheap fault per page (no allocation, no
    /// zeroing, no per-page filesystem work). Measured on Linux 6.18 / ext4 (issue 3): appends of
    /// 200 B records went from 43 % to 65 % of plain `write()` (CPU time), 4 KiB records from 51 %
    /// to 67 %. `pwrite` in 16 KiB pieces (small folios) was slower than no prefill at all;
    /// `MADV_POPULATE_WRITE` alone changed nothing and on top of the prefill made it slower.
    ///
    /// Only for segments nobody flushes piecemeal (`fsync never`): writeback works in whole
    /// folios, so an msync of a few hundred bytes would write up to the whole window (measured:
    /// 0.6 ms instead of 0.1 ms per flush). Only a hint: on an error the writes fault the pages in
    /// as they would have anyway.
    ///
    /// The bytes at or past `committed` must be zero (the reserved tail of a created segment, or
    /// the tail recovery zeroed); they stay zero.
    pub(crate) fn prefill(&mut self, file: &File, end: usize, reserved: usize) {
        if end <= self.prefilled {
            return;
        }
        // Never past the file's reserved length: that is reserved in steps, not by this hint.
        let len = self.len().min(reserved);
        let from = self
            .prefilled
            .max(self.committed())
            .next_multiple_of(PREFILL_ALIGN_BYTES)
            .min(len);
        let to = end
            .max(from)
            .saturating_add(PREFILL_WINDOW_BYTES)
            .next_multiple_of(PREFILL_ALIGN_BYTES)
            .min(len);
        self.prefilled = to;
        let mut at = from;
        while at < to {
            let n = (to - at).min(ZEROS.len());
            // Hints only (see above): a failed write leaves zeros and unwritten space as they were.
            if file.write_all_at(&ZEROS[..n], at as u64).is_err() {
                return;
            }
            at += n;
        }
    }

    /// The writer is done with everything below `end`; it will never write there again.
    pub(crate) fn commit(&mut self, end: usize) {
        assert!(
            end >= self.committed() && end <= self.len(),
            "commit moves backwards or past the map"
        );
        self.shared.committed.store(end, Ordering::Release);
    }

    /// Makes `[0, end)` readable. `end` must already be committed.
    pub(crate) fn freeze(&mut self, end: usize) {
        let frozen = self.shared.frozen.load(Ordering::Relaxed);
        assert!(
            end >= frozen && end <= self.committed(),
            "freeze moves backwards or past the committed end"
        );
        self.shared.frozen.store(end, Ordering::Release);
    }
}

/// A `Bytes` owner for the immutable prefix of a writable map (zero-copy reads of the active
/// segment: the prefix below `end` never changes again).
pub(crate) struct FrozenOwner {
    map: Arc<SharedMap>,
    end: usize,
}

impl FrozenOwner {
    pub(crate) fn new(map: Arc<SharedMap>) -> FrozenOwner {
        let end = map.frozen_len();
        FrozenOwner { map, end }
    }
}

impl AsRef<[u8]> for FrozenOwner {
    fn as_ref(&self) -> &[u8] {
        &self.map.frozen()[..self.end]
    }
}

/// Reserves `len` bytes of disk for `file` (fallocate, mode 0), so that writing through a map of
/// those bytes can never hit a full disk (a SIGBUS); a full disk is this call's ENOSPC instead.
pub(crate) fn reserve(file: &File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len =
        libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        // SAFETY: fallocate only reads its integer arguments; the descriptor is valid because
        // `file` is borrowed for the duration of the call.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Raises this process's soft limit of open files to its hard limit (issue 10: at the common
/// soft limit of 1,024 a store with a few hundred partitions ran out). Returns the (old, new)
/// soft limit. Here because this is log-store's one module allowed `unsafe`, and segment files
/// are what needs the descriptors.
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through the pointer, which points at a live, owned,
    // properly aligned local for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let old = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit only reads the `rlimit` behind the pointer, a live local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((old, lim.rlim_cur))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefill_keeps_committed_bytes_and_zeros_the_rest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("seg");
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("create");
        let len = 3 * PREFILL_WINDOW_BYTES + 100;
        reserve(&file, len as u64).expect("reserve");
        let mut w = MapWriter::open(&file, len, 0).expect("map");
        // An odd, mid-page committed end, as after recovery.
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8 + 1).collect();
        w.tail_mut(0, data.len()).copy_from_slice(&data);
        w.commit(data.len());
        w.freeze(data.len());
        for end in [data.len() + 10, 2 * PREFILL_WINDOW_BYTES, len] {
            w.prefill(&file, end, len);
            assert_eq!(&w.shared().frozen()[..data.len()], &data[..]);
        }
        let at = data.len();
        let tail = w.tail_mut(at, len - at);
        assert!(tail.iter().all(|&b| b == 0), "the tail stays zero");
        tail[len - at - 1] = 7;
        w.commit(len);
        w.freeze(len);
        assert_eq!(std::fs::read(&path).expect("read")[len - 1], 7);
    }
}
