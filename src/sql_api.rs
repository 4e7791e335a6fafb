//! SQL on the façade: `Database::execute_sql` and SQL inside transactions.

use crate::sql::{SqlEngine, SqlResult, Value};
use crate::{Database, Result, Transaction};

impl Database {
    /// The SQL engine of this database (created on first use, then shared: its catalog
    /// and statement cache live as long as the database).
    pub fn sql_engine(&self) -> Result<&SqlEngine> {
        if let Some(engine) = self.shared().sql.get() {
            return Ok(engine);
        }
        let engine = SqlEngine::new(self.storage())?;
        Ok(self.shared().sql.get_or_init(|| engine))
    }

    /// Runs one SQL statement in its own transaction (autocommit).
    ///
    /// ```
    /// # fn main() -> toondb::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// let db = toondb::Database::open(dir.path())?;
    /// db.execute_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
    /// db.execute_sql("INSERT INTO users (name) VALUES ('alice'), ('bob')")?;
    /// let r = db.execute_sql("SELECT count(*) FROM users")?;
    /// assert_eq!(r.scalar(), Some(&toondb::sql::Value::Integer(2)));
    ///
    /// // SQL and KV writes in one transaction.
    /// db.transaction(|txn| {
    ///     txn.execute("DELETE FROM users WHERE name = 'bob'")?;
    ///     txn.put(b"audit/1", b"deleted bob")?;
    ///     Ok(())
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn execute_sql(&self, sql: &str) -> Result<SqlResult> {
        Ok(self.sql_engine()?.execute(sql)?)
    }

    /// Runs one SQL statement with `?`/`$n` parameters bound to `params`.
    pub fn execute_sql_with_params(&self, sql: &str, params: &[Value]) -> Result<SqlResult> {
        Ok(self.sql_engine()?.execute_with_params(sql, params)?)
    }
}

impl Transaction {
    /// Runs one SQL statement inside this transaction, next to its KV writes.
    pub fn execute(&mut self, sql: &str) -> Result<SqlResult> {
        self.execute_with_params(sql, &[])
    }

    /// Runs one SQL statement with parameters inside this transaction.
    pub fn execute_with_params(&mut self, sql: &str, params: &[Value]) -> Result<SqlResult> {
        let engine = self.db.sql_engine()?.clone();
        Ok(engine.execute_in(self.storage_mut(), sql, params)?)
    }
}
