//! The binder: resolves names against the catalog and turns sqlparser's AST into plans.

use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{Catalog, Column, Table, View, norm};
use crate::error::{Error, Location, Result};
use crate::parse::{IndexHint, Notes, Parsed};
use crate::plan::{
    Access, AggCall, AggFunc, BinOp, Expr, Frame, FrameBound, FrameUnits, Func, IndexChoice,
    JoinKind, Need, Plan, SetOp, SortKey, SubKind, SubQuery, UnOp, WinCall, WinFunc, WinOrder,
};
use crate::value::{Affinity, Value, apply_affinity};

/// What to do when a row conflicts with a PRIMARY KEY or UNIQUE constraint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Conflict {
    Abort,
    Ignore,
    Replace,
}

/// A bound statement.
#[derive(Debug)]
pub(crate) enum Stmt {
    Query {
        plan: Plan,
        columns: Vec<String>,
        decl_types: Vec<Option<String>>,
    },
    Insert {
        table: Arc<Table>,
        targets: Vec<usize>,
        source: Plan,
        conflict: Conflict,
    },
    Update {
        table: Arc<Table>,
        scan: Plan,
        sets: Vec<(usize, Expr)>,
        conflict: Conflict,
    },
    Delete {
        table: Arc<Table>,
        scan: Plan,
    },
    CreateTable {
        table: Table,
        uniques: Vec<Vec<usize>>,
        if_not_exists: bool,
    },
    DropTable {
        name: String,
        if_exists: bool,
    },
    CreateIndex {
        name: String,
        table: String,
        columns: Vec<usize>,
        unique: bool,
        if_not_exists: bool,
    },
    DropIndex {
        name: String,
        if_exists: bool,
    },
    CreateView {
        view: View,
        if_not_exists: bool,
    },
    DropView {
        name: String,
        if_exists: bool,
    },
    AddColumn {
        table: String,
        column: Column,
    },
    Begin,
    Commit,
    Rollback,
    Explain(Box<Stmt>),
}

#[derive(Debug, Clone)]
struct ScopeCol {
    table: String,
    name: String,
    aff: Affinity,
    decl: Option<String>,
}

#[derive(Default)]
struct Level {
    cols: Vec<ScopeCol>,
    aliases: Vec<(String, ast::Expr)>,
}

/// Binds statements against one catalog snapshot.
pub(crate) struct Binder<'a> {
    catalog: &'a Catalog,
    /// What the parse of the text being bound rewrote: index hints and shifts (the
    /// statement's, or a view's while it is expanded).
    notes: Notes,
    levels: Vec<Level>,
    /// Level index of every outer reference made so far (for correlation detection).
    ref_levels: Vec<usize>,
    next_sub: usize,
    next_param: usize,
    /// Number of parameters the statement needs.
    pub(crate) param_count: usize,
    depth: usize,
    /// Common table expressions in scope, outermost first; a WITH clause pushes its own
    /// for the query it belongs to.
    ctes: Vec<Arc<CteDef>>,
    /// The recursive CTE whose recursive SELECT is being bound.
    recursive: Option<RecursiveRef>,
    /// Work tables handed out so far (one per recursive CTE reference).
    next_work: usize,
    /// Nesting of queries being bound (subqueries, derived tables, views, CTEs).
    query_depth: usize,
    /// The views being expanded, outermost first (to detect a view that refers to itself).
    expanding: Vec<String>,
    /// True while binding where a window function may appear (a SELECT's result columns
    /// and ORDER BY, outside aggregate and window arguments).
    win_ok: bool,
    /// The WINDOW clause of the SELECT being bound.
    named_windows: Vec<ast::NamedWindowDefinition>,
}

/// One `name [(columns)] AS (query)` of a WITH clause.
struct CteDef {
    name: String,
    columns: Vec<String>,
    query: ast::Query,
}

/// The recursive CTE being bound: references to it from its recursive SELECT read the
/// work table `id`, which holds one row at a time when the plan runs.
struct RecursiveRef {
    /// Its position in `Binder::ctes`.
    cte: usize,
    id: usize,
    /// The query depth of the recursive SELECT: a reference from deeper (a subquery) is an
    /// error, as in SQLite.
    depth: usize,
    cols: Vec<(String, Affinity, Option<String>)>,
    references: usize,
}

const MAX_DEPTH: usize = 400;
/// How deeply queries (subqueries, derived tables, views) may nest in one statement, views
/// expanded. A text alone cannot nest this deep (sqlparser's recursion limit stops it
/// first); the limit keeps view expansion within the stack such a text needs.
const MAX_QUERY_DEPTH: usize = 32;
/// The longest SELECT text a view may have. Statements longer than this run on a thread
/// with a large stack (see `engine.rs`); a view expands into statements of any length, so
/// its SELECT must be bindable and runnable on an ordinary stack.
pub(crate) const MAX_VIEW_SQL: usize = 8 * 1024;
/// How deeply views may be nested in one another (a view over a view over ...).
pub(crate) const MAX_VIEW_DEPTH: usize = 16;

fn loc(span: &sqlparser::tokenizer::Span) -> Option<Location> {
    if span.start.line == 0 {
        None
    } else {
        Some(Location {
            line: span.start.line,
            column: span.start.column,
        })
    }
}

fn ident_loc(i: &ast::Ident) -> Option<Location> {
    loc(&i.span)
}

/// The operators SQLite ranks together: `&`, `|`, `<<`, `>>` (and `^`, which stands for a
/// shift the parse rewrote).
fn is_bitwise(op: &ast::BinaryOperator) -> bool {
    use ast::BinaryOperator as B;
    matches!(
        op,
        B::BitwiseAnd
            | B::BitwiseOr
            | B::BitwiseXor
            | B::PGBitwiseShiftLeft
            | B::PGBitwiseShiftRight
    )
}

fn object_name(n: &ast::ObjectName) -> Result<String> {
    match n.0.last() {
        Some(ast::ObjectNamePart::Identifier(i)) => Ok(i.value.clone()),
        _ => Err(Error::unsupported(format!("object name {n}"))),
    }
}

pub(crate) fn comparison_conv(la: Affinity, ra: Affinity) -> (Affinity, Affinity) {
    let none = |a: Affinity| matches!(a, Affinity::Blob | Affinity::Text);
    if la.is_numeric() && none(ra) {
        (Affinity::Blob, Affinity::Numeric)
    } else if ra.is_numeric() && none(la) {
        (Affinity::Numeric, Affinity::Blob)
    } else if la == Affinity::Text && ra == Affinity::Blob {
        (Affinity::Blob, Affinity::Text)
    } else if ra == Affinity::Text && la == Affinity::Blob {
        (Affinity::Text, Affinity::Blob)
    } else {
        (Affinity::Blob, Affinity::Blob)
    }
}

pub(crate) fn type_affinity(dt: &ast::DataType) -> (String, Affinity) {
    let name = dt.to_string();
    let aff = Affinity::from_type_name(&name);
    (name, aff)
}

fn agg_name(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "total" => AggFunc::Total,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "group_concat" => AggFunc::GroupConcat,
        _ => return None,
    })
}

fn scalar_func(name: &str) -> Option<(Func, usize, usize)> {
    Some(match name {
        "abs" => (Func::Abs, 1, 1),
        "length" => (Func::Length, 1, 1),
        "upper" => (Func::Upper, 1, 1),
        "lower" => (Func::Lower, 1, 1),
        "substr" | "substring" => (Func::Substr, 2, 3),
        "round" => (Func::Round, 1, 2),
        "coalesce" => (Func::Coalesce, 2, usize::MAX),
        "ifnull" => (Func::IfNull, 2, 2),
        "nullif" => (Func::NullIf, 2, 2),
        "typeof" => (Func::TypeOf, 1, 1),
        "min" => (Func::Min, 2, usize::MAX),
        "max" => (Func::Max, 2, usize::MAX),
        "trim" => (Func::Trim, 1, 2),
        "ltrim" => (Func::LTrim, 1, 2),
        "rtrim" => (Func::RTrim, 1, 2),
        "replace" => (Func::Replace, 3, 3),
        "instr" => (Func::Instr, 2, 2),
        "hex" => (Func::Hex, 1, 1),
        "random" => (Func::Random, 0, 0),
        "sign" => (Func::Sign, 1, 1),
        "iif" => (Func::Iif, 3, 3),
        _ => return None,
    })
}

/// Splits an expression into its AND-ed conjuncts.
pub(crate) fn conjuncts(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            conjuncts(*a, out);
            conjuncts(*b, out);
        }
        other => out.push(other),
    }
}

fn and_all(mut v: Vec<Expr>) -> Option<Expr> {
    let first = if v.is_empty() {
        return None;
    } else {
        v.remove(0)
    };
    Some(
        v.into_iter()
            .fold(first, |a, b| Expr::And(Box::new(a), Box::new(b))),
    )
}

/// One FROM item while planning joins.
struct FromItem {
    plan: Plan,
    width: usize,
    offset: usize,
    kind: JoinKind,
    on: Vec<Expr>,
    pushed: Vec<Expr>,
    step_conds: Vec<Expr>,
}

struct SelectOut {
    plan: Plan,
    names: Vec<String>,
    /// The leftmost SELECT's column affinities.
    affs: Vec<Affinity>,
    decls: Vec<Option<String>>,
    /// Per SELECT of a compound (leftmost first; one for a plain SELECT), per column: what
    /// SQLite's `sqlite3SubqueryColumnTypes` looks at to type a compound read as a table.
    arms: Vec<Vec<ColType>>,
}

/// A result column's type facts, as SQLite derives them from its expression.
#[derive(Clone, Copy, Debug)]
struct ColType {
    aff: Affinity,
    /// The kinds of value it can yield (`sqlite3ExprDataType`): 1 numeric, 2 text, 4 blob.
    data: u8,
    /// Whether it is a CAST.
    cast: bool,
}

impl ColType {
    /// A column of a table or subquery with affinity `aff`.
    fn column(aff: Affinity) -> ColType {
        let data = match aff {
            Affinity::Integer | Affinity::Real | Affinity::Numeric => 0x05,
            Affinity::Text => 0x06,
            Affinity::Blob => 0x07,
        };
        ColType {
            aff,
            data,
            cast: false,
        }
    }
}

/// The affinity of a compound SELECT's column read as a table, by SQLite's rule: the
/// first SELECT (from the left) whose expression has an affinity gives it; a text
/// affinity when another SELECT may yield numbers, or a numeric one when another may yield
/// text, becomes no affinity; a numeric CAST in the leftmost SELECT stays numeric but is
/// not converted to real.
fn compound_affinity(arms: &[ColType]) -> Affinity {
    let Some(chosen) = arms.iter().position(|t| t.aff != Affinity::Blob) else {
        return Affinity::Blob;
    };
    let mut aff = arms[chosen].aff;
    if arms.len() > 1 {
        let others = arms
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != chosen)
            .fold(0u8, |m, (_, t)| m | t.data);
        if (aff == Affinity::Text && others & 0x01 != 0) || (aff.is_numeric() && others & 0x02 != 0)
        {
            aff = Affinity::Blob;
        }
        if aff.is_numeric() && arms[0].cast {
            aff = Affinity::Numeric;
        }
    }
    aff
}

impl<'a> Binder<'a> {
    /// Binds a chain of `&`, `|`, `<<` and `>>`. SQLite gives the four one precedence,
    /// applied left to right, where sqlparser ranks them apart (`&` over `<<` over `|`):
    /// the chain (which parentheses end) is flattened in text order and folded from the
    /// left, so `4 | 1 & 2` is `(4 | 1) & 2`, as in SQLite.
    fn bind_bitwise(&mut self, e: &ast::Expr, agg_ok: bool) -> Result<Expr> {
        fn flatten<'e>(
            e: &'e ast::Expr,
            operands: &mut Vec<&'e ast::Expr>,
            ops: &mut Vec<(&'e ast::Expr, &'e ast::BinaryOperator, &'e ast::Expr)>,
        ) {
            match e {
                ast::Expr::BinaryOp { left, op, right } if is_bitwise(op) => {
                    flatten(left, operands, ops);
                    ops.push((left, op, right));
                    flatten(right, operands, ops);
                }
                other => operands.push(other),
            }
        }
        let (mut operands, mut ops) = (Vec::new(), Vec::new());
        flatten(e, &mut operands, &mut ops);
        let mut acc = self.bind_expr(operands[0], agg_ok)?;
        for ((left, op, right), operand) in ops.into_iter().zip(&operands[1..]) {
            // A `^` stands for a `<<` or `>>` the parse rewrote (SQLite has no `^`).
            let op = match self.notes.operator(left, op, right) {
                ast::BinaryOperator::BitwiseAnd => BinOp::BitAnd,
                ast::BinaryOperator::BitwiseOr => BinOp::BitOr,
                ast::BinaryOperator::PGBitwiseShiftLeft => BinOp::ShiftLeft,
                ast::BinaryOperator::PGBitwiseShiftRight => BinOp::ShiftRight,
                other => return Err(Error::unsupported(format!("operator {other}"))),
            };
            let r = self.bind_expr(operand, agg_ok)?;
            acc = Expr::Binary {
                op,
                left: Box::new(acc),
                right: Box::new(r),
                conv: (Affinity::Blob, Affinity::Blob),
            };
        }
        Ok(acc)
    }

    /// Binds with what the parse of the statement's text rewrote (index hints, shifts).
    pub(crate) fn with_notes(mut self, parsed: &Parsed) -> Self {
        self.notes = parsed.notes.clone();
        self
    }

    pub(crate) fn new(catalog: &'a Catalog) -> Self {
        Binder {
            catalog,
            notes: Notes::default(),
            levels: Vec::new(),
            ref_levels: Vec::new(),
            next_sub: 0,
            next_param: 0,
            param_count: 0,
            depth: 0,
            ctes: Vec::new(),
            recursive: None,
            next_work: 0,
            query_depth: 0,
            expanding: Vec::new(),
            win_ok: false,
            named_windows: Vec::new(),
        }
    }

    /// The table a statement writes to (or indexes, or alters); a view there is an error.
    fn target_table(
        &self,
        name: &ast::ObjectName,
        view_error: fn(&str) -> String,
    ) -> Result<Arc<Table>> {
        let n = object_name(name)?;
        if self.catalog.table(&n).is_none()
            && let Some(v) = self.catalog.view(&n)
        {
            return Err(Error::invalid(view_error(&v.name)));
        }
        self.table(name)
    }

    fn table(&self, name: &ast::ObjectName) -> Result<Arc<Table>> {
        let n = object_name(name)?;
        self.catalog
            .table(&n)
            .cloned()
            .ok_or_else(|| Error::UnknownTable {
                table: n,
                location: name.0.last().and_then(|p| match p {
                    ast::ObjectNamePart::Identifier(i) => ident_loc(i),
                    _ => None,
                }),
            })
    }

    // -----------------------------------------------------------------------------------
    // Statements

