//! `TopNOperator` runs Flink's Top-N and deduplication (`ROW_NUMBER() OVER (PARTITION BY ..
//! ORDER BY ..)` filtered to `rn <= n`, a `Body::TopN` plan). Per partition key it keeps the
//! first n rows in ORDER BY order — a row that ties with a kept one ranks after it (it came
//! later), except in a deduplication keeping the last row, where the later row wins, as
//! Flink's operators do. The input is append-only, so a partition's list only grows to n and
//! then changes by insertion: a record that enters at rank r moves the rows at ranks r..n down
//! and pushes the last one out.
//!
//! The result is an updating table keyed by the partition key and the row number (Flink's
//! unique key of a Top-N; the partition key alone when n = 1): every rank whose row changed is
//! written again under its key, so a compacted reading of the output is Flink's final table.
//! A bounded run (a backfill) writes only the final rows, at the end. State is bounded by
//! `TOP_N_KEYS_MAX` partition keys and `TOP_N_ROWS_MAX` rows; past either the processor fails.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limits::{RESULTS_ROWS_MAX, TOP_N_KEYS_MAX, TOP_N_ROWS_MAX};
use crate::operator::row::RowReader;
use crate::operator::{
    column_prefixes, decode_state, encode_state, render_row, Emit, EventRange, InputRecord,
    Operator, Outcome, ResultRow, ResultsFilter, StateSize,
};
use crate::plan::{Body, Plan, SortKey, TopN};
use crate::state::results::Results;
use crate::value::{key_bytes, Value};
use crate::window::Key;

/// One kept row: its ORDER BY values and the values the output selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ranked {
    sort: Vec<Value>,
    row: Vec<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct TopNState {
    /// Partition key -> its kept rows, first rank first, at most n.
    partitions: BTreeMap<Key, Vec<Ranked>>,
    /// Rows kept over all partitions.
    rows: usize,
    results: Results,
}

pub struct TopNOperator {
    plan: Arc<Plan>,
    /// A bounded run (backfill): only the final rows are written, at the end.
    bounded: bool,
    reader: RowReader,
    column_prefixes: Vec<String>,
    state: TopNState,
    range: EventRange,
}

impl TopNOperator {
    /// Panics unless `plan.body` is a Top-N (`operator::for_plan` picks this operator only then).
    pub fn new(plan: Plan, bounded: bool) -> TopNOperator {
        assert!(matches!(plan.body, Body::TopN(_)), "a Top-N plan");
        let column_prefixes = column_prefixes(&plan.columns);
        let plan = Arc::new(plan);
        TopNOperator {
            reader: RowReader::new(Arc::clone(&plan)),
            plan,
            bounded,
            column_prefixes,
            state: TopNState::default(),
            range: EventRange::default(),
        }
    }

    /// Ranks `new` in its partition; returns the ranks (0-based) whose row changed.
    fn insert(&mut self, key: Key, new: Ranked) -> Result<Option<(Key, Vec<usize>)>> {
        let plan = Arc::clone(&self.plan);
        let top = top_of(&plan);
        let n = top.n as usize;
        if !self.state.partitions.contains_key(&key) {
            if self.state.partitions.len() >= TOP_N_KEYS_MAX {
                return Err(Error::Limit {
                    limit: "TOP_N_KEYS_MAX",
                    max: TOP_N_KEYS_MAX as u64,
                    what: "partition keys of a Top-N or deduplication".into(),
                });
            }
            self.state.partitions.insert(key.clone(), Vec::new());
        }
        let rows = self.state.partitions.get_mut(&key).expect("inserted above");
        let pos = if top.later_wins_ties {
            rows.partition_point(|r| compare(&top.order, &r.sort, &new.sort).is_lt())
        } else {
            rows.partition_point(|r| compare(&top.order, &r.sort, &new.sort).is_le())
        };
        if pos >= n {
            return Ok(None);
        }
        if rows.len() < n {
            if self.state.rows >= TOP_N_ROWS_MAX {
                return Err(Error::Limit {
                    limit: "TOP_N_ROWS_MAX",
                    max: TOP_N_ROWS_MAX as u64,
                    what: "rows kept by a Top-N or deduplication".into(),
                });
            }
            self.state.rows += 1;
        }
        rows.insert(pos, new);
        // Rank j held what is now at j + 1: only ranks whose row differs are written again.
        let end = rows.len().min(n);
        let changed = (pos..end)
            .filter(|&j| rows.get(j + 1).is_none_or(|old| old.row != rows[j].row))
            .collect();
        rows.truncate(n);
        Ok(Some((key, changed)))
    }

