//! Liveness, metrics, the OpenAPI document and the console's static page.

use hyper::{Response, StatusCode};

use crate::http::error::{ApiError, ApiResult};
use crate::http::response::{self, Body};
use std::collections::BTreeSet;

use crate::metrics::{Metrics, Sample};
use crate::state::AppState;

const CONSOLE_HTML: &str = include_str!("../../console/index.html");

pub fn healthz() -> Response<Body> {
    response::ok_json(serde_json::json!({"status": "ok"}))
}

pub fn metrics(state: &AppState) -> Response<Body> {
    let mut samples = vec![Sample::new(
        "kappa_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    )];
    samples.extend(crate::process_metrics::samples());
    let topics = state.store.topics();
    let names: BTreeSet<String> = topics.iter().map(|t| t.name().to_string()).collect();
    // A deleted topic's counters go with it (however it was deleted).
    state.metrics.retain_label("topic", &names);
    for topic in &topics {
        let (mut read_records, mut read_bytes) = (0u64, 0u64);
        for p in topic.partitions() {
            let s = p.stats();
            read_records += s.read_records;
            read_bytes += s.read_bytes;
            let part = p.id().0.to_string();
            let l = [("topic", topic.name()), ("partition", part.as_str())];
            samples.push(Sample::new(
                "kappa_partition_end_offset",
                &l,
                s.end_offset as f64,
            ));
            samples.push(Sample::new(
                "kappa_partition_start_offset",
                &l,
                s.start_offset as f64,
            ));
            samples.push(Sample::new("kappa_partition_bytes", &l, s.bytes as f64));
            // 1 while a failed flush makes the partition refuse appends (until a restart).
            let failed = f64::from(u8::from(p.failed().is_some()));
            samples.push(Sample::new("kappa_partition_failed", &l, failed));
        }
        let l = [("topic", topic.name())];
        samples.push(Sample::new(
            "kappa_topic_records_out_total",
            &l,
            read_records as f64,
        ));
        samples.push(Sample::new(
            "kappa_topic_bytes_out_total",
            &l,
            read_bytes as f64,
        ));
    }
    let mut damaged: std::collections::BTreeMap<(String, u32), u64> = Default::default();
    for d in state.idempotency.damage() {
        *damaged.entry((d.topic, d.partition)).or_default() += 1;
    }
    for ((topic, partition), n) in damaged {
        let part = partition.to_string();
        let l = [("topic", topic.as_str()), ("partition", part.as_str())];
        samples.push(Sample::new("kappa_partition_damaged_ranges", &l, n as f64));
    }
    samples.extend(group_samples(state));
    samples.extend(crate::http::handlers::processors::samples(state));
    let mut text = state.metrics.render(&samples);
    let flushes = state.store.flush_stats();
    Metrics::render_histogram(
        &mut text,
        "kappa_fsync_duration_seconds",
        &flushes.buckets,
        flushes.count,
        flushes.sum_s,
    );
    response::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        text,
    )
}

/// Committed offset and lag per group and partition, as kafka-exporter reports them.
fn group_samples(state: &AppState) -> Vec<Sample> {
    let mut out = Vec::new();
    for group in state.groups.names() {
        for c in state.groups.get(&group).unwrap_or_default() {
            let Ok(topic) = state.store.topic(&c.topic) else {
                continue; // the topic was deleted: its series go with it
            };
            let Some(p) = topic.partitions().get(c.partition as usize) else {
                continue;
            };
            let end = p.stats().end_offset;
            let part = c.partition.to_string();
            let l = [
                ("group", group.as_str()),
                ("topic", c.topic.as_str()),
                ("partition", part.as_str()),
            ];
            out.push(Sample::new("kappa_group_offset", &l, c.offset as f64));
            out.push(Sample::new(
                "kappa_group_lag",
                &l,
                end.saturating_sub(c.offset) as f64,
            ));
        }
    }
    out
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
