//! /metrics as an operator's Prometheus reads it (issue 15): parsed by Prometheus' own Python
//! client parser (`prometheus_client.parser`, installed by .ci/run), then checked for what
//! alerts need — `# HELP` on every family, processor counters per version that do not reset
//! on promote, bytes out counting processor reads, consumer-group lag per partition,
//! watermarks and per-input lag, separate produce and consume latency, `process_*` and
//! `kappa_build_info`, and no series left for a deleted topic.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use kappa_tests::{temp, Server};
use serde_json::{json, Value};

/// The families as Prometheus' parser sees them: name -> {type, help, samples: [[name,
/// labels, value]]} (the parser names a counter family without `_total`).
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    assert f.name not in out, "family twice: " + f.name
    out[f.name] = {"type": f.type, "help": f.documentation,
                   "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"#;

fn parse(text: &str) -> BTreeMap<String, Value> {
    let mut child = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (.ci/run installs it with prometheus-client)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Prometheus' parser refused /metrics (or is missing: pip install prometheus-client):\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn samples<'a>(
    families: &'a BTreeMap<String, Value>,
    family: &str,
) -> impl Iterator<Item = (&'a str, &'a Value, f64)> {
    families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}"))["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_str().unwrap(), &s[1], s[2].as_f64().unwrap()))
}

fn value(families: &BTreeMap<String, Value>, family: &str, labels: &[(&str, &str)]) -> f64 {
    samples(families, family)
        .find(|(name, l, _)| !name.ends_with("_created") && labels.iter().all(|(k, v)| l[*k] == *v))
        .unwrap_or_else(|| panic!("no {family} sample with {labels:?}"))
        .2
}

