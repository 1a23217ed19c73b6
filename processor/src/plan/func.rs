//! Scalar SQL functions, evaluated with Flink's rules: NULL in gives NULL out (except
//! `COALESCE`), strings are counted in characters, positions are 1-based, times are UTC.

use std::cmp::Ordering;

use crate::calendar::{self, DatePattern, TimeUnit};
use crate::plan::types::{cast, compare, Type};
use crate::timestamp;
use crate::value::{round_half_away, Value};

/// Which side(s) `TRIM` takes characters from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimSide {
    Both,
    Leading,
    Trailing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Round,
    Lower,
    Upper,
    Coalesce,
    Date,
    Abs,
    CharLength,
    /// `NULLIF(a, b)`: NULL when a = b, else a.
    NullIf,
    /// `GREATEST(...)` / `LEAST(...)`: NULL when any argument is NULL.
    Greatest,
    Least,
    /// `CONCAT(...)`: NULL when any argument is NULL.
    Concat,
    /// `SUBSTRING(s, pos[, len])`: 1-based; a negative position counts from the end.
    Substring,
    /// `TRIM([side] [chars FROM] s)`: args are (s, chars); chars default to a space.
    Trim(TrimSide),
    /// `REPLACE(s, search, replacement)`: every occurrence.
    Replace,
    /// `SPLIT_INDEX(s, separator, index)`: the 0-based index-th piece, NULL past the end.
    SplitIndex,
    /// `DATE_FORMAT(ts, pattern)`.
    DateFormat,
    /// `TO_TIMESTAMP(s[, pattern])`: NULL when it does not parse.
    ToTimestamp,
    Extract(TimeUnit),
    FloorTo(TimeUnit),
    CeilTo(TimeUnit),
    /// `FLOOR(x)` / `CEIL(x)` of a number.
    Floor,
    Ceil,
    /// `TIMESTAMPDIFF(unit, a, b)`: args are (a, b).
    TimestampDiff(TimeUnit),
    /// `JSON_VALUE(json, path)`: the scalar at a `$.a.b[0]` path, as a string.
    JsonValue,
}

/// `f` of `n` arguments, `arg(i)` evaluating the i-th (COALESCE evaluates only as many as it
/// needs).
pub fn call(f: Func, n: usize, arg: impl Fn(usize) -> Value) -> Value {
    if f == Func::Coalesce {
        return (0..n)
            .map(&arg)
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null);
    }
    let vals: Vec<Value> = (0..n).map(arg).collect();
    if f == Func::NullIf {
        return match compare(&vals[0], &vals[1]) {
            Some(Ordering::Equal) => Value::Null,
            _ => vals[0].clone(),
        };
    }
    if vals.iter().any(Value::is_null) {
        return Value::Null;
    }
    apply(f, vals).unwrap_or(Value::Null)
}

