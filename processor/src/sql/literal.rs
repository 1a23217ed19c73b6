//! The literals every part of the SQL compiler reads: string literals, `INTERVAL`s and duration
//! texts, and the error that names a refused construct at its position.

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};

/// An error at `span`, naming the refused construct.
pub fn err_at(span: Span, construct: impl Into<String>, message: impl Into<String>) -> Error {
    Error::sql(span.start.line, span.start.column, construct, message)
}

/// A string literal's text (option values, LIKE patterns).
pub fn literal_string(e: &ast::Expr) -> Result<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => Ok(s.clone()),
            ast::Value::Number(n, _) => Ok(n.clone()),
            _ => Err(err_at(
                e.span(),
                "literal",
                format!("expected a string literal, found {e}"),
            )),
        },
        _ => Err(err_at(
            e.span(),
            "literal",
            format!("expected a string literal, found {e}"),
        )),
    }
}

/// `INTERVAL '5' SECOND` (or MINUTE, HOUR, DAY, MILLISECOND; `INTERVAL '10 s'`) in ms.
pub fn interval_ms(iv: &ast::Interval, span: Span) -> Result<i64> {
    use ast::DateTimeField as F;
    let text = literal_string(&iv.value)?;
    if iv.leading_field.is_none() {
        return duration_text(&text).ok_or_else(|| {
            err_at(
                span,
                "INTERVAL",
                format!("interval {text:?} is not a duration"),
            )
        });
    }
    let unit_ms = match iv.leading_field.as_ref().expect("checked above") {
        F::Millisecond | F::Milliseconds => 1,
        F::Second | F::Seconds => 1000,
        F::Minute | F::Minutes => 60_000,
        F::Hour | F::Hours => 3_600_000,
        F::Day | F::Days => 86_400_000,
        other => {
            return Err(err_at(
                span,
                "INTERVAL",
                format!("interval unit {other} is not supported"),
            ))
        }
    };
    if iv.last_field.is_some() {
        return Err(err_at(
            span,
            "INTERVAL",
            "interval ranges (... TO ...) are not supported",
        ));
    }
    let n: f64 = text.trim().parse().map_err(|_| {
        err_at(
            span,
            "INTERVAL",
            format!("interval {text:?} is not a number"),
        )
    })?;
    Ok((n * unit_ms as f64).round() as i64)
}

/// Parses `10 s`, `500 ms`, `1 min`, `2 h`, `1 d` (and long unit names).
pub fn duration_text(s: &str) -> Option<i64> {
    let s = s.trim();
    // A bare number is milliseconds, as in Flink's duration options.
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let unit_ms = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "second" | "seconds" => 1000,
        "min" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}
