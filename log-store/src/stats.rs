//! Flush latency, counted in fixed buckets with atomics: what the server exports as its fsync
//! latency histogram. Recording is lock-free and allocation-free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket upper bounds in seconds (a Prometheus-style `le` ladder from 50 µs to 5 s).
pub const FLUSH_BUCKETS_S: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

#[derive(Debug, Default)]
pub struct FlushStats {
    buckets: [AtomicU64; FLUSH_BUCKETS_S.len()],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

/// A copy of the counters: `buckets[i]` counts flushes that took at most `FLUSH_BUCKETS_S[i]`
/// (cumulative, as Prometheus wants).
#[derive(Debug, Clone, PartialEq)]
pub struct FlushSnapshot {
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_s: f64,
}

impl FlushStats {
    pub(crate) fn record(&self, took: Duration) {
        let s = took.as_secs_f64();
        if let Some(i) = FLUSH_BUCKETS_S.iter().position(|b| s <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            took.as_nanos().min(u64::MAX as u128) as u64,
            Ordering::Relaxed,
        );
    }

    pub fn snapshot(&self) -> FlushSnapshot {
        let mut running = 0;
        let buckets = FLUSH_BUCKETS_S
            .iter()
            .zip(&self.buckets)
            .map(|(b, n)| {
                running += n.load(Ordering::Relaxed);
                (*b, running)
            })
            .collect();
        FlushSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_s: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let s = FlushStats::default();
        s.record(Duration::from_micros(80));
        s.record(Duration::from_millis(3));
        s.record(Duration::from_secs(9));
        let snap = s.snapshot();
        assert_eq!(snap.count, 3);
        assert_eq!(snap.buckets[0], (0.00005, 0));
        assert_eq!(snap.buckets[1], (0.0001, 1));
        assert_eq!(snap.buckets[6], (0.005, 2));
        assert_eq!(snap.buckets.last().unwrap().1, 2, "9 s is only in +Inf");
    }
}
