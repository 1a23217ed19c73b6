//! Compiles SQL expressions to `plan::expr::Expr`, with static type checks. In a grouped
//! query (`group = true`) a leaf must be a GROUP BY key, an aggregate call or a window
//! start/end; inside an aggregate's argument the row's columns are visible again.

use sqlparser::ast::{self, BinaryOperator as B, Spanned, UnaryOperator};

use crate::error::Result;
use crate::plan::aggregate::{AggKind, AggSpec};
use crate::plan::expr::{compile_like, BinOp, Expr, Func, Type};
use crate::plan::WindowSpec;
use crate::sql::compiler::{Compiler, TIMESTAMP_COLUMN};
use crate::sql::literal::{err_at, interval_ms, literal_string};
use crate::sql::table::data_type;
use crate::value::Value;

type Typed = (Expr, Type);

pub(crate) fn aggregate_kind(name: &str) -> Option<AggKind> {
    Some(match name {
        "COUNT" => AggKind::Count,
        "SUM" => AggKind::Sum,
        "AVG" => AggKind::Avg,
        "MIN" => AggKind::Min,
        "MAX" => AggKind::Max,
        "VAR_POP" => AggKind::VarPop,
        "VAR_SAMP" | "VARIANCE" => AggKind::VarSamp,
        "STDDEV_POP" => AggKind::StddevPop,
        "STDDEV_SAMP" | "STDDEV" => AggKind::StddevSamp,
        _ => return None,
    })
}

fn scalar_func(name: &str) -> Option<(Func, usize, usize)> {
    Some(match name {
        "ROUND" => (Func::Round, 1, 2),
        "LOWER" => (Func::Lower, 1, 1),
        "UPPER" => (Func::Upper, 1, 1),
        "COALESCE" => (Func::Coalesce, 1, 64),
        "DATE" | "TO_DATE" => (Func::Date, 1, 1),
        "ABS" => (Func::Abs, 1, 1),
        "CHAR_LENGTH" | "CHARACTER_LENGTH" => (Func::CharLength, 1, 1),
        _ => return None,
    })
}

impl Compiler {
    /// A condition (WHERE, HAVING): must be BOOLEAN.
    pub(crate) fn boolean(&mut self, e: &ast::Expr, group: bool, clause: &str) -> Result<Expr> {
        let (x, t) = self.expr(e, group)?;
        if !matches!(t, Type::Bool | Type::Any) {
            return Err(err_at(
                e.span(),
                clause,
                format!("{clause} needs a BOOLEAN condition, {e} is {}", t.name()),
            ));
        }
        Ok(x)
    }

