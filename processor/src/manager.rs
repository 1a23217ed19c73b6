//! The `Manager` owns every processor of one data dir: it persists definitions under
//! `<data>/processors/<name>/`, runs each live version on its own std thread, restarts them
//! from their checkpoints on open, and stops them (with a final checkpoint) on shutdown.
//! A processor thread steps its `Task` and, when idle, sleeps on an input partition's listener
//! with a short timeout (the safe time moves with wall time while the log is idle).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use log_store::LogStore;

use crate::definition::{
    is_reserved_name, start_of, topics_of, CreateOptions, Definition, VersionDef,
};
use crate::error::{Error, Result};
use crate::io::log_store::StoreLog;
use crate::io::{log_for, Log, Source};
use crate::limits::{DISK_FULL_RETRY_MS, IDLE_WAIT_MS, PROCESSORS_MAX, SCHEMA_SAMPLE_RECORDS_MAX};
use crate::operator::{ResultRow, ResultsFilter};
use crate::plan::Plan;
use crate::sql::table::Hints;
use crate::status::{RunStatus, Status, VersionStatus};
use crate::task::{Task, TaskSpec, TaskStatus};
use crate::timestamp::format_rfc3339;

mod replay;
pub use replay::ReplayRequest;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a processor thread is a bug; the data behind the lock is still consistent
    // (a task is only mutated through `step`/`checkpoint`, which leave it valid on error).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, PartialEq)]
enum RunState {
    Running,
    /// Waiting for disk space (the cause): retried from the last checkpoint, status running.
    Stalled(String),
    Failed(String),
    Stopped,
}

/// One running (or failed/stopped) version, shared with its thread.
struct Shared {
    task: Mutex<Option<Task>>,
    /// Sleeps until an input append or the timeout, without the task lock.
    wait: Box<dyn Fn(Duration) + Send + Sync>,
    stop: AtomicBool,
    state: Mutex<RunState>,
    last: Mutex<Option<TaskStatus>>,
    /// Processing rate for progress reports (status only; never part of results).
    rate: Mutex<Rate>,
    /// Feeds the output alias from this version's output once it has been promoted.
    forward: Mutex<Option<replay::Forwarder>>,
    /// Opens the task again from its checkpoint (after a full disk: as after a crash).
    reopen: Box<dyn Fn() -> Result<Task> + Send + Sync>,
}

struct Run {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    input: String,
}

struct Entry {
    def: Definition,
    runs: BTreeMap<u32, Run>,
}

pub struct Manager {
    /// The log processors run on unless their SQL names another connector.
    log: Arc<dyn Log>,
    dir: PathBuf,
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Manager {
    /// Opens `dir` (`<data>/processors`), loading every saved processor and restarting its live
    /// versions from their checkpoints. A version that cannot restart is listed as failed.
    pub fn open(store: Arc<LogStore>, dir: &Path) -> Result<Manager> {
        Manager::on_log(Arc::new(StoreLog(store)), dir)
    }

    /// The same on any `Log` (the in-memory log in tests).
    pub fn on_log(log: Arc<dyn Log>, dir: &Path) -> Result<Manager> {
        fs::create_dir_all(dir).map_err(|e| Error::io("create dir", dir, e))?;
        let manager = Manager {
            log,
            dir: dir.to_path_buf(),
            entries: Mutex::new(BTreeMap::new()),
        };
        let mut names = Vec::new();
        for e in fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))? {
            let e = e.map_err(|e| Error::io("read dir", dir, e))?;
            if e.path().join("definition.json").exists() {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        let mut entries = lock(&manager.entries);
        for name in names {
            let def = match manager.load_definition(&name) {
                Ok(d) => d,
                Err(e) => {
                    // One unreadable definition must not keep the server (and the others) down.
                    tracing::error!(pipeline = %name, error = %e, "processor definition unreadable; skipped");
                    continue;
                }
            };
            let mut runs = BTreeMap::new();
            for v in &def.versions {
                runs.insert(v.version, manager.start_run(&def.name, v));
            }
            if let Some(alias) = &def.alias {
                if let Some(run) = runs.get(&alias.version) {
                    if let Err(e) = replay::attach(&*manager.log, run, alias) {
                        tracing::error!(pipeline = %name, error = %e, "output alias cannot be fed");
                    }
                }
            }
            tracing::info!(pipeline = %name, versions = def.versions.len(), "processor restarted");
            entries.insert(name, Entry { def, runs });
        }
        drop(entries);
        Ok(manager)
    }

    fn definition_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("definition.json")
    }