    /// Writes the rows at `ranks` of `key`'s partition under their upsert keys.
    fn emit_ranks(&mut self, key: &Key, ranks: impl IntoIterator<Item = usize>, out: &mut Emit) {
        let plan = Arc::clone(&self.plan);
        let top = top_of(&plan);
        let rows = &self.state.partitions[key];
        for j in ranks {
            let Some(ranked) = rows.get(j) else { break };
            let rn = Value::Int(j as i64 + 1);
            let mut upsert_key = key.clone();
            if top.n > 1 || key.is_empty() {
                upsert_key.push(rn.clone());
            }
            let k = key_bytes(&upsert_key).expect("an upsert key has a column");
            let values: Vec<Value> = top
                .outputs
                .iter()
                .map(|o| match o {
                    Some(i) => ranked.row[*i].clone(),
                    None => rn.clone(),
                })
                .collect();
            let json = render_row(&self.column_prefixes, &values);
            self.state.results.put(None, Some(&k), &json);
            out.push(Some(k), json.into_bytes());
        }
    }
}

/// The Top-N of a plan `TopNOperator::new` accepted.
fn top_of(plan: &Plan) -> &TopN {
    match &plan.body {
        Body::TopN(top) => top,
        _ => unreachable!("TopNOperator::new checks the body"),
    }
}

