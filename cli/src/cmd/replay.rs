//! `kappa replay <processor>`: start version N+1 (same or new SQL) from a chosen point beside the
//! live version and follow its progress (events/s, lag, ETA); `--diff` shows how its results
//! differ from the live ones; `--promote` switches the name, results and output alias to it.
//! With `--to`, a bounded backfill that writes to its own output and stops when done.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hyper::Method;
use serde_json::{json, Value};

use crate::client::{encode, runtime, Client, ServerArgs};
use crate::output::outln;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub processor: String,
    /// New SQL for the new version (default: the current definition).
    #[arg(long)]
    pub sql: Option<PathBuf>,
    /// earliest (default), an offset (in every input partition), or an event time (RFC 3339, a
    /// date, or epoch ms): the run reads from the earliest offset and skips earlier events.
    #[arg(long)]
    pub from: Option<String>,
    /// Event time to end before (exclusive): a bounded backfill over the log as it stands,
    /// which writes its final rows and finishes.
    #[arg(long)]
    pub to: Option<String>,
    /// Promote the newest (or --version) caught-up version instead of starting one.
    #[arg(long)]
    pub promote: bool,
    /// Show how the newest (or --version) version's results differ from the live ones.
    #[arg(long)]
    pub diff: bool,
    /// The version for --promote / --diff.
    #[arg(long)]
    pub version: Option<u64>,
    /// Start it and return without following progress.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let rt = runtime()?;
    let mut c = Client::new(&args.server)?;
    rt.block_on(async {
        let name = encode(&args.processor);
        let newest = |status: &Value| {
            status["versions"]
                .as_array()
                .and_then(|v| v.iter().filter_map(|x| x["version"].as_u64()).max())
        };
        if args.promote || args.diff {
            let status = c.get_json(&format!("/v1/processors/{name}")).await?;
            let version = args
                .version
                .or_else(|| newest(&status))
                .ok_or_else(|| anyhow::anyhow!("{} has no version to use", args.processor))?;
            let out = if args.promote {
                c.send_json(
                    Method::POST,
                    &format!("/v1/processors/{name}/promote"),
                    &json!({"version": version}),
                )
                .await?
            } else {
                c.get_json(&format!("/v1/processors/{name}/diff?version={version}"))
                    .await?
            };
            outln!("{}", serde_json::to_string_pretty(&out)?)?;
            return Ok(());
        }
        let mut body = json!({});
        if let Some(f) = &args.sql {
            body["sql"] = json!(super::processors::read_sql(Some(f))?);
        }
        if let Some(f) = &args.from {
            body["from"] = super::processors::point(f);
        }
        if let Some(t) = &args.to {
            body["to"] = super::processors::point(t);
        }
        let started = c
            .send_json(
                Method::POST,
                &format!("/v1/processors/{name}/replay"),
                &body,
            )
            .await?;
        outln!("{started}")?;
        let version = started["version"].as_u64().unwrap_or(0);
        if args.no_wait {
            return Ok(());
        }
        follow(&mut c, &name, version).await
    })
}

/// A bar of 16 and a message of at most 63 characters: one line of an 80-column terminal.
const PROGRESS_TEMPLATE: &str = "{bar:16} {msg}";
#[cfg(test)]
const PROGRESS_BAR_COLUMNS: usize = 16;

/// `1.2M/3.4M 56.7k/s lag 2.2M eta 39s running`: counts shortened so the line stays short.
fn progress_message(done: u64, lag: u64, rate: f64, eta_s: Option<f64>, status: &str) -> String {
    let eta = match eta_s {
        None => "-".to_string(),
        Some(s) if s >= 100.0 * 3600.0 => ">99h".to_string(),
        Some(s) if s >= 3600.0 => format!("{}h{:02}m", s as u64 / 3600, s as u64 % 3600 / 60),
        Some(s) if s >= 60.0 => format!("{}m{:02}s", s as u64 / 60, s as u64 % 60),
        Some(s) => format!("{s:.0}s"),
    };
    let status: String = status.chars().take(12).collect();
    format!(
        "{}/{} {}/s lag {} eta {eta} {status}",
        short(done as f64),
        short(done.saturating_add(lag) as f64),
        short(rate),
        short(lag as f64)
    )
}

