//! Goal: the seed tumbling query over a few thousand generated orders, with out-of-order and
//! late events across four partitions, produces exactly what an independent, deliberately
//! simple implementation of the windowing rules (DESIGN.md §3) produces. Method: the reference
//! below walks the records in merged order with a plain BTreeMap, Flink's per-partition
//! watermarks (each partition's max event time minus the delay; the processor's watermark the
//! minimum over the partitions that are active in log time, never going back), Flink's
//! completion rule and the lateness check before the watermark moves; output rows and late
//! records must match, for idle timeouts that make partitions go idle often, never, or not at
//! all (issue 9).

mod common;

use std::collections::BTreeMap;

use common::{dump, load, open_task, orders, Order, SEED_SQL};
use processor::io::memory::MemoryLog;
use processor::task::TaskSpec;

fn num(f: f64) -> String {
    serde_json::Number::from_f64(f).unwrap().to_string()
}

/// The reference: rows in emission order, and the indexes of late orders. `idle_ms` of 0
/// means no partition ever goes idle.
fn reference(orders: &[Order], partitions: usize, idle_ms: u64) -> (Vec<String>, Vec<usize>) {
    const SIZE: i64 = 60_000;
    const DELAY: i64 = 5_000;
    let mut open: BTreeMap<(i64, String), (f64, u64)> = BTreeMap::new();
    // Per partition: (max event time, log time of the last record read).
    let mut seen: Vec<Option<(i64, u64)>> = vec![None; partitions];
    let mut watermark = i64::MIN;
    let mut rows = Vec::new();
    let mut late = Vec::new();
    // Record timestamps strictly increase, so generation order is the merged order.
    for (i, o) in orders.iter().enumerate() {
        let start = o.event_ms.div_euclid(SIZE) * SIZE;
        if start + SIZE - 1 <= watermark {
            late.push(i);
        } else {
            let acc = open.entry((start, o.category.clone())).or_insert((0.0, 0));
            acc.0 += o.total;
            acc.1 += 1;
        }
        let p = o.partition as usize;
        let max = seen[p].map_or(o.event_ms, |(m, _)| m.max(o.event_ms));
        seen[p] = Some((max, o.record_ts));
        // Active: the partition just read, and those read within the idle timeout; one never
        // read is idle, unless idleness is off, when it holds the watermark.
        let active = |q: usize| {
            q == p || idle_ms == 0 || seen[q].is_some_and(|(_, last)| last + idle_ms >= o.record_ts)
        };
        let marks: Vec<Option<i64>> = (0..partitions)
            .filter(|&q| active(q))
            .map(|q| seen[q].map(|(m, _)| m - DELAY))
            .collect();
        if marks.iter().all(Option::is_some) {
            let min = marks.into_iter().flatten().min().unwrap();
            watermark = watermark.max(min);
        }
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
    for (seed, idle_ms) in [(1, 10_000), (2, 10_000), (3, 3), (4, 0), (5, 1)] {
        let orders = orders(seed, 3_000, 4);
        let log = MemoryLog::new();
        load(&log, &orders, 4);
        let sql = SEED_SQL.replace(
            "'format' = 'json')",
            &format!("'format' = 'json', 'scan.watermark.idle-timeout' = '{idle_ms} ms')"),
        );
        let mut task = open_task(&log, &sql, 1, TaskSpec::default()).unwrap();
        task.run_until_idle().unwrap();
        let (rows, late) = reference(&orders, 4, idle_ms);
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
