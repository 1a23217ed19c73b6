//! Crash recovery of a partition's last segment: find the end of the valid frames by scanning
//! only its tail (from the last index entry that still points at a good frame), truncate from the
//! first frame whose length or CRC is wrong (keeping whole append batches only), and bring both
//! indexes back in line.
//!
//! Invariant: after recovery, the last segment holds exactly the whole batches that were
//! completely written before the crash, with dense offsets and non-decreasing timestamps, and
//! nothing but zeros after them; its indexes name only those records.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::files::{self, io_err, Ident};
use crate::index::{self, Bounds, IndexEntry, IndexKind, SparseRule};
use crate::mmap::{MapWriter, ReadMap};
use crate::record::decode_frame;
use crate::report::TruncatedTail;
use crate::scan::{is_zero, scan, Stop, TailScan, ZERO_CHUNK};
use crate::segment::{self, Active, Resume, Sealed};
use crate::storage::Storage;

/// What became of a partition's last segment.
#[derive(Debug)]
pub(crate) enum Last {
    Active(Box<Active>),
    Sealed(Sealed),
    /// It held no complete batch and was never pre-sized (a crash while creating it): deleted.
    Removed,
}

#[derive(Debug, Default)]
pub(crate) struct Recovered {
    pub truncated: Option<TruncatedTail>,
    pub indexes_rebuilt: Vec<PathBuf>,
}

/// Recovers the segment at `base` as the partition's last one.
pub(crate) fn recover_last(
    dir: &Path,
    base: u64,
    segment_bytes: u64,
    id: &Ident,
    storage: &Storage,
    report: &mut Recovered,
) -> Result<Last> {
    let path = files::log_path(dir, base);
    let file = File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_err("open segment", &path))?;
    let len = file
        .metadata()
        .map_err(io_err("stat segment", &path))?
        .len();
    let map = ReadMap::open(&file, len as usize).map_err(io_err("map segment", &path))?;
    let data = map.as_slice();
    let bounds = Bounds {
        base_offset: base,
        end_offset: u64::MAX,
        log_bytes: len,
    };
    let (ipath, tpath) = (
        files::index_path(dir, base),
        files::time_index_path(dir, base),
    );
    let (offsets, offsets_ok) = read_entries(&ipath, IndexKind::Offset, bounds);
    let (times, times_ok) = read_entries(&tpath, IndexKind::Time, bounds);
    for (ok, p) in [(offsets_ok, &ipath), (times_ok, &tpath)] {
        if !ok {
            tracing::warn!(topic = %id.topic, partition = id.partition, path = %p.display(), "missing or damaged index of the last segment; rebuilding it");
            report.indexes_rebuilt.push(p.clone());
        }
    }
    let found = scan_from_index(data, base, &offsets, &times);
    // An active segment has reserved space past its last batch (zeros, or a torn tail); a
    // sealed one was trimmed to it. (Reserved in steps, an active file is shorter than the
    // segment; one whose last batch ends exactly at its reserved end is sealed here, early.)
    let active = (found.scan.valid_end as u64) < len && len <= segment_bytes;
    let dropped = match active {
        true => garbage_after(data, found.scan.valid_end, found.scan.stop_pos),
        false => len - found.scan.valid_end as u64,
    };
    if dropped > 0 {
        let t = TruncatedTail {
            topic: id.topic.clone(),
            partition: id.partition,
            offset: found.scan.next_offset,
            bytes: dropped,
            segment: path.clone(),
        };
        tracing::warn!(topic = %t.topic, partition = t.partition, offset = t.offset, bytes = t.bytes, segment = %path.display(), "truncated a torn tail");
        report.truncated = Some(t);
    }
    drop(map);
    let scan = found.scan;
    let mut offsets_all = found.kept_offsets;
    offsets_all.extend_from_slice(&scan.offsets);
    let mut times_all = found.kept_times;
    times_all.extend_from_slice(&scan.times);
    let resume = Resume {
        write_pos: scan.valid_end,
        next_offset: scan.next_offset,
        last_ts: scan.last_ts,
        offsets: offsets_all,
        times: times_all,
        rule: scan.rule,
    };
    if active {
        if dropped > 0 {
            zero_tail(storage, &file, &path, len as usize, scan.valid_end)?;
        }
        let index_bytes = files::index_file_bytes(segment_bytes);
        let (ifile, tfile) = (
            open_or_create(storage, &ipath, index_bytes)?,
            open_or_create(storage, &tpath, index_bytes)?,
        );
        let active = Active::open(
            dir,
            base,
            segment_bytes,
            (file, ifile, tfile),
            resume,
            storage,
        )?;
        return Ok(Last::Active(Box::new(active)));
    }
    // Not pre-sized: a segment trimmed by a seal, or one whose creation was cut short.
    if resume.next_offset == base {
        drop(file);
        for p in [&path, &ipath, &tpath] {
            let _ = storage.remove(p);
        }
        files::sync_dir_with(storage, dir)?;
        return Ok(Last::Removed);
    }
    if (resume.write_pos as u64) < len {
        storage
            .set_len(&path, &file, resume.write_pos as u64)
            .map_err(io_err("truncate torn tail", &path))?;
        storage
            .sync_file(&path, &file)
            .map_err(io_err("sync segment", &path))?;
    }
    let sealed = Sealed::new(
        base,
        resume.next_offset,
        path,
        resume.write_pos as u64,
        storage,
    );
    let mut times = resume.times;
    if let (Some(ts), last) = (resume.last_ts, resume.next_offset - 1) {
        if times.last().map(|e| base + e.value as u64) != Some(last) {
            times.push(IndexEntry {
                key: ts,
                value: (last - base) as u32,
            });
        }
    }
    segment::write_index_file(storage, &ipath, IndexKind::Offset, base, &resume.offsets)?;
    segment::write_index_file(storage, &tpath, IndexKind::Time, base, &times)?;
    Ok(Last::Sealed(sealed))
}

