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

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{OVER_FRAME_ROWS_MAX, OVER_PENDING_ROWS_MAX};
use crate::plan::aggregate::{new_accs, update_accs, Acc};
use crate::plan::{Frame, Over};
use crate::value::Value;
use crate::window::Key;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OverState {
    /// (event time, partition key, arrival number) -> the row.
    pending: BTreeMap<(i64, Key, u64), Vec<Value>>,
    arrivals: u64,
    /// Per partition key: the rows its frame can still reach, oldest first (event time, row).
    history: BTreeMap<Key, VecDeque<(i64, Vec<Value>)>>,
    /// Per partition key, for unbounded frames: the running accumulators.
    running: BTreeMap<Key, Vec<Acc>>,
    /// Per partition key: the event time of the last rows processed.
    last_ms: BTreeMap<Key, i64>,
}

impl OverState {
    /// Rows held (waiting and in frames), for the status.
    pub fn rows(&self) -> usize {
        self.pending.len() + self.history.values().map(VecDeque::len).sum::<usize>()
    }

    /// Rows waiting for the watermark.
    pub fn pending_rows(&self) -> usize {
        self.pending.len()
    }

    /// Rows in the largest frame.
    pub fn largest_frame_rows(&self) -> usize {
        self.history.values().map(VecDeque::len).max().unwrap_or(0)
    }

    /// Buffers a row until the watermark reaches `t`; false when it is late.
    pub fn add(&mut self, key: Key, t: i64, row: Vec<Value>) -> Result<bool> {
        if self.last_ms.get(&key).is_some_and(|last| t <= *last) {
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
        while let Some(first) = self.pending.first_key_value().map(|(k, _)| k.clone()) {
            if first.0 > watermark_ms {
                break;
            }
            // The peers: every waiting row of this partition at this event time.
            let (t, key) = (first.0, first.1);
            let mut peers = Vec::new();
            while let Some(entry) = self.pending.first_entry() {
                if entry.key().0 != t || entry.key().1 != key {
                    break;
                }
                peers.push(entry.remove());
            }
            self.last_ms.insert(key.clone(), t);
            self.process(over, &key, t, peers, &mut emit)?;
        }
        Ok(())
    }

    fn process(
        &mut self,
        over: &Over,
        key: &Key,
        t: i64,
        peers: Vec<Vec<Value>>,
        emit: &mut impl FnMut(Vec<Value>),
    ) -> Result<()> {
        let with = |row: Vec<Value>, accs: &[Acc]| {
            let mut out = row;
            out.extend(accs.iter().map(Acc::result));
            out
        };
        match over.frame {
            Frame::RowsUnbounded | Frame::RangeUnbounded => {
                let accs = self
                    .running
                    .entry(key.clone())
                    .or_insert_with(|| new_accs(&over.aggs));
                if over.frame == Frame::RangeUnbounded {
                    for row in &peers {
                        update_accs(&over.aggs, accs, row)?;
                    }
                    for row in peers {
                        emit(with(row, accs));
                    }
                } else {
                    for row in peers {
                        update_accs(&over.aggs, accs, &row)?;
                        emit(with(row, accs));
                    }
                }
            }
            Frame::Rows(n) => {
                for row in peers {
                    let h = self.history.entry(key.clone()).or_default();
                    h.push_back((t, row.clone()));
                    while h.len() as u64 > n + 1 {
                        h.pop_front();
                    }
                    let accs = fold(over, h)?;
                    emit(with(row, &accs));
                }
            }
            Frame::Range(range_ms) => {
                let h = self.history.entry(key.clone()).or_default();
                h.extend(peers.iter().map(|r| (t, r.clone())));
                while h
                    .front()
                    .is_some_and(|(ts, _)| *ts < t.saturating_sub(range_ms))
                {
                    h.pop_front();
                }
                if h.len() > OVER_FRAME_ROWS_MAX {
                    return Err(Error::Limit {
                        limit: "OVER_FRAME_ROWS_MAX",
                        max: OVER_FRAME_ROWS_MAX as u64,
                        what: "rows in one OVER RANGE frame".into(),
                    });
                }
                let accs = fold(over, h)?;
                for row in peers {
                    emit(with(row, &accs));
                }
            }
        }
        Ok(())
    }
}

/// The aggregates over a frame's rows.
fn fold(over: &Over, rows: &VecDeque<(i64, Vec<Value>)>) -> Result<Vec<Acc>> {
    let mut accs = new_accs(&over.aggs);
    for (_, row) in rows {
        update_accs(&over.aggs, &mut accs, row)?;
    }
    Ok(accs)
}
