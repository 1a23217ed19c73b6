//! The embedded append benchmark (issue 3): the log store against raw write + fdatasync.
//!
//! Every log-store case is paired with a baseline run in the same directory (same disk): plain
//! `write()` of the same number of bytes in the same batch sizes into an ordinary file (for
//! `fsync never`), and `write()` + `fdatasync()` with the group size the log store achieved (for
//! `fsync always`), plus the one-flush-per-record rate. Then the open time of a partition with
//! little vs much sealed data, and resident memory while scanning the large one.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use log_store::{AppendRecord, FsyncPolicy, LogStore, Offset, Partition, StoreConfig, TopicConfig};
use serde::Serialize;

#[derive(clap::Args, Debug, Clone)]
#[group(id = "append_options")]
pub struct Options {
    /// Records per append-benchmark case (fsync never; capped by --append-case-mb).
    #[arg(long, default_value_t = 200_000)]
    pub append_records: u64,
    /// Most megabytes written per fsync-never case.
    #[arg(long, default_value_t = 256)]
    pub append_case_mb: u64,
    /// Records per append call in the fsync-never cases.
    #[arg(long, default_value_t = 1000)]
    pub append_batch: usize,
    /// Milliseconds per fsync-always case (and per baseline).
    #[arg(long, default_value_t = 1000)]
    pub append_always_ms: u64,
    /// Concurrent appender counts for the fsync-always cases.
    #[arg(long, value_delimiter = ',', default_value = "1,4,64")]
    pub append_appenders: Vec<usize>,
    /// Record value sizes in bytes.
    #[arg(long, value_delimiter = ',', default_value = "200,4096")]
    pub append_sizes: Vec<usize>,
    /// Sealed data for the small open-time case, in MB.
    #[arg(long, default_value_t = 10)]
    pub append_open_small_mb: u64,
    /// Sealed data for the large open-time case (and the scan), in MB.
    #[arg(long, default_value_t = 1024)]
    pub append_open_large_mb: u64,
    /// Segment size for the open-time cases, in MiB (at least 4).
    #[arg(long, default_value_t = 16)]
    pub append_open_segment_mib: u64,
}

