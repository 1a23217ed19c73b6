//! The record frame: encode and decode only (layout in FORMAT.md). Pure functions, no I/O.

use bytes::Bytes;

/// A record to append, borrowed from the caller (no copy until it lands in the map).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub value: &'a [u8],
}

/// A record read back. Its bytes are owned handles: for sealed segments they keep the map alive
/// (zero-copy), for the active segment they are copies of the published bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub timestamp_ms: u64,
    pub key: Option<Bytes>,
    pub headers: Vec<(String, Bytes)>,
    pub value: Bytes,
}
