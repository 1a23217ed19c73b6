//! Liveness, metrics, the OpenAPI document and the console's static page.

use hyper::{Response, StatusCode};

use crate::http::error::{ApiError, ApiResult};
use crate::http::response::{self, Body};
use crate::metrics::Metrics;
use crate::state::AppState;

const CONSOLE_HTML: &str = include_str!("../../console/index.html");

pub fn healthz() -> Response<Body> {
    response::ok_json(serde_json::json!({"status": "ok"}))
}

pub fn metrics(state: &AppState) -> Response<Body> {
    let mut gauges = Vec::new();
    for topic in state.store.topics() {
        for p in topic.partitions() {
            let s = p.stats();
            let part = p.id().0.to_string();
            let l = Metrics::gauge_labels(&[("topic", topic.name()), ("partition", &part)]);
            gauges.push(("kappa_partition_end_offset", l.clone(), s.end_offset as f64));
            gauges.push((
                "kappa_partition_start_offset",
                l.clone(),
                s.start_offset as f64,
            ));
            gauges.push(("kappa_partition_bytes", l.clone(), s.bytes as f64));
            // 1 while a failed flush makes the partition refuse appends (until a restart).
            let failed = f64::from(u8::from(p.failed().is_some()));
            gauges.push(("kappa_partition_failed", l, failed));
        }
    }
    let mut damaged: std::collections::BTreeMap<(String, u32), u64> = Default::default();
    for d in state.idempotency.damage() {
        *damaged.entry((d.topic, d.partition)).or_default() += 1;
    }
    for ((topic, partition), n) in damaged {
        let part = partition.to_string();
        let l = Metrics::gauge_labels(&[("topic", &topic), ("partition", &part)]);
        gauges.push(("kappa_partition_damaged_ranges", l, n as f64));
    }
    gauges.sort_by(|a, b| a.0.cmp(b.0));
    gauges.extend(crate::http::handlers::processors::gauges(state));
    let mut text = state.metrics.render(&gauges);
    let flushes = state.store.flush_stats();
    Metrics::render_histogram(
        &mut text,
        "kappa_fsync_duration_seconds",
        &flushes.buckets,
        flushes.count,
        flushes.sum_s,
    );
    response::with_type(StatusCode::OK, "text/plain; version=0.0.4", text)
}

pub fn openapi() -> Response<Body> {
    response::ok_json(crate::http::openapi::document())
}

/// The console is one static page at `/`; it needs no token (its data requests carry one).
pub fn is_console(seg: &[&str]) -> bool {
    matches!(seg, [""] | ["index.html"])
}

pub fn console(seg: &[&str]) -> ApiResult<Response<Body>> {
    if !is_console(seg) {
        return Err(ApiError::not_found("no such console page"));
    }
    Ok(response::with_type(
        StatusCode::OK,
        "text/html; charset=utf-8",
        CONSOLE_HTML,
    ))
}
