//! Goal: the seed tumbling query over a few thousand generated orders, with out-of-order and
//! late events across four partitions, produces exactly what an independent, deliberately
//! simple implementation of the windowing rules (DESIGN.md §3) produces. Method: the reference
//! below walks the records in merged order with a plain BTreeMap, Flink's completion rule and
//! the lateness check before the watermark moves; output rows and late records must match.

mod common;

use std::collections::BTreeMap;

use common::{dump, load, open_task, orders, Order, SEED_SQL};
use processor::io::memory::MemoryLog;
use processor::task::TaskSpec;

fn num(f: f64) -> String {
    serde_json::Number::from_f64(f).unwrap().to_string()
}

/// The reference: rows in emission order, and the indexes of late orders.
fn reference(orders: &[Order]) -> (Vec<String>, Vec<usize>) {
    const SIZE: i64 = 60_000;
    const DELAY: i64 = 5_000;
    let mut open: BTreeMap<(i64, String), (f64, u64)> = BTreeMap::new();
    let mut max_et = i64::MIN;
    let mut rows = Vec::new();
    let mut late = Vec::new();
    // Record timestamps strictly increase, so generation order is the merged order.
    for (i, o) in orders.iter().enumerate() {
        let watermark = if max_et == i64::MIN {
            i64::MIN
        } else {
            max_et - DELAY
        };
        let start = o.event_ms.div_euclid(SIZE) * SIZE;
        if start + SIZE - 1 <= watermark {
            late.push(i);
        } else {
            let acc = open.entry((start, o.category.clone())).or_insert((0.0, 0));
            acc.0 += o.total;
            acc.1 += 1;
        }
        max_et = max_et.max(o.event_ms);
        let watermark = max_et - DELAY;
        let complete: Vec<(i64, String)> = open
            .keys()
            .filter(|(s, _)| s + SIZE - 1 <= watermark)
            .cloned()
            .collect();
        for k in complete {
            let (sum, count) = open.remove(&k).unwrap();
            rows.push(format!(
                r#"{{"window_start":"{}","category":"{}","revenue":{},"order_count":{count},"avg_order_value":{}}}"#,
                processor::timestamp::format_rfc3339(k.0),
                k.1,
                num(sum),
                num(sum / count as f64)
            ));
        }
    }
    (rows, late)
}

#[test]
fn seed_query_matches_the_reference_on_generated_out_of_order_orders() {
    for seed in [1, 2, 3] {
        let orders = orders(seed, 3_000, 4);
        let log = MemoryLog::new();
        load(&log, &orders, 4);
        let mut task = open_task(&log, SEED_SQL, 1, TaskSpec::default()).unwrap();
        task.run_until_idle().unwrap();
        let (rows, late) = reference(&orders);
        let actual: Vec<String> = dump(&log, "out", 1)
            .into_iter()
            .map(|l| l.splitn(3, ' ').nth(2).unwrap().to_string())
            .collect();
        assert!(
            rows.len() > 10 && late.len() > 20,
            "seed {seed}: the data should exercise windows and lateness"
        );
        assert_eq!(actual, rows, "seed {seed}");
        let late_lines = dump(&log, "out.late", 1);
        assert_eq!(late_lines.len(), late.len(), "seed {seed}");
        for (line, i) in late_lines.iter().zip(&late) {
            assert!(
                line.ends_with(&format!(r#""value":{}}}"#, orders[*i].json)),
                "seed {seed}: {line}"
            );
        }
        assert_eq!(task.status().late_records, late.len() as u64);
    }
}
