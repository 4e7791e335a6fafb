//! The engine: parsing, statement cache, catalog cache, transactions, statement execution.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlparser::ast;
use toondb_storage::{Database, Keyspace, Transaction};

use crate::bind::{Binder, Stmt};
use crate::catalog::{Catalog, Index, norm};
use crate::error::{Error, Result};
use crate::exec::{Ctx, FastMap, Writer, index_prefix, run, table_prefix};
use crate::kv::StmtKv;
use crate::parse::{Parsed, parse};
use crate::result::SqlResult;
use crate::value::Value;

/// The keyspace holding all SQL data.
pub const SQL_KEYSPACE: &str = "sql";
const META_VERSION: &[u8] = &[0x01, b'v'];
const META_CATALOG: &[u8] = &[0x01, b'c'];
const STMT_CACHE_CAP: usize = 512;
const CATALOG_CACHE_CAP: usize = 16;
const AUTOCOMMIT_ATTEMPTS: u32 = 40;
/// SQL texts longer than this are parsed, planned and run on a helper thread with a large
/// stack: sqlparser builds (and drops) expression trees recursively, and a long operator
/// chain such as `1 + 1 + ... + 1` nests as deep as it is long.
const BIG_SQL: usize = 8 * 1024;
const BIG_STACK: usize = 512 * 1024 * 1024;

/// Runs `f` on a scoped thread with a large stack when `sql` is long, inline otherwise.
fn with_stack_for<T: Send>(sql: &str, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if sql.len() <= BIG_SQL {
        return f();
    }
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .stack_size(BIG_STACK)
            .spawn_scoped(s, f)
        {
            Ok(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::invalid("statement processing thread failed"))),
            Err(e) => Err(Error::invalid(format!(
                "cannot start a thread for a large statement: {e}"
            ))),
        }
    })
}

fn backoff(attempt: u32) {
    // Exponential backoff with jitter, capped at ~8 ms.
    let base = 50u64 << attempt.min(7);
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) % base.max(1))
        .unwrap_or(0);
    std::thread::sleep(std::time::Duration::from_micros(base + jitter));
}

/// A catalog version token (empty before the first DDL).
type Token = Arc<[u8]>;

/// A bound statement, the catalog version it was bound against, and its parameter count.
type CachedPlan = (Token, Arc<Stmt>, usize);

/// What one transaction learned of its snapshot, remembered between its statements: the
/// catalog it reads (so that each statement does not read the catalog version again; the
/// snapshot never changes, so the catalog only changes by the transaction's own DDL, which
/// clears it) and which key prefixes the snapshot holds keys under (see
/// [`StmtKv::snapshot_has_prefix`]).
#[derive(Default)]
pub(crate) struct TxnState {
    txn_id: Option<u64>,
    current: Option<(Token, Arc<Catalog>)>,
    prefixes: FastMap<Vec<u8>, bool>,
}

impl TxnState {
    /// Starts remembering for transaction `id`, forgetting what another one learned.
    fn enter(&mut self, id: u64) {
        if self.txn_id != Some(id) {
            self.txn_id = Some(id);
            self.current = None;
            self.prefixes.clear();
        }
    }
}

struct Prepared {
    /// The statements, and how to map error positions back to the text as written.
    parsed: Parsed,
    /// For single-statement texts: the plan bound against catalog version `.0`.
    plan: Mutex<Option<CachedPlan>>,
}

/// Counters of the engine's caches (for tests and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// SQL texts parsed (statement-cache misses).
    pub parses: u64,
    /// Statements bound and planned (plan-cache misses).
    pub plans: u64,
    /// Statements run from a cached plan.
    pub plan_hits: u64,
}

#[derive(Default)]
struct Counters {
    parses: AtomicU64,
    plans: AtomicU64,
    plan_hits: AtomicU64,
}

struct Inner {
    counters: Counters,
    db: Database,
    ks: Keyspace,
    catalogs: Mutex<HashMap<Token, Arc<Catalog>>>,
    stmts: Mutex<HashMap<String, Arc<Prepared>>>,
    /// The catalog of the last caller-owned transaction run through `execute_in`.
    external: Mutex<TxnState>,
}

