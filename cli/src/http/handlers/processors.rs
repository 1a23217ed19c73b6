//! Processors over HTTP (wired to `processor::Manager`).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use crate::http::error::{ApiError, ApiResult};
use crate::http::request::Query;
use crate::http::response::Body;
use crate::state::AppState;

pub async fn route(
    _state: Arc<AppState>,
    _method: Method,
    _rest: &[&str],
    _query: &Query,
    _req: Request<Incoming>,
) -> (&'static str, ApiResult<Response<Body>>) {
    ("/v1/processors", Err(ApiError::not_found("processors are not wired yet")))
}

pub fn reader_of(_state: &AppState, _topic: &str) -> Option<String> {
    None
}

pub fn gauges(_state: &AppState) -> Vec<(&'static str, String, f64)> {
    Vec::new()
}
