//! Parsing a produce body into events: slices of the body, no copies, each checked to be one
//! JSON value within the limits.

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::error::ProduceError;

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
pub fn parse_events(
    body: &[u8],
    framing: Framing,
    limits: EventLimits,
) -> Result<Vec<&[u8]>, ProduceError> {
    check_utf8(body)?;
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let events = match (framing, first.map(|i| body[i])) {
        (_, None) => return Err(ProduceError::EmptyBody),
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
        return Err(ProduceError::TooManyEvents {
            events: events.len(),
            limit: limits.events_max,
        });
    }
    Ok(events)
}

/// JSON text is UTF-8; serde_json skips over the strings of values it ignores without checking
/// them, so invalid bytes inside an event were accepted and served raw (issue 10). One pass over
/// the whole body (SIMD in std) refuses them with the line and column of the first bad byte.
fn check_utf8(body: &[u8]) -> Result<(), ProduceError> {
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
    Err(ProduceError::BadUtf8 { line, column })
}

fn ndjson(body: &[u8], limits: EventLimits) -> Result<Vec<&[u8]>, ProduceError> {
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

fn array(body: &[u8], limits: EventLimits) -> Result<Vec<&[u8]>, ProduceError> {
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

fn check_size(event: &[u8], index: usize, limits: EventLimits) -> Result<(), ProduceError> {
    if event.len() > limits.event_bytes_max {
        return Err(ProduceError::EventTooLarge {
            index,
            bytes: event.len(),
            limit: limits.event_bytes_max,
        });
    }
    Ok(())
}

fn bad_json(e: &serde_json::Error, line_index: usize) -> ProduceError {
    ProduceError::BadJson {
        line: line_index + e.line(),
        column: e.column(),
        reason: e.to_string(),
    }
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
            assert!(
                matches!(e, ProduceError::BadUtf8 { line: 2, column: 8 }),
                "{e}"
            );
            assert!(e.to_string().contains("UTF-8 at line 2 column 8"), "{e}");
        }
        let e = parse_events(b"[\"\xfe\"]", Framing::Json, LIMITS).unwrap_err();
        assert!(e.to_string().contains("line 1 column 3"), "{e}");
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let e = parse_events(b"{\"a\":1}\n{\"b\":}\n", Framing::Ndjson, LIMITS).unwrap_err();
        assert!(e.to_string().contains("line 2 column 6"), "{e}");
        let e = parse_events(b"[1,\n 2,\n x]", Framing::Json, LIMITS).unwrap_err();
        assert!(e.to_string().contains("line 3 column 2"), "{e}");
    }

    #[test]
    fn limits_are_named() {
        let small = EventLimits {
            event_bytes_max: 5,
            events_max: 2,
        };
        let too_large = |body: &[u8], framing| {
            matches!(
                parse_events(body, framing, small).unwrap_err(),
                ProduceError::EventTooLarge {
                    index: 0,
                    bytes: 8,
                    limit: 5
                }
            )
        };
        assert!(too_large(b"\"123456\"", Framing::Ndjson));
        assert!(too_large(b"\"123456\"", Framing::Json));
        assert!(too_large(b"[\"123456\"]", Framing::Json));
        assert!(matches!(
            parse_events(b"1\n2\n3\n", Framing::Ndjson, small).unwrap_err(),
            ProduceError::TooManyEvents {
                events: 3,
                limit: 2
            }
        ));
    }
}
