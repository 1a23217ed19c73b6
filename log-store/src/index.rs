//! The sparse offset index (`.index`: offset -> position) and time index (`.timeindex`:
//! timestamp -> offset) of one segment: byte layout, validation and lookups. Pure functions over
//! byte slices; the files and maps belong to `segment.rs`.
//!
//! Invariant: the entries of a valid index are sorted (offset index: offsets strictly increasing;
//! time index: timestamps non-decreasing and offsets strictly increasing) and each one carries
//! its own CRC, so a damaged entry is found, never trusted. Every entry names a real record, so a
//! lookup gives a safe place to start scanning; an index may be sparse or short, never wrong.

use crate::limits::INDEX_INTERVAL_BYTES;

/// Size of the file header and of every entry.
pub(crate) const INDEX_ENTRY_BYTES: usize = 16;
pub(crate) const INDEX_HEADER_BYTES: usize = 16;
/// The only index format this code writes and reads.
pub(crate) const INDEX_VERSION: u32 = 1;

const _: () = assert!(INDEX_ENTRY_BYTES == 8 + 4 + 4);
const _: () = assert!(INDEX_HEADER_BYTES == INDEX_ENTRY_BYTES);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexKind {
    /// key = absolute offset, value = byte position of that record's frame.
    Offset,
    /// key = timestamp (ms), value = that record's offset minus the segment's base offset.
    Time,
}

impl IndexKind {
    fn magic(self) -> [u8; 4] {
        match self {
            IndexKind::Offset => *b"kOIX",
            IndexKind::Time => *b"kTIX",
        }
    }
}

/// One entry: `key` u64, `value` u32, then a CRC-32 of those 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub key: u64,
    pub value: u32,
}

pub(crate) fn encode_header(kind: IndexKind, base_offset: u64) -> [u8; INDEX_HEADER_BYTES] {
    let mut out = [0u8; INDEX_HEADER_BYTES];
    out[0..4].copy_from_slice(&kind.magic());
    out[4..8].copy_from_slice(&INDEX_VERSION.to_le_bytes());
    out[8..16].copy_from_slice(&base_offset.to_le_bytes());
    out
}

pub(crate) fn header_ok(buf: &[u8], kind: IndexKind, base_offset: u64) -> bool {
    buf.len() >= INDEX_HEADER_BYTES && buf[..INDEX_HEADER_BYTES] == encode_header(kind, base_offset)
}

pub(crate) fn encode_entry(entry: IndexEntry) -> [u8; INDEX_ENTRY_BYTES] {
    let mut out = [0u8; INDEX_ENTRY_BYTES];
    out[0..8].copy_from_slice(&entry.key.to_le_bytes());
    out[8..12].copy_from_slice(&entry.value.to_le_bytes());
    let crc = crc32fast::hash(&out[..12]);
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    out
}

/// `None` when the CRC does not match (damage, or a zeroed slot past the last entry).
pub(crate) fn decode_entry(buf: &[u8]) -> Option<IndexEntry> {
    let buf: &[u8; INDEX_ENTRY_BYTES] = buf.get(..INDEX_ENTRY_BYTES)?.try_into().ok()?;
    let crc = u32::from_le_bytes(buf[12..16].try_into().ok()?);
    if crc32fast::hash(&buf[..12]) != crc {
        return None;
    }
    Some(IndexEntry {
        key: u64::from_le_bytes(buf[0..8].try_into().ok()?),
        value: u32::from_le_bytes(buf[8..12].try_into().ok()?),
    })
}

/// What the entries of one segment's index may name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub base_offset: u64,
    /// One past the last offset the segment may hold.
    pub end_offset: u64,
    /// One past the last byte a frame may start at.
    pub log_bytes: u64,
}

/// The number of leading entries (after the header) that are intact, sorted and inside `bounds`.
/// Stops at the first entry that is not.
pub(crate) fn valid_prefix(buf: &[u8], kind: IndexKind, bounds: Bounds) -> usize {
    let entries = buf.get(INDEX_HEADER_BYTES..).unwrap_or(&[]);
    let mut prev: Option<IndexEntry> = None;
    let mut count = 0;
    for chunk in entries.chunks_exact(INDEX_ENTRY_BYTES) {
        let Some(e) = decode_entry(chunk) else { break };
        let ok = match kind {
            IndexKind::Offset => {
                e.key >= bounds.base_offset
                    && e.key < bounds.end_offset
                    && (e.value as u64) < bounds.log_bytes
                    && prev.is_none_or(|p| p.key < e.key && p.value < e.value)
            }
            IndexKind::Time => {
                let offset = bounds.base_offset + e.value as u64;
                offset < bounds.end_offset
                    && prev.is_none_or(|p| p.key <= e.key && p.value < e.value)
            }
        };
        if !ok {
            break;
        }
        prev = Some(e);
        count += 1;
    }
    count
}

/// Entry `i` of an index whose first `count` entries were validated.
pub(crate) fn entry_at(buf: &[u8], i: usize) -> IndexEntry {
    let at = INDEX_HEADER_BYTES + i * INDEX_ENTRY_BYTES;
    decode_entry(&buf[at..at + INDEX_ENTRY_BYTES])
        .expect("entry validated when the index was loaded")
}

