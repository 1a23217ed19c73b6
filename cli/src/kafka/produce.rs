//! Produce: each partition's batch is checked, decoded and appended through the same produce
//! noun as an HTTP produce (`crate::produce`: one append path, one durability policy, one set of
//! limits). Idempotent batches are checked against their producer's sequences under that
//! producer's partition lock, so a retry is answered with the original offsets and appended
//! once. `acks=0` gets no response.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::ResponseError;
use log_store::PartitionId;

use super::batch::{self, Incoming, Refused};
use super::producers::{Landed, Producers, Verdict};
use super::{kstr, Broker};
use crate::produce::appender::{Placed, Share};
use crate::produce::idempotency::HEADER_PRODUCER;
use crate::produce::{self, ProduceError};

pub async fn produce(b: &Broker, r: ProduceRequest) -> Option<ProduceResponse> {
    let acks = r.acks;
    let refusal: Option<Refused> = if r.transactional_id.is_some() {
        Some((
            ResponseError::InvalidRecord.code(),
            "transactions are not supported by kappa".into(),
        ))
    } else if !matches!(acks, -1..=1) {
        Some((
            ResponseError::InvalidRequiredAcks.code(),
            format!("acks={acks}: expected -1 (all), 0 or 1"),
        ))
    } else {
        None
    };
    // One append time for the whole request (DESIGN.md §2), held in flight until every
    // partition's batch is appended.
    let stamp = b.state.store.stamp();
    let timestamp_ms = stamp.timestamp_ms();
    let mut pending = Vec::new();
    for t in r.topic_data {
        let name = t.name.0.to_string();
        for p in t.partition_data {
            let (name, refusal) = (name.clone(), refusal.clone());
            pending.push(async move {
                let result = match refusal {
                    Some(r) => Err(r),
                    None => produce_partition(b, &name, p.index, p.records, timestamp_ms).await,
                };
                (name, p.index, result)
            });
        }
    }
    let results = produce::join_all(pending).await;
    drop(stamp);
    if acks == 0 {
        return None;
    }
    let mut resp = ProduceResponse::default();
    for (name, index, result) in results {
        let mut p = PartitionProduceResponse::default();
        p.index = index;
        p.log_append_time_ms = -1;
        match result {
            Ok(l) => {
                p.base_offset = l.base_offset as i64;
                p.log_append_time_ms = l.timestamp_ms as i64;
            }
            Err((code, message)) => {
                tracing::debug!(topic = %name, partition = index, code, %message, "kafka produce refused");
                p.error_code = code;
                p.base_offset = -1;
                p.error_message = Some(kstr(message));
            }
        }
        match resp
            .responses
            .iter_mut()
            .find(|t| t.name.0.as_str() == name)
        {
            Some(t) => t.partition_responses.push(p),
            None => {
                let mut t = TopicProduceResponse::default();
                t.name = kafka_protocol::messages::TopicName(kstr(name));
                t.partition_responses.push(p);
                resp.responses.push(t);
            }
        }
    }
    Some(resp)
}

async fn produce_partition(
    b: &Broker,
    name: &str,
    index: i32,
    records: Option<Bytes>,
    timestamp_ms: u64,
) -> Result<Landed, Refused> {
    let topic = super::metadata::ensure_topic(b, name).await?;
    let partition = u32::try_from(index)
        .ok()
        .and_then(|i| topic.partition(PartitionId(i)).ok().cloned())
        .ok_or_else(|| {
            (
                ResponseError::UnknownTopicOrPartition.code(),
                format!("topic {name} has no partition {index}"),
            )
        })?;
    let records = records.ok_or_else(|| {
        (
            ResponseError::CorruptMessage.code(),
            "no record batch".to_string(),
        )
    })?;
    let incoming = batch::decode(records, b.state.limits.events_max)?;
    let mut share = to_share(&incoming, b.state.limits.event_bytes_max, timestamp_ms)?;
    let count = incoming.records.len() as i32;
    if incoming.producer_id < 0 {
        let placed = produce::append(&b.state, &topic, &partition, share)
            .await
            .map_err(refused)?;
        return Ok(landed(&incoming, placed));
    }
    let (first, last) = (
        incoming.base_sequence,
        incoming.base_sequence.wrapping_add(count - 1),
    );
    let sequences = b
        .producers
        .sequences(incoming.producer_id, name, partition.id().0)
        .ok_or_else(|| {
            (
                ResponseError::UnknownServerError.code(),
                "too many idempotent producers are remembered; try again later".to_string(),
            )
        })?;
    let mut seqs = sequences.lock().await;
    match seqs.check(incoming.producer_epoch, first, last) {
        Verdict::Duplicate(l) => Ok(l),
        Verdict::Refuse(code, message) => Err((code, message)),
        Verdict::Append => {
            share.first_headers = vec![(
                HEADER_PRODUCER,
                Producers::header(incoming.producer_id, incoming.producer_epoch, first, last),
            )];
            // Noted in the keyed-record index before the request's stamp is released.
            let placed = produce::append_marked(&b.state, &topic, &partition, share)
                .await
                .map_err(refused)?;
            let l = landed(&incoming, placed);
            seqs.landed(l);
            Ok(l)
        }
    }
}

