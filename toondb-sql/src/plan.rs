//! Bound expressions and query plans: what the binder produces and the executor runs.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::catalog::{Column, Table};
use crate::value::{Affinity, Value};

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum UnOp {
    Neg,
    Plus,
    Not,
    BitNot,
}

/// Binary operators other than AND/OR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    BitAnd,
    BitOr,
    ShiftLeft,
    ShiftRight,
}

impl BinOp {
    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq
        )
    }
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Func {
    Abs,
    Length,
    Upper,
    Lower,
    Substr,
    Round,
    Coalesce,
    IfNull,
    NullIf,
    TypeOf,
    Min,
    Max,
    Trim,
    LTrim,
    RTrim,
    Replace,
    Instr,
    Hex,
    Random,
    Sign,
    Iif,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AggFunc {
    CountStar,
    Count,
    Sum,
    Total,
    Avg,
    Min,
    Max,
    GroupConcat,
}

/// One aggregate call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AggCall {
    pub(crate) func: AggFunc,
    pub(crate) arg: Option<Expr>,
    pub(crate) distinct: bool,
    pub(crate) separator: Option<Expr>,
    /// `FILTER (WHERE filter)`: only rows for which it is true are aggregated.
    pub(crate) filter: Option<Expr>,
}

impl AggCall {
    /// The expressions of the call: argument, separator, filter.
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.arg.iter().chain(&self.separator).chain(&self.filter)
    }
}

/// Window functions (SQLite's built-in ones, plus the aggregates used with `OVER`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WinFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    Lag,
    Lead,
    FirstValue,
    LastValue,
    NthValue,
    /// An aggregate over the frame; its argument is `args[0]` (none for `count(*)`), the
    /// separator of `group_concat` is `args[1]`.
    Agg(AggFunc),
}

/// One end of a window frame. Offsets count rows (ROWS), peer groups (GROUPS) or ORDER BY
/// values (RANGE); ROWS and GROUPS offsets are whole numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FrameBound {
    UnboundedPreceding,
    Preceding(f64),
    CurrentRow,
    Following(f64),
    UnboundedFollowing,
}

/// What a frame's offsets count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FrameUnits {
    Rows,
    /// ORDER BY values; CURRENT ROW means the current row's peers.
    Range,
    /// Peer groups (rows equal under the window's ORDER BY).
    Groups,
}

/// A window frame (SQLite's, without EXCLUDE, which sqlparser does not parse).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub(crate) units: FrameUnits,
    pub(crate) start: FrameBound,
    pub(crate) end: FrameBound,
}

impl Frame {
    /// The default frame: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
    pub(crate) const DEFAULT: Frame = Frame {
        units: FrameUnits::Range,
        start: FrameBound::UnboundedPreceding,
        end: FrameBound::CurrentRow,
    };

    /// Whether a bound is an offset counted in ORDER BY values (which needs exactly one
    /// ORDER BY term).
    pub(crate) fn has_range_offset(&self) -> bool {
        let offset =
            |b: FrameBound| matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_));
        self.units == FrameUnits::Range && (offset(self.start) || offset(self.end))
    }
}

/// A window ORDER BY term.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WinOrder {
    pub(crate) expr: Expr,
    pub(crate) desc: bool,
    pub(crate) nulls_first: Option<bool>,
}

/// One window function call: `func(args) OVER (PARTITION BY partition ORDER BY order frame)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WinCall {
    pub(crate) func: WinFunc,
    pub(crate) args: Vec<Expr>,
    /// `FILTER (WHERE filter)` of an aggregate window function.
    pub(crate) filter: Option<Expr>,
    pub(crate) partition: Vec<Expr>,
    pub(crate) order: Vec<WinOrder>,
    pub(crate) frame: Frame,
}

impl WinCall {
    /// The expressions of the call: arguments, filter, PARTITION BY, ORDER BY.
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.args
            .iter()
            .chain(&self.filter)
            .chain(&self.partition)
            .chain(self.order.iter().map(|o| &o.expr))
    }
}

/// The kind of a subquery expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SubKind {
    Scalar,
    Exists,
    In,
}

/// A subquery inside an expression.
#[derive(Debug)]
pub(crate) struct SubQuery {
    pub(crate) id: usize,
    pub(crate) plan: Plan,
    pub(crate) correlated: bool,
    /// Affinity of the subquery's first output column.
    pub(crate) affinity: Affinity,
}