/// The SQL engine over one [`Database`]: cheap to clone, `Send + Sync`. Holds the catalog
/// cache and the statement cache (a repeated SQL text is neither parsed nor planned again
/// while the schema is unchanged).
#[derive(Clone)]
pub struct SqlEngine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqlEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlEngine").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn new_version_token() -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut t = nanos.to_be_bytes().to_vec();
    t.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    t
}

fn is_txn_control(st: &ast::Statement) -> bool {
    matches!(
        st,
        ast::Statement::StartTransaction { .. }
            | ast::Statement::Commit { .. }
            | ast::Statement::Rollback { .. }
    )
}

impl SqlEngine {
    /// Creates an engine over `db`; SQL data lives in the `sql` keyspace.
    pub fn new(db: &Database) -> Result<SqlEngine> {
        let ks = db.keyspace(SQL_KEYSPACE)?;
        Ok(SqlEngine {
            inner: Arc::new(Inner {
                counters: Counters::default(),
                db: db.clone(),
                ks,
                catalogs: Mutex::new(HashMap::new()),
                stmts: Mutex::new(HashMap::new()),
                external: Mutex::new(TxnState::default()),
            }),
        })
    }

    /// Runs `sql` (one or more `;`-separated statements) in its own transaction, committed
    /// on success (retried on write-write conflicts). Returns the last statement's result.
    pub fn execute(&self, sql: &str) -> Result<SqlResult> {
        self.execute_with_params(sql, &[])
    }

    /// Like [`SqlEngine::execute`], binding `?`, `?N` and `$N` placeholders to `params`.
    pub fn execute_with_params(&self, sql: &str, params: &[Value]) -> Result<SqlResult> {
        with_stack_for(sql, || self.autocommit(sql, params))
    }

    fn autocommit(&self, sql: &str, params: &[Value]) -> Result<SqlResult> {
        let prepared = self.prepare(sql)?;
        if prepared.parsed.ast.iter().any(is_txn_control) {
            return Err(Error::Transaction {
                message: "BEGIN/COMMIT/ROLLBACK need a session (SqlEngine::session)".into(),
            });
        }
        self.autocommit_with(|txn, known| self.run_prepared(txn, &prepared, params, known))
    }

    /// Runs `work` in a storage transaction of its own and commits it, retrying a
    /// write-write conflict with backoff.
    fn autocommit_with(
        &self,
        work: impl Fn(&mut Transaction, &mut TxnState) -> Result<SqlResult>,
    ) -> Result<SqlResult> {
        let mut attempt = 0;
        loop {
            let mut txn = self.inner.db.begin_transaction()?;
            let mut cat = TxnState::default();
            let err = match work(&mut txn, &mut cat) {
                Ok(r) => match txn.commit() {
                    Ok(_) => return Ok(r),
                    Err(e) => Error::from(e),
                },
                Err(e) => {
                    txn.abort();
                    e
                }
            };
            attempt += 1;
            if !err.is_retryable() || attempt >= AUTOCOMMIT_ATTEMPTS {
                return Err(err);
            }
            backoff(attempt);
        }
    }

    /// Runs `sql` inside a storage transaction (next to KV writes); nothing is committed.
    /// Each statement is atomic: a failing statement leaves the transaction as it was.
    pub fn execute_in(
        &self,
        txn: &mut Transaction,
        sql: &str,
        params: &[Value],
    ) -> Result<SqlResult> {
        with_stack_for(sql, || {
            let mut known = std::mem::take(&mut *lock(&self.inner.external));
            let result = self.execute_in_inner(txn, sql, params, &mut known);
            *lock(&self.inner.external) = known;
            result
        })
    }