fn landed(incoming: &Incoming, placed: Placed) -> Landed {
    let count = incoming.records.len() as i32;
    Landed {
        first_sequence: incoming.base_sequence,
        last_sequence: incoming.base_sequence.wrapping_add(count - 1),
        base_offset: placed.base_offset,
        timestamp_ms: placed.timestamp_ms,
    }
}

/// The batch as an appender share: values concatenated into one body (a null value is stored
/// empty), keys and headers kept.
fn to_share(
    incoming: &Incoming,
    event_bytes_max: usize,
    timestamp_ms: u64,
) -> Result<Share, Refused> {
    let total: usize = incoming
        .records
        .iter()
        .map(|r| r.value.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut body = BytesMut::with_capacity(total);
    let mut events = Vec::with_capacity(incoming.records.len());
    let mut keys = Vec::with_capacity(incoming.records.len());
    let mut headers = Vec::with_capacity(incoming.records.len());
    for (i, r) in incoming.records.iter().enumerate() {
        let value = r.value.as_deref().unwrap_or(b"");
        if value.len() > event_bytes_max {
            return Err((
                ResponseError::MessageTooLarge.code(),
                format!(
                    "record {i} has a {}-byte value; the limit is {event_bytes_max} bytes",
                    value.len()
                ),
            ));
        }
        let start = body.len();
        body.extend_from_slice(value);
        events.push(start..body.len());
        keys.push(r.key.as_ref().map(|k| k.to_vec()));
        let mut own: Vec<(String, Bytes)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone().unwrap_or_default()))
            .collect();
        if !produce::is_json(value) {
            own.push((produce::HEADER_VALUE_BYTES.to_string(), Bytes::new()));
        }
        headers.push(own);
    }
    Ok(Share {
        body: body.freeze(),
        events,
        keys,
        first_headers: Vec::new(),
        headers,
        timestamp_ms,
    })
}

/// An append error as a Kafka error code: the code of the HTTP status the error is answered
/// with over HTTP (507 and 503: storage error, 413: too large, 400: invalid record, 404: unknown
/// topic or partition, anything else: unknown server error).
fn refused(e: ProduceError) -> Refused {
    use log_store::Error as E;
    use ResponseError as K;
    let code = match &e {
        ProduceError::Log(l) => match &**l {
            _ if l.is_disk_full() => K::KafkaStorageError,
            E::Io { .. } | E::Locked { .. } => K::KafkaStorageError,
            E::RecordTooLarge { .. } | E::BatchTooLarge { .. } | E::BatchBytesTooLarge { .. } => {
                K::MessageTooLarge
            }
            E::InvalidName { .. } | E::InvalidConfig { .. } | E::InvalidRecord { .. } => {
                K::InvalidRecord
            }
            E::UnknownTopic { .. } | E::UnknownPartition { .. } => K::UnknownTopicOrPartition,
            _ => K::UnknownServerError,
        },
        ProduceError::TooManyEvents { .. } | ProduceError::EventTooLarge { .. } => {
            K::MessageTooLarge
        }
        ProduceError::EmptyBody | ProduceError::BadUtf8 { .. } | ProduceError::BadJson { .. } => {
            K::InvalidRecord
        }
        ProduceError::KeyReused { .. }
        | ProduceError::KeyInProgress { .. }
        | ProduceError::AppenderStopped
        | ProduceError::Worker(_) => K::UnknownServerError,
    };
    (code.code(), e.to_string())
}
