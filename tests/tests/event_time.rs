//! Event time on real data (issue 9), against the real binary over HTTP.
//!
//! Goal: the README's flow — bulk-load history with one NDJSON request (split by `?key=`, or
//! whole to one partition without it), then create the seed's tumbling query — gives the same
//! rows and late count whatever the topic's partition count, and a replay gives the live run's
//! output byte for byte. Before per-partition watermarks about half of the orders of a
//! 3-partition load went to `.late`. Method: one server, one topic per case, the same file in
//! each; the rows are compared as sets (an output row goes to the partition of the input record
//! that closed its window), the late counts exactly.

use std::time::{Duration, Instant};

use kappa_tests::{temp, Server};
use serde_json::{json, Value};

fn seed_sql(topic: &str) -> String {
    format!(
        "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = '{topic}', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;"
    )
}

/// 3,000 orders, one every 100 ms of event time, each up to 4 s early (the delay is 5 s).
fn file() -> String {
    (0..3_000u64)
        .map(|i| {
            let ms = 36_000_000 + i * 100 - (i * 7_919 % 4_000);
            let ts = format!(
                "2026-03-25 {:02}:{:02}:{:02}.{:03}",
                ms / 3_600_000,
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000
            );
            let cat = ["books", "toys", "garden"][(i * 31 % 3) as usize];
            format!(
                r#"{{"order_id":"o{i}","user_id":"u{}","total":{}.5,"category":"{cat}","ts":"{ts}"}}"#,
                i * 13 % 101,
                i % 200 + 1
            ) + "\n"
        })
        .collect()
}

fn wait_caught_up(s: &Server, name: &str, records: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = s.get(&format!("/v1/processors/{name}")).json();
        if st["records_in"] == records && st["lag"] == 0 {
            return st;
        }
        assert!(Instant::now() < deadline, "{name} did not catch up: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every record of `topic` as (partition, value text), partition by partition.
fn records(s: &Server, topic: &str) -> Vec<(u64, String)> {
    let describe = s.get(&format!("/v1/topics/{topic}")).json();
    let partitions = describe["partitions"].as_array().unwrap().len();
    let mut out = Vec::new();
    for p in 0..partitions {
        let r = s.get(&format!(
            "/v1/topics/{topic}/events?partition={p}&offset=0&limit=100000"
        ));
        assert_eq!(r.status, 200, "{}", r.text());
        for line in r.ndjson() {
            out.push((p as u64, line["value"].to_string()));
        }
    }
    out
}

#[test]
fn a_bulk_load_gives_the_same_rows_and_late_count_whatever_the_partition_count() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let body = file();
    let mut answers = Vec::new();
    for (partitions, key) in [
        (1, None),
        (3, Some("user_id")),
        (8, Some("user_id")),
        (3, None),
    ] {
        let topic = format!("orders-{partitions}-{}", key.unwrap_or("rr"));
        s.create_topic(&topic, partitions);
        let query = key.map_or(String::new(), |k| format!("?key={k}"));
        let r = s.request(
            "POST",
            &format!("/v1/topics/{topic}/events{query}"),
            &[("content-type", "application/x-ndjson")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let shares = r.json()["partitions"].as_array().unwrap().len();
        assert_eq!(
            shares,
            if key.is_some() {
                partitions as usize
            } else {
                1
            }
        );
        let name = format!("revenue-{partitions}-{}", key.unwrap_or("rr"));
        let r = s.post_json(
            "/v1/processors",
            &json!({"name": name, "sql": seed_sql(&topic)}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let st = wait_caught_up(&s, &name, 3_000);
        let inputs = st["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), partitions as usize);
        assert!(
            inputs
                .iter()
                .all(|i| i["watermark"].is_string() == (i["end_offset"] != 0)),
            "every input that has records shows its watermark: {st}"
        );
        let mut rows: Vec<String> = records(&s, &name).into_iter().map(|(_, v)| v).collect();
        rows.sort();
        answers.push((name, rows, st["late_records"].as_u64().unwrap()));
    }
    let (_, expected, late) = &answers[0];
    assert_eq!(*late, 0);
    assert!(expected.len() >= 4 * 3, "{expected:?}");
    for (name, rows, late) in &answers[1..] {
        assert_eq!(*late, 0, "{name}");
        assert_eq!(rows, expected, "{name}");
    }

    // A replay of the 8-partition processor writes the live output, byte for byte.
    let r = s.post_json("/v1/processors/revenue-8-user_id/replay", &json!({}));
    assert_eq!(r.status, 201, "{}", r.text());
    let output = r.json()["output"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while records(&s, &output).len() < expected.len() {
        assert!(Instant::now() < deadline, "the replay did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        records(&s, &output),
        records(&s, "revenue-8-user_id"),
        "replay == live"
    );
}
