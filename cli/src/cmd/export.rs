//! `kappa export flink <processor>`: the processor's current version as a complete Flink SQL
//! script (Kafka sources with the same columns and watermarks, the sink, the query), from the
//! server's `GET /v1/processors/{p}`. The script itself is `flink_export`'s.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use crate::client::{encode, runtime, Client, ServerArgs};
use crate::flink_export::{flink_script, Options};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub target: Target,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum Target {
    /// Write the Flink SQL script of a processor's current version (stdout, or --output).
    Flink {
        processor: String,
        /// The Kafka cluster Flink reads and writes ('properties.bootstrap.servers'): kappa's
        /// own `--kafka-listen` address, or an Apache Kafka cluster's. Default: localhost:9092
        /// for kappa's topics, and the servers a `'connector' = 'kafka'` table names itself.
        #[arg(long)]
        bootstrap_servers: Option<String>,
        /// Write the script to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Export this SQL file (as the processor would be created from it) instead of asking
        /// the server for the processor's current SQL.
        #[arg(long = "sql-file")]
        sql_file: Option<PathBuf>,
        /// With --sql-file: the event-time bounds of a bounded run, [from, to) (RFC 3339).
        #[arg(long, requires = "sql_file")]
        from: Option<String>,
        /// With --sql-file: see --from.
        #[arg(long, requires = "sql_file")]
        to: Option<String>,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let Target::Flink {
        processor,
        bootstrap_servers,
        output,
        sql_file,
        from,
        to,
    } = &args.target;
    let script = match sql_file {
        Some(path) => {
            let sql = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let opts = Options {
                processor: processor.clone(),
                version: 1,
                bootstrap_servers: servers(bootstrap_servers),
                keep_table_servers: bootstrap_servers.is_none(),
                from: from.clone(),
                to: to.clone(),
            };
            flink_script(&sql, &opts)
                .with_context(|| format!("exporting {} to Flink SQL", path.display()))?
        }
        None => from_server(&args.server, processor, bootstrap_servers.as_deref())?,
    };
    match output {
        Some(path) => {
            std::fs::write(path, &script).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(script.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `--bootstrap-servers`, or where kappa's Kafka listener usually is.
fn servers(flag: &Option<String>) -> String {
    flag.clone()
        .unwrap_or_else(|| DEFAULT_BOOTSTRAP_SERVERS.to_string())
}

/// The default of `--bootstrap-servers` for kappa's own topics (the server does not say where
/// its Kafka listener is).
const DEFAULT_BOOTSTRAP_SERVERS: &str = "localhost:9092";

/// The script of the processor's current version, from `GET /v1/processors/{p}`.
fn from_server(
    server: &ServerArgs,
    processor: &str,
    bootstrap_servers: Option<&str>,
) -> anyhow::Result<String> {
    let rt = runtime()?;
    let mut c = Client::new(server)?;
    let status = rt.block_on(c.get_json(&format!("/v1/processors/{}", encode(processor))))?;
    let sql = status["sql"]
        .as_str()
        .with_context(|| format!("processor {processor}: the server's answer has no \"sql\""))?;
    let version = status["version"].as_u64().unwrap_or(1) as u32;
    let current = status["versions"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["current"] == Value::Bool(true)));
    let text = |v: Option<&Value>, k: &str| v.and_then(|v| v[k].as_str()).map(str::to_string);
    let opts = Options {
        processor: processor.to_string(),
        version,
        bootstrap_servers: servers(&bootstrap_servers.map(str::to_string)),
        keep_table_servers: bootstrap_servers.is_none(),
        from: text(current, "from"),
        to: text(current, "end"),
    };
    flink_script(sql, &opts).with_context(|| {
        format!("exporting processor {processor} (version {version}) to Flink SQL")
    })
}
