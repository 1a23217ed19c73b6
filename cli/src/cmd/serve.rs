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
use crate::idempotency::Idempotency;
use crate::limits;
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
    /// Bearer token required on every request but /healthz (repeatable).
    #[arg(long = "token", env = "KAPPA_TOKEN", value_delimiter = ',')]
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
    /// How long an Idempotency-Key is remembered, in ms.
    #[arg(long, default_value_t = limits::IDEMPOTENCY_WINDOW_MS_DEFAULT)]
    pub idempotency_window_ms: u64,
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
        })
    }
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
    let tokens: Vec<String> = args
        .tokens
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let (data, window_ms) = (args.data.clone(), args.idempotency_window_ms);
    let (store, processors, idempotency, keys) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let store = LogStore::open(&data, StoreConfig { fsync })
                .with_context(|| format!("opening data directory {}", data.display()))?;
            let idempotency = Idempotency::new(window_ms);
            let keys = idempotency
                .recover(&store, crate::time::now_ms())
                .context("recovering idempotency keys from the log")?;
            let store = Arc::new(store);
            let processors = processor::Manager::open(store.clone(), &data.join("processors"))
                .context("starting processors")?;
            Ok((store, Arc::new(processors), idempotency, keys))
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
    tracing::info!(%addr, data = %args.data.display(), fsync = %args.fsync, "kappa serving");
    if let Some(ready) = ready {
        let _ = ready.send(Started {
            addr,
            shutdown: shutdown.clone(),
        });
    }
    let background = tokio::spawn(housekeeping(store.clone(), fsync, shutdown.clone()));
    let signals = tokio::spawn(wait_for_signal(shutdown.clone()));
    crate::http::serve(state.clone(), listener).await;
    signals.abort();
    let _ = background.await;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        processors.shutdown().context("stopping processors")?;
        store.flush_all().context("final flush")?;
        Ok(())
    })
    .await??;
    tracing::info!("kappa stopped cleanly");
    Ok(())
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

/// Periodic work: the `interval` fsync policy's flushes and retention.
async fn housekeeping(store: Arc<LogStore>, fsync: FsyncPolicy, shutdown: CancellationToken) {
    const RETENTION_EVERY: Duration = Duration::from_secs(30);
    let flush_every = match fsync {
        FsyncPolicy::Interval(d) => d,
        _ => RETENTION_EVERY,
    };
    let mut flush_tick = tokio::time::interval(flush_every);
    let mut retention_tick = tokio::time::interval(RETENTION_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
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
