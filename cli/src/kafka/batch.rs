//! Record batches on the wire (RecordBatch v2, CRC-32C), both ways, through the `kafka-protocol`
//! crate's codec: checking and decoding the batch of a Produce request, and encoding log records
//! for Fetch as batches whose timestamps are the log's append times (`LogAppendTime`).
//!
//! Every count read from a batch is checked against what its bytes can hold before the codec
//! sizes anything by it.

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use kafka_protocol::ResponseError;

/// Bytes of a v2 batch before its first record (base offset .. record count).
const BATCH_HEADER_BYTES: usize = 61;
/// Where the magic byte and the attributes sit in a batch, and where its CRC-32C starts.
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
/// The attribute bit saying a batch's timestamps are log append times.
const ATTRIBUTE_LOG_APPEND_TIME: u8 = 1 << 3;
/// The smallest encoded record (length, attributes, three varints, key and value lengths, header count).
const RECORD_BYTES_MIN: usize = 7;
/// Header names starting with this are kappa's own (idempotency markers): refused from clients and
/// never handed to them.
pub const RESERVED_HEADER_PREFIX: &str = "kappa-";

/// One Produce batch, checked and decoded.
pub struct Incoming {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records: Vec<KRecord>,
}

/// Why a batch is refused: a Kafka error code and a message for the client.
pub type Refused = (i16, String);

/// Checks and decodes the single RecordBatch v2 a Produce request carries for one partition.
pub fn decode(records: Bytes, records_max: usize) -> Result<Incoming, Refused> {
    let invalid = |m: String| (ResponseError::CorruptMessage.code(), m);
    if records.len() < BATCH_HEADER_BYTES {
        return Err(invalid(format!(
            "a {}-byte record batch is truncated",
            records.len()
        )));
    }
    if records[MAGIC_AT] != 2 {
        return Err((
            ResponseError::UnsupportedForMessageFormat.code(),
            format!(
                "record batch magic {}: only v2 batches are accepted",
                records[MAGIC_AT]
            ),
        ));
    }
    let infos = RecordBatchDecoder::decode_batch_info(&mut records.clone())
        .map_err(|e| invalid(format!("bad record batch: {e}")))?;
    let [info] = infos.as_slice() else {
        return Err((
            ResponseError::InvalidRecord.code(),
            format!(
                "expected exactly one record batch per partition, got {}",
                infos.len()
            ),
        ));
    };
    let count = info.record_count as usize;
    if count > records_max || count * RECORD_BYTES_MIN > records.len() {
        return Err((
            ResponseError::MessageTooLarge.code(),
            format!(
                "a batch of {count} records (at most {records_max}, and what {} bytes can hold)",
                records.len()
            ),
        ));
    }
    if info.compression != Compression::None {
        return Err((
            ResponseError::UnsupportedCompressionType.code(),
            format!(
                "{:?} compression is not supported yet: produce uncompressed",
                info.compression
            ),
        ));
    }
    if info.transactional || info.control {
        return Err((
            ResponseError::InvalidRecord.code(),
            "transactions are not supported by kappa".to_string(),
        ));
    }
    let set = RecordBatchDecoder::decode(&mut records.clone())
        .map_err(|e| invalid(format!("bad record batch: {e}")))?;
    if set.records.len() != count {
        return Err(invalid(format!(
            "a batch claims {count} records but holds {}",
            set.records.len()
        )));
    }
    for r in &set.records {
        if r.headers
            .keys()
            .any(|k| k.starts_with(RESERVED_HEADER_PREFIX))
        {
            return Err((
                ResponseError::InvalidRecord.code(),
                format!("header names starting with {RESERVED_HEADER_PREFIX:?} are reserved"),
            ));
        }
    }
    Ok(Incoming {
        producer_id: info.producer_id,
        producer_epoch: info.producer_epoch,
        base_sequence: info.base_sequence,
        records: set.records,
    })
}

/// Encodes log records as v2 batches, one per run of equal append times, each marked
/// `LogAppendTime` (so clients read the log's timestamp whatever they produced with).
pub fn encode(records: &[log_store::Record], out: &mut BytesMut) -> anyhow::Result<()> {
    let mut start = 0;
    while start < records.len() {
        let ts = records[start].timestamp_ms;
        let end = start
            + records[start..]
                .iter()
                .take_while(|r| r.timestamp_ms == ts)
                .count();
        let first_offset = records[start].offset;
        let batch: Vec<KRecord> = records[start..end]
            .iter()
            .map(|r| to_kafka(r, first_offset))
            .collect();
        let at = out.len();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(out, &batch, &options)?;
        mark_log_append_time(&mut out[at..]);
        start = end;
    }
    Ok(())
}