impl Options {
    /// Sizes that only check every figure is produced (CI).
    pub fn tiny() -> Options {
        Options {
            append_records: 2_000,
            append_case_mb: 4,
            append_batch: 100,
            append_always_ms: 100,
            append_appenders: vec![1, 4],
            append_sizes: vec![200],
            append_open_small_mb: 1,
            append_open_large_mb: 4,
            append_open_segment_mib: 4,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct Case {
    pub fsync: &'static str,
    pub record_bytes: usize,
    pub appenders: usize,
    pub records: u64,
    pub seconds: f64,
    pub records_per_s: f64,
    pub mb_per_s: f64,
    /// Records per flush (fsync always), or per append call (fsync never).
    pub group_records: f64,
    pub baseline_records_per_s: f64,
    pub baseline_mb_per_s: f64,
    /// records_per_s / baseline_records_per_s.
    pub ratio: f64,
    /// fsync always only: the plain write + fdatasync rate with one flush per record.
    pub per_record_flush_records_per_s: Option<f64>,
    pub speedup_vs_per_record_flush: Option<f64>,
}

#[derive(Serialize, Debug)]
pub struct OpenCase {
    pub sealed_mb: u64,
    pub segments: u32,
    pub open_ms: f64,
}

#[derive(Serialize, Debug)]
pub struct ScanCase {
    pub scanned_mb: f64,
    pub seconds: f64,
    pub mb_per_s: f64,
    pub rss_anon_kb_before: u64,
    pub rss_anon_kb_max: u64,
    pub vm_rss_kb_before: u64,
    pub vm_rss_kb_max: u64,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub cases: Vec<Case>,
    pub open: Vec<OpenCase>,
    pub scan: Option<ScanCase>,
}

impl Report {
    pub fn print_table(&self) {
        println!("append benchmark (log store vs plain write/fdatasync on the same disk)");
        println!(
            "{:<7} {:>6} {:>5} {:>11} {:>9} {:>8} {:>12} {:>9} {:>6} {:>12} {:>8}",
            "fsync",
            "bytes",
            "thr",
            "records/s",
            "MB/s",
            "group",
            "base rec/s",
            "base MB/s",
            "ratio",
            "1-flush r/s",
            "speedup"
        );
        for c in &self.cases {
            println!(
                "{:<7} {:>6} {:>5} {:>11.0} {:>9.1} {:>8.1} {:>12.0} {:>9.1} {:>5.0}% {:>12} {:>8}",
                c.fsync,
                c.record_bytes,
                c.appenders,
                c.records_per_s,
                c.mb_per_s,
                c.group_records,
                c.baseline_records_per_s,
                c.baseline_mb_per_s,
                c.ratio * 100.0,
                c.per_record_flush_records_per_s
                    .map_or("-".into(), |r| format!("{r:.0}")),
                c.speedup_vs_per_record_flush
                    .map_or("-".into(), |r| format!("{r:.1}x")),
            );
        }
        for o in &self.open {
            println!(
                "open partition with {:>5} MB sealed ({:>3} segments): {:>8.2} ms",
                o.sealed_mb, o.segments, o.open_ms
            );
        }
        if let Some(s) = &self.scan {
            println!(
                "scan {:.0} MB: {:.2} s ({:.0} MB/s); RssAnon {} -> max {} kB; VmRSS {} -> max {} kB",
                s.scanned_mb, s.seconds, s.mb_per_s, s.rss_anon_kb_before, s.rss_anon_kb_max, s.vm_rss_kb_before, s.vm_rss_kb_max
            );
        }
    }
}

const FRAME_OVERHEAD_BYTES: usize = 36;
const MB: f64 = 1e6;

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut cases = Vec::new();
    for &size in &opts.append_sizes {
        cases.push(never_case(opts, dir, size).with_context(|| format!("fsync never, {size} B"))?);
    }
    for &size in &opts.append_sizes {
        let per_record =
            baseline_synced(dir, size, 1, Duration::from_millis(opts.append_always_ms))?;
        for &threads in &opts.append_appenders {
            let mut c = always_case(opts, dir, size, threads)
                .with_context(|| format!("fsync always, {size} B, {threads} appenders"))?;
            c.per_record_flush_records_per_s = Some(per_record);
            c.speedup_vs_per_record_flush = Some(c.records_per_s / per_record);
            cases.push(c);
        }
    }
    let (open, scan) = open_and_scan(opts, dir).context("open time and scan")?;
    Ok(Report { cases, open, scan })
}

fn values(size: usize, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![b'a' + (i % 26) as u8; size]).collect()
}

/// Records (no key, no headers) over `values`.
fn as_records(values: &[Vec<u8>]) -> Vec<AppendRecord<'_>> {
    values
        .iter()
        .map(|v| AppendRecord {
            value: v,
            ..Default::default()
        })
        .collect()
}

fn fresh_store(
    dir: &Path,
    name: &str,
    fsync: FsyncPolicy,
) -> anyhow::Result<(LogStore, Arc<Partition>)> {
    let path = dir.join(name);
    let _ = std::fs::remove_dir_all(&path);
    let store = LogStore::open(&path, StoreConfig { fsync })?;
    let topic = store.create_topic("bench", TopicConfig::default())?;
    let p = topic.partitions()[0].clone();
    Ok((store, p))
}

