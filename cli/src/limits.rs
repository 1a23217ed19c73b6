//! Named ceilings for the server. Flags may lower them, never raise them past these.

/// Largest request body (DESIGN.md §5): a batch of 100,000 small events fits easily.
pub const HTTP_BODY_BYTES_MAX: usize = 64 << 20;
/// Largest single event; equal to the log's record ceiling.
pub const EVENT_BYTES_MAX: usize = log_store::RECORD_BYTES_MAX;
/// Most events in one produce request.
pub const BATCH_EVENTS_MAX: usize = 100_000;
/// Default and largest `limit` of one consume request.
pub const CONSUME_LIMIT_DEFAULT: usize = 1_000;
pub const CONSUME_LIMIT_MAX: usize = 100_000;
/// Bytes one consume response gathers per partition read before it stops (bounds memory).
pub const CONSUME_BYTES_MAX: usize = 64 << 20;
/// Longest long-poll wait.
pub const WAIT_MS_MAX: u64 = 60_000;
/// Open connections served normally (`--max-connections` may lower it).
pub const CONNECTIONS_MAX: usize = 4_096;
/// Normal connection slots one client address may hold (`--max-connections-per-ip` lowers it):
/// a quarter, so one client (or one NAT) cannot hold every slot; past it, its connections take
/// the overflow lane below.
pub const CONNECTIONS_PER_IP_MAX: usize = CONNECTIONS_MAX / 4;
/// Connections accepted past CONNECTIONS_MAX: each gets OVERFLOW_HEADER_TIMEOUT_MS for its
/// headers, /healthz is answered and anything else is 503 with Retry-After, never reading a
/// body; so slow clients holding every normal slot cannot take /healthz down (issue 10).
/// Beyond these, a new connection is closed at once.
pub const CONNECTIONS_OVERFLOW_MAX: usize = 256;
pub const OVERFLOW_HEADER_TIMEOUT_MS: u64 = 1_000;
/// A body may take BODY_READ_GRACE_MS plus its length at BODY_RATE_BYTES_PER_S_MIN to arrive,
/// then it is cut with 408 (issue 10: 4,500 clients sending a byte every 5 s held every slot).
/// `--body-read-timeout-ms` may lower the grace. 1 KiB/s is a very bad mobile link.
pub const BODY_READ_GRACE_MS: u64 = 10_000;
pub const BODY_RATE_BYTES_PER_S_MIN: u64 = 1_024;
/// Request body bytes buffered at once across all requests (`--max-body-bytes-in-flight` may
/// lower it): past it, a request waits up to BODY_BUDGET_WAIT_MS for room, then gets 503 with
/// Retry-After (issue 10: a few dozen maximal uploads aborted the server on an allocation
/// failure). Eight maximal bodies.
pub const BODY_BYTES_IN_FLIGHT_MAX: usize = 512 << 20;
pub const BODY_BUDGET_WAIT_MS: u64 = 5_000;
/// Header read timeout (slowloris defence).
pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Idempotency keys remembered (per window); older ones are forgotten first.
pub const IDEMPOTENCY_KEYS_MAX: usize = 1_000_000;
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 256;
pub const IDEMPOTENCY_WINDOW_MS_DEFAULT: u64 = 10 * 60 * 1000;
/// Largest file of the keyed-record index (`keyindex.rs`; two files cover a window). At
/// about 40 bytes an entry, 4 Mi keyed batches; past it entries are dropped until the file
/// rotates, and a restart meanwhile scans the idempotency window instead.
pub const KEY_INDEX_FILE_BYTES_MAX: u64 = 256 << 20;
/// How often the keyed-record index is fsynced and marked: a restart scans the log only
/// after the last mark, so about this much of it (and whatever was in flight).
pub const KEY_INDEX_MARK_EVERY_MS: u64 = 1_000;
/// Records buffered per SSE subscriber before it waits for the client to read.
pub const SSE_BUFFER_RECORDS: usize = 1_024;
/// Bytes one SSE tail reads per round, over all the partitions that have new records.
pub const SSE_READ_BYTES_MAX: usize = 4 << 20;
/// Consumer groups and committed offsets per group kept.
pub const GROUPS_MAX: usize = 10_000;
pub const GROUP_OFFSETS_MAX: usize = 100_000;

