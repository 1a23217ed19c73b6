//! SQL text -> `Plan`. sqlparser parses (with `KappaDialect`); this module walks the AST,
//! checks it against kappa's subset (DESIGN.md §4) and refuses everything else with the
//! construct's name and its line/column. Scalar expressions are compiled in `scalar.rs`.

use std::ops::ControlFlow;

use sqlparser::ast::{
    self, GroupByExpr, SelectItem, SetExpr, Spanned, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::extract::FieldSet;
use crate::limits::{SQL_COMPILE_STACK_BYTES, SQL_EXPR_DEPTH_MAX, SQL_TEXT_BYTES_MAX};
use crate::plan::expr::{Expr, Type};
use crate::plan::WindowSpec;
use crate::plan::{Aggregate, Body, Connector, EventTime, Join, Plan, PrimaryKey};
use crate::sql::compiler::{
    check_select_clauses, item_name, push_name, Compiler, Group, RIGHT, TIMESTAMP_COLUMN,
};
use crate::sql::dialect::KappaDialect;
use crate::sql::join::right_table;
use crate::sql::literal::{err_at, interval_ms, literal_string};
use crate::sql::over;
use crate::sql::table::{self, Hints, TableDef};
use crate::sql::top_n;
use crate::sql::tvf;

fn parse_error(e: ParserError) -> Error {
    let text = match e {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => {
            return Error::sql(
                0,
                0,
                "nesting depth",
                format!("the SQL is nested deeper than SQL_EXPR_DEPTH_MAX ({SQL_EXPR_DEPTH_MAX})"),
            )
        }
    };
    // sqlparser appends " at Line: L, Column: C" to its messages.
    let (mut line, mut column) = (0, 0);
    let mut message = text.clone();
    if let Some(at) = text.rfind(" at Line: ") {
        let pos = &text[at + " at Line: ".len()..];
        if let Some((l, c)) = pos.split_once(", Column: ") {
            line = l.trim().parse().unwrap_or(0);
            column = c
                .trim()
                .trim_end_matches(|ch: char| !ch.is_ascii_digit())
                .parse()
                .unwrap_or(0);
            message = text[..at].to_string();
        }
    }
    Error::sql(line, column, "syntax", format!("syntax error: {message}"))
}

/// `INSERT INTO <topic> [(columns)]`, if the statement is an INSERT.
/// `INSERT INTO <table> [(columns)]`: the topic, and the log of a declared sink table.
struct InsertTarget {
    topic: String,
    connector: Option<Connector>,
    at: Span,
    columns: Vec<String>,
}
/// ORDER BY (output column, descending) and LIMIT.
type OrderLimit = (Vec<(usize, bool)>, Option<u64>);

/// Compiles a processor's SQL. `bounded` is true for a backfill with an end (ORDER BY and LIMIT
/// are allowed there only).
///
/// Runs on a thread of its own with a known, generous stack (`SQL_COMPILE_STACK_BYTES`), whoever
/// calls it: sqlparser, the depth check and the compiler all recurse, and a tokio worker's or a
/// blocking pool's stack (2 MiB) is no place to find out how deep (issue 10).
pub fn compile(sql: &str, bounded: bool) -> Result<Plan> {
    compile_with_hints(sql, bounded, &Hints::new())
}

/// `compile`, with the column types inferred for a table read without `CREATE TABLE` (see
/// `sql::infer`): they are checked like declared types, and values are coerced to them.
pub fn compile_with_hints(sql: &str, bounded: bool, hints: &Hints) -> Result<Plan> {
    if sql.len() > SQL_TEXT_BYTES_MAX {
        return Err(Error::Limit {
            limit: "SQL_TEXT_BYTES_MAX",
            max: SQL_TEXT_BYTES_MAX as u64,
            what: "SQL text".into(),
        });
    }
    std::thread::scope(|scope| {
        let compiler = std::thread::Builder::new()
            .name("sql-compile".into())
            .stack_size(SQL_COMPILE_STACK_BYTES)
            .spawn_scoped(scope, || compile_here(sql, bounded, hints))
            .map_err(|e| Error::io("spawning the SQL compiler thread", "sql-compile", e))?;
        match compiler.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn compile_here(sql: &str, bounded: bool, hints: &Hints) -> Result<Plan> {
    let dialect = KappaDialect::default();
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(SQL_EXPR_DEPTH_MAX)
        .try_with_sql(sql)
        .map_err(parse_error)?;
    let statements = match parser.parse_statements() {
        Ok(s) => s,
        Err(ParserError::RecursionLimitExceeded) => {
            let at = parser.peek_token().span;
            return Err(too_deep(at));
        }
        Err(e) => return Err(parse_error(e)),
    };
    check_depth(&statements)?;
    let watermarks = dialect.watermarks();
    let primary_keys = dialect.primary_keys();
    let mut tables: Vec<TableDef> = Vec::new();
    let mut query: Option<(&ast::Query, Option<InsertTarget>)> = None;
    for s in &statements {
        if query.is_some() {
            return Err(err_at(
                s.span(),
                "statement",
                "the SELECT or INSERT INTO must be the last statement",
            ));
        }
        match s {
            Statement::CreateTable(ct) => {
                tables.push(table::from_create(ct, &watermarks, &primary_keys)?)
            }
            Statement::Query(q) => query = Some((q, None)),
            Statement::Insert(ins) => {
                let ast::TableObject::TableName(name) = &ins.table else {
                    return Err(err_at(s.span(), "INSERT", "INSERT INTO needs a topic name"));
                };
                let Some(source) = &ins.source else {
                    return Err(err_at(
                        s.span(),
                        "INSERT ... VALUES",
                        "only INSERT INTO <topic> SELECT ... is supported",
                    ));
                };
                if ins.overwrite || ins.on.is_some() || ins.returning.is_some() {
                    return Err(err_at(
                        s.span(),
                        "INSERT",
                        "only INSERT INTO <topic> SELECT ... is supported",
                    ));
                }
                let columns = ins.columns.iter().map(|c| c.value.clone()).collect();
                let target = table::object_name(name);
                // A declared sink table (as Flink scripts write them) names its topic and log.
                let (topic, connector) = match tables.iter().find(|t| t.name == target) {
                    Some(t) => (t.topic.clone(), Some(t.connector.clone())),
                    None => (target, None),
                };
                log_store::validate_name(&topic)
                    .map_err(|e| err_at(name.span(), "INSERT INTO", e.to_string()))?;
                let target = InsertTarget {
                    topic,
                    connector,
                    at: name.span(),
                    columns,
                };
                query = Some((source, Some(target)));
            }
            other => {
                let kind = other
                    .to_string()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(err_at(
                    other.span(),
                    kind.clone(),
                    format!("statement {kind} is not supported"),
                ));
            }
        }
    }
    let Some((q, insert)) = query else {
        return Err(Error::sql(
            0,
            0,
            "statement",
            "a processor needs a SELECT or INSERT INTO ... SELECT statement",
        ));
    };
    let mut plan = compile_query(q, &tables, bounded, hints)?;
    if let Some(target) = insert {
        if target.connector.is_some_and(|c| c != plan.connector) {
            return Err(err_at(
                target.at,
                "INSERT INTO",
                "the sink table and the source table are on different connectors: a processor \
                 reads and writes one log (kappa's, or one Kafka cluster)",
            ));
        }
        let columns = target.columns;
        if !columns.is_empty() {
            if columns.len() != plan.columns.len() {
                return Err(err_at(
                    q.span(),
                    "INSERT column list",
                    "INSERT column list and SELECT list differ in length",
                ));
            }
            plan.columns = columns;
        }
        plan.output = Some(target.topic);
    }
    Ok(plan)
}

/// The refusal of an expression nested past `SQL_EXPR_DEPTH_MAX`, at `span`.
fn too_deep(span: Span) -> Error {
    err_at(
        span,
        "nesting depth",
        format!(
            "the expression is nested deeper than SQL_EXPR_DEPTH_MAX ({SQL_EXPR_DEPTH_MAX} levels); \
             split it or use IN (...)"
        ),
    )
}

/// Refuses any expression tree deeper than `SQL_EXPR_DEPTH_MAX`, before anything else walks it.
/// sqlparser parses a left-deep chain (`a+a+...+a`, `x AND y AND ...`, `s || s || ...`) in a
/// loop, so its recursion limit does not see it; this walk stops at the limit, so it recurses at
/// most that deep itself.
fn check_depth(statements: &[Statement]) -> Result<()> {
    struct Depth(usize);
    impl Visitor for Depth {
        type Break = Span;
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<Span> {
            self.0 += 1;
            if self.0 > SQL_EXPR_DEPTH_MAX {
                return ControlFlow::Break(leftmost_span(e));
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _: &ast::Expr) -> ControlFlow<Span> {
            self.0 -= 1;
            ControlFlow::Continue(())
        }
    }
    for s in statements {
        if let ControlFlow::Break(at) = s.visit(&mut Depth(0)) {
            return Err(too_deep(at));
        }
    }
    Ok(())
}

/// Where a too-deep expression starts: its leftmost leaf's position, found by a loop (asking the
/// deep node itself for its span would recurse through the whole tree). Unknown shapes give no
/// position rather than risk that.
fn leftmost_span(mut e: &ast::Expr) -> Span {
    use ast::Expr as E;
    loop {
        e = match e {
            E::BinaryOp { left, .. } => left,
            E::UnaryOp { expr, .. }
            | E::Nested(expr)
            | E::Cast { expr, .. }
            | E::IsNull(expr)
            | E::IsNotNull(expr)
            | E::IsTrue(expr)
            | E::IsFalse(expr)
            | E::Like { expr, .. }
            | E::ILike { expr, .. }
            | E::InList { expr, .. }
            | E::Between { expr, .. } => expr,
            E::Identifier(_) | E::CompoundIdentifier(_) | E::Value(_) => return e.span(),
            _ => return Span::empty(),
        };
    }
}

fn compile_query(
    q: &ast::Query,
    tables: &[TableDef],
    bounded: bool,
    hints: &Hints,
) -> Result<Plan> {
    if let Some(w) = &q.with {
        return Err(err_at(
            w.span(),
            "WITH",
            "common table expressions (WITH) are not supported",
        ));
    }
    let SetExpr::Select(select) = &*q.body else {
        return Err(err_at(
            q.body.span(),
            "set operation",
            format!(
                "only a plain SELECT is supported, not {}",
                set_kind(&q.body)
            ),
        ));
    };
    if let Some(sub) = top_n::derived(select) {
        let (c, filter, body, columns) = top_n::compile(q, select, sub, tables, hints)?;
        if let Some(right) = &c.right {
            return Err(err_at(
                right.at,
                "JOIN",
                "a Top-N over a join is not supported: write the join to a topic (INSERT INTO) \
                 and rank that topic in a second processor",
            ));
        }
        refuse_changelog(&c, select, "a Top-N")?;
        return Ok(finish_plan(
            c,
            filter,
            body,
            columns,
            (Vec::new(), None),
            None,
        ));
    }
    check_select_clauses(select)?;
    top_n::refuse_ranking(select)?;
    let mut c = Compiler::new(select, tables, hints)?;
    if let Some(w) = c.tvf.clone() {
        c.time_attribute(&w.time_column, &w.name)?;
    }
    let filter = match &select.selection {
        Some(w) => Some(c.boolean(w, false, "WHERE")?),
        None => None,
    };
    let mut group_exprs = match &select.group_by {
        GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => exprs.clone(),
        other => {
            return Err(err_at(
                select.span(),
                "GROUP BY",
                format!("{other} is not supported"),
            ))
        }
    };
    let has_aggs = select.projection.iter().any(|i| matches!(i, SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } if contains_aggregate(e)));
    if select.distinct.is_some() {
        // SELECT DISTINCT a, b is GROUP BY a, b without aggregates, as Flink plans it: a row is
        // emitted when it is first seen.
        if !group_exprs.is_empty() || has_aggs || select.having.is_some() {
            return Err(err_at(
                select.select_token.0.span,
                "SELECT DISTINCT",
                "SELECT DISTINCT with GROUP BY, HAVING or aggregates is not supported",
            ));
        }
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    group_exprs.push(e.clone())
                }
                other => {
                    return Err(err_at(
                        other.span(),
                        "SELECT DISTINCT",
                        "SELECT DISTINCT needs named columns, not *",
                    ))
                }
            }
        }
    }
    if c.tvf.is_some() && group_exprs.is_empty() {
        return Err(err_at(
            select.span(),
            "window table function",
            "a window table function needs a window aggregation: GROUP BY window_start, window_end, ...",
        ));
    }
    let over = over::over_spec(select);
    if over.is_some() && (!group_exprs.is_empty() || select.having.is_some()) {
        return Err(err_at(
            select.select_token.0.span,
            "OVER",
            "OVER aggregates cannot be combined with GROUP BY or HAVING",
        ));
    }
    let join = c.join()?;
    let aggregated = c.tvf.is_some() || over.is_some() || !group_exprs.is_empty() || has_aggs;
    if join.is_some() {
        refuse_changelog(&c, select, "the left table of a join")?;
        if aggregated || select.having.is_some() {
            return Err(err_at(
                select.select_token.0.span,
                "JOIN",
                "a join's rows can be filtered and projected here; to aggregate them, write the \
                 join to a topic (INSERT INTO) and aggregate that topic in a second processor",
            ));
        }
    }
    if aggregated || select.having.is_some() || q.order_by.is_some() || q.limit_clause.is_some() {
        refuse_changelog(&c, select, "an aggregate, OVER, ORDER BY or LIMIT")?;
    }
    let (body, columns, item_asts) = if let Some((spec, at)) = over {
        c.over_body(select, spec, at)?
    } else if group_exprs.is_empty() && !has_aggs && select.having.is_none() {
        c.map_body(select)?
    } else {
        c.aggregate_body(select, &group_exprs)?
    };
    let order_limit = c.order_and_limit(q, &columns, &item_asts, bounded)?;
    Ok(finish_plan(c, filter, body, columns, order_limit, join))
}

/// The plan of a compiled SELECT: event time and watermark from the table, the rest as given.
fn finish_plan(
    mut c: Compiler,
    filter: Option<Expr>,
    body: Body,
    columns: Vec<String>,
    (order_by, limit): OrderLimit,
    mut join: Option<Join>,
) -> Plan {
    let event_time = match (c.table.watermark.clone(), c.window_time) {
        (_, Some(et)) => et,
        (Some((col, _)), None) => EventTime::Slot(c.column_slot(&[col], Type::Ts)),
        (None, None) => EventTime::RecordTimestamp,
    };
    let watermark_delay_ms = c.table.watermark.as_ref().map_or(0, |(_, d)| *d);
    let names = c.table.primary_key.clone();
    let primary_key = PrimaryKey {
        slots: names
            .iter()
            .map(|n| {
                let t = c.table.column_type(n).unwrap_or(Type::Any);
                c.column_slot(std::slice::from_ref(n), t)
            })
            .collect(),
        names,
    };
    let right_slots = c.right.as_ref().map(|r| r.fields.filled_slots());
    for (slot, t) in c.slot_types.iter().enumerate() {
        if *t != Type::Ts {
            continue;
        }
        match (&mut c.right, &right_slots) {
            (Some(right), Some(slots)) if slots.contains(&slot) => {
                right.fields.parse_timestamps(slot)
            }
            _ => c.fields.parse_timestamps(slot),
        }
    }
    if let (Some(join), Some(right)) = (&mut join, c.right.take()) {
        // Every column of the right table the query reads is registered by now.
        join.right.fields = right.fields;
    }
    Plan {
        input: c.table.topic.clone(),
        output: None,
        event_time,
        watermark_delay_ms,
        allowed_lateness_ms: c.table.allowed_lateness_ms,
        watermark_idle_timeout_ms: c.table.idle_timeout_ms,
        inferred_input: c.table.columns.is_none(),
        filter,
        body,
        columns,
        order_by,
        limit,
        startup: c.table.startup,
        timestamp_slot: c.timestamp_slot,
        connector: c.table.connector.clone(),
        primary_key,
        join,
        fields: c.fields,
        slot_types: c.slot_types,
    }
}

/// A PRIMARY KEY table is a changelog: a row replaces its key's earlier row and a tombstone
/// deletes it. A filter/map follows that (its output is an upsert stream keyed the same);
/// `what` would need retractions of the rows it already folded in, which kappa does not do.
fn refuse_changelog(c: &Compiler, select: &ast::Select, what: &str) -> Result<()> {
    if c.table.primary_key.is_empty() {
        return Ok(());
    }
    Err(err_at(
        select.select_token.0.span,
        "PRIMARY KEY table",
        format!(
            "{} has a PRIMARY KEY, so it is a changelog (rows replace and delete each other): \
             {what} over it would need retractions, which are not supported; a filter/map over \
             it, or a temporal join with it as the versioned table, is",
            c.table.name
        ),
    ))
}

fn set_kind(s: &SetExpr) -> &'static str {
    match s {
        SetExpr::SetOperation { .. } => "UNION/INTERSECT/EXCEPT",
        SetExpr::Values(_) => "VALUES",
        SetExpr::Query(_) => "a nested query",
        _ => "this statement",
    }
}

