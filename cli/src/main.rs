//! The `kappa` binary: parses arguments and hands off to `cmd::<name>::run`. No logic here.
#![forbid(unsafe_code)]

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kappa", version, about = "A Kappa-architecture event platform in one binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmarks and print their figures (a table, or JSON with --json).
    Bench(cmd::bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(args) => cmd::bench::run(args),
    }
}
