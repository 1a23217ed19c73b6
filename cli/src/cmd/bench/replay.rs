//! The replay benchmark (issue 5): the seed tumbling query and a filter/map over N orders, against read + JSON parse.

use std::path::Path;

use serde::Serialize;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Events in the log to replay.
    #[arg(long, default_value_t = 1_000_000)]
    pub replay_events: u64,
}

#[derive(Serialize, Debug)]
pub struct Report {}

impl Report {
    pub fn print_table(&self) {}
}

pub fn run(opts: &Options, dir: &Path) -> anyhow::Result<Report> {
    let _ = (opts, dir);
    anyhow::bail!("replay benchmark not written yet")
}
