//! `RowReader` turns one input record into the row a plan's expressions read: the fields the
//! query uses (coerced to their declared types), the record timestamp where `_timestamp` is
//! read, and the record's event time. Every operator that runs a SQL plan reads its input
//! through it, so they agree on what is invalid and on event time. A join reads each of its
//! two tables with a reader of its own, into rows of the same width (the joined row's).

use std::sync::Arc;

use crate::extract::FieldSet;
use crate::operator::{InputRecord, Outcome};
use crate::plan::expr::{coerce, Type};
use crate::plan::{EventTime, Plan, PrimaryKey};
use crate::timestamp::DayCache;
use crate::value::Value;
use crate::window::Key;

pub struct RowReader {
    plan: Arc<Plan>,
    /// Which table of the plan this reader reads: the input's, or a join's right table.
    right: bool,
    /// The current record's row, one value per slot; refilled for every record.
    pub row: Vec<Value>,
    /// The last event date decoded, carried from record to record.
    days: DayCache,
}

impl RowReader {
    /// Reads the plan's input table.
    pub fn new(plan: Arc<Plan>) -> RowReader {
        RowReader::of_table(plan, false)
    }

    /// Reads the input table (`right` false) or a join's right table.
    pub fn of_table(plan: Arc<Plan>, right: bool) -> RowReader {
        assert!(!right || plan.join.is_some(), "a right table needs a join");
        let row = vec![Value::Null; plan.slot_types.len()];
        RowReader {
            plan,
            right,
            row,
            days: DayCache::default(),
        }
    }

    fn fields(&self) -> &FieldSet {
        match (&self.plan.join, self.right) {
            (Some(join), true) => &join.right.fields,
            _ => &self.plan.fields,
        }
    }

    /// Fills the row from `record` and returns its event time, or the `Outcome::Invalid` that
    /// says why it cannot be processed.
    pub fn read(&mut self, record: &InputRecord<'_>) -> Result<i64, Outcome> {
        let plan = Arc::clone(&self.plan);
        let fields = match (&plan.join, self.right) {
            (Some(join), true) => &join.right.fields,
            _ => &plan.fields,
        };
        if let Err(reason) = fields.extract_cached(record.value, &mut self.row, &mut self.days) {
            return Err(Outcome::Invalid { reason });
        }
        if let (false, Some(slot)) = (self.right, plan.timestamp_slot) {
            self.row[slot] = Value::Ts(record.timestamp_ms);
        }
        for (slot, (v, t)) in self.row.iter_mut().zip(&plan.slot_types).enumerate() {
            if *t != Type::Any && !v.is_null() && !has_type(v, *t) {
                let original = std::mem::take(v);
                *v = coerce(original.clone(), *t);
                if v.is_null() {
                    // A value that does not convert is never a null row: the record is invalid.
                    let field = fields.path_of(slot).unwrap_or_default();
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

    /// The slots this reader fills (its table's columns, and `_timestamp` for the input).
    pub fn slots(&self) -> Vec<usize> {
        let mut slots = self.fields().filled_slots();
        if !self.right {
            slots.extend(self.plan.timestamp_slot);
        }
        slots
    }

    fn event_time(&self, record: &InputRecord<'_>) -> Result<i64, String> {
        let how = match (&self.plan.join, self.right) {
            (Some(join), true) => join.right.event_time,
            _ => self.plan.event_time,
        };
        match how {
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

/// The primary key a tombstone's record key names: a JSON object with the key columns, or (for
/// a one-column key) the key's text, each coerced to its column's type. None when it names
/// no key of `pk`.
pub fn tombstone_key(record_key: &[u8], pk: &PrimaryKey, slot_types: &[Type]) -> Option<Key> {
    let types: Vec<Type> = pk.slots.iter().map(|s| slot_types[*s]).collect();
    let text = std::str::from_utf8(record_key).ok()?;
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) {
        return pk
            .names
            .iter()
            .zip(&types)
            .map(|(n, t)| map.get(n).map(|v| coerce(json_value(v), *t)))
            .collect();
    }
    match types.as_slice() {
        [t] => Some(vec![coerce(Value::Str(text.to_string()), *t)]),
        _ => None,
    }
}

/// A scalar of a JSON record key as a SQL value.
fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        other => Value::Json(other.to_string()),
    }
}
