//! Names and small helpers for the files of a partition: segment file paths, the size of an
//! index file, directory fsync, and the context (`Ident`, `io_err`) every file error carries.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::index::{INDEX_ENTRY_BYTES, INDEX_HEADER_BYTES};
use crate::limits::INDEX_INTERVAL_BYTES;
use crate::storage::Storage;

/// Topic and partition, for error messages and logs.
#[derive(Debug, Clone)]
pub(crate) struct Ident {
    pub topic: String,
    pub partition: u32,
}

impl Ident {
    pub(crate) fn corrupt(
        &self,
        segment: &Path,
        offset: u64,
        position: u64,
        reason: impl Into<String>,
    ) -> Error {
        Error::Corrupt {
            topic: self.topic.clone(),
            partition: self.partition,
            offset,
            segment: segment.to_path_buf(),
            position,
            reason: reason.into(),
        }
    }
}

pub(crate) fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn log_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.log"))
}
pub(crate) fn index_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.index"))
}
pub(crate) fn time_index_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.timeindex"))
}

/// Bytes of an index file with room for every entry a segment of `segment_bytes` can need: one
/// per interval, one at position 0, and the time index's final entry.
pub(crate) fn index_file_bytes(segment_bytes: u64) -> u64 {
    (INDEX_HEADER_BYTES + (segment_bytes / INDEX_INTERVAL_BYTES + 2) as usize * INDEX_ENTRY_BYTES)
        as u64
}

/// fsync of a directory outside segments (topic configs, the topics directory).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    sync_dir_with(&Storage::Os, dir)
}

pub(crate) fn sync_dir_with(storage: &Storage, dir: &Path) -> Result<()> {
    storage.sync_dir(dir).map_err(io_err("sync directory", dir))
}
