//! Expression evaluation with SQLite's semantics (three-valued logic, affinity, NULL rules).

use std::cmp::Ordering;
use std::sync::Arc;

use crate::bind::comparison_conv;
use crate::error::{Error, Result};
use crate::exec::{Ctx, SubCache, run};
use crate::keycode::encode_key_value;
use crate::plan::{BinOp, Expr, Func, SubKind, UnOp};
use crate::value::{
    Affinity, Value, apply_affinity, cast_to_integer, cast_to_real, cast_to_text, compare, hex,
    parse_whole_number, real_to_i64_saturating, to_numeric, truthy,
};

fn b(v: bool) -> Value {
    Value::Integer(i64::from(v))
}

fn opt_b(v: Option<bool>) -> Value {
    v.map(b).unwrap_or(Value::Null)
}

/// Evaluates a constant expression (no row, no parameters, no subqueries).
pub(crate) fn eval_const(e: &Expr) -> Result<Value> {
    let mut ctx = Ctx::new(None, &[]);
    eval(e, &[], &mut ctx)
}

fn arith(op: BinOp, l: &Value, r: &Value) -> Result<Value> {
    let (l, r) = (to_numeric(l), to_numeric(r));
    if l.is_null() || r.is_null() {
        return Ok(Value::Null);
    }
    if let (Value::Integer(x), Value::Integer(y)) = (&l, &r) {
        let (x, y) = (*x, *y);
        let v = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div => {
                if y == 0 {
                    return Ok(Value::Null);
                }
                x.checked_div(y)
            }
            BinOp::Rem => {
                if y == 0 {
                    return Ok(Value::Null);
                }
                Some(x.wrapping_rem(y))
            }
            _ => None,
        };
        if let Some(v) = v {
            return Ok(Value::Integer(v));
        }
    }
    let (x, y) = (l.as_f64().unwrap_or(0.0), r.as_f64().unwrap_or(0.0));
    Ok(match op {
        BinOp::Add => Value::real(x + y),
        BinOp::Sub => Value::real(x - y),
        BinOp::Mul => Value::real(x * y),
        BinOp::Div => {
            if y == 0.0 {
                Value::Null
            } else {
                Value::real(x / y)
            }
        }
        BinOp::Rem => {
            let (xi, yi) = (real_to_i64_saturating(x), real_to_i64_saturating(y));
            if yi == 0 {
                Value::Null
            } else {
                Value::real(xi.wrapping_rem(yi) as f64)
            }
        }
        _ => Value::Null,
    })
}

fn int_of(v: &Value) -> Option<i64> {
    match cast_to_integer(v) {
        Value::Integer(i) => Some(i),
        _ => None,
    }
}

/// Compares after applying comparison affinities; None when either side is NULL.
pub(crate) fn cmp_conv(l: Value, r: Value, conv: (Affinity, Affinity)) -> Option<Ordering> {
    let l = apply_affinity(l, conv.0);
    let r = apply_affinity(r, conv.1);
    if l.is_null() || r.is_null() {
        return None;
    }
    Some(compare(&l, &r))
}

fn cmp_result(op: BinOp, o: Ordering) -> bool {
    match op {
        BinOp::Eq => o == Ordering::Equal,
        BinOp::NotEq => o != Ordering::Equal,
        BinOp::Lt => o == Ordering::Less,
        BinOp::LtEq => o != Ordering::Greater,
        BinOp::Gt => o == Ordering::Greater,
        BinOp::GtEq => o != Ordering::Less,
        _ => false,
    }
}

