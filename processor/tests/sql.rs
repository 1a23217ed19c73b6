//! SQL tests as data. Goal: each construct of DESIGN.md §4 produces exactly the hand-written
//! output for a small input, and everything outside the subset is refused with its position.
//! Method: every `tests/sql/<name>.sql` is compiled and run over `<name>.input` in the in-memory
//! log; the output topic and then the late topic must equal `<name>.output` line for line
//! (`<key or ->` TAB `<value>`, late lines prefixed `late` TAB). A `<name>.error` file instead
//! holds the expected refusal message. `-- end: <ms>` in the SQL makes it a bounded run.
//! Input lines: `<topic>/<partition> <record timestamp ms> <JSON value>`; `#` starts a comment.
//! Set KAPPA_BLESS=1 to write the actual output next to the expected one as `<name>.actual`.

use std::path::Path;

use processor::io::memory::MemoryLog;
use processor::operator;
use processor::task::{Task, TaskSpec};

fn run_case(sql_path: &Path) -> Result<String, String> {
    let sql = std::fs::read_to_string(sql_path).unwrap();
    let end_ms = sql
        .lines()
        .find_map(|l| l.trim().strip_prefix("-- end:"))
        .map(|v| v.trim().parse::<i64>().unwrap());
    let plan = processor::sql::compile(&sql, end_ms.is_some()).map_err(|e| e.to_string())?;
    let log = MemoryLog::new();
    let input = std::fs::read_to_string(sql_path.with_extension("input")).unwrap_or_default();
    for line in input
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut parts = line.splitn(3, ' ');
        let (tp, ts, value) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let (topic, partition) = tp.split_once('/').unwrap();
        log.append(
            topic,
            partition.parse().unwrap(),
            ts.parse().unwrap(),
            None,
            value.as_bytes(),
        );
    }
    log.create_topic(&plan.input, 1);
    let output = plan.output.clone().unwrap_or_else(|| "proc".into());
    let spec = TaskSpec {
        end_ms,
        watermark_delay_ms: plan.watermark_delay_ms,
        ..TaskSpec::default()
    };
    let op = operator::for_plan(plan.clone(), end_ms.is_some());
    let mut task = Task::open_on(&log, &plan.input, &output, "proc.late", op, spec)
        .map_err(|e| e.to_string())?;
    task.run_until_idle().map_err(|e| e.to_string())?;
    let mut out = String::new();
    for (topic, prefix) in [(output.as_str(), ""), ("proc.late", "late\t")] {
        for r in log.records(topic, 0) {
            let key = r
                .key
                .map(|k| String::from_utf8_lossy(&k).into_owned())
                .unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "{prefix}{key}\t{}\n",
                String::from_utf8_lossy(&r.value)
            ));
        }
    }
    Ok(out)
}

#[test]
fn sql_cases_produce_their_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected the SQL cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_stem().unwrap().to_string_lossy().into_owned();
        let (actual, expected_path) = match run_case(case) {
            Ok(out) => (out, case.with_extension("output")),
            Err(e) => (format!("{e}\n"), case.with_extension("error")),
        };
        let expected =
            std::fs::read_to_string(&expected_path).unwrap_or_else(|_| "<missing>".into());
        if std::env::var_os("KAPPA_BLESS").is_some() {
            std::fs::write(case.with_extension("actual"), &actual).unwrap();
        }
        if actual != expected {
            failures.push(format!(
                "--- {name} ({})\nexpected:\n{expected}actual:\n{actual}",
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} SQL cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A bounded run with ORDER BY ... LIMIT keeps only about 2n rows while it reads, and still
/// writes exactly the rows one sort of everything would (ties in arrival order).
#[test]
fn a_bounded_order_by_limit_over_many_rows_gives_the_full_sorts_rows() {
    let log = MemoryLog::new();
    log.create_topic("o", 1);
    let totals: Vec<i64> = (0..20_000).map(|i| (i * 7_919) % 1_000).collect();
    for (i, t) in totals.iter().enumerate() {
        let v = format!(r#"{{"id":{i},"total":{t}}}"#);
        log.append("o", 0, i as u64, None, v.as_bytes());
    }
    let sql = "SELECT id, total FROM o ORDER BY total DESC LIMIT 5";
    let plan = processor::sql::compile(sql, true).unwrap();
    let spec = TaskSpec {
        end_ms: Some(i64::MAX),
        ..TaskSpec::default()
    };
    let op = operator::for_plan(plan.clone(), true);
    let mut task = Task::open_on(&log, "o", "top", "top.late", op, spec).unwrap();
    task.run_until_idle().unwrap();
    let got: Vec<String> = log
        .records("top", 0)
        .iter()
        .map(|r| String::from_utf8_lossy(&r.value).into_owned())
        .collect();
    let mut all: Vec<(usize, i64)> = totals.iter().copied().enumerate().collect();
    all.sort_by_key(|a| std::cmp::Reverse(a.1));
    let want: Vec<String> = all[..5]
        .iter()
        .map(|(i, t)| format!(r#"{{"id":{i},"total":{t}}}"#))
        .collect();
    assert_eq!(got, want);
}
