//! Aggregate functions and their accumulators. SUM of DOUBLE adds in input order (so results
//! are reproducible bit for bit), AVG is SUM / COUNT with Flink's typing (BIGINT AVG truncates),
//! COUNT(DISTINCT) keeps an ordered set bounded by `DISTINCT_VALUES_MAX`. VAR_POP, VAR_SAMP,
//! STDDEV_POP and STDDEV_SAMP are computed as Flink's planner rewrites them (Calcite's
//! `AggregateReduceFunctionsRule`): `(SUM(x*x) - SUM(x)*SUM(x)/COUNT(x)) / COUNT(x)` (or
//! `COUNT(x) - 1`), `POWER(.., 0.5)` for the deviations, in the argument's type — so a BIGINT
//! argument gives a truncated BIGINT, as in Flink.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::DISTINCT_VALUES_MAX;
use crate::plan::expr::{apply, BinOp, Expr};
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
    VarPop,
    VarSamp,
    StddevPop,
    StddevSamp,
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
    Avg {
        sum: Value,
        count: i64,
    },
    Min(Value),
    Max(Value),
    Distinct(BTreeSet<Value>),
    /// The sums behind the variance family (`sample`: divide by n - 1; `sqrt`: deviation).
    Var {
        sum: Value,
        sum_sq: Value,
        count: i64,
        sample: bool,
        sqrt: bool,
    },
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
            AggKind::VarPop | AggKind::VarSamp | AggKind::StddevPop | AggKind::StddevSamp => {
                Acc::Var {
                    sum: Value::Null,
                    sum_sq: Value::Null,
                    count: 0,
                    sample: matches!(kind, AggKind::VarSamp | AggKind::StddevSamp),
                    sqrt: matches!(kind, AggKind::StddevPop | AggKind::StddevSamp),
                }
            }
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
            Acc::Var {
                sum, sum_sq, count, ..
            } => {
                *sum = add(sum, v);
                *sum_sq = add(sum_sq, &apply(BinOp::Mul, v, v));
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
            (
                Acc::Var {
                    sum, sum_sq, count, ..
                },
                Acc::Var {
                    sum: s2,
                    sum_sq: q2,
                    count: c2,
                    ..
                },
            ) => {
                *sum = add(sum, &s2);
                *sum_sq = add(sum_sq, &q2);
                *count += c2;
            }
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
            Acc::Var {
                sum,
                sum_sq,
                count,
                sample,
                sqrt,
            } => variance(sum, sum_sq, *count, *sample, *sqrt),
        }
    }
}

/// Calcite's reduction of the variance family, in the argument's type.
pub(crate) fn variance(sum: &Value, sum_sq: &Value, count: i64, sample: bool, sqrt: bool) -> Value {
    let denominator = if sample { count - 1 } else { count };
    if count == 0 || denominator == 0 {
        return Value::Null;
    }
    let n = Value::Int(count);
    let mean_sq = apply(BinOp::Div, &apply(BinOp::Mul, sum, sum), &n);
    let diff = apply(BinOp::Sub, sum_sq, &mean_sq);
    let var = apply(BinOp::Div, &diff, &Value::Int(denominator));
    if !sqrt {
        return var;
    }
    match var {
        Value::Float(x) => Value::Float(x.powf(0.5)),
        Value::Int(i) => Value::Int((i as f64).powf(0.5) as i64),
        other => other,
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
    fn variance_family_follows_flinks_reduction() {
        let run = |kind, vals: &[Value]| {
            let mut a = Acc::new(kind);
            vals.iter().for_each(|v| a.update(v).unwrap());
            a.result()
        };
        let xs = [
            Value::Float(2.0),
            Value::Float(4.0),
            Value::Null,
            Value::Float(9.0),
        ];
        assert_eq!(run(AggKind::VarPop, &xs), Value::Float(26.0 / 3.0));
        assert_eq!(run(AggKind::VarSamp, &xs), Value::Float(13.0));
        assert_eq!(
            run(AggKind::StddevPop, &xs),
            Value::Float((26.0f64 / 3.0).powf(0.5))
        );
        // BIGINT stays BIGINT, with integer division: (1 + 4) - 9 / 2 = 1, / 2 = 0.
        let ints = [Value::Int(1), Value::Int(2)];
        assert_eq!(run(AggKind::VarPop, &ints), Value::Int(0));
        assert_eq!(run(AggKind::VarSamp, &[Value::Int(5)]), Value::Null);
        assert_eq!(run(AggKind::VarPop, &[]), Value::Null);
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
