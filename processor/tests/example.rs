//! The Rust builder example (`examples/category_counts.rs`, the seed's Kafka Streams job) runs
//! and writes exactly the expected windowed counts.

#[path = "../examples/category_counts.rs"]
mod example;

#[test]
fn kafka_streams_style_example_counts_completed_orders_per_window() {
    let dir = tempfile::tempdir().unwrap();
    let out = example::run(dir.path()).unwrap();
    assert_eq!(
        out,
        vec![
            r#"{"key":"books","count":2,"window_start":"2026-03-25T10:00:00.000Z","window_end":"2026-03-25T10:01:00.000Z"}"#,
            r#"{"key":"toys","count":1,"window_start":"2026-03-25T10:00:00.000Z","window_end":"2026-03-25T10:01:00.000Z"}"#,
            r#"{"key":"books","count":1,"window_start":"2026-03-25T10:01:00.000Z","window_end":"2026-03-25T10:02:00.000Z"}"#,
        ]
    );
}
