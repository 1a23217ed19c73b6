//! The checkpoint decoder over arbitrary file contents: `Err` for anything not written by
//! `checkpoint::write`, never a panic or an allocation the size of a length field.
#![no_main]
use std::sync::OnceLock;

static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let path = dir.path().join("checkpoint");
    std::fs::write(&path, data).expect("write the input");
    let _ = processor::checkpoint::read(&path);
});
