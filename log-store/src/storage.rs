//! The storage seam: every operation a segment needs from the operating system to make bytes
//! durable — create a file and reserve its space, reserve more, map it, flush a range of a
//! writable map (msync), sync a whole file (fsync) or a directory, trim, rename, remove.
//!
//! [`Storage::Os`] is the real thing (files, fallocate, memmap2 through `mmap.rs`). The seam
//! is an enum, not a trait object: in a kappa build it has that one variant, so every call is
//! a direct call; and nothing on the per-record path goes through it (records are encoded
//! straight into the map), only the per-batch flush and the per-segment file operations.
//!
//! Under `cfg(test)` a second variant, [`Storage::Crash`], runs the same real files but keeps,
//! in memory, the image of every segment file that a flush or sync has made durable, and can
//! "crash" at the n-th flush: that flush and every storage call after it fail, and
//! [`crash::CrashDisk::materialize`] then rewrites each file as a power cut would leave it —
//! the flushed bytes, with every unflushed sector either lost or written (torn). A test that
//! reopens the store over those files checks what the durability promise says: every
//! acknowledged record survives. It would fail if the log never flushed, which a test that
//! only kills the process (keeping the page cache) cannot show.
//!
//! Invariant: a `Storage` call is the only way log-store makes segment bytes durable or
//! changes a segment file's name, length or existence after creating it — except the clean-up
//! of leftovers when a partition is opened (`*.tmp`, indexes without their log) and the removal
//! of a topic's whole directory (delete, an unfinished create).

use std::fs::{self, File};
use std::io;
use std::path::Path;

use crate::mmap::{self, SharedMap};

#[derive(Debug, Clone, Default)]
pub(crate) enum Storage {
    /// Real files: fallocate, msync, fsync.
    #[default]
    Os,
    /// Real files plus an in-memory image of what is durable, crashing on request (tests).
    #[cfg(test)]
    Crash(std::sync::Arc<crash::CrashDisk>),
}

impl Storage {
    /// Creates (truncating) `path` and reserves `bytes` of disk for it.
    pub(crate) fn create_reserved(&self, path: &Path, bytes: u64) -> io::Result<File> {
        #[cfg(test)]
        if let Storage::Crash(disk) = self {
            disk.check()?;
            disk.created(path);
        }
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        mmap::reserve(&file, bytes)?;
        Ok(file)
    }

    /// Raises the reserved (fallocated) length of `file` (at `path`) to `bytes`.
    pub(crate) fn reserve(&self, path: &Path, file: &File, bytes: u64) -> io::Result<()> {
        let _ = path;
        #[cfg(test)]
        if let Storage::Crash(disk) = self {
            disk.check()?;
        }
        mmap::reserve(file, bytes)
    }

    /// Makes `[start, start + len)` of the writable map of `path` durable (msync).
    pub(crate) fn flush_range(
        &self,
        path: &Path,
        map: &SharedMap,
        start: usize,
        len: usize,
    ) -> io::Result<()> {
        match self {
            Storage::Os => {
                let _ = path;
                map.flush_range(start, len)
            }
            #[cfg(test)]
            Storage::Crash(disk) => disk.flush_range(path, start, len),
        }
    }

    /// Makes the whole of `file` (at `path`) durable, length included (fsync).
    pub(crate) fn sync_file(&self, path: &Path, file: &File) -> io::Result<()> {
        match self {
            Storage::Os => {
                let _ = path;
                file.sync_all()
            }
            #[cfg(test)]
            Storage::Crash(disk) => disk.sync_file(path),
        }
    }

    /// Makes the entries of directory `dir` durable (fsync of the directory).
    pub(crate) fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(test)]
        if let Storage::Crash(disk) = self {
            disk.check()?;
        }
        File::open(dir).and_then(|d| d.sync_all())
    }

    /// Sets the length of `file` (at `path`); durable only after a sync.
    pub(crate) fn set_len(&self, path: &Path, file: &File, len: u64) -> io::Result<()> {
        let _ = path;
        #[cfg(test)]
        if let Storage::Crash(disk) = self {
            disk.check()?;
        }
        file.set_len(len)
    }

    pub(crate) fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        #[cfg(test)]
        if let Storage::Crash(disk) = self {
            disk.check()?;
            fs::rename(from, to)?;
            disk.renamed(from, to);
            return Ok(());
        }
        fs::rename(from, to)
    }

    pub(crate) fn remove(&self, path: &Path) -> io::Result<()> {
        #[cfg(test)]
        if let Storage::Crash(disk) = self {
            disk.check()?;
            fs::remove_file(path)?;
            disk.removed(path);
            return Ok(());
        }
        fs::remove_file(path)
    }
}

#[cfg(test)]
pub(crate) mod crash {
    //! The crash-test disk (see the module above). Like redb's crash-test backend: it counts
    //! flushes, fails the n-th and everything after it, and then only the bytes that some
    //! earlier flush or sync covered are sure to survive.

