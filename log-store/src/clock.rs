//! The process-wide append clock: `max(now, last issued)`, never decreasing, plus the set of
//! timestamps still in flight, from which the *safe time* is derived (DESIGN.md §3).
//!
//! Invariant: every timestamp issued after a call to `safe_time_ms` returned `s` is `> s`, and
//! every record with a timestamp `<= s` is already published. Both follow from one rule: a batch's
//! timestamp is registered as in flight in the same critical section that issues it, and leaves
//! the in-flight set only after the batch is published.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// One per store. Issues append timestamps and answers the safe time.
#[derive(Debug, Default)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    last_issued_ms: u64,
    /// Timestamp -> number of batches with it that are written but not yet published. Bounded by
    /// the number of concurrent appenders (each has at most one batch in flight).
    in_flight: BTreeMap<u64, u32>,
}

fn wall_clock_ms() -> u64 {
    // A clock before 1970 reads as 0; `max(now, last issued)` keeps us monotonic anyway.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Clock {
    /// A clock that will never issue a timestamp below `newest_stored_ms`.
    pub fn starting_at(newest_stored_ms: u64) -> Clock {
        Clock {
            state: Mutex::new(ClockState {
                last_issued_ms: newest_stored_ms,
                in_flight: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        // A panic while holding this lock leaves only plain integers behind; keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises the clock to at least `ts` (used on open with each partition's newest timestamp).
    pub(crate) fn observe(&self, ts: u64) {
        let mut s = self.lock();
        s.last_issued_ms = s.last_issued_ms.max(ts);
    }

    /// Issues a timestamp for one batch and registers it as in flight. The caller must
    /// [`release`](Self::release) it once the batch is published or abandoned.
    pub(crate) fn issue(&self) -> u64 {
        let mut s = self.lock();
        let ts = wall_clock_ms().max(s.last_issued_ms);
        s.last_issued_ms = ts;
        *s.in_flight.entry(ts).or_insert(0) += 1;
        ts
    }

    /// Registers one more batch in flight at `ts`, which must be at or above a timestamp that is
    /// already in flight (so the safe time is below it already and cannot jump past it).
    pub(crate) fn hold(&self, ts: u64) {
        let mut s = self.lock();
        assert!(
            s.in_flight.first_key_value().is_some_and(|(&o, _)| o <= ts),
            "held a timestamp below every one in flight"
        );
        *s.in_flight.entry(ts).or_insert(0) += 1;
    }

    /// Reads the clock once for a whole produce request (DESIGN.md §2: one produce request has
    /// one append time). The reading stays in flight, so the safe time stays below it, until
    /// the returned `Stamp` is dropped: drop it only after every share of the request is
    /// published (or abandoned).
    pub fn stamp(self: &Arc<Self>) -> Stamp {
        Stamp {
            ts: self.issue(),
            clock: Arc::clone(self),
        }
    }

    /// The batch with timestamp `ts` is published (or was abandoned).
    pub(crate) fn release(&self, ts: u64) {
        let mut s = self.lock();
        let count = s
            .in_flight
            .get_mut(&ts)
            .expect("released a timestamp that was not in flight");
        *count -= 1;
        if *count == 0 {
            s.in_flight.remove(&ts);
        }
    }

    /// The clock's reading: `max(now, last issued)`. Taking it raises `last issued`, so no later
    /// append gets a smaller timestamp even if the wall clock steps back.
    pub fn now_ms(&self) -> u64 {
        let mut s = self.lock();
        let ts = wall_clock_ms().max(s.last_issued_ms);
        s.last_issued_ms = ts;
        ts
    }

    /// Every record with a timestamp at or below this is published, in every partition: the
    /// oldest in-flight timestamp minus one, or the clock's reading minus one when none is.
    pub fn safe_time_ms(&self) -> u64 {
        let mut s = self.lock();
        if let Some((&oldest, _)) = s.in_flight.first_key_value() {
            return oldest.saturating_sub(1);
        }
        let ts = wall_clock_ms().max(s.last_issued_ms);
        s.last_issued_ms = ts;
        ts.saturating_sub(1)
    }
}

/// One produce request's append time, in flight until dropped (see [`Clock::stamp`]).
#[derive(Debug)]
pub struct Stamp {
    ts: u64,
    clock: Arc<Clock>,
}

impl Stamp {
    pub fn timestamp_ms(&self) -> u64 {
        self.ts
    }
}

impl Drop for Stamp {
    fn drop(&mut self) {
        self.clock.release(self.ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_timestamps_never_decrease_and_start_at_the_newest_stored() {
        let future = wall_clock_ms() + 60_000;
        let clock = Clock::starting_at(future);
        let a = clock.issue();
        let b = clock.issue();
        assert!(a >= future && b >= a);
        clock.release(a);
        clock.release(b);
    }

    #[test]
    fn safe_time_stays_below_in_flight_batches_and_advances_when_idle() {
        let clock = Clock::default();
        let ts = clock.issue();
        assert_eq!(clock.safe_time_ms(), ts - 1);
        let later = clock.issue();
        assert_eq!(clock.safe_time_ms(), ts - 1);
        clock.release(ts);
        assert_eq!(clock.safe_time_ms(), later - 1);
        clock.release(later);
        let safe = clock.safe_time_ms();
        assert!(safe >= later - 1);
        assert!(
            clock.issue() > safe,
            "a later append lands above the safe time"
        );
    }

    #[test]
    fn a_stamp_holds_the_safe_time_below_it_until_dropped() {
        let clock = Arc::new(Clock::default());
        let stamp = clock.stamp();
        let ts = stamp.timestamp_ms();
        clock.hold(ts);
        assert_eq!(clock.safe_time_ms(), ts - 1);
        clock.release(ts);
        assert_eq!(
            clock.safe_time_ms(),
            ts - 1,
            "the stamp itself still holds it"
        );
        drop(stamp);
        assert!(clock.safe_time_ms() >= ts - 1);
        assert!(clock.issue() >= ts);
    }
}
