//! Producing: a request's events parsed (`parse`), split by key or in turn over the topic's
//! partitions (`split`), each partition's share queued on that partition's appender
//! (`appender`), and, with an idempotency key, remembered so a retry appends nothing twice
//! (`idempotency`). The HTTP handler decodes the headers and calls [`produce`]; the Kafka
//! listener decodes record batches and calls [`append`] and [`append_marked`]. Errors are
//! [`ProduceError`], which `http/error.rs` turns into statuses and the Kafka listener into
//! error codes.

pub mod appender;
mod error;
pub mod idempotency;
pub mod parse;
pub mod split;

use std::sync::Arc;

use bytes::Bytes;
use log_store::{Partition, PartitionId, Topic};

use crate::limits::INLINE_PARSE_BYTES_MAX;
use crate::state::AppState;
use crate::time::now_ms;
use appender::{Placed, Share};
pub use error::ProduceError;
use idempotency::{
    fingerprint, Begin, PartResult, HEADER_BODY, HEADER_COUNT, HEADER_KEY, HEADER_PARTS,
};
pub use parse::{is_json, Framing, HEADER_VALUE_BYTES};
use parse::{parse_events, EventLimits};
use split::Split;

/// One produce request, its headers decoded.
pub struct Request {
    pub body: Bytes,
    pub framing: Framing,
    /// The field whose value is each event's key (`?key=`), dotted for nested objects.
    pub key_field: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Parses, splits and appends `req` to `topic`; returns where each partition's share landed
/// (in partition order). All or nothing per partition; with an idempotency key, a retry gets
/// the original offsets and appends only what is missing.
pub async fn produce(
    state: &Arc<AppState>,
    topic: &Arc<Topic>,
    req: Request,
) -> Result<Vec<PartResult>, ProduceError> {
    let Request {
        body,
        framing,
        key_field,
        idempotency_key,
    } = req;
    let body_fingerprint = idempotency_key.as_ref().map(|_| {
        let framing_tag: &[u8] = if framing == Framing::Ndjson {
            b"ndjson"
        } else {
            b"json"
        };
        let key_tag = key_field.as_deref().unwrap_or("").as_bytes();
        fingerprint(&[framing_tag, key_tag, &body])
    });
    // Validating and splitting is CPU work: big bodies go off the async workers, small ones are
    // cheaper to do in place than to hand to another thread.
    let shares = if body.len() <= INLINE_PARSE_BYTES_MAX {
        parse_and_split(state, topic, body, framing, key_field.as_deref())?
    } else {
        let (st, t) = (state.clone(), topic.clone());
        tokio::task::spawn_blocking(move || {
            parse_and_split(&st, &t, body, framing, key_field.as_deref())
        })
        .await
        .map_err(|e| ProduceError::Worker(e.to_string()))??
    };
    let job = Job { state, topic };
    match (idempotency_key, body_fingerprint) {
        (Some(k), Some(f)) => job.idempotent(shares, &k, f).await,
        _ => job.append_all(shares).await,
    }
}

fn parse_and_split(
    state: &AppState,
    topic: &Topic,
    body: Bytes,
    framing: Framing,
    key_field: Option<&str>,
) -> Result<Vec<Split>, ProduceError> {
    let limits = EventLimits {
        event_bytes_max: state.limits.event_bytes_max,
        events_max: state.limits.events_max,
    };
    let events = parse_events(&body, framing, limits)?;
    let partitions = topic.partitions().len() as u32;
    Ok(split::split(&body, &events, partitions, key_field, || {
        state.next_partition(topic.name(), partitions)
    }))
}

/// Appends `share` to `partition` (merged with whatever else is queued for it) and counts it
/// in the topic's metrics.
pub async fn append(
    state: &AppState,
    topic: &Topic,
    partition: &Arc<Partition>,
    share: Share,
) -> Result<Placed, ProduceError> {
    let bytes: u64 = share.events.iter().map(|r| r.len() as u64).sum();
    let placed = state
        .appenders
        .append(partition, topic.config().segment_bytes, share)
        .await?;
    let name = topic.name();
    state.metrics.add(
        "kappa_topic_records_in_total",
        &[("topic", name)],
        u64::from(placed.count),
    );
    state
        .metrics
        .add("kappa_topic_bytes_in_total", &[("topic", name)], bytes);
    Ok(placed)
}

/// [`append`] for a share whose first record carries a marker header (an idempotency key, a
/// Kafka producer's sequences): the keyed-record index learns where it landed, or, when the
/// append fails, that its records may still reach the log without an entry (keyindex.rs).
/// Called while the request's stamp is held.
pub async fn append_marked(
    state: &AppState,
    topic: &Topic,
    partition: &Arc<Partition>,
    share: Share,
) -> Result<Placed, ProduceError> {
    let stamp_ms = share.timestamp_ms;
    match append(state, topic, partition, share).await {
        Ok(placed) => {
            state.keys.note(
                topic.name(),
                partition.id().0,
                placed.base_offset,
                placed.timestamp_ms,
            );
            Ok(placed)
        }
        Err(e) => {
            state.keys.gap(stamp_ms);
            Err(e)
        }
    }
}

struct Job<'a> {
    state: &'a AppState,
    topic: &'a Arc<Topic>,
}

