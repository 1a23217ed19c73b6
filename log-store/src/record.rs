//! The record frame: encode and decode only (byte layout in FORMAT.md). Pure functions, no I/O.
//!
//! Invariant: a frame that [`decode_frame`] accepts has a matching CRC, a known format byte, no
//! unknown flags, and lengths that add up exactly to its length field; so callers can slice its
//! key, headers and value without further checks. Encoding and decoding share the constants
//! below, and the FORMAT.md test vector is checked against both.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::limits::{HEADERS_MAX, HEADER_NAME_BYTES_MAX, RECORD_BYTES_MAX};

/// A record to append, borrowed from the caller (no copy until it lands in the map).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppendRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, &'a [u8])],
    pub value: &'a [u8],
}

/// A record read back. Its bytes are owned handles: for sealed segments they keep the map alive
/// (zero-copy), for the active segment they keep its immutable published prefix alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub timestamp_ms: u64,
    pub key: Option<Bytes>,
    pub headers: Vec<(String, Bytes)>,
    pub value: Bytes,
}

/// The one frame format this code writes and reads (FORMAT.md, "Version history").
pub(crate) const FORMAT_V1: u8 = 1;
/// Flag: the frame carries a key (a present key may be empty).
pub(crate) const FLAG_KEY: u8 = 1;
/// Flag: the frame is the last of its append batch; recovery keeps whole batches only.
pub(crate) const FLAG_BATCH_END: u8 = 2;
const FLAGS_KNOWN: u8 = FLAG_KEY | FLAG_BATCH_END;

/// Bytes before the key: length, crc, format, flags, header count, offset, timestamp, key length,
/// value length.
pub(crate) const FRAME_HEADER_BYTES: usize = 36;
/// Per header: name length (u16) and value length (u32).
const HEADER_PREFIX_BYTES: usize = 6;
/// The largest frame a valid record can produce.
pub(crate) const FRAME_BYTES_MAX: usize =
    FRAME_HEADER_BYTES + HEADERS_MAX * HEADER_PREFIX_BYTES + RECORD_BYTES_MAX;

const _: () = assert!(FRAME_HEADER_BYTES == 4 + 4 + 1 + 1 + 2 + 8 + 8 + 4 + 4);
const _: () = assert!(HEADER_NAME_BYTES_MAX <= u16::MAX as usize);
const _: () = assert!(FRAME_BYTES_MAX <= u32::MAX as usize);

/// Why a frame could not be decoded. Callers branch on it: `End` and `Incomplete` are expected
/// at the end of a log, `Corrupt` is damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A zero length field: the zeroed, never-written tail of a pre-sized segment.
    End,
    /// Fewer bytes than the frame claims (a file that ends inside a frame).
    Incomplete,
    /// The bytes are not a valid frame.
    Corrupt(&'static str),
}

/// A decoded frame borrowing its buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameView<'a> {
    pub offset: u64,
    pub timestamp_ms: u64,
    pub flags: u8,
    pub key: Option<&'a [u8]>,
    header_count: u16,
    headers: &'a [u8],
    pub value: &'a [u8],
    /// The whole frame's size, length field included.
    pub frame_bytes: usize,
}

impl<'a> FrameView<'a> {
    pub(crate) fn batch_end(&self) -> bool {
        self.flags & FLAG_BATCH_END != 0
    }

    /// The headers as (name, value); names were checked to be UTF-8 by `decode_frame`.
    pub(crate) fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let mut rest = self.headers;
        (0..self.header_count).map(move |_| {
            let name_len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
            let value_len = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize;
            let name = &rest[HEADER_PREFIX_BYTES..HEADER_PREFIX_BYTES + name_len];
            let value =
                &rest[HEADER_PREFIX_BYTES + name_len..HEADER_PREFIX_BYTES + name_len + value_len];
            rest = &rest[HEADER_PREFIX_BYTES + name_len + value_len..];
            // decode_frame checked every name with from_utf8, so this cannot fail.
            (
                std::str::from_utf8(name).expect("header name checked at decode"),
                value,
            )
        })
    }

    /// An owned record whose key and values are zero-copy slices of `owner`, which must be the
    /// buffer this view was decoded from (or contain it).
    pub(crate) fn record_in(&self, owner: &Bytes) -> Record {
        Record {
            offset: self.offset,
            timestamp_ms: self.timestamp_ms,
            key: self.key.map(|k| owner.slice_ref(k)),
            headers: self
                .headers()
                .map(|(n, v)| (n.to_owned(), owner.slice_ref(v)))
                .collect(),
            value: owner.slice_ref(self.value),
        }
    }
}