/// True when `e` calls an aggregate function somewhere (outside subqueries, which are refused).
pub(crate) fn contains_aggregate(e: &ast::Expr) -> bool {
    use ast::Expr as E;
    match e {
        E::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            if f.over.is_none() && crate::sql::scalar::aggregate_kind(&name).is_some() {
                return true;
            }
            match &f.args {
                ast::FunctionArguments::List(l) => l.args.iter().any(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => {
                        contains_aggregate(x)
                    }
                    _ => false,
                }),
                _ => false,
            }
        }
        E::BinaryOp { left, right, .. } => contains_aggregate(left) || contains_aggregate(right),
        E::UnaryOp { expr, .. }
        | E::Nested(expr)
        | E::Cast { expr, .. }
        | E::IsNull(expr)
        | E::IsNotNull(expr)
        | E::Like { expr, .. } => contains_aggregate(expr),
        E::InList { expr, list, .. } => {
            contains_aggregate(expr) || list.iter().any(contains_aggregate)
        }
        E::Between {
            expr, low, high, ..
        } => [expr, low, high].iter().any(|x| contains_aggregate(x)),
        _ => false,
    }
}

impl Compiler {
    pub(crate) fn new(
        select: &ast::Select,
        tables: &[TableDef],
        hints: &Hints,
    ) -> Result<Compiler> {
        let from = match select.from.as_slice() {
            [one] => one,
            [] => {
                return Err(err_at(
                    select.span(),
                    "FROM",
                    "a processor's SELECT needs FROM <topic or table>",
                ))
            }
            [_, second, ..] => {
                return Err(err_at(
                    second.span(),
                    "JOIN",
                    "joins (several FROM tables) are not supported",
                ))
            }
        };
        let right = right_table(from, tables)?;
        let (name, alias, tvf) = match &from.relation {
            TableFactor::Table {
                name,
                alias,
                args: None,
                ..
            } => (name.clone(), alias, None),
            TableFactor::TableFunction { expr, alias } => {
                let (name, tvf) = tvf::parse(expr)?;
                (name, alias, Some(tvf))
            }
            TableFactor::Derived { .. } => return Err(err_at(
                from.relation.span(),
                "subquery",
                "a subquery in FROM is supported only as Flink's Top-N: SELECT ... FROM (SELECT ..., \
                 ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..) AS rn FROM t) WHERE rn <= N",
            )),
            other => return Err(err_at(
                other.span(),
                "FROM",
                "FROM must name a topic, a CREATE TABLE table or TABLE(TUMBLE|HOP|CUMULATE(...))",
            )),
        };
        let name = &name;
        let name_text = table::object_name(name);
        let table = match tables.iter().find(|t| t.name == name_text) {
            Some(t) => t.clone(),
            None => {
                log_store::validate_name(&name_text)
                    .map_err(|e| err_at(name.span(), "FROM", e.to_string()))?;
                TableDef {
                    hints: hints.clone(),
                    ..TableDef::inferred(&name_text)
                }
            }
        };
        let mut qualifiers = vec![name_text];
        if let Some(a) = alias {
            qualifiers.push(a.name.value.clone());
        }
        Ok(Compiler {
            table,
            qualifiers,
            fields: FieldSet::default(),
            slot_types: Vec::new(),
            timestamp_slot: None,
            group: None,
            window_time: None,
            tvf,
            over: None,
            right,
        })
    }

