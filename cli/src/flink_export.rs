//! The Flink SQL script of a processor (`kappa export flink`, DESIGN.md §8 "The same SQL runs on
//! Flink"): each source table with Flink's Kafka connector and the same columns and watermark, a
//! sink table for the output (the `kafka` connector, or `upsert-kafka` with a primary key when
//! the result is an updating table), and the processor's query, as written, under
//! `INSERT INTO` the sink.
//!
//! The query text and the column lists are copied from the processor's SQL, not re-printed from
//! a parse tree, so comments, quoting and spelling stay the user's; only the WITH options are
//! rewritten (kappa's `'connector' = 'kappa'` and its own options have no meaning to Flink).
//! The sink's column types are Flink's type of each SELECT item, widened within its family
//! (any integer BIGINT, any exact or approximate number DOUBLE) — Flink casts the query's
//! narrower types to them implicitly on INSERT, and a JSON sink writes the same numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context};
use processor::plan::{Body, EventTime};
use processor::sql::dialect::KappaDialect;
use sqlparser::ast::{
    self, CreateTableOptions, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, SelectItem, SetExpr, SqlOption, Statement,
};
use sqlparser::parser::Parser;

/// What the script is for, besides the SQL.
#[derive(Debug, Clone)]
pub struct Options {
    /// The processor's name: the sink topic of a bare SELECT (kappa's output alias).
    pub processor: String,
    pub version: u32,
    /// `'properties.bootstrap.servers'` of every table.
    pub bootstrap_servers: String,
    /// Keep the servers a `'connector' = 'kafka'` table names itself (no `--bootstrap-servers`
    /// given); `bootstrap_servers` is then for kappa tables, and the sink goes where the first
    /// Kafka table's servers are.
    pub keep_table_servers: bool,
    /// Event-time bounds of a bounded run (RFC 3339): [from, to).
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A statement's text as written and its parse.
struct Stmt {
    text: String,
    parsed: Statement,
    /// `PRIMARY KEY (...) NOT ENFORCED` columns of a CREATE TABLE.
    primary_key: Vec<String>,
}

/// The Flink SQL script for a processor's SQL.
pub fn flink_script(sql: &str, opts: &Options) -> anyhow::Result<String> {
    let bounded = opts.to.is_some();
    let plan = processor::sql::compile(sql, bounded)
        .map_err(|e| anyhow!("the processor's SQL does not compile: {e}"))?;
    if plan.inferred_input {
        bail!(
            "the query reads topic `{}` without CREATE TABLE: Flink needs the columns declared; \
             add a CREATE TABLE for it (kappa takes the same statement) and export again",
            plan.input
        );
    }
    let mut stmts = Vec::new();
    for text in split_statements(sql) {
        let dialect = KappaDialect::default();
        let mut parsed = Parser::parse_sql(&dialect, &text)
            .with_context(|| format!("parsing statement {text:?}"))?;
        if parsed.len() != 1 {
            bail!("expected one statement in {text:?}");
        }
        let primary_key = dialect
            .primary_keys()
            .into_iter()
            .flat_map(|k| k.columns.into_iter().map(|c| c.value))
            .collect();
        stmts.push(Stmt {
            text,
            parsed: parsed.remove(0),
            primary_key,
        });
    }
    let Some((query_stmt, tables)) = stmts.split_last() else {
        bail!("the processor's SQL has no statement");
    };
    let mut out = String::new();
    writeln!(
        out,
        "-- Flink SQL for kappa processor `{}` (version {}), written by `kappa export flink`.",
        opts.processor, opts.version
    )?;
    writeln!(
        out,
        "-- Sources and sink use Flink's Kafka connector ({}); the query is the processor's, as written.",
        if opts.keep_table_servers {
            format!("kappa's topics at {}", opts.bootstrap_servers)
        } else {
            format!("at {}", opts.bootstrap_servers)
        }
    )?;
    writeln!(out, "-- Run it with Flink's SQL client (sql-client.sh -f <this file>) or statement by statement.")?;
    writeln!(out, "SET 'table.local-time-zone' = 'UTC';")?;
    if plan.allowed_lateness_ms > 0 {
        // kappa's 'allowed-lateness' table option is Flink's (experimental) late firing.
        let s = plan.allowed_lateness_ms as f64 / 1000.0;
        writeln!(out, "SET 'table.exec.emit.allow-lateness' = '{s} s';")?;
        writeln!(out, "SET 'table.exec.emit.late-fire.enabled' = 'true';")?;
        writeln!(out, "SET 'table.exec.emit.late-fire.delay' = '0 s';")?;
    }
    if bounded {
        writeln!(
            out,
            "-- A bounded run: batch mode over the topics as they stand, event time in [{}, {}).",
            opts.from.as_deref().unwrap_or("-inf"),
            opts.to.as_deref().unwrap_or("+inf")
        )?;
        writeln!(out, "SET 'execution.runtime-mode' = 'batch';")?;
    }
    writeln!(out)?;

    let mut columns: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut table_names = Vec::new();
    for t in tables {
        let Statement::CreateTable(ct) = &t.parsed else {
            bail!("only CREATE TABLE may come before the query: {:?}", t.text);
        };
        let name = processor::sql::table::object_name(&ct.name);
        let cols: BTreeMap<String, String> = ct
            .columns
            .iter()
            .map(|c| (c.name.value.clone(), flink_family(&c.data_type)))
            .collect();
        columns.insert(name.clone(), cols);
        table_names.push(name.clone());
        // A bounded run keeps event times in [from, to): a view of that name over the Kafka
        // table filters them, so the query reads it unchanged. Event time is the WATERMARK
        // column, or the record timestamp (Kafka's, as a metadata column) when there is none.
        const RECORD_TIME: &str = "__kappa_record_time";
        let bounds = match (&plan.event_time, bounded) {
            (_, false) => None,
            (EventTime::Slot(_), true) => {
                let col = watermark_column(&t.text).ok_or_else(|| {
                    anyhow!(
                        "table {name}: a bounded run needs the event-time column of its WATERMARK"
                    )
                })?;
                Some((quote(&col), false))
            }
            (EventTime::RecordTimestamp, true) => Some((quote(RECORD_TIME), true)),
        };
        let table_ident = if bounds.is_some() {
            quote(&format!("{name}__kafka"))
        } else {
            ct.name.to_string()
        };
        let (mut body, _) = column_list(&t.text)
            .with_context(|| format!("finding the column list of table {name}"))?;
        if let Some((_, true)) = bounds {
            body = format!(
                "{},
  {} TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL
",
                body.trim_end(),
                quote(RECORD_TIME)
            );
        }
        let key_columns: Vec<(String, String)> = t
            .primary_key
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    columns[&name].get(k).cloned().unwrap_or_default(),
                )
            })
            .collect();
        let options = source_options(ct, &name, opts, bounded, &key_columns)?;
        writeln!(out, "{}", leading_comments(&t.text))?;
        writeln!(
            out,
            "CREATE TABLE {table_ident} ({body}) WITH (\n{options}\n);"
        )?;
        if let Some((col, record_time)) = bounds {
            let at = |t: &str| -> anyhow::Result<String> {
                if record_time {
                    let ms = processor::timestamp::parse(t)
                        .ok_or_else(|| anyhow!("{t:?} is not a timestamp"))?;
                    Ok(format!("TO_TIMESTAMP_LTZ({ms}, 3)"))
                } else {
                    sql_timestamp(t)
                }
            };
            let columns = if record_time {
                ct.columns
                    .iter()
                    .map(|c| quote(&c.name.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                "*".to_string()
            };
            writeln!(
                out,
                "CREATE TEMPORARY VIEW {} AS SELECT {columns} FROM {table_ident}\nWHERE {col} >= {}{};",
                ct.name,
                at(opts.from.as_deref().unwrap_or("1970-01-01T00:00:00Z"))?,
                match &opts.to {
                    Some(to) => format!(" AND {col} < {}", at(to)?),
                    None => String::new(),
                }
            )?;
        }
        writeln!(out)?;
    }

    // The query, its sink name and the column names kappa gives its output.
    let (query, sink_ident, insert_text) = match &query_stmt.parsed {
        Statement::Query(q) => {
            let sink = if table_names.iter().any(|t| t == &opts.processor) {
                format!("{}_sink", opts.processor)
            } else {
                opts.processor.clone()
            };
            let text = format!(
                "INSERT INTO {}\n{};",
                quote(&sink),
                strip_leading_comments(&query_stmt.text)
            );
            (q.as_ref(), quote(&sink), text)
        }
        Statement::Insert(ins) => {
            let Some(source) = &ins.source else {
                bail!("INSERT without SELECT");
            };
            let ast::TableObject::TableName(name) = &ins.table else {
                bail!("INSERT INTO needs a table name");
            };
            (
                source.as_ref(),
                name.to_string(),
                format!("{};", strip_leading_comments(&query_stmt.text)),
            )
        }
        _ => bail!("the last statement must be the query"),
    };
    let (insert_text, rewrites) = flink_syntax(&insert_text, query)?;
    let sink_topic = plan
        .output
        .clone()
        .unwrap_or_else(|| opts.processor.clone());
    let SetExpr::Select(select) = query.body.as_ref() else {
        bail!("only a plain SELECT is exported");
    };
    let env = Env::new(select, &columns);
    let mut types = Vec::new();
    let mut asts = Vec::new();
    if let Body::TopN(top) = &plan.body {
        // The ranked rows' columns: the inner query's, typed by the plan; the row number BIGINT.
        for out in &top.outputs {
            types.push(match out.map(|i| &top.row[i]) {
                None => "BIGINT".to_string(),
                Some(processor::plan::expr::Expr::Slot(s)) => type_name(plan.slot_types[*s]),
                Some(_) => bail!(
                    "a Top-N selecting a computed column is not exported: select the columns \
                     of its input, as Flink's Top-N examples do"
                ),
            });
            asts.push(None);
        }
    } else {
        match select.projection.as_slice() {
            [SelectItem::Wildcard(_)] => {
                let Some(t) = env.single_table() else {
                    bail!("SELECT * needs one table");
                };
                let decl = tables
                    .iter()
                    .find_map(|s| match &s.parsed {
                        Statement::CreateTable(ct) => Some(ct),
                        _ => None,
                    })
                    .filter(|ct| processor::sql::table::object_name(&ct.name) == t)
                    .ok_or_else(|| anyhow!("table {t} not declared"))?;
                for c in &decl.columns {
                    types.push(flink_family(&c.data_type));
                    asts.push(None);
                }
            }
            items => {
                for item in items {
                    let e = match item {
                        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                        other => bail!("SELECT item {other} is not exported"),
                    };
                    types.push(env.type_of(e));
                    asts.push(Some(e.clone()));
                }
            }
        }
    }
    if types.len() != plan.columns.len() {
        bail!(
            "the SELECT list has {} items and the processor {} columns",
            types.len(),
            plan.columns.len()
        );
    }

    // Updating results: a non-windowed aggregate (GROUP BY, SELECT DISTINCT, or aggregates
    // without GROUP BY), or a window that fires again for late events. Insert-only in batch mode.
    // A filter/map over a PRIMARY KEY table (a changelog) is one too, keyed the same.
    let changelog = !plan.primary_key.names.is_empty() && plan.join.is_none();
    let updating = !bounded
        && match &plan.body {
            Body::Aggregate(a) => a.window.is_none() || plan.allowed_lateness_ms > 0,
            Body::TopN(_) => true,
            _ => changelog,
        };
    let mut key_columns = Vec::new();
    if let (true, Body::TopN(top)) = (updating, &plan.body) {
        key_columns = top_n_key(top)?;
    } else if updating && changelog {
        for k in &plan.primary_key.names {
            let i = asts
                .iter()
                .position(|a| a.as_ref().is_some_and(|a| is_name(a, k)))
                .or_else(|| plan.columns.iter().position(|c| c == k))
                .ok_or_else(|| {
                    anyhow!(
                        "the PRIMARY KEY column {k} is not in the SELECT list: Flink's \
                         upsert-kafka sink needs the result's key among its columns"
                    )
                })?;
            key_columns.push(i);
        }
    } else if updating {
        let mut groups: Vec<Expr> = match &select.group_by {
            GroupByExpr::Expressions(g, _) => g.clone(),
            GroupByExpr::All(_) => Vec::new(),
        };
        if select.distinct.is_some() {
            groups = asts.iter().flatten().cloned().collect();
        }
        for g in &groups {
            let g = positional(g, &asts).unwrap_or(g);
            if let Some(i) = asts
                .iter()
                .position(|a| a.as_ref().is_some_and(|a| same(a, g)))
                .or_else(|| plan.columns.iter().position(|c| is_name(g, c)))
            {
                if !key_columns.contains(&i) {
                    key_columns.push(i);
                }
            } else if window_group(g).is_none() {
                bail!(
                    "GROUP BY {g} is not in the SELECT list: Flink's upsert-kafka sink needs \
                     the result's key among its columns"
                );
            } else {
                // A window (late firing): its start and end, when selected, are the key.
                for (i, a) in asts.iter().enumerate() {
                    if a.as_ref().is_some_and(is_window_bound) && !key_columns.contains(&i) {
                        key_columns.push(i);
                    }
                }
            }
        }
        if key_columns.is_empty() {
            bail!(
                "the result is an updating table without a key (an aggregate without GROUP BY): \
                 Flink's upsert-kafka sink needs a PRIMARY KEY"
            );
        }
    }

    writeln!(
        out,
        "-- The output: {}",
        if updating {
            "an updating table (latest row per key), as kappa's upsert records."
        } else {
            "one record per result row, as kappa's."
        }
    )?;
    let mut cols = Vec::new();
    for (name, t) in plan.columns.iter().zip(&types) {
        cols.push(format!("  {} {t}", quote(name)));
    }
    if updating {
        let keys: Vec<String> = key_columns
            .iter()
            .map(|&i| quote(&plan.columns[i]))
            .collect();
        cols.push(format!("  PRIMARY KEY ({}) NOT ENFORCED", keys.join(", ")));
    }
    let bootstrap = sql_string(
        &tables
            .iter()
            .find_map(|t| match &t.parsed {
                Statement::CreateTable(ct) => table_servers(ct, opts),
                _ => None,
            })
            .unwrap_or_else(|| opts.bootstrap_servers.clone()),
    );
    let sink_options = if updating {
        vec![
            "'connector' = 'upsert-kafka'".to_string(),
            format!("'topic' = {}", sql_string(&sink_topic)),
            format!("'properties.bootstrap.servers' = {bootstrap}"),
            "'key.format' = 'json'".into(),
            "'value.format' = 'json'".into(),
            "'value.json.timestamp-format.standard' = 'ISO-8601'".into(),
        ]
    } else {
        vec![
            "'connector' = 'kafka'".to_string(),
            format!("'topic' = {}", sql_string(&sink_topic)),
            format!("'properties.bootstrap.servers' = {bootstrap}"),
            "'format' = 'json'".into(),
            "'json.timestamp-format.standard' = 'ISO-8601'".into(),
        ]
    };
    writeln!(
        out,
        "CREATE TABLE {sink_ident} (\n{}\n) WITH (\n  {}\n);\n",
        cols.join(",\n"),
        sink_options.join(",\n  ")
    )?;
    writeln!(out, "{}", leading_comments(&query_stmt.text))?;
    for r in rewrites {
        writeln!(out, "-- kappa-only syntax written as Flink's: {r}")?;
    }
    writeln!(out, "{insert_text}")?;
    Ok(out.replace("\n\n\n", "\n\n"))
}