/// A count in at most 6 characters: 999, 12.3k, 4.6M, 7.8G, 9.1T, 1.0P.
fn short(n: f64) -> String {
    let units = [
        ("", 1.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    let n = n.max(0.0);
    for (i, (unit, scale)) in units.iter().enumerate() {
        let v = n / scale;
        let last = i + 1 == units.len();
        if v < 999.95 || last {
            return if unit.is_empty() {
                format!("{v:.0}")
            } else if v >= 1000.0 {
                format!(">999{unit}")
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    unreachable!("the last unit returns")
}

/// Polls the version's status and draws a progress bar until it has caught up (or finished).
async fn follow(c: &mut Client, name: &str, version: u64) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE).expect("the template is valid"),
    );
    let mut last: Option<(Instant, u64)> = None;
    loop {
        let status = c.get_json(&format!("/v1/processors/{name}")).await?;
        let v = status["versions"].as_array().and_then(|vs| {
            vs.iter()
                .find(|x| x["version"].as_u64() == Some(version))
                .cloned()
        });
        let v = v.unwrap_or(status.clone());
        let (done_events, lag) = (
            v["records_in"].as_u64().unwrap_or(0),
            v["lag"].as_u64().unwrap_or(0),
        );
        bar.set_length(done_events + lag);
        bar.set_position(done_events);
        // The server measures the rate; until it has, measure it here between polls.
        let now = Instant::now();
        let measured = last.map(|(t, n)| {
            (done_events.saturating_sub(n)) as f64 / now.duration_since(t).as_secs_f64().max(1e-3)
        });
        last = Some((now, done_events));
        let rate = v["events_per_s"].as_f64().filter(|r| *r > 0.0).or(measured);
        let eta = v["eta_s"]
            .as_f64()
            .or_else(|| rate.filter(|r| *r > 0.0).map(|r| lag as f64 / r));
        bar.set_message(progress_message(
            done_events,
            lag,
            rate.unwrap_or(0.0),
            eta,
            v["status"].as_str().unwrap_or("?"),
        ));
        match v["status"].as_str() {
            Some("caught_up") | Some("finished") | Some("stopped") => {
                bar.finish();
                outln!(
                    "version {version} is {}: {} events in, {} out",
                    v["status"].as_str().unwrap_or(""),
                    v["records_in"],
                    v["records_out"]
                )?;
                return Ok(());
            }
            Some("failed") => {
                bar.abandon();
                anyhow::bail!("version {version} failed: {}", v["error"]);
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: progress lines wrapped at 80 columns.
    #[test]
    fn a_progress_line_fits_80_columns_whatever_the_figures() {
        for (done, lag, rate, eta) in [
            (0, 0, 0.0, None),
            (u64::MAX / 2, u64::MAX / 2, 1e18, Some(1e12)),
            (999_949, 123_456_789_012, 987_654.3, Some(3599.0)),
            (12, 7, 3.5, Some(59.4)),
        ] {
            let line = progress_message(done, lag, rate, eta, "caught_up");
            assert!(
                PROGRESS_BAR_COLUMNS + 1 + line.chars().count() <= 80,
                "{line:?} is {} columns",
                line.len()
            );
        }
        assert_eq!(
            progress_message(1_200_000, 2_200_000, 56_700.0, Some(39.0), "running"),
            "1.2M/3.4M 56.7k/s lag 2.2M eta 39s running"
        );
        assert_eq!(short(999.0), "999");
        assert_eq!(short(999_960.0), "1.0M");
    }
}
