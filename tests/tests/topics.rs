//! Topics over HTTP: create, list, describe, delete; bad names; unknown topics.

use kappa_tests::{temp, Server};
use serde_json::json;

#[test]
fn topics_are_created_listed_described_and_deleted() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let r = s.post_json(
        "/v1/topics",
        &json!({"name": "orders", "partitions": 3, "retention_ms": 86400000}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["partitions"].as_array().unwrap().len(), 3);
    let again = s.post_json("/v1/topics", &json!({"name": "orders"}));
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "topic_exists");
    let list = s.get("/v1/topics").json();
    assert_eq!(list["topics"][0]["name"], "orders");
    let d = s.get("/v1/topics/orders").json();
    assert_eq!(d["retention_ms"], 86400000);
    for p in d["partitions"].as_array().unwrap() {
        assert_eq!(p["start_offset"], 0);
        assert_eq!(p["end_offset"], 0);
        assert!(p["segments"].is_u64() && p["bytes"].is_u64(), "{p}");
    }
    assert!(dir.path().join("data/topics/orders/topic.json").exists());
    assert_eq!(
        s.request("DELETE", "/v1/topics/orders", &[], b"").status,
        200
    );
    assert_eq!(s.get("/v1/topics/orders").status, 404);
    assert!(!dir.path().join("data/topics/orders").exists());
}

#[test]
fn bad_names_are_refused_and_touch_nothing_outside_the_data_dir() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let long = "x".repeat(201);
    for name in [
        "..",
        ".",
        "a/b",
        "%2e%2e",
        "",
        long.as_str(),
        "a b",
        "../evil",
    ] {
        let r = s.post_json("/v1/topics", &json!({ "name": name }));
        assert_eq!(r.status, 400, "name {name:?}: {}", r.text());
        assert_eq!(r.error_code(), "invalid_name", "name {name:?}");
    }
    for path in [
        "/v1/topics/%2e%2e/events",
        "/v1/topics/a%2Fb/events",
        "/v1/topics/..%2F..%2Fetc/events",
    ] {
        let r = s.request("POST", path, &[], b"{}");
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(s.get(path).status, 400, "GET {path}");
    }
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "nothing created beside the data dir");
    let topics = std::fs::read_dir(dir.path().join("data/topics"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(topics, 0, "no topic directory created");
}

#[test]
fn unknown_topics_and_routes_are_404_with_a_json_error() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    for (m, p) in [
        ("GET", "/v1/topics/nope"),
        ("POST", "/v1/topics/nope/events"),
        ("GET", "/v1/topics/nope/events"),
        ("GET", "/nowhere"),
    ] {
        let r = s.request(m, p, &[], b"{}");
        assert_eq!(r.status, 404, "{m} {p}");
        assert!(
            r.json()["error"]["message"].is_string(),
            "{m} {p}: {}",
            r.text()
        );
    }
}
