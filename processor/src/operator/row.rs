//! Reading one input record into a row of slots: the fields a query uses, coerced to their
//! declared types, and its event time. What every SQL operator does first with a record.

use crate::extract::FieldSet;
use crate::operator::InputRecord;
use crate::plan::expr::{coerce, Type};
use crate::plan::EventTime;
use crate::timestamp::DayCache;
use crate::value::Value;

/// Fills `row` from the record's JSON with the fields of `fields`, each coerced to its slot's
/// type; `Err` is why the record is invalid (not JSON, a value that does not convert).
pub fn read_row(
    fields: &FieldSet,
    slot_types: &[Type],
    record: &InputRecord<'_>,
    row: &mut [Value],
    days: &mut DayCache,
) -> Result<(), String> {
    fields.extract_cached(record.value, row, days)?;
    for (slot, (v, t)) in row.iter_mut().zip(slot_types).enumerate() {
        if *t != Type::Any && !v.is_null() && !has_type(v, *t) {
            let original = std::mem::take(v);
            *v = coerce(original.clone(), *t);
            if v.is_null() {
                // A value that does not convert is never a null row: the record is invalid.
                let field = fields.path_of(slot).unwrap_or_default();
                return Err(format!(
                    "field {field}: {} is not a {}",
                    original.to_json(),
                    t.name()
                ));
            }
        }
    }
    Ok(())
}

pub fn has_type(v: &Value, t: Type) -> bool {
    matches!(
        (v, t),
        (Value::Bool(_), Type::Bool)
            | (Value::Int(_), Type::Int)
            | (Value::Float(_), Type::Double)
            | (Value::Str(_), Type::Str)
            | (Value::Ts(_), Type::Ts)
    )
}

/// The event time of a row read by `read_row`.
pub fn event_time(how: EventTime, row: &[Value], record: &InputRecord<'_>) -> Result<i64, String> {
    match how {
        EventTime::RecordTimestamp => Ok(record.timestamp_ms),
        EventTime::Slot(i) => match &row[i] {
            Value::Ts(ms) | Value::Int(ms) => Ok(*ms),
            Value::Float(f) if f.is_finite() => Ok(*f as i64),
            Value::Str(s) => crate::timestamp::parse(s)
                .ok_or_else(|| format!("event time {s:?} is not a timestamp")),
            Value::Null => Err("the event-time field is missing or null".into()),
            other => Err(format!("event time {} is not a timestamp", other.to_json())),
        },
    }
}

/// Renders a row as a JSON object with the given `"name":` prefixes, in order.
pub fn render(column_prefixes: &[String], values: &[Value]) -> String {
    let mut s = String::with_capacity(16 * values.len() + 2);
    s.push('{');
    for (i, (prefix, v)) in column_prefixes.iter().zip(values).enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(prefix);
        v.write_json(&mut s);
    }
    s.push('}');
    s
}

/// `"name":` for each output column, JSON-escaped once.
pub fn column_prefixes(columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let mut s = String::new();
            crate::value::write_json_string(c, &mut s);
            s.push(':');
            s
        })
        .collect()
}
