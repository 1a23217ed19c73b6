//! Routing: method and path segments to a handler, with auth, a span and metrics per request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use tracing::Instrument;

use super::error::{ApiError, ApiResult};
use super::handlers::{events, groups, meta, processors, stream, topics};
use super::request::{percent_decode, BodyRules, Query, BODY_RULES};
use super::response::{self, Body};
use crate::state::AppState;

/// Serves one request. `overflow` is set on connections accepted past `--max-connections`:
/// they get /healthz and a 503 with Retry-After for anything else, their bodies never read.
pub async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
    peer: SocketAddr,
    overflow: bool,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let request_id = next_request_id();
    let span = tracing::info_span!("request", %method, %path, request_id, %peer);
    let (route, result) = if overflow {
        overloaded(&req)
    } else {
        let rules = BodyRules {
            grace: Duration::from_millis(state.limits.body_read_grace_ms),
            budget: Some(state.body_budget.clone()),
        };
        BODY_RULES
            .scope(rules, dispatch(&state, req))
            .instrument(span.clone())
            .await
    };
    let resp = result.unwrap_or_else(|e| {
        span.in_scope(|| tracing::debug!(status = %e.status, code = e.code, message = %e.message, "request failed"));
        response::error(&e)
    });
    let mut resp = resp;
    if resp.status() == hyper::StatusCode::METHOD_NOT_ALLOWED {
        // RFC 9110: a 405 names the methods the path does take.
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if let Some(allow) = allowed_methods(&segments) {
            resp.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static(allow),
            );
        }
    }
    let status = resp.status().as_u16().to_string();
    state.metrics.add(
        "kappa_http_requests_total",
        &[
            ("route", route),
            ("method", method.as_str()),
            ("status", &status),
        ],
        1,
    );
    let elapsed = started.elapsed();
    state.metrics.observe(
        "kappa_http_request_duration_seconds",
        &[("route", route), ("method", method.as_str())],
        elapsed,
    );
    if route == "/v1/topics/{t}/events" && resp.status().is_success() {
        let family = if method == Method::POST {
            "kappa_produce_duration_seconds"
        } else {
            "kappa_consume_duration_seconds"
        };
        state.metrics.observe(family, &[], elapsed);
    }
    Ok(resp)
}

/// The answer on an overflow connection: liveness, or "come back later".
fn overloaded(req: &Request<Incoming>) -> (&'static str, ApiResult<Response<Body>>) {
    if req.method() == Method::GET && req.uri().path() == "/healthz" {
        return ("/healthz", Ok(meta::healthz()));
    }
    let e = ApiError::new(
        hyper::StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "every connection slot is taken (--max-connections); retry later",
    );
    ("overloaded", Err(e))
}

fn next_request_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn authorized(state: &AppState, req: &Request<Incoming>) -> bool {
    if state.tokens.is_empty() {
        return true;
    }
    let Some(value) = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(given) = value.strip_prefix("Bearer ") else {
        return false;
    };
    let given = given.trim().as_bytes();
    // Every token is compared, each in constant time: no early exit tells how much matched.
    state
        .tokens
        .iter()
        .fold(false, |ok, t| ok | constant_time_eq(t.as_bytes(), given))
}

/// Compares without an early exit on the first differing byte, so response timing does not
/// tell an attacker how much of a guessed token is right (issue 10). The length is not secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Routes a request; returns the route's template (a metrics label) and the response.
async fn dispatch(
    state: &Arc<AppState>,
    req: Request<Incoming>,
) -> (&'static str, ApiResult<Response<Body>>) {
    let segments: Vec<String> = req
        .uri()
        .path()
        .split('/')
        .skip(1)
        .map(percent_decode)
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = req.method().clone();
    let query = Query::parse(req.uri().query());
    let public = matches!(seg.as_slice(), ["healthz"]) || meta::is_console(&seg);
    if !public && !authorized(state, &req) {
        let e = ApiError::new(
            hyper::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (Authorization: Bearer <token>)",
        );
        return ("unauthorized", Err(e));
    }
    if let Err(e) = known_parameters(&m, &seg, &query) {
        return ("bad_parameter", Err(e));
    }
    let s = state.clone();
    match (m, seg.as_slice()) {
        (Method::GET, ["healthz"]) => ("/healthz", Ok(meta::healthz())),
        (Method::GET, ["metrics"]) => ("/metrics", Ok(meta::metrics(&s))),
        (Method::GET, ["openapi.json"]) => ("/openapi.json", Ok(meta::openapi())),
        (Method::GET, seg) if meta::is_console(seg) => ("/", meta::console(seg)),
        (Method::POST, ["v1", "topics"]) => ("/v1/topics", topics::create(s, req).await),
        (Method::GET, ["v1", "topics"]) => ("/v1/topics", topics::list(&s, &query)),
        (Method::GET, ["v1", "topics", t]) => ("/v1/topics/{t}", topics::describe(&s, t)),
        (Method::DELETE, ["v1", "topics", t]) => {
            ("/v1/topics/{t}", topics::delete(s.clone(), t).await)
        }
        (Method::POST, ["v1", "topics", t, "events"]) => (
            "/v1/topics/{t}/events",
            events::produce(s.clone(), t, &query, req).await,
        ),
        (Method::GET, ["v1", "topics", t, "events"]) => (
            "/v1/topics/{t}/events",
            events::consume(s.clone(), t, &query).await,
        ),
        (Method::GET, ["v1", "topics", t, "stream"]) => (
            "/v1/topics/{t}/stream",
            stream::sse(s.clone(), t, &query, &req),
        ),
        (Method::GET, ["v1", "groups"]) => ("/v1/groups", Ok(groups::list(&s))),
        (Method::GET, ["v1", "groups", g]) => ("/v1/groups/{g}", groups::describe(&s, g)),
        (Method::DELETE, ["v1", "groups", g]) => {
            ("/v1/groups/{g}", groups::delete(s.clone(), g).await)
        }
        (Method::POST, ["v1", "groups", g, "offsets"]) => (
            "/v1/groups/{g}/offsets",
            groups::commit(s.clone(), g, req).await,
        ),
        (m, ["v1", "processors", rest @ ..]) => processors::route(s, m, rest, &query, req).await,
        (_, seg) if known_path(seg) => (
            "method_not_allowed",
            Err(ApiError::new(
                hyper::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this path",
            )),
        ),
        _ => (
            "no_route",
            Err(ApiError::new(
                hyper::StatusCode::NOT_FOUND,
                "no_route",
                format!("no route for {}", req.uri().path()),
            )),
        ),
    }
}

