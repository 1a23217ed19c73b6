//! `kappa processors create|list|describe|delete|results`: processors on a running server.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use hyper::Method;
use serde_json::{json, Value};

use crate::client::{encode, runtime, Client, ServerArgs};
use crate::output::outln;
use crate::table::{cell, Table};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
    #[command(flatten)]
    pub server: ServerArgs,
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
    /// List processors: a table with status, lag and watermark.
    List {
        /// Print the JSON the server answers instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One processor's full status.
    Describe { name: String },
    /// Delete a processor (its output topic stays).
    Delete { name: String },
    /// The processor's current materialized results, one JSON row per line, columns in
    /// SELECT order.
    Results {
        name: String,
        /// Only rows with this group key.
        #[arg(long)]
        key: Option<String>,
        /// Only rows of the window starting at this time.
        #[arg(long)]
        window_start: Option<String>,
        /// Read this version's results (default: the live one).
        #[arg(long)]
        version: Option<u64>,
    },
}

/// A `from`/`to` argument as the API takes it: "earliest", an offset (short integers), epoch
/// ms (long integers), or time text (RFC 3339 or a date).
pub fn point(s: &str) -> Value {
    match s {
        "earliest" => json!("earliest"),
        _ if s.chars().all(|c| c.is_ascii_digit()) && s.len() < 12 => {
            json!({"offset": s.parse::<u64>().unwrap_or(0)})
        }
        _ if s.chars().all(|c| c.is_ascii_digit()) => json!(s.parse::<u64>().unwrap_or(0)),
        _ => json!(s),
    }
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
                    body["from"] = point(f);
                }
                if let Some(t) = to {
                    body["to"] = point(t);
                }
                c.send_json(Method::POST, "/v1/processors", &body).await
            }
            Action::List { .. } => c.get_json("/v1/processors").await,
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
                version,
            } => {
                let mut path = format!("/v1/processors/{}/results?", encode(name));
                if let Some(k) = key {
                    path.push_str(&format!("key={}&", encode(k)));
                }
                if let Some(w) = window_start {
                    path.push_str(&format!("window_start={}&", encode(w)));
                }
                if let Some(v) = version {
                    path.push_str(&format!("version={v}&"));
                }
                let path = path.trim_end_matches(['?', '&']);
                let body = c.call(Method::GET, path, "", Default::default()).await?;
                print_results(&body)?;
                Ok(Value::Null)
            }
        }
    })?;
    match &args.action {
        Action::List { json: false } => print_table(
            out["processors"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        )?,
        Action::Results { .. } => {}
        _ => outln!("{}", serde_json::to_string_pretty(&out)?)?,
    }
    Ok(())
}

/// Prints result rows as the server wrote them: columns in SELECT order (a parsed `Value`
/// would sort them).
fn print_results(body: &[u8]) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Results {
        results: Vec<Box<serde_json::value::RawValue>>,
    }
    let results: Results =
        serde_json::from_slice(body).context("reading the server's results answer")?;
    let mut out = std::io::stdout().lock();
    for row in results.results {
        writeln!(out, "{}", row.get())?;
    }
    out.flush()?;
    Ok(())
}

fn print_table(processors: &[Value]) -> std::io::Result<()> {
    let mut table = Table::new(&[
        ("PROCESSOR", false),
        ("V", true),
        ("STATUS", false),
        ("LAG", true),
        ("WATERMARK", false),
        ("IN", true),
        ("OUT", true),
        ("LATE", true),
    ]);
    let mut errors = Vec::new();
    for p in processors {
        table.row(vec![
            cell(&p["name"]),
            cell(&p["version"]),
            cell(&p["status"]),
            cell(&p["lag"]),
            cell(&p["watermark"]),
            cell(&p["records_in"]),
            cell(&p["records_out"]),
            cell(&p["late_records"]),
        ]);
        if let Some(e) = p["error"].as_str() {
            errors.push(format!("{}: {e}", cell(&p["name"])));
        }
    }
    table.print()?;
    for e in errors {
        outln!("error in {e}")?;
    }
    Ok(())
}