fn open_or_create(storage: &Storage, path: &Path, bytes: u64) -> Result<File> {
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open index", path))?;
    let len = file.metadata().map_err(io_err("stat index", path))?.len();
    if len != bytes {
        storage
            .set_len(path, &file, 0)
            .map_err(io_err("reset index", path))?;
        storage
            .reserve(path, &file, bytes)
            .map_err(io_err("reserve space for index", path))?;
    }
    Ok(file)
}

/// The valid entries of an index file, and whether the file was intact (a good header; a
/// short or damaged list of entries still yields its valid prefix).
fn read_entries(path: &Path, kind: IndexKind, bounds: Bounds) -> (Vec<IndexEntry>, bool) {
    let Ok(buf) = fs::read(path) else {
        return (Vec::new(), false);
    };
    if !index::header_ok(&buf, kind, bounds.base_offset) {
        return (Vec::new(), false);
    }
    let count = index::valid_prefix(&buf, kind, bounds);
    ((0..count).map(|i| index::entry_at(&buf, i)).collect(), true)
}

struct Found {
    scan: TailScan,
    kept_offsets: Vec<IndexEntry>,
    kept_times: Vec<IndexEntry>,
}

/// Scans from the last offset-index entry that points at a good frame; if no whole batch ends
/// after it (a torn batch that began before it), steps back one entry at a time, each time
/// scanning only up to where the previous attempt started.
fn scan_from_index(data: &[u8], base: u64, offsets: &[IndexEntry], times: &[IndexEntry]) -> Found {
    let mut limit = data.len();
    let mut first_stop: Option<(Stop, usize)> = None;
    for k in (0..=offsets.len()).rev() {
        let (pos, offset) = match k.checked_sub(1).map(|i| offsets[i]) {
            None => (0usize, base),
            Some(e) => (e.value as usize, e.key),
        };
        if k > 0 && !decode_frame(&data[pos..]).is_ok_and(|f| f.offset == offset) {
            continue;
        }
        let kept_times: Vec<IndexEntry> = times
            .iter()
            .copied()
            .take_while(|t| base + (t.value as u64) < offset)
            .collect();
        // Entries before `pos` are kept; the scan re-creates the entries from `pos` on.
        let rule = SparseRule::starting_at(pos as u64, kept_times.last().map(|t| t.key));
        let mut s = scan(
            data,
            base,
            pos,
            offset,
            rule,
            kept_times.last().map(|t| t.key),
            limit,
        );
        let stop = *first_stop.get_or_insert((s.stop, s.stop_pos));
        if s.found_batch || k == 0 {
            // Report where the very first (longest) attempt stopped: that is where the damage is.
            if !matches!(stop.0, Stop::Limit) {
                s.stop = stop.0;
                s.stop_pos = stop.1.max(s.stop_pos);
            }
            return Found {
                scan: s,
                kept_offsets: offsets[..k.saturating_sub(1)].to_vec(),
                kept_times,
            };
        }
        limit = pos;
    }
    unreachable!("the loop always returns at k == 0")
}