/// SQLite's LIKE: `%` and `_`, ASCII case-insensitive, optional escape character.
pub(crate) fn like(text: &str, pattern: &str, escape: Option<char>) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let eq = |a: char, b: char| a.eq_ignore_ascii_case(&b);
    while ti < t.len() {
        if pi < p.len() {
            let c = p[pi];
            if Some(c) == escape {
                if pi + 1 < p.len() && eq(p[pi + 1], t[ti]) {
                    ti += 1;
                    pi += 2;
                    continue;
                }
            } else if c == '%' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            } else if c == '_' || eq(c, t[ti]) {
                ti += 1;
                pi += 1;
                continue;
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

fn text_of(v: &Value) -> Option<String> {
    match cast_to_text(v) {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

fn substr(v: &Value, start: i64, len: Option<i64>) -> Value {
    // SQLite's substr: 1-based; negative start counts from the end; negative length takes
    // characters before start.
    let chars: Vec<Value> = Vec::new();
    let _ = chars;
    let (is_blob, items): (bool, Vec<u8>) = match v {
        Value::Blob(b) => (true, b.clone()),
        _ => (false, Vec::new()),
    };
    let text: Vec<char> = if is_blob {
        Vec::new()
    } else {
        text_of(v).unwrap_or_default().chars().collect()
    };
    let n = if is_blob { items.len() } else { text.len() } as i64;
    let mut p1 = start;
    let mut p2 = len.unwrap_or(i64::MAX / 4);
    if p1 < 0 {
        p1 += n;
        if p1 < 0 {
            p2 += p1;
            p1 = 0;
        }
    } else if p1 > 0 {
        p1 -= 1;
    } else if p2 > 0 {
        p2 -= 1;
    }
    if p2 < 0 {
        p1 += p2;
        p2 = -p2;
        if p1 < 0 {
            p2 += p1;
            p1 = 0;
        }
    }
    let from = p1.clamp(0, n) as usize;
    let to = (p1.saturating_add(p2)).clamp(0, n) as usize;
    let to = to.max(from);
    if is_blob {
        Value::Blob(items[from..to].to_vec())
    } else {
        Value::Text(text[from..to].iter().collect())
    }
}

fn round(v: &Value, digits: i64) -> Value {
    let x = match to_numeric(v) {
        Value::Null => return Value::Null,
        Value::Integer(i) => i as f64,
        Value::Real(r) => r,
        _ => 0.0,
    };
    let d = digits.clamp(0, 30) as usize;
    if d == 0 {
        return Value::real(x.round());
    }
    let s = format!("{x:.d$}");
    Value::real(s.parse::<f64>().unwrap_or(x))
}

fn trim_with(v: &Value, chars: Option<&Value>, left: bool, right: bool) -> Value {
    let Some(s) = text_of(v) else {
        return Value::Null;
    };
    let set: Vec<char> = match chars {
        None => vec![' '],
        Some(Value::Null) => return Value::Null,
        Some(c) => text_of(c).unwrap_or_default().chars().collect(),
    };
    let mut r: &str = &s;
    if left {
        r = r.trim_start_matches(|c| set.contains(&c));
    }
    if right {
        r = r.trim_end_matches(|c| set.contains(&c));
    }
    Value::Text(r.to_string())
}

fn pseudo_random() -> i64 {
    use std::sync::atomic::{AtomicU64, Ordering as O};
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut x = STATE.fetch_add(nanos | 1, O::Relaxed) ^ nanos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x as i64
}

fn func(f: Func, a: &[Value]) -> Result<Value> {
    let arg = |i: usize| a.get(i).cloned().unwrap_or(Value::Null);
    let nullish = |i: usize| a.get(i).is_none_or(Value::is_null);
    Ok(match f {
        Func::Abs => match to_numeric(&arg(0)) {
            Value::Integer(i) => Value::Integer(
                i.checked_abs()
                    .ok_or_else(|| Error::invalid("integer overflow in abs()"))?,
            ),
            Value::Real(r) => Value::Real(r.abs()),
            other => other,
        },
        Func::Length => match arg(0) {
            Value::Null => Value::Null,
            Value::Blob(b) => Value::Integer(b.len() as i64),
            v => Value::Integer(text_of(&v).unwrap_or_default().chars().count() as i64),
        },
        Func::Upper | Func::Lower => match arg(0) {
            Value::Null => Value::Null,
            v => {
                let s = text_of(&v).unwrap_or_default();
                Value::Text(if f == Func::Upper {
                    s.to_ascii_uppercase()
                } else {
                    s.to_ascii_lowercase()
                })
            }
        },
        Func::Substr => {
            if nullish(0) || nullish(1) || (a.len() > 2 && nullish(2)) {
                Value::Null
            } else {
                let start = int_of(&arg(1)).unwrap_or(0);
                let len = if a.len() > 2 { int_of(&arg(2)) } else { None };
                substr(&arg(0), start, len)
            }
        }
        Func::Round => {
            if nullish(0) || (a.len() > 1 && nullish(1)) {
                Value::Null
            } else {
                round(
                    &arg(0),
                    if a.len() > 1 {
                        int_of(&arg(1)).unwrap_or(0)
                    } else {
                        0
                    },
                )
            }
        }
        Func::Coalesce | Func::IfNull => a
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        Func::NullIf => {
            let (x, y) = (arg(0), arg(1));
            if !x.is_null() && !y.is_null() && compare(&x, &y) == Ordering::Equal {
                Value::Null
            } else {
                x
            }
        }
        Func::TypeOf => Value::Text(arg(0).type_name().to_string()),
        Func::Min | Func::Max => {
            if a.iter().any(Value::is_null) {
                Value::Null
            } else {
                let mut best = arg(0);
                for v in a.iter().skip(1) {
                    let o = compare(v, &best);
                    if (f == Func::Min && o == Ordering::Less)
                        || (f == Func::Max && o == Ordering::Greater)
                    {
                        best = v.clone();
                    }
                }
                best
            }
        }
        Func::Trim => trim_with(&arg(0), a.get(1), true, true),
        Func::LTrim => trim_with(&arg(0), a.get(1), true, false),
        Func::RTrim => trim_with(&arg(0), a.get(1), false, true),
        Func::Replace => {
            if nullish(0) || nullish(1) || nullish(2) {
                Value::Null
            } else {
                let s = text_of(&arg(0)).unwrap_or_default();
                let from = text_of(&arg(1)).unwrap_or_default();
                let to = text_of(&arg(2)).unwrap_or_default();
                if from.is_empty() {
                    Value::Text(s)
                } else {
                    Value::Text(s.replace(&from, &to))
                }
            }
        }
        Func::Instr => {
            if nullish(0) || nullish(1) {
                Value::Null
            } else {
                let s = text_of(&arg(0)).unwrap_or_default();
                let n = text_of(&arg(1)).unwrap_or_default();
                Value::Integer(match s.find(&n) {
                    Some(p) => s[..p].chars().count() as i64 + 1,
                    None => 0,
                })
            }
        }
        Func::Hex => match arg(0) {
            Value::Blob(b) => Value::Text(hex(&b).to_ascii_uppercase()),
            Value::Null => Value::Text(String::new()),
            v => Value::Text(hex(text_of(&v).unwrap_or_default().as_bytes()).to_ascii_uppercase()),
        },
        Func::Random => Value::Integer(pseudo_random()),
        Func::Sign => match to_numeric(&arg(0)) {
            Value::Integer(i) => Value::Integer(i.signum()),
            Value::Real(r) => Value::Integer(if r > 0.0 {
                1
            } else if r < 0.0 {
                -1
            } else {
                0
            }),
            _ => Value::Null,
        },
        Func::Iif => {
            if truthy(&arg(0)) == Some(true) {
                arg(1)
            } else {
                arg(2)
            }
        }
    })
}

fn cast(v: Value, aff: Affinity) -> Value {
    match aff {
        _ if v.is_null() => Value::Null,
        Affinity::Integer => cast_to_integer(&v),
        Affinity::Real => cast_to_real(&v),
        Affinity::Text => cast_to_text(&v),
        Affinity::Blob => match v {
            Value::Blob(_) => v,
            other => Value::Blob(text_of(&other).unwrap_or_default().into_bytes()),
        },
        Affinity::Numeric => match &v {
            Value::Text(s) => match parse_whole_number(s) {
                Some(n) => apply_affinity(n, Affinity::Numeric),
                None => apply_affinity(to_numeric(&v), Affinity::Numeric),
            },
            Value::Blob(_) => apply_affinity(to_numeric(&v), Affinity::Numeric),
            _ => v,
        },
    }
}

fn sub_set(
    sub_plan: &crate::plan::Plan,
    conv: Affinity,
    ctx: &mut Ctx<'_>,
) -> Result<(Vec<Value>, bool)> {
    let mut vals = Vec::new();
    let mut has_null = false;
    run(sub_plan, ctx, &mut |_, row| {
        match row.into_iter().next() {
            Some(Value::Null) | None => has_null = true,
            Some(v) => vals.push(apply_affinity(v, conv)),
        }
        Ok(true)
    })?;
    Ok((vals, has_null))
}

/// Evaluates `e` on `row`.
pub(crate) fn eval(e: &Expr, row: &[Value], ctx: &mut Ctx<'_>) -> Result<Value> {
    Ok(match e {
        Expr::Literal(v) => v.clone(),
        Expr::Param(i) => ctx
            .params
            .get(*i)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("missing value for parameter {}", i + 1)))?,
        Expr::Column(i) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("column position {i} out of range")))?,
        Expr::Outer { depth, index } => {
            let n = ctx.outer.len();
            n.checked_sub(*depth)
                .and_then(|k| ctx.outer.get(k))
                .and_then(|r| r.get(*index))
                .cloned()
                .ok_or_else(|| Error::invalid("outer column reference out of range"))?
        }
        Expr::Unary(op, x) => {
            let v = eval(x, row, ctx)?;
            match op {
                UnOp::Plus => v,
                UnOp::Neg => match to_numeric(&v) {
                    Value::Integer(i) => match i.checked_neg() {
                        Some(n) => Value::Integer(n),
                        None => Value::Real(-(i as f64)),
                    },
                    Value::Real(r) => Value::real(-r),
                    other => other,
                },
                UnOp::Not => opt_b(truthy(&v).map(|t| !t)),
                UnOp::BitNot => match int_of(&v) {
                    Some(i) => Value::Integer(!i),
                    None => Value::Null,
                },
            }
        }
        Expr::Binary {
            op,
            left,
            right,
            conv,
        } => {
            let l = eval(left, row, ctx)?;
            let r = eval(right, row, ctx)?;
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => {
                    arith(*op, &l, &r)?
                }
                BinOp::Concat => {
                    if l.is_null() || r.is_null() {
                        Value::Null
                    } else {
                        let mut s = text_of(&l).unwrap_or_default();
                        s.push_str(&text_of(&r).unwrap_or_default());
                        Value::Text(s)
                    }
                }
                BinOp::BitAnd | BinOp::BitOr | BinOp::ShiftLeft | BinOp::ShiftRight => {
                    if l.is_null() || r.is_null() {
                        Value::Null
                    } else {
                        let (x, y) = (int_of(&l).unwrap_or(0), int_of(&r).unwrap_or(0));
                        Value::Integer(match op {
                            BinOp::BitAnd => x & y,
                            BinOp::BitOr => x | y,
                            BinOp::ShiftLeft => shift(x, y),
                            _ => shift(x, y.checked_neg().unwrap_or(i64::MAX)),
                        })
                    }
                }
                _ => opt_b(cmp_conv(l, r, *conv).map(|o| cmp_result(*op, o))),
            }
        }
        Expr::And(a, c) => {
            let l = truthy(&eval(a, row, ctx)?);
            if l == Some(false) {
                return Ok(b(false));
            }
            let r = truthy(&eval(c, row, ctx)?);
            match (l, r) {
                (_, Some(false)) => b(false),
                (Some(true), Some(true)) => b(true),
                _ => Value::Null,
            }
        }
        Expr::Or(a, c) => {
            let l = truthy(&eval(a, row, ctx)?);
            if l == Some(true) {
                return Ok(b(true));
            }
            let r = truthy(&eval(c, row, ctx)?);
            match (l, r) {
                (_, Some(true)) => b(true),
                (Some(false), Some(false)) => b(false),
                _ => Value::Null,
            }
        }
        Expr::IsNull(x, negated) => b(eval(x, row, ctx)?.is_null() != *negated),
        Expr::Is {
            left,
            right,
            negated,
            conv,
        } => {
            let l = apply_affinity(eval(left, row, ctx)?, conv.0);
            let r = apply_affinity(eval(right, row, ctx)?, conv.1);
            let same = match (l.is_null(), r.is_null()) {
                (true, true) => true,
                (false, false) => compare(&l, &r) == Ordering::Equal,
                _ => false,
            };
            b(same != *negated)
        }
        Expr::InList {
            expr,
            list,
            negated,
            aff,
        } => {
            if list.is_empty() {
                return Ok(b(*negated));
            }
            let x = eval(expr, row, ctx)?;
            if x.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            let mut found = false;
            for item in list {
                let v = eval(item, row, ctx)?;
                let conv = comparison_conv(*aff, Affinity::Blob);
                match cmp_conv(x.clone(), v, conv) {
                    None => saw_null = true,
                    Some(Ordering::Equal) => {
                        found = true;
                        break;
                    }
                    _ => {}
                }
            }
            if found {
                b(!negated)
            } else if saw_null {
                Value::Null
            } else {
                b(*negated)
            }
        }
        Expr::Sub {
            kind,
            expr,
            sub,
            negated,
            conv,
        } => {
            let cached = if sub.correlated {
                None
            } else {
                ctx.subs.get(&sub.id).cloned()
            };
            let result = match cached {
                Some(c) => c,
                None => {
                    ctx.outer.push(row.to_vec());
                    let r = (|| -> Result<SubCache> {
                        Ok(match kind {
                            SubKind::Scalar => {
                                let mut first = Value::Null;
                                run(&sub.plan, ctx, &mut |_, r| {
                                    first = r.into_iter().next().unwrap_or(Value::Null);
                                    Ok(false)
                                })?;
                                SubCache::Scalar(first)
                            }
                            SubKind::Exists => {
                                let mut any = false;
                                run(&sub.plan, ctx, &mut |_, _| {
                                    any = true;
                                    Ok(false)
                                })?;
                                SubCache::Exists(any)
                            }
                            SubKind::In => {
                                let (vals, has_null) = sub_set(&sub.plan, conv.1, ctx)?;
                                let mut keys = crate::exec::FastSet::default();
                                for v in &vals {
                                    let mut k = Vec::new();
                                    encode_key_value(v, &mut k);
                                    keys.insert(k);
                                }
                                SubCache::Set(Arc::new((keys, has_null)))
                            }
                        })
                    })();
                    ctx.outer.pop();
                    let r = r?;
                    if !sub.correlated {
                        ctx.subs.insert(sub.id, r.clone());
                    }
                    r
                }
            };
            match result {
                SubCache::Scalar(v) => v,
                SubCache::Exists(any) => b(any != *negated),
                SubCache::Set(set) => {
                    let x = match expr {
                        Some(x) => apply_affinity(eval(x, row, ctx)?, conv.0),
                        None => Value::Null,
                    };
                    if x.is_null() {
                        if set.0.is_empty() && !set.1 {
                            return Ok(b(*negated));
                        }
                        return Ok(Value::Null);
                    }
                    let mut k = Vec::new();
                    encode_key_value(&x, &mut k);
                    if set.0.contains(&k) {
                        b(!negated)
                    } else if set.1 {
                        Value::Null
                    } else {
                        b(*negated)
                    }
                }
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
            conv,
        } => {
            let x = eval(expr, row, ctx)?;
            let lo = eval(low, row, ctx)?;
            let hi = eval(high, row, ctx)?;
            let a = cmp_conv(x.clone(), lo, (conv.0, conv.1)).map(|o| o != Ordering::Less);
            let c = cmp_conv(x, hi, (conv.0, conv.2)).map(|o| o != Ordering::Greater);
            let r = match (a, c) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            opt_b(r.map(|t| t != *negated))
        }
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
            ..
        } => {
            let x = eval(expr, row, ctx)?;
            let p = eval(pattern, row, ctx)?;
            let esc = match escape {
                Some(e) => match eval(e, row, ctx)? {
                    Value::Null => return Ok(Value::Null),
                    v => {
                        let s = text_of(&v).unwrap_or_default();
                        let mut it = s.chars();
                        match (it.next(), it.next()) {
                            (Some(c), None) => Some(c),
                            _ => {
                                return Err(Error::invalid(
                                    "ESCAPE expression must be a single character",
                                ));
                            }
                        }
                    }
                },
                None => None,
            };
            match (text_of(&x), text_of(&p)) {
                (Some(t), Some(p)) => b(like(&t, &p, esc) != *negated),
                _ => Value::Null,
            }
        }
        Expr::Case {
            operand: _,
            whens,
            else_,
        } => {
            for (w, t) in whens {
                if truthy(&eval(w, row, ctx)?) == Some(true) {
                    return eval(t, row, ctx);
                }
            }
            match else_ {
                Some(x) => eval(x, row, ctx)?,
                None => Value::Null,
            }
        }
        Expr::Cast(x, aff) => cast(eval(x, row, ctx)?, *aff),
        Expr::ApplyAff(x, aff) => apply_affinity(eval(x, row, ctx)?, *aff),
        Expr::Func(f, args) => {
            if matches!(f, Func::Coalesce | Func::IfNull) {
                for a in args {
                    let v = eval(a, row, ctx)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                return Ok(Value::Null);
            }
            if *f == Func::Iif {
                let c = eval(
                    args.first()
                        .ok_or_else(|| Error::invalid("iif() needs 3 arguments"))?,
                    row,
                    ctx,
                )?;
                let pick = if truthy(&c) == Some(true) { 1 } else { 2 };
                return match args.get(pick) {
                    Some(a) => eval(a, row, ctx),
                    None => Ok(Value::Null),
                };
            }
            let vals = args
                .iter()
                .map(|a| eval(a, row, ctx))
                .collect::<Result<Vec<_>>>()?;
            func(*f, &vals)?
        }
        Expr::Agg(_) => return Err(Error::invalid("misuse of aggregate function")),
        Expr::Win(_) => return Err(Error::invalid("misuse of window function")),
    })
}

