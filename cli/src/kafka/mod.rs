//! The Kafka wire protocol listener (`kappa serve --kafka-listen ADDR`, DESIGN.md §8): the same
//! topics, append path, durability, limits, consumer groups and tokens as the HTTP API, spoken in
//! Kafka's protocol so existing Kafka clients produce, consume and commit against kappa.
//!
//! The codec is the `kafka-protocol` crate (generated from Kafka's message schemas); this module
//! only maps decoded requests onto the server's stores. `connection.rs` owns the framing and the
//! per-connection state, `versions.rs` the table of APIs and versions answered, and one file per
//! noun answers its requests.

mod batch;
mod connection;
mod coordinator;
mod fetch;
mod metadata;
mod offsets;
mod produce;
mod producers;
mod sasl;
mod topics;
mod versions;

use std::sync::Arc;

use kafka_protocol::protocol::StrBytes;
use tokio::net::TcpListener;

use crate::state::AppState;

pub use connection::serve;
pub use producers::Producers;

/// The one broker kappa presents itself as.
pub const NODE_ID: i32 = 0;
/// The cluster id reported in Metadata.
pub const CLUSTER_ID: &str = "kappa";

/// How the listener presents itself and creates topics.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// The host and port given to clients in Metadata and FindCoordinator.
    pub advertise_host: String,
    pub advertise_port: i32,
    /// Create unknown topics on Metadata/Produce (`--kafka-auto-create`).
    pub auto_create: bool,
    /// Partitions of an auto-created topic, or of a create with `num_partitions = -1`.
    pub default_partitions: u32,
}

/// What every Kafka request handler shares.
pub struct Broker {
    pub state: Arc<AppState>,
    pub config: KafkaConfig,
    pub groups: coordinator::Coordinator,
    pub producers: Arc<Producers>,
}

impl Broker {
    pub fn new(state: Arc<AppState>, config: KafkaConfig, producers: Arc<Producers>) -> Broker {
        Broker {
            state,
            config,
            groups: coordinator::Coordinator::default(),
            producers,
        }
    }

    fn host(&self) -> StrBytes {
        StrBytes::from_string(self.config.advertise_host.clone())
    }
}

/// Binds the Kafka listener (so a bad address fails the start) and returns it.
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    use anyhow::Context;
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the Kafka listener {addr}"))
}

/// A Kafka string from a Rust one.
fn kstr(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// The Kafka error code for a log-store error (the Kafka counterpart of `http/error.rs`).
fn error_code(e: &log_store::Error) -> i16 {
    use kafka_protocol::ResponseError as K;
    use log_store::Error as E;
    let k = match e {
        _ if e.is_disk_full() => K::KafkaStorageError,
        E::Io { .. } => K::KafkaStorageError,
        E::Corrupt { .. } => K::CorruptMessage,
        E::OffsetOutOfRange { .. } => K::OffsetOutOfRange,
        E::UnknownTopic { .. } | E::UnknownPartition { .. } => K::UnknownTopicOrPartition,
        E::TopicExists { .. } => K::TopicAlreadyExists,
        E::InvalidName { .. } => K::InvalidTopicException,
        E::InvalidConfig { .. } => K::InvalidConfig,
        E::RecordTooLarge { .. } | E::BatchTooLarge { .. } | E::BatchBytesTooLarge { .. } => {
            K::MessageTooLarge
        }
        E::InvalidRecord { .. } => K::InvalidRecord,
        #[allow(unreachable_patterns)]
        _ => K::UnknownServerError,
    };
    k.code()
}

/// A stable topic id derived from the name (FNV-1a, 128 bits), never the nil id.
fn topic_id(name: &str) -> uuid::Uuid {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in name.as_bytes() {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    uuid::Uuid::from_u128(h.max(1))
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("blocking Kafka work does not panic")
}