/// A Top-N's key in its output, as Flink's: the partition columns and the row number (the
/// partition columns alone when it keeps one row per key, a deduplication; the whole row when
/// the row number is not selected).
fn top_n_key(top: &processor::plan::TopN) -> anyhow::Result<Vec<usize>> {
    use processor::plan::expr::Expr as P;
    let mut key = Vec::new();
    for p in &top.partition {
        let column = top.outputs.iter().position(|o| {
            o.is_some_and(|i| matches!((&top.row[i], p), (P::Slot(a), P::Slot(b)) if a == b))
        });
        key.push(column.ok_or_else(|| {
            anyhow!(
                "a PARTITION BY column of the Top-N is not in the SELECT list: Flink's \
                 upsert-kafka sink needs the result's key among its columns"
            )
        })?);
    }
    if top.n > 1 {
        match top.outputs.iter().position(Option::is_none) {
            Some(rn) => key.push(rn),
            // Without the row number Flink's rows are told apart by their content (its
            // "no ranking number" form): the whole row is the key.
            None => key = (0..top.outputs.len()).collect(),
        }
    }
    if key.is_empty() {
        bail!("a Top-1 without PARTITION BY has no key for Flink's upsert-kafka sink");
    }
    Ok(key)
}

/// Flink's name of a kappa column type (an untyped column is read as STRING).
fn type_name(t: processor::plan::expr::Type) -> String {
    use processor::plan::expr::Type;
    match t {
        Type::Bool => "BOOLEAN",
        Type::Int => "BIGINT",
        Type::Double => "DOUBLE",
        Type::Ts => "TIMESTAMP(3)",
        Type::Str | Type::Any => "STRING",
    }
    .to_string()
}