    use std::collections::BTreeMap;
    use std::fs;
    use std::io;
    use std::os::unix::fs::FileExt;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, MutexGuard};

    use rand::Rng;

    /// Unit of torn writes: each unflushed sector is independently lost or written.
    const SECTOR_BYTES: usize = 512;

    #[derive(Debug, Default)]
    struct State {
        /// Durable image of every file created through the seam since the disk was made.
        durable: BTreeMap<PathBuf, Vec<u8>>,
        flushes: u64,
        crash_at: Option<u64>,
        crashed: bool,
    }

    #[derive(Debug, Default)]
    pub(crate) struct CrashDisk {
        state: Mutex<State>,
    }

    fn crashed_error() -> io::Error {
        io::Error::other("simulated crash (crash-test disk)")
    }

    impl CrashDisk {
        /// A disk whose `n`-th flush or sync (counting from 1) is the crash.
        pub(crate) fn crashing_at(n: u64) -> CrashDisk {
            CrashDisk {
                state: Mutex::new(State {
                    crash_at: Some(n),
                    ..State::default()
                }),
            }
        }

        fn lock(&self) -> MutexGuard<'_, State> {
            self.state.lock().unwrap_or_else(|p| p.into_inner())
        }

        pub(crate) fn crashed(&self) -> bool {
            self.lock().crashed
        }

        /// Crashes now (the test ran out of work before the chosen flush).
        pub(crate) fn crash_now(&self) {
            self.lock().crashed = true;
        }

        pub(crate) fn flushes(&self) -> u64 {
            self.lock().flushes
        }

        pub(super) fn check(&self) -> io::Result<()> {
            match self.lock().crashed {
                true => Err(crashed_error()),
                false => Ok(()),
            }
        }

        /// Counts a flush; fails it (and crashes) if it is the chosen one.
        fn count_flush(state: &mut State) -> io::Result<()> {
            if state.crashed {
                return Err(crashed_error());
            }
            state.flushes += 1;
            if state.crash_at == Some(state.flushes) {
                state.crashed = true;
                return Err(crashed_error());
            }
            Ok(())
        }

        pub(super) fn created(&self, path: &Path) {
            // A new file: nothing of it is durable yet, not even its reserved length.
            self.lock().durable.insert(path.to_path_buf(), Vec::new());
        }

        pub(super) fn flush_range(&self, path: &Path, start: usize, len: usize) -> io::Result<()> {
            let mut state = self.lock();
            Self::count_flush(&mut state)?;
            // The writable map and the file share the page cache: the file holds what the map
            // holds. msync of a range also makes the file's length durable (fdatasync).
            let file = fs::File::open(path)?;
            let file_len = file.metadata()?.len() as usize;
            let mut bytes = vec![0u8; len];
            file.read_exact_at(&mut bytes, start as u64)?;
            let image = state.durable.entry(path.to_path_buf()).or_default();
            image.resize(image.len().max(file_len), 0);
            image[start..start + len].copy_from_slice(&bytes);
            Ok(())
        }

        pub(super) fn sync_file(&self, path: &Path) -> io::Result<()> {
            let mut state = self.lock();
            Self::count_flush(&mut state)?;
            let bytes = fs::read(path)?;
            state.durable.insert(path.to_path_buf(), bytes);
            Ok(())
        }

        pub(super) fn renamed(&self, from: &Path, to: &Path) {
            let mut state = self.lock();
            if let Some(image) = state.durable.remove(from) {
                state.durable.insert(to.to_path_buf(), image);
            }
        }

        pub(super) fn removed(&self, path: &Path) {
            self.lock().durable.remove(path);
        }

        /// After the crash (and once the store is dropped): rewrites every file the disk knows
        /// as the crash left it. Its length is the durable one, or, if the file had grown since
        /// its last flush (grown by a reservation, trimmed by a seal), possibly the current one; every sector whose current bytes differ from
        /// the durable image keeps either the durable or the current bytes, at random (lost or
        /// written: a torn write). Files the disk never saw are left as they are.
        pub(crate) fn materialize(&self, rng: &mut impl Rng) -> io::Result<()> {
            let state = self.lock();
            assert!(state.crashed, "materialize after the crash only");
            for (path, durable) in &state.durable {
                let Ok(current) = fs::read(path) else {
                    continue; // removed before the crash was noticed
                };
                let len = match current.len() != durable.len() && rng.random_bool(0.5) {
                    true => current.len(),
                    false => durable.len(),
                };
                let mut out = durable.clone();
                out.resize(len, 0);
                for start in (0..len).step_by(SECTOR_BYTES) {
                    let end = (start + SECTOR_BYTES).min(len);
                    let now = current.get(start..end.min(current.len())).unwrap_or(&[]);
                    if now.len() == end - start && now != &out[start..end] && rng.random_bool(0.5) {
                        out[start..end].copy_from_slice(now);
                    }
                }
                fs::write(path, &out)?;
            }
            Ok(())
        }
    }
}