    pub(crate) fn bind_statement(&mut self, st: &ast::Statement) -> Result<Stmt> {
        match st {
            ast::Statement::Query(q) => {
                if let ast::SetExpr::Insert(inner)
                | ast::SetExpr::Update(inner)
                | ast::SetExpr::Delete(inner) = q.body.as_ref()
                {
                    // `WITH ... INSERT/UPDATE/DELETE`: the CTEs are in scope for the
                    // statement's queries.
                    let outer = self.ctes.len();
                    if let Some(with) = &q.with {
                        self.push_ctes(with)?;
                    }
                    let r = self.bind_statement(inner);
                    self.ctes.truncate(outer);
                    return r;
                }
                let mut out = self.bind_query(q)?;
                out.plan.prune_columns(Need::All);
                Ok(Stmt::Query {
                    plan: out.plan,
                    columns: out.names,
                    decl_types: out.decls,
                })
            }
            ast::Statement::Insert(ins) => self.bind_insert(ins),
            ast::Statement::Update(up) => self.bind_update(up),
            ast::Statement::Delete(del) => self.bind_delete(del),
            ast::Statement::CreateTable(ct) => self.bind_create_table(ct),
            ast::Statement::CreateIndex(ci) => {
                if ci.predicate.is_some() {
                    return Err(Error::unsupported(
                        "partial indexes (CREATE INDEX ... WHERE)",
                    ));
                }
                let name = match &ci.name {
                    Some(n) => object_name(n)?,
                    None => return Err(Error::invalid("CREATE INDEX needs a name")),
                };
                let table =
                    self.target_table(&ci.table_name, |_| "views may not be indexed".into())?;
                let mut columns = Vec::new();
                for c in &ci.columns {
                    match &c.column.expr {
                        ast::Expr::Identifier(i) => {
                            let p = table.column_index(&i.value).ok_or_else(|| {
                                Error::UnknownColumn {
                                    column: i.value.clone(),
                                    table: Some(table.name.clone()),
                                    location: ident_loc(i),
                                }
                            })?;
                            columns.push(p);
                        }
                        other => {
                            return Err(Error::unsupported(format!("index on expression {other}")));
                        }
                    }
                }
                Ok(Stmt::CreateIndex {
                    name,
                    table: table.name.clone(),
                    columns,
                    unique: ci.unique,
                    if_not_exists: ci.if_not_exists,
                })
            }
            ast::Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => {
                let name = match names.as_slice() {
                    [n] => object_name(n)?,
                    _ => return Err(Error::unsupported("DROP of several objects at once")),
                };
                match object_type {
                    ast::ObjectType::Table => Ok(Stmt::DropTable {
                        name,
                        if_exists: *if_exists,
                    }),
                    ast::ObjectType::Index => Ok(Stmt::DropIndex {
                        name,
                        if_exists: *if_exists,
                    }),
                    ast::ObjectType::View => Ok(Stmt::DropView {
                        name,
                        if_exists: *if_exists,
                    }),
                    other => Err(Error::unsupported(format!("DROP {other}"))),
                }
            }
            ast::Statement::AlterTable(at) => {
                let table =
                    self.target_table(&at.name, |_| "Cannot add a column to a view".into())?;
                match at.operations.as_slice() {
                    [ast::AlterTableOperation::AddColumn { column_def, .. }] => {
                        let (column, pk, unique) = self.bind_column_def(column_def)?;
                        if pk || unique {
                            return Err(Error::unsupported(
                                "ALTER TABLE ADD COLUMN with PRIMARY KEY or UNIQUE",
                            ));
                        }
                        if column.not_null && column.default.as_ref().is_none_or(Value::is_null) {
                            return Err(Error::invalid(format!(
                                "cannot add a NOT NULL column with default NULL: {}.{}",
                                table.name, column.name
                            )));
                        }
                        Ok(Stmt::AddColumn {
                            table: table.name.clone(),
                            column,
                        })
                    }
                    _ => Err(Error::unsupported(
                        "ALTER TABLE other than a single ADD COLUMN",
                    )),
                }
            }
            ast::Statement::StartTransaction { .. } => Ok(Stmt::Begin),
            ast::Statement::Commit { .. } => Ok(Stmt::Commit),
            ast::Statement::Rollback {
                savepoint: None, ..
            } => Ok(Stmt::Rollback),
            ast::Statement::Explain { statement, .. } => {
                Ok(Stmt::Explain(Box::new(self.bind_statement(statement)?)))
            }
            ast::Statement::CreateView(cv) => self.bind_create_view(cv),
            ast::Statement::CreateTrigger(_) => Err(Error::unsupported("CREATE TRIGGER")),
            ast::Statement::DropTrigger(_) => Err(Error::unsupported("DROP TRIGGER")),
            other => {
                let s = other.to_string();
                let head: String = s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                Err(Error::unsupported(format!("statement {head}")))
            }
        }
    }

    fn bind_column_def(&mut self, cd: &ast::ColumnDef) -> Result<(Column, bool, bool)> {
        let (type_name, affinity) = type_affinity(&cd.data_type);
        let type_name = if matches!(cd.data_type, ast::DataType::Unspecified) {
            String::new()
        } else {
            type_name
        };
        let affinity = if type_name.is_empty() {
            Affinity::Blob
        } else {
            affinity
        };
        let mut col = Column {
            name: cd.name.value.clone(),
            type_name,
            affinity,
            not_null: false,
            default: None,
        };
        let (mut pk, mut unique) = (false, false);
        for o in &cd.options {
            match &o.option {
                ast::ColumnOption::Null => {}
                ast::ColumnOption::NotNull => col.not_null = true,
                ast::ColumnOption::Default(e) => {
                    let b = self.bind_expr(e, false)?;
                    if !b.is_row_independent() || b.any(&|x| matches!(x, Expr::Param(_))) {
                        return Err(Error::invalid(format!(
                            "default value of column {} is not constant",
                            col.name
                        )));
                    }
                    let v = crate::eval::eval_const(&b)?;
                    col.default = Some(apply_affinity(v, affinity));
                }
                ast::ColumnOption::PrimaryKey(_) => pk = true,
                ast::ColumnOption::Unique(_) => unique = true,
                ast::ColumnOption::Collation(_) | ast::ColumnOption::Comment(_) => {}
                other => {
                    return Err(Error::unsupported(format!(
                        "column constraint {other} on {}",
                        col.name
                    )));
                }
            }
        }
        Ok((col, pk, unique))
    }

