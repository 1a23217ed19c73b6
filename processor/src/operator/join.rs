//! `JoinOperator` runs a plan with a `Join`: records of the left input and of the right input
//! arrive in the one merged order, each is read into its table's slots of the joined row, and
//! pairs that meet are filtered (WHERE), projected and emitted. Two joins, both with state the
//! watermark bounds (the processor's watermark is the minimum over both tables' partitions):
//!
//! - **Temporal** (`FOR SYSTEM_TIME AS OF`): the right table is a changelog keyed by its
//!   PRIMARY KEY, kept as versions per key (event time -> row, or a deletion). A left row waits
//!   until the watermark reaches its event time, then meets the version of its key with the
//!   greatest event time at or below it, as Flink's event-time temporal join does. When a key
//!   gets a new version, its versions older than the newest one at or below the watermark (and
//!   than every waiting row) can no longer be met and are dropped.
//!   A record with an empty value (a Kafka tombstone) deletes its key's latest version, at that
//!   version's event time (Flink reads the deletion with the row it deletes).
//! - **Interval** (`r.ts BETWEEN l.ts + lower AND l.ts + upper`): each row meets the rows of
//!   the other side buffered under its key whose time difference is in the bounds, at once; a
//!   row is buffered while rows that could still match it may arrive (until the watermark
//!   passes its time plus the bound), then dropped — or, for a LEFT JOIN's unmatched left row,
//!   emitted with NULL right columns.
//!
//! The join acts on the processor's watermark only once both tables have had a row: until then
//! it holds (a table with nothing read yet counts as idle for the processor's watermark, which
//! would otherwise let the other table's progress alone release, expire or prune).
//!
//! A backfill's event-time range selects left rows; right rows are all read (a left row in
//! range meets what was valid, or arrived, outside it). Output order is a function of the
//! input order alone, so a replay writes the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::JOIN_ROWS_MAX;
use crate::operator::row::{tombstone_key, RowReader};
use crate::operator::{column_prefixes, decode_state, encode_state, render_exprs};
use crate::operator::{
    Emit, EventRange, InputRecord, Operator, Outcome, ResultRow, ResultsFilter, StateSize,
};
use crate::plan::expr::Expr;
use crate::plan::{Body, Join, JoinKind, Plan};
use crate::state::results::Results;
use crate::value::Value;
use crate::window::Key;

/// The versions of one key of a temporal join's right table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Versions {
    /// Event time -> the row then (its right slots, compact), None once deleted.
    at: BTreeMap<i64, Option<Vec<Value>>>,
    /// The event time of the version written last (what a tombstone deletes).
    last_ms: i64,
}

/// A row an interval join keeps while it can still match.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Buffered {
    right: bool,
    key: Key,
    t: i64,
    /// The side's slots, compact.
    row: Vec<Value>,
    matched: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JoinState {
    /// Temporal: left rows waiting for the watermark (their slots, compact), by (event time,
    /// arrival). The key is read from the row again when it is released.
    pending: BTreeMap<(i64, u64), Vec<Value>>,
    /// Temporal: the right table's versions per key.
    versions: BTreeMap<Key, Versions>,
    version_count: usize,
    /// Interval: buffered rows by arrival number, their index per side and key, and when each
    /// expires (the watermark at which nothing can match it any more).
    rows: BTreeMap<u64, Buffered>,
    left_index: BTreeMap<Key, Vec<u64>>,
    right_index: BTreeMap<Key, Vec<u64>>,
    expiry: BTreeSet<(i64, u64)>,
    arrivals: u64,
    /// The largest event time read from the left and from the right table. The join's
    /// watermark is the processor's capped by each table's own (its largest event time minus
    /// its delay), and holds until both tables have had a row — as a Flink source without a
    /// watermark holds an operator's. So a table read later in log time (reference data loaded
    /// after the events, or before them) does not find its partner's rows released, expired or
    /// its versions pruned by the other table's progress alone; the processor's watermark
    /// counts a table with nothing read yet as idle.
    max_ms: [Option<i64>; 2],
    /// The join's watermark, as last acted on.
    watermark_ms: i64,
    results: Results,
}

impl Default for JoinState {
    fn default() -> JoinState {
        JoinState {
            pending: BTreeMap::new(),
            versions: BTreeMap::new(),
            version_count: 0,
            rows: BTreeMap::new(),
            left_index: BTreeMap::new(),
            right_index: BTreeMap::new(),
            expiry: BTreeSet::new(),
            arrivals: 0,
            max_ms: [None, None],
            watermark_ms: i64::MIN,
            results: Results::default(),
        }
    }
}