/// Key, header names and values and value together: what `RECORD_BYTES_MAX` limits.
pub(crate) fn payload_bytes(record: &AppendRecord<'_>) -> usize {
    let headers: usize = record.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    record.key.map_or(0, <[u8]>::len) + headers + record.value.len()
}

/// Checks a record against the limits and returns its frame size.
pub(crate) fn check_record(record: &AppendRecord<'_>) -> Result<usize> {
    let payload = payload_bytes(record);
    if payload > RECORD_BYTES_MAX {
        return Err(Error::RecordTooLarge {
            bytes: payload,
            max: RECORD_BYTES_MAX,
        });
    }
    if record.headers.len() > HEADERS_MAX {
        return Err(Error::InvalidRecord {
            reason: format!("{} headers, at most {HEADERS_MAX}", record.headers.len()),
        });
    }
    if let Some((name, _)) = record
        .headers
        .iter()
        .find(|(n, _)| n.len() > HEADER_NAME_BYTES_MAX)
    {
        return Err(Error::InvalidRecord {
            reason: format!(
                "header name of {} bytes, at most {HEADER_NAME_BYTES_MAX}",
                name.len()
            ),
        });
    }
    Ok(frame_bytes(record))
}

/// The encoded size of a record's frame.
pub(crate) fn frame_bytes(record: &AppendRecord<'_>) -> usize {
    FRAME_HEADER_BYTES + record.headers.len() * HEADER_PREFIX_BYTES + payload_bytes(record)
}

