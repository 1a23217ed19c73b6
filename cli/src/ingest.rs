//! Parsing a produce body into events (slices of the body, no copies) and splitting them into
//! per-partition batches: by the murmur2 hash of a key field (Kafka's default partitioner, so
//! keys land on the same partition numbers as in Kafka), or whole to one partition.

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::http::error::{ApiError, ApiResult};

/// Marks a record whose value is not JSON (produced over Kafka, where values are bytes): the HTTP
/// API renders it as `value_b64` (DESIGN.md §8). Set at produce time so reads need not re-parse.
pub const HEADER_VALUE_BYTES: &str = "kappa-value-bytes";

/// Whether `value` is one JSON value (what HTTP can show as `value`).
pub fn is_json(value: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(value).is_ok()
}

/// How the body's events are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Ndjson,
    /// One JSON value or a JSON array of values; NDJSON if it turns out to hold several lines.
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct EventLimits {
    pub event_bytes_max: usize,
    pub events_max: usize,
}

/// Splits `body` into its events. Bad JSON is an error naming line and column; nothing of the
/// request is accepted then.
pub fn parse_events(body: &[u8], framing: Framing, limits: EventLimits) -> ApiResult<Vec<&[u8]>> {
    check_utf8(body)?;
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let events = match (framing, first.map(|i| body[i])) {
        (_, None) => {
            return Err(ApiError::bad_request(
                "empty_body",
                "the request body holds no events",
            ))
        }
        (Framing::Ndjson, _) => ndjson(body, limits)?,
        (Framing::Json, Some(b'[')) => array(body, limits)?,
        (Framing::Json, _) => match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => {
                check_size(trim(body), 0, limits)?;
                vec![trim(body)]
            }
            Err(e) if e.is_syntax() && e.to_string().starts_with("trailing characters") => {
                ndjson(body, limits)?
            }
            Err(e) => return Err(bad_json(&e, 0)),
        },
    };
    if events.len() > limits.events_max {
        return Err(ApiError::too_large(format!(
            "request holds {} events; the limit is {} per request (--max-events-per-request)",
            events.len(),
            limits.events_max
        )));
    }
    Ok(events)
}

/// JSON text is UTF-8; serde_json skips over the strings of values it ignores without checking
/// them, so invalid bytes inside an event were accepted and served raw (issue 10). One pass over
/// the whole body (SIMD in std) refuses them with the line and column of the first bad byte.
fn check_utf8(body: &[u8]) -> ApiResult<()> {
    let Err(e) = std::str::from_utf8(body) else {
        return Ok(());
    };
    let at = e.valid_up_to();
    let line_start = body[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = body[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&body[line_start..at])
        .chars()
        .count()
        + 1;
    Err(ApiError::bad_request(
        "bad_json",
        format!("invalid UTF-8 at line {line} column {column}; nothing was appended"),
    ))
}

fn ndjson(body: &[u8], limits: EventLimits) -> ApiResult<Vec<&[u8]>> {
    let mut events = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(line) {
            return Err(bad_json(&e, i));
        }
        check_size(line, events.len(), limits)?;
        events.push(line);
        if events.len() > limits.events_max {
            break; // reported by the caller
        }
    }
    Ok(events)
}

fn array(body: &[u8], limits: EventLimits) -> ApiResult<Vec<&[u8]>> {
    let raw: Vec<&RawValue> = serde_json::from_slice(body).map_err(|e| bad_json(&e, 0))?;
    raw.iter()
        .enumerate()
        .map(|(i, v)| {
            let bytes = v.get().as_bytes();
            check_size(bytes, i, limits)?;
            Ok(bytes)
        })
        .collect()
}

fn check_size(event: &[u8], index: usize, limits: EventLimits) -> ApiResult<()> {
    if event.len() > limits.event_bytes_max {
        return Err(ApiError::too_large(format!(
            "event {index} is {} bytes; the limit is {} bytes per event (--max-event-bytes)",
            event.len(),
            limits.event_bytes_max
        )));
    }
    Ok(())
}

