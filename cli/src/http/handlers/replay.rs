//! Replay, promote and diff of processors (the Kappa move, DESIGN.md §3 and §5).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::http::error::{ApiError, ApiResult};
use crate::http::request::Query;
use crate::http::response::Body;
use crate::state::AppState;

fn not_yet() -> ApiError {
    ApiError::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", "replay and promote are not available yet")
}

pub async fn replay(state: Arc<AppState>, name: &str, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let _ = (state, name, req);
    Err(not_yet())
}

pub async fn promote(state: Arc<AppState>, name: &str, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let _ = (state, name, req);
    Err(not_yet())
}

pub async fn diff(state: Arc<AppState>, name: &str, query: &Query) -> ApiResult<Response<Body>> {
    let _ = (state, name, query);
    Err(not_yet())
}