fn to_kafka(r: &log_store::Record, first_offset: u64) -> KRecord {
    let mut headers = IndexMap::new();
    for (name, value) in &r.headers {
        if !name.starts_with(RESERVED_HEADER_PREFIX) {
            headers.insert(StrBytes::from_string(name.clone()), Some(value.clone()));
        }
    }
    KRecord {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::LogAppend,
        offset: r.offset as i64,
        // Sequences follow offsets so that the encoder keeps the run in one batch; the batch's
        // base sequence is -1 (no producer), as Kafka writes for non-idempotent batches.
        sequence: (r.offset - first_offset) as i32 - 1,
        timestamp: r.timestamp_ms as i64,
        key: r.key.clone(),
        // kappa's log stores a null value (a tombstone) as an empty one: it goes back as null.
        value: (!r.value.is_empty()).then(|| r.value.clone()),
        headers,
    }
}

/// Sets the `LogAppendTime` attribute of the one batch in `batch` and recomputes its CRC-32C
/// (which covers the attributes onwards).
fn mark_log_append_time(batch: &mut [u8]) {
    assert!(
        batch.len() >= BATCH_HEADER_BYTES,
        "an encoded batch has a full header"
    );
    batch[ATTRIBUTES_AT + 1] |= ATTRIBUTE_LOG_APPEND_TIME;
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: u64, ts: u64, value: &'static [u8]) -> log_store::Record {
        log_store::Record {
            offset,
            timestamp_ms: ts,
            key: Some(Bytes::from_static(b"k")),
            headers: vec![("h".into(), Bytes::from_static(b"v"))],
            value: Bytes::from_static(value),
        }
    }

    #[test]
    fn encoded_batches_decode_back_with_log_append_time_offsets_and_bytes() {
        let records = vec![
            record(5, 100, b"a"),
            record(6, 100, b"\xff\x00"),
            record(7, 101, b"c"),
        ];
        let mut out = BytesMut::new();
        encode(&records, &mut out).unwrap();
        let sets = RecordBatchDecoder::decode_all(&mut out.freeze()).unwrap();
        assert_eq!(sets.len(), 2, "one batch per append time");
        let decoded: Vec<_> = sets.into_iter().flat_map(|s| s.records).collect();
        assert_eq!(decoded.len(), 3);
        for (d, r) in decoded.iter().zip(&records) {
            assert_eq!(d.offset as u64, r.offset);
            assert_eq!(d.timestamp as u64, r.timestamp_ms);
            assert_eq!(d.timestamp_type, TimestampType::LogAppend);
            assert_eq!(d.value.as_deref(), Some(&r.value[..]));
            assert_eq!(d.key.as_deref(), Some(&b"k"[..]));
        }
    }

    #[test]
    fn an_empty_stored_value_is_fetched_as_a_null_value() {
        let records = vec![record(0, 100, b""), record(1, 100, b"{}")];
        let mut out = BytesMut::new();
        encode(&records, &mut out).unwrap();
        let sets = RecordBatchDecoder::decode_all(&mut out.freeze()).unwrap();
        let decoded: Vec<_> = sets.into_iter().flat_map(|s| s.records).collect();
        assert_eq!(
            decoded[0].value, None,
            "a tombstone goes back as Kafka's null"
        );
        assert_eq!(decoded[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(decoded[1].value.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn produce_batches_are_checked_before_decoding() {
        assert!(decode(Bytes::from_static(b"short"), 10).is_err());
        let mut out = BytesMut::new();
        encode(&[record(0, 1, b"x")], &mut out).unwrap();
        let good = out.clone().freeze();
        assert_eq!(decode(good.clone(), 10).unwrap().records.len(), 1);
        assert_eq!(
            decode(good, 0).err().unwrap().0,
            ResponseError::MessageTooLarge.code()
        );
        let mut bad = out.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff; // breaks the CRC
        assert!(decode(bad.freeze(), 10).is_err());
        let mut huge = out;
        huge[57..61].copy_from_slice(&i32::MAX.to_be_bytes()); // record count
        assert!(decode(huge.freeze(), 1 << 20).is_err());
    }
}