/// ORDER BY order of two rows' sort values: `Less` ranks first.
fn compare(order: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (k, (x, y)) in order.iter().zip(a.iter().zip(b)) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if k.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if k.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if k.descending => x.cmp(y).reverse(),
            (false, false) => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

impl Operator for TopNOperator {
    fn process(
        &mut self,
        record: &InputRecord<'_>,
        _watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<Outcome> {
        // Nothing is late: a Top-N does not wait for the watermark (nor does Flink's).
        let t = match self.reader.read(record) {
            Ok(t) => t,
            Err(invalid) => return Ok(invalid),
        };
        if !self.range.contains(t) {
            return Ok(Outcome::Skipped);
        }
        let row = &self.reader.row;
        if let Some(f) = &self.plan.filter {
            if !f.eval(row).is_true() {
                return Ok(Outcome::Accepted { event_time_ms: t });
            }
        }
        let top = top_of(&self.plan);
        let key: Key = top.partition.iter().map(|e| e.eval(row)).collect();
        let ranked = Ranked {
            sort: top.order.iter().map(|k| k.expr.eval(row)).collect(),
            row: top.row.iter().map(|e| e.eval(row)).collect(),
        };
        if let Some((key, ranks)) = self.insert(key, ranked)? {
            if !self.bounded {
                self.emit_ranks(&key, ranks, out);
            }
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
        if !self.bounded {
            return Ok(());
        }
        let keys: Vec<Key> = self.state.partitions.keys().cloned().collect();
        for key in keys {
            let len = self.state.partitions[&key].len();
            self.emit_ranks(&key, 0..len, out);
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Vec<u8>> {
        encode_state(&self.state, "top-n")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        self.state = decode_state(snapshot, "top-n")?;
        Ok(())
    }

    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.state.results.get(filter)
    }

    fn state_sizes(&self) -> Vec<StateSize> {
        let size = |state, entries: usize, max: usize, limit| StateSize {
            state,
            entries: entries as u64,
            max: max as u64,
            limit,
        };
        vec![
            size(
                "top_n_keys",
                self.state.partitions.len(),
                TOP_N_KEYS_MAX,
                "TOP_N_KEYS_MAX",
            ),
            size(
                "top_n_rows",
                self.state.rows,
                TOP_N_ROWS_MAX,
                "TOP_N_ROWS_MAX",
            ),
            size(
                "result_rows",
                self.state.results.len(),
                RESULTS_ROWS_MAX,
                "RESULTS_ROWS_MAX",
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "CREATE TABLE orders (id STRING, cat STRING, total DOUBLE, ts TIMESTAMP(3), \
        WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'kappa', 'topic' = 'orders');";

    fn operator(query: &str, bounded: bool) -> TopNOperator {
        let plan = crate::sql::compile(&format!("{TABLE} {query}"), bounded).unwrap();
        TopNOperator::new(plan, bounded)
    }

    fn feed(op: &mut TopNOperator, rows: &[(&str, &str, f64, i64)]) -> Vec<String> {
        let mut out = Emit::default();
        for (i, (id, cat, total, ts)) in rows.iter().enumerate() {
            let value = format!(r#"{{"id":"{id}","cat":"{cat}","total":{total},"ts":{ts}}}"#);
            let record = InputRecord {
                topic: "orders",
                partition: 0,
                offset: i as u64,
                timestamp_ms: 1,
                key: None,
                value: value.as_bytes(),
            };
            let outcome = op.process(&record, i64::MIN, &mut out).unwrap();
            assert_eq!(outcome, Outcome::Accepted { event_time_ms: *ts });
        }
        lines(out)
    }

    fn lines(out: Emit) -> Vec<String> {
        out.records
            .into_iter()
            .map(|r| {
                format!(
                    "{} {}",
                    String::from_utf8(r.key.unwrap()).unwrap(),
                    String::from_utf8(r.value).unwrap()
                )
            })
            .collect()
    }

    const TOP2: &str = "SELECT id, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY cat \
        ORDER BY total DESC) AS rn FROM orders) WHERE rn <= 2";

    #[test]
    fn a_tie_ranks_after_the_row_that_came_first_and_changed_ranks_are_rewritten() {
        let mut op = operator(TOP2, false);
        let out = feed(
            &mut op,
            &[
                ("a", "x", 5.0, 1),
                ("b", "x", 7.0, 2),
                ("c", "x", 7.0, 3),
                ("d", "x", 1.0, 4),
            ],
        );
        assert_eq!(
            out,
            [
                r#"["x",1] {"id":"a","rn":1}"#,
                r#"["x",1] {"id":"b","rn":1}"#,
                r#"["x",2] {"id":"a","rn":2}"#,
                r#"["x",2] {"id":"c","rn":2}"#,
            ]
        );
        assert_eq!(op.state.rows, 2, "the row pushed out is not kept");
    }

    #[test]
    fn keeping_the_last_row_a_later_row_with_the_same_time_wins() {
        let dedup = "SELECT id, cat FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id \
            ORDER BY ts DESC) AS rn FROM orders) WHERE rn = 1";
        let mut op = operator(dedup, false);
        let out = feed(
            &mut op,
            &[
                ("a", "first", 0.0, 10),
                ("a", "same", 0.0, 10),
                ("a", "older", 0.0, 9),
            ],
        );
        assert_eq!(
            out,
            [
                r#"a {"id":"a","cat":"first"}"#,
                r#"a {"id":"a","cat":"same"}"#
            ]
        );
        let first = "SELECT id, cat FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id \
            ORDER BY ts ASC) AS rn FROM orders) WHERE rn = 1";
        let mut op = operator(first, false);
        let out = feed(
            &mut op,
            &[
                ("a", "first", 0.0, 10),
                ("a", "same", 0.0, 10),
                ("a", "earlier", 0.0, 9),
            ],
        );
        assert_eq!(
            out,
            [
                r#"a {"id":"a","cat":"first"}"#,
                r#"a {"id":"a","cat":"earlier"}"#
            ]
        );
    }

    #[test]
    fn a_bounded_run_writes_only_the_final_rows() {
        let mut op = operator(TOP2, true);
        let rows = [("a", "x", 5.0, 1), ("b", "x", 7.0, 2), ("c", "y", 1.0, 3)];
        assert!(feed(&mut op, &rows).is_empty());
        let mut out = Emit::default();
        op.finish(&mut out).unwrap();
        assert_eq!(
            lines(out),
            [
                r#"["x",1] {"id":"b","rn":1}"#,
                r#"["x",2] {"id":"a","rn":2}"#,
                r#"["y",1] {"id":"c","rn":1}"#,
            ]
        );
    }

    #[test]
    fn a_restored_snapshot_continues_where_it_was_taken() {
        let rows = [("a", "x", 5.0, 1), ("b", "x", 7.0, 2), ("c", "x", 6.0, 3)];
        let mut whole = operator(TOP2, false);
        let all = feed(&mut whole, &rows);
        let mut first = operator(TOP2, false);
        let mut out = feed(&mut first, &rows[..2]);
        let mut second = operator(TOP2, false);
        second.restore(&first.snapshot().unwrap()).unwrap();
        out.extend(feed(&mut second, &rows[2..]));
        assert_eq!(out, all);
        let rows_held: Vec<_> = second.results(&ResultsFilter::default());
        assert_eq!(rows_held.len(), 2, "one result row per rank");
    }

    #[test]
    fn past_the_row_ceiling_the_processor_fails_with_a_limit_error() {
        let mut op = operator(TOP2, false);
        op.state.rows = TOP_N_ROWS_MAX;
        let value = br#"{"id":"a","cat":"x","total":1,"ts":1}"#;
        let record = InputRecord {
            topic: "orders",
            partition: 0,
            offset: 0,
            timestamp_ms: 1,
            key: None,
            value,
        };
        let err = op
            .process(&record, i64::MIN, &mut Emit::default())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Limit {
                    limit: "TOP_N_ROWS_MAX",
                    ..
                }
            ),
            "{err}"
        );
        let sizes = op.state_sizes();
        assert!(sizes
            .iter()
            .any(|s| s.state == "top_n_rows" && s.limit == "TOP_N_ROWS_MAX"));
    }
}
