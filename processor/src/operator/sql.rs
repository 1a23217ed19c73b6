//! `SqlOperator` runs a compiled SQL `Plan`: extract the fields the query uses, find the event
//! time, filter, then map, aggregate into windows, or keep an upsert table. Rows are rendered
//! as JSON objects with the selected column names in SELECT order.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::BOUNDED_HELD_ROWS_MAX;
use crate::operator::over::{OverState, OverStateV1};
use crate::operator::row::RowReader;
use crate::operator::{
    column_prefixes, render_exprs, render_row, Emit, EventRange, InputRecord, Operator, Outcome,
    ResultRow, ResultsFilter, StateSize,
};
use crate::plan::aggregate::{new_accs, update_accs, Acc};
use crate::plan::expr::Expr;
use crate::plan::{Aggregate, Body, Plan};
use crate::state::results::Results;
use crate::state::table::Table;
use crate::value::{key_bytes, Value};
use crate::window::{Fired, Key, Windows};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SqlState {
    windows: Windows,
    table: Table,
    results: Results,
    /// Rows of a bounded run with ORDER BY / LIMIT, held until the end: (key, row).
    held: Vec<(Option<Vec<u8>>, Vec<Value>)>,
    over: OverState,
}

/// Leads a snapshot in the current layout. Older snapshots start with bincode's length of the
/// first window map, which is never this large, so the two cannot be confused.
const SNAPSHOT_TAG: [u8; 8] = *b"kSQLst3\0";

/// The state's layout before OVER frames were incremental, still read from older checkpoints.
#[derive(Deserialize)]
struct SqlStateV2 {
    windows: Windows,
    table: Table,
    results: Results,
    held: Vec<(Option<Vec<u8>>, Vec<Value>)>,
    over: OverStateV1,
}

/// The state's layout before OVER aggregates, still read from older checkpoints.
#[derive(Deserialize)]
struct SqlStateV1 {
    windows: Windows,
    table: Table,
    results: Results,
    held: Vec<(Option<Vec<u8>>, Vec<Value>)>,
}

pub struct SqlOperator {
    plan: Arc<Plan>,
    /// A bounded run (backfill): only final rows are written.
    bounded: bool,
    state: SqlState,
    /// Reads each record into the row the plan's expressions evaluate over.
    reader: RowReader,
    /// `"name":` for each output column, JSON-escaped once.
    column_prefixes: Vec<String>,
    /// Per GROUP BY key: the slot it can be moved out of (a bare column no aggregate reads).
    key_moves: Vec<Option<usize>>,
    /// Per OVER output column: the slot it can be moved out of.
    over_moves: Vec<Option<usize>>,
    /// OVER rows the last advance emitted (a buffer kept for its capacity).
    over_rows: Vec<Vec<Value>>,
    key: Key,
    range: EventRange,
}

impl SqlOperator {
    /// Panics on a Top-N plan, which has an operator of its own (`operator::for_plan`).
    pub fn new(plan: Plan, bounded: bool) -> SqlOperator {
        assert!(
            !matches!(plan.body, Body::TopN(_)),
            "a Top-N runs on TopNOperator"
        );
        let column_prefixes = column_prefixes(&plan.columns);
        let key_moves = key_moves(&plan);
        let over_moves = over_moves(&plan);
        let plan = Arc::new(plan);
        SqlOperator {
            reader: RowReader::new(Arc::clone(&plan)),
            plan,
            bounded,
            state: SqlState::default(),
            column_prefixes,
            key_moves,
            over_moves,
            over_rows: Vec::new(),
            key: Vec::new(),
            range: EventRange::default(),
        }
    }

    fn holds_rows(&self) -> bool {
        self.bounded && (!self.plan.order_by.is_empty() || self.plan.limit.is_some())
    }

    fn render(&self, values: &[Value]) -> String {
        render_row(&self.column_prefixes, values)
    }

    fn output_row(
        &mut self,
        key: Option<Vec<u8>>,
        window_start: Option<i64>,
        values: Vec<Value>,
        out: &mut Emit,
    ) -> Result<()> {
        if self.holds_rows() {
            return self.hold(key, values);
        }
        let json = self.render(&values);
        self.put_row(key, window_start, json, out);
        Ok(())
    }

