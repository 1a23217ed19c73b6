//! The Kafka benchmark (issue 12): librdkafka (confluent-kafka) producing 200-byte records with
//! `acks=all` into this kappa (`--fsync always`) and into Apache Kafka 4.x in the same run — Kafka
//! once with its default flushing and once with `flush.messages=1` — then consuming them back;
//! events/s, p50/p99 and server CPU-seconds, and kappa's ratios to each Kafka run. The clients
//! and the broker are Python's and the JVM's, so this section drives `tests/kafka/bench.py`
//! (from the repository root) with this binary; it runs only when asked for (`--only kafka`),
//! after `bash tests/kafka/run.sh` has fetched Apache Kafka. It ends with the seed query as a
//! processor reading the same orders from Apache Kafka and from kappa's own log (events per
//! CPU-second of this process, and with the broker's).

use std::path::Path;
use std::process::Command;

use anyhow::Context;

#[derive(clap::Args, Debug, Clone)]
#[group(id = "kafka_options")]
pub struct Options {
    /// Records each producer sends in the Kafka benchmark.
    #[arg(long, default_value_t = 100_000)]
    pub kafka_records: u64,
    /// Orders the seed query processes from Apache Kafka and from kappa's own log.
    #[arg(long, default_value_t = 200_000)]
    pub kafka_orders: u64,
}

/// Runs the benchmark script; returns its JSON report.
pub fn run(opts: &Options, _dir: &Path) -> anyhow::Result<serde_json::Value> {
    let script = Path::new("tests/kafka/bench.py");
    anyhow::ensure!(
        script.exists(),
        "the Kafka benchmark runs from the repository root ({} not found)",
        script.display()
    );
    let bin = std::env::current_exe().context("locating this kappa binary")?;
    let out = Command::new("python3")
        .arg(script)
        .args(["--records", &opts.kafka_records.to_string()])
        .args(["--orders", &opts.kafka_orders.to_string(), "--json"])
        .env("KAPPA_BIN", bin)
        .output()
        .context("running python3 tests/kafka/bench.py")?;
    anyhow::ensure!(
        out.status.success(),
        "the Kafka benchmark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let json_start = text
        .find('{')
        .context("no JSON in the Kafka benchmark's output")?;
    serde_json::from_str(&text[json_start..]).context("parsing the Kafka benchmark's JSON")
}
