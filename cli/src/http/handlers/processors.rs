//! Processors over HTTP: create, list, describe, delete, results; replay, promote and diff.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_json, Query};
use crate::http::response::{self, Body};
use crate::limits::SQL_BODY_BYTES_MAX;
use crate::metrics::Sample;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    sql: String,
    /// Event-time bounds: with `to`, a bounded batch run (DESIGN.md §3).
    from: Option<serde_json::Value>,
    to: Option<serde_json::Value>,
}

pub async fn route(
    state: Arc<AppState>,
    method: Method,
    rest: &[&str],
    query: &Query,
    req: Request<Incoming>,
) -> (&'static str, ApiResult<Response<Body>>) {
    match (method, rest) {
        (Method::POST, []) => ("/v1/processors", create(state, req).await),
        (Method::GET, []) => ("/v1/processors", Ok(list(&state))),
        (Method::GET, [p]) => ("/v1/processors/{p}", describe(&state, p)),
        (Method::DELETE, [p]) => match query.parse_u32("version") {
            Ok(Some(v)) => (
                "/v1/processors/{p}",
                super::replay::delete_version(state.clone(), p, v).await,
            ),
            Ok(None) => ("/v1/processors/{p}", delete(state.clone(), p).await),
            Err(e) => ("/v1/processors/{p}", Err(e)),
        },
        (Method::GET, [p, "results"]) => ("/v1/processors/{p}/results", results(&state, p, query)),
        (Method::POST, [p, "replay"]) => (
            "/v1/processors/{p}/replay",
            super::replay::replay(state.clone(), p, req).await,
        ),
        (Method::POST, [p, "promote"]) => (
            "/v1/processors/{p}/promote",
            super::replay::promote(state.clone(), p, req).await,
        ),
        (Method::GET, [p, "diff"]) => (
            "/v1/processors/{p}/diff",
            super::replay::diff(state.clone(), p, query).await,
        ),
        (_, [] | [_] | [_, "results" | "replay" | "promote" | "diff"]) => (
            "method_not_allowed",
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this path",
            )),
        ),
        _ => (
            "no_route",
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                "no such processor route",
            )),
        ),
    }
}

async fn create(state: Arc<AppState>, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let body: Create = body_json(req.into_body(), SQL_BODY_BYTES_MAX).await?;
    let (start, from_ms, end_ms) = super::replay::bounds(body.from.as_ref(), body.to.as_ref())?;
    let opts = processor::CreateOptions {
        // Without an explicit `from`, the SQL's own 'scan.startup.mode' decides.
        start: body.from.is_some().then_some(start),
        from_ms,
        end_ms,
    };
    let status =
        blocking(move || Ok(state.processors.create_with(&body.name, &body.sql, opts)?)).await?;
    Ok(response::json(
        StatusCode::CREATED,
        &serde_json::to_value(status).expect("status serializes"),
    ))
}

fn list(state: &AppState) -> Response<Body> {
    response::ok_json(json!({ "processors": state.processors.list() }))
}

fn describe(state: &AppState, name: &str) -> ApiResult<Response<Body>> {
    Ok(response::ok_json(
        serde_json::to_value(state.processors.status(name)?).expect("status serializes"),
    ))
}

async fn delete(state: Arc<AppState>, name: &str) -> ApiResult<Response<Body>> {
    let (n, deleted) = (name.to_string(), name.to_string());
    blocking(move || Ok(state.processors.delete(&n)?)).await?;
    Ok(response::ok_json(json!({ "deleted": deleted })))
}

fn results(state: &AppState, name: &str, query: &Query) -> ApiResult<Response<Body>> {
    let window_start_ms = match query.get("window_start").or(query.get("window")) {
        None => None,
        Some(t) => Some(crate::time::parse_time_ms(t).ok_or_else(|| {
            ApiError::bad_request(
                "bad_parameter",
                format!("window_start={t:?}: expected RFC 3339 or epoch milliseconds"),
            )
        })? as i64),
    };
    let filter = processor::ResultsFilter {
        key: query.get("key").map(str::to_string),
        window_start_ms,
        limit: query.parse_u64("limit")?.map(|l| l as usize),
    };
    let version = match query.parse_u64("version")? {
        None => None,
        Some(v) => Some(u32::try_from(v).map_err(|_| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_version",
                format!("processor {name} has no version {v}"),
            )
        })?),
    };
    let rows = state.processors.results(name, version, &filter)?;
    // Serialized from the rows' own text, so their columns keep SELECT order.
    #[derive(serde::Serialize)]
    struct Results<'a> {
        processor: &'a str,
        results: Vec<processor::operator::ResultRow>,
    }
    let body = serde_json::to_vec(&Results {
        processor: name,
        results: rows,
    })
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(response::with_type(
        StatusCode::OK,
        "application/json",
        body,
    ))
}

/// Per processor version: counters (they never go back: each version has its own series, so a
/// promote starts none from zero), lag and watermarks overall and per input partition.
pub fn samples(state: &AppState) -> Vec<Sample> {
    let mut out = Vec::new();
    for s in state.processors.list() {
        for v in &s.versions {
            let version = v.version.to_string();
            let l = [
                ("processor", s.name.as_str()),
                ("version", version.as_str()),
            ];
            out.push(Sample::new(
                "kappa_processor_records_in_total",
                &l,
                v.records_in as f64,
            ));
            out.push(Sample::new(
                "kappa_processor_records_out_total",
                &l,
                v.records_out as f64,
            ));
            out.push(Sample::new(
                "kappa_processor_late_records_total",
                &l,
                v.late_records as f64,
            ));
            out.push(Sample::new(
                "kappa_processor_invalid_records_total",
                &l,
                v.invalid_records as f64,
            ));
            out.push(Sample::new("kappa_processor_lag", &l, v.lag as f64));
            if let Some(ms) = v.watermark.as_deref().and_then(crate::time::parse_time_ms) {
                out.push(Sample::new(
                    "kappa_processor_watermark_seconds",
                    &l,
                    ms as f64 / 1000.0,
                ));
            }
            if v.current {
                out.push(Sample::new(
                    "kappa_processor_state_bytes",
                    &l,
                    s.state_bytes as f64,
                ));
            }
            let status = serde_json::to_value(v.status)
                .ok()
                .and_then(|x| x.as_str().map(str::to_string))
                .unwrap_or_default();
            let mut up = l.to_vec();
            up.push(("status", status.as_str()));
            out.push(Sample::new("kappa_processor_up", &up, 1.0));
            for i in &v.inputs {
                let part = i.partition.to_string();
                let il = [
                    ("processor", s.name.as_str()),
                    ("version", version.as_str()),
                    ("topic", i.topic.as_str()),
                    ("partition", part.as_str()),
                ];
                out.push(Sample::new(
                    "kappa_processor_input_lag",
                    &il,
                    i.end_offset.saturating_sub(i.next_offset) as f64,
                ));
                if let Some(ms) = i.watermark.as_deref().and_then(crate::time::parse_time_ms) {
                    out.push(Sample::new(
                        "kappa_processor_input_watermark_seconds",
                        &il,
                        ms as f64 / 1000.0,
                    ));
                }
            }
        }
    }
    out
}
