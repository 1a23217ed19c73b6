//! `kappa topics create|list|describe|delete`, against a server or a data dir.

use std::path::PathBuf;

use anyhow::Context;
use hyper::Method;
use log_store::{LogStore, StoreConfig, TopicConfig};
use serde_json::{json, Value};

use crate::client::{encode, runtime, Client, ServerArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Work directly on this data dir (when no server holds it) instead of a server.
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a topic.
    Create {
        name: String,
        #[arg(long, default_value_t = 1)]
        partitions: u32,
        #[arg(long)]
        retention_ms: Option<u64>,
        #[arg(long)]
        retention_bytes: Option<u64>,
        #[arg(long)]
        segment_bytes: Option<u64>,
    },
    /// List topics.
    List,
    /// Show a topic's partitions: offsets, bytes, segments.
    Describe { name: String },
    /// Delete a topic and its data.
    Delete { name: String },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let out = match &args.data {
        Some(dir) => embedded(&args.action, dir)?,
        None => runtime()?.block_on(remote(&args.action, &args.server))?,
    };
    if args.json || matches!(args.action, Action::Create { .. } | Action::Delete { .. }) {
        println!("{out}");
    } else if let Some(topics) = out["topics"].as_array() {
        print_table(topics);
    } else {
        print_table(std::slice::from_ref(&out));
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
        Action::List => c.get_json("/v1/topics").await,
        Action::Describe { name } => c.get_json(&format!("/v1/topics/{}", encode(name))).await,
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
                !processor::definition::is_reserved_name(name),
                "invalid topic name {name:?}: names ending in .late or .v<digits> are reserved for processors' own topics"
            );
            describe(&*store.create_topic(name, config)?)
        }
        Action::List => {
            json!({"topics": store.topics().iter().map(|t| describe(t)).collect::<Vec<_>>()})
        }
        Action::Describe { name } => describe(&*store.topic(name)?),
        Action::Delete { name } => {
            store.delete_topic(name)?;
            json!({"deleted": name})
        }
    })
}

fn print_table(topics: &[Value]) {
    println!(
        "{:<32} {:>10} {:>14} {:>14} {:>12} {:>9}",
        "TOPIC", "PARTITION", "START", "END", "BYTES", "SEGMENTS"
    );
    for t in topics {
        for p in t["partitions"].as_array().into_iter().flatten() {
            println!(
                "{:<32} {:>10} {:>14} {:>14} {:>12} {:>9}",
                t["name"].as_str().unwrap_or(""),
                p["partition"],
                p["start_offset"],
                p["end_offset"],
                p["bytes"],
                p["segments"]
            );
        }
    }
}
