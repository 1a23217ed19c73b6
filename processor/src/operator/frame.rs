//! Accumulators of a sliding OVER frame (`ROWS n PRECEDING`, `RANGE INTERVAL .. PRECEDING`):
//! the newest row is added and rows leaving the frame are retracted, oldest first, so a row
//! costs O(1) amortized instead of a refold of its whole frame. Rows leave in the order they
//! came (a frame is a FIFO), which is what lets MIN/MAX keep a monotonic deque.
//!
//! - COUNT, and the counts behind AVG and the variance family, are exact.
//! - SUM of BIGINT adds and subtracts with wrapping, as the refold does: exact modulo 2^64.
//! - SUM of DOUBLE is Neumaier's compensated sum (a running sum and the rounding error it lost),
//!   retracting by adding the negation: close to the exact sum of the frame's values however
//!   many rows passed through it (a naive add/retract, Flink's, drifts, and a large value
//!   leaving the frame can wipe out the small ones). It is reset to exactly zero when no
//!   double is left in the frame. The result depends only on the sequence of rows, and the
//!   accumulators are checkpointed, so live and replay give the same bits.
//! - MIN/MAX keep the rows that can still become the extreme: (row number, value), values
//!   increasing from the front (MIN) or decreasing (MAX); the front is the answer.
//! - COUNT(DISTINCT) keeps a count per value, bounded by `DISTINCT_VALUES_MAX`.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::DISTINCT_VALUES_MAX;
use crate::plan::aggregate::{variance, AggKind};
use crate::plan::expr::{apply, BinOp};
use crate::value::Value;

/// A sum of numbers that can be retracted: BIGINTs (wrapping) and DOUBLEs (compensated) apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NumSum {
    int: i64,
    ints: u64,
    float: f64,
    /// The rounding error `float` has lost so far (Neumaier).
    float_error: f64,
    floats: u64,
}

impl NumSum {
    fn add(&mut self, v: &Value) {
        match v {
            Value::Int(i) => {
                self.int = self.int.wrapping_add(*i);
                self.ints += 1;
            }
            Value::Float(x) => {
                self.add_float(*x);
                self.floats += 1;
            }
            _ => {}
        }
    }

    fn retract(&mut self, v: &Value) {
        match v {
            Value::Int(i) => {
                self.int = self.int.wrapping_sub(*i);
                self.ints -= 1;
            }
            Value::Float(x) => {
                self.floats -= 1;
                if self.floats == 0 {
                    self.float = 0.0;
                    self.float_error = 0.0;
                } else {
                    self.add_float(-*x);
                }
            }
            _ => {}
        }
    }

    fn add_float(&mut self, x: f64) {
        let sum = self.float + x;
        if sum.is_finite() {
            self.float_error += if self.float.abs() >= x.abs() {
                (self.float - sum) + x
            } else {
                (x - sum) + self.float
            };
        }
        self.float = sum;
    }

