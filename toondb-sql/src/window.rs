//! Window functions: the executor of [`Plan::Window`](crate::plan::Plan::Window).
//!
//! The input rows are materialized. For each window call the rows are sorted (stably) by
//! (partition keys, order keys), cut into partitions, and the call's value is computed for
//! every row of each partition; the values are appended to the rows as extra columns.

use crate::error::{Error, Result};
use crate::eval::eval;
use crate::exec::{AggState, Ctx, Sink, finish, new_state, run, sort_rows, update};
use crate::plan::{
    AggCall, AggFunc, Expr, Frame, FrameBound, FrameUnits, Plan, SortKey, WinCall, WinFunc,
};
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
        // The lengths of the partition's peer groups, in order.
        let mut lengths = Vec::new();
        let mut g = s;
        while g < e {
            let mut h = g + 1;
            while h < e && same(&keyed[g], &keyed[h], p..p + o) {
                h += 1;
            }
            lengths.push(h - g);
            g = h;
        }
        // RANGE offsets compare the one ORDER BY value, where it is a number.
        let values: Vec<Option<f64>> = if w.frame.has_range_offset() {
            keyed[s..e].iter().map(|k| numeric(&k[p])).collect()
        } else {
            Vec::new()
        };
        let shape = Shape::new(&lengths, values, w.order.first().is_some_and(|ob| ob.desc));
        let part: Vec<&[Value]> = perm[s..e].iter().map(|&i| args[i].as_slice()).collect();
        let vals = partition_values(w, &part, &shape, ctx)?;
        for (j, v) in vals.into_iter().enumerate() {
            out[perm[s + j]] = v;
        }
        s = e;
    }
    Ok((perm, out))
}

/// A number as RANGE offsets compare it; `None` for NULL, text and blobs.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(r) => Some(*r),
        _ => None,
    }
}

/// What the frames of one partition's rows (in window order) are computed from.
struct Shape {
    /// The peer groups (rows equal under the window's ORDER BY), in order: `[start, end)`.
    groups: Vec<(usize, usize)>,
    /// Per row: the index of its peer group.
    group: Vec<usize>,
    /// For RANGE offsets: each row's ORDER BY value as a number (`None` when it is not
    /// one); empty otherwise.
    values: Vec<Option<f64>>,
    /// The rows whose value is a number (numbers sort together).
    numbers: std::ops::Range<usize>,
    /// Whether the ORDER BY is descending.
    desc: bool,
}

impl Shape {
    /// A partition whose peer groups have these lengths, in order.
    fn new(lengths: &[usize], values: Vec<Option<f64>>, desc: bool) -> Shape {
        let mut groups = Vec::with_capacity(lengths.len());
        let mut group = Vec::new();
        for &len in lengths {
            let start = group.len();
            group.extend(std::iter::repeat_n(groups.len(), len));
            groups.push((start, start + len));
        }
        let first = values.iter().position(Option::is_some).unwrap_or(0);
        let count = values[first..].iter().take_while(|x| x.is_some()).count();
        Shape {
            groups,
            group,
            values,
            numbers: first..first + count,
            desc,
        }
    }

    fn len(&self) -> usize {
        self.group.len()
    }

    /// Row `j`'s peer group, `[start, end)`.
    fn peers(&self, j: usize) -> (usize, usize) {
        self.groups[self.group[j]]
    }
}

/// The frame of row `j`, as a half-open range of positions (empty when `lo >= hi`).
fn frame_bounds(f: &Frame, j: usize, s: &Shape) -> (usize, usize) {
    let n = s.len();
    let lo = match f.start {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::UnboundedFollowing => n,
        FrameBound::CurrentRow if f.units == FrameUnits::Rows => j,
        FrameBound::CurrentRow => s.peers(j).0,
        FrameBound::Preceding(k) => offset_bound(f.units, j, -k, true, s),
        FrameBound::Following(k) => offset_bound(f.units, j, k, true, s),
    };
    let hi = match f.end {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::UnboundedFollowing => n,
        FrameBound::CurrentRow if f.units == FrameUnits::Rows => j + 1,
        FrameBound::CurrentRow => s.peers(j).1,
        FrameBound::Preceding(k) => offset_bound(f.units, j, -k, false, s),
        FrameBound::Following(k) => offset_bound(f.units, j, k, false, s),
    };
    (lo, hi.max(lo))
}