    pub(crate) fn function_args<'a>(&self, f: &'a ast::Function) -> Result<Vec<&'a ast::Expr>> {
        let name = f.name.to_string().to_ascii_uppercase();
        match &f.args {
            ast::FunctionArguments::None => Ok(vec![]),
            ast::FunctionArguments::Subquery(q) => {
                Err(err_at(q.span(), "subquery", "subqueries are not supported"))
            }
            ast::FunctionArguments::List(list) => {
                if !list.clauses.is_empty() {
                    return Err(err_at(
                        f.span(),
                        name.clone(),
                        format!("clauses inside {name}(...) are not supported"),
                    ));
                }
                list.args
                    .iter()
                    .map(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                        _ => Err(err_at(
                            f.span(),
                            name.clone(),
                            format!("argument {a} of {name} is not supported"),
                        )),
                    })
                    .collect()
            }
        }
    }

    pub(crate) fn expr(&mut self, e: &ast::Expr, group: bool) -> Result<Typed> {
        if group {
            if let Some(i) = self
                .group
                .as_ref()
                .and_then(|g| g.keys.iter().position(|(k, _)| same_expr(k, e)))
            {
                let t = self.group.as_ref().expect("checked").keys[i].1;
                return Ok((Expr::Slot(2 + i), t));
            }
        }
        if group && self.tvf.is_some() {
            match crate::sql::tvf::window_column(e) {
                Some(crate::sql::tvf::WINDOW_START) => return Ok((Expr::Slot(0), Type::Ts)),
                Some(crate::sql::tvf::WINDOW_END) => return Ok((Expr::Slot(1), Type::Ts)),
                // Flink's window_time: the window's last millisecond.
                Some(_) => {
                    let last = Expr::Binary(
                        BinOp::Sub,
                        Box::new(Expr::Slot(1)),
                        Box::new(Expr::Lit(Value::Int(1))),
                    );
                    return Ok((last, Type::Ts));
                }
                None => {}
            }
        }
        match e {
            ast::Expr::Identifier(i) => self.column(std::slice::from_ref(i), e, group),
            ast::Expr::CompoundIdentifier(parts) => self.column(parts, e, group),
            ast::Expr::Value(v) => literal(&v.value, e),
            ast::Expr::Nested(inner) => self.expr(inner, group),
            ast::Expr::TypedString(ts) => {
                let t = data_type(&ts.data_type, e.span())?;
                let text = ts.value.value.clone().into_string().unwrap_or_default();
                let v = crate::plan::expr::cast(Value::Str(text.clone()), t);
                if v.is_null() {
                    return Err(err_at(
                        e.span(),
                        "literal",
                        format!("{text:?} is not a valid {}", t.name()),
                    ));
                }
                Ok((Expr::Lit(v), t))
            }
            ast::Expr::Interval(iv) => {
                Ok((Expr::Lit(Value::Int(interval_ms(iv, e.span())?)), Type::Int))
            }
            ast::Expr::BinaryOp { left, op, right } => self.binary(left, op, right, e, group),
            ast::Expr::UnaryOp { op, expr } => {
                let (x, t) = self.expr(expr, group)?;
                match op {
                    UnaryOperator::Not if matches!(t, Type::Bool | Type::Any) => {
                        Ok((Expr::Not(Box::new(x)), Type::Bool))
                    }
                    UnaryOperator::Minus if t.is_numeric() => Ok((Expr::Neg(Box::new(x)), t)),
                    UnaryOperator::Plus if t.is_numeric() => Ok((x, t)),
                    _ => Err(err_at(
                        e.span(),
                        format!("{op}"),
                        format!("{op} cannot apply to {}", t.name()),
                    )),
                }
            }
            ast::Expr::IsNull(x) | ast::Expr::IsNotNull(x) => {
                let negated = matches!(e, ast::Expr::IsNotNull(_));
                Ok((
                    Expr::IsNull {
                        expr: Box::new(self.expr(x, group)?.0),
                        negated,
                    },
                    Type::Bool,
                ))
            }
            ast::Expr::InList {
                expr,
                list,
                negated,
            } => {
                let (x, t) = self.expr(expr, group)?;
                let mut items = Vec::new();
                for item in list {
                    let (y, u) = self.expr(item, group)?;
                    comparable(t, u, item)?;
                    items.push(y);
                }
                Ok((
                    Expr::InList {
                        expr: Box::new(x),
                        list: items,
                        negated: *negated,
                    },
                    Type::Bool,
                ))
            }
            ast::Expr::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char,
            } => {
                let (x, t) = self.expr(expr, group)?;
                if !matches!(t, Type::Str | Type::Any) {
                    return Err(err_at(
                        expr.span(),
                        "LIKE",
                        format!("LIKE needs a STRING, {expr} is {}", t.name()),
                    ));
                }
                let p = literal_string(pattern)?;
                let escape = match escape_char {
                    Some(ast::Value::SingleQuotedString(s)) => s.chars().next(),
                    _ => None,
                };
                Ok((
                    Expr::Like {
                        expr: Box::new(x),
                        pattern: compile_like(&p, escape),
                        negated: *negated,
                    },
                    Type::Bool,
                ))
            }
            ast::Expr::Cast {
                kind: _,
                expr,
                data_type: dt,
                format: None,
            } => {
                if matches!(dt, ast::DataType::Date) {
                    let (x, _) = self.expr(expr, group)?;
                    return Ok((Expr::Call(Func::Date, vec![x]), Type::Str));
                }
                let t = data_type(dt, e.span())?;
                let (x, _) = self.expr(expr, group)?;
                Ok((Expr::Cast(Box::new(x), t), t))
            }
            ast::Expr::Function(f) => self.function(f, e, group),
            ast::Expr::Case { .. }
            | ast::Expr::Substring { .. }
            | ast::Expr::Trim { .. }
            | ast::Expr::Extract { .. }
            | ast::Expr::Floor { .. }
            | ast::Expr::Ceil { .. } => Ok(self
                .special_form(e, group)?
                .expect("special_form handles these forms")),
            ast::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let lo = ast::Expr::BinaryOp {
                    left: expr.clone(),
                    op: B::GtEq,
                    right: low.clone(),
                };
                let hi = ast::Expr::BinaryOp {
                    left: expr.clone(),
                    op: B::LtEq,
                    right: high.clone(),
                };
                let both = ast::Expr::BinaryOp {
                    left: Box::new(lo),
                    op: B::And,
                    right: Box::new(hi),
                };
                let (x, t) = self.expr(&both, group)?;
                Ok(if *negated {
                    (Expr::Not(Box::new(x)), t)
                } else {
                    (x, t)
                })
            }
            other => Err(err_at(
                other.span(),
                construct_name(other),
                format!("{} is not supported: {other}", construct_name(other)),
            )),
        }
    }

    fn column(&mut self, parts: &[ast::Ident], e: &ast::Expr, group: bool) -> Result<Typed> {
        if group {
            return Err(err_at(
                e.span(),
                "column",
                format!("column {e} must appear in GROUP BY or inside an aggregate function"),
            ));
        }
        let path = self.resolve_column(parts, e.span())?;
        if path == [TIMESTAMP_COLUMN] {
            let slot = self.column_slot(&["\u{0}record-timestamp".to_string()], Type::Ts);
            self.timestamp_slot = Some(slot);
            return Ok((Expr::Slot(slot), Type::Ts));
        }
        let t = self.path_type(&path, e.span())?;
        Ok((Expr::Slot(self.column_slot(&path, t)), t))
    }

    fn binary(
        &mut self,
        l: &ast::Expr,
        op: &B,
        r: &ast::Expr,
        e: &ast::Expr,
        group: bool,
    ) -> Result<Typed> {
        let (x, a) = self.expr(l, group)?;
        let (y, b) = self.expr(r, group)?;
        let (op, t) = match op {
            B::And | B::Or => {
                for (side, t) in [(l, a), (r, b)] {
                    if !matches!(t, Type::Bool | Type::Any) {
                        return Err(err_at(
                            side.span(),
                            format!("{op}"),
                            format!("{op} needs BOOLEAN operands, {side} is {}", t.name()),
                        ));
                    }
                }
                (
                    if *op == B::And { BinOp::And } else { BinOp::Or },
                    Type::Bool,
                )
            }
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                comparable(a, b, e)?;
                let op = match op {
                    B::Eq => BinOp::Eq,
                    B::NotEq => BinOp::NotEq,
                    B::Lt => BinOp::Lt,
                    B::LtEq => BinOp::LtEq,
                    B::Gt => BinOp::Gt,
                    _ => BinOp::GtEq,
                };
                (op, Type::Bool)
            }
            B::StringConcat => (BinOp::Concat, Type::Str),
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let t = match (a, b) {
                    (Type::Ts, Type::Int) if matches!(op, B::Plus | B::Minus) => Type::Ts,
                    (Type::Int, Type::Int) => Type::Int,
                    (Type::Any, _) | (_, Type::Any) if a.is_numeric() && b.is_numeric() => {
                        Type::Any
                    }
                    (x, y) if x.is_numeric() && y.is_numeric() => Type::Double,
                    _ => {
                        return Err(err_at(
                            e.span(),
                            format!("{op}"),
                            format!("{op} needs numbers, got {} and {}", a.name(), b.name()),
                        ));
                    }
                };
                let op = match op {
                    B::Plus => BinOp::Add,
                    B::Minus => BinOp::Sub,
                    B::Multiply => BinOp::Mul,
                    B::Divide => BinOp::Div,
                    _ => BinOp::Mod,
                };
                (op, t)
            }
            other => {
                return Err(err_at(
                    e.span(),
                    format!("operator {other}"),
                    format!("operator {other} is not supported"),
                ))
            }
        };
        Ok((Expr::Binary(op, Box::new(x), Box::new(y)), t))
    }

    fn function(&mut self, f: &ast::Function, e: &ast::Expr, group: bool) -> Result<Typed> {
        let name = f.name.to_string().to_ascii_uppercase();
        if f.over.is_some() {
            return match aggregate_kind(&name) {
                Some(kind) => self.over_call(f, kind, &name, e),
                None => Err(err_at(
                    e.span(),
                    format!("{name} OVER"),
                    format!("{name}(...) OVER (...) is not supported; OVER takes the aggregates COUNT, SUM, AVG, MIN, MAX, VAR_*, STDDEV_*"),
                )),
            };
        }
        if f.filter.is_some() || !f.within_group.is_empty() {
            return Err(err_at(
                e.span(),
                name.clone(),
                format!("FILTER / WITHIN GROUP on {name} is not supported"),
            ));
        }
        if let Some(kind) = aggregate_kind(&name) {
            return self.aggregate(f, kind, &name, e, group);
        }
        if let Some((window_fn, end)) = window_aux(&name) {
            return self.window_bound(f, window_fn, end, e, group);
        }
        if matches!(name.as_str(), "TUMBLE" | "HOP" | "SESSION") {
            return Err(err_at(
                e.span(),
                name.clone(),
                format!("{name}(...) belongs in GROUP BY; select {name}_START / {name}_END"),
            ));
        }
        let Some((func, min, max)) = scalar_func(&name) else {
            let args = self.function_args(f)?;
            if let Some(typed) = self.named_function(&name, &args, e, group)? {
                return Ok(typed);
            }
            return Err(err_at(
                e.span(),
                format!("function {name}"),
                format!("unknown function {name}"),
            ));
        };
        let args = self.function_args(f)?;
        if args.len() < min || args.len() > max {
            return Err(err_at(
                e.span(),
                name.clone(),
                format!("{name} takes {min}..{max} arguments, got {}", args.len()),
            ));
        }
        let mut xs = Vec::new();
        let mut ts = Vec::new();
        for a in &args {
            let (x, t) = self.expr(a, group)?;
            xs.push(x);
            ts.push(t);
        }
        let t = match func {
            Func::Round | Func::Abs => {
                if !ts[0].is_numeric() {
                    return Err(err_at(
                        e.span(),
                        name.clone(),
                        format!("{name} needs a number, got {}", ts[0].name()),
                    ));
                }
                // A negative digits literal (`ROUND(x, -1)`, Flink rounds to tens) is
                // parsed as a negation: fold it into the literal.
                if func == Func::Round && args.len() == 2 {
                    if let Expr::Neg(inner) = &xs[1] {
                        if let Expr::Lit(Value::Int(d)) = **inner {
                            xs[1] = Expr::Lit(Value::Int(-d));
                        }
                    }
                }
                if func == Func::Round
                    && args.len() == 2
                    && !matches!(xs[1], Expr::Lit(Value::Int(_)))
                {
                    return Err(err_at(
                        args[1].span(),
                        "ROUND",
                        "ROUND's digits must be an integer literal",
                    ));
                }
                ts[0]
            }
            Func::Lower | Func::Upper | Func::Date => Type::Str,
            Func::CharLength => Type::Int,
            Func::Coalesce => ts
                .iter()
                .copied()
                .find(|t| *t != Type::Any)
                .unwrap_or(Type::Any),
            other => unreachable!("{other:?} is compiled by named_function"),
        };
        Ok((Expr::Call(func, xs), t))
    }

    fn aggregate(
        &mut self,
        f: &ast::Function,
        kind: AggKind,
        name: &str,
        e: &ast::Expr,
        group: bool,
    ) -> Result<Typed> {
        if !group || self.group.is_none() {
            return Err(err_at(
                e.span(),
                name,
                format!("aggregate {name} is not allowed here"),
            ));
        }
        let (spec, t) = self.agg_spec(f, kind, name, e)?;
        let g = self.group.as_mut().expect("checked above");
        g.aggs.push(spec);
        Ok((Expr::Slot(2 + g.keys.len() + g.aggs.len() - 1), t))
    }

    /// An aggregate call's function, argument and result type.
    pub(crate) fn agg_spec(
        &mut self,
        f: &ast::Function,
        kind: AggKind,
        name: &str,
        e: &ast::Expr,
    ) -> Result<(AggSpec, Type)> {
        let distinct = matches!(&f.args, ast::FunctionArguments::List(l) if l.duplicate_treatment == Some(ast::DuplicateTreatment::Distinct));
        let star = matches!(&f.args, ast::FunctionArguments::List(l) if matches!(l.args.as_slice(), [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]));
        let (kind, arg, t) = if star {
            if kind != AggKind::Count || distinct {
                return Err(err_at(
                    e.span(),
                    name,
                    format!("{name}(*) is not supported"),
                ));
            }
            (AggKind::CountStar, None, Type::Int)
        } else {
            let args = self.function_args(f)?;
            let [a] = args.as_slice() else {
                return Err(err_at(e.span(), name, format!("{name} takes one argument")));
            };
            let (x, t) = self.expr(a, false)?;
            let kind = match (kind, distinct) {
                (AggKind::Count, true) => AggKind::CountDistinct,
                (k, false) => k,
                _ => {
                    return Err(err_at(
                        e.span(),
                        format!("{name}(DISTINCT)"),
                        format!("{name}(DISTINCT ...) is not supported"),
                    ))
                }
            };
            let out = match kind {
                AggKind::Count | AggKind::CountDistinct => Type::Int,
                AggKind::Sum
                | AggKind::Avg
                | AggKind::VarPop
                | AggKind::VarSamp
                | AggKind::StddevPop
                | AggKind::StddevSamp
                    if !t.is_numeric() =>
                {
                    return Err(err_at(
                        a.span(),
                        name,
                        format!("{name} needs a number, {a} is {}", t.name()),
                    ));
                }
                _ => t,
            };
            (kind, Some(x), out)
        };
        Ok((AggSpec { kind, arg }, t))
    }

    fn window_bound(
        &mut self,
        f: &ast::Function,
        window_fn: &str,
        end: bool,
        e: &ast::Expr,
        group: bool,
    ) -> Result<Typed> {
        let name = f.name.to_string().to_ascii_uppercase();
        let Some(g) = self.group.as_ref().filter(|_| group) else {
            return Err(err_at(
                e.span(),
                name.clone(),
                format!("{name} is allowed only in the SELECT list of a windowed GROUP BY"),
            ));
        };
        match &g.window {
            Some((w, spec)) if w == window_fn => {
                let args = self.function_args(f)?;
                let matches_window = match spec {
                    WindowSpec::Tumble { .. } | WindowSpec::Session { .. } => args.len() == 2,
                    WindowSpec::Hop { .. } => args.len() == 3,
                    WindowSpec::Cumulate { .. } => false,
                };
                if !matches_window {
                    return Err(err_at(
                        e.span(),
                        name.clone(),
                        format!("{name} must repeat the arguments of {window_fn} in GROUP BY"),
                    ));
                }
                Ok((Expr::Slot(if end { 1 } else { 0 }), Type::Ts))
            }
            _ => Err(err_at(
                e.span(),
                name.clone(),
                format!("{name} needs GROUP BY {window_fn}(...)"),
            )),
        }
    }
}

