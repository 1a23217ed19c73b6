//! `kappa serve`: open the data dir, start the HTTP server, run until SIGINT/SIGTERM, then stop
//! accepting, finish in-flight requests, stop and checkpoint processors, flush, exit 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use log_store::{FsyncPolicy, LogStore, StoreConfig};
use tokio_util::sync::CancellationToken;

use crate::groups::Groups;
use crate::keyindex::KeyIndex;
use crate::limits;
use crate::limits::KEY_INDEX_MARK_EVERY_MS;
use crate::produce::idempotency::Idempotency;
use crate::state::{AppState, Limits};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Data directory (created if missing; locked while the server runs).
    #[arg(long, default_value = "./kappa-data")]
    pub data: PathBuf,
    /// Address to listen on; port 0 lets the OS pick (the first stdout line names it).
    #[arg(long, env = "KAPPA_LISTEN", default_value = "127.0.0.1:7070")]
    pub listen: SocketAddr,
    /// always (acknowledge after flush, group commit), interval:<ms>, or never.
    #[arg(long, default_value = "always")]
    pub fsync: String,
    /// Bearer token required on every request but /healthz (repeatable; KAPPA_TOKEN holds one
    /// token, commas included).
    #[arg(long = "token", env = "KAPPA_TOKEN", hide_env_values = true)]
    pub tokens: Vec<String>,
    /// Largest request body in bytes (at most 64 MiB).
    #[arg(long, default_value_t = limits::HTTP_BODY_BYTES_MAX)]
    pub max_body_bytes: usize,
    /// Largest single event in bytes (at most 1 MiB).
    #[arg(long, default_value_t = limits::EVENT_BYTES_MAX)]
    pub max_event_bytes: usize,
    /// Most events in one produce request (at most 100,000).
    #[arg(long, default_value_t = limits::BATCH_EVENTS_MAX)]
    pub max_events_per_request: usize,
    /// Largest consume `limit` (at most 100,000).
    #[arg(long, default_value_t = limits::CONSUME_LIMIT_MAX)]
    pub max_consume_limit: usize,
    /// How long a client may take to send its request headers, in ms (slowloris defence).
    #[arg(long, default_value_t = limits::HEADER_READ_TIMEOUT_MS)]
    pub header_read_timeout_ms: u64,
    /// Most connections served normally (at most 4,096); past it, /healthz is still answered
    /// and other requests get 503 with Retry-After.
    #[arg(long, default_value_t = limits::CONNECTIONS_MAX)]
    pub max_connections: usize,
    /// Most normal connections from one client address (at most 1,024); past it, as past
    /// --max-connections.
    #[arg(long, default_value_t = limits::CONNECTIONS_PER_IP_MAX)]
    pub max_connections_per_ip: usize,
    /// How long a request body may take to arrive, in ms, on top of its length at 1 KiB/s
    /// (slow-body defence; at most 10,000).
    #[arg(long, default_value_t = limits::BODY_READ_GRACE_MS)]
    pub body_read_timeout_ms: u64,
    /// Request body bytes buffered at once across all requests (at most 512 MiB); past it a
    /// request waits, then gets 503 with Retry-After.
    #[arg(long, default_value_t = limits::BODY_BYTES_IN_FLIGHT_MAX)]
    pub max_body_bytes_in_flight: usize,
    /// Most topics created over HTTP (at most 10,000, the store's TOPICS_MAX).
    #[arg(long, default_value_t = log_store::TOPICS_MAX)]
    pub max_topics: usize,
    /// How long an Idempotency-Key is remembered, in ms.
    #[arg(long, default_value_t = limits::IDEMPOTENCY_WINDOW_MS_DEFAULT)]
    pub idempotency_window_ms: u64,
    /// Serve the Kafka wire protocol on this address too (off by default); port 0 lets the OS
    /// pick (the second stdout line names it).
    #[arg(long)]
    pub kafka_listen: Option<SocketAddr>,
    /// HOST:PORT given to Kafka clients in Metadata (default: the Kafka listen address).
    #[arg(long)]
    pub kafka_advertise: Option<String>,
    /// Create unknown topics when Kafka clients ask for them (Metadata, Produce).
    #[arg(long)]
    pub kafka_auto_create: bool,
    /// Partitions of a topic created over Kafka without a count (auto-create, or -1).
    #[arg(long, default_value_t = 1)]
    pub default_partitions: u32,
}