    fn bind_create_table(&mut self, ct: &ast::CreateTable) -> Result<Stmt> {
        if ct.query.is_some() {
            return Err(Error::unsupported("CREATE TABLE ... AS SELECT"));
        }
        let name = object_name(&ct.name)?;
        let mut columns: Vec<Column> = Vec::new();
        let mut pk: Vec<usize> = Vec::new();
        let mut uniques: Vec<Vec<usize>> = Vec::new();
        for cd in &ct.columns {
            if columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&cd.name.value))
            {
                return Err(Error::AlreadyExists {
                    kind: "column",
                    name: format!("{name}.{}", cd.name.value),
                });
            }
            let (col, is_pk, is_unique) = self.bind_column_def(cd)?;
            let pos = columns.len();
            if is_pk {
                if !pk.is_empty() {
                    return Err(Error::invalid(format!(
                        "table {name} has more than one primary key"
                    )));
                }
                pk.push(pos);
            }
            if is_unique {
                uniques.push(vec![pos]);
            }
            columns.push(col);
        }
        if columns.is_empty() {
            return Err(Error::invalid(format!("table {name} has no columns")));
        }
        let resolve = |cols: &[ast::IndexColumn], columns: &[Column]| -> Result<Vec<usize>> {
            cols.iter()
                .map(|c| match &c.column.expr {
                    ast::Expr::Identifier(i) => columns
                        .iter()
                        .position(|x| x.name.eq_ignore_ascii_case(&i.value))
                        .ok_or_else(|| Error::UnknownColumn {
                            column: i.value.clone(),
                            table: Some(name.clone()),
                            location: ident_loc(i),
                        }),
                    other => Err(Error::unsupported(format!(
                        "constraint on expression {other}"
                    ))),
                })
                .collect()
        };
        for c in &ct.constraints {
            match c {
                ast::TableConstraint::PrimaryKey(p) => {
                    if !pk.is_empty() {
                        return Err(Error::invalid(format!(
                            "table {name} has more than one primary key"
                        )));
                    }
                    pk = resolve(&p.columns, &columns)?;
                }
                ast::TableConstraint::Unique(u) => uniques.push(resolve(&u.columns, &columns)?),
                other => {
                    return Err(Error::unsupported(format!("table constraint {other}")));
                }
            }
        }
        let rowid_alias = match pk.as_slice() {
            [p] if columns[*p].type_name.eq_ignore_ascii_case("INTEGER") => Some(*p),
            _ => None,
        };
        for p in &pk {
            columns[*p].not_null = true;
        }
        Ok(Stmt::CreateTable {
            table: Table {
                name,
                id: 0,
                columns,
                pk,
                rowid_alias,
                indexes: Vec::new(),
            },
            uniques,
            if_not_exists: ct.if_not_exists,
        })
    }

    fn bind_create_view(&mut self, cv: &ast::CreateView) -> Result<Stmt> {
        if cv.temporary {
            return Err(Error::unsupported("CREATE TEMP VIEW (temporary views)"));
        }
        if cv.or_alter
            || cv.or_replace
            || cv.materialized
            || cv.secure
            || cv.to.is_some()
            || cv.params.is_some()
            || cv.comment.is_some()
            || !cv.cluster_by.is_empty()
            || cv.with_no_schema_binding
            || cv.copy_grants
            || !matches!(cv.options, ast::CreateTableOptions::None)
        {
            return Err(Error::unsupported(
                "CREATE VIEW clauses outside SQLite's (OR REPLACE, MATERIALIZED, options, ...)",
            ));
        }
        let name = object_name(&cv.name)?;
        let sql = self.render(cv.query.as_ref());
        if sql.len() > MAX_VIEW_SQL {
            return Err(Error::unsupported(format!(
                "views whose SELECT is longer than {} KiB ({name})",
                MAX_VIEW_SQL / 1024
            )));
        }
        let mut columns = Vec::new();
        for c in &cv.columns {
            if c.data_type.is_some() || c.options.is_some() {
                return Err(Error::unsupported(format!(
                    "a type or options on view column {}",
                    c.name.value
                )));
            }
            columns.push(c.name.value.clone());
        }
        if let Some(kind) = self.catalog.object_kind(&name) {
            if cv.if_not_exists {
                // SQLite does not look at the SELECT then; the executor does nothing.
                return Ok(Stmt::CreateView {
                    view: View { name, columns, sql },
                    if_not_exists: true,
                });
            }
            return Err(Error::AlreadyExists { kind, name });
        }
        // Bind the SELECT once, as a use of the view in a query's FROM would, so that a view
        // over unknown tables or columns (or nested too deeply to be used) is refused now.
        self.expanding.push(name.clone());
        self.query_depth += 1;
        let out = self.bind_view_query(&cv.query);
        self.query_depth -= 1;
        self.expanding.pop();
        let out = out?;
        view_column_names(&name, &columns, out.names)?;
        Ok(Stmt::CreateView {
            view: View { name, columns, sql },
            if_not_exists: cv.if_not_exists,
        })
    }

    /// The text of a parsed node as sqlparser renders it, each `^` that the parse put in
    /// for a shift turned back into `<<` or `>>`: the text a view stores (parsed again at
    /// each use, without this parse's records) and the name of an unaliased result column.
    /// Index hints are not kept.
    fn render<T>(&self, node: &T) -> String
    where
        T: ast::VisitMut + Clone + std::fmt::Display,
    {
        if !self.notes.has_shifts() {
            return node.to_string();
        }
        let mut node = node.clone();
        let notes = &self.notes;
        let _ = ast::visit_expressions_mut(&mut node, |e| {
            if let ast::Expr::BinaryOp { left, op, right } = e {
                *op = notes.operator(left, op, right);
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        node.to_string()
    }

    /// Binds a view's SELECT on its own: no enclosing query is in scope (a view cannot
    /// refer to the query that uses it), and it may not use parameters.
    fn bind_view_query(&mut self, q: &ast::Query) -> Result<SelectOut> {
        // A view sees neither the query that uses it nor that query's CTEs.
        let levels = std::mem::take(&mut self.levels);
        let refs = std::mem::take(&mut self.ref_levels);
        let ctes = std::mem::take(&mut self.ctes);
        let recursive = self.recursive.take();
        let params = (self.next_param, self.param_count);
        let r = self.bind_query(q);
        self.levels = levels;
        self.ref_levels = refs;
        self.ctes = ctes;
        self.recursive = recursive;
        let used_params = (self.next_param, self.param_count) != params;
        (self.next_param, self.param_count) = params;
        let out = r?;
        if used_params {
            return Err(Error::invalid("parameters are not allowed in views"));
        }
        Ok(out)
    }

    /// Expands a view used in FROM: its stored SELECT, bound like a derived table, with the
    /// view's column names.
    fn bind_view(&mut self, v: &View) -> Result<SelectOut> {
        if self
            .expanding
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&v.name))
        {
            return Err(Error::invalid(format!(
                "view {} is circularly defined",
                v.name
            )));
        }
        if self.expanding.len() >= MAX_VIEW_DEPTH {
            return Err(Error::invalid(format!(
                "views nested too deeply (more than {MAX_VIEW_DEPTH} levels) at view {}",
                v.name
            )));
        }
        let (query, notes) = parse_view(v)?;
        self.expanding.push(v.name.clone());
        // The view's text was parsed on its own: its rewrite notes apply inside it.
        let outer = std::mem::replace(&mut self.notes, notes);
        let out = self.bind_view_query(&query);
        self.notes = outer;
        self.expanding.pop();
        // Positions inside the view's stored text mean nothing to the statement's author.
        let mut out = out.map_err(without_location)?;
        out.names = view_column_names(&v.name, &v.columns, std::mem::take(&mut out.names))?;
        Ok(out)
    }

    fn conflict(or: &Option<ast::SqliteOnConflict>) -> Result<Conflict> {
        Ok(match or {
            None | Some(ast::SqliteOnConflict::Abort) => Conflict::Abort,
            Some(ast::SqliteOnConflict::Ignore) => Conflict::Ignore,
            Some(ast::SqliteOnConflict::Replace) => Conflict::Replace,
            Some(other) => return Err(Error::unsupported(format!("conflict clause OR {other}"))),
        })
    }

    fn bind_insert(&mut self, ins: &ast::Insert) -> Result<Stmt> {
        if ins.returning.is_some() || ins.on.is_some() {
            return Err(Error::unsupported("INSERT ... RETURNING / ON CONFLICT"));
        }
        let table = match &ins.table {
            ast::TableObject::TableName(n) => self.target_table(n, cannot_modify_view)?,
            _ => return Err(Error::unsupported("INSERT into a table function")),
        };
        let conflict = if ins.replace_into {
            Conflict::Replace
        } else {
            Self::conflict(&ins.or)?
        };
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..table.columns.len()).collect()
        } else {
            let mut t = Vec::new();
            for c in &ins.columns {
                let n = object_name(c)?;
                let p = table.column_index(&n).ok_or_else(|| Error::UnknownColumn {
                    column: n.clone(),
                    table: Some(table.name.clone()),
                    location: None,
                })?;
                if t.contains(&p) {
                    return Err(Error::invalid(format!("column {n} given twice in INSERT")));
                }
                t.push(p);
            }
            t
        };
        let Some(source) = &ins.source else {
            // INSERT ... DEFAULT VALUES: one row of defaults.
            return Ok(Stmt::Insert {
                table,
                targets: Vec::new(),
                source: Plan::Values {
                    rows: vec![Vec::new()],
                },
                conflict,
            });
        };
        let mut out = self.bind_query(source)?;
        out.plan.prune_columns(Need::All);
        if out.names.len() != targets.len() {
            return Err(Error::invalid(format!(
                "table {} has {} columns but {} values were supplied",
                table.name,
                targets.len(),
                out.names.len()
            )));
        }
        Ok(Stmt::Insert {
            table,
            targets,
            source: out.plan,
            conflict,
        })
    }

    /// The table an UPDATE or DELETE writes, its name in scope and the indexes its scan
    /// may use.
    fn single_table_scope(
        &mut self,
        twj: &ast::TableWithJoins,
    ) -> Result<(Arc<Table>, String, IndexChoice)> {
        if !twj.joins.is_empty() {
            return Err(Error::unsupported("UPDATE/DELETE with joins"));
        }
        match &twj.relation {
            ast::TableFactor::Table { name, alias, .. } => {
                let t = self.target_table(name, cannot_modify_view)?;
                let a = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_else(|| t.name.clone());
                let indexes = self.index_choice(Some(&t), name, alias)?;
                Ok((t, a, indexes))
            }
            _ => Err(Error::unsupported("UPDATE/DELETE of a derived table")),
        }
    }

    /// The index hint written after a table reference (`INDEXED BY`, `NOT INDEXED`) as
    /// the indexes its scan may use; `table` is `None` for a view or CTE, which has no
    /// index to name.
    fn index_choice(
        &self,
        table: Option<&Table>,
        name: &ast::ObjectName,
        alias: &Option<ast::TableAlias>,
    ) -> Result<IndexChoice> {
        let last = match alias {
            Some(a) => Some(&a.name),
            None => match name.0.last() {
                Some(ast::ObjectNamePart::Identifier(i)) => Some(i),
                _ => None,
            },
        };
        let Some(hint) = last.and_then(|l| self.notes.hint_after(l)) else {
            return Ok(IndexChoice::Any);
        };
        Ok(match hint {
            // As in SQLite, a view or CTE takes NOT INDEXED (and ignores it).
            IndexHint::NotIndexed if table.is_none() => IndexChoice::Any,
            IndexHint::NotIndexed => IndexChoice::NoIndex,
            IndexHint::IndexedBy(ix) => {
                let i = table
                    .and_then(|t| {
                        t.indexes
                            .iter()
                            .position(|x| x.name.eq_ignore_ascii_case(ix))
                    })
                    .ok_or_else(|| Error::UnknownIndex { index: ix.clone() })?;
                IndexChoice::Only(i)
            }
        })
    }

    fn push_table_level(&mut self, t: &Table, alias: &str) {
        let cols = t
            .columns
            .iter()
            .map(|c| ScopeCol {
                table: norm(alias),
                name: c.name.clone(),
                aff: c.affinity,
                decl: Some(c.type_name.clone()),
            })
            .collect();
        self.levels.push(Level {
            cols,
            ..Default::default()
        });
    }

    fn scan_with_where(
        &mut self,
        table: &Arc<Table>,
        indexes: IndexChoice,
        selection: &Option<ast::Expr>,
    ) -> Result<Plan> {
        let mut conds = Vec::new();
        if let Some(w) = selection {
            let e = self.bind_expr(w, false)?;
            conjuncts(e, &mut conds);
        }
        let (plain, subs): (Vec<Expr>, Vec<Expr>) =
            conds.into_iter().partition(|c| !c.has_subquery());
        let mut plan = scan_plan(table.clone(), indexes, plain);
        if let Some(f) = and_all(subs) {
            plan = Plan::Filter {
                input: Box::new(plan),
                pred: f,
            };
        }
        Ok(plan)
    }

    fn bind_update(&mut self, up: &ast::Update) -> Result<Stmt> {
        if up.from.is_some() || up.returning.is_some() || up.limit.is_some() {
            return Err(Error::unsupported("UPDATE ... FROM / RETURNING / LIMIT"));
        }
        let (table, alias, indexes) = self.single_table_scope(&up.table)?;
        let conflict = Self::conflict(&up.or)?;
        self.push_table_level(&table, &alias);
        let r = (|| {
            let mut sets = Vec::new();
            for a in &up.assignments {
                let names = match &a.target {
                    ast::AssignmentTarget::ColumnName(n) => n,
                    ast::AssignmentTarget::Tuple(_) => {
                        return Err(Error::unsupported("tuple assignment in UPDATE"));
                    }
                };
                let n = object_name(names)?;
                let p = table.column_index(&n).ok_or_else(|| Error::UnknownColumn {
                    column: n.clone(),
                    table: Some(table.name.clone()),
                    location: None,
                })?;
                let e = self.bind_expr(&a.value, false)?;
                sets.retain(|(c, _)| *c != p);
                sets.push((p, e));
            }
            let scan = self.scan_with_where(&table, indexes, &up.selection)?;
            Ok((sets, scan))
        })();
        self.levels.pop();
        let (sets, scan) = r?;
        Ok(Stmt::Update {
            table,
            scan,
            sets,
            conflict,
        })
    }

    fn bind_delete(&mut self, del: &ast::Delete) -> Result<Stmt> {
        if del.using.is_some() || del.returning.is_some() || del.limit.is_some() {
            return Err(Error::unsupported("DELETE ... USING / RETURNING / LIMIT"));
        }
        let from = match &del.from {
            ast::FromTable::WithFromKeyword(v) | ast::FromTable::WithoutKeyword(v) => v,
        };
        let twj = match from.as_slice() {
            [t] => t,
            _ => return Err(Error::unsupported("DELETE from several tables")),
        };
        let (table, alias, indexes) = self.single_table_scope(twj)?;
        self.push_table_level(&table, &alias);
        let r = self.scan_with_where(&table, indexes, &del.selection);
        self.levels.pop();
        Ok(Stmt::Delete { table, scan: r? })
    }

    // -----------------------------------------------------------------------------------
    // Queries

    fn bind_query(&mut self, q: &ast::Query) -> Result<SelectOut> {
        // Views and CTEs expand into the statement that uses them, so one statement's query
        // nesting is no longer bounded by the parser's recursion limit alone.
        if self.query_depth >= MAX_QUERY_DEPTH {
            return Err(Error::invalid(format!(
                "query nested too deeply (more than {MAX_QUERY_DEPTH} levels of subqueries, derived tables, views and CTEs)"
            )));
        }
        let outer_ctes = self.ctes.len();
        if let Some(with) = &q.with {
            self.push_ctes(with)?;
        }
        self.query_depth += 1;
        let out = self.bind_query_body(q);
        self.query_depth -= 1;
        self.ctes.truncate(outer_ctes);
        out
    }

    /// Puts the CTEs of a WITH clause in scope (the caller truncates them away again); on
    /// an error none of them is left in scope.
    fn push_ctes(&mut self, with: &ast::With) -> Result<()> {
        let outer = self.ctes.len();
        for cte in &with.cte_tables {
            let name = cte.alias.name.value.clone();
            let fail = if self.ctes[outer..]
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&name))
            {
                Some(Error::invalid(format!("duplicate WITH table name: {name}")))
            } else if cte.from.is_some() {
                Some(Error::unsupported("WITH ... FROM"))
            } else {
                None
            };
            if let Some(e) = fail {
                self.ctes.truncate(outer);
                return Err(e);
            }
            self.ctes.push(Arc::new(CteDef {
                name,
                columns: cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect(),
                query: (*cte.query).clone(),
            }));
        }
        Ok(())
    }

    /// Finds the innermost CTE in scope named like the single-part `name`.
    fn find_cte(&self, name: &ast::ObjectName) -> Option<usize> {
        let [ast::ObjectNamePart::Identifier(id)] = name.0.as_slice() else {
            return None;
        };
        self.ctes
            .iter()
            .rposition(|c| c.name.eq_ignore_ascii_case(&id.value))
    }

    /// Binds a reference to CTE `i` in a FROM clause: the recursive CTE's work table from
    /// inside its own recursive SELECT, else the CTE's query, expanded like a derived
    /// table. The query sees only the CTEs defined before it (and, when recursive, itself).
    fn bind_cte_reference(&mut self, i: usize) -> Result<SelectOut> {
        let def = self.ctes[i].clone();
        if let Some(r) = self.recursive.as_mut().filter(|r| r.cte == i) {
            if self.query_depth != r.depth {
                return Err(Error::invalid(format!(
                    "recursive reference in a subquery: {}",
                    def.name
                )));
            }
            r.references += 1;
            if r.references > 1 {
                return Err(Error::invalid(format!(
                    "multiple references to recursive table: {}",
                    def.name
                )));
            }
            return Ok(SelectOut {
                plan: Plan::WorkTable { id: r.id },
                names: r.cols.iter().map(|c| c.0.clone()).collect(),
                affs: r.cols.iter().map(|c| c.1).collect(),
                decls: r.cols.iter().map(|c| c.2.clone()).collect(),
                arms: vec![r.cols.iter().map(|c| ColType::column(c.1)).collect()],
            });
        }
        let later = self.ctes.split_off(i + 1);
        let out = if self.is_recursive(&def) {
            self.bind_recursive_cte(i, &def)
        } else {
            let me = self.ctes.pop();
            let out = self
                .bind_query(&def.query)
                .map_err(|e| circular(e, &def.name));
            self.ctes.extend(me);
            out
        };
        self.ctes.extend(later);
        let mut out = out?;
        if !def.columns.is_empty() {
            if def.columns.len() != out.names.len() {
                return Err(Error::invalid(format!(
                    "table {} has {} values for {} columns",
                    def.name,
                    out.names.len(),
                    def.columns.len()
                )));
            }
            out.names = def.columns.clone();
        }
        Ok(out)
    }

    /// Whether `def` is a recursive CTE: a compound `initial UNION [ALL] recursive` whose
    /// query names the CTE itself.
    fn is_recursive(&self, def: &CteDef) -> bool {
        let compound = matches!(
            def.query.body.as_ref(),
            ast::SetExpr::SetOperation {
                op: ast::SetOperator::Union,
                ..
            }
        );
        compound && ast::visit_relations(&def.query, |rel| {
            let named = matches!(
                rel.0.as_slice(),
                [ast::ObjectNamePart::Identifier(id)] if id.value.eq_ignore_ascii_case(&def.name)
            );
            if named {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })
        .is_break()
    }

    /// Binds `initial UNION [ALL] recursive` (with the query's LIMIT/OFFSET) as a
    /// [`Plan::Recursive`]: the initial SELECT cannot see the CTE; the recursive one reads
    /// it as a work table of one row.
    fn bind_recursive_cte(&mut self, i: usize, def: &CteDef) -> Result<SelectOut> {
        let ast::SetExpr::SetOperation {
            left,
            right,
            set_quantifier,
            ..
        } = def.query.body.as_ref()
        else {
            return Err(Error::invalid(format!(
                "recursive CTE {} is not a UNION",
                def.name
            )));
        };
        if def.query.order_by.is_some() {
            return Err(Error::unsupported(
                "ORDER BY in a recursive common table expression",
            ));
        }
        let me = self.ctes.pop();
        let initial = self.bind_set_expr(left).map_err(|e| circular(e, &def.name));
        self.ctes.extend(me);
        let initial = initial?;
        let id = self.next_work;
        self.next_work += 1;
        let names: Vec<String> = if def.columns.is_empty() {
            initial.names.clone()
        } else {
            def.columns.clone()
        };
        let cols = names
            .iter()
            .zip(initial.affs.iter().zip(&initial.decls))
            .map(|(n, (a, d))| (n.clone(), *a, d.clone()))
            .collect();
        let outer = self.recursive.replace(RecursiveRef {
            cte: i,
            id,
            depth: self.query_depth,
            cols,
            references: 0,
        });
        let step = self.bind_set_expr(right);
        let references = self.recursive.as_ref().map_or(0, |r| r.references);
        self.recursive = outer;
        let step = step?;
        let union_all = matches!(set_quantifier, ast::SetQuantifier::All);
        if step.names.len() != initial.names.len() {
            return Err(Error::invalid(format!(
                "SELECTs to the left and right of UNION{} do not have the same number of result columns",
                if union_all { " ALL" } else { "" }
            )));
        }
        let plan = if references == 0 {
            // The name only appears in a nested scope that shadows it: a plain compound.
            Plan::SetOp {
                op: if union_all {
                    SetOp::UnionAll
                } else {
                    SetOp::Union
                },
                left: Box::new(initial.plan),
                right: Box::new(step.plan),
            }
        } else {
            Plan::Recursive {
                id,
                initial: Box::new(initial.plan),
                step: Box::new(step.plan),
                union_all,
                real_cols: real_columns(&table_affinities(&initial.arms, &step.arms)),
            }
        };
        let arms = [initial.arms, step.arms].concat();
        let mut out = SelectOut {
            plan,
            names: initial.names,
            affs: initial.affs,
            decls: initial.decls,
            arms,
        };
        self.bind_limit(&def.query, &mut out)?;
        Ok(out)
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> Result<SelectOut> {
        if q.fetch.is_some() || !q.locks.is_empty() {
            return Err(Error::unsupported("FETCH / FOR UPDATE"));
        }
        let order: Vec<ast::OrderByExpr> = match &q.order_by {
            None => Vec::new(),
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(v) => v.clone(),
                ast::OrderByKind::All(_) => return Err(Error::unsupported("ORDER BY ALL")),
            },
        };
        let mut out = match q.body.as_ref() {
            ast::SetExpr::Select(s) => self.bind_select(s, &order)?,
            body => {
                let mut o = self.bind_set_expr(body)?;
                if !order.is_empty() {
                    let mut keys = Vec::new();
                    for ob in &order {
                        let col = match &ob.expr {
                            ast::Expr::Value(v) => position_of(&v.value, o.names.len())?,
                            ast::Expr::Identifier(i) => o
                                .names
                                .iter()
                                .position(|n| n.eq_ignore_ascii_case(&i.value))
                                .ok_or_else(|| {
                                    Error::invalid(format!(
                                        "ORDER BY term {} does not match any column in the result set",
                                        i.value
                                    ))
                                })?,
                            other => {
                                return Err(Error::invalid(format!(
                                    "ORDER BY term {other} does not match any column in the result set"
                                )));
                            }
                        };
                        keys.push(SortKey {
                            col,
                            desc: ob.options.asc == Some(false),
                            nulls_first: ob.options.nulls_first,
                        });
                    }
                    o.plan = Plan::Sort {
                        input: Box::new(o.plan),
                        keys,
                    };
                }
                o
            }
        };
        self.bind_limit(q, &mut out)?;
        Ok(out)
    }

    /// Wraps `out`'s plan in the LIMIT / OFFSET of `q`, if it has them.
    fn bind_limit(&mut self, q: &ast::Query, out: &mut SelectOut) -> Result<()> {
        let (limit, offset) = match &q.limit_clause {
            None => return Ok(()),
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(Error::unsupported("LIMIT BY"));
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit), Some(offset))
            }
        };
        let limit = limit.map(|e| self.bind_expr_no_scope(e)).transpose()?;
        let offset = offset.map(|e| self.bind_expr_no_scope(e)).transpose()?;
        if limit.is_some() || offset.is_some() {
            let input = std::mem::replace(&mut out.plan, Plan::Values { rows: Vec::new() });
            out.plan = Plan::Limit {
                input: Box::new(input),
                limit,
                offset,
            };
        }
        Ok(())
    }

    /// Binds an expression that may not reference the current row (LIMIT, VALUES): an
    /// empty level stands for the row, so enclosing queries are reached as outer references.
    fn bind_expr_no_scope(&mut self, e: &ast::Expr) -> Result<Expr> {
        self.levels.push(Level::default());
        let r = self.bind_expr(e, false);
        self.levels.pop();
        r
    }

    fn bind_set_expr(&mut self, body: &ast::SetExpr) -> Result<SelectOut> {
        match body {
            ast::SetExpr::Select(s) => self.bind_select(s, &[]),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(v) => {
                let mut rows = Vec::new();
                let mut width = None;
                for r in &v.rows {
                    let row: Vec<Expr> = r
                        .content
                        .iter()
                        .map(|e| self.bind_expr_no_scope(e))
                        .collect::<Result<_>>()?;
                    if width.is_some_and(|w| w != row.len()) {
                        return Err(Error::invalid(
                            "all VALUES must have the same number of terms",
                        ));
                    }
                    width = Some(row.len());
                    rows.push(row);
                }
                let w = width.unwrap_or(0);
                Ok(SelectOut {
                    plan: Plan::Values { rows },
                    names: (1..=w).map(|i| format!("column{i}")).collect(),
                    affs: vec![Affinity::Blob; w],
                    decls: vec![None; w],
                    arms: vec![vec![ColType::column(Affinity::Blob); w]],
                })
            }
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let l = self.bind_set_expr(left)?;
                let r = self.bind_set_expr(right)?;
                if l.names.len() != r.names.len() {
                    return Err(Error::invalid(format!(
                        "SELECTs to the left and right of {op} do not have the same number of result columns"
                    )));
                }
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                let op = match (op, all) {
                    (ast::SetOperator::Union, true) => SetOp::UnionAll,
                    (ast::SetOperator::Union, false) => SetOp::Union,
                    (ast::SetOperator::Except | ast::SetOperator::Minus, false) => SetOp::Except,
                    (ast::SetOperator::Intersect, false) => SetOp::Intersect,
                    (o, _) => return Err(Error::unsupported(format!("{o} ALL"))),
                };
                Ok(SelectOut {
                    plan: Plan::SetOp {
                        op,
                        left: Box::new(l.plan),
                        right: Box::new(r.plan),
                    },
                    names: l.names,
                    affs: l.affs,
                    decls: l.decls,
                    arms: [l.arms, r.arms].concat(),
                })
            }
            other => Err(Error::unsupported(format!("query body {other}"))),
        }
    }

    fn bind_table_factor(&mut self, tf: &ast::TableFactor) -> Result<(Plan, Vec<ScopeCol>)> {
        match tf {
            ast::TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    return Err(Error::unsupported("table-valued functions"));
                }
                if let Some(i) = self.find_cte(name) {
                    self.index_choice(None, name, alias)?;
                    let out = self.bind_cte_reference(i)?;
                    let a = alias
                        .as_ref()
                        .map(|a| a.name.value.clone())
                        .unwrap_or_else(|| self.ctes[i].name.clone());
                    return Ok(derived(out, &a));
                }
                let n = object_name(name)?;
                if self.catalog.table(&n).is_none()
                    && let Some(v) = self.catalog.view(&n).cloned()
                {
                    self.index_choice(None, name, alias)?;
                    let out = self.bind_view(&v)?;
                    let a = alias
                        .as_ref()
                        .map(|a| a.name.value.clone())
                        .unwrap_or_else(|| v.name.clone());
                    return Ok(derived(out, &a));
                }
                let t = self.table(name)?;
                let indexes = self.index_choice(Some(&t), name, alias)?;
                let a = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_else(|| t.name.clone());
                let cols = t
                    .columns
                    .iter()
                    .map(|c| ScopeCol {
                        table: norm(&a),
                        name: c.name.clone(),
                        aff: c.affinity,
                        decl: Some(c.type_name.clone()),
                    })
                    .collect();
                Ok((scan_plan(t, indexes, Vec::new()), cols))
            }
            ast::TableFactor::Derived {
                lateral,
                subquery,
                alias,
                ..
            } => {
                if *lateral {
                    return Err(Error::unsupported("LATERAL"));
                }
                // The current SELECT's level is not pushed yet: the derived table sees only
                // enclosing queries.
                let out = self.bind_query(subquery)?;
                let a = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .unwrap_or_default();
                Ok(derived(out, &a))
            }
            ast::TableFactor::NestedJoin { .. } => Err(Error::unsupported("parenthesized joins")),
            other => Err(Error::unsupported(format!("FROM item {other}"))),
        }
    }

    fn bind_select(&mut self, s: &ast::Select, order: &[ast::OrderByExpr]) -> Result<SelectOut> {
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || s.qualify.is_some()
        {
            return Err(Error::unsupported("SELECT clause (TOP/INTO/QUALIFY)"));
        }
        let saved_win = std::mem::replace(&mut self.win_ok, false);
        let saved_named = std::mem::replace(&mut self.named_windows, s.named_window.clone());
        let r = self.bind_select_scoped(s, order);
        self.win_ok = saved_win;
        self.named_windows = saved_named;
        r
    }

    fn bind_select_scoped(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
    ) -> Result<SelectOut> {
        // FROM: collect items and the combined scope.
        let mut items: Vec<FromItem> = Vec::new();
        let mut scope: Vec<ScopeCol> = Vec::new();
        let mut pending_on: Vec<(usize, ast::Expr)> = Vec::new();
        let mut flat: Vec<(&ast::TableFactor, JoinKind, Option<&ast::Expr>)> = Vec::new();
        for twj in &s.from {
            flatten_from(&twj.relation, &twj.joins, JoinKind::Inner, None, &mut flat)?;
        }
        for (tf, kind, on) in flat {
            let (plan, cols) = self.bind_table_factor(tf)?;
            if let Some(e) = on {
                pending_on.push((items.len(), e.clone()));
            }
            items.push(FromItem {
                width: cols.len(),
                offset: scope.len(),
                plan,
                kind,
                on: Vec::new(),
                pushed: Vec::new(),
                step_conds: Vec::new(),
            });
            scope.extend(cols);
        }
        let width = scope.len();
        let aliases: Vec<(String, ast::Expr)> = s
            .projection
            .iter()
            .filter_map(|p| match p {
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    Some((alias.value.clone(), expr.clone()))
                }
                _ => None,
            })
            .collect();
        self.levels.push(Level {
            cols: scope,
            aliases,
        });
        let r = self.bind_select_body(s, order, items, pending_on, width);
        let lvl = self.levels.pop();
        let _ = lvl;
        r
    }

    fn bind_select_body(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
        mut items: Vec<FromItem>,
        pending_on: Vec<(usize, ast::Expr)>,
        width: usize,
    ) -> Result<SelectOut> {
        // ON clauses.
        let mut pool: Vec<Expr> = Vec::new();
        for (idx, e) in pending_on {
            let b = self.bind_expr(&e, false)?;
            let mut cs = Vec::new();
            conjuncts(b, &mut cs);
            if items[idx].kind == JoinKind::Left {
                items[idx].on.extend(cs);
            } else {
                pool.extend(cs);
            }
        }
        if let Some(w) = &s.selection {
            let b = self.bind_expr(w, false)?;
            conjuncts(b, &mut pool);
        }
        let item_of = |col: usize, items: &[FromItem]| {
            items
                .iter()
                .position(|it| col >= it.offset && col < it.offset + it.width)
                .unwrap_or(0)
        };
        let mut top_filter: Vec<Expr> = Vec::new();
        for c in pool {
            let mut cols = Vec::new();
            c.columns(&mut cols);
            if c.has_subquery() || cols.is_empty() || items.is_empty() {
                top_filter.push(c);
                continue;
            }
            let mut touched: Vec<usize> = cols.iter().map(|&x| item_of(x, &items)).collect();
            touched.sort_unstable();
            touched.dedup();
            let last = *touched.last().unwrap_or(&0);
            // A WHERE condition on a table that is (or follows) the right side of a LEFT join
            // must see the NULL-extended rows: apply it after the joins.
            let after_left = items
                .iter()
                .skip(1)
                .take(last)
                .any(|it| it.kind == JoinKind::Left);
            if after_left {
                top_filter.push(c);
            } else if touched.len() == 1 {
                let off = items[last].offset as isize;
                items[last].pushed.push(c.shift(-off));
            } else {
                items[last].step_conds.push(c);
            }
        }
        // LEFT join ON conditions that only touch the right side can filter its scan.
        for it in items.iter_mut() {
            if it.kind != JoinKind::Left {
                continue;
            }
            let (lo, hi) = (it.offset, it.offset + it.width);
            let on = std::mem::take(&mut it.on);
            for c in on {
                let mut cols = Vec::new();
                c.columns(&mut cols);
                if !c.has_subquery() && !cols.is_empty() && cols.iter().all(|&x| x >= lo && x < hi)
                {
                    it.pushed.push(c.shift(-(lo as isize)));
                } else {
                    it.step_conds.push(c);
                }
            }
        }
        let all_inner = items.len() > 1 && items.iter().all(|it| it.kind == JoinKind::Inner);
        let mut plan = if all_inner {
            Some(greedy_inner_joins(items, width))
        } else {
            build_in_order(items)
        }
        .unwrap_or(Plan::Values {
            rows: vec![Vec::new()],
        });
        if let Some(f) = and_all(top_filter) {
            plan = Plan::Filter {
                input: Box::new(plan),
                pred: f,
            };
        }
        self.finish_select(s, order, plan, width)
    }

    fn finish_select(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
        mut plan: Plan,
        width: usize,
    ) -> Result<SelectOut> {
        // Projection list (bound in the input scope; aggregates allowed).
        let mut exprs: Vec<Expr> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut affs: Vec<Affinity> = Vec::new();
        let mut decls: Vec<Option<String>> = Vec::new();
        let mut types: Vec<ColType> = Vec::new();
        for item in &s.projection {
            match item {
                ast::SelectItem::Wildcard(_) => {
                    let lvl = self
                        .levels
                        .last()
                        .map(|l| l.cols.clone())
                        .unwrap_or_default();
                    if lvl.is_empty() {
                        return Err(Error::invalid("SELECT * with no tables specified"));
                    }
                    for (i, c) in lvl.iter().enumerate() {
                        exprs.push(Expr::Column(i));
                        names.push(c.name.clone());
                        affs.push(c.aff);
                        decls.push(c.decl.clone());
                        types.push(ColType::column(c.aff));
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let t = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n)?,
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let lvl = self
                        .levels
                        .last()
                        .map(|l| l.cols.clone())
                        .unwrap_or_default();
                    let mut any = false;
                    for (i, c) in lvl.iter().enumerate() {
                        if c.table == norm(&t) {
                            any = true;
                            exprs.push(Expr::Column(i));
                            names.push(c.name.clone());
                            affs.push(c.aff);
                            decls.push(c.decl.clone());
                            types.push(ColType::column(c.aff));
                        }
                    }
                    if !any {
                        return Err(Error::UnknownTable {
                            table: t,
                            location: None,
                        });
                    }
                }
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.win_ok = true;
                    let b = self.bind_expr(e, true);
                    self.win_ok = false;
                    let b = b?;
                    let name = match item {
                        ast::SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                        _ => match e {
                            ast::Expr::Identifier(i) => i.value.clone(),
                            ast::Expr::CompoundIdentifier(v) => {
                                v.last().map(|i| i.value.clone()).unwrap_or_default()
                            }
                            other => self.render(other),
                        },
                    };
                    affs.push(self.affinity(&b));
                    types.push(self.col_type(&b));
                    decls.push(match &b {
                        Expr::Column(i) => self
                            .levels
                            .last()
                            .and_then(|l| l.cols.get(*i))
                            .and_then(|c| c.decl.clone()),
                        _ => None,
                    });
                    exprs.push(b);
                    names.push(name);
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    return Err(Error::unsupported("multiple aliases"));
                }
            }
        }
        let visible = exprs.len();

        // GROUP BY / HAVING.
        let group_exprs: Vec<Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(v, mods) => {
                if !mods.is_empty() {
                    return Err(Error::unsupported("GROUP BY modifiers"));
                }
                let mut g = Vec::new();
                for e in v {
                    // GROUP BY <n> refers to a result column.
                    if let ast::Expr::Value(val) = e
                        && let ast::Value::Number(..) = val.value
                    {
                        let p = position_of(&val.value, visible)?;
                        g.push(exprs[p].clone());
                        continue;
                    }
                    g.push(self.bind_expr(e, false)?);
                }
                g
            }
            ast::GroupByExpr::All(_) => return Err(Error::unsupported("GROUP BY ALL")),
        };
        let having = match &s.having {
            Some(h) => Some(self.bind_expr(h, true)?),
            None => None,
        };

        // ORDER BY terms: result column position, alias, or an expression.
        let mut sort_keys: Vec<SortKey> = Vec::new();
        for ob in order {
            let desc = ob.options.asc == Some(false);
            let nulls_first = ob.options.nulls_first;
            let col = match &ob.expr {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                    Some(position_of(&v.value, visible)?)
                }
                ast::Expr::Identifier(i) => names
                    .iter()
                    .take(visible)
                    .position(|n| n.eq_ignore_ascii_case(&i.value))
                    .filter(|&p| {
                        // Only when the alias is not also a plain column of another meaning.
                        let is_alias = s.projection.iter().any(|it| matches!(it, ast::SelectItem::ExprWithAlias { alias, .. } if alias.value.eq_ignore_ascii_case(&i.value)));
                        is_alias || matches!(exprs[p], Expr::Column(_))
                    }),
                _ => None,
            };
            let col = match col {
                Some(c) => c,
                None => {
                    self.win_ok = true;
                    let b = self.bind_expr(&ob.expr, true);
                    self.win_ok = false;
                    let b = b?;
                    match exprs.iter().take(visible).position(|x| *x == b) {
                        Some(p) => p,
                        None => {
                            exprs.push(b);
                            exprs.len() - 1
                        }
                    }
                }
            };
            sort_keys.push(SortKey {
                col,
                desc,
                nulls_first,
            });
        }

        let is_agg = !group_exprs.is_empty()
            || exprs.iter().any(Expr::has_agg)
            || having.as_ref().is_some_and(Expr::has_agg);
        let mut having = having;
        // The width of the rows the window functions and the projection read.
        let mut post_width = width;
        if is_agg {
            let mut aggs: Vec<AggCall> = Vec::new();
            let g = group_exprs.len();
            let rewrite = |e: Expr, aggs: &mut Vec<AggCall>| -> Expr {
                rewrite_post_agg(e, &group_exprs, aggs, width, g)
            };
            exprs = exprs.into_iter().map(|e| rewrite(e, &mut aggs)).collect();
            having = having.map(|h| rewrite(h, &mut aggs));
            post_width = width + g + aggs.len();
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group: group_exprs,
                aggs,
                input_width: width,
            };
        } else if having.is_some() {
            return Err(Error::invalid(
                "a GROUP BY clause is required before HAVING",
            ));
        }
        if let Some(h) = having {
            plan = Plan::Filter {
                input: Box::new(plan),
                pred: h,
            };
        }
        if exprs.iter().any(Expr::has_win) {
            let mut wins: Vec<WinCall> = Vec::new();
            exprs = exprs
                .into_iter()
                .map(|e| extract_windows(e, &mut wins, post_width))
                .collect();
            plan = Plan::Window {
                input: Box::new(plan),
                wins,
                input_width: post_width,
            };
        }
        let total = exprs.len();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs,
        };
        match &s.distinct {
            None | Some(ast::Distinct::All) => {}
            Some(ast::Distinct::Distinct) => {
                plan = Plan::Distinct {
                    input: Box::new(plan),
                    width: visible,
                };
            }
            Some(ast::Distinct::On(_)) => return Err(Error::unsupported("DISTINCT ON")),
        }
        if !sort_keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys: sort_keys,
            };
        }
        if total > visible {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..visible).map(Expr::Column).collect(),
            };
        }
        Ok(SelectOut {
            plan,
            names,
            affs,
            decls,
            arms: vec![types],
        })
    }

    /// What SQLite's `sqlite3ExprDataType` and `sqlite3ExprAffinity` say of a bound
    /// result expression (see [`ColType`]).
    fn col_type(&self, e: &Expr) -> ColType {
        fn data(b: &Binder<'_>, e: &Expr) -> u8 {
            match e {
                Expr::Literal(Value::Null) => 0,
                Expr::Literal(Value::Text(_)) => 0x02,
                Expr::Literal(Value::Blob(_)) => 0x04,
                Expr::Literal(_) => 0x01,
                Expr::Param(_) | Expr::Func(..) | Expr::Agg(_) | Expr::Win(_) => 0x07,
                Expr::Binary {
                    op: BinOp::Concat, ..
                } => 0x06,
                Expr::Column(_) | Expr::Outer { .. } | Expr::Cast(..) | Expr::Sub { .. } => {
                    ColType::column(b.affinity(e)).data
                }
                Expr::Case { whens, else_, .. } => {
                    let mut m = whens.iter().fold(0, |m, (_, r)| m | data(b, r));
                    if let Some(x) = else_ {
                        m |= data(b, x);
                    }
                    m
                }
                _ => 0x01,
            }
        }
        ColType {
            aff: self.affinity(e),
            data: data(self, e),
            cast: matches!(e, Expr::Cast(..)),
        }
    }

    /// Affinity of a bound expression in the current level.
    fn affinity(&self, e: &Expr) -> Affinity {
        match e {
            Expr::Column(i) => self
                .levels
                .last()
                .and_then(|l| l.cols.get(*i))
                .map(|c| c.aff)
                .unwrap_or(Affinity::Blob),
            Expr::Outer { depth, index } => self
                .levels
                .len()
                .checked_sub(1 + depth)
                .and_then(|k| self.levels.get(k))
                .and_then(|l| l.cols.get(*index))
                .map(|c| c.aff)
                .unwrap_or(Affinity::Blob),
            Expr::Cast(_, a) => *a,
            Expr::Sub {
                kind: SubKind::Scalar,
                sub,
                ..
            } => sub.affinity,
            _ => Affinity::Blob,
        }
    }

    // -----------------------------------------------------------------------------------
    // Expressions

    fn resolve_column(
        &mut self,
        table: Option<&ast::Ident>,
        col: &ast::Ident,
    ) -> Result<Option<Expr>> {
        let n = self.levels.len();
        for k in (0..n).rev() {
            let lvl = &self.levels[k];
            let matches: Vec<usize> = lvl
                .cols
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.name.eq_ignore_ascii_case(&col.value)
                        && table.is_none_or(|t| c.table == norm(&t.value))
                })
                .map(|(i, _)| i)
                .collect();
            match matches.len() {
                0 => continue,
                1 => {
                    let idx = matches[0];
                    if k + 1 == n {
                        return Ok(Some(Expr::Column(idx)));
                    }
                    self.ref_levels.push(k);
                    return Ok(Some(Expr::Outer {
                        depth: n - 1 - k,
                        index: idx,
                    }));
                }
                _ => {
                    let mut tables: Vec<String> =
                        matches.iter().map(|&i| lvl.cols[i].table.clone()).collect();
                    tables.dedup();
                    return Err(Error::AmbiguousColumn {
                        column: col.value.clone(),
                        tables,
                        location: ident_loc(col),
                    });
                }
            }
        }
        Ok(None)
    }

    fn sub_expr(
        &mut self,
        kind: SubKind,
        q: &ast::Query,
        lhs: Option<Expr>,
        negated: bool,
    ) -> Result<Expr> {
        // The subquery is bound as its own level whose only purpose is to hold its FROM.
        let (mut plan, correlated, ncols, aff) = self.bind_subquery_inner(q)?;
        // EXISTS reads no column of the rows, only whether there is one.
        plan.prune_columns(if kind == SubKind::Exists {
            Need::none()
        } else {
            Need::All
        });
        if kind != SubKind::Exists && ncols != 1 {
            return Err(Error::invalid(format!(
                "sub-select returns {ncols} columns - expected 1"
            )));
        }
        let conv = match &lhs {
            Some(l) => {
                let la = self.affinity(l);
                comparison_conv(la, aff)
            }
            None => (Affinity::Blob, Affinity::Blob),
        };
        let id = self.next_sub;
        self.next_sub += 1;
        Ok(Expr::Sub {
            kind,
            expr: lhs.map(Box::new),
            sub: Arc::new(SubQuery {
                id,
                plan,
                correlated,
                affinity: aff,
            }),
            negated,
            conv,
        })
    }

    fn bind_subquery_inner(&mut self, q: &ast::Query) -> Result<(Plan, bool, usize, Affinity)> {
        // The subquery's own SELECT level will sit at index `base`; it is correlated when
        // anything inside refers to a level below that.
        let base = self.levels.len();
        let mark = self.ref_levels.len();
        let out = self.bind_query(q)?;
        let correlated = self.ref_levels[mark..].iter().any(|&k| k < base);
        Ok((
            out.plan,
            correlated,
            out.names.len(),
            out.affs.first().copied().unwrap_or(Affinity::Blob),
        ))
    }

    pub(crate) fn bind_expr(&mut self, e: &ast::Expr, agg_ok: bool) -> Result<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(Error::invalid(format!(
                "expression nested too deeply (more than {MAX_DEPTH} levels)"
            )));
        }
        let r = self.bind_expr_inner(e, agg_ok);
        self.depth -= 1;
        r
    }

    fn bind_expr_inner(&mut self, e: &ast::Expr, agg_ok: bool) -> Result<Expr> {
        use ast::Expr as A;
        Ok(match e {
            A::Identifier(i) => {
                if let Some(x) = self.resolve_column(None, i)? {
                    return Ok(x);
                }
                // A result-column alias used in WHERE / GROUP BY / HAVING.
                let alias = self.levels.last().and_then(|l| {
                    l.aliases
                        .iter()
                        .find(|(a, _)| a.eq_ignore_ascii_case(&i.value))
                        .map(|(_, x)| x.clone())
                });
                if let Some(x) = alias {
                    // Avoid infinite recursion on `SELECT a AS a`-style self references.
                    if let Some(l) = self.levels.last_mut() {
                        l.aliases.retain(|(a, _)| !a.eq_ignore_ascii_case(&i.value));
                    }
                    return self.bind_expr(&x, agg_ok);
                }
                if i.quote_style == Some('"') {
                    return Ok(Expr::Literal(Value::Text(i.value.clone())));
                }
                match i.value.to_ascii_lowercase().as_str() {
                    "true" => Expr::Literal(Value::Integer(1)),
                    "false" => Expr::Literal(Value::Integer(0)),
                    _ => {
                        return Err(Error::UnknownColumn {
                            column: i.value.clone(),
                            table: None,
                            location: ident_loc(i),
                        });
                    }
                }
            }
            A::CompoundIdentifier(parts) => {
                let (t, c) = match parts.as_slice() {
                    [t, c] => (t, c),
                    [_, t, c] => (t, c),
                    _ => return Err(Error::unsupported(format!("name {e}"))),
                };
                match self.resolve_column(Some(t), c)? {
                    Some(x) => x,
                    None => {
                        return Err(Error::UnknownColumn {
                            column: c.value.clone(),
                            table: Some(t.value.clone()),
                            location: ident_loc(t),
                        });
                    }
                }
            }
            A::Value(v) => self.bind_value(&v.value)?,
            A::Nested(x) => self.bind_expr(x, agg_ok)?,
            A::UnaryOp { op, expr } => {
                if let (ast::UnaryOperator::Minus, A::Value(v)) = (op, expr.as_ref())
                    && let ast::Value::Number(s, _) = &v.value
                    && let Ok(i) = format!("-{s}").parse::<i64>()
                {
                    return Ok(Expr::Literal(Value::Integer(i)));
                }
                let x = self.bind_expr(expr, agg_ok)?;
                let op = match op {
                    ast::UnaryOperator::Minus => UnOp::Neg,
                    ast::UnaryOperator::Plus => UnOp::Plus,
                    ast::UnaryOperator::Not => UnOp::Not,
                    ast::UnaryOperator::BitwiseNot => UnOp::BitNot,
                    other => return Err(Error::unsupported(format!("unary operator {other}"))),
                };
                Expr::Unary(op, Box::new(x))
            }
            A::BinaryOp { op, .. } if is_bitwise(op) => self.bind_bitwise(e, agg_ok)?,
            A::BinaryOp { left, op, right } => {
                let l = self.bind_expr(left, agg_ok)?;
                let r = self.bind_expr(right, agg_ok)?;
                let bop = match op {
                    ast::BinaryOperator::And => return Ok(Expr::And(Box::new(l), Box::new(r))),
                    ast::BinaryOperator::Or => return Ok(Expr::Or(Box::new(l), Box::new(r))),
                    ast::BinaryOperator::Plus => BinOp::Add,
                    ast::BinaryOperator::Minus => BinOp::Sub,
                    ast::BinaryOperator::Multiply => BinOp::Mul,
                    ast::BinaryOperator::Divide => BinOp::Div,
                    ast::BinaryOperator::Modulo => BinOp::Rem,
                    ast::BinaryOperator::StringConcat => BinOp::Concat,
                    ast::BinaryOperator::Eq => BinOp::Eq,
                    ast::BinaryOperator::NotEq => BinOp::NotEq,
                    ast::BinaryOperator::Lt => BinOp::Lt,
                    ast::BinaryOperator::LtEq => BinOp::LtEq,
                    ast::BinaryOperator::Gt => BinOp::Gt,
                    ast::BinaryOperator::GtEq => BinOp::GtEq,
                    other => return Err(Error::unsupported(format!("operator {other}"))),
                };
                let conv = if bop.is_comparison() {
                    comparison_conv(self.affinity(&l), self.affinity(&r))
                } else {
                    (Affinity::Blob, Affinity::Blob)
                };
                Expr::Binary {
                    op: bop,
                    left: Box::new(l),
                    right: Box::new(r),
                    conv,
                }
            }
            A::IsNull(x) => Expr::IsNull(Box::new(self.bind_expr(x, agg_ok)?), false),
            A::IsNotNull(x) => Expr::IsNull(Box::new(self.bind_expr(x, agg_ok)?), true),
            A::IsDistinctFrom(a, b) | A::IsNotDistinctFrom(a, b) => {
                let l = self.bind_expr(a, agg_ok)?;
                let r = self.bind_expr(b, agg_ok)?;
                let conv = comparison_conv(self.affinity(&l), self.affinity(&r));
                Expr::Is {
                    left: Box::new(l),
                    right: Box::new(r),
                    negated: matches!(e, A::IsDistinctFrom(..)),
                    conv,
                }
            }
            A::IsTrue(x) | A::IsNotTrue(x) | A::IsFalse(x) | A::IsNotFalse(x) => {
                let b = self.bind_expr(x, agg_ok)?;
                let want = matches!(e, A::IsTrue(_) | A::IsNotTrue(_));
                let negated = matches!(e, A::IsNotTrue(_) | A::IsNotFalse(_));
                // x IS TRUE  ==  (x <> 0) IS 1, NULL-safe.
                let truth = Expr::Binary {
                    op: BinOp::NotEq,
                    left: Box::new(b),
                    right: Box::new(Expr::Literal(Value::Integer(0))),
                    conv: (Affinity::Blob, Affinity::Blob),
                };
                Expr::Is {
                    left: Box::new(truth),
                    right: Box::new(Expr::Literal(Value::Integer(i64::from(want)))),
                    negated,
                    conv: (Affinity::Blob, Affinity::Blob),
                }
            }
            A::InList {
                expr,
                list,
                negated,
            } => {
                let x = self.bind_expr(expr, agg_ok)?;
                let aff = self.affinity(&x);
                let list = list
                    .iter()
                    .map(|i| self.bind_expr(i, agg_ok))
                    .collect::<Result<Vec<_>>>()?;
                Expr::InList {
                    expr: Box::new(x),
                    list,
                    negated: *negated,
                    aff,
                }
            }
            A::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let x = self.bind_expr(expr, agg_ok)?;
                self.sub_expr(SubKind::In, subquery, Some(x), *negated)?
            }
            A::Exists { subquery, negated } => {
                self.sub_expr(SubKind::Exists, subquery, None, *negated)?
            }
            A::Subquery(q) => self.sub_expr(SubKind::Scalar, q, None, false)?,
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.bind_expr(expr, agg_ok)?;
                let lo = self.bind_expr(low, agg_ok)?;
                let hi = self.bind_expr(high, agg_ok)?;
                let xa = self.affinity(&x);
                let c1 = comparison_conv(xa, self.affinity(&lo));
                let c2 = comparison_conv(xa, self.affinity(&hi));
                Expr::Between {
                    expr: Box::new(x),
                    low: Box::new(lo),
                    high: Box::new(hi),
                    negated: *negated,
                    conv: (c1.0, c1.1, c2.1),
                }
            }
            A::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            }
            | A::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any {
                    return Err(Error::unsupported("LIKE ANY"));
                }
                let escape = match escape_char {
                    None => None,
                    Some(v) => Some(Box::new(self.bind_value(&v.value)?)),
                };
                Expr::Like {
                    expr: Box::new(self.bind_expr(expr, agg_ok)?),
                    pattern: Box::new(self.bind_expr(pattern, agg_ok)?),
                    escape,
                    negated: *negated,
                    glob: false,
                }
            }
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = match operand {
                    Some(o) => Some(Box::new(self.bind_expr(o, agg_ok)?)),
                    None => None,
                };
                let mut whens = Vec::new();
                for w in conditions {
                    let c = self.bind_expr(&w.condition, agg_ok)?;
                    let c = match &operand {
                        Some(o) => {
                            let conv = comparison_conv(self.affinity(o), self.affinity(&c));
                            Expr::Binary {
                                op: BinOp::Eq,
                                left: o.clone(),
                                right: Box::new(c),
                                conv,
                            }
                        }
                        None => c,
                    };
                    whens.push((c, self.bind_expr(&w.result, agg_ok)?));
                }
                let else_ = match else_result {
                    Some(x) => Some(Box::new(self.bind_expr(x, agg_ok)?)),
                    None => None,
                };
                // The operand was folded into each WHEN comparison.
                Expr::Case {
                    operand: None,
                    whens,
                    else_,
                }
            }
            A::Cast {
                expr, data_type, ..
            } => {
                let x = self.bind_expr(expr, agg_ok)?;
                let (_, aff) = type_affinity(data_type);
                Expr::Cast(Box::new(x), aff)
            }
            A::Collate { expr, collation } => {
                let c = collation.to_string().to_ascii_uppercase();
                if c != "BINARY" {
                    return Err(Error::unsupported(format!("COLLATE {c}")));
                }
                self.bind_expr(expr, agg_ok)?
            }
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr, agg_ok)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f, agg_ok)?,
                    None => Expr::Literal(Value::Integer(1)),
                });
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f, agg_ok)?);
                }
                Expr::Func(Func::Substr, args)
            }
            A::Trim {
                expr,
                trim_where,
                trim_what,
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(Error::unsupported("TRIM with a character list"));
                }
                let f = match trim_where {
                    None | Some(ast::TrimWhereField::Both) => Func::Trim,
                    Some(ast::TrimWhereField::Leading) => Func::LTrim,
                    Some(ast::TrimWhereField::Trailing) => Func::RTrim,
                };
                let mut args = vec![self.bind_expr(expr, agg_ok)?];
                if let Some(w) = trim_what {
                    args.push(self.bind_expr(w, agg_ok)?);
                }
                Expr::Func(f, args)
            }
            A::Function(f) => self.bind_function(f, agg_ok)?,
            A::Tuple(_) => return Err(Error::unsupported("row values (tuples)")),
            other => {
                let s = other.to_string();
                let short: String = s.chars().take(40).collect();
                return Err(Error::unsupported(format!("expression {short}")));
            }
        })
    }

    fn bind_value(&mut self, v: &ast::Value) -> Result<Expr> {
        Ok(Expr::Literal(match v {
            ast::Value::Number(s, _) => {
                if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                    match u64::from_str_radix(h, 16) {
                        Ok(n) => Value::Integer(n as i64),
                        Err(_) => return Err(Error::invalid(format!("hex literal too big: {s}"))),
                    }
                } else if let Ok(i) = s.parse::<i64>() {
                    Value::Integer(i)
                } else {
                    match s.parse::<f64>() {
                        Ok(r) => Value::real(r),
                        Err(_) => return Err(Error::invalid(format!("bad number {s}"))),
                    }
                }
            }
            ast::Value::SingleQuotedString(s)
            | ast::Value::DoubleQuotedString(s)
            | ast::Value::NationalStringLiteral(s)
            | ast::Value::EscapedStringLiteral(s) => Value::Text(s.clone()),
            ast::Value::HexStringLiteral(h) => {
                if h.len() % 2 != 0 {
                    return Err(Error::invalid(format!("malformed blob literal X'{h}'")));
                }
                let mut b = Vec::with_capacity(h.len() / 2);
                for i in (0..h.len()).step_by(2) {
                    match h.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()) {
                        Some(x) => b.push(x),
                        None => {
                            return Err(Error::invalid(format!("malformed blob literal X'{h}'")));
                        }
                    }
                }
                Value::Blob(b)
            }
            ast::Value::Boolean(b) => Value::Integer(i64::from(*b)),
            ast::Value::Null => Value::Null,
            ast::Value::Placeholder(p) => {
                let idx = if p == "?" {
                    self.next_param += 1;
                    self.next_param - 1
                } else if let Some(n) = p
                    .strip_prefix('?')
                    .or_else(|| p.strip_prefix('$'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| (1..=32766).contains(n))
                {
                    self.next_param = self.next_param.max(n);
                    n - 1
                } else {
                    return Err(Error::unsupported(format!(
                        "parameter {p} (use ?, ?N or $N)"
                    )));
                };
                self.param_count = self.param_count.max(idx + 1);
                return Ok(Expr::Param(idx));
            }
            other => return Err(Error::unsupported(format!("literal {other}"))),
        }))
    }

    fn bind_function(&mut self, f: &ast::Function, agg_ok: bool) -> Result<Expr> {
        let name = object_name(&f.name)?.to_ascii_lowercase();
        if !f.within_group.is_empty() {
            return Err(Error::unsupported("WITHIN GROUP"));
        }
        if f.null_treatment.is_some() {
            return Err(Error::unsupported(format!(
                "IGNORE/RESPECT NULLS in {name}()"
            )));
        }
        let call = call_args(f, &name)?;
        if let Some(over) = &f.over {
            return self.bind_window(&name, over, call, agg_ok);
        }
        if win_func(&name).is_some() {
            return Err(Error::invalid(format!(
                "misuse of window function {name}()"
            )));
        }
        let wrong = || Error::invalid(format!("wrong number of arguments to function {name}()"));
        let is_agg = match name.as_str() {
            "min" | "max" => call.args.len() == 1,
            n => agg_name(n).is_some(),
        };
        if is_agg {
            if !agg_ok {
                return Err(Error::invalid(format!(
                    "misuse of aggregate function {name}()"
                )));
            }
            // No window function inside an aggregate's arguments or filter.
            let saved = std::mem::replace(&mut self.win_ok, false);
            let r = self.bind_agg(&name, call);
            self.win_ok = saved;
            return r;
        }
        if call.filter.is_some() {
            return Err(Error::invalid(format!(
                "FILTER may not be used with non-aggregate {name}()"
            )));
        }
        if call.star || call.distinct {
            return Err(wrong());
        }
        let args = call.args;
        let (func, lo, hi) = scalar_func(&name).ok_or_else(|| Error::Unsupported {
            feature: format!("function {name}()"),
        })?;
        if args.len() < lo || args.len() > hi {
            return Err(wrong());
        }
        let args = args
            .into_iter()
            .map(|a| self.bind_expr(a, agg_ok))
            .collect::<Result<Vec<_>>>()?;
        Ok(Expr::Func(func, args))
    }

    /// Binds an aggregate call (not a window one), with its `FILTER (WHERE ...)`.
    fn bind_agg(&mut self, name: &str, call: CallArgs<'_>) -> Result<Expr> {
        let CallArgs {
            args,
            distinct,
            star,
            filter,
        } = call;
        let wrong = || Error::invalid(format!("wrong number of arguments to function {name}()"));
        let func = agg_name(name).ok_or_else(wrong)?;
        let filter = filter.map(|f| self.bind_expr(f, false)).transpose()?;
        let count_star = |filter| {
            Ok(Expr::Agg(Box::new(AggCall {
                func: AggFunc::CountStar,
                arg: None,
                distinct: false,
                separator: None,
                filter,
            })))
        };
        if star {
            if func != AggFunc::Count || !args.is_empty() || distinct {
                return Err(wrong());
            }
            return count_star(filter);
        }
        let (arg, sep) = match (func, args.as_slice()) {
            (AggFunc::GroupConcat, [a]) => (a, None),
            (AggFunc::GroupConcat, [a, s]) => (a, Some(*s)),
            (_, [a]) => (a, None),
            (AggFunc::Count, []) => return count_star(filter),
            _ => return Err(wrong()),
        };
        if distinct && sep.is_some() {
            return Err(Error::invalid(format!(
                "DISTINCT aggregates must have exactly one argument: {name}()"
            )));
        }
        let arg = self.bind_expr(arg, false)?;
        let separator = sep.map(|s| self.bind_expr(s, false)).transpose()?;
        Ok(Expr::Agg(Box::new(AggCall {
            func,
            arg: Some(arg),
            distinct,
            separator,
            filter,
        })))
    }

    /// Binds `name(args) OVER ...`. Arguments, PARTITION BY and ORDER BY are bound in the
    /// SELECT's input scope (aggregates allowed where the SELECT allows them: the window
    /// runs over the grouped rows), with no window function inside them.
    fn bind_window(
        &mut self,
        name: &str,
        over: &ast::WindowType,
        call: CallArgs<'_>,
        agg_ok: bool,
    ) -> Result<Expr> {
        let CallArgs {
            args,
            distinct,
            star,
            filter,
        } = call;
        if !self.win_ok {
            return Err(Error::invalid(format!(
                "misuse of window function {name}()"
            )));
        }
        let wrong = || Error::invalid(format!("wrong number of arguments to function {name}()"));
        let (func, lo, hi) = match win_func(name) {
            Some(x) => x,
            None => match agg_name(name) {
                Some(AggFunc::Count) if star => (WinFunc::Agg(AggFunc::CountStar), 0, 0),
                Some(AggFunc::Count) if args.is_empty() => (WinFunc::Agg(AggFunc::CountStar), 0, 0),
                Some(AggFunc::GroupConcat) => (WinFunc::Agg(AggFunc::GroupConcat), 1, 2),
                Some(a) => (WinFunc::Agg(a), 1, 1),
                None if scalar_func(name).is_some() => {
                    return Err(Error::invalid(format!(
                        "{name}() may not be used as a window function"
                    )));
                }
                None => return Err(Error::invalid(format!("no such function: {name}"))),
            },
        };
        if distinct {
            return Err(Error::invalid(
                "DISTINCT is not supported for window functions",
            ));
        }
        if (star && func != WinFunc::Agg(AggFunc::CountStar) && lo > 0)
            || args.len() < lo
            || args.len() > hi
        {
            return Err(wrong());
        }
        if filter.is_some() && !matches!(func, WinFunc::Agg(_)) {
            return Err(Error::invalid(
                "FILTER clause may only be used with aggregate window functions",
            ));
        }
        self.win_ok = false;
        let r = self.bind_window_parts(func, over, args, filter, agg_ok);
        self.win_ok = true;
        r
    }

    fn bind_window_parts(
        &mut self,
        func: WinFunc,
        over: &ast::WindowType,
        args: Vec<&ast::Expr>,
        filter: Option<&ast::Expr>,
        agg_ok: bool,
    ) -> Result<Expr> {
        let args = args
            .into_iter()
            .map(|a| self.bind_expr(a, agg_ok))
            .collect::<Result<Vec<_>>>()?;
        let filter = filter.map(|f| self.bind_expr(f, agg_ok)).transpose()?;
        let (partition, order, frame) = self.window_spec(over, 0)?;
        let partition = partition
            .iter()
            .map(|e| self.bind_expr(e, agg_ok))
            .collect::<Result<Vec<_>>>()?;
        let order = order
            .iter()
            .map(|o| {
                Ok(WinOrder {
                    expr: self.bind_expr(&o.expr, agg_ok)?,
                    desc: o.options.asc == Some(false),
                    nulls_first: o.options.nulls_first,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let frame = match frame {
            None => Frame::DEFAULT,
            Some(f) => bind_frame(&f)?,
        };
        if frame.has_range_offset() && order.len() != 1 {
            return Err(Error::invalid(
                "RANGE with offset PRECEDING/FOLLOWING requires one ORDER BY expression",
            ));
        }
        Ok(Expr::Win(Box::new(WinCall {
            func,
            args,
            filter,
            partition,
            order,
            frame,
        })))
    }

    /// Resolves a window (inline or named, with its base window) into its PARTITION BY,
    /// ORDER BY and frame, checking what SQLite checks of a base window.
    #[allow(clippy::type_complexity)]
    fn window_spec(
        &self,
        over: &ast::WindowType,
        depth: usize,
    ) -> Result<(
        Vec<ast::Expr>,
        Vec<ast::OrderByExpr>,
        Option<ast::WindowFrame>,
    )> {
        if depth > self.named_windows.len() {
            return Err(Error::invalid("circular window definitions"));
        }
        let lookup = |name: &ast::Ident| -> Result<ast::WindowType> {
            let def = self
                .named_windows
                .iter()
                .find(|d| d.0.value.eq_ignore_ascii_case(&name.value))
                .ok_or_else(|| Error::invalid(format!("no such window: {}", name.value)))?;
            Ok(match &def.1 {
                ast::NamedWindowExpr::NamedWindow(n) => ast::WindowType::NamedWindow(n.clone()),
                ast::NamedWindowExpr::WindowSpec(spec) => ast::WindowType::WindowSpec(spec.clone()),
            })
        };
        match over {
            ast::WindowType::NamedWindow(n) => self.window_spec(&lookup(n)?, depth + 1),
            ast::WindowType::WindowSpec(spec) => {
                let Some(base) = &spec.window_name else {
                    return Ok((
                        spec.partition_by.clone(),
                        spec.order_by.clone(),
                        spec.window_frame.clone(),
                    ));
                };
                let (bp, bo, bf) = self.window_spec(&lookup(base)?, depth + 1)?;
                let name = &base.value;
                if !spec.partition_by.is_empty() {
                    return Err(Error::invalid(format!(
                        "cannot override PARTITION clause of window: {name}"
                    )));
                }
                if !spec.order_by.is_empty() && !bo.is_empty() {
                    return Err(Error::invalid(format!(
                        "cannot override ORDER BY clause of window: {name}"
                    )));
                }
                if bf.is_some() {
                    return Err(Error::invalid(format!(
                        "cannot override frame specification of window: {name}"
                    )));
                }
                let order = if spec.order_by.is_empty() {
                    bo
                } else {
                    spec.order_by.clone()
                };
                Ok((bp, order, spec.window_frame.clone()))
            }
        }
    }
}

/// The built-in window functions: function, fewest and most arguments.
fn win_func(name: &str) -> Option<(WinFunc, usize, usize)> {
    Some(match name {
        "row_number" => (WinFunc::RowNumber, 0, 0),
        "rank" => (WinFunc::Rank, 0, 0),
        "dense_rank" => (WinFunc::DenseRank, 0, 0),
        "percent_rank" => (WinFunc::PercentRank, 0, 0),
        "cume_dist" => (WinFunc::CumeDist, 0, 0),
        "ntile" => (WinFunc::Ntile, 1, 1),
        "lag" => (WinFunc::Lag, 1, 3),
        "lead" => (WinFunc::Lead, 1, 3),
        "first_value" => (WinFunc::FirstValue, 1, 1),
        "last_value" => (WinFunc::LastValue, 1, 1),
        "nth_value" => (WinFunc::NthValue, 2, 2),
        _ => return None,
    })
}

/// Binds a frame clause: ROWS, GROUPS and RANGE with any bounds (offsets are literals:
/// whole numbers for ROWS and GROUPS, any non-negative number for RANGE).
fn bind_frame(f: &ast::WindowFrame) -> Result<Frame> {
    let units = match f.units {
        ast::WindowFrameUnits::Rows => FrameUnits::Rows,
        ast::WindowFrameUnits::Range => FrameUnits::Range,
        ast::WindowFrameUnits::Groups => FrameUnits::Groups,
    };
    let bound = |b: &ast::WindowFrameBound, what: &str| -> Result<FrameBound> {
        let offset = |e: &ast::Expr| -> Result<f64> {
            let bad = || {
                Error::invalid(if units == FrameUnits::Range {
                    format!("frame {what} offset must be a non-negative number")
                } else {
                    format!("frame {what} offset must be a non-negative integer")
                })
            };
            match e {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::Number(n, _) if units == FrameUnits::Range => n
                        .parse::<f64>()
                        .ok()
                        .filter(|k| k.is_finite() && *k >= 0.0)
                        .ok_or_else(bad),
                    ast::Value::Number(n, _) => n
                        .parse::<u64>()
                        .ok()
                        .filter(|&k| k <= i64::MAX as u64)
                        .map(|k| k as f64)
                        .ok_or_else(bad),
                    ast::Value::Null | ast::Value::SingleQuotedString(_) => Err(bad()),
                    _ => Err(Error::unsupported(
                        "a window frame offset that is not a number literal",
                    )),
                },
                ast::Expr::UnaryOp {
                    op: ast::UnaryOperator::Minus,
                    ..
                } => Err(bad()),
                _ => Err(Error::unsupported(
                    "a window frame offset that is not a number literal",
                )),
            }
        };
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(e)?),
        })
    };
    let start = bound(&f.start_bound, "starting")?;
    let end = match &f.end_bound {
        Some(b) => bound(b, "ending")?,
        None => FrameBound::CurrentRow,
    };
    let rank = |b: FrameBound| match b {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::Preceding(_) => 1,
        FrameBound::CurrentRow => 2,
        FrameBound::Following(_) => 3,
        FrameBound::UnboundedFollowing => 4,
    };
    if start == FrameBound::UnboundedFollowing || end == FrameBound::UnboundedPreceding {
        return Err(Error::invalid("unsupported frame specification"));
    }
    if rank(start) > rank(end) {
        return Err(Error::invalid("unsupported frame specification"));
    }
    Ok(Frame { units, start, end })
}