/// Bytes after `valid_end` up to the last non-zero one: garbage a crash left (a torn batch).
/// Zero when the scan stopped cleanly at `valid_end` on the zeroed tail of a pre-sized segment.
fn garbage_after(data: &[u8], valid_end: usize, stop_pos: usize) -> u64 {
    let tail = &data[valid_end..];
    if stop_pos <= valid_end && is_zero(&tail[..tail.len().min(4)]) {
        return 0;
    }
    let chunk = ZERO_CHUNK.len();
    let mut end = tail.len();
    while end > 0 {
        let start = (end - 1) / chunk * chunk;
        if !is_zero(&tail[start..end]) {
            let last = tail[start..end]
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |i| i + 1);
            return (start + last) as u64;
        }
        end = start;
    }
    0
}

/// Zeroes everything after `valid_end` that is not zero already, so the next recovery finds the
/// end at the first zero length and no stale frame can be mistaken for a new one.
fn zero_tail(
    storage: &Storage,
    file: &File,
    path: &Path,
    len: usize,
    valid_end: usize,
) -> Result<()> {
    let mut map = MapWriter::open(file, len, valid_end).map_err(io_err("map segment", path))?;
    let tail = map.tail_mut(valid_end, len - valid_end);
    for chunk in tail.chunks_mut(64 << 10) {
        if !is_zero(chunk) {
            chunk.fill(0);
        }
    }
    storage
        .flush_range(path, map.shared(), valid_end, len - valid_end)
        .map_err(io_err("flush segment", path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{encode_frame, frame_bytes, AppendRecord};
    use proptest::prelude::*;

    /// Encodes batches (sizes of their records' values) into a zeroed buffer of `len` bytes;
    /// returns the buffer and the end position of each batch.
    fn segment(batches: &[Vec<usize>], len: usize) -> (Vec<u8>, Vec<usize>) {
        let mut buf = vec![0u8; len];
        let (mut pos, mut offset, mut ends) = (0usize, 100u64, Vec::new());
        for (b, sizes) in batches.iter().enumerate() {
            for (i, size) in sizes.iter().enumerate() {
                let value = vec![b as u8 + 1; *size];
                let record = AppendRecord {
                    value: &value,
                    ..Default::default()
                };
                assert!(pos + frame_bytes(&record) <= len);
                pos += encode_frame(
                    &mut buf[pos..],
                    offset,
                    1000 + b as u64,
                    i + 1 == sizes.len(),
                    &record,
                );
                offset += 1;
            }
            ends.push(pos);
        }
        (buf, ends)
    }

    proptest! {
        #[test]
        fn cutting_a_segment_at_any_byte_recovers_exactly_the_whole_batches_before_the_cut(
            batches in proptest::collection::vec(proptest::collection::vec(0usize..200, 1..4), 1..12),
            cut_at in any::<prop::sample::Index>(),
            truncate: bool,
        ) {
            let (buf, ends) = segment(&batches, 16 << 10);
            let data_end = *ends.last().unwrap();
            let cut = cut_at.index(data_end + 1);
            let mut torn = buf.clone();
            torn[cut..].fill(0);
            let data: &[u8] = if truncate { &buf[..cut] } else { &torn };
            let s = scan(data, 100, 0, 100, SparseRule::default(), None, data.len());
            // Zeroing bytes that were zero changes nothing: such a batch is still whole.
            let intact = |e: usize| e <= cut || (!truncate && buf[cut..e].iter().all(|&b| b == 0));
            let whole = ends.iter().filter(|&&e| intact(e)).count();
            let expect_end = if whole == 0 { 0 } else { ends[whole - 1] };
            prop_assert_eq!(s.valid_end, expect_end);
            let records: usize = batches[..whole].iter().map(Vec::len).sum();
            prop_assert_eq!(s.next_offset, 100 + records as u64);
            prop_assert_eq!(s.found_batch, whole > 0);
        }

        #[test]
        fn scanning_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let s = scan(&bytes, 0, 0, 0, SparseRule::default(), None, bytes.len());
            prop_assert!(s.valid_end <= bytes.len());
        }
    }

    #[test]
    fn a_frame_with_an_unexpected_offset_ends_the_scan() {
        let (mut buf, ends) = segment(&[vec![10], vec![10], vec![10]], 4096);
        // Re-encode the third batch with offset 500: left over from before an earlier cut.
        let record = AppendRecord {
            value: &[2u8; 10],
            ..Default::default()
        };
        encode_frame(&mut buf[ends[1]..], 500, 1002, true, &record);
        let s = scan(&buf, 100, 0, 100, SparseRule::default(), None, buf.len());
        assert_eq!(
            (s.valid_end, s.next_offset, s.stop),
            (ends[1], 102, Stop::OffsetGap)
        );
    }
}
