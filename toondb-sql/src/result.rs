//! Statement results: rows by name and position, table, JSON and TOON rendering, Arrow
//! export.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::sync::Arc;

use datafusion_common::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, NullArray, StringArray,
};
use datafusion_common::arrow::datatypes::{DataType, Field, Schema};
use datafusion_common::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::error::{Error, Result};
use crate::value::{Affinity, Value};

/// One result row: values addressable by position ([`Row::get`]) and by column name
/// ([`Row::get_by_name`], case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value at `index`, if in range.
    pub fn get(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// The value of the first column named `name` (ASCII case-insensitive).
    pub fn get_by_name(&self, name: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .and_then(|i| self.values.get(i))
    }

    /// All values in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Consumes the row, returning its values.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the row has no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The row as a JSON object keyed by column name (a repeated name gets a suffix, as
    /// in [`SqlResult::unique_columns`], so no value is lost).
    pub fn to_json(&self) -> serde_json::Value {
        json_object(&unique_names(&self.columns), &self.values)
    }
}

fn json_object(names: &[String], values: &[Value]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (c, v) in names.iter().zip(values) {
        m.insert(c.clone(), v.to_json());
    }
    serde_json::Value::Object(m)
}

/// `names` with repeats made distinct: the second `a` becomes `a_2`, and so on (skipping
/// suffixed names that are already taken).
fn unique_names(names: &[String]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::with_capacity(names.len());
    names
        .iter()
        .map(|c| {
            let mut name = c.clone();
            let mut k = 2;
            while !seen.insert(name.clone()) {
                name = format!("{c}_{k}");
                k += 1;
            }
            name
        })
        .collect()
}

impl<'a> IntoIterator for &'a Row {
    type Item = &'a Value;
    type IntoIter = std::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

/// The result of one SQL statement: column names, rows, and the number of rows changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlResult {
    /// Result column names (empty for statements that return no rows).
    pub columns: Vec<String>,
    /// Result rows.
    pub rows: Vec<Row>,
    /// Rows inserted, updated or deleted (0 for queries and DDL).
    pub rows_affected: u64,
    column_types: Vec<Option<String>>,
}

impl SqlResult {
    pub(crate) fn affected(n: u64) -> Self {
        SqlResult {
            rows_affected: n,
            ..Default::default()
        }
    }

    pub(crate) fn from_rows(
        columns: Vec<String>,
        column_types: Vec<Option<String>>,
        rows: Vec<Vec<Value>>,
    ) -> Self {
        let names: Arc<[String]> = columns.clone().into();
        SqlResult {
            rows: rows
                .into_iter()
                .map(|values| Row {
                    columns: names.clone(),
                    values,
                })
                .collect(),
            columns,
            rows_affected: 0,
            column_types,
        }
    }

    /// The declared SQL type of each result column when it is a plain table column.
    pub fn column_types(&self) -> &[Option<String>] {
        &self.column_types
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Iterates over the rows.
    pub fn iter(&self) -> std::slice::Iter<'_, Row> {
        self.rows.iter()
    }

    /// The first row's first value, if any (handy for `SELECT count(*) ...`).
    pub fn scalar(&self) -> Option<&Value> {
        self.rows.first().and_then(|r| r.get(0))
    }

    /// The column names made distinct for keyed output (JSON objects, TOON fields): a
    /// repeated name gets `_2`, `_3`, ... (`SELECT a, a` gives `a`, `a_2`).
    pub fn unique_columns(&self) -> Vec<String> {
        unique_names(&self.columns)
    }

    /// Each row as a JSON object keyed by [`unique_columns`](Self::unique_columns).
    pub fn rows_json(&self) -> Vec<serde_json::Value> {
        let names = self.unique_columns();
        self.rows
            .iter()
            .map(|r| json_object(&names, &r.values))
            .collect()
    }

    /// Streams the result as TOON into `writer` and hands the writer back.
    ///
    /// Rows become a tabular array under `key` (`key[N]{col,...}:` then one indented line
    /// per row, fields from [`unique_columns`](Self::unique_columns)); no rows give
    /// `key: []`; a statement without result columns gives `rows_affected: N`. Values are
    /// rendered as by [`Value::to_json`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let db = toondb_storage::Database::open(dir.path()).unwrap();
    /// let sql = toondb_sql::SqlEngine::new(&db)?;
    /// let r = sql.execute("SELECT 'Laptop' AS name, 999 AS price")?;
    /// assert_eq!(r.to_toon("result"), "result[1]{name,price}:\n  Laptop,999");
    /// # Ok::<(), toondb_sql::Error>(())
    /// ```
    pub fn write_toon<W: Write>(
        &self,
        mut writer: W,
        key: &str,
        options: &toondb_toon::EncodeOptions,
    ) -> toondb_toon::Result<W> {
        if self.columns.is_empty() {
            write!(writer, "rows_affected: {}", self.rows_affected)?;
            writer.flush()?;
            return Ok(writer);
        }
        let names = self.unique_columns();
        let mut table =
            toondb_toon::TableWriter::new(writer, Some(key), &names, self.rows.len(), options)?;
        let mut cells = Vec::with_capacity(names.len());
        for row in &self.rows {
            cells.clear();
            cells.extend(row.values.iter().map(Value::to_json));
            table.write_row(&cells)?;
        }
        table.finish()
    }