impl PartialEq for SubQuery {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// A bound expression: column references are positions in the row it is evaluated on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    Param(usize),
    Column(usize),
    /// A column of an enclosing query's current row: depth 1 is the nearest.
    Outer {
        depth: usize,
        index: usize,
    },
    Unary(UnOp, Box<Expr>),
    /// Binary operator; for comparisons, the affinities applied to each side first.
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
        conv: (Affinity, Affinity),
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>, bool),
    /// `a IS b` / `a IS NOT b` (NULL-safe equality).
    Is {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
        conv: (Affinity, Affinity),
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        aff: Affinity,
    },
    Sub {
        kind: SubKind,
        expr: Option<Box<Expr>>,
        sub: Arc<SubQuery>,
        negated: bool,
        conv: (Affinity, Affinity),
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
        conv: (Affinity, Affinity, Affinity),
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
        glob: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    Cast(Box<Expr>, Affinity),
    /// Applies an affinity (comparison conversion, not a CAST).
    ApplyAff(Box<Expr>, Affinity),
    Func(Func, Vec<Expr>),
    /// An aggregate call, only before the post-aggregation rewrite.
    Agg(Box<AggCall>),
    /// A window function call, only until the binder replaces it by a column of
    /// [`Plan::Window`]'s output.
    Win(Box<WinCall>),
}

impl Expr {
    /// Calls `f` on each direct child expression.
    pub(crate) fn children(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Expr::Literal(_) | Expr::Param(_) | Expr::Column(_) | Expr::Outer { .. } => {}
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) | Expr::ApplyAff(e, _) => {
                f(e)
            }
            Expr::Binary { left, right, .. }
            | Expr::Is { left, right, .. }
            | Expr::And(left, right)
            | Expr::Or(left, right) => {
                f(left);
                f(right);
            }
            Expr::InList { expr, list, .. } => {
                f(expr);
                list.iter().for_each(f);
            }
            Expr::Sub { expr, .. } => {
                if let Some(e) = expr {
                    f(e)
                }
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                f(expr);
                f(low);
                f(high);
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                ..
            } => {
                f(expr);
                f(pattern);
                if let Some(e) = escape {
                    f(e)
                }
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                if let Some(o) = operand {
                    f(o)
                }
                for (w, t) in whens {
                    f(w);
                    f(t);
                }
                if let Some(e) = else_ {
                    f(e)
                }
            }
            Expr::Func(_, args) => args.iter().for_each(f),
            Expr::Agg(a) => a.exprs().for_each(f),
            Expr::Win(w) => w.exprs().for_each(f),
        }
    }

    /// Rebuilds the expression bottom-up through `f` (children first).
    pub(crate) fn map(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let e = match self {
            Expr::Unary(op, e) => Expr::Unary(op, Box::new(e.map(f))),
            Expr::IsNull(e, n) => Expr::IsNull(Box::new(e.map(f)), n),
            Expr::Cast(e, a) => Expr::Cast(Box::new(e.map(f)), a),
            Expr::ApplyAff(e, a) => Expr::ApplyAff(Box::new(e.map(f)), a),
            Expr::Binary {
                op,
                left,
                right,
                conv,
            } => Expr::Binary {
                op,
                left: Box::new(left.map(f)),
                right: Box::new(right.map(f)),
                conv,
            },
            Expr::Is {
                left,
                right,
                negated,
                conv,
            } => Expr::Is {
                left: Box::new(left.map(f)),
                right: Box::new(right.map(f)),
                negated,
                conv,
            },
            Expr::And(a, b) => Expr::And(Box::new(a.map(f)), Box::new(b.map(f))),
            Expr::Or(a, b) => Expr::Or(Box::new(a.map(f)), Box::new(b.map(f))),
            Expr::InList {
                expr,
                list,
                negated,
                aff,
            } => Expr::InList {
                expr: Box::new(expr.map(f)),
                list: list.into_iter().map(|e| e.map(f)).collect(),
                negated,
                aff,
            },
            Expr::Sub {
                kind,
                expr,
                sub,
                negated,
                conv,
            } => Expr::Sub {
                kind,
                expr: expr.map(|e| Box::new(e.map(f))),
                sub,
                negated,
                conv,
            },
            Expr::Between {
                expr,
                low,
                high,
                negated,
                conv,
            } => Expr::Between {
                expr: Box::new(expr.map(f)),
                low: Box::new(low.map(f)),
                high: Box::new(high.map(f)),
                negated,
                conv,
            },
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                glob,
            } => Expr::Like {
                expr: Box::new(expr.map(f)),
                pattern: Box::new(pattern.map(f)),
                escape: escape.map(|e| Box::new(e.map(f))),
                negated,
                glob,
            },
            Expr::Case {
                operand,
                whens,
                else_,
            } => Expr::Case {
                operand: operand.map(|e| Box::new(e.map(f))),
                whens: whens
                    .into_iter()
                    .map(|(w, t)| (w.map(f), t.map(f)))
                    .collect(),
                else_: else_.map(|e| Box::new(e.map(f))),
            },
            Expr::Func(func, args) => {
                Expr::Func(func, args.into_iter().map(|e| e.map(f)).collect())
            }
            Expr::Agg(a) => {
                let a = *a;
                Expr::Agg(Box::new(AggCall {
                    func: a.func,
                    arg: a.arg.map(|e| e.map(f)),
                    distinct: a.distinct,
                    separator: a.separator.map(|e| e.map(f)),
                    filter: a.filter.map(|e| e.map(f)),
                }))
            }
            Expr::Win(w) => {
                let w = *w;
                Expr::Win(Box::new(WinCall {
                    func: w.func,
                    args: w.args.into_iter().map(|e| e.map(f)).collect(),
                    filter: w.filter.map(|e| e.map(f)),
                    partition: w.partition.into_iter().map(|e| e.map(f)).collect(),
                    order: w
                        .order
                        .into_iter()
                        .map(|o| WinOrder {
                            expr: o.expr.map(f),
                            ..o
                        })
                        .collect(),
                    frame: w.frame,
                }))
            }
            leaf => leaf,
        };
        f(e)
    }

    /// True when any node satisfies `pred`.
    pub(crate) fn any(&self, pred: &dyn Fn(&Expr) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        let mut found = false;
        self.children(&mut |c| {
            if !found && c.any(pred) {
                found = true;
            }
        });
        found
    }

    /// Column positions referenced at this level.
    pub(crate) fn columns(&self, out: &mut Vec<usize>) {
        if let Expr::Column(i) = self {
            out.push(*i);
        }
        self.children(&mut |c| c.columns(out));
    }

    pub(crate) fn has_subquery(&self) -> bool {
        self.any(&|e| matches!(e, Expr::Sub { .. }))
    }

    pub(crate) fn has_win(&self) -> bool {
        self.any(&|e| matches!(e, Expr::Win(_)))
    }

    pub(crate) fn has_agg(&self) -> bool {
        self.any(&|e| matches!(e, Expr::Agg(_)))
    }

    /// Constant for the statement: no row columns, no aggregates, no subqueries.
    pub(crate) fn is_row_independent(&self) -> bool {
        !self.any(&|e| {
            matches!(
                e,
                Expr::Column(_) | Expr::Agg(_) | Expr::Win(_) | Expr::Sub { .. }
            )
        })
    }

    /// Shifts column positions by `delta` (which may be negative).
    pub(crate) fn shift(self, delta: isize) -> Expr {
        self.map(&mut |e| match e {
            Expr::Column(i) => Expr::Column(i.saturating_add_signed(delta)),
            other => other,
        })
    }
}