    /// A rendered row: into the results and out.
    fn put_row(
        &mut self,
        key: Option<Vec<u8>>,
        window_start: Option<i64>,
        json: String,
        out: &mut Emit,
    ) {
        self.state.results.put(window_start, key.as_deref(), &json);
        out.push(key, json.into_bytes());
    }

    /// Keeps a bounded run's row for its final ORDER BY / LIMIT. With a LIMIT only the best
    /// rows so far are kept (a stable sort keeps ties in arrival order, so cutting early gives
    /// the rows one sort at the end would); without one, at most `BOUNDED_HELD_ROWS_MAX`.
    fn hold(&mut self, key: Option<Vec<u8>>, values: Vec<Value>) -> Result<()> {
        self.state.held.push((key, values));
        let held = self.state.held.len();
        match self.plan.limit {
            Some(limit) if held >= (2 * limit as usize).max(1024) => {
                sort_held(&self.plan.order_by, &mut self.state.held);
                self.state.held.truncate(limit as usize);
            }
            None if held > BOUNDED_HELD_ROWS_MAX => {
                return Err(Error::Limit {
                    limit: "BOUNDED_HELD_ROWS_MAX",
                    max: BOUNDED_HELD_ROWS_MAX as u64,
                    what: "rows a bounded run holds for its ORDER BY; add a LIMIT".into(),
                })
            }
            _ => {}
        }
        Ok(())
    }

    fn group_row(
        agg: &Aggregate,
        key: &Key,
        accs: &[Acc],
        window: Option<(i64, i64)>,
    ) -> Vec<Value> {
        let mut row = Vec::with_capacity(key.len() + accs.len() + 2);
        match window {
            Some((s, e)) => row.extend([Value::Ts(s), Value::Ts(e)]),
            None => row.extend([Value::Null, Value::Null]),
        }
        row.extend(key.iter().cloned());
        row.extend(accs.iter().map(Acc::result));
        debug_assert_eq!(row.len(), agg.keys.len() + agg.aggs.len() + 2);
        row
    }

    /// Evaluates the SELECT list over a group row; None when HAVING rejects it.
    fn project_group(agg: &Aggregate, group: &[Value]) -> Option<Vec<Value>> {
        if let Some(h) = &agg.having {
            if !h.eval(group).is_true() {
                return None;
            }
        }
        Some(agg.outputs.iter().map(|e| e.eval(group)).collect())
    }

    /// OVER rows the watermark has passed, in order, each rendered with its aggregates.
    fn advance_over(&mut self, watermark_ms: i64, out: &mut Emit) -> Result<()> {
        let plan = Arc::clone(&self.plan);
        let Body::Over(over) = &plan.body else {
            return Ok(());
        };
        let mut rows = std::mem::take(&mut self.over_rows);
        self.state
            .over
            .advance(over, watermark_ms, |row| rows.push(row))?;
        for mut row in rows.drain(..) {
            let mut values: Vec<Value> = over
                .outputs
                .iter()
                .zip(&self.over_moves)
                .map(|(e, m)| match m {
                    Some(_) => Value::Null,
                    None => e.eval(&row),
                })
                .collect();
            for (v, m) in values.iter_mut().zip(&self.over_moves) {
                if let Some(slot) = m {
                    *v = std::mem::take(&mut row[*slot]);
                }
            }
            self.output_row(None, None, values, out)?;
        }
        self.over_rows = rows;
        Ok(())
    }

    fn emit_fired(&mut self, fired: Vec<Fired>, out: &mut Emit) -> Result<()> {
        let plan = Arc::clone(&self.plan);
        let Body::Aggregate(agg) = &plan.body else {
            return Ok(());
        };
        for f in fired {
            let group = Self::group_row(agg, &f.key, &f.accs, Some((f.start_ms, f.end_ms)));
            if let Some(values) = Self::project_group(agg, &group) {
                self.output_row(key_bytes(&f.key), Some(f.start_ms), values, out)?;
            }
        }
        Ok(())
    }

