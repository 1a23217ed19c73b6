//! Topics: create, list, describe, delete.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, Topic, TopicConfig};
use serde::Deserialize;
use serde_json::json;

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::body_json;
use crate::http::response::{self, Body};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTopic {
    name: String,
    #[serde(default = "one")]
    partitions: u32,
    retention_ms: Option<u64>,
    retention_bytes: Option<u64>,
    segment_bytes: Option<u64>,
}

fn one() -> u32 {
    1
}

pub async fn create(state: Arc<AppState>, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let body: CreateTopic = body_json(req.into_body(), 1 << 20).await?;
    validate_name(&body.name)?;
    let config = TopicConfig {
        partitions: body.partitions,
        segment_bytes: body
            .segment_bytes
            .unwrap_or(TopicConfig::default().segment_bytes),
        retention_ms: body.retention_ms,
        retention_bytes: body.retention_bytes,
    };
    let topic = blocking(move || Ok(state.store.create_topic(&body.name, config)?)).await?;
    Ok(response::json(StatusCode::CREATED, &describe_json(&topic)))
}

pub fn describe_json(topic: &Topic) -> serde_json::Value {
    let c = topic.config();
    let partitions: Vec<_> = topic
        .partitions()
        .iter()
        .map(|p| {
            let s = p.stats();
            json!({"partition": p.id().0, "start_offset": s.start_offset, "end_offset": s.end_offset,
                   "bytes": s.bytes, "segments": s.segments})
        })
        .collect();
    json!({"name": topic.name(), "partition_count": c.partitions, "segment_bytes": c.segment_bytes,
           "retention_ms": c.retention_ms, "retention_bytes": c.retention_bytes, "partitions": partitions})
}

/// The damaged ranges of `topic` found at startup (issue 10): the server serves the rest; a
/// read of one of these fails naming the file.
fn damaged_ranges(state: &AppState, topic: &str) -> serde_json::Value {
    let ranges: Vec<_> = state
        .idempotency
        .damage()
        .into_iter()
        .filter(|d| d.topic == topic)
        .map(|d| {
            json!({"partition": d.partition, "from_offset": d.from_offset,
                   "to_offset": d.to_offset, "error": d.error})
        })
        .collect();
    serde_json::Value::Array(ranges)
}

pub fn list(state: &AppState) -> ApiResult<Response<Body>> {
    let topics: Vec<_> = state
        .store
        .topics()
        .iter()
        .map(|t| describe_json(t))
        .collect();
    Ok(response::ok_json(json!({ "topics": topics })))
}

pub fn describe(state: &AppState, name: &str) -> ApiResult<Response<Body>> {
    validate_name(name)?;
    let mut out = describe_json(&*state.store.topic(name)?);
    out["damaged_ranges"] = damaged_ranges(state, name);
    Ok(response::ok_json(out))
}

pub async fn delete(state: Arc<AppState>, name: &str) -> ApiResult<Response<Body>> {
    validate_name(name)?;
    if let Some(p) = crate::http::handlers::processors::reader_of(&state, name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "topic_in_use",
            format!("topic {name} is read by processor {p}; delete the processor first"),
        ));
    }
    state.appenders.forget(name);
    let name = name.to_string();
    let deleted = name.clone();
    blocking(move || Ok(state.store.delete_topic(&name)?)).await?;
    Ok(response::ok_json(json!({ "deleted": deleted })))
}
