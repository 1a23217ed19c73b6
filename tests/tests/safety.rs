//! Auth, limits and slow clients: each refused with a clear JSON error, changing nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kappa_tests::{temp, Server};

#[test]
fn a_token_is_required_everywhere_but_healthz() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &["--token", "s3cret"]);
    assert_eq!(s.get("/healthz").status, 200);
    let r = s.get("/v1/topics");
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "unauthorized");
    assert_eq!(
        s.request(
            "GET",
            "/v1/topics",
            &[("authorization", "Bearer wrong")],
            b""
        )
        .status,
        401
    );
    assert_eq!(
        s.request("POST", "/v1/topics/x/events", &[], b"{}").status,
        401
    );
    assert_eq!(
        s.request(
            "GET",
            "/v1/topics",
            &[("authorization", "Bearer s3cret")],
            b""
        )
        .status,
        200
    );
    assert_eq!(
        s.get("/").status,
        200,
        "the console page itself needs no token"
    );
}

#[test]
fn the_token_may_come_from_the_environment() {
    let dir = temp();
    std::env::set_var("KAPPA_TOKEN", "from-env");
    let s = Server::start(&dir.path().join("data"), &[]);
    std::env::remove_var("KAPPA_TOKEN");
    assert_eq!(s.get("/v1/topics").status, 401);
    assert_eq!(
        s.request(
            "GET",
            "/v1/topics",
            &[("authorization", "Bearer from-env")],
            b""
        )
        .status,
        200
    );
}

#[test]
fn limits_on_body_event_and_batch_size_give_413_and_append_nothing() {
    let dir = temp();
    let s = Server::start(
        &dir.path().join("data"),
        &[
            "--max-body-bytes",
            "10000",
            "--max-event-bytes",
            "100",
            "--max-events-per-request",
            "10",
        ],
    );
    s.create_topic("t", 1);
    let big_body = format!("[{}]", vec!["1"; 6000].join(","));
    let r = s.request("POST", "/v1/topics/t/events", &[], big_body.as_bytes());
    assert_eq!(r.status, 413);
    assert!(r.text().contains("10000"), "names the limit: {}", r.text());
    let big_event = format!("{{\"x\":\"{}\"}}", "a".repeat(200));
    let r = s.request("POST", "/v1/topics/t/events", &[], big_event.as_bytes());
    assert_eq!(r.status, 413);
    assert!(r.text().contains("100 bytes"), "{}", r.text());
    let many: String = (0..11).map(|i| format!("{i}\n")).collect();
    let r = s.request(
        "POST",
        "/v1/topics/t/events",
        &[("content-type", "application/x-ndjson")],
        many.as_bytes(),
    );
    assert_eq!(r.status, 413);
    assert!(r.text().contains("10 per request"), "{}", r.text());
    assert_eq!(
        s.get("/v1/topics/t").json()["partitions"][0]["end_offset"],
        0
    );
}

#[test]
fn limits_cannot_be_raised_past_their_ceiling() {
    let dir = temp();
    let out = kappa_tests::kappa()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-event-bytes",
            "99999999",
            "--data",
        ])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max-event-bytes"));
}

#[test]
fn stalled_headers_are_timed_out() {
    let dir = temp();
    let s = Server::start(
        &dir.path().join("data"),
        &["--header-read-timeout-ms", "500"],
    );
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.write_all(b"GET /v1/topics HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the server closed the stalled connection"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    assert_eq!(s.get("/healthz").status, 200, "other clients are served");
}
