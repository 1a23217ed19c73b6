//! `FROM l JOIN r ...`: the second table of a join and the ON clause, split into the join key,
//! an interval join's time bounds and the rest. Two joins are planned, both as Flink runs them
//! and both with state the watermark bounds: the event-time temporal join
//! (`JOIN r FOR SYSTEM_TIME AS OF l.ts ON l.k = r.k`, `r` keyed by its PRIMARY KEY) and the
//! interval join (`ON l.k = r.k AND r.ts BETWEEN l.ts AND l.ts + INTERVAL '4' HOUR`). A regular
//! join, whose state grows with both inputs forever, is refused.
//!
//! A column of the right table is resolved to a path that starts with `RIGHT`; the compiler's
//! `column_slot` and `path_type` read that mark and number the right table's fields into the
//! same row as the left's.

use std::ops::ControlFlow;

use sqlparser::ast::{self, BinaryOperator as B, Spanned, TableFactor, Visit, Visitor};
use sqlparser::tokenizer::Span;

use crate::error::Result;
use crate::extract::FieldSet;
use crate::plan::expr::{BinOp, Expr, Type};
use crate::plan::{EventTime, Join, JoinInput, JoinKind, PrimaryKey};
use crate::sql::compiler::{Compiler, RightTable, RIGHT};
use crate::sql::literal::{err_at, interval_ms};
use crate::sql::table::{self, TableDef};

/// Reads `FROM left JOIN right ...`'s join into a `RightTable` (None without a join).
pub(crate) fn right_table(
    from: &ast::TableWithJoins,
    tables: &[TableDef],
) -> Result<Option<RightTable>> {
    let Some(join) = from.joins.first() else {
        return Ok(None);
    };
    if let Some(second) = from.joins.get(1) {
        return Err(err_at(
            second.relation.span(),
            "JOIN",
            "one JOIN per query is supported: join the result in a second processor",
        ));
    }
    let at = join.relation.span();
    let (constraint, left_outer) = match &join.join_operator {
        ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (c, false),
        ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (c, true),
        other => {
            let kind = match other {
                ast::JoinOperator::Right(_) | ast::JoinOperator::RightOuter(_) => "RIGHT JOIN",
                ast::JoinOperator::FullOuter(_) => "FULL OUTER JOIN",
                ast::JoinOperator::CrossJoin(_) => "CROSS JOIN",
                _ => "this JOIN",
            };
            return Err(err_at(
                at,
                kind,
                format!("{kind} is not supported: use JOIN or LEFT JOIN"),
            ));
        }
    };
    let ast::JoinConstraint::On(on) = constraint else {
        return Err(err_at(at, "JOIN", "a JOIN needs an ON condition"));
    };
    let TableFactor::Table {
        name,
        alias,
        args: None,
        version,
        ..
    } = &join.relation
    else {
        return Err(err_at(
            at,
            "JOIN",
            "a JOIN must name a CREATE TABLE table (subqueries and functions are not supported)",
        ));
    };
    let name_text = table::object_name(name);
    let Some(table) = tables.iter().find(|t| t.name == name_text) else {
        return Err(err_at(
            name.span(),
            "JOIN",
            format!(
                "{name_text} must be declared with CREATE TABLE (its columns and WATERMARK) to be \
                 joined"
            ),
        ));
    };
    let as_of = match version {
        None => None,
        Some(ast::TableVersion::ForSystemTimeAsOf(e)) => Some(e.clone()),
        Some(other) => {
            return Err(err_at(
                at,
                "table version",
                format!("{other} is not supported: use FOR SYSTEM_TIME AS OF <time column>"),
            ))
        }
    };
    let mut qualifiers = vec![name_text];
    if let Some(a) = alias {
        qualifiers.push(a.name.value.clone());
    }
    Ok(Some(RightTable {
        table: table.clone(),
        qualifiers,
        fields: FieldSet::default(),
        left_outer,
        as_of,
        on: on.clone(),
        at,
    }))
}

/// Which tables an expression reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sides {
    left: bool,
    right: bool,
}

impl Sides {
    fn only_left(self) -> bool {
        self.left && !self.right
    }
    fn only_right(self) -> bool {
        self.right && !self.left
    }
}

/// A temporal join's key, as `Compiler::versioned_key` finds it.
struct VersionedKey {
    /// The PRIMARY KEY columns' slots, in key order.
    slots: Vec<usize>,
    /// The left and right key expressions, pairwise equal.
    left: Vec<Expr>,
    right: Vec<Expr>,
    /// ON's other equalities: conditions on the version found.
    conditions: Vec<Expr>,
}