impl Job<'_> {
    /// Appends every share, concurrently (one per partition).
    async fn append_all(&self, shares: Vec<Split>) -> Result<Vec<PartResult>, ProduceError> {
        let (parts, result) = self.append_some(shares, None, &[]).await;
        result.map(|()| parts)
    }

    /// Appends every share not in `done`; returns what landed (with `done`) and the first error.
    async fn append_some(
        &self,
        shares: Vec<Split>,
        idem: Option<(&str, u64)>,
        done: &[PartResult],
    ) -> (Vec<PartResult>, Result<(), ProduceError>) {
        let expected = shares.len();
        // One append time for the whole request, held in flight until every share is appended.
        let stamp = self.state.store.stamp();
        let mut pending = Vec::new();
        for s in shares
            .into_iter()
            .filter(|s| !done.iter().any(|d| d.partition == s.partition))
        {
            let partition = match self.topic.partition(PartitionId(s.partition)) {
                Ok(p) => p.clone(),
                Err(e) => return (done.to_vec(), Err(e.into())),
            };
            let first_headers = match idem {
                Some((k, body)) => vec![
                    (HEADER_KEY, k.as_bytes().to_vec()),
                    (HEADER_PARTS, expected.to_string().into_bytes()),
                    (HEADER_COUNT, s.events.len().to_string().into_bytes()),
                    (HEADER_BODY, format!("{body:x}").into_bytes()),
                ],
                None => Vec::new(),
            };
            let share = Share {
                body: s.body,
                events: s.events,
                keys: s.keys,
                first_headers,
                headers: Vec::new(),
                timestamp_ms: stamp.timestamp_ms(),
            };
            let (state, topic) = (self.state, &**self.topic);
            pending.push(async move {
                let placed = match idem {
                    // Noted before the stamp is released (see keyindex.rs).
                    Some(_) => append_marked(state, topic, &partition, share).await,
                    None => append(state, topic, &partition, share).await,
                };
                (s.partition, placed)
            });
        }
        let mut parts = done.to_vec();
        let mut result = Ok(());
        for (partition, placed) in join_all(pending).await {
            match placed {
                Ok(p) => parts.push(PartResult {
                    partition,
                    base_offset: p.base_offset,
                    count: p.count,
                }),
                Err(e) => result = Err(e),
            }
        }
        drop(stamp);
        parts.sort_by_key(|p| p.partition);
        (parts, result)
    }

    async fn idempotent(
        &self,
        shares: Vec<Split>,
        key: &str,
        body: u64,
    ) -> Result<Vec<PartResult>, ProduceError> {
        let name = self.topic.name();
        if !self.state.idempotency.same_body(name, key, body) {
            return Err(ProduceError::KeyReused {
                topic: name.to_string(),
                key: key.to_string(),
            });
        }
        let done = match self.state.idempotency.begin(name, key, now_ms()) {
            Begin::Busy => {
                return Err(ProduceError::KeyInProgress {
                    key: key.to_string(),
                })
            }
            Begin::Replay {
                parts,
                complete: true,
            } => return Ok(parts),
            Begin::Replay {
                parts,
                complete: false,
            } => parts,
            Begin::Fresh => Vec::new(),
        };
        let expected = shares.len() as u32;
        let (parts, result) = self.append_some(shares, Some((key, body)), &done).await;
        self.state
            .idempotency
            .finish(name, key, parts.clone(), expected);
        result.map(|()| parts)
    }
}

/// Awaits every future, concurrently, keeping their order.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (h, slot) in handles.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match h.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}