    fn load_definition(&self, name: &str) -> Result<Definition> {
        let path = self.definition_path(name);
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Checkpoint {
            path,
            reason: e.to_string(),
        })
    }

    fn save_definition(&self, def: &Definition) -> Result<()> {
        let dir = self.dir.join(&def.name);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create dir", &dir, e))?;
        let path = self.definition_path(&def.name);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(def).expect("definitions serialize");
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        std::io::Write::write_all(&mut f, &text).map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
        Ok(())
    }

    /// Opens the task of a version; errors become a failed run rather than failing `open`.
    fn open_task(&self, name: &str, v: &VersionDef) -> Result<(Task, String)> {
        open_task(&self.log, &self.dir.join(name), v)
    }

    fn start_run(&self, name: &str, v: &VersionDef) -> Run {
        let (task, input, state) = match self.open_task(name, v) {
            Ok((t, input)) => (
                Some(t),
                input,
                if v.stopped {
                    RunState::Stopped
                } else {
                    RunState::Running
                },
            ),
            Err(e) => {
                tracing::error!(pipeline = %name, version = v.version, error = %e, "processor failed to start");
                let input = v.compile().map(|(p, _)| p.input).unwrap_or_default();
                (None, input, RunState::Failed(e.to_string()))
            }
        };
        let last = task.as_ref().map(Task::status);
        let wait: Box<dyn Fn(Duration) + Send + Sync> = match v
            .compile()
            .and_then(|(plan, _)| log_for(&self.log, &plan.connector))
        {
            Ok(log) => log.waiter(&input),
            Err(_) => Box::new(std::thread::sleep),
        };
        let shared = Arc::new(Shared {
            task: Mutex::new(task),
            wait,
            stop: AtomicBool::new(false),
            state: Mutex::new(state.clone()),
            last: Mutex::new(last),
            forward: Mutex::new(None),
            rate: Mutex::new(Rate::default()),
            reopen: {
                let (log, dir, v) = (Arc::clone(&self.log), self.dir.join(name), v.clone());
                Box::new(move || open_task(&log, &dir, &v).map(|(t, _)| t))
            },
        });
        let thread = (state == RunState::Running).then(|| {
            let s = Arc::clone(&shared);
            let label = format!("{name}.v{}", v.version);
            std::thread::Builder::new()
                .name(format!(
                    "proc-{}",
                    label.chars().take(10).collect::<String>()
                ))
                .spawn(move || run_loop(s, label))
                .expect("spawning a processor thread")
        });
        Run {
            shared,
            thread,
            input,
        }
    }

    /// Creates, persists and starts a processor reading from the SQL's default start.
    pub fn create(&self, name: &str, sql: &str) -> Result<Status> {
        self.create_with(name, sql, CreateOptions::default())
    }

    /// Compiles `sql` against the log: its input topic must exist, and an input read without
    /// `CREATE TABLE` gets the column types of the records present now (`sql::infer`).
    pub(crate) fn plan(&self, sql: &str, bounded: bool) -> Result<(Plan, Hints)> {
        let plan = crate::sql::compile(sql, bounded)?;
        let log = log_for(&self.log, &plan.connector)?;
        let source = match log.source(&[plan.input.as_str()]) {
            Ok(s) => s,
            Err(Error::Log(log_store::Error::UnknownTopic { .. })) => {
                return Err(Error::InvalidDefinition {
                    message: format!("input topic {:?} does not exist", plan.input),
                })
            }
            Err(e) => return Err(e),
        };
        if !plan.inferred_input {
            return Ok((plan, Hints::new()));
        }
        let values = sample(source, SCHEMA_SAMPLE_RECORDS_MAX)?;
        let hints = crate::sql::infer::infer(values.iter().map(|v| &v[..]));
        let plan = crate::sql::compile_with_hints(sql, bounded, &hints)?;
        Ok((plan, hints))
    }

    /// Creates a processor with an explicit start and an optional end (a bounded run).
    pub fn create_with(&self, name: &str, sql: &str, opts: CreateOptions) -> Result<Status> {
        log_store::validate_name(name).map_err(|e| Error::InvalidName {
            name: name.chars().take(64).collect(),
            reason: e.to_string(),
        })?;
        if is_reserved_name(name) {
            return Err(Error::InvalidName {
                name: name.to_string(),
                reason:
                    "names ending in .late or .v<digits> are reserved for processors' own topics"
                        .into(),
            });
        }
        let mut entries = lock(&self.entries);
        if entries.contains_key(name) {
            return Err(Error::Exists {
                name: name.to_string(),
            });
        }
        if entries.len() >= PROCESSORS_MAX {
            return Err(Error::Limit {
                limit: "PROCESSORS_MAX",
                max: PROCESSORS_MAX as u64,
                what: "processors".into(),
            });
        }
        let (plan, inferred) = self.plan(sql, opts.end_ms.is_some())?;
        let (output, late_topic) = topics_of(name, 1, &plan);
        for t in [&output, &late_topic] {
            log_store::validate_name(t).map_err(|e| Error::InvalidDefinition {
                message: e.to_string(),
            })?;
            if *t == plan.input {
                return Err(Error::InvalidDefinition {
                    message: format!("processor {name} would write to its own input {t}"),
                });
            }
        }
        // A processor writes only into topics it owns, unless its SQL says INSERT INTO.
        let mut owned = vec![late_topic.clone()];
        if plan.output.is_none() {
            owned.push(output.clone());
        }
        for t in &log_for(&self.log, &plan.connector)?.topics()? {
            let version_topic = t
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(".v"))
                .is_some_and(|n| {
                    let n = n.strip_suffix(".late").unwrap_or(n);
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                });
            if owned.iter().any(|o| o == t) || version_topic {
                return Err(Error::Log(log_store::Error::TopicExists {
                    topic: t.to_string(),
                }));
            }
        }
        if let Some(plan_output) = &plan.output {
            if is_reserved_name(plan_output) {
                return Err(Error::InvalidDefinition {
                    message: format!(
                        "INSERT INTO {plan_output}: names ending in .late or .v<digits> are reserved for processors' own topics"
                    ),
                });
            }
        }
        if let Some(other) = entries.values().find(|e| {
            e.def
                .versions
                .iter()
                .any(|v| v.output == output || v.late_topic == output)
        }) {
            return Err(Error::InvalidDefinition {
                message: format!(
                    "topic {output} is already the output of processor {}",
                    other.def.name
                ),
            });
        }
        let v = VersionDef {
            version: 1,
            sql: sql.to_string(),
            output,
            late_topic,
            start: start_of(&plan, opts.start),
            end_ms: opts.end_ms,
            from_ms: opts.from_ms,
            inferred,
            stopped: false,
        };
        let def = Definition {
            name: name.to_string(),
            current: 1,
            versions: vec![v.clone()],
            alias: None,
        };
        self.save_definition(&def)?;
        let (task, input) = match self.open_task(name, &v) {
            Ok(t) => t,
            Err(e) => {
                let _ = fs::remove_dir_all(self.dir.join(name));
                return Err(e);
            }
        };
        drop(task);
        let run = self.start_run(name, &v);
        let _ = input;
        entries.insert(
            name.to_string(),
            Entry {
                def,
                runs: BTreeMap::from([(1, run)]),
            },
        );
        tracing::info!(pipeline = %name, "processor created");
        Ok(status_of(entries.get(name).expect("inserted")))
    }

    pub fn list(&self) -> Vec<Status> {
        lock(&self.entries).values().map(status_of).collect()
    }

    pub fn status(&self, name: &str) -> Result<Status> {
        let entries = lock(&self.entries);
        entries
            .get(name)
            .map(status_of)
            .ok_or_else(|| Error::NotFound {
                name: name.to_string(),
            })
    }

    /// Stops every version (with a final checkpoint) and removes the definition and checkpoints.
    /// Output topics stay: they are the user's data.
    pub fn delete(&self, name: &str) -> Result<()> {
        let mut entries = lock(&self.entries);
        let mut entry = entries.remove(name).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })?;
        for run in entry.runs.values_mut() {
            stop_run(run);
        }
        let dir = self.dir.join(name);
        fs::remove_dir_all(&dir).map_err(|e| Error::io("remove dir", &dir, e))?;
        tracing::info!(pipeline = %name, "processor deleted");
        Ok(())
    }

    /// The materialized results of `version` (default: the current one).
    pub fn results(
        &self,
        name: &str,
        version: Option<u32>,
        filter: &ResultsFilter,
    ) -> Result<Vec<ResultRow>> {
        let entries = lock(&self.entries);
        let entry = entries.get(name).ok_or_else(|| Error::NotFound {
            name: name.to_string(),
        })?;
        let version = version.unwrap_or(entry.def.current);
        let run = entry
            .runs
            .get(&version)
            .ok_or_else(|| Error::UnknownVersion {
                name: name.to_string(),
                version,
            })?;
        let task = lock(&run.shared.task);
        Ok(task.as_ref().map(|t| t.results(filter)).unwrap_or_default())
    }

    /// A processor that reads or writes `topic`, and which it does (deleting the topic is
    /// refused while one does: DESIGN.md §5).
    pub fn user_of(&self, topic: &str) -> Option<(String, &'static str)> {
        let entries = lock(&self.entries);
        entries.values().find_map(|e| {
            let name = e.def.name.clone();
            if e.runs.values().any(|r| r.input == topic) {
                return Some((name, "read"));
            }
            let writes = e
                .def
                .versions
                .iter()
                .any(|v| v.output == topic || v.late_topic == topic)
                || e.def.alias.as_ref().is_some_and(|a| {
                    a.topic == topic || a.late.as_ref().is_some_and(|l| l.topic == topic)
                });
            writes.then_some((name, "written"))
        })
    }

    /// Stops every processor with a final checkpoint. Idempotent.
    pub fn shutdown(&self) -> Result<()> {
        let mut entries = lock(&self.entries);
        for e in entries.values_mut() {
            for run in e.runs.values_mut() {
                stop_run(run);
            }
        }
        Ok(())
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn stop_run(run: &mut Run) {
    run.shared.stop.store(true, Ordering::SeqCst);
    if let Some(t) = run.thread.take() {
        let _ = t.join();
    }
}

fn run_loop(shared: Arc<Shared>, label: String) {
    let span = tracing::info_span!("processor", pipeline = %label);
    let _enter = span.enter();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            let mut task = lock(&shared.task);
            if let Some(t) = task.as_mut() {
                if let Err(e) = t.checkpoint() {
                    tracing::error!(error = %e, "final checkpoint failed");
                    *lock(&shared.state) = RunState::Failed(e.to_string());
                    return;
                }
                *lock(&shared.last) = Some(t.status());
            }
            *lock(&shared.state) = RunState::Stopped;
            return;
        }
        let result = {
            let mut task = lock(&shared.task);
            let t = task.as_mut().expect("a running version has a task");
            let r = t.step();
            // A failed step's in-memory positions are not what survives: keep the last status.
            if r.is_ok() {
                let status = t.status();
                lock(&shared.rate).observe(status.records_in);
                *lock(&shared.last) = Some(status);
                let mut state = lock(&shared.state);
                if matches!(*state, RunState::Stalled(_)) {
                    *state = RunState::Running;
                }
            }
            r
        };
        let result = result.and_then(|s| replay::pump(&shared).map(|()| s));
        match result {
            Err(e) if e.is_disk_full() => {
                tracing::warn!(error = %e, "processor waits for disk space");
                if !wait_for_space(&shared, e.to_string()) {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "processor failed");
                *lock(&shared.state) = RunState::Failed(e.to_string());
                return;
            }
            Ok(s) if s.finished => {
                tracing::info!("bounded run finished");
                *lock(&shared.state) = RunState::Stopped;
                return;
            }
            Ok(s) if s.processed > 0 => {}
            Ok(s) if s.waiting_for_safe_time => std::thread::sleep(Duration::from_millis(1)),
            Ok(_) => (shared.wait)(Duration::from_millis(IDLE_WAIT_MS)),
        }
    }
}

