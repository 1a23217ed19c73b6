//! The CLI behaves as Unix tools and `rpk`/`kcat` do (issue 15): aligned tables, `--json` only
//! where it changes the output, quiet exit on a closed pipe, no backtrace for a user error, no
//! colour codes in a log file, units in `--help`, and `kappa consume --group`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kappa_tests::{kappa, temp, Server};

fn cli(server: &Server, args: &[&str]) -> Command {
    let mut cmd = kappa();
    cmd.args(args)
        .env("KAPPA_SERVER", format!("http://{}", server.addr));
    cmd
}

fn run_ok(server: &Server, args: &[&str]) -> String {
    let out = cli(server, args).output().expect("kappa runs");
    assert!(
        out.status.success(),
        "kappa {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn produce(server: &Server, topic: &str, n: usize) {
    let body: String = (0..n)
        .map(|i| format!("{{\"i\":{i},\"category\":\"c{}\"}}\n", i % 7))
        .collect();
    let r = server.request(
        "POST",
        &format!("/v1/topics/{topic}/events"),
        &[("content-type", "application/x-ndjson")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Every line of a table whose last column is right-aligned ends at the same column, and
/// every header starts where its column's cells start or end.
fn assert_aligned(table: &str) {
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines.len() >= 2, "a header and rows: {table}");
    let width = lines[0].len();
    for l in &lines {
        assert_eq!(l.len(), width, "misaligned table:\n{table}");
    }
}

#[test]
fn tables_pad_header_and_rows_alike() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("a-rather-long-topic-name", 3);
    s.create_topic("t", 1);
    produce(&s, "t", 1234);
    let topics = run_ok(&s, &["topics", "list"]);
    assert_aligned(&topics);
    assert!(topics.contains("1234"), "{topics}");
    let r = s.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "counts", "sql": "SELECT category, COUNT(*) AS n FROM t GROUP BY category"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_aligned(&run_ok(&s, &["processors", "list"]));
}

#[test]
fn json_flag_only_where_it_changes_the_output() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let created = run_ok(&s, &["topics", "create", "t"]);
    serde_json::from_str::<serde_json::Value>(&created).expect("create prints JSON");
    let listed = run_ok(&s, &["topics", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&listed).expect("list --json is JSON");
    assert_eq!(v["topics"][0]["name"], "t");
    // `create` and `describe` of a processor print JSON anyway: no `--json` there.
    for args in [
        &["topics", "create", "u", "--json"][..],
        &["processors", "describe", "p", "--json"][..],
    ] {
        let out = cli(&s, args).output().unwrap();
        assert!(!out.status.success(), "{args:?} accepted --json");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--json"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Reads one line of the command's stdout, closes the pipe, and expects a quiet exit 0.
fn head_one(mut cmd: Command) {
    let mut child = cmd
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with('{'), "{first:?}");
    drop(stdout);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "still running after its stdout closed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "exit {status}: {err}");
    assert!(err.is_empty(), "a closed pipe is not an error: {err}");
}

#[test]
fn a_closed_pipe_ends_consume_and_results_quietly() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    produce(&s, "t", 30_000);
    head_one(cli(&s, &["consume", "t"]));
    let r = s.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "rows", "sql": "SELECT i, i * 2 AS twice, category, i AS a, i AS b, i AS c FROM t"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.get("/v1/processors/rows").json()["status"] != "caught_up" {
        assert!(Instant::now() < deadline, "rows did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let agg = s.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "per-i", "sql": "SELECT i, COUNT(*) AS n, MAX(category) AS c FROM t GROUP BY i"}),
    );
    assert_eq!(agg.status, 201, "{}", agg.text());
    while s.get("/v1/processors/per-i").json()["status"] != "caught_up" {
        assert!(Instant::now() < deadline, "per-i did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    head_one(cli(&s, &["processors", "results", "per-i"]));
}

#[test]
fn results_print_columns_in_select_order() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    produce(&s, "t", 10);
    let r = s.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "z", "sql": "SELECT category, COUNT(*) AS n, MAX(i) AS a FROM t GROUP BY category"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = run_ok(&s, &["processors", "results", "z"]);
        if out.lines().count() == 7 {
            let first = out.lines().next().unwrap();
            let (c, n, a) = (
                first.find("\"category\"").unwrap(),
                first.find("\"n\"").unwrap(),
                first.find("\"a\"").unwrap(),
            );
            assert!(c < n && n < a, "not in SELECT order: {first}");
            break;
        }
        assert!(Instant::now() < deadline, "{out}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_user_error_prints_one_line_and_no_backtrace() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let out = cli(&s, &["topics", "describe", "no-such-topic"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("no-such-topic"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 1);
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(!log.is_empty(), "the server logs at info");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escape in a log file: {log:?}"
    );
}

#[test]
fn topics_create_help_gives_units() {
    let out = kappa()
        .args(["topics", "create", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for unit in ["milliseconds", "bytes", "MiB"] {
        assert!(help.contains(unit), "no {unit} in:\n{help}");
    }
}

#[test]
fn consume_with_a_group_commits_as_it_goes() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    s.create_topic("t", 2);
    produce(&s, "t", 10); // round-robin: the whole request lands in one partition
    produce(&s, "t", 10);
    let offsets = |out: &str| -> Vec<(u64, u64)> {
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["partition"].as_u64().unwrap(),
                    v["offset"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let first = offsets(&run_ok(
        &s,
        &["consume", "t", "--group", "g", "--limit", "4"],
    ));
    assert_eq!(first, vec![(0, 0), (0, 1), (0, 2), (0, 3)]);
    let g = s.get("/v1/groups/g").json();
    assert_eq!(g["offsets"][0]["offset"], 4, "{g}");
    let rest = offsets(&run_ok(&s, &["consume", "t", "--group", "g"]));
    assert_eq!(rest.len(), 16, "the rest, once: {rest:?}");
    assert_eq!(rest[0], (0, 4));
    let again = run_ok(&s, &["consume", "t", "--group", "g"]);
    assert!(again.is_empty(), "everything was committed: {again}");
    assert_eq!(s.get("/v1/groups/g").json()["lag"], 0);
}
