//! `kappa export flink <processor>` against the real server (issue 13): the script is the
//! processor's *current* version, read from `GET /v1/processors/{p}`, with the flags applied;
//! a bounded processor exports as a batch job over its event-time range; an unknown processor
//! is an error naming it. That the scripts run on Flink and give kappa's rows is
//! tests/flink/run.sh's part (PyFlink, a JVM).

use std::time::{Duration, Instant};

use kappa_tests::{kappa, temp, Server};
use serde_json::json;

fn repo_file(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn export(server: &Server, args: &[&str]) -> std::process::Output {
    kappa()
        .args(["export", "flink"])
        .args(args)
        .env("KAPPA_SERVER", format!("http://{}", server.addr))
        .output()
        .expect("kappa runs")
}

fn export_ok(server: &Server, args: &[&str]) -> String {
    let out = export(server, args);
    assert!(
        out.status.success(),
        "kappa export flink {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn wait_status(server: &Server, name: &str, want: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = server.get(&format!("/v1/processors/{name}")).json();
        if st["status"] == want {
            return st;
        }
        assert!(Instant::now() < deadline, "{name} never {want}: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn export_writes_the_current_versions_script_with_the_flags() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("order-events", 2);
    let r = s.post_json(
        "/v1/processors",
        &json!({"name": "revenue", "sql": repo_file("examples/revenue.sql")}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v1 = export_ok(&s, &["revenue", "--bootstrap-servers", "kafka-1:9092"]);
    assert!(v1.contains("'connector' = 'kafka'"), "{v1}");
    assert!(
        v1.contains("'properties.bootstrap.servers' = 'kafka-1:9092'"),
        "{v1}"
    );
    assert!(v1.contains("'topic' = 'order-events'"), "{v1}");
    assert!(v1.contains("(version 1)"), "{v1}");
    assert!(!v1.contains("max_order"), "{v1}");

    // Version 2 with a changed query, promoted: the export follows the current version.
    let r = s.post_json(
        "/v1/processors/revenue/replay",
        &json!({"sql": repo_file("examples/new.sql")}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = s.post_json("/v1/processors/revenue/promote", &json!({"version": 2}));
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "promote: {}", r.text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let path = dir.path().join("revenue.flink.sql");
    let stdout = export_ok(&s, &["revenue", "--output", path.to_str().unwrap()]);
    assert!(stdout.is_empty(), "{stdout}");
    let v2 = std::fs::read_to_string(&path).unwrap();
    assert!(v2.contains("(version 2)"), "{v2}");
    assert!(v2.contains("MAX(total) AS max_order"), "{v2}");
    assert!(v2.contains("`max_order` DOUBLE"), "{v2}");
    assert!(
        v2.contains("'properties.bootstrap.servers' = 'localhost:9092'"),
        "{v2}"
    );
    // The sink is the processor's name (its output alias), whatever version feeds it.
    assert!(v2.contains("'topic' = 'revenue'"), "{v2}");
}

#[test]
fn a_bounded_processor_exports_as_a_batch_job_over_its_range() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("order-events", 1);
    let r = s.post_json(
        "/v1/processors",
        &json!({"name": "daily", "sql": repo_file("examples/batch.sql"),
                "from": "2026-03-25T00:00:00Z", "to": "2026-03-26T00:00:00Z"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    wait_status(&s, "daily", "finished");
    let script = export_ok(&s, &["daily"]);
    assert!(
        script.contains("SET 'execution.runtime-mode' = 'batch';"),
        "{script}"
    );
    assert!(
        script.contains("'scan.bounded.mode' = 'latest-offset'"),
        "{script}"
    );
    assert!(
        script.contains("`ts` >= TIMESTAMP '2026-03-25 00:00:00.000' AND `ts` < TIMESTAMP '2026-03-26 00:00:00.000'"),
        "{script}"
    );
    assert!(script.contains("ORDER BY revenue DESC;"), "{script}");
}

#[test]
fn an_unknown_processor_is_an_error_naming_it() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let out = export(&s, &["nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nope"), "{err}");
}
