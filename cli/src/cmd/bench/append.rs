//! The embedded append benchmark (issue 3): the log store against raw write + fdatasync.

use std::path::Path;

use serde::Serialize;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Records per append-benchmark case.
    #[arg(long, default_value_t = 200_000)]
    pub append_records: u64,
}

#[derive(Serialize, Debug)]
pub struct Report {}

impl Report {
    pub fn print_table(&self) {}
}

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    let _ = (opts, dir);
    anyhow::bail!("append benchmark not written yet")
}
