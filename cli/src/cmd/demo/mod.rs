//! `kappa demo`: a server on a data dir, the `order-events` topic fed by a generated order stream
//! (with out-of-order and late events) at a steady rate, and the seed's revenue processor — then
//! it prints what to open and run next. Ctrl-C stops it cleanly.

pub mod orders;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use serde_json::json;

use crate::client::{Client, ServerArgs};
use crate::cmd::serve;

/// The seed's Flink SQL, connector options aside.
pub const REVENUE_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');

SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;
";

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Data directory for the demo.
    #[arg(long, default_value = "./kappa-data")]
    pub data: PathBuf,
    /// Address to listen on (port 0: the OS picks; the first stdout line names it).
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: std::net::SocketAddr,
    /// Orders produced per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Minutes of past orders produced at start, so windows complete right away.
    #[arg(long, default_value_t = 3)]
    pub history_minutes: u32,
    /// Seed of the order generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    crate::logging::init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<()> {
    let serve_args = serve::Args::defaults(args.data.clone(), args.listen);
    let token = serve_args.tokens.first().cloned();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(serve::serve(serve_args, Some(ready_tx)));
    let Ok(started) = ready_rx.await else {
        return server.await?.context("the demo server failed to start");
    };
    let url = format!("http://{}", started.addr);
    let mut client = Client::new(&ServerArgs {
        server: url.clone(),
        token,
    })?;
    let topic = client
        .send(
            Method::POST,
            "/v1/topics",
            "application/json",
            Bytes::from(json!({"name": "order-events", "partitions": 3}).to_string()),
        )
        .await?;
    anyhow::ensure!(
        topic.0.is_success() || topic.0 == 409,
        "creating order-events: {}",
        String::from_utf8_lossy(&topic.1)
    );
    let proc = client
        .send(
            Method::POST,
            "/v1/processors",
            "application/json",
            Bytes::from(json!({"name": "revenue", "sql": REVENUE_SQL}).to_string()),
        )
        .await?;
    anyhow::ensure!(
        proc.0.is_success() || proc.0 == 409,
        "creating the revenue processor: {}",
        String::from_utf8_lossy(&proc.1)
    );
    let mut gen = orders::OrderGen::new(args.seed);
    let history = produce_history(&mut client, &mut gen, &args).await?;
    print_guide(&url, &args, history);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let per_tick = (args.rate / 10).max(1);
    let mut produced = 0u64;
    loop {
        tokio::select! {
            _ = started.shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = crate::time::now_ms();
        let batch: String = (0..per_tick).map(|_| gen.next(now) + "\n").collect();
        match client
            .send(
                Method::POST,
                "/v1/topics/order-events/events",
                "application/x-ndjson",
                Bytes::from(batch),
            )
            .await
        {
            Ok((s, _)) if s.is_success() => produced += per_tick as u64,
            Ok((s, body)) => {
                tracing::warn!(status = %s, body = %String::from_utf8_lossy(&body), "demo produce refused")
            }
            Err(e) if started.shutdown.is_cancelled() => {
                tracing::debug!(error = %e, "stopping");
                break;
            }
            Err(e) => tracing::warn!(error = %e, "demo produce failed"),
        }
    }
    server.await??;
    println!(
        "demo stopped after producing {produced} orders; the data stays in {}",
        args.data.display()
    );
    Ok(())
}

/// Produces `history_minutes` of orders with past event times, in one-second steps.
async fn produce_history(
    client: &mut Client,
    gen: &mut orders::OrderGen,
    args: &Args,
) -> anyhow::Result<u64> {
    let now = crate::time::now_ms();
    let seconds = u64::from(args.history_minutes) * 60;
    let mut produced = 0u64;
    let mut batch = String::new();
    for s in 0..seconds {
        let at = now - (seconds - s) * 1000;
        for _ in 0..args.rate {
            batch.push_str(&gen.next(at));
            batch.push('\n');
        }
        produced += u64::from(args.rate);
        if batch.len() > (4 << 20) || s + 1 == seconds {
            client
                .call(
                    Method::POST,
                    "/v1/topics/order-events/events",
                    "application/x-ndjson",
                    Bytes::from(std::mem::take(&mut batch)),
                )
                .await?;
        }
    }
    Ok(produced)
}

fn print_guide(url: &str, args: &Args, history: u64) {
    println!(
        "\nkappa demo is running: {history} orders of the last {mins} minutes produced, now {rate} orders/s into topic order-events (3 partitions), data in {data}\n\
         \n  console            {url}/\n\
         \n  the raw stream     curl -s '{url}/v1/topics/order-events/events?limit=5'\
         \n  live tail (SSE)    curl -sN {url}/v1/topics/order-events/stream\
         \n  revenue per minute curl -s {url}/v1/processors/revenue/results\
         \n  its output topic   kappa consume revenue --server {url} --from earliest\
         \n  late orders        kappa consume revenue.late --server {url} --from earliest\
         \n  processor status   kappa processors describe revenue --server {url}\
         \n  replay it changed  kappa replay revenue --server {url} --sql new.sql   (e.g. add MAX(total))\
         \n  compare and switch kappa replay revenue --server {url} --diff; then --promote\
         \n\nCtrl-C stops the demo cleanly.\n",
        rate = args.rate,
        mins = args.history_minutes,
        data = args.data.display(),
    );
}