/// The last of the first `count` entries whose key satisfies `below` (keys sorted, so `below` is
/// true for a prefix): binary search, O(log n) entries decoded.
pub(crate) fn last_where(
    buf: &[u8],
    count: usize,
    below: impl Fn(u64) -> bool,
) -> Option<IndexEntry> {
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(entry_at(buf, mid).key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo.checked_sub(1).map(|i| entry_at(buf, i))
}

/// The entry to start scanning from for `offset`: the last with key <= offset.
pub(crate) fn lookup_offset(buf: &[u8], count: usize, offset: u64) -> Option<IndexEntry> {
    last_where(buf, count, |k| k <= offset)
}

/// The entry to start scanning from for the first record with timestamp >= `ts`: the last
/// entry with key < ts (every record before it is older than `ts`).
pub(crate) fn lookup_time(buf: &[u8], count: usize, ts: u64) -> Option<IndexEntry> {
    last_where(buf, count, |k| k < ts)
}

/// Decides where sparse entries go, the same way on append, on recovery and on rebuild: an
/// offset entry at the first frame at or past every `INDEX_INTERVAL_BYTES`, a time entry at the
/// first frame of a newer timestamp at or past every interval.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SparseRule {
    next_offset_position: u64,
    next_time_position: u64,
    last_time: Option<u64>,
}

impl SparseRule {
    /// A rule whose next entries go at the first frame at or after `position`, the time entry
    /// only for a timestamp newer than `last_time`.
    pub(crate) fn starting_at(position: u64, last_time: Option<u64>) -> SparseRule {
        SparseRule {
            next_offset_position: position,
            next_time_position: position,
            last_time,
        }
    }

    /// The entries (offset, time) that a frame at `position` should get.
    pub(crate) fn on_frame(
        &mut self,
        base_offset: u64,
        offset: u64,
        position: u64,
        ts: u64,
    ) -> (Option<IndexEntry>, Option<IndexEntry>) {
        let mut out = (None, None);
        if position >= self.next_offset_position {
            self.next_offset_position = position + INDEX_INTERVAL_BYTES;
            out.0 = Some(IndexEntry {
                key: offset,
                value: position as u32,
            });
        }
        if position >= self.next_time_position && self.last_time.is_none_or(|t| ts > t) {
            self.next_time_position = position + INDEX_INTERVAL_BYTES;
            self.last_time = Some(ts);
            out.1 = Some(IndexEntry {
                key: ts,
                value: (offset - base_offset) as u32,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(kind: IndexKind, base: u64, entries: &[IndexEntry]) -> Vec<u8> {
        let mut buf = encode_header(kind, base).to_vec();
        for e in entries {
            buf.extend_from_slice(&encode_entry(*e));
        }
        buf
    }

    #[test]
    fn format_md_index_vector_decodes_and_reencodes() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../FORMAT.md"))
            .expect("FORMAT.md");
        let hex = doc
            .split("<!-- index-vector -->")
            .nth(1)
            .and_then(|s| s.split("```").nth(1))
            .expect("FORMAT.md holds the index vector");
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let entry = decode_entry(&bytes).expect("the vector decodes");
        assert_eq!(
            entry,
            IndexEntry {
                key: 1000,
                value: 4096
            }
        );
        assert_eq!(encode_entry(entry).to_vec(), bytes);
    }

    #[test]
    fn a_damaged_entry_ends_the_valid_prefix() {
        let bounds = Bounds {
            base_offset: 10,
            end_offset: 100,
            log_bytes: 1 << 20,
        };
        let entries: Vec<_> = (0..5)
            .map(|i| IndexEntry {
                key: 10 + i * 10,
                value: (i * 5000) as u32,
            })
            .collect();
        let mut buf = build(IndexKind::Offset, 10, &entries);
        assert!(header_ok(&buf, IndexKind::Offset, 10));
        assert!(!header_ok(&buf, IndexKind::Time, 10));
        assert_eq!(valid_prefix(&buf, IndexKind::Offset, bounds), 5);
        buf[INDEX_HEADER_BYTES + 2 * INDEX_ENTRY_BYTES + 3] ^= 0x40;
        assert_eq!(valid_prefix(&buf, IndexKind::Offset, bounds), 2);
        let out_of_bounds = Bounds {
            end_offset: 30,
            ..bounds
        };
        assert_eq!(
            valid_prefix(
                &build(IndexKind::Offset, 10, &entries),
                IndexKind::Offset,
                out_of_bounds
            ),
            2
        );
    }

    proptest! {
        #[test]
        fn sparse_lookups_agree_with_a_linear_scan(mut keys in proptest::collection::vec(0u64..1000, 0..200), probe in 0u64..1100) {
            keys.sort_unstable();
            keys.dedup();
            let entries: Vec<_> = keys.iter().enumerate().map(|(i, k)| IndexEntry { key: *k, value: i as u32 }).collect();
            let buf = build(IndexKind::Offset, 0, &entries);
            let linear_le = entries.iter().rev().find(|e| e.key <= probe).copied();
            let linear_lt = entries.iter().rev().find(|e| e.key < probe).copied();
            prop_assert_eq!(lookup_offset(&buf, entries.len(), probe), linear_le);
            prop_assert_eq!(lookup_time(&buf, entries.len(), probe), linear_lt);
        }

        #[test]
        fn time_lookups_with_repeated_timestamps_agree_with_a_linear_scan(steps in proptest::collection::vec(0u64..3, 0..200), probe in 0u64..300) {
            let mut ts = 0;
            let entries: Vec<_> = steps.iter().enumerate().map(|(i, s)| { ts += s; IndexEntry { key: ts, value: i as u32 } }).collect();
            let buf = build(IndexKind::Time, 0, &entries);
            let linear = entries.iter().rev().find(|e| e.key < probe).copied();
            prop_assert_eq!(lookup_time(&buf, entries.len(), probe), linear);
        }
    }
}
