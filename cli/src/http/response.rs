//! Response bodies and builders: JSON, NDJSON, plain text and a bounded channel body for
//! streams (SSE).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

use super::error::ApiError;

pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn with_type(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(full(body))
        .expect("static headers are valid")
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    with_type(status, "application/json", value.to_string())
}

pub fn ok_json(value: serde_json::Value) -> Response<Body> {
    json(StatusCode::OK, &value)
}

/// An error's JSON response; a 503 (busy, overloaded) says when to retry.
pub fn error(e: &ApiError) -> Response<Body> {
    let mut resp = with_type(e.status, "application/json", e.body());
    if e.status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
    }
    resp
}

/// A body fed by a bounded channel: the producer waits when the client reads slowly.
pub struct ChannelBody {
    pub rx: mpsc::Receiver<Bytes>,
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

pub fn stream(content_type: &str, rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .body(BoxBody::new(ChannelBody { rx }))
        .expect("static headers are valid")
}
