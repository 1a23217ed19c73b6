//! `kappa demo` starts a server, produces orders, and its revenue processor emits results within a
//! bounded time; SIGINT stops it with exit status 0.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kappa_tests::{kappa, request, signal, temp, wait_timeout};

#[test]
fn the_demo_produces_and_its_processor_emits_results_then_stops_on_sigint() {
    let dir = temp();
    let mut child = kappa()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--rate",
            "100",
            "--history-minutes",
            "2",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let guide =
        std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>().join("\n"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let results = loop {
        let r = request(&addr, "GET", "/v1/processors/revenue/results", &[], b"");
        if r.status == 200 {
            let rows = r.json()["results"].as_array().cloned().unwrap_or_default();
            if !rows.is_empty() {
                break rows;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no revenue results within 60 s: {} {}",
            r.status,
            r.text()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    for row in &results {
        for col in [
            "window_start",
            "category",
            "revenue",
            "order_count",
            "avg_order_value",
        ] {
            assert!(!row[col].is_null(), "{col} in {row}");
        }
    }
    let produced = request(&addr, "GET", "/v1/topics/order-events", &[], b"").json();
    let total: u64 = produced["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["end_offset"].as_u64().unwrap())
        .sum();
    assert!(total >= 12_000, "history produced: {total}");
    signal(&child, libc::SIGINT);
    let status =
        wait_timeout(&mut child, Duration::from_secs(60)).expect("the demo exits after SIGINT");
    assert!(status.success(), "{status:?}");
    let guide = guide.join().unwrap();
    assert!(
        guide.contains("/v1/processors/revenue/results") && guide.contains("kappa replay revenue"),
        "{guide}"
    );
}
