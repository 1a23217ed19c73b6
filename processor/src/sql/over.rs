//! Compiles OVER aggregations: `agg(x) OVER (PARTITION BY k ORDER BY ts <frame>)` in the SELECT
//! list, as Flink writes them. Every OVER call of a query shares one window (Flink's rule); it
//! is ordered by the event-time column ascending; the frame is `ROWS BETWEEN n PRECEDING AND
//! CURRENT ROW`, `RANGE BETWEEN INTERVAL .. PRECEDING AND CURRENT ROW`, or `UNBOUNDED
//! PRECEDING` (`RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW` when only ORDER BY is given).
//! The aggregates' results follow the input slots in the row the SELECT list is evaluated on.

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use crate::error::Result;
use crate::limits::OVER_FRAME_ROWS_MAX;
use crate::plan::expr::{Expr, Type};
use crate::plan::{Body, Frame, Over};
use crate::sql::compiler::{Compiler, OverCtx};
use crate::sql::literal::{err_at, interval_ms};

/// Aggregate results are compiled to slots counted down from here, then moved after the input
/// slots once those are all known.
const RESULT_SLOT_TOP: usize = usize::MAX;
const RESULT_SLOTS_MAX: usize = 1 << 16;

/// The OVER window of a SELECT list, if any item has one.
pub(crate) fn over_spec(select: &ast::Select) -> Option<(ast::WindowSpec, Span)> {
    fn find(e: &ast::Expr) -> Option<(ast::WindowSpec, Span)> {
        match e {
            ast::Expr::Function(f) => match &f.over {
                Some(ast::WindowType::WindowSpec(s)) => Some((s.clone(), e.span())),
                _ => None,
            },
            ast::Expr::BinaryOp { left, right, .. } => find(left).or_else(|| find(right)),
            ast::Expr::Nested(x) | ast::Expr::UnaryOp { expr: x, .. } => find(x),
            ast::Expr::Cast { expr, .. } => find(expr),
            _ => None,
        }
    }
    select.projection.iter().find_map(|item| match item {
        ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => find(e),
        _ => None,
    })
}

impl Compiler {
    /// The body of a SELECT with OVER aggregates.
    pub(crate) fn over_body(
        &mut self,
        select: &ast::Select,
        spec: ast::WindowSpec,
        at: Span,
    ) -> Result<(Body, Vec<String>, Vec<ast::Expr>)> {
        let refuse = |span: Span, m: &str| err_at(span, "OVER", m.to_string());
        if spec.window_name.is_some() {
            return Err(refuse(at, "named windows are not supported"));
        }
        let [order] = spec.order_by.as_slice() else {
            return Err(refuse(at, "OVER needs ORDER BY <event-time column>"));
        };
        if order.options.asc == Some(false) {
            return Err(refuse(
                order.expr.span(),
                "OVER is ordered by event time ascending",
            ));
        }
        self.time_attribute(&order.expr, "OVER")?;
        let frame = frame(spec.window_frame.as_ref(), at)?;
        let mut partition = Vec::new();
        for p in &spec.partition_by {
            partition.push(self.expr(p, false)?.0);
        }
        self.over = Some(OverCtx {
            spec,
            aggs: Vec::new(),
        });
        let (exprs, names, asts) = self.select_list(select)?;
        let ctx = self.over.take().expect("set above");
        let input_slots = self.fields.slots();
        let outputs = exprs
            .into_iter()
            .map(|mut e| {
                e.map_slots(&|s| {
                    if s > RESULT_SLOT_TOP - RESULT_SLOTS_MAX {
                        input_slots + (RESULT_SLOT_TOP - s)
                    } else {
                        s
                    }
                });
                e
            })
            .collect();
        let over = Over {
            partition,
            frame,
            aggs: ctx.aggs,
            outputs,
            input_slots,
        };
        Ok((Body::Over(over), names, asts))
    }

    /// `agg(x) OVER (...)` inside an OVER query: a slot standing for its result.
    pub(crate) fn over_call(
        &mut self,
        f: &ast::Function,
        kind: crate::plan::aggregate::AggKind,
        name: &str,
        e: &ast::Expr,
    ) -> Result<(Expr, Type)> {
        let Some(ast::WindowType::WindowSpec(spec)) = &f.over else {
            return Err(err_at(e.span(), "OVER", "named windows are not supported"));
        };
        let Some(ctx) = &self.over else {
            return Err(err_at(
                e.span(),
                "OVER",
                "OVER is allowed only in the SELECT list",
            ));
        };
        if *spec != ctx.spec {
            return Err(err_at(
                e.span(),
                "OVER",
                "every OVER aggregate of a query must use the same window (as in Flink)",
            ));
        }
        let (spec, t) = self.agg_spec(f, kind, name, e)?;
        let ctx = self.over.as_mut().expect("checked above");
        if ctx.aggs.len() >= RESULT_SLOTS_MAX {
            return Err(err_at(e.span(), "OVER", "too many OVER aggregates"));
        }
        ctx.aggs.push(spec);
        Ok((Expr::Slot(RESULT_SLOT_TOP - (ctx.aggs.len() - 1)), t))
    }
}

fn frame(f: Option<&ast::WindowFrame>, at: Span) -> Result<Frame> {
    let Some(f) = f else {
        return Ok(Frame::RangeUnbounded);
    };
    let refuse = |m: &str| err_at(at, "OVER frame", m.to_string());
    if !matches!(f.end_bound, None | Some(ast::WindowFrameBound::CurrentRow)) {
        return Err(refuse("the frame must end at CURRENT ROW"));
    }
    let rows = match f.units {
        ast::WindowFrameUnits::Rows => true,
        ast::WindowFrameUnits::Range => false,
        ast::WindowFrameUnits::Groups => return Err(refuse("GROUPS frames are not supported")),
    };
    Ok(match (&f.start_bound, rows) {
        (ast::WindowFrameBound::Preceding(None), true) => Frame::RowsUnbounded,
        (ast::WindowFrameBound::Preceding(None), false) => Frame::RangeUnbounded,
        (ast::WindowFrameBound::CurrentRow, true) => Frame::Rows(0),
        (ast::WindowFrameBound::CurrentRow, false) => Frame::Range(0),
        (ast::WindowFrameBound::Preceding(Some(n)), true) => match n.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(s, _) => {
                    let n: u64 = s
                        .parse()
                        .map_err(|_| refuse("ROWS n PRECEDING needs a whole number"))?;
                    if n >= OVER_FRAME_ROWS_MAX as u64 {
                        return Err(refuse(&format!(
                            "ROWS {n} PRECEDING holds more rows than OVER_FRAME_ROWS_MAX \
                             ({OVER_FRAME_ROWS_MAX}) per frame"
                        )));
                    }
                    Frame::Rows(n)
                }
                _ => return Err(refuse("ROWS n PRECEDING needs a whole number")),
            },
            _ => return Err(refuse("ROWS n PRECEDING needs a whole number")),
        },
        (ast::WindowFrameBound::Preceding(Some(n)), false) => match n.as_ref() {
            ast::Expr::Interval(iv) => Frame::Range(interval_ms(iv, n.span())?),
            _ => return Err(refuse("RANGE needs INTERVAL '..' unit PRECEDING")),
        },
        (ast::WindowFrameBound::Following(_), _) => {
            return Err(refuse(
                "FOLLOWING frames are not supported (as in Flink's streaming SQL)",
            ))
        }
    })
}
