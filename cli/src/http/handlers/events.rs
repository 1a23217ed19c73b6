//! Producing and consuming events.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, AppendRecord, Offset, Partition, PartitionId, Record, Topic};
use serde_json::json;

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_bytes, Query};
use crate::http::response::{self, Body};
use crate::idempotency::{Begin, PartResult, HEADER_COUNT, HEADER_KEY, HEADER_PARTS};
use crate::ingest::{self, EventLimits, Framing};
use crate::limits::{CONSUME_BYTES_MAX, CONSUME_LIMIT_DEFAULT, IDEMPOTENCY_KEY_BYTES_MAX, WAIT_MS_MAX};
use crate::state::AppState;
use crate::time::{now_ms, parse_time_ms};

pub async fn produce(state: Arc<AppState>, topic: &str, query: &Query, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    validate_name(topic)?;
    let topic = state.store.topic(topic)?;
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let framing = if content_type.contains("ndjson") || content_type.contains("jsonl") { Framing::Ndjson } else { Framing::Json };
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
    let st = state.clone();
    let (count, parts) = blocking(move || {
        let job = ProduceJob { state: &st, topic: &topic, key_field: key_field.as_deref(), idempotency_key: idempotency_key.as_deref() };
        job.run(&body, framing)
    })
    .await?;
    let parts: Vec<_> =
        parts.iter().map(|p| json!({"partition": p.partition, "base_offset": p.base_offset, "count": p.count})).collect();
    Ok(response::ok_json(json!({ "count": count, "partitions": parts })))
}

struct ProduceJob<'a> {
    state: &'a AppState,
    topic: &'a Topic,
    key_field: Option<&'a str>,
    idempotency_key: Option<&'a str>,
}

/// One partition's share of a request: its events (and keys) in request order.
struct Share<'a> {
    partition: u32,
    events: Vec<&'a [u8]>,
    keys: Vec<Option<Vec<u8>>>,
}

impl ProduceJob<'_> {
    fn run(&self, body: &[u8], framing: Framing) -> ApiResult<(usize, Vec<PartResult>)> {
        let limits = EventLimits { event_bytes_max: self.state.limits.event_bytes_max, events_max: self.state.limits.events_max };
        let events = ingest::parse_events(body, framing, limits)?;
        let count = events.len();
        let Some(idem) = self.idempotency_key else {
            let shares = self.split(events);
            let mut done = Vec::new();
            for share in &shares {
                done.push(self.append(share, None, shares.len())?);
            }
            return Ok((count, done));
        };
        let name = self.topic.name();
        let (mut done, complete) = match self.state.idempotency.begin(name, idem, now_ms()) {
            Begin::Busy => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "request_in_progress",
                    format!("a request with Idempotency-Key {idem:?} is still being handled"),
                ))
            }
            Begin::Replay { parts, complete } => (parts, complete),
            Begin::Fresh => (Vec::new(), false),
        };
        if complete {
            return Ok((done.iter().map(|p| p.count as usize).sum(), done));
        }
        let shares = self.split(events);
        let mut result = Ok(());
        let missing: Vec<&Share> = shares.iter().filter(|s| !done.iter().any(|d| d.partition == s.partition)).collect();
        for share in missing {
            match self.append(share, Some(idem), shares.len()) {
                Ok(part) => done.push(part),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        done.sort_by_key(|p| p.partition);
        self.state.idempotency.finish(name, idem, done.clone(), shares.len() as u32);
        result.map(|()| (count, done))
    }

    /// Splits events by key hash (deterministic, so a retry splits the same way) or sends the
    /// whole request to the next partition in turn.
    fn split<'b>(&self, events: Vec<&'b [u8]>) -> Vec<Share<'b>> {
        let partitions = self.topic.partitions().len() as u32;
        let Some(field) = self.key_field else {
            let partition = self.state.next_partition(self.topic.name(), partitions);
            let keys = vec![None; events.len()];
            return vec![Share { partition, events, keys }];
        };
        let mut shares: Vec<Share<'b>> = Vec::new();
        for event in events {
            let key = ingest::key_of(event, field);
            let partition = ingest::partition_for_key(key.as_deref().unwrap_or(b""), partitions);
            let at = match shares.iter().position(|s| s.partition == partition) {
                Some(i) => i,
                None => {
                    shares.push(Share { partition, events: Vec::new(), keys: Vec::new() });
                    shares.len() - 1
                }
            };
            shares[at].events.push(event);
            shares[at].keys.push(key);
        }
        shares.sort_by_key(|s| s.partition);
        shares
    }

    fn append(&self, share: &Share<'_>, idem: Option<&str>, parts: usize) -> ApiResult<PartResult> {
        let partition = self.topic.partition(PartitionId(share.partition))?;
        let (parts_text, count_text) = (parts.to_string(), share.events.len().to_string());
        let headers: Vec<(&str, &[u8])> = match idem {
            Some(k) => vec![(HEADER_KEY, k.as_bytes()), (HEADER_PARTS, parts_text.as_bytes()), (HEADER_COUNT, count_text.as_bytes())],
            None => Vec::new(),
        };
        let records: Vec<AppendRecord<'_>> = share
            .events
            .iter()
            .zip(&share.keys)
            .enumerate()
            .map(|(i, (value, key))| AppendRecord { key: key.as_deref(), headers: if i == 0 { &headers } else { &[] }, value })
            .collect();
        let appended = partition.append(&records)?;
        let bytes: usize = share.events.iter().map(|e| e.len()).sum();
        let name = self.topic.name();
        self.state.metrics.add("kappa_topic_records_in_total", &[("topic", name)], records.len() as u64);
        self.state.metrics.add("kappa_topic_bytes_in_total", &[("topic", name)], bytes as u64);
        Ok(PartResult { partition: share.partition, base_offset: appended.base_offset.0, count: appended.count })
    }
}

