//! Event-time windows: `[start, end)` in ms, aligned to the epoch. A window is complete when
//! `watermark >= end - 1 + allowed_lateness` (Flink's rule). `aligned` holds tumbling and hopping
//! windows, `session` holds session windows; both hand back complete windows in
//! (window start, group key) order. `Windows` is the one place a windowed aggregate assigns a
//! record to its windows and fires them: SQL's `SqlOperator` and the Rust builder both use it.

mod aligned;
mod session;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::aggregate::{new_accs, Acc, AggSpec};
use crate::plan::WindowSpec;
use crate::value::Value;

/// The group key of a row: the values of its GROUP BY expressions (window excluded).
pub type Key = Vec<Value>;

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

/// The open windows of one windowed aggregate, whatever its `WindowSpec`: assigning a record to
/// its windows and firing the complete ones is defined here once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Windows {
    aligned: aligned::AlignedWindows,
    sessions: session::SessionWindows,
}

impl Windows {
    /// Open (window, key) groups.
    pub fn groups(&self) -> usize {
        self.aligned.groups() + self.sessions.groups()
    }

    /// Adds a record of group `key` at event time `t` to each of its windows under `spec` that
    /// is still open at `(allowed lateness, watermark)`, calling `update` on each group's
    /// accumulators (new groups start from `specs`). False (late, nothing changed) when every
    /// window of the record is complete.
    pub fn add(
        &mut self,
        spec: WindowSpec,
        key: &Key,
        t: i64,
        lateness_watermark: (i64, i64),
        specs: &[AggSpec],
        update: impl FnMut(&mut [Acc]) -> Result<()>,
    ) -> Result<bool> {
        let new = || new_accs(specs);
        match spec {
            WindowSpec::Tumble { size_ms } => {
                self.aligned
                    .add(key, t, (size_ms, size_ms), lateness_watermark, new, update)
            }
            WindowSpec::Hop { slide_ms, size_ms } => {
                self.aligned
                    .add(key, t, (slide_ms, size_ms), lateness_watermark, new, update)
            }
            WindowSpec::Session { gap_ms } => {
                self.sessions
                    .add(key, t, gap_ms, lateness_watermark, specs, update)
            }
            WindowSpec::Cumulate { step_ms, size_ms } => {
                let windows = aligned::cumulate_windows_of(t, step_ms, size_ms);
                self.aligned
                    .add_to(key, windows, lateness_watermark, new, update)
            }
        }
    }

    /// Removes and returns every window complete at `watermark_ms`, in the order they complete
    /// (window end, then window start and group key).
    pub fn take_complete(&mut self, lateness_ms: i64, watermark_ms: i64) -> Vec<Fired> {
        let mut fired = Vec::new();
        self.aligned
            .take_complete(lateness_ms, watermark_ms, &mut fired);
        self.sessions
            .take_complete(lateness_ms, watermark_ms, &mut fired);
        fired
    }

    /// Removes and returns every window (the end of a bounded run), in (window start, group
    /// key) order.
    pub fn take_all(&mut self) -> Vec<Fired> {
        let mut fired = Vec::new();
        self.aligned.take_all(&mut fired);
        self.sessions.take_all(&mut fired);
        sort_fired(&mut fired);
        fired
    }
}
