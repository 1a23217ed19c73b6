//! The Kafka request decoder (the vendored kafka-protocol, as kappa's listener calls it) over
//! arbitrary frames: an error for anything malformed, never a panic, and no allocation sized by
//! a length field beyond the frame (vendor/kafka-protocol/KAPPA-PATCH.md).
#![no_main]
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let key = i16::from_be_bytes([data[0], data[1]]);
    let version = i16::from_be_bytes([data[2], data[3]]);
    let Ok(api) = ApiKey::try_from(key) else {
        return;
    };
    let range = api.valid_versions();
    if !(range.min..=range.max).contains(&version) {
        return; // the listener refuses these before decoding
    }
    let mut frame = Bytes::copy_from_slice(data);
    if RequestHeader::decode(&mut frame, api.request_header_version(version)).is_ok() {
        let _ = RequestKind::decode(api, &mut frame, version);
    }
});