/// `f` of non-null arguments; None for NULL.
fn apply(f: Func, mut vals: Vec<Value>) -> Option<Value> {
    let text = |v: &Value| v.to_text();
    let int = |v: &Value| match v {
        Value::Int(i) => Some(*i),
        Value::Float(x) => Some(*x as i64),
        _ => None,
    };
    let time = |v: &Value| match cast(v.clone(), Type::Ts) {
        Value::Ts(ms) => Some(ms),
        _ => None,
    };
    match f {
        Func::Coalesce | Func::NullIf => unreachable!("handled before"),
        Func::Round => round(&vals),
        Func::Abs => match vals[0] {
            Value::Int(i) => Some(Value::Int(i.wrapping_abs())),
            Value::Float(x) => Some(Value::Float(x.abs())),
            _ => None,
        },
        Func::Lower => Some(Value::Str(text(&vals[0]).to_lowercase())),
        Func::Upper => Some(Value::Str(text(&vals[0]).to_uppercase())),
        Func::CharLength => Some(Value::Int(text(&vals[0]).chars().count() as i64)),
        Func::Date => time(&vals[0]).map(|ms| Value::Str(timestamp::format_date(ms))),
        Func::Greatest | Func::Least => {
            let mut best = vals.swap_remove(0);
            for v in vals {
                let o = compare(&v, &best);
                let better = if f == Func::Greatest {
                    o == Some(Ordering::Greater)
                } else {
                    o == Some(Ordering::Less)
                };
                if better {
                    best = v;
                }
            }
            Some(best)
        }
        Func::Concat => Some(Value::Str(vals.iter().map(text).collect())),
        Func::Substring => {
            let len = vals.get(2).map(int);
            substring(&text(&vals[0]), int(&vals[1])?, len.flatten()).map(Value::Str)
        }
        Func::Trim(side) => {
            let chars: Vec<char> = vals.get(1).map_or(vec![' '], |c| text(c).chars().collect());
            let s = text(&vals[0]);
            let trimmed = match side {
                TrimSide::Both => s.trim_matches(chars.as_slice()),
                TrimSide::Leading => s.trim_start_matches(chars.as_slice()),
                TrimSide::Trailing => s.trim_end_matches(chars.as_slice()),
            };
            Some(Value::Str(trimmed.to_string()))
        }
        Func::Replace => {
            let (s, from, to) = (text(&vals[0]), text(&vals[1]), text(&vals[2]));
            Some(Value::Str(if from.is_empty() {
                s
            } else {
                s.replace(&from, &to)
            }))
        }
        Func::SplitIndex => {
            let i = usize::try_from(int(&vals[2])?).ok()?;
            let (s, sep) = (text(&vals[0]), text(&vals[1]));
            if sep.is_empty() {
                return None;
            }
            s.split(sep.as_str())
                .nth(i)
                .map(|p| Value::Str(p.to_string()))
        }
        Func::DateFormat => {
            let ms = time(&vals[0])?;
            let p = DatePattern::parse(&text(&vals[1])).ok()?;
            Some(Value::Str(p.format(ms)))
        }
        Func::ToTimestamp => {
            let s = text(&vals[0]);
            // Flink: the default format is strict; a pattern that does not match falls back
            // to the default format on the trimmed text (java.sql.Timestamp/Date.valueOf).
            match vals.get(1) {
                None => timestamp::parse_flink(&s),
                Some(p) => DatePattern::parse(&text(p))
                    .ok()?
                    .read(&s)
                    .or_else(|| timestamp::parse_flink(s.trim())),
            }
            .map(Value::Ts)
        }
        Func::Extract(unit) => time(&vals[0]).map(|ms| Value::Int(calendar::extract(unit, ms))),
        Func::FloorTo(unit) => time(&vals[0]).map(|ms| Value::Ts(calendar::floor(unit, ms))),
        Func::CeilTo(unit) => time(&vals[0]).map(|ms| Value::Ts(calendar::ceil(unit, ms))),
        Func::Floor | Func::Ceil => match vals[0] {
            Value::Int(i) => Some(Value::Int(i)),
            Value::Float(x) => Some(Value::Float(if f == Func::Floor {
                x.floor()
            } else {
                x.ceil()
            })),
            _ => None,
        },
        Func::TimestampDiff(unit) => {
            let (a, b) = (time(&vals[0])?, time(&vals[1])?);
            Some(Value::Int(calendar::diff(unit, a, b)))
        }
        Func::JsonValue => json_value(&vals[0], &text(&vals[1])),
    }
}

fn round(vals: &[Value]) -> Option<Value> {
    let digits = match vals.get(1) {
        None => 0,
        Some(Value::Int(d)) => (*d).clamp(-30, 30) as i32,
        Some(_) => return None,
    };
    match vals[0] {
        Value::Float(x) => Some(Value::Float(round_half_away(x, digits))),
        Value::Int(i) if digits < 0 => Some(Value::Int(round_half_away(i as f64, digits) as i64)),
        Value::Int(i) => Some(Value::Int(i)),
        _ => None,
    }
}

