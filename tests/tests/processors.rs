//! Processors over HTTP: create (and refusals), status, results, delete, restart; and exactly-once
//! output across kill -9 of the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kappa_tests::{temp, try_request, Server};
use rand::Rng;
use serde_json::json;

const SEED_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;";

/// An OVER aggregate (issue 14): a rolling average and maximum per category over the last two
/// seconds of event time; its waiting rows, frames and accumulators are checkpointed state.
const OVER_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
SELECT order_id, category, total,
       AVG(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW) AS avg_2s,
       MAX(total) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW) AS max_2s,
       COUNT(*) OVER (PARTITION BY category ORDER BY ts
         RANGE BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW) AS n_2s
FROM orders;";

/// `ts_ms` after 2026-03-25 10:00 as SQL timestamp text.
fn event_time(ts_ms: u64) -> String {
    let secs = ts_ms / 1000;
    format!(
        "2026-03-25 {:02}:{:02}:{:02}.{:03}",
        10 + secs / 3600 % 10,
        secs / 60 % 60,
        secs % 60,
        ts_ms % 1000
    )
}

fn order(i: u64, ts_ms: u64) -> String {
    let ts = event_time(ts_ms);
    let cat = ["books", "toys", "garden"][(i % 3) as usize];
    format!(
        r#"{{"order_id":"o{i}","user_id":"u{}","total":{}.{:02},"category":"{cat}","ts":"{ts}"}}"#,
        i % 17,
        i % 90 + 1,
        i % 100
    )
}

