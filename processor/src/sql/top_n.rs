//! Compiles Flink's Top-N and deduplication, the one subquery kappa accepts:
//! `SELECT <columns | *> FROM (SELECT <columns | *>, ROW_NUMBER() OVER (PARTITION BY ..
//! ORDER BY ..) AS rn FROM t [WHERE ..]) [AS alias] WHERE rn <= N` (or `rn < N`, or `rn = 1`).
//! Every other subquery, ranking function or filter on the row number is refused with its
//! construct and position. The outer SELECT lists columns of the subquery (rn among them or
//! not); expressions belong in the subquery.

use sqlparser::ast::{self, SelectItem, SetExpr, Spanned, TableFactor};
use sqlparser::tokenizer::Span;

use crate::error::Result;
use crate::limits::TOP_N_ROWS_PER_KEY_MAX;
use crate::plan::expr::Expr;
use crate::plan::{Body, SortKey, TopN};
use crate::sql::compiler::{check_select_clauses, item_name, push_name, Compiler};
use crate::sql::literal::err_at;
use crate::sql::table::{Hints, TableDef};

/// How a Top-N is written, for refusals that show the form.
const FORM: &str = "SELECT ... FROM (SELECT ..., ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..) \
                    AS rn FROM t) WHERE rn <= N";

/// Window functions that rank rows; only ROW_NUMBER, in the Top-N form, is accepted.
const RANKING: &[&str] = &[
    "ROW_NUMBER",
    "RANK",
    "DENSE_RANK",
    "PERCENT_RANK",
    "CUME_DIST",
    "NTILE",
    "LAG",
    "LEAD",
    "FIRST_VALUE",
    "LAST_VALUE",
    "NTH_VALUE",
];

/// The compiled Top-N: the inner query's compiler (table, fields, event time), its WHERE, the
/// body and the output column names.
pub(crate) type Compiled = (Compiler, Option<Expr>, Body, Vec<String>);

/// The subquery of `FROM (subquery) [alias]`, when that is the whole FROM clause.
pub(crate) fn derived(
    select: &ast::Select,
) -> Option<(&ast::Query, Option<&ast::TableAlias>, Span)> {
    match select.from.as_slice() {
        [one] if one.joins.is_empty() => match &one.relation {
            TableFactor::Derived {
                lateral: false,
                subquery,
                alias,
            } => Some((subquery, alias.as_ref(), one.relation.span())),
            _ => None,
        },
        _ => None,
    }
}

/// Refuses a ranking window function (ROW_NUMBER, RANK, ..) in a SELECT list that is not the
/// subquery of a Top-N.
pub(crate) fn refuse_ranking(select: &ast::Select) -> Result<()> {
    for item in &select.projection {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            continue;
        };
        if let Some((name, at)) = ranking_call(e) {
            return Err(ranking_refusal(&name, at));
        }
    }
    Ok(())
}

fn ranking_call(e: &ast::Expr) -> Option<(String, Span)> {
    match e {
        ast::Expr::Function(f) if f.over.is_some() => {
            let name = f.name.to_string().to_ascii_uppercase();
            RANKING.contains(&name.as_str()).then(|| (name, e.span()))
        }
        ast::Expr::BinaryOp { left, right, .. } => {
            ranking_call(left).or_else(|| ranking_call(right))
        }
        ast::Expr::Nested(x)
        | ast::Expr::UnaryOp { expr: x, .. }
        | ast::Expr::Cast { expr: x, .. } => ranking_call(x),
        _ => None,
    }
}

fn ranking_refusal(name: &str, at: Span) -> crate::error::Error {
    if name == "ROW_NUMBER" {
        err_at(
            at,
            "ROW_NUMBER",
            format!("ROW_NUMBER() OVER (...) is supported only in Flink's Top-N form: {FORM}"),
        )
    } else {
        err_at(
            at,
            name,
            format!("{name}() OVER (...) is not supported: Top-N and deduplication rank with ROW_NUMBER() (as Flink's streaming Top-N)"),
        )
    }
}

