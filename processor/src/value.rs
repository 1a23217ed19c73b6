//! The value of one SQL column in one row, its total order (for ordered state and keys) and its
//! fixed JSON text. Floats print as the shortest representation that reads back to the same
//! bits (serde_json's formatting), so output bytes never depend on platform or history.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::timestamp;

/// One SQL value. `Ts` is event time in ms since the epoch (UTC); `Json` is raw JSON text of a
/// nested object or array selected whole.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Ts(i64),
    Json(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The number as f64, for arithmetic that mixes integers and doubles.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// SQL truth: only `TRUE` passes a WHERE clause; NULL and FALSE do not.
    pub fn is_true(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            Value::Str(_) => 3,
            Value::Ts(_) => 4,
            Value::Json(_) => 5,
        }
    }

    /// Appends this value as JSON text.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_float(*f, out),
            Value::Str(s) => write_json_string(s, out),
            Value::Ts(ms) => {
                out.push('"');
                timestamp::write_rfc3339(*ms, out);
                out.push('"');
            }
            Value::Json(raw) => out.push_str(raw),
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    /// Plain text: strings without quotes, everything else as JSON.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Ts(ms) => timestamp::format_rfc3339(*ms),
            other => other.to_json(),
        }
    }
}

/// Writes a finite float in its shortest round-trip form (`12.0`, `0.1`, `1e21`); NaN and the
/// infinities are not JSON and become `null`.
pub fn write_float(f: f64, out: &mut String) {
    if f.is_finite() {
        let n = serde_json::Number::from_f64(f).expect("finite floats are JSON numbers");
        let _ = write!(out, "{n}");
    } else {
        out.push_str("null");
    }
}

/// A DOUBLE as `CAST(x AS STRING)` writes it in Flink: Java's `Double.toString` (shortest
/// round-trip digits; plain between 10^-3 and 10^7, else `d.dddE<n>`; always a fraction digit).
pub fn java_double_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        return if s.contains('.') { s } else { s + ".0" };
    }
    let s = format!("{f:e}");
    let (mantissa, exponent) = s.split_once('e').expect("{:e} writes an exponent");
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}

pub fn write_json_string(s: &str, out: &mut String) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).expect("strings serialize"));
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Value {}
impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Value {
    /// A total order: NULL < booleans < numbers (ints and floats compared as numbers) <
    /// strings < timestamps < raw JSON. Floats use IEEE total order.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Int(a), Value::Float(b)) => (*a as f64).total_cmp(b),
            (Value::Float(a), Value::Int(b)) => a.total_cmp(&(*b as f64)),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Ts(a), Value::Ts(b)) => a.cmp(b),
            (Value::Json(a), Value::Json(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// The record key of an output row: no key columns is no key; one string column is its text
/// (as Kafka Streams' string serde would write it); anything else is the compact JSON of the
/// value, or of the array of values.
pub fn key_bytes(key: &[Value]) -> Option<Vec<u8>> {
    match key {
        [] => None,
        [Value::Str(s)] => Some(s.as_bytes().to_vec()),
        [v] => Some(v.to_json().into_bytes()),
        many => {
            let mut s = String::from("[");
            for (i, v) in many.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                v.write_json(&mut s);
            }
            s.push(']');
            Some(s.into_bytes())
        }
    }
}

/// Rounds half away from zero at `digits` decimal places, on the shortest decimal
/// representation of `x` (so `round(2.675, 2)` is 2.68, as in Flink's DECIMAL arithmetic, not
/// 2.67 as binary rounding would give).
pub fn round_half_away(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let text = format!("{}", x.abs());
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (text.clone(), String::new()),
    };
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    if digits < 0 {
        let scale = 10f64.powi(-digits);
        return sign * ((x.abs() / scale).round() * scale);
    }
    let digits = digits as usize;
    if frac_part.len() <= digits {
        return x;
    }
    let mut kept: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes().take(digits))
        .collect();
    let round_up = frac_part.as_bytes()[digits] >= b'5';
    if round_up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let split = kept.len() - digits;
    let mut s = String::from_utf8(kept[..split].to_vec()).expect("ascii digits");
    if digits > 0 {
        s.push('.');
        s.push_str(std::str::from_utf8(&kept[split..]).expect("ascii digits"));
    }
    sign * s.parse::<f64>().expect("a decimal number parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_is_half_away_from_zero_on_the_decimal_repr() {
        assert_eq!(round_half_away(2.675, 2), 2.68);
        assert_eq!(round_half_away(-2.675, 2), -2.68);
        assert_eq!(round_half_away(2.5, 0), 3.0);
        assert_eq!(round_half_away(-0.5, 0), -1.0);
        assert_eq!(round_half_away(9.995, 2), 10.0);
        assert_eq!(round_half_away(1.2, 3), 1.2);
        assert_eq!(round_half_away(1234.5, -2), 1200.0);
    }

    /// CAST(DOUBLE AS STRING) as Flink writes it (found by the Flink differential suite,
    /// processor/tests/flink/cast_format; issue 14).
    #[test]
    fn doubles_cast_to_string_as_java_writes_them() {
        assert_eq!(java_double_string(0.1), "0.1");
        assert_eq!(java_double_string(3.0), "3.0");
        assert_eq!(java_double_string(-0.0), "-0.0");
        assert_eq!(java_double_string(0.001), "0.001");
        assert_eq!(java_double_string(9_999_999.5), "9999999.5");
        assert_eq!(java_double_string(1e7), "1.0E7");
        assert_eq!(java_double_string(123_456_789.125), "1.23456789125E8");
        assert_eq!(java_double_string(1e20), "1.0E20");
        assert_eq!(java_double_string(1e-7), "1.0E-7");
        assert_eq!(java_double_string(-2.5e-4), "-2.5E-4");
        assert_eq!(java_double_string(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn floats_print_in_shortest_round_trip_form() {
        let p = |f: f64| {
            let mut s = String::new();
            write_float(f, &mut s);
            s
        };
        assert_eq!(p(12.0), "12.0");
        assert_eq!(p(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(p(f64::NAN), "null");
    }

    #[test]
    fn ints_and_floats_compare_as_numbers() {
        assert_eq!(Value::Int(2), Value::Float(2.0));
        assert!(Value::Int(2) < Value::Float(2.5));
        assert!(Value::Null < Value::Bool(false));
    }
}