/// A time attribute plus a constant: `l.ts`, `r.ts - INTERVAL '1' HOUR`.
struct TimeTerm {
    right: bool,
    offset_ms: i64,
}

impl Compiler {
    /// A column name as written -> its path; a right-table column's path starts with `RIGHT`.
    /// Unqualified names are looked up in both tables (one that both declare is ambiguous).
    pub(crate) fn resolve_column(&self, parts: &[ast::Ident], at: Span) -> Result<Vec<String>> {
        let names: Vec<String> = parts.iter().map(|p| p.value.clone()).collect();
        let Some(right) = &self.right else {
            return Ok(self.strip_qualifier(parts));
        };
        if names.len() > 1 && self.qualifiers.contains(&names[0]) {
            return Ok(names[1..].to_vec());
        }
        let to_right = |path: &[String]| {
            let mut p = vec![RIGHT.to_string()];
            p.extend_from_slice(path);
            p
        };
        if names.len() > 1 && right.qualifiers.contains(&names[0]) {
            return Ok(to_right(&names[1..]));
        }
        let in_left = self.table.column_type(&names[0]).is_some();
        let in_right = right.table.column_type(&names[0]).is_some();
        match (in_left, in_right) {
            (true, true) => Err(err_at(
                at,
                "column",
                format!(
                    "column {} is ambiguous: both {} and {} have it; qualify it",
                    names[0], self.table.name, right.table.name
                ),
            )),
            (false, true) => Ok(to_right(&names)),
            _ => Ok(names),
        }
    }

