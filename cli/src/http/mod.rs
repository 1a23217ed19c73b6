//! The HTTP server: the accept loop, one hyper connection task per client, graceful shutdown.

pub mod error;
pub mod handlers;
pub mod json_io;
pub mod openapi;
pub mod request;
pub mod response;
pub mod router;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::limits::{CONNECTIONS_OVERFLOW_MAX, OVERFLOW_HEADER_TIMEOUT_MS, SHUTDOWN_DRAIN_TIMEOUT};
use crate::state::AppState;

/// Normal connection slots held per client address. Bounded: an entry exists only while its
/// address holds a slot, so there are at most `--max-connections` of them.
#[derive(Default, Clone)]
struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One slot of an address, given back when dropped.
struct IpSlot {
    owner: PerIp,
    ip: IpAddr,
}

impl PerIp {
    /// A slot for `ip`, or None if it already holds `max`.
    fn take(&self, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut held = self.0.lock().expect("per-ip lock is never poisoned");
        let n = held.entry(ip).or_insert(0);
        if *n >= max {
            if *n == 0 {
                held.remove(&ip);
            }
            return None;
        }
        *n += 1;
        Some(IpSlot {
            owner: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut held = self.owner.0.lock().expect("per-ip lock is never poisoned");
        if let Some(n) = held.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// Serves until the state's shutdown token is cancelled, then stops accepting and waits for
/// in-flight requests to finish.
pub async fn serve(state: Arc<AppState>, listener: TcpListener) {
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(state.limits.connections_max));
    let overflow = Arc::new(Semaphore::new(CONNECTIONS_OVERFLOW_MAX));
    let per_ip_slots = PerIp::default();
    loop {
        // Wait for a slot of either kind; a connection that comes when both are full is
        // accepted and closed at once (bounded: no fd is kept for it).
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            p = connections.clone().acquire_owned() => drop(p),
            p = overflow.clone().acquire_owned() => drop(p),
        }
        let (stream, peer) = tokio::select! {
            _ = state.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // The accept loop is the documented exception to bounded retries: it runs
                    // until shutdown, pausing briefly so an fd shortage does not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // One address holds at most `--max-connections-per-ip` normal slots; past it, its
        // connections take the overflow lane like everyone's past `--max-connections`.
        let per_ip = per_ip_slots.take(peer.ip(), state.limits.connections_per_ip_max);
        let normal = per_ip
            .is_some()
            .then(|| connections.clone().try_acquire_owned().ok())
            .flatten();
        let (permit, is_overflow) = match normal {
            Some(p) => (p, false),
            None => match overflow.clone().try_acquire_owned() {
                Ok(p) => (p, true),
                Err(_) => {
                    state
                        .metrics
                        .add("kappa_http_connections_refused_total", &[], 1);
                    continue; // both full: `stream` drops, the connection closes
                }
            },
        };
        if is_overflow {
            state
                .metrics
                .add("kappa_http_connections_overflow_total", &[], 1);
        }
        let _ = stream.set_nodelay(true);
        let timeout_ms = if is_overflow {
            OVERFLOW_HEADER_TIMEOUT_MS.min(state.limits.header_read_timeout_ms)
        } else {
            state.limits.header_read_timeout_ms
        };
        let state = state.clone();
        let service = service_fn(move |req| router::handle(state.clone(), req, peer, is_overflow));
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_millis(timeout_ms))
            .keep_alive(!is_overflow)
            .serve_connection(json_io::JsonErrorsIo::new(TokioIo::new(stream)), service);
        let conn = graceful.watch(conn);
        let per_ip = if is_overflow { None } else { per_ip };
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
            drop(per_ip);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "in-flight requests did not finish within {SHUTDOWN_DRAIN_TIMEOUT:?}; exiting anyway"
        );
    }
}
