//! The runtime of one processor version: merge the inputs in (record timestamp, topic,
//! partition, offset) order up to the log's safe time, run the operator, advance the watermark
//! after every record, write output through the exactly-once writers, checkpoint. A `Task` is
//! driven by `step()`; the `Manager` runs it on a thread, tests and the embedded API call it
//! directly. Nothing here reads the wall clock.

use std::collections::VecDeque;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, Checkpoint};
use crate::error::{Error, Result};
use crate::io::{Log, LogInfo, Sink, Source, SourceRecord};
use crate::limits::{
    CHECKPOINT_IDLE_STEPS, CHECKPOINT_INTERVAL_RECORDS, FETCH_RECORDS_MAX,
    OUTPUT_BATCH_RECORDS_MAX, WATERMARK_IDLE_TIMEOUT_MS_DEFAULT,
};
use crate::operator::{
    Emit, EventRange, InputRecord, Operator, OutRecord, Outcome, ResultRow, ResultsFilter,
    StateSize,
};
use crate::output::Output;
use crate::timestamp;
use crate::value::write_json_string;
use crate::watermark::Watermarks;

/// Where a processor starts reading when it has no checkpoint yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// The whole retained history (the default: the log is the source of truth).
    #[default]
    Earliest,
    /// Only records appended after the processor is created.
    Latest,
    /// This offset in every input partition (clamped to what is retained).
    Offset(u64),
    /// The first record with a timestamp >= this (ms), via the time index.
    Timestamp(u64),
}

#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub start: Start,
    /// A bounded run (a backfill): it reads the log up to its end as it stood when the run
    /// started, keeps the records whose event time is below this (ms), writes its final rows
    /// and finishes (DESIGN.md §3).
    pub end_ms: Option<i64>,
    /// Records whose event time is below this (ms) are skipped (a backfill's `from`).
    pub from_ms: Option<i64>,
    pub watermark_delay_ms: i64,
    /// An input partition whose last record read is older than this in log time stops holding
    /// the watermark back (`'scan.watermark.idle-timeout'`); 0 never lets one go idle.
    pub watermark_idle_timeout_ms: u64,
    /// Where checkpoints live; None runs without them (nothing survives a restart).
    pub checkpoint_path: Option<PathBuf>,
    pub checkpoint_interval_records: u64,
    /// Records fetched per input per step (at most FETCH_RECORDS_MAX); small in crash tests.
    pub fetch_records: usize,
    /// Input topics whose table has its own watermark delay and idle timeout (a join's second
    /// table); the others use `watermark_delay_ms` and `watermark_idle_timeout_ms`.
    pub table_watermarks: Vec<TableWatermark>,
}

/// The watermark settings of one input topic's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableWatermark {
    pub topic: String,
    pub delay_ms: i64,
    pub idle_timeout_ms: u64,
}

impl TaskSpec {
    /// The watermark settings of `plan`'s tables (the input's, and a join's second table's).
    pub fn watermarks_of(plan: &crate::plan::Plan) -> TaskSpec {
        TaskSpec {
            watermark_delay_ms: plan.watermark_delay_ms,
            watermark_idle_timeout_ms: plan.watermark_idle_timeout_ms,
            table_watermarks: plan
                .join
                .iter()
                .filter(|j| j.right.topic != plan.input)
                .map(|j| TableWatermark {
                    topic: j.right.topic.clone(),
                    delay_ms: j.right.watermark_delay_ms,
                    idle_timeout_ms: j.right.watermark_idle_timeout_ms,
                })
                .collect(),
            ..TaskSpec::default()
        }
    }
}

impl Default for TaskSpec {
    fn default() -> Self {
        TaskSpec {
            start: Start::Earliest,
            end_ms: None,
            from_ms: None,
            watermark_delay_ms: 0,
            watermark_idle_timeout_ms: WATERMARK_IDLE_TIMEOUT_MS_DEFAULT,
            checkpoint_path: None,
            checkpoint_interval_records: CHECKPOINT_INTERVAL_RECORDS,
            fetch_records: FETCH_RECORDS_MAX,
            table_watermarks: Vec::new(),
        }
    }
}

/// What one `step()` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub processed: usize,
    /// A bounded run has reached its end (its final output is written).
    pub finished: bool,
    /// Records are buffered but not yet below the safe time.
    pub waiting_for_safe_time: bool,
}

