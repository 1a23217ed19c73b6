//! Goal: exactly-once output across crashes. Method: the seed query runs over generated orders
//! into a 3-partition output; one run is uninterrupted, the other is killed again and again —
//! at checkpoint boundaries and in the middle of writing a batch (the n-th append fails) — and
//! restarted from its last checkpoint each time. Both outputs must be identical byte for byte.
//! A stored output record that differs from the regenerated one stops the processor with an
//! error naming its offset. Seeds are printed on failure.

mod common;

use common::{dump, load, load_join_sides, open_task, orders, SEED_SQL};
use processor::io::memory::MemoryLog;
use processor::task::TaskSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FILTER_SQL: &str = "SELECT order_id, total FROM `order-events` WHERE total > 50";

/// An OVER aggregate (issue 14): its waiting rows and frames are checkpointed state too.
const OVER_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT order_id, category,
       AVG(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '30' SECOND PRECEDING AND CURRENT ROW) AS avg_30s
FROM orders";

/// A temporal join (issue 14): waiting orders and the versions of the rates are state.
const TEMPORAL_SQL: &str = "CREATE TABLE orders (
  order_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
CREATE TABLE rates (category STRING, discount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (category) NOT ENFORCED)
WITH ('connector' = 'kappa', 'topic' = 'category-rates', 'format' = 'json');
SELECT o.order_id, o.total * (1 - r.discount) AS net
FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.category = r.category";

/// An interval join: both sides' buffered rows are state, unmatched orders padded on expiry.
const INTERVAL_SQL: &str = "CREATE TABLE orders (
  order_id STRING, total DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
CREATE TABLE payments (order_id STRING, paid DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'kappa', 'topic' = 'payments', 'format' = 'json');
SELECT o.order_id, p.paid, p.ts AS paid_at
FROM orders o LEFT JOIN payments p
  ON o.order_id = p.order_id AND p.ts BETWEEN o.ts AND o.ts + INTERVAL '10' SECOND";

/// A Top-N (issue 14): its ranked rows per key are the operator's own checkpointed state, and
/// its upsert records must come out the same across crashes.
const TOP_N_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT * FROM (
  SELECT order_id, category, total,
         ROW_NUMBER() OVER (PARTITION BY category ORDER BY total DESC) AS rn
  FROM orders
) WHERE rn <= 3";

/// A filter/map over a PRIMARY KEY table (a changelog): the latest order per category, deleted
/// (a tombstone) whenever the category's latest order is 50 or less.
const CHANGELOG_SQL: &str = "CREATE TABLE latest (
  order_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (category) NOT ENFORCED
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT category, order_id, total FROM latest WHERE total > 50";

/// A GROUP BY whose HAVING drops keys again: tombstones are output like rows.
const HAVING_SQL: &str = "SELECT category, COUNT(*) AS n FROM `order-events` GROUP BY category \
  HAVING COUNT(*) < 40";

/// A ROWS frame with every kind of accumulator a frame retracts from: compensated sums, the
/// MIN/MAX deques, the COUNT(DISTINCT) counts.
const OVER_ROWS_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT order_id, category,
       SUM(total) OVER (PARTITION BY category ORDER BY ts
         ROWS BETWEEN 20 PRECEDING AND CURRENT ROW) AS sum_21,
       MIN(total) OVER (PARTITION BY category ORDER BY ts
         ROWS BETWEEN 20 PRECEDING AND CURRENT ROW) AS min_21,
       MAX(total) OVER (PARTITION BY category ORDER BY ts
         ROWS BETWEEN 20 PRECEDING AND CURRENT ROW) AS max_21,
       STDDEV_POP(total) OVER (PARTITION BY category ORDER BY ts
         ROWS BETWEEN 20 PRECEDING AND CURRENT ROW) AS sd_21,
       COUNT(DISTINCT user_id) OVER (PARTITION BY category ORDER BY ts
         ROWS BETWEEN 20 PRECEDING AND CURRENT ROW) AS users_21
