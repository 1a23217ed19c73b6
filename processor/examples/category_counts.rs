//! The seed's Kafka Streams job — completed orders counted per category in 1-minute tumbling
//! windows without grace, written to `category-counts-output` — with kappa's Rust builder,
//! embedded in a program against a data dir (no server). Run it with
//! `cargo run -p processor --example category_counts [DATA_DIR]`; `tests/example.rs` runs it too.

use std::path::Path;

use log_store::{AppendRecord, Offset, TopicConfig};
use processor::{stream, tumbling, Embedded};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Order {
    status: String,
    category: String,
    ts: String,
}

const ORDERS: &[&str] = &[
    r#"{"order_id":"o1","status":"completed","category":"books","ts":"2026-03-25T10:00:05Z"}"#,
    r#"{"order_id":"o2","status":"completed","category":"toys","ts":"2026-03-25T10:00:20Z"}"#,
    r#"{"order_id":"o3","status":"cancelled","category":"books","ts":"2026-03-25T10:00:30Z"}"#,
    r#"{"order_id":"o4","status":"completed","category":"books","ts":"2026-03-25T10:00:50Z"}"#,
    r#"{"order_id":"o5","status":"completed","category":"books","ts":"2026-03-25T10:01:10Z"}"#,
    r#"{"order_id":"o6","status":"completed","category":"toys","ts":"2026-03-25T10:02:00Z"}"#,
];

/// Produces the sample orders, runs the topology until caught up, returns the output values.
pub fn run(data_dir: &Path) -> processor::Result<Vec<String>> {
    let kappa = Embedded::open(data_dir)?;
    let store = kappa.store().expect("opened on a data dir");
    let orders = match store.topic("order-events") {
        Ok(t) => t,
        Err(_) => store.create_topic("order-events", TopicConfig::default())?,
    };
    let batch: Vec<AppendRecord<'_>> = ORDERS
        .iter()
        .map(|o| AppendRecord {
            value: o.as_bytes(),
            ..Default::default()
        })
        .collect();
    orders.partitions()[0].append(&batch)?;

    // KStream<String, Order> orders = builder.stream("order-events");
    // orders.filter(completed).groupBy(category).windowedBy(1 min, no grace).count().to(...)
    let topology = stream::<Order>("order-events")
        .event_time(|o| processor::timestamp::parse(&o.ts))
        .filter(|o| o.status == "completed")
        .key_by(|o| o.category.clone())
        .window(tumbling(60_000))
        .count()
        .to("category-counts-output");
    let status = kappa.run_until_caught_up("category-counts", &topology)?;
    println!(
        "processed {} orders, {} counts written",
        status.records_in, status.records_out
    );

    let out = store.topic("category-counts-output")?;
    let records = out.partitions()[0].read(Offset(0), 1_000, 1 << 20)?;
    Ok(records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.value).into_owned())
        .collect())
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp;
    let dir = match std::env::args().nth(1) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    for line in run(&dir)? {
        println!("{line}");
    }
    Ok(())
}
