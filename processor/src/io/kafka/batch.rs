//! Encoding the v2 batch of a Produce request (through the codec crate) and decoding the v2
//! record batches of a Fetch response straight into records: the header's
//! fields, a CRC-32C check, then each record's varints, with keys and values as slices of the
//! response (no copy, no per-record header map). Kafka's own layout (`DefaultRecordBatch`,
//! `DefaultRecord`); the codec crate's encoder writes the batches the tests decode.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record as KRecord, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// Bytes of a v2 batch header, and where its fields sit.
const BATCH_HEADER_BYTES: usize = 61;
const LENGTH_AT: usize = 8;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const RECORDS_COUNT_AT: usize = 57;
const ATTRIBUTE_COMPRESSION: u16 = 0b111;
const ATTRIBUTE_LOG_APPEND_TIME: u16 = 1 << 3;
const ATTRIBUTE_CONTROL: u16 = 1 << 5;

/// A record read from a partition. `log_append_time` says whether the broker stamped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub log_append_time: bool,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// One uncompressed v2 batch of `(key, value)` records stamped `timestamp_ms` (CreateTime),
/// without a producer id.
pub fn encode_batch(
    records: &[(Option<&[u8]>, &[u8])],
    timestamp_ms: i64,
) -> Result<Bytes, String> {
    let batch: Vec<KRecord> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| KRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records whose sequences follow their offsets in one batch;
            // the batch's base sequence is then -1 (no producer id), as Kafka expects.
            sequence: i as i32 - 1,
            timestamp: timestamp_ms,
            key: key.map(Bytes::copy_from_slice),
            // A tombstone (a keyed empty value) is Kafka's null value, as compaction reads it.
            value: (!(key.is_some() && value.is_empty())).then(|| Bytes::copy_from_slice(value)),
            headers: Default::default(),
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut out, &batch, &options).map_err(|e| e.to_string())?;
    Ok(out.freeze())
}

/// Decodes the batches of a fetch response, keeping records at or after `from`. A trailing
/// partial batch (the response's byte limit cut it) is left for the next fetch; control batches
/// (transaction markers) are skipped. A batch marked `LogAppendTime` gives every record the
/// batch's max timestamp, which is the broker's append time (as Kafka's own client reads it).
pub fn decode_batches(mut bytes: Bytes, from: u64) -> Result<Vec<Fetched>, String> {
    let mut out = Vec::new();
    while bytes.len() >= BATCH_HEADER_BYTES {
        let length = i32::from_be_bytes(be4(&bytes, LENGTH_AT));
        let total = 12 + length.max(0) as usize;
        if length < 0 || total > bytes.len() {
            break;
        }
        let batch = bytes.split_to(total);
        decode_batch(&batch, from, &mut out)?;
    }
    Ok(out)
}

fn be4(b: &[u8], at: usize) -> [u8; 4] {
    b[at..at + 4].try_into().expect("4 bytes")
}

fn be8(b: &[u8], at: usize) -> [u8; 8] {
    b[at..at + 8].try_into().expect("8 bytes")
}

fn decode_batch(batch: &Bytes, from: u64, out: &mut Vec<Fetched>) -> Result<(), String> {
    let base_offset = i64::from_be_bytes(be8(batch, 0));
    if batch[MAGIC_AT] != 2 {
        return Err(format!(
            "record batch magic {} at offset {base_offset} (only v2 is read)",
            batch[MAGIC_AT]
        ));
    }
    let crc = u32::from_be_bytes(be4(batch, CRC_AT));
    if crc32c::crc32c(&batch[ATTRIBUTES_AT..]) != crc {
        return Err(format!(
            "record batch at offset {base_offset}: CRC-32C mismatch"
        ));
    }
    let attributes = u16::from_be_bytes([batch[ATTRIBUTES_AT], batch[ATTRIBUTES_AT + 1]]);
    if attributes & ATTRIBUTE_COMPRESSION != 0 {
        return Err(format!(
            "a compressed record batch (codec {}): produce the input uncompressed",
            attributes & ATTRIBUTE_COMPRESSION
        ));
    }
    if attributes & ATTRIBUTE_CONTROL != 0 {
        return Ok(());
    }
    let log_append_time = attributes & ATTRIBUTE_LOG_APPEND_TIME != 0;
    let base_timestamp = i64::from_be_bytes(be8(batch, BASE_TIMESTAMP_AT));
    let max_timestamp = i64::from_be_bytes(be8(batch, MAX_TIMESTAMP_AT));
    let count = i32::from_be_bytes(be4(batch, RECORDS_COUNT_AT)).max(0) as usize;
    let mut r = Reader {
        buf: batch,
        at: BATCH_HEADER_BYTES,
        base_offset,
    };
    // Each record takes at least 7 bytes: a count past what the batch can hold is a lie.
    out.reserve(count.min((batch.len() - BATCH_HEADER_BYTES) / 7));
    for _ in 0..count {
        let length = r.varint()?;
        let end = r.at + usize::try_from(length).map_err(|_| r.bad("record length"))?;
        if end > batch.len() {
            return Err(r.bad("record length"));
        }
        r.at += 1; // attributes (unused in v2 records)
        let timestamp_delta = r.varlong()?;
        let offset_delta = r.varint()?;
        let key = r.bytes()?;
        let value = r.bytes()?;
        // Headers are not part of a processor's input: skip them.
        let headers = r.varint()?;
        for _ in 0..headers.max(0) {
            r.bytes()?;
            r.bytes()?;
        }
        if r.at != end {
            return Err(r.bad("record length"));
        }
        let offset = base_offset + offset_delta as i64;
        if offset < from as i64 {
            continue;
        }
        out.push(Fetched {
            offset: offset as u64,
            timestamp_ms: if log_append_time {
                max_timestamp
            } else {
                base_timestamp + timestamp_delta
            },
            log_append_time,
            key,
            value,
        });
    }
    Ok(())
}

