//! A processor's persisted definition: its name and versions (SQL, output topic, start
//! position, optional end). Stored as `<data>/processors/<name>/definition.json`; each version's
//! checkpoint is `<data>/processors/<name>/v<N>.checkpoint`. Version 1 writes to the output the
//! SQL names (INSERT INTO) or to the processor's name; version N > 1 (a replay) writes to
//! `<name>.v<N>` and its late records to `<name>.v<N>.late`.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::operator::Operator;
use crate::plan::{Plan, Startup};
use crate::sql::table::Hints;
use crate::task::Start;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    /// The version the name, results and alias refer to.
    pub current: u32,
    pub versions: Vec<VersionDef>,
    /// Set by a promotion: the output alias is fed from the promoted version's output.
    #[serde(default)]
    pub alias: Option<Alias>,
}

/// The processor's output alias (the first version's output topic) after a promotion: records
/// of `version`'s output from `from_offsets` on are copied into `topic`, whose end was
/// `alias_base` at the switch. The copy position is derived from the alias topic's end, so a
/// crash mid-copy neither loses nor duplicates a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub topic: String,
    pub version: u32,
    pub from_offsets: Vec<u64>,
    pub alias_base: Vec<u64>,
    /// The same for the late topic: `<name>.late` is fed from the promoted version's late
    /// topic, so consumers and alerts on it never go blind (absent in definitions written
    /// before late topics were aliased).
    #[serde(default)]
    pub late: Option<LateAlias>,
}

/// The late topic's alias: records of the promoted version's late topic from `from_offsets` on
/// are copied into `topic`, whose end was `alias_base` at the switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateAlias {
    pub topic: String,
    pub from_offsets: Vec<u64>,
    pub alias_base: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDef {
    pub version: u32,
    pub sql: String,
    pub output: String,
    pub late_topic: String,
    pub start: Start,
    /// A bounded run (backfill): keep events before this event time (ms), read the log up to
    /// its end when the run started, then finish.
    pub end_ms: Option<i64>,
    /// Skip events before this event time (ms): a backfill's `from`.
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Column types inferred at creation for an input read without `CREATE TABLE`.
    #[serde(default)]
    pub inferred: Hints,
    /// Stopped by the user (or superseded): not restarted on open.
    pub stopped: bool,
}

/// What to create: the SQL plus the start/end of the run (issue 6's replay passes these).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateOptions {
    /// Overrides the SQL's `'scan.startup.mode'`; default: the SQL's, else earliest.
    pub start: Option<Start>,
    /// Event-time bounds `[from_ms, end_ms)`; an end makes it a bounded run (a batch job).
    pub from_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

impl VersionDef {
    /// Compiles the SQL into its plan and operator; errors carry line/column.
    pub fn compile(&self) -> Result<(Plan, Box<dyn Operator>)> {
        let plan =
            crate::sql::compile_with_hints(&self.sql, self.end_ms.is_some(), &self.inferred)?;
        let op = crate::operator::for_plan(plan.clone(), self.end_ms.is_some());
        Ok((plan, op))
    }

    pub fn checkpoint_file(&self) -> String {
        format!("v{}.checkpoint", self.version)
    }
}

/// The start position a plan asks for, unless the caller overrides it.
pub fn start_of(plan: &Plan, requested: Option<Start>) -> Start {
    requested.unwrap_or(match plan.startup {
        None | Some(Startup::Earliest) => Start::Earliest,
        Some(Startup::Latest) => Start::Latest,
        Some(Startup::Timestamp(t)) => Start::Timestamp(t),
    })
}

/// Names ending in `.late` or `.v<digits>` are reserved for processors' own topics (late
/// topics, replay versions): a user cannot create a topic or a processor named so (DESIGN.md §5).
pub fn is_reserved_name(name: &str) -> bool {
    if name.ends_with(".late") {
        return true;
    }
    name.rsplit_once(".v")
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Output and late topics of a version.
pub fn topics_of(name: &str, version: u32, plan: &Plan) -> (String, String) {
    if version == 1 {
        (
            plan.output.clone().unwrap_or_else(|| name.to_string()),
            format!("{name}.late"),
        )
    } else {
        (
            format!("{name}.v{version}"),
            format!("{name}.v{version}.late"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_and_version_suffixes_are_reserved() {
        for name in ["x.late", "revenue.v2", "a.b.v10", ".late"] {
            assert!(is_reserved_name(name), "{name}");
        }
        for name in [
            "late",
            "x.latest",
            "revenue.v",
            "revenue.vx",
            "v2",
            "orders.v2b",
        ] {
            assert!(!is_reserved_name(name), "{name}");
        }
    }
}
