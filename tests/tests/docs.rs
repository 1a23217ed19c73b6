//! Every shell command in README.md and docs/*.md runs as written (issue 15): the docs are the
//! whole manual a user has, so they must not drift from the binary.
//!
//! Method: each page's ```sh blocks are joined, in order, into one script run by bash with
//! `set -eu -o pipefail` in a fresh directory (with `examples/` linked in, `kappa` on PATH),
//! then again by zsh in another fresh directory — zsh takes an unquoted `?` for a glob, so a
//! URL with a query must be quoted. The conventions (written down in docs/README.md):
//! a block preceded by `<!-- docs-test: skip (why) -->` is not run; a command whose comment
//! says `until Ctrl-C` runs for 3 s; the server runs on a free port (`KAPPA_LISTEN`,
//! `KAPPA_SERVER`, and `localhost:7070` read as that port) so the test can run beside others.
//! Everything the script starts in the background is killed with its process group.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kappa_tests::{kappa_bin, temp};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);
const SKIP_MARK: &str = "<!-- docs-test: skip";
const FOLLOW_MARK: &str = "until Ctrl-C";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repo")
        .to_path_buf()
}

/// The runnable shell blocks of a markdown page, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().peekable();
    let mut skip_next = false;
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with(SKIP_MARK) {
            skip_next = true;
            continue;
        }
        let Some(info) = trimmed.strip_prefix("```") else {
            if !trimmed.is_empty() {
                skip_next = false;
            }
            continue;
        };
        let indent = line.len() - trimmed.len();
        let mut body = String::new();
        for inner in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                break;
            }
            body.push_str(inner.get(indent..).unwrap_or(inner.trim_start()));
            body.push('\n');
        }
        if matches!(info.trim(), "sh" | "bash" | "shell") && !skip_next {
            blocks.push(body);
        }
        skip_next = false;
    }
    blocks
}

/// A `?` outside quotes (and not `$?`) is a glob to zsh: `curl localhost/x?limit=1` fails.
fn unquoted_question_marks(script: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for line in script.lines() {
        let (mut single, mut double, mut prev) = (false, false, ' ');
        for c in line.chars() {
            match c {
                '\'' if !double => single = !single,
                '"' if !single => double = !double,
                '#' if !single && !double && (prev == ' ' || prev == '\t') => break,
                '?' if !single && !double && prev != '$' => {
                    bad.push(line.to_string());
                    break;
                }
                _ => {}
            }
            prev = c;
        }
    }
    bad
}

