//! One segment: a `.log` file of frames and its `.index` / `.timeindex`, either *active* (pre-sized,
//! space reserved, written through a writable map) or *sealed* (trimmed, flushed, mapped
//! read-only on first use).
//!
//! Invariants: offsets inside a segment are dense from its base offset; a batch never spans two
//! segments; an active segment's readable prefix (the published end) only grows and never
//! changes; index entries of the active segment are written only for published (so, under
//! `fsync always`, flushed) frames, so a durable index entry never points past durable frames.
//!
//! `active` is the writer, `sealed` the reader of an immutable segment, `view` the reads both
//! share.

mod active;
mod sealed;
mod view;

pub(crate) use active::{Active, ActiveShared, Resume};
pub(crate) use sealed::{write_index_file, Sealed, SealedMaps};
pub(crate) use view::SegmentView;