/// Opens a version's task in `dir` (its checkpoint's folder); returns it and its input topic.
fn open_task(own: &Arc<dyn Log>, dir: &Path, v: &VersionDef) -> Result<(Task, String)> {
    let (plan, op) = v.compile()?;
    let log = log_for(own, &plan.connector)?;
    let spec = TaskSpec {
        start: v.start,
        end_ms: v.end_ms,
        from_ms: v.from_ms,
        watermark_delay_ms: plan.watermark_delay_ms,
        watermark_idle_timeout_ms: plan.watermark_idle_timeout_ms,
        checkpoint_path: Some(dir.join(v.checkpoint_file())),
        ..TaskSpec::default()
    };
    let task = Task::open_on(&*log, &plan.input, &v.output, &v.late_topic, op, spec)?;
    Ok((task, plan.input))
}

/// A step failed for want of disk space: what it wrote may be half done, so the task is
/// reopened from its checkpoint (as after a crash: output regenerated below the stored end is
/// compared, not written again), which also makes the status (lag, positions) the checkpoint's.
/// Then it waits `DISK_FULL_RETRY_MS` and lets the loop step again; the state stays `Stalled`
/// until a step succeeds. Returns false when the run is stopped or fails.
fn wait_for_space(shared: &Shared, cause: String) -> bool {
    *lock(&shared.state) = RunState::Stalled(cause);
    *lock(&shared.task) = None;
    loop {
        match (shared.reopen)() {
            Ok(t) => {
                *lock(&shared.last) = Some(t.status());
                *lock(&shared.task) = Some(t);
            }
            Err(e) if e.is_disk_full() => *lock(&shared.state) = RunState::Stalled(e.to_string()),
            Err(e) => {
                tracing::error!(error = %e, "processor failed");
                *lock(&shared.state) = RunState::Failed(e.to_string());
                return false;
            }
        }
        for _ in 0..(DISK_FULL_RETRY_MS / IDLE_WAIT_MS).max(1) {
            if shared.stop.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(IDLE_WAIT_MS));
        }
        if lock(&shared.task).is_some() {
            return true;
        }
        if shared.stop.load(Ordering::SeqCst) {
            *lock(&shared.state) = RunState::Stopped;
            return false;
        }
    }
}

