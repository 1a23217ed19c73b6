//! `kappa bench`: every benchmark in one place; a table by default, one JSON object with --json.

mod append;
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
    /// Run only these sections (append, http, replay, latency); default all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub append: append::Options,
    #[command(flatten)]
    pub replay: replay::Options,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let wants = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("kappa-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let mut report = serde_json::Map::new();
    if wants("append") {
        let r = append::run(&args.append, &dir.join("append"))?;
        if !args.json {
            r.print_table();
        }
        report.insert("append".into(), serde_json::to_value(&r)?);
    }
    if wants("replay") {
        let r = replay::run(&args.replay, &dir.join("replay"))?;
        if !args.json {
            r.print_table();
        }
        report.insert("replay".into(), serde_json::to_value(&r)?);
    }
    if args.json {
        println!("{}", serde_json::Value::Object(report));
    }
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