FROM orders";

fn clean_run(sql: &str, orders: &[common::Order]) -> (Vec<String>, Vec<String>) {
    let log = MemoryLog::new();
    load(&log, orders, 4);
    load_join_sides(&log, orders);
    let mut task = open_task(&log, sql, 3, TaskSpec::default()).unwrap();
    task.run_until_idle().unwrap();
    (dump(&log, "out", 3), dump(&log, "out.late", 1))
}

fn crashing_run(sql: &str, orders: &[common::Order], seed: u64) -> (Vec<String>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::new();
    load(&log, orders, 4);
    load_join_sides(&log, orders);
    let spec = TaskSpec {
        checkpoint_path: Some(dir.path().join("v1.checkpoint")),
        checkpoint_interval_records: 97,
        fetch_records: 13,
        ..TaskSpec::default()
    };
    let mut restarts = 0;
    loop {
        let mut task = open_task(&log, sql, 3, spec.clone()).unwrap();
        let crash_mid_batch = rng.random_bool(0.5);
        if crash_mid_batch {
            log.fail_appends_after(Some(rng.random_range(0..40)));
        }
        let steps = rng.random_range(1..30);
        let mut done = false;
        for _ in 0..steps {
            match task.step() {
                Ok(s) if s.processed == 0 => {
                    done = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break, // the simulated crash
            }
        }
        log.fail_appends_after(None);
        // Kill: drop the task without a final checkpoint.
        drop(task);
        restarts += 1;
        if done {
            break;
        }
        assert!(restarts < 10_000, "seed {seed}: no progress");
    }
    let mut task = open_task(&log, sql, 3, spec).unwrap();
    task.run_until_idle().unwrap();
    assert!(
        restarts > 3,
        "seed {seed}: the run should have crashed several times"
    );
    (dump(&log, "out", 3), dump(&log, "out.late", 1))
}

#[test]
fn output_after_repeated_crashes_equals_an_uninterrupted_run() {
    for seed in 0..4u64 {
        let orders = orders(100 + seed, 1_500, 4);
        for sql in [
            SEED_SQL,
            FILTER_SQL,
            OVER_SQL,
            OVER_ROWS_SQL,
            TEMPORAL_SQL,
            INTERVAL_SQL,
            TOP_N_SQL,
            HAVING_SQL,
            CHANGELOG_SQL,
        ] {
            let clean = clean_run(sql, &orders);
            assert!(!clean.0.is_empty());
            let crashed = crashing_run(sql, &orders, seed);
            assert_eq!(crashed.0.len(), clean.0.len(), "seed {seed}: output length");
            assert_eq!(
                crashed, clean,
                "seed {seed}: output differs from the clean run"
            );
        }
    }
}

#[test]
fn divergent_stored_output_stops_the_processor_naming_the_offset() {
    let orders = orders(7, 500, 4);
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::new();
    load(&log, &orders, 4);
    let spec = TaskSpec {
        checkpoint_path: Some(dir.path().join("v1.checkpoint")),
        checkpoint_interval_records: 1_000_000,
        fetch_records: 50,
        ..TaskSpec::default()
    };
    let mut task = open_task(&log, FILTER_SQL, 3, spec.clone()).unwrap();
    for _ in 0..4 {
        task.step().unwrap();
    }
    drop(task);
    assert!(log.records("out", 1).len() > 2);
    log.overwrite("out", 1, 2, br#"{"order_id":"forged","total":1}"#);
    let mut task = open_task(&log, FILTER_SQL, 3, spec).unwrap();
    let err = task.run_until_idle().unwrap_err();
    match &err {
        processor::Error::Diverged {
            topic,
            partition,
            offset,
            ..
        } => {
            assert_eq!(
                (topic.as_str(), *partition, *offset),
                ("out", 1, 2),
                "{err}"
            );
        }
        other => panic!("expected Diverged, got {other}"),
    }
    assert!(err.to_string().contains("offset 2"), "{err}");
}
