//! The intermediate representation: what a processor computes, independent of how it was written
//! and of how it runs. SQL (`sql`) produces it; operators, windows, state and the Rust builder
//! consume it. It holds the plan a SQL definition compiles to (which topic, which fields, event
//! time and watermark, start position, the filter, and the body: pass-through, map, aggregate
//! with an optional window, OVER, or Top-N), scalar expressions and their types (`expr`, `func`),
//! aggregate functions and their accumulators (`aggregate`), and window kinds (`WindowSpec`).
//! It imports nothing above it: no sqlparser, no operator, no window, no state.

pub mod aggregate;
pub mod expr;
pub mod func;
pub mod types;

use serde::{Deserialize, Serialize};

use crate::extract::FieldSet;
use aggregate::AggSpec;
use expr::{Expr, Type};

#[derive(Debug, Clone)]
pub struct Plan {
    /// The input topic.
    pub input: String,
    /// `INSERT INTO <topic>`; None means the processor's own name.
    pub output: Option<String>,
    pub fields: FieldSet,
    /// The declared type of each slot (values are coerced to it), `Any` when inferred.
    pub slot_types: Vec<Type>,
    pub event_time: EventTime,
    pub watermark_delay_ms: i64,
    pub allowed_lateness_ms: i64,
    /// `'scan.watermark.idle-timeout'` of the input table (ms; 0: never idle).
    pub watermark_idle_timeout_ms: u64,
    /// The input is a bare topic without `CREATE TABLE`: its column types are inferred.
    pub inferred_input: bool,
    pub filter: Option<Expr>,
    pub body: Body,
    /// Output column names, in SELECT order.
    pub columns: Vec<String>,
    /// ORDER BY (output column index, descending); bounded runs only.
    pub order_by: Vec<(usize, bool)>,
    pub limit: Option<u64>,
    /// `'scan.startup.mode'` (and timestamp) from the table's WITH options.
    pub startup: Option<Startup>,
    /// The slot to fill with the record timestamp, when the query reads `_timestamp`.
    pub timestamp_slot: Option<usize>,
    /// The log the input table lives on (its `'connector'`); the output, late and version
    /// topics live on the same one.
    pub connector: Connector,
    /// `PRIMARY KEY` of the input table: its rows are a changelog (only a map reads one), and
    /// the output is an upsert stream keyed by it. Empty for an append-only table.
    pub primary_key: PrimaryKey,
    /// `FROM left JOIN right ...`: the second input, and how its rows meet the first's. The
    /// body's expressions then run over the joined row: the left table's slots and the right
    /// table's share one numbering (`fields` fills the left's, `join.right.fields` the right's).
    pub join: Option<Join>,
}

impl Plan {
    /// Every topic the processor reads: the input, and a join's second input.
    pub fn inputs(&self) -> Vec<&str> {
        let mut topics = vec![self.input.as_str()];
        if let Some(j) = &self.join {
            if j.right.topic != self.input {
                topics.push(j.right.topic.as_str());
            }
        }
        topics
    }
}

/// A join of the input (the left side) with a second table (the right side).
#[derive(Debug, Clone)]
pub struct Join {
    pub kind: JoinKind,
    /// `LEFT JOIN`: a left row without a match is emitted once, its right columns NULL.
    pub left_outer: bool,
    pub right: JoinInput,
    /// Equality conditions `left = right`: the join key, over the joined row's slots.
    pub left_keys: Vec<Expr>,
    pub right_keys: Vec<Expr>,
    /// The rest of the ON condition, over the joined row.
    pub condition: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `JOIN r FOR SYSTEM_TIME AS OF l.ts`: each left row meets the version of its key that
    /// was valid at its event time (the right table is keyed by its PRIMARY KEY), once the
    /// watermark has passed that time.
    Temporal,
    /// `r.ts BETWEEN l.ts + lower AND l.ts + upper` (and the forms Flink accepts for it): a
    /// pair matches when the right row's event time minus the left's is in `[lower, upper]`.
    Interval { lower_ms: i64, upper_ms: i64 },
}

/// The second input of a join: its topic and how its records are read.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub topic: String,
    /// Fills the right table's slots of the joined row.
    pub fields: FieldSet,
    pub event_time: EventTime,
    pub watermark_delay_ms: i64,
    pub watermark_idle_timeout_ms: u64,
    /// `PRIMARY KEY (...) NOT ENFORCED`: the versioned table's key.
    pub primary_key: PrimaryKey,
}