/// Records per second, re-measured at most once a second.
#[derive(Default)]
struct Rate {
    since: Option<(std::time::Instant, u64)>,
    per_s: f64,
}

impl Rate {
    fn observe(&mut self, records_in: u64) {
        let now = std::time::Instant::now();
        match self.since {
            Some((t, n)) if now.duration_since(t) >= Duration::from_secs(1) => {
                self.per_s =
                    records_in.saturating_sub(n) as f64 / now.duration_since(t).as_secs_f64();
                self.since = Some((now, records_in));
            }
            Some(_) => {}
            None => self.since = Some((now, records_in)),
        }
    }
}

fn version_status(
    def: &Definition,
    v: &VersionDef,
    run: &Run,
) -> (VersionStatus, Option<TaskStatus>) {
    let state = lock(&run.shared.state).clone();
    let ts = lock(&run.shared.last).clone();
    let (status, error) = match &state {
        RunState::Failed(e) => (RunStatus::Failed, Some(e.clone())),
        RunState::Stalled(e) => (
            RunStatus::Running,
            Some(format!("{e} (waiting for space, retrying)")),
        ),
        RunState::Stopped if ts.as_ref().is_some_and(|t| t.finished) => (RunStatus::Finished, None),
        RunState::Stopped => (RunStatus::Stopped, None),
        RunState::Running if ts.as_ref().is_some_and(|t| t.caught_up) => {
            (RunStatus::CaughtUp, None)
        }
        RunState::Running => (RunStatus::Running, None),
    };
    let vs = VersionStatus {
        version: v.version,
        status,
        current: v.version == def.current,
        output: v.output.clone(),
        late_topic: v.late_topic.clone(),
        start: v.start,
        from: v.from_ms.map(format_rfc3339),
        end: v.end_ms.map(format_rfc3339),
        finished: ts.as_ref().is_some_and(|t| t.finished),
        lag: ts.as_ref().map_or(0, |t| t.lag),
        watermark: ts.as_ref().and_then(|t| t.watermark_ms).map(format_rfc3339),
        inputs: ts.as_ref().map_or_else(Vec::new, |t| t.inputs.clone()),
        records_in: ts.as_ref().map_or(0, |t| t.records_in),
        records_out: ts.as_ref().map_or(0, |t| t.records_out),
        late_records: ts.as_ref().map_or(0, |t| t.late_records),
        invalid_records: ts.as_ref().map_or(0, |t| t.invalid_records),
        events_per_s: 0.0,
        eta_s: None,
        error,
    };
    let mut vs = vs;
    if status == RunStatus::Running {
        vs.events_per_s = lock(&run.shared.rate).per_s;
        vs.eta_s = (vs.events_per_s > 0.0).then(|| vs.lag as f64 / vs.events_per_s);
    }
    (vs, ts)
}

