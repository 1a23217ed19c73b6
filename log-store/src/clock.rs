//! The process-wide append clock: `max(now, last issued)`, never decreasing, plus the set of
//! timestamps still in flight, from which the *safe time* is derived (DESIGN.md §3).

/// One per store. Issues append timestamps and answers the safe time.
#[derive(Debug, Default)]
pub struct Clock {}

impl Clock {
    /// Every record with a timestamp at or below this is published, in every partition.
    pub fn safe_time_ms(&self) -> u64 {
        todo!()
    }
}
