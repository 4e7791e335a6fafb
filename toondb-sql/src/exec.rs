//! The executor: push-based plan evaluation over storage, and DML/DDL writes.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use crate::bind::Conflict;
use crate::catalog::{Index, Table};
use crate::error::{Error, Result};
use crate::eval::eval;
use crate::keycode::{
    TAG_NULL, TAG_NUM, decode_row, decode_row_cols, encode_key, encode_key_value, encode_row,
    prefix_successor,
};
use crate::kv::StmtKv;
use crate::plan::{Access, AggCall, AggFunc, Expr, JoinKind, Plan, SetOp, SortKey};
use crate::value::{Affinity, Value, apply_affinity, compare, to_numeric, truthy};

/// Hash map and set for the executor's encoded keys: foldhash instead of SipHash (the keys
/// are our own encodings; a join or GROUP BY hashes one per row).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Key prefix of table rows: `0x03` + table id (big-endian u32).
pub(crate) fn table_prefix(id: u32) -> Vec<u8> {
    key_with_prefix(0x03, id)
}

/// A key buffer that starts with `tag` and `id`, with room for the rest of a typical key
/// (so that appending to it does not reallocate).
fn key_with_prefix(tag: u8, id: u32) -> Vec<u8> {
    let mut p = Vec::with_capacity(64);
    p.push(tag);
    p.extend_from_slice(&id.to_be_bytes());
    p
}

/// Key prefix of index entries: `0x04` + index id (big-endian u32).
pub(crate) fn index_prefix(id: u32) -> Vec<u8> {
    key_with_prefix(0x04, id)
}

/// A cached result of an uncorrelated subquery.
#[derive(Clone)]
pub(crate) enum SubCache {
    Scalar(Value),
    Exists(bool),
    Set(Arc<(FastSet<Vec<u8>>, bool)>),
}

/// Execution context of one statement.
pub(crate) struct Ctx<'a> {
    pub(crate) kv: Option<&'a StmtKv<'a>>,
    pub(crate) params: &'a [Value],
    pub(crate) outer: Vec<Vec<Value>>,
    pub(crate) subs: HashMap<usize, SubCache>,
    /// The storage key of the row most recently produced by a Scan.
    pub(crate) current_key: Vec<u8>,
    /// The current row of each recursive CTE's work table, by id.
    pub(crate) work: HashMap<usize, Vec<Value>>,
    /// The most rows one recursive CTE may produce ([`MAX_RECURSIVE_ROWS`]).
    pub(crate) recursive_limit: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(kv: Option<&'a StmtKv<'a>>, params: &'a [Value]) -> Self {
        Ctx {
            kv,
            params,
            outer: Vec::new(),
            subs: HashMap::new(),
            current_key: Vec::new(),
            work: HashMap::new(),
            recursive_limit: MAX_RECURSIVE_ROWS,
        }
    }
}

/// End of a hash-join chain.
const END: usize = usize::MAX;

/// The build side of a hash join: per join key, the first and last right row with that
/// key (the rows in between are chained through a `next` array, in input order).
enum JoinHeads {
    /// One join key whose values so far are all integers (or integral reals): hashed as
    /// `i64`, with no encoding and no key allocation.
    Int(FastMap<i64, (usize, usize)>),
    /// The general case: keys in their order-preserving encoding, under which equal SQL
    /// values (such as `1` and `1.0`) encode equally.
    Encoded(FastMap<Vec<u8>, (usize, usize)>),
}

/// The integer a key value equals, if any: SQL compares `2` and `2.0` as equal.
fn int_key(v: &Value) -> Option<i64> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    match v {
        Value::Integer(i) => Some(*i),
        Value::Real(r) if r.fract() == 0.0 && *r >= -LIMIT && *r < LIMIT => Some(*r as i64),
        _ => None,
    }
}

impl JoinHeads {
    fn new(single_key: bool) -> JoinHeads {
        if single_key {
            JoinHeads::Int(FastMap::default())
        } else {
            JoinHeads::Encoded(FastMap::default())
        }
    }

    fn is_int(&self) -> bool {
        matches!(self, JoinHeads::Int(_))
    }

    fn reserve(&mut self, n: usize) {
        match self {
            JoinHeads::Int(m) => m.reserve(n),
            JoinHeads::Encoded(m) => m.reserve(n),
        }
    }

    /// Appends right row `i` to the chain of its key: `key` is the (single) key value,
    /// `encoded` the encoding of the whole key.
    fn link(&mut self, key: &Value, encoded: &[u8], i: usize, next: &mut [usize]) {
        let int = int_key(key);
        if let JoinHeads::Int(m) = self
            && int.is_none()
        {
            // A text, blob or fractional key: switch to encoded keys for good.
            let mut enc = FastMap::default();
            enc.reserve(next.len());
            for (x, chain) in m.drain() {
                let mut k = Vec::new();
                encode_key_value(&Value::Integer(x), &mut k);
                enc.insert(k, chain);
            }
            *self = JoinHeads::Encoded(enc);
        }
        let mut append = |(_, last): &mut (usize, usize)| {
            next[*last] = i;
            *last = i;
        };
        match self {
            JoinHeads::Int(m) => {
                m.entry(int.unwrap_or_default())
                    .and_modify(append)
                    .or_insert((i, i));
            }
            // `get_mut` first: an entry would need the key owned even when it is present.
            JoinHeads::Encoded(m) => match m.get_mut(encoded) {
                Some(slot) => append(slot),
                None => {
                    m.insert(encoded.to_vec(), (i, i));
                }
            },
        }
    }

