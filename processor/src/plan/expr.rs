//! Scalar expressions, compiled from SQL (or built by hand) and evaluated against a row of slots.
//! SQL's three-valued logic: NULL in, NULL out, except AND/OR/IS NULL/COALESCE.

use std::cmp::Ordering;

use crate::plan::func::call;
pub use crate::plan::func::Func;
pub use crate::plan::types::{cast, coerce, compare, Type};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Concat,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Slot(usize),
    Lit(Value),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Vec<LikeToken>,
        negated: bool,
    },
    Cast(Box<Expr>, Type),
    Call(Func, Vec<Expr>),
    /// `CASE [operand] WHEN .. THEN .. ELSE .. END` (and `IF`): with an operand, each WHEN is a
    /// value compared to it; without, a condition.
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// `REGEXP_EXTRACT(s, regex[, group])` with the regex compiled once: args are (s, group).
    RegexpExtract(Box<regex::Regex>, Vec<Expr>),
}

/// A LIKE pattern, pre-split: `%` any run, `_` any one character, the rest literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LikeToken {
    Any,
    One,
    Lit(char),
}

pub fn compile_like(pattern: &str, escape: Option<char>) -> Vec<LikeToken> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(n) = chars.next() {
                out.push(LikeToken::Lit(n));
            }
        } else if c == '%' {
            out.push(LikeToken::Any);
        } else if c == '_' {
            out.push(LikeToken::One);
        } else {
            out.push(LikeToken::Lit(c));
        }
    }
    out
}