/// A frame start (`start`) or end `k` units from row `j` (negative: preceding).
fn offset_bound(units: FrameUnits, j: usize, k: f64, start: bool, s: &Shape) -> usize {
    let n = s.len();
    // Whole-number offsets (ROWS, GROUPS) as a signed count, saturating.
    let steps = k as i64;
    let moved = |from: usize, count: usize| -> Option<usize> {
        usize::try_from(from as i64 as i128 + steps as i128)
            .ok()
            .filter(|&t| t < count)
    };
    match units {
        FrameUnits::Rows => match (moved(j, n), start) {
            (Some(t), true) => t,
            (Some(t), false) => t + 1,
            (None, _) if steps < 0 => 0,
            (None, _) => n,
        },
        FrameUnits::Groups => match (moved(s.group[j], s.groups.len()), start) {
            (Some(t), true) => s.groups[t].0,
            (Some(t), false) => s.groups[t].1,
            (None, _) if steps < 0 => 0,
            (None, _) => n,
        },
        FrameUnits::Range => {
            // A NULL, text or blob value frames its peers.
            let Some(v) = s.values.get(j).copied().flatten() else {
                let (lo, hi) = s.peers(j);
                return if start { lo } else { hi };
            };
            let target = if s.desc { v - k } else { v + k };
            // In window order: does a value come before the target (for a start), or at or
            // before it (for an end)? The bound is found among the numbers.
            let before = |x: f64| match (s.desc, start) {
                (false, true) => x < target,
                (false, false) => x <= target,
                (true, true) => x > target,
                (true, false) => x >= target,
            };
            let nums = &s.values[s.numbers.clone()];
            s.numbers.start + nums.partition_point(|x| x.is_some_and(before))
        }
    }
}