fn shift(x: i64, y: i64) -> i64 {
    if y >= 64 {
        0
    } else if y >= 0 {
        x.wrapping_shl(y as u32)
    } else if y <= -64 {
        if x < 0 { -1 } else { 0 }
    } else {
        x >> (-y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o", None));
        assert!(like("Hello", "hELLO", None));
        assert!(like("hello", "_ello", None));
        assert!(!like("hello", "_ell", None));
        assert!(like("", "%", None));
        assert!(like("a%b", "a\\%b", Some('\\')));
        assert!(!like("axb", "a\\%b", Some('\\')));
        assert!(like("abcabc", "%bc%bc", None));
        assert!(!like("abc", "%d%", None));
    }

    #[test]
    fn substr_semantics() {
        let t = Value::Text("hello".into());
        assert_eq!(substr(&t, 2, Some(3)), Value::Text("ell".into()));
        assert_eq!(substr(&t, -3, None), Value::Text("llo".into()));
        assert_eq!(substr(&t, 0, Some(2)), Value::Text("h".into()));
        assert_eq!(substr(&t, 3, Some(-2)), Value::Text("he".into()));
        assert_eq!(substr(&t, 10, Some(2)), Value::Text("".into()));
    }

    #[test]
    fn arithmetic_edges() {
        let i = Value::Integer;
        assert_eq!(arith(BinOp::Div, &i(7), &i(2)).unwrap(), i(3));
        assert_eq!(arith(BinOp::Div, &i(-7), &i(2)).unwrap(), i(-3));
        assert_eq!(arith(BinOp::Div, &i(1), &i(0)).unwrap(), Value::Null);
        assert_eq!(arith(BinOp::Rem, &i(-7), &i(3)).unwrap(), i(-1));
        assert_eq!(arith(BinOp::Rem, &i(7), &i(0)).unwrap(), Value::Null);
        assert_eq!(
            arith(BinOp::Add, &i(i64::MAX), &i(1)).unwrap(),
            Value::Real(crate::value::TWO63)
        );
        assert_eq!(
            arith(BinOp::Div, &i(i64::MIN), &i(-1)).unwrap(),
            Value::Real(crate::value::TWO63)
        );
        assert_eq!(
            arith(BinOp::Add, &Value::Text("3x".into()), &i(1)).unwrap(),
            i(4)
        );
        assert_eq!(
            arith(BinOp::Rem, &Value::Real(5.5), &i(2)).unwrap(),
            Value::Real(1.0)
        );
        assert_eq!(round(&Value::Real(2.5), 0), Value::Real(3.0));
        assert_eq!(round(&Value::Real(-2.5), 0), Value::Real(-3.0));
        assert_eq!(round(&Value::Real(1.2345), 2), Value::Real(1.23));
    }
}