pub struct JoinOperator {
    plan: Arc<Plan>,
    join: Join,
    exprs: Vec<Expr>,
    /// Each table's reader, and the slots it fills in the joined row.
    left: RowReader,
    right: RowReader,
    left_slots: Vec<usize>,
    right_slots: Vec<usize>,
    width: usize,
    /// The joined row a release fills, kept between releases for its allocation.
    row: Vec<Value>,
    prefixes: Vec<String>,
    range: EventRange,
    state: JoinState,
}

impl JoinOperator {
    pub fn new(plan: Plan) -> JoinOperator {
        let join = plan.join.clone().expect("a join plan");
        let exprs = match &plan.body {
            Body::Map { exprs } => exprs.clone(),
            other => unreachable!("the compiler plans a join's body as a map, not {other:?}"),
        };
        let plan = Arc::new(plan);
        let left = RowReader::of_table(Arc::clone(&plan), false);
        let right = RowReader::of_table(Arc::clone(&plan), true);
        JoinOperator {
            left_slots: left.slots(),
            right_slots: right.slots(),
            left,
            right,
            width: plan.slot_types.len(),
            row: Vec::new(),
            prefixes: column_prefixes(&plan.columns),
            exprs,
            join,
            plan,
            range: EventRange::default(),
            state: JoinState::default(),
        }
    }

    /// The slots of the record just read by one table's reader, taken out of its row.
    fn compact(&mut self, right: bool) -> Vec<Value> {
        let (slots, reader) = if right {
            (&self.right_slots, &mut self.right)
        } else {
            (&self.left_slots, &mut self.left)
        };
        slots
            .iter()
            .map(|s| std::mem::take(&mut reader.row[*s]))
            .collect()
    }

    /// The joined row of a left and a right side (either may be missing: NULLs).
    fn joined(&self, left: Option<&[Value]>, right: Option<&[Value]>) -> Vec<Value> {
        let mut row = vec![Value::Null; self.width];
        for (slots, values) in [(&self.left_slots, left), (&self.right_slots, right)] {
            if let Some(values) = values {
                for (s, v) in slots.iter().zip(values) {
                    row[*s] = v.clone();
                }
            }
        }
        row
    }

    /// Applies the ON condition's rest (None: no condition) to a joined row.
    fn meets(&self, row: &[Value]) -> bool {
        self.join
            .condition
            .as_ref()
            .is_none_or(|c| c.eval(row).is_true())
    }

    /// WHERE, then the SELECT list: one output row.
    fn emit(&mut self, row: &[Value], out: &mut Emit) {
        if let Some(f) = &self.plan.filter {
            if !f.eval(row).is_true() {
                return;
            }
        }
        let json = render_exprs(&self.prefixes, &self.exprs, row);
        self.state.results.put(None, None, &json);
        out.push(None, json.into_bytes());
    }

    /// The join's watermark for the processor's `watermark_ms` (see `JoinState::max_ms`).
    fn effective(&self, watermark_ms: i64) -> i64 {
        let delays = [
            self.plan.watermark_delay_ms,
            self.join.right.watermark_delay_ms,
        ];
        match self.state.max_ms {
            [Some(l), Some(r)] => watermark_ms
                .min(l.saturating_sub(delays[0]))
                .min(r.saturating_sub(delays[1])),
            _ => i64::MIN,
        }
    }

    /// How far versions can be pruned: to the watermark, and not past a left row still waiting.
    fn prune_bound(&self, watermark_ms: i64) -> i64 {
        let waiting = self.state.pending.first_key_value().map(|((t, _), _)| *t);
        waiting.map_or(watermark_ms, |t| t.min(watermark_ms))
    }

    fn held_rows(&self) -> usize {
        self.state.pending.len() + self.state.version_count + self.state.rows.len()
    }

    fn check_room(&self) -> Result<()> {
        if self.held_rows() >= JOIN_ROWS_MAX {
            return Err(Error::Limit {
                limit: "JOIN_ROWS_MAX",
                max: JOIN_ROWS_MAX as u64,
                what: "rows a join holds (left rows waiting, versions, buffered rows)".into(),
            });
        }
        Ok(())
    }

    /// The join key of the record just read by one table's reader.
    fn key_of(&self, right: bool) -> Key {
        let (exprs, row) = if right {
            (&self.join.right_keys, &self.right.row)
        } else {
            (&self.join.left_keys, &self.left.row)
        };
        exprs.iter().map(|e| e.eval(row)).collect()
    }

    // --- the temporal join ---

