//! OVER aggregations in event time, as Flink's `RowTime*BoundedPrecedingFunction`s run them: a
//! row waits until the watermark passes its event time, then rows are taken in (event time,
//! partition key, arrival) order; its aggregates cover the frame ending at it — the `n`
//! preceding rows of its partition (ROWS) or the rows of its partition with event times in
//! `[t - range, t]` (RANGE, where rows with equal times are peers and see each other). One
//! output row per input row. A row whose event time is at or below the watermark when it
//! arrives is late (Flink drops it; kappa sends it to the late topic).
//!
//! State stays bounded as in Flink: waiting rows are only those above the watermark, and a
//! partition's history only what its frame can still reach, each under a named ceiling.
//!
//! Lateness is Flink's for OVER: a row is late when its partition has already processed a row
//! at or after its event time (`lastTriggeringTs`); otherwise it waits, and is processed at the
//! next watermark that reaches it.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{OVER_FRAME_ROWS_MAX, OVER_KEYS_MAX, OVER_PENDING_ROWS_MAX};
use crate::operator::frame::FrameAcc;
use crate::plan::aggregate::{new_accs, update_accs, Acc};
use crate::plan::{Frame, Over};
use crate::value::Value;
use crate::window::Key;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OverState {
    /// (event time, partition key, arrival number) -> the row.
    pending: BTreeMap<(i64, Key, u64), Vec<Value>>,
    arrivals: u64,
    partitions: BTreeMap<Key, Partition>,
}

/// One partition key's OVER state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Partition {
    /// The event time of the last rows processed (a row at or before it is late).
    last_ms: Option<i64>,
    /// Bounded frames: the event times of the rows the frame can still reach, oldest first,
    times: VecDeque<i64>,
    /// their aggregates' arguments (one per aggregate, row after row),
    args: VecDeque<Value>,
    /// the row number of the oldest (`times[0]`; numbers the MIN/MAX deques),
    first_row: u64,
    /// and the accumulators over exactly those rows.
    frame: Vec<FrameAcc>,
    /// Unbounded frames: the running accumulators.
    running: Vec<Acc>,
}

impl Partition {
    fn new(over: &Over) -> Partition {
        let mut p = Partition::default();
        match over.frame {
            Frame::Rows(_) | Frame::Range(_) => {
                p.frame = over.aggs.iter().map(|a| FrameAcc::new(a.kind)).collect();
            }
            Frame::RowsUnbounded | Frame::RangeUnbounded => p.running = new_accs(&over.aggs),
        }
        p
    }

    /// Adds a row at event time `t` as the frame's newest.
    fn push(&mut self, over: &Over, t: i64, row: &[Value]) -> Result<()> {
        let seq = self.first_row + self.times.len() as u64;
        for (spec, acc) in over.aggs.iter().zip(self.frame.iter_mut()) {
            let v = match &spec.arg {
                None => Value::Bool(true),
                Some(e) => e.eval(row),
            };
            acc.add(seq, &v)?;
            self.args.push_back(v);
        }
        self.times.push_back(t);
        Ok(())
    }

    /// Retracts the frame's oldest row.
    fn pop(&mut self) {
        if self.times.pop_front().is_none() {
            return;
        }
        for acc in &mut self.frame {
            let v = self
                .args
                .pop_front()
                .expect("one argument per aggregate per frame row");
            acc.retract(self.first_row, &v);
        }
        self.first_row += 1;
    }

    /// Appends the aggregates' results to `row`.
    fn append_results(&self, row: &mut Vec<Value>) {
        if self.running.is_empty() {
            row.extend(self.frame.iter().map(FrameAcc::result));
        } else {
            row.extend(self.running.iter().map(Acc::result));
        }
    }
}

impl OverState {
    /// Rows held (waiting and in frames), for the status.
    pub fn rows(&self) -> usize {
        self.pending.len()
            + self
                .partitions
                .values()
                .map(|p| p.times.len())
                .sum::<usize>()
    }

    /// Rows waiting for the watermark.
    pub fn pending_rows(&self) -> usize {
        self.pending.len()
    }

    /// Partition keys held.
    pub fn keys(&self) -> usize {
        self.partitions.len()
    }

    /// Rows in the largest frame.
    pub fn largest_frame_rows(&self) -> usize {
        self.partitions
            .values()
            .map(|p| p.times.len())
            .max()
            .unwrap_or(0)
    }

