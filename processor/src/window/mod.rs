//! Event-time windows: `[start, end)` in ms, aligned to the epoch. A window is complete when
//! `watermark >= end - 1 + allowed_lateness` (Flink's rule). `aligned` holds tumbling and hopping
//! windows, `session` holds session windows; both hand back complete windows in
//! (window start, group key) order.

pub mod aligned;
pub mod session;

use serde::{Deserialize, Serialize};

use crate::operator::aggregate::Acc;
use crate::value::Value;

/// The group key of a row: the values of its GROUP BY expressions (window excluded).
pub type Key = Vec<Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowSpec {
    Tumble {
        size_ms: i64,
    },
    Hop {
        slide_ms: i64,
        size_ms: i64,
    },
    Session {
        gap_ms: i64,
    },
    /// Flink's `CUMULATE(step, size)`: windows `[start, start + k·step)`, start aligned to size.
    Cumulate {
        step_ms: i64,
        size_ms: i64,
    },
}

/// True when the window ending at `end_ms` is complete at `watermark_ms`.
pub fn is_complete(end_ms: i64, allowed_lateness_ms: i64, watermark_ms: i64) -> bool {
    end_ms.saturating_sub(1).saturating_add(allowed_lateness_ms) <= watermark_ms
}

/// A window that completed, with its group and accumulators, ready to become an output row.
#[derive(Debug, Clone)]
pub struct Fired {
    pub start_ms: i64,
    pub end_ms: i64,
    pub key: Key,
    pub accs: Vec<Acc>,
}

/// Sorts windows that completed together into (window start, group key) order.
pub fn sort_fired(fired: &mut [Fired]) {
    fired.sort_by(|a, b| (a.start_ms, &a.key).cmp(&(b.start_ms, &b.key)));
}