impl Args {
    /// The defaults of every flag, with this data dir and address (for `kappa demo`).
    pub fn defaults(data: PathBuf, listen: SocketAddr) -> Args {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: Args,
        }
        let mut args = Wrapper::parse_from(["kappa"]).args;
        args.data = data;
        args.listen = listen;
        args
    }

    fn limits(&self) -> anyhow::Result<Limits> {
        let check = |name: &str, v: usize, max: usize| {
            if v == 0 || v > max {
                anyhow::bail!("--{name} must be between 1 and {max} (got {v})");
            }
            Ok(v)
        };
        if self.max_body_bytes_in_flight < self.max_body_bytes {
            anyhow::bail!(
                "--max-body-bytes-in-flight ({}) must be at least --max-body-bytes ({})",
                self.max_body_bytes_in_flight,
                self.max_body_bytes
            );
        }
        Ok(Limits {
            body_bytes_max: check(
                "max-body-bytes",
                self.max_body_bytes,
                limits::HTTP_BODY_BYTES_MAX,
            )?,
            event_bytes_max: check(
                "max-event-bytes",
                self.max_event_bytes,
                limits::EVENT_BYTES_MAX,
            )?,
            events_max: check(
                "max-events-per-request",
                self.max_events_per_request,
                limits::BATCH_EVENTS_MAX,
            )?,
            consume_limit_max: check(
                "max-consume-limit",
                self.max_consume_limit,
                limits::CONSUME_LIMIT_MAX,
            )?,
            header_read_timeout_ms: check(
                "header-read-timeout-ms",
                self.header_read_timeout_ms as usize,
                limits::HEADER_READ_TIMEOUT_MS as usize,
            )? as u64,
            connections_max: check(
                "max-connections",
                self.max_connections,
                limits::CONNECTIONS_MAX,
            )?,
            connections_per_ip_max: check(
                "max-connections-per-ip",
                self.max_connections_per_ip,
                limits::CONNECTIONS_PER_IP_MAX,
            )?,
            body_read_grace_ms: check(
                "body-read-timeout-ms",
                self.body_read_timeout_ms as usize,
                limits::BODY_READ_GRACE_MS as usize,
            )? as u64,
            body_bytes_in_flight_max: check(
                "max-body-bytes-in-flight",
                self.max_body_bytes_in_flight,
                limits::BODY_BYTES_IN_FLIGHT_MAX,
            )?,
            topics_max: check("max-topics", self.max_topics, log_store::TOPICS_MAX)?,
        })
    }
}

/// The tokens as given, refusing an empty or blank one: it used to be dropped silently, so
/// `--token ""` (or an unset variable in a script) started a server with auth off (issue 10).
fn check_tokens(tokens: &[String]) -> anyhow::Result<Vec<String>> {
    for t in tokens {
        if t.trim().is_empty() {
            anyhow::bail!(
                "--token / KAPPA_TOKEN is empty or blank: refusing to start with auth silently off \
                 (leave the flag and the variable out to run without auth)"
            );
        }
        if t.trim() != t || t.chars().any(char::is_control) {
            anyhow::bail!(
                "--token / KAPPA_TOKEN must not have surrounding whitespace or control characters"
            );
        }
    }
    Ok(tokens.to_vec())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    crate::logging::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve(args, None))
}

/// A running server: where it listens and how to stop it.
pub struct Started {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
}

