//! Fetch: reads the published records of each partition asked for (never past the flushed end
//! under `--fsync always`, as for HTTP) and encodes them as RecordBatch v2 with `LogAppendTime`.
//! With `min_bytes` unmet it waits on the partitions' listeners until `max_wait_ms`, as the HTTP
//! long-poll does. Fetch sessions are not kept: session id 0 tells clients to send full fetches.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::ResponseError;
use log_store::{Offset, Partition, PartitionId};

use super::{batch, blocking, kstr, Broker};
use crate::limits::{CONSUME_BYTES_MAX, KAFKA_FETCH_RECORDS_MAX, WAIT_MS_MAX};

/// One partition asked for: where, from which offset, how many bytes at most.
struct Wanted {
    topic: String,
    index: i32,
    partition: Result<Arc<Partition>, i16>,
    offset: i64,
    bytes_max: usize,
}

pub async fn fetch(b: &Broker, r: FetchRequest) -> FetchResponse {
    let mut wanted = Vec::new();
    for t in &r.topics {
        let name = t.topic.0.to_string();
        let topic = b.state.store.topic(&name);
        for p in &t.partitions {
            let partition = match &topic {
                Ok(topic) => u32::try_from(p.partition)
                    .ok()
                    .and_then(|i| topic.partition(PartitionId(i)).ok().cloned())
                    .ok_or(ResponseError::UnknownTopicOrPartition.code()),
                Err(_) => Err(ResponseError::UnknownTopicOrPartition.code()),
            };
            wanted.push(Wanted {
                topic: name.clone(),
                index: p.partition,
                partition,
                offset: p.fetch_offset,
                bytes_max: (p.partition_max_bytes.max(0) as usize).min(CONSUME_BYTES_MAX),
            });
        }
    }
    let wanted = Arc::new(wanted);
    let total_max = (r.max_bytes.max(0) as usize).min(b.state.limits.body_bytes_max);
    let min_bytes = r.min_bytes.max(0) as usize;
    let wait = Duration::from_millis((r.max_wait_ms.max(0) as u64).min(WAIT_MS_MAX));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let listeners: Vec<_> = wanted
            .iter()
            .filter_map(|w| w.partition.as_ref().ok().map(|p| p.listen()))
            .collect();
        let w = wanted.clone();
        let (parts, bytes) = blocking(move || read_all(&w, total_max)).await;
        let errors = parts.iter().any(|p| p.error_code != 0);
        // min_bytes 0 answers at once, as Kafka does; otherwise wait for that many bytes.
        if bytes >= min_bytes
            || errors
            || tokio::time::Instant::now() >= deadline
            || b.state.shutdown.is_cancelled()
        {
            b.state
                .metrics
                .add("kappa_kafka_fetch_bytes_total", &[], bytes as u64);
            return response(&wanted, parts);
        }
        tokio::select! {
            _ = crate::http::handlers::events::wait_any(listeners) => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = b.state.shutdown.cancelled() => {}
        }
    }
}

/// Reads every partition wanted, within the request's byte budget; returns the partition
/// answers and the record bytes gathered.
fn read_all(wanted: &[Wanted], total_max: usize) -> (Vec<PartitionData>, usize) {
    let mut left = total_max;
    let mut gathered = 0;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let mut d = PartitionData::default();
        d.partition_index = w.index;
        d.high_watermark = -1;
        d.last_stable_offset = -1;
        d.log_start_offset = -1;
        d.preferred_read_replica = kafka_protocol::messages::BrokerId(-1);
        match &w.partition {
            Err(code) => d.error_code = *code,
            Ok(p) => {
                let (start, end) = (p.start_offset().0, p.end_offset().0);
                d.high_watermark = end as i64;
                d.last_stable_offset = end as i64;
                d.log_start_offset = start as i64;
                if w.offset < start as i64 || w.offset > end as i64 {
                    d.error_code = ResponseError::OffsetOutOfRange.code();
                } else if left > 0 && (w.offset as u64) < end {
                    // As Kafka does (KIP-74), the first partition with data returns at least one
                    // record even when it is larger than the byte budget.
                    let budget = w.bytes_max.min(left).max(1);
                    match p.read(Offset(w.offset as u64), KAFKA_FETCH_RECORDS_MAX, budget) {
                        Ok(records) => {
                            let mut buf = BytesMut::new();
                            match batch::encode(&records, &mut buf) {
                                Ok(()) => {
                                    left = left.saturating_sub(buf.len());
                                    gathered += buf.len();
                                    d.records = Some(buf.freeze());
                                }
                                Err(e) => {
                                    tracing::error!(topic = %w.topic, partition = w.index, error = %e, "encoding a fetch");
                                    d.error_code = ResponseError::UnknownServerError.code();
                                }
                            }
                        }
                        Err(e) => {
                            tracing::error!(topic = %w.topic, partition = w.index, error = %e, "kafka fetch read failed");
                            d.error_code = super::error_code(&e);
                        }
                    }
                }
            }
        }
        out.push(d);
    }
    (out, gathered)
}

fn response(wanted: &[Wanted], parts: Vec<PartitionData>) -> FetchResponse {
    let mut resp = FetchResponse::default();
    for (w, d) in wanted.iter().zip(parts) {
        match resp.responses.last_mut() {
            Some(t) if t.topic.0.as_str() == w.topic => t.partitions.push(d),
            _ => {
                let mut t = FetchableTopicResponse::default();
                t.topic = TopicName(kstr(w.topic.clone()));
                t.topic_id = super::topic_id(&w.topic);
                t.partitions.push(d);
                resp.responses.push(t);
            }
        }
    }
    resp
}
