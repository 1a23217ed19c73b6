//! Named ceilings for everything the log store sizes. Config may lower these, never raise them.

/// Largest record value, key and headers together: one frame must fit a segment many times over.
pub const RECORD_BYTES_MAX: usize = 1 << 20;
/// Most records in one atomic append batch (the HTTP layer caps a request at 100,000 events).
pub const BATCH_RECORDS_MAX: usize = 100_000;
/// Largest segment file; positions inside a segment are stored as u32 in the index.
pub const SEGMENT_BYTES_MAX: u64 = 1 << 31;
/// Smallest segment file that still fits one maximal record frame plus its overhead.
pub const SEGMENT_BYTES_MIN: u64 = 4 << 20;
/// Default segment size for new topics.
pub const SEGMENT_BYTES_DEFAULT: u64 = 128 << 20;
/// Disk reserved (fallocate) for an active segment's log at a time, ahead of the write position
/// (DESIGN.md §2): a full disk is an error when reserving, never a SIGBUS while writing through
/// the map, and an empty or quiet partition costs one step, not a whole segment (issue 10: four
/// 2-byte events reserved 8.1 GB).
pub const RESERVE_STEP_BYTES: u64 = 4 << 20;
/// Sealed segments kept mapped at once, store-wide (`MapCache`): three maps each, well under
/// the kernel's default of 65,530 maps per process; the least recently read are unmapped first.
pub const SEALED_SEGMENTS_MAPPED_MAX: usize = 4_096;
/// Most partitions in one topic: one directory and one writer each.
pub const PARTITIONS_MAX: u32 = 1024;
/// Most topics in one store (issue 10: there was no ceiling). Each costs a directory, a
/// config, per-partition state and a line in every topic listing; processors add two or
/// more each (output, `.late`, versions).
pub const TOPICS_MAX: usize = 10_000;
/// Most headers on one record.
pub const HEADERS_MAX: usize = 64;
/// Longest header name (stored as a u16 length; a header name is a label, not data).
pub const HEADER_NAME_BYTES_MAX: usize = 256;
/// One sparse index entry per this many log bytes: a lookup scans at most about this much
/// (plus one batch in recovery), and a 2 GiB segment needs at most 512 Ki entries (8 MiB).
pub const INDEX_INTERVAL_BYTES: u64 = 4096;
/// Most flushes one group-commit leader does back to back before handing over: bounds how long
/// the leader's own (already durable) append waits for others.
pub const GROUP_COMMIT_LEAD_FLUSHES_MAX: usize = 8;
/// How far ahead of the write position the active segment's pages are brought into the page
/// cache at once under `fsync never` (`MapWriter::prefill`), and the size of the static zero
/// buffer it copies from: large enough for large folios and a negligible syscall count (1, 2, 4
/// and 8 MiB measured the same; 16 KiB was slower than no prefill), small enough that the append
/// that pays for a window waits only about 0.3 ms.
pub const PREFILL_WINDOW_BYTES: usize = 1 << 20;
/// Longest topic name (DESIGN.md §5: `[A-Za-z0-9._-]{1,200}`).
pub const NAME_BYTES_MAX: usize = 200;

const _: () = assert!(SEGMENT_BYTES_MAX <= u32::MAX as u64);
const _: () = assert!(SEGMENT_BYTES_MIN > RECORD_BYTES_MAX as u64 * 2);
const _: () = assert!(RESERVE_STEP_BYTES <= SEGMENT_BYTES_MIN);