    /// Buffers a row until the watermark reaches `t`; false when it is late.
    pub fn add(&mut self, key: Key, t: i64, row: Vec<Value>) -> Result<bool> {
        let last = self.partitions.get(&key).and_then(|p| p.last_ms);
        if last.is_some_and(|last| t <= last) {
            return Ok(false);
        }
        if self.pending.len() >= OVER_PENDING_ROWS_MAX {
            return Err(Error::Limit {
                limit: "OVER_PENDING_ROWS_MAX",
                max: OVER_PENDING_ROWS_MAX as u64,
                what: "rows of an OVER aggregate waiting for the watermark".into(),
            });
        }
        self.arrivals += 1;
        self.pending.insert((t, key, self.arrivals), row);
        Ok(true)
    }

    /// Processes every row at or below `watermark_ms`, in order; `emit` gets each input row
    /// with its aggregate results appended.
    pub fn advance(
        &mut self,
        over: &Over,
        watermark_ms: i64,
        mut emit: impl FnMut(Vec<Value>),
    ) -> Result<()> {
        let mut peers = Vec::new();
        while let Some(first) = self.pending.first_entry() {
            if first.key().0 > watermark_ms {
                break;
            }
            // The peers: every waiting row of this partition at this event time.
            let ((t, key, _), row) = first.remove_entry();
            peers.push(row);
            while let Some(next) = self.pending.first_entry() {
                if next.key().0 != t || next.key().1 != key {
                    break;
                }
                peers.push(next.remove());
            }
            let keys = self.partitions.len();
            let p = match self.partitions.entry(key) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    if keys >= OVER_KEYS_MAX {
                        return Err(Error::Limit {
                            limit: "OVER_KEYS_MAX",
                            max: OVER_KEYS_MAX as u64,
                            what: "partition keys of an OVER aggregate".into(),
                        });
                    }
                    e.insert(Partition::new(over))
                }
            };
            p.last_ms = Some(t);
            process(over, p, t, &mut peers, &mut emit)?;
        }
        Ok(())
    }

    /// A checkpoint's OVER state in the layout before incremental frames, with the
    /// accumulators rebuilt from each frame's rows.
    pub(crate) fn from_v1(old: OverStateV1, over: Option<&Over>) -> Result<OverState> {
        let mut state = OverState {
            pending: old.pending,
            arrivals: old.arrivals,
            partitions: BTreeMap::new(),
        };
        let Some(over) = over else {
            return Ok(state);
        };
        for (key, last) in old.last_ms {
            state
                .partitions
                .entry(key)
                .or_insert_with(|| Partition::new(over))
                .last_ms = Some(last);
        }
        for (key, rows) in old.history {
            let p = state
                .partitions
                .entry(key)
                .or_insert_with(|| Partition::new(over));
            for (t, row) in rows {
                p.push(over, t, &row)?;
            }
        }
        for (key, running) in old.running {
            state
                .partitions
                .entry(key)
                .or_insert_with(|| Partition::new(over))
                .running = running;
        }
        Ok(state)
    }
}

/// Processes one partition's rows at event time `t` (taken out of `peers`), in arrival order.
fn process(
    over: &Over,
    p: &mut Partition,
    t: i64,
    peers: &mut Vec<Vec<Value>>,
    emit: &mut impl FnMut(Vec<Value>),
) -> Result<()> {
    let with = |mut row: Vec<Value>, results: &[Value]| {
        row.extend_from_slice(results);
        row
    };
    match over.frame {
        Frame::RowsUnbounded => {
            for mut row in peers.drain(..) {
                update_accs(&over.aggs, &mut p.running, &row)?;
                p.append_results(&mut row);
                emit(row);
            }
        }
        Frame::RangeUnbounded => {
            for row in peers.iter() {
                update_accs(&over.aggs, &mut p.running, row)?;
            }
            let mut results = Vec::new();
            p.append_results(&mut results);
            for row in peers.drain(..) {
                emit(with(row, &results));
            }
        }
        Frame::Rows(n) => {
            for mut row in peers.drain(..) {
                // As Flink: the row leaving the frame is retracted before the new one is added.
                while p.times.len() as u64 > n {
                    p.pop();
                }
                p.push(over, t, &row)?;
                p.append_results(&mut row);
                emit(row);
            }
        }
        Frame::Range(range_ms) => {
            let from = t.saturating_sub(range_ms);
            while p.times.front().is_some_and(|ts| *ts < from) {
                p.pop();
            }
            for row in peers.iter() {
                p.push(over, t, row)?;
            }
            if p.times.len() > OVER_FRAME_ROWS_MAX {
                return Err(Error::Limit {
                    limit: "OVER_FRAME_ROWS_MAX",
                    max: OVER_FRAME_ROWS_MAX as u64,
                    what: "rows in one OVER RANGE frame".into(),
                });
            }
            if peers.len() == 1 {
                let mut row = peers.pop().expect("one peer");
                p.append_results(&mut row);
                emit(row);
            } else {
                let mut results = Vec::new();
                p.append_results(&mut results);
                for row in peers.drain(..) {
                    emit(with(row, &results));
                }
            }
        }
    }
    Ok(())
}

