//! Index validation and lookups over arbitrary index-file bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| log_store::fuzzing::index(data));
