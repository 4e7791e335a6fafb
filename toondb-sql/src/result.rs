//! Statement results: rows by name and position, table and JSON rendering, Arrow export.

use std::fmt;
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

    /// The row as a JSON object keyed by column name.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (c, v) in self.columns.iter().zip(&self.values) {
            m.insert(c.clone(), v.to_json());
        }
        serde_json::Value::Object(m)
    }
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

    /// Each row as a JSON object keyed by column name.
    pub fn rows_json(&self) -> Vec<serde_json::Value> {
        self.rows.iter().map(Row::to_json).collect()
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
