//! `processor`: stream processors over the log — streaming SQL, event time, watermarks,
//! windows, state, checkpoints and exactly-once output. Reaches the log only through the
//! `Source` / `Sink` traits in `io`.
//!
//! Threads: each running processor is one std thread owned by this crate (the `Manager`
//! starts and stops them); `log-store` owns none. A processor thread sleeps on its input
//! partitions' listeners with a short timeout (the safe time advances with wall time while
//! the log is idle), so there is no busy polling.
#![forbid(unsafe_code)]

pub mod builder;
pub mod calendar;
pub mod checkpoint;
pub mod custom;
pub mod definition;
pub mod diff;
pub mod embedded;
pub mod error;
pub mod extract;
pub mod io;
pub mod limits;
pub mod manager;
pub mod operator;
pub mod output;
pub mod plan;
pub mod sql;
pub mod state;
pub mod status;
pub mod task;
pub mod timestamp;
pub mod value;
pub mod watermark;
pub mod window;

pub use builder::{hopping, session, stream, tumbling, Topology};
pub use custom::{Context, Processor, Record};
pub use definition::{CreateOptions, Definition, VersionDef};
pub use embedded::Embedded;
pub use error::{Error, Result};
pub use manager::{Manager, ReplayRequest};
pub use operator::ResultsFilter;
pub use status::{RunStatus, Status, VersionStatus};
pub use task::{InputStatus, Start};
