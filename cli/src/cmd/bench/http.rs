//! The HTTP ingest benchmark (issue 4): a real `kappa serve` child process with `--fsync always`,
//! driven over loopback by (a) NDJSON batches of 1,000 ~200-byte events from 4 connections and
//! (b) one event per request from 64 connections. Reports events/s, MB/s and latency
//! percentiles, next to — in the same run, on the same disk — the log store's own embedded
//! durable appends of the same shapes and the disk's own write + fdatasync latency.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use serde::Serialize;

use crate::client::{Client, ServerArgs};

#[derive(clap::Args, Debug, Clone)]
#[group(id = "http_options")]
pub struct Options {
    /// Requests each batch connection sends in case (a).
    #[arg(long, default_value_t = 100)]
    pub http_batches_per_connection: u32,
    /// Seconds case (b) runs.
    #[arg(long, default_value_t = 5.0)]
    pub http_small_seconds: f64,
    /// Partitions of the benchmark topics (1 matches the embedded reference).
    #[arg(long, default_value_t = 1)]
    pub http_partitions: u32,
}

impl Options {
    pub fn tiny() -> Options {
        Options {
            http_batches_per_connection: 2,
            http_small_seconds: 0.5,
            http_partitions: 1,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct Case {
    pub name: String,
    pub connections: u32,
    pub events_per_request: u32,
    pub events: u64,
    pub events_per_s: f64,
    pub mb_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// The log store's embedded durable append rate for the same shape (events/s).
    pub embedded_events_per_s: f64,
    /// events_per_s / embedded_events_per_s.
    pub ratio_to_embedded: f64,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub event_bytes: usize,
    pub disk_fdatasync_p50_ms: f64,
    pub disk_fdatasync_p99_ms: f64,
    pub cases: Vec<Case>,
}

impl Report {
    pub fn print_table(&self) {
        println!(
            "\nHTTP ingest over loopback, --fsync always, events of ~{} bytes",
            self.event_bytes
        );
        println!(
            "disk: 4 KiB write + fdatasync p50 {:.3} ms, p99 {:.3} ms",
            self.disk_fdatasync_p50_ms, self.disk_fdatasync_p99_ms
        );
        println!(
            "{:<28} {:>6} {:>12} {:>9} {:>9} {:>9} {:>9} {:>14} {:>8}",
            "case",
            "conns",
            "events/s",
            "MB/s",
            "p50 ms",
            "p99 ms",
            "p999 ms",
            "embedded ev/s",
            "ratio"
        );
        for c in &self.cases {
            println!(
                "{:<28} {:>6} {:>12.0} {:>9.1} {:>9.3} {:>9.3} {:>9.3} {:>14.0} {:>8.2}",
                c.name,
                c.connections,
                c.events_per_s,
                c.mb_per_s,
                c.p50_ms,
                c.p99_ms,
                c.p999_ms,
                c.embedded_events_per_s,
                c.ratio_to_embedded
            );
        }
    }
}

/// One ~200-byte order event.
fn event(i: u64) -> String {
    let base = format!(
        r#"{{"order_id":"o-{i:010}","user_id":"u-{:05}","total":{}.{:02},"category":"books","status":"completed","ts":"2026-03-25 10:00:00.000","pad":""#,
        i % 50_000,
        i % 500,
        i % 100
    );
    let pad = 200usize.saturating_sub(base.len() + 2);
    format!("{base}{}\"}}", "x".repeat(pad))
}

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    std::fs::create_dir_all(dir)?;
    let (p50, p99) = disk_fdatasync_ms(dir, 200)?;
    let mut server = Server::start(&dir.join("server"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let url = format!("http://{}", server.addr);
    let result = rt.block_on(async {
        let mut c = Client::new(&ServerArgs {
            server: url.clone(),
            token: None,
        })?;
        for name in ["bench-batches", "bench-small"] {
            c.send_json(
                Method::POST,
                "/v1/topics",
                &serde_json::json!({"name": name, "partitions": opts.http_partitions}),
            )
            .await?;
        }
        let batch: String = (0..1000).map(|i| event(i) + "\n").collect();
        let a = drive(
            &url,
            "bench-batches",
            Bytes::from(batch),
            1000,
            4,
            Limit::Requests(opts.http_batches_per_connection),
        )
        .await?;
        let b = drive(
            &url,
            "bench-small",
            Bytes::from(event(0)),
            1,
            64,
            Limit::Seconds(opts.http_small_seconds),
        )
        .await?;
        anyhow::Ok((a, b))
    });
    server.stop();
    let (a, b) = result?;
    // The log store's own durable appends of the same shapes, for as long as each HTTP case ran.
    let embedded = |batch: usize, threads: usize, ran: Duration| -> anyhow::Result<f64> {
        let d = super::append::durable_appends(
            &dir.join("embedded"),
            event(0).len(),
            batch,
            threads,
            ran.max(Duration::from_millis(300)),
        )?;
        Ok(d.records as f64 / d.seconds)
    };
    let embedded_a = embedded(1000, 4, a.elapsed)?;
    let embedded_b = embedded(1, 64, b.elapsed)?;
    let cases = vec![
        a.into_case("(a) NDJSON batches of 1000", 4, 1000, embedded_a),
        b.into_case("(b) one event per request", 64, 1, embedded_b),
    ];
    Ok(Report {
        event_bytes: event(0).len(),
        disk_fdatasync_p50_ms: p50,
        disk_fdatasync_p99_ms: p99,
        cases,
    })
}

enum Limit {
    Requests(u32),
    Seconds(f64),
}

struct Measured {
    events: u64,
    bytes: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Measured {
    fn into_case(mut self, name: &str, connections: u32, per_request: u32, embedded: f64) -> Case {
        self.latencies_us.sort_unstable();
        let pct = |q: f64| {
            let n = self.latencies_us.len();
            if n == 0 {
                0.0
            } else {
                self.latencies_us[((n as f64 * q) as usize).min(n - 1)] as f64 / 1000.0
            }
        };
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let eps = self.events as f64 / secs;
        Case {
            name: name.to_string(),
            connections,
            events_per_request: per_request,
            events: self.events,
            events_per_s: eps,
            mb_per_s: self.bytes as f64 / secs / 1e6,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            p999_ms: pct(0.999),
            embedded_events_per_s: embedded,
            ratio_to_embedded: if embedded > 0.0 { eps / embedded } else { 0.0 },
        }
    }
}

/// `connections` keep-alive connections each sending `body` until the limit.
async fn drive(
    url: &str,
    topic: &str,
    body: Bytes,
    per_request: u64,
    connections: u32,
    limit: Limit,
) -> anyhow::Result<Measured> {
    let path = Arc::new(format!("/v1/topics/{topic}/events"));
    let started = Instant::now();
    let deadline = match limit {
        Limit::Seconds(s) => Some(started + Duration::from_secs_f64(s)),
        Limit::Requests(_) => None,
    };
    let requests = match limit {
        Limit::Requests(n) => n,
        Limit::Seconds(_) => u32::MAX,
    };
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, path, body) = (url.to_string(), path.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Client::new(&ServerArgs {
                server: url,
                token: None,
            })?;
            let mut lat = Vec::new();
            for _ in 0..requests {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let t = Instant::now();
                c.call(Method::POST, &path, "application/x-ndjson", body.clone())
                    .await?;
                lat.push(t.elapsed().as_micros() as u64);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let events = latencies_us.len() as u64 * per_request;
    Ok(Measured {
        events,
        bytes: latencies_us.len() as u64 * body.len() as u64,
        elapsed,
        latencies_us,
    })
}

/// p50 and p99 of one 4 KiB write + fdatasync into an ordinary file, in ms.
fn disk_fdatasync_ms(dir: &Path, n: usize) -> anyhow::Result<(f64, f64)> {
    let path = dir.join("fdatasync-probe");
    let mut f =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let block = vec![7u8; 4096];
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_data()?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    lat.sort_by(f64::total_cmp);
    Ok((lat[n / 2], lat[(n * 99 / 100).min(n - 1)]))
}

/// The server under test: this same binary, `kappa serve`, as a child process.
pub(super) struct Server {
    child: Child,
    pub(super) addr: String,
}

impl Server {
    pub(super) fn start(data: &Path) -> anyhow::Result<Server> {
        let exe = std::env::current_exe().context("locating the kappa binary")?;
        let mut child = Command::new(exe)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--fsync",
                "always",
                "--data",
            ])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting kappa serve")?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().context("piped stdout")?).read_line(&mut first)?;
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .with_context(|| format!("unexpected first line {first:?}"))?
            .to_string();
        Ok(Server { child, addr })
    }

    pub(super) fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
