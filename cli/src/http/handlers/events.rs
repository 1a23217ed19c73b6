//! Producing and consuming events.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, Offset, Partition, PartitionId, Record, Topic};
use serde_json::json;

use super::blocking;
use crate::appender::Share;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_bytes, Query};
use crate::http::response::{self, Body};
use crate::idempotency::{
    fingerprint, Begin, PartResult, HEADER_BODY, HEADER_COUNT, HEADER_KEY, HEADER_PARTS,
};
use crate::ingest::{self, EventLimits, Framing};
use crate::limits::{
    CONSUME_BYTES_MAX, CONSUME_LIMIT_DEFAULT, IDEMPOTENCY_KEY_BYTES_MAX, INLINE_PARSE_BYTES_MAX,
    WAIT_MS_MAX,
};
use crate::state::AppState;
use crate::time::{now_ms, parse_time_ms};

pub async fn produce(
    state: Arc<AppState>,
    topic: &str,
    query: &Query,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    validate_name(topic)?;
    let topic = state.store.topic(topic)?;
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let framing = if content_type.contains("ndjson") || content_type.contains("jsonl") {
        Framing::Ndjson
    } else {
        Framing::Json
    };
    let idempotency_key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_BYTES_MAX => Some(k.to_string()),
            _ => {
                return Err(ApiError::bad_request(
                    "bad_idempotency_key",
                    format!("Idempotency-Key must be 1..={IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"),
                ))
            }
        },
    };
    let key_field = query.get("key").map(str::to_string);
    let body = body_bytes(req.into_body(), state.limits.body_bytes_max).await?;
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
    let split = if body.len() <= INLINE_PARSE_BYTES_MAX {
        split_request(&state, &topic, body, framing, key_field.as_deref())?
    } else {
        let (st, t) = (state.clone(), topic.clone());
        blocking(move || split_request(&st, &t, body, framing, key_field.as_deref())).await?
    };
    let job = ProduceJob {
        state: &state,
        topic: &topic,
    };
    let parts = match (idempotency_key, body_fingerprint) {
        (Some(k), Some(f)) => job.idempotent(split, &k, f).await?,
        _ => job.append_all(split).await?,
    };
    let count: u64 = parts.iter().map(|p| u64::from(p.count)).sum();
    let parts: Vec<_> = parts
        .iter()
        .map(|p| json!({"partition": p.partition, "base_offset": p.base_offset, "count": p.count}))
        .collect();
    Ok(response::ok_json(
        json!({ "count": count, "partitions": parts }),
    ))
}

/// One partition's share of a request, before it is queued.
struct Split {
    partition: u32,
    body: Bytes,
    events: Vec<Range<usize>>,
    keys: Vec<Option<Vec<u8>>>,
}

/// Parses the body into events and splits them by key hash (deterministic, so a retry splits
/// the same way) or sends the whole request to the next partition in turn.
fn split_request(
    state: &AppState,
    topic: &Topic,
    body: Bytes,
    framing: Framing,
    key_field: Option<&str>,
) -> ApiResult<Vec<Split>> {
    let limits = EventLimits {
        event_bytes_max: state.limits.event_bytes_max,
        events_max: state.limits.events_max,
    };
    let events = ingest::parse_events(&body, framing, limits)?;
    let range = |e: &[u8]| {
        let start = e.as_ptr() as usize - body.as_ptr() as usize;
        start..start + e.len()
    };
    let partitions = topic.partitions().len() as u32;
    let Some(field) = key_field else {
        let partition = state.next_partition(topic.name(), partitions);
        let ranges: Vec<_> = events.iter().map(|e| range(e)).collect();
        let keys = vec![None; ranges.len()];
        return Ok(vec![Split {
            partition,
            events: ranges,
            keys,
            body: body.clone(),
        }]);
    };
    let mut shares: Vec<Split> = Vec::new();
    for event in &events {
        let key = ingest::key_of(event, field);
        let partition = ingest::partition_for_key(key.as_deref().unwrap_or(b""), partitions);
        let at = match shares.iter().position(|s| s.partition == partition) {
            Some(i) => i,
            None => {
                shares.push(Split {
                    partition,
                    body: body.clone(),
                    events: Vec::new(),
                    keys: Vec::new(),
                });
                shares.len() - 1
            }
        };
        shares[at].events.push(range(event));
        shares[at].keys.push(key);
    }
    shares.sort_by_key(|s| s.partition);
    Ok(shares)
}

