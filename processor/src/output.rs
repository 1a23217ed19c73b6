//! The exactly-once writer in front of a `Sink`. After a restart from a checkpoint, the
//! records a processor regenerates below the stored output end are compared with the stored
//! ones instead of being appended again; only what lies past the stored end is appended. A
//! difference stops the processor with `Error::Diverged` naming the offset. Partitioning is
//! deterministic: by a hash of the key (FNV-1a), or by the input partition for keyless rows.

use crate::error::{Error, Result};
use crate::io::Sink;
use crate::limits::OUTPUT_BATCH_RECORDS_MAX;
use crate::operator::OutRecord;

pub struct Output {
    sink: Box<dyn Sink>,
    /// The next offset this run writes (or compares) per partition.
    next: Vec<u64>,
    /// The stored end per partition when this run started: below it, compare.
    stored_end: Vec<u64>,
}

/// FNV-1a: a fixed hash, so partitioning never changes between runs or builds.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Output {
    /// `resume_ends`: the output ends saved in the checkpoint being resumed, or None for a
    /// fresh start (which appends after whatever the topic already holds).
    pub fn open(sink: Box<dyn Sink>, resume_ends: Option<&[u64]>) -> Result<Output> {
        let n = sink.partitions();
        let stored_end: Vec<u64> = (0..n).map(|p| sink.end_offset(p)).collect::<Result<_>>()?;
        let next = match resume_ends {
            None => stored_end.clone(),
            Some(ends) if ends.len() == n as usize => ends.to_vec(),
            Some(ends) => {
                return Err(Error::Checkpoint {
                    path: sink.topic().into(),
                    reason: format!(
                        "checkpoint has {} output partitions, topic has {n}",
                        ends.len()
                    ),
                })
            }
        };
        for (p, (next, end)) in next.iter().zip(&stored_end).enumerate() {
            if next > end {
                return Err(Error::Diverged {
                    topic: sink.topic().to_string(),
                    partition: p as u32,
                    offset: *end,
                    reason: format!("the checkpoint expects output up to offset {next}, but the topic ends at {end}"),
                });
            }
        }
        Ok(Output {
            sink,
            next,
            stored_end,
        })
    }

    pub fn topic(&self) -> &str {
        self.sink.topic()
    }

    /// The end offsets this run has reached, for the checkpoint.
    pub fn ends(&self) -> &[u64] {
        &self.next
    }

    /// The partition of a record: key hash, else the input partition.
    pub fn partition_of(&self, key: Option<&[u8]>, input_partition: u32) -> u32 {
        let n = self.next.len() as u32;
        match key {
            Some(k) => (fnv1a(k) % n as u64) as u32,
            None => input_partition % n,
        }
    }

    /// Writes records (in order) to partitions chosen by `partition_of`.
    pub fn write(&mut self, records: Vec<(u32, OutRecord)>) -> Result<()> {
        let n = self.next.len();
        let mut per: Vec<Vec<OutRecord>> = vec![Vec::new(); n];
        for (hint, r) in records {
            let p = self.partition_of(r.key.as_deref(), hint);
            per[p as usize].push(r);
        }
        for (p, recs) in per.into_iter().enumerate() {
            for chunk in recs.chunks(OUTPUT_BATCH_RECORDS_MAX) {
                self.write_partition(p as u32, chunk)?;
            }
        }
        Ok(())
    }

    fn write_partition(&mut self, p: u32, records: &[OutRecord]) -> Result<()> {
        let pi = p as usize;
        let mut i = 0;
        while i < records.len() && self.next[pi] < self.stored_end[pi] {
            let want = (records.len() - i).min((self.stored_end[pi] - self.next[pi]) as usize);
            let stored = self.sink.read(p, self.next[pi], want)?;
            if stored.is_empty() {
                return Err(self.diverged(p, "the stored output could not be read back".into()));
            }
            for s in stored {
                let r = &records[i];
                if s.key.as_deref() != r.key.as_deref() || s.value.as_ref() != r.value.as_slice() {
                    let shown = |value: &[u8]| match value {
                        [] => "a tombstone (no value)".to_string(),
                        v => String::from_utf8_lossy(v).into_owned(),
                    };
                    return Err(self.diverged(
                        p,
                        format!(
                            "stored {} but regenerated {}",
                            shown(&s.value),
                            shown(&r.value)
                        ),
                    ));
                }
                i += 1;
                self.next[pi] += 1;
            }
        }
        if i < records.len() {
            self.sink.append(p, &records[i..])?;
            self.next[pi] += (records.len() - i) as u64;
            self.stored_end[pi] = self.stored_end[pi].max(self.next[pi]);
            // Output offsets are dense: the batch is stored, up to where it should end. (The
            // topic may end later: an `INSERT INTO` target can have other writers.)
            let end = self.sink.end_offset(p)?;
            if end < self.next[pi] {
                return Err(self.diverged(
                    p,
                    format!(
                        "after appending up to offset {} the topic ends at {end}",
                        self.next[pi]
                    ),
                ));
            }
        }
        Ok(())
    }

    fn diverged(&self, p: u32, reason: String) -> Error {
        Error::Diverged {
            topic: self.sink.topic().to_string(),
            partition: p,
            offset: self.next[p as usize],
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::memory::MemoryLog;

    fn row(key: &[u8], value: &[u8]) -> (u32, OutRecord) {
        (
            0,
            OutRecord {
                key: Some(key.to_vec()),
                value: value.to_vec(),
            },
        )
    }

    #[test]
    fn regenerated_tombstones_are_compared_like_rows() {
        let log = MemoryLog::new();
        let mut first = Output::open(Box::new(log.sink("out", 1)), None).unwrap();
        first
            .write(vec![
                row(b"a", b"{}"),
                (0, OutRecord::tombstone(b"a".to_vec())),
            ])
            .unwrap();
        // The same output again after a restart from the start: compared, not rewritten.
        let mut again = Output::open(Box::new(log.sink("out", 1)), Some(&[0])).unwrap();
        again
            .write(vec![
                row(b"a", b"{}"),
                (0, OutRecord::tombstone(b"a".to_vec())),
            ])
            .unwrap();
        assert_eq!(log.records("out", 0).len(), 2);
        // A row where a tombstone was stored is a divergence, and says so.
        let mut other = Output::open(Box::new(log.sink("out", 1)), Some(&[0])).unwrap();
        let err = other
            .write(vec![row(b"a", b"{}"), row(b"a", b"{}")])
            .unwrap_err();
        assert!(
            matches!(&err, Error::Diverged { offset: 1, reason, .. } if reason.contains("tombstone")),
            "{err}"
        );
    }
}
