//! Producing (one value, arrays, NDJSON, keys, round-robin) and consuming (offsets, times,
//! limits, long-polls) over real HTTP.

use std::time::{Duration, Instant};

use kappa_tests::{temp, Server};
use serde_json::json;

fn produce(s: &Server, topic: &str, query: &str, ct: &str, body: &str) -> serde_json::Value {
    let r = s.request(
        "POST",
        &format!("/v1/topics/{topic}/events{query}"),
        &[("content-type", ct)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[test]
fn one_value_an_array_and_ndjson_are_appended_in_order() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    let one = produce(&s, "t", "", "application/json", r#"{"n":0}"#);
    assert_eq!(
        one,
        json!({"count": 1, "partitions": [{"partition": 0, "base_offset": 0, "count": 1}]})
    );
    let arr = produce(&s, "t", "", "application/json", r#"[{"n":1},{"n":2}]"#);
    assert_eq!(arr["partitions"][0]["base_offset"], 1);
    let nd = produce(
        &s,
        "t",
        "",
        "application/x-ndjson",
        "{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n",
    );
    assert_eq!(nd["count"], 3);
    let lines = s.get("/v1/topics/t/events?partition=0&offset=0").ndjson();
    let ns: Vec<_> = lines
        .iter()
        .map(|l| l["value"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, vec![0, 1, 2, 3, 4, 5]);
    let offsets: Vec<_> = lines
        .iter()
        .map(|l| l["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4, 5]);
    for l in &lines {
        assert_eq!(l["partition"], 0);
        assert!(l["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        assert!(l["key"].is_null());
    }
    let limited = s
        .get("/v1/topics/t/events?partition=0&offset=2&limit=2")
        .ndjson();
    assert_eq!(
        limited
            .iter()
            .map(|l| l["offset"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
}

#[test]
fn equal_keys_share_a_partition_and_requests_rotate_without_keys() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("k", 4);
    let body: String = (0..200)
        .map(|i| format!("{{\"user\":\"u{}\",\"i\":{i}}}\n", i % 10))
        .collect();
    let r = produce(&s, "k", "?key=user", "application/x-ndjson", &body);
    assert_eq!(r["count"], 200);
    let mut seen = std::collections::HashMap::new();
    let mut last_i = std::collections::HashMap::new();
    for line in s.get("/v1/topics/k/events?limit=1000").ndjson() {
        let user = line["value"]["user"].as_str().unwrap().to_string();
        assert_eq!(line["key"], user);
        let p = line["partition"].as_u64().unwrap();
        assert_eq!(
            *seen.entry(user.clone()).or_insert(p),
            p,
            "user {user} on one partition"
        );
        let i = line["value"]["i"].as_u64().unwrap();
        assert!(
            last_i.insert(user, i).is_none_or(|prev| prev < i),
            "request order kept per key"
        );
    }
    assert_eq!(seen.len(), 10);
    let parts: Vec<u64> = (0..8)
        .map(|_| {
            produce(&s, "k", "", "application/json", "{}")["partitions"][0]["partition"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = parts.iter().collect();
    assert_eq!(
        distinct.len(),
        4,
        "round robin over all partitions: {parts:?}"
    );
}

#[test]
fn malformed_json_names_line_and_column_and_appends_nothing() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    let r = s.request(
        "POST",
        "/v1/topics/t/events",
        &[("content-type", "application/x-ndjson")],
        b"{\"ok\":1}\n{\"ok\":2}\n{\"bad\": }\n",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "bad_json");
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("line 3 column 9"), "{msg}");
    let r = s.request("POST", "/v1/topics/t/events", &[], b"[1, 2,, 3]");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("line 1 column"), "{}", r.text());
    assert_eq!(
        s.get("/v1/topics/t").json()["partitions"][0]["end_offset"],
        0
    );
}

#[test]
fn consume_by_time_and_by_offset_below_start() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    produce(&s, "t", "", "application/json", "[1,2,3]");
    std::thread::sleep(Duration::from_millis(30));
    let t = kappa_tests::request(&s.addr, "GET", "/v1/topics/t/events?offset=2", &[], b"").ndjson()
        [0]["timestamp"]
        .as_u64()
        .unwrap();
    produce(&s, "t", "", "application/json", "[4,5]");
    let from_mid = s
        .get(&format!(
            "/v1/topics/t/events?partition=0&from_time={}",
            t + 1
        ))
        .ndjson();
    assert_eq!(from_mid.first().map(|l| l["value"].clone()), Some(json!(4)));
    let all = s
        .get("/v1/topics/t/events?from_time=1970-01-01T00:00:00Z")
        .ndjson();
    assert_eq!(all.len(), 5);
    assert_eq!(s.get("/v1/topics/t/events?limit=0").status, 400);
    assert_eq!(s.get("/v1/topics/t/events?limit=100001").status, 400);
    assert_eq!(s.get("/v1/topics/t/events?offset=banana").status, 400);
}

#[test]
fn a_long_poll_returns_on_append_and_times_out_empty() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    let started = Instant::now();
    let r = s.get("/v1/topics/t/events?partition=0&offset=0&wait_ms=400");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(380),
        "waited {:?}",
        started.elapsed()
    );
    let addr = s.addr.clone();
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        kappa_tests::request(&addr, "POST", "/v1/topics/t/events", &[], b"{\"hello\":1}")
    });
    let started = Instant::now();
    let r = s.get("/v1/topics/t/events?partition=0&offset=0&wait_ms=20000");
    assert_eq!(r.ndjson()[0]["value"]["hello"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken by the append, not the timeout"
    );
    assert_eq!(producer.join().unwrap().status, 200);
}
