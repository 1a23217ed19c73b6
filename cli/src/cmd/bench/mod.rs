//! `kappa bench`: every benchmark in one place; a table by default, one JSON object with --json.

mod append;
mod flink;
mod http;
mod kafka;
mod latency;
mod replay;

use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Directory to benchmark in (default: a temporary dir under ./kappa-bench).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Tiny sizes (for CI: checks that every figure is produced, measures nothing useful).
    #[arg(long)]
    pub tiny: bool,
    /// Run only these sections (append, http, replay, latency, kafka, flink); default all but
    /// kafka, which needs the Kafka clients and Apache Kafka (see tests/kafka/run.sh), and
    /// flink, which runs the replay queries on PyFlink too and reports kappa's events per
    /// CPU-second over Flink's (needs apache-flink: tests/flink/run.sh installs it, or set
    /// KAPPA_PYFLINK_PYTHON).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub append: append::Options,
    #[command(flatten)]
    pub http: http::Options,
    #[command(flatten)]
    pub replay: replay::Options,
    #[command(flatten)]
    pub latency: latency::Options,
    #[command(flatten)]
    pub kafka: kafka::Options,
    #[command(flatten)]
    pub flink: flink::Options,
}

/// One section: runs in its directory, returns its JSON and how to print its table.
type Section<'a> =
    &'a dyn Fn(&std::path::Path) -> anyhow::Result<(serde_json::Value, Box<dyn Fn()>)>;

pub fn run(args: Args) -> anyhow::Result<()> {
    let wants = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("kappa-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let mut report = serde_json::Map::new();
    let mut section = |name: &str, run: Section<'_>| -> anyhow::Result<()> {
        if !wants(name) {
            return Ok(());
        }
        let (value, print) = run(&dir.join(name))?;
        if !args.json {
            print();
        }
        report.insert(name.to_string(), value);
        Ok(())
    };
    let tiny = args.tiny;
    section("append", &|d| {
        let r = append::run(
            &if tiny {
                append::Options::tiny()
            } else {
                args.append.clone()
            },
            d,
        )?;
        Ok((serde_json::to_value(&r)?, Box::new(move || r.print_table())))
    })?;
    section("http", &|d| {
        let r = http::run(
            &if tiny {
                http::Options::tiny()
            } else {
                args.http.clone()
            },
            d,
        )?;
        Ok((serde_json::to_value(&r)?, Box::new(move || r.print_table())))
    })?;
    section("replay", &|d| {
        let r = replay::run(
            &if tiny {
                replay::Options::tiny()
            } else {
                args.replay.clone()
            },
            d,
        )?;
        Ok((serde_json::to_value(&r)?, Box::new(move || r.print_table())))
    })?;
    section("latency", &|d| {
        let r = latency::run(
            &if tiny {
                latency::Options::tiny()
            } else {
                args.latency.clone()
            },
            d,
        )?;
        Ok((serde_json::to_value(&r)?, Box::new(move || r.print_table())))
    })?;
    if args.only.iter().any(|o| o == "flink") {
        let opts = if tiny {
            flink::Options::tiny()
        } else {
            args.flink.clone()
        };
        let r = flink::run(&opts, &dir.join("flink"))?;
        if !args.json {
            r.print_table();
        }
        report.insert("flink".to_string(), serde_json::to_value(&r)?);
    }
    if args.only.iter().any(|o| o == "kafka") {
        let value = kafka::run(&args.kafka, &dir.join("kafka"))?;
        if !args.json {
            println!(
                "kafka (librdkafka, acks=all):\n{}",
                serde_json::to_string_pretty(&value)?
            );
        }
        report.insert("kafka".to_string(), value);
    }
    if args.json {
        println!("{}", serde_json::Value::Object(report));
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
