//! What every request handler shares: the store, groups, idempotency table, metrics, limits and
//! the shutdown token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use log_store::LogStore;
use tokio_util::sync::CancellationToken;

use crate::groups::Groups;
use crate::keyindex::KeyIndex;
use crate::metrics::Metrics;
use crate::produce::appender::Appenders;
use crate::produce::idempotency::Idempotency;

/// Limits in force (flags may lower the ceilings in `limits.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub body_bytes_max: usize,
    pub event_bytes_max: usize,
    pub events_max: usize,
    pub consume_limit_max: usize,
    pub header_read_timeout_ms: u64,
    pub connections_max: usize,
    pub connections_per_ip_max: usize,
    pub body_read_grace_ms: u64,
    pub body_bytes_in_flight_max: usize,
    pub topics_max: usize,
}

pub struct AppState {
    pub store: Arc<LogStore>,
    pub processors: Arc<processor::Manager>,
    pub groups: Groups,
    pub idempotency: Idempotency,
    /// Where the keyed records are (noted before a keyed request's stamp is released).
    pub keys: Arc<KeyIndex>,
    pub metrics: Metrics,
    pub appenders: Appenders,
    pub limits: Limits,
    pub tokens: Vec<String>,
    pub shutdown: CancellationToken,
    /// Request body bytes buffered now, in KiB permits (`Limits::body_bytes_in_flight_max`).
    pub body_budget: Arc<tokio::sync::Semaphore>,
    round_robin: Mutex<HashMap<String, u32>>,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<LogStore>,
        processors: Arc<processor::Manager>,
        groups: Groups,
        idempotency: Idempotency,
        keys: Arc<KeyIndex>,
        limits: Limits,
        tokens: Vec<String>,
        shutdown: CancellationToken,
    ) -> AppState {
        AppState {
            store,
            processors,
            groups,
            idempotency,
            keys,
            metrics: Metrics::default(),
            appenders: Appenders::default(),
            body_budget: Arc::new(tokio::sync::Semaphore::new(
                limits.body_bytes_in_flight_max.div_ceil(1024),
            )),
            limits,
            tokens,
            shutdown,
            round_robin: Mutex::new(HashMap::new()),
        }
    }

    /// The next partition of `topic` in round-robin order.
    pub fn next_partition(&self, topic: &str, partitions: u32) -> u32 {
        let mut rr = self
            .round_robin
            .lock()
            .expect("round-robin lock is never poisoned");
        if !rr.contains_key(topic) && rr.len() >= 100_000 {
            rr.clear(); // bounded: forgetting positions only restarts the rotation
        }
        let next = rr.entry(topic.to_string()).or_insert(0);
        let p = *next % partitions;
        *next = next.wrapping_add(1);
        p
    }
}
