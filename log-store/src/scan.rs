//! The pure frame scan: walks the frames of a segment's bytes, checking length, CRC, dense
//! offsets and non-decreasing timestamps, and reports the end of the last complete batch and the
//! sparse index entries for it. No files, no I/O: recovery and the segment readers both use it.

use crate::index::{IndexEntry, SparseRule};
use crate::record::{decode_frame, FrameError};

/// Why a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The frame did not decode (End is the clean end of a pre-sized segment).
    Frame(FrameError),
    /// A valid frame with the wrong offset (left over from before an earlier truncation).
    OffsetGap,
    /// A valid frame with a timestamp below its predecessor's.
    TimeGoesBack,
    /// The scan reached its limit.
    Limit,
}

/// The result of scanning frames: everything up to the last complete batch.
#[derive(Debug)]
pub(crate) struct TailScan {
    /// Byte position after the last complete batch (the scan's start if none).
    pub valid_end: usize,
    pub next_offset: u64,
    pub last_ts: Option<u64>,
    /// Sparse index entries for the frames of complete batches.
    pub offsets: Vec<IndexEntry>,
    pub times: Vec<IndexEntry>,
    /// The sparse rule's state after the last complete batch.
    pub rule: SparseRule,
    pub stop: Stop,
    /// Where the scan stopped (the first byte not part of a valid frame).
    pub stop_pos: usize,
    /// Whether any complete batch was found.
    pub found_batch: bool,
}

/// Scans frames of `data` from `start` (holding `start_offset`), stopping at the first invalid
/// frame or at a frame starting at or after `limit`. Pure.
pub(crate) fn scan(
    data: &[u8],
    base: u64,
    start: usize,
    start_offset: u64,
    rule: SparseRule,
    prev_ts: Option<u64>,
    limit: usize,
) -> TailScan {
    let mut out = TailScan {
        valid_end: start,
        next_offset: start_offset,
        last_ts: prev_ts,
        offsets: Vec::new(),
        times: Vec::new(),
        rule,
        stop: Stop::Limit,
        stop_pos: start,
        found_batch: false,
    };
    let (mut pos, mut offset, mut ts_floor, mut work) =
        (start, start_offset, prev_ts.unwrap_or(0), rule);
    let (mut offsets, mut times) = (Vec::new(), Vec::new());
    while pos < limit.min(data.len()) {
        let frame = match decode_frame(&data[pos..]) {
            Ok(f) => f,
            Err(e) => {
                out.stop = Stop::Frame(e);
                break;
            }
        };
        if frame.offset != offset {
            out.stop = Stop::OffsetGap;
            break;
        }
        if frame.timestamp_ms < ts_floor {
            out.stop = Stop::TimeGoesBack;
            break;
        }
        ts_floor = frame.timestamp_ms;
        let (o, t) = work.on_frame(base, offset, pos as u64, frame.timestamp_ms);
        offsets.extend(o);
        times.extend(t);
        pos += frame.frame_bytes;
        offset += 1;
        if frame.batch_end() {
            out.valid_end = pos;
            out.next_offset = offset;
            out.last_ts = Some(frame.timestamp_ms);
            out.offsets.append(&mut offsets);
            out.times.append(&mut times);
            out.rule = work;
            out.found_batch = true;
        }
    }
    if pos >= data.len() && out.stop == Stop::Limit && limit >= data.len() {
        out.stop = Stop::Frame(FrameError::End);
    }
    out.stop_pos = pos;
    out
}

pub(crate) static ZERO_CHUNK: [u8; 4096] = [0; 4096];

/// True when every byte of `bytes` is zero (a memcmp per 4 KiB).
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(ZERO_CHUNK.len())
        .all(|c| c == &ZERO_CHUNK[..c.len()])
}