/// Progress of one input partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputStatus {
    pub topic: String,
    pub partition: u32,
    pub next_offset: u64,
    pub end_offset: u64,
    /// This partition's watermark (RFC 3339), null before its first event time.
    pub watermark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    pub inputs: Vec<InputStatus>,
    pub lag: u64,
    pub watermark_ms: Option<i64>,
    pub records_in: u64,
    pub records_out: u64,
    pub late_records: u64,
    pub invalid_records: u64,
    pub state_bytes: u64,
    pub caught_up: bool,
    pub finished: bool,
    /// The log the inputs are read from, and whether the deterministic merge holds on it.
    pub log: LogInfo,
    /// The operator's state, kind by kind, against each kind's ceiling.
    pub state: Vec<StateSize>,
}

pub struct Task {
    source: Box<dyn Source>,
    output: Output,
    late: Output,
    operator: Box<dyn Operator>,
    spec: TaskSpec,
    /// Next offset to process, per input.
    positions: Vec<u64>,
    /// Next offset to fetch, per input (positions + buffered).
    fetched: Vec<u64>,
    buffers: Vec<VecDeque<SourceRecord>>,
    marks: Watermarks,
    pending_out: Vec<(u32, OutRecord)>,
    pending_late: Vec<(u32, OutRecord)>,
    emit: Emit,
    cp: Checkpoint,
    since_checkpoint: u64,
    /// Consecutive steps that found nothing to process.
    idle_steps: u64,
    state_bytes: u64,
    /// When set, `step` processes only records with timestamps at or below it (a pause point
    /// shared by two versions at promotion; never persisted).
    barrier_ms: Option<u64>,
    /// The (timestamp, input) of the last record merged, to assert the merge order.
    last_merged: Option<(u64, usize)>,
}

