//! Operators: what a processor does with each record in merged order. The runtime (`task`)
//! owns input order, the watermark, output and checkpoints; an operator owns its state and
//! decides lateness, because only it knows which windows a record falls into.

pub mod changelog;
pub mod frame;
pub mod join;
pub mod over;
pub mod row;
pub mod sql;
pub mod top_n;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::expr::Expr;
use crate::plan::{Body, Plan};
use crate::value::{write_json_string, Value};

/// One input record as an operator sees it.
#[derive(Debug, Clone, Copy)]
pub struct InputRecord<'a> {
    pub topic: &'a str,
    pub partition: u32,
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed (or filtered out); its event time advances the watermark.
    Accepted { event_time_ms: i64 },
    /// Every window it belongs to is already complete: it goes to the late topic.
    Late { event_time_ms: i64 },
    /// It cannot be processed (not JSON, no event time): it goes to the late topic too, with
    /// the reason, so nothing is dropped silently. It does not move the watermark.
    Invalid { reason: String },
    /// Its event time is outside the run's event-time range (a backfill's `[from, to)`): it is
    /// read and skipped, neither processed nor late, and does not move the watermark.
    Skipped,
}

/// The event times a run keeps: `[from_ms, to_ms)`, each end open when None (DESIGN.md §3,
/// bounded backfills). Every operator checks it as soon as it knows a record's event time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventRange {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl EventRange {
    pub fn contains(&self, event_time_ms: i64) -> bool {
        self.from_ms.is_none_or(|f| event_time_ms >= f)
            && self.to_ms.is_none_or(|t| event_time_ms < t)
    }
}

/// One output record: `key` is the group key (None for plain maps), `value` the JSON row.
/// A keyed record with an empty value is a tombstone: the row of that key was deleted from an
/// updating result (Kafka's null value, which kappa's log stores as an empty value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutRecord {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

impl OutRecord {
    /// The deletion of `key`'s row.
    pub fn tombstone(key: Vec<u8>) -> OutRecord {
        OutRecord {
            key: Some(key),
            value: Vec::new(),
        }
    }

    pub fn is_tombstone(&self) -> bool {
        self.key.is_some() && self.value.is_empty()
    }
}

/// Where operators put output rows while one record (or one watermark step) is processed.
#[derive(Debug, Default)]
pub struct Emit {
    pub records: Vec<OutRecord>,
}

impl Emit {
    pub fn push(&mut self, key: Option<Vec<u8>>, value: Vec<u8>) {
        self.records.push(OutRecord { key, value });
    }

    /// A tombstone: `key`'s row is deleted from the updating result.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.records.push(OutRecord::tombstone(key));
    }
}

/// The operator that runs `plan`: a join's, a map over a PRIMARY KEY table's, a Top-N's, and
/// `SqlOperator` for every other body.
/// `bounded` is a bounded run (a backfill), which writes only final rows. Callers never pick.
pub fn for_plan(plan: Plan, bounded: bool) -> Box<dyn Operator> {
    if plan.join.is_some() {
        return Box::new(join::JoinOperator::new(plan));
    }
    if !plan.primary_key.slots.is_empty() {
        return Box::new(changelog::ChangelogOperator::new(plan, bounded));
    }
    match plan.body {
        Body::TopN(_) => Box::new(top_n::TopNOperator::new(plan, bounded)),
        _ => Box::new(sql::SqlOperator::new(plan, bounded)),
    }
}

/// `"name":` for each output column, JSON-escaped once.
pub(crate) fn column_prefixes(columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let mut s = String::new();
            write_json_string(c, &mut s);
            s.push(':');
            s
        })
        .collect()
}

/// A row as a JSON object with its columns in SELECT order.
pub(crate) fn render_row(column_prefixes: &[String], values: &[Value]) -> String {
    let mut s = row_buffer(column_prefixes);
    for (i, (prefix, v)) in column_prefixes.iter().zip(values).enumerate() {
        push_column(&mut s, i, prefix);
        v.write_json(&mut s);
    }
    s.push('}');
    s
}

/// The SELECT list `exprs` over `row`, rendered as `render_row` renders their values, without
/// collecting them first: a column the list only reads is written from the row in place.
pub(crate) fn render_exprs(column_prefixes: &[String], exprs: &[Expr], row: &[Value]) -> String {
    let mut s = row_buffer(column_prefixes);
    for (i, (prefix, e)) in column_prefixes.iter().zip(exprs).enumerate() {
        push_column(&mut s, i, prefix);
        match e {
            Expr::Slot(slot) => row[*slot].write_json(&mut s),
            e => e.eval(row).write_json(&mut s),
        }
    }
    s.push('}');
    s
}

/// An output row's buffer, `{` written, sized for the usual row (so it seldom grows).
fn row_buffer(column_prefixes: &[String]) -> String {
    let names: usize = column_prefixes.iter().map(String::len).sum();
    let mut s = String::with_capacity(names + 24 * column_prefixes.len() + 2);
    s.push('{');
    s
}

fn push_column(s: &mut String, i: usize, prefix: &str) {
    if i > 0 {
        s.push(',');
    }
    s.push_str(prefix);
}

pub use crate::state::results::{ResultRow, ResultsFilter};

/// An operator's state as checkpoint bytes (bincode); `what` names it in an error.
pub(crate) fn encode_state<T: Serialize>(state: &T, what: &str) -> Result<Vec<u8>> {
    bincode::serialize(state).map_err(|e| crate::error::Error::Checkpoint {
        path: format!("<{what} state>").into(),
        reason: e.to_string(),
    })
}

/// The state `encode_state` wrote.
pub(crate) fn decode_state<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| crate::error::Error::Checkpoint {
        path: format!("<{what} state>").into(),
        reason: e.to_string(),
    })
}

/// The runtime's view of a processor's logic. SQL plans, the builder and user `Processor`s all
/// become one of these.
pub trait Operator: Send {
    /// Processes one record, in merged input order; `watermark_ms` is the watermark before it.
    fn process(
        &mut self,
        record: &InputRecord<'_>,
        watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<Outcome>;
    /// Only records whose event time is in `range` are processed from now on; the others are
    /// answered `Outcome::Skipped`. Set once, before the first record.
    fn set_event_range(&mut self, range: EventRange);
    /// The watermark moved: emit every window that is now complete.
    fn advance(&mut self, watermark_ms: i64, out: &mut Emit) -> Result<()>;
    /// A bounded run reached its end: emit everything still open (and sorted output).
    fn finish(&mut self, out: &mut Emit) -> Result<()>;
    /// The operator's state, for a checkpoint.
    fn snapshot(&self) -> Result<Vec<u8>>;
    fn restore(&mut self, snapshot: &[u8]) -> Result<()>;
    /// The current materialized results.
    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow>;
    /// The state held now, kind by kind, against each kind's ceiling.
    fn state_sizes(&self) -> Vec<StateSize> {
        Vec::new()
    }
}

/// One kind of state an operator holds and its named ceiling (the processor status' `state`):
/// growing past `max` fails the processor with a limit error naming `limit`, never an
/// out-of-memory (result rows are the exception: the oldest are evicted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateSize {
    /// What is counted: `window_groups`, `table_keys`, `over_pending_rows`,
    /// `over_frame_rows` (the largest frame), `over_keys`, `top_n_keys`, `top_n_rows`,
    /// `held_rows`, `result_rows`, `join_waiting_rows`, `join_versions`, `join_buffered_rows`,
    /// `table_keys`.
    pub state: &'static str,
    pub entries: u64,
    pub max: u64,
    /// The ceiling's name in the processor's limits.
    pub limit: &'static str,
}