/// Join kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
}

/// Set operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SetOp {
    Union,
    UnionAll,
    Except,
    Intersect,
}

/// How a table is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Access {
    Full,
    /// A key range on the primary key (`index` None) or a secondary index: equality on a
    /// prefix of its columns, then optionally a range on the next column.
    Range {
        index: Option<usize>,
        eq: Vec<Expr>,
        lower: Option<(Expr, bool)>,
        upper: Option<(Expr, bool)>,
    },
    /// Point lookups, one per listed key value, on the first column of the key.
    InList {
        index: Option<usize>,
        values: Vec<Expr>,
    },
}

/// Which indexes a table scan may use: SQLite's `INDEXED BY` and `NOT INDEXED`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) enum IndexChoice {
    #[default]
    Any,
    /// No index (the table's own key still serves lookups and ranges).
    NoIndex,
    /// Exactly this index (by position in the table's indexes), even for a full scan.
    Only(usize),
}

/// A sort key: column position in the input row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortKey {
    pub(crate) col: usize,
    pub(crate) desc: bool,
    pub(crate) nulls_first: Option<bool>,
}

/// A query plan node. Rows are vectors of values; each node documents its output.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Reads a table: output is the table's columns in declared order.
    Scan {
        table: Arc<Table>,
        access: Access,
        filter: Option<Expr>,
        /// The columns read above this node or by `filter` (see [`Plan::prune_columns`]);
        /// the others come out as NULL without being decoded. `None`: all of them.
        needed: Option<Vec<bool>>,
        /// The indexes `access` may use.
        indexes: IndexChoice,
    },
    /// Literal rows (one empty row for a SELECT without FROM).
    Values {
        rows: Vec<Vec<Expr>>,
    },
    Filter {
        input: Box<Plan>,
        pred: Expr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<Expr>,
    },
    /// Output: left columns then right columns.
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        /// Equi-join keys (left expr on left row, right expr on right row, comparison affinities).
        keys: Vec<(Expr, Expr, (Affinity, Affinity))>,
        on: Option<Expr>,
        right_width: usize,
    },
    /// Output: the last input row of the group (NULLs when empty), then the group values,
    /// then the aggregate values.
    Aggregate {
        input: Box<Plan>,
        group: Vec<Expr>,
        aggs: Vec<AggCall>,
        input_width: usize,
    },
    /// Output: the input row (`input_width` columns) followed by one value per window
    /// call. The input is materialized; for each call the rows are sorted by (partition
    /// keys, order keys) and the call is computed per partition. Rows come out in the
    /// order of the last call's sort.
    Window {
        input: Box<Plan>,
        wins: Vec<WinCall>,
        input_width: usize,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    /// Removes duplicate rows, comparing the first `width` columns.
    Distinct {
        input: Box<Plan>,
        width: usize,
    },
    Limit {
        input: Box<Plan>,
        limit: Option<Expr>,
        offset: Option<Expr>,
    },
    SetOp {
        op: SetOp,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// A recursive CTE, run as SQLite runs it: the `initial` rows go to the output and to a
    /// queue; each row taken from the queue is made the one row of work table `id`, and
    /// `step` (which reads that work table) runs once for it, its rows going to the output
    /// and the queue in turn. Without `union_all`, rows already produced are dropped.
    Recursive {
        id: usize,
        initial: Box<Plan>,
        step: Box<Plan>,
        union_all: bool,
        /// Columns of REAL affinity: an integer in them becomes a real before the row is
        /// output or queued (see [`Plan::RealAffinity`]).
        real_cols: Vec<usize>,
    },
    /// Turns integers in the given columns into reals, leaving other values alone (SQLite's
    /// `OP_RealAffinity`, applied where a compound SELECT is read as a table).
    RealAffinity {
        input: Box<Plan>,
        cols: Vec<usize>,
    },
    /// The current row of a recursive CTE's work table.
    WorkTable {
        id: usize,
    },
}

/// The key columns of the primary key (`index` None) or an index, and how EXPLAIN names
/// it (a `covering` index is one whose scan does not read the table's rows).
fn key_columns(table: &Table, index: Option<usize>, covering: bool) -> (&[usize], String) {
    let covering = if covering { "COVERING " } else { "" };
    match index {
        None => (&table.pk, "PRIMARY KEY".to_string()),
        Some(i) => match table.indexes.get(i) {
            Some(ix) => (&ix.columns, format!("{covering}INDEX {}", ix.name)),
            None => (&[], "INDEX ?".to_string()),
        },
    }
}

fn col_name(cols: &[Column], keycols: &[usize], i: usize) -> String {
    keycols
        .get(i)
        .and_then(|c| cols.get(*c))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "rowid".into())
}

