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
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "bad_json",
            format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
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

    #[test]
    fn percent_decoding_handles_escapes_and_garbage() {
        assert_eq!(percent_decode("%2e%2e"), "..");
        assert_eq!(percent_decode("a+b%20c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