    /// The left row at `t` meets the version of its key and is emitted (or padded, or dropped).
    /// The left row moves into the joined row; only the version's values are copied.
    fn release(&mut self, t: i64, left: Vec<Value>, out: &mut Emit) {
        let mut row = std::mem::take(&mut self.row);
        row.resize(self.width, Value::Null);
        for (s, v) in self.left_slots.iter().zip(left) {
            row[*s] = v;
        }
        // A key of one column is looked up in place; a wider one is collected.
        let collected: Key;
        let key: &[Value] = match self.join.left_keys.as_slice() {
            [Expr::Slot(slot)] => std::slice::from_ref(&row[*slot]),
            exprs => {
                collected = exprs.iter().map(|e| e.eval(&row)).collect();
                &collected
            }
        };
        let version = self
            .state
            .versions
            .get(key)
            .and_then(|v| v.at.range(..=t).next_back())
            .and_then(|(_, version)| version.as_deref());
        let found = version.is_some();
        for (s, v) in self.right_slots.iter().zip(version.unwrap_or_default()) {
            row[*s] = v.clone();
        }
        if found && self.meets(&row) {
            self.emit(&row, out);
        } else if self.join.left_outer {
            for s in &self.right_slots {
                row[*s] = Value::Null;
            }
            self.emit(&row, out);
        }
        row.clear();
        self.row = row;
    }

    /// Drops the versions of `key` that no left row can meet any more: those older than its
    /// newest version at or below the watermark.
    fn prune_versions(&mut self, key: &Key, watermark_ms: i64) {
        let Some(v) = self.state.versions.get_mut(key) else {
            return;
        };
        let Some(&keep) = v.at.range(..=watermark_ms).next_back().map(|(t, _)| t) else {
            return;
        };
        let old: Vec<i64> = v.at.range(..keep).map(|(t, _)| *t).collect();
        self.state.version_count -= old.len();
        for t in old {
            v.at.remove(&t);
        }
    }

    fn temporal_left(&mut self, t: i64, watermark_ms: i64, out: &mut Emit) -> Result<()> {
        let left = self.compact(false);
        if t <= watermark_ms {
            // Behind the watermark already: the versions it can meet are all here.
            self.release(t, left, out);
            return Ok(());
        }
        self.check_room()?;
        self.state.arrivals += 1;
        self.state.pending.insert((t, self.state.arrivals), left);
        Ok(())
    }

    fn temporal_right(&mut self, t: i64, watermark_ms: i64) -> Result<()> {
        let key = self.key_of(true);
        let right = self.compact(true);
        let watermark_ms = self.prune_bound(watermark_ms);
        if key.iter().any(Value::is_null) {
            // A NULL key equals nothing: no left row can ever meet this version.
            return Ok(());
        }
        self.check_room()?;
        let v = self.state.versions.entry(key.clone()).or_default();
        if v.at.insert(t, Some(right)).is_none() {
            self.state.version_count += 1;
        }
        v.last_ms = t;
        self.prune_versions(&key, watermark_ms);
        Ok(())
    }

    fn temporal_delete(&mut self, record_key: Option<&[u8]>) -> Outcome {
        let pk = &self.join.right.primary_key;
        let Some(key) = record_key.and_then(|k| tombstone_key(k, pk, &self.plan.slot_types)) else {
            return Outcome::Invalid {
                reason: "an empty value (a deletion) needs a record key naming the primary key"
                    .into(),
            };
        };
        match self.state.versions.get_mut(&key) {
            Some(v) => {
                let t = v.last_ms;
                v.at.insert(t, None);
                Outcome::Accepted { event_time_ms: t }
            }
            None => Outcome::Skipped,
        }
    }

    // --- the interval join ---

    fn bounds(&self) -> (i64, i64) {
        match self.join.kind {
            JoinKind::Interval { lower_ms, upper_ms } => (lower_ms, upper_ms),
            JoinKind::Temporal => unreachable!("an interval join"),
        }
    }

