//! `kappa consume TOPIC --from earliest|latest|OFFSET|TIME [--follow] [--partition P]`: prints
//! NDJSON lines `{"partition","offset","timestamp","key","value"}` to stdout.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use event_listener::Listener;

use anyhow::Context;
use log_store::{LogStore, Offset, Partition, StoreConfig};

use crate::client::{encode, runtime, Client, ServerArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub topic: String,
    /// earliest, latest, an offset (in every partition), or a time (RFC 3339 or epoch ms).
    #[arg(long, default_value = "earliest")]
    pub from: String,
    /// Keep waiting for new records.
    #[arg(long)]
    pub follow: bool,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<u32>,
    /// Stop after this many records.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Consume as this consumer group (as `kcat -G`): start at the group's committed offsets
    /// (`--from` where it has none) and commit the next offset after each batch printed.
    #[arg(long, value_name = "GROUP", conflicts_with = "data")]
    pub group: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Read directly from this data dir (when no server holds it).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// Records asked for per request.
const FETCH_RECORDS: usize = 10_000;

enum From {
    Earliest,
    Latest,
    Offset(u64),
    Time(u64),
}

fn parse_from(s: &str) -> anyhow::Result<From> {
    Ok(match s {
        "earliest" => From::Earliest,
        "latest" => From::Latest,
        _ if s.chars().all(|c| c.is_ascii_digit()) && s.len() < 12 => From::Offset(s.parse()?),
        _ => From::Time(crate::time::parse_time_ms(s).with_context(|| {
            format!("--from {s:?}: expected earliest, latest, an offset or a time")
        })?),
    })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let from = parse_from(&args.from)?;
    let mut left = args.limit.unwrap_or(u64::MAX);
    let mut out = std::io::stdout().lock();
    match &args.data {
        Some(dir) => embedded(&args, dir, from, &mut left, &mut out),
        None => runtime()?.block_on(remote(&args, from, &mut left, &mut out)),
    }
}

async fn remote(
    args: &Args,
    from: From,
    left: &mut u64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut c = Client::new(&args.server)?;
    let topic = encode(&args.topic);
    let described = c.get_json(&format!("/v1/topics/{topic}")).await?;
    let mut parts: Vec<(u64, u64)> = Vec::new(); // (partition, next offset)
    for p in described["partitions"].as_array().into_iter().flatten() {
        let id = p["partition"].as_u64().unwrap_or(0);
        if args.partition.is_some_and(|want| want as u64 != id) {
            continue;
        }
        let (start, end) = (
            p["start_offset"].as_u64().unwrap_or(0),
            p["end_offset"].as_u64().unwrap_or(0),
        );
        let next = match from {
            From::Earliest => start,
            From::Latest => end,
            From::Offset(o) => o.max(start),
            From::Time(t) => {
                let body = c
                    .call(
                        hyper::Method::GET,
                        &format!("/v1/topics/{topic}/events?partition={id}&from_time={t}&limit=1"),
                        "",
                        Default::default(),
                    )
                    .await?;
                serde_json::from_slice::<serde_json::Value>(
                    body.split(|b| *b == b'\n').next().unwrap_or(b"{}"),
                )
                .ok()
                .and_then(|v| v["offset"].as_u64())
                .unwrap_or(end)
            }
        };
        let next = committed(&mut c, args.group.as_deref(), &args.topic, id)
            .await?
            .map_or(next, |o| o.max(start));
        parts.push((id, next));
    }
    if args.partition.is_some() && parts.is_empty() {
        anyhow::bail!(
            "topic {} has no partition {}",
            args.topic,
            args.partition.unwrap_or(0)
        );
    }
    let wait_ms = if parts.len() <= 1 { 5_000 } else { 200 };
    loop {
        let mut got_any = false;
        for (id, next) in parts.iter_mut() {
            let wait = if args.follow { wait_ms } else { 0 };
            let limit = FETCH_RECORDS.min(*left as usize);
            let path = format!("/v1/topics/{topic}/events?partition={id}&offset={next}&limit={limit}&wait_ms={wait}");
            let body = c
                .call(hyper::Method::GET, &path, "", Default::default())
                .await?;
            let before = *next;
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(line)?;
                *next = v["offset"].as_u64().unwrap_or(*next) + 1;
                out.write_all(line)?;
                out.write_all(b"\n")?;
                got_any = true;
                *left -= 1;
                if *left == 0 {
                    break;
                }
            }
            if *next != before {
                // Printed (and flushed) first, committed after: at-least-once, as kcat -G.
                out.flush()?;
                commit(&mut c, args.group.as_deref(), &args.topic, *id, *next).await?;
            }
            if *left == 0 {
                return Ok(());
            }
        }
        out.flush()?;
        if !got_any && !args.follow {
            return Ok(());
        }
    }
}

