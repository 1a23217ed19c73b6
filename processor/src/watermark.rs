//! Watermarks per input partition, as Flink's Kafka source keeps them (DESIGN.md §3).
//!
//! Each input partition has its own watermark: the largest event time read from it minus the
//! table's delay. The processor's watermark is the minimum over the *active* partitions and
//! never goes back. Idleness is decided in log time, so a live run and any replay agree: when
//! the merge reads a record appended at log time `T`, a partition is active if it is the one
//! being read, if its last record read was appended at or after `T - idle_timeout`, or if its
//! next record was appended at `T` (one produce request's shares are one moment of log time).
//! An active partition that has no watermark yet holds the processor's where it is.
//!
//! Invariant: `current()` never decreases (asserted).

use serde::{Deserialize, Serialize};

/// What the runtime knows of one input partition, kept in checkpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMark {
    /// The largest event time read from this partition.
    pub max_event_time_ms: Option<i64>,
    /// The append time of the last record read from this partition.
    pub last_read_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Watermarks {
    /// Per input partition: its table's delay (a join's two tables may differ).
    delays_ms: Vec<i64>,
    /// Per input partition: 0 disables idleness, the partition always counts (Flink's
    /// `idle-timeout` of 0).
    idle_timeouts_ms: Vec<u64>,
    parts: Vec<PartitionMark>,
    /// The processor's watermark; `i64::MIN` before the first one.
    current: i64,
}

impl Watermarks {
    pub fn new(inputs: usize, delay_ms: i64, idle_timeout_ms: u64) -> Watermarks {
        Watermarks {
            delays_ms: vec![delay_ms; inputs],
            idle_timeouts_ms: vec![idle_timeout_ms; inputs],
            parts: vec![PartitionMark::default(); inputs],
            current: i64::MIN,
        }
    }

    /// Input partition `i` belongs to a table with another delay and idle timeout.
    pub fn set_table(&mut self, i: usize, delay_ms: i64, idle_timeout_ms: u64) {
        self.delays_ms[i] = delay_ms;
        self.idle_timeouts_ms[i] = idle_timeout_ms;
    }

    /// Restores what a checkpoint saved; `parts` must have one entry per input.
    pub fn restore(&mut self, parts: &[PartitionMark], current: Option<i64>) {
        assert_eq!(
            parts.len(),
            self.parts.len(),
            "one mark per input partition"
        );
        self.parts.copy_from_slice(parts);
        self.current = current.unwrap_or(i64::MIN);
    }

    /// The processor's watermark (`i64::MIN` before the first).
    pub fn current(&self) -> i64 {
        self.current
    }

    /// The processor's watermark, or None before the first.
    pub fn get(&self) -> Option<i64> {
        (self.current != i64::MIN).then_some(self.current)
    }

    pub fn parts(&self) -> &[PartitionMark] {
        &self.parts
    }

    /// The watermark of input partition `i`, or None before its first event time.
    pub fn partition(&self, i: usize) -> Option<i64> {
        self.parts[i]
            .max_event_time_ms
            .map(|t| t.saturating_sub(self.delays_ms[i]))
    }

    /// Input `i`'s record appended at `log_time_ms` was read (its event time, None when it had
    /// none); `next_log_time(j)` is the append time of input `j`'s next buffered record, if one
    /// is known. Returns the processor's watermark after the record.
    pub fn observe(
        &mut self,
        i: usize,
        log_time_ms: u64,
        event_time_ms: Option<i64>,
        next_log_time: impl Fn(usize) -> Option<u64>,
    ) -> i64 {
        let p = &mut self.parts[i];
        p.last_read_ms = Some(log_time_ms);
        if let Some(t) = event_time_ms {
            p.max_event_time_ms = Some(p.max_event_time_ms.map_or(t, |m| m.max(t)));
        }
        let mut candidate = i64::MAX;
        for (j, p) in self.parts.iter().enumerate() {
            let idle_timeout_ms = self.idle_timeouts_ms[j];
            let idle_before = log_time_ms.saturating_sub(idle_timeout_ms);
            let active = j == i
                || idle_timeout_ms == 0
                || p.last_read_ms.is_some_and(|t| t >= idle_before)
                || next_log_time(j) == Some(log_time_ms);
            if !active {
                continue;
            }
            match p.max_event_time_ms {
                Some(t) => candidate = candidate.min(t.saturating_sub(self.delays_ms[j])),
                // An active partition without a watermark yet holds the processor's.
                None => return self.current,
            }
        }
        let next = self.current.max(candidate);
        assert!(next >= self.current, "the watermark never goes back");
        self.current = next;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_active_partition_sets_the_watermark() {
        let mut w = Watermarks::new(2, 5, 10_000);
        // Both partitions have data at log time 100: partition 1 holds until read.
        assert_eq!(w.observe(0, 100, Some(1_000), |_| Some(100)), i64::MIN);
        assert_eq!(w.observe(1, 100, Some(400), |_| None), 395);
        assert_eq!(w.observe(1, 101, Some(2_000), |_| None), 995);
        assert_eq!(w.partition(1), Some(1_995));
    }

    #[test]
    fn a_partition_silent_for_the_idle_timeout_stops_holding_it_back_and_counts_when_it_wakes() {
        let mut w = Watermarks::new(2, 0, 1_000);
        w.observe(0, 100, Some(10), |_| Some(100));
        w.observe(1, 100, Some(20), |_| None);
        assert_eq!(w.current(), 10);
        // Partition 0 stays silent; within the timeout it still holds the watermark at 10.
        assert_eq!(w.observe(1, 1_100, Some(50), |_| None), 10);
        // Past the timeout it is idle: partition 1 alone moves the watermark.
        assert_eq!(w.observe(1, 1_101, Some(60), |_| None), 60);
        // It wakes with an older event time: it counts again, and the watermark holds.
        assert_eq!(w.observe(0, 1_200, Some(30), |_| None), 60);
        assert_eq!(w.observe(1, 1_201, Some(90), |_| None), 60);
        assert_eq!(w.observe(0, 1_202, Some(80), |_| None), 80);
    }

    #[test]
    fn a_partition_with_no_record_yet_is_idle_unless_its_first_record_is_at_this_log_time() {
        let mut w = Watermarks::new(2, 0, 1_000);
        assert_eq!(w.observe(0, 100, Some(10), |_| None), 10);
        assert_eq!(w.observe(0, 200, Some(20), |_| Some(200)), 10);
    }

    #[test]
    fn an_idle_timeout_of_zero_means_every_partition_always_counts() {
        let mut w = Watermarks::new(2, 0, 0);
        assert_eq!(w.observe(0, 100, Some(10), |_| None), i64::MIN);
    }
}
