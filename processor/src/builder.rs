//! A small builder in the spirit of Kafka Streams, for Rust programs that embed kappa:
//! `stream::<Order>("order-events").filter(..).key_by(..).window(tumbling(60_000)).count()`.
//! It builds a `Topology` (input topic, output topic, operator) that `Embedded` runs with the
//! same runtime as SQL processors. Windowed results are emitted once, when the watermark passes
//! the window's end plus the grace period, as `{"key", "count" | "sum", "window_start",
//! "window_end"}` keyed by the key.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::operator::{Emit, EventRange, InputRecord, Operator, Outcome, ResultRow, ResultsFilter};
use crate::plan::aggregate::{Acc, AggKind, AggSpec};
use crate::plan::expr::Expr;
use crate::plan::WindowSpec;
use crate::state::results::Results;
use crate::state::table::Table;
use crate::timestamp::format_rfc3339;
use crate::value::{write_json_string, Value};
use crate::window::{sort_fired, Fired, Windows};

/// Parses, filters and maps one record: Err = invalid, Ok((event time, None)) = filtered out.
type Pipeline<T> = Arc<dyn Fn(&InputRecord<'_>) -> Result<(i64, Option<T>), String> + Send + Sync>;

/// The value a windowed `sum` adds up.
type ValueFn<T> = Arc<dyn Fn(&T) -> f64 + Send + Sync>;

/// A tumbling window of `size_ms`.
pub fn tumbling(size_ms: i64) -> WindowSpec {
    WindowSpec::Tumble { size_ms }
}
/// A hopping window of `size_ms` every `slide_ms`.
pub fn hopping(size_ms: i64, slide_ms: i64) -> WindowSpec {
    WindowSpec::Hop { slide_ms, size_ms }
}
/// A session window closed by `gap_ms` of inactivity.
pub fn session(gap_ms: i64) -> WindowSpec {
    WindowSpec::Session { gap_ms }
}

/// A stream of `T`s decoded (serde_json) from a topic's record values.
pub struct Stream<T> {
    topic: String,
    pipeline: Pipeline<T>,
}

/// Starts a stream over `topic`; event time is the record timestamp until `event_time` says.
pub fn stream<T: DeserializeOwned + 'static>(topic: &str) -> Stream<T> {
    Stream {
        topic: topic.to_string(),
        pipeline: Arc::new(|r: &InputRecord<'_>| {
            serde_json::from_slice::<T>(r.value)
                .map(|t| (r.timestamp_ms, Some(t)))
                .map_err(|e| e.to_string())
        }),
    }
}

impl<T: 'static> Stream<T> {
    /// Takes event time from the value (ms since the epoch); None makes the record invalid.
    pub fn event_time(self, f: impl Fn(&T) -> Option<i64> + Send + Sync + 'static) -> Stream<T> {
        let prev = self.pipeline;
        let pipeline: Pipeline<T> = Arc::new(move |r| match prev(r)? {
            (_, Some(t)) => f(&t)
                .map(|ts| (ts, Some(t)))
                .ok_or_else(|| "no event time".to_string()),
            filtered => Ok(filtered),
        });
        Stream {
            topic: self.topic,
            pipeline,
        }
    }
    /// Keeps the values for which `f` is true (the others still move the watermark).
    pub fn filter(self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Stream<T> {
        let prev = self.pipeline;
        let pipeline: Pipeline<T> =
            Arc::new(move |r| prev(r).map(|(ts, t)| (ts, t.filter(|t| f(t)))));
        Stream {
            topic: self.topic,
            pipeline,
        }
    }
    pub fn map<U: 'static>(self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Stream<U> {
        let prev = self.pipeline;
        let pipeline: Pipeline<U> = Arc::new(move |r| prev(r).map(|(ts, t)| (ts, t.map(&f))));
        Stream {
            topic: self.topic,
            pipeline,
        }
    }
    /// Groups by a key (Kafka Streams' `groupBy`).
    pub fn key_by(self, f: impl Fn(&T) -> String + Send + Sync + 'static) -> KeyedStream<T> {
        KeyedStream {
            stream: self,
            key: Arc::new(f),
        }
    }
}

impl<T: Serialize + 'static> Stream<T> {
    /// Writes every value (as JSON, no key) to `output`.
    pub fn to(self, output: &str) -> Topology {
        let pipeline = self.pipeline;
        let op = move || -> Box<dyn Operator> {
            Box::new(MapOp {
                pipeline: Arc::clone(&pipeline),
                results: Results::default(),
                range: EventRange::default(),
                _t: PhantomData,
            })
        };
        Topology {
            input: self.topic,
            output: output.to_string(),
            watermark_delay_ms: 0,
            operator: Box::new(op),
        }
    }
}