const _: () = assert!(CONSUME_LIMIT_DEFAULT <= CONSUME_LIMIT_MAX);
const _: () = assert!(EVENT_BYTES_MAX <= HTTP_BODY_BYTES_MAX);
const _: () = assert!(HTTP_BODY_BYTES_MAX <= BODY_BYTES_IN_FLIGHT_MAX);
const _: () = assert!(BODY_BYTES_IN_FLIGHT_MAX / 1024 <= u32::MAX as usize);
/// Largest processor-definition request (the SQL text and its JSON wrapping).
pub const SQL_BODY_BYTES_MAX: usize = 1 << 20;
/// Produce requests queued per partition before handlers wait (backpressure).
pub const PRODUCE_QUEUE_DEPTH: usize = 1_024;
/// Produce bodies up to this size are parsed on the async worker itself (not handed off).
pub const INLINE_PARSE_BYTES_MAX: usize = 64 << 10;
/// Damaged log ranges found at startup that are kept for topic describe and /metrics (each is
/// logged regardless): one per damaged segment, so a badly damaged dir cannot grow the list
/// past this.
pub const DAMAGE_REPORTS_MAX: usize = 10_000;
/// Topics listed per page of GET /v1/topics (each describes its partitions): the default and
/// the most a `limit` may ask for.
pub const TOPICS_PAGE_DEFAULT: usize = 1_000;
pub const TOPICS_PAGE_MAX: usize = 10_000;
/// Kafka listener: how long a frame may take to arrive once its size prefix has (slow senders
/// hold a buffer), and how long a connection may sit idle between requests (Kafka's default
/// `connections.max.idle.ms`).
pub const KAFKA_FRAME_READ_TIMEOUT_MS: u64 = 30_000;
pub const KAFKA_IDLE_TIMEOUT_MS: u64 = 10 * 60 * 1000;
/// Records one Fetch reads per partition (bytes are bounded by the request and CONSUME_BYTES_MAX).
pub const KAFKA_FETCH_RECORDS_MAX: usize = 100_000;
/// Idempotent producer states remembered (producer x partition), and batches kept per state
/// (Kafka keeps the last 5, its maximum of in-flight requests per connection).
pub const KAFKA_PRODUCERS_MAX: usize = 100_000;
pub const KAFKA_PRODUCER_BATCHES_KEPT: usize = 5;
/// Members of one Kafka consumer group.
pub const KAFKA_GROUP_MEMBERS_MAX: usize = 1_000;
/// Request bytes all Kafka connections may hold at once (frames read and not yet answered): a
/// size prefix first takes its share, waiting when the total is reached (backpressure), so many
/// connections each sending a frame near the body limit cannot exhaust memory.
pub const KAFKA_REQUEST_BYTES_IN_FLIGHT_MAX: usize = 256 << 20;
const _: () = assert!(HTTP_BODY_BYTES_MAX <= KAFKA_REQUEST_BYTES_IN_FLIGHT_MAX);

/// Server-Sent Events: a keep-alive comment this often, and records read per partition read.
pub const SSE_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);
pub const SSE_READ_RECORDS_MAX: usize = 256;
/// On shutdown, in-flight requests get this long to finish before the server exits anyway.
pub const SHUTDOWN_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// `kappa produce` sends a batch once it holds this many bytes (or `--batch` events).
pub const PRODUCE_CLI_BATCH_BYTES_MAX: usize = 16 << 20;

/// Series kept per metric family; beyond it new label sets are folded into `other`.
pub const METRIC_SERIES_MAX: usize = 10_000;
