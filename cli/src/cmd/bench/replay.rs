//! The replay benchmark (issue 5): the seed tumbling query and a plain filter/map over N
//! generated orders already in the log (replay from offset 0), each next to — in the same run,
//! same data — the time just to read those records, and to read and fully JSON-parse them
//! (serde_json::Value). Operator overhead shows as the ratio of a query's rate to read+parse.
//! Each case runs on one thread; CPU time is that thread's (Linux `/proc/thread-self/schedstat`,
//! wall time elsewhere).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use log_store::{AppendRecord, FsyncPolicy, LogStore, Offset, StoreConfig, TopicConfig};
use processor::io::log_store::StoreLog;
use processor::task::{Task, TaskSpec};
use serde::Serialize;

#[derive(clap::Args, Debug, Clone)]
#[group(id = "replay_options")]
pub struct Options {
    /// Events in the log to replay.
    #[arg(long, default_value_t = 1_000_000)]
    pub replay_events: u64,
    /// Partitions of the generated order topic.
    #[arg(long, default_value_t = 4)]
    pub replay_partitions: u32,
    /// Cases to run (read, parse, tumbling, over, filter); default all. The ratio needs `parse`.
    #[arg(long, value_delimiter = ',')]
    pub replay_cases: Vec<String>,
}

impl Options {
    /// Sizes that only check every figure is produced (CI).
    pub fn tiny() -> Options {
        Options {
            replay_events: 2_000,
            replay_partitions: 2,
            replay_cases: Vec::new(),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Rate {
    pub case: &'static str,
    pub events: u64,
    pub seconds_wall: f64,
    pub seconds_cpu: f64,
    pub events_per_cpu_s: f64,
    pub mb_per_cpu_s: f64,
    /// This case's events per CPU-second over read + full JSON parse's.
    pub ratio_to_read_parse: f64,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub events: u64,
    pub bytes: u64,
    pub partitions: u32,
    pub cases: Vec<Rate>,
}

impl Report {
    pub fn print_table(&self) {
        println!(
            "replay: {} events, {:.1} MB, {} partitions (one core per case)",
            self.events,
            self.bytes as f64 / 1e6,
            self.partitions
        );
        println!(
            "  {:<22} {:>12} {:>10} {:>10} {:>8}",
            "case", "events/cpu-s", "MB/cpu-s", "wall s", "vs r+p"
        );
        for c in &self.cases {
            println!(
                "  {:<22} {:>12.0} {:>10.1} {:>10.3} {:>7.0}%",
                c.case,
                c.events_per_cpu_s,
                c.mb_per_cpu_s,
                c.seconds_wall,
                c.ratio_to_read_parse * 100.0
            );
        }
    }
}

/// The seed's revenue query, as the demo runs it.
pub(super) const TUMBLING_SQL: &str = crate::cmd::demo::REVENUE_SQL;

/// A rolling average per category over the last minute of event time (issue 14's OVER case).
pub(super) const OVER_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
INSERT INTO `bench-rolling`
SELECT order_id, category, total,
       AVG(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS avg_1m
FROM orders";

/// The seed's enrichment use case (issue 14): each order meets the discount of its category
/// valid at the order's event time (an event-time temporal join with a versioned table).
pub(super) const ENRICHMENT_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
CREATE TABLE rates (
  category STRING, discount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (category) NOT ENFORCED
) WITH ('connector' = 'kappa', 'topic' = 'category-rates', 'format' = 'json');
INSERT INTO `bench-enriched`
SELECT o.order_id, o.category, o.total, r.discount, o.total * (1 - r.discount) AS net
FROM orders AS o
JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.category = r.category";

const FILTER_MAP_SQL: &str = "INSERT INTO `completed-orders`
SELECT order_id, UPPER(category) AS category, total * 1.25 AS total_with_tax
FROM `order-events` WHERE status = 'completed'";

/// CPU time of the calling thread in seconds (Linux), or None.
pub(super) fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

pub(super) struct Timer {
    wall: Instant,
    cpu: Option<f64>,
}

impl Timer {
    pub(super) fn start() -> Timer {
        Timer {
            wall: Instant::now(),
            cpu: thread_cpu_s(),
        }
    }
    /// (wall seconds, CPU seconds of this thread).
    pub(super) fn stop(self) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = match (self.cpu, thread_cpu_s()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => wall,
        };
        (wall, cpu)
    }
}

/// Appends `events` generated orders to `order-events`; each value also goes to `ndjson` (one
/// per line) when given. Event times are RFC 3339, or SQL's `yyyy-MM-dd HH:mm:ss.SSS` with
/// `sql_times` (what Flink's JSON format reads into a TIMESTAMP(3)). Returns the bytes.
const CATEGORIES: [&str; 6] = ["books", "toys", "garden", "games", "music", "sports"];

pub(super) fn generate(
    store: &LogStore,
    events: u64,
    partitions: u32,
    mut ndjson: Option<&mut dyn std::io::Write>,
    sql_times: bool,
) -> anyhow::Result<u64> {
    let topic = store
        .create_topic(
            "order-events",
            TopicConfig {
                partitions,
                ..TopicConfig::default()
            },
        )
        .context("create order-events")?;
    let base_ms: i64 = 1_774_432_800_000;
    let mut bytes = 0u64;
    let mut i = 0u64;
    let batch = 10_000u64;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    while i < events {
        let n = batch.min(events - i);
        let values: Vec<String> = (i..i + n)
            .map(|k| {
                let r = next();
                let et = base_ms + k as i64 * 5 + (r % 8_000) as i64 - 6_000;
                format!(
                    r#"{{"order_id":"o{k}","user_id":"u{}","total":{}.{:02},"category":"{}","region":"{}","status":"{}","ts":"{}"}}"#,
                    r % 10_000,
                    r % 500,
                    (r >> 8) % 100,
                    CATEGORIES[(r >> 16) as usize % CATEGORIES.len()],
                    ["eu", "us", "apac"][(r >> 24) as usize % 3],
                    if (r >> 32) % 10 < 8 { "completed" } else { "cancelled" },
                    if sql_times {
                        sql_timestamp(et)
                    } else {
                        processor::timestamp::format_rfc3339(et)
                    }
                )
            })
            .collect();
        if let Some(w) = ndjson.as_mut() {
            for v in &values {
                w.write_all(v.as_bytes())?;
                w.write_all(b"\n")?;
            }
        }
        bytes += values.iter().map(|v| v.len() as u64).sum::<u64>();
        let records: Vec<AppendRecord<'_>> = values
            .iter()
            .map(|v| AppendRecord {
                value: v.as_bytes(),
                ..Default::default()
            })
            .collect();
        let p = (i / batch) as usize % topic.partitions().len();
        topic.partitions()[p].append(&records).context("append")?;
        i += n;
    }
    Ok(bytes)
}

/// `2026-03-25 10:00:00.000`: an RFC 3339 time with a space for the `T` and no zone.
/// Discount versions per category for the enrichment case: every category at the start, then
/// one category's new discount every 2,000 orders' worth of event time (10 s), in event-time
/// order, into topic `category-rates` (appended before the orders, so every version is in the
/// log when the orders are read) and, when given, an NDJSON file. Returns how many.
pub(super) fn generate_rates(
    store: &LogStore,
    events: u64,
    mut ndjson: Option<&mut dyn std::io::Write>,
) -> anyhow::Result<u64> {
    let topic = store
        .create_topic("category-rates", TopicConfig::default())
        .context("create category-rates")?;
    let base_ms: i64 = 1_774_432_800_000;
    let mut values = Vec::new();
    for (i, c) in CATEGORIES.iter().enumerate() {
        let ts = sql_timestamp(base_ms - 10_000);
        values.push(format!(
            r#"{{"category":"{c}","discount":0.{i},"ts":"{ts}"}}"#
        ));
    }
    for k in 1..=events / 2_000 {
        let c = CATEGORIES[k as usize % CATEGORIES.len()];
        let ts = sql_timestamp(base_ms + k as i64 * 10_000);
        values.push(format!(
            r#"{{"category":"{c}","discount":0.{},"ts":"{ts}"}}"#,
            k % 30
        ));
    }
    for chunk in values.chunks(10_000) {
        let records: Vec<AppendRecord<'_>> = chunk
            .iter()
            .map(|v| AppendRecord {
                value: v.as_bytes(),
                ..Default::default()
            })
            .collect();
        topic.partitions()[0].append(&records).context("append")?;
    }
    if let Some(w) = ndjson.as_mut() {
        for v in &values {
            w.write_all(v.as_bytes())?;
            w.write_all(b"\n")?;
        }
    }
    Ok(values.len() as u64)
}

fn sql_timestamp(ms: i64) -> String {
    let t = processor::timestamp::format_rfc3339(ms);
    t.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Reads every record (optionally JSON-parsing each into a serde_json::Value).
fn read_all(store: &LogStore, parse: bool) -> anyhow::Result<u64> {
    let topic = store.topic("order-events")?;
    let mut n = 0u64;
    for p in topic.partitions() {
        let mut at = 0u64;
        loop {
            let records = p.read(Offset(at), 4096, 4 << 20)?;
            let Some(last) = records.last() else { break };
            at = last.offset + 1;
            for r in &records {
                if parse {
                    let v: serde_json::Value = serde_json::from_slice(&r.value)?;
                    std::hint::black_box(&v);
                }
                n += 1;
            }
        }
    }
    Ok(n)
}

pub(super) fn run_query(store: &Arc<LogStore>, sql: &str, output: &str) -> anyhow::Result<u64> {
    let plan = processor::sql::compile(sql, false)?;
    let spec = TaskSpec::watermarks_of(&plan);
    let inputs: Vec<String> = plan.inputs().iter().map(|t| t.to_string()).collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let mut task = Task::open_on(
        &StoreLog(Arc::clone(store)),
        &inputs,
        output,
        &format!("{output}.late"),
        processor::operator::for_plan(plan, false),
        spec,
    )?;
    task.run_until_idle()?;
    Ok(task.status().records_in)
}

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clear {}", dir.display()))?;
    }
    let store = Arc::new(LogStore::open(
        dir,
        StoreConfig {
            fsync: FsyncPolicy::Never,
        },
    )?);
    let bytes = generate(
        &store,
        opts.replay_events,
        opts.replay_partitions.max(1),
        None,
        false,
    )?;
    // Let the safe time pass the last append so a replay sees every record.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut cases = Vec::new();
    let measure =
        |case: &'static str, f: &dyn Fn() -> anyhow::Result<u64>| -> anyhow::Result<Rate> {
            let t = Timer::start();
            let events = f()?;
            let (wall, cpu) = t.stop();
            anyhow::ensure!(
                events == opts.replay_events,
                "{case}: processed {events} of {} events",
                opts.replay_events
            );
            Ok(Rate {
                case,
                events,
                seconds_wall: wall,
                seconds_cpu: cpu,
                events_per_cpu_s: events as f64 / cpu,
                mb_per_cpu_s: bytes as f64 / 1e6 / cpu,
                ratio_to_read_parse: 0.0,
            })
        };
    let wants = |c: &str| opts.replay_cases.is_empty() || opts.replay_cases.iter().any(|o| o == c);
    if wants("read") {
        cases.push(measure("read", &|| read_all(&store, false))?);
    }
    if wants("parse") {
        cases.push(measure("read + JSON parse", &|| read_all(&store, true))?);
    }
    if wants("tumbling") {
        cases.push(measure("tumbling (seed query)", &|| {
            run_query(&store, TUMBLING_SQL, "bench-revenue")
        })?);
    }
    if wants("over") {
        cases.push(measure("OVER rolling average", &|| {
            run_query(&store, OVER_SQL, "bench-rolling")
        })?);
    }
    if wants("filter") {
        cases.push(measure("filter/map", &|| {
            run_query(&store, FILTER_MAP_SQL, "bench-filter")
        })?);
    }
    let base = cases
        .iter()
        .find(|c| c.case == "read + JSON parse")
        .map_or(f64::NAN, |c| c.events_per_cpu_s);
    for c in &mut cases {
        c.ratio_to_read_parse = c.events_per_cpu_s / base;
    }
    Ok(Report {
        events: opts.replay_events,
        bytes,
        partitions: opts.replay_partitions,
        cases,
    })
}