impl Task {
    /// Opens a task: resumes from its checkpoint if there is one, else resolves the start
    /// position and writes a first checkpoint, so a restart never re-resolves it.
    pub fn open(
        source: Box<dyn Source>,
        output: Box<dyn Sink>,
        late: Box<dyn Sink>,
        mut operator: Box<dyn Operator>,
        spec: TaskSpec,
    ) -> Result<Task> {
        let saved = match &spec.checkpoint_path {
            Some(p) => checkpoint::read(p)?,
            None => None,
        };
        operator.set_event_range(EventRange {
            from_ms: spec.from_ms,
            to_ms: spec.end_ms,
        });
        let names: Vec<(String, u32)> = source
            .inputs()
            .iter()
            .map(|i| (i.topic.clone(), i.partition))
            .collect();
        let (positions, mut cp, fresh) = match saved {
            Some(cp) => {
                let saved_names: Vec<(String, u32)> =
                    cp.inputs.iter().map(|(t, p, _)| (t.clone(), *p)).collect();
                if saved_names != names {
                    return Err(Error::Checkpoint {
                        path: spec.checkpoint_path.clone().unwrap_or_default(),
                        reason: format!("the checkpoint's inputs {saved_names:?} differ from the topics' partitions {names:?}"),
                    });
                }
                operator.restore(&cp.operator)?;
                (cp.inputs.iter().map(|(_, _, o)| *o).collect(), cp, false)
            }
            None => {
                let positions = (0..names.len())
                    .map(|i| resolve_start(&*source, i, spec.start))
                    .collect::<Result<Vec<_>>>()?;
                (positions, Checkpoint::default(), true)
            }
        };
        if spec.end_ms.is_some() && cp.bounded_ends.is_none() {
            // The log's end now is where this run ends, whatever is appended meanwhile.
            cp.bounded_ends = Some(
                (0..names.len())
                    .map(|i| source.end_offset(i))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        let output = Output::open(output, if fresh { None } else { Some(&cp.output_ends) })?;
        let late = Output::open(late, if fresh { None } else { Some(&cp.late_ends) })?;
        let n = positions.len();
        let mut marks = Watermarks::new(n, spec.watermark_delay_ms, spec.watermark_idle_timeout_ms);
        for (i, (topic, _)) in names.iter().enumerate() {
            if let Some(t) = spec.table_watermarks.iter().find(|t| t.topic == *topic) {
                marks.set_table(i, t.delay_ms, t.idle_timeout_ms);
            }
        }
        if !fresh && cp.marks.len() == n {
            marks.restore(&cp.marks, cp.watermark_ms);
            if cp.watermark_ms.is_none() && n > 0 {
                // A version 1 checkpoint: its single watermark, on every input.
                let wm = (0..n).filter_map(|i| marks.partition(i)).min();
                if (0..n).all(|i| marks.partition(i).is_some()) {
                    marks.restore(&cp.marks, wm);
                }
            }
        }
        let mut task = Task {
            source,
            output,
            late,
            operator,
            marks,
            fetched: positions.clone(),
            positions,
            buffers: (0..n).map(|_| VecDeque::new()).collect(),
            pending_out: Vec::new(),
            pending_late: Vec::new(),
            emit: Emit::default(),
            spec,
            since_checkpoint: 0,
            idle_steps: 0,
            state_bytes: 0,
            barrier_ms: None,
            last_merged: None,
            cp,
        };
        if fresh {
            task.checkpoint()?;
        } else {
            task.state_bytes = task.cp.operator.len() as u64;
        }
        Ok(task)
    }

    /// Opens the task of `operator` reading `inputs` and writing `output` and `late`, all on
    /// `log`: the one way the manager, the embedded API, the benchmark and tests wire a task.
    pub fn open_on(
        log: &dyn Log,
        inputs: &[&str],
        output: &str,
        late: &str,
        operator: Box<dyn Operator>,
        spec: TaskSpec,
    ) -> Result<Task> {
        Task::open(
            log.source(inputs)?,
            log.sink(output)?,
            log.sink(late)?,
            operator,
            spec,
        )
    }

    pub fn output_topic(&self) -> &str {
        self.output.topic()
    }

    pub fn late_topic(&self) -> &str {
        self.late.topic()
    }

    /// Processes what is available up to the safe time (one fetch per input at most).
    pub fn step(&mut self) -> Result<Step> {
        if self.cp.finished {
            return Ok(Step {
                processed: 0,
                finished: true,
                waiting_for_safe_time: false,
            });
        }
        let safe = self.source.safe_time_ms();
        let n = self.buffers.len();
        let mut exhausted = vec![false; n];
        let fetch = self.spec.fetch_records.clamp(1, FETCH_RECORDS_MAX);
        for (i, done) in exhausted.iter_mut().enumerate() {
            if self.buffers[i].is_empty() {
                let fetch = match &self.cp.bounded_ends {
                    Some(ends) => fetch.min(ends[i].saturating_sub(self.fetched[i]) as usize),
                    None => fetch,
                };
                if fetch == 0 {
                    *done = true;
                    continue;
                }
                let records = self.source.fetch(i, self.fetched[i], fetch)?;
                *done = records.len() < fetch;
                if let Some(last) = records.last() {
                    assert!(
                        last.offset >= self.fetched[i],
                        "a source returned offsets out of order"
                    );
                    self.fetched[i] = last.offset + 1;
                }
                // The buffer is empty: take the fetched Vec as it is instead of copying it.
                self.buffers[i] = VecDeque::from(records);
            }
        }
        let mut processed = 0;
        let mut waiting = false;
        'merge: loop {
            // The first input in (timestamp, input index) order, and the runner-up: input
            // `best` keeps going first until its front passes the runner-up's, so the fronts
            // are compared once per run of records rather than once per record.
            let mut best: Option<(u64, usize)> = None;
            let mut runner_up: Option<(u64, usize)> = None;
            let mut blocked = false;
            for (i, b) in self.buffers.iter().enumerate() {
                match b.front() {
                    None if !exhausted[i] => blocked = true,
                    None => {}
                    Some(r) => {
                        let front = (r.timestamp_ms, i);
                        if best.is_none_or(|b| front < b) {
                            runner_up = best;
                            best = Some(front);
                        } else if runner_up.is_none_or(|s| front < s) {
                            runner_up = Some(front);
                        }
                    }
                }
            }
            let Some((_, i)) = best else { break };
            if blocked {
                break;
            }
            // An emptied buffer ends the run: the fronts are looked at again (it may block).
            while let Some(r) = self.buffers[i].front() {
                let ts = r.timestamp_ms;
                if runner_up.is_some_and(|s| (ts, i) > s) {
                    continue 'merge;
                }
                if self.barrier_ms.is_some_and(|b| ts > b) {
                    break 'merge;
                }
                if ts > safe {
                    waiting = true;
                    break 'merge;
                }
                let record = self.buffers[i].pop_front().expect("the loop saw a front");
                // The property the rest stands on (DESIGN.md §3): records are taken in
                // (timestamp, topic, partition) order, whatever the fetch sizes.
                assert!(
                    self.last_merged.is_none_or(|last| last <= (ts, i)),
                    "the merge went back: {:?} after {:?}",
                    (ts, i),
                    self.last_merged
                );
                self.last_merged = Some((ts, i));
                self.process_one(i, &record)?;
                processed += 1;
                if self.pending_out.len() + self.pending_late.len() >= OUTPUT_BATCH_RECORDS_MAX {
                    self.flush()?;
                }
            }
        }
        self.flush()?;
        self.idle_steps = if processed == 0 {
            self.idle_steps + 1
        } else {
            0
        };
        let finished = self
            .cp
            .bounded_ends
            .as_ref()
            .is_some_and(|ends| self.positions.iter().zip(ends).all(|(p, e)| p >= e));
        if finished {
            self.operator.finish(&mut self.emit)?;
            let records: Vec<OutRecord> = self.emit.records.drain(..).collect();
            self.cp.records_out += records.len() as u64;
            self.pending_out.extend(records.into_iter().map(|r| (0, r)));
            self.cp.finished = true;
            self.checkpoint()?;
        } else if self.since_checkpoint >= self.spec.checkpoint_interval_records
            || (processed == 0
                && self.since_checkpoint > 0
                && self.idle_steps >= CHECKPOINT_IDLE_STEPS)
        {
            self.checkpoint()?;
        }
        Ok(Step {
            processed,
            finished,
            waiting_for_safe_time: waiting,
        })
    }

    fn process_one(&mut self, i: usize, r: &SourceRecord) -> Result<()> {
        let input = &self.source.inputs()[i];
        let partition = input.partition;
        let record = InputRecord {
            topic: &input.topic,
            partition,
            offset: r.offset,
            timestamp_ms: r.timestamp_ms as i64,
            key: r.key.as_deref(),
            value: &r.value,
        };
        let watermark = self.marks.current();
        let outcome = self.operator.process(&record, watermark, &mut self.emit)?;
        let (event_time, late_reason) = match outcome {
            Outcome::Accepted { event_time_ms } => (Some(event_time_ms), None),
            Outcome::Late { event_time_ms } => (Some(event_time_ms), Some("late".to_string())),
            Outcome::Invalid { reason } => (None, Some(format!("invalid: {reason}"))),
            Outcome::Skipped => (None, None),
        };
        let buffers = &self.buffers;
        let now = self.marks.observe(i, r.timestamp_ms, event_time, |j| {
            buffers[j].front().map(|r| r.timestamp_ms)
        });
        if now > watermark {
            self.operator.advance(now, &mut self.emit)?;
        }
        if let Some(reason) = late_reason {
            if reason == "late" {
                self.cp.late_records += 1;
            } else {
                self.cp.invalid_records += 1;
            }
            let value = late_value(&reason, watermark, &record);
            self.pending_late.push((
                partition,
                OutRecord {
                    key: r.key.as_ref().map(|k| k.to_vec()),
                    value,
                },
            ));
        }
        self.cp.records_out += self.emit.records.len() as u64;
        self.pending_out
            .extend(self.emit.records.drain(..).map(|o| (partition, o)));
        self.positions[i] = r.offset + 1;
        self.cp.records_in += 1;
        self.since_checkpoint += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.pending_out.is_empty() {
            self.output.write(std::mem::take(&mut self.pending_out))?;
        }
        if !self.pending_late.is_empty() {
            self.late.write(std::mem::take(&mut self.pending_late))?;
        }
        Ok(())
    }

    /// Writes pending output, then saves state, positions, watermark and output ends together.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.flush()?;
        let inputs = self.source.inputs();
        self.cp.inputs = inputs
            .iter()
            .zip(&self.positions)
            .map(|(i, o)| (i.topic.clone(), i.partition, *o))
            .collect();
        self.cp.marks = self.marks.parts().to_vec();
        self.cp.watermark_ms = self.marks.get();
        self.cp.output_ends = self.output.ends().to_vec();
        self.cp.late_ends = self.late.ends().to_vec();
        self.cp.operator = self.operator.snapshot()?;
        self.state_bytes = self.cp.operator.len() as u64;
        if let Some(path) = &self.spec.checkpoint_path {
            checkpoint::write(path, &self.cp)?;
            tracing::debug!(path = %path.display(), records_in = self.cp.records_in, "checkpoint");
        }
        self.since_checkpoint = 0;
        Ok(())
    }

