//! Shared by the runtime tests: a seeded order generator with out-of-order and late events
//! across partitions, and the seed tumbling query.
#![allow(dead_code)]

use processor::io::memory::MemoryLog;
use processor::operator;
use processor::task::{Task, TaskSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const SEED_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;";

/// 2026-03-25T10:00:00Z in ms.
pub const BASE_MS: i64 = 1_774_432_800_000;

#[derive(Debug, Clone)]
pub struct Order {
    pub partition: u32,
    pub record_ts: u64,
    pub event_ms: i64,
    pub category: String,
    pub total: f64,
    pub json: String,
}

/// `n` orders, one every 100 ms of event time, jittered from 8 s early to 2 s late, 2 % of
/// them 90 s late; record timestamps strictly increase, partitions are random.
pub fn orders(seed: u64, n: usize, partitions: u32) -> Vec<Order> {
    let mut rng = StdRng::seed_from_u64(seed);
    let categories = ["books", "toys", "garden", "games"];
    (0..n)
        .map(|i| {
            let mut event_ms = BASE_MS + i as i64 * 100 + rng.random_range(-8_000..2_000);
            if rng.random_range(0..100) < 2 {
                event_ms -= 90_000;
            }
            let category = categories[rng.random_range(0..categories.len())].to_string();
            let cents: u64 = rng.random_range(100..20_000);
            let total = format!("{}.{:02}", cents / 100, cents % 100);
            let ts = processor::timestamp::format_rfc3339(event_ms);
            let json = format!(
                r#"{{"order_id":"o{i}","user_id":"u{}","total":{total},"category":"{category}","ts":"{ts}"}}"#,
                rng.random_range(0..50)
            );
            Order {
                partition: rng.random_range(0..partitions),
                record_ts: 1_000 + i as u64,
                event_ms,
                category,
                total: total.parse().unwrap(),
                json,
            }
        })
        .collect()
}

pub fn load(log: &MemoryLog, orders: &[Order], partitions: u32) {
    log.create_topic("order-events", partitions);
    for o in orders {
        log.append(
            "order-events",
            o.partition,
            o.record_ts,
            None,
            o.json.as_bytes(),
        );
    }
}

/// Opens a task of `sql` over the memory log, writing to `out` (with `out_partitions`).
pub fn open_task(
    log: &MemoryLog,
    sql: &str,
    out_partitions: u32,
    spec: TaskSpec,
) -> processor::Result<Task> {
    let plan = processor::sql::compile(sql, spec.end_ms.is_some()).unwrap();
    let spec = TaskSpec {
        watermark_delay_ms: plan.watermark_delay_ms,
        watermark_idle_timeout_ms: plan.watermark_idle_timeout_ms,
        ..spec
    };
    let op = operator::for_plan(plan.clone(), spec.end_ms.is_some());
    Task::open(
        Box::new(log.source(&[plan.input.as_str()])),
        Box::new(log.sink("out", out_partitions)),
        Box::new(log.sink("out.late", 1)),
        op,
        spec,
    )
}

/// Every record of a topic as `partition key value` lines, partition by partition.
pub fn dump(log: &MemoryLog, topic: &str, partitions: u32) -> Vec<String> {
    let mut lines = Vec::new();
    for p in 0..partitions {
        for r in log.records(topic, p) {
            let key = r
                .key
                .map(|k| String::from_utf8_lossy(&k).into_owned())
                .unwrap_or_else(|| "-".into());
            lines.push(format!("{p} {key} {}", String::from_utf8_lossy(&r.value)));
        }
    }
    lines
}