/// Encodes one frame into the front of `dst` and returns its size. The record must have passed
/// [`check_record`]; `dst` must hold at least [`frame_bytes`].
pub(crate) fn encode_frame(
    dst: &mut [u8],
    offset: u64,
    timestamp_ms: u64,
    batch_end: bool,
    record: &AppendRecord<'_>,
) -> usize {
    let size = frame_bytes(record);
    assert!(
        size <= FRAME_BYTES_MAX && dst.len() >= size,
        "frame does not fit its buffer"
    );
    let dst = &mut dst[..size];
    let key = record.key.unwrap_or(&[]);
    let flags = if record.key.is_some() { FLAG_KEY } else { 0 }
        | if batch_end { FLAG_BATCH_END } else { 0 };
    dst[0..4].copy_from_slice(&((size - 4) as u32).to_le_bytes());
    dst[8] = FORMAT_V1;
    dst[9] = flags;
    dst[10..12].copy_from_slice(&(record.headers.len() as u16).to_le_bytes());
    dst[12..20].copy_from_slice(&offset.to_le_bytes());
    dst[20..28].copy_from_slice(&timestamp_ms.to_le_bytes());
    dst[28..32].copy_from_slice(&(key.len() as u32).to_le_bytes());
    dst[32..36].copy_from_slice(&(record.value.len() as u32).to_le_bytes());
    let mut at = FRAME_HEADER_BYTES;
    let mut put = |bytes: &[u8], at: &mut usize| {
        dst[*at..*at + bytes.len()].copy_from_slice(bytes);
        *at += bytes.len();
    };
    put(key, &mut at);
    for (name, value) in record.headers {
        put(&(name.len() as u16).to_le_bytes(), &mut at);
        put(&(value.len() as u32).to_le_bytes(), &mut at);
        put(name.as_bytes(), &mut at);
        put(value, &mut at);
    }
    put(record.value, &mut at);
    assert_eq!(at, size, "frame size disagrees with frame_bytes");
    let crc = crc32fast::hash(&dst[8..]);
    dst[4..8].copy_from_slice(&crc.to_le_bytes());
    size
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes the frame at the front of `buf`, checking its CRC and every length. Never panics.
pub(crate) fn decode_frame(buf: &[u8]) -> Result<FrameView<'_>, FrameError> {
    if buf.len() < 4 {
        return if buf.iter().all(|&b| b == 0) {
            Err(FrameError::End)
        } else {
            Err(FrameError::Incomplete)
        };
    }
    let length = u32_at(buf, 0) as usize;
    if length == 0 {
        return Err(FrameError::End);
    }
    if !(FRAME_HEADER_BYTES - 4..=FRAME_BYTES_MAX - 4).contains(&length) {
        return Err(FrameError::Corrupt("length field out of range"));
    }
    let size = length + 4;
    if buf.len() < size {
        return Err(FrameError::Incomplete);
    }
    let frame = &buf[..size];
    if crc32fast::hash(&frame[8..]) != u32_at(frame, 4) {
        return Err(FrameError::Corrupt("CRC mismatch"));
    }
    if frame[8] != FORMAT_V1 {
        return Err(FrameError::Corrupt("unknown format byte"));
    }
    let flags = frame[9];
    if flags & !FLAGS_KNOWN != 0 {
        return Err(FrameError::Corrupt("unknown flags"));
    }
    let header_count = u16::from_le_bytes([frame[10], frame[11]]);
    let key_len = u32_at(frame, 28) as usize;
    let value_len = u32_at(frame, 32) as usize;
    if header_count as usize > HEADERS_MAX {
        return Err(FrameError::Corrupt("too many headers"));
    }
    if flags & FLAG_KEY == 0 && key_len != 0 {
        return Err(FrameError::Corrupt("key bytes without the key flag"));
    }
    let body = &frame[FRAME_HEADER_BYTES..];
    if key_len > body.len() {
        return Err(FrameError::Corrupt("key length past the frame"));
    }
    let (key, rest) = body.split_at(key_len);
    let mut at = 0usize;
    for _ in 0..header_count {
        let Some(prefix) = rest.get(at..at + HEADER_PREFIX_BYTES) else {
            return Err(FrameError::Corrupt("header past the frame"));
        };
        let name_len = u16::from_le_bytes([prefix[0], prefix[1]]) as usize;
        let value_len = u32_at(prefix, 2) as usize;
        let name_at = at + HEADER_PREFIX_BYTES;
        let Some(end) = name_at
            .checked_add(name_len)
            .and_then(|n| n.checked_add(value_len))
        else {
            return Err(FrameError::Corrupt("header length overflows"));
        };
        if end > rest.len() {
            return Err(FrameError::Corrupt("header past the frame"));
        }
        if std::str::from_utf8(&rest[name_at..name_at + name_len]).is_err() {
            return Err(FrameError::Corrupt("header name is not UTF-8"));
        }
        at = end;
    }
    let (headers, value) = rest.split_at(at);
    if value.len() != value_len {
        return Err(FrameError::Corrupt(
            "lengths do not add up to the frame length",
        ));
    }
    Ok(FrameView {
        offset: u64_at(frame, 12),
        timestamp_ms: u64_at(frame, 20),
        flags,
        key: (flags & FLAG_KEY != 0).then_some(key),
        header_count,
        headers,
        value,
        frame_bytes: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex_decode(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn encode_vec(offset: u64, ts: u64, batch_end: bool, record: &AppendRecord<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; frame_bytes(record)];
        let n = encode_frame(&mut buf, offset, ts, batch_end, record);
        assert_eq!(n, buf.len());
        buf
    }

    #[test]
    fn format_md_test_vector_decodes_and_reencodes() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../FORMAT.md"))
            .expect("FORMAT.md");
        let hex = doc
            .split("<!-- record-vector -->")
            .nth(1)
            .and_then(|s| s.split("```").nth(1))
            .expect("FORMAT.md holds the record vector");
        let bytes = hex_decode(hex);
        let frame = decode_frame(&bytes).expect("the vector decodes");
        assert_eq!(frame.frame_bytes, bytes.len());
        assert_eq!(frame.offset, 7);
        assert_eq!(frame.timestamp_ms, 1_700_000_000_000);
        assert_eq!(frame.key, Some(&b"k"[..]));
        assert_eq!(frame.headers().collect::<Vec<_>>(), vec![("h", &b"v"[..])]);
        assert_eq!(frame.value, b"hello");
        assert!(frame.batch_end());
        let record = AppendRecord {
            key: Some(b"k"),
            headers: &[("h", b"v")],
            value: b"hello",
        };
        assert_eq!(encode_vec(7, 1_700_000_000_000, true, &record), bytes);
    }

    #[test]
    fn a_zero_length_is_the_end_and_a_short_buffer_is_incomplete() {
        assert_eq!(decode_frame(&[0; 64]).unwrap_err(), FrameError::End);
        assert_eq!(decode_frame(&[]).unwrap_err(), FrameError::End);
        let bytes = encode_vec(
            0,
            1,
            true,
            &AppendRecord {
                value: b"abc",
                ..Default::default()
            },
        );
        for cut in 1..bytes.len() {
            let err = decode_frame(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, FrameError::Incomplete | FrameError::Corrupt(_)),
                "{cut}: {err:?}"
            );
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let record = AppendRecord {
            key: Some(b"key"),
            headers: &[("a", b"b")],
            value: b"value",
        };
        let bytes = encode_vec(3, 4, false, &record);
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(decode_frame(&b).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn records_over_the_limits_are_refused() {
        let big = vec![0u8; RECORD_BYTES_MAX + 1];
        assert!(matches!(
            check_record(&AppendRecord {
                value: &big,
                ..Default::default()
            }),
            Err(Error::RecordTooLarge { .. })
        ));
        let headers: Vec<(&str, &[u8])> = (0..HEADERS_MAX + 1).map(|_| ("h", &b""[..])).collect();
        assert!(check_record(&AppendRecord {
            headers: &headers,
            ..Default::default()
        })
        .is_err());
        let exact = vec![0u8; RECORD_BYTES_MAX];
        assert!(check_record(&AppendRecord {
            value: &exact,
            ..Default::default()
        })
        .is_ok());
    }

    type Owned = (Option<Vec<u8>>, Vec<(String, Vec<u8>)>, Vec<u8>);

    fn arb_record() -> impl Strategy<Value = Owned> {
        let size = prop_oneof![4 => 0usize..512, 1 => 0usize..(RECORD_BYTES_MAX - 4096)];
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            proptest::collection::vec(
                (
                    "[a-z\u{e9}]{0,12}",
                    proptest::collection::vec(any::<u8>(), 0..32),
                ),
                0..8,
            ),
            size.prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n..=n)),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn encode_then_decode_gives_back_the_record((key, headers, value) in arb_record(), offset: u64, ts: u64, end: bool) {
            let hs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
            let record = AppendRecord { key: key.as_deref(), headers: &hs, value: &value };
            check_record(&record).expect("within limits");
            let bytes = Bytes::from(encode_vec(offset, ts, end, &record));
            let frame = decode_frame(&bytes).expect("decodes");
            prop_assert_eq!(frame.frame_bytes, bytes.len());
            prop_assert_eq!(frame.batch_end(), end);
            let back = frame.record_in(&bytes);
            prop_assert_eq!(back.offset, offset);
            prop_assert_eq!(back.timestamp_ms, ts);
            prop_assert_eq!(back.key.as_deref(), key.as_deref());
            prop_assert_eq!(back.value.as_ref(), value.as_slice());
            let got: Vec<(String, Vec<u8>)> = back.headers.iter().map(|(n, v)| (n.clone(), v.to_vec())).collect();
            prop_assert_eq!(got, headers);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_frame(&bytes);
        }

        #[test]
        fn decoding_a_mangled_frame_never_panics(at in 0usize..80, byte: u8) {
            let record = AppendRecord { key: Some(b"key"), headers: &[("a", b"b"), ("cc", b"dd")], value: b"value" };
            let mut bytes = encode_vec(1, 2, true, &record);
            let at = at % bytes.len();
            bytes[at] = byte;
            // Fix up the CRC so the structural checks behind it are exercised too.
            if at >= 8 {
                let crc = crc32fast::hash(&bytes[8..]);
                bytes[4..8].copy_from_slice(&crc.to_le_bytes());
            }
            let _ = decode_frame(&bytes);
        }
    }
}
