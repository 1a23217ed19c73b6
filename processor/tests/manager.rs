//! The Manager against the real log store in a temp data dir. Goal: a processor created from
//! the seed SQL reads, writes its output and late topics, serves results and status, and after
//! a shutdown and reopen resumes from its checkpoint without writing anything twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use log_store::{AppendRecord, FsyncPolicy, LogStore, Offset, StoreConfig, TopicConfig};
use processor::{Manager, ResultsFilter, RunStatus, Status};

const SEED_SQL: &str = "CREATE TABLE orders (
  order_id STRING, user_id STRING, total DOUBLE, category STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'kappa', 'topic' = 'order-events', 'format' = 'json');
SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS window_start, category,
       SUM(total) AS revenue, COUNT(*) AS order_count, AVG(total) AS avg_order_value
FROM orders
GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), category;";

fn open_store(dir: &std::path::Path) -> Arc<LogStore> {
    Arc::new(
        LogStore::open(
            dir,
            StoreConfig {
                fsync: FsyncPolicy::Never,
            },
        )
        .unwrap(),
    )
}

fn produce(store: &LogStore, topic: &str, values: &[String]) {
    let t = store.topic(topic).unwrap();
    let records: Vec<AppendRecord<'_>> = values
        .iter()
        .map(|v| AppendRecord {
            value: v.as_bytes(),
            ..Default::default()
        })
        .collect();
    t.partitions()[0].append(&records).unwrap();
}

fn order(i: u64, minute: u64, second: u64, category: &str) -> String {
    format!(
        r#"{{"order_id":"o{i}","user_id":"u{}","total":{}.5,"category":"{category}","ts":"2026-03-25 10:{minute:02}:{second:02}.000"}}"#,
        i % 7,
        i % 10
    )
}

fn wait_for(m: &Manager, name: &str, ok: impl Fn(&Status) -> bool) -> Status {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = m.status(name).unwrap();
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting; last status {s:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn values(store: &LogStore, topic: &str) -> Vec<String> {
    let t = store.topic(topic).unwrap();
    let p = &t.partitions()[0];
    p.read(Offset(0), 100_000, 64 << 20)
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.value.to_vec()).unwrap())
        .collect()
}

#[test]
fn seed_processor_runs_survives_restart_and_never_duplicates_output() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    store
        .create_topic("order-events", TopicConfig::default())
        .unwrap();
    produce(
        &store,
        "order-events",
        &(0..30)
            .map(|i| order(i, i / 10, i % 10 * 5, ["books", "toys"][i as usize % 2]))
            .collect::<Vec<_>>(),
    );
    let m = Manager::open(Arc::clone(&store), &dir.path().join("processors")).unwrap();
    let created = m.create("revenue", SEED_SQL).unwrap();
    assert_eq!(
        (
            created.version,
            created.output.as_str(),
            created.late_topic.as_str()
        ),
        (1, "revenue", "revenue.late")
    );
    let s = wait_for(&m, "revenue", |s| {
        s.records_in == 30 && s.status == RunStatus::CaughtUp
    });
    // Minutes 0 and 1 complete (watermark 10:02:40); minute 2 is still open.
    assert_eq!(s.records_out, 4, "{s:#?}");
    assert_eq!(s.watermark.as_deref(), Some("2026-03-25T10:02:40.000Z"));
    assert_eq!(
        m.user_of("order-events"),
        Some(("revenue".to_string(), "read"))
    );
    let rows = m
        .results(
            "revenue",
            None,
            &ResultsFilter {
                key: Some("books".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]
            .get()
            .starts_with(r#"{"window_start":"2026-03-25T10:00:00.000Z","#),
        "columns in SELECT order: {}",
        rows[0].get()
    );

    // Shut down, add more (including a late event), reopen: resumes and appends only new rows.
    m.shutdown().unwrap();
    drop(m);
    produce(
        &store,
        "order-events",
        &[order(30, 3, 10, "books"), order(31, 0, 1, "toys")],
    );
    let m = Manager::open(Arc::clone(&store), &dir.path().join("processors")).unwrap();
    let s = wait_for(&m, "revenue", |s| {
        s.records_in == 32 && s.status == RunStatus::CaughtUp
    });
    assert_eq!(s.late_records, 1);
    let out = values(&store, "revenue");
    assert_eq!(out.len(), 6, "{out:#?}");
    let mut dedup = out.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), out.len(), "no row is written twice");
    assert_eq!(values(&store, "revenue.late").len(), 1);
    assert_eq!(m.list().len(), 1);
    m.delete("revenue").unwrap();
    assert!(m.status("revenue").is_err());
    assert!(m.user_of("order-events").is_none());
}