    fn aggregate(&mut self, t: i64, watermark_ms: i64, out: &mut Emit) -> Result<bool> {
        let plan = Arc::clone(&self.plan);
        let Body::Aggregate(agg) = &plan.body else {
            unreachable!("aggregate() is only called for aggregates")
        };
        // Build the key in a reused buffer, moving bare columns out of the row (the row is
        // refilled for every record) instead of cloning them.
        let mut key = std::mem::take(&mut self.key);
        if key.len() == agg.keys.len() && self.key_moves.iter().all(Option::is_some) {
            // Every key is a bare column: swap it with the previous record's key, which hands
            // that key's string buffer back to the row for the extractor to refill. No key
            // expression reads the row, so the swapped-in values are never seen.
            for (k, mv) in key.iter_mut().zip(&self.key_moves) {
                let i = mv.expect("checked above");
                std::mem::swap(k, &mut self.reader.row[i]);
            }
        } else {
            key.clear();
            for (e, mv) in agg.keys.iter().zip(&self.key_moves) {
                key.push(match mv {
                    Some(i) => std::mem::take(&mut self.reader.row[*i]),
                    None => e.eval(&self.reader.row),
                });
            }
        }
        let result = self.aggregate_key(&plan, &key, t, watermark_ms, out);
        self.key = key;
        result
    }

