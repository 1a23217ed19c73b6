//! Window table functions, the form Flink now recommends: `FROM TABLE(TUMBLE(TABLE t,
//! DESCRIPTOR(ts), INTERVAL '1' MINUTE))`, `HOP(TABLE t, DESCRIPTOR(ts), slide, size)` and
//! `CUMULATE(TABLE t, DESCRIPTOR(ts), step, size)`, positional or with Flink's argument names
//! (`DATA =>`, `TIMECOL =>`, `SIZE =>`, `SLIDE =>`, `STEP =>`). A window aggregation over one
//! groups by `window_start, window_end` (and `window_time`), which select the window's bounds.
//! Compiles to the same window state as `GROUP BY TUMBLE(...)`.

use sqlparser::ast::{self, Spanned};

use crate::error::Result;
use crate::limits::HOP_WINDOWS_PER_RECORD_MAX;
use crate::plan::WindowSpec;
use crate::sql::literal::{err_at, interval_ms};

/// The function the dialect turns `TABLE <name>` into inside a call.
pub const TABLE_REF: &str = "__TABLE_REF";

/// A window table function in FROM.
#[derive(Debug, Clone)]
pub struct WindowTvf {
    /// TUMBLE, HOP or CUMULATE.
    pub name: String,
    pub spec: WindowSpec,
    /// The DESCRIPTOR's column: the event time.
    pub time_column: ast::Expr,
}

/// The names a TVF's window columns go by.
pub const WINDOW_START: &str = "window_start";
pub const WINDOW_END: &str = "window_end";
pub const WINDOW_TIME: &str = "window_time";

/// Takes `TUMBLE(TABLE t, DESCRIPTOR(ts), ...)` apart: the table's name and the window.
pub fn parse(expr: &ast::Expr) -> Result<(ast::ObjectName, WindowTvf)> {
    let refuse =
        |e: &dyn Spanned, m: &str| err_at(e.span(), "window table function", m.to_string());
    let ast::Expr::Function(f) = expr else {
        return Err(refuse(
            expr,
            "FROM TABLE(...) must call TUMBLE, HOP or CUMULATE",
        ));
    };
    let name = f.name.to_string().to_ascii_uppercase();
    let order: &[&str] = match name.as_str() {
        "TUMBLE" => &["DATA", "TIMECOL", "SIZE"],
        "HOP" => &["DATA", "TIMECOL", "SLIDE", "SIZE"],
        "CUMULATE" => &["DATA", "TIMECOL", "STEP", "SIZE"],
        _ => {
            return Err(refuse(
                expr,
                &format!("{name} is not a window table function; use TUMBLE, HOP or CUMULATE"),
            ))
        }
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(refuse(expr, &format!("{name} needs its arguments")));
    };
    let mut args: Vec<Option<&ast::Expr>> = vec![None; order.len()];
    for (i, a) in list.args.iter().enumerate() {
        let (slot, e) = match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => (i, e),
            ast::FunctionArg::Named {
                name: n,
                arg: ast::FunctionArgExpr::Expr(e),
                ..
            } => {
                let at = order
                    .iter()
                    .position(|o| o.eq_ignore_ascii_case(&n.value))
                    .ok_or_else(|| refuse(expr, &format!("{name} has no argument {}", n.value)))?;
                (at, e)
            }
            other => {
                return Err(refuse(
                    expr,
                    &format!("argument {other} of {name} is not supported"),
                ))
            }
        };
        match args.get_mut(slot) {
            Some(s @ None) => *s = Some(e),
            _ => {
                return Err(refuse(
                    e,
                    &format!("{name} takes {} arguments", order.len()),
                ))
            }
        }
    }
    let [Some(data), Some(timecol), sizes @ ..] = args.as_slice() else {
        return Err(refuse(
            expr,
            &format!("{name} needs (TABLE t, DESCRIPTOR(col), ...)"),
        ));
    };
    let table = match data {
        ast::Expr::Function(t) if t.name.to_string() == TABLE_REF => match &t.args {
            ast::FunctionArguments::List(l) => match l.args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] => object_name(e)?,
                _ => return Err(refuse(*data, "TABLE needs a table name")),
            },
            _ => return Err(refuse(*data, "TABLE needs a table name")),
        },
        other => {
            return Err(refuse(
                *other,
                &format!("{name}'s first argument is TABLE <name>"),
            ))
        }
    };
    let time_column = match timecol {
        ast::Expr::Function(d) if d.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") => {
            match &d.args {
                ast::FunctionArguments::List(l) => match l.args.as_slice() {
                    [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(c))] => c.clone(),
                    _ => return Err(refuse(*timecol, "DESCRIPTOR names one time column")),
                },
                _ => return Err(refuse(*timecol, "DESCRIPTOR names one time column")),
            }
        }
        other => {
            return Err(refuse(
                *other,
                &format!("{name}'s second argument is DESCRIPTOR(<time column>)"),
            ))
        }
    };
    let mut ms = Vec::new();
    for s in sizes {
        let Some(s) = s else {
            return Err(refuse(
                expr,
                &format!("{name} needs {} arguments", order.len()),
            ));
        };
        let ast::Expr::Interval(iv) = s else {
            return Err(refuse(
                *s,
                &format!("{name} sizes must be INTERVAL literals"),
            ));
        };
        let v = interval_ms(iv, s.span())?;
        if v <= 0 {
            return Err(refuse(*s, "window sizes must be positive"));
        }
        ms.push(v);
    }
    let spec = window_spec(&name, &ms, expr)?;
    Ok((
        table,
        WindowTvf {
            name,
            spec,
            time_column,
        },
    ))
}