/// Refuses what a subquery of any other shape has, naming it.
fn subquery_refusal(at: Span) -> crate::error::Error {
    err_at(
        at,
        "subquery",
        format!("a subquery in FROM is supported only as Flink's Top-N: {FORM}"),
    )
}

/// Compiles `outer` (whose FROM is the subquery `inner`) as a Top-N.
pub(crate) fn compile(
    outer_query: &ast::Query,
    outer: &ast::Select,
    (inner_query, alias, at): (&ast::Query, Option<&ast::TableAlias>, Span),
    tables: &[TableDef],
    hints: &Hints,
) -> Result<Compiled> {
    check_outer(outer_query, outer, at)?;
    if let Some(a) = alias.filter(|a| !a.columns.is_empty()) {
        return Err(err_at(
            a.name.span,
            "subquery alias",
            "column aliases on a subquery are not supported",
        ));
    }
    let inner = check_inner(inner_query, at)?;
    let (rn_index, rn_name, spec, rn_at) = row_number_item(inner, at)?;
    let mut c = Compiler::new(inner, tables, hints)?;
    if c.tvf.is_some() {
        return Err(err_at(
            at,
            "window Top-N",
            "a Top-N over a window table function is not supported",
        ));
    }
    let filter = match &inner.selection {
        Some(w) => Some(c.boolean(w, false, "WHERE")?),
        None => None,
    };
    // The subquery's columns: (name, expression), None for the row number.
    let mut columns: Vec<(String, Option<Expr>)> = Vec::new();
    for (i, item) in inner.projection.iter().enumerate() {
        if i == rn_index {
            columns.push((rn_name.clone(), None));
            continue;
        }
        match item {
            SelectItem::Wildcard(_) => {
                let Some(cols) = c.table.columns.clone() else {
                    return Err(err_at(item.span(), "*", "SELECT * in a Top-N needs the table's columns: declare them with CREATE TABLE"));
                };
                for (n, t) in cols {
                    let slot = c.column_slot(std::slice::from_ref(&n), t);
                    columns.push((n, Some(Expr::Slot(slot))));
                }
            }
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                let alias = match item {
                    SelectItem::ExprWithAlias { alias, .. } => Some(alias),
                    _ => None,
                };
                let x = c.expr(e, false)?.0;
                columns.push((item_name(e, alias, i), Some(x)));
            }
            other => {
                return Err(err_at(
                    other.span(),
                    "*",
                    "qualified * in a Top-N is not supported",
                ))
            }
        }
    }
    let mut names = Vec::new();
    for (n, _) in &columns {
        push_name(&mut names, n.clone(), inner.span())?;
    }
    let mut partition = Vec::new();
    for p in &spec.partition_by {
        partition.push(c.expr(p, false)?.0);
    }
    if spec.order_by.is_empty() {
        return Err(err_at(
            rn_at,
            "ROW_NUMBER",
            "ROW_NUMBER() OVER needs ORDER BY (as in Flink)",
        ));
    }
    let mut order = Vec::new();
    for o in &spec.order_by {
        let descending = o.options.asc == Some(false);
        order.push(SortKey {
            expr: c.expr(&o.expr, false)?.0,
            descending,
            nulls_first: o.options.nulls_first.unwrap_or(!descending),
        });
    }
    let n = rank_end(
        outer.selection.as_ref().expect("checked in check_outer"),
        &rn_name,
        alias,
    )?;
    // Flink plans `rn = 1` ordered by the event-time attribute as a deduplication; keeping the
    // last row (DESC), a later row with the same time replaces the kept one.
    let watermark_column = c.table.watermark.as_ref().map(|(col, _)| col.clone());
    let later_wins_ties = n == 1
        && matches!(spec.order_by.as_slice(), [o] if o.options.asc == Some(false)
            && watermark_column.as_deref().is_some_and(|w| last_name(&o.expr) == Some(w)));
    let (row, outputs, out_names) = outer_columns(outer, &columns, alias)?;
    let top = TopN {
        partition,
        order,
        n,
        row,
        outputs,
        later_wins_ties,
    };
    Ok((c, filter, Body::TopN(top), out_names))
}