/// A function call's arguments as written.
struct CallArgs<'f> {
    args: Vec<&'f ast::Expr>,
    distinct: bool,
    /// `f(*)`.
    star: bool,
    /// `FILTER (WHERE ...)`.
    filter: Option<&'f ast::Expr>,
}

fn call_args<'f>(f: &'f ast::Function, name: &str) -> Result<CallArgs<'f>> {
    let (args, distinct, star) = match &f.args {
        ast::FunctionArguments::None => (Vec::new(), false, false),
        ast::FunctionArguments::Subquery(_) => {
            return Err(Error::unsupported("subquery as function argument list"));
        }
        ast::FunctionArguments::List(l) => {
            if !l.clauses.is_empty() {
                return Err(Error::unsupported(format!("clauses in {name}()")));
            }
            let distinct = matches!(
                l.duplicate_treatment,
                Some(ast::DuplicateTreatment::Distinct)
            );
            let mut star = false;
            let mut args = Vec::new();
            for a in &l.args {
                match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => args.push(x),
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                    _ => return Err(Error::unsupported(format!("argument form in {name}()"))),
                }
            }
            (args, distinct, star)
        }
    };
    Ok(CallArgs {
        args,
        distinct,
        star,
        filter: f.filter.as_deref(),
    })
}

