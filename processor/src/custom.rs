//! The Rust API's processor trait: user code with typed (serde) state, run by the same runtime
//! as SQL (merged input order, watermarks, checkpoints, exactly-once output). The state is
//! checkpointed with bincode, so it must be deterministic to serialize: use BTreeMap, not
//! HashMap.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::operator::{Emit, EventRange, InputRecord, Operator, Outcome, ResultRow, ResultsFilter};
use crate::state::results::Results;

/// One input record as user code sees it.
pub type Record<'a> = InputRecord<'a>;

/// A processor written in Rust.
pub trait Processor: Send + 'static {
    type State: Serialize + DeserializeOwned + Default + Send;

    /// The record's event time in ms; None sends it to the late topic as invalid.
    /// Default: the record's append timestamp.
    fn event_time(&self, record: &Record<'_>) -> Option<i64> {
        Some(record.timestamp_ms)
    }
    /// Handles one record, in merged input order.
    fn process(
        &mut self,
        state: &mut Self::State,
        record: &Record<'_>,
        ctx: &mut Context<'_>,
    ) -> Result<()>;
    /// The watermark advanced (after `process` of the record that moved it).
    fn on_watermark(&mut self, _state: &mut Self::State, _ctx: &mut Context<'_>) -> Result<()> {
        Ok(())
    }
}

/// What user code may do while handling a record or a watermark.
pub struct Context<'a> {
    emit: &'a mut Emit,
    results: &'a mut Results,
    watermark_ms: i64,
    late: bool,
}

impl Context<'_> {
    /// The current watermark (i64::MIN before the first record).
    pub fn watermark_ms(&self) -> i64 {
        self.watermark_ms
    }
    /// Writes one output record; `value` is serialized as JSON.
    pub fn emit(&mut self, key: Option<&str>, value: &impl Serialize) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| Error::User {
            message: e.to_string(),
        })?;
        self.results.put(None, key.map(str::as_bytes), &json);
        self.emit
            .push(key.map(|k| k.as_bytes().to_vec()), json.into_bytes());
        Ok(())
    }
    /// Sends the current record to the late topic (reason "late") and counts it.
    pub fn mark_late(&mut self) {
        self.late = true;
    }
}

/// Runs a `Processor` as an `Operator`.
pub struct ProcessorOperator<P: Processor> {
    processor: P,
    state: P::State,
    results: Results,
    range: EventRange,
}

impl<P: Processor> ProcessorOperator<P> {
    pub fn new(processor: P) -> Self {
        ProcessorOperator {
            processor,
            state: P::State::default(),
            results: Results::default(),
            range: EventRange::default(),
        }
    }
}

impl<P: Processor> Operator for ProcessorOperator<P> {
    fn process(
        &mut self,
        record: &InputRecord<'_>,
        watermark_ms: i64,
        out: &mut Emit,
    ) -> Result<Outcome> {
        let Some(t) = self.processor.event_time(record) else {
            return Ok(Outcome::Invalid {
                reason: "no event time".into(),
            });
        };
        if !self.range.contains(t) {
            return Ok(Outcome::Skipped);
        }
        let mut ctx = Context {
            emit: out,
            results: &mut self.results,
            watermark_ms,
            late: false,
        };
        self.processor.process(&mut self.state, record, &mut ctx)?;
        Ok(if ctx.late {
            Outcome::Late { event_time_ms: t }
        } else {
            Outcome::Accepted { event_time_ms: t }
        })
    }
    fn set_event_range(&mut self, range: EventRange) {
        self.range = range;
    }
    fn advance(&mut self, watermark_ms: i64, out: &mut Emit) -> Result<()> {
        let mut ctx = Context {
            emit: out,
            results: &mut self.results,
            watermark_ms,
            late: false,
        };
        self.processor.on_watermark(&mut self.state, &mut ctx)
    }
    fn finish(&mut self, out: &mut Emit) -> Result<()> {
        self.advance(i64::MAX, out)
    }
    fn snapshot(&self) -> Result<Vec<u8>> {
        bincode::serialize(&(&self.state, &self.results)).map_err(|e| Error::Checkpoint {
            path: "<processor state>".into(),
            reason: e.to_string(),
        })
    }
    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let (state, results) = bincode::deserialize(snapshot).map_err(|e| Error::Checkpoint {
            path: "<processor state>".into(),
            reason: e.to_string(),
        })?;
        self.state = state;
        self.results = results;
        Ok(())
    }
    fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.results.get(filter)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::io::memory::MemoryLog;
    use crate::task::{Task, TaskSpec};

    /// Counts records per key and emits the running count: typed state in a BTreeMap.
    #[derive(Clone)]
    struct CountPerKey;

    impl Processor for CountPerKey {
        type State = BTreeMap<String, u64>;
        fn process(
            &mut self,
            state: &mut Self::State,
            r: &Record<'_>,
            ctx: &mut Context<'_>,
        ) -> Result<()> {
            let key = String::from_utf8_lossy(r.value).into_owned();
            let n = state.entry(key.clone()).or_default();
            *n += 1;
            ctx.emit(Some(&key), &serde_json::json!({"key": key, "count": *n}))
        }
    }

    fn open(log: &MemoryLog, path: &std::path::Path) -> Task {
        let spec = TaskSpec {
            checkpoint_path: Some(path.to_path_buf()),
            ..TaskSpec::default()
        };
        let op = ProcessorOperator::new(CountPerKey);
        log.create_topic("in", 1);
        Task::open_on(log, &["in"], "out", "out.late", Box::new(op), spec).unwrap()
    }

    #[test]
    fn typed_state_survives_a_restart_through_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp");
        let log = MemoryLog::new();
        for (i, k) in ["a", "b", "a"].iter().enumerate() {
            log.append("in", 0, i as u64, None, k.as_bytes());
        }
        open(&log, &path).run_until_idle().unwrap();
        log.append("in", 0, 9, None, b"a");
        open(&log, &path).run_until_idle().unwrap();
        let last = log.records("out", 0).pop().unwrap();
        assert_eq!(&last.value[..], br#"{"count":3,"key":"a"}"#);
        assert_eq!(log.records("out", 0).len(), 4);
    }
}
