//! Request handlers, one module per resource.
pub mod events;
pub mod groups;
pub mod meta;
pub mod processors;
pub mod replay;
pub mod stream;
pub mod topics;

use super::error::{ApiError, ApiResult};

/// Runs blocking log work (appends wait for fsync; reads may fault pages in) off the runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}