impl Plan {
    /// Renders the plan as indented lines for EXPLAIN.
    pub(crate) fn explain(&self, depth: usize, out: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        let mut line = String::new();
        match self {
            Plan::Scan {
                table,
                access,
                filter,
                needed,
                ..
            } => {
                // An index scan that needs no column never reads the table's rows.
                let covering = needed.as_ref().is_some_and(|n| !n.contains(&true));
                match access {
                    Access::Full => {
                        let _ = write!(line, "SCAN {}", table.name);
                    }
                    Access::Range {
                        index,
                        eq,
                        lower,
                        upper,
                    } => {
                        let (kc, what) = key_columns(table, *index, covering);
                        let mut terms: Vec<String> = (0..eq.len())
                            .map(|i| format!("{}=?", col_name(&table.columns, kc, i)))
                            .collect();
                        let rc = col_name(&table.columns, kc, eq.len());
                        if let Some((_, inc)) = lower {
                            terms.push(format!("{rc}{}?", if *inc { ">=" } else { ">" }));
                        }
                        if let Some((_, inc)) = upper {
                            terms.push(format!("{rc}{}?", if *inc { "<=" } else { "<" }));
                        }
                        let _ = if terms.is_empty() {
                            // A whole index read in its order (INDEXED BY).
                            write!(line, "SCAN {} USING {what}", table.name)
                        } else {
                            write!(
                                line,
                                "SEARCH {} USING {what} ({})",
                                table.name,
                                terms.join(" AND ")
                            )
                        };
                    }
                    Access::InList { index, values } => {
                        let (kc, what) = key_columns(table, *index, covering);
                        let _ = write!(
                            line,
                            "SEARCH {} USING {what} ({} IN {} values)",
                            table.name,
                            col_name(&table.columns, kc, 0),
                            values.len()
                        );
                    }
                }
                if filter.is_some() {
                    line.push_str(" WITH FILTER");
                }
                out.push(format!("{pad}{line}"));
            }
            Plan::Values { rows } => {
                out.push(format!("{pad}VALUES ({} rows)", rows.len()));
            }
            Plan::Filter { input, .. } => {
                out.push(format!("{pad}FILTER"));
                input.explain(depth + 1, out);
            }
            Plan::Project { input, exprs } => {
                out.push(format!("{pad}PROJECT ({} columns)", exprs.len()));
                input.explain(depth + 1, out);
            }
            Plan::Join {
                left,
                right,
                kind,
                keys,
                ..
            } => {
                let k = if *kind == JoinKind::Left { "LEFT " } else { "" };
                let how = if keys.is_empty() {
                    "NESTED LOOP"
                } else {
                    "HASH"
                };
                out.push(format!("{pad}{k}{how} JOIN"));
                left.explain(depth + 1, out);
                right.explain(depth + 1, out);
            }
            Plan::Aggregate {
                input, group, aggs, ..
            } => {
                out.push(format!(
                    "{pad}AGGREGATE ({} group keys, {} aggregates)",
                    group.len(),
                    aggs.len()
                ));
                input.explain(depth + 1, out);
            }
            Plan::Window { input, wins, .. } => {
                out.push(format!("{pad}WINDOW ({} functions)", wins.len()));
                input.explain(depth + 1, out);
            }
            Plan::Sort { input, keys } => {
                out.push(format!("{pad}SORT ({} keys)", keys.len()));
                input.explain(depth + 1, out);
            }
            Plan::Distinct { input, .. } => {
                out.push(format!("{pad}DISTINCT"));
                input.explain(depth + 1, out);
            }
            Plan::Limit { input, .. } => {
                out.push(format!("{pad}LIMIT"));
                input.explain(depth + 1, out);
            }
            Plan::SetOp { op, left, right } => {
                out.push(format!("{pad}{op:?}").to_uppercase());
                left.explain(depth + 1, out);
                right.explain(depth + 1, out);
            }
            Plan::Recursive {
                id,
                initial,
                step,
                union_all,
                ..
            } => {
                let all = if *union_all { " ALL" } else { "" };
                out.push(format!("{pad}RECURSIVE UNION{all} (work table {id})"));
                initial.explain(depth + 1, out);
                step.explain(depth + 1, out);
            }
            Plan::WorkTable { id } => out.push(format!("{pad}SCAN WORK TABLE {id}")),
            Plan::RealAffinity { input, .. } => input.explain(depth, out),
        }
    }

