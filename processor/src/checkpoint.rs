//! Checkpoints: state, input positions, watermark and output end offsets saved together in one
//! file, atomically (write to a temporary file, fsync, rename over the old one, fsync the
//! directory). Layout: the 8-byte magic `KPCKPT02`, then the bincode 1.3.3 encoding of
//! `Checkpoint` (little-endian, fixed-width integers). A missing file means "no checkpoint".
//! Version 1 (`KPCKPT01`, one watermark for all inputs) is still read: every input partition
//! starts from its single watermark.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::CHECKPOINT_BYTES_MAX;
use crate::watermark::PartitionMark;

const MAGIC: &[u8; 8] = b"KPCKPT02";
const MAGIC_V1: &[u8; 8] = b"KPCKPT01";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// (topic, partition, next offset to process), in the source's input order.
    pub inputs: Vec<(String, u32, u64)>,
    /// Per input partition (in input order): its largest event time and last log time read.
    pub marks: Vec<PartitionMark>,
    /// The processor's watermark (the minimum over active partitions, never going back).
    pub watermark_ms: Option<i64>,
    pub output_ends: Vec<u64>,
    pub late_ends: Vec<u64>,
    pub records_in: u64,
    pub records_out: u64,
    pub late_records: u64,
    pub invalid_records: u64,
    /// A bounded run that reached its end.
    pub finished: bool,
    /// A bounded run: the inputs' end offsets when it started (it reads up to them only).
    pub bounded_ends: Option<Vec<u64>>,
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
    match bytes.get(..MAGIC.len()) {
        Some(m) if m == MAGIC => bincode_options()
            .deserialize(&bytes[MAGIC.len()..])
            .map(Some)
            .map_err(|e| bad(e.to_string())),
        Some(m) if m == MAGIC_V1 => bincode_options()
            .deserialize::<CheckpointV1>(&bytes[MAGIC.len()..])
            .map(|v1| Some(v1.upgrade()))
            .map_err(|e| bad(e.to_string())),
        _ => Err(bad("not a kappa checkpoint (bad magic)".into())),
    }
}

/// The version 1 layout: one largest event time for all inputs.
#[derive(Deserialize)]
struct CheckpointV1 {
    inputs: Vec<(String, u32, u64)>,
    max_event_time_ms: Option<i64>,
    output_ends: Vec<u64>,
    late_ends: Vec<u64>,
    records_in: u64,
    records_out: u64,
    late_records: u64,
    invalid_records: u64,
    finished: bool,
    operator: Vec<u8>,
}

impl CheckpointV1 {
    /// Every input partition gets the single largest event time (the old watermark, which
    /// never goes back); none has a last log time read, so each counts as soon as it is read.
    fn upgrade(self) -> Checkpoint {
        let mark = PartitionMark {
            max_event_time_ms: self.max_event_time_ms,
            last_read_ms: None,
        };
        Checkpoint {
            marks: vec![mark; self.inputs.len()],
            // The delay is not known here; the task recomputes the watermark from the marks.
            watermark_ms: None,
            inputs: self.inputs,
            output_ends: self.output_ends,
            late_ends: self.late_ends,
            records_in: self.records_in,
            records_out: self.records_out,
            late_records: self.late_records,
            invalid_records: self.invalid_records,
            finished: self.finished,
            // A version 1 bounded run ended at a log time; it ends now at the inputs' ends.
            bounded_ends: None,
            operator: self.operator,
        }
    }
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
    fn a_version_1_checkpoint_is_read_with_its_watermark_on_every_input() {
        #[derive(Serialize)]
        struct V1 {
            inputs: Vec<(String, u32, u64)>,
            max_event_time_ms: Option<i64>,
            output_ends: Vec<u64>,
            late_ends: Vec<u64>,
            counts: [u64; 4],
            finished: bool,
            operator: Vec<u8>,
        }
        use bincode::Options;
        let v1 = V1 {
            inputs: vec![("orders".into(), 0, 7), ("orders".into(), 1, 9)],
            max_event_time_ms: Some(1_000),
            output_ends: vec![3],
            late_ends: vec![0],
            counts: [16, 3, 0, 0],
            finished: false,
            operator: vec![1, 2],
        };
        let mut bytes = MAGIC_V1.to_vec();
        bincode_options().serialize_into(&mut bytes, &v1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.checkpoint");
        std::fs::write(&path, bytes).unwrap();
        let cp = read(&path).unwrap().unwrap();
        assert_eq!(cp.inputs, v1.inputs);
        assert_eq!(cp.marks.len(), 2);
        assert!(cp.marks.iter().all(|m| m.max_event_time_ms == Some(1_000)));
        assert_eq!((cp.records_in, cp.records_out), (16, 3));
        assert_eq!(cp.operator, vec![1, 2]);
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
