//! SQL's scalar types and the value-level rules every expression and function uses: comparison,
//! CAST and how a JSON value is read into a typed column. Below both `expr` and `func`.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::timestamp;
use crate::value::Value;

/// A static SQL type; `Any` for columns inferred from JSON without a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Type {
    Any,
    Bool,
    Int,
    Double,
    Str,
    Ts,
}

impl Type {
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Double | Type::Any)
    }
    pub fn name(self) -> &'static str {
        match self {
            Type::Any => "ANY",
            Type::Bool => "BOOLEAN",
            Type::Int => "BIGINT",
            Type::Double => "DOUBLE",
            Type::Str => "STRING",
            Type::Ts => "TIMESTAMP(3)",
        }
    }
}

/// SQL comparison: NULL when either side is NULL or the types cannot be compared.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_))
        | (Value::Str(_), Value::Str(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Ts(_), Value::Ts(_))
        | (Value::Json(_), Value::Json(_)) => Some(a.cmp(b)),
        (Value::Ts(t), Value::Str(s)) => timestamp::parse(s).map(|u| t.cmp(&u)),
        (Value::Str(s), Value::Ts(t)) => timestamp::parse(s).map(|u| u.cmp(t)),
        _ => None,
    }
}

/// A JSON value read into a column of type `t`: as CAST, except that a STRING column keeps a
/// boolean or number as its JSON text (`true`, `1.5`), as Flink's json format reads it.
pub fn coerce(v: Value, t: Type) -> Value {
    match (v, t) {
        (v @ (Value::Bool(_) | Value::Float(_)), Type::Str) => Value::Str(v.to_text()),
        (v, t) => cast(v, t),
    }
}

/// CAST; a value that does not convert is NULL (Flink's TRY_CAST behaviour, never a failure).
pub fn cast(v: Value, t: Type) -> Value {
    match (v, t) {
        (Value::Null, _) => Value::Null,
        (v, Type::Any) => v,
        (Value::Int(i), Type::Double) => Value::Float(i as f64),
        (Value::Float(f), Type::Int) => {
            if f.is_finite() {
                Value::Int(f.trunc() as i64)
            } else {
                Value::Null
            }
        }
        (Value::Str(s), Type::Int) => s
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .unwrap_or(Value::Null),
        (Value::Str(s), Type::Double) => s
            .trim()
            .parse::<f64>()
            .map(Value::Float)
            .unwrap_or(Value::Null),
        (Value::Str(s), Type::Bool) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Null,
        },
        (Value::Bool(b), Type::Int) => Value::Int(b as i64),
        (Value::Str(s), Type::Ts) => timestamp::parse(&s).map(Value::Ts).unwrap_or(Value::Null),
        (Value::Int(ms), Type::Ts) => Value::Ts(ms),
        (Value::Ts(ms), Type::Int) => Value::Int(ms),
        (Value::Ts(ms), Type::Str) => Value::Str(timestamp::format_sql(ms)),
        (v @ Value::Str(_), Type::Str) => v,
        (Value::Bool(b), Type::Str) => Value::Str(if b { "TRUE" } else { "FALSE" }.into()),
        (Value::Float(f), Type::Str) => Value::Str(crate::value::java_double_string(f)),
        (v, Type::Str) => Value::Str(v.to_text()),
        (v @ Value::Int(_), Type::Int) | (v @ Value::Float(_), Type::Double) => v,
        (v @ Value::Bool(_), Type::Bool) | (v @ Value::Ts(_), Type::Ts) => v,
        _ => Value::Null,
    }
}