/// The script as run: the port rewritten, `until Ctrl-C` commands bounded to 3 s.
fn runnable(blocks: &[String], port: u16) -> String {
    let mut script = String::from("set -eu\nset -o pipefail\nset -x\n");
    for block in blocks {
        for line in block.lines() {
            let line = line
                .replace("localhost:7070", &format!("127.0.0.1:{port}"))
                .replace("127.0.0.1:7070", &format!("127.0.0.1:{port}"));
            if line.contains(FOLLOW_MARK) {
                let cmd = line.split(" #").next().unwrap_or(&line).trim();
                script.push_str(&format!("timeout -s INT 3 {cmd} || [ $? -eq 124 ]\n"));
            } else {
                script.push_str(&line);
                script.push('\n');
            }
        }
    }
    script
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn shell_available(shell: &str) -> bool {
    Command::new(shell)
        .args(["-c", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs `script` with `shell` in a fresh directory; panics with its output on failure.
fn run_script(page: &str, shell: &str, blocks: &[String]) {
    let dir = temp();
    let work = dir.path();
    std::os::unix::fs::symlink(repo().join("examples"), work.join("examples")).expect("link");
    let bin_dir = work.join("bin");
    std::fs::create_dir(&bin_dir).expect("bin dir");
    std::os::unix::fs::symlink(kappa_bin(), bin_dir.join("kappa")).expect("link kappa");
    let port = free_port();
    let script = runnable(blocks, port);
    std::fs::write(work.join("script.sh"), &script).expect("write script");
    let out_path = work.join("out.log");
    let out = std::fs::File::create(&out_path).expect("out log");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new(shell)
        .arg(work.join("script.sh"))
        .current_dir(work)
        .env("PATH", path)
        .env("KAPPA_LISTEN", format!("127.0.0.1:{port}"))
        .env("KAPPA_SERVER", format!("http://127.0.0.1:{port}"))
        .env_remove("KAPPA_TOKEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {shell}: {e}"));
    let pgid = child.id() as i32;
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    kill_group(pgid);
    let _ = child.wait();
    let log = std::fs::read_to_string(&out_path).unwrap_or_default();
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("{page} under {shell} failed ({s}); script:\n{script}\noutput:\n{log}"),
        None => panic!("{page} under {shell} ran over {SCRIPT_TIMEOUT:?}; output:\n{log}"),
    }
}

/// Ends what the script left running (the background server), politely, then for sure.
fn kill_group(pgid: i32) {
    // The group is the script's own (process_group(0) above): nothing else is in it. Spelled
    // `kill -s SIG -- -PGID`: procps' `kill -TERM -12345` reads `-1…` as an option and
    // signals every process (-1); `--` makes the negative number a process group.
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    for sig in ["TERM", "KILL"] {
        let _ = Command::new("kill")
            .args(["-s", sig, "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn check_page(relative: &str) {
    let page = repo().join(relative);
    let text = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{relative}: {e}"));
    let blocks = shell_blocks(&text);
    if blocks.is_empty() {
        return; // a page of prose and config snippets: nothing to run
    }
    let bad = unquoted_question_marks(&blocks.concat());
    assert!(
        bad.is_empty(),
        "{relative}: `?` outside quotes is a glob in zsh: {bad:#?}"
    );
    run_script(relative, "bash", &blocks);
    if shell_available("zsh") {
        run_script(relative, "zsh", &blocks);
    } else {
        assert!(
            std::env::var("CI").is_err(),
            "zsh is missing: .ci/run installs it (apt-get install -y zsh)"
        );
        eprintln!("zsh not installed: {relative} checked under bash and for quoting only");
    }
}

#[test]
fn every_page_of_the_manual_is_tested() {
    let mut pages: Vec<String> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    pages.sort();
    let tested = [
        "README.md",
        "howto-kafka-flink.md",
        "howto-seed-jobs.md",
        "http-api.md",
        "kafka.md",
        "operations.md",
        "sql.md",
    ];
    assert_eq!(pages, tested, "add a test below for each new page of docs/");
}

#[test]
fn howto_kafka_flink_commands_run_as_written() {
    check_page("docs/howto-kafka-flink.md");
}

#[test]
fn readme_commands_run_as_written() {
    check_page("README.md");
}

#[test]
fn docs_readme_commands_run_as_written() {
    check_page("docs/README.md");
}

#[test]
fn http_api_commands_run_as_written() {
    check_page("docs/http-api.md");
}

#[test]
fn kafka_page_commands_run_as_written() {
    check_page("docs/kafka.md");
}

#[test]
fn operations_commands_run_as_written() {
    check_page("docs/operations.md");
}

#[test]
fn sql_reference_commands_run_as_written() {
    check_page("docs/sql.md");
}

#[test]
fn howto_commands_run_as_written() {
    check_page("docs/howto-seed-jobs.md");
}

#[test]
fn the_quoting_check_catches_a_bare_query() {
    assert_eq!(
        unquoted_question_marks("curl -s localhost:7070/x?limit=1 # a?b\n"),
        vec!["curl -s localhost:7070/x?limit=1 # a?b".to_string()]
    );
    assert!(unquoted_question_marks("curl -s 'localhost:7070/x?limit=1'; echo $?\n").is_empty());
}

#[test]
fn skipped_and_indented_blocks_are_read_by_the_convention() {
    let md = "<!-- docs-test: skip (builds) -->\n```sh\ncargo build\n```\n\n- item:\n\n  ```sh\n  kappa topics list\n  ```\n```text\nnot run\n```\n";
    assert_eq!(shell_blocks(md), vec!["kappa topics list\n".to_string()]);
}