/// The two spellings kappa takes that Flink's parser does not: `DATE(x)` (the seed's dbt model;
/// Flink writes `CAST(x AS DATE)`) and `GROUP BY 1, 2` (ordinals; Flink wants the expressions).
/// Everything else in the query stays as written. Returns the text and what was rewritten.
fn flink_syntax(text: &str, query: &ast::Query) -> anyhow::Result<(String, Vec<String>)> {
    let mut notes = Vec::new();
    let mut out = rewrite_date_calls(text);
    if out != text {
        notes.push("DATE(x) as CAST(x AS DATE)".to_string());
    }
    if let SetExpr::Select(select) = query.body.as_ref() {
        if let GroupByExpr::Expressions(groups, _) = &select.group_by {
            let ordinal =
                |g: &Expr| matches!(g, Expr::Value(v) if matches!(v.value, ast::Value::Number(..)));
            if groups.iter().any(ordinal) {
                let items: Vec<String> = select
                    .projection
                    .iter()
                    .map(|i| match i {
                        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                            rewrite_date_calls(&e.to_string())
                        }
                        other => other.to_string(),
                    })
                    .collect();
                let list: Vec<String> = groups
                    .iter()
                    .map(|g| match g {
                        Expr::Value(v) => match &v.value {
                            ast::Value::Number(n, _) => n
                                .parse::<usize>()
                                .ok()
                                .and_then(|i| items.get(i.checked_sub(1)?))
                                .cloned()
                                .ok_or_else(|| anyhow!("GROUP BY {n}: no such SELECT item")),
                            _ => Ok(rewrite_date_calls(&g.to_string())),
                        },
                        _ => Ok(rewrite_date_calls(&g.to_string())),
                    })
                    .collect::<anyhow::Result<_>>()?;
                let re_list = groups.iter().map(|g| g.to_string()).collect::<Vec<_>>();
                // Find `GROUP BY <the ordinals as written>` in the text, outside quotes.
                let upper = out.to_ascii_uppercase();
                let at = upper
                    .rfind("GROUP BY")
                    .ok_or_else(|| anyhow!("GROUP BY not found in the query text"))?;
                let after = &out[at + "GROUP BY".len()..];
                let mut end = 0;
                let mut seen = 0;
                for (i, c) in after.char_indices() {
                    if c.is_ascii_digit() || c == ',' || c.is_whitespace() {
                        end = i + c.len_utf8();
                        if c == ',' {
                            seen += 1;
                        }
                    } else {
                        break;
                    }
                }
                if seen + 1 != re_list.len() {
                    bail!(
                        "GROUP BY mixes ordinals and expressions; write the expressions for Flink"
                    );
                }
                let trailing = &after[..end];
                let ws = &trailing[trailing.trim_end().len()..];
                out = format!(
                    "{} {}{ws}{}",
                    &out[..at + "GROUP BY".len()],
                    list.join(", "),
                    &after[end..]
                );
                notes.push("GROUP BY ordinals as the SELECT items' expressions".to_string());
            }
        }
    }
    Ok((out, notes))
}