struct Reader<'a> {
    buf: &'a Bytes,
    at: usize,
    base_offset: i64,
}

impl Reader<'_> {
    fn bad(&self, what: &str) -> String {
        format!(
            "record batch at offset {}: bad {what} at byte {}",
            self.base_offset, self.at
        )
    }

    /// A zigzag varlong (at most 10 bytes).
    fn varlong(&mut self) -> Result<i64, String> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = *self.buf.get(self.at).ok_or_else(|| self.bad("varint"))?;
            self.at += 1;
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok((v >> 1) as i64 ^ -((v & 1) as i64));
            }
        }
        Err(self.bad("varint"))
    }

    fn varint(&mut self) -> Result<i32, String> {
        let v = self.varlong()?;
        i32::try_from(v).map_err(|_| self.bad("varint"))
    }

    /// A varint length (-1: null) and that many bytes, as a slice of the response.
    fn bytes(&mut self) -> Result<Option<Bytes>, String> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        let end = self.at + len as usize;
        if end > self.buf.len() {
            return Err(self.bad("length"));
        }
        let b = self.buf.slice(self.at..end);
        self.at = end;
        Ok(Some(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first_offset: i64, values: &[&str]) -> BytesMut {
        let records: Vec<KRecord> = values
            .iter()
            .enumerate()
            .map(|(i, v)| KRecord {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: first_offset + i as i64,
                sequence: i as i32 - 1,
                timestamp: 1_000 + i as i64,
                key: (i == 0).then(|| Bytes::from_static(b"k")),
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                headers: [(
                    kafka_protocol::protocol::StrBytes::from_static_str("h"),
                    Some(Bytes::from_static(b"x")),
                )]
                .into_iter()
                .collect(),
            })
            .collect();
        let mut out = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut out, &records, &options).unwrap();
        out
    }

    /// Sets attribute bits and the CRC that covers them, as a broker would write them.
    fn with_attributes(mut b: BytesMut, bits: u16) -> BytesMut {
        b[ATTRIBUTES_AT + 1] |= bits as u8;
        let crc = crc32c::crc32c(&b[ATTRIBUTES_AT..]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn records_before_the_offset_asked_for_and_a_cut_off_batch_are_left_out() {
        let mut bytes = batch(10, &["a", "b", "c"]);
        let second = batch(13, &["d", "e"]);
        bytes.extend_from_slice(&second[..second.len() - 3]);
        let got = decode_batches(bytes.freeze(), 10).unwrap();
        let offsets: Vec<u64> = got.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [10, 11, 12]);
        assert_eq!(got[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(got[1].key, None);
        assert_eq!(got[1].value.as_deref(), Some(&b"b"[..]));
        assert_eq!(got[1].timestamp_ms, 1_001);
        assert!(!got[1].log_append_time);
        assert_eq!(
            decode_batches(batch(10, &["a", "b"]).freeze(), 11)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_log_append_time_batch_gives_every_record_the_brokers_time() {
        let bytes = with_attributes(batch(0, &["a", "b", "c"]), ATTRIBUTE_LOG_APPEND_TIME);
        let got = decode_batches(bytes.freeze(), 0).unwrap();
        assert!(got
            .iter()
            .all(|r| r.log_append_time && r.timestamp_ms == 1_002));
    }

    #[test]
    fn a_tombstone_is_produced_as_a_null_value() {
        let bytes = encode_batch(&[(Some(b"k"), b""), (Some(b"j"), b"{}")], 42).unwrap();
        let got = decode_batches(bytes, 0).unwrap();
        assert_eq!(got[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(got[0].value, None);
        assert_eq!(got[1].value.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn what_the_sink_encodes_decodes_to_the_same_records() {
        let bytes = encode_batch(&[(Some(b"k"), b"a"), (None, b"b")], 42).unwrap();
        let got = decode_batches(bytes, 0).unwrap();
        let pairs: Vec<_> = got
            .iter()
            .map(|r| {
                (
                    r.offset,
                    r.timestamp_ms,
                    r.key.as_deref(),
                    r.value.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                (0, 42, Some(&b"k"[..]), Some(&b"a"[..])),
                (1, 42, None, Some(&b"b"[..]))
            ]
        );
    }

    #[test]
    fn control_batches_are_skipped() {
        let bytes = with_attributes(batch(0, &["a"]), ATTRIBUTE_CONTROL);
        assert!(decode_batches(bytes.freeze(), 0).unwrap().is_empty());
    }

    #[test]
    fn a_compressed_batch_is_refused_naming_its_codec() {
        let bytes = with_attributes(batch(0, &["a"]), 1);
        let e = decode_batches(bytes.freeze(), 0).unwrap_err();
        assert!(e.contains("compressed record batch (codec 1)"), "{e}");
    }

    #[test]
    fn a_flipped_byte_is_a_crc_error_not_a_record() {
        let mut bytes = batch(7, &["hello"]);
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        let e = decode_batches(bytes.freeze(), 0).unwrap_err();
        assert!(e.contains("offset 7") && e.contains("CRC-32C"), "{e}");
    }
}