pub struct KeyedStream<T> {
    stream: Stream<T>,
    key: Arc<dyn Fn(&T) -> String + Send + Sync>,
}

impl<T: 'static> KeyedStream<T> {
    /// Windows the groups (Kafka Streams' `windowedBy`); no grace period by default.
    pub fn window(self, spec: WindowSpec) -> WindowedStream<T> {
        WindowedStream {
            keyed: self,
            spec: Some(spec),
            grace_ms: 0,
        }
    }
    /// A running count per key: an upsert per change, like a KTable.
    pub fn count(self) -> Topology {
        WindowedStream {
            keyed: self,
            spec: None,
            grace_ms: 0,
        }
        .aggregate(AggKind::CountStar, None)
    }
}

pub struct WindowedStream<T> {
    keyed: KeyedStream<T>,
    spec: Option<WindowSpec>,
    grace_ms: i64,
}

impl<T: 'static> WindowedStream<T> {
    /// Out-of-orderness allowed before a window closes (the watermark delay).
    pub fn grace(mut self, grace_ms: i64) -> Self {
        self.grace_ms = grace_ms;
        self
    }
    /// Counts records per key and window.
    pub fn count(self) -> Topology {
        self.aggregate(AggKind::CountStar, None)
    }
    /// Sums `f` per key and window (f64, in input order).
    pub fn sum(self, f: impl Fn(&T) -> f64 + Send + Sync + 'static) -> Topology {
        self.aggregate(AggKind::Sum, Some(Arc::new(f)))
    }

    fn aggregate(self, kind: AggKind, value: Option<ValueFn<T>>) -> Topology {
        let KeyedStream { stream, key } = self.keyed;
        let (spec, pipeline) = (self.spec, stream.pipeline);
        let op = move || -> Box<dyn Operator> {
            Box::new(AggOp {
                pipeline: Arc::clone(&pipeline),
                key: Arc::clone(&key),
                value: value.clone(),
                spec,
                kind,
                state: AggState::default(),
                range: EventRange::default(),
            })
        };
        Topology {
            input: stream.topic,
            output: String::new(),
            watermark_delay_ms: self.grace_ms,
            operator: Box::new(op),
        }
    }
}

/// A built pipeline: what `Embedded` runs.
pub struct Topology {
    pub input: String,
    pub output: String,
    pub watermark_delay_ms: i64,
    operator: Box<dyn Fn() -> Box<dyn Operator> + Send + Sync>,
}

impl Topology {
    /// Names the output topic (Kafka Streams' `.to(...)` on the result stream).
    pub fn to(mut self, output: &str) -> Topology {
        self.output = output.to_string();
        self
    }
    /// A topology running a user `Processor`.
    pub fn from_processor<P: crate::custom::Processor + Clone + Sync>(
        input: &str,
        output: &str,
        delay_ms: i64,
        p: P,
    ) -> Topology {
        let op = move || -> Box<dyn Operator> {
            Box::new(crate::custom::ProcessorOperator::new(p.clone()))
        };
        Topology {
            input: input.to_string(),
            output: output.to_string(),
            watermark_delay_ms: delay_ms,
            operator: Box::new(op),
        }
    }
    pub fn operator(&self) -> Box<dyn Operator> {
        (self.operator)()
    }
}

struct MapOp<T> {
    pipeline: Pipeline<T>,
    results: Results,
    range: EventRange,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize + 'static> Operator for MapOp<T> {
    fn process(&mut self, r: &InputRecord<'_>, _wm: i64, out: &mut Emit) -> Result<Outcome> {
        match (self.pipeline)(r) {
            Err(reason) => Ok(Outcome::Invalid { reason }),
            Ok((ts, _)) if !self.range.contains(ts) => Ok(Outcome::Skipped),
            Ok((ts, t)) => {
                if let Some(t) = t {
                    let json = serde_json::to_string(&t).map_err(|e| crate::Error::User {
                        message: e.to_string(),
                    })?;
                    self.results.put(None, None, &json);
                    out.push(None, json.into_bytes());
                }
                Ok(Outcome::Accepted { event_time_ms: ts })
            }
        }
    }
    fn set_event_range(&mut self, range: EventRange) {
        self.range = range;
    }
    fn advance(&mut self, _wm: i64, _out: &mut Emit) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self, _out: &mut Emit) -> Result<()> {
        Ok(())
    }
    fn snapshot(&self) -> Result<Vec<u8>> {
        bincode::serialize(&self.results).map_err(|e| crate::Error::User {
            message: e.to_string(),
        })
    }
    fn restore(&mut self, s: &[u8]) -> Result<()> {
        self.results = bincode::deserialize(s).map_err(|e| crate::Error::User {
            message: e.to_string(),
        })?;
        Ok(())
    }
    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.results.get(filter)
    }
}

