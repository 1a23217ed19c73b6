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
/// Open connections; more wait in the accept backlog.
pub const CONNECTIONS_MAX: usize = 4_096;
/// Header read timeout (slowloris defence).
pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Idempotency keys remembered (per window); older ones are forgotten first.
pub const IDEMPOTENCY_KEYS_MAX: usize = 1_000_000;
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 256;
pub const IDEMPOTENCY_WINDOW_MS_DEFAULT: u64 = 10 * 60 * 1000;
/// Records buffered per SSE subscriber before it waits for the client to read.
pub const SSE_BUFFER_RECORDS: usize = 1_024;
/// Consumer groups and committed offsets per group kept.
pub const GROUPS_MAX: usize = 10_000;
pub const GROUP_OFFSETS_MAX: usize = 100_000;

const _: () = assert!(CONSUME_LIMIT_DEFAULT <= CONSUME_LIMIT_MAX);
const _: () = assert!(EVENT_BYTES_MAX <= HTTP_BODY_BYTES_MAX);
/// Largest processor-definition request (the SQL text and its JSON wrapping).
pub const SQL_BODY_BYTES_MAX: usize = 1 << 20;
/// Produce requests queued per partition before handlers wait (backpressure).
pub const PRODUCE_QUEUE_DEPTH: usize = 1_024;
/// Produce bodies up to this size are parsed on the async worker itself (not handed off).
pub const INLINE_PARSE_BYTES_MAX: usize = 64 << 10;
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