/// Flink's `SUBSTRING`: 1-based `pos` (0 reads as 1, negative counts from the end), `len`
/// characters (all when absent; NULL when negative).
fn substring(s: &str, pos: i64, len: Option<i64>) -> Option<String> {
    if len.is_some_and(|l| l < 0) {
        return None;
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let start = match pos {
        p if p > 0 => p - 1,
        0 => 0,
        p => n + p,
    };
    if start < 0 || start >= n {
        return Some(String::new());
    }
    let end = len.map_or(n, |l| (start + l).min(n));
    Some(chars[start as usize..end as usize].iter().collect())
}

/// `JSON_VALUE`: the scalar at `path` (`$`, `.key`, `['key']`, `[n]`) of the JSON text or
/// nested value, as a string; NULL when missing, not JSON, or not a scalar.
fn json_value(doc: &Value, path: &str) -> Option<Value> {
    let text = match doc {
        Value::Json(raw) => raw.clone(),
        other => other.to_text(),
    };
    let mut v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut rest = path.trim().strip_prefix('$')?;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            v = v.get_mut(&r[..end])?.take();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            v = match inner.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
                Some(key) => v.get_mut(key)?.take(),
                None => v.get_mut(inner.parse::<usize>().ok()?)?.take(),
            };
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(Value::Str(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn run(f: Func, vals: Vec<Value>) -> Value {
        call(f, vals.len(), |i| vals[i].clone())
    }

    #[test]
    fn string_functions_follow_flink() {
        assert_eq!(
            run(Func::Substring, vec![s("hello"), Value::Int(2)]),
            s("ello")
        );
        assert_eq!(
            run(
                Func::Substring,
                vec![s("hello"), Value::Int(2), Value::Int(3)]
            ),
            s("ell")
        );
        assert_eq!(
            run(
                Func::Substring,
                vec![s("hello"), Value::Int(-3), Value::Int(2)]
            ),
            s("ll")
        );
        assert_eq!(run(Func::Substring, vec![s("hé"), Value::Int(9)]), s(""));
        assert_eq!(
            run(Func::Trim(TrimSide::Both), vec![s("  a b  ")]),
            s("a b")
        );
        assert_eq!(
            run(Func::Trim(TrimSide::Leading), vec![s("xxaxx"), s("x")]),
            s("axx")
        );
        assert_eq!(
            run(Func::Replace, vec![s("a-b-c"), s("-"), s("+")]),
            s("a+b+c")
        );
        assert_eq!(
            run(Func::SplitIndex, vec![s("a,b,c"), s(","), Value::Int(1)]),
            s("b")
        );
        assert_eq!(
            run(Func::SplitIndex, vec![s("a,b,c"), s(","), Value::Int(3)]),
            Value::Null
        );
        assert_eq!(run(Func::Concat, vec![s("a"), Value::Int(1)]), s("a1"));
        assert_eq!(run(Func::Concat, vec![s("a"), Value::Null]), Value::Null);
    }

    #[test]
    fn comparisons_and_nulls() {
        assert_eq!(
            run(
                Func::Greatest,
                vec![Value::Int(1), Value::Float(2.5), Value::Int(2)]
            ),
            Value::Float(2.5)
        );
        assert_eq!(run(Func::Least, vec![s("b"), s("a")]), s("a"));
        assert_eq!(
            run(Func::Greatest, vec![Value::Int(1), Value::Null]),
            Value::Null
        );
        assert_eq!(run(Func::NullIf, vec![s("a"), s("a")]), Value::Null);
        assert_eq!(run(Func::NullIf, vec![s("a"), s("b")]), s("a"));
        assert_eq!(
            run(Func::Coalesce, vec![Value::Null, Value::Int(3)]),
            Value::Int(3)
        );
    }

    #[test]
    fn json_value_reads_scalars_at_a_path() {
        let doc = s(r#"{"a":{"b":[10,{"c":"x"}]},"t":true}"#);
        assert_eq!(
            run(Func::JsonValue, vec![doc.clone(), s("$.a.b[0]")]),
            s("10")
        );
        assert_eq!(
            run(Func::JsonValue, vec![doc.clone(), s("$.a.b[1].c")]),
            s("x")
        );
        assert_eq!(
            run(Func::JsonValue, vec![doc.clone(), s("$['t']")]),
            s("true")
        );
        assert_eq!(
            run(Func::JsonValue, vec![doc.clone(), s("$.a")]),
            Value::Null
        );
        assert_eq!(run(Func::JsonValue, vec![doc, s("$.zz")]), Value::Null);
    }

    #[test]
    fn time_functions() {
        let ms = timestamp::parse("2026-03-25 10:20:30.456").unwrap();
        assert_eq!(
            run(Func::DateFormat, vec![Value::Ts(ms), s("yyyy/MM/dd HH")]),
            s("2026/03/25 10")
        );
        assert_eq!(
            run(Func::ToTimestamp, vec![s("2026-03-25 10:20:30.456")]),
            Value::Ts(ms)
        );
        assert_eq!(
            run(Func::ToTimestamp, vec![s("25.03.2026"), s("dd.MM.yyyy")]),
            Value::Ts(timestamp::parse("2026-03-25").unwrap())
        );
        assert_eq!(run(Func::ToTimestamp, vec![s("nope")]), Value::Null);
        assert_eq!(
            run(Func::Extract(TimeUnit::Hour), vec![Value::Ts(ms)]),
            Value::Int(10)
        );
        assert_eq!(
            run(
                Func::FloorTo(TimeUnit::Hour),
                vec![s("2026-03-25 10:20:30")]
            ),
            Value::Ts(timestamp::parse("2026-03-25 10:00:00").unwrap())
        );
        assert_eq!(
            run(Func::Floor, vec![Value::Float(-1.5)]),
            Value::Float(-2.0)
        );
    }
}