    fn map_body(&mut self, select: &ast::Select) -> Result<(Body, Vec<String>, Vec<ast::Expr>)> {
        if let [SelectItem::Wildcard(_)] = select.projection.as_slice() {
            if let Some(right) = &self.right {
                // `SELECT *` over a join: the left table's columns, then the right's.
                let mut columns: Vec<(Vec<String>, String, Type)> = Vec::new();
                for (table, mark) in [(&self.table, None), (&right.table, Some(RIGHT))] {
                    for (n, t) in table.columns.iter().flatten() {
                        let path = mark.map(str::to_string).into_iter().chain([n.clone()]);
                        columns.push((path.collect(), n.clone(), *t));
                    }
                }
                let mut names = Vec::new();
                let mut exprs = Vec::new();
                for (path, name, t) in columns {
                    exprs.push(Expr::Slot(self.column_slot(&path, t)));
                    push_name(&mut names, name, select.projection[0].span())?;
                }
                return Ok((Body::Map { exprs }, names, vec![]));
            }
            return match self.table.columns.clone() {
                None => Ok((Body::PassThrough, vec!["*".into()], vec![])),
                Some(cols) => {
                    let exprs = cols
                        .iter()
                        .map(|(n, t)| Expr::Slot(self.column_slot(std::slice::from_ref(n), *t)))
                        .collect();
                    Ok((
                        Body::Map { exprs },
                        cols.into_iter().map(|(n, _)| n).collect(),
                        vec![],
                    ))
                }
            };
        }
        let (exprs, names, asts) = self.select_list(select)?;
        Ok((Body::Map { exprs }, names, asts))
    }

