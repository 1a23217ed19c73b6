//! Consumer groups: commit offsets, list groups, describe one with lag.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use log_store::{validate_name, PartitionId};
use serde_json::json;

use crate::groups::{CommitError, Committed};
use crate::http::error::{ApiError, ApiResult};
use crate::http::request::body_json;
use crate::http::response::{self, Body};
use crate::state::AppState;

pub async fn commit(
    state: Arc<AppState>,
    group: &str,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    validate_name(group)?;
    let c: Committed = body_json(req.into_body(), 1 << 16).await?;
    let topic = state.store.topic(&c.topic)?;
    let partition = topic.partition(PartitionId(c.partition))?;
    let end = partition.end_offset().0;
    if c.offset > end {
        return Err(ApiError::bad_request(
            "offset_out_of_range",
            format!(
                "offset {} is past the end ({end}) of topic {} partition {}",
                c.offset, c.topic, c.partition
            ),
        ));
    }
    let (group, reply) = (
        group.to_string(),
        json!({"group": group, "topic": c.topic, "partition": c.partition, "offset": c.offset}),
    );
    tokio::task::spawn_blocking(move || state.groups.commit(&group, c))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| match e {
            CommitError::TooMany(m) => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", m),
            CommitError::Io(e) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "io_error",
                format!("{e:#}"),
            ),
        })?;
    Ok(response::ok_json(reply))
}

/// `DELETE /v1/groups/{g}`: forget a group's committed offsets.
pub async fn delete(state: Arc<AppState>, group: &str) -> ApiResult<Response<Body>> {
    validate_name(group)?;
    let name = group.to_string();
    let deleted = tokio::task::spawn_blocking(move || state.groups.delete(&name))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "io_error",
                format!("{e:#}"),
            )
        })?;
    if !deleted {
        return Err(ApiError::not_found(format!(
            "unknown consumer group {group:?}"
        )));
    }
    Ok(response::ok_json(json!({ "deleted": group })))
}

pub fn list(state: &AppState) -> Response<Body> {
    response::ok_json(json!({ "groups": state.groups.names() }))
}

pub fn describe(state: &AppState, group: &str) -> ApiResult<Response<Body>> {
    validate_name(group)?;
    let offsets = state
        .groups
        .get(group)
        .ok_or_else(|| ApiError::not_found(format!("unknown consumer group {group:?}")))?;
    let mut total_lag = 0u64;
    let rows: Vec<_> = offsets
        .iter()
        .map(|c| {
            let end = state
                .store
                .topic(&c.topic)
                .ok()
                .and_then(|t| t.partition(PartitionId(c.partition)).ok().map(|p| p.end_offset().0));
            let lag = end.map(|e| e.saturating_sub(c.offset));
            total_lag += lag.unwrap_or(0);
            json!({"topic": c.topic, "partition": c.partition, "offset": c.offset, "end_offset": end, "lag": lag})
        })
        .collect();
    Ok(response::ok_json(
        json!({"group": group, "offsets": rows, "lag": total_lag}),
    ))
}