fn wait_for(s: &Server, name: &str, version: u64, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = s.get(&format!("/v1/processors/{name}")).json();
        let ok = st["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["version"] == version && v["status"] == status);
        if ok {
            return;
        }
        assert!(Instant::now() < deadline, "{name} v{version}: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn produce(s: &Server, topic: &str, n: usize) {
    let body: String = (0..n)
        .map(|i| {
            format!(
                "{{\"user\":\"u{}\",\"total\":{i}.5,\"ts\":\"2026-03-25T10:{:02}:00Z\"}}\n",
                i % 13,
                i % 60
            )
        })
        .collect();
    let r = s.request(
        "POST",
        &format!("/v1/topics/{topic}/events?key=user"),
        &[("content-type", "application/x-ndjson")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn metrics_parse_with_prometheus_and_carry_what_alerts_need() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("orders", 2);
    s.create_topic("gone", 1);
    produce(&s, "orders", 600);
    produce(&s, "gone", 10);
    assert_eq!(s.get("/v1/topics/gone/events?partition=0").status, 200);
    assert_eq!(s.request("DELETE", "/v1/topics/gone", &[], b"").status, 200);
    assert_eq!(
        s.get("/v1/topics/orders/events?partition=0&limit=5").status,
        200
    );
    let r = s.post_json(
        "/v1/groups/billing/offsets",
        &json!({"topic": "orders", "partition": 1, "offset": 3}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sql = "SELECT user, COUNT(*) AS n FROM orders GROUP BY user";
    let r = s.post_json("/v1/processors", &json!({"name": "per-user", "sql": sql}));
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for(&s, "per-user", 1, "caught_up");

    let before = parse(&s.get("/metrics").text());
    let v1_in = value(
        &before,
        "kappa_processor_records_in",
        &[("processor", "per-user"), ("version", "1")],
    );
    assert_eq!(v1_in, 600.0);

    let r = s.post_json("/v1/processors/per-user/replay", &json!({}));
    assert_eq!(r.status, 201, "{}", r.text());
    wait_for(&s, "per-user", 2, "caught_up");
    let r = s.post_json("/v1/processors/per-user/promote", &json!({"version": 2}));
    assert_eq!(r.status, 200, "{}", r.text());

    let text = s.get("/metrics").text();
    let after = parse(&text);
    for (name, family) in &after {
        let help = family["help"].as_str().unwrap_or("");
        assert!(!help.is_empty(), "{name} has no # HELP");
        assert!(
            text.contains(&format!("# HELP {name}")),
            "{name}: HELP line missing in the text"
        );
    }
    // Counters per version: promote starts v2's series, v1's keeps its count.
    let pu = [("processor", "per-user")];
    assert_eq!(after["kappa_processor_records_in"]["type"], "counter");
    assert!(text.contains("kappa_processor_records_in_total{"));
    assert_eq!(
        value(
            &after,
            "kappa_processor_records_in",
            &[pu[0], ("version", "1")]
        ),
        v1_in
    );
    assert_eq!(
        value(
            &after,
            "kappa_processor_records_in",
            &[pu[0], ("version", "2")]
        ),
        600.0
    );
    for family in [
        "kappa_processor_records_out",
        "kappa_processor_late_records",
    ] {
        assert_eq!(after[family]["type"], "counter", "{family}");
        value(&after, family, &[pu[0], ("version", "2")]);
    }
    // Watermark and lag, overall and per input partition.
    value(&after, "kappa_processor_lag", &[pu[0], ("version", "2")]);
    assert!(
        value(
            &after,
            "kappa_processor_watermark_seconds",
            &[pu[0], ("version", "2")]
        ) > 1.7e9
    );
    for p in ["0", "1"] {
        let l = [
            pu[0],
            ("version", "2"),
            ("topic", "orders"),
            ("partition", p),
        ];
        assert_eq!(value(&after, "kappa_processor_input_lag", &l), 0.0);
        value(&after, "kappa_processor_input_watermark_seconds", &l);
    }
    // Bytes out counts what the processors read: two full passes over the topic at least.
    let bytes_in = value(&after, "kappa_topic_bytes_in", &[("topic", "orders")]);
    let bytes_out = value(&after, "kappa_topic_bytes_out", &[("topic", "orders")]);
    assert!(
        bytes_out >= 2.0 * bytes_in,
        "bytes out {bytes_out} < 2 x bytes in {bytes_in}"
    );
    // Consumer-group lag per partition.
    let end1 = value(
        &after,
        "kappa_partition_end_offset",
        &[("topic", "orders"), ("partition", "1")],
    );
    let gl = [
        ("group", "billing"),
        ("topic", "orders"),
        ("partition", "1"),
    ];
    assert_eq!(value(&after, "kappa_group_lag", &gl), end1 - 3.0);
    assert_eq!(value(&after, "kappa_group_offset", &gl), 3.0);
    // Produce and consume latency are separate histograms.
    for family in [
        "kappa_produce_duration_seconds",
        "kappa_consume_duration_seconds",
    ] {
        assert_eq!(after[family]["type"], "histogram", "{family}");
        let count = samples(&after, family)
            .find(|(n, _, _)| n.ends_with("_count"))
            .unwrap()
            .2;
        assert!(count >= 1.0, "{family} count {count}");
    }
    // The process and the build.
    for family in [
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ] {
        assert!(samples(&after, family).any(|(_, _, v)| v > 0.0), "{family}");
    }
    let build = samples(&after, "kappa_build_info").next().unwrap();
    assert_eq!(build.2, 1.0);
    assert!(build.1["version"].as_str().is_some_and(|v| !v.is_empty()));
    // A deleted topic leaves no series behind.
    assert!(
        !text.contains("topic=\"gone\""),
        "series of a deleted topic remain:\n{text}"
    );
    // Deleting the processor removes its series (its output topics stay, and theirs).
    assert_eq!(
        s.request("DELETE", "/v1/processors/per-user", &[], b"")
            .status,
        200
    );
    let text = s.get("/metrics").text();
    assert!(!text.contains("processor=\"per-user\""), "{text}");
}
