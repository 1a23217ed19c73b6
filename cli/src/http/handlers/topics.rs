//! Topics: create, list, describe, delete.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, Topic, TopicConfig};
use serde::Deserialize;
use serde_json::json;

use super::blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::{body_json, whole, whole_opt, Query};
use crate::http::response::{self, Body};
use crate::limits::{TOPICS_PAGE_DEFAULT, TOPICS_PAGE_MAX};
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
    if processor::is_reserved_name(&body.name) {
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
    let topics_max = state.limits.topics_max;
    if state.store.topics().len() >= topics_max {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many",
            format!(
                "the server holds {topics_max} topics, its limit (--max-topics); delete one first"
            ),
        ));
    }
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
                   "bytes": s.bytes, "segments": s.segments, "failed": p.failed()})
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

/// `GET /v1/topics[?limit=N][&after=name]`: one page of topics in name order; `next` is the
/// `after` of the next page, null on the last (issue 10: the listing was unbounded).
pub fn list(state: &AppState, query: &Query) -> ApiResult<Response<Body>> {
    let limit = query
        .parse_u64("limit")?
        .unwrap_or(TOPICS_PAGE_DEFAULT as u64);
    if limit == 0 || limit > TOPICS_PAGE_MAX as u64 {
        return Err(ApiError::bad_request(
            "bad_parameter",
            format!("limit={limit} must be between 1 and {TOPICS_PAGE_MAX} (TOPICS_PAGE_MAX)"),
        ));
    }
    let after = query.get("after").unwrap_or("");
    let all = state.store.topics();
    let page: Vec<_> = all
        .iter()
        .filter(|t| t.name() > after)
        .take(limit as usize + 1)
        .collect();
    let more = page.len() > limit as usize;
    let page = &page[..page.len().min(limit as usize)];
    let next = match (more, page.last()) {
        (true, Some(t)) => json!(t.name()),
        _ => serde_json::Value::Null,
    };
    let topics: Vec<_> = page.iter().map(|t| describe_json(t)).collect();
    Ok(response::ok_json(json!({ "topics": topics, "next": next })))
}

pub fn describe(state: &AppState, name: &str) -> ApiResult<Response<Body>> {
    validate_name(name)?;
    let mut out = describe_json(&*state.store.topic(name)?);
    out["damaged_ranges"] = damaged_ranges(state, name);
    Ok(response::ok_json(out))
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