struct ProduceJob<'a> {
    state: &'a AppState,
    topic: &'a Arc<Topic>,
}

impl ProduceJob<'_> {
    /// Appends every share, concurrently (one per partition).
    async fn append_all(&self, shares: Vec<Split>) -> ApiResult<Vec<PartResult>> {
        let (parts, result) = self.append_some(shares, None, &[]).await;
        result.map(|()| parts)
    }

    /// Appends every share not in `done`; returns what landed (with `done`) and the first error.
    async fn append_some(
        &self,
        shares: Vec<Split>,
        idem: Option<(&str, u64)>,
        done: &[PartResult],
    ) -> (Vec<PartResult>, ApiResult<()>) {
        let expected = shares.len();
        let segment_bytes = self.topic.config().segment_bytes;
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
            let bytes: u64 = s.events.iter().map(|r| r.len() as u64).sum();
            let share = Share {
                body: s.body,
                events: s.events,
                keys: s.keys,
                first_headers,
                headers: Vec::new(),
                timestamp_ms: stamp.timestamp_ms(),
            };
            let appenders = &self.state.appenders;
            pending.push(async move {
                (
                    s.partition,
                    bytes,
                    appenders.append(&partition, segment_bytes, share).await,
                )
            });
        }
        let mut parts = done.to_vec();
        let mut result = Ok(());
        for (partition, bytes, placed) in join_all(pending).await {
            match placed {
                Ok(p) => {
                    let name = self.topic.name();
                    if idem.is_some() {
                        // Before the stamp is released (see keyindex.rs).
                        self.state
                            .keys
                            .note(name, partition, p.base_offset, p.timestamp_ms);
                    }
                    self.state.metrics.add(
                        "kappa_topic_records_in_total",
                        &[("topic", name)],
                        u64::from(p.count),
                    );
                    self.state
                        .metrics
                        .add("kappa_topic_bytes_in_total", &[("topic", name)], bytes);
                    parts.push(PartResult {
                        partition,
                        base_offset: p.base_offset,
                        count: p.count,
                    });
                }
                Err(e) => {
                    if idem.is_some() {
                        // Its records may still reach the log without an entry (keyindex.rs).
                        self.state.keys.gap(stamp.timestamp_ms());
                    }
                    result = Err(e)
                }
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
    ) -> ApiResult<Vec<PartResult>> {
        let name = self.topic.name();
        if !self.state.idempotency.same_body(name, key, body) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                format!(
                    "Idempotency-Key {key:?} was used for a different request on topic {name}: \
                     a retry must repeat the same body and key parameter (use a new key for new events)"
                ),
            ));
        }
        let done = match self.state.idempotency.begin(name, key, now_ms()) {
            Begin::Busy => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "request_in_progress",
                    format!("a request with Idempotency-Key {key:?} is still being handled"),
                ))
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

/// Where each selected partition starts, from the request's parameters.
fn start_offset(
    state: &AppState,
    topic: &Topic,
    p: &Partition,
    query: &Query,
) -> ApiResult<Offset> {
    if let Some(offset) = query.get("offset") {
        return match offset {
            "earliest" => Ok(p.start_offset()),
            "latest" => Ok(p.end_offset()),
            n => n.parse::<u64>().map(Offset).map_err(|_| {
                ApiError::bad_request(
                    "bad_parameter",
                    format!("offset={n:?}: expected a number, earliest or latest"),
                )
            }),
        };
    }
    if let Some(t) = query.get("from_time") {
        let ms = parse_time_ms(t).ok_or_else(|| {
            ApiError::bad_request(
                "bad_parameter",
                format!("from_time={t:?}: expected RFC 3339 or epoch milliseconds"),
            )
        })?;
        return Ok(p.offset_for_timestamp(ms)?);
    }
    if let Some(group) = query.get("group") {
        validate_name(group)
            .map_err(|e| ApiError::bad_request("invalid_name", format!("group {group:?}: {e}")))?;
        if let Some(o) = state.groups.committed(group, topic.name(), p.id().0) {
            return Ok(Offset(o.max(p.start_offset().0)));
        }
    }
    Ok(p.start_offset())
}