/// Replaces each window call in `e` (bound on rows of `width` columns) by the column of
/// [`Plan::Window`]'s output that holds its value, collecting the calls in `wins`.
fn extract_windows(e: Expr, wins: &mut Vec<WinCall>, width: usize) -> Expr {
    e.map(&mut |x| match x {
        Expr::Win(w) => Expr::Column(width + index_or_push(wins, *w)),
        other => other,
    })
}

/// Joins FROM items left-deep in the order written (used when LEFT joins are present).
fn build_in_order(items: Vec<FromItem>) -> Option<Plan> {
    let mut plan: Option<Plan> = None;
    for it in items {
        let item_plan = push_filters(it.plan, it.pushed);
        plan = Some(match plan {
            None => filter(item_plan, it.step_conds),
            Some(left) => {
                let (lo, hi) = (it.offset, it.offset + it.width);
                let mut keys = Vec::new();
                let mut rest = Vec::new();
                for c in it.step_conds {
                    match split_equi(c, lo, hi) {
                        Ok(k) => keys.push(k),
                        Err(c) => rest.push(c),
                    }
                }
                Plan::Join {
                    left: Box::new(left),
                    right: Box::new(item_plan),
                    kind: it.kind,
                    keys,
                    on: and_all(rest),
                    right_width: it.width,
                }
            }
        });
    }
    plan
}