fn check_outer(q: &ast::Query, outer: &ast::Select, at: Span) -> Result<()> {
    check_select_clauses(outer)?;
    if let Some(o) = &q.order_by {
        return Err(err_at(
            o.span(),
            "ORDER BY",
            "ORDER BY over a Top-N is not supported",
        ));
    }
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Err(err_at(
            q.span(),
            "LIMIT",
            "LIMIT over a Top-N is not supported",
        ));
    }
    if outer.distinct.is_some() {
        return Err(err_at(
            outer.select_token.0.span,
            "SELECT DISTINCT",
            "SELECT DISTINCT over a Top-N is not supported",
        ));
    }
    if !matches!(&outer.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        || outer.having.is_some()
    {
        return Err(err_at(
            outer.span(),
            "GROUP BY",
            "GROUP BY / HAVING over a subquery is not supported",
        ));
    }
    if outer.selection.is_none() {
        return Err(subquery_refusal(at));
    }
    Ok(())
}

fn check_inner(q: &ast::Query, at: Span) -> Result<&ast::Select> {
    if let Some(w) = &q.with {
        return Err(err_at(
            w.span(),
            "WITH",
            "common table expressions (WITH) are not supported",
        ));
    }
    if let Some(o) = &q.order_by {
        return Err(err_at(
            o.span(),
            "ORDER BY",
            "ORDER BY in a subquery is not supported",
        ));
    }
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Err(err_at(
            q.span(),
            "LIMIT",
            "LIMIT in a subquery is not supported",
        ));
    }
    let SetExpr::Select(inner) = &*q.body else {
        return Err(subquery_refusal(at));
    };
    check_select_clauses(inner)?;
    if inner.distinct.is_some()
        || !matches!(&inner.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        || inner.having.is_some()
    {
        return Err(err_at(
            inner.span(),
            "subquery",
            "a Top-N over an aggregating or DISTINCT subquery is not supported",
        ));
    }
    Ok(inner)
}

/// The subquery's ROW_NUMBER item: its index, name, window and position.
fn row_number_item(
    inner: &ast::Select,
    at: Span,
) -> Result<(usize, String, ast::WindowSpec, Span)> {
    let mut found = None;
    for (i, item) in inner.projection.iter().enumerate() {
        let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else {
            continue;
        };
        let ast::Expr::Function(f) = e else {
            if let Some((name, at)) = ranking_call(e) {
                return Err(err_at(
                    at,
                    name,
                    "a Top-N selects ROW_NUMBER() OVER (...) AS rn as an item of its own",
                ));
            }
            continue;
        };
        let Some(over) = &f.over else { continue };
        let name = f.name.to_string().to_ascii_uppercase();
        if name != "ROW_NUMBER" {
            return Err(if RANKING.contains(&name.as_str()) {
                ranking_refusal(&name, e.span())
            } else {
                err_at(
                    e.span(),
                    format!("{name} OVER"),
                    "OVER aggregates in a subquery are not supported",
                )
            });
        }
        if found.is_some() {
            return Err(err_at(
                e.span(),
                "ROW_NUMBER",
                "a Top-N has one ROW_NUMBER()",
            ));
        }
        if !matches!(&f.args, ast::FunctionArguments::List(l) if l.args.is_empty()) {
            return Err(err_at(
                e.span(),
                "ROW_NUMBER",
                "ROW_NUMBER() takes no arguments",
            ));
        }
        let ast::WindowType::WindowSpec(spec) = over else {
            return Err(err_at(
                e.span(),
                "ROW_NUMBER",
                "named windows are not supported",
            ));
        };
        if spec.window_name.is_some() {
            return Err(err_at(
                e.span(),
                "ROW_NUMBER",
                "named windows are not supported",
            ));
        }
        if spec.window_frame.is_some() {
            return Err(err_at(
                e.span(),
                "ROW_NUMBER",
                "ROW_NUMBER() OVER takes no frame",
            ));
        }
        let SelectItem::ExprWithAlias { alias, .. } = item else {
            return Err(err_at(
                e.span(),
                "ROW_NUMBER",
                "name the row number: ROW_NUMBER() OVER (...) AS rn",
            ));
        };
        found = Some((i, alias.value.clone(), spec.clone(), e.span()));
    }
    found.ok_or_else(|| subquery_refusal(at))
}

