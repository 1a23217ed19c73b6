//! A source table: from `CREATE TABLE ... WITH (...)` (declared columns and types, watermark,
//! options) or inferred from a bare `FROM <topic>` (any column, record timestamp as event time).

use sqlparser::ast::{self, CreateTableOptions, DataType, Spanned, SqlOption};

use crate::error::Result;
use crate::limits::WATERMARK_IDLE_TIMEOUT_MS_DEFAULT;
use crate::plan::expr::Type;
use crate::plan::{Connector, Startup};
use crate::sql::dialect::{PrimaryKeyClause, WatermarkClause};
use crate::sql::literal::{duration_text, err_at, interval_ms, literal_string};

#[derive(Debug, Clone)]
pub struct TableDef {
    pub name: String,
    pub topic: String,
    /// Declared columns (name, type); None for an inferred table.
    pub columns: Option<Vec<(String, Type)>>,
    /// (column, delay ms) of `WATERMARK FOR column AS column - INTERVAL ...`.
    pub watermark: Option<(String, i64)>,
    pub startup: Option<Startup>,
    pub allowed_lateness_ms: i64,
    /// `'scan.watermark.idle-timeout'` (ms; 0 never lets a partition go idle).
    pub idle_timeout_ms: u64,
    /// For an inferred table: the types inferred from the records present when the processor
    /// was created (`sql::infer`); a column not among them has no static type.
    pub hints: Hints,
    pub connector: Connector,
    /// `PRIMARY KEY (...) NOT ENFORCED`: the table is a changelog read with upsert semantics.
    pub primary_key: Vec<String>,
}

/// Column types inferred for a table without `CREATE TABLE`, by top-level field name.
pub type Hints = std::collections::BTreeMap<String, Type>;

impl TableDef {
    pub fn inferred(topic: &str) -> TableDef {
        TableDef {
            name: topic.to_string(),
            topic: topic.to_string(),
            columns: None,
            watermark: None,
            startup: None,
            allowed_lateness_ms: 0,
            idle_timeout_ms: WATERMARK_IDLE_TIMEOUT_MS_DEFAULT,
            hints: Hints::new(),
            connector: Connector::Kappa,
            primary_key: Vec::new(),
        }
    }

    pub fn column_type(&self, name: &str) -> Option<Type> {
        match &self.columns {
            None => Some(self.hints.get(name).copied().unwrap_or(Type::Any)),
            Some(cols) => cols.iter().find(|(c, _)| c == name).map(|(_, t)| *t),
        }
    }
}

/// A table or topic name as written, without its quotes: `orders`, `"order-events"` and
/// `` `category-counts-output` `` name `orders`, `order-events` and `category-counts-output`;
/// the parts of a dotted name are joined with dots (topic names may contain dots).
pub fn object_name(name: &ast::ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) => ident.value.clone(),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Maps a SQL data type to kappa's; unsupported types are refused.
pub fn data_type(dt: &DataType, at: sqlparser::tokenizer::Span) -> Result<Type> {
    Ok(match dt {
        DataType::String(_)
        | DataType::Varchar(_)
        | DataType::Char(_)
        | DataType::Text
        | DataType::CharacterVarying(_) => Type::Str,
        DataType::Int(_)
        | DataType::Integer(_)
        | DataType::BigInt(_)
        | DataType::SmallInt(_)
        | DataType::TinyInt(_)
        | DataType::Int64
        | DataType::Int32 => Type::Int,
        DataType::Double(_)
        | DataType::DoublePrecision
        | DataType::Float(_)
        | DataType::Real
        | DataType::Float64
        | DataType::Decimal(_)
        | DataType::Numeric(_) => Type::Double,
        DataType::Boolean | DataType::Bool => Type::Bool,
        DataType::Timestamp(_, _) | DataType::Datetime(_) | DataType::TimestampNtz => Type::Ts,
        DataType::JSON
        | DataType::Custom(..)
        | DataType::Struct(..)
        | DataType::Map(..)
        | DataType::Array(..) => Type::Any,
        other => {
            return Err(err_at(
                at,
                format!("type {other}"),
                format!("type {other} is not supported"),
            ))
        }
    })
}