    /// The result as TOON under `key` with default options (see
    /// [`write_toon`](Self::write_toon)).
    pub fn to_toon(&self, key: &str) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail, field names are distinct and every cell is a JSON
        // primitive, so the writer has nothing to report.
        if let Err(e) = self.write_toon(&mut out, key, &toondb_toon::EncodeOptions::new()) {
            return format!("<TOON rendering failed: {e}>");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// `{"columns": [...], "rows": [[...], ...], "rows_affected": n}`, order preserved.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "columns": self.columns,
            "rows": self.rows.iter().map(|r| r.values.iter().map(Value::to_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "rows_affected": self.rows_affected,
        })
    }

    /// Renders an aligned text table (numbers right-aligned, NULL as `NULL`).
    pub fn to_table_string(&self) -> String {
        if self.columns.is_empty() {
            return format!("({} rows affected)\n", self.rows_affected);
        }
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.values.iter().map(|v| v.to_string()).collect())
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &cells {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, vals: &[String], nums: Option<&[Value]>| {
            let parts: Vec<String> = vals
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let w = widths.get(i).copied().unwrap_or(0);
                    let right = nums
                        .and_then(|n| n.get(i))
                        .is_some_and(|v| matches!(v, Value::Integer(_) | Value::Real(_)));
                    if right {
                        format!("{s:>w$}")
                    } else {
                        format!("{s:<w$}")
                    }
                })
                .collect();
            out.push_str(parts.join(" | ").trim_end());
            out.push('\n');
        };
        line(&mut out, &self.columns, None);
        let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&sep.join("-+-"));
        out.push('\n');
        for (r, row) in cells.iter().zip(&self.rows) {
            line(&mut out, r, Some(&row.values));
        }
        out.push_str(&format!(
            "({} row{})\n",
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" }
        ));
        out
    }

    /// Exports the rows as an Arrow `RecordBatch` (types: Int64, Float64, Utf8, Binary,
    /// Boolean for declared BOOLEAN columns; mixed columns become Utf8).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (i, name) in self.columns.iter().enumerate() {
            let col: Vec<&Value> = self
                .rows
                .iter()
                .map(|r| r.values.get(i).unwrap_or(&Value::Null))
                .collect();
            let decl = self.column_types.get(i).cloned().flatten();
            let is_bool = decl
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case("BOOLEAN"));
            let (mut ints, mut reals, mut texts, mut blobs) = (false, false, false, false);
            for v in &col {
                match v {
                    Value::Integer(_) => ints = true,
                    Value::Real(_) => reals = true,
                    Value::Text(_) => texts = true,
                    Value::Blob(_) => blobs = true,
                    Value::Null => {}
                }
            }
            let kinds = [ints || reals, texts, blobs].iter().filter(|b| **b).count();
            let (dt, arr): (DataType, ArrayRef) = if kinds == 0 {
                let dt = match decl.as_deref().map(Affinity::from_type_name) {
                    Some(Affinity::Integer) => DataType::Int64,
                    Some(Affinity::Real) => DataType::Float64,
                    Some(Affinity::Text) => DataType::Utf8,
                    _ => DataType::Null,
                };
                let arr: ArrayRef = match dt {
                    DataType::Int64 => Arc::new(Int64Array::from(vec![None::<i64>; col.len()])),
                    DataType::Float64 => Arc::new(Float64Array::from(vec![None::<f64>; col.len()])),
                    DataType::Utf8 => Arc::new(StringArray::from(vec![None::<&str>; col.len()])),
                    _ => Arc::new(NullArray::new(col.len())),
                };
                (dt, arr)
            } else if kinds > 1 {
                let a: StringArray = col
                    .iter()
                    .map(|v| {
                        if v.is_null() {
                            None
                        } else {
                            Some(v.to_string())
                        }
                    })
                    .collect();
                (DataType::Utf8, Arc::new(a))
            } else if ints && !reals && is_bool {
                let a: BooleanArray = col.iter().map(|v| v.as_i64().map(|i| i != 0)).collect();
                (DataType::Boolean, Arc::new(a))
            } else if ints && !reals {
                let a: Int64Array = col.iter().map(|v| v.as_i64()).collect();
                (DataType::Int64, Arc::new(a))
            } else if ints || reals {
                let a: Float64Array = col.iter().map(|v| v.as_f64()).collect();
                (DataType::Float64, Arc::new(a))
            } else if texts {
                let a: StringArray = col.iter().map(|v| v.as_str()).collect();
                (DataType::Utf8, Arc::new(a))
            } else {
                let a: BinaryArray = col.iter().map(|v| v.as_blob()).collect();
                (DataType::Binary, Arc::new(a))
            };
            fields.push(Field::new(name, dt, true));
            arrays.push(arr);
        }
        let schema = Arc::new(Schema::new(fields));
        let opts = RecordBatchOptions::new().with_row_count(Some(self.rows.len()));
        RecordBatch::try_new_with_options(schema, arrays, &opts).map_err(|e| {
            Error::InvalidArgument {
                message: format!("arrow export failed: {e}"),
            }
        })
    }
}

impl<'a> IntoIterator for &'a SqlResult {
    type Item = &'a Row;
    type IntoIter = std::slice::Iter<'a, Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

impl IntoIterator for SqlResult {
    type Item = Row;
    type IntoIter = std::vec::IntoIter<Row>;
    fn into_iter(self) -> Self::IntoIter {
        self.rows.into_iter()
    }
}

impl fmt::Display for SqlResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_table_string())
    }
}
