//! Session windows: `[first event, last event + gap)` per key; a new event's window merges
//! with every session it touches or overlaps (Flink's `TimeWindow.intersects`). Complete
//! sessions are found through an ordered timer set of (end, start, key).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::WINDOW_KEYS_MAX;
use crate::plan::aggregate::{merge_accs, new_accs, Acc, AggSpec};
use crate::window::{is_complete, Fired, Key};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    start: i64,
    end: i64,
    accs: Vec<Acc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionWindows {
    /// key -> its open sessions, disjoint and sorted by start.
    sessions: BTreeMap<Key, Vec<Session>>,
    timers: BTreeSet<(i64, i64, Key)>,
    groups: usize,
}

impl SessionWindows {
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Adds an event at `t`; false (late, nothing changed) when its merged session is complete.
    pub fn add(
        &mut self,
        key: &Key,
        t: i64,
        gap_ms: i64,
        (lateness_ms, watermark_ms): (i64, i64),
        specs: &[AggSpec],
        update: impl FnOnce(&mut [Acc]) -> Result<()>,
    ) -> Result<bool> {
        let (mut start, mut end) = (t, t.saturating_add(gap_ms));
        let list = self.sessions.get(key);
        let touching: Vec<usize> = list
            .map(|l| {
                l.iter()
                    .enumerate()
                    .filter(|(_, s)| s.start <= end && s.end >= start)
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(l) = list {
            for &i in &touching {
                start = start.min(l[i].start);
                end = end.max(l[i].end);
            }
        }
        if is_complete(end, lateness_ms, watermark_ms) {
            return Ok(false);
        }
        if touching.is_empty() && self.groups >= WINDOW_KEYS_MAX {
            return Err(Error::Limit {
                limit: "WINDOW_KEYS_MAX",
                max: WINDOW_KEYS_MAX as u64,
                what: "open session windows".into(),
            });
        }
        let list = self.sessions.entry(key.clone()).or_default();
        let mut accs = new_accs(specs);
        // Merge the touched sessions in start order, so merged sums add in event order of
        // their sessions; remove them (from the back, to keep indexes valid).
        let mut merged: Vec<Session> = Vec::with_capacity(touching.len());
        for &i in touching.iter().rev() {
            merged.push(list.remove(i));
        }
        merged.reverse();
        for s in merged {
            self.timers.remove(&(s.end, s.start, key.clone()));
            self.groups -= 1;
            merge_accs(&mut accs, s.accs)?;
        }
        update(&mut accs)?;
        let at = list.partition_point(|s| s.start < start);
        list.insert(at, Session { start, end, accs });
        self.timers.insert((end, start, key.clone()));
        self.groups += 1;
        Ok(true)
    }

    /// Removes and returns every session complete at `watermark_ms`, in (start, key) order.
    pub fn take_complete(&mut self, lateness_ms: i64, watermark_ms: i64, out: &mut Vec<Fired>) {
        let first = out.len();
        while let Some((end, start, _)) = self.timers.first() {
            if !is_complete(*end, lateness_ms, watermark_ms) {
                break;
            }
            let (end, start) = (*end, *start);
            let (_, _, key) = self.timers.pop_first().expect("first() was Some");
            let list = self
                .sessions
                .get_mut(&key)
                .expect("a timer always has its session");
            let i = list
                .iter()
                .position(|s| s.start == start)
                .expect("a timer always has its session");
            let s = list.remove(i);
            if list.is_empty() {
                self.sessions.remove(&key);
            }
            self.groups -= 1;
            out.push(Fired {
                start_ms: start,
                end_ms: end,
                key,
                accs: s.accs,
            });
        }
        crate::window::sort_fired(&mut out[first..]);
    }

    pub fn take_all(&mut self, out: &mut Vec<Fired>) {
        self.take_complete(0, i64::MAX, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::aggregate::AggKind;

    #[test]
    fn an_event_between_two_sessions_merges_all_three() {
        let specs = [AggSpec {
            kind: AggKind::CountStar,
            arg: None,
        }];
        let mut w = SessionWindows::default();
        let key = vec![crate::value::Value::Str("a".into())];
        let add = |w: &mut SessionWindows, t| {
            w.add(&key, t, 10, (0, i64::MIN), &specs, |a| {
                crate::plan::aggregate::update_accs(&specs, a, &[])
            })
            .unwrap()
        };
        assert!(add(&mut w, 0));
        assert!(add(&mut w, 30));
        assert_eq!(w.groups(), 2);
        assert!(add(&mut w, 15)); // [15, 25) touches neither; stays separate
        assert_eq!(w.groups(), 3);
        assert!(add(&mut w, 10)); // [10, 20) touches [0, 10) and overlaps [15, 25)
        assert!(add(&mut w, 25)); // touches [0, 25) and [30, 40)
        assert_eq!(w.groups(), 1);
        let mut fired = Vec::new();
        w.take_complete(0, 38, &mut fired);
        assert!(fired.is_empty(), "[0, 40) completes at watermark 39");
        w.take_complete(0, 39, &mut fired);
        assert_eq!(
            (
                fired[0].start_ms,
                fired[0].end_ms,
                fired[0].accs[0].result()
            ),
            (0, 40, crate::value::Value::Int(5))
        );
    }
}
