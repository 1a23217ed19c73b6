//! `RowReader` turns one input record into the row a plan's expressions read: the fields the
//! query uses (coerced to their declared types), the record timestamp where `_timestamp` is
//! read, and the record's event time. Every operator that runs a SQL plan reads its input
//! through it, so they agree on what is invalid and on event time.

use std::sync::Arc;

use crate::operator::{InputRecord, Outcome};
use crate::plan::expr::{coerce, Type};
use crate::plan::{EventTime, Plan};
use crate::timestamp::DayCache;
use crate::value::Value;

pub struct RowReader {
    plan: Arc<Plan>,
    /// The current record's row, one value per slot; refilled for every record.
    pub row: Vec<Value>,
    /// The last event date decoded, carried from record to record.
    days: DayCache,
}

impl RowReader {
    pub fn new(plan: Arc<Plan>) -> RowReader {
        let row = vec![Value::Null; plan.fields.slots()];
        RowReader {
            plan,
            row,
            days: DayCache::default(),
        }
    }

    /// Fills the row from `record` and returns its event time, or the `Outcome::Invalid` that
    /// says why it cannot be processed.
    pub fn read(&mut self, record: &InputRecord<'_>) -> Result<i64, Outcome> {
        let plan = &self.plan;
        if let Err(reason) = plan
            .fields
            .extract_cached(record.value, &mut self.row, &mut self.days)
        {
            return Err(Outcome::Invalid { reason });
        }
        if let Some(slot) = plan.timestamp_slot {
            self.row[slot] = Value::Ts(record.timestamp_ms);
        }
        for (slot, (v, t)) in self.row.iter_mut().zip(&plan.slot_types).enumerate() {
            if *t != Type::Any && !v.is_null() && !has_type(v, *t) {
                let original = std::mem::take(v);
                *v = coerce(original.clone(), *t);
                if v.is_null() {
                    // A value that does not convert is never a null row: the record is invalid.
                    let field = plan.fields.path_of(slot).unwrap_or_default();
                    return Err(Outcome::Invalid {
                        reason: format!(
                            "field {field}: {} is not a {}",
                            original.to_json(),
                            t.name()
                        ),
                    });
                }
            }
        }
        self.event_time(record)
            .map_err(|reason| Outcome::Invalid { reason })
    }

    fn event_time(&self, record: &InputRecord<'_>) -> Result<i64, String> {
        match self.plan.event_time {
            EventTime::RecordTimestamp => Ok(record.timestamp_ms),
            EventTime::Slot(i) => match &self.row[i] {
                Value::Ts(ms) | Value::Int(ms) => Ok(*ms),
                Value::Float(f) if f.is_finite() => Ok(*f as i64),
                Value::Str(s) => crate::timestamp::parse(s)
                    .ok_or_else(|| format!("event time {s:?} is not a timestamp")),
                Value::Null => Err("the event-time field is missing or null".into()),
                other => Err(format!("event time {} is not a timestamp", other.to_json())),
            },
        }
    }
}

/// True when `cast(v, t)` would return `v` unchanged (the common case: the JSON already has
/// the declared type), so the row keeps the value without moving it through `cast`.
fn has_type(v: &Value, t: Type) -> bool {
    matches!(
        (v, t),
        (Value::Bool(_), Type::Bool)
            | (Value::Int(_), Type::Int)
            | (Value::Float(_), Type::Double)
            | (Value::Str(_), Type::Str)
            | (Value::Ts(_), Type::Ts)
    )
}