    /// The number of values in each output row, when the plan alone says it.
    pub(crate) fn width(&self) -> Option<usize> {
        match self {
            Plan::Scan { table, .. } => Some(table.columns.len()),
            Plan::Values { rows } => rows.first().map(Vec::len),
            Plan::Project { exprs, .. } => Some(exprs.len()),
            Plan::Join {
                left, right_width, ..
            } => left.width().map(|w| w + right_width),
            Plan::Aggregate {
                group,
                aggs,
                input_width,
                ..
            } => Some(input_width + group.len() + aggs.len()),
            Plan::Window {
                wins, input_width, ..
            } => Some(input_width + wins.len()),
            Plan::Filter { input, .. }
            | Plan::Sort { input, .. }
            | Plan::Distinct { input, .. }
            | Plan::Limit { input, .. }
            | Plan::RealAffinity { input, .. } => input.width(),
            Plan::SetOp { left, .. } => left.width(),
            Plan::Recursive { initial, .. } => initial.width(),
            Plan::WorkTable { .. } => None,
        }
    }

    /// Tells each table scan which of its columns the plan reads, given that the consumer
    /// of this plan's rows reads `need` of them, so that the others are not decoded (and
    /// an index scan that needs no column skips reading the rows). Row widths and
    /// positions do not change; an unread column is NULL. Runs once on a bound plan.
    pub(crate) fn prune_columns(&mut self, need: Need) {
        match self {
            Plan::Scan {
                filter,
                needed,
                table,
                ..
            } => {
                let mut need = need;
                if let Some(f) = filter {
                    need.add_expr(f);
                }
                *needed = match need {
                    Need::All => None,
                    Need::Cols(mut v) => {
                        v.resize(table.columns.len(), false);
                        (!v.iter().all(|&b| b)).then_some(v)
                    }
                };
            }
            Plan::Values { .. } | Plan::WorkTable { .. } => {}
            Plan::Filter { input, pred } => {
                let mut need = need;
                need.add_expr(pred);
                input.prune_columns(need);
            }
            Plan::Project { input, exprs } => {
                // Every expression is still evaluated (an unread one can still fail), so
                // each one's columns are needed.
                let mut need = Need::none();
                exprs.iter().for_each(|e| need.add_expr(e));
                input.prune_columns(need);
            }
            Plan::Join {
                left,
                right,
                keys,
                on,
                ..
            } => {
                let Some(lw) = left.width() else {
                    left.prune_columns(Need::All);
                    right.prune_columns(Need::All);
                    return;
                };
                let mut need = need;
                if let Some(on) = on {
                    need.add_expr(on);
                }
                let (mut ln, mut rn) = need.split(lw);
                for (le, re, _) in keys.iter() {
                    ln.add_expr(le);
                    rn.add_expr(re);
                }
                left.prune_columns(ln);
                right.prune_columns(rn);
            }
            Plan::Aggregate {
                input,
                group,
                aggs,
                input_width,
            } => {
                // Output: the group's last input row, then the group values, then the
                // aggregates.
                let (mut n, _) = need.split(*input_width);
                group
                    .iter()
                    .chain(aggs.iter().flat_map(AggCall::exprs))
                    .for_each(|e| n.add_expr(e));
                input.prune_columns(n);
            }
            Plan::Window {
                input,
                wins,
                input_width,
            } => {
                let (mut n, _) = need.split(*input_width);
                wins.iter()
                    .flat_map(WinCall::exprs)
                    .for_each(|e| n.add_expr(e));
                input.prune_columns(n);
            }
            Plan::Sort { input, keys } => {
                let mut need = need;
                keys.iter().for_each(|k| need.add(k.col));
                input.prune_columns(need);
            }
            Plan::Limit { input, .. } | Plan::RealAffinity { input, .. } => {
                input.prune_columns(need)
            }
            // These compare or requeue whole rows.
            Plan::Distinct { input, .. } => input.prune_columns(Need::All),
            Plan::SetOp { left, right, .. } => {
                left.prune_columns(Need::All);
                right.prune_columns(Need::All);
            }
            Plan::Recursive { initial, step, .. } => {
                initial.prune_columns(Need::All);
                step.prune_columns(Need::All);
            }
        }
    }
}