/// Orders inner joins greedily: start with the most selective table (a key lookup, then any
/// filter), then repeatedly join a table connected to the joined set by an equality, so hash
/// joins replace cross products. A final projection restores the FROM column layout.
fn greedy_inner_joins(items: Vec<FromItem>, width: usize) -> Plan {
    struct Ready {
        plan: Plan,
        offset: usize,
        width: usize,
        score: u8,
    }
    let mut conds: Vec<(Expr, Vec<usize>)> = Vec::new();
    let mut ready: Vec<Option<Ready>> = Vec::new();
    let spans: Vec<(usize, usize)> = items.iter().map(|it| (it.offset, it.width)).collect();
    let item_of = |col: usize| {
        spans
            .iter()
            .position(|(o, w)| col >= *o && col < o + w)
            .unwrap_or(0)
    };
    for it in items {
        for c in it.step_conds {
            let mut cols = Vec::new();
            c.columns(&mut cols);
            let mut t: Vec<usize> = cols.iter().map(|&x| item_of(x)).collect();
            t.sort_unstable();
            t.dedup();
            conds.push((c, t));
        }
        let plan = push_filters(it.plan, it.pushed);
        let score = match &plan {
            Plan::Scan {
                access: Access::Range { .. } | Access::InList { .. },
                ..
            } => 2,
            Plan::Scan {
                filter: Some(_), ..
            }
            | Plan::Filter { .. } => 1,
            _ => 0,
        };
        ready.push(Some(Ready {
            plan,
            offset: it.offset,
            width: it.width,
            score,
        }));
    }
    let n = ready.len();
    let mut joined: Vec<usize> = Vec::new();
    let mut pos = vec![0usize; width];
    let mut cur = 0usize;
    let mut plan: Option<Plan> = None;
    while joined.len() < n {
        let connected = |i: usize| {
            conds.iter().any(|(c, t)| {
                t.contains(&i)
                    && t.iter().all(|x| *x == i || joined.contains(x))
                    && matches!(c, Expr::Binary { op: BinOp::Eq, .. })
            })
        };
        let mut best: Option<(usize, (bool, u8))> = None;
        for (i, r) in ready.iter().enumerate() {
            let Some(r) = r else { continue };
            let key = (!joined.is_empty() && connected(i), r.score);
            if best.as_ref().is_none_or(|(_, k)| key > *k) {
                best = Some((i, key));
            }
        }
        let Some((i, _)) = best else { break };
        let Some(r) = ready[i].take() else { break };
        for k in 0..r.width {
            if let Some(p) = pos.get_mut(r.offset + k) {
                *p = cur + k;
            }
        }
        let (lo, hi) = (cur, cur + r.width);
        cur = hi;
        joined.push(i);
        let mut now = Vec::new();
        let mut k = 0;
        while k < conds.len() {
            if conds[k].1.iter().all(|x| joined.contains(x)) {
                let (c, _) = conds.swap_remove(k);
                now.push(c.map(&mut |e| match e {
                    Expr::Column(c) => Expr::Column(pos.get(c).copied().unwrap_or(c)),
                    o => o,
                }));
            } else {
                k += 1;
            }
        }
        plan = Some(match plan {
            None => filter(r.plan, now),
            Some(left) => {
                let mut keys = Vec::new();
                let mut rest = Vec::new();
                for c in now {
                    match split_equi(c, lo, hi) {
                        Ok(k) => keys.push(k),
                        Err(c) => rest.push(c),
                    }
                }
                Plan::Join {
                    left: Box::new(left),
                    right: Box::new(r.plan),
                    kind: JoinKind::Inner,
                    keys,
                    on: and_all(rest),
                    right_width: r.width,
                }
            }
        });
    }
    let plan = plan.unwrap_or(Plan::Values {
        rows: vec![Vec::new()],
    });
    if pos.iter().enumerate().all(|(i, p)| i == *p) {
        plan
    } else {
        Plan::Project {
            input: Box::new(plan),
            exprs: pos.into_iter().map(Expr::Column).collect(),
        }
    }
}

