//! The connection's byte stream, with hyper's own error answers turned into kappa's JSON.
//!
//! When hyper cannot parse a request (bad request line, headers too large, URI too long) it
//! answers by itself, before any handler runs, with an empty body: `400`, `431` or `414` and
//! `content-length: 0`. Every other error answer of the server is JSON (DESIGN.md §5), so this
//! wrapper recognises such a head as it is written and writes a JSON error in its place. No
//! answer of kappa's own has a 4xx status and an empty body, so nothing else is touched.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};

/// Wraps the connection's I/O; see the module doc.
pub struct JsonErrorsIo<T> {
    inner: T,
    /// A replacement being written: its bytes, how many are out, and the length of the head
    /// it stands for (what hyper is told was written).
    rewriting: Option<(Vec<u8>, usize, usize)>,
}

impl<T> JsonErrorsIo<T> {
    pub fn new(inner: T) -> Self {
        JsonErrorsIo {
            inner,
            rewriting: None,
        }
    }
}

/// The JSON answer for an empty-bodied 4xx head written by hyper, or None for anything else.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    // Cheap checks first: this sees every write of the connection, bodies included.
    if buf.len() > 1024 || !buf.starts_with(b"HTTP/1.1 4") || !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(buf).ok()?;
    let head = head.strip_suffix("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let rest = status_line.strip_prefix("HTTP/1.1 4")?;
    if !head.contains("\r\ncontent-length: 0\r\n") && !head.ends_with("\r\ncontent-length: 0") {
        return None;
    }
    let status = format!("4{}", &rest[..2.min(rest.len())]);
    let (code, message) = match status.as_str() {
        "431" => (
            "headers_too_large",
            "the request headers are larger than the server accepts",
        ),
        "414" => (
            "uri_too_long",
            "the request URI is longer than the server accepts",
        ),
        _ => ("bad_request", "the request could not be parsed as HTTP/1.1"),
    };
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut out = String::new();
    for line in head.lines() {
        if line.starts_with("content-length:") {
            out.push_str(&format!("content-length: {}\r\n", body.len()));
            out.push_str("content-type: application/json\r\n");
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<T: Read + Unpin> Read for JsonErrorsIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for JsonErrorsIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.rewriting.is_none() {
            match replacement(buf) {
                Some(bytes) => self.rewriting = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        let this = &mut *self;
        let (bytes, done, stands_for) = this.rewriting.as_mut().expect("set above");
        while *done < bytes.len() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
        let stands_for = *stands_for;
        this.rewriting = None;
        Poll::Ready(Ok(stands_for))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    /// Vectored writes pass through, but for a head to replace (hyper writes its own error
    /// heads alone, as the first buffer): that goes through `poll_write`.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs.iter().find(|b| !b.is_empty());
        match first {
            Some(b) if self.rewriting.is_some() || replacement(b).is_some() => {
                self.poll_write(cx, b)
            }
            _ => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_empty_error_heads_become_json() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Sun, 29 Nov 2026 16:49:02 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(head).unwrap()).unwrap();
        let (h, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(h.starts_with("HTTP/1.1 431 "), "{h}");
        assert!(
            h.contains(&format!("content-length: {}", body.len())),
            "{h}"
        );
        assert!(h.contains("content-type: application/json"), "{h}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers_too_large");
    }

    #[test]
    fn other_answers_are_left_alone() {
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ok).is_none());
        let json = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n";
        assert!(replacement(json).is_none());
        assert!(replacement(b"{\"partial\": \"body\"}").is_none());
    }
}
