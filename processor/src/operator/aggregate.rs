//! Aggregate functions and their accumulators. SUM of DOUBLE adds in input order (so results
//! are reproducible bit for bit), AVG is SUM / COUNT with Flink's typing (BIGINT AVG truncates),
//! COUNT(DISTINCT) keeps an ordered set bounded by `DISTINCT_VALUES_MAX`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::DISTINCT_VALUES_MAX;
use crate::operator::expr::{apply, BinOp, Expr};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggKind {
    CountStar,
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

/// One aggregate call of a query: its function and argument (None for COUNT(*)).
#[derive(Debug, Clone)]
pub struct AggSpec {
    pub kind: AggKind,
    pub arg: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Acc {
    Count(i64),
    Sum(Value),
    Avg { sum: Value, count: i64 },
    Min(Value),
    Max(Value),
    Distinct(BTreeSet<Value>),
}

impl Acc {
    pub fn new(kind: AggKind) -> Acc {
        match kind {
            AggKind::CountStar | AggKind::Count => Acc::Count(0),
            AggKind::CountDistinct => Acc::Distinct(BTreeSet::new()),
            AggKind::Sum => Acc::Sum(Value::Null),
            AggKind::Avg => Acc::Avg {
                sum: Value::Null,
                count: 0,
            },
            AggKind::Min => Acc::Min(Value::Null),
            AggKind::Max => Acc::Max(Value::Null),
        }
    }

    /// Adds one row's argument value (`Value::Bool(true)` stands in for COUNT(*)).
    pub fn update(&mut self, v: &Value) -> Result<()> {
        if v.is_null() {
            return Ok(());
        }
        match self {
            Acc::Count(n) => *n += 1,
            Acc::Sum(s) => *s = add(s, v),
            Acc::Avg { sum, count } => {
                *sum = add(sum, v);
                *count += 1;
            }
            Acc::Min(m) => {
                if m.is_null() || v < m {
                    *m = v.clone();
                }
            }
            Acc::Max(m) => {
                if m.is_null() || v > m {
                    *m = v.clone();
                }
            }
            Acc::Distinct(set) => {
                if !set.contains(v) {
                    if set.len() >= DISTINCT_VALUES_MAX {
                        return Err(Error::Limit {
                            limit: "DISTINCT_VALUES_MAX",
                            max: DISTINCT_VALUES_MAX as u64,
                            what: "distinct values in one COUNT(DISTINCT) group".into(),
                        });
                    }
                    set.insert(v.clone());
                }
            }
        }
        Ok(())
    }

    /// Folds another accumulator of the same function into this one (session windows merge).
    pub fn merge(&mut self, other: Acc) -> Result<()> {
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::Sum(a), Acc::Sum(b)) => *a = add(a, &b),
            (Acc::Avg { sum, count }, Acc::Avg { sum: s2, count: c2 }) => {
                *sum = add(sum, &s2);
                *count += c2;
            }
            (me @ (Acc::Min(_) | Acc::Max(_)), Acc::Min(b) | Acc::Max(b)) => me.update(&b)?,
            (me @ Acc::Distinct(_), Acc::Distinct(b)) => {
                for v in b {
                    me.update(&v)?;
                }
            }
            (me, other) => panic!("merging different accumulators {me:?} and {other:?} is a bug"),
        }
        Ok(())
    }

    pub fn result(&self) -> Value {
        match self {
            Acc::Count(n) => Value::Int(*n),
            Acc::Sum(s) => s.clone(),
            Acc::Avg { count: 0, .. } => Value::Null,
            Acc::Avg { sum, count } => apply(BinOp::Div, sum, &Value::Int(*count)),
            Acc::Min(m) | Acc::Max(m) => m.clone(),
            Acc::Distinct(set) => Value::Int(set.len() as i64),
        }
    }
}

fn add(acc: &Value, v: &Value) -> Value {
    match (acc, v) {
        (Value::Null, Value::Int(_) | Value::Float(_)) => v.clone(),
        (Value::Null, _) => Value::Null,
        _ => apply(BinOp::Add, acc, v),
    }
}

/// Fresh accumulators for a group.
pub fn new_accs(specs: &[AggSpec]) -> Vec<Acc> {
    specs.iter().map(|s| Acc::new(s.kind)).collect()
}

/// Folds `other` into `accs` position by position.
pub fn merge_accs(accs: &mut [Acc], other: Vec<Acc>) -> Result<()> {
    for (a, b) in accs.iter_mut().zip(other) {
        a.merge(b)?;
    }
    Ok(())
}

/// Feeds one row into a group's accumulators.
pub fn update_accs(specs: &[AggSpec], accs: &mut [Acc], row: &[Value]) -> Result<()> {
    for (spec, acc) in specs.iter().zip(accs.iter_mut()) {
        match &spec.arg {
            None => acc.update(&Value::Bool(true))?,
            Some(e) => acc.update(&e.eval(row))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_and_avg_follow_flink_typing() {
        let mut s = Acc::new(AggKind::Sum);
        let mut a = Acc::new(AggKind::Avg);
        for v in [Value::Int(1), Value::Null, Value::Int(2)] {
            s.update(&v).unwrap();
            a.update(&v).unwrap();
        }
        assert_eq!(s.result(), Value::Int(3));
        assert_eq!(a.result(), Value::Int(1));
        let mut a = Acc::new(AggKind::Avg);
        for v in [Value::Float(1.0), Value::Float(2.0)] {
            a.update(&v).unwrap();
        }
        assert_eq!(a.result(), Value::Float(1.5));
        assert_eq!(Acc::new(AggKind::Sum).result(), Value::Null);
    }

    #[test]
    fn count_distinct_ignores_nulls_and_repeats() {
        let mut d = Acc::new(AggKind::CountDistinct);
        for v in ["a", "b", "a"] {
            d.update(&Value::Str(v.into())).unwrap();
        }
        d.update(&Value::Null).unwrap();
        assert_eq!(d.result(), Value::Int(2));
    }
}
