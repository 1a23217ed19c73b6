//! Replay, promote and diff of processors (the Kappa move, DESIGN.md §3 and §5).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use processor::task::Start;
use processor::ReplayRequest;
use serde::Deserialize;
use serde_json::{json, Value};

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_json, Query};
use crate::http::response::{self, Body};
use crate::limits::SQL_BODY_BYTES_MAX;
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Replay {
    sql: Option<String>,
    from: Option<Value>,
    to: Option<Value>,
}

/// A time: RFC 3339 text or a JSON number of epoch ms.
pub(super) fn time_ms(v: &Value, what: &str) -> ApiResult<i64> {
    let bad = || {
        ApiError::bad_request(
            "bad_time",
            format!("{what} {v}: expected an RFC 3339 string or epoch milliseconds"),
        )
    };
    let ms = match v {
        Value::Number(_) => crate::http::request::whole_u64(v).ok_or_else(bad)?,
        Value::String(s) => crate::time::parse_time_ms(s).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    i64::try_from(ms).map_err(|_| bad())
}

/// `from`: "earliest" (default), "latest", `{"offset": N}` (a log position in every input
/// partition), or an event time: the run starts at the earliest offset and skips events before
/// it. Returns the start position and the event-time lower bound.
pub(super) fn start(from: Option<&Value>) -> ApiResult<(Start, Option<i64>)> {
    Ok(match from {
        None => (Start::Earliest, None),
        Some(Value::String(s)) if s == "earliest" => (Start::Earliest, None),
        Some(Value::String(s)) if s == "latest" => (Start::Latest, None),
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("offset") => {
            match crate::http::request::whole_u64(&o["offset"]) {
                Some(n) => (Start::Offset(n), None),
                None => {
                    return Err(ApiError::bad_request(
                        "bad_from",
                        "from.offset must be a non-negative integer",
                    ))
                }
            }
        }
        Some(v) => (Start::Earliest, Some(time_ms(v, "from")?)),
    })
}

/// Event-time bounds `from`/`to`, checked: `to` must be after `from`.
pub(super) fn bounds(
    from: Option<&Value>,
    to: Option<&Value>,
) -> ApiResult<(Start, Option<i64>, Option<i64>)> {
    let (start, from_ms) = start(from)?;
    let to_ms = to.map(|t| time_ms(t, "to")).transpose()?;
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if t <= f {
            return Err(ApiError::bad_request(
                "bad_time",
                "to must be after from (event time, [from, to))",
            ));
        }
    }
    Ok((start, from_ms, to_ms))
}

pub async fn replay(
    state: Arc<AppState>,
    name: &str,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    let body: Replay = body_json(req.into_body(), SQL_BODY_BYTES_MAX).await?;
    let (start, from_ms, end_ms) = bounds(body.from.as_ref(), body.to.as_ref())?;
    let request = ReplayRequest {
        sql: body.sql,
        start,
        from_ms,
        end_ms,
    };
    let name = name.to_string();
    let v = blocking(move || Ok(state.processors.replay(&name, request)?)).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &json!({"version": v.version, "output": v.output, "late_topic": v.late_topic, "status": v.status}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Promote {
    #[serde(deserialize_with = "crate::http::request::whole")]
    version: u32,
}

pub async fn promote(
    state: Arc<AppState>,
    name: &str,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    let body: Promote = body_json(req.into_body(), 1 << 16).await?;
    let name = name.to_string();
    let status = blocking(move || Ok(state.processors.promote(&name, body.version)?)).await?;
    Ok(response::ok_json(
        serde_json::to_value(status).expect("status serializes"),
    ))
}

pub async fn diff(state: Arc<AppState>, name: &str, query: &Query) -> ApiResult<Response<Body>> {
    let version = query
        .parse_u32("version")?
        .ok_or_else(|| ApiError::bad_request("bad_parameter", "version=N is required"))?;
    let name = name.to_string();
    let d = blocking(move || Ok(state.processors.diff(&name, version)?)).await?;
    Ok(response::ok_json(d))
}

/// `DELETE /v1/processors/{p}?version=N`: delete one old version.
pub async fn delete_version(
    state: Arc<AppState>,
    name: &str,
    version: u32,
) -> ApiResult<Response<Body>> {
    let name = name.to_string();
    let status = blocking(move || Ok(state.processors.delete_version(&name, version)?)).await?;
    Ok(response::ok_json(
        serde_json::to_value(status).expect("status serializes"),
    ))
}