/// Runs the server until SIGINT/SIGTERM or until `ready`'s receiver cancels the token it gets.
pub async fn serve(
    args: Args,
    ready: Option<tokio::sync::oneshot::Sender<Started>>,
) -> anyhow::Result<()> {
    let limits = args.limits()?;
    let fsync: FsyncPolicy = args.fsync.parse().context("--fsync")?;
    let tokens = check_tokens(&args.tokens)?;
    let (data, window_ms) = (args.data.clone(), args.idempotency_window_ms);
    let producers = Arc::new(crate::kafka::Producers::new(crate::time::now_ms()));
    let recovering = producers.clone();
    let (store, processors, idempotency, keys, key_index) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let store = LogStore::open(&data, StoreConfig { fsync })
                .with_context(|| format!("opening data directory {}", data.display()))?;
            let idempotency = Idempotency::new(window_ms);
            let started = std::time::Instant::now();
            let since = crate::time::now_ms().saturating_sub(window_ms);
            let keys_dir = data.join("keys");
            let loaded = KeyIndex::load(&keys_dir);
            let (mut found, mut batches) = (std::collections::HashMap::new(), 0u64);
            let (key_index, damage, stats) =
                KeyIndex::recover(&keys_dir, window_ms, &store, since, loaded, |t, p, r| {
                    crate::produce::idempotency::collect(t, p, r, &mut found);
                    batches += u64::from(recovering.recover_record(t, p, r));
                })
                .context("recovering idempotency keys and Kafka producer sequences from the log")?;
            let keys = idempotency.install(found, damage);
            tracing::info!(
                from_index = stats.from_index,
                indexed_reads = stats.indexed_reads,
                scanned = stats.scanned,
                keyed = stats.keyed,
                kafka_batches = batches,
                ms = started.elapsed().as_millis() as u64,
                "read the idempotency window"
            );
            let store = Arc::new(store);
            let processors = processor::Manager::open(store.clone(), &data.join("processors"))
                .context("starting processors")?;
            Ok((
                store,
                Arc::new(processors),
                idempotency,
                keys,
                Arc::new(key_index),
            ))
        })
        .await??;
    let groups = Groups::open(&args.data.join("groups"))?;
    tracing::info!(keys, "idempotency keys recovered from the log");
    let shutdown = CancellationToken::new();
    let state = Arc::new(AppState::new(
        store.clone(),
        processors.clone(),
        groups,
        idempotency,
        key_index.clone(),
        limits,
        tokens,
        shutdown.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    let kafka = match args.kafka_listen {
        None => None,
        Some(at) => {
            let listener = crate::kafka::bind(at).await?;
            let kafka_addr = listener.local_addr()?;
            let config = kafka_config(&args, kafka_addr)?;
            {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                writeln!(out, "kafka listening on {kafka_addr}")?;
                out.flush()?;
            }
            tracing::info!(%kafka_addr, advertised = %format!("{}:{}", config.advertise_host, config.advertise_port), "kafka listener serving");
            let broker = Arc::new(crate::kafka::Broker::new(state.clone(), config, producers));
            Some(tokio::spawn(crate::kafka::serve(broker, listener)))
        }
    };
    tracing::info!(%addr, data = %args.data.display(), fsync = %args.fsync, "kappa serving");
    if let Some(ready) = ready {
        let _ = ready.send(Started {
            addr,
            shutdown: shutdown.clone(),
        });
    }
    let background = tokio::spawn(housekeeping(
        store.clone(),
        key_index.clone(),
        fsync,
        shutdown.clone(),
    ));
    let signals = tokio::spawn(wait_for_signal(shutdown.clone()));
    crate::http::serve(state.clone(), listener).await;
    if let Some(kafka) = kafka {
        let _ = kafka.await;
    }
    signals.abort();
    let _ = background.await;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        processors.shutdown().context("stopping processors")?;
        store.flush_all().context("final flush")?;
        // Nothing is in flight now: the next start reads the window from the index only.
        key_index
            .mark(store.safe_time_ms())
            .context("marking the keyed-record index")?;
        Ok(())
    })
    .await??;
    tracing::info!("kappa stopped cleanly");
    Ok(())
}

/// The Kafka listener's settings from the flags.
fn kafka_config(args: &Args, bound: SocketAddr) -> anyhow::Result<crate::kafka::KafkaConfig> {
    let (host, port) = match &args.kafka_advertise {
        None => (bound.ip().to_string(), i32::from(bound.port())),
        Some(a) => {
            let (h, p) = a
                .rsplit_once(':')
                .with_context(|| format!("--kafka-advertise {a:?}: expected HOST:PORT"))?;
            let port: u16 = p
                .parse()
                .with_context(|| format!("--kafka-advertise {a:?}: bad port"))?;
            (h.to_string(), i32::from(port))
        }
    };
    if args.default_partitions == 0 || args.default_partitions > log_store::PARTITIONS_MAX {
        anyhow::bail!(
            "--default-partitions must be between 1 and {}",
            log_store::PARTITIONS_MAX
        );
    }
    Ok(crate::kafka::KafkaConfig {
        advertise_host: host,
        advertise_port: port,
        auto_create: args.kafka_auto_create,
        default_partitions: args.default_partitions,
    })
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        _ = shutdown.cancelled() => {}
    }
    shutdown.cancel();
}

