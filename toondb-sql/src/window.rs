//! Window functions: the executor of [`Plan::Window`](crate::plan::Plan::Window).
//!
//! The input rows are materialized. For each window call the rows are sorted (stably) by
//! (partition keys, order keys), cut into partitions, and the call's value is computed for
//! every row of each partition; the values are appended to the rows as extra columns.

use crate::error::{Error, Result};
use crate::eval::eval;
use crate::exec::{AggState, Ctx, Sink, finish, new_state, run, sort_rows, update};
use crate::plan::{AggCall, AggFunc, Expr, FrameBound, Plan, SortKey, WinCall, WinFunc};
use crate::value::{Value, compare, real_to_i64_saturating, to_numeric};

/// Runs `input`, computes each of `wins` over its rows (each `width` wide) and pushes the
/// rows, extended by one value per call, in the order of the last call's sort.
pub(crate) fn window(
    input: &Plan,
    wins: &[WinCall],
    width: usize,
    ctx: &mut Ctx<'_>,
    sink: &mut Sink<'_>,
) -> Result<bool> {
    let mut rows: Vec<Vec<Value>> = Vec::new();
    run(input, ctx, &mut |_, mut r| {
        r.resize(width, Value::Null);
        rows.push(r);
        Ok(true)
    })?;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(wins.len()); rows.len()];
    for w in wins {
        let (perm, out) = compute(w, &rows, ctx)?;
        for (v, o) in values.iter_mut().zip(out) {
            v.push(o);
        }
        order = perm;
    }
    for i in order {
        let mut row = std::mem::take(&mut rows[i]);
        row.append(&mut values[i]);
        if !sink(ctx, row)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// An integer argument as SQLite's `sqlite3_value_int64` reads it (NULL stays None).
fn int_arg(v: &Value) -> Option<i64> {
    match to_numeric(v) {
        Value::Null => None,
        Value::Integer(i) => Some(i),
        Value::Real(r) => Some(real_to_i64_saturating(r)),
        _ => Some(0),
    }
}

/// Computes one window call: the rows' sorted order and each row's value (by row index).
fn compute(
    w: &WinCall,
    rows: &[Vec<Value>],
    ctx: &mut Ctx<'_>,
) -> Result<(Vec<usize>, Vec<Value>)> {
    let n = rows.len();
    let (p, o) = (w.partition.len(), w.order.len());
    // Sort keys: partition values, order values, then the row index (not compared).
    let mut keyed: Vec<Vec<Value>> = Vec::with_capacity(n);
    let mut args: Vec<Vec<Value>> = Vec::with_capacity(n);
    for (i, r) in rows.iter().enumerate() {
        let mut k = Vec::with_capacity(p + o + 1);
        for e in &w.partition {
            k.push(eval(e, r, ctx)?);
        }
        for ob in &w.order {
            k.push(eval(&ob.expr, r, ctx)?);
        }
        k.push(Value::Integer(i as i64));
        keyed.push(k);
        // The arguments, then the FILTER condition's value.
        args.push(
            w.args
                .iter()
                .chain(&w.filter)
                .map(|e| eval(e, r, ctx))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    let keys: Vec<SortKey> = (0..p)
        .map(|col| SortKey {
            col,
            desc: false,
            nulls_first: None,
        })
        .chain(w.order.iter().enumerate().map(|(j, ob)| SortKey {
            col: p + j,
            desc: ob.desc,
            nulls_first: ob.nulls_first,
        }))
        .collect();
    sort_rows(&mut keyed, &keys);
    let same = |a: &[Value], b: &[Value], cols: std::ops::Range<usize>| {
        cols.into_iter()
            .all(|c| compare(&a[c], &b[c]) == std::cmp::Ordering::Equal)
    };
    let perm: Vec<usize> = keyed
        .iter()
        .map(|k| match k.last() {
            Some(Value::Integer(i)) => *i as usize,
            _ => 0,
        })
        .collect();
    let mut out = vec![Value::Null; n];
    let mut s = 0;
    while s < n {
        let mut e = s + 1;
        while e < n && same(&keyed[s], &keyed[e], 0..p) {
            e += 1;
        }
        // Peer groups of the partition, as [start, end) positions relative to `s`.
        let mut peers: Vec<(usize, usize)> = Vec::with_capacity(e - s);
        let mut group: Vec<usize> = Vec::with_capacity(e - s);
        let mut g = s;
        let mut ng = 0;
        while g < e {
            let mut h = g + 1;
            while h < e && same(&keyed[g], &keyed[h], p..p + o) {
                h += 1;
            }
            ng += 1;
            for _ in g..h {
                peers.push((g - s, h - s));
                group.push(ng);
            }
            g = h;
        }
        let part: Vec<&[Value]> = perm[s..e].iter().map(|&i| args[i].as_slice()).collect();
        let vals = partition_values(w, &part, &peers, &group, ctx)?;
        for (j, v) in vals.into_iter().enumerate() {
            out[perm[s + j]] = v;
        }
        s = e;
    }
    Ok((perm, out))
}

/// The call's value for each row of one partition, in sorted order: `args` holds each
/// row's evaluated arguments, `peers` its peer group and `group` that group's number.
fn partition_values(
    w: &WinCall,
    args: &[&[Value]],
    peers: &[(usize, usize)],
    group: &[usize],
    ctx: &mut Ctx<'_>,
) -> Result<Vec<Value>> {
    let m = args.len();
    let arg = |j: usize, k: usize| args[j].get(k).cloned().unwrap_or(Value::Null);
    let mut out = Vec::with_capacity(m);
    match w.func {
        WinFunc::RowNumber => out.extend((1..=m).map(|j| Value::Integer(j as i64))),
        WinFunc::Rank => out.extend(peers.iter().map(|p| Value::Integer(p.0 as i64 + 1))),
        WinFunc::DenseRank => out.extend(group.iter().map(|&g| Value::Integer(g as i64))),
        WinFunc::PercentRank => out.extend(peers.iter().map(|p| {
            Value::Real(if m > 1 {
                p.0 as f64 / (m - 1) as f64
            } else {
                0.0
            })
        })),
        WinFunc::CumeDist => out.extend(peers.iter().map(|p| Value::Real(p.1 as f64 / m as f64))),
        WinFunc::Ntile => {
            let buckets = int_arg(&arg(0, 0)).unwrap_or(0);
            if buckets <= 0 {
                return Err(Error::invalid(
                    "argument of ntile must be a positive integer",
                ));
            }
            for j in 0..m {
                out.push(Value::Integer(ntile(j, m, buckets as u64) as i64));
            }
        }
        WinFunc::Lag | WinFunc::Lead => {
            for (j, row) in args.iter().enumerate() {
                let off = if row.len() > 1 {
                    int_arg(&arg(j, 1))
                } else {
                    Some(1)
                };
                let Some(off) = off else {
                    out.push(Value::Null);
                    continue;
                };
                let off = if w.func == WinFunc::Lag {
                    off.checked_neg().unwrap_or(i64::MAX)
                } else {
                    off
                };
                let target = (j as i64)
                    .checked_add(off)
                    .filter(|t| (0..m as i64).contains(t));
                out.push(match target {
                    Some(t) => arg(t as usize, 0),
                    None => arg(j, 2),
                });
            }
        }
        WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => {
            for (j, &pg) in peers.iter().enumerate() {
                let (lo, hi) = w.frame.bounds(j, m, pg);
                let at = match w.func {
                    WinFunc::FirstValue => Some(lo),
                    WinFunc::LastValue => hi.checked_sub(1),
                    _ => {
                        let k = match to_numeric(&arg(j, 1)) {
                            Value::Integer(k) if k > 0 => k as u64,
                            Value::Real(r) if r > 0.0 && r.fract() == 0.0 && r < 9.2e18 => r as u64,
                            _ => {
                                return Err(Error::invalid(
                                    "second argument to nth_value must be a positive integer",
                                ));
                            }
                        };
                        usize::try_from(k - 1).ok().and_then(|k| lo.checked_add(k))
                    }
                };
                out.push(match at {
                    Some(a) if a >= lo && a < hi => arg(a, 0),
                    _ => Value::Null,
                });
            }
        }
        WinFunc::Agg(func) => {
            let call = AggCall {
                func,
                arg: (func != AggFunc::CountStar).then_some(Expr::Column(0)),
                distinct: false,
                separator: (func == AggFunc::GroupConcat && w.args.len() > 1)
                    .then_some(Expr::Column(1)),
                // Evaluated after the arguments (see `compute`).
                filter: w.filter.as_ref().map(|_| Expr::Column(w.args.len())),
            };
            if w.frame.start == FrameBound::UnboundedPreceding {
                // The frame only grows: one running state.
                let mut st: AggState = new_state(&call);
                let mut upto = 0;
                for (j, &pg) in peers.iter().enumerate() {
                    let (_, hi) = w.frame.bounds(j, m, pg);
                    while upto < hi {
                        update(&mut st, &call, args[upto], ctx)?;
                        upto += 1;
                    }
                    out.push(finish(&st)?);
                }
            } else if w.frame.end == FrameBound::UnboundedFollowing && func != AggFunc::GroupConcat
            {
                // The frame runs to the partition's end and its start never moves back,
                // so walked from the last row up it only grows: one running state, fed
                // backwards (group_concat alone depends on the order it is fed in).
                let mut st: AggState = new_state(&call);
                let mut from = m;
                let mut values = vec![Value::Null; m];
                for j in (0..m).rev() {
                    let (lo, _) = w.frame.bounds(j, m, peers[j]);
                    while from > lo {
                        from -= 1;
                        update(&mut st, &call, args[from], ctx)?;
                    }
                    values[j] = finish(&st)?;
                }
                out.extend(values);
            } else {
                for (j, &pg) in peers.iter().enumerate() {
                    let (lo, hi) = w.frame.bounds(j, m, pg);
                    let mut st = new_state(&call);
                    for a in &args[lo..hi] {
                        update(&mut st, &call, a, ctx)?;
                    }
                    out.push(finish(&st)?);
                }
            }
        }
    }
    Ok(out)
}

/// The bucket (from 1) of row `j` of `m` rows split into `buckets` as SQLite's ntile()
/// splits them: the first `m % buckets` buckets get one row more than the others.
fn ntile(j: usize, m: usize, buckets: u64) -> u64 {
    let (j, m) = (j as u64, m as u64);
    let size = m / buckets;
    let large = m % buckets;
    if j < large * (size + 1) {
        j / (size + 1) + 1
    } else {
        (j - large * (size + 1)) / size.max(1) + 1 + large
    }
}

#[cfg(test)]
mod tests {
    use super::ntile;
    use crate::plan::{Frame, FrameBound as B};

    fn rows(start: B, end: B) -> Frame {
        Frame {
            rows: true,
            start,
            end,
        }
    }

    #[test]
    fn rows_frames() {
        let f = rows(B::Preceding(1), B::Following(1));
        assert_eq!(f.bounds(0, 5, (0, 5)), (0, 2));
        assert_eq!(f.bounds(2, 5, (0, 5)), (1, 4));
        assert_eq!(f.bounds(4, 5, (0, 5)), (3, 5));
        let f = rows(B::UnboundedPreceding, B::CurrentRow);
        assert_eq!(f.bounds(3, 5, (0, 5)), (0, 4));
        let f = rows(B::CurrentRow, B::UnboundedFollowing);
        assert_eq!(f.bounds(3, 5, (0, 5)), (3, 5));
        // Empty frames: wholly before or after the partition, or reversed.
        let f = rows(B::Preceding(1), B::Preceding(2));
        assert_eq!(f.bounds(3, 5, (0, 5)), (2, 2));
        let f = rows(B::Preceding(5), B::Preceding(3));
        assert_eq!(f.bounds(1, 5, (0, 5)), (0, 0));
        let f = rows(B::Following(3), B::Following(9));
        assert_eq!(f.bounds(3, 5, (0, 5)), (5, 5));
        // Huge offsets saturate.
        let f = rows(B::Preceding(u64::MAX), B::Following(u64::MAX));
        assert_eq!(f.bounds(2, 5, (0, 5)), (0, 5));
    }

    #[test]
    fn range_frames_use_peers() {
        let f = Frame::DEFAULT;
        assert_eq!(f.bounds(1, 5, (1, 3)), (0, 3));
        let f = Frame {
            rows: false,
            start: B::CurrentRow,
            end: B::CurrentRow,
        };
        assert_eq!(f.bounds(2, 5, (1, 3)), (1, 3));
        let f = Frame {
            rows: false,
            start: B::CurrentRow,
            end: B::UnboundedFollowing,
        };
        assert_eq!(f.bounds(2, 5, (1, 3)), (1, 5));
    }

    #[test]
    fn ntile_buckets() {
        let b: Vec<u64> = (0..5).map(|j| ntile(j, 5, 2)).collect();
        assert_eq!(b, [1, 1, 1, 2, 2]);
        let b: Vec<u64> = (0..3).map(|j| ntile(j, 3, 5)).collect();
        assert_eq!(b, [1, 2, 3]);
        let b: Vec<u64> = (0..7).map(|j| ntile(j, 7, 3)).collect();
        assert_eq!(b, [1, 1, 1, 2, 2, 3, 3]);
    }
}
