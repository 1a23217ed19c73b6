//! The Kafka listener end to end (issue 12), with a client built on the same codec crate: garbage
//! on the port closes only that connection, produce/fetch agree with HTTP byte for byte, an
//! idempotent retry after kill -9 is appended once, acks=0 gets no response, and SASL/PLAIN uses
//! the server's tokens. The real clients (kcat, librdkafka, kafka-python, aiokafka) are driven by
//! tests/kafka/run.sh.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kappa_tests::kafka::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use kappa_tests::kafka::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use kappa_tests::kafka::kafka_protocol::messages::{
    fetch_request::{FetchPartition, FetchTopic},
    ApiVersionsRequest, FetchRequest, InitProducerIdRequest, ListOffsetsRequest, MetadataRequest,
    ProduceRequest, ProduceResponse, SaslAuthenticateRequest, SaslHandshakeRequest, TopicName,
};
use kappa_tests::kafka::kafka_protocol::protocol::StrBytes;
use kappa_tests::kafka::kafka_protocol::records::TimestampType;
use kappa_tests::kafka::{batch, records, KafkaConn, Produced};
use kappa_tests::{temp, Server};

fn start(dir: &std::path::Path, extra: &[&str]) -> (Server, String) {
    let mut args = vec!["--kafka-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let server = Server::start(dir, &args);
    let kafka = server.kafka.clone().expect("the Kafka listener's address");
    (server, kafka)
}

fn produce_request(
    topic: &str,
    partition: i32,
    records: bytes::Bytes,
    acks: i16,
) -> ProduceRequest {
    let mut p = PartitionProduceData::default();
    p.index = partition;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = TopicName(StrBytes::from_string(topic.to_string()));
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = acks;
    r.timeout_ms = 30_000;
    r.topic_data = vec![t];
    r
}

fn produced(r: &ProduceResponse) -> (i16, i64) {
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn fetch_request(topic: &str, offset: i64) -> FetchRequest {
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.fetch_offset = offset;
    p.partition_max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = TopicName(StrBytes::from_string(topic.to_string()));
    t.partitions = vec![p];
    let mut r = FetchRequest::default();
    r.max_bytes = 1 << 20;
    r.max_wait_ms = 0;
    r.topics = vec![t];
    r
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .expect("VmRSS")
}

fn frame(api_key: i16, version: i16, rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&api_key.to_be_bytes());
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&7i32.to_be_bytes());
    body.extend_from_slice(rest);
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

/// Garbage on the Kafka port closes that connection only; the server keeps serving and its
/// memory does not jump. Includes the 14-byte Metadata request declaring 2^31 topics that made
/// the unpatched codec abort the process with a 150 GB allocation (issue 12).
#[test]
fn kafka_garbage_closes_only_that_connection() {
    let dir = temp();
    let (server, kafka) = start(&dir.path().join("data"), &[]);
    let rss_before = rss_kib(server.child.id());
    let mut garbage: Vec<(&str, Vec<u8>)> = vec![
        ("negative size", (-1i32).to_be_bytes().to_vec()),
        ("tiny size", 3i32.to_be_bytes().to_vec()),
        ("2 GB size", i32::MAX.to_be_bytes().to_vec()),
        ("65 MiB size", (65i32 << 20).to_be_bytes().to_vec()),
        ("truncated frame", {
            let mut f = 100i32.to_be_bytes().to_vec();
            f.extend_from_slice(&[0, 18, 0, 0, 0, 0, 0, 1]);
            f
        }),
        ("unknown api key", frame(999, 0, &[0, 0])),
        ("unsupported version", frame(3, 99, &[])),
        (
            "Metadata v1 with 2^31 topics",
            frame(3, 1, &[0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
        ),
        (
            "Produce v9 with a huge compact array",
            frame(0, 9, &[0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        ),
        ("bad request body", frame(18, 3, &[0xff; 20])),
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..40 {
        let mut bytes = Vec::new();
        let len = 8 + (seed % 64) as usize;
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(seed as u8);
        }
        // A plausible size and a supported api key, so the decoders see the random rest.
        let key = [
            0i16, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 32,
        ][i % 18];
        let mut f = ((bytes.len() + 4) as i32).to_be_bytes().to_vec();
        f.extend_from_slice(&key.to_be_bytes());
        f.extend_from_slice(&[0, (seed % 8) as u8]);
        f.extend_from_slice(&bytes);
        garbage.push(("random body", f));
    }
    for (what, bytes) in &garbage {
        let mut s = TcpStream::connect(&kafka).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
        let _ = s.write_all(bytes);
        if *what == "truncated frame" {
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
        let mut buf = [0u8; 4096];
        // Either the connection is closed, or (random bodies that happen to decode) answered.
        let _ = s.read(&mut buf);
        // The server still answers a well-formed request on a new connection, and over HTTP.
        let mut conn = KafkaConn::connect(&kafka);
        let r = conn.call(&ApiVersionsRequest::default(), 3);
        assert_eq!(r.error_code, 0, "after {what}");
    }
    assert_eq!(server.get("/healthz").status, 200);
    let rss_after = rss_kib(server.child.id());
    assert!(
        rss_after < rss_before + 100 * 1024,
        "memory jumped from {rss_before} KiB to {rss_after} KiB"
    );
    // Closed, not answered: a frame whose api key is unknown.
    let mut conn = KafkaConn::connect(&kafka);
    conn.stream.write_all(&frame(999, 0, &[0, 0])).unwrap();
    assert!(conn.is_closed());
}

/// ApiVersions at a version the server does not know is answered in version 0 with
/// UNSUPPORTED_VERSION and the table (KIP-511); unknown topics get UNKNOWN_TOPIC_OR_PARTITION.
#[test]
fn kafka_api_versions_and_unknown_topics() {
    let dir = temp();
    let (_server, kafka) = start(&dir.path().join("data"), &[]);
    let mut conn = KafkaConn::connect(&kafka);
    conn.stream
        .write_all(&frame(18, 99, &[0, 0]))
        .expect("write");
    let (correlation, mut body) = conn.read_frame().expect("an answer");
    assert_eq!(correlation, 7);
    use kappa_tests::kafka::kafka_protocol::protocol::Decodable;
    let r = kappa_tests::kafka::kafka_protocol::messages::ApiVersionsResponse::decode(&mut body, 0)
        .expect("a v0 ApiVersions response");
    assert_eq!(r.error_code, 35);
    assert!(r
        .api_keys
        .iter()
        .any(|k| k.api_key == 0 && k.max_version >= 9));
    let mut conn = KafkaConn::connect(&kafka);
    let mut req = MetadataRequest::default();
    let mut t = kappa_tests::kafka::kafka_protocol::messages::metadata_request::MetadataRequestTopic::default();
    t.name = Some(TopicName(StrBytes::from_static_str("nope")));
    req.topics = Some(vec![t]);
    let r = conn.call(&req, 12);
    assert_eq!(r.topics[0].error_code, 3);
    let one = [Produced {
        key: None,
        value: b"{}",
        headers: &[],
    }];
    let r = conn.call(&produce_request("nope", 0, batch(&one, -1, -1, -1), -1), 9);
    assert_eq!(produced(&r).0, 3);
}

/// Records produced over Kafka (keys, binary values, headers) fetch back with their bytes and the
/// log's append time, and read over HTTP with the same offsets and timestamps (value_b64 for a
/// value that is not JSON); acks=0 gets no response at all.
#[test]
fn kafka_produce_fetch_agree_with_http() {
    let dir = temp();
    let (server, kafka) = start(&dir.path().join("data"), &[]);
    server.create_topic("t", 1);
    let mut conn = KafkaConn::connect(&kafka);
    let rs = [
        Produced {
            key: Some(b"k1"),
            value: br#"{"a":1}"#,
            headers: &[("h", b"v")],
        },
        Produced {
            key: None,
            value: b"\x00\xff not json",
            headers: &[],
        },
        Produced {
            key: Some(b"\xff"),
            value: b"[1,2]",
            headers: &[],
        },
    ];
    let r = conn.call(&produce_request("t", 0, batch(&rs, -1, -1, -1), -1), 9);
    assert_eq!(produced(&r), (0, 0));
    let append_time = r.responses[0].partition_responses[0].log_append_time_ms;
    assert!(append_time > 0);
    // acks=0: no response; the next request's answer is the next frame.
    let quiet = [Produced {
        key: None,
        value: b"4",
        headers: &[],
    }];
    conn.send(&produce_request("t", 0, batch(&quiet, -1, -1, -1), 0), 9);
    let sent = conn.send(&ApiVersionsRequest::default(), 3);
    let (correlation, _) = conn.receive::<ApiVersionsRequest>(3);
    assert_eq!(correlation, sent, "acks=0 produced no response frame");
    let fetched = conn.call(&fetch_request("t", 0), 12);
    let part = &fetched.responses[0].partitions[0];
    assert_eq!((part.error_code, part.high_watermark), (0, 4));
    let got = records(part.records.clone());
    assert_eq!(got.len(), 4);
    for (g, r) in got.iter().zip(&rs) {
        assert_eq!(g.value.as_deref(), Some(r.value));
        assert_eq!(g.key.as_deref(), r.key);
        assert_eq!(g.timestamp_type, TimestampType::LogAppend);
    }
    assert_eq!(got[0].timestamp, append_time);
    assert_eq!(
        got[0].headers.len(),
        1,
        "client headers kept, kappa's own hidden"
    );
    let lines = server.get("/v1/topics/t/events?offset=0").ndjson();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["value"], serde_json::json!({"a": 1}));
    assert_eq!(lines[0]["key"], "k1");
    assert_eq!(lines[1]["value_b64"], "AP8gbm90IGpzb24=");
    assert_eq!(lines[2]["key_b64"], "/w==");
    assert_eq!(lines[2]["value"], serde_json::json!([1, 2]));
    for (l, g) in lines.iter().zip(&got) {
        assert_eq!(l["offset"].as_i64(), Some(g.offset));
        assert_eq!(l["timestamp"].as_i64(), Some(g.timestamp));
    }
    // Over the limit: a size prefix above --max-body-bytes closes the connection unread.
    let (small, kafka_small) = start(&dir.path().join("small"), &["--max-body-bytes", "1000"]);
    small.create_topic("t", 1);
    let big = vec![b'1'; 2000];
    let mut conn = KafkaConn::connect(&kafka_small);
    conn.send(
        &produce_request(
            "t",
            0,
            batch(
                &[Produced {
                    key: None,
                    value: &big,
                    headers: &[],
                }],
                -1,
                -1,
                -1,
            ),
            -1,
        ),
        9,
    );
    assert!(conn.is_closed());
    assert_eq!(
        small.get("/v1/topics/t").json()["partitions"][0]["end_offset"],
        0
    );
}

/// An idempotent producer's acknowledged batch, retried after kill -9 and a restart, is answered
/// with its original offset and appended once; a gap in sequences is refused.
#[test]
fn kafka_idempotent_retry_after_kill9_is_appended_once() {
    let dir = temp();
    let data = dir.path().join("data");
    let (server, kafka) = start(&data, &[]);
    server.create_topic("t", 1);
    let mut conn = KafkaConn::connect(&kafka);
    let mut init = InitProducerIdRequest::default();
    init.transactional_id = None;
    let init = conn.call(&init, 4);
    assert_eq!(init.error_code, 0);
    let pid = init.producer_id.0;
    let rs: Vec<Produced> = (0..5)
        .map(|_| Produced {
            key: None,
            value: b"{\"n\":1}",
            headers: &[],
        })
        .collect();
    let first = batch(&rs, pid, 0, 0);
    let r = conn.call(&produce_request("t", 0, first.clone(), -1), 9);
    assert_eq!(produced(&r), (0, 0));
    server.kill9();
    let (server, kafka) = start(&data, &[]);
    let mut conn = KafkaConn::connect(&kafka);
    let r = conn.call(&produce_request("t", 0, first, -1), 9);
    assert_eq!(
        produced(&r),
        (0, 0),
        "the retry is answered with the original offset"
    );
    let r = conn.call(&produce_request("t", 0, batch(&rs, pid, 0, 5), -1), 9);
    assert_eq!(produced(&r), (0, 5));
    let r = conn.call(&produce_request("t", 0, batch(&rs, pid, 0, 20), -1), 9);
    assert_eq!(produced(&r).0, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    let mut p = ListOffsetsPartition::default();
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = TopicName(StrBytes::from_static_str("t"));
    t.partitions = vec![p];
    let mut req = ListOffsetsRequest::default();
    req.topics = vec![t];
    let r = conn.call(&req, 7);
    assert_eq!(
        r.topics[0].partitions[0].offset, 10,
        "ten records, none twice"
    );
    assert_eq!(
        server
            .get("/v1/topics/t/events?offset=0&limit=100")
            .ndjson()
            .len(),
        10
    );
}

/// With --token set, nothing but ApiVersions and SASL is answered before SASL/PLAIN succeeds,
/// and the password is one of the server's tokens.
#[test]
fn kafka_sasl_plain_uses_the_servers_tokens() {
    let dir = temp();
    let (_server, kafka) = start(&dir.path().join("data"), &["--token", "s3cret"]);
    let mut conn = KafkaConn::connect(&kafka);
    conn.send(&MetadataRequest::default(), 12);
    assert!(
        conn.is_closed(),
        "Metadata before authentication closes the connection"
    );
    let login = |password: &[u8]| {
        let mut conn = KafkaConn::connect(&kafka);
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static_str("PLAIN");
        assert_eq!(conn.call(&hs, 1).error_code, 0);
        let mut auth = SaslAuthenticateRequest::default();
        let mut bytes = b"\0kappa\0".to_vec();
        bytes.extend_from_slice(password);
        auth.auth_bytes = bytes.into();
        let r = conn.call(&auth, 2);
        (conn, r.error_code)
    };
    assert_eq!(login(b"wrong").1, 58);
    let (mut conn, code) = login(b"s3cret");
    assert_eq!(code, 0);
    let r = conn.call(&MetadataRequest::default(), 12);
    assert_eq!(r.brokers.len(), 1);
}

/// One Produce request with batches for several partitions has one append time (DESIGN.md §2).
#[test]
fn kafka_produce_request_has_one_append_time_across_partitions() {
    let dir = temp();
    let (server, kafka) = start(&dir.path().join("data"), &[]);
    server.create_topic("t", 3);
    let mut conn = KafkaConn::connect(&kafka);
    let one = [Produced {
        key: None,
        value: b"1",
        headers: &[],
    }];
    let mut req = produce_request("t", 0, batch(&one, -1, -1, -1), -1);
    for p in 1..3 {
        let mut data = PartitionProduceData::default();
        data.index = p;
        data.records = Some(batch(&one, -1, -1, -1));
        req.topic_data[0].partition_data.push(data);
    }
    let r = conn.call(&req, 9);
    let times: Vec<i64> = r.responses[0]
        .partition_responses
        .iter()
        .map(|p| {
            assert_eq!(p.error_code, 0);
            p.log_append_time_ms
        })
        .collect();
    assert_eq!(times.len(), 3);
    assert!(times.iter().all(|t| *t == times[0]), "{times:?}");
    let lines = server.get("/v1/topics/t/events?offset=0").ndjson();
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l["timestamp"].as_i64() == Some(times[0])));
}

/// Every record value of `topic`, partition by partition, as served over HTTP.
fn values_of(s: &Server, topic: &str) -> Vec<String> {
    let partitions = s.get(&format!("/v1/topics/{topic}")).json()["partitions"]
        .as_array()
        .expect("partitions")
        .len();
    (0..partitions)
        .flat_map(|p| {
            s.get(&format!(
                "/v1/topics/{topic}/events?partition={p}&offset=0&limit=100000"
            ))
            .ndjson()
            .into_iter()
            .map(|l| l["value"].to_string())
        })
        .collect()
}

fn wait_processed(s: &Server, name: &str, records: u64) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let st = s.get(&format!("/v1/processors/{name}")).json();
        assert_ne!(st["status"], "failed", "{st}");
        if st["records_in"] == records && st["lag"] == 0 {
            return st;
        }
        assert!(std::time::Instant::now() < deadline, "{name}: {st}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The Kafka connector against kappa's own listener (Apache Kafka itself: tests/kafka/
/// processors.py): the seed query reading `order-events` and writing its output through the
/// Kafka protocol gives, byte for byte, the rows it gives on the log directly — the append
/// times are the same records' either way, so the merge is the same.
#[test]
fn a_processor_on_the_kafka_connector_gives_the_rows_of_the_log_itself() {
    let dir = temp();
    let (server, kafka) = start(&dir.path().join("data"), &[]);
    server.create_topic("order-events", 3);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let orders = std::fs::read(root.join("examples/orders.ndjson")).unwrap();
    let r = server.request(
        "POST",
        "/v1/topics/order-events/events?key=user_id",
        &[("content-type", "application/x-ndjson")],
        &orders,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sql = std::fs::read_to_string(root.join("examples/revenue.sql")).unwrap();
    let on_kafka = sql.replace(
        "'connector' = 'kappa'",
        &format!("'connector' = 'kafka', 'properties.bootstrap.servers' = '{kafka}'"),
    );
    assert_ne!(sql, on_kafka);
    for (name, sql) in [("native", &sql), ("via_kafka", &on_kafka)] {
        let r = server.post_json(
            "/v1/processors",
            &serde_json::json!({"name": name, "sql": sql}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let native = wait_processed(&server, "native", 2400);
    let remote = wait_processed(&server, "via_kafka", 2400);
    assert_eq!(native["log"]["connector"], "kappa", "{native}");
    assert_eq!(remote["log"]["connector"], "kafka", "{remote}");
    assert_eq!(remote["log"]["bootstrap_servers"], kafka.as_str());
    assert_eq!(remote["log"]["timestamps"], "log_append_time", "{remote}");
    assert_eq!(remote["log"]["deterministic"], true);
    let (a, b) = (
        values_of(&server, "native"),
        values_of(&server, "via_kafka"),
    );
    assert!(a.len() > 100, "{} rows", a.len());
    assert_eq!(a, b);
    assert_eq!(native["late_records"], remote["late_records"]);
}

#[test]
fn the_kafka_connector_is_refused_without_servers_and_reports_an_unreachable_cluster() {
    let dir = temp();
    let (server, _kafka) = start(&dir.path().join("data"), &[]);
    let sql = |with: &str| {
        format!(
            "CREATE TABLE orders (total DOUBLE, ts TIMESTAMP(3)) WITH ({with});\n\
             SELECT total FROM orders"
        )
    };
    let r = server.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "p", "sql": sql("'connector' = 'kafka', 'topic' = 'o'")}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("properties.bootstrap.servers"),
        "{}",
        r.text()
    );
    // A port nothing listens on: the create fails at once, naming the cluster.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let r = server.post_json(
        "/v1/processors",
        &serde_json::json!({"name": "p", "sql": sql(&format!(
            "'connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = '{addr}'"
        ))}),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.error_code(), "kafka_unavailable");
    assert!(r.text().contains(&addr.to_string()), "{}", r.text());
    assert_eq!(
        server.get("/v1/processors").json()["processors"],
        serde_json::json!([])
    );
}

/// Goal (issue 14): a tombstone — a key with a null value — round-trips through the Kafka
/// protocol. Method: a HAVING that drops a key again, run natively and on the Kafka connector
/// against kappa's own listener (its sink produces the tombstone as a Kafka null value); both
/// outputs hold the same records, the tombstone shown over HTTP as `"value": null` and fetched
/// over Kafka as a null value; a null produced by a client reads back the same way.
#[test]
fn a_tombstone_round_trips_through_the_kafka_protocol_as_a_null_value() {
    let dir = temp();
    let (server, kafka) = start(&dir.path().join("data"), &[]);
    server.create_topic("sales", 1);
    let body = r#"{"category":"books","total":10}
{"category":"garden","total":60}
{"category":"garden","total":60}"#;
    let r = server.request(
        "POST",
        "/v1/topics/sales/events",
        &[("content-type", "application/x-ndjson")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let table = |connector: &str| {
        format!(
            "CREATE TABLE sales (category STRING, total BIGINT) WITH ({connector}, 'topic' = 'sales');\n\
             SELECT category, SUM(total) AS revenue FROM sales GROUP BY category HAVING SUM(total) < 100;"
        )
    };
    let native = table("'connector' = 'kappa'");
    let on_kafka = table(&format!(
        "'connector' = 'kafka', 'properties.bootstrap.servers' = '{kafka}'"
    ));
    for (name, sql) in [("native", &native), ("via_kafka", &on_kafka)] {
        let r = server.post_json(
            "/v1/processors",
            &serde_json::json!({"name": name, "sql": sql}),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        wait_processed(&server, name, 3);
    }
    let lines = |topic: &str| {
        server
            .get(&format!("/v1/topics/{topic}/events?offset=0"))
            .ndjson()
    };
    let (a, b) = (lines("native"), lines("via_kafka"));
    let strip = |ls: &[serde_json::Value]| -> Vec<String> {
        ls.iter()
            .map(|l| format!("{} {}", l["key"], l["value"]))
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(
        strip(&a).last().map(String::as_str),
        Some(r#""garden" null"#),
        "{a:?}"
    );
    let mut conn = KafkaConn::connect(&kafka);
    for topic in ["native", "via_kafka"] {
        let fetched = conn.call(&fetch_request(topic, 0), 12);
        let got = records(fetched.responses[0].partitions[0].records.clone());
        let last = got.last().expect("records");
        assert_eq!(last.key.as_deref(), Some(&b"garden"[..]), "{topic}");
        assert_eq!(
            last.value, None,
            "{topic}: a tombstone is fetched as a null value"
        );
        assert!(got[..got.len() - 1].iter().all(|r| r.value.is_some()));
    }
    // A client's empty (or null) value is stored empty and reads back as null.
    let nul = [Produced {
        key: Some(b"gone"),
        value: b"",
        headers: &[],
    }];
    let r = conn.call(&produce_request("sales", 0, batch(&nul, -1, -1, -1), -1), 9);
    assert_eq!(produced(&r).0, 0);
    let fetched = conn.call(&fetch_request("sales", 3), 12);
    let got = records(fetched.responses[0].partitions[0].records.clone());
    assert_eq!(
        (got[0].key.as_deref(), got[0].value.as_deref()),
        (Some(&b"gone"[..]), None)
    );
    let l = &server.get("/v1/topics/sales/events?offset=3").ndjson()[0];
    assert!(l["value"].is_null() && l.get("value_b64").is_none(), "{l}");
}