    fn aggregate_key(
        &mut self,
        plan: &Plan,
        key: &Key,
        t: i64,
        watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<bool> {
        let Body::Aggregate(agg) = &plan.body else {
            unreachable!("aggregate() is only called for aggregates")
        };
        let lw = (plan.allowed_lateness_ms, watermark_ms);
        let (specs, row) = (&agg.aggs, &self.reader.row);
        let new = || new_accs(specs);
        let update = |accs: &mut [Acc]| update_accs(specs, accs, row);
        match agg.window {
            Some(spec) => self.state.windows.add(spec, key, t, lw, specs, update),
            None => {
                // As Flink's GroupAggFunction: a record that leaves the group's aggregates as
                // they were emits nothing (SELECT DISTINCT emits a row only when first seen).
                let before: Option<Vec<Value>> = self
                    .state
                    .table
                    .get(key)
                    .map(|accs| Self::group_row(agg, key, accs, None));
                let accs = self.state.table.upsert(key, new, update)?.to_vec();
                if self.bounded {
                    return Ok(true);
                }
                let group = Self::group_row(agg, key, &accs, None);
                if before.as_ref() == Some(&group) {
                    return Ok(true);
                }
                match Self::project_group(agg, &group) {
                    Some(values) => self.output_row(key_bytes(key), None, values, out)?,
                    None => {
                        // HAVING rejects a row it had let through: the updating table loses
                        // it, so the upsert stream deletes its key (Flink retracts it).
                        let shown = before.is_some_and(|b| Self::project_group(agg, &b).is_some());
                        if let (true, Some(k)) = (shown, key_bytes(key)) {
                            self.state.results.remove(None, &k);
                            out.delete(k);
                        }
                    }
                }
                Ok(true)
            }
        }
    }
}

/// Per OVER output column: the slot it can be moved out of (a bare column or aggregate result
/// that no other output reads), instead of cloned.
fn over_moves(plan: &Plan) -> Vec<Option<usize>> {
    let Body::Over(over) = &plan.body else {
        return Vec::new();
    };
    let mut reads = Vec::new();
    over.outputs.iter().for_each(|e| e.slots(&mut reads));
    over.outputs
        .iter()
        .map(|e| match e {
            Expr::Slot(i) if reads.iter().filter(|r| *r == i).count() == 1 => Some(*i),
            _ => None,
        })
        .collect()
}

/// For each GROUP BY key: the slot it can be moved out of — a bare column that no aggregate
/// argument reads and no earlier key has taken.
fn key_moves(plan: &Plan) -> Vec<Option<usize>> {
    let Body::Aggregate(agg) = &plan.body else {
        return Vec::new();
    };
    let mut used = Vec::new();
    agg.aggs
        .iter()
        .filter_map(|a| a.arg.as_ref())
        .for_each(|e| e.slots(&mut used));
    agg.keys
        .iter()
        .map(|k| match k {
            Expr::Slot(i) if !used.contains(i) => {
                used.push(*i);
                Some(*i)
            }
            _ => {
                k.slots(&mut used);
                None
            }
        })
        .collect()
}

impl Operator for SqlOperator {
    fn process(
        &mut self,
        record: &InputRecord<'_>,
        watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<Outcome> {
        let t = match self.reader.read(record) {
            Ok(t) => t,
            Err(invalid) => return Ok(invalid),
        };
        if !self.range.contains(t) {
            return Ok(Outcome::Skipped);
        }
        if let Some(f) = &self.plan.filter {
            if !f.eval(&self.reader.row).is_true() {
                return Ok(Outcome::Accepted { event_time_ms: t });
            }
        }
        let plan = Arc::clone(&self.plan);
        match &plan.body {
            Body::PassThrough => {
                let value = record.value.to_vec();
                if self.holds_rows() {
                    let v = String::from_utf8_lossy(&value).into_owned();
                    self.hold(None, vec![Value::Json(v)])?;
                } else {
                    self.state
                        .results
                        .put(None, None, &String::from_utf8_lossy(&value));
                    out.push(None, value);
                }
            }
            Body::Map { exprs } if !self.holds_rows() => {
                let json = render_exprs(&self.column_prefixes, exprs, &self.reader.row);
                self.put_row(None, None, json, out);
            }
            Body::Map { exprs } => {
                let values: Vec<Value> = exprs.iter().map(|e| e.eval(&self.reader.row)).collect();
                self.output_row(None, None, values, out)?;
            }
            Body::Aggregate(_) => {
                if !self.aggregate(t, watermark_ms, out)? {
                    return Ok(Outcome::Late { event_time_ms: t });
                }
            }
            Body::Over(over) => {
                let key: Key = over
                    .partition
                    .iter()
                    .map(|e| e.eval(&self.reader.row))
                    .collect();
                // The slots the SELECT list and the aggregates read; the aggregate results follow.
                let mut row = Vec::with_capacity(over.input_slots + over.aggs.len());
                row.extend_from_slice(&self.reader.row[..over.input_slots]);
                if !self.state.over.add(key, t, row)? {
                    return Ok(Outcome::Late { event_time_ms: t });
                }
            }
            Body::TopN(_) => unreachable!("operator::for_plan runs a Top-N on TopNOperator"),
        }
        Ok(Outcome::Accepted { event_time_ms: t })
    }

    fn set_event_range(&mut self, range: EventRange) {
        self.range = range;
    }

    fn advance(&mut self, watermark_ms: i64, out: &mut Emit) -> Result<()> {
        let fired = self
            .state
            .windows
            .take_complete(self.plan.allowed_lateness_ms, watermark_ms);
        if !fired.is_empty() {
            self.emit_fired(fired, out)?;
        }
        self.advance_over(watermark_ms, out)
    }

    fn finish(&mut self, out: &mut Emit) -> Result<()> {
        self.advance_over(i64::MAX, out)?;
        let fired = self.state.windows.take_all();
        self.emit_fired(fired, out)?;
        let plan = Arc::clone(&self.plan);
        if let Body::Aggregate(agg) = &plan.body {
            if agg.window.is_none() && self.bounded {
                let table = std::mem::take(&mut self.state.table);
                for (key, accs) in table.iter() {
                    let group = Self::group_row(agg, key, accs, None);
                    if let Some(values) = Self::project_group(agg, &group) {
                        self.output_row(key_bytes(key), None, values, out)?;
                    }
                }
                self.state.table = table;
            }
        }
        let mut held = std::mem::take(&mut self.state.held);
        sort_held(&self.plan.order_by, &mut held);
        if let Some(limit) = self.plan.limit {
            held.truncate(limit as usize);
        }
        for (key, values) in held {
            let json = match (&self.plan.body, values.as_slice()) {
                (Body::PassThrough, [Value::Json(raw)]) => raw.clone(),
                _ => self.render(&values),
            };
            self.state.results.put(None, key.as_deref(), &json);
            out.push(key, json.into_bytes());
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        let mut bytes = SNAPSHOT_TAG.to_vec();
        bincode::serialize_into(&mut bytes, &self.state).map_err(|e| Error::Checkpoint {
            path: "<sql state>".into(),
            reason: e.to_string(),
        })?;
        Ok(bytes)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let corrupt = |e: bincode::Error| Error::Checkpoint {
            path: "<sql state>".into(),
            reason: e.to_string(),
        };
        if let Some(current) = snapshot.strip_prefix(&SNAPSHOT_TAG) {
            self.state = bincode::deserialize(current).map_err(corrupt)?;
            return Ok(());
        }
        self.state = match bincode::deserialize::<SqlStateV2>(snapshot) {
            Ok(v2) => {
                let over = match &self.plan.body {
                    Body::Over(over) => Some(over),
                    _ => None,
                };
                SqlState {
                    windows: v2.windows,
                    table: v2.table,
                    results: v2.results,
                    held: v2.held,
                    over: OverState::from_v1(v2.over, over)?,
                }
            }
            Err(e) => {
                let v1: SqlStateV1 = bincode::deserialize(snapshot).map_err(|_| corrupt(e))?;
                SqlState {
                    windows: v1.windows,
                    table: v1.table,
                    results: v1.results,
                    held: v1.held,
                    over: OverState::default(),
                }
            }
        };
        Ok(())
    }

    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.state.results.get(filter)
    }

    fn state_sizes(&self) -> Vec<StateSize> {
        use crate::limits::{
            OVER_FRAME_ROWS_MAX, OVER_KEYS_MAX, OVER_PENDING_ROWS_MAX, RESULTS_ROWS_MAX,
            TABLE_KEYS_MAX, WINDOW_KEYS_MAX,
        };
        let size = |state, entries: usize, max: usize, limit| StateSize {
            state,
            entries: entries as u64,
            max: max as u64,
            limit,
        };
        let mut sizes = Vec::new();
        match &self.plan.body {
            Body::Aggregate(agg) if agg.window.is_some() => sizes.push(size(
                "window_groups",
                self.state.windows.groups(),
                WINDOW_KEYS_MAX,
                "WINDOW_KEYS_MAX",
            )),
            Body::Aggregate(_) => sizes.push(size(
                "table_keys",
                self.state.table.len(),
                TABLE_KEYS_MAX,
                "TABLE_KEYS_MAX",
            )),
            Body::Over(_) => {
                let over = &self.state.over;
                sizes.push(size(
                    "over_pending_rows",
                    over.pending_rows(),
                    OVER_PENDING_ROWS_MAX,
                    "OVER_PENDING_ROWS_MAX",
                ));
                sizes.push(size(
                    "over_frame_rows",
                    over.largest_frame_rows(),
                    OVER_FRAME_ROWS_MAX,
                    "OVER_FRAME_ROWS_MAX",
                ));
                sizes.push(size(
                    "over_keys",
                    over.keys(),
                    OVER_KEYS_MAX,
                    "OVER_KEYS_MAX",
                ));
            }
            Body::PassThrough | Body::Map { .. } | Body::TopN(_) => {}
        }
        if self.holds_rows() {
            sizes.push(size(
                "held_rows",
                self.state.held.len(),
                BOUNDED_HELD_ROWS_MAX,
                "BOUNDED_HELD_ROWS_MAX",
            ));
        }
        sizes.push(size(
            "result_rows",
            self.state.results.len(),
            RESULTS_ROWS_MAX,
            "RESULTS_ROWS_MAX",
        ));
        sizes
    }
}

/// A bounded run's held rows in ORDER BY order (stable: ties keep their arrival order).
fn sort_held(order: &[(usize, bool)], held: &mut [(Option<Vec<u8>>, Vec<Value>)]) {
    held.sort_by(|(_, a), (_, b)| {
        for &(i, desc) in order {
            let o = a[i].cmp(&b[i]);
            let o = if desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}
