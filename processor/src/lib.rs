//! `processor`: stream processors over the log — streaming SQL, event time, watermarks,
//! windows, state, checkpoints and exactly-once output. Reaches the log only through the
//! `Source` / `Sink` traits in `io`.
//!
//! Threads: each running processor is one std thread owned by this crate (the `Manager`
//! starts and stops them); `log-store` owns none. A processor thread sleeps on its input
//! partitions' listeners with a short timeout (the safe time advances with wall time while
//! the log is idle), so there is no busy polling.
#![forbid(unsafe_code)]

// The public surface: what a program embedding processors, the server and the tests use.
/// The checkpoint file (read by the fuzz target).
pub mod checkpoint;
/// The door to a log: `Log`, `Source`, `Sink`, and kappa's store, the in-memory log and Kafka.
pub mod io;
/// Every ceiling, by name.
pub mod limits;
/// What a processor does per record: the `Operator` trait, and `for_plan`.
pub mod operator;
/// The intermediate representation SQL compiles to.
pub mod plan;
/// Streaming SQL: the dialect, `compile`, table definitions and literals.
pub mod sql;
/// The runtime of one version: `Task`, `TaskSpec`, `Start`.
pub mod task;
/// Event-time text: parsing and RFC 3339 formatting.
pub mod timestamp;

// The rooms behind it.
mod builder;
mod calendar;
mod custom;
mod definition;
mod diff;
mod embedded;
mod error;
mod extract;
mod manager;
mod output;
mod state;
mod status;
mod value;
mod watermark;
mod window;

pub use builder::{hopping, session, stream, tumbling, Topology};
pub use custom::{Context, Processor, Record};
pub use definition::{is_reserved_name, CreateOptions, Definition, VersionDef};
pub use embedded::Embedded;
pub use error::{Error, Result};
pub use manager::{Manager, ReplayRequest};
pub use operator::{ResultRow, ResultsFilter};
pub use status::{RunStatus, Status, VersionStatus};
pub use task::{InputStatus, Start};
