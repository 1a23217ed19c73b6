//! What the API says is what it does (issue 15): a 405 carries `Allow`, a reused
//! Idempotency-Key with another body is 422 and appends nothing, a type error in valid JSON is
//! not called invalid JSON and names no Rust type, and /openapi.json gives every operation a
//! request schema (with the name pattern and required fields) and response schemas.
//! schemathesis checks the whole document against the server in CI (.ci/schemathesis.sh).

use kappa_tests::{temp, Server};
use serde_json::json;

#[test]
fn a_405_names_the_allowed_methods() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    for (method, path, allow) in [
        ("PUT", "/v1/topics", "GET, POST"),
        ("POST", "/v1/topics/t", "GET, DELETE"),
        ("DELETE", "/v1/groups/g/offsets", "POST"),
        ("PATCH", "/v1/processors/p", "GET, DELETE"),
        ("GET", "/v1/processors/p/promote", "POST"),
        ("POST", "/metrics", "GET"),
    ] {
        let r = s.request(method, path, &[], b"");
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(r.error_code(), "method_not_allowed");
    }
}

#[test]
fn a_reused_idempotency_key_with_another_body_is_422_and_appends_nothing() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    let post = |body: &[u8]| {
        s.request(
            "POST",
            "/v1/topics/t/events",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "k1"),
            ],
            body,
        )
    };
    let first = post(b"[1,2]");
    assert_eq!(first.status, 200, "{}", first.text());
    let retry = post(b"[1,2]");
    assert_eq!(retry.status, 200);
    assert_eq!(
        retry.json(),
        first.json(),
        "a retry answers the original offsets"
    );
    let other = post(b"[3]");
    assert_eq!(other.status, 422, "{}", other.text());
    assert_eq!(other.error_code(), "idempotency_key_reused");
    assert!(other.text().contains("k1"), "{}", other.text());
    let end = s.get("/v1/topics/t").json()["partitions"][0]["end_offset"].clone();
    assert_eq!(end, 2, "the different body was not appended");
}

#[test]
fn a_reused_key_is_still_refused_after_a_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let s = Server::start(&data, &[]);
    s.create_topic("t", 1);
    let post = |s: &Server, body: &[u8]| {
        s.request(
            "POST",
            "/v1/topics/t/events",
            &[
                ("content-type", "application/json"),
                ("idempotency-key", "k2"),
            ],
            body,
        )
    };
    assert_eq!(post(&s, b"[1]").status, 200);
    s.kill9();
    let s = Server::start(&data, &[]);
    assert_eq!(post(&s, b"[1]").status, 200, "the same retry is answered");
    let other = post(&s, b"[2]");
    assert_eq!(other.status, 422, "{}", other.text());
    assert_eq!(
        s.get("/v1/topics/t").json()["partitions"][0]["end_offset"],
        1
    );
}

#[test]
fn a_type_error_in_valid_json_names_the_field_not_a_rust_type() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let r = s.post_json("/v1/topics", &json!({"name": "x", "partitions": "a"}));
    assert_eq!(r.status, 400);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert_eq!(r.error_code(), "bad_request", "{message}");
    assert!(!message.contains("invalid JSON"), "{message}");
    for rust in ["u32", "u64", "usize", "struct", "CreateTopic"] {
        assert!(!message.contains(rust), "{rust} in {message}");
    }
    assert!(message.contains("partitions"), "{message}");
    let r = s.post_json(
        "/v1/groups/g/offsets",
        &json!({"topic": "t", "partition": 0}),
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("offset"), "{}", r.text());
    let r = s.request("POST", "/v1/topics", &[], b"{\"name\": ");
    assert_eq!(r.error_code(), "bad_json");
}

#[test]
fn every_operation_has_request_and_response_schemas() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let doc = s.get("/openapi.json").json();
    let name = &doc["components"]["schemas"]["Name"]["pattern"];
    assert!(
        name.as_str().is_some_and(|p| p.contains("A-Za-z0-9._-")),
        "{name}"
    );
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let ok = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(code, _)| code.starts_with('2'))
                .unwrap_or_else(|| panic!("{method} {path}: no 2xx response"));
            assert!(
                ok.1["content"]
                    .as_object()
                    .is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                "{method} {path}: 2xx without a schema"
            );
            if method == "post" {
                let body = &op["requestBody"]["content"];
                assert!(body.is_object(), "{method} {path}: no request body");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    assert_eq!(p["schema"]["pattern"], *name, "{method} {path}");
                }
            }
        }
    }
    let create = &doc["components"]["schemas"]["CreateTopic"];
    assert_eq!(create["required"], json!(["name"]));
    assert_eq!(
        doc["components"]["schemas"]["CreateProcessor"]["required"],
        json!(["name", "sql"])
    );
}

/// Found by schemathesis (issue 15): `?partition=4294967296` wrapped round to partition 0
/// (now refused as out of range, 400).
#[test]
fn a_partition_number_past_u32_is_unknown_not_partition_zero() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    assert_eq!(
        s.request("POST", "/v1/topics/t/events", &[], b"[1]").status,
        200
    );
    for path in [
        "/v1/topics/t/events?partition=4294967296",
        "/v1/topics/t/stream?partition=4294967296",
    ] {
        let r = s.get(path);
        assert!(r.status == 400 || r.status == 404, "{path}: {}", r.text());
    }
    let r = s.post_json(
        "/v1/topics",
        &json!({"name": "u", "retention_ms": 18446744073709551616.0_f64}),
    );
    assert_eq!(r.status, 400, "2^64 is past u64: {}", r.text());
    let r = s.get("/v1/topics/t/events?limt=10");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("limt"), "{}", r.text());
}
