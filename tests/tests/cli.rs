//! The kappa CLI: topics, produce a file, consume it back — against a server and embedded.

use kappa_tests::{kappa, temp, Server};

fn run(args: &[&str], envs: &[(&str, &str)]) -> String {
    let mut cmd = kappa();
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("kappa runs");
    assert!(
        out.status.success(),
        "kappa {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn write_file(dir: &std::path::Path, n: usize) -> std::path::PathBuf {
    let file = dir.join("events.ndjson");
    let body: String = (0..n)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 50)))
        .collect();
    std::fs::write(&file, body).unwrap();
    file
}

fn values(ndjson: &str) -> Vec<u64> {
    ndjson
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["value"]["i"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn produce_a_file_and_consume_it_back_through_a_server() {
    let dir = temp();
    let s = Server::start(&dir.path().join("data"), &[]);
    let server = format!("http://{}", s.addr);
    let env = [("KAPPA_SERVER", server.as_str())];
    run(&["topics", "create", "orders", "--partitions", "1"], &env);
    let listed = run(&["topics", "list"], &env);
    assert!(listed.contains("orders"), "{listed}");
    let file = write_file(dir.path(), 2500);
    let out = run(
        &[
            "produce",
            "orders",
            file.to_str().unwrap(),
            "--batch",
            "700",
        ],
        &env,
    );
    assert!(out.contains("\"count\":2500"), "{out}");
    let consumed = run(&["consume", "orders", "--from", "earliest"], &env);
    assert_eq!(
        values(&consumed),
        (0..2500).collect::<Vec<_>>(),
        "file order kept"
    );
    let tail = run(
        &["consume", "orders", "--from", "2490", "--server", &server],
        &[],
    );
    assert_eq!(values(&tail), (2490..2500).collect::<Vec<_>>());
    let described = run(&["topics", "describe", "orders", "--json"], &env);
    assert!(described.contains("\"end_offset\":2500"), "{described}");
}

#[test]
fn produce_and_consume_work_embedded_on_a_data_dir() {
    let dir = temp();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    run(
        &["topics", "create", "t", "--partitions", "2", "--data", d],
        &[],
    );
    let file = write_file(dir.path(), 300);
    run(&["produce", "t", file.to_str().unwrap(), "--data", d], &[]);
    let mut got = values(&run(&["consume", "t", "--data", d], &[]));
    got.sort();
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    let verify = run(&["verify", "--data", d], &[]);
    assert!(verify.contains("300 records"), "{verify}");
}

#[test]
fn produce_from_stdin_refuses_bad_json_with_its_line() {
    let dir = temp();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    run(&["topics", "create", "t", "--data", d], &[]);
    use std::io::Write;
    let mut child = kappa()
        .args(["produce", "t", "--data", d])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"a\":1}\n{oops}\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_process_is_refused_a_data_dir_a_server_holds() {
    let dir = temp();
    let data = dir.path().join("data");
    let _s = Server::start(&data, &[]);
    let out = kappa()
        .arg("verify")
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another process"), "{err}");
}
