//! Issue 10: what a hostile probe and an unlucky operator did to the server, each replayed here
//! against the real binary: nothing of it may take the server down or lose an acknowledged event.

use serde_json::json;

use kappa_tests::{temp, Server};

/// `SELECT a+a+...+a` with `terms` terms joined by `op`.
fn chain_sql(op: &str, terms: usize) -> String {
    format!("SELECT {} AS x FROM orders", vec!["a"; terms].join(op))
}

/// Issue 10, critical 1: a 1.9 KB processor SQL (`a+a+...+a`, ~880 terms, or an AND / || chain
/// as long) overflowed the compiler's stack and aborted the server, through create or replay.
/// Method: send such chains of 880 and 5,000 terms (and a parenthesis tower) through both; each
/// must be a 400 naming SQL_EXPR_DEPTH_MAX with a position, and the server must stay up.
#[test]
fn deep_sql_is_refused_through_create_and_replay_and_the_server_stays_up() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("orders", 1);
    let r = s.post_json(
        "/v1/processors",
        &json!({"name": "ok", "sql": "SELECT a FROM orders"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let mut deep: Vec<String> = Vec::new();
    for op in ["+", " AND ", " || "] {
        for terms in [880, 5_000] {
            deep.push(chain_sql(op, terms));
        }
    }
    deep.push(format!(
        "SELECT {}a{} FROM orders",
        "(".repeat(2_000),
        ")".repeat(2_000)
    ));
    for sql in &deep {
        let short = &sql[..40];
        let r = s.post_json("/v1/processors", &json!({"name": "deep", "sql": sql}));
        assert_eq!(r.status, 400, "create {short}...: {}", r.text());
        let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains("SQL_EXPR_DEPTH_MAX"), "{msg}");
        assert!(msg.contains("line") && msg.contains("column"), "{msg}");
        let r = s.post_json("/v1/processors/ok/replay", &json!({"sql": sql}));
        assert_eq!(r.status, 400, "replay {short}...: {}", r.text());
        assert!(r.text().contains("SQL_EXPR_DEPTH_MAX"), "{}", r.text());
        assert_eq!(s.get("/healthz").status, 200, "the server is still up");
    }
    assert_eq!(
        s.get("/v1/processors").json()["processors"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was created"
    );
}