pub fn record_line(partition: u32, r: &Record, out: &mut Vec<u8>) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    out.extend_from_slice(b"{\"partition\":");
    out.extend_from_slice(partition.to_string().as_bytes());
    out.extend_from_slice(b",\"offset\":");
    out.extend_from_slice(r.offset.to_string().as_bytes());
    out.extend_from_slice(b",\"timestamp\":");
    out.extend_from_slice(r.timestamp_ms.to_string().as_bytes());
    // Keys and values are bytes (DESIGN.md §8): a key that is not UTF-8 is shown as `key_b64`,
    // a value marked as not JSON (produced over Kafka) as `value_b64`.
    match r.key.as_deref().map(std::str::from_utf8) {
        Some(Ok(k)) => {
            out.extend_from_slice(b",\"key\":");
            out.extend_from_slice(
                serde_json::to_string(k)
                    .expect("strings serialize")
                    .as_bytes(),
            );
        }
        Some(Err(_)) => {
            out.extend_from_slice(b",\"key_b64\":\"");
            out.extend_from_slice(b64.encode(r.key.as_deref().unwrap_or_default()).as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b",\"key\":null"),
    }
    if r.headers
        .iter()
        .any(|(n, _)| n == ingest::HEADER_VALUE_BYTES)
    {
        out.extend_from_slice(b",\"value_b64\":\"");
        out.extend_from_slice(b64.encode(&r.value).as_bytes());
        out.extend_from_slice(b"\"}\n");
        return;
    }
    out.extend_from_slice(b",\"value\":");
    // Values were validated as JSON when produced (over HTTP, by processors, or checked and
    // left unmarked over Kafka).
    out.extend_from_slice(&r.value);
    out.extend_from_slice(b"}\n");
}

pub async fn consume(
    state: Arc<AppState>,
    topic: &str,
    query: &Query,
) -> ApiResult<Response<Body>> {
    validate_name(topic)?;
    // A bad group name is refused whether or not an offset is given (it used to be checked
    // only when the group picks the start).
    if let Some(group) = query.get("group") {
        validate_name(group)
            .map_err(|e| ApiError::bad_request("invalid_name", format!("group {group:?}: {e}")))?;
    }
    let topic = state.store.topic(topic)?;
    let limit = match query.parse_u64("limit")? {
        None => CONSUME_LIMIT_DEFAULT,
        Some(0) => {
            return Err(ApiError::bad_request(
                "bad_limit",
                "limit must be at least 1",
            ))
        }
        Some(n) if n as usize > state.limits.consume_limit_max => {
            return Err(ApiError::bad_request(
                "bad_limit",
                format!(
                    "limit={n} exceeds the maximum of {} records per request",
                    state.limits.consume_limit_max
                ),
            ))
        }
        Some(n) => n as usize,
    };
    let wait_ms = query.parse_u64("wait_ms")?.unwrap_or(0).min(WAIT_MS_MAX);
    let partitions: Vec<Arc<Partition>> = match query.parse_u32("partition")? {
        Some(p) => vec![topic.partition(PartitionId(p))?.clone()],
        None => topic.partitions().to_vec(),
    };
    let mut positions = Vec::with_capacity(partitions.len());
    for p in &partitions {
        positions.push(start_offset(&state, &topic, p, query)?);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
    loop {
        let listeners: Vec<_> = partitions.iter().map(|p| p.listen()).collect();
        let (ps, pos) = (partitions.clone(), positions.clone());
        let body = blocking(move || read_lines(&ps, &pos, limit)).await?;
        if !body.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(response::with_type(
                StatusCode::OK,
                "application/x-ndjson",
                body,
            ));
        }
        tokio::select! {
            _ = wait_any(listeners) => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = state.shutdown.cancelled() => {}
        }
        if state.shutdown.is_cancelled() {
            return Ok(response::with_type(
                StatusCode::OK,
                "application/x-ndjson",
                Bytes::new(),
            ));
        }
    }
}

fn read_lines(
    partitions: &[Arc<Partition>],
    positions: &[Offset],
    limit: usize,
) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut left = limit;
    for (p, from) in partitions.iter().zip(positions) {
        if left == 0 {
            break;
        }
        let records = p.read(*from, left, CONSUME_BYTES_MAX)?;
        left -= records.len();
        for r in &records {
            record_line(p.id().0, r, &mut out);
        }
    }
    Ok(out)
}

/// Resolves when any of the listeners fires.
pub async fn wait_any(listeners: Vec<event_listener::EventListener>) {
    let mut listeners: Vec<_> = listeners.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        for l in listeners.iter_mut() {
            if l.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}
