//! `kappa processors create|list|describe|delete|results`: processors on a running server.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use hyper::Method;
use serde_json::{json, Value};

use crate::client::{encode, runtime, Client, ServerArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Create a processor from streaming SQL (a file, or stdin when no file is given).
    Create {
        name: String,
        /// The SQL file; stdin when absent.
        #[arg(long = "sql-file", alias = "sql")]
        sql_file: Option<PathBuf>,
        /// Event time to start from (RFC 3339, a date, or epoch ms): earlier events are skipped.
        #[arg(long)]
        from: Option<String>,
        /// Event time to end before (exclusive): a bounded batch run over the log as it stands,
        /// which writes its final rows and finishes (no live processor needed).
        #[arg(long)]
        to: Option<String>,
    },
    /// List processors with status, lag and watermark.
    List,
    /// One processor's full status.
    Describe { name: String },
    /// Delete a processor (its output topic stays).
    Delete { name: String },
    /// The processor's current materialized results.
    Results {
        name: String,
        #[arg(long)]
        key: Option<String>,
        #[arg(long)]
        window_start: Option<String>,
    },
}

pub fn read_sql(file: Option<&PathBuf>) -> anyhow::Result<String> {
    match file {
        Some(f) => std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display())),
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading SQL from stdin")?;
            Ok(s)
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let rt = runtime()?;
    let mut c = Client::new(&args.server)?;
    let out = rt.block_on(async {
        match &args.action {
            Action::Create {
                name,
                sql_file,
                from,
                to,
            } => {
                let sql = read_sql(sql_file.as_ref())?;
                let mut body = json!({"name": name, "sql": sql});
                if let Some(f) = from {
                    body["from"] = super::replay::point(f);
                }
                if let Some(t) = to {
                    body["to"] = super::replay::point(t);
                }
                c.send_json(Method::POST, "/v1/processors", &body).await
            }
            Action::List => c.get_json("/v1/processors").await,
            Action::Describe { name } => {
                c.get_json(&format!("/v1/processors/{}", encode(name)))
                    .await
            }
            Action::Delete { name } => {
                let body = c
                    .call(
                        Method::DELETE,
                        &format!("/v1/processors/{}", encode(name)),
                        "",
                        Default::default(),
                    )
                    .await?;
                Ok(serde_json::from_slice(&body).unwrap_or(json!({"deleted": name})))
            }
            Action::Results {
                name,
                key,
                window_start,
            } => {
                let mut path = format!("/v1/processors/{}/results?", encode(name));
                if let Some(k) = key {
                    path.push_str(&format!("key={}&", encode(k)));
                }
                if let Some(w) = window_start {
                    path.push_str(&format!("window_start={}&", encode(w)));
                }
                c.get_json(path.trim_end_matches(['?', '&'])).await
            }
        }
    })?;
    match (&args.action, args.json) {
        (Action::List, false) => print_table(
            out["processors"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        ),
        (Action::Results { .. }, false) => {
            for row in out["results"].as_array().into_iter().flatten() {
                println!("{row}");
            }
        }
        _ => println!("{}", serde_json::to_string_pretty(&out)?),
    }
    Ok(())
}

fn print_table(processors: &[Value]) {
    println!(
        "{:<24} {:>3} {:<10} {:>10} {:<26} {:>12} {:>12} {:>6}",
        "PROCESSOR", "V", "STATUS", "LAG", "WATERMARK", "IN", "OUT", "LATE"
    );
    for p in processors {
        println!(
            "{:<24} {:>3} {:<10} {:>10} {:<26} {:>12} {:>12} {:>6}",
            p["name"].as_str().unwrap_or(""),
            p["version"],
            p["status"].as_str().unwrap_or(""),
            p["lag"],
            p["watermark"].as_str().unwrap_or("-"),
            p["records_in"],
            p["records_out"],
            p["late_records"]
        );
        if let Some(e) = p["error"].as_str() {
            println!("    error: {e}");
        }
    }
}