/// Builds the table of one CREATE TABLE statement.
pub fn from_create(
    ct: &ast::CreateTable,
    watermarks: &[WatermarkClause],
    primary_keys: &[PrimaryKeyClause],
) -> Result<TableDef> {
    let name = object_name(&ct.name);
    let mut columns = Vec::new();
    for c in &ct.columns {
        if let Some(o) = c.options.first() {
            return Err(err_at(
                c.span(),
                "column option",
                format!("column option {} is not supported", o.option),
            ));
        }
        columns.push((c.name.value.clone(), data_type(&c.data_type, c.name.span)?));
    }
    let mut t = TableDef {
        columns: Some(columns),
        topic: String::new(),
        ..TableDef::inferred(&name)
    };
    if let Some(w) = watermarks.iter().find(|w| w.table == name) {
        t.watermark = Some(watermark(&t, w)?);
    }
    if let Some(pk) = primary_keys.iter().find(|k| k.table == name) {
        for c in &pk.columns {
            if t.column_type(&c.value).is_none() {
                return Err(err_at(
                    c.span,
                    "PRIMARY KEY",
                    format!("primary key column {} is not a column of {name}", c.value),
                ));
            }
            t.primary_key.push(c.value.clone());
        }
    }
    let options = match &ct.table_options {
        CreateTableOptions::With(o) => o.as_slice(),
        CreateTableOptions::None => &[],
        _ => {
            return Err(err_at(
                ct.name.span(),
                "table options",
                "only WITH ('key' = 'value', ...) options are supported",
            ))
        }
    };
    let mut startup_mode = None;
    let mut startup_ts = None;
    let mut kafka = None;
    let mut bootstrap_servers = None;
    for o in options {
        let SqlOption::KeyValue { key, value } = o else {
            return Err(err_at(
                ct.name.span(),
                "table option",
                format!("option {o} is not supported"),
            ));
        };
        let v = literal_string(value)?;
        match key.value.as_str() {
            "connector" if v == "kappa" => {}
            "connector" if v == "kafka" => kafka = Some(value.span()),
            "connector" => {
                return Err(err_at(
                    value.span(),
                    "connector",
                    format!("connector {v:?} is not supported; use 'kappa' or 'kafka'"),
                ));
            }
            "properties.bootstrap.servers" => bootstrap_servers = Some(v),
            "format" if v == "json" => {}
            "format" => {
                return Err(err_at(
                    value.span(),
                    "format",
                    format!("format {v:?} is not supported; use 'json'"),
                ))
            }
            "topic" => t.topic = v,
            "scan.startup.mode" => startup_mode = Some((v, value.span())),
            "scan.startup.timestamp-millis" => {
                startup_ts = Some(v.parse::<u64>().map_err(|_| {
                    err_at(
                        value.span(),
                        "scan.startup.timestamp-millis",
                        "expected epoch milliseconds",
                    )
                })?)
            }
            "allowed-lateness" => {
                t.allowed_lateness_ms = duration_text(&v).ok_or_else(|| {
                    err_at(
                        value.span(),
                        "allowed-lateness",
                        format!("{v:?} is not a duration like '10 s' or '1 min'"),
                    )
                })?
            }
            "scan.watermark.idle-timeout" => {
                t.idle_timeout_ms = duration_text(&v)
                    .and_then(|ms| u64::try_from(ms).ok())
                    .ok_or_else(|| {
                        err_at(
                            value.span(),
                            "scan.watermark.idle-timeout",
                            format!("{v:?} is not a duration like '10 s' or '1 min'"),
                        )
                    })?
            }
            k if k.starts_with("properties.") || k.starts_with("json.") => {}
            k => {
                return Err(err_at(
                    key.span,
                    format!("option '{k}'"),
                    format!("table option '{k}' is not supported"),
                ))
            }
        }
    }
    if t.topic.is_empty() {
        t.topic = name.clone();
    }
    if let Some(at) = kafka {
        let bootstrap_servers = bootstrap_servers
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                err_at(
                    at,
                    "connector",
                    "'connector' = 'kafka' needs 'properties.bootstrap.servers'",
                )
            })?;
        t.connector = Connector::Kafka { bootstrap_servers };
    }
    t.startup = match startup_mode {
        None => None,
        Some((m, at)) => Some(match m.as_str() {
            "earliest-offset" => Startup::Earliest,
            "latest-offset" => Startup::Latest,
            "timestamp" => Startup::Timestamp(startup_ts.ok_or_else(|| {
                err_at(
                    at,
                    "scan.startup.mode",
                    "'timestamp' needs 'scan.startup.timestamp-millis'",
                )
            })?),
            other => {
                return Err(err_at(
                    at,
                    "scan.startup.mode",
                    format!("startup mode {other:?} is not supported"),
                ))
            }
        }),
    };
    Ok(t)
}

/// `WATERMARK FOR ts AS ts [- INTERVAL ...]` -> (ts, delay ms).
fn watermark(t: &TableDef, w: &WatermarkClause) -> Result<(String, i64)> {
    let col = w.column.value.clone();
    if t.column_type(&col) != Some(Type::Ts) {
        return Err(err_at(
            w.column.span,
            "WATERMARK",
            format!("watermark column {col} must be a declared TIMESTAMP column"),
        ));
    }
    let delay = match &w.expr {
        ast::Expr::Identifier(i) if i.value == col => 0,
        ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::Minus,
            right,
        } => match (&**left, &**right) {
            (ast::Expr::Identifier(i), ast::Expr::Interval(iv)) if i.value == col => {
                interval_ms(iv, right.span())?
            }
            _ => -1,
        },
        _ => -1,
    };
    if delay < 0 {
        return Err(err_at(
            w.expr.span(),
            "WATERMARK",
            format!("watermark must be `{col}` or `{col} - INTERVAL '<n>' <unit>` (bounded out-of-orderness)"),
        ));
    }
    Ok((col, delay))
}