    fn interval_row(
        &mut self,
        right: bool,
        t: i64,
        watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<()> {
        let (lower, upper) = self.bounds();
        let key = self.key_of(right);
        let values = self.compact(right);
        let mut matched = false;
        if !key.iter().any(Value::is_null) {
            let other = if right {
                &self.state.left_index
            } else {
                &self.state.right_index
            };
            let candidates = other.get(&key).cloned().unwrap_or_default();
            for seq in candidates {
                let Some(b) = self.state.rows.get(&seq) else {
                    continue;
                };
                // right time - left time must be in [lower, upper].
                let diff = if right { t - b.t } else { b.t - t };
                if diff < lower || diff > upper {
                    continue;
                }
                let row = if right {
                    self.joined(Some(&b.row), Some(&values))
                } else {
                    self.joined(Some(&values), Some(&b.row))
                };
                if self.meets(&row) {
                    matched = true;
                    if right {
                        if let Some(b) = self.state.rows.get_mut(&seq) {
                            b.matched = true;
                        }
                    }
                    self.emit(&row, out);
                }
            }
        }
        // Kept while a row of the other side that can match it may still come: a left row
        // until the watermark reaches t + upper, a right row until it reaches t - lower.
        let expires = if right { t - lower } else { t + upper };
        if watermark_ms < expires {
            self.check_room()?;
            self.state.arrivals += 1;
            let seq = self.state.arrivals;
            let index = if right {
                &mut self.state.right_index
            } else {
                &mut self.state.left_index
            };
            index.entry(key.clone()).or_default().push(seq);
            self.state.expiry.insert((expires, seq));
            self.state.rows.insert(
                seq,
                Buffered {
                    right,
                    key,
                    t,
                    row: values,
                    matched,
                },
            );
        } else if !right && !matched && self.join.left_outer {
            let row = self.joined(Some(&values), None);
            self.emit(&row, out);
        }
        Ok(())
    }

    /// Drops the rows that can no longer match (all of them with `None`), padding a LEFT
    /// JOIN's unmatched left rows.
    fn expire(&mut self, watermark_ms: Option<i64>, out: &mut Emit) {
        while let Some(&(expires, seq)) = self.state.expiry.first() {
            if watermark_ms.is_some_and(|w| expires > w) {
                break;
            }
            self.state.expiry.pop_first();
            let Some(b) = self.state.rows.remove(&seq) else {
                continue;
            };
            let index = if b.right {
                &mut self.state.right_index
            } else {
                &mut self.state.left_index
            };
            if let Some(seqs) = index.get_mut(&b.key) {
                seqs.retain(|s| *s != seq);
                if seqs.is_empty() {
                    index.remove(&b.key);
                }
            }
            if !b.right && !b.matched && self.join.left_outer {
                let row = self.joined(Some(&b.row), None);
                self.emit(&row, out);
            }
        }
    }
}

impl Operator for JoinOperator {
    fn process(
        &mut self,
        record: &InputRecord<'_>,
        watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<Outcome> {
        let right = record.topic == self.join.right.topic;
        let temporal = self.join.kind == JoinKind::Temporal;
        if right && temporal && record.value.is_empty() {
            return Ok(self.temporal_delete(record.key));
        }
        let reader = if right {
            &mut self.right
        } else {
            &mut self.left
        };
        let t = match reader.read(record) {
            Ok(t) => t,
            Err(invalid) => return Ok(invalid),
        };
        if !right && !self.range.contains(t) {
            return Ok(Outcome::Skipped);
        }
        let seen = &mut self.state.max_ms[usize::from(right)];
        *seen = Some(seen.map_or(t, |m| m.max(t)));
        let joined = self.state.watermark_ms;
        match (temporal, right) {
            (true, false) => self.temporal_left(t, joined, out)?,
            (true, true) => self.temporal_right(t, joined)?,
            (false, right) => self.interval_row(right, t, joined, out)?,
        }
        // This row may have moved its table's watermark, and with it the join's.
        self.advance(watermark_ms, out)?;
        Ok(Outcome::Accepted { event_time_ms: t })
    }

    fn set_event_range(&mut self, range: EventRange) {
        self.range = range;
    }

    fn advance(&mut self, watermark_ms: i64, out: &mut Emit) -> Result<()> {
        let watermark_ms = self.effective(watermark_ms);
        if watermark_ms <= self.state.watermark_ms {
            return Ok(());
        }
        self.state.watermark_ms = watermark_ms;
        if self.join.kind != JoinKind::Temporal {
            self.expire(Some(watermark_ms), out);
            return Ok(());
        }
        // Versions are pruned as new ones arrive (`temporal_right`), not here: a key's versions
        // are bounded by what arrived since its last one, and a release stays a lookup.
        while let Some(entry) = self.state.pending.first_entry() {
            if entry.key().0 > watermark_ms {
                break;
            }
            let ((t, _), left) = entry.remove_entry();
            self.release(t, left, out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Emit) -> Result<()> {
        if self.join.kind != JoinKind::Temporal {
            self.expire(None, out);
            return Ok(());
        }
        while let Some(((t, _), left)) = self.state.pending.pop_first() {
            self.release(t, left, out);
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        encode_state(&self.state, "join")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        self.state = decode_state(snapshot, "join")?;
        Ok(())
    }

    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.state.results.get(filter)
    }

    fn state_sizes(&self) -> Vec<StateSize> {
        let size = |state, entries: usize| StateSize {
            state,
            entries: entries as u64,
            max: JOIN_ROWS_MAX as u64,
            limit: "JOIN_ROWS_MAX",
        };
        match self.join.kind {
            JoinKind::Temporal => vec![
                size("join_waiting_rows", self.state.pending.len()),
                size("join_versions", self.state.version_count),
            ],
            JoinKind::Interval { .. } => vec![size("join_buffered_rows", self.state.rows.len())],
        }
    }
}
