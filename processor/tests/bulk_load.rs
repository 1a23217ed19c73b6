//! Goal (issue 9): bulk-loading history into a topic of several partitions and then running the
//! seed's tumbling query gives the rows and late count of a one-partition run of the same file.
//! Before per-partition watermarks, the merge took all of the first partition's share of a
//! request, its last event pushed the watermark to the end of the file, and half of the other
//! partitions' events were "late". Method: the same generated orders (in event-time order with
//! jitter below the watermark delay, so a one-partition run has no late event) are loaded as
//! one keyed request (one append time, split by key), as many round-robin requests, and into
//! partitions of which two never receive data; every run's output must equal the
//! one-partition run's, row for row (for round-robin requests: up to the windows the slowest
//! partition's watermark has closed), with no late event.

mod common;

use common::{open_task, BASE_MS, SEED_SQL};
use processor::io::memory::MemoryLog;
use processor::task::TaskSpec;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `n` orders, one every 50 ms of event time, up to 4 s early (the delay is 5 s).
fn orders(seed: u64, n: usize) -> Vec<(u32, String)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let categories = ["books", "toys", "garden"];
    (0..n)
        .map(|i| {
            let event_ms = BASE_MS + i as i64 * 50 - rng.random_range(0..4_000);
            let user: u32 = rng.random_range(0..40);
            let json = format!(
                r#"{{"order_id":"o{i}","user_id":"u{user}","total":{}.25,"category":"{}","ts":"{}"}}"#,
                rng.random_range(1..300),
                categories[rng.random_range(0..categories.len())],
                processor::timestamp::format_rfc3339(event_ms)
            );
            (user, json)
        })
        .collect()
}

/// Runs the seed query over `load`ed data; returns (output rows, late count).
fn run(partitions: u32, load: impl Fn(&MemoryLog)) -> (Vec<String>, u64) {
    let log = MemoryLog::new();
    log.create_topic("order-events", partitions);
    load(&log);
    let mut task = open_task(&log, SEED_SQL, 1, TaskSpec::default()).unwrap();
    task.run_until_idle().unwrap();
    let rows = log
        .records("out", 0)
        .iter()
        .map(|r| String::from_utf8_lossy(&r.value).into_owned())
        .collect();
    (rows, task.status().late_records)
}

#[test]
fn a_keyed_bulk_load_gives_the_one_partition_answer_whatever_the_partition_count() {
    let orders = orders(7, 3_000);
    let (expected, late) = run(1, |log| {
        for (_, json) in &orders {
            log.append("order-events", 0, 1_000, None, json.as_bytes());
        }
    });
    assert_eq!(late, 0);
    assert!(expected.len() > 5, "{expected:?}");
    for partitions in [3, 8] {
        // One request split by key: every share carries the request's one append time.
        let keyed = run(partitions, |log| {
            for (user, json) in &orders {
                log.append(
                    "order-events",
                    user % partitions,
                    1_000,
                    None,
                    json.as_bytes(),
                );
            }
        });
        assert_eq!(
            keyed,
            (expected.clone(), 0),
            "keyed, {partitions} partitions"
        );
        // Many requests of 100 events, each going whole to the next partition round-robin.
        let round_robin = run(partitions, |log| {
            for (k, chunk) in orders.chunks(100).enumerate() {
                for (_, json) in chunk {
                    let p = k as u32 % partitions;
                    log.append("order-events", p, 1_000 + k as u64, None, json.as_bytes());
                }
            }
        });
        // Each partition's watermark stops at its last request, so the windows after the
        // slowest partition's stay open (as in Flink): the rows out are a prefix of the answer.
        let (rows, late) = round_robin;
        assert_eq!(late, 0, "round-robin, {partitions} partitions");
        assert!(
            rows.len() + 3 >= expected.len() && expected.starts_with(&rows),
            "round-robin, {partitions} partitions: {rows:?}"
        );
    }
}

#[test]
fn a_partition_that_never_receives_data_does_not_hold_windows_back() {
    let orders = orders(8, 2_000);
    // One request every 10 ms of log time, over 20 s: longer than the 10 s idle timeout.
    let orders = &orders;
    let load = |partitions: u32| {
        move |log: &MemoryLog| {
            for (k, chunk) in orders.chunks(20).enumerate() {
                for (user, json) in chunk {
                    let p = user % partitions.min(2);
                    log.append(
                        "order-events",
                        p,
                        1_000 + 10 * k as u64,
                        None,
                        json.as_bytes(),
                    );
                }
            }
        }
    };
    let (expected, late) = run(1, load(1));
    assert_eq!(late, 0);
    assert!(expected.len() > 5, "{expected:?}");
    // Partitions 2 and 3 stay empty: idle, they leave the watermark to the other two.
    assert_eq!(run(4, load(4)), (expected, 0));
}