#[test]
fn creation_refuses_bad_names_duplicates_missing_topics_and_bad_sql() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    store
        .create_topic("orders", TopicConfig::default())
        .unwrap();
    let m = Manager::open(Arc::clone(&store), &dir.path().join("processors")).unwrap();
    assert!(matches!(
        m.create("../x", "SELECT * FROM orders"),
        Err(processor::Error::InvalidName { .. })
    ));
    assert!(matches!(
        m.create("p", "SELECT * FROM nope"),
        Err(processor::Error::InvalidDefinition { .. })
    ));
    let e = m
        .create("p", "SELECT a FROM orders o JOIN b ON o.x = b.x")
        .unwrap_err();
    assert!(matches!(e, processor::Error::Sql { line: 1, .. }), "{e}");
    m.create("p", "SELECT * FROM orders WHERE total > 1")
        .unwrap();
    assert!(matches!(
        m.create("p", "SELECT * FROM orders"),
        Err(processor::Error::Exists { .. })
    ));
    produce(
        &store,
        "orders",
        &[
            r#"{"total":2}"#.into(),
            r#"{"total":0}"#.into(),
            "not json".into(),
        ],
    );
    let s = wait_for(&m, "p", |s| s.records_in == 3);
    assert_eq!((s.records_out, s.invalid_records), (1, 1));
    assert_eq!(values(&store, "p"), vec![r#"{"total":2}"#.to_string()]);
}

#[test]
fn a_bounded_run_writes_final_rows_in_order_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    store
        .create_topic("orders", TopicConfig::default())
        .unwrap();
    let rows: Vec<String> = [
        ("books", 10.0, "completed"),
        ("toys", 30.0, "completed"),
        ("books", 5.5, "completed"),
        ("toys", 1.0, "cancelled"),
    ]
    .iter()
    .map(|(c, t, s)| format!(r#"{{"category":"{c}","total":{t:?},"status":"{s}"}}"#))
    .collect();
    produce(&store, "orders", &rows);
    std::thread::sleep(Duration::from_millis(5));
    let end_ms = store.safe_time_ms() + 1;
    produce(
        &store,
        "orders",
        &[r#"{"category":"garden","total":99.0,"status":"completed"}"#.into()],
    );
    let m = Manager::open(Arc::clone(&store), &dir.path().join("processors")).unwrap();
    let sql = "SELECT category, SUM(total) AS revenue, COUNT(*) AS n FROM orders WHERE status = 'completed' GROUP BY category ORDER BY revenue DESC";
    assert!(
        matches!(m.create("live", sql), Err(processor::Error::Sql { .. })),
        "ORDER BY needs a bounded run"
    );
    let opts = processor::CreateOptions {
        start: None,
        from_ms: None,
        end_ms: Some(end_ms as i64),
    };
    m.create_with("nightly", sql, opts).unwrap();
    let s = wait_for(&m, "nightly", |s| s.status == RunStatus::Finished);
    assert!(s.versions[0].finished && s.error.is_none(), "{s:#?}");
    assert_eq!(
        values(&store, "nightly"),
        vec![
            r#"{"category":"toys","revenue":30.0,"n":1}"#.to_string(),
            r#"{"category":"books","revenue":15.5,"n":2}"#.to_string()
        ]
    );
}

/// The Manager runs on any `Log`: here the in-memory one, with no data dir for the records (only
/// for definitions and checkpoints) and no waiting on the wall clock.
#[test]
fn the_manager_runs_on_the_in_memory_log() {
    use processor::io::memory::MemoryLog;
    let dir = tempfile::tempdir().unwrap();
    let log = MemoryLog::new();
    log.create_topic("order-events", 1);
    for i in 0..20 {
        let value = order(i, i / 5, i % 60, "books");
        log.append("order-events", 0, 1_000 + i, None, value.as_bytes());
    }
    let m = Manager::on_log(Arc::new(log.clone()), &dir.path().join("processors")).unwrap();
    m.create("revenue", SEED_SQL).unwrap();
    let s = wait_for(&m, "revenue", |s| s.records_in == 20 && s.lag == 0);
    assert_eq!(s.log.as_ref().unwrap().connector, "kappa");
    // The open window (minute 3) is the state held, against its ceiling.
    let groups = s.state.iter().find(|x| x.state == "window_groups").unwrap();
    assert_eq!((groups.entries, groups.limit), (1, "WINDOW_KEYS_MAX"));
    assert_eq!(groups.max, processor::limits::WINDOW_KEYS_MAX as u64);
    let results = s.state.iter().find(|x| x.state == "result_rows").unwrap();
    assert_eq!(results.entries, 3);
    // Minutes 0..=2 are complete under the watermark of minute 3's last order minus 5 s.
    let out = log.records("revenue", 0);
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(std::str::from_utf8(&out[0].value)
        .unwrap()
        .starts_with(r#"{"window_start":"2026-03-25T10:00:00.000Z","category":"books""#));
    m.shutdown().unwrap();
}
