//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`, off in every build
//! of kappa): the byte decoders that read what is on disk, fed arbitrary bytes. Each must
//! return without panicking, whatever the bytes; the assertions here are the pairs the decoders
//! promise (what a scan accepts decodes again, frame by frame).

use crate::index::{self, Bounds, IndexKind, SparseRule};
use crate::record;
use crate::scan;

/// The recovery scan and the frame decoder over `data` as a segment's bytes.
pub fn segment(data: &[u8]) {
    let scan = scan::scan(data, 0, 0, 0, SparseRule::default(), None, data.len());
    assert!(scan.valid_end <= data.len());
    // Everything the scan accepted decodes again, frame by frame, with dense offsets.
    let mut at = 0;
    let mut expected = 0u64;
    while at < scan.valid_end {
        let frame = record::decode_frame(&data[at..scan.valid_end])
            .unwrap_or_else(|e| panic!("a frame the scan accepted does not decode at {at}: {e:?}"));
        assert_eq!(
            frame.offset, expected,
            "offsets the scan accepted are dense"
        );
        expected += 1;
        at += frame.frame_bytes;
    }
    assert_eq!(expected, scan.next_offset);
    // The decoder alone, from every start, must only ever return.
    for start in 0..data.len().min(64) {
        let _ = record::decode_frame(&data[start..]);
    }
}

/// Index validation and lookups over `data` as an index file's bytes.
pub fn index(data: &[u8]) {
    for kind in [IndexKind::Offset, IndexKind::Time] {
        let _ = index::header_ok(data, kind, 0);
        let bounds = Bounds {
            base_offset: 0,
            end_offset: u64::MAX,
            log_bytes: u64::MAX,
        };
        let count = index::valid_prefix(data, kind, bounds);
        assert!(count * index::INDEX_ENTRY_BYTES <= data.len());
        for probe in [0, 1, u64::MAX / 2, u64::MAX] {
            let _ = index::lookup_offset(data, count, probe);
            let _ = index::lookup_time(data, count, probe);
        }
    }
}
