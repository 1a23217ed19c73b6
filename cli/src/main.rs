//! The `kappa` binary: parses arguments and hands off to `cmd::<name>::run`. No logic here.
#![forbid(unsafe_code)]

mod client;
mod cmd;
mod flink_export;
mod groups;
mod http;
mod kafka;
mod keyindex;
mod limits;
mod logging;
mod metrics;
mod output;
mod process_metrics;
mod produce;
mod state;
mod table;
mod time;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: a processor allocates and frees a few small values
/// per record (DEPENDENCIES.md gives the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kappa",
    version,
    about = "A Kappa-architecture event platform in one binary: a durable log, streaming SQL processors, replay"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server over a data dir.
    Serve(cmd::serve::Args),
    /// Start a server with a generated order stream and the seed's revenue processor.
    Demo(cmd::demo::Args),
    /// Create, list, describe or delete topics.
    Topics(cmd::topics::Args),
    /// Produce NDJSON events from stdin or a file.
    Produce(cmd::produce::Args),
    /// Print a topic's records as NDJSON.
    Consume(cmd::consume::Args),
    /// Create, list, describe or delete processors, or read their results.
    Processors(cmd::processors::Args),
    /// Replay a processor as a new version, follow it, diff it, promote it; or backfill a range.
    Replay(cmd::replay::Args),
    /// Check every record's CRC in a data dir.
    Verify(cmd::verify::Args),
    /// Run the benchmarks and print their figures (a table, or JSON with --json).
    Bench(cmd::bench::Args),
    /// Export a processor for another engine: `export flink <processor>` writes its Flink SQL.
    Export(cmd::export::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    output::exit_code(match cli.command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Topics(args) => cmd::topics::run(args),
        Command::Produce(args) => cmd::produce::run(args),
        Command::Consume(args) => cmd::consume::run(args),
        Command::Processors(args) => cmd::processors::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Export(args) => cmd::export::run(args),
    })
}
