//! Reading a request: query parameters and the body, under a byte limit.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error::{ApiError, ApiResult};
use crate::limits::{BODY_BUDGET_WAIT_MS, BODY_RATE_BYTES_PER_S_MIN, BODY_READ_GRACE_MS};

/// How bodies are read on this request: set per request by the router (a task-local, so the
/// handlers' `body_bytes(body, max)` calls need not carry it).
#[derive(Clone)]
pub struct BodyRules {
    /// Grace before the minimum rate applies (`--body-read-timeout-ms`).
    pub grace: Duration,
    /// The server-wide budget of buffered body bytes, in KiB permits.
    pub budget: Option<Arc<Semaphore>>,
}

impl Default for BodyRules {
    fn default() -> Self {
        BodyRules {
            grace: Duration::from_millis(BODY_READ_GRACE_MS),
            budget: None,
        }
    }
}

tokio::task_local! {
    pub static BODY_RULES: BodyRules;
}

/// Collects the body, refusing more than `max_bytes` with 413, a body slower than the minimum
/// rate with 408, and waiting for room in the in-flight budget (503 with Retry-After when none
/// frees up). The returned bytes hold their share of the budget until the last clone drops.
pub async fn body_bytes(body: Incoming, max_bytes: usize) -> ApiResult<Bytes> {
    let rules = BODY_RULES.try_with(BodyRules::clone).unwrap_or_default();
    read_body(body, max_bytes, &rules).await
}

/// The bytes of a body and the budget permits they hold.
struct Held {
    bytes: Vec<u8>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

async fn read_body(mut body: Incoming, max_bytes: usize, rules: &BodyRules) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::too_large(format!(
            "request body exceeds the limit of {max_bytes} bytes (--max-body-bytes)"
        ))
    };
    let announced = body.size_hint().exact();
    if announced.is_some_and(|n| n > max_bytes as u64) {
        return Err(too_large());
    }
    let started = Instant::now();
    let mut permit: Option<OwnedSemaphorePermit> = None;
    // A body of announced length reserves all of it up front (FIFO, so bodies waiting for
    // room cannot each hold a part and starve one another); a chunked one as it arrives.
    if let Some(n) = announced {
        reserve(rules, &mut permit, n as usize).await?;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(announced.unwrap_or(0) as usize);
    loop {
        let allowed_ms = buf.len() as u64 * 1_000 / BODY_RATE_BYTES_PER_S_MIN;
        let deadline = started + rules.grace + Duration::from_millis(allowed_ms);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                    "the request body arrived slower than {} ms plus {BODY_RATE_BYTES_PER_S_MIN} \
                         bytes/s (BODY_READ_GRACE_MS / BODY_RATE_BYTES_PER_S_MIN, \
                         --body-read-timeout-ms): {} bytes in {} ms",
                    rules.grace.as_millis(),
                    buf.len(),
                    started.elapsed().as_millis()
                ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::bad_request(
                    "bad_body",
                    format!("reading the request body: {e}"),
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max_bytes {
                return Err(too_large());
            }
            if announced.is_none() {
                reserve(rules, &mut permit, buf.len() + data.len()).await?;
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from_owner(Held {
        bytes: buf,
        _permit: permit,
    }))
}

/// Grows `permit` to cover `bytes` of the budget, waiting up to BODY_BUDGET_WAIT_MS.
async fn reserve(
    rules: &BodyRules,
    permit: &mut Option<OwnedSemaphorePermit>,
    bytes: usize,
) -> ApiResult<()> {
    let Some(budget) = &rules.budget else {
        return Ok(());
    };
    let need = bytes.div_ceil(1024) as u32;
    let held = permit.as_ref().map_or(0, |p| p.num_permits() as u32);
    if need <= held {
        return Ok(());
    }
    let wait = Duration::from_millis(BODY_BUDGET_WAIT_MS);
    match tokio::time::timeout(wait, budget.clone().acquire_many_owned(need - held)).await {
        Ok(Ok(more)) => {
            match permit {
                Some(p) => p.merge(more),
                None => *permit = Some(more),
            }
            Ok(())
        }
        _ => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "too many request bodies in flight (BODY_BYTES_IN_FLIGHT_MAX, \
                 --max-body-bytes-in-flight); waited {BODY_BUDGET_WAIT_MS} ms for room \
                 for {bytes} bytes: retry later"
            ),
        )),
    }
}

pub async fn body_json<T: serde::de::DeserializeOwned>(
    body: Incoming,
    max_bytes: usize,
) -> ApiResult<T> {
    let bytes = body_bytes(body, max_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|e| json_error(&bytes, &e))
}

