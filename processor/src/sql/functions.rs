//! Compiles Flink's scalar functions and the special forms sqlparser gives their own syntax
//! (`CASE`, `SUBSTRING(s FROM p FOR n)`, `TRIM(LEADING c FROM s)`, `EXTRACT(u FROM t)`,
//! `FLOOR(t TO u)`), with static types: branches of `CASE`/`IF` and the arguments of
//! `GREATEST`/`LEAST`/`COALESCE` get one common type (BIGINT and DOUBLE mix as DOUBLE, the
//! BIGINT side cast), as in Flink. Evaluation is `operator::func`.

use sqlparser::ast::{self, Spanned};

use crate::calendar::{DatePattern, TimeUnit};
use crate::error::Result;
use crate::limits::REGEX_BYTES_MAX;
use crate::plan::expr::{Expr, Func, Type};
use crate::plan::func::TrimSide;
use crate::sql::compiler::Compiler;
use crate::sql::literal::{err_at, literal_string};
use crate::value::Value;

type Typed = (Expr, Type);

/// The common type of `types` (ignoring untyped ones), or an error naming the mix.
fn common(types: &[Type], e: &ast::Expr, what: &str) -> Result<Type> {
    let typed: Vec<Type> = types.iter().copied().filter(|t| *t != Type::Any).collect();
    let Some(&first) = typed.first() else {
        return Ok(Type::Any);
    };
    if typed.iter().all(|t| *t == first) {
        return Ok(first);
    }
    if typed.iter().all(|t| matches!(t, Type::Int | Type::Double)) {
        return Ok(Type::Double);
    }
    Err(err_at(
        e.span(),
        what,
        format!(
            "{what} mixes {}",
            typed
                .iter()
                .map(|t| t.name())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    ))
}

/// `x` of type `t` as type `to` (a cast only where BIGINT meets DOUBLE).
fn coerce(x: Expr, t: Type, to: Type) -> Expr {
    if t == Type::Int && to == Type::Double {
        Expr::Cast(Box::new(x), Type::Double)
    } else {
        x
    }
}

fn time_unit(name: &str, e: &ast::Expr, allowed: &[TimeUnit]) -> Result<TimeUnit> {
    TimeUnit::parse(name)
        .filter(|u| allowed.contains(u))
        .ok_or_else(|| {
            err_at(
                e.span(),
                name.to_string(),
                format!(
                    "time unit {name} is not supported here; use one of {}",
                    allowed
                        .iter()
                        .map(|u| u.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

const CALENDAR_UNITS: &[TimeUnit] = &[
    TimeUnit::Second,
    TimeUnit::Minute,
    TimeUnit::Hour,
    TimeUnit::Day,
    TimeUnit::Week,
    TimeUnit::Month,
    TimeUnit::Quarter,
    TimeUnit::Year,
];

impl Compiler {
    /// A typed argument list.
    fn args(&mut self, args: &[&ast::Expr], group: bool) -> Result<(Vec<Expr>, Vec<Type>)> {
        let mut xs = Vec::with_capacity(args.len());
        let mut ts = Vec::with_capacity(args.len());
        for a in args {
            let (x, t) = self.expr(a, group)?;
            xs.push(x);
            ts.push(t);
        }
        Ok((xs, ts))
    }

    fn time_arg(&mut self, a: &ast::Expr, group: bool, func: &str) -> Result<Expr> {
        let (x, t) = self.expr(a, group)?;
        if !matches!(t, Type::Ts | Type::Str | Type::Any) {
            return Err(err_at(
                a.span(),
                func,
                format!("{func} needs a TIMESTAMP, {a} is {}", t.name()),
            ));
        }
        Ok(x)
    }

    fn string_args(&mut self, args: &[&ast::Expr], group: bool, func: &str) -> Result<Vec<Expr>> {
        let (xs, ts) = self.args(args, group)?;
        for (a, t) in args.iter().zip(&ts) {
            if matches!(t, Type::Bool | Type::Ts) {
                return Err(err_at(
                    a.span(),
                    func,
                    format!("{func} needs STRING arguments, {a} is {}", t.name()),
                ));
            }
        }
        Ok(xs)
    }

    /// The special forms with syntax of their own; None when `e` is not one.
    pub(crate) fn special_form(&mut self, e: &ast::Expr, group: bool) -> Result<Option<Typed>> {
        Ok(Some(match e {
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(self.expr(o, group)?),
                    None => None,
                };
                let mut whens = Vec::new();
                let mut types = Vec::new();
                for c in conditions {
                    let (w, wt) = self.expr(&c.condition, group)?;
                    if operand.is_none() && !matches!(wt, Type::Bool | Type::Any) {
                        return Err(err_at(
                            c.condition.span(),
                            "CASE",
                            format!("WHEN {} is not a condition", c.condition),
                        ));
                    }
                    let (r, rt) = self.expr(&c.result, group)?;
                    whens.push((w, r));
                    types.push(rt);
                }
                let otherwise = match else_result {
                    Some(x) => {
                        let (x, t) = self.expr(x, group)?;
                        types.push(t);
                        Some(x)
                    }
                    None => None,
                };
                let t = common(&types, e, "CASE")?;
                let mut it = types.into_iter();
                let whens = whens
                    .into_iter()
                    .map(|(w, r)| (w, coerce(r, it.next().expect("a type per branch"), t)))
                    .collect();
                let otherwise =
                    otherwise.map(|x| Box::new(coerce(x, it.next().expect("else's type"), t)));
                (
                    Expr::Case {
                        operand: operand.map(|(x, _)| Box::new(x)),
                        whens,
                        otherwise,
                    },
                    t,
                )
            }
            ast::Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let from = substring_from.as_deref().ok_or_else(|| {
                    err_at(e.span(), "SUBSTRING", "SUBSTRING needs a start position")
                })?;
                let mut args: Vec<&ast::Expr> = vec![expr, from];
                args.extend(substring_for.as_deref());
                (self.substring(&args, e, group)?, Type::Str)
            }
            ast::Expr::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(err_at(
                        e.span(),
                        "TRIM",
                        "TRIM(s, chars) is not Flink's syntax; use TRIM(BOTH chars FROM s)",
                    ));
                }
                let side = match trim_where {
                    None | Some(ast::TrimWhereField::Both) => TrimSide::Both,
                    Some(ast::TrimWhereField::Leading) => TrimSide::Leading,
                    Some(ast::TrimWhereField::Trailing) => TrimSide::Trailing,
                };
                let mut args: Vec<&ast::Expr> = vec![expr];
                args.extend(trim_what.as_deref());
                let xs = self.string_args(&args, group, "TRIM")?;
                (Expr::Call(Func::Trim(side), xs), Type::Str)
            }
            ast::Expr::Extract { field, expr, .. } => {
                let mut allowed = CALENDAR_UNITS.to_vec();
                allowed.extend([TimeUnit::DayOfWeek, TimeUnit::DayOfYear]);
                let unit = time_unit(&field.to_string(), e, &allowed)?;
                let x = self.time_arg(expr, group, "EXTRACT")?;
                (Expr::Call(Func::Extract(unit), vec![x]), Type::Int)
            }
            ast::Expr::Floor { expr, field } | ast::Expr::Ceil { expr, field } => {
                let floor = matches!(e, ast::Expr::Floor { .. });
                match field {
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                        let (x, t) = self.expr(expr, group)?;
                        if !t.is_numeric() {
                            return Err(err_at(
                                expr.span(),
                                "FLOOR",
                                format!(
                                    "FLOOR/CEIL needs a number or `TO unit`, {expr} is {}",
                                    t.name()
                                ),
                            ));
                        }
                        let f = if floor { Func::Floor } else { Func::Ceil };
                        (Expr::Call(f, vec![x]), t)
                    }
                    ast::CeilFloorKind::DateTimeField(unit) => {
                        let unit = time_unit(&unit.to_string(), e, CALENDAR_UNITS)?;
                        let x = self.time_arg(expr, group, "FLOOR")?;
                        let f = if floor {
                            Func::FloorTo(unit)
                        } else {
                            Func::CeilTo(unit)
                        };
                        (Expr::Call(f, vec![x]), Type::Ts)
                    }
                    ast::CeilFloorKind::Scale(_) => {
                        return Err(err_at(
                            e.span(),
                            "FLOOR",
                            "FLOOR/CEIL with a scale is not supported",
                        ))
                    }
                }
            }
            _ => return Ok(None),
        }))
    }

    fn substring(&mut self, args: &[&ast::Expr], e: &ast::Expr, group: bool) -> Result<Expr> {
        let (xs, ts) = self.args(args, group)?;
        if matches!(ts[0], Type::Bool | Type::Ts)
            || !ts[1..].iter().all(|t| matches!(t, Type::Int | Type::Any))
        {
            return Err(err_at(
                e.span(),
                "SUBSTRING",
                "SUBSTRING needs (STRING, INT[, INT])",
            ));
        }
        Ok(Expr::Call(Func::Substring, xs))
    }

    /// Flink's scalar functions called by name; None when `name` is not one of them.
    pub(crate) fn named_function(
        &mut self,
        name: &str,
        args: &[&ast::Expr],
        e: &ast::Expr,
        group: bool,
    ) -> Result<Option<Typed>> {
        let arity = |min: usize, max: usize| -> Result<()> {
            if args.len() < min || args.len() > max {
                return Err(err_at(
                    e.span(),
                    name.to_string(),
                    format!("{name} takes {min}..{max} arguments, got {}", args.len()),
                ));
            }
            Ok(())
        };
        Ok(Some(match name {
            "IF" => {
                arity(3, 3)?;
                let (c, ct) = self.expr(args[0], group)?;
                if !matches!(ct, Type::Bool | Type::Any) {
                    return Err(err_at(args[0].span(), "IF", "IF needs a condition first"));
                }
                let (xs, ts) = self.args(&args[1..], group)?;
                let t = common(&ts, e, "IF")?;
                let mut xs = xs.into_iter().zip(ts).map(|(x, u)| coerce(x, u, t));
                let then = xs.next().expect("arity 3");
                let otherwise = xs.next().expect("arity 3");
                (
                    Expr::Case {
                        operand: None,
                        whens: vec![(c, then)],
                        otherwise: Some(Box::new(otherwise)),
                    },
                    t,
                )
            }
            "NULLIF" => {
                arity(2, 2)?;
                let (xs, ts) = self.args(args, group)?;
                common(&ts, e, "NULLIF")?;
                (Expr::Call(Func::NullIf, xs), ts[0])
            }
            "GREATEST" | "LEAST" => {
                arity(1, 64)?;
                let (xs, ts) = self.args(args, group)?;
                let t = common(&ts, e, name)?;
                let xs = xs
                    .into_iter()
                    .zip(ts)
                    .map(|(x, u)| coerce(x, u, t))
                    .collect();
                let f = if name == "GREATEST" {
                    Func::Greatest
                } else {
                    Func::Least
                };
                (Expr::Call(f, xs), t)
            }
            "CONCAT" => {
                arity(1, 64)?;
                (
                    Expr::Call(Func::Concat, self.string_args(args, group, name)?),
                    Type::Str,
                )
            }
            "SUBSTRING" | "SUBSTR" => {
                arity(2, 3)?;
                (self.substring(args, e, group)?, Type::Str)
            }
            "REPLACE" => {
                arity(3, 3)?;
                (
                    Expr::Call(Func::Replace, self.string_args(args, group, name)?),
                    Type::Str,
                )
            }
            "SPLIT_INDEX" => {
                arity(3, 3)?;
                let (xs, ts) = self.args(args, group)?;
                if !matches!(ts[2], Type::Int | Type::Any) {
                    return Err(err_at(
                        args[2].span(),
                        name.to_string(),
                        "SPLIT_INDEX's index must be an INT",
                    ));
                }
                (Expr::Call(Func::SplitIndex, xs), Type::Str)
            }
            "REGEXP_EXTRACT" => {
                arity(2, 3)?;
                let pattern = literal_string(args[1])?;
                let regex = regex::RegexBuilder::new(&pattern)
                    .size_limit(REGEX_BYTES_MAX)
                    .build()
                    .map_err(|err| {
                        err_at(
                            args[1].span(),
                            "REGEXP_EXTRACT",
                            format!("bad regular expression: {err}"),
                        )
                    })?;
                let mut rest = vec![args[0]];
                rest.extend(args.get(2));
                let (xs, _) = self.args(&rest, group)?;
                (Expr::RegexpExtract(Box::new(regex), xs), Type::Str)
            }
            "DATE_FORMAT" => {
                arity(2, 2)?;
                let ts = self.time_arg(args[0], group, name)?;
                let (p, _) = self.expr(args[1], group)?;
                check_pattern(&p, args[1])?;
                (Expr::Call(Func::DateFormat, vec![ts, p]), Type::Str)
            }
            "TO_TIMESTAMP" => {
                arity(1, 2)?;
                let xs = self.string_args(args, group, name)?;
                if let Some(p) = xs.get(1) {
                    check_pattern(p, args[1])?;
                }
                (Expr::Call(Func::ToTimestamp, xs), Type::Ts)
            }
            "TIMESTAMPDIFF" => {
                arity(3, 3)?;
                let unit = match args[0] {
                    ast::Expr::Identifier(i) => time_unit(&i.value, args[0], CALENDAR_UNITS)?,
                    other => {
                        return Err(err_at(
                            other.span(),
                            "TIMESTAMPDIFF",
                            "TIMESTAMPDIFF's first argument is a unit (SECOND ... YEAR)",
                        ))
                    }
                };
                let a = self.time_arg(args[1], group, name)?;
                let b = self.time_arg(args[2], group, name)?;
                (Expr::Call(Func::TimestampDiff(unit), vec![a, b]), Type::Int)
            }
            "JSON_VALUE" => {
                arity(2, 2)?;
                let (x, _) = self.expr(args[0], group)?;
                let path = literal_string(args[1])?;
                if !path.trim_start().starts_with('$') {
                    return Err(err_at(
                        args[1].span(),
                        "JSON_VALUE",
                        "a JSON path starts with $",
                    ));
                }
                (
                    Expr::Call(Func::JsonValue, vec![x, Expr::Lit(Value::Str(path))]),
                    Type::Str,
                )
            }
            _ => return Ok(None),
        }))
    }
}

/// A literal date pattern must be one `DatePattern` reads.
fn check_pattern(p: &Expr, at: &ast::Expr) -> Result<()> {
    if let Expr::Lit(Value::Str(s)) = p {
        DatePattern::parse(s).map_err(|m| err_at(at.span(), "date pattern", m))?;
    }
    Ok(())
}