/// SQL LIKE by the greedy wildcard algorithm: iterative, so a long pattern cannot overflow the
/// stack, and O(pattern x text) at worst (on a mismatch it resumes after the last `%` one
/// character further instead of trying every split again), so `%a%a%a%b` cannot take
/// exponential time (issue 10).
fn like_match(p: &[LikeToken], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // The position after the last `%` seen and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(LikeToken::Any) => {
                star = Some((pi + 1, si));
                pi += 1;
                continue;
            }
            Some(LikeToken::One) => {
                pi += 1;
                si += 1;
                continue;
            }
            Some(LikeToken::Lit(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((after, matched)) => {
                pi = after;
                si = matched + 1;
                star = Some((after, matched + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|t| matches!(t, LikeToken::Any))
}

impl Expr {
    /// Every slot this expression reads.
    pub fn slots(&self, out: &mut Vec<usize>) {
        // One walk of the tree (`map_slots`), on a copy: this runs when a plan is built, never
        // per record.
        let seen = std::cell::RefCell::new(Vec::new());
        self.clone().map_slots(&|i| {
            seen.borrow_mut().push(i);
            i
        });
        out.extend(seen.into_inner());
    }

    /// Renumbers every slot this expression reads.
    pub fn map_slots(&mut self, f: &impl Fn(usize) -> usize) {
        match self {
            Expr::Slot(i) => *i = f(*i),
            Expr::Lit(_) => {}
            Expr::Binary(_, a, b) => {
                a.map_slots(f);
                b.map_slots(f);
            }
            Expr::Not(e) | Expr::Neg(e) | Expr::Cast(e, _) => e.map_slots(f),
            Expr::IsNull { expr, .. } | Expr::Like { expr, .. } => expr.map_slots(f),
            Expr::InList { expr, list, .. } => {
                expr.map_slots(f);
                list.iter_mut().for_each(|e| e.map_slots(f));
            }
            Expr::Call(_, args) | Expr::RegexpExtract(_, args) => {
                args.iter_mut().for_each(|e| e.map_slots(f))
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                operand
                    .iter_mut()
                    .chain(otherwise.iter_mut())
                    .for_each(|e| e.map_slots(f));
                for (w, t) in whens {
                    w.map_slots(f);
                    t.map_slots(f);
                }
            }
        }
    }

    pub fn eval(&self, row: &[Value]) -> Value {
        match self {
            Expr::Slot(i) => row[*i].clone(),
            Expr::Lit(v) => v.clone(),
            Expr::Binary(op, a, b) => binary(*op, a, b, row),
            Expr::Not(e) => match e.eval(row) {
                Value::Bool(b) => Value::Bool(!b),
                _ => Value::Null,
            },
            Expr::Neg(e) => match e.eval(row) {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::IsNull { expr, negated } => Value::Bool(expr.eval(row).is_null() != *negated),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let v = expr.eval(row);
                if v.is_null() {
                    return Value::Null;
                }
                let mut saw_null = false;
                for item in list {
                    let w = item.eval(row);
                    if w.is_null() {
                        saw_null = true;
                    } else if compare(&v, &w) == Some(Ordering::Equal) {
                        return Value::Bool(!*negated);
                    }
                }
                if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => match expr.eval(row) {
                Value::Str(s) => {
                    let chars: Vec<char> = s.chars().collect();
                    Value::Bool(like_match(pattern, &chars) != *negated)
                }
                Value::Null => Value::Null,
                other => {
                    let chars: Vec<char> = other.to_text().chars().collect();
                    Value::Bool(like_match(pattern, &chars) != *negated)
                }
            },
            Expr::Cast(e, t) => cast(e.eval(row), *t),
            Expr::Call(f, args) => call(*f, args.len(), |i| args[i].eval(row)),
            Expr::Case {
                operand,
                whens,
                otherwise,
            } => {
                let subject = operand.as_ref().map(|o| o.eval(row));
                for (when, then) in whens {
                    let w = when.eval(row);
                    let hit = match &subject {
                        Some(v) => compare(v, &w) == Some(Ordering::Equal),
                        None => w.is_true(),
                    };
                    if hit {
                        return then.eval(row);
                    }
                }
                otherwise.as_ref().map_or(Value::Null, |o| o.eval(row))
            }
            Expr::RegexpExtract(re, args) => {
                let s = args[0].eval(row);
                let group = match args.get(1).map(|g| g.eval(row)) {
                    None => 0,
                    Some(Value::Int(g)) if g >= 0 => g as usize,
                    Some(_) => return Value::Null,
                };
                if s.is_null() {
                    return Value::Null;
                }
                re.captures(&s.to_text())
                    .and_then(|c| c.get(group))
                    .map_or(Value::Null, |m| Value::Str(m.as_str().to_string()))
            }
        }
    }
}

fn binary(op: BinOp, a: &Expr, b: &Expr, row: &[Value]) -> Value {
    match op {
        BinOp::And => {
            let x = a.eval(row);
            if let Value::Bool(false) = x {
                return Value::Bool(false);
            }
            match (x, b.eval(row)) {
                (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            }
        }
        BinOp::Or => {
            let x = a.eval(row);
            if let Value::Bool(true) = x {
                return Value::Bool(true);
            }
            match (x, b.eval(row)) {
                (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            }
        }
        _ => {
            let (x, y) = (a.eval(row), b.eval(row));
            apply(op, &x, &y)
        }
    }
}

/// Applies a non-logical binary operator to two values.
pub fn apply(op: BinOp, x: &Value, y: &Value) -> Value {
    if x.is_null() || y.is_null() {
        return Value::Null;
    }
    let cmp = |f: fn(Ordering) -> bool| compare(x, y).map_or(Value::Null, |o| Value::Bool(f(o)));
    match op {
        BinOp::Eq => cmp(|o| o == Ordering::Equal),
        BinOp::NotEq => cmp(|o| o != Ordering::Equal),
        BinOp::Lt => cmp(|o| o == Ordering::Less),
        BinOp::LtEq => cmp(|o| o != Ordering::Greater),
        BinOp::Gt => cmp(|o| o == Ordering::Greater),
        BinOp::GtEq => cmp(|o| o != Ordering::Less),
        BinOp::Concat => Value::Str(format!("{}{}", x.to_text(), y.to_text())),
        BinOp::And | BinOp::Or => unreachable!("logical operators are handled in binary()"),
        _ => arithmetic(op, x, y),
    }
}

fn arithmetic(op: BinOp, x: &Value, y: &Value) -> Value {
    match (x, y) {
        (Value::Int(a), Value::Int(b)) => match op {
            BinOp::Add => Value::Int(a.wrapping_add(*b)),
            BinOp::Sub => Value::Int(a.wrapping_sub(*b)),
            BinOp::Mul => Value::Int(a.wrapping_mul(*b)),
            BinOp::Div if *b != 0 => Value::Int(a.wrapping_div(*b)),
            BinOp::Mod if *b != 0 => Value::Int(a.wrapping_rem(*b)),
            _ => Value::Null,
        },
        (Value::Ts(t), Value::Int(d)) if op == BinOp::Sub => Value::Ts(t - d),
        (Value::Ts(t), Value::Int(d)) if op == BinOp::Add => Value::Ts(t + d),
        _ => match (x.as_f64(), y.as_f64()) {
            (Some(a), Some(b)) => match op {
                BinOp::Add => Value::Float(a + b),
                BinOp::Sub => Value::Float(a - b),
                BinOp::Mul => Value::Float(a * b),
                BinOp::Div if b != 0.0 => Value::Float(a / b),
                BinOp::Mod if b != 0.0 => Value::Float(a % b),
                _ => Value::Null,
            },
            _ => Value::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: Value) -> Box<Expr> {
        Box::new(Expr::Lit(v))
    }

    #[test]
    fn like_matches_percent_and_underscore() {
        let p = compile_like("bo_k%", None);
        let e = Expr::Like {
            expr: lit(Value::Str("books and more".into())),
            pattern: p,
            negated: false,
        };
        assert!(e.eval(&[]).is_true());
        let e = Expr::Like {
            expr: lit(Value::Str("bok".into())),
            pattern: compile_like("bo_k%", None),
            negated: false,
        };
        assert!(!e.eval(&[]).is_true());
    }

    /// The recursive definition of LIKE, as the reference for the iterative matcher.
    fn like_reference(p: &[LikeToken], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(LikeToken::Any) => (0..=s.len()).any(|i| like_reference(&p[1..], &s[i..])),
            Some(LikeToken::One) => !s.is_empty() && like_reference(&p[1..], &s[1..]),
            Some(LikeToken::Lit(c)) => s.first() == Some(c) && like_reference(&p[1..], &s[1..]),
        }
    }

    proptest::proptest! {
        #[test]
        fn like_agrees_with_the_recursive_definition(
            pattern in "[ab%_]{0,8}",
            text in "[ab]{0,10}",
        ) {
            let p = compile_like(&pattern, None);
            let chars: Vec<char> = text.chars().collect();
            proptest::prop_assert_eq!(like_match(&p, &chars), like_reference(&p, &chars));
        }
    }

    /// Issue 10: a 60,000-character pattern matched recursively overflowed the processor's
    /// stack, and `%a%a%...%b` took exponential time; both finish at once now.
    #[test]
    fn like_with_a_huge_pattern_neither_overflows_nor_explodes() {
        let long = "a".repeat(60_000);
        let chars: Vec<char> = long.chars().collect();
        assert!(like_match(&compile_like(&long, None), &chars));
        let explosive = compile_like(&format!("{}%b", "%a".repeat(30)), None);
        assert!(!like_match(&explosive, &chars[..2_000]));
    }

    #[test]
    fn null_propagates_except_through_and_or() {
        let null_and_false = Expr::Binary(BinOp::And, lit(Value::Null), lit(Value::Bool(false)));
        assert_eq!(null_and_false.eval(&[]), Value::Bool(false));
        let null_or_true = Expr::Binary(BinOp::Or, lit(Value::Null), lit(Value::Bool(true)));
        assert_eq!(null_or_true.eval(&[]), Value::Bool(true));
        let null_plus = Expr::Binary(BinOp::Add, lit(Value::Null), lit(Value::Int(1)));
        assert_eq!(null_plus.eval(&[]), Value::Null);
    }

    #[test]
    fn integer_division_truncates_as_in_flink() {
        assert_eq!(
            apply(BinOp::Div, &Value::Int(7), &Value::Int(2)),
            Value::Int(3)
        );
        assert_eq!(
            apply(BinOp::Div, &Value::Float(7.0), &Value::Int(2)),
            Value::Float(3.5)
        );
        assert_eq!(
            apply(BinOp::Div, &Value::Int(7), &Value::Int(0)),
            Value::Null
        );
    }
}