    /// The SELECT list of an ungrouped query: expressions, column names and the items' ASTs.
    pub(crate) fn select_list(
        &mut self,
        select: &ast::Select,
    ) -> Result<(Vec<Expr>, Vec<String>, Vec<ast::Expr>)> {
        let mut exprs = Vec::new();
        let mut names = Vec::new();
        let mut asts = Vec::new();
        for (i, item) in select.projection.iter().enumerate() {
            let (e, alias) = self.select_item(item)?;
            exprs.push(self.expr(e, false)?.0);
            push_name(&mut names, item_name(e, alias, i), e.span())?;
            asts.push(e.clone());
        }
        Ok((exprs, names, asts))
    }

    fn select_item<'a>(
        &self,
        item: &'a SelectItem,
    ) -> Result<(&'a ast::Expr, Option<&'a ast::Ident>)> {
        match item {
            SelectItem::UnnamedExpr(e) => Ok((e, None)),
            SelectItem::ExprWithAlias { expr, alias } => Ok((expr, Some(alias))),
            other => Err(err_at(
                other.span(),
                "*",
                "SELECT * must be the only item, in a query without GROUP BY",
            )),
        }
    }

    fn aggregate_body(
        &mut self,
        select: &ast::Select,
        group_exprs: &[ast::Expr],
    ) -> Result<(Body, Vec<String>, Vec<ast::Expr>)> {
        let mut keys = Vec::new();
        let mut key_exprs = Vec::new();
        let mut window = None;
        let mut window_columns = Vec::new();
        for g in group_exprs {
            let g = self.positional(g, select)?;
            if let Some(col) = self.tvf.as_ref().and_then(|_| tvf::window_column(&g)) {
                window_columns.push(col);
                continue;
            }
            if let Some(w) = self.window_call(&g)? {
                if window.is_some() {
                    return Err(err_at(
                        g.span(),
                        "GROUP BY",
                        "at most one window per GROUP BY",
                    ));
                }
                window = Some(w);
                continue;
            }
            let (e, t) = self.expr(&g, false)?;
            key_exprs.push(e);
            keys.push((g.clone(), t));
        }
        if let Some(w) = &self.tvf {
            if window.is_some()
                || !window_columns.contains(&tvf::WINDOW_START)
                || !window_columns.contains(&tvf::WINDOW_END)
            {
                let at = group_exprs
                    .first()
                    .map_or(select.select_token.0.span, |g| g.span());
                return Err(err_at(
                    at,
                    "GROUP BY",
                    format!(
                        "a {} window table function is grouped by window_start, window_end (and no other window)",
                        w.name
                    ),
                ));
            }
            window = Some((w.name.clone(), w.spec));
        }
        self.group = Some(Group {
            keys,
            window,
            aggs: Vec::new(),
        });
        let mut outputs = Vec::new();
        let mut names = Vec::new();
        let mut asts = Vec::new();
        for (i, item) in select.projection.iter().enumerate() {
            let (e, alias) = self.select_item(item)?;
            outputs.push(self.expr(e, true)?.0);
            push_name(&mut names, item_name(e, alias, i), e.span())?;
            asts.push(e.clone());
        }
        let having = match &select.having {
            Some(h) => Some(self.boolean(h, true, "HAVING")?),
            None => None,
        };
        let group = self.group.take().expect("set above");
        let agg = Aggregate {
            keys: key_exprs,
            window: group.window.map(|(_, w)| w),
            aggs: group.aggs,
            outputs,
            having,
        };
        Ok((Body::Aggregate(agg), names, asts))
    }

    /// `GROUP BY 1` refers to the first SELECT item.
    fn positional(&self, g: &ast::Expr, select: &ast::Select) -> Result<ast::Expr> {
        if let ast::Expr::Value(v) = g {
            if let ast::Value::Number(n, _) = &v.value {
                let i: usize = n.parse().unwrap_or(0);
                return match select.projection.get(i.wrapping_sub(1)) {
                    Some(item) => Ok(self.select_item(item)?.0.clone()),
                    None => Err(err_at(
                        g.span(),
                        "GROUP BY",
                        format!("GROUP BY position {n} is not in the SELECT list"),
                    )),
                };
            }
        }
        Ok(g.clone())
    }

    /// TUMBLE(ts, size) / HOP(ts, slide, size) / SESSION(ts, gap) in GROUP BY.
    fn window_call(&mut self, g: &ast::Expr) -> Result<Option<(String, WindowSpec)>> {
        let ast::Expr::Function(f) = g else {
            return Ok(None);
        };
        let name = f.name.to_string().to_ascii_uppercase();
        if !matches!(name.as_str(), "TUMBLE" | "HOP" | "SESSION") {
            return Ok(None);
        }
        let args = self.function_args(f)?;
        let want = if name == "HOP" { 3 } else { 2 };
        if args.len() != want {
            return Err(err_at(
                g.span(),
                name.clone(),
                format!("{name} takes {want} arguments"),
            ));
        }
        self.time_attribute(args[0], &name)?;
        let mut ms = Vec::new();
        for a in &args[1..] {
            match a {
                ast::Expr::Interval(iv) => ms.push(interval_ms(iv, a.span())?),
                _ => {
                    return Err(err_at(
                        a.span(),
                        name.clone(),
                        format!("{name} sizes must be INTERVAL literals"),
                    ))
                }
            }
            if *ms.last().expect("pushed") <= 0 {
                return Err(err_at(
                    a.span(),
                    name.clone(),
                    "window sizes must be positive",
                ));
            }
        }
        let spec = tvf::window_spec(&name, &ms, g)?;
        Ok(Some((name, spec)))
    }

    /// Checks a window's time column and makes it the event time.
    pub(crate) fn time_attribute(&mut self, arg: &ast::Expr, func: &str) -> Result<()> {
        let path = match arg {
            ast::Expr::Identifier(i) => vec![i.value.clone()],
            ast::Expr::CompoundIdentifier(p) => self.resolve_column(p, arg.span())?,
            _ => {
                return Err(err_at(
                    arg.span(),
                    func,
                    format!("{func}'s first argument must be the event-time column"),
                ))
            }
        };
        if path == [TIMESTAMP_COLUMN] {
            self.window_time = Some(EventTime::RecordTimestamp);
            return Ok(());
        }
        match &self.table.watermark {
            Some((col, _)) if path == [col.clone()] => Ok(()),
            Some((col, _)) => Err(err_at(
                arg.span(),
                func,
                format!(
                    "{func} must use the watermarked time column {col}, not {}",
                    path.join(".")
                ),
            )),
            None => {
                let t = self.path_type(&path, arg.span())?;
                if !matches!(t, Type::Ts | Type::Any | Type::Int) {
                    return Err(err_at(
                        arg.span(),
                        func,
                        format!("{} is not a time column", path.join(".")),
                    ));
                }
                let slot = self.column_slot(&path, t);
                self.window_time = Some(EventTime::Slot(slot));
                Ok(())
            }
        }
    }

    fn order_and_limit(
        &mut self,
        q: &ast::Query,
        columns: &[String],
        items: &[ast::Expr],
        bounded: bool,
    ) -> Result<OrderLimit> {
        let mut order = Vec::new();
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(exprs) = &ob.kind else {
                return Err(err_at(
                    q.span(),
                    "ORDER BY ALL",
                    "ORDER BY ALL is not supported",
                ));
            };
            for o in exprs {
                if !bounded {
                    return Err(err_at(
                        o.expr.span(),
                        "ORDER BY",
                        "ORDER BY is allowed only in a bounded run (a backfill with an end time)",
                    ));
                }
                let index = match &o.expr {
                    ast::Expr::Identifier(i) if columns.contains(&i.value) => {
                        columns.iter().position(|c| *c == i.value)
                    }
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::Number(n, _) => n
                            .parse::<usize>()
                            .ok()
                            .and_then(|n| n.checked_sub(1))
                            .filter(|n| *n < columns.len()),
                        _ => None,
                    },
                    e => items
                        .iter()
                        .position(|i| crate::sql::scalar::same_expr(i, e)),
                };
                let Some(index) = index else {
                    return Err(err_at(
                        o.expr.span(),
                        "ORDER BY",
                        format!("ORDER BY {} must name a selected column", o.expr),
                    ));
                };
                order.push((index, o.options.asc == Some(false)));
            }
        }
        let limit = match &q.limit_clause {
            None => None,
            Some(ast::LimitClause::LimitOffset {
                limit: Some(l),
                offset: None,
                limit_by,
            }) if limit_by.is_empty() => {
                if !bounded {
                    return Err(err_at(
                        l.span(),
                        "LIMIT",
                        "LIMIT is allowed only in a bounded run (a backfill with an end time)",
                    ));
                }
                Some(
                    literal_string(l)?
                        .parse::<u64>()
                        .map_err(|_| err_at(l.span(), "LIMIT", "LIMIT must be a number"))?,
                )
            }
            Some(other) => {
                return Err(err_at(
                    q.span(),
                    "LIMIT",
                    format!("{other} is not supported"),
                ))
            }
        };
        if q.fetch.is_some() {
            return Err(err_at(q.span(), "FETCH", "FETCH is not supported"));
        }
        Ok((order, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str) -> (u64, u64, String, String) {
        match compile(sql, false) {
            Err(Error::Sql {
                line,
                column,
                construct,
                message,
            }) => (line, column, construct, message),
            other => panic!("expected an SQL error, got {other:?}"),
        }
    }

    fn chain(op: &str, terms: usize) -> String {
        vec!["a"; terms].join(op)
    }

    /// Issue 10: `a+a+...+a` of ~880 terms (and AND / || chains) overflowed the stack and aborted
    /// the process; each is refused by name now, with a position, however long.
    #[test]
    fn deep_chains_are_refused_naming_the_limit_and_position() {
        for op in ["+", " AND ", " || "] {
            // The longest chain that fits SQL_TEXT_BYTES_MAX: the deepest tree a caller can send.
            let longest = (SQL_TEXT_BYTES_MAX - 30) / (op.len() + 1);
            for terms in [880, 5_000, longest] {
                let sql = format!("SELECT {} AS x FROM t", chain(op, terms));
                let (line, column, construct, message) = refusal(&sql);
                assert_eq!(construct, "nesting depth", "{op} x {terms}");
                assert!(message.contains("SQL_EXPR_DEPTH_MAX"), "{message}");
                assert_eq!((line, column), (1, 8), "the chain starts at column 8");
            }
        }
        let (_, _, _, message) =
            refusal(&format!("SELECT a FROM t WHERE {}", chain(" OR ", 3_000)));
        assert!(message.contains("SQL_EXPR_DEPTH_MAX"), "{message}");
    }

    #[test]
    fn nesting_past_the_parser_limit_is_refused_naming_it() {
        let sql = format!(
            "SELECT {}a{} FROM t",
            "(".repeat(SQL_EXPR_DEPTH_MAX + 10),
            ")".repeat(SQL_EXPR_DEPTH_MAX + 10)
        );
        let (_, _, construct, message) = refusal(&sql);
        assert_eq!(construct, "nesting depth");
        assert!(message.contains("SQL_EXPR_DEPTH_MAX"), "{message}");
    }

    #[test]
    fn a_chain_within_the_limit_compiles_and_evaluates() {
        let terms = SQL_EXPR_DEPTH_MAX - 10;
        let plan = compile(&format!("SELECT {} AS x FROM t", chain("+", terms)), false)
            .expect("a chain under the limit compiles");
        let Body::Map { exprs } = &plan.body else {
            panic!("a projection compiles to a map body");
        };
        let row = vec![crate::value::Value::Int(1); plan.slot_types.len().max(3)];
        assert_eq!(exprs[0].eval(&row), crate::value::Value::Int(terms as i64));
    }
}
