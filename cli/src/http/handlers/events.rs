//! Producing and consuming events.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, Offset, Partition, PartitionId, Record, Topic};
use serde_json::json;

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_bytes, Query};
use crate::http::response::{self, Body};
use crate::limits::{
    CONSUME_BYTES_MAX, CONSUME_LIMIT_DEFAULT, IDEMPOTENCY_KEY_BYTES_MAX, WAIT_MS_MAX,
};
use crate::produce::{self, Framing};
use crate::state::AppState;
use crate::time::parse_time_ms;

/// Decodes the request's headers and parameters and hands it to the produce noun.
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
    let request = produce::Request {
        body,
        framing,
        key_field,
        idempotency_key,
    };
    let parts = produce::produce(&state, &topic, request).await?;
    let count: u64 = parts.iter().map(|p| u64::from(p.count)).sum();
    let parts: Vec<_> = parts
        .iter()
        .map(|p| json!({"partition": p.partition, "base_offset": p.base_offset, "count": p.count}))
        .collect();
    Ok(response::ok_json(
        json!({ "count": count, "partitions": parts }),
    ))
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
    // a value marked as not JSON (produced over Kafka) as `value_b64`, an empty value (a
    // tombstone) as `"value": null`.
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
    if r.value.is_empty() {
        // An empty stored value is Kafka's null (kappa's log stores a null value as an empty
        // one; no JSON value is empty): a processor's tombstone, or a null produced over Kafka.
        out.extend_from_slice(b",\"value\":null}\n");
        return;
    }
    if r.headers
        .iter()
        .any(|(n, _)| n == produce::HEADER_VALUE_BYTES)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: Option<&'static [u8]>, value: &'static [u8]) -> serde_json::Value {
        let r = Record {
            offset: 3,
            timestamp_ms: 7,
            key: key.map(Bytes::from_static),
            headers: Vec::new(),
            value: Bytes::from_static(value),
        };
        let mut out = Vec::new();
        record_line(0, &r, &mut out);
        serde_json::from_slice(&out).expect("a JSON line")
    }

    #[test]
    fn a_tombstone_is_a_keyed_line_with_a_null_value() {
        let l = line(Some(b"books"), b"");
        assert_eq!(l["key"], "books");
        assert!(l["value"].is_null() && l.get("value").is_some(), "{l}");
        assert!(l.get("value_b64").is_none());
        assert_eq!(line(Some(b"books"), br#"{"n":1}"#)["value"]["n"], 1);
    }
}