    /// Processes only records with timestamps at or below `barrier_ms` until it is cleared.
    pub fn set_barrier(&mut self, barrier_ms: Option<u64>) {
        self.barrier_ms = barrier_ms;
    }

    /// Steps until nothing more is available now (or a bounded run finishes).
    pub fn run_until_idle(&mut self) -> Result<Step> {
        loop {
            let s = self.step()?;
            if s.processed == 0 || s.finished {
                return Ok(s);
            }
        }
    }

    pub fn wait(&self, timeout: std::time::Duration) {
        self.source.wait(timeout)
    }

    pub fn results(&self, filter: &ResultsFilter) -> Vec<ResultRow> {
        self.operator.results(filter)
    }

    pub fn status(&self) -> TaskStatus {
        let mut inputs = Vec::new();
        let mut lag = 0;
        for (i, input) in self.source.inputs().iter().enumerate() {
            let end_offset = self.source.end_offset(i).unwrap_or(self.positions[i]);
            lag += end_offset.saturating_sub(self.positions[i]);
            inputs.push(InputStatus {
                topic: input.topic.clone(),
                partition: input.partition,
                next_offset: self.positions[i],
                end_offset,
                watermark: self.marks.partition(i).map(timestamp::format_rfc3339),
            });
        }
        TaskStatus {
            inputs,
            lag,
            watermark_ms: self.marks.get(),
            records_in: self.cp.records_in,
            records_out: self.cp.records_out,
            late_records: self.cp.late_records,
            invalid_records: self.cp.invalid_records,
            state_bytes: self.state_bytes,
            caught_up: lag == 0 || self.cp.finished,
            finished: self.cp.finished,
            log: self.source.log(),
            state: self.operator.state_sizes(),
        }
    }
}