/// The last part of a column reference.
fn last_name(e: &ast::Expr) -> Option<&str> {
    match e {
        ast::Expr::Identifier(i) => Some(&i.value),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.as_str()),
        _ => None,
    }
}

/// True when `e` names the row number column (bare, or qualified by the subquery's alias).
fn is_column(e: &ast::Expr, name: &str, alias: Option<&ast::TableAlias>) -> bool {
    match e {
        ast::Expr::Identifier(i) => i.value == name,
        ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [q, c] => alias.is_some_and(|a| a.name.value == q.value) && c.value == name,
            _ => false,
        },
        _ => false,
    }
}

/// N of the outer `WHERE rn <= N` (`rn < N` is `rn <= N - 1`; `rn = 1` is `rn <= 1`).
fn rank_end(w: &ast::Expr, rn: &str, alias: Option<&ast::TableAlias>) -> Result<u64> {
    let refuse = || {
        err_at(
            w.span(),
            "Top-N filter",
            format!(
                "the outer WHERE of a Top-N is {rn} <= N, {rn} < N or {rn} = 1 (other conditions go in the subquery's WHERE); got {w}"
            ),
        )
    };
    let ast::Expr::BinaryOp { left, op, right } = w else {
        return Err(refuse());
    };
    if !is_column(left, rn, alias) {
        return Err(refuse());
    }
    let number = match right.as_ref() {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(s, _) => s.parse::<u64>().ok(),
            _ => None,
        },
        _ => None,
    };
    let Some(number) = number else {
        return Err(refuse());
    };
    let n = match op {
        ast::BinaryOperator::LtEq => number,
        ast::BinaryOperator::Lt => number.saturating_sub(1),
        ast::BinaryOperator::Eq if number == 1 => 1,
        ast::BinaryOperator::Eq => {
            return Err(err_at(
                w.span(),
                "Top-N filter",
                format!("{rn} = {number} keeps one rank: only {rn} = 1 (deduplication) or {rn} <= N is supported"),
            ))
        }
        _ => return Err(refuse()),
    };
    if n == 0 {
        return Err(err_at(
            w.span(),
            "Top-N filter",
            format!("{w} keeps no row"),
        ));
    }
    if n > TOP_N_ROWS_PER_KEY_MAX {
        return Err(err_at(
            w.span(),
            "Top-N filter",
            format!("N = {n} is over TOP_N_ROWS_PER_KEY_MAX ({TOP_N_ROWS_PER_KEY_MAX})"),
        ));
    }
    Ok(n)
}

type OuterColumns = (Vec<Expr>, Vec<Option<usize>>, Vec<String>);

