//! Consumer groups (commit, describe with lag, resume, durable across restarts) and the SSE tail.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use kappa_tests::{temp, Server};
use serde_json::json;

#[test]
fn committed_offsets_give_lag_resume_reads_and_survive_a_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let s = Server::start(&data, &[]);
    s.create_topic("t", 2);
    for _ in 0..2 {
        assert_eq!(
            s.request("POST", "/v1/topics/t/events", &[], b"[1,2,3,4,5]")
                .status,
            200
        );
    }
    let r = s.post_json(
        "/v1/groups/g1/offsets",
        &json!({"topic": "t", "partition": 0, "offset": 3}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.post_json(
            "/v1/groups/g1/offsets",
            &json!({"topic": "t", "partition": 0, "offset": 99})
        )
        .status,
        400
    );
    assert_eq!(
        s.post_json(
            "/v1/groups/g1/offsets",
            &json!({"topic": "nope", "partition": 0, "offset": 1})
        )
        .status,
        404
    );
    let g = s.get("/v1/groups/g1").json();
    assert_eq!(g["offsets"][0]["lag"], 2);
    assert_eq!(s.get("/v1/groups").json()["groups"], json!(["g1"]));
    let lines = s.get("/v1/topics/t/events?partition=0&group=g1").ndjson();
    assert_eq!(lines[0]["offset"], 3);
    assert_eq!(s.get("/v1/groups/unknown").status, 404);
    assert!(s.terminate().success());
    let s = Server::start(&data, &[]);
    assert_eq!(
        s.get("/v1/groups/g1").json()["offsets"][0]["offset"],
        3,
        "commits are durable"
    );
}

fn open_sse(addr: &str, path: &str, last_id: Option<&str>) -> BufReader<TcpStream> {
    let mut c = TcpStream::connect(addr).unwrap();
    let extra = last_id
        .map(|id| format!("last-event-id: {id}\r\n"))
        .unwrap_or_default();
    write!(
        c,
        "GET {path} HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n{extra}\r\n"
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(c);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if line.to_ascii_lowercase().starts_with("content-type") {
            assert!(line.contains("text/event-stream"));
        }
    }
    r
}

/// Reads SSE events (id, data) until `n` have arrived (chunk-size lines are skipped).
fn read_events(r: &mut BufReader<TcpStream>, n: usize) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    let mut id = String::new();
    let mut line = String::new();
    while out.len() < n {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "stream ended early");
        let l = line.trim_end();
        if let Some(v) = l.strip_prefix("id: ") {
            id = v.to_string();
        } else if let Some(v) = l.strip_prefix("data: ") {
            out.push((id.clone(), serde_json::from_str(v).unwrap()));
        }
    }
    out
}

#[test]
fn the_sse_tail_streams_new_records_and_resumes_after_last_event_id() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    s.request("POST", "/v1/topics/t/events", &[], b"[0]");
    let mut tail = open_sse(&s.addr, "/v1/topics/t/stream", None);
    std::thread::sleep(Duration::from_millis(100));
    s.request("POST", "/v1/topics/t/events", &[], b"[1,2]");
    let events = read_events(&mut tail, 2);
    assert_eq!(events[0].0, "0-1");
    assert_eq!(events[0].1["value"], 1);
    assert_eq!(events[1].0, "0-2");
    drop(tail);
    s.request("POST", "/v1/topics/t/events", &[], b"[3]");
    let mut resumed = open_sse(&s.addr, "/v1/topics/t/stream", Some("0-1"));
    let events = read_events(&mut resumed, 2);
    assert_eq!(
        events.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        vec!["0-2", "0-3"]
    );
    let mut from_start = open_sse(&s.addr, "/v1/topics/t/stream?offset=earliest", None);
    assert_eq!(read_events(&mut from_start, 1)[0].0, "0-0");
}
