//! `kappa topics create|list|describe|delete`, against a server or a data dir.

use std::path::PathBuf;

use anyhow::Context;
use hyper::Method;
use log_store::{LogStore, StoreConfig, TopicConfig};
use serde_json::{json, Value};

use crate::client::{encode, runtime, Client, ServerArgs};
use crate::output::outln;
use crate::table::{cell, Table};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Work directly on this data dir (when no server holds it) instead of a server.
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a topic.
    Create {
        name: String,
        /// Number of partitions (1 to 1024).
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        /// Delete whole old segments once their newest record is older than this, in
        /// milliseconds (604800000 = 7 days). Default: keep forever.
        #[arg(long, value_name = "MS")]
        retention_ms: Option<u64>,
        /// Delete whole old segments while a partition is larger than this, in bytes.
        /// Default: keep forever.
        #[arg(long, value_name = "BYTES")]
        retention_bytes: Option<u64>,
        /// Size of one segment file, in bytes (4 MiB to 2 GiB; default 134217728 = 128 MiB).
        /// The active segment of each partition reserves this much disk.
        #[arg(long, value_name = "BYTES")]
        segment_bytes: Option<u64>,
    },
    /// List topics: a table of partitions with offsets, bytes and segments.
    List {
        /// Print the JSON the server answers instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a topic's partitions: offsets, bytes, segments.
    Describe {
        name: String,
        /// Print the JSON the server answers instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a topic and its data.
    Delete { name: String },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let out = match &args.data {
        Some(dir) => embedded(&args.action, dir)?,
        None => runtime()?.block_on(remote(&args.action, &args.server))?,
    };
    match &args.action {
        Action::List { json: false } => {
            print_table(out["topics"].as_array().map(Vec::as_slice).unwrap_or(&[]))?
        }
        Action::Describe { json: false, .. } => print_table(std::slice::from_ref(&out))?,
        _ => outln!("{out}")?,
    }
    Ok(())
}

async fn remote(action: &Action, server: &ServerArgs) -> anyhow::Result<Value> {
    let mut c = Client::new(server)?;
    match action {
        Action::Create {
            name,
            partitions,
            retention_ms,
            retention_bytes,
            segment_bytes,
        } => {
            let body = json!({"name": name, "partitions": partitions, "retention_ms": retention_ms,
                              "retention_bytes": retention_bytes, "segment_bytes": segment_bytes});
            c.send_json(Method::POST, "/v1/topics", &body).await
        }
        Action::List { .. } => c.get_json("/v1/topics").await,
        Action::Describe { name, .. } => c.get_json(&format!("/v1/topics/{}", encode(name))).await,
        Action::Delete { name } => {
            let body = c
                .call(
                    Method::DELETE,
                    &format!("/v1/topics/{}", encode(name)),
                    "",
                    Default::default(),
                )
                .await?;
            Ok(serde_json::from_slice(&body)?)
        }
    }
}

fn embedded(action: &Action, dir: &std::path::Path) -> anyhow::Result<Value> {
    let store = LogStore::open(dir, StoreConfig::default())
        .with_context(|| format!("opening {}", dir.display()))?;
    let describe = |t: &log_store::Topic| crate::http::handlers::topics::describe_json(t);
    Ok(match action {
        Action::Create {
            name,
            partitions,
            retention_ms,
            retention_bytes,
            segment_bytes,
        } => {
            let config = TopicConfig {
                partitions: *partitions,
                segment_bytes: segment_bytes.unwrap_or(TopicConfig::default().segment_bytes),
                retention_ms: *retention_ms,
                retention_bytes: *retention_bytes,
            };
            anyhow::ensure!(
                !processor::is_reserved_name(name),
                "invalid topic name {name:?}: names ending in .late or .v<digits> are reserved for processors' own topics"
            );
            describe(&*store.create_topic(name, config)?)
        }
        Action::List { .. } => {
            json!({"topics": store.topics().iter().map(|t| describe(t)).collect::<Vec<_>>()})
        }
        Action::Describe { name, .. } => describe(&*store.topic(name)?),
        Action::Delete { name } => {
            store.delete_topic(name)?;
            json!({"deleted": name})
        }
    })
}

fn print_table(topics: &[Value]) -> std::io::Result<()> {
    let mut table = Table::new(&[
        ("TOPIC", false),
        ("PARTITION", true),
        ("START", true),
        ("END", true),
        ("BYTES", true),
        ("SEGMENTS", true),
    ]);
    for t in topics {
        for p in t["partitions"].as_array().into_iter().flatten() {
            table.row(vec![
                cell(&t["name"]),
                cell(&p["partition"]),
                cell(&p["start_offset"]),
                cell(&p["end_offset"]),
                cell(&p["bytes"]),
                cell(&p["segments"]),
            ]);
        }
    }
    table.print()
}
