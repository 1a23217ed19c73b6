//! `kappa verify --data DIR`: check every record's CRC in every partition. Exits non-zero and
//! names topic, partition, offset and file on the first corruption of each partition.

use std::path::PathBuf;

use anyhow::Context;
use log_store::{LogStore, StoreConfig};

use crate::output::outln;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The data directory to check (it must not be held by a running server).
    #[arg(long, default_value = "./kappa-data")]
    pub data: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = LogStore::open(&args.data, StoreConfig::default())
        .with_context(|| format!("opening {}", args.data.display()))?;
    for t in &store.recovery_report().truncated {
        outln!(
            "recovered: truncated {} bytes of a torn tail in topic {} partition {} at offset {}",
            t.bytes,
            t.topic,
            t.partition,
            t.offset
        )?;
    }
    let mut failures = 0;
    let mut records = 0u64;
    for topic in store.topics() {
        for p in topic.partitions() {
            match p.verify() {
                Ok(n) => {
                    records += n;
                    outln!("ok      {} partition {}: {n} records", topic.name(), p.id())?;
                }
                Err(e) => {
                    failures += 1;
                    outln!("CORRUPT {e}")?;
                }
            }
        }
    }
    if failures > 0 {
        anyhow::bail!("{failures} partition(s) hold corrupt records");
    }
    outln!("verified {records} records: all CRCs match")?;
    Ok(())
}
