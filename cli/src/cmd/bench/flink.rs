//! kappa beside Flink in the same run (issue 14): the same SQL over the same N generated orders,
//! events per CPU-second on each side and their ratio. kappa replays the orders from its log
//! (one partition, one thread: that thread's CPU time, as in the replay section). Flink
//! (PyFlink, the `apache-flink` package) reads the same records from an NDJSON file through its
//! `filesystem` connector, streaming mode, parallelism 1, the table's watermark, into a
//! `blackhole` sink; its CPU time is the JVM's while the job runs (`flink_bench.py`). kappa also
//! writes its output rows to its log; Flink's sink drops them.
//!
//! Which Python: `KAPPA_PYFLINK_PYTHON`, default `tests/flink/target/venv/bin/python` (what
//! `tests/flink/run.sh` installs). Without it the section fails saying how to install it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use log_store::{FsyncPolicy, LogStore, StoreConfig};
use serde::Serialize;

use super::replay::{
    generate, generate_rates, run_query, Timer, ENRICHMENT_SQL, OVER_SQL, TUMBLING_SQL,
};

/// The cases: (name, kappa SQL). Flink runs the same text with each CREATE TABLE pointed at the
/// NDJSON file of its topic (`order-events`, and `category-rates` for the enrichment). Add a
/// case here and both sides run it.
pub const CASES: &[(&str, &str)] = &[
    ("tumbling (seed query)", TUMBLING_SQL),
    ("OVER rolling average", OVER_SQL),
    ("temporal join (enrich)", ENRICHMENT_SQL),
];

/// The topic of the enrichment's versioned table.
const RATES_TOPIC: &str = "category-rates";

const DRIVER: &str = include_str!("flink_bench.py");

const DEFAULT_PYTHON: &str = "tests/flink/target/venv/bin/python";

#[derive(clap::Args, Debug, Clone)]
#[group(id = "flink_options")]
pub struct Options {
    /// Events both kappa and Flink process per case in the Flink comparison (`--only flink`).
    #[arg(long, default_value_t = 1_000_000)]
    pub flink_events: u64,
}