/// Which columns of a plan's output rows their consumer reads (see
/// [`Plan::prune_columns`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    All,
    /// Position `i` is read when `v[i]` is true (positions past the end are not).
    Cols(Vec<bool>),
}

impl Need {
    /// No column.
    pub(crate) fn none() -> Need {
        Need::Cols(Vec::new())
    }

    fn add(&mut self, i: usize) {
        if let Need::Cols(v) = self {
            if v.len() <= i {
                v.resize(i + 1, false);
            }
            v[i] = true;
        }
    }

    /// Adds the columns `e` reads. A correlated subquery reads the row it is evaluated
    /// on through positions of its own, so it needs all of them.
    fn add_expr(&mut self, e: &Expr) {
        if e.any(&|x| matches!(x, Expr::Sub { sub, .. } if sub.correlated)) {
            *self = Need::All;
            return;
        }
        let mut cols = Vec::new();
        e.columns(&mut cols);
        cols.into_iter().for_each(|c| self.add(c));
    }

    /// The needs of the first `at` positions and of the rest (renumbered from 0).
    fn split(self, at: usize) -> (Need, Need) {
        match self {
            Need::All => (Need::All, Need::All),
            Need::Cols(mut v) => {
                let rest = if v.len() > at {
                    v.split_off(at)
                } else {
                    Vec::new()
                };
                (Need::Cols(v), Need::Cols(rest))
            }
        }
    }
}