fn join_kind(op: &ast::JoinOperator) -> Result<(JoinKind, Option<&ast::Expr>)> {
    let (kind, cons) = match op {
        ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (JoinKind::Inner, c),
        ast::JoinOperator::CrossJoin(c) => (JoinKind::Inner, c),
        ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
        other => {
            return Err(Error::unsupported(
                format!("join kind {other:?}")
                    .split('(')
                    .next()
                    .unwrap_or("join")
                    .to_string(),
            ));
        }
    };
    match cons {
        ast::JoinConstraint::On(e) => Ok((kind, Some(e))),
        ast::JoinConstraint::None => Ok((kind, None)),
        ast::JoinConstraint::Using(_) => Err(Error::unsupported("JOIN ... USING")),
        ast::JoinConstraint::Natural => Err(Error::unsupported("NATURAL JOIN")),
    }
}

/// Flattens a FROM item and its joins into a left-deep list. A parenthesized join group is
/// inlined when it and the join that attaches it are inner joins (then its ON conditions
/// are ordinary conjuncts); other parenthesized joins are not supported.
fn flatten_from<'q>(
    tf: &'q ast::TableFactor,
    joins: &'q [ast::Join],
    kind: JoinKind,
    on: Option<&'q ast::Expr>,
    out: &mut Vec<(&'q ast::TableFactor, JoinKind, Option<&'q ast::Expr>)>,
) -> Result<()> {
    match tf {
        ast::TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } => {
            let inner_only = table_with_joins
                .joins
                .iter()
                .all(|j| matches!(join_kind(&j.join_operator), Ok((JoinKind::Inner, _))));
            if kind != JoinKind::Inner || !inner_only {
                return Err(Error::unsupported("parenthesized outer joins"));
            }
            let start = out.len();
            flatten_from(
                &table_with_joins.relation,
                &table_with_joins.joins,
                JoinKind::Inner,
                None,
                out,
            )?;
            if let Some(e) = on {
                // Inner join: the condition may be attached to any member of the group; the
                // group's first member never has one of its own.
                if let Some(first) = out.get_mut(start) {
                    first.2 = Some(e);
                }
            }
        }
        ast::TableFactor::NestedJoin { .. } => {
            return Err(Error::unsupported("parenthesized joins with an alias"));
        }
        _ => out.push((tf, kind, on)),
    }
    for j in joins {
        let (k, c) = join_kind(&j.join_operator)?;
        flatten_from(&j.relation, &[], k, c, out)?;
    }
    Ok(())
}

/// Drops the text position from an error (one found in a view's stored SELECT).
fn without_location(e: Error) -> Error {
    match e {
        Error::Syntax { message, .. } => Error::Syntax {
            message,
            location: None,
        },
        Error::UnknownTable { table, .. } => Error::UnknownTable {
            table,
            location: None,
        },
        Error::UnknownColumn { column, table, .. } => Error::UnknownColumn {
            column,
            table,
            location: None,
        },
        Error::AmbiguousColumn { column, tables, .. } => Error::AmbiguousColumn {
            column,
            tables,
            location: None,
        },
        other => other,
    }
}

fn cannot_modify_view(name: &str) -> String {
    format!("cannot modify {name} because it is a view")
}

/// Parses a view's stored SELECT.
pub(crate) fn parse_view(v: &View) -> Result<(ast::Query, Notes)> {
    let bad = |why: String| Error::Corrupt {
        message: format!("view {}: stored SELECT {why}", v.name),
    };
    if v.sql.len() > MAX_VIEW_SQL {
        return Err(bad(format!("is longer than {MAX_VIEW_SQL} bytes")));
    }
    let mut parsed =
        crate::parse::parse(&v.sql).map_err(|e| bad(format!("does not parse: {e}")))?;
    match parsed.ast.pop() {
        Some(ast::Statement::Query(q)) if parsed.ast.is_empty() => Ok((*q, parsed.notes)),
        _ => Err(bad("is not a single SELECT".into())),
    }
}

/// A view's column names: the names given in `CREATE VIEW v (a, b)` (as many as the SELECT
/// has result columns), else the SELECT's result names made unique as SQLite does
/// (`a`, `a:1`, `a:2`, ...).
fn view_column_names(view: &str, given: &[String], names: Vec<String>) -> Result<Vec<String>> {
    if !given.is_empty() {
        if given.len() != names.len() {
            return Err(Error::invalid(format!(
                "expected {} columns for '{view}' but got {}",
                given.len(),
                names.len()
            )));
        }
        return Ok(given.to_vec());
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    let taken = |out: &[String], n: &str| out.iter().any(|x| x.eq_ignore_ascii_case(n));
    for n in names {
        if !taken(&out, &n) {
            out.push(n);
            continue;
        }
        // Strip a `:digits` suffix, then count up until the name is free.
        let base = match n.rfind(':') {
            Some(p) if p > 0 && n[p + 1..].bytes().all(|b| b.is_ascii_digit()) => &n[..p],
            _ => n.as_str(),
        };
        let mut k = 1u64;
        let mut candidate = format!("{base}:{k}");
        while taken(&out, &candidate) {
            k += 1;
            candidate = format!("{base}:{k}");
        }
        out.push(candidate);
    }
    Ok(out)
}

fn position_of(v: &ast::Value, n: usize) -> Result<usize> {
    match v {
        ast::Value::Number(s, _) => match s.parse::<usize>() {
            Ok(k) if k >= 1 && k <= n => Ok(k - 1),
            _ => Err(Error::invalid(format!(
                "term {s} out of range - should be between 1 and {n}"
            ))),
        },
        other => Err(Error::invalid(format!("bad ORDER BY term {other}"))),
    }
}

/// The position of `x` in `v`, appending it first if it is not there (equal aggregate or
/// window calls share one output column).
fn index_or_push<T: PartialEq>(v: &mut Vec<T>, x: T) -> usize {
    match v.iter().position(|y| *y == x) {
        Some(k) => k,
        None => {
            v.push(x);
            v.len() - 1
        }
    }
}

/// Rewrites an expression bound in the input scope so it evaluates on aggregate output rows.
fn rewrite_post_agg(e: Expr, groups: &[Expr], aggs: &mut Vec<AggCall>, w: usize, g: usize) -> Expr {
    if let Some(i) = groups.iter().position(|x| *x == e) {
        return Expr::Column(w + i);
    }
    match e {
        Expr::Agg(a) => {
            let k = index_or_push(aggs, *a);
            Expr::Column(w + g + k)
        }
        Expr::Column(c) => Expr::Column(c),
        Expr::Literal(_) | Expr::Param(_) | Expr::Outer { .. } => e,
        other => {
            // Rewrite children top-down (so that group expressions match before their parts).
            rewrite_children(other, &mut |c| rewrite_post_agg(c, groups, aggs, w, g))
        }
    }
}

fn rewrite_children(e: Expr, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
    let b = |x: Box<Expr>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(f(*x));
    match e {
        Expr::Unary(op, x) => Expr::Unary(op, b(x, f)),
        Expr::IsNull(x, n) => Expr::IsNull(b(x, f), n),
        Expr::Cast(x, a) => Expr::Cast(b(x, f), a),
        Expr::ApplyAff(x, a) => Expr::ApplyAff(b(x, f), a),
        Expr::Binary {
            op,
            left,
            right,
            conv,
        } => Expr::Binary {
            op,
            left: b(left, f),
            right: b(right, f),
            conv,
        },
        Expr::Is {
            left,
            right,
            negated,
            conv,
        } => Expr::Is {
            left: b(left, f),
            right: b(right, f),
            negated,
            conv,
        },
        Expr::And(x, y) => Expr::And(b(x, f), b(y, f)),
        Expr::Or(x, y) => Expr::Or(b(x, f), b(y, f)),
        Expr::InList {
            expr,
            list,
            negated,
            aff,
        } => Expr::InList {
            expr: b(expr, f),
            list: list.into_iter().map(&mut *f).collect(),
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
            expr: expr.map(|x| b(x, f)),
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
            expr: b(expr, f),
            low: b(low, f),
            high: b(high, f),
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
            expr: b(expr, f),
            pattern: b(pattern, f),
            escape: escape.map(|x| b(x, f)),
            negated,
            glob,
        },
        Expr::Case {
            operand,
            whens,
            else_,
        } => Expr::Case {
            operand: operand.map(|x| b(x, f)),
            whens: whens.into_iter().map(|(w, t)| (f(w), f(t))).collect(),
            else_: else_.map(|x| b(x, f)),
        },
        Expr::Func(func, args) => Expr::Func(func, args.into_iter().map(&mut *f).collect()),
        Expr::Win(w) => {
            let w = *w;
            Expr::Win(Box::new(WinCall {
                func: w.func,
                args: w.args.into_iter().map(&mut *f).collect(),
                filter: w.filter.map(&mut *f),
                partition: w.partition.into_iter().map(&mut *f).collect(),
                order: w
                    .order
                    .into_iter()
                    .map(|o| WinOrder {
                        expr: f(o.expr),
                        ..o
                    })
                    .collect(),
                frame: w.frame,
            }))
        }
        other => other,
    }
}

/// A bound subquery as a FROM item named `alias`: its plan and its columns.
/// Derived tables, views and CTEs read a compound SELECT as SQLite reads its temporary
/// table: an integer in a column of REAL affinity (the leftmost SELECT's) comes out as a
/// real, as SQLite's `OP_RealAffinity` makes it. (A recursive CTE converts its rows itself,
/// before its recursive SELECT reads them.)
fn derived(mut out: SelectOut, alias: &str) -> (Plan, Vec<ScopeCol>) {
    fn is_compound(p: &Plan) -> bool {
        match p {
            Plan::SetOp { .. } => true,
            Plan::Limit { input, .. } | Plan::Sort { input, .. } => is_compound(input),
            _ => false,
        }
    }
    if out.arms.len() > 1 {
        out.affs = table_affinities(&out.arms, &[]);
    }
    let cols = real_columns(&out.affs);
    if !cols.is_empty() && is_compound(&out.plan) {
        let input = std::mem::replace(&mut out.plan, Plan::Values { rows: Vec::new() });
        out.plan = Plan::RealAffinity {
            input: Box::new(input),
            cols,
        };
    }
    let cols = out
        .names
        .iter()
        .zip(out.affs.iter().zip(out.decls.iter()))
        .map(|(n, (aff, d))| ScopeCol {
            table: norm(alias),
            name: n.clone(),
            aff: *aff,
            decl: d.clone(),
        })
        .collect();
    (out.plan, cols)
}

/// The column affinities of a compound SELECT read as a table (see [`compound_affinity`]),
/// over the SELECTs of `arms` then `more`.
fn table_affinities(arms: &[Vec<ColType>], more: &[Vec<ColType>]) -> Vec<Affinity> {
    let all: Vec<&Vec<ColType>> = arms.iter().chain(more).collect();
    let width = all.first().map_or(0, |a| a.len());
    (0..width)
        .map(|c| {
            let col: Vec<ColType> = all.iter().filter_map(|a| a.get(c).copied()).collect();
            compound_affinity(&col)
        })
        .collect()
}

/// The positions of the columns with REAL affinity.
fn real_columns(affs: &[Affinity]) -> Vec<usize> {
    affs.iter()
        .enumerate()
        .filter(|(_, a)| **a == Affinity::Real)
        .map(|(i, _)| i)
        .collect()
}

/// A CTE that names itself outside a recursive UNION: SQLite's "circular reference".
fn circular(e: Error, cte: &str) -> Error {
    match e {
        Error::UnknownTable { table, .. } if table.eq_ignore_ascii_case(cte) => {
            Error::invalid(format!("circular reference: {cte}"))
        }
        other => other,
    }
}

fn filter(plan: Plan, conds: Vec<Expr>) -> Plan {
    match and_all(conds) {
        None => plan,
        Some(pred) => Plan::Filter {
            input: Box::new(plan),
            pred,
        },
    }
}

fn push_filters(plan: Plan, conds: Vec<Expr>) -> Plan {
    match plan {
        Plan::Scan { table, indexes, .. } => scan_plan(table, indexes, conds),
        other => filter(other, conds),
    }
}

/// Splits `left_expr = right_expr` into hash-join keys when the sides separate cleanly.
fn split_equi(
    c: Expr,
    lo: usize,
    hi: usize,
) -> std::result::Result<(Expr, Expr, (Affinity, Affinity)), Expr> {
    if let Expr::Binary {
        op: BinOp::Eq,
        left,
        right,
        conv,
    } = &c
    {
        let side = |e: &Expr| -> Option<bool> {
            if e.has_subquery() {
                return None;
            }
            let mut cols = Vec::new();
            e.columns(&mut cols);
            if cols.is_empty() {
                None
            } else if cols.iter().all(|&x| x < lo) {
                Some(false)
            } else if cols.iter().all(|&x| x >= lo && x < hi) {
                Some(true)
            } else {
                None
            }
        };
        match (side(left), side(right)) {
            (Some(false), Some(true)) => {
                return Ok((
                    (**left).clone(),
                    (**right).clone().shift(-(lo as isize)),
                    *conv,
                ));
            }
            (Some(true), Some(false)) => {
                return Ok((
                    (**right).clone(),
                    (**left).clone().shift(-(lo as isize)),
                    (conv.1, conv.0),
                ));
            }
            _ => {}
        }
    }
    Err(c)
}

/// Chooses the access path for a table scan given its (table-local) conjuncts. The
/// conjuncts the key range enforces exactly are left out of the scan's filter.
pub(crate) fn scan_plan(table: Arc<Table>, indexes: IndexChoice, conds: Vec<Expr>) -> Plan {
    let (access, enforced) = choose_access(&table, indexes, &conds);
    let conds = conds
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !enforced.contains(i))
        .map(|(_, c)| c)
        .collect();
    Plan::Scan {
        table,
        access,
        filter: and_all(conds),
        needed: None,
        indexes,
    }
}

