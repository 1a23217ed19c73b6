//! Every memmap2 call lives here; the rest of the crate sees only safe slices and safe methods.
//!
//! Two kinds of map:
//! - [`ReadMap`]: a read-only map of a sealed file. Sealed files never change again.
//! - [`MapWriter`] / [`SharedMap`]: a writable shared map of a pre-sized file (the active
//!   segment and its indexes). One `MapWriter` (unique, `&mut self` to write) and any number of
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
//! for the rest of the map's life. The file-level half of the invariant (SIGBUS safety) is the
//! crate's: while a file is mapped, only this process changes it (the data directory lock), the
//! active segment's space is reserved with fallocate before it is mapped, a file is only trimmed
//! to a length at or above every position still readable through a live map, and sealed files
//! are mapped read-only. An outside process that truncates a mapped file can still crash us with
//! SIGBUS; that is the documented cost of mmap (ARCHITECTURE.md).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use memmap2::{Advice, Mmap, MmapOptions, MmapRaw};

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