    /// The first right row whose key equals the left row's (`key`, or `encoded` for the
    /// general case), or [`END`].
    fn first(&self, key: &Value, encoded: &[u8]) -> usize {
        let found = match self {
            JoinHeads::Int(m) => int_key(key).and_then(|x| m.get(&x)),
            JoinHeads::Encoded(m) => m.get(encoded),
        };
        found.map_or(END, |&(first, _)| first)
    }
}

/// Where rows go: returns Ok(false) to stop the producer.
pub(crate) type Sink<'s> = dyn FnMut(&mut Ctx<'_>, Vec<Value>) -> Result<bool> + 's;

fn pad_row(mut row: Vec<Value>, table: &Table) -> Vec<Value> {
    let n = table.columns.len();
    if row.len() > n {
        row.truncate(n);
    }
    while row.len() < n {
        let c = &table.columns[row.len()];
        row.push(c.default.clone().unwrap_or(Value::Null));
    }
    row
}

fn key_values(exprs: &[Expr], ctx: &mut Ctx<'_>) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    for e in exprs {
        let v = eval(e, &[], ctx)?;
        if v.is_null() {
            return Ok(None);
        }
        encode_key_value(&v, &mut out);
    }
    Ok(Some(out))
}

type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Computes the storage range for an access path; None when it is provably empty.
fn access_ranges(
    access: &Access,
    prefix: &[u8],
    ctx: &mut Ctx<'_>,
) -> Result<Option<Vec<KeyRange>>> {
    let end_of = |p: &[u8]| match prefix_successor(p) {
        Some(s) => Bound::Excluded(s),
        None => Bound::Unbounded,
    };
    match access {
        Access::Full => Ok(Some(vec![(
            Bound::Included(prefix.to_vec()),
            end_of(prefix),
        )])),
        Access::Range {
            eq, lower, upper, ..
        } => {
            let mut p = prefix.to_vec();
            match key_values(eq, ctx)? {
                Some(k) => p.extend_from_slice(&k),
                None => return Ok(None),
            }
            let lo = match lower {
                None if upper.is_none() => Bound::Included(p.clone()),
                // Only an upper bound: start above the NULLs, which compare to nothing,
                // so that the range enforces `col < x` exactly.
                None => {
                    let mut k = p.clone();
                    k.push(TAG_NULL);
                    match prefix_successor(&k) {
                        Some(s) => Bound::Included(s),
                        None => return Ok(None),
                    }
                }
                Some((e, inclusive)) => {
                    let v = eval(e, &[], ctx)?;
                    if v.is_null() {
                        return Ok(None);
                    }
                    let mut k = p.clone();
                    encode_key_value(&v, &mut k);
                    if *inclusive {
                        Bound::Included(k)
                    } else {
                        match prefix_successor(&k) {
                            Some(s) => Bound::Included(s),
                            None => return Ok(None),
                        }
                    }
                }
            };
            let hi = match upper {
                None => end_of(&p),
                Some((e, inclusive)) => {
                    let v = eval(e, &[], ctx)?;
                    if v.is_null() {
                        return Ok(None);
                    }
                    let mut k = p.clone();
                    encode_key_value(&v, &mut k);
                    if *inclusive {
                        end_of(&k)
                    } else {
                        Bound::Excluded(k)
                    }
                }
            };
            Ok(Some(vec![(lo, hi)]))
        }
        Access::InList { values, .. } => {
            let mut keys = BTreeMap::new();
            for e in values {
                let v = eval(e, &[], ctx)?;
                if v.is_null() {
                    continue;
                }
                let mut k = prefix.to_vec();
                encode_key_value(&v, &mut k);
                keys.insert(k, ());
            }
            Ok(Some(
                keys.into_keys()
                    .map(|k| {
                        let hi = end_of(&k);
                        (Bound::Included(k), hi)
                    })
                    .collect(),
            ))
        }
    }
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn scan(
    table: &Arc<Table>,
    access: &Access,
    filter: &Option<Expr>,
    needed: Option<&[bool]>,
    ctx: &mut Ctx<'_>,
    sink: &mut Sink<'_>,
) -> Result<bool> {
    let decode = |v: &[u8]| decode_row_cols(v, needed);
    // Reading an index for a query that uses none of the columns (`count(*)` over a
    // range): the index entries alone say which rows there are.
    let index_only = needed.is_some_and(|n| !n.contains(&true));
    let kv = ctx
        .kv
        .ok_or_else(|| Error::invalid("table access in a constant expression"))?;
    let tprefix = table_prefix(table.id);
    let index = match access {
        Access::Range { index, .. } | Access::InList { index, .. } => *index,
        Access::Full => None,
    };
    let ix: Option<&Index> = index.and_then(|i| table.indexes.get(i));
    let range_prefix = match ix {
        Some(ix) => index_prefix(ix.id),
        None => tprefix.clone(),
    };
    // Equality on the whole primary key: one point read instead of a range scan.
    if let Access::Range {
        index: None,
        eq,
        lower: None,
        upper: None,
    } = access
        && !table.pk.is_empty()
        && eq.len() == table.pk.len()
    {
        let Some(k) = key_values(eq, ctx)? else {
            return Ok(true);
        };
        let mut key = tprefix;
        key.extend_from_slice(&k);
        let Some(row) = kv.get_with(&key, decode)? else {
            return Ok(true);
        };
        let row = pad_row(row?, table);
        if let Some(f) = filter
            && truthy(&eval(f, &row, ctx)?) != Some(true)
        {
            return Ok(true);
        }
        ctx.current_key = key;
        return sink(ctx, row);
    }
    let Some(ranges) = access_ranges(access, &range_prefix, ctx)? else {
        return Ok(true);
    };
    let mut row_key = tprefix.clone();
    for (lo, hi) in ranges {
        let go_on = kv.scan_with(as_ref_bound(&lo), as_ref_bound(&hi), false, |k, v| {
            let row = match ix {
                None => {
                    row_key.clear();
                    row_key.extend_from_slice(k);
                    decode(v)?
                }
                Some(_) => {
                    row_key.truncate(tprefix.len());
                    row_key.extend_from_slice(v);
                    if index_only {
                        vec![Value::Null; table.columns.len()]
                    } else {
                        match kv.get_with(&row_key, decode)? {
                            Some(row) => row?,
                            None => {
                                return Err(Error::Corrupt {
                                    message: format!(
                                        "index entry of {} points at a missing row",
                                        table.name
                                    ),
                                });
                            }
                        }
                    }
                }
            };
            let row = pad_row(row, table);
            if let Some(f) = filter
                && truthy(&eval(f, &row, ctx)?) != Some(true)
            {
                return Ok(true);
            }
            ctx.current_key.clear();
            ctx.current_key.extend_from_slice(&row_key);
            sink(ctx, row)
        })?;
        if !go_on {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs a plan, pushing each output row into `sink`. Returns false when the sink stopped.
pub(crate) fn run(plan: &Plan, ctx: &mut Ctx<'_>, sink: &mut Sink<'_>) -> Result<bool> {
    match plan {
        Plan::Scan {
            table,
            access,
            filter,
            needed,
            ..
        } => scan(table, access, filter, needed.as_deref(), ctx, sink),
        Plan::Values { rows } => {
            for r in rows {
                let row = r
                    .iter()
                    .map(|e| eval(e, &[], ctx))
                    .collect::<Result<Vec<_>>>()?;
                if !sink(ctx, row)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Plan::Filter { input, pred } => run(input, ctx, &mut |ctx, row| {
            // Subqueries in the predicate run scans of their own: keep this row's key.
            let key = std::mem::take(&mut ctx.current_key);
            let keep = truthy(&eval(pred, &row, ctx)?) == Some(true);
            ctx.current_key = key;
            if keep { sink(ctx, row) } else { Ok(true) }
        }),
        Plan::Project { input, exprs } => run(input, ctx, &mut |ctx, row| {
            let out = exprs
                .iter()
                .map(|e| eval(e, &row, ctx))
                .collect::<Result<Vec<_>>>()?;
            sink(ctx, out)
        }),
        Plan::Join {
            left,
            right,
            kind,
            keys,
            on,
            right_width,
        } => {
            // The right rows, one after another in one vector (`right_width` values each):
            // a probe then reads one allocation instead of chasing a pointer per row.
            let width = *right_width;
            let mut rflat: Vec<Value> = Vec::new();
            let mut rcount = 0;
            run(right, ctx, &mut |_, mut r| {
                debug_assert_eq!(r.len(), width, "a join input row of the wrong width");
                r.resize(width, Value::Null);
                rflat.append(&mut r);
                rcount += 1;
                Ok(true)
            })?;
            let rrow = |i: usize| &rflat[i * width..(i + 1) * width];
            // Right rows by join key, as chains through `next` in input order (no
            // allocation per distinct key).
            let mut next = vec![END; if keys.is_empty() { 0 } else { rcount }];
            let mut heads = JoinHeads::new(keys.len() == 1);
            let mut k = Vec::new();
            if !keys.is_empty() {
                heads.reserve(rcount);
                'rows: for i in 0..rcount {
                    let r = rrow(i);
                    k.clear();
                    let mut key = Value::Null;
                    for (_, re, conv) in keys {
                        key = apply_affinity(eval(re, r, ctx)?, conv.1);
                        if key.is_null() {
                            continue 'rows;
                        }
                        encode_key_value(&key, &mut k);
                    }
                    heads.link(&key, &k, i, &mut next);
                }
            }
            let nulls = vec![Value::Null; *right_width];
            run(left, ctx, &mut |ctx, mut l| {
                // The candidate right rows: all of them without equi-join keys, else the
                // chain of the left row's key (none for a NULL key).
                let mut cand = if keys.is_empty() {
                    if rcount == 0 { END } else { 0 }
                } else {
                    k.clear();
                    let mut key = Value::Null;
                    for (le, _, conv) in keys {
                        key = apply_affinity(eval(le, &l, ctx)?, conv.0);
                        if key.is_null() {
                            break;
                        }
                        if !heads.is_int() {
                            encode_key_value(&key, &mut k);
                        }
                    }
                    if key.is_null() {
                        END
                    } else {
                        heads.first(&key, &k)
                    }
                };
                let step = |i: usize| {
                    if keys.is_empty() {
                        if i + 1 < rcount { i + 1 } else { END }
                    } else {
                        next[i]
                    }
                };
                let mut matched = false;
                while cand != END {
                    let i = cand;
                    cand = step(i);
                    // The last candidate, when no ON condition can reject it, takes the left
                    // row itself instead of a copy (the common one-match case).
                    let mut row = if cand == END && on.is_none() {
                        let mut row = std::mem::take(&mut l);
                        row.reserve(width);
                        row
                    } else {
                        let mut row = Vec::with_capacity(l.len() + width);
                        row.extend_from_slice(&l);
                        row
                    };
                    row.extend_from_slice(rrow(i));
                    if let Some(on) = on
                        && truthy(&eval(on, &row, ctx)?) != Some(true)
                    {
                        continue;
                    }
                    matched = true;
                    if !sink(ctx, row)? {
                        return Ok(false);
                    }
                }
                if !matched && *kind == JoinKind::Left {
                    let mut row = l;
                    row.extend_from_slice(&nulls);
                    return sink(ctx, row);
                }
                Ok(true)
            })
        }
        Plan::Aggregate {
            input,
            group,
            aggs,
            input_width,
        } => aggregate(input, group, aggs, *input_width, ctx, sink),
        Plan::Window {
            input,
            wins,
            input_width,
        } => crate::window::window(input, wins, *input_width, ctx, sink),
        Plan::Sort { input, keys } => {
            let mut rows = Vec::new();
            run(input, ctx, &mut |_, r| {
                rows.push(r);
                Ok(true)
            })?;
            sort_rows(&mut rows, keys);
            for r in rows {
                if !sink(ctx, r)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Plan::Distinct { input, width } => {
            let mut seen = FastSet::default();
            run(input, ctx, &mut |ctx, r| {
                let mut k = Vec::new();
                encode_key(&r[..(*width).min(r.len())], &mut k);
                if seen.insert(k) {
                    sink(ctx, r)
                } else {
                    Ok(true)
                }
            })
        }
        Plan::Limit {
            input,
            limit,
            offset,
        } => {
            let lim = match limit {
                Some(e) => limit_value(e, ctx, "LIMIT")?,
                None => -1,
            };
            let off = match offset {
                Some(e) => limit_value(e, ctx, "OFFSET")?.max(0),
                None => 0,
            };
            if lim == 0 {
                return Ok(true);
            }
            let mut skipped = 0i64;
            let mut emitted = 0i64;
            let mut stopped_by_us = false;
            let r = run(input, ctx, &mut |ctx, row| {
                if skipped < off {
                    skipped += 1;
                    return Ok(true);
                }
                emitted += 1;
                if !sink(ctx, row)? {
                    return Ok(false);
                }
                if lim >= 0 && emitted >= lim {
                    stopped_by_us = true;
                    return Ok(false);
                }
                Ok(true)
            })?;
            Ok(r || stopped_by_us)
        }
        Plan::Recursive {
            id,
            initial,
            step,
            union_all,
            real_cols,
        } => recursive(*id, initial, step, *union_all, real_cols, ctx, sink),
        Plan::RealAffinity { input, cols } => run(input, ctx, &mut |ctx, mut row| {
            real_affinity(&mut row, cols);
            sink(ctx, row)
        }),
        Plan::WorkTable { id } => match ctx.work.get(id) {
            Some(row) => {
                let row = row.clone();
                sink(ctx, row)
            }
            None => Err(Error::invalid("recursive table read outside its CTE")),
        },
        Plan::SetOp { op, left, right } => {
            if *op == SetOp::UnionAll {
                if !run(left, ctx, sink)? {
                    return Ok(false);
                }
                return run(right, ctx, sink);
            }
            // Rows equal under SQL comparison (`4` and `4.0`) are one row; as in SQLite,
            // the row kept is the last one seen (a later insert into its temporary index
            // replaces an equal key): of both inputs for UNION, of the left one for
            // INTERSECT and EXCEPT.
            let mut l: BTreeMap<Vec<u8>, Vec<Value>> = BTreeMap::new();
            run(left, ctx, &mut |_, r| {
                let mut k = Vec::new();
                encode_key(&r, &mut k);
                l.insert(k, r);
                Ok(true)
            })?;
            let mut rset: BTreeMap<Vec<u8>, Vec<Value>> = BTreeMap::new();
            run(right, ctx, &mut |_, r| {
                let mut k = Vec::new();
                encode_key(&r, &mut k);
                rset.insert(k, r);
                Ok(true)
            })?;
            let out: Vec<Vec<Value>> = match op {
                SetOp::Union => {
                    l.extend(rset);
                    l.into_values().collect()
                }
                SetOp::Except => l
                    .into_iter()
                    .filter(|(k, _)| !rset.contains_key(k))
                    .map(|(_, v)| v)
                    .collect(),
                _ => l
                    .into_iter()
                    .filter(|(k, _)| rset.contains_key(k))
                    .map(|(_, v)| v)
                    .collect(),
            };
            for r in out {
                if !sink(ctx, r)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}

/// The most rows a recursive CTE may produce: past it the query fails instead of filling
/// memory (a recursion without a stopping condition or a LIMIT never ends in SQLite).
pub(crate) const MAX_RECURSIVE_ROWS: usize = 10_000_000;

/// Runs a recursive CTE (see [`Plan::Recursive`]): a FIFO queue of produced rows, each
/// becoming the work table's one row for a run of `step`, as SQLite does.
/// Turns integers in columns `cols` of `row` into reals (see [`Plan::RealAffinity`]).
fn real_affinity(row: &mut [Value], cols: &[usize]) {
    for &c in cols {
        if let Some(v @ Value::Integer(_)) = row.get_mut(c)
            && let Value::Integer(i) = *v
        {
            *v = Value::Real(i as f64);
        }
    }
}

fn recursive(
    id: usize,
    initial: &Plan,
    step: &Plan,
    union_all: bool,
    real_cols: &[usize],
    ctx: &mut Ctx<'_>,
    sink: &mut Sink<'_>,
) -> Result<bool> {
    let mut seen: FastSet<Vec<u8>> = FastSet::default();
    let mut queue: std::collections::VecDeque<Vec<Value>> = std::collections::VecDeque::new();
    let mut produced = 0usize;
    let mut batch: Vec<Vec<Value>> = Vec::new();
    let mut emit = |ctx: &mut Ctx<'_>, mut row: Vec<Value>, batch: &mut Vec<Vec<Value>>| {
        real_affinity(&mut row, real_cols);
        if !union_all {
            let mut k = Vec::new();
            encode_key(&row, &mut k);
            if !seen.insert(k) {
                return Ok(true);
            }
        }
        produced += 1;
        if produced > ctx.recursive_limit {
            return Err(Error::invalid(format!(
                "a recursive common table expression produced more than {} rows; \
                 add a stopping condition or a LIMIT",
                ctx.recursive_limit
            )));
        }
        batch.push(row.clone());
        sink(ctx, row)
    };
    let mut go_on = run(initial, ctx, &mut |ctx, row| emit(ctx, row, &mut batch))?;
    queue.extend(batch.drain(..));
    while go_on && let Some(row) = queue.pop_front() {
        let outer = ctx.work.insert(id, row);
        let r = run(step, ctx, &mut |ctx, row| emit(ctx, row, &mut batch));
        match outer {
            Some(o) => ctx.work.insert(id, o),
            None => ctx.work.remove(&id),
        };
        go_on = r?;
        queue.extend(batch.drain(..));
    }
    Ok(go_on)
}

fn limit_value(e: &Expr, ctx: &mut Ctx<'_>, what: &str) -> Result<i64> {
    match apply_affinity(eval(e, &[], ctx)?, Affinity::Integer) {
        Value::Integer(i) => Ok(i),
        other => Err(Error::mismatch(format!(
            "{what} must be an integer, got {}",
            other.type_name()
        ))),
    }
}

pub(crate) fn sort_rows(rows: &mut [Vec<Value>], keys: &[SortKey]) {
    rows.sort_by(|a, b| {
        for k in keys {
            let (x, y) = (
                a.get(k.col).unwrap_or(&Value::Null),
                b.get(k.col).unwrap_or(&Value::Null),
            );
            let o = match (k.nulls_first, x.is_null(), y.is_null()) {
                (Some(nf), true, false) => {
                    if nf {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                }
                (Some(nf), false, true) => {
                    if nf {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                _ => {
                    let o = compare(x, y);
                    if k.desc { o.reverse() } else { o }
                }
            };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

// ---------------------------------------------------------------------------------------
// Aggregation

enum Acc {
    Count(i64),
    Sum {
        int: i64,
        real: f64,
        is_real: bool,
        any: bool,
        overflow: bool,
    },
    Total(f64),
    Avg(f64, i64),
    MinMax(Option<Value>),
    Concat(Option<String>),
}

pub(crate) struct AggState {
    acc: Acc,
    seen: Option<FastSet<Vec<u8>>>,
}

pub(crate) fn new_state(a: &AggCall) -> AggState {
    AggState {
        acc: match a.func {
            AggFunc::CountStar | AggFunc::Count => Acc::Count(0),
            AggFunc::Sum => Acc::Sum {
                int: 0,
                real: 0.0,
                is_real: false,
                any: false,
                overflow: false,
            },
            AggFunc::Total => Acc::Total(0.0),
            AggFunc::Avg => Acc::Avg(0.0, 0),
            AggFunc::Min | AggFunc::Max => Acc::MinMax(None),
            AggFunc::GroupConcat => Acc::Concat(None),
        },
        seen: if a.distinct {
            Some(FastSet::default())
        } else {
            None
        },
    }
}

pub(crate) fn update(
    st: &mut AggState,
    a: &AggCall,
    row: &[Value],
    ctx: &mut Ctx<'_>,
) -> Result<()> {
    if let Some(f) = &a.filter
        && truthy(&eval(f, row, ctx)?) != Some(true)
    {
        return Ok(());
    }
    if a.func == AggFunc::CountStar {
        if let Acc::Count(n) = &mut st.acc {
            *n += 1;
        }
        return Ok(());
    }
    let v = match &a.arg {
        Some(e) => eval(e, row, ctx)?,
        None => Value::Null,
    };
    if v.is_null() {
        return Ok(());
    }
    if let Some(seen) = &mut st.seen {
        let mut k = Vec::new();
        encode_key_value(&v, &mut k);
        if !seen.insert(k) {
            return Ok(());
        }
    }
    match &mut st.acc {
        Acc::Count(n) => *n += 1,
        Acc::Sum {
            int,
            real,
            is_real,
            any,
            overflow,
        } => {
            *any = true;
            match to_numeric(&v) {
                Value::Integer(i) => {
                    *real += i as f64;
                    if !*is_real {
                        match int.checked_add(i) {
                            Some(s) => *int = s,
                            None => *overflow = true,
                        }
                    }
                }
                Value::Real(r) => {
                    *real += r;
                    *is_real = true;
                }
                _ => {}
            }
        }
        Acc::Total(t) => *t += to_numeric(&v).as_f64().unwrap_or(0.0),
        Acc::Avg(s, n) => {
            *s += to_numeric(&v).as_f64().unwrap_or(0.0);
            *n += 1;
        }
        Acc::MinMax(cur) => {
            let better = match cur {
                None => true,
                Some(c) => {
                    let o = compare(&v, c);
                    if a.func == AggFunc::Min {
                        o == std::cmp::Ordering::Less
                    } else {
                        o == std::cmp::Ordering::Greater
                    }
                }
            };
            if better {
                *cur = Some(v);
            }
        }
        Acc::Concat(s) => {
            let sep = match &a.separator {
                Some(e) => match eval(e, row, ctx)? {
                    Value::Null => String::new(),
                    x => x.to_string(),
                },
                None => ",".to_string(),
            };
            let text = match &v {
                Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
                other => other.to_string(),
            };
            match s {
                None => *s = Some(text),
                Some(cur) => {
                    cur.push_str(&sep);
                    cur.push_str(&text);
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn finish(st: &AggState) -> Result<Value> {
    Ok(match &st.acc {
        Acc::Count(n) => Value::Integer(*n),
        &Acc::Sum {
            int,
            real,
            is_real,
            any,
            overflow,
        } => {
            if !any {
                Value::Null
            } else if is_real {
                Value::real(real)
            } else if overflow {
                return Err(Error::invalid("integer overflow in sum()"));
            } else {
                Value::Integer(int)
            }
        }
        Acc::Total(t) => Value::real(*t),
        &Acc::Avg(s, n) => {
            if n == 0 {
                Value::Null
            } else {
                Value::real(s / n as f64)
            }
        }
        Acc::MinMax(v) => v.clone().unwrap_or(Value::Null),
        Acc::Concat(s) => s.clone().map(Value::Text).unwrap_or(Value::Null),
    })
}

fn aggregate(
    input: &Plan,
    group: &[Expr],
    aggs: &[AggCall],
    width: usize,
    ctx: &mut Ctx<'_>,
    sink: &mut Sink<'_>,
) -> Result<bool> {
    struct Group {
        key: Vec<u8>,
        last: Vec<Value>,
        gvals: Vec<Value>,
        states: Vec<AggState>,
    }
    let mut index: FastMap<Vec<u8>, usize> = FastMap::default();
    let mut groups: Vec<Group> = Vec::new();
    let mut key = Vec::new();
    run(input, ctx, &mut |ctx, row| {
        let gvals = group
            .iter()
            .map(|e| eval(e, &row, ctx))
            .collect::<Result<Vec<_>>>()?;
        key.clear();
        encode_key(&gvals, &mut key);
        let gi = match index.get(&key) {
            Some(&i) => i,
            None => {
                groups.push(Group {
                    key: key.clone(),
                    last: Vec::new(),
                    gvals,
                    states: aggs.iter().map(new_state).collect(),
                });
                index.insert(key.clone(), groups.len() - 1);
                groups.len() - 1
            }
        };
        let g = &mut groups[gi];
        for (st, a) in g.states.iter_mut().zip(aggs) {
            update(st, a, &row, ctx)?;
        }
        g.last = row;
        Ok(true)
    })?;
    if groups.is_empty() && group.is_empty() {
        groups.push(Group {
            key: Vec::new(),
            last: Vec::new(),
            gvals: Vec::new(),
            states: aggs.iter().map(new_state).collect(),
        });
    }
    groups.sort_by(|a, b| a.key.cmp(&b.key));
    for g in groups {
        let mut row = g.last;
        row.resize(width, Value::Null);
        row.extend(g.gvals);
        for st in &g.states {
            row.push(finish(st)?);
        }
        if !sink(ctx, row)? {
            return Ok(false);
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Writes

/// Decodes an integer key written by `encode_key_value` (used to find the largest rowid).
fn decode_int_key(k: &[u8]) -> Option<i64> {
    if k.len() < 17 || k[0] != TAG_NUM {
        return None;
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&k[1..9]);
    let bits = u64::from_be_bytes(a);
    let bits = if bits >> 63 == 1 {
        bits ^ (1 << 63)
    } else {
        !bits
    };
    let approx = f64::from_bits(bits);
    a.copy_from_slice(&k[9..17]);
    let rem = (u64::from_be_bytes(a) ^ (1 << 63)) as i64;
    let v = (approx as i128) + i128::from(rem);
    i64::try_from(v).ok()
}

/// Row writer for one statement: constraint checks, index maintenance, rowid allocation.
pub(crate) struct Writer<'k, 't> {
    pub(crate) kv: &'k mut StmtKv<'t>,
    next_rowid: HashMap<u32, i64>,
}

/// A row's storage key suffix (after the table prefix) and full key.
fn row_key_suffix(table: &Table, row: &[Value], rowid: Option<i64>) -> Vec<u8> {
    let mut k = Vec::with_capacity(32);
    if table.pk.is_empty() {
        encode_key_value(&Value::Integer(rowid.unwrap_or(0)), &mut k);
    } else {
        for &c in &table.pk {
            encode_key_value(row.get(c).unwrap_or(&Value::Null), &mut k);
        }
    }
    k
}

fn index_key(ix: &Index, row: &[Value], suffix: &[u8]) -> Vec<u8> {
    let mut k = index_prefix(ix.id);
    let mut has_null = false;
    for &c in &ix.columns {
        let v = row.get(c).unwrap_or(&Value::Null);
        has_null |= v.is_null();
        encode_key_value(v, &mut k);
    }
    if !ix.unique || has_null {
        k.extend_from_slice(suffix);
    }
    k
}

impl<'k, 't> Writer<'k, 't> {
    pub(crate) fn new(kv: &'k mut StmtKv<'t>) -> Self {
        Writer {
            kv,
            next_rowid: HashMap::new(),
        }
    }

    fn alloc_rowid(&mut self, table: &Table) -> Result<i64> {
        let next = match self.next_rowid.get(&table.id) {
            Some(n) => *n,
            None => {
                let p = table_prefix(table.id);
                let rowid = |k: &[u8]| k.get(p.len()..).and_then(decode_int_key).unwrap_or(0);
                // The largest rowid: the first key of a reverse scan, read in place; for a
                // table with no row in the snapshot, among the transaction's own rows.
                let mut max = 0;
                if self.kv.snapshot_has_prefix(&p)? {
                    self.kv.scan_prefix_with(&p, true, |k, _| {
                        max = rowid(k);
                        Ok(false)
                    })?;
                } else if let Some(k) = self.kv.last_own_key(&p) {
                    max = rowid(&k);
                }
                max.checked_add(1).ok_or_else(|| {
                    Error::invalid(format!("table {} is full (rowid overflow)", table.name))
                })?
            }
        };
        self.next_rowid.insert(table.id, next.saturating_add(1));
        Ok(next)
    }

    fn note_rowid(&mut self, table: &Table, used: i64) {
        if let Some(n) = self.next_rowid.get_mut(&table.id)
            && used >= *n
        {
            *n = used.saturating_add(1);
        }
    }

    /// Applies affinities, defaults checks and rowid assignment; returns the row and rowid.
    pub(crate) fn prepare_row(
        &mut self,
        table: &Table,
        mut row: Vec<Value>,
        conflict: Conflict,
    ) -> Result<Option<(Vec<Value>, Option<i64>)>> {
        for (v, c) in row.iter_mut().zip(&table.columns) {
            let x = std::mem::replace(v, Value::Null);
            *v = apply_affinity(x, c.affinity);
        }
        let mut rowid = None;
        if let Some(a) = table.rowid_alias {
            match &row[a] {
                Value::Null => {
                    let id = self.alloc_rowid(table)?;
                    row[a] = Value::Integer(id);
                    rowid = Some(id);
                }
                Value::Integer(i) => {
                    let i = *i;
                    self.note_rowid(table, i);
                    rowid = Some(i);
                }
                other => {
                    return Err(Error::TypeMismatch {
                        message: format!(
                            "datatype mismatch: INTEGER PRIMARY KEY given {}",
                            other.type_name()
                        ),
                        table: Some(table.name.clone()),
                        column: Some(table.columns[a].name.clone()),
                    });
                }
            }
        }
        for (v, c) in row.iter().zip(&table.columns) {
            if c.not_null && v.is_null() {
                if conflict == Conflict::Ignore {
                    return Ok(None);
                }
                return Err(Error::NotNullViolation {
                    table: table.name.clone(),
                    column: c.name.clone(),
                });
            }
        }
        Ok(Some((row, rowid)))
    }

    /// Inserts a prepared row; returns false when skipped by OR IGNORE.
    pub(crate) fn insert(
        &mut self,
        table: &Table,
        row: &[Value],
        rowid: Option<i64>,
        conflict: Conflict,
    ) -> Result<bool> {
        let rowid = if table.pk.is_empty() {
            Some(match rowid {
                Some(r) => r,
                None => self.alloc_rowid(table)?,
            })
        } else {
            rowid
        };
        let mut key = table_prefix(table.id);
        // A table with no row in the transaction's snapshot (created, emptied or never
        // filled before the transaction began): its keys, and its index entries, can only
        // be among the transaction's own writes, so the conflict checks look there alone.
        let own_only = !self.kv.snapshot_has_prefix(&key)?;
        let suffix = row_key_suffix(table, row, rowid);
        key.extend_from_slice(&suffix);
        // The value under a key, where a conflicting row would be.
        let taken = |kv: &StmtKv<'_>, k: &[u8]| -> Result<Option<Vec<u8>>> {
            if own_only {
                Ok(kv.get_own(k).map(<[u8]>::to_vec))
            } else {
                kv.get(k)
            }
        };
        // Conflicts: primary key, then each unique index.
        let mut victims: Vec<Vec<u8>> = Vec::new();
        if !table.pk.is_empty() && taken(self.kv, &key)?.is_some() {
            match conflict {
                Conflict::Abort => {
                    return Err(Error::UniqueViolation {
                        table: table.name.clone(),
                        columns: table
                            .pk
                            .iter()
                            .map(|&c| table.columns[c].name.clone())
                            .collect(),
                        primary_key: true,
                    });
                }
                Conflict::Ignore => return Ok(false),
                Conflict::Replace => victims.push(key.clone()),
            }
        }
        for ix in table.indexes.iter().filter(|i| i.unique) {
            let ik = index_key(ix, row, &suffix);
            if ik.len() > index_prefix(ix.id).len()
                && ix.columns.iter().all(|&c| !row[c].is_null())
                && let Some(other) = taken(self.kv, &ik)?
            {
                match conflict {
                    Conflict::Abort => {
                        return Err(Error::UniqueViolation {
                            table: table.name.clone(),
                            columns: ix
                                .columns
                                .iter()
                                .map(|&c| table.columns[c].name.clone())
                                .collect(),
                            primary_key: false,
                        });
                    }
                    Conflict::Ignore => return Ok(false),
                    Conflict::Replace => {
                        let mut vk = table_prefix(table.id);
                        vk.extend_from_slice(&other);
                        victims.push(vk);
                    }
                }
            }
        }
        victims.sort();
        victims.dedup();
        for vk in victims {
            if let Some(bytes) = self.kv.get(&vk)? {
                let old = pad_row(decode_row(&bytes)?, table);
                self.delete(table, &vk, &old)?;
            }
        }
        self.kv.put(&key, &encode_row(row))?;
        for ix in &table.indexes {
            self.kv.put(&index_key(ix, row, &suffix), &suffix)?;
        }
        Ok(true)
    }

    /// Deletes a row and its index entries.
    pub(crate) fn delete(&mut self, table: &Table, key: &[u8], row: &[Value]) -> Result<()> {
        let plen = table_prefix(table.id).len();
        let suffix = key.get(plen..).unwrap_or(&[]);
        for ix in &table.indexes {
            self.kv.delete(&index_key(ix, row, suffix))?;
        }
        self.kv.delete(key)
    }

    /// The rowid stored in a row key of a rowid table.
    pub(crate) fn rowid_of_key(table: &Table, key: &[u8]) -> Option<i64> {
        let plen = table_prefix(table.id).len();
        key.get(plen..).and_then(decode_int_key)
    }

    /// Adds index entries for every existing row (CREATE INDEX); checks uniqueness.
    pub(crate) fn build_index(&mut self, table: &Table, ix: &Index) -> Result<()> {
        let p = table_prefix(table.id);
        let mut entries = Vec::new();
        self.kv.scan_prefix_with(&p, false, |k, v| {
            let row = pad_row(decode_row(v)?, table);
            let suffix = k[p.len()..].to_vec();
            entries.push((index_key(ix, &row, &suffix), suffix));
            Ok(true)
        })?;
        let mut seen = FastSet::default();
        for (k, s) in entries {
            if ix.unique && !seen.insert(k.clone()) {
                return Err(Error::UniqueViolation {
                    table: table.name.clone(),
                    columns: ix
                        .columns
                        .iter()
                        .map(|&c| table.columns[c].name.clone())
                        .collect(),
                    primary_key: false,
                });
            }
            self.kv.put(&k, &s)?;
        }
        Ok(())
    }

    /// Deletes every key with the given prefix.
    pub(crate) fn delete_prefix(&mut self, prefix: &[u8]) -> Result<()> {
        let mut keys = Vec::new();
        self.kv.scan_prefix_with(prefix, false, |k, _| {
            keys.push(k.to_vec());
            Ok(true)
        })?;
        for k in keys {
            self.kv.delete(&k)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binds `sql` against an empty catalog and runs it with a recursive-row limit.
    fn run_query(sql: &str, recursive_limit: usize) -> Result<Vec<Vec<Value>>> {
        let ast = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::SQLiteDialect {}, sql)
            .map_err(|e| Error::invalid(e.to_string()))?;
        let catalog = crate::catalog::Catalog::default();
        let stmt = crate::bind::Binder::new(&catalog).bind_statement(&ast[0])?;
        let crate::bind::Stmt::Query { plan, .. } = stmt else {
            return Err(Error::invalid("not a query"));
        };
        let mut ctx = Ctx::new(None, &[]);
        ctx.recursive_limit = recursive_limit;
        let mut rows = Vec::new();
        run(&plan, &mut ctx, &mut |_, r| {
            rows.push(r);
            Ok(true)
        })?;
        Ok(rows)
    }

    #[test]
    fn an_endless_recursive_cte_stops_at_the_row_limit() {
        let endless =
            "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r";
        let err = run_query(endless, 1000).unwrap_err();
        assert!(err.to_string().contains("more than 1000 rows"), "{err}");
        // Below the limit, and with a LIMIT, it runs to the end.
        let rows = run_query(&format!("{endless} LIMIT 1000"), 1000).unwrap();
        assert_eq!(rows.len(), 1000);
        assert_eq!(rows[999], vec![Value::Integer(1000)]);
        // UNION counts distinct rows only: a cycle of 3 values ends by itself.
        let cycle =
            "WITH RECURSIVE r(x) AS (SELECT 0 UNION SELECT (x + 1) % 3 FROM r) SELECT x FROM r";
        assert_eq!(run_query(cycle, 3).unwrap().len(), 3);
    }

    #[test]
    fn int_keys_decode() {
        for i in [
            0i64,
            1,
            -1,
            42,
            i64::MAX,
            i64::MIN,
            (1 << 53) + 1,
            -(1 << 60) - 7,
        ] {
            let mut k = Vec::new();
            encode_key_value(&Value::Integer(i), &mut k);
            assert_eq!(decode_int_key(&k), Some(i));
        }
        assert_eq!(decode_int_key(&[1, 2]), None);
    }
}
