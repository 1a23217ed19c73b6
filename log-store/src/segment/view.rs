//! One segment's readable bytes and indexes, active or sealed, and the reads over them.

use std::path::Path;

use bytes::Bytes;

use crate::error::Result;
use crate::files::Ident;
use crate::index;
use crate::record::{decode_frame, FrameError, Record};

/// One segment's readable bytes and indexes, for the scans below.
pub(crate) struct SegmentView<'a> {
    pub base: u64,
    pub path: &'a Path,
    pub log: Bytes,
    pub index: &'a [u8],
    pub index_count: usize,
    pub time: &'a [u8],
    pub time_count: usize,
}

impl SegmentView<'_> {
    /// Where to start scanning for `offset`: (position, offset there).
    fn start_for(&self, offset: u64) -> (usize, u64) {
        index::lookup_offset(self.index, self.index_count, offset)
            .map_or((0, self.base), |e| (e.value as usize, e.key))
    }

    /// Appends records from `from` to `out` until the segment ends or a limit is reached.
    /// Returns false once a limit is reached.
    /// Records at or past `end` (the published end the caller saw) are left out, so what a
    /// caller gets agrees with the end offset it read.
    pub(crate) fn read(
        &self,
        id: &Ident,
        range: (u64, u64),
        max_records: usize,
        max_bytes: usize,
        out: &mut Vec<Record>,
        bytes: &mut usize,
    ) -> Result<bool> {
        let (from, end) = range;
        let (mut pos, mut expect) = self.start_for(from);
        loop {
            if out.len() >= max_records || (*bytes >= max_bytes && !out.is_empty()) || expect >= end
            {
                return Ok(false);
            }
            let Some(frame) = self.frame_at(id, pos, expect)? else {
                return Ok(true);
            };
            if frame.offset >= from {
                out.push(frame.record_in(&self.log));
                *bytes += frame.frame_bytes;
            }
            pos += frame.frame_bytes;
            expect += 1;
        }
    }

    /// The first offset in this segment with timestamp >= `ts`, if any.
    pub(crate) fn offset_for_timestamp(&self, id: &Ident, ts: u64) -> Result<Option<u64>> {
        let start = index::lookup_time(self.time, self.time_count, ts)
            .map_or(self.base, |e| self.base + e.value as u64);
        let (mut pos, mut expect) = self.start_for(start);
        while let Some(frame) = self.frame_at(id, pos, expect)? {
            if frame.offset >= start && frame.timestamp_ms >= ts {
                return Ok(Some(frame.offset));
            }
            pos += frame.frame_bytes;
            expect += 1;
        }
        Ok(None)
    }

    /// Checks every frame; returns the number of records.
    pub(crate) fn verify(&self, id: &Ident, sealed: bool) -> Result<u64> {
        let (mut pos, mut expect, mut last_ts, mut batch_end) = (0usize, self.base, 0u64, true);
        while let Some(frame) = self.frame_at(id, pos, expect)? {
            if frame.timestamp_ms < last_ts {
                return Err(id.corrupt(
                    self.path,
                    expect,
                    pos as u64,
                    "timestamp lower than the previous record's",
                ));
            }
            last_ts = frame.timestamp_ms;
            batch_end = frame.batch_end();
            pos += frame.frame_bytes;
            expect += 1;
        }
        if sealed && (pos != self.log.len() || !batch_end) {
            return Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                "sealed segment ends inside a frame or a batch",
            ));
        }
        Ok(expect - self.base)
    }

    /// The frame at `pos`, which must carry offset `expect`; `None` at the end of the readable
    /// bytes. Anything else is corruption, named precisely.
    fn frame_at(
        &self,
        id: &Ident,
        pos: usize,
        expect: u64,
    ) -> Result<Option<crate::record::FrameView<'_>>> {
        if pos >= self.log.len() {
            return Ok(None);
        }
        match decode_frame(&self.log[pos..]) {
            Ok(f) if f.offset == expect => Ok(Some(f)),
            Ok(f) => Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                format!("frame holds offset {}, expected {expect}", f.offset),
            )),
            Err(FrameError::Corrupt(reason)) => {
                Err(id.corrupt(self.path, expect, pos as u64, reason))
            }
            Err(FrameError::End) => Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                "zero length inside the readable bytes",
            )),
            Err(FrameError::Incomplete) => Err(id.corrupt(
                self.path,
                expect,
                pos as u64,
                "frame runs past the end of the segment",
            )),
        }
    }
}
