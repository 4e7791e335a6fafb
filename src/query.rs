//! The fluent query builder over JSON documents stored under a key prefix.

use serde_json::{Map, Value};

use crate::{Database, Result};

/// A query over the documents stored under a key prefix, built fluently:
///
/// ```
/// # fn main() -> toondb::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// let db = toondb::Database::open(dir.path())?;
/// db.put(b"products/laptop", br#"{"name":"Laptop","price":999,"stock":5}"#)?;
/// db.put(b"products/mouse", br#"{"name":"Mouse","price":25,"stock":20}"#)?;
///
/// let rows = db.query("products/").select(["name", "price"]).limit(10).to_list()?;
/// assert_eq!(rows.len(), 2);
/// assert_eq!(rows[0].key, "products/laptop");
/// assert_eq!(rows[0].value["price"], 999);
/// # #[cfg(feature = "toon")]
/// assert_eq!(rows[0].to_string(), "products/laptop: result[1]{name,price}:Laptop,999");
///
/// assert_eq!(db.query("products/").where_eq("name", "Mouse").count()?, 1);
/// assert!(db.query("products/").exists()?);
/// assert!(db.query("orders/").first()?.is_none());
/// # Ok(()) }
/// ```
///
/// # What a document is
///
/// Each key under the prefix is one row, in key order. Its value is parsed as JSON:
///
/// - a JSON **object** is the row's fields;
/// - any other JSON value (number, string, array, `true`…) becomes the one field
///   `{"value": …}`;
/// - bytes that are not JSON (or not UTF-8) become `{"value": "<text>"}` with invalid
///   UTF-8 replaced by U+FFFD; the exact bytes stay available in [`QueryRow::raw`].
///
/// No row is ever dropped for its shape. Filters compare field values; a field may be a
/// dotted path into nested objects (`"address.city"`). A row lacking a filtered field
/// does not match.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until to_list, first, count or exists runs it"]
pub struct Query<'db> {
    db: &'db Database,
    prefix: Vec<u8>,
    fields: Option<Vec<String>>,
    filters: Vec<(String, Value)>,
    limit: Option<usize>,
    offset: usize,
}

/// One result row of a [`Query`]: the key, the (selected) fields, and the raw value.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRow {
    /// The key, as text (invalid UTF-8 replaced by U+FFFD).
    pub key: String,
    /// The row's fields: a JSON object holding the selected fields, in selection order
    /// when [`Query::select`] was used, else every field in the document's order.
    pub value: Value,
    /// The selected field names, in order (every field when nothing was selected).
    pub fields: Vec<String>,
    /// The stored bytes, unchanged.
    pub raw: Vec<u8>,
}

impl<'db> Query<'db> {
    pub(crate) fn new(db: &'db Database, prefix: &str) -> Query<'db> {
        Query {
            db,
            prefix: prefix.as_bytes().to_vec(),
            fields: None,
            filters: Vec::new(),
            limit: None,
            offset: 0,
        }
    }

    /// Keeps only these fields, in this order (a missing field is absent from the row).
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = Some(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Keeps rows whose `field` (a dotted path) equals `value`. Several filters all apply.
    pub fn where_eq(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.filters.push((field.to_string(), value.into()));
        self
    }

    /// Returns at most `n` rows.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` matching rows.
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }

    /// Runs the query and returns its rows in key order.
    pub fn to_list(&self) -> Result<Vec<QueryRow>> {
        let mut rows = Vec::new();
        self.run(|row| {
            rows.push(row);
            true
        })?;
        Ok(rows)
    }

    /// The first row, if any.
    pub fn first(&self) -> Result<Option<QueryRow>> {
        let mut first = None;
        self.clone().limit(1).run(|row| {
            first = Some(row);
            false
        })?;
        Ok(first)
    }

    /// The number of rows [`to_list`](Self::to_list) would return (filters, offset and
    /// limit applied), without building them.
    pub fn count(&self) -> Result<usize> {
        let mut n = 0;
        self.run(|_| {
            n += 1;
            true
        })?;
        Ok(n)
    }

    /// Whether the query has at least one row; stops at the first.
    pub fn exists(&self) -> Result<bool> {
        Ok(self.first()?.is_some())
    }

    /// Streams matching rows to `sink` until it returns `false` or the limit is reached.
    fn run(&self, mut sink: impl FnMut(QueryRow) -> bool) -> Result<()> {
        if self.limit == Some(0) {
            return Ok(());
        }
        let mut skipped = 0;
        let mut emitted = 0;
        for pair in self.db.scan_prefix(&self.prefix)? {
            let (key, raw) = pair?;
            let doc = document(&raw);
            if !self
                .filters
                .iter()
                .all(|(field, want)| lookup(&doc, field) == Some(want))
            {
                continue;
            }
            if skipped < self.offset {
                skipped += 1;
                continue;
            }
            let (value, fields) = project(doc, self.fields.as_deref());
            let row = QueryRow {
                key: String::from_utf8_lossy(&key).into_owned(),
                value,
                fields,
                raw,
            };
            emitted += 1;
            if !sink(row) || self.limit.is_some_and(|l| emitted >= l) {
                break;
            }
        }
        Ok(())
    }
}

/// The fields of a stored value, by the rules on [`Query`].
fn document(raw: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => map,
        Ok(other) => Map::from_iter([("value".to_string(), other)]),
        Err(_) => Map::from_iter([(
            "value".to_string(),
            Value::String(String::from_utf8_lossy(raw).into_owned()),
        )]),
    }
}

fn lookup<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = doc.get(parts.next()?)?;
    for part in parts {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

fn project(doc: Map<String, Value>, fields: Option<&[String]>) -> (Value, Vec<String>) {
    match fields {
        None => {
            let names = doc.keys().cloned().collect();
            (Value::Object(doc), names)
        }
        Some(fields) => {
            let mut out = Map::new();
            for f in fields {
                if let Some(v) = lookup(&doc, f) {
                    out.insert(f.clone(), v.clone());
                }
            }
            (Value::Object(out), fields.to_vec())
        }
    }
}

#[cfg(feature = "toon")]
impl QueryRow {
    /// The row in the original product's TOON form, `result[1]{name,price}:Laptop,999`
    /// (the compact table form of [`toondb_toon::to_toon`] with one row named `result`).
    pub fn to_toon(&self) -> Result<String> {
        Ok(toondb_toon::to_toon(
            "result",
            std::iter::once(&self.value),
            &self.fields,
        )?)
    }
}

#[cfg(feature = "toon")]
impl std::fmt::Display for QueryRow {
    /// `key: result[1]{fields}:values`, as the original product printed query results.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_toon() {
            Ok(toon) => write!(f, "{}: {}", self.key, toon),
            Err(_) => write!(f, "{}: {}", self.key, self.value),
        }
    }
}

impl Database {
    /// Starts a [`Query`] over the JSON documents whose keys start with `prefix`.
    pub fn query(&self, prefix: &str) -> Query<'_> {
        Query::new(self, prefix)
    }
}