fn never_case(opts: &Options, dir: &Path, size: usize) -> anyhow::Result<Case> {
    let batch = opts.append_batch.max(1);
    let cap = opts.append_case_mb * 1_000_000 / (size + FRAME_OVERHEAD_BYTES) as u64;
    let batches = (opts.append_records.min(cap) / batch as u64).max(1);
    let vals = values(size, batch);
    let records = as_records(&vals);
    let (store, p) = fresh_store(dir, "never", FsyncPolicy::Never)?;
    let start = Instant::now();
    for _ in 0..batches {
        p.append(&records)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    drop((p, store));
    let _ = std::fs::remove_dir_all(dir.join("never"));
    // Baseline: the same bytes in the same batch sizes with plain write().
    let buf = vec![b'x'; batch * (size + FRAME_OVERHEAD_BYTES)];
    let path = dir.join("baseline-never");
    let mut f = File::create(&path)?;
    let start = Instant::now();
    for _ in 0..batches {
        f.write_all(&buf)?;
    }
    let base_seconds = start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    let n = batches * batch as u64;
    Ok(case(
        "never",
        size,
        1,
        n,
        seconds,
        batch as f64,
        n as f64 / base_seconds,
    ))
}

fn case(
    fsync: &'static str,
    size: usize,
    appenders: usize,
    records: u64,
    seconds: f64,
    group: f64,
    base_rps: f64,
) -> Case {
    let rps = records as f64 / seconds;
    let frame = (size + FRAME_OVERHEAD_BYTES) as f64;
    Case {
        fsync,
        record_bytes: size,
        appenders,
        records,
        seconds,
        records_per_s: rps,
        mb_per_s: rps * frame / MB,
        group_records: group,
        baseline_records_per_s: base_rps,
        baseline_mb_per_s: base_rps * frame / MB,
        ratio: rps / base_rps,
        per_record_flush_records_per_s: None,
        speedup_vs_per_record_flush: None,
    }
}

fn always_case(opts: &Options, dir: &Path, size: usize, threads: usize) -> anyhow::Result<Case> {
    let run_for = Duration::from_millis(opts.append_always_ms);
    let d = durable_appends(&dir.join("always"), size, 1, threads, run_for)?;
    let group = d.records as f64 / d.flushes.max(1) as f64;
    let group_records = (group.round() as usize).max(1);
    let base = baseline_synced(dir, size, group_records, run_for)?;
    Ok(case(
        "always", size, threads, d.records, d.seconds, group, base,
    ))
}

/// What `durable_appends` measured.
pub struct Durable {
    pub records: u64,
    pub seconds: f64,
    pub flushes: u64,
}

/// `threads` appenders each appending batches of `batch` records of `size` bytes under
/// `fsync always` for `run_for`, into a fresh store at `dir` (removed afterwards).
pub fn durable_appends(
    dir: &Path,
    size: usize,
    batch: usize,
    threads: usize,
    run_for: Duration,
) -> anyhow::Result<Durable> {
    let _ = std::fs::remove_dir_all(dir);
    let store = LogStore::open(
        dir,
        StoreConfig {
            fsync: FsyncPolicy::Always,
        },
    )?;
    let topic = store.create_topic("bench", TopicConfig::default())?;
    let p = topic.partitions()[0].clone();
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let vals = values(size, batch);
                let records = as_records(&vals);
                let mut n = 0;
                while start.elapsed() < run_for {
                    p.append(&records)?;
                    n += records.len() as u64;
                }
                Ok(n)
            })
        })
        .collect();
    let mut records = 0;
    for w in workers {
        records += w
            .join()
            .map_err(|_| anyhow::anyhow!("appender thread panicked"))??;
    }
    let seconds = start.elapsed().as_secs_f64();
    let flushes = p.flush_count();
    drop((p, topic, store));
    let _ = std::fs::remove_dir_all(dir);
    Ok(Durable {
        records,
        seconds,
        flushes,
    })
}