    fn execute_in_inner(
        &self,
        txn: &mut Transaction,
        sql: &str,
        params: &[Value],
        known: &mut TxnState,
    ) -> Result<SqlResult> {
        let prepared = self.prepare(sql)?;
        if prepared.parsed.ast.iter().any(is_txn_control) {
            return Err(Error::Transaction {
                message: "BEGIN/COMMIT/ROLLBACK cannot run inside an explicit storage transaction"
                    .into(),
            });
        }
        self.run_prepared(txn, &prepared, params, known)
    }

    /// A session: runs statements with `BEGIN`/`COMMIT`/`ROLLBACK` support.
    pub fn session(&self) -> Session {
        Session {
            engine: self.clone(),
            txn: None,
            catalog: TxnState::default(),
        }
    }

    /// The schema as of the latest commit: every table and index, each with the SQL that
    /// creates it (see [`SchemaObject`](crate::SchemaObject)), tables in name order, each
    /// followed by its indexes.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let db = toondb_storage::Database::open(dir.path())?;
    /// let sql = toondb_sql::SqlEngine::new(&db)?;
    /// sql.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE)")?;
    /// sql.execute("CREATE INDEX t_email ON t (email)")?;
    /// let schema = sql.schema()?;
    /// assert_eq!(
    ///     schema[0].sql.as_deref(),
    ///     Some("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT, UNIQUE (email))")
    /// );
    /// assert_eq!(schema[1].sql, None); // made by the UNIQUE constraint
    /// assert_eq!(schema[2].sql.as_deref(), Some("CREATE INDEX t_email ON t (email)"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema(&self) -> Result<Vec<crate::SchemaObject>> {
        let txn = self.inner.db.begin_transaction()?;
        let (_, catalog) = self.read_catalog(&txn)?;
        Ok(crate::schema::objects(&catalog))
    }

    /// How often statements were parsed, planned, or run from the plan cache.
    pub fn cache_stats(&self) -> CacheStats {
        let c = &self.inner.counters;
        CacheStats {
            parses: c.parses.load(Ordering::Relaxed),
            plans: c.plans.load(Ordering::Relaxed),
            plan_hits: c.plan_hits.load(Ordering::Relaxed),
        }
    }

    fn prepare(&self, sql: &str) -> Result<Arc<Prepared>> {
        if let Some(p) = lock(&self.inner.stmts).get(sql) {
            return Ok(p.clone());
        }
        self.inner.counters.parses.fetch_add(1, Ordering::Relaxed);
        let parsed = parse(sql)?;
        let p = Arc::new(Prepared {
            parsed,
            plan: Mutex::new(None),
        });
        if sql.len() > BIG_SQL {
            // Not cached: its syntax tree must be dropped on the large-stack thread.
            return Ok(p);
        }
        let mut cache = lock(&self.inner.stmts);
        if cache.len() >= STMT_CACHE_CAP {
            cache.clear();
        }
        cache.insert(sql.to_string(), p.clone());
        Ok(p)
    }

    fn load_catalog(
        &self,
        txn: &Transaction,
        known: &mut TxnState,
    ) -> Result<(Token, Arc<Catalog>)> {
        known.enter(txn.id());
        if let Some((token, cat)) = &known.current {
            return Ok((token.clone(), cat.clone()));
        }
        let found = self.read_catalog(txn)?;
        known.current = Some(found.clone());
        Ok(found)
    }

    fn read_catalog(&self, txn: &Transaction) -> Result<(Token, Arc<Catalog>)> {
        let token: Token = txn
            .get(&self.inner.ks, META_VERSION)?
            .unwrap_or_default()
            .into();
        if let Some(c) = lock(&self.inner.catalogs).get(&token) {
            return Ok((token, c.clone()));
        }
        let cat = match txn.get(&self.inner.ks, META_CATALOG)? {
            Some(b) => Catalog::decode(&b)?,
            None => Catalog::default(),
        };
        let cat = Arc::new(cat);
        let mut cache = lock(&self.inner.catalogs);
        if cache.len() >= CATALOG_CACHE_CAP {
            cache.clear();
        }
        cache.insert(token.clone(), cat.clone());
        Ok((token, cat))
    }

    fn run_prepared(
        &self,
        txn: &mut Transaction,
        p: &Prepared,
        params: &[Value],
        known: &mut TxnState,
    ) -> Result<SqlResult> {
        self.run_statements(txn, p, params, known)
            .map_err(|e| p.parsed.map_error(e))
    }

    fn run_statements(
        &self,
        txn: &mut Transaction,
        p: &Prepared,
        params: &[Value],
        known: &mut TxnState,
    ) -> Result<SqlResult> {
        let mut last = SqlResult::default();
        for i in 0..p.parsed.ast.len() {
            last = self.run_statement(txn, p, i, params, known)?;
        }
        Ok(last)
    }

    /// Binds (or takes from the plan cache) and runs statement `i` of a prepared text.
    /// Errors carry positions in the parsed text; callers map them back.
    fn run_statement(
        &self,
        txn: &mut Transaction,
        p: &Prepared,
        i: usize,
        params: &[Value],
        known: &mut TxnState,
    ) -> Result<SqlResult> {
        let single = p.parsed.ast.len() == 1;
        let (token, catalog) = self.load_catalog(txn, known)?;
        let cached = if single {
            lock(&p.plan)
                .as_ref()
                .filter(|(t, _, _)| *t == token)
                .map(|(_, s, n)| (s.clone(), *n))
        } else {
            None
        };
        let (stmt, nparams) = match cached {
            Some(c) => {
                self.inner
                    .counters
                    .plan_hits
                    .fetch_add(1, Ordering::Relaxed);
                c
            }
            None => {
                self.inner.counters.plans.fetch_add(1, Ordering::Relaxed);
                let mut b = Binder::new(&catalog).with_notes(&p.parsed);
                let s = Arc::new(b.bind_statement(&p.parsed.ast[i])?);
                let n = b.param_count;
                if single {
                    *lock(&p.plan) = Some((token.clone(), s.clone(), n));
                }
                (s, n)
            }
        };
        if nparams > params.len() || (single && nparams < params.len()) {
            return Err(Error::invalid(format!(
                "statement needs {nparams} parameter(s), {} given",
                params.len()
            )));
        }
        self.exec_stmt(txn, &catalog, &stmt, params, known)
    }

    fn exec_stmt(
        &self,
        txn: &mut Transaction,
        catalog: &Catalog,
        stmt: &Stmt,
        params: &[Value],
        known: &mut TxnState,
    ) -> Result<SqlResult> {
        // The statement runs under a savepoint: if it fails, it changes nothing.
        let savepoint = txn.savepoint();
        let mut kv = StmtKv::new(txn, &self.inner.ks, &mut known.prefixes);
        let result = exec_on(&mut kv, catalog, stmt, params);
        let catalog_written = kv.catalog_written;
        match result {
            Ok(result) => {
                txn.release(savepoint)?;
                if catalog_written {
                    known.current = None;
                }
                Ok(result)
            }
            Err(e) => {
                txn.rollback_to(savepoint)?;
                Err(e)
            }
        }
    }
}

