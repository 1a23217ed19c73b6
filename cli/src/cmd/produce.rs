//! `kappa produce TOPIC [FILE]`: NDJSON from stdin or a file, sent in batches in file order (so
//! a one-partition topic keeps the file's order), with a progress bar for files.

use crate::limits::PRODUCE_CLI_BATCH_BYTES_MAX;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use log_store::{AppendRecord, LogStore, PartitionId, StampRun, StoreConfig};

use crate::client::{encode, runtime, Client, ServerArgs};
use crate::output::outln;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub topic: String,
    /// NDJSON file; stdin when absent.
    pub file: Option<PathBuf>,
    /// Partition by the hash of this JSON field (equal keys, same partition).
    #[arg(long)]
    pub key: Option<String>,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Append directly to this data dir (when no server holds it).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// At most 75 columns: bar 24, `1023.99 MiB/1023.99 MiB 1023.99 MiB/s eta 00:00:00`.
const PROGRESS_TEMPLATE: &str =
    "{bar:24} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta_precise}";

pub fn run(args: Args) -> anyhow::Result<()> {
    let (input, len): (Box<dyn Read>, Option<u64>) = match &args.file {
        Some(f) => {
            let file =
                std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len)
        }
        None => (Box::new(std::io::stdin()), None),
    };
    let bar = len.map(|n| {
        let bar = indicatif::ProgressBar::new(n);
        bar.set_style(
            indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE)
                .expect("the template is valid"),
        );
        bar
    });
    let mut sink = Sink::new(&args)?;
    let rt = runtime()?;
    let mut lines = BufReader::with_capacity(1 << 20, input);
    let (mut batch, mut count, mut line_no) = (Vec::<u8>::new(), 0usize, 0u64);
    let mut in_batch = 0usize;
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = lines
            .read_line(&mut buf)
            .with_context(|| format!("reading line {}", line_no + 1))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some(bar) = &bar {
            bar.inc(n as u64);
        }
        if buf.trim().is_empty() {
            continue;
        }
        serde_json::from_str::<serde::de::IgnoredAny>(buf.trim()).map_err(|e| {
            anyhow::anyhow!(
                "line {line_no} column {}: invalid JSON: {e}; nothing after line {} was sent",
                e.column(),
                line_no - 1
            )
        })?;
        batch.extend_from_slice(buf.trim_end().as_bytes());
        batch.push(b'\n');
        in_batch += 1;
        if in_batch >= args.batch || batch.len() >= PRODUCE_CLI_BATCH_BYTES_MAX {
            count += rt.block_on(sink.send(std::mem::take(&mut batch)))?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        count += rt.block_on(sink.send(batch))?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outln!(
        "{}",
        serde_json::json!({"topic": args.topic, "count": count})
    )?;
    Ok(())
}

/// An event and its key, as the embedded sink groups them by partition.
type Keyed<'a> = (Option<Vec<u8>>, &'a [u8]);

enum Sink {
    Server {
        client: Client,
        path: String,
    },
    Embedded {
        store: LogStore,
        topic: String,
        key: Option<String>,
        next: u32,
    },
}

impl Sink {
    fn new(args: &Args) -> anyhow::Result<Sink> {
        Ok(match &args.data {
            Some(dir) => Sink::Embedded {
                store: LogStore::open(dir, StoreConfig::default())
                    .with_context(|| format!("opening {}", dir.display()))?,
                topic: args.topic.clone(),
                key: args.key.clone(),
                next: 0,
            },
            None => {
                let mut path = format!("/v1/topics/{}/events", encode(&args.topic));
                if let Some(k) = &args.key {
                    path.push_str(&format!("?key={}", encode(k)));
                }
                Sink::Server {
                    client: Client::new(&args.server)?,
                    path,
                }
            }
        })
    }

    /// Sends one NDJSON batch; returns the number of events acknowledged.
    async fn send(&mut self, ndjson: Vec<u8>) -> anyhow::Result<usize> {
        match self {
            Sink::Server { client, path } => {
                let body = client
                    .call(
                        Method::POST,
                        path,
                        "application/x-ndjson",
                        Bytes::from(ndjson),
                    )
                    .await?;
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                Ok(v["count"].as_u64().unwrap_or(0) as usize)
            }
            Sink::Embedded {
                store,
                topic,
                key,
                next,
            } => {
                let t = store.topic(topic)?;
                let partitions = t.partitions().len() as u32;
                let lines: Vec<&[u8]> = ndjson
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .collect();
                let mut by_partition: std::collections::BTreeMap<u32, Vec<Keyed<'_>>> =
                    Default::default();
                for line in &lines {
                    let k = key
                        .as_deref()
                        .and_then(|f| crate::produce::split::key_of(line, f));
                    let p = match (&key, &k) {
                        (Some(_), k) => crate::produce::split::partition_for_key(
                            k.as_deref().unwrap_or(b""),
                            partitions,
                        ),
                        (None, _) => *next % partitions,
                    };
                    by_partition.entry(p).or_default().push((k, line));
                }
                *next = next.wrapping_add(1);
                // One batch, one append time across its partitions, as the server does.
                let stamp = store.stamp();
                for (p, events) in &by_partition {
                    let records: Vec<AppendRecord> = events
                        .iter()
                        .map(|(k, v)| AppendRecord {
                            key: k.as_deref(),
                            headers: &[],
                            value: v,
                        })
                        .collect();
                    let run = StampRun {
                        end: records.len(),
                        ts: stamp.timestamp_ms(),
                    };
                    t.partition(PartitionId(*p))?
                        .append_stamped(&records, &[run])?;
                }
                Ok(lines.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: the progress line wrapped at 80 columns. indicatif's widest renderings:
    /// byte counts `1023.99 MiB` (11), a rate `1023.99 MiB/s` (13), a precise eta `00:00:00`.
    #[test]
    fn the_progress_line_fits_80_columns() {
        let widest = PROGRESS_TEMPLATE
            .replace("{bar:24}", &"#".repeat(24))
            .replace("{bytes}", "1023.99 MiB")
            .replace("{total_bytes}", "1023.99 MiB")
            .replace("{binary_bytes_per_sec}", "1023.99 MiB/s")
            .replace("{eta_precise}", "00:00:00");
        assert!(!widest.contains('{'), "{widest}");
        assert!(widest.len() <= 80, "{widest:?} is {} columns", widest.len());
    }
}
