//! The recovery scan and the frame decoder over arbitrary segment bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| log_store::fuzzing::segment(data));