/// Periodic work: the `interval` fsync policy's flushes, retention, and the keyed-record
/// index's marks.
async fn housekeeping(
    store: Arc<LogStore>,
    key_index: Arc<KeyIndex>,
    fsync: FsyncPolicy,
    shutdown: CancellationToken,
) {
    const RETENTION_EVERY: Duration = Duration::from_secs(30);
    let flush_every = match fsync {
        FsyncPolicy::Interval(d) => d,
        _ => RETENTION_EVERY,
    };
    let mut flush_tick = tokio::time::interval(flush_every);
    let mut retention_tick = tokio::time::interval(RETENTION_EVERY);
    let mut mark_tick = tokio::time::interval(Duration::from_millis(KEY_INDEX_MARK_EVERY_MS));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = mark_tick.tick() => {
                let (s, k) = (store.clone(), key_index.clone());
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || k.mark(s.safe_time_ms())).await {
                    tracing::warn!(error = %e, "marking the keyed-record index failed; the next start scans more of the log");
                }
            }
            _ = flush_tick.tick(), if matches!(fsync, FsyncPolicy::Interval(_)) => {
                let s = store.clone();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.flush_all()).await {
                    tracing::error!(error = %e, "interval flush failed");
                }
            }
            _ = retention_tick.tick() => {
                let s = store.clone();
                match tokio::task::spawn_blocking(move || s.apply_retention()).await {
                    Ok(Ok(n)) if n > 0 => tracing::info!(segments = n, "retention deleted segments"),
                    Ok(Err(e)) => tracing::error!(error = %e, "retention failed"),
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};

    use clap::Parser;
    use http_body_util::BodyExt;
    use log_store::{AppendRecord, FaultInjector, TopicConfig};

    use super::*;

    /// Fails every flush of topic `bad`'s files while set (the store's fault hook).
    #[derive(Debug, Default)]
    struct FlushFails(AtomicBool);

    impl FaultInjector for FlushFails {
        fn before_flush(&self, path: &Path) -> io::Result<()> {
            let bad = path.components().any(|c| c.as_os_str() == "bad");
            match bad && self.0.load(Ordering::Relaxed) {
                true => Err(io::Error::from_raw_os_error(libc::EIO)),
                false => Ok(()),
            }
        }
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: Args,
    }

    /// Issue 10: a failed flush fails its partition only (log-store's disk_full tests show the
    /// safe time moving on); here, that topic describe and /metrics say so.
    #[test]
    fn a_failed_flush_shows_in_topic_describe_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let faults = Arc::new(FlushFails::default());
        let store = Arc::new(
            LogStore::open_with_faults(
                dir.path(),
                StoreConfig {
                    fsync: FsyncPolicy::Always,
                },
                faults.clone(),
            )
            .unwrap(),
        );
        for name in ["bad", "good"] {
            store.create_topic(name, TopicConfig::default()).unwrap();
        }
        let rec = [AppendRecord {
            value: b"1",
            ..AppendRecord::default()
        }];
        let bad = store.topic("bad").unwrap();
        bad.partitions()[0].append(&rec).unwrap();
        faults.0.store(true, Ordering::Relaxed);
        let e = bad.partitions()[0].append(&rec).unwrap_err();
        assert!(e.to_string().contains("flush"), "{e}");
        store.topic("good").unwrap().partitions()[0]
            .append(&rec)
            .unwrap();

        let described = crate::http::handlers::topics::describe_json(&bad);
        let failed = described["partitions"][0]["failed"].as_str().unwrap();
        assert!(
            failed.contains("os error 5"),
            "the reason is shown: {described}"
        );
        let good = crate::http::handlers::topics::describe_json(&store.topic("good").unwrap());
        assert!(good["partitions"][0]["failed"].is_null(), "{good}");

        let args = Cli::parse_from(["kappa", "--data", dir.path().to_str().unwrap()]).serve;
        let key_index = KeyIndex::recover(
            &dir.path().join("keys"),
            60_000,
            &store,
            0,
            KeyIndex::load(&dir.path().join("keys")),
            |_, _, _| {},
        )
        .unwrap()
        .0;
        let state = AppState::new(
            store.clone(),
            Arc::new(
                processor::Manager::open(store.clone(), &dir.path().join("processors")).unwrap(),
            ),
            Groups::open(&dir.path().join("groups")).unwrap(),
            Idempotency::new(60_000),
            Arc::new(key_index),
            args.limits().unwrap(),
            Vec::new(),
            CancellationToken::new(),
        );
        let body = crate::http::handlers::meta::metrics(&state).into_body();
        let text = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body.collect())
            .unwrap()
            .to_bytes();
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("kappa_partition_failed{topic=\"bad\",partition=\"0\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("kappa_partition_failed{topic=\"good\",partition=\"0\"} 0"),
            "{text}"
        );
    }
}