fn resolve_start(source: &dyn Source, i: usize, start: Start) -> Result<u64> {
    let (lo, hi) = (source.start_offset(i)?, source.end_offset(i)?);
    Ok(match start {
        Start::Earliest => lo,
        Start::Latest => hi,
        Start::Offset(o) => o.clamp(lo, hi),
        Start::Timestamp(t) => source.offset_for_timestamp(i, t)?.clamp(lo, hi),
    })
}

/// `{"reason", "watermark", "partition", "offset", "topic", "value"}`; the value is embedded as
/// JSON when it is JSON, else as a string.
fn late_value(reason: &str, watermark_ms: i64, r: &InputRecord<'_>) -> Vec<u8> {
    let mut s = String::with_capacity(r.value.len() + 128);
    s.push_str("{\"reason\":");
    write_json_string(reason, &mut s);
    s.push_str(",\"watermark\":");
    if watermark_ms == i64::MIN {
        s.push_str("null");
    } else {
        s.push('"');
        timestamp::write_rfc3339(watermark_ms, &mut s);
        s.push('"');
    }
    s.push_str(&format!(
        ",\"partition\":{},\"offset\":{},\"topic\":",
        r.partition, r.offset
    ));
    write_json_string(r.topic, &mut s);
    s.push_str(",\"value\":");
    match std::str::from_utf8(r.value) {
        Ok(text) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
            s.push_str(text.trim())
        }
        _ => write_json_string(&String::from_utf8_lossy(r.value), &mut s),
    }
    s.push('}');
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custom::{Context, Processor, ProcessorOperator, Record};
    use crate::io::memory::MemoryLog;

    /// Writes "topic/partition/value" for every record, to see the merged order.
    #[derive(Clone)]
    struct Echo;
    impl Processor for Echo {
        type State = ();
        fn process(&mut self, _: &mut (), r: &Record<'_>, ctx: &mut Context<'_>) -> Result<()> {
            ctx.emit(
                None,
                &format!(
                    "{}/{}/{}",
                    r.topic,
                    r.partition,
                    String::from_utf8_lossy(r.value)
                ),
            )
        }
    }

    fn task(log: &MemoryLog, topics: &[&str], fetch_records: usize) -> Task {
        let spec = TaskSpec {
            fetch_records,
            ..TaskSpec::default()
        };
        let op = ProcessorOperator::new(Echo);
        Task::open(
            Box::new(log.source(topics)),
            Box::new(log.sink("out", 1)),
            Box::new(log.sink("late", 1)),
            Box::new(op),
            spec,
        )
        .unwrap()
    }

    fn out(log: &MemoryLog) -> Vec<String> {
        log.records("out", 0)
            .iter()
            .map(|r| serde_json::from_slice::<String>(&r.value).unwrap())
            .collect()
    }

    fn script(log: &MemoryLog) {
        log.create_topic("t", 3);
        log.create_topic("u", 1);
        for (topic, p, ts, v) in [
            ("t", 0, 5, "a"),
            ("t", 0, 7, "d"),
            ("t", 1, 5, "b"),
            ("t", 1, 6, "c"),
            ("t", 2, 7, "e"),
            ("u", 0, 5, "x"),
            ("u", 0, 7, "y"),
        ] {
            log.append(topic, p, ts, None, v.as_bytes());
        }
    }

    #[test]
    fn inputs_merge_in_timestamp_topic_partition_offset_order_whatever_the_batch_size() {
        for fetch in [1, 2, 100] {
            let log = MemoryLog::new();
            script(&log);
            task(&log, &["u", "t"], fetch).run_until_idle().unwrap();
            assert_eq!(
                out(&log),
                ["t/0/a", "t/1/b", "u/0/x", "t/1/c", "t/0/d", "t/2/e", "u/0/y"],
                "fetch {fetch}"
            );
        }
    }

    #[test]
    fn records_above_the_safe_time_wait_until_it_passes_them() {
        let log = MemoryLog::new();
        script(&log);
        log.set_safe_time(Some(5));
        let mut t = task(&log, &["t", "u"], 100);
        let s = t.run_until_idle().unwrap();
        assert!(s.waiting_for_safe_time);
        assert_eq!(out(&log), ["t/0/a", "t/1/b", "u/0/x"]);
        assert_eq!(t.status().lag, 4);
        log.set_safe_time(Some(6));
        t.run_until_idle().unwrap();
        assert_eq!(out(&log).len(), 4);
        log.set_safe_time(None);
        t.run_until_idle().unwrap();
        assert_eq!(out(&log).len(), 7);
        assert!(t.status().caught_up);
    }

    #[test]
    fn a_bounded_run_stops_before_the_end_time_and_reports_finished() {
        let log = MemoryLog::new();
        script(&log);
        let spec = TaskSpec {
            end_ms: Some(7),
            ..TaskSpec::default()
        };
        let op = ProcessorOperator::new(Echo);
        let mut t = Task::open(
            Box::new(log.source(&["t"])),
            Box::new(log.sink("out", 1)),
            Box::new(log.sink("late", 1)),
            Box::new(op),
            spec,
        )
        .unwrap();
        let s = t.run_until_idle().unwrap();
        assert!(s.finished && t.status().finished);
        assert_eq!(out(&log), ["t/0/a", "t/1/b", "t/1/c"]);
        assert_eq!(t.step().unwrap().processed, 0);
    }

    #[test]
    fn start_positions_resolve_latest_and_timestamp() {
        let log = MemoryLog::new();
        script(&log);
        for (start, expected) in [
            (Start::Latest, 0),
            (Start::Timestamp(7), 2),
            (Start::Offset(1), 2),
        ] {
            let log2 = log.clone();
            let spec = TaskSpec {
                start,
                ..TaskSpec::default()
            };
            let op = ProcessorOperator::new(Echo);
            let sink = format!("out-{start:?}");
            let mut t = Task::open(
                Box::new(log2.source(&["t"])),
                Box::new(log2.sink(&sink, 1)),
                Box::new(log2.sink("late", 1)),
                Box::new(op),
                spec,
            )
            .unwrap();
            t.run_until_idle().unwrap();
            assert_eq!(log.records(&sink, 0).len(), expected, "{start:?}");
        }
    }
}