/// Where each selected partition starts, from the request's parameters.
fn start_offset(state: &AppState, topic: &Topic, p: &Partition, query: &Query) -> ApiResult<Offset> {
    if let Some(offset) = query.get("offset") {
        return match offset {
            "earliest" => Ok(p.start_offset()),
            "latest" => Ok(p.end_offset()),
            n => n.parse::<u64>().map(Offset).map_err(|_| {
                ApiError::bad_request("bad_parameter", format!("offset={n:?}: expected a number, earliest or latest"))
            }),
        };
    }
    if let Some(t) = query.get("from_time") {
        let ms = parse_time_ms(t).ok_or_else(|| {
            ApiError::bad_request("bad_parameter", format!("from_time={t:?}: expected RFC 3339 or epoch milliseconds"))
        })?;
        return Ok(p.offset_for_timestamp(ms)?);
    }
    if let Some(group) = query.get("group") {
        if let Some(o) = state.groups.committed(group, topic.name(), p.id().0) {
            return Ok(Offset(o.max(p.start_offset().0)));
        }
    }
    Ok(p.start_offset())
}

pub fn record_line(partition: u32, r: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"partition\":");
    out.extend_from_slice(partition.to_string().as_bytes());
    out.extend_from_slice(b",\"offset\":");
    out.extend_from_slice(r.offset.to_string().as_bytes());
    out.extend_from_slice(b",\"timestamp\":");
    out.extend_from_slice(r.timestamp_ms.to_string().as_bytes());
    out.extend_from_slice(b",\"key\":");
    match &r.key {
        Some(k) => out.extend_from_slice(serde_json::to_string(&String::from_utf8_lossy(k)).expect("strings serialize").as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"value\":");
    // Values were validated as JSON when produced; a processor's output is JSON too.
    out.extend_from_slice(&r.value);
    out.extend_from_slice(b"}\n");
}

pub async fn consume(state: Arc<AppState>, topic: &str, query: &Query) -> ApiResult<Response<Body>> {
    validate_name(topic)?;
    let topic = state.store.topic(topic)?;
    let limit = match query.parse_u64("limit")? {
        None => CONSUME_LIMIT_DEFAULT,
        Some(0) => return Err(ApiError::bad_request("bad_limit", "limit must be at least 1")),
        Some(n) if n as usize > state.limits.consume_limit_max => {
            return Err(ApiError::bad_request(
                "bad_limit",
                format!("limit={n} exceeds the maximum of {} records per request", state.limits.consume_limit_max),
            ))
        }
        Some(n) => n as usize,
    };
    let wait_ms = query.parse_u64("wait_ms")?.unwrap_or(0).min(WAIT_MS_MAX);
    let partitions: Vec<Arc<Partition>> = match query.parse_u64("partition")? {
        Some(p) => vec![topic.partition(PartitionId(p as u32))?.clone()],
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
            state.metrics.add("kappa_topic_bytes_out_total", &[("topic", topic.name())], body.len() as u64);
            return Ok(response::with_type(StatusCode::OK, "application/x-ndjson", body));
        }
        tokio::select! {
            _ = wait_any(listeners) => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = state.shutdown.cancelled() => {}
        }
        if state.shutdown.is_cancelled() {
            return Ok(response::with_type(StatusCode::OK, "application/x-ndjson", Bytes::new()));
        }
    }
}

fn read_lines(partitions: &[Arc<Partition>], positions: &[Offset], limit: usize) -> ApiResult<Vec<u8>> {
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
    use std::future::Future;
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