/// The query parameters an operation takes (as /openapi.json lists them). Any other is a 400:
/// a typo such as `?limt=10` is answered, not silently ignored.
fn known_parameters(m: &Method, seg: &[&str], query: &Query) -> ApiResult<()> {
    let allowed: &[&str] = match (m, seg) {
        (&Method::GET, ["v1", "topics", _, "events"]) => &[
            "partition",
            "offset",
            "from_time",
            "limit",
            "wait_ms",
            "group",
        ],
        (&Method::POST, ["v1", "topics", _, "events"]) => &["key"],
        (&Method::GET, ["v1", "topics", _, "stream"]) => &["offset", "partition"],
        (&Method::GET, ["v1", "processors", _, "results"]) => {
            &["key", "window_start", "window", "version", "limit"]
        }
        (&Method::GET, ["v1", "processors", _, "diff"]) => &["version"],
        (&Method::DELETE, ["v1", "processors", _]) => &["version"],
        (&Method::GET, ["v1", "topics"]) => &["limit", "after"],
        (&Method::GET | &Method::POST, ["v1", "topics" | "processors"])
        | (&Method::GET | &Method::DELETE, ["v1", "topics" | "processors", _])
        | (&Method::GET, ["v1", "groups"])
        | (&Method::GET | &Method::DELETE, ["v1", "groups", _])
        | (&Method::POST, ["v1", "groups", _, "offsets"])
        | (&Method::POST, ["v1", "processors", _, "replay" | "promote"])
        | (&Method::GET, ["healthz" | "metrics" | "openapi.json"]) => &[],
        // Not an operation (the console's page, a 404 or a 405): nothing to check.
        _ => return Ok(()),
    };
    match query.names().find(|n| !allowed.contains(n)) {
        None => Ok(()),
        Some(unknown) if allowed.is_empty() => Err(ApiError::bad_request(
            "bad_parameter",
            format!("unknown query parameter {unknown:?}: this operation takes none"),
        )),
        Some(unknown) => Err(ApiError::bad_request(
            "bad_parameter",
            format!(
                "unknown query parameter {unknown:?}: this operation takes {}",
                allowed.join(", ")
            ),
        )),
    }
}

/// The methods a known path takes (the `Allow` header of a 405), None for unknown paths.
fn allowed_methods(seg: &[&str]) -> Option<&'static str> {
    Some(match seg {
        ["healthz"] | ["metrics"] | ["openapi.json"] => "GET",
        ["v1", "topics"] => "GET, POST",
        ["v1", "topics", _] => "GET, DELETE",
        ["v1", "topics", _, "events"] => "GET, POST",
        ["v1", "topics", _, "stream"] => "GET",
        ["v1", "groups"] => "GET",
        ["v1", "groups", _] => "GET, DELETE",
        ["v1", "groups", _, "offsets"] => "POST",
        ["v1", "processors"] => "GET, POST",
        ["v1", "processors", _] => "GET, DELETE",
        ["v1", "processors", _, "results" | "diff"] => "GET",
        ["v1", "processors", _, "replay" | "promote"] => "POST",
        _ => return None,
    })
}

fn known_path(seg: &[&str]) -> bool {
    matches!(
        seg,
        ["healthz"]
            | ["metrics"]
            | ["openapi.json"]
            | ["v1", "topics"]
            | ["v1", "topics", _]
            | ["v1", "topics", _, "events" | "stream"]
            | ["v1", "groups"]
            | ["v1", "groups", _]
            | ["v1", "groups", _, "offsets"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_path_has_an_allow_list() {
        for path in [
            "healthz",
            "metrics",
            "openapi.json",
            "v1/topics",
            "v1/topics/t",
            "v1/topics/t/events",
            "v1/topics/t/stream",
            "v1/groups",
            "v1/groups/g",
            "v1/groups/g/offsets",
        ] {
            let seg: Vec<&str> = path.split('/').collect();
            assert!(known_path(&seg), "{path}");
            assert!(allowed_methods(&seg).is_some(), "{path}");
        }
        assert_eq!(
            allowed_methods(&["v1", "processors", "p", "promote"]),
            Some("POST")
        );
        assert_eq!(allowed_methods(&["nope"]), None);
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
