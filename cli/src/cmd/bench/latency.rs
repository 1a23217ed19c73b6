//! End-to-end latency (issue 6): from the wall-clock end of a one-second tumbling window to its
//! result arriving in the processor's output topic, read by a long-poll consumer, with events
//! produced every few milliseconds carrying the current time as event time (watermark delay 0).

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use serde::Serialize;

use super::http::Server;
use crate::client::{Client, ServerArgs};
use crate::time::{format_time_ms, now_ms};

#[derive(clap::Args, Debug, Clone)]
#[group(id = "latency_options")]
pub struct Options {
    /// Windows (one second each) whose result latency is measured.
    #[arg(long, default_value_t = 15)]
    pub latency_windows: u32,
}

impl Options {
    pub fn tiny() -> Options {
        Options { latency_windows: 2 }
    }
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub windows: usize,
    pub produce_interval_ms: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Report {
    pub fn print_table(&self) {
        println!("\nEnd-to-end latency: window end -> its result read from the output topic (1 s tumbling windows, events every {} ms)", self.produce_interval_ms);
        println!(
            "{:>8} {:>10} {:>10} {:>10}",
            "windows", "p50 ms", "p99 ms", "max ms"
        );
        println!(
            "{:>8} {:>10.1} {:>10.1} {:>10.1}",
            self.windows, self.p50_ms, self.p99_ms, self.max_ms
        );
    }
}

const SQL: &str = "CREATE TABLE ticks (n BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '0' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'bench-ticks', 'format' = 'json', 'scan.startup.mode' = 'latest-offset');
SELECT TUMBLE_START(ts, INTERVAL '1' SECOND) AS window_start, COUNT(*) AS events
FROM ticks GROUP BY TUMBLE(ts, INTERVAL '1' SECOND);";

const PRODUCE_INTERVAL_MS: u64 = 5;

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    let mut server = Server::start(&dir.join("server"))?;
    let url = format!("http://{}", server.addr);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(measure(&url, opts.latency_windows));
    server.stop();
    let mut lat = result?;
    lat.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)]
        }
    };
    Ok(Report {
        windows: lat.len(),
        produce_interval_ms: PRODUCE_INTERVAL_MS,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: lat.last().copied().unwrap_or(0.0),
    })
}

async fn measure(url: &str, windows: u32) -> anyhow::Result<Vec<f64>> {
    let args = ServerArgs {
        server: url.to_string(),
        token: None,
    };
    let mut admin = Client::new(&args)?;
    admin
        .send_json(
            Method::POST,
            "/v1/topics",
            &serde_json::json!({"name": "bench-ticks", "partitions": 1}),
        )
        .await?;
    admin
        .send_json(
            Method::POST,
            "/v1/processors",
            &serde_json::json!({"name": "bench-latency", "sql": SQL}),
        )
        .await?;
    let producing = tokio::spawn({
        let args = args.clone();
        async move {
            let mut c = Client::new(&args)?;
            let mut tick = tokio::time::interval(Duration::from_millis(PRODUCE_INTERVAL_MS));
            for n in 0u64.. {
                tick.tick().await;
                let ts = format_time_ms(now_ms());
                let body = format!(r#"{{"n":{n},"ts":"{ts}"}}"#);
                c.call(
                    Method::POST,
                    "/v1/topics/bench-ticks/events",
                    "application/json",
                    Bytes::from(body),
                )
                .await?;
            }
            anyhow::Ok(())
        }
    });
    let mut consumer = Client::new(&args)?;
    let mut latencies = Vec::new();
    let mut next = 0u64;
    let deadline = Instant::now() + Duration::from_secs(u64::from(windows) * 3 + 20);
    // The first window is partial (the processor started mid-second); skip it.
    let mut skipped_first = false;
    while latencies.len() < windows as usize && Instant::now() < deadline {
        let path =
            format!("/v1/topics/bench-latency/events?partition=0&offset={next}&wait_ms=5000");
        let body = consumer.call(Method::GET, &path, "", Bytes::new()).await?;
        let arrived = now_ms();
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line)?;
            next = v["offset"].as_u64().unwrap_or(next) + 1;
            let start = v["value"]["window_start"]
                .as_str()
                .and_then(crate::time::parse_time_ms)
                .unwrap_or(0);
            if !skipped_first {
                skipped_first = true;
                continue;
            }
            latencies.push(arrived.saturating_sub(start + 1000) as f64);
        }
    }
    producing.abort();
    anyhow::ensure!(!latencies.is_empty(), "no window results arrived");
    Ok(latencies)
}
