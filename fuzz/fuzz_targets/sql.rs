//! The SQL compiler over arbitrary text: a result, never a panic or an abort.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(sql) = std::str::from_utf8(data) {
        let _ = processor::sql::compile(sql, false);
        let _ = processor::sql::compile(sql, true);
    }
});