/// `col OP const` facts usable for key ranges.
struct Fact {
    col: usize,
    op: BinOp,
    value: Expr,
    /// The conjunct it comes from.
    cond: usize,
}

/// What the conjuncts of a scan say about key ranges.
struct Facts {
    ranges: Vec<Fact>,
    /// `col IN (consts)` lists.
    ins: Vec<(usize, Vec<Expr>)>,
    /// Per conjunct: whether its facts say all it says (a BETWEEN with a non-constant
    /// bound does not).
    whole: Vec<bool>,
}

fn facts(conds: &[Expr]) -> Facts {
    let mut out = Vec::new();
    let mut ins = Vec::new();
    let mut whole = vec![false; conds.len()];
    let konst = |e: &Expr| e.is_row_independent();
    for (cond, c) in conds.iter().enumerate() {
        match c {
            Expr::Binary {
                op,
                left,
                right,
                conv,
            } if op.is_comparison() && *op != BinOp::NotEq => {
                let flip = |op: BinOp| match op {
                    BinOp::Lt => BinOp::Gt,
                    BinOp::LtEq => BinOp::GtEq,
                    BinOp::Gt => BinOp::Lt,
                    BinOp::GtEq => BinOp::LtEq,
                    o => o,
                };
                match (left.as_ref(), right.as_ref()) {
                    (Expr::Column(col), v) if konst(v) && conv.0 == Affinity::Blob => {
                        whole[cond] = true;
                        out.push(Fact {
                            col: *col,
                            op: *op,
                            value: conv_expr(v.clone(), conv.1),
                            cond,
                        })
                    }
                    (v, Expr::Column(col)) if konst(v) && conv.1 == Affinity::Blob => {
                        whole[cond] = true;
                        out.push(Fact {
                            col: *col,
                            op: flip(*op),
                            value: conv_expr(v.clone(), conv.0),
                            cond,
                        })
                    }
                    _ => {}
                }
            }
            Expr::Between {
                expr,
                low,
                high,
                negated: false,
                conv,
            } => {
                if let Expr::Column(col) = expr.as_ref()
                    && conv.0 == Affinity::Blob
                {
                    whole[cond] = konst(low) && konst(high);
                    if konst(low) {
                        out.push(Fact {
                            col: *col,
                            op: BinOp::GtEq,
                            value: conv_expr((**low).clone(), conv.1),
                            cond,
                        });
                    }
                    if konst(high) {
                        out.push(Fact {
                            col: *col,
                            op: BinOp::LtEq,
                            value: conv_expr((**high).clone(), conv.2),
                            cond,
                        });
                    }
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
                aff,
            } => {
                if let Expr::Column(col) = expr.as_ref()
                    && list.iter().all(konst)
                    && !list.is_empty()
                {
                    ins.push((
                        *col,
                        list.iter().map(|v| conv_expr(v.clone(), *aff)).collect(),
                    ));
                }
            }
            _ => {}
        }
    }
    Facts {
        ranges: out,
        ins,
        whole,
    }
}

/// Wraps a key value in the comparison's affinity conversion (applied at execution time).
fn conv_expr(v: Expr, aff: Affinity) -> Expr {
    if aff == Affinity::Blob {
        v
    } else {
        Expr::ApplyAff(Box::new(v), aff)
    }
}

/// The best access path for the conjuncts, and the conjuncts its key range enforces
/// exactly (the scan need not test them again).
///
/// A range over the key encoding is exact for `col OP const` with no conversion on the
/// column's side: key order is SQLite's comparison order (NULL < numbers < text < blob,
/// BINARY collation), a NULL constant makes the range empty, and a range with no lower
/// bound starts above the NULLs (see `exec::access_ranges`). `IN` lists are not counted.
///
/// `indexes` limits the candidates (INDEXED BY, NOT INDEXED); INDEXED BY an index no
/// conjunct can use reads the whole index.
fn choose_access(table: &Table, indexes: IndexChoice, conds: &[Expr]) -> (Access, Vec<usize>) {
    let Facts {
        ranges: facts,
        ins,
        whole,
    } = facts(conds);
    let mut best: Option<(usize, Access, Vec<usize>)> = None;
    let mut candidates: Vec<(Option<usize>, &[usize])> = Vec::new();
    if !table.pk.is_empty() && !matches!(indexes, IndexChoice::Only(_)) {
        candidates.push((None, &table.pk));
    }
    for (i, ix) in table.indexes.iter().enumerate() {
        let allowed = match indexes {
            IndexChoice::Any => true,
            IndexChoice::NoIndex => false,
            IndexChoice::Only(only) => i == only,
        };
        if allowed {
            candidates.push((Some(i), &ix.columns));
        }
    }
    for (index, cols) in candidates {
        let mut eq = Vec::new();
        let mut used = Vec::new();
        for c in cols {
            match facts.iter().find(|f| f.col == *c && f.op == BinOp::Eq) {
                Some(f) => {
                    eq.push(f.value.clone());
                    used.push(f.cond);
                }
                None => break,
            }
        }
        let (mut lower, mut upper) = (None, None);
        if let Some(next) = cols.get(eq.len()) {
            for f in facts.iter().filter(|f| f.col == *next) {
                match f.op {
                    BinOp::Gt | BinOp::GtEq if lower.is_none() => {
                        lower = Some((f.value.clone(), f.op == BinOp::GtEq));
                        used.push(f.cond);
                    }
                    BinOp::Lt | BinOp::LtEq if upper.is_none() => {
                        upper = Some((f.value.clone(), f.op == BinOp::LtEq));
                        used.push(f.cond);
                    }
                    _ => {}
                }
            }
        }
        let full = eq.len() == cols.len();
        let score = eq.len() * 10
            + usize::from(lower.is_some()) * 3
            + usize::from(upper.is_some()) * 3
            + usize::from(full) * 5
            + usize::from(index.is_none());
        if eq.is_empty() && lower.is_none() && upper.is_none() {
            if let Some((_, vals)) = ins.iter().find(|(c, _)| Some(c) == cols.first()) {
                let s = 8 + usize::from(index.is_none());
                if best.as_ref().is_none_or(|(b, ..)| s > *b) {
                    best = Some((
                        s,
                        Access::InList {
                            index,
                            values: vals.clone(),
                        },
                        Vec::new(),
                    ));
                }
            }
            continue;
        }
        if best.as_ref().is_none_or(|(b, ..)| score > *b) {
            best = Some((
                score,
                Access::Range {
                    index,
                    eq,
                    lower,
                    upper,
                },
                used,
            ));
        }
    }
    // A table keyed by an INTEGER PRIMARY KEY or rowid has no pk columns list entry for
    // hidden rowids; nothing more to try.
    let Some((_, access, used)) = best else {
        let access = match indexes {
            IndexChoice::Only(i) => Access::Range {
                index: Some(i),
                eq: Vec::new(),
                lower: None,
                upper: None,
            },
            _ => Access::Full,
        };
        return (access, Vec::new());
    };
    // A conjunct is enforced when it says no more than its facts and the range took them
    // all (both halves of a BETWEEN).
    let enforced = (0..conds.len())
        .filter(|&c| {
            whole[c]
                && used.iter().filter(|&&u| u == c).count()
                    == facts.iter().filter(|f| f.cond == c).count()
        })
        .collect();
    (access, enforced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog_with_views(views: &[(&str, &str)]) -> Catalog {
        let mut c = Catalog::default();
        for (name, sql) in views {
            c.views.insert(
                norm(name),
                Arc::new(View {
                    name: (*name).to_string(),
                    columns: Vec::new(),
                    sql: (*sql).to_string(),
                }),
            );
        }
        c
    }

    fn bind(c: &Catalog, sql: &str) -> Result<Stmt> {
        let parsed = crate::parse::parse(sql)?;
        Binder::new(c).bind_statement(&parsed.ast[0])
    }

    #[test]
    fn circular_views_are_an_error_not_an_endless_expansion() {
        // Such a catalog cannot be made through SQL (CREATE VIEW binds its SELECT first),
        // but a stored catalog must still never expand forever.
        let c = catalog_with_views(&[
            ("a", "SELECT * FROM b"),
            ("b", "SELECT * FROM a"),
            ("s", "SELECT * FROM s"),
        ]);
        for q in ["SELECT * FROM a", "SELECT * FROM s", "SELECT 1 IN b"] {
            let e = bind(&c, q).unwrap_err();
            assert_eq!(e.code(), crate::error::ErrorCode::InvalidArgument, "{q}");
            assert!(e.to_string().contains("circularly defined"), "{q}: {e}");
        }
    }

    #[test]
    fn view_nesting_is_limited() {
        let mut views: Vec<(String, String)> = vec![("v0".into(), "SELECT 1 AS x".into())];
        for i in 1..=MAX_VIEW_DEPTH + 5 {
            views.push((format!("v{i}"), format!("SELECT x FROM v{}", i - 1)));
        }
        let refs: Vec<(&str, &str)> = views
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let c = catalog_with_views(&refs);
        assert!(bind(&c, &format!("SELECT x FROM v{}", MAX_VIEW_DEPTH - 1)).is_ok());
        let e = bind(&c, &format!("SELECT x FROM v{}", MAX_VIEW_DEPTH + 5)).unwrap_err();
        assert!(e.to_string().contains("nested too deeply"), "{e}");
    }

    #[test]
    fn stored_view_text_that_is_not_a_select_is_corrupt() {
        let c = catalog_with_views(&[("x", "DELETE FROM t"), ("y", "SELEC 1")]);
        for q in ["SELECT * FROM x", "SELECT * FROM y"] {
            let e = bind(&c, q).unwrap_err();
            assert_eq!(e.code(), crate::error::ErrorCode::Corrupt, "{q}: {e}");
        }
    }

    #[test]
    fn view_names_are_made_unique() {
        let n = |v: &[&str]| {
            view_column_names("v", &[], v.iter().map(|s| s.to_string()).collect()).unwrap()
        };
        assert_eq!(n(&["a", "A", "b", "a"]), vec!["a", "A:1", "b", "a:2"]);
        assert_eq!(n(&["a:1", "a", "a:1"]), vec!["a:1", "a", "a:2"]);
        assert!(view_column_names("v", &["x".into()], vec!["a".into(), "b".into()]).is_err());
    }

    /// A catalog with `t (a, b, c, d)` and `u (id INTEGER PRIMARY KEY, x, y)`, `t`
    /// indexed on `c`.
    fn two_tables() -> Catalog {
        let mut c = Catalog::default();
        for sql in [
            "CREATE TABLE t (a, b, c, d)",
            "CREATE TABLE u (id INTEGER PRIMARY KEY, x, y)",
        ] {
            let Stmt::CreateTable { mut table, .. } = bind(&c, sql).unwrap() else {
                unreachable!()
            };
            table.id = c.tables.len() as u32 + 1;
            if table.name == "t" {
                table.indexes.push(crate::catalog::Index {
                    name: "t_c".into(),
                    id: 9,
                    columns: vec![2],
                    unique: false,
                });
            }
            c.tables.insert(norm(&table.name), Arc::new(table));
        }
        c
    }

    /// The columns a scan decodes (`None`: all of them).
    type Mask = Option<Vec<bool>>;

    /// Each table scan of the statement's plans (subqueries included), in plan order:
    /// the table and the columns it decodes.
    fn scans(st: &Stmt) -> Vec<(String, Mask)> {
        fn walk(p: &Plan, out: &mut Vec<(String, Mask)>) {
            let mut exprs: Vec<&Expr> = Vec::new();
            match p {
                Plan::Scan {
                    table,
                    needed,
                    filter,
                    ..
                } => {
                    out.push((table.name.clone(), needed.clone()));
                    exprs.extend(filter);
                }
                Plan::Values { .. } | Plan::WorkTable { .. } => {}
                Plan::Filter { input, pred } => {
                    exprs.push(pred);
                    walk(input, out);
                }
                Plan::Project { input, exprs: e } => {
                    exprs.extend(e);
                    walk(input, out);
                }
                Plan::Join { left, right, .. }
                | Plan::SetOp { left, right, .. }
                | Plan::Recursive {
                    initial: left,
                    step: right,
                    ..
                } => {
                    walk(left, out);
                    walk(right, out);
                }
                Plan::Aggregate { input, .. }
                | Plan::Window { input, .. }
                | Plan::Sort { input, .. }
                | Plan::Distinct { input, .. }
                | Plan::Limit { input, .. }
                | Plan::RealAffinity { input, .. } => walk(input, out),
            }
            // Subquery plans come after the plan that holds them.
            let subs = std::cell::RefCell::new(Vec::new());
            for e in exprs {
                e.any(&|x| {
                    if let Expr::Sub { sub, .. } = x {
                        walk(&sub.plan, &mut subs.borrow_mut());
                    }
                    false
                });
            }
            out.append(&mut subs.borrow_mut());
        }
        let mut out = Vec::new();
        if let Stmt::Query { plan, .. } | Stmt::Insert { source: plan, .. } = st {
            walk(plan, &mut out);
        }
        out
    }

    #[test]
    fn scans_decode_only_the_columns_the_query_reads() {
        let c = two_tables();
        let cols = |v: &[usize], n: usize| Some((0..n).map(|i| v.contains(&i)).collect());
        let cases: Vec<(&str, Vec<(&str, Mask)>)> = vec![
            ("SELECT * FROM t", vec![("t", None)]),
            ("SELECT b FROM t", vec![("t", cols(&[1], 4))]),
            ("SELECT b FROM t WHERE d > 1", vec![("t", cols(&[1, 3], 4))]),
            // The index range enforces `c BETWEEN`, so `c` is not read.
            (
                "SELECT a FROM t WHERE c BETWEEN 1 AND 2",
                vec![("t", cols(&[0], 4))],
            ),
            (
                "SELECT count(*) FROM t WHERE c = 1",
                vec![("t", cols(&[], 4))],
            ),
            (
                "SELECT b, count(*) FROM t GROUP BY b ORDER BY 2",
                vec![("t", cols(&[1], 4))],
            ),
            (
                "SELECT max(d) FROM t GROUP BY a HAVING sum(b) > 0",
                vec![("t", cols(&[0, 1, 3], 4))],
            ),
            (
                "SELECT t.a, u.y FROM t JOIN u ON u.x = t.b",
                vec![("t", cols(&[0, 1], 4)), ("u", cols(&[1, 2], 3))],
            ),
            (
                "SELECT t.a FROM t LEFT JOIN u ON u.id = t.d AND u.y > 2",
                vec![("t", cols(&[0, 3], 4)), ("u", cols(&[0, 2], 3))],
            ),
            (
                "SELECT a, row_number() OVER (PARTITION BY b ORDER BY d) FROM t",
                vec![("t", cols(&[0, 1, 3], 4))],
            ),
            (
                "SELECT x FROM (SELECT a AS x, b AS y FROM t)",
                vec![("t", cols(&[0, 1], 4))],
            ),
            // Whole rows are compared.
            (
                "SELECT DISTINCT a FROM (SELECT * FROM t)",
                vec![("t", None)],
            ),
            (
                "SELECT a FROM t UNION SELECT x FROM u",
                vec![("t", cols(&[0], 4)), ("u", cols(&[1], 3))],
            ),
            // A correlated subquery reads the outer row by position: all of it.
            (
                "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = t.b)",
                vec![("t", None), ("u", cols(&[1], 3))],
            ),
            (
                "SELECT a FROM t WHERE b IN (SELECT y FROM u WHERE x > 0)",
                vec![("t", cols(&[0, 1], 4)), ("u", cols(&[1, 2], 3))],
            ),
            (
                "INSERT INTO u (x) SELECT d FROM t",
                vec![("t", cols(&[3], 4))],
            ),
        ];
        for (sql, want) in cases {
            let st = bind(&c, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let want: Vec<(String, Mask)> =
                want.into_iter().map(|(t, n)| (t.to_string(), n)).collect();
            assert_eq!(scans(&st), want, "{sql}");
        }
    }
}