/// `PRIMARY KEY (...) NOT ENFORCED` of a table: it is a changelog read with upsert semantics
/// (the latest row per key; a record with an empty value, a tombstone, deletes its key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrimaryKey {
    /// The key columns' slots, in PRIMARY KEY order.
    pub slots: Vec<usize>,
    /// Their names (a tombstone's record key names them when it is a JSON object).
    pub names: Vec<String>,
}

/// The log a table lives on: `'connector' = 'kappa'` (the default) or `'kafka'` with
/// `'properties.bootstrap.servers'`, as Flink's Kafka connector writes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Connector {
    #[default]
    Kappa,
    Kafka {
        bootstrap_servers: String,
    },
}

/// Where event time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTime {
    /// The record's append timestamp (the default, and `_timestamp` in SQL).
    RecordTimestamp,
    /// A JSON field: RFC 3339 text, SQL timestamp text or epoch millis.
    Slot(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Startup {
    Earliest,
    Latest,
    Timestamp(u64),
}

#[derive(Debug, Clone)]
pub enum Body {
    /// `SELECT *` over an inferred table: the record value is passed through unchanged.
    PassThrough,
    /// Filter/map: one expression per output column, over the input slots.
    Map {
        exprs: Vec<Expr>,
    },
    Aggregate(Aggregate),
    /// Aggregates `OVER (PARTITION BY .. ORDER BY <event time> <frame>)`: one output row per
    /// input row, when the watermark passes it.
    Over(Over),
    /// `ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..)` filtered to `rn <= n`: Flink's Top-N
    /// and deduplication, an updating table keyed by the partition key and the row number.
    TopN(TopN),
}

/// Flink's Top-N: per partition key, the first `n` rows in `order` (ties in arrival order).
#[derive(Debug, Clone)]
pub struct TopN {
    /// PARTITION BY expressions, over the input slots.
    pub partition: Vec<Expr>,
    /// ORDER BY keys, over the input slots.
    pub order: Vec<SortKey>,
    /// Rows kept per partition key (`rn <= n`).
    pub n: u64,
    /// The row a ranked record keeps: one expression per selected column of the inner query,
    /// over the input slots.
    pub row: Vec<Expr>,
    /// One entry per output column: `Some(i)` is `row[i]`, `None` the row number.
    pub outputs: Vec<Option<usize>>,
    /// Flink's deduplication keeping the last row (`ORDER BY <event time> DESC`, `rn = 1`): a
    /// later row with the same event time replaces the kept one (in every other Top-N the row
    /// that came first wins a tie).
    pub later_wins_ties: bool,
}

/// One ORDER BY key of a Top-N.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: Expr,
    pub descending: bool,
    /// NULL sorts before every value (Flink's default: ascending NULLS FIRST, descending
    /// NULLS LAST).
    pub nulls_first: bool,
}

#[derive(Debug, Clone)]
pub struct Over {
    /// PARTITION BY expressions, over the input slots.
    pub partition: Vec<Expr>,
    pub frame: Frame,
    pub aggs: Vec<AggSpec>,
    /// One expression per output column over `[input slots.., aggregate results..]`.
    pub outputs: Vec<Expr>,
    /// The number of input slots (aggregate results follow them in the output row).
    pub input_slots: usize,
}

/// The rows an OVER aggregate covers, ending at the current row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// `ROWS BETWEEN n PRECEDING AND CURRENT ROW`.
    Rows(u64),
    /// `RANGE BETWEEN INTERVAL .. PRECEDING AND CURRENT ROW`: event times in `[t - ms, t]`.
    Range(i64),
    /// `ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`.
    RowsUnbounded,
    /// `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW` (the default).
    RangeUnbounded,
}

#[derive(Debug, Clone)]
pub struct Aggregate {
    /// GROUP BY expressions other than the window, over the input slots.
    pub keys: Vec<Expr>,
    pub window: Option<WindowSpec>,
    pub aggs: Vec<AggSpec>,
    /// One expression per output column over the group row `[start, end, keys.., aggs..]`.
    pub outputs: Vec<Expr>,
    pub having: Option<Expr>,
}

/// An event-time window of GROUP BY: what `TUMBLE`, `HOP`, `SESSION` and `CUMULATE` (and the
/// Rust builder) declare. `window` implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowSpec {
    Tumble {
        size_ms: i64,
    },
    Hop {
        slide_ms: i64,
        size_ms: i64,
    },
    Session {
        gap_ms: i64,
    },
    /// Flink's `CUMULATE(step, size)`: windows `[start, start + k·step)`, start aligned to size.
    Cumulate {
        step_ms: i64,
        size_ms: i64,
    },
}