/// The outer SELECT list over the subquery's columns: the row a ranked record keeps, each
/// output column's place in it (None: the row number) and the output names.
fn outer_columns(
    outer: &ast::Select,
    columns: &[(String, Option<Expr>)],
    alias: Option<&ast::TableAlias>,
) -> Result<OuterColumns> {
    let mut picked: Vec<(usize, String)> = Vec::new();
    for item in &outer.projection {
        match item {
            SelectItem::Wildcard(_) if outer.projection.len() == 1 => {
                picked.extend(columns.iter().enumerate().map(|(i, (n, _))| (i, n.clone())));
            }
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                let found = columns.iter().position(|(n, _)| is_column(e, n, alias));
                let Some(i) = found else {
                    return Err(err_at(
                        e.span(),
                        "Top-N SELECT",
                        format!("the outer SELECT of a Top-N lists columns of its subquery (compute expressions inside it); {e} is not one"),
                    ));
                };
                let name = match item {
                    SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                    _ => columns[i].0.clone(),
                };
                picked.push((i, name));
            }
            other => {
                return Err(err_at(other.span(), "*", "SELECT * must be the only item"));
            }
        }
    }
    let (mut row, mut outputs, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for (i, name) in picked {
        push_name(&mut names, name, outer.span())?;
        match &columns[i].1 {
            None => outputs.push(None),
            Some(e) => {
                outputs.push(Some(row.len()));
                row.push(e.clone());
            }
        }
    }
    Ok((row, outputs, names))
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::plan::{Body, TopN};

    const TABLE: &str =
        "CREATE TABLE orders (id STRING, cat STRING, total DOUBLE, ts TIMESTAMP(3), \
        WATERMARK FOR ts AS ts) WITH ('connector' = 'kappa', 'topic' = 'orders');\n";

    fn top(query: &str) -> (TopN, Vec<String>) {
        let plan = crate::sql::compile(&format!("{TABLE}{query}"), false).unwrap();
        match plan.body {
            Body::TopN(t) => (t, plan.columns),
            other => panic!("not a Top-N: {other:?}"),
        }
    }

    /// (line, column, construct) of a refusal; the query is on line 2.
    fn refusal(query: &str) -> (u64, u64, String) {
        match crate::sql::compile(&format!("{TABLE}{query}"), false) {
            Err(Error::Sql {
                line,
                column,
                construct,
                ..
            }) => (line, column, construct),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn rn_below_n_keeps_n_minus_one_and_rn_may_be_left_out() {
        let (t, columns) = top(
            "SELECT cat, id FROM (SELECT id, cat, ROW_NUMBER() OVER (PARTITION BY cat ORDER BY total ASC, ts DESC) AS rn FROM orders) WHERE rn < 3",
        );
        assert_eq!(t.n, 2);
        assert_eq!(columns, ["cat", "id"]);
        assert_eq!(t.outputs, [Some(0), Some(1)]);
        assert_eq!(t.order.len(), 2);
        assert!(!t.order[0].descending && t.order[0].nulls_first);
        assert!(t.order[1].descending && !t.order[1].nulls_first);
        assert!(!t.later_wins_ties);
    }

    #[test]
    fn star_selects_the_tables_columns_and_the_row_number() {
        let (t, columns) = top(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) AS n FROM orders) o WHERE o.n = 1",
        );
        assert_eq!(columns, ["id", "cat", "total", "ts", "n"]);
        assert_eq!(t.outputs.last(), Some(&None));
        assert_eq!(t.n, 1);
        assert!(t.later_wins_ties, "keeping the last row by event time");
    }

    #[test]
    fn other_forms_are_refused_naming_the_construct_where_it_is() {
        let inner =
            "(SELECT id, ROW_NUMBER() OVER (PARTITION BY cat ORDER BY total) AS rn FROM orders)";
        for (query, construct) in [
            (format!("SELECT * FROM {inner} WHERE rn = 2"), "Top-N filter"),
            (format!("SELECT * FROM {inner} WHERE rn <= 0"), "Top-N filter"),
            (format!("SELECT * FROM {inner} WHERE rn <= 10001"), "Top-N filter"),
            (format!("SELECT * FROM {inner} WHERE rn BETWEEN 1 AND 3"), "Top-N filter"),
            (format!("SELECT * FROM {inner}"), "subquery"),
            (format!("SELECT id FROM {inner} WHERE rn <= 3 ORDER BY id"), "ORDER BY"),
            (format!("SELECT UPPER(id) FROM {inner} WHERE rn <= 3"), "Top-N SELECT"),
            (
                "SELECT * FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY total) FROM orders) WHERE rn <= 3".into(),
                "ROW_NUMBER",
            ),
            (
                "SELECT * FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY cat) AS rn FROM orders) WHERE rn <= 3".into(),
                "ROW_NUMBER",
            ),
            (
                "SELECT * FROM (SELECT id, DENSE_RANK() OVER (ORDER BY total) AS rn FROM orders) WHERE rn <= 3".into(),
                "DENSE_RANK",
            ),
            (
                "SELECT * FROM (SELECT * FROM (SELECT id FROM orders)) WHERE rn <= 3".into(),
                "subquery",
            ),
        ] {
            let (line, column, got) = refusal(&query);
            assert_eq!(got, construct, "{query}");
            assert!(line == 2 && column > 0, "{query}: at {line}:{column}");
        }
    }
}