/// `DATE(x)` -> `CAST(x AS DATE)`, outside quotes and comments.
fn rewrite_date_calls(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' || c == b'`' {
            let end = text[i + 1..]
                .find(c as char)
                .map_or(b.len(), |j| i + 1 + j + 1);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        if text[i..].starts_with("--") {
            let end = text[i..].find('\n').map_or(b.len(), |j| i + j);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if word_start && text.len() >= i + 4 && text[i..i + 4].eq_ignore_ascii_case("DATE") {
            let rest = &text[i + 4..];
            let open = rest.len() - rest.trim_start().len();
            if rest[open..].starts_with('(') {
                let start = i + 4 + open + 1;
                let mut depth = 1;
                let mut j = start;
                while j < b.len() && depth > 0 {
                    match b[j] {
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth == 0 {
                    let inner = rewrite_date_calls(&text[start..j - 1]);
                    out.push_str(&format!("CAST({inner} AS DATE)"));
                    i = j;
                    continue;
                }
            }
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The WITH options of a source table on Flink's Kafka connector.
/// The Kafka source options of a table. A table with a PRIMARY KEY is a changelog: Flink's
/// `upsert-kafka` reads it (the latest value per key, a null value deletes), its key in the
/// record key — the key's text for one STRING column (`?key=<column>` over HTTP, or a Kafka
/// client's string key), else JSON.
fn source_options(
    ct: &ast::CreateTable,
    name: &str,
    opts: &Options,
    bounded: bool,
    key_columns: &[(String, String)],
) -> anyhow::Result<String> {
    let written: Vec<(String, String)> = match &ct.table_options {
        CreateTableOptions::With(o) => o
            .iter()
            .filter_map(|o| match o {
                SqlOption::KeyValue { key, value } => Some((
                    key.value.clone(),
                    processor::sql::literal::literal_string(value).unwrap_or_default(),
                )),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let get = |k: &str| {
        written
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let topic = get("topic").unwrap_or_else(|| name.to_string());
    let servers = table_servers(ct, opts).unwrap_or_else(|| opts.bootstrap_servers.clone());
    let mut out = if key_columns.is_empty() {
        vec![
            ("connector".to_string(), "kafka".to_string()),
            ("topic".into(), topic),
            ("properties.bootstrap.servers".into(), servers),
            ("properties.group.id".into(), opts.processor.clone()),
            (
                "scan.startup.mode".into(),
                get("scan.startup.mode").unwrap_or_else(|| "earliest-offset".into()),
            ),
        ]
    } else {
        if bounded {
            bail!("table {name} has a PRIMARY KEY: Flink's upsert-kafka source cannot be bounded");
        }
        let text_key = matches!(key_columns, [(_, t)] if t == "STRING");
        vec![
            ("connector".to_string(), "upsert-kafka".to_string()),
            ("topic".into(), topic),
            ("properties.bootstrap.servers".into(), servers),
            ("properties.group.id".into(), opts.processor.clone()),
            (
                "key.format".into(),
                if text_key { "raw" } else { "json" }.into(),
            ),
            ("value.format".into(), "json".into()),
        ]
    };
    if key_columns.is_empty() {
        if let Some(ts) = get("scan.startup.timestamp-millis") {
            out.push(("scan.startup.timestamp-millis".into(), ts));
        }
        if bounded {
            out.push(("scan.bounded.mode".into(), "latest-offset".into()));
        }
        out.push(("format".into(), "json".into()));
    }
    for (k, v) in &written {
        let passed = k == "scan.watermark.idle-timeout"
            || k.starts_with("json.")
            || (k.starts_with("properties.")
                && k != "properties.bootstrap.servers"
                && k != "properties.group.id");
        if passed {
            out.push((k.clone(), v.clone()));
        }
    }
    Ok(out
        .iter()
        .map(|(k, v)| format!("  {} = {}", sql_string(k), sql_string(v)))
        .collect::<Vec<_>>()
        .join(",\n"))
}

/// The servers a `'connector' = 'kafka'` table names, when they are to be kept.
fn table_servers(ct: &ast::CreateTable, opts: &Options) -> Option<String> {
    if !opts.keep_table_servers {
        return None;
    }
    let CreateTableOptions::With(options) = &ct.table_options else {
        return None;
    };
    let get = |k: &str| {
        options.iter().find_map(|o| match o {
            SqlOption::KeyValue { key, value } if key.value == k => {
                processor::sql::literal::literal_string(value).ok()
            }
            _ => None,
        })
    };
    (get("connector").as_deref() == Some("kafka"))
        .then(|| get("properties.bootstrap.servers"))
        .flatten()
}

/// Splits SQL text into statements at `;` outside quotes and comments; each statement keeps its
/// leading comments; empty ones (only comments and blanks) are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                cur.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    cur.push(d);
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            ';' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !strip_leading_comments(s).is_empty())
        .collect()
}

/// The `--` comment lines a statement starts with.
fn leading_comments(text: &str) -> String {
    let body = strip_leading_comments(text);
    text[..text.len() - body.len()].trim_end().to_string()
}

fn strip_leading_comments(text: &str) -> &str {
    let mut rest = text.trim_start();
    while let Some(r) = rest.strip_prefix("--") {
        rest = r.find('\n').map_or("", |i| &r[i + 1..]).trim_start();
    }
    rest
}

/// The text between a CREATE TABLE's outermost parentheses (columns and WATERMARK, as written),
/// and the byte offset just past the closing one.
fn column_list(text: &str) -> anyhow::Result<(String, usize)> {
    let body = strip_leading_comments(text);
    let base = text.len() - body.len();
    let mut depth = 0;
    let mut start = None;
    let mut quote_char = None;
    for (i, c) in body.char_indices() {
        if let Some(q) = quote_char {
            if c == q {
                quote_char = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote_char = Some(c),
            '(' => {
                if depth == 0 {
                    start = Some(i + 1);
                }
                depth += 1;
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let s = start.expect("set at depth 0");
                    return Ok((body[s..i].to_string(), base + i + 1));
                }
            }
            _ => {}
        }
    }
    bail!("no column list")
}

/// The column of `WATERMARK FOR <column>` in a CREATE TABLE's text.
fn watermark_column(text: &str) -> Option<String> {
    let dialect = KappaDialect::default();
    Parser::parse_sql(&dialect, text).ok()?;
    dialect.watermarks().first().map(|w| w.column.value.clone())
}

/// A Flink identifier in backquotes.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A SQL string literal.
fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `TIMESTAMP 'yyyy-MM-dd HH:mm:ss.SSS'` (UTC) for an RFC 3339 time.
fn sql_timestamp(rfc3339: &str) -> anyhow::Result<String> {
    let ms = processor::timestamp::parse(rfc3339)
        .ok_or_else(|| anyhow!("{rfc3339:?} is not a timestamp"))?;
    Ok(format!(
        "TIMESTAMP '{}'",
        processor::timestamp::format_sql(ms)
    ))
}

/// A declared type, widened to its family: what the sink declares.
fn flink_family(dt: &DataType) -> String {
    let text = dt.to_string().to_ascii_uppercase();
    family_of_name(&text)
}

fn family_of_name(text: &str) -> String {
    let head: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '_')
        .collect();
    match head.as_str() {
        "TINYINT" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" | "INT64" | "INT32" => "BIGINT",
        "FLOAT" | "REAL" | "DOUBLE" | "DECIMAL" | "DEC" | "NUMERIC" | "FLOAT64" => "DOUBLE",
        "BOOLEAN" | "BOOL" => "BOOLEAN",
        "TIMESTAMP" | "DATETIME" | "TIMESTAMPNTZ" => "TIMESTAMP(3)",
        "DATE" => "DATE",
        _ => "STRING",
    }
    .to_string()
}

/// Column types by table, for typing the SELECT list.
struct Env<'a> {
    tables: Vec<(String, Option<String>)>,
    columns: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// The SELECT items by alias (GROUP BY and ORDER BY may name them).
    tvf: bool,
}

impl<'a> Env<'a> {
    fn new(select: &ast::Select, columns: &'a BTreeMap<String, BTreeMap<String, String>>) -> Self {
        let mut tables = Vec::new();
        let mut tvf = false;
        for f in &select.from {
            match &f.relation {
                ast::TableFactor::Table {
                    name, alias, args, ..
                } => {
                    let n = processor::sql::table::object_name(name);
                    if args.is_some() || !columns.contains_key(&n) {
                        tvf = true;
                        // TABLE(TUMBLE(TABLE orders, ...)): the table inside.
                        let inner = args
                            .as_ref()
                            .map(|a| a.args.iter().map(|x| x.to_string()).collect::<String>())
                            .unwrap_or_default();
                        for t in columns.keys() {
                            if inner.contains(t.as_str()) {
                                tables.push((
                                    t.clone(),
                                    alias.as_ref().map(|a| a.name.value.clone()),
                                ));
                            }
                        }
                    } else {
                        tables.push((n, alias.as_ref().map(|a| a.name.value.clone())));
                    }
                }
                ast::TableFactor::TableFunction { expr, alias } => {
                    tvf = true;
                    let inner = expr.to_string();
                    for t in columns.keys() {
                        if inner.contains(t.as_str()) {
                            tables.push((t.clone(), alias.as_ref().map(|a| a.name.value.clone())));
                        }
                    }
                }
                _ => tvf = true,
            }
            // `JOIN t [FOR SYSTEM_TIME AS OF ..] [AS a]`: its columns resolve too.
            for j in &f.joins {
                if let ast::TableFactor::Table { name, alias, .. } = &j.relation {
                    let n = processor::sql::table::object_name(name);
                    tables.push((n, alias.as_ref().map(|a| a.name.value.clone())));
                }
            }
        }
        if tables.is_empty() {
            tables = columns.keys().map(|k| (k.clone(), None)).collect();
        }
        Env {
            tables,
            columns,
            tvf,
        }
    }

    fn single_table(&self) -> Option<String> {
        match self.tables.as_slice() {
            [(t, _)] => Some(t.clone()),
            _ => None,
        }
    }

    fn column(&self, parts: &[ast::Ident]) -> String {
        let names: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
        let lookup = |col: &str| {
            self.tables
                .iter()
                .find_map(|(t, _)| self.columns.get(t).and_then(|c| c.get(col)).cloned())
        };
        // `col`, `t.col` / `alias.col`, or a nested field `col.field` (its type unknown here).
        if names.len() == 2 {
            let qualified = self.tables.iter().find_map(|(t, alias)| {
                (t == names[0] || alias.as_deref() == Some(names[0]))
                    .then(|| self.columns.get(t).and_then(|c| c.get(names[1])).cloned())
                    .flatten()
            });
            if let Some(t) = qualified {
                return t;
            }
        }
        if let Some(t) = lookup(names[0]) {
            return if names.len() == 1 { t } else { "STRING".into() };
        }
        if names.len() >= 2 {
            if let Some(t) = lookup(names[1]) {
                return if names.len() == 2 { t } else { "STRING".into() };
            }
        }
        match names.last().copied().unwrap_or("") {
            "window_start" | "window_end" | "window_time" if self.tvf => "TIMESTAMP(3)".into(),
            "_timestamp" => "TIMESTAMP(3)".into(),
            _ => "STRING".into(),
        }
    }

    /// Flink's type of an expression, widened to its family.
    fn type_of(&self, e: &Expr) -> String {
        let num = |a: String, b: String| -> String {
            if a == "BIGINT" && b == "BIGINT" {
                "BIGINT".into()
            } else {
                "DOUBLE".into()
            }
        };
        match e {
            Expr::Identifier(i) => self.column(std::slice::from_ref(i)),
            Expr::CompoundIdentifier(parts) => self.column(parts),
            Expr::Nested(x) => self.type_of(x),
            Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) if n.contains(['.', 'e', 'E']) => "DOUBLE".into(),
                ast::Value::Number(..) => "BIGINT".into(),
                ast::Value::Boolean(_) => "BOOLEAN".into(),
                _ => "STRING".into(),
            },
            Expr::TypedString(t) => family_of_name(&t.data_type.to_string()),
            Expr::BinaryOp { left, op, right } => {
                use ast::BinaryOperator as B;
                match op {
                    B::Plus | B::Minus | B::Multiply | B::Modulo => {
                        let (l, r) = (self.type_of(left), self.type_of(right));
                        if l == "TIMESTAMP(3)" || r == "TIMESTAMP(3)" {
                            "TIMESTAMP(3)".into()
                        } else {
                            num(l, r)
                        }
                    }
                    B::Divide => num(self.type_of(left), self.type_of(right)),
                    B::StringConcat => "STRING".into(),
                    _ => "BOOLEAN".into(),
                }
            }
            Expr::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Not => "BOOLEAN".into(),
                _ => self.type_of(expr),
            },
            Expr::Cast { data_type, .. } => family_of_name(&data_type.to_string().to_uppercase()),
            Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotTrue(_)
            | Expr::IsNotFalse(_)
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::SimilarTo { .. } => "BOOLEAN".into(),
            Expr::Case {
                conditions,
                else_result,
                ..
            } => {
                let mut types: Vec<String> =
                    conditions.iter().map(|c| self.type_of(&c.result)).collect();
                if let Some(e) = else_result {
                    types.push(self.type_of(e));
                }
                common(&types)
            }
            Expr::Floor { expr, field } | Expr::Ceil { expr, field } => match field {
                ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                    self.type_of(expr)
                }
                ast::CeilFloorKind::DateTimeField(_) => "TIMESTAMP(3)".into(),
                ast::CeilFloorKind::Scale(_) => self.type_of(expr),
            },
            Expr::Extract { .. } => "BIGINT".into(),
            Expr::Substring { .. } | Expr::Trim { .. } | Expr::Overlay { .. } => "STRING".into(),
            Expr::Position { .. } => "BIGINT".into(),
            Expr::Function(f) => self.function(f),
            _ => "STRING".into(),
        }
    }

    fn args<'f>(&self, f: &'f ast::Function) -> Vec<&'f Expr> {
        match &f.args {
            FunctionArguments::List(l) => l
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => Some(e),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn function(&self, f: &ast::Function) -> String {
        let name = f.name.to_string().to_ascii_uppercase();
        let args = self.args(f);
        let first = || {
            args.first()
                .map_or("STRING".to_string(), |a| self.type_of(a))
        };
        match name.as_str() {
            "COUNT" | "ROW_NUMBER" | "RANK" | "DENSE_RANK" | "CHAR_LENGTH" | "CHARACTER_LENGTH"
            | "TIMESTAMPDIFF" | "EXTRACT" | "YEAR" | "MONTH" | "DAYOFMONTH" | "HOUR" | "MINUTE"
            | "SECOND" | "QUARTER" | "WEEK" | "DAYOFWEEK" | "DAYOFYEAR" => "BIGINT".into(),
            "SUM" | "MIN" | "MAX" | "ABS" | "FIRST_VALUE" | "LAST_VALUE" => first(),
            "AVG" | "ROUND" | "TRUNCATE" | "FLOOR" | "CEIL" | "CEILING" => {
                let t = first();
                if t == "BIGINT" || t == "DOUBLE" {
                    t
                } else {
                    "DOUBLE".into()
                }
            }
            "STDDEV_POP" | "STDDEV_SAMP" | "STDDEV" | "VAR_POP" | "VAR_SAMP" | "VARIANCE"
            | "POWER" | "SQRT" | "EXP" | "LN" | "LOG10" | "LOG" | "RAND" => "DOUBLE".into(),
            "COALESCE" | "IFNULL" | "NULLIF" | "GREATEST" | "LEAST" => {
                common(&args.iter().map(|a| self.type_of(a)).collect::<Vec<_>>())
            }
            "IF" => common(
                &args
                    .iter()
                    .skip(1)
                    .map(|a| self.type_of(a))
                    .collect::<Vec<_>>(),
            ),
            "DATE" | "TO_DATE" | "CURRENT_DATE" => "DATE".into(),
            "TO_TIMESTAMP" | "TUMBLE_START" | "TUMBLE_END" | "HOP_START" | "HOP_END"
            | "SESSION_START" | "SESSION_END" | "CUMULATE_START" | "CUMULATE_END"
            | "TUMBLE_ROWTIME" | "HOP_ROWTIME" | "SESSION_ROWTIME" | "TUMBLE_PROCTIME"
            | "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" | "NOW" => "TIMESTAMP(3)".into(),
            "IS_NULL" | "REGEXP" => "BOOLEAN".into(),
            _ => "STRING".into(),
        }
    }
}

/// The common family of CASE/COALESCE branches (NULL literals aside).
fn common(types: &[String]) -> String {
    let real: Vec<&String> = types.iter().filter(|t| t.as_str() != "NULL").collect();
    if real.iter().all(|t| *t == "BIGINT") && !real.is_empty() {
        return "BIGINT".into();
    }
    if real.iter().all(|t| *t == "BIGINT" || *t == "DOUBLE") && !real.is_empty() {
        return "DOUBLE".into();
    }
    real.first()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "STRING".into())
}

/// `GROUP BY 2`: the second SELECT item.
fn positional<'a>(g: &Expr, asts: &'a [Option<Expr>]) -> Option<&'a Expr> {
    let Expr::Value(v) = g else { return None };
    let ast::Value::Number(n, _) = &v.value else {
        return None;
    };
    let i: usize = n.parse().ok()?;
    asts.get(i.checked_sub(1)?)?.as_ref()
}

fn same(a: &Expr, b: &Expr) -> bool {
    a.to_string().eq_ignore_ascii_case(&b.to_string())
}

fn is_name(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Identifier(i) => i.value == name,
        _ => false,
    }
}

/// `TUMBLE(ts, ...)` and friends in GROUP BY, or a TVF's window_start/window_end.
fn window_group(g: &Expr) -> Option<()> {
    match g {
        Expr::Function(f) => {
            let n = f.name.to_string().to_ascii_uppercase();
            ["TUMBLE", "HOP", "SESSION", "CUMULATE"]
                .contains(&n.as_str())
                .then_some(())
        }
        Expr::Identifier(i) if i.value == "window_start" || i.value == "window_end" => Some(()),
        _ => None,
    }
}

fn is_window_bound(e: &Expr) -> bool {
    match e {
        Expr::Function(f) => {
            let n = f.name.to_string().to_ascii_uppercase();
            n.ends_with("_START") || n.ends_with("_END")
        }
        Expr::Identifier(i) => i.value == "window_start" || i.value == "window_end",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(name: &str) -> Options {
        Options {
            processor: name.into(),
            version: 1,
            bootstrap_servers: "kafka:9092".into(),
            keep_table_servers: false,
            from: None,
            to: None,
        }
    }

    fn example(name: &str) -> String {
        let path = format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_seed_query_becomes_kafka_source_kafka_sink_and_the_query_as_written() {
        let sql = example("revenue.sql");
        let script = flink_script(&sql, &opts("revenue")).unwrap();
        assert!(script.contains("'connector' = 'kafka'"), "{script}");
        assert!(!script.contains("'kappa'"), "{script}");
        assert!(script.contains("'topic' = 'order-events'"), "{script}");
        assert!(
            script.contains("'properties.bootstrap.servers' = 'kafka:9092'"),
            "{script}"
        );
        assert!(
            script.contains("'scan.startup.mode' = 'earliest-offset'"),
            "{script}"
        );
        assert!(
            script.contains("WATERMARK FOR ts AS ts - INTERVAL '5' SECOND"),
            "{script}"
        );
        assert!(script.contains(
            "CREATE TABLE `revenue` (\n  `window_start` TIMESTAMP(3),\n  `category` STRING,\n  \
             `revenue` DOUBLE,\n  `order_count` BIGINT,\n  `avg_order_value` DOUBLE\n)"
        ), "{script}");
        // The query text is the processor's, character for character.
        let query = split_statements(&sql).pop().unwrap();
        assert!(
            script.contains(&format!("INSERT INTO `revenue`\n{query};")),
            "{script}"
        );
        assert!(!script.contains("upsert-kafka"), "{script}");
    }

    #[test]
    fn a_processor_already_on_kafka_keeps_its_cluster_unless_told_otherwise() {
        let sql = example("revenue.sql").replace(
            "'connector' = 'kappa'",
            "'connector' = 'kafka', 'properties.bootstrap.servers' = 'k1:9092,k2:9092'",
        );
        let keep = Options {
            keep_table_servers: true,
            ..opts("revenue")
        };
        let script = flink_script(&sql, &keep).unwrap();
        assert_eq!(
            script
                .matches("'properties.bootstrap.servers' = 'k1:9092,k2:9092'")
                .count(),
            2,
            "the source and the sink are on the processor's cluster: {script}"
        );
        assert!(!script.contains("kafka:9092'"), "{script}");
    }

    #[test]
    fn insert_into_keeps_its_target_and_the_sink_is_that_topic() {
        let sql = example("category_counts.sql");
        let script = flink_script(&sql, &opts("counts")).unwrap();
        assert!(
            script.contains("CREATE TABLE `category-counts-output` (\n  `category` STRING,\n  `count` BIGINT,\n  `window_start` TIMESTAMP(3)\n)"),
            "{script}"
        );
        assert!(
            script.contains("'topic' = 'category-counts-output'"),
            "{script}"
        );
        assert!(
            script.contains("INSERT INTO `category-counts-output`\nSELECT category"),
            "{script}"
        );
    }

    #[test]
    fn a_non_windowed_group_by_is_an_upsert_kafka_sink_keyed_by_the_group_key() {
        let sql = example("batch.sql").replace("ORDER BY revenue DESC", "");
        let script = flink_script(&sql, &opts("by_region")).unwrap();
        assert!(script.contains("'connector' = 'upsert-kafka'"), "{script}");
        assert!(
            script.contains("PRIMARY KEY (`category`, `region`) NOT ENFORCED"),
            "{script}"
        );
        assert!(script.contains("`unique_customers` BIGINT"), "{script}");
        assert!(script.contains("`avg_order_value` DOUBLE"), "{script}");
    }

    #[test]
    fn a_versioned_table_is_read_by_upsert_kafka_and_joined_columns_keep_their_types() {
        let sql = "CREATE TABLE orders (id STRING, amount DOUBLE, currency STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts) WITH ('connector' = 'kappa', 'topic' = 'orders');
CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3), WATERMARK FOR ts AS ts,
  PRIMARY KEY (currency) NOT ENFORCED) WITH ('connector' = 'kappa', 'topic' = 'rates');
SELECT o.id, r.rate, o.amount * r.rate AS converted
FROM orders AS o JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r ON o.currency = r.currency";
        let script = flink_script(sql, &opts("converted")).unwrap();
        let rates = &script[script.find("CREATE TABLE rates").unwrap()..];
        let rates = &rates[..rates.find(");").unwrap()];
        assert!(rates.contains("'connector' = 'upsert-kafka'"), "{script}");
        assert!(rates.contains("'key.format' = 'raw'"), "{script}");
        assert!(!rates.contains("scan.startup.mode"), "{script}");
        assert!(script.contains("`rate` DOUBLE"), "{script}");
        assert!(script.contains("`converted` DOUBLE"), "{script}");
    }

    #[test]
    fn a_map_over_a_primary_key_table_is_an_upsert_kafka_sink_keyed_the_same() {
        let sql = "CREATE TABLE rates (currency STRING, rate DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts, PRIMARY KEY (currency) NOT ENFORCED)
  WITH ('connector' = 'kappa', 'topic' = 'rates');
SELECT currency, rate * 100 AS pct FROM rates WHERE rate < 2";
        let script = flink_script(sql, &opts("pct")).unwrap();
        let sink = &script[script.find("CREATE TABLE `pct`").unwrap()..];
        assert!(sink.contains("'connector' = 'upsert-kafka'"), "{script}");
        assert!(
            sink.contains("PRIMARY KEY (`currency`) NOT ENFORCED"),
            "{script}"
        );
        let e = flink_script(&sql.replace("SELECT currency, ", "SELECT "), &opts("pct"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("currency is not in the SELECT list"), "{e}");
    }

    #[test]
    fn a_bounded_run_is_a_batch_job_over_its_event_time_range() {
        let sql = example("batch.sql");
        let mut o = opts("daily");
        o.from = Some("2026-03-25T00:00:00.000Z".into());
        o.to = Some("2026-03-26T00:00:00.000Z".into());
        let script = flink_script(&sql, &o).unwrap();
        assert!(
            script.contains("SET 'execution.runtime-mode' = 'batch';"),
            "{script}"
        );
        assert!(
            script.contains("'scan.bounded.mode' = 'latest-offset'"),
            "{script}"
        );
        assert!(script.contains("CREATE TABLE `orders__kafka`"), "{script}");
        assert!(script.contains(
            "CREATE TEMPORARY VIEW orders AS SELECT * FROM `orders__kafka`\nWHERE `ts` >= TIMESTAMP '2026-03-25 00:00:00.000' AND `ts` < TIMESTAMP '2026-03-26 00:00:00.000';"
        ), "{script}");
        assert!(script.contains("ORDER BY revenue DESC;"), "{script}");
        assert!(!script.contains("upsert-kafka"), "{script}");
    }

    #[test]
    fn every_example_exports() {
        for f in std::fs::read_dir(format!("{}/../examples", env!("CARGO_MANIFEST_DIR"))).unwrap() {
            let path = f.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("sql") {
                continue;
            }
            let sql = std::fs::read_to_string(&path).unwrap();
            let mut o = opts("p");
            if sql.contains("ORDER BY") || sql.contains("DATE(ts)") {
                o.from = Some("2026-03-25T00:00:00Z".into());
                o.to = Some("2026-03-26T00:00:00Z".into());
            }
            let script =
                flink_script(&sql, &o).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            assert!(!script.contains("'kappa'"), "{}: {script}", path.display());
            assert_eq!(
                script.matches("INSERT INTO").count(),
                1,
                "{}: {script}",
                path.display()
            );
        }
    }

    #[test]
    fn kappa_only_options_are_dropped_and_flink_ones_kept() {
        let sql = "CREATE TABLE t (a STRING, n INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
            WITH ('connector' = 'kappa', 'topic' = 'x', 'format' = 'json',
                  'scan.watermark.idle-timeout' = '5 s', 'allowed-lateness' = '10 s',
                  'json.ignore-parse-errors' = 'true', 'properties.group.id' = 'g');
            SELECT TUMBLE_START(ts, INTERVAL '1' MINUTE) AS w, a, SUM(n) AS s, n * 2 AS d
            FROM t GROUP BY TUMBLE(ts, INTERVAL '1' MINUTE), a, n * 2";
        let script = flink_script(sql, &opts("p")).unwrap();
        assert!(!script.contains("allowed-lateness"), "{script}");
        assert!(
            script.contains("'scan.watermark.idle-timeout' = '5 s'"),
            "{script}"
        );
        assert!(
            script.contains("'json.ignore-parse-errors' = 'true'"),
            "{script}"
        );
        assert!(
            script.contains("SET 'table.exec.emit.allow-lateness' = '10 s';"),
            "{script}"
        );
        // Late firings update a window's row: upsert-kafka keyed by window and group key.
        assert!(
            script.contains("PRIMARY KEY (`w`, `a`, `d`) NOT ENFORCED"),
            "{script}"
        );
        assert!(script.contains("`s` BIGINT"), "{script}");
    }

    #[test]
    fn a_bounded_run_without_watermark_bounds_the_record_timestamp() {
        let sql = "CREATE TABLE orders (category STRING, total DOUBLE)
            WITH ('connector' = 'kappa', 'topic' = 'orders', 'format' = 'json');
            SELECT category, SUM(total) AS revenue FROM orders GROUP BY category ORDER BY revenue DESC";
        let mut o = opts("b");
        o.from = Some("2026-03-25T00:00:00Z".into());
        o.to = Some("2026-03-26T00:00:00Z".into());
        let script = flink_script(sql, &o).unwrap();
        assert!(
            script.contains(
                "`__kappa_record_time` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL"
            ),
            "{script}"
        );
        assert!(script.contains(
            "CREATE TEMPORARY VIEW orders AS SELECT `category`, `total` FROM `orders__kafka`\nWHERE `__kappa_record_time` >= TO_TIMESTAMP_LTZ(1774396800000, 3) AND `__kappa_record_time` < TO_TIMESTAMP_LTZ(1774483200000, 3);"
        ), "{script}");
    }

    #[test]
    fn date_calls_and_group_by_ordinals_are_written_as_flink_takes_them() {
        let sql = example("daily_model.sql");
        let mut o = opts("m");
        o.from = Some("2026-03-25T00:00:00Z".into());
        o.to = Some("2026-03-26T00:00:00Z".into());
        let script = flink_script(&sql, &o).unwrap();
        assert!(
            script.contains("SELECT CAST(ts AS DATE) AS order_date"),
            "{script}"
        );
        assert!(
            script.contains("GROUP BY CAST(ts AS DATE), region, category;"),
            "{script}"
        );
        assert!(script.contains("`order_date` DATE"), "{script}");
        assert_eq!(
            rewrite_date_calls("TO_DATE(x), 'DATE(y)', date (z)"),
            "TO_DATE(x), 'DATE(y)', CAST(z AS DATE)"
        );
    }

    #[test]
    fn a_bare_topic_is_refused_naming_it() {
        let err = flink_script("SELECT * FROM clicks", &opts("p")).unwrap_err();
        assert!(err.to_string().contains("clicks"), "{err}");
    }

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let s = split_statements("-- a; b\nSELECT ';' AS x; /* ; */ SELECT 1;\n-- end\n");
        assert_eq!(s, vec!["-- a; b\nSELECT ';' AS x", "/* ; */ SELECT 1"]);
    }

    #[test]
    fn a_top_n_is_an_upsert_kafka_sink_keyed_by_partition_and_row_number() {
        let sql = "CREATE TABLE orders (id STRING, cat STRING, total DOUBLE) \
                   WITH ('connector' = 'kappa', 'topic' = 'orders');\n\
                   SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY cat ORDER BY total DESC) \
                   AS rn FROM orders) WHERE rn <= 3;";
        let script = flink_script(sql, &opts("top")).unwrap();
        let sink = &script[script.find("CREATE TABLE `top`").unwrap()..];
        assert!(sink.contains("'connector' = 'upsert-kafka'"), "{script}");
        assert!(sink.contains("`rn` BIGINT"), "{script}");
        assert!(
            sink.contains("PRIMARY KEY (`cat`, `rn`) NOT ENFORCED"),
            "{script}"
        );
        // A deduplication (one row per key) is keyed by the partition columns alone.
        let dedup = sql.replace("rn <= 3", "rn = 1");
        let script = flink_script(&dedup, &opts("top")).unwrap();
        assert!(
            script.contains("PRIMARY KEY (`cat`) NOT ENFORCED"),
            "{script}"
        );
    }
}