/// The call's value for each row of one partition, in sorted order: `args` holds each
/// row's evaluated arguments, `shape` what its frames are computed from.
fn partition_values(
    w: &WinCall,
    args: &[&[Value]],
    shape: &Shape,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<Value>> {
    let m = args.len();
    let peers = (0..m).map(|j| shape.peers(j));
    let arg = |j: usize, k: usize| args[j].get(k).cloned().unwrap_or(Value::Null);
    let mut out = Vec::with_capacity(m);
    match w.func {
        WinFunc::RowNumber => out.extend((1..=m).map(|j| Value::Integer(j as i64))),
        WinFunc::Rank => out.extend(peers.map(|p| Value::Integer(p.0 as i64 + 1))),
        WinFunc::DenseRank => out.extend(shape.group.iter().map(|&g| Value::Integer(g as i64 + 1))),
        WinFunc::PercentRank => out.extend(peers.map(|p| {
            Value::Real(if m > 1 {
                p.0 as f64 / (m - 1) as f64
            } else {
                0.0
            })
        })),
        WinFunc::CumeDist => out.extend(peers.map(|p| Value::Real(p.1 as f64 / m as f64))),
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
            for j in 0..m {
                let (lo, hi) = frame_bounds(&w.frame, j, shape);
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
                for j in 0..m {
                    let (_, hi) = frame_bounds(&w.frame, j, shape);
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
                    let (lo, _) = frame_bounds(&w.frame, j, shape);
                    while from > lo {
                        from -= 1;
                        update(&mut st, &call, args[from], ctx)?;
                    }
                    values[j] = finish(&st)?;
                }
                out.extend(values);
            } else {
                for j in 0..m {
                    let (lo, hi) = frame_bounds(&w.frame, j, shape);
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
    use super::{Shape, frame_bounds, ntile};
    use crate::plan::{Frame, FrameBound as B, FrameUnits};

    /// A partition whose rows have these peer groups (lengths, in order) and, for RANGE,
    /// these ORDER BY values.
    struct Part {
        lengths: Vec<usize>,
        values: Vec<Option<f64>>,
    }

    impl Part {
        fn new(lengths: &[usize], values: Vec<Option<f64>>) -> Part {
            Part {
                lengths: lengths.to_vec(),
                values,
            }
        }

        fn bounds(
            &self,
            units: FrameUnits,
            start: B,
            end: B,
            desc: bool,
            j: usize,
        ) -> (usize, usize) {
            let shape = Shape::new(&self.lengths, self.values.clone(), desc);
            frame_bounds(&Frame { units, start, end }, j, &shape)
        }
    }

    #[test]
    fn rows_frames() {
        let p = Part::new(&[1, 1, 1, 1, 1], Vec::new());
        let rows = |start, end, j| p.bounds(FrameUnits::Rows, start, end, false, j);
        assert_eq!(rows(B::Preceding(1.0), B::Following(1.0), 0), (0, 2));
        assert_eq!(rows(B::Preceding(1.0), B::Following(1.0), 2), (1, 4));
        assert_eq!(rows(B::Preceding(1.0), B::Following(1.0), 4), (3, 5));
        assert_eq!(rows(B::UnboundedPreceding, B::CurrentRow, 3), (0, 4));
        assert_eq!(rows(B::CurrentRow, B::UnboundedFollowing, 3), (3, 5));
        // Empty frames: wholly before or after the partition, or reversed.
        assert_eq!(rows(B::Preceding(1.0), B::Preceding(2.0), 3), (2, 2));
        assert_eq!(rows(B::Preceding(5.0), B::Preceding(3.0), 1), (0, 0));
        assert_eq!(rows(B::Following(3.0), B::Following(9.0), 3), (5, 5));
        // Huge offsets saturate.
        assert_eq!(rows(B::Preceding(9.2e18), B::Following(9.2e18), 2), (0, 5));
    }

    #[test]
    fn range_frames_without_offsets_use_peers() {
        let p = Part::new(&[1, 2, 2], Vec::new());
        let range = |start, end, j| p.bounds(FrameUnits::Range, start, end, false, j);
        assert_eq!(range(B::UnboundedPreceding, B::CurrentRow, 1), (0, 3));
        assert_eq!(range(B::CurrentRow, B::CurrentRow, 2), (1, 3));
        assert_eq!(range(B::CurrentRow, B::UnboundedFollowing, 2), (1, 5));
    }

    #[test]
    fn groups_frames_count_peer_groups() {
        // Groups: [0], [1, 2], [3], [4, 5, 6].
        let p = Part::new(&[1, 2, 1, 3], Vec::new());
        let groups = |start, end, j| p.bounds(FrameUnits::Groups, start, end, false, j);
        assert_eq!(groups(B::Preceding(1.0), B::Following(1.0), 1), (0, 4));
        assert_eq!(groups(B::Preceding(1.0), B::Following(1.0), 3), (1, 7));
        assert_eq!(groups(B::CurrentRow, B::Following(5.0), 2), (1, 7));
        assert_eq!(groups(B::Preceding(9.0), B::Preceding(1.0), 4), (0, 4));
        assert_eq!(groups(B::Following(1.0), B::Following(2.0), 0), (1, 4));
        assert_eq!(groups(B::Following(1.0), B::Following(2.0), 6), (7, 7));
        assert_eq!(groups(B::Preceding(2.0), B::Preceding(1.0), 0), (0, 0));
    }

    #[test]
    fn range_offsets_compare_numbers() {
        // Window order: NULL, NULL, 1, 2, 2, 4.5, 7, then a text value (not a number).
        let v = vec![
            None,
            None,
            Some(1.0),
            Some(2.0),
            Some(2.0),
            Some(4.5),
            Some(7.0),
            None,
        ];
        let p = Part::new(&[2, 1, 2, 1, 1, 1], v);
        let range = |start, end, j| p.bounds(FrameUnits::Range, start, end, false, j);
        assert_eq!(range(B::Preceding(1.0), B::Following(1.0), 2), (2, 5));
        assert_eq!(range(B::Preceding(1.0), B::Following(1.0), 5), (5, 6));
        assert_eq!(range(B::CurrentRow, B::Following(2.5), 5), (5, 7));
        assert_eq!(range(B::Preceding(2.0), B::CurrentRow, 3), (2, 5));
        // NULL and text values frame their peers.
        assert_eq!(range(B::Preceding(1.0), B::Following(1.0), 0), (0, 2));
        assert_eq!(range(B::Preceding(1.0), B::Following(1.0), 7), (7, 8));
        // Descending: 7, 4.5, 2, 2, 1.
        let v = vec![Some(7.0), Some(4.5), Some(2.0), Some(2.0), Some(1.0)];
        let p = Part::new(&[1, 1, 2, 1], v);
        let desc = |start, end, j| p.bounds(FrameUnits::Range, start, end, true, j);
        assert_eq!(desc(B::Preceding(1.0), B::Following(0.5), 2), (2, 4));
        assert_eq!(desc(B::Preceding(1.0), B::Following(0.5), 4), (2, 5));
        assert_eq!(desc(B::Following(3.0), B::UnboundedFollowing, 0), (2, 5));
        assert_eq!(desc(B::Following(2.5), B::UnboundedFollowing, 0), (1, 5));
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