#[derive(Default, Serialize, Deserialize)]
struct AggState {
    windows: Windows,
    table: Table,
    results: Results,
}

struct AggOp<T> {
    pipeline: Pipeline<T>,
    key: Arc<dyn Fn(&T) -> String + Send + Sync>,
    value: Option<ValueFn<T>>,
    spec: Option<WindowSpec>,
    kind: AggKind,
    state: AggState,
    range: EventRange,
}

impl<T> AggOp<T> {
    fn row(&mut self, key: &str, count_or_sum: &Value, window: Option<(i64, i64)>, out: &mut Emit) {
        let mut s = String::from("{\"key\":");
        write_json_string(key, &mut s);
        s.push_str(if self.kind == AggKind::CountStar {
            ",\"count\":"
        } else {
            ",\"sum\":"
        });
        count_or_sum.write_json(&mut s);
        if let Some((start, end)) = window {
            s.push_str(&format!(
                ",\"window_start\":\"{}\",\"window_end\":\"{}\"",
                format_rfc3339(start),
                format_rfc3339(end)
            ));
        }
        s.push('}');
        self.state
            .results
            .put(window.map(|w| w.0), Some(key.as_bytes()), &s);
        out.push(Some(key.as_bytes().to_vec()), s.into_bytes());
    }

    fn emit_fired(&mut self, mut fired: Vec<Fired>, out: &mut Emit) {
        sort_fired(&mut fired);
        for f in fired {
            let key = f.key[0].to_text();
            self.row(&key, &f.accs[0].result(), Some((f.start_ms, f.end_ms)), out);
        }
    }
}

impl<T: 'static> Operator for AggOp<T> {
    fn process(&mut self, r: &InputRecord<'_>, wm: i64, out: &mut Emit) -> Result<Outcome> {
        let (ts, t) = match (self.pipeline)(r) {
            Err(reason) => return Ok(Outcome::Invalid { reason }),
            Ok((ts, _)) if !self.range.contains(ts) => return Ok(Outcome::Skipped),
            Ok(x) => x,
        };
        let Some(t) = t else {
            return Ok(Outcome::Accepted { event_time_ms: ts });
        };
        let key_text = (self.key)(&t);
        let key = vec![Value::Str(key_text.clone())];
        let v = match &self.value {
            None => Value::Bool(true),
            Some(f) => Value::Float(f(&t)),
        };
        let specs = [AggSpec {
            kind: self.kind,
            arg: self.value.as_ref().map(|_| Expr::Slot(0)),
        }];
        let row = [v];
        let new = || vec![Acc::new(self.kind)];
        let update = |accs: &mut [Acc]| crate::plan::aggregate::update_accs(&specs, accs, &row);
        let accepted = match self.spec {
            Some(spec) => self
                .state
                .windows
                .add(spec, &key, ts, (0, wm), &specs, update)?,
            None => {
                let result = self.state.table.upsert(&key, new, update)?[0].result();
                self.row(&key_text, &result, None, out);
                true
            }
        };
        Ok(if accepted {
            Outcome::Accepted { event_time_ms: ts }
        } else {
            Outcome::Late { event_time_ms: ts }
        })
    }
    fn set_event_range(&mut self, range: EventRange) {
        self.range = range;
    }
    fn advance(&mut self, wm: i64, out: &mut Emit) -> Result<()> {
        let fired = self.state.windows.take_complete(0, wm);
        self.emit_fired(fired, out);
        Ok(())
    }
    fn finish(&mut self, out: &mut Emit) -> Result<()> {
        let fired = self.state.windows.take_all();
        self.emit_fired(fired, out);
        Ok(())
    }
    fn snapshot(&self) -> Result<Vec<u8>> {
        bincode::serialize(&self.state).map_err(|e| crate::Error::User {
            message: e.to_string(),
        })
    }
    fn restore(&mut self, s: &[u8]) -> Result<()> {
        self.state = bincode::deserialize(s).map_err(|e| crate::Error::User {
            message: e.to_string(),
        })?;
        Ok(())
    }
    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.state.results.get(filter)
    }
}
