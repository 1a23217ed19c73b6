//! Checkpoints: state, input positions, watermark and output end offsets saved together in one
//! file, atomically (write to a temporary file, fsync, rename over the old one, fsync the
//! directory). Layout: the 8-byte magic `KPCKPT01`, then the bincode 1.3.3 encoding of
//! `Checkpoint` (little-endian, fixed-width integers). A missing file means "no checkpoint".

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::CHECKPOINT_BYTES_MAX;

const MAGIC: &[u8; 8] = b"KPCKPT01";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// (topic, partition, next offset to process), in the source's input order.
    pub inputs: Vec<(String, u32, u64)>,
    /// The largest event time seen; the watermark is this minus the delay.
    pub max_event_time_ms: Option<i64>,
    pub output_ends: Vec<u64>,
    pub late_ends: Vec<u64>,
    pub records_in: u64,
    pub records_out: u64,
    pub late_records: u64,
    pub invalid_records: u64,
    /// A bounded run that reached its end.
    pub finished: bool,
    /// The operator's own state (bincode, opaque here).
    pub operator: Vec<u8>,
}

fn bincode_options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .with_limit(CHECKPOINT_BYTES_MAX)
}

/// Writes `cp` to `path` atomically; returns the file's size.
pub fn write(path: &Path, cp: &Checkpoint) -> Result<u64> {
    use bincode::Options;
    let mut bytes = MAGIC.to_vec();
    bincode_options()
        .serialize_into(&mut bytes, cp)
        .map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    f.write_all(&bytes)
        .map_err(|e| Error::io("write", &tmp, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))?;
    if let Some(dir) = path.parent() {
        let d = File::open(dir).map_err(|e| Error::io("open", dir, e))?;
        d.sync_all().map_err(|e| Error::io("fsync", dir, e))?;
    }
    Ok(bytes.len() as u64)
}

/// Reads the checkpoint at `path`; `Ok(None)` when there is none yet.
pub fn read(path: &Path) -> Result<Option<Checkpoint>> {
    use bincode::Options;
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    let bad = |reason: String| Error::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("not a kappa checkpoint (bad magic)".into()));
    }
    bincode_options()
        .deserialize(&bytes[MAGIC.len()..])
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.checkpoint");
        assert_eq!(read(&path).unwrap(), None);
        let mut cp = Checkpoint {
            inputs: vec![("orders".into(), 0, 42)],
            records_in: 42,
            ..Default::default()
        };
        write(&path, &cp).unwrap();
        assert_eq!(read(&path).unwrap(), Some(cp.clone()));
        cp.records_in = 43;
        write(&path, &cp).unwrap();
        assert_eq!(read(&path).unwrap().unwrap().records_in, 43);
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn a_damaged_checkpoint_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.checkpoint");
        std::fs::write(&path, b"KPCKPT01\xff").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("v1.checkpoint"), "{e}");
    }
}