/// The OVER state's layout in checkpoints written before frames were incremental: each frame
/// as its whole rows, refolded for every row.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OverStateV1 {
    pending: BTreeMap<(i64, Key, u64), Vec<Value>>,
    arrivals: u64,
    history: BTreeMap<Key, VecDeque<(i64, Vec<Value>)>>,
    running: BTreeMap<Key, Vec<Acc>>,
    last_ms: BTreeMap<Key, i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::expr::Expr;
    use crate::plan::Body;

    /// `OverStateV1`'s field layout, to write a checkpoint as the refolding version did.
    #[derive(Serialize)]
    struct V1Layout {
        pending: BTreeMap<(i64, Key, u64), Vec<Value>>,
        arrivals: u64,
        history: BTreeMap<Key, VecDeque<(i64, Vec<Value>)>>,
        running: BTreeMap<Key, Vec<Acc>>,
        last_ms: BTreeMap<Key, i64>,
    }

    fn over_plan(frame: &str) -> Over {
        let sql = format!(
            "CREATE TABLE t (k STRING, x BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
             WITH ('connector' = 'kappa', 'topic' = 't', 'format' = 'json');
             SELECT k, x,
               SUM(x) OVER (PARTITION BY k ORDER BY ts {frame}) AS s,
               MIN(x) OVER (PARTITION BY k ORDER BY ts {frame}) AS lo,
               COUNT(*) OVER (PARTITION BY k ORDER BY ts {frame}) AS n
             FROM t"
        );
        match crate::sql::compile(&sql, false).unwrap().body {
            Body::Over(over) => over,
            _ => panic!("an OVER plan"),
        }
    }

    /// (partition key, event time, row) for 40 rows over two keys, some at equal times.
    fn rows(over: &Over) -> Vec<(Key, i64, Vec<Value>)> {
        let Expr::Slot(k) = over.partition[0] else {
            panic!("k is a slot")
        };
        let Some(Expr::Slot(x)) = over.aggs[0].arg else {
            panic!("x is a slot")
        };
        (0..40i64)
            .map(|i| {
                let key = vec![Value::Str(["a", "b"][(i % 3 == 0) as usize].into())];
                let mut row = vec![Value::Null; over.input_slots];
                row[k] = key[0].clone();
                row[x] = Value::Int((i * 7) % 13 - 4);
                (key, 1_000 * (i / 2), row)
            })
            .collect()
    }

    fn run(state: &mut OverState, over: &Over, watermark_ms: i64) -> Vec<Vec<Value>> {
        let mut out = Vec::new();
        state.advance(over, watermark_ms, |r| out.push(r)).unwrap();
        out
    }

    #[test]
    fn a_checkpoint_from_the_refolding_layout_restores_and_continues_identically() {
        for (frame, sql) in [
            (Frame::Rows(2), "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW"),
            (
                Frame::Range(3_000),
                "RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW",
            ),
        ] {
            let over = over_plan(sql);
            assert_eq!(over.frame, frame);
            let mid = 9_000;
            let mut clean = OverState::default();
            for (key, t, row) in rows(&over) {
                assert!(clean.add(key, t, row).unwrap());
            }
            let pending = clean.pending.clone();
            let first = run(&mut clean, &over, mid);
            let rest = run(&mut clean, &over, i64::MAX);
            assert!(!first.is_empty() && !rest.is_empty());

            // What the refolding version held after the first advance.
            let mut old = V1Layout {
                pending: BTreeMap::new(),
                arrivals: 40,
                history: BTreeMap::new(),
                running: BTreeMap::new(),
                last_ms: BTreeMap::new(),
            };
            for ((t, key, arrival), row) in pending {
                if t > mid {
                    old.pending.insert((t, key, arrival), row);
                    continue;
                }
                old.last_ms.insert(key.clone(), t);
                let h = old.history.entry(key).or_default();
                h.push_back((t, row));
                match frame {
                    Frame::Rows(n) => {
                        while h.len() as u64 > n + 1 {
                            h.pop_front();
                        }
                    }
                    Frame::Range(ms) => {
                        while h.front().is_some_and(|(ts, _)| *ts < t - ms) {
                            h.pop_front();
                        }
                    }
                    _ => unreachable!(),
                }
            }
            let bytes = bincode::serialize(&old).unwrap();
            let v1: OverStateV1 = bincode::deserialize(&bytes).unwrap();
            let mut restored = OverState::from_v1(v1, Some(&over)).unwrap();
            assert_eq!(run(&mut restored, &over, i64::MAX), rest, "{frame:?}");
            assert!(!restored
                .add(vec![Value::Str("a".into())], 0, Vec::new())
                .unwrap());
        }
    }
}
