//! `ChangelogOperator` runs a filter/map over a PRIMARY KEY table: its input is a changelog
//! (each record the latest row of its key, a record with an empty value deleting the key), and
//! so is its output — an upsert stream keyed by the same key. A row that passes WHERE is written
//! under its key; a row that does not, or a tombstone, deletes the key's earlier row if one was
//! written (a tombstone out), as Flink's filter over an upsert source does. A compacted reading
//! of the output is Flink's final table. A bounded run writes only the final rows, by key.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::TABLE_KEYS_MAX;
use crate::operator::row::{tombstone_key, RowReader};
use crate::operator::{
    column_prefixes, decode_state, encode_state, render_row, Emit, EventRange, InputRecord,
    Operator, Outcome, ResultRow, ResultsFilter, StateSize,
};
use crate::plan::expr::Expr;
use crate::plan::{Body, Plan};
use crate::state::results::Results;
use crate::value::{key_bytes, Value};
use crate::window::Key;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ChangelogState {
    /// Output key -> the row written under it (the keys whose deletion must be written).
    rows: BTreeMap<Vec<u8>, String>,
    results: Results,
}

pub struct ChangelogOperator {
    plan: Arc<Plan>,
    bounded: bool,
    exprs: Vec<Expr>,
    reader: RowReader,
    prefixes: Vec<String>,
    range: EventRange,
    state: ChangelogState,
}

impl ChangelogOperator {
    /// Panics unless `plan` is a map over a PRIMARY KEY table (`for_plan` picks it only then).
    pub fn new(plan: Plan, bounded: bool) -> ChangelogOperator {
        let exprs = match &plan.body {
            Body::Map { exprs } => exprs.clone(),
            other => unreachable!("a changelog is only mapped, not {other:?}"),
        };
        assert!(!plan.primary_key.slots.is_empty(), "a PRIMARY KEY table");
        let plan = Arc::new(plan);
        ChangelogOperator {
            reader: RowReader::new(Arc::clone(&plan)),
            prefixes: column_prefixes(&plan.columns),
            exprs,
            plan,
            bounded,
            range: EventRange::default(),
            state: ChangelogState::default(),
        }
    }

    fn put(&mut self, key: Vec<u8>, json: String, out: &mut Emit) -> Result<()> {
        if self.state.rows.len() >= TABLE_KEYS_MAX && !self.state.rows.contains_key(&key) {
            return Err(Error::Limit {
                limit: "TABLE_KEYS_MAX",
                max: TABLE_KEYS_MAX as u64,
                what: "keys of a PRIMARY KEY table's mapped rows".into(),
            });
        }
        self.state.results.put(None, Some(&key), &json);
        if !self.bounded {
            out.push(Some(key.clone()), json.clone().into_bytes());
        }
        self.state.rows.insert(key, json);
        Ok(())
    }

    fn delete(&mut self, key: &[u8], out: &mut Emit) {
        if self.state.rows.remove(key).is_some() {
            self.state.results.remove(None, key);
            if !self.bounded {
                out.delete(key.to_vec());
            }
        }
    }
}

impl Operator for ChangelogOperator {
    fn process(
        &mut self,
        record: &InputRecord<'_>,
        _watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<Outcome> {
        if record.value.is_empty() {
            let pk = &self.plan.primary_key;
            let Some(key) = record
                .key
                .and_then(|k| tombstone_key(k, pk, &self.plan.slot_types))
            else {
                return Ok(Outcome::Invalid {
                    reason: "an empty value (a deletion) needs a record key naming the primary key"
                        .into(),
                });
            };
            if let Some(key) = key_bytes(&key) {
                self.delete(&key, out);
            }
            return Ok(Outcome::Skipped);
        }
        let t = match self.reader.read(record) {
            Ok(t) => t,
            Err(invalid) => return Ok(invalid),
        };
        if !self.range.contains(t) {
            return Ok(Outcome::Skipped);
        }
        let row = &self.reader.row;
        let key: Key = self
            .plan
            .primary_key
            .slots
            .iter()
            .map(|s| row[*s].clone())
            .collect();
        let Some(key) = key_bytes(&key) else {
            return Ok(Outcome::Accepted { event_time_ms: t });
        };
        let passes = self
            .plan
            .filter
            .as_ref()
            .is_none_or(|f| f.eval(row).is_true());
        if passes {
            let values: Vec<Value> = self.exprs.iter().map(|e| e.eval(row)).collect();
            let json = render_row(&self.prefixes, &values);
            self.put(key, json, out)?;
        } else {
            self.delete(&key, out);
        }
        Ok(Outcome::Accepted { event_time_ms: t })
    }

    fn set_event_range(&mut self, range: EventRange) {
        self.range = range;
    }

    fn advance(&mut self, _watermark_ms: i64, _out: &mut Emit) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, out: &mut Emit) -> Result<()> {
        if self.bounded {
            for (key, json) in &self.state.rows {
                out.push(Some(key.clone()), json.clone().into_bytes());
            }
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        encode_state(&self.state, "changelog")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        self.state = decode_state(snapshot, "changelog")?;
        Ok(())
    }

    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.state.results.get(filter)
    }

    fn state_sizes(&self) -> Vec<StateSize> {
        vec![StateSize {
            state: "table_keys",
            entries: self.state.rows.len() as u64,
            max: TABLE_KEYS_MAX as u64,
            limit: "TABLE_KEYS_MAX",
        }]
    }
}