fn wait_for(
    s: &Server,
    what: &str,
    mut ok: impl FnMut(&serde_json::Value) -> bool,
    path: &str,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = s.get(path);
        if r.status == 200 && ok(&r.json()) {
            return r.json();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {} {}",
            r.status,
            r.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_processor_is_created_reports_status_serves_results_and_survives_a_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let s = Server::start(&data, &[]);
    s.create_topic("orders", 2);
    let body: String = (0..600).map(|i| order(i, i * 1000) + "\n").collect();
    assert_eq!(
        s.request(
            "POST",
            "/v1/topics/orders/events",
            &[("content-type", "application/x-ndjson")],
            body.as_bytes()
        )
        .status,
        200
    );
    let r = s.post_json(
        "/v1/processors",
        &json!({"name": "revenue", "sql": SEED_SQL}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let st = r.json();
    for field in [
        "name",
        "version",
        "status",
        "sql",
        "output",
        "late_topic",
        "inputs",
        "lag",
        "watermark",
        "records_in",
        "records_out",
        "late_records",
        "state_bytes",
        "error",
        "versions",
    ] {
        assert!(st.get(field).is_some(), "status has {field}: {st}");
    }
    assert_eq!(st["output"], "revenue");
    assert_eq!(st["late_topic"], "revenue.late");
    let st = wait_for(
        &s,
        "caught up",
        |v| v["records_in"] == 600 && v["lag"] == 0,
        "/v1/processors/revenue",
    );
    assert_eq!(st["status"], "caught_up");
    assert_eq!(st["watermark"], "2026-03-25T10:09:54.000Z");
    let results = s.get("/v1/processors/revenue/results").json()["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        results.len(),
        9 * 3,
        "9 complete minutes x 3 categories: {results:?}"
    );
    let first = &results[0];
    assert_eq!(first["window_start"], "2026-03-25T10:00:00.000Z");
    let raw = s.get("/v1/topics/revenue/events?limit=1").text();
    let at: Vec<usize> = [
        "window_start",
        "category",
        "revenue",
        "order_count",
        "avg_order_value",
    ]
    .iter()
    .map(|c| raw.find(&format!("\"{c}\"")).unwrap())
    .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "columns in SELECT order: {raw}"
    );
    let books = s.get("/v1/processors/revenue/results?key=books").json()["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(books.len(), 9);
    // Regression: the results endpoint once re-parsed stored rows with a lossy float parser.
    let stored: Vec<serde_json::Value> = s
        .get("/v1/topics/revenue/events?limit=1000")
        .ndjson()
        .into_iter()
        .map(|l| l["value"].clone())
        .filter(|v| v["category"] == "books")
        .collect();
    assert_eq!(
        books, stored,
        "results equal the output records, digit for digit"
    );
    let out = s.get("/v1/topics/revenue/events?limit=1000").ndjson();
    assert_eq!(
        out.len(),
        27,
        "one output record per complete window and category"
    );
    assert_eq!(
        s.get("/v1/processors").json()["processors"][0]["name"],
        "revenue"
    );
    let del = s.request("DELETE", "/v1/topics/orders", &[], b"");
    assert_eq!(
        del.status,
        409,
        "a topic a processor reads is not deleted: {}",
        del.text()
    );
    assert!(s.terminate().success());
    let s = Server::start(&data, &[]);
    let st = wait_for(
        &s,
        "restarted",
        |v| v["records_in"] == 600,
        "/v1/processors/revenue",
    );
    assert_eq!(st["records_out"], 27, "nothing re-emitted after a restart");
    assert_eq!(
        s.request("DELETE", "/v1/processors/revenue", &[], b"")
            .status,
        200
    );
    assert_eq!(s.get("/v1/processors/revenue").status, 404);
    assert_eq!(
        s.request("DELETE", "/v1/topics/orders", &[], b"").status,
        200
    );
}

#[test]
fn sql_outside_the_subset_is_refused_with_its_position() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("orders", 1);
    for (sql, needle) in [
        (
            "SELECT a.x FROM orders a JOIN orders b ON a.x = b.x",
            "JOIN",
        ),
        (
            "SELECT category,\n  SUM(total) OVER (PARTITION BY category) FROM orders",
            "OVER",
        ),
        ("SELECT frobnicate(total) FROM orders", "frobnicate"),
    ] {
        let r = s.post_json("/v1/processors", &json!({"name": "bad", "sql": sql}));
        assert_eq!(r.status, 400, "{sql}: {}", r.text());
        let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains("line") && msg.contains("column"), "{msg}");
        assert!(
            msg.to_lowercase().contains(&needle.to_lowercase()),
            "{msg} names {needle}"
        );
    }
    assert_eq!(
        s.get("/v1/processors").json()["processors"],
        json!([]),
        "nothing created"
    );
    assert_eq!(s.get("/v1/processors/nope").status, 404);
}

/// Reads a whole topic as (partition, offset, key, value) lines.
fn dump(s: &Server, topic: &str) -> Vec<String> {
    let mut out = Vec::new();
    let parts = s.get(&format!("/v1/topics/{topic}")).json()["partitions"]
        .as_array()
        .unwrap()
        .len();
    for p in 0..parts {
        for l in s
            .get(&format!(
                "/v1/topics/{topic}/events?partition={p}&offset=0&limit=100000"
            ))
            .ndjson()
        {
            out.push(format!(
                "{} {} {} {}",
                l["partition"], l["offset"], l["key"], l["value"]
            ));
        }
    }
    out
}

/// Goal: exactly-once output across crashes. Method: processors run while events are produced;
/// the server is killed with SIGKILL at random moments, several rounds (half of them after the
/// input paused, so the processors have checkpointed and a restart restores their state rather
/// than recomputing from the start); afterwards a second processor with the same SQL runs once,
/// uninterrupted, over the same input records. Both outputs must be byte-identical: no
/// duplicate, no gap, no divergence. The seed's windows and an OVER aggregate run side by side.
#[test]
fn kill9_while_a_processor_runs_keeps_its_output_exactly_once() {
    let sql = SEED_SQL
        .replace("INTERVAL '1' MINUTE", "INTERVAL '2' SECOND")
        .replace("INTERVAL '5' SECOND", "INTERVAL '1' SECOND");
    kill9_rounds(&[("", &sql), ("_over", OVER_SQL)], &[("orders", 3)], |i| {
        // Event time runs ahead ~100 ms per order, with some out of order and some late.
        let jitter = [0, 0, 0, 300, 2500][(i % 5) as usize];
        let body: String = (i..i + 20)
            .map(|k| order(k, (k * 100).saturating_sub(jitter)) + "\n")
            .collect();
        vec![("orders", body)]
    });
}

/// The same for a temporal join (issue 14): orders on 3 partitions meet the discount of their
/// category valid at their event time, from a versioned table produced alongside.
#[test]
fn kill9_while_a_temporal_join_runs_keeps_its_output_exactly_once() {
    let sql = "CREATE TABLE orders (
  order_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE rates (category STRING, discount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (category) NOT ENFORCED)
WITH ('connector' = 'kappa', 'topic' = 'rates', 'format' = 'json');
SELECT o.order_id, o.category, r.discount, o.total * (1 - r.discount) AS net
FROM orders AS o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.category = r.category";
    let rows = kill9_rounds(&[("", sql)], &[("orders", 3), ("rates", 1)], |i| {
        let jitter = [0, 0, 0, 300, 900][(i % 5) as usize];
        let orders: String = (i..i + 20)
            .map(|k| order(k, (k * 100).saturating_sub(jitter)) + "\n")
            .collect();
        let cat = ["books", "toys", "garden"][(i / 20 % 3) as usize];
        let rate = format!(
            r#"{{"category":"{cat}","discount":0.{},"ts":"{}"}}"#,
            i % 7,
            event_time(i * 100)
        );
        vec![("rates", rate), ("orders", orders)]
    });
    assert!(
        rows.iter().any(|r| r.contains(r#""discount":0."#)),
        "orders met versions: {:?}",
        &rows[..rows.len().min(3)]
    );
}

/// Runs each `(suffix, sql)` as processor `live<suffix>` while `batches(i)` (requests for events
/// i..i+20, by topic) are produced, with kill -9 between rounds; then `fresh<suffix>` over the
/// same records must write the same bytes, late topic included. Returns the first one's rows.
fn kill9_rounds(
    processors: &[(&str, &str)],
    topics: &[(&str, u32)],
    batches: fn(u64) -> Vec<(&'static str, String)>,
) -> Vec<String> {
    let dir = temp();
    let data = dir.path().join("data");
    let mut rng = rand::rng();
    let mut next = 0u64;
    let create = |s: &Server, prefix: &str| {
        for (suffix, sql) in processors {
            let r = s.post_json(
                "/v1/processors",
                &json!({"name": format!("{prefix}{suffix}"), "sql": sql}),
            );
            assert_eq!(r.status, 201, "{}", r.text());
        }
    };
    for round in 0..kappa_tests::soak_rounds(4) {
        let s = Server::start(&data, &[]);
        if round == 0 {
            for (topic, partitions) in topics {
                s.create_topic(topic, *partitions);
            }
            create(&s, "live");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, stop2, start) = (s.addr.clone(), stop.clone(), next);
        let producer = std::thread::spawn(move || {
            let mut i = start;
            'produce: while !stop2.load(Ordering::Relaxed) {
                for (topic, body) in batches(i) {
                    let path = format!("/v1/topics/{topic}/events");
                    let ndjson = [("content-type", "application/x-ndjson")];
                    match try_request(&addr, "POST", &path, &ndjson, body.as_bytes()) {
                        Ok(r) if r.status == 200 => {}
                        _ => break 'produce,
                    }
                }
                i += 20;
            }
            i
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1200)));
        if rng.random_bool(0.5) {
            s.kill9();
            stop.store(true, Ordering::Relaxed);
            next = producer.join().unwrap();
        } else {
            // Input pauses: the processors go idle and checkpoint (after about a second), so the
            // next start restores their state (windows, frames, versions) rather than replaying.
            stop.store(true, Ordering::Relaxed);
            next = producer.join().unwrap();
            std::thread::sleep(Duration::from_millis(rng.random_range(1_000..2_500)));
            s.kill9();
        }
    }
    let s = Server::start(&data, &[]);
    let mut total = 0;
    for (topic, _) in topics {
        total += s.get(&format!("/v1/topics/{topic}")).json()["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["end_offset"].as_u64().unwrap())
            .sum::<u64>();
    }
    assert!(total > 0);
    create(&s, "fresh");
    let mut first = None;
    for (suffix, _) in processors {
        let (live, fresh) = (format!("live{suffix}"), format!("fresh{suffix}"));
        for name in [&live, &fresh] {
            let st = wait_for(
                &s,
                name,
                |v| v["records_in"].as_u64() == Some(total) && v["lag"] == 0,
                &format!("/v1/processors/{name}"),
            );
            assert!(st["error"].is_null(), "{name}: {st}");
        }
        let (live_rows, fresh_rows) = (dump(&s, &live), dump(&s, &fresh));
        assert!(!fresh_rows.is_empty(), "{fresh} emitted rows");
        assert_eq!(
            live_rows, fresh_rows,
            "{live}: output after kill -9 rounds equals an uninterrupted run"
        );
        assert_eq!(
            dump(&s, &format!("{live}.late")),
            dump(&s, &format!("{fresh}.late")),
            "{live}: late side outputs are identical too"
        );
        first.get_or_insert(fresh_rows);
    }
    first.unwrap_or_default()
}

/// Issue 9: a processor never writes where it should not. Its name, `.late` or version topics
/// landing in an existing topic is 409 `topic_exists`; `.late` and `.v<digits>` names are
/// reserved (400); a topic a processor writes (output or late) cannot be deleted (409
/// `topic_in_use`), as for the topics it reads.
#[test]
fn processors_write_only_into_topics_they_own() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("orders", 1);
    let sql = SEED_SQL;
    for reserved in ["x.late", "x.v2", "orders.v17"] {
        let r = s.post_json("/v1/topics", &json!({"name": reserved}));
        assert_eq!(r.status, 400, "{reserved}: {}", r.text());
        assert_eq!(r.error_code(), "invalid_name");
        let r = s.post_json("/v1/processors", &json!({"name": reserved, "sql": sql}));
        assert_eq!(r.status, 400, "{reserved}: {}", r.text());
    }
    // Existing topics under the processor's own names: refused, nothing created.
    s.create_topic("taken", 1);
    let r = s.post_json("/v1/processors", &json!({"name": "taken", "sql": sql}));
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.error_code(), "topic_exists");
    // INSERT INTO an existing topic is the SQL saying so: allowed.
    let insert = sql.replace(
        "SELECT TUMBLE_START",
        "INSERT INTO taken SELECT TUMBLE_START",
    );
    let r = s.post_json(
        "/v1/processors",
        &json!({"name": "into-taken", "sql": insert}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let into_reserved = sql.replace(
        "SELECT TUMBLE_START",
        "INSERT INTO `x.late` SELECT TUMBLE_START",
    );
    let r = s.post_json(
        "/v1/processors",
        &json!({"name": "p2", "sql": into_reserved}),
    );
    assert_eq!(r.status, 400, "{}", r.text());

    let r = s.post_json("/v1/processors", &json!({"name": "revenue", "sql": sql}));
    assert_eq!(r.status, 201, "{}", r.text());
    for (topic, how) in [
        ("orders", "read"),
        ("revenue", "written"),
        ("revenue.late", "written"),
        ("taken", "written"),
    ] {
        let r = s.request("DELETE", &format!("/v1/topics/{topic}"), &[], b"");
        assert_eq!(r.status, 409, "{topic}: {}", r.text());
        assert_eq!(r.error_code(), "topic_in_use");
        assert!(r.text().contains(how), "{}", r.text());
    }
    // Deleting the processor leaves its topics (the user's data) and frees them for deletion;
    // a new processor of the same name is refused while they exist.
    assert_eq!(
        s.request("DELETE", "/v1/processors/revenue", &[], b"")
            .status,
        200
    );
    let r = s.post_json("/v1/processors", &json!({"name": "revenue", "sql": sql}));
    assert_eq!(r.status, 409, "{}", r.text());
    for topic in ["revenue", "revenue.late"] {
        let r = s.request("DELETE", &format!("/v1/topics/{topic}"), &[], b"");
        assert_eq!(r.status, 200, "{topic}: {}", r.text());
    }
    let r = s.post_json("/v1/processors", &json!({"name": "revenue", "sql": sql}));
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Issue 9: without `CREATE TABLE`, column types are inferred from the records present at
/// creation, so type errors are refused as with declared types; a value that does not convert
/// later is counted in `invalid_records` and sent to `.late` with reason `invalid`, never
/// written as a null row.
#[test]
fn an_inferred_schema_refuses_type_errors_and_never_writes_null_rows() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("sales", 1);
    let produce = |body: &str| {
        let r = s.request(
            "POST",
            "/v1/topics/sales/events",
            &[("content-type", "application/x-ndjson")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    produce("{\"category\":\"books\",\"total\":12.5}\n{\"category\":\"toys\",\"total\":3}\n");
    for sql in [
        "SELECT SUM(category) FROM sales",
        "SELECT category FROM sales WHERE total > '100'",
    ] {
        let r = s.post_json("/v1/processors", &json!({"name": "bad", "sql": sql}));
        assert_eq!(r.status, 400, "{sql}: {}", r.text());
    }
    let sql = "SELECT category, SUM(total) AS revenue FROM sales GROUP BY category";
    let r = s.post_json("/v1/processors", &json!({"name": "totals", "sql": sql}));
    assert_eq!(r.status, 201, "{}", r.text());
    produce("{\"category\":\"toys\",\"total\":\"abc\"}\n{\"category\":\"toys\",\"total\":1}\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    let st = loop {
        let st = s.get("/v1/processors/totals").json();
        if st["records_in"] == 4 && st["lag"] == 0 {
            break st;
        }
        assert!(Instant::now() < deadline, "{st}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(st["invalid_records"], 1, "{st}");
    let late = s.get("/v1/topics/totals.late/events?offset=0").ndjson();
    assert_eq!(late.len(), 1);
    let reason = late[0]["value"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("invalid") && reason.contains("total"),
        "{reason}"
    );
    let rows = s.get("/v1/topics/totals/events?offset=0").ndjson();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter().all(|r| r["value"]["revenue"].is_number()),
        "no null rows: {rows:?}"
    );
}

/// A plain map (a filter, no GROUP BY) has no key per row: its results are its latest rows,
/// oldest first (they were kept but never served).
#[test]
fn a_plain_map_serves_its_latest_rows_as_results() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("orders", 1);
    let body: String = (0..10).map(|i| order(i, i * 1000) + "\n").collect();
    let r = s.request(
        "POST",
        "/v1/topics/orders/events",
        &[("content-type", "application/x-ndjson")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sql = "SELECT order_id, total FROM orders WHERE total > 6";
    let r = s.post_json("/v1/processors", &json!({"name": "big", "sql": sql}));
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for(
        &s,
        "caught up",
        |v| v["records_in"] == 10 && v["lag"] == 0,
        "/v1/processors/big",
    );
    // Order i totals i + 1 and i cents: orders 5..9 pass.
    let results = s.get("/v1/processors/big/results").json()["results"].clone();
    let ids: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["o5", "o6", "o7", "o8", "o9"], "{results}");
    let last = s.get("/v1/processors/big/results?limit=2").json()["results"].clone();
    assert_eq!(
        last,
        json!([{"order_id": "o8", "total": 9.08}, {"order_id": "o9", "total": 10.09}])
    );
}

/// A join over HTTP (issue 14): both tables' topics must exist; both are "read" (neither can be
/// deleted while the processor runs); the status lists both tables' partitions and the join's
/// state; a replay writes the live output byte for byte.
#[test]
fn a_join_reads_two_topics_and_replays_byte_for_byte() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let sql = "CREATE TABLE orders (
  order_id STRING, total DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts
) WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
CREATE TABLE shipments (order_id STRING, carrier STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts) WITH ('connector' = 'kappa', 'topic' = 'shipments', 'format' = 'json');
SELECT o.order_id, s.carrier, o.ts AS ordered, s.ts AS shipped
FROM orders o LEFT JOIN shipments s
  ON o.order_id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '20' SECOND";
    s.create_topic("orders", 2);
    let r = s.post_json("/v1/processors", &json!({"name": "shipped", "sql": sql}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("shipments"), "{}", r.text());
    s.create_topic("shipments", 1);
    let r = s.post_json("/v1/processors", &json!({"name": "shipped", "sql": sql}));
    assert_eq!(r.status, 201, "{}", r.text());
    let produce = |topic: &str, body: String| {
        let r = s.request(
            "POST",
            &format!("/v1/topics/{topic}/events?key=order_id"),
            &[("content-type", "application/x-ndjson")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    for batch in 0..10u64 {
        let ids = batch * 30..batch * 30 + 30;
        produce(
            "orders",
            ids.clone()
                .map(|i| {
                    format!(
                        r#"{{"order_id":"o{i}","total":{i},"ts":"{}"}}"#,
                        event_time(i * 1000)
                    ) + "\n"
                })
                .collect(),
        );
        // Two orders in three are shipped, 0 to 14 s after the order: every shipment matches.
        produce(
            "shipments",
            ids.filter(|i| i % 3 != 0)
                .map(|i| {
                    let at = event_time(i * 1000 + (i % 15) * 1000);
                    format!(
                        r#"{{"order_id":"o{i}","carrier":"c{}","ts":"{at}"}}"#,
                        i % 4
                    ) + "\n"
                })
                .collect(),
        );
    }
    let st = wait_for(
        &s,
        "shipped",
        |v| v["records_in"].as_u64() == Some(300 + 200) && v["lag"] == 0,
        "/v1/processors/shipped",
    );
    let topics: Vec<&str> = st["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["orders", "orders", "shipments"], "{st}");
    let states: Vec<&str> = st["state"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["join_buffered_rows"], "{st}");
    for topic in ["orders", "shipments"] {
        let r = s.request("DELETE", &format!("/v1/topics/{topic}"), &[], b"");
        assert_eq!(r.status, 409, "{topic}: {}", r.text());
        assert_eq!(r.error_code(), "topic_in_use");
    }
    let r = s.post_json("/v1/processors/shipped/replay", &json!({}));
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for(
        &s,
        "shipped",
        |v| {
            v["versions"]
                .as_array()
                .and_then(|vs| vs.iter().find(|x| x["version"] == 2))
                .is_some_and(|x| x["records_in"].as_u64() == Some(500) && x["lag"] == 0)
        },
        "/v1/processors/shipped",
    );
    let (live, replayed) = (dump(&s, "shipped"), dump(&s, "shipped.v2"));
    let matched = live
        .iter()
        .filter(|l| l.contains(r#""carrier":"c"#))
        .count();
    assert!(matched > 100, "pairs matched: {matched} of {}", live.len());
    assert!(live.iter().any(|l| l.contains(r#""carrier":null"#)));
    assert_eq!(live, replayed, "a replay of the join writes the same bytes");
}