/// The group's committed offset for one partition, if the group has one.
async fn committed(
    c: &mut Client,
    group: Option<&str>,
    topic: &str,
    partition: u64,
) -> anyhow::Result<Option<u64>> {
    let Some(group) = group else { return Ok(None) };
    let path = format!("/v1/groups/{}", encode(group));
    let (status, body) = c
        .send(hyper::Method::GET, &path, "", Default::default())
        .await?;
    // A group that has never committed does not exist yet: start at --from.
    if status == hyper::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    anyhow::ensure!(status.is_success(), "GET {path}: {status}");
    let described: serde_json::Value = serde_json::from_slice(&body)?;
    Ok(described["offsets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["topic"] == topic && o["partition"].as_u64() == Some(partition))
        .and_then(|o| o["offset"].as_u64()))
}

async fn commit(
    c: &mut Client,
    group: Option<&str>,
    topic: &str,
    partition: u64,
    next: u64,
) -> anyhow::Result<()> {
    let Some(group) = group else { return Ok(()) };
    let body = serde_json::json!({"topic": topic, "partition": partition, "offset": next});
    c.send_json(
        hyper::Method::POST,
        &format!("/v1/groups/{}/offsets", encode(group)),
        &body,
    )
    .await
    .with_context(|| {
        format!("committing offset {next} of {topic}/{partition} for group {group}")
    })?;
    Ok(())
}

fn embedded(
    args: &Args,
    dir: &std::path::Path,
    from: From,
    left: &mut u64,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let store = LogStore::open(dir, StoreConfig::default())
        .with_context(|| format!("opening {}", dir.display()))?;
    let topic = store.topic(&args.topic)?;
    let mut parts: Vec<(&Partition, Offset)> = Vec::new();
    for p in topic
        .partitions()
        .iter()
        .filter(|p| args.partition.is_none_or(|want| want == p.id().0))
    {
        let next = match from {
            From::Earliest => p.start_offset(),
            From::Latest => p.end_offset(),
            From::Offset(o) => Offset(o.max(p.start_offset().0)),
            From::Time(t) => p.offset_for_timestamp(t)?,
        };
        parts.push((p, next));
    }
    loop {
        let listeners: Vec<_> = parts.iter().map(|(p, _)| p.listen()).collect();
        let mut got_any = false;
        for (p, next) in parts.iter_mut() {
            for r in p.read(*next, FETCH_RECORDS.min(*left as usize), 16 << 20)? {
                let mut line = Vec::new();
                crate::http::handlers::events::record_line(p.id().0, &r, &mut line);
                out.write_all(&line)?;
                *next = Offset(r.offset + 1);
                got_any = true;
                *left -= 1;
                if *left == 0 {
                    return Ok(out.flush()?);
                }
            }
        }
        out.flush()?;
        if !got_any {
            if !args.follow {
                return Ok(());
            }
            // Embedded follow: block on the first partition's listener, re-checking the others
            // every 200 ms (readers in this process are woken by appends in this process only).
            if let Some(l) = listeners.into_iter().next() {
                l.wait_timeout(Duration::from_millis(200));
            }
        }
    }
}