fn bad_json(e: &serde_json::Error, line_index: usize) -> ApiError {
    ApiError::bad_request(
        "bad_json",
        format!(
            "invalid JSON at line {} column {}: {e}; nothing was appended",
            line_index + e.line(),
            e.column()
        ),
    )
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !first.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !last.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    s
}

/// The key of `event` from field `field` (dotted for nested objects): a string's text, or the
/// JSON text of any other value. `None` when the field is missing or null.
pub fn key_of(event: &[u8], field: &str) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(event).ok()?;
    let mut v = &value;
    for part in field.split('.') {
        v = v.get(part)?;
    }
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone().into_bytes()),
        other => Some(other.to_string().into_bytes()),
    }
}

/// Kafka's murmur2 (as in `org.apache.kafka.common.utils.Utils.murmur2`), so a key picks the
/// same partition number it would in Kafka: `(murmur2(key) & 0x7fffffff) % partitions`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: EventLimits = EventLimits {
        event_bytes_max: 1 << 20,
        events_max: 100_000,
    };

    #[test]
    fn single_array_and_ndjson_bodies_split_into_events() {
        assert_eq!(
            parse_events(br#" {"a":1} "#, Framing::Json, LIMITS).unwrap(),
            vec![&br#"{"a":1}"#[..]]
        );
        assert_eq!(
            parse_events(br#"[{"a":1}, 2 ,"x"]"#, Framing::Json, LIMITS).unwrap(),
            vec![&br#"{"a":1}"#[..], b"2", b"\"x\""]
        );
        let nd = b"{\"a\":1}\n\n{\"b\":2}\r\n";
        assert_eq!(parse_events(nd, Framing::Ndjson, LIMITS).unwrap().len(), 2);
        assert_eq!(
            parse_events(nd, Framing::Json, LIMITS).unwrap().len(),
            2,
            "NDJSON without its content type"
        );
    }

    /// Issue 10: invalid UTF-8 inside a string of an event was accepted and served raw.
    #[test]
    fn invalid_utf8_inside_an_event_is_refused_with_line_and_column() {
        let body = b"{\"a\":\"ok\"}\n{\"b\":\"\xc3\xa9\xff\"}\n";
        for framing in [Framing::Ndjson, Framing::Json] {
            let e = parse_events(body, framing, LIMITS).unwrap_err();
            assert_eq!(e.code, "bad_json");
            assert!(
                e.message.contains("UTF-8 at line 2 column 8"),
                "{}",
                e.message
            );
        }
        let e = parse_events(b"[\"\xfe\"]", Framing::Json, LIMITS).unwrap_err();
        assert!(e.message.contains("line 1 column 3"), "{}", e.message);
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let e = parse_events(b"{\"a\":1}\n{\"b\":}\n", Framing::Ndjson, LIMITS).unwrap_err();
        assert!(e.message.contains("line 2 column 6"), "{}", e.message);
        let e = parse_events(b"[1,\n 2,\n x]", Framing::Json, LIMITS).unwrap_err();
        assert!(e.message.contains("line 3 column 2"), "{}", e.message);
    }

    #[test]
    fn limits_give_413() {
        let small = EventLimits {
            event_bytes_max: 5,
            events_max: 2,
        };
        assert_eq!(
            parse_events(b"\"123456\"", Framing::Ndjson, small)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            parse_events(b"\"123456\"", Framing::Json, small)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            parse_events(b"[\"123456\"]", Framing::Json, small)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            parse_events(b"1\n2\n3\n", Framing::Ndjson, small)
                .unwrap_err()
                .status,
            413
        );
    }

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21") as i32, -973932308);
        assert_eq!(murmur2(b"foobar") as i32, -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
            -58897971
        );
        assert_eq!(murmur2(b"abc") as i32, 479470107);
    }

    #[test]
    fn key_field_may_be_nested() {
        assert_eq!(key_of(br#"{"u":{"id":"x"}}"#, "u.id"), Some(b"x".to_vec()));
        assert_eq!(key_of(br#"{"n":5}"#, "n"), Some(b"5".to_vec()));
        assert_eq!(key_of(br#"{"n":null}"#, "n"), None);
    }
}
