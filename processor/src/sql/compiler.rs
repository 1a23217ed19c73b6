//! The state of compiling one SELECT — `Compiler`, the tables it reads, the SELECT list's
//! names — and the column lookups every part of the compiler shares. The parts (`compile` for
//! the statement and its bodies, `scalar` and `functions` for expressions, `over`, `join`,
//! `top_n`) add their own `impl Compiler` blocks; this module imports none of them.

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::Result;
use crate::extract::FieldSet;
use crate::plan::aggregate::AggSpec;
use crate::plan::expr::Type;
use crate::plan::{EventTime, WindowSpec};
use crate::sql::literal::err_at;
use crate::sql::table::TableDef;
use crate::sql::tvf::WindowTvf;

/// Name of the record-timestamp pseudo column.
pub const TIMESTAMP_COLUMN: &str = "_timestamp";

/// The first element of a right-table column's path (no column name can contain it).
pub(crate) const RIGHT: &str = "\u{1}right";

/// The state of compiling one SELECT.
pub(crate) struct Compiler {
    pub table: TableDef,
    /// Names that qualify a column: the table name and its alias.
    pub qualifiers: Vec<String>,
    pub fields: FieldSet,
    pub slot_types: Vec<Type>,
    /// Slot filled with the record timestamp (`_timestamp`).
    pub timestamp_slot: Option<usize>,
    pub group: Option<Group>,
    /// The event-time column chosen by a window over a column without a declared watermark.
    pub window_time: Option<EventTime>,
    /// `FROM TABLE(TUMBLE(...))`: the window table function read.
    pub tvf: Option<WindowTvf>,
    /// The OVER window of a query with OVER aggregates, while its SELECT list is compiled.
    pub(crate) over: Option<OverCtx>,
    /// `JOIN`: the second table.
    pub(crate) right: Option<RightTable>,
}

pub(crate) struct Group {
    /// GROUP BY expressions (AST, for matching SELECT items) and their types.
    pub keys: Vec<(ast::Expr, Type)>,
    /// The window function name (TUMBLE, HOP, SESSION) and spec.
    pub window: Option<(String, WindowSpec)>,
    pub aggs: Vec<AggSpec>,
}

/// The right table of a join while the query compiles.
pub(crate) struct RightTable {
    pub table: TableDef,
    /// The table name and its alias.
    pub qualifiers: Vec<String>,
    pub fields: FieldSet,
    pub left_outer: bool,
    /// `FOR SYSTEM_TIME AS OF <expr>`.
    pub as_of: Option<ast::Expr>,
    pub on: ast::Expr,
    /// The JOIN clause, for errors.
    pub at: Span,
}

/// The OVER window being compiled and the aggregates found so far.
#[derive(Debug, Clone)]
pub(crate) struct OverCtx {
    pub(crate) spec: ast::WindowSpec,
    pub(crate) aggs: Vec<AggSpec>,
}

impl Compiler {
    /// The slot of a field path, registering it (with its declared type) on first use.
    /// A right-table path (`RIGHT`, ...) is numbered into the same row by the right table's set.
    pub(crate) fn column_slot(&mut self, path: &[String], t: Type) -> usize {
        let next = self.slot_types.len();
        let slot = match (path.split_first(), self.right.as_mut()) {
            (Some((mark, rest)), Some(right)) if mark == RIGHT => {
                right.fields.add_numbered(rest, next)
            }
            _ => self.fields.add_numbered(path, next),
        };
        if slot == self.slot_types.len() {
            self.slot_types.push(t);
        }
        slot
    }

    pub(crate) fn strip_qualifier(&self, parts: &[ast::Ident]) -> Vec<String> {
        let names: Vec<String> = parts.iter().map(|p| p.value.clone()).collect();
        if names.len() > 1 && self.qualifiers.contains(&names[0]) {
            names[1..].to_vec()
        } else {
            names
        }
    }

    /// The declared type of a column path; unknown columns are refused for declared tables.
    pub(crate) fn path_type(&self, path: &[String], span: Span) -> Result<Type> {
        let (table, path) = match (path.split_first(), &self.right) {
            (Some((mark, rest)), Some(right)) if mark == RIGHT => (&right.table, rest),
            _ => (&self.table, path),
        };
        match table.column_type(&path[0]) {
            Some(t) if path.len() == 1 => Ok(t),
            Some(Type::Any) => Ok(Type::Any),
            Some(t) => Err(err_at(
                span,
                "nested field",
                format!("{} is {}, not a nested object", path[0], t.name()),
            )),
            None => Err(err_at(
                span,
                "column",
                format!("unknown column {} in table {}", path.join("."), table.name),
            )),
        }
    }
}

pub(crate) fn check_select_clauses(s: &ast::Select) -> Result<()> {
    let refuse =
        |span: Span, what: &str| Err(err_at(span, what, format!("{what} is not supported")));
    if matches!(s.distinct, Some(ast::Distinct::On(_))) {
        return refuse(s.select_token.0.span, "SELECT DISTINCT ON");
    }
    if s.top.is_some() {
        return refuse(s.span(), "TOP");
    }
    if let Some(q) = &s.qualify {
        return refuse(q.span(), "QUALIFY");
    }
    if !s.named_window.is_empty() {
        return refuse(s.span(), "WINDOW clause (OVER windows)");
    }
    if !s.lateral_views.is_empty() {
        return refuse(s.span(), "LATERAL VIEW");
    }
    if s.into.is_some() {
        return refuse(s.span(), "SELECT INTO");
    }
    Ok(())
}

/// The output name of a SELECT item (alias, column name, or Flink's `EXPR$<n>`).
pub(crate) fn item_name(item: &ast::Expr, alias: Option<&ast::Ident>, index: usize) -> String {
    if let Some(a) = alias {
        return a.value.clone();
    }
    match item {
        ast::Expr::Identifier(i) => i.value.clone(),
        ast::Expr::CompoundIdentifier(parts) => {
            parts.last().map(|p| p.value.clone()).unwrap_or_default()
        }
        _ => format!("EXPR${index}"),
    }
}

pub(crate) fn push_name(names: &mut Vec<String>, name: String, span: Span) -> Result<()> {
    if names.contains(&name) {
        return Err(err_at(
            span,
            "column name",
            format!("duplicate output column {name}; give it an alias"),
        ));
    }
    names.push(name);
    Ok(())
}