impl Options {
    pub fn tiny() -> Options {
        Options {
            flink_events: 2_000,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct Case {
    pub case: String,
    pub events: u64,
    pub kappa_seconds_cpu: f64,
    pub kappa_events_per_cpu_s: f64,
    pub flink_seconds_cpu: f64,
    pub flink_seconds_wall: f64,
    pub flink_events_per_cpu_s: f64,
    /// kappa's events per CPU-second over Flink's.
    pub ratio: f64,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub events: u64,
    pub bytes: u64,
    pub python: String,
    /// CPU seconds the JVM took to start (gateway, first table environment): not in any case.
    pub flink_startup_seconds_cpu: f64,
    pub cases: Vec<Case>,
}

impl Report {
    pub fn print_table(&self) {
        println!(
            "flink: {} events, {:.1} MB, one partition / parallelism 1 (Flink's JVM start: {:.1} CPU s, not counted)",
            self.events,
            self.bytes as f64 / 1e6,
            self.flink_startup_seconds_cpu
        );
        println!(
            "  {:<22} {:>14} {:>14} {:>8}",
            "case", "kappa ev/cpu-s", "flink ev/cpu-s", "ratio"
        );
        for c in &self.cases {
            println!(
                "  {:<22} {:>14.0} {:>14.0} {:>7.1}x",
                c.case, c.kappa_events_per_cpu_s, c.flink_events_per_cpu_s, c.ratio
            );
        }
    }
}

#[derive(serde::Deserialize)]
struct FlinkLine {
    name: String,
    cpu_s: f64,
    wall_s: f64,
    startup_cpu_s: f64,
}

fn python() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("KAPPA_PYFLINK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON));
    anyhow::ensure!(
        path.exists(),
        "the Flink comparison needs PyFlink: {} does not exist. Run tests/flink/run.sh once (it \
         installs apache-flink into {DEFAULT_PYTHON}; Java 11 or 17 as `java`), or point \
         KAPPA_PYFLINK_PYTHON at a Python with `pip install apache-flink==1.20.3`",
        path.display()
    );
    // Absolute: the driver runs in the bench directory.
    std::path::absolute(&path).context("the PyFlink python's path")
}

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    let python = python()?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let dir = &std::path::absolute(dir).context("the bench directory")?;
    let store = Arc::new(LogStore::open(
        &dir.join("log"),
        StoreConfig {
            fsync: FsyncPolicy::Never,
        },
    )?);
    let ndjson_path = dir.join("orders.ndjson");
    let mut ndjson = std::io::BufWriter::new(
        std::fs::File::create(&ndjson_path)
            .with_context(|| format!("create {}", ndjson_path.display()))?,
    );
    let rates_path = dir.join("rates.ndjson");
    let mut rates_ndjson = std::io::BufWriter::new(
        std::fs::File::create(&rates_path)
            .with_context(|| format!("create {}", rates_path.display()))?,
    );
    let versions = generate_rates(&store, opts.flink_events, Some(&mut rates_ndjson))?;
    std::io::Write::flush(&mut rates_ndjson).context("write the NDJSON versions")?;
    drop(rates_ndjson);
    let bytes = generate(&store, opts.flink_events, 1, Some(&mut ndjson), true)?;
    std::io::Write::flush(&mut ndjson).context("write the NDJSON events")?;
    drop(ndjson);
    // Let the safe time pass the last append so a replay sees every record.
    std::thread::sleep(std::time::Duration::from_millis(5));

    let mut kappa = Vec::new();
    for (i, (name, sql)) in CASES.iter().enumerate() {
        let t = Timer::start();
        let events = run_query(&store, sql, &format!("bench-flink-{i}"))?;
        let (_, cpu) = t.stop();
        // The enrichment reads the versions too (a few thousand beside the orders).
        let expected = opts.flink_events
            + if sql.contains(RATES_TOPIC) {
                versions
            } else {
                0
            };
        anyhow::ensure!(
            events == expected,
            "{name}: kappa processed {events} of {expected} records"
        );
        kappa.push(cpu);
    }
    drop(store);

    let driver = dir.join("flink_bench.py");
    std::fs::write(&driver, DRIVER).context("write flink_bench.py")?;
    let cases_path = dir.join("cases.json");
    let cases_json: Vec<_> = CASES
        .iter()
        .map(|(name, sql)| {
            serde_json::json!({"name": name, "sql": sql, "paths": {
                "order-events": ndjson_path, RATES_TOPIC: rates_path,
            }})
        })
        .collect();
    std::fs::write(&cases_path, serde_json::to_vec(&cases_json)?).context("write cases.json")?;
    let log_path = dir.join("flink.log");
    let out = std::process::Command::new(&python)
        .arg(&driver)
        .arg(&ndjson_path)
        .arg(&cases_path)
        .current_dir(dir)
        .stderr(std::fs::File::create(&log_path).context("create flink.log")?)
        .output()
        .with_context(|| format!("run {}", python.display()))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        anyhow::bail!(
            "PyFlink failed ({}); the end of its log:\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let lines: Vec<FlinkLine> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("read flink_bench.py's figures")?;
    anyhow::ensure!(
        lines.len() == CASES.len(),
        "PyFlink reported {} of {} cases",
        lines.len(),
        CASES.len()
    );
    let events = opts.flink_events as f64;
    let cases = CASES
        .iter()
        .zip(&kappa)
        .zip(&lines)
        .map(|(((name, _), kappa_cpu), flink)| {
            let kappa_rate = events / kappa_cpu;
            let flink_rate = events / flink.cpu_s;
            Case {
                case: name.to_string(),
                events: opts.flink_events,
                kappa_seconds_cpu: *kappa_cpu,
                kappa_events_per_cpu_s: kappa_rate,
                flink_seconds_cpu: flink.cpu_s,
                flink_seconds_wall: flink.wall_s,
                flink_events_per_cpu_s: flink_rate,
                ratio: kappa_rate / flink_rate,
            }
        })
        .collect();
    debug_assert!(lines.iter().zip(CASES).all(|(l, (n, _))| l.name == *n));
    Ok(Report {
        events: opts.flink_events,
        bytes,
        python: python.display().to_string(),
        flink_startup_seconds_cpu: lines.iter().map(|l| l.startup_cpu_s).sum(),
        cases,
    })
}