/// The window a TUMBLE / HOP / SESSION / CUMULATE call with these sizes (ms, positive, in the
/// call's order) describes; shared by the window table functions and `GROUP BY TUMBLE(...)`.
pub(crate) fn window_spec(name: &str, ms: &[i64], at: &dyn Spanned) -> Result<WindowSpec> {
    let refuse = |m: &str| err_at(at.span(), name.to_string(), m.to_string());
    let per_record = |step: i64, size: i64, what: &str| {
        if size / step > HOP_WINDOWS_PER_RECORD_MAX as i64 {
            return Err(refuse(&format!(
                "{what} exceeds HOP_WINDOWS_PER_RECORD_MAX"
            )));
        }
        Ok(())
    };
    Ok(match name {
        "TUMBLE" => WindowSpec::Tumble { size_ms: ms[0] },
        "SESSION" => WindowSpec::Session { gap_ms: ms[0] },
        "HOP" => {
            per_record(ms[0], ms[1], "HOP size / slide")?;
            WindowSpec::Hop {
                slide_ms: ms[0],
                size_ms: ms[1],
            }
        }
        _ => {
            if ms[1] % ms[0] != 0 {
                return Err(refuse("CUMULATE's size must be a whole number of steps"));
            }
            per_record(ms[0], ms[1], "CUMULATE size / step")?;
            WindowSpec::Cumulate {
                step_ms: ms[0],
                size_ms: ms[1],
            }
        }
    })
}

fn object_name(e: &ast::Expr) -> Result<ast::ObjectName> {
    Ok(match e {
        ast::Expr::Identifier(i) => ast::ObjectName::from(vec![i.clone()]),
        ast::Expr::CompoundIdentifier(p) => ast::ObjectName::from(p.clone()),
        other => {
            return Err(err_at(
                other.span(),
                "TABLE",
                format!("TABLE needs a table name, not {other}"),
            ))
        }
    })
}

/// Which window column `e` names, if it is one (`window_start`, `w.window_end`, ...).
pub fn window_column(e: &ast::Expr) -> Option<&'static str> {
    let name = match e {
        ast::Expr::Identifier(i) => &i.value,
        ast::Expr::CompoundIdentifier(p) => &p.last()?.value,
        _ => return None,
    };
    [WINDOW_START, WINDOW_END, WINDOW_TIME]
        .into_iter()
        .find(|c| name.eq_ignore_ascii_case(c))
}
