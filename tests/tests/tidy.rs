//! The crate boundaries of ARCHITECTURE.md and STYLE.md, checked from `cargo metadata` so they
//! cannot drift: `log-store` knows nothing of HTTP, async runtimes or SQL; `processor` knows no
//! HTTP; the end-to-end tests use none of the workspace's crates (they spawn the binary).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Every package each workspace member depends on, directly or not (normal dependencies).
fn closures() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // This platform's dependencies only: the others (Windows console crates) need not be
    // downloaded for the build, and --offline cannot fetch them.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<String, String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().into(),
                p["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let nodes: BTreeMap<String, Vec<String>> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap().to_string())
                .collect();
            (n["id"].as_str().unwrap().to_string(), deps)
        })
        .collect();
    let mut out = BTreeMap::new();
    for member in meta["workspace_members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        let mut seen = BTreeSet::new();
        let mut todo = vec![member.to_string()];
        while let Some(id) = todo.pop() {
            for d in &nodes[&id] {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        let names = seen.iter().map(|id| name_of[id].clone()).collect();
        out.insert(name_of[member].clone(), names);
    }
    out
}

#[test]
fn crate_boundaries_hold() {
    let deps = closures();
    for banned in ["hyper", "tokio", "sqlparser", "kafka-protocol"] {
        assert!(
            !deps["log-store"].contains(banned),
            "log-store must not depend on {banned}"
        );
    }
    assert!(
        !deps["processor"].contains("hyper"),
        "processor must not depend on hyper"
    );
    assert!(deps["processor"].contains("log-store"));
    for member in ["log-store", "processor", "kappa"] {
        assert!(
            !deps["kappa-tests"].contains(member),
            "the end-to-end tests must not use {member}: they spawn the binary"
        );
    }
    assert!(deps["kappa"].contains("processor"));
}

/// The processor reaches Apache Kafka only through its optional `kafka` feature, and only in
/// `io/kafka/`: the runtime does not know which log it runs on.
#[test]
fn the_processor_speaks_kafka_only_behind_its_feature_and_its_door() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../processor");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let dep = manifest
        .lines()
        .find(|l| l.starts_with("kafka-protocol"))
        .expect("processor's kafka-protocol dependency");
    assert!(dep.contains("optional = true"), "{dep}");
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.starts_with(root.join("src/io/kafka")) {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("kafka_protocol"),
                    "{} uses kafka_protocol outside io/kafka/",
                    path.display()
                );
            }
        }
    }
}

/// Every ceiling lives in its crate's `limits.rs` (STYLE.md: a named limit for every queue,
/// buffer, request and cache): a constant named `*_MAX` anywhere else fails this test, unless it
/// is listed here with why it is not a resource ceiling.
#[test]
fn ceilings_live_in_limits_rs() {
    const NOT_CEILINGS: &[(&str, &str)] = &[
        (
            "RESULT_SLOTS_MAX",
            "a numbering range of compiled OVER result slots",
        ),
        (
            "FILLED_SLOTS_MAX",
            "the width of the u64 bitmask that tracks filled slots",
        ),
        (
            "FRAME_BYTES_MAX",
            "derived from RECORD_BYTES_MAX in limits.rs",
        ),
        ("APPENDS_MAX", "a test's own size"),
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for krate in ["log-store", "processor", "cli"] {
        let mut stack = vec![root.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.file_name().is_some_and(|n| n == "limits.rs")
                    || path.extension().is_none_or(|x| x != "rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Code under #[cfg(test)] at the end of a file is a test's.
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
                for line in code.lines() {
                    let Some(rest) = line.trim_start().split("const ").nth(1) else {
                        continue;
                    };
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect();
                    if name.ends_with("_MAX") && !NOT_CEILINGS.iter().any(|(n, _)| *n == name) {
                        found.push(format!("{}: {name}", path.display()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "ceilings outside limits.rs: {found:#?}");
}