    /// The sum: NULL with no number, BIGINT with only BIGINTs, else DOUBLE.
    pub fn value(&self) -> Value {
        match (self.ints, self.floats) {
            (0, 0) => Value::Null,
            (_, 0) => Value::Int(self.int),
            (0, _) => Value::Float(self.float + self.float_error),
            _ => Value::Float(self.int as f64 + (self.float + self.float_error)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FrameAcc {
    Count(i64),
    Sum(NumSum),
    Avg {
        sum: NumSum,
        count: i64,
    },
    Var {
        sum: NumSum,
        sum_sq: NumSum,
        count: i64,
        sample: bool,
        sqrt: bool,
    },
    /// (row number, value), values increasing from the front.
    Min(VecDeque<(u64, Value)>),
    /// (row number, value), values decreasing from the front.
    Max(VecDeque<(u64, Value)>),
    /// Value -> rows in the frame holding it.
    Distinct(BTreeMap<Value, u64>),
}

impl FrameAcc {
    pub fn new(kind: AggKind) -> FrameAcc {
        match kind {
            AggKind::CountStar | AggKind::Count => FrameAcc::Count(0),
            AggKind::CountDistinct => FrameAcc::Distinct(BTreeMap::new()),
            AggKind::Sum => FrameAcc::Sum(NumSum::default()),
            AggKind::Avg => FrameAcc::Avg {
                sum: NumSum::default(),
                count: 0,
            },
            AggKind::Min => FrameAcc::Min(VecDeque::new()),
            AggKind::Max => FrameAcc::Max(VecDeque::new()),
            AggKind::VarPop | AggKind::VarSamp | AggKind::StddevPop | AggKind::StddevSamp => {
                FrameAcc::Var {
                    sum: NumSum::default(),
                    sum_sq: NumSum::default(),
                    count: 0,
                    sample: matches!(kind, AggKind::VarSamp | AggKind::StddevSamp),
                    sqrt: matches!(kind, AggKind::StddevPop | AggKind::StddevSamp),
                }
            }
        }
    }

    /// Adds the frame's newest row (number `seq`, argument `v`; `Value::Bool(true)` stands in
    /// for COUNT(*)).
    pub fn add(&mut self, seq: u64, v: &Value) -> Result<()> {
        if v.is_null() {
            return Ok(());
        }
        match self {
            FrameAcc::Count(n) => *n += 1,
            FrameAcc::Sum(s) => s.add(v),
            FrameAcc::Avg { sum, count } => {
                sum.add(v);
                *count += 1;
            }
            FrameAcc::Var {
                sum, sum_sq, count, ..
            } => {
                sum.add(v);
                sum_sq.add(&apply(BinOp::Mul, v, v));
                *count += 1;
            }
            FrameAcc::Min(d) => {
                while d.back().is_some_and(|(_, b)| b > v) {
                    d.pop_back();
                }
                d.push_back((seq, v.clone()));
            }
            FrameAcc::Max(d) => {
                while d.back().is_some_and(|(_, b)| b < v) {
                    d.pop_back();
                }
                d.push_back((seq, v.clone()));
            }
            FrameAcc::Distinct(counts) => {
                if let Some(n) = counts.get_mut(v) {
                    *n += 1;
                } else {
                    if counts.len() >= DISTINCT_VALUES_MAX {
                        return Err(Error::Limit {
                            limit: "DISTINCT_VALUES_MAX",
                            max: DISTINCT_VALUES_MAX as u64,
                            what: "distinct values in one COUNT(DISTINCT) OVER frame".into(),
                        });
                    }
                    counts.insert(v.clone(), 1);
                }
            }
        }
        Ok(())
    }

    /// Retracts the frame's oldest row (number `seq`, argument `v`, as it was added).
    pub fn retract(&mut self, seq: u64, v: &Value) {
        if v.is_null() {
            return;
        }
        match self {
            FrameAcc::Count(n) => *n -= 1,
            FrameAcc::Sum(s) => s.retract(v),
            FrameAcc::Avg { sum, count } => {
                sum.retract(v);
                *count -= 1;
            }
            FrameAcc::Var {
                sum, sum_sq, count, ..
            } => {
                sum.retract(v);
                sum_sq.retract(&apply(BinOp::Mul, v, v));
                *count -= 1;
            }
            FrameAcc::Min(d) | FrameAcc::Max(d) => {
                if d.front().is_some_and(|(s, _)| *s == seq) {
                    d.pop_front();
                }
            }
            FrameAcc::Distinct(counts) => {
                if let Some(n) = counts.get_mut(v) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(v);
                    }
                }
            }
        }
    }

    pub fn result(&self) -> Value {
        match self {
            FrameAcc::Count(n) => Value::Int(*n),
            FrameAcc::Sum(s) => s.value(),
            FrameAcc::Avg { count: 0, .. } => Value::Null,
            FrameAcc::Avg { sum, count } => apply(BinOp::Div, &sum.value(), &Value::Int(*count)),
            FrameAcc::Var {
                sum,
                sum_sq,
                count,
                sample,
                sqrt,
            } => variance(&sum.value(), &sum_sq.value(), *count, *sample, *sqrt),
            FrameAcc::Min(d) | FrameAcc::Max(d) => {
                d.front().map_or(Value::Null, |(_, v)| v.clone())
            }
            FrameAcc::Distinct(counts) => Value::Int(counts.len() as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::aggregate::Acc;

    /// Slides a frame of `width` rows over `values`; after each row, every kind's result must
    /// equal a refold of the frame (doubles: to 1e-12 relative).
    fn check_against_refold(values: &[Value], width: usize) {
        let kinds = [
            AggKind::CountStar,
            AggKind::Count,
            AggKind::CountDistinct,
            AggKind::Sum,
            AggKind::Avg,
            AggKind::Min,
            AggKind::Max,
            AggKind::VarPop,
            AggKind::VarSamp,
            AggKind::StddevPop,
            AggKind::StddevSamp,
        ];
        for kind in kinds {
            let arg = |v: &Value| {
                if kind == AggKind::CountStar {
                    Value::Bool(true)
                } else {
                    v.clone()
                }
            };
            let mut acc = FrameAcc::new(kind);
            for (i, v) in values.iter().enumerate() {
                if i >= width {
                    acc.retract((i - width) as u64, &arg(&values[i - width]));
                }
                acc.add(i as u64, &arg(v)).unwrap();
                let mut refold = Acc::new(kind);
                for w in &values[i.saturating_sub(width - 1)..=i] {
                    refold.update(&arg(w)).unwrap();
                }
                let (got, want) = (acc.result(), refold.result());
                let close = match (&got, &want) {
                    (Value::Float(a), Value::Float(b)) => {
                        a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
                    }
                    _ => got == want,
                };
                assert!(close, "{kind:?} at row {i}: {got:?} != refold {want:?}");
            }
        }
    }

    #[test]
    fn sliding_results_equal_a_refold_of_the_frame() {
        let floats: Vec<Value> = (0..300u64)
            .map(|i| match i % 7 {
                3 => Value::Null,
                _ => Value::Float(((i * 7919) % 1000) as f64 / 100.0 - 3.0),
            })
            .collect();
        let ints: Vec<Value> = (0..300i64)
            .map(|i| match i % 5 {
                2 => Value::Null,
                _ => Value::Int((i * 31) % 17 - 8),
            })
            .collect();
        let strs: Vec<Value> = (0..100u64)
            .map(|i| Value::Str(format!("s{}", (i * 13) % 9)))
            .collect();
        for width in [1, 2, 3, 10, 64] {
            check_against_refold(&floats, width);
            check_against_refold(&ints, width);
        }
        for width in [1, 4, 20] {
            let mut acc = FrameAcc::new(AggKind::Min);
            let mut max = FrameAcc::new(AggKind::Max);
            let mut distinct = FrameAcc::new(AggKind::CountDistinct);
            for (i, v) in strs.iter().enumerate() {
                if i >= width {
                    for a in [&mut acc, &mut max, &mut distinct] {
                        a.retract((i - width) as u64, &strs[i - width]);
                    }
                }
                for a in [&mut acc, &mut max, &mut distinct] {
                    a.add(i as u64, v).unwrap();
                }
                let frame = &strs[i.saturating_sub(width - 1)..=i];
                assert_eq!(acc.result(), frame.iter().min().unwrap().clone());
                assert_eq!(max.result(), frame.iter().max().unwrap().clone());
                let n = frame
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                assert_eq!(distinct.result(), Value::Int(n as i64));
            }
        }
    }

    #[test]
    fn a_large_double_leaving_the_frame_does_not_wipe_out_the_small_ones() {
        let mut sum = FrameAcc::new(AggKind::Sum);
        sum.add(0, &Value::Float(1e20)).unwrap();
        sum.add(1, &Value::Float(0.25)).unwrap();
        sum.add(2, &Value::Float(0.5)).unwrap();
        sum.retract(0, &Value::Float(1e20));
        assert_eq!(sum.result(), Value::Float(0.75));
        // A frame left with no double sums to exactly zero again.
        sum.retract(1, &Value::Float(0.25));
        sum.retract(2, &Value::Float(0.5));
        sum.add(3, &Value::Float(0.1)).unwrap();
        assert_eq!(sum.result(), Value::Float(0.1));
    }
}
