//! The README's flow with the files in `examples/`, through the real CLI on a fresh data dir
//! (issue 9): bulk-load the orders into a 3-partition topic split by key, run the seed's
//! tumbling query (no event is late), and run the nightly batch job as a bounded processor over
//! one day of event time — it ends `finished` with the rows an independent computation over
//! the same file gives, in ORDER BY order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kappa_tests::{kappa, temp, Server};
use serde_json::Value;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples")
}

fn run(args: &[&str], server: &str) -> String {
    let out = kappa()
        .args(args)
        .env("KAPPA_SERVER", server)
        .output()
        .expect("kappa runs");
    assert!(
        out.status.success(),
        "kappa {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn wait_status(s: &Server, name: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = s.get(&format!("/v1/processors/{name}")).json();
        if ok(&st) {
            return st;
        }
        assert!(Instant::now() < deadline, "{name}: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_readme_flow_runs_on_the_shipped_examples() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let server = format!("http://{}", s.addr);
    let ex = examples();
    let file = std::fs::read_to_string(ex.join("orders.ndjson")).unwrap();
    run(
        &["topics", "create", "order-events", "--partitions", "3"],
        &server,
    );
    let r = s.request(
        "POST",
        "/v1/topics/order-events/events?key=user_id",
        &[("content-type", "application/x-ndjson")],
        file.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let n = file.lines().count() as u64;

    let revenue = ex.join("revenue.sql");
    run(
        &[
            "processors",
            "create",
            "revenue",
            "--sql-file",
            revenue.to_str().unwrap(),
        ],
        &server,
    );
    let st = wait_status(&s, "revenue", |st| st["records_in"] == n && st["lag"] == 0);
    assert_eq!(st["late_records"], 0, "{st}");

    let batch = ex.join("batch.sql");
    run(
        &[
            "processors",
            "create",
            "daily",
            "--sql-file",
            batch.to_str().unwrap(),
            "--from",
            "2026-03-25",
            "--to",
            "2026-03-26",
        ],
        &server,
    );
    let st = wait_status(&s, "daily", |st| st["status"] != "running");
    assert_eq!(st["status"], "finished", "{st}");

    // The reference: completed orders of 2026-03-25 (UTC), grouped and summed in file order;
    // kappa sums in merged order, which may differ, so sums are compared to 1e-6.
    let mut groups: BTreeMap<(String, String), (f64, u64, BTreeSet<String>)> = BTreeMap::new();
    for line in file.lines() {
        let o: Value = serde_json::from_str(line).unwrap();
        if o["status"] != "completed" || !o["ts"].as_str().unwrap().starts_with("2026-03-25") {
            continue;
        }
        let g = groups
            .entry((
                o["category"].as_str().unwrap().into(),
                o["region"].as_str().unwrap().into(),
            ))
            .or_default();
        g.0 += o["total"].as_f64().unwrap();
        g.1 += 1;
        g.2.insert(o["user_id"].as_str().unwrap().into());
    }
    let rows: Vec<Value> = run(&["consume", "daily", "--from", "earliest"], &server)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["value"].clone())
        .collect();
    assert_eq!(rows.len(), groups.len(), "{rows:?}");
    let revenues: Vec<f64> = rows
        .iter()
        .map(|r| r["revenue"].as_f64().unwrap())
        .collect();
    assert!(
        revenues.windows(2).all(|w| w[0] >= w[1]),
        "ORDER BY revenue DESC"
    );
    for row in &rows {
        let key = (
            row["category"].as_str().unwrap().to_string(),
            row["region"].as_str().unwrap().to_string(),
        );
        let (sum, count, users) = &groups[&key];
        assert!(
            (row["revenue"].as_f64().unwrap() - sum).abs() < 1e-6,
            "{row}"
        );
        assert_eq!(row["order_count"].as_u64().unwrap(), *count, "{row}");
        assert_eq!(
            row["unique_customers"].as_u64().unwrap(),
            users.len() as u64
        );
    }
}