/// Plain write() of `group` records' bytes then fdatasync(), repeated for `run_for`: records/s.
fn baseline_synced(
    dir: &Path,
    size: usize,
    group: usize,
    run_for: Duration,
) -> anyhow::Result<f64> {
    let path = dir.join("baseline-always");
    let mut f = File::create(&path)?;
    let buf = vec![b'x'; group * (size + FRAME_OVERHEAD_BYTES)];
    let start = Instant::now();
    let mut records = 0u64;
    while start.elapsed() < run_for {
        f.write_all(&buf)?;
        f.sync_data()?;
        records += group as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    Ok(records as f64 / seconds)
}

/// Fills a topic with `mb` MB of 4 KiB records in segments of `segment_mib`.
fn fill(dir: &Path, mb: u64, segment_mib: u64) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    let store = LogStore::open(
        dir,
        StoreConfig {
            fsync: FsyncPolicy::Never,
        },
    )?;
    let config = TopicConfig {
        segment_bytes: segment_mib.max(4) << 20,
        ..TopicConfig::default()
    };
    let p = store.create_topic("bench", config)?.partitions()[0].clone();
    let vals = values(4096, 256);
    let records = as_records(&vals);
    let batch_bytes = 256 * (4096 + FRAME_OVERHEAD_BYTES) as u64;
    for _ in 0..(mb * 1_000_000).div_ceil(batch_bytes) {
        p.append(&records)?;
    }
    store.flush_all()?;
    Ok(())
}

fn time_open(dir: &Path) -> anyhow::Result<(f64, u32)> {
    let mut times = Vec::new();
    let mut segments = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let store = LogStore::open(
            dir,
            StoreConfig {
                fsync: FsyncPolicy::Always,
            },
        )?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        segments = store.topic("bench")?.partitions()[0].stats().segments;
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], segments))
}

fn open_and_scan(opts: &Options, dir: &Path) -> anyhow::Result<(Vec<OpenCase>, Option<ScanCase>)> {
    let mut open = Vec::new();
    for mb in [opts.append_open_small_mb, opts.append_open_large_mb] {
        let path = dir.join(format!("open-{mb}"));
        fill(&path, mb, opts.append_open_segment_mib)?;
        let (open_ms, segments) = time_open(&path)?;
        open.push(OpenCase {
            sealed_mb: mb,
            segments,
            open_ms,
        });
        if mb == opts.append_open_small_mb {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    let path = dir.join(format!("open-{}", opts.append_open_large_mb));
    let scan = scan(&path);
    let _ = std::fs::remove_dir_all(&path);
    Ok((open, Some(scan?)))
}

/// (VmRSS, RssAnon) in kB from /proc/self/status (zeros where unavailable).
fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn scan(path: &Path) -> anyhow::Result<ScanCase> {
    let store = LogStore::open(
        path,
        StoreConfig {
            fsync: FsyncPolicy::Always,
        },
    )?;
    let p = store.topic("bench")?.partitions()[0].clone();
    let (vm_before, anon_before) = rss_kb();
    let (mut vm_max, mut anon_max) = (vm_before, anon_before);
    let start = Instant::now();
    let mut next = p.start_offset().0;
    let mut bytes = 0u64;
    let mut reads = 0u64;
    loop {
        let batch = p.read(Offset(next), 1000, 8 << 20)?;
        let Some(last) = batch.last() else { break };
        next = last.offset + 1;
        bytes += batch.iter().map(|r| r.value.len() as u64).sum::<u64>();
        reads += 1;
        if reads.is_multiple_of(16) {
            let (vm, anon) = rss_kb();
            vm_max = vm_max.max(vm);
            anon_max = anon_max.max(anon);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let (vm, anon) = rss_kb();
    Ok(ScanCase {
        scanned_mb: bytes as f64 / MB,
        seconds,
        mb_per_s: bytes as f64 / MB / seconds,
        rss_anon_kb_before: anon_before,
        rss_anon_kb_max: anon_max.max(anon),
        vm_rss_kb_before: vm_before,
        vm_rss_kb_max: vm_max.max(vm),
    })
}
