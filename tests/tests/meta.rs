//! /healthz, /metrics and /openapi.json — the description is checked against the server.

use kappa_tests::{temp, Server};

#[test]
fn metrics_expose_traffic_latency_and_offsets() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("m", 1);
    s.request("POST", "/v1/topics/m/events", &[], b"[1,2,3]");
    s.get("/v1/topics/m/events?limit=10");
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = r.text();
    for needle in [
        "kappa_topic_records_in_total{topic=\"m\"} 3",
        "kappa_topic_bytes_in_total{topic=\"m\"}",
        "kappa_topic_bytes_out_total{topic=\"m\"}",
        "kappa_http_requests_total{route=\"/v1/topics/{t}/events\",method=\"POST\",status=\"200\"} 1",
        "kappa_http_request_duration_seconds_bucket{route=\"/v1/topics/{t}/events\",method=\"POST\",le=\"+Inf\"}",
        "kappa_partition_end_offset{topic=\"m\",partition=\"0\"} 3",
        "kappa_fsync_duration_seconds_count",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}

#[test]
fn the_openapi_document_matches_the_routes() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let doc = s.get("/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{t}", "doc-topic")
                .replace("{g}", "doc-group")
                .replace("{p}", "doc-proc");
            let r = s.request(
                &method.to_uppercase(),
                &concrete,
                &[("content-type", "application/json")],
                b"{}",
            );
            let code = if r.body.is_empty() || r.status == 200 {
                String::new()
            } else {
                r.json()["error"]["code"].as_str().unwrap_or("").to_string()
            };
            assert!(
                r.status != 405 && code != "no_route",
                "{method} {path} is described but not routed ({} {code})",
                r.status
            );
        }
    }
    for (method, path) in [
        ("get", "/v1/topics"),
        ("post", "/v1/topics/{t}/events"),
        ("get", "/v1/topics/{t}/stream"),
        ("post", "/v1/groups/{g}/offsets"),
        ("get", "/v1/processors/{p}/results"),
        ("post", "/v1/processors/{p}/promote"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is routed but not described"
        );
    }
}