fn window_aux(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "TUMBLE_START" => ("TUMBLE", false),
        "TUMBLE_END" => ("TUMBLE", true),
        "HOP_START" => ("HOP", false),
        "HOP_END" => ("HOP", true),
        "SESSION_START" => ("SESSION", false),
        "SESSION_END" => ("SESSION", true),
        _ => return None,
    })
}

fn comparable(a: Type, b: Type, e: &ast::Expr) -> Result<()> {
    let ok = match (a, b) {
        (Type::Any, _) | (_, Type::Any) => true,
        (x, y) if x == y => true,
        (Type::Int | Type::Double, Type::Int | Type::Double) => true,
        (Type::Ts, Type::Str) | (Type::Str, Type::Ts) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(err_at(
            e.span(),
            "comparison",
            format!("cannot compare {} with {} in {e}", a.name(), b.name()),
        ))
    }
}

fn literal(v: &ast::Value, e: &ast::Expr) -> Result<Typed> {
    Ok(match v {
        ast::Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) if !n.contains(['.', 'e', 'E']) => (Expr::Lit(Value::Int(i)), Type::Int),
            _ => (
                Expr::Lit(Value::Float(n.parse().map_err(|_| {
                    err_at(e.span(), "number", format!("bad number {n}"))
                })?)),
                Type::Double,
            ),
        },
        ast::Value::SingleQuotedString(s) => (Expr::Lit(Value::Str(s.clone())), Type::Str),
        ast::Value::Boolean(b) => (Expr::Lit(Value::Bool(*b)), Type::Bool),
        ast::Value::Null => (Expr::Lit(Value::Null), Type::Any),
        other => {
            return Err(err_at(
                e.span(),
                "literal",
                format!("literal {other} is not supported"),
            ))
        }
    })
}

fn construct_name(e: &ast::Expr) -> String {
    let s = format!("{e:?}");
    let kind = s.split(['(', ' ', '{']).next().unwrap_or("expression");
    match kind {
        "Subquery" | "Exists" | "InSubquery" => "subquery".into(),
        "Case" => "CASE".into(),
        other => other.to_string(),
    }
}

/// Whether two expressions are the same, where a quoted and an unquoted name of one column are
/// the same (`"category"` and `category`: Flink's names are case-sensitive either way).
pub(crate) fn same_expr(a: &ast::Expr, b: &ast::Expr) -> bool {
    fn names(e: &ast::Expr) -> Option<Vec<&str>> {
        match e {
            ast::Expr::Identifier(i) => Some(vec![i.value.as_str()]),
            ast::Expr::CompoundIdentifier(parts) => {
                Some(parts.iter().map(|i| i.value.as_str()).collect())
            }
            _ => None,
        }
    }
    match (names(a), names(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