/// A body that is not JSON is `bad_json`; valid JSON of the wrong shape (a missing field, a
/// string where a number goes) is `bad_request` naming the field — in JSON's words, not
/// serde's Rust type names (issue 15).
pub fn json_error(body: &[u8], e: &serde_json::Error) -> ApiError {
    let (line, column) = (e.line(), e.column());
    if !e.is_data() {
        return ApiError::bad_request(
            "bad_json",
            format!(
                "invalid JSON at line {line} column {column}: {}",
                plain(&e.to_string())
            ),
        );
    }
    let message = plain(&e.to_string());
    let message = match field_before(body, line, column) {
        Some(field) if !message.contains('`') => format!("field \"{field}\": {message}"),
        _ => message,
    };
    ApiError::bad_request("bad_request", format!("wrong request body: {message}"))
}

/// serde's message without its position suffix and with JSON type names for Rust's.
fn plain(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let mut out = message.to_string();
    for (rust, json) in [
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer"),
        ("expected u16", "expected a non-negative integer"),
        ("expected u8", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
    ] {
        out = out.replace(rust, json);
    }
    if let Some(i) = out.find("expected struct ") {
        out.replace_range(i.., "expected an object");
    }
    if let Some(i) = out.find("expected enum ") {
        out.replace_range(i.., "expected one of the documented values");
    }
    out
}

/// The name of the object key whose value ends at `line`:`column` (where serde stops).
fn field_before(body: &[u8], line: usize, column: usize) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let upto = text.get(..(start + column).min(text.len()))?;
    let colon = upto.rfind(':')?;
    let key_end = upto[..colon].trim_end().strip_suffix('"')?;
    let key_start = key_end.rfind('"')?;
    Some(key_end[key_start + 1..].to_string())
}

/// A JSON number that is a non-negative whole number, `5` or `5.0` alike (JSON Schema calls
/// both integers, and clients in languages without integers send the second).
pub fn whole_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            // `u64::MAX as f64` is 2^64, one past the largest u64: strictly below it.
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// `deserialize_with` for whole-number fields: `5` and `5.0` alike, in JSON's words on error.
pub fn whole<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    whole_u64(&v)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value {v}, expected a non-negative integer in range"
            ))
        })
}

/// `whole` for an optional field (null or absent is None).
pub fn whole_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    whole_u64(&v)
        .and_then(|n| T::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value {v}, expected a non-negative integer in range"
            ))
        })
}

/// Query parameters, percent-decoded.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Query(pairs)
    }
    /// The parameter names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// A parameter that must fit a u32 (a partition, a version): `partition=4294967296` is a
    /// 400, not partition 0 (issue 10).
    pub fn parse_u32(&self, name: &str) -> ApiResult<Option<u32>> {
        self.parse_u64(name)?
            .map(|v| {
                u32::try_from(v).map_err(|_| {
                    ApiError::bad_request(
                        "bad_parameter",
                        format!(
                            "query parameter {name}={v} is out of range (at most {})",
                            u32::MAX
                        ),
                    )
                })
            })
            .transpose()
    }
    pub fn parse_u64(&self, name: &str) -> ApiResult<Option<u64>> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(
                        "bad_parameter",
                        format!("query parameter {name}={v:?} is not a non-negative integer"),
                    )
                })
            })
            .transpose()
    }
}

/// Decodes `%XX` and `+`; invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Create {
        name: String,
        partitions: Option<u32>,
    }

    /// Issue 15: a type error in valid JSON was called "invalid JSON" with Rust type names.
    #[test]
    fn a_type_error_names_the_field_in_json_terms() {
        let body = br#"{"name": "x", "partitions": "a"}"#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        let api = json_error(body, &e);
        assert_eq!(api.code, "bad_request");
        assert!(!api.message.contains("invalid JSON"), "{}", api.message);
        assert!(!api.message.contains("u32"), "{}", api.message);
        assert!(api.message.contains("\"partitions\""), "{}", api.message);
        assert!(
            api.message.contains("non-negative integer"),
            "{}",
            api.message
        );

        let body = br#"{"partitions": 1}"#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        let api = json_error(body, &e);
        assert!(
            api.message.contains("missing field `name`"),
            "{}",
            api.message
        );

        let body = br#"[1]"#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        assert!(!json_error(body, &e).message.contains("Create"));

        let body = br#"{"name": "#;
        let e = serde_json::from_slice::<Create>(body).unwrap_err();
        assert_eq!(json_error(body, &e).code, "bad_json");
    }

    #[test]
    fn percent_decoding_handles_escapes_and_garbage() {
        assert_eq!(percent_decode("%2e%2e"), "..");
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