/// Whether a new table or view named `name` must be skipped because the name is taken
/// and IF NOT EXISTS was given; a taken name without it is an error.
fn name_taken(catalog: &Catalog, name: &str, if_not_exists: bool) -> Result<bool> {
    match catalog.object_kind(name) {
        None => Ok(false),
        Some(_) if if_not_exists => Ok(true),
        Some(kind) => Err(Error::AlreadyExists {
            kind,
            name: name.to_string(),
        }),
    }
}

fn save_catalog(kv: &mut StmtKv<'_>, cat: &Catalog) -> Result<()> {
    kv.put(META_CATALOG, &cat.encode())?;
    kv.put(META_VERSION, &new_version_token())?;
    kv.catalog_written = true;
    Ok(())
}

fn collect(plan: &crate::plan::Plan, kv: &StmtKv<'_>, params: &[Value]) -> Result<Vec<Vec<Value>>> {
    let mut ctx = Ctx::new(Some(kv), params);
    let mut rows = Vec::new();
    run(plan, &mut ctx, &mut |_, r| {
        rows.push(r);
        Ok(true)
    })?;
    Ok(rows)
}

fn exec_on(
    kv: &mut StmtKv<'_>,
    catalog: &Catalog,
    stmt: &Stmt,
    params: &[Value],
) -> Result<SqlResult> {
    match stmt {
        Stmt::Query {
            plan,
            columns,
            decl_types,
        } => {
            let rows = collect(plan, kv, params)?;
            Ok(SqlResult::from_rows(
                columns.clone(),
                decl_types.clone(),
                rows,
            ))
        }
        Stmt::Explain(inner) => {
            let mut lines = Vec::new();
            match inner.as_ref() {
                Stmt::Query { plan, .. } => plan.explain(0, &mut lines),
                Stmt::Insert { table, source, .. } => {
                    lines.push(format!("INSERT INTO {}", table.name));
                    source.explain(1, &mut lines);
                }
                Stmt::Update { table, scan, .. } => {
                    lines.push(format!("UPDATE {}", table.name));
                    scan.explain(1, &mut lines);
                }
                Stmt::Delete { table, scan } => {
                    lines.push(format!("DELETE FROM {}", table.name));
                    scan.explain(1, &mut lines);
                }
                _ => lines.push("DDL".to_string()),
            }
            Ok(SqlResult::from_rows(
                vec!["plan".into()],
                vec![None],
                lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
            ))
        }
        Stmt::Insert {
            table,
            targets,
            source,
            conflict,
        } => {
            let rows = collect(source, kv, params)?;
            let mut w = Writer::new(kv);
            let mut n = 0;
            for src in rows {
                let mut row: Vec<Value> = table
                    .columns
                    .iter()
                    .map(|c| c.default.clone().unwrap_or(Value::Null))
                    .collect();
                for (&t, v) in targets.iter().zip(src) {
                    row[t] = v;
                }
                if let Some((row, rowid)) = w.prepare_row(table, row, *conflict)?
                    && w.insert(table, &row, rowid, *conflict)?
                {
                    n += 1;
                }
            }
            Ok(SqlResult::affected(n))
        }
        Stmt::Update {
            table,
            scan,
            sets,
            conflict,
        } => {
            let mut targets = Vec::new();
            {
                let mut ctx = Ctx::new(Some(&*kv), params);
                run(scan, &mut ctx, &mut |ctx, row| {
                    let key = ctx.current_key.clone();
                    let mut new = row.clone();
                    for (c, e) in sets {
                        new[*c] = crate::eval::eval(e, &row, ctx)?;
                    }
                    targets.push((key, row, new));
                    Ok(true)
                })?;
            }
            let mut w = Writer::new(kv);
            for (k, old, _) in &targets {
                w.delete(table, k, old)?;
            }
            let mut n = 0;
            for (k, old, new) in targets {
                let old_rowid = if table.pk.is_empty() {
                    Writer::rowid_of_key(table, &k)
                } else {
                    None
                };
                let written = match w.prepare_row(table, new, *conflict)? {
                    Some((row, rowid)) => w.insert(table, &row, rowid.or(old_rowid), *conflict)?,
                    None => false,
                };
                if written {
                    n += 1;
                } else {
                    // OR IGNORE: keep the old row.
                    w.insert(table, &old, old_rowid, crate::bind::Conflict::Abort)?;
                }
            }
            Ok(SqlResult::affected(n))
        }
        Stmt::Delete { table, scan } => {
            let mut targets = Vec::new();
            {
                let mut ctx = Ctx::new(Some(&*kv), params);
                run(scan, &mut ctx, &mut |ctx, row| {
                    targets.push((ctx.current_key.clone(), row));
                    Ok(true)
                })?;
            }
            let mut w = Writer::new(kv);
            let n = targets.len() as u64;
            for (k, row) in targets {
                w.delete(table, &k, &row)?;
            }
            Ok(SqlResult::affected(n))
        }
        Stmt::CreateTable {
            table,
            uniques,
            if_not_exists,
        } => {
            if name_taken(catalog, &table.name, *if_not_exists)? {
                return Ok(SqlResult::default());
            }
            let mut cat = catalog.clone();
            let mut t = table.clone();
            t.id = cat.alloc_id();
            for (n, cols) in uniques.iter().enumerate() {
                if *cols == t.pk || t.indexes.iter().any(|i| i.columns == *cols) {
                    continue;
                }
                let id = cat.alloc_id();
                t.indexes.push(Index {
                    name: Index::constraint_name(&t.name, n + 1),
                    id,
                    columns: cols.clone(),
                    unique: true,
                });
            }
            cat.tables.insert(norm(&t.name), Arc::new(t));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::DropTable { name, if_exists } => {
            let Some(t) = catalog.table(name).cloned() else {
                if let Some(v) = catalog.view(name) {
                    return Err(Error::invalid(format!(
                        "use DROP VIEW to delete view {}",
                        v.name
                    )));
                }
                if *if_exists {
                    return Ok(SqlResult::default());
                }
                return Err(Error::UnknownTable {
                    table: name.clone(),
                    location: None,
                });
            };
            let mut w = Writer::new(kv);
            w.delete_prefix(&table_prefix(t.id))?;
            for ix in &t.indexes {
                w.delete_prefix(&index_prefix(ix.id))?;
            }
            let mut cat = catalog.clone();
            cat.tables.remove(&norm(&t.name));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::CreateView {
            view,
            if_not_exists,
        } => {
            if name_taken(catalog, &view.name, *if_not_exists)? {
                return Ok(SqlResult::default());
            }
            let mut cat = catalog.clone();
            cat.views.insert(norm(&view.name), Arc::new(view.clone()));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::DropView { name, if_exists } => {
            let Some(v) = catalog.view(name) else {
                if let Some(t) = catalog.table(name) {
                    return Err(Error::invalid(format!(
                        "use DROP TABLE to delete table {}",
                        t.name
                    )));
                }
                if *if_exists {
                    return Ok(SqlResult::default());
                }
                return Err(Error::UnknownView { view: name.clone() });
            };
            let mut cat = catalog.clone();
            cat.views.remove(&norm(&v.name));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::CreateIndex {
            name,
            table,
            columns,
            unique,
            if_not_exists,
        } => {
            if catalog.find_index(name).is_some() {
                if *if_not_exists {
                    return Ok(SqlResult::default());
                }
                return Err(Error::AlreadyExists {
                    kind: "index",
                    name: name.clone(),
                });
            }
            let Some(t) = catalog.table(table).cloned() else {
                return Err(Error::UnknownTable {
                    table: table.clone(),
                    location: None,
                });
            };
            let mut cat = catalog.clone();
            let ix = Index {
                name: name.clone(),
                id: cat.alloc_id(),
                columns: columns.clone(),
                unique: *unique,
            };
            Writer::new(kv).build_index(&t, &ix)?;
            let mut t2 = (*t).clone();
            t2.indexes.push(ix);
            cat.tables.insert(norm(&t2.name), Arc::new(t2));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::DropIndex { name, if_exists } => {
            let Some((t, pos)) = catalog.find_index(name).map(|(t, p)| (t.clone(), p)) else {
                if *if_exists {
                    return Ok(SqlResult::default());
                }
                return Err(Error::UnknownIndex {
                    index: name.clone(),
                });
            };
            let ix = t.indexes[pos].clone();
            if ix.for_constraint() {
                return Err(Error::invalid(format!(
                    "index {} belongs to a UNIQUE constraint and cannot be dropped",
                    ix.name
                )));
            }
            Writer::new(kv).delete_prefix(&index_prefix(ix.id))?;
            let mut t2 = (*t).clone();
            t2.indexes.remove(pos);
            let mut cat = catalog.clone();
            cat.tables.insert(norm(&t2.name), Arc::new(t2));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::AddColumn { table, column } => {
            let Some(t) = catalog.table(table).cloned() else {
                return Err(Error::UnknownTable {
                    table: table.clone(),
                    location: None,
                });
            };
            if t.column_index(&column.name).is_some() {
                return Err(Error::AlreadyExists {
                    kind: "column",
                    name: format!("{}.{}", t.name, column.name),
                });
            }
            let mut t2 = (*t).clone();
            t2.columns.push(column.clone());
            let mut cat = catalog.clone();
            cat.tables.insert(norm(&t2.name), Arc::new(t2));
            save_catalog(kv, &cat)?;
            Ok(SqlResult::default())
        }
        Stmt::Begin | Stmt::Commit | Stmt::Rollback => Err(Error::Transaction {
            message: "transaction control is handled by a Session".into(),
        }),
    }
}

/// A SQL session: autocommit by default; `BEGIN` opens a storage transaction that spans the
/// following statements until `COMMIT` or `ROLLBACK`. Dropping the session rolls back.
pub struct Session {
    engine: SqlEngine,
    txn: Option<Transaction>,
    catalog: TxnState,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("in_transaction", &self.txn.is_some())
            .finish()
    }
}

impl Session {
    /// True between `BEGIN` and `COMMIT`/`ROLLBACK`.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// The schema as this session sees it: inside a transaction, with the transaction's own
    /// DDL; else as of the latest commit (see [`SqlEngine::schema`]).
    pub fn schema(&mut self) -> Result<Vec<crate::SchemaObject>> {
        match &self.txn {
            Some(txn) => {
                let (_, catalog) = self.engine.load_catalog(txn, &mut self.catalog)?;
                Ok(crate::schema::objects(&catalog))
            }
            None => self.engine.schema(),
        }
    }

    /// Runs `sql` (one or more statements); returns the last statement's result.
    pub fn execute(&mut self, sql: &str) -> Result<SqlResult> {
        self.execute_with_params(sql, &[])
    }

    /// Runs `sql` with bound parameters.
    pub fn execute_with_params(&mut self, sql: &str, params: &[Value]) -> Result<SqlResult> {
        with_stack_for(sql, || self.execute_inner(sql, params))
    }

    fn execute_inner(&mut self, sql: &str, params: &[Value]) -> Result<SqlResult> {
        let prepared = self.engine.prepare(sql)?;
        if prepared.parsed.ast.len() == 1 && !is_txn_control(&prepared.parsed.ast[0]) {
            return match &mut self.txn {
                Some(txn) => self
                    .engine
                    .run_prepared(txn, &prepared, params, &mut self.catalog),
                None => self.engine.autocommit(sql, params),
            };
        }
        let mut last = SqlResult::default();
        for (i, st) in prepared.parsed.ast.iter().enumerate() {
            last = match st {
                ast::Statement::StartTransaction { .. } => {
                    if self.txn.is_some() {
                        return Err(Error::Transaction {
                            message: "cannot start a transaction within a transaction".into(),
                        });
                    }
                    self.txn = Some(self.engine.inner.db.begin_transaction()?);
                    SqlResult::default()
                }
                ast::Statement::Commit { .. } => match self.txn.take() {
                    Some(t) => {
                        t.commit()?;
                        SqlResult::default()
                    }
                    None => {
                        return Err(Error::Transaction {
                            message: "cannot commit - no transaction is active".into(),
                        });
                    }
                },
                ast::Statement::Rollback {
                    savepoint: None, ..
                } => match self.txn.take() {
                    Some(t) => {
                        t.abort();
                        SqlResult::default()
                    }
                    None => {
                        return Err(Error::Transaction {
                            message: "cannot rollback - no transaction is active".into(),
                        });
                    }
                },
                // Run from the parsed statement, not its text rendered again: the parse
                // may have rewritten syntax (shifts, index hints) that only it resolves.
                _ => {
                    let engine = &self.engine;
                    let run = |txn: &mut Transaction, known: &mut TxnState| {
                        engine
                            .run_statement(txn, &prepared, i, params, known)
                            .map_err(|e| prepared.parsed.map_error(e))
                    };
                    match &mut self.txn {
                        Some(txn) => run(txn, &mut self.catalog)?,
                        None => engine.autocommit_with(run)?,
                    }
                }
            };
        }
        Ok(last)
    }
}