fn status_of(e: &Entry) -> Status {
    let mut versions = Vec::new();
    let mut current = None;
    for v in &e.def.versions {
        let Some(run) = e.runs.get(&v.version) else {
            continue;
        };
        let (vs, ts) = version_status(&e.def, v, run);
        if v.version == e.def.current {
            current = Some((v.clone(), vs.clone(), ts));
        }
        versions.push(vs);
    }
    let (v, vs, ts) = current.expect("the current version exists");
    let log = ts.as_ref().map(|t| t.log.clone());
    let state = ts.as_ref().map_or_else(Vec::new, |t| t.state.clone());
    let ts = ts.unwrap_or(TaskStatus {
        inputs: vec![],
        lag: 0,
        watermark_ms: None,
        records_in: 0,
        records_out: 0,
        late_records: 0,
        invalid_records: 0,
        state_bytes: 0,
        caught_up: false,
        finished: false,
        log: crate::io::LogInfo::new("kappa", None, crate::io::Timestamps::Unknown),
        state: Vec::new(),
    });
    Status {
        name: e.def.name.clone(),
        version: v.version,
        status: vs.status,
        sql: v.sql.clone(),
        output: v.output.clone(),
        // The processor's late topic, whichever version is live (aliased across promotes).
        late_topic: format!("{}.late", e.def.name),
        inputs: ts.inputs,
        lag: ts.lag,
        watermark: ts.watermark_ms.map(format_rfc3339),
        records_in: ts.records_in,
        records_out: ts.records_out,
        late_records: ts.late_records,
        invalid_records: ts.invalid_records,
        state_bytes: ts.state_bytes,
        error: vs.error,
        versions,
        log,
        state,
    }
}

/// Up to `max` record values from the start of every input partition, spread evenly.
fn sample(mut source: Box<dyn Source>, max: usize) -> Result<Vec<bytes::Bytes>> {
    let n = source.inputs().len().max(1);
    let per = (max / n).max(1);
    let mut values = Vec::new();
    for i in 0..source.inputs().len() {
        let from = source.start_offset(i)?;
        values.extend(source.fetch(i, from, per)?.into_iter().map(|r| r.value));
    }
    Ok(values)
}