    /// Which tables `e` reads (by its column references).
    fn sides(&self, e: &ast::Expr) -> Result<Sides> {
        struct Refs<'a> {
            c: &'a Compiler,
            sides: Sides,
        }
        impl Visitor for Refs<'_> {
            type Break = crate::error::Error;
            fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<Self::Break> {
                let parts = match e {
                    ast::Expr::Identifier(i) => std::slice::from_ref(i),
                    ast::Expr::CompoundIdentifier(p) => p.as_slice(),
                    _ => return ControlFlow::Continue(()),
                };
                match self.c.resolve_column(parts, e.span()) {
                    Ok(path) if path.first().map(String::as_str) == Some(RIGHT) => {
                        self.sides.right = true
                    }
                    Ok(_) => self.sides.left = true,
                    Err(e) => return ControlFlow::Break(e),
                }
                ControlFlow::Continue(())
            }
        }
        let mut refs = Refs {
            c: self,
            sides: Sides::default(),
        };
        match e.visit(&mut refs) {
            ControlFlow::Break(err) => Err(err),
            ControlFlow::Continue(()) => Ok(refs.sides),
        }
    }

    /// `ts`, `ts + INTERVAL ..` or `ts - INTERVAL ..` over one table's time attribute.
    fn time_term(&self, e: &ast::Expr) -> Result<Option<TimeTerm>> {
        let (column, offset_ms) = match e {
            ast::Expr::Nested(inner) => return self.time_term(inner),
            ast::Expr::BinaryOp { left, op, right } if matches!(op, B::Plus | B::Minus) => {
                let ast::Expr::Interval(iv) = &**right else {
                    return Ok(None);
                };
                let ms = interval_ms(iv, right.span())?;
                (&**left, if *op == B::Plus { ms } else { -ms })
            }
            other => (other, 0),
        };
        let parts = match column {
            ast::Expr::Identifier(i) => std::slice::from_ref(i),
            ast::Expr::CompoundIdentifier(p) => p.as_slice(),
            _ => return Ok(None),
        };
        let path = self.resolve_column(parts, column.span())?;
        let right = self.right.as_ref().expect("a join");
        let term = match path.split_first() {
            Some((mark, rest)) if mark == RIGHT => right
                .table
                .watermark
                .as_ref()
                .filter(|(c, _)| rest == [c.clone()])
                .map(|_| TimeTerm {
                    right: true,
                    offset_ms,
                }),
            _ => self
                .table
                .watermark
                .as_ref()
                .filter(|(c, _)| path == [c.clone()])
                .map(|_| TimeTerm {
                    right: false,
                    offset_ms,
                }),
        };
        Ok(term)
    }

    /// A comparison between the two tables' time attributes, as bounds on
    /// `right time - left time`: (lower, upper), each None when this conjunct does not set it.
    fn time_bound(&self, e: &ast::Expr) -> Result<Option<(Option<i64>, Option<i64>)>> {
        let bound =
            |x: &ast::Expr, op: &B, y: &ast::Expr| -> Result<Option<(Option<i64>, Option<i64>)>> {
                let (Some(a), Some(b)) = (self.time_term(x)?, self.time_term(y)?) else {
                    return Ok(None);
                };
                if a.right == b.right {
                    return Ok(None);
                }
                // a.time + a.off  op  b.time + b.off, as  r - l  op'  c.
                let (op, c) = if a.right {
                    (op.clone(), b.offset_ms - a.offset_ms)
                } else {
                    let flipped = match op {
                        B::Lt => B::Gt,
                        B::LtEq => B::GtEq,
                        B::Gt => B::Lt,
                        B::GtEq => B::LtEq,
                        other => other.clone(),
                    };
                    (flipped, a.offset_ms - b.offset_ms)
                };
                Ok(match op {
                    B::LtEq => Some((None, Some(c))),
                    B::Lt => Some((None, Some(c - 1))),
                    B::GtEq => Some((Some(c), None)),
                    B::Gt => Some((Some(c + 1), None)),
                    B::Eq => Some((Some(c), Some(c))),
                    _ => None,
                })
            };
        match e {
            ast::Expr::Nested(inner) => self.time_bound(inner),
            ast::Expr::BinaryOp { left, op, right } => bound(left, op, right),
            ast::Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } => {
                let (Some(lo), Some(hi)) =
                    (bound(expr, &B::GtEq, low)?, bound(expr, &B::LtEq, high)?)
                else {
                    return Ok(None);
                };
                Ok(Some((lo.0.or(hi.0), lo.1.or(hi.1))))
            }
            _ => Ok(None),
        }
    }

    /// An equality of ON between an expression of the left table only and one of the right
    /// table only: a pair of the join key (left, right), compiled.
    fn key_pair(&mut self, c: &ast::Expr) -> Result<Option<(Expr, Expr)>> {
        let ast::Expr::BinaryOp {
            left: a,
            op: B::Eq,
            right: b,
        } = c
        else {
            return Ok(None);
        };
        let (sa, sb) = (self.sides(a)?, self.sides(b)?);
        let (l, r) = if sa.only_left() && sb.only_right() {
            (a, b)
        } else if sa.only_right() && sb.only_left() {
            (b, a)
        } else {
            return Ok(None);
        };
        let (le, lt) = self.expr(l, false)?;
        let (re, rt) = self.expr(r, false)?;
        if !comparable(lt, rt) {
            return Err(err_at(
                c.span(),
                "JOIN",
                format!("the join key compares {} with {}", lt.name(), rt.name()),
            ));
        }
        Ok(Some((le, re)))
    }

    /// A temporal join's key: each PRIMARY KEY column of the versioned table, in key order,
    /// with the left expression ON equates it to.
    fn versioned_key(
        &mut self,
        table: &TableDef,
        on: Span,
        mut left_keys: Vec<Expr>,
        mut right_keys: Vec<Expr>,
    ) -> Result<VersionedKey> {
        let (mut slots, mut left, mut right) = (Vec::new(), Vec::new(), Vec::new());
        for column in &table.primary_key {
            let t = table.column_type(column).unwrap_or(Type::Any);
            let slot = self.column_slot(&[RIGHT.to_string(), column.clone()], t);
            slots.push(slot);
            let Some(i) = right_keys
                .iter()
                .position(|e| matches!(e, Expr::Slot(s) if *s == slot))
            else {
                return Err(err_at(
                    on,
                    "FOR SYSTEM_TIME AS OF",
                    format!(
                        "a temporal join's ON must equate the versioned table's primary key \
                         column {column} with a column of {}",
                        self.table.name
                    ),
                ));
            };
            left.push(left_keys.remove(i));
            right.push(right_keys.remove(i));
        }
        let conditions = left_keys
            .into_iter()
            .zip(right_keys)
            .map(|(l, r)| Expr::Binary(BinOp::Eq, Box::new(l), Box::new(r)))
            .collect();
        Ok(VersionedKey {
            slots,
            left,
            right,
            conditions,
        })
    }

    /// The join of the query, planned: key, time bounds or temporal version, the rest of ON.
    pub(crate) fn join(&mut self) -> Result<Option<Join>> {
        let Some(right) = self.right.as_ref() else {
            return Ok(None);
        };
        let (on, at, as_of, left_outer) = (
            right.on.clone(),
            right.at,
            right.as_of.clone(),
            right.left_outer,
        );
        let right_table = right.table.clone();
        let time_of = |t: &TableDef| {
            t.watermark.clone().ok_or_else(|| {
                err_at(
                    at,
                    "JOIN",
                    format!(
                        "a join needs event time on both sides: declare WATERMARK FOR <column> \
                         in {}",
                        t.name
                    ),
                )
            })
        };
        let (left_time, _) = time_of(&self.table)?;
        let (right_time, right_delay) = time_of(&right_table)?;
        let mut conjuncts = Vec::new();
        split_and(&on, &mut conjuncts);
        let (mut left_keys, mut right_keys, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        let (mut lower, mut upper) = (None::<i64>, None::<i64>);
        for c in conjuncts {
            if as_of.is_none() {
                if let Some((lo, hi)) = self.time_bound(c)? {
                    lower = match (lower, lo) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    upper = match (upper, hi) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    continue;
                }
            }
            if let Some((l, r)) = self.key_pair(c)? {
                left_keys.push(l);
                right_keys.push(r);
                continue;
            }
            rest.push(c.clone());
        }
        let kind = match &as_of {
            Some(t) => {
                let left_is_time = matches!(
                    self.time_term(t)?,
                    Some(TimeTerm {
                        right: false,
                        offset_ms: 0
                    })
                );
                if !left_is_time {
                    return Err(err_at(
                        t.span(),
                        "FOR SYSTEM_TIME AS OF",
                        format!(
                            "FOR SYSTEM_TIME AS OF must name the left table's time attribute \
                             {left_time} (an event-time temporal join)"
                        ),
                    ));
                }
                if right_table.primary_key.is_empty() {
                    return Err(err_at(
                        at,
                        "FOR SYSTEM_TIME AS OF",
                        format!(
                            "a temporal join needs a versioned table: declare PRIMARY KEY (...) \
                             NOT ENFORCED in {}",
                            right_table.name
                        ),
                    ));
                }
                JoinKind::Temporal
            }
            None => match (lower, upper) {
                (Some(lower_ms), Some(upper_ms)) if lower_ms <= upper_ms => {
                    JoinKind::Interval { lower_ms, upper_ms }
                }
                (Some(_), Some(_)) => {
                    return Err(err_at(
                        on.span(),
                        "interval join",
                        "the ON clause's time bounds leave no interval: no pair can match",
                    ))
                }
                _ => {
                    return Err(err_at(
                        at,
                        "JOIN",
                        format!(
                            "only joins whose state the watermark bounds are supported: an \
                             interval join (ON ... AND {r}.{right_time} BETWEEN {l}.{left_time} - \
                             INTERVAL .. AND {l}.{left_time} + INTERVAL ..) or an event-time \
                             temporal join (JOIN {r} FOR SYSTEM_TIME AS OF {l}.{left_time} ON ...)",
                            l = self.qualifiers.last().cloned().unwrap_or_default(),
                            r = self
                                .right
                                .as_ref()
                                .and_then(|r| r.qualifiers.last().cloned())
                                .unwrap_or_default(),
                        ),
                    ))
                }
            },
        };
        let mut primary_key = Vec::new();
        let mut conditions = Vec::new();
        if kind == JoinKind::Temporal {
            let key = self.versioned_key(&right_table, on.span(), left_keys, right_keys)?;
            (primary_key, left_keys, right_keys) = (key.slots, key.left, key.right);
            conditions = key.conditions;
        }
        for c in &rest {
            conditions.push(self.boolean(c, false, "ON")?);
        }
        let condition = conditions
            .into_iter()
            .reduce(|a, b| Expr::Binary(BinOp::And, Box::new(a), Box::new(b)));
        let right_time_slot = self.column_slot(&[RIGHT.to_string(), right_time], Type::Ts);
        Ok(Some(Join {
            kind,
            left_outer,
            right: JoinInput {
                topic: right_table.topic.clone(),
                // Set when the whole query is compiled (its SELECT list adds columns).
                fields: FieldSet::default(),
                event_time: EventTime::Slot(right_time_slot),
                watermark_delay_ms: right_delay,
                watermark_idle_timeout_ms: right_table.idle_timeout_ms,
                primary_key: PrimaryKey {
                    slots: primary_key,
                    names: right_table.primary_key.clone(),
                },
            },
            left_keys,
            right_keys,
            condition,
        }))
    }
}

fn comparable(a: Type, b: Type) -> bool {
    a == b || a == Type::Any || b == Type::Any || (a.is_numeric() && b.is_numeric())
}

/// `a AND b AND c` -> [a, b, c].
fn split_and<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) {
    match e {
        ast::Expr::BinaryOp {
            left,
            op: B::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        ast::Expr::Nested(inner) if matches!(**inner, ast::Expr::BinaryOp { op: B::And, .. }) => {
            split_and(inner, out)
        }
        other => out.push(other),
    }
}
