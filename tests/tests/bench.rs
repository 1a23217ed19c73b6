//! `kappa bench --json --tiny` runs every section and prints one JSON object with every figure.

use kappa_tests::{kappa, temp};

#[test]
fn bench_json_with_tiny_sizes_prints_every_figure() {
    let dir = temp();
    let out = kappa()
        .args(["bench", "--json", "--tiny", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for case in v["append"]["cases"].as_array().unwrap() {
        for f in [
            "records_per_s",
            "mb_per_s",
            "baseline_records_per_s",
            "ratio",
        ] {
            assert!(
                case[f].as_f64().is_some_and(|x| x > 0.0),
                "append {f}: {case}"
            );
        }
    }
    assert!(
        v["append"]["open"].as_array().is_some_and(|o| o.len() == 2),
        "{}",
        v["append"]
    );
    for case in v["http"]["cases"].as_array().unwrap() {
        for f in [
            "events_per_s",
            "mb_per_s",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "embedded_events_per_s",
            "ratio_to_embedded",
        ] {
            assert!(
                case[f].as_f64().is_some_and(|x| x > 0.0),
                "http {f}: {case}"
            );
        }
    }
    assert!(v["http"]["disk_fdatasync_p99_ms"].as_f64().unwrap() > 0.0);
    let replay: Vec<&str> = v["replay"]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case"].as_str().unwrap())
        .collect();
    for c in ["parse", "tumbling", "filter"] {
        assert!(
            replay.iter().any(|x| x.contains(c)),
            "replay case {c}: {replay:?}"
        );
    }
    assert!(v["latency"]["windows"].as_u64().unwrap() >= 1);
    assert!(v["latency"]["p99_ms"].is_number());
}

/// The Flink comparison never skips: without PyFlink it fails saying how to install it.
#[test]
fn bench_flink_without_pyflink_fails_saying_how_to_install_it() {
    let dir = temp();
    let out = kappa()
        .args(["bench", "--tiny", "--only", "flink", "--dir"])
        .arg(dir.path())
        .env("KAPPA_PYFLINK_PYTHON", dir.path().join("no-such-python"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-python") && err.contains("tests/flink/run.sh"),
        "{err}"
    );
}
