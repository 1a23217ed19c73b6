//! Named ceilings for everything a processor sizes. Config may lower these, never raise them.

/// Longest SQL text accepted for one processor: a definition is a screenful, not a program.
pub const SQL_TEXT_BYTES_MAX: usize = 64 << 10;
/// Deepest expression tree (and parser recursion) accepted in processor SQL. The compiler,
/// the evaluator and sqlparser recurse once per level, and a left-deep `a+a+...+a` of ~880
/// terms overflowed a thread's stack and aborted the server (issue 10). 256 levels is far past
/// anything written by hand (a 200-way OR chain still fits) and a few MiB of stack at most.
pub const SQL_EXPR_DEPTH_MAX: usize = 256;
/// Stack of the thread that parses and compiles SQL: room for SQL_EXPR_DEPTH_MAX levels of the
/// compiler in a debug build, and for dropping the deepest tree that SQL_TEXT_BYTES_MAX allows
/// (~32k levels) after it is refused. Only touched pages are ever committed.
pub const SQL_COMPILE_STACK_BYTES: usize = 64 << 20;
/// Most (window, key) groups held open at once by one windowed aggregate; past it the processor
/// fails with `Error::Limit` instead of growing without bound.
pub const WINDOW_KEYS_MAX: usize = 1_000_000;
/// Most keys in one non-windowed GROUP BY table (the upsert table).
pub const TABLE_KEYS_MAX: usize = 1_000_000;
/// Most distinct values kept by one COUNT(DISTINCT x) accumulator.
pub const DISTINCT_VALUES_MAX: usize = 1_000_000;
/// Most windows one record may fall into (hopping size / slide).
pub const HOP_WINDOWS_PER_RECORD_MAX: u64 = 1_000;
/// Most rows kept in the materialized results view served by the results endpoint; the oldest
/// windows are evicted first.
pub const RESULTS_ROWS_MAX: usize = 100_000;
/// Records fetched from one input partition per read.
pub const FETCH_RECORDS_MAX: usize = 4_096;
/// Bytes fetched from one input partition per read (about).
pub const FETCH_BYTES_MAX: usize = 4 << 20;
/// Output records buffered before they are written to the sink.
pub const OUTPUT_BATCH_RECORDS_MAX: usize = 10_000;
/// Input records between two checkpoints (a checkpoint is also taken on shutdown).
pub const CHECKPOINT_INTERVAL_RECORDS: u64 = 100_000;
/// An idle processor checkpoints what it processed since the last checkpoint after this many
/// idle steps (about a second at IDLE_WAIT_MS), so a trickle of records does not serialize the
/// whole state after every burst.
pub const CHECKPOINT_IDLE_STEPS: u64 = 20;
/// Idle wait before re-checking the safe time: it advances with wall time while the log is idle.
pub const IDLE_WAIT_MS: u64 = 50;
/// Largest checkpoint file read back at restart.
pub const CHECKPOINT_BYTES_MAX: u64 = 1 << 30;
/// `'scan.watermark.idle-timeout'` when a table does not set it: an input partition that has not
/// been read for this long in log time stops holding the watermark back (DESIGN.md §3).
pub const WATERMARK_IDLE_TIMEOUT_MS_DEFAULT: u64 = 10_000;
/// Compiled size of one regular expression (`REGEXP_EXTRACT`): a pattern cannot make the
/// compiler or the matcher use more memory than this.
pub const REGEX_BYTES_MAX: usize = 1 << 20;
/// Rows of an OVER aggregate waiting for the watermark (rows above it: about the watermark
/// delay's worth of input), and rows one OVER RANGE frame may hold; past either the processor
/// fails with a limit error instead of growing without bound.
pub const OVER_PENDING_ROWS_MAX: usize = 1_000_000;
pub const OVER_FRAME_ROWS_MAX: usize = 100_000;
/// Rows a join holds: a temporal join's left rows waiting for the watermark plus the versions
/// of its right table, an interval join's rows of both sides that can still match. Past it the
/// processor fails with a limit error instead of growing without bound.
pub const JOIN_ROWS_MAX: usize = 1_000_000;
/// Partition keys one Top-N (or deduplication) holds, and rows it holds over all of them; past
/// either the processor fails with a limit error. Flink keeps the same state (the first n rows
/// of every partition key), so a deduplication over an unbounded key space is bounded here.
pub const TOP_N_KEYS_MAX: usize = 1_000_000;
pub const TOP_N_ROWS_MAX: usize = 1_000_000;
/// Largest n of `rn <= n`: each record can rewrite every rank below its own, so n bounds the
/// output one record causes.
pub const TOP_N_ROWS_PER_KEY_MAX: u64 = 10_000;
/// Most partition keys one OVER aggregate keeps (each holds its frame and the time of its last
/// row, which decides lateness), as WINDOW_KEYS_MAX for windows.
pub const OVER_KEYS_MAX: usize = 1_000_000;
/// A processor stopped by a full disk retries (from its checkpoint) this often.
pub const DISK_FULL_RETRY_MS: u64 = 1_000;
/// Records read to infer the column types of an input without `CREATE TABLE`.
pub const SCHEMA_SAMPLE_RECORDS_MAX: usize = 1_000;
/// Most input partitions one processor reads.
pub const INPUT_PARTITIONS_MAX: usize = 4_096;
/// Rows a bounded run (a backfill with ORDER BY and no LIMIT) holds until it finishes; with a
/// LIMIT n it holds at most about 2n.
pub const BOUNDED_HELD_ROWS_MAX: usize = 1_000_000;
/// Most processors in one data dir (one thread each).
pub const PROCESSORS_MAX: usize = 256;

const _: () = assert!(OUTPUT_BATCH_RECORDS_MAX <= log_store::BATCH_RECORDS_MAX);
const _: () = assert!(FETCH_RECORDS_MAX <= OUTPUT_BATCH_RECORDS_MAX);

/// Versions kept per processor (live, replays, backfills): each is a running thread.
pub const VERSIONS_MAX: usize = 16;
/// Records an output alias copies per partition per pump (promote), and a diff reads per call.
pub const FORWARD_BATCH_RECORDS_MAX: usize = 10_000;
/// Rows of each kind listed in a diff; past it the diff says `"truncated": true` (the counts
/// still count every row).
pub const DIFF_EXAMPLES_MAX: usize = 20;
/// Output records read per side when diffing two versions.
pub const DIFF_RECORDS_MAX: usize = 200_000;

/// The Kafka connector (`'connector' = 'kafka'`): a request to a broker is abandoned after this
/// long (connect, send, and its response).
pub const KAFKA_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Largest response read from a broker (fetches ask for about FETCH_BYTES_MAX).
pub const KAFKA_RESPONSE_BYTES_MAX: usize = 64 << 20;
/// A Kafka record stamped this long ago (by the broker's clock, read on this machine's) is taken
/// as readable: what lets a quiet partition's safe time advance (`io::kafka::source`). It must
/// exceed the clocks' disagreement plus the time a record takes to reach the high watermark.
pub const KAFKA_SAFE_TIME_DELAY_MS: u64 = 2_000;
/// The Kafka safe time is asked of the brokers at most this often.
pub const KAFKA_SAFE_TIME_REFRESH_MS: u64 = 20;
/// Largest batch the Kafka connector produces in one request: below a broker's default
/// `message.max.bytes` (1 MiB); larger outputs go in several requests.
pub const KAFKA_PRODUCE_BATCH_BYTES_MAX: usize = 512 << 10;
