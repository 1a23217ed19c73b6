//! Topics: create, list, describe, delete.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, Topic, TopicConfig};
use serde::Deserialize;
use serde_json::json;

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_json, whole, whole_opt};
use crate::http::response::{self, Body};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTopic {
    name: String,
    #[serde(default = "one", deserialize_with = "whole")]
    partitions: u32,
    #[serde(default, deserialize_with = "whole_opt")]
    retention_ms: Option<u64>,
    #[serde(default, deserialize_with = "whole_opt")]
    retention_bytes: Option<u64>,
    #[serde(default, deserialize_with = "whole_opt")]
    segment_bytes: Option<u64>,
}

fn one() -> u32 {
    1
}

pub async fn create(state: Arc<AppState>, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let body: CreateTopic = body_json(req.into_body(), 1 << 20).await?;
    validate_name(&body.name)?;
    if processor::definition::is_reserved_name(&body.name) {
        return Err(ApiError::bad_request(
            "invalid_name",
            format!(
                "invalid topic name {:?}: names ending in .late or .v<digits> are reserved for processors' own topics",
                body.name
            ),
        ));
    }
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
    Ok(response::ok_json(describe_json(&*state.store.topic(name)?)))
}

pub async fn delete(state: Arc<AppState>, name: &str) -> ApiResult<Response<Body>> {
    validate_name(name)?;
    if let Some((p, how)) = state.processors.user_of(name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "topic_in_use",
            format!("topic {name} is {how} by processor {p}; delete the processor first"),
        ));
    }
    state.appenders.forget(name);
    let name = name.to_string();
    let deleted = name.clone();
    blocking(move || Ok(state.store.delete_topic(&name)?)).await?;
    Ok(response::ok_json(json!({ "deleted": deleted })))
}
