//! Streaming rendering of TOON into any `io::Write`.
//!
//! The specification picks each value's form from its whole subtree (a
//! table header names fields every row must share and declares the row
//! count), so a value cannot be rendered before it is known. What can be
//! avoided is building the whole document as one string: [`encode_to_writer`]
//! renders a root object entry by entry, and the rows of a flat table (the
//! shape of a large query result) one line at a time, straight into the
//! writer. [`TableWriter`] goes further for callers that produce rows one by
//! one (a SQL cursor): only the row count and the columns must be known up
//! front.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::options::{Delimiter, EncodeOptions};

/// Encodes any `Serialize` value as TOON into a writer. The bytes are
/// identical to [`encode`](crate::encode)'s string.
///
/// ```
/// use serde_json::json;
/// let rows: Vec<_> = (1..=3).map(|i| json!({"id": i, "ok": i % 2 == 1})).collect();
/// let mut out = Vec::new();
/// toondb_toon::encode_to_writer(&mut out, &json!({"rows": rows}), &Default::default())?;
/// assert_eq!(String::from_utf8(out).unwrap(), "rows[3]{id,ok}:\n  1,true\n  2,false\n  3,true");
/// # Ok::<(), toondb_toon::Error>(())
/// ```
pub fn encode_to_writer<W: Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
    options: &EncodeOptions,
) -> Result<()> {
    let value = serde_json::to_value(value).map_err(|e| Error::Encode(e.to_string()))?;
    encode_value_to_writer(writer, &value, options)
}

/// Encodes a JSON value as TOON into a writer, without building the
/// document in memory when the root is an object or a flat table.
pub fn encode_value_to_writer<W: Write>(
    mut writer: W,
    value: &Value,
    options: &EncodeOptions,
) -> Result<()> {
    options.validate()?;
    if has_fast_path(value) {
        return write_fast(&mut writer, value, options);
    }
    let text = official(value, options)?;
    writer.write_all(text.as_bytes())?;
    Ok(())
}

/// The official encoder on the whole value.
pub(crate) fn official(value: &Value, options: &EncodeOptions) -> Result<String> {
    toon_format::encode(value, &options.to_official()).map_err(|e| Error::Encode(e.to_string()))
}

/// Whether this module renders the value itself: a root flat table, or a
/// root object (not a keyed-table candidate) holding at least one flat
/// table. Everything else goes to the official encoder whole.
pub(crate) fn has_fast_path(value: &Value) -> bool {
    match value {
        Value::Array(rows) => flat_table_fields(rows).is_some(),
        Value::Object(entries) => {
            !may_be_keyed_table(entries)
                && entries
                    .values()
                    .any(|v| matches!(v, Value::Array(rows) if flat_table_fields(rows).is_some()))
        }
        _ => false,
    }
}

/// Renders a value for which [`has_fast_path`] holds. Options are valid.
pub(crate) fn write_fast<W: Write>(
    writer: &mut W,
    value: &Value,
    options: &EncodeOptions,
) -> Result<()> {
    match value {
        Value::Array(rows) => {
            let fields = flat_table_fields(rows).unwrap_or_default();
            write_flat_table(writer, None, &fields, rows, options)
        }
        Value::Object(entries) => {
            // A root object renders as the concatenation of its entries,
            // each exactly as a one-entry object renders (a one-entry
            // object is never a keyed table).
            for (i, (key, entry)) in entries.iter().enumerate() {
                if i > 0 {
                    writer.write_all(b"\n")?;
                }
                if let Value::Array(rows) = entry
                    && let Some(fields) = flat_table_fields(rows)
                {
                    write_flat_table(writer, Some(key), &fields, rows, options)?;
                } else {
                    let mut single = Map::with_capacity(1);
                    single.insert(key.clone(), entry.clone());
                    let text = official(&Value::Object(single), options)?;
                    writer.write_all(text.as_bytes())?;
                }
            }
            Ok(())
        }
        other => {
            let text = official(other, options)?;
            writer.write_all(text.as_bytes())?;
            Ok(())
        }
    }
}

/// A necessary condition for the keyed tabular form (§9.5): at least two
/// entries, each a non-empty object. When it holds, the object is rendered
/// whole.
fn may_be_keyed_table(entries: &Map<String, Value>) -> bool {
    entries.len() >= 2
        && entries
            .values()
            .all(|v| matches!(v, Value::Object(o) if !o.is_empty()))
}

/// The fields of a flat table: a non-empty array of objects sharing one
/// non-empty key set (in any order; the first row's order wins), every value
/// a primitive. This is exactly when the specification's tabular form has
/// no nested field groups.
fn flat_table_fields(rows: &[Value]) -> Option<Vec<&str>> {
    let Some(Value::Object(first)) = rows.first() else {
        return None;
    };
    if first.is_empty() {
        return None;
    }
    let fields: Vec<&str> = first.keys().map(String::as_str).collect();
    for row in rows {
        let Value::Object(row) = row else {
            return None;
        };
        if row.len() != fields.len() {
            return None;
        }
        for field in &fields {
            match row.get(*field) {
                Some(Value::Array(_) | Value::Object(_)) | None => return None,
                Some(_) => {}
            }
        }
    }
    Some(fields)
}

fn write_flat_table<W: Write>(
    writer: &mut W,
    key: Option<&str>,
    fields: &[&str],
    rows: &[Value],
    options: &EncodeOptions,
) -> Result<()> {
    let mut table = TableWriter::new(&mut *writer, key, fields, rows.len(), options)?;
    let mut cells = Vec::with_capacity(fields.len());
    for row in rows {
        cells.clear();
        if let Value::Object(row) = row {
            cells.extend(fields.iter().map(|f| row.get(*f).unwrap_or(&Value::Null)));
        }
        table.write_cells(&cells)?;
    }
    table.finish()?;
    Ok(())
}

/// Writes one tabular array (§9.3) row by row:
/// `key[N]{f1,f2}:` then one indented, delimited line per row.
///
/// The row count is declared in the header, so it must be known up front;
/// [`finish`](TableWriter::finish) fails if a different number of rows was
/// written. Cells must be primitives (strings, numbers, booleans, null). With
/// zero rows the writer emits the specification's empty-array form
/// (`key: []`, or `[]` without a key). The output matches what
/// [`encode`](crate::encode) renders for the same array.
///
/// ```
/// use serde_json::json;
/// use toondb_toon::{Delimiter, EncodeOptions, TableWriter};
/// let mut out = Vec::new();
/// let opts = EncodeOptions::new().delimiter(Delimiter::Tab);
/// let mut table = TableWriter::new(&mut out, Some("result"), &["name", "price"], 2, &opts)?;
/// table.write_row(&[json!("Laptop"), json!(999)])?;
/// table.write_record(&json!({"price": 25.5, "name": "Mouse, wireless"}))?;
/// table.finish()?;
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "result[2\t]{name\tprice}:\n  Laptop\t999\n  Mouse, wireless\t25.5"
/// );
/// # Ok::<(), toondb_toon::Error>(())
/// ```
#[derive(Debug)]
pub struct TableWriter<W: Write> {
    writer: W,
    fields: Vec<String>,
    declared: usize,
    written: usize,
    delimiter: Delimiter,
    indent: String,
    line: String,
}

impl<W: Write> TableWriter<W> {
    /// Writes the header. `key` is `None` for a root table.
    pub fn new<S: AsRef<str>>(
        mut writer: W,
        key: Option<&str>,
        fields: &[S],
        rows: usize,
        options: &EncodeOptions,
    ) -> Result<Self> {
        options.validate()?;
        let fields: Vec<String> = fields.iter().map(|f| f.as_ref().to_owned()).collect();
        if fields.is_empty() {
            return Err(Error::InvalidOption(
                "a table needs at least one field".to_string(),
            ));
        }
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].contains(f) {
                return Err(Error::InvalidOption(format!("field {f:?} is listed twice")));
            }
        }
        let delimiter = options.get_delimiter();
        let mut header = String::new();
        if let Some(key) = key {
            push_key(&mut header, key);
        }
        if rows == 0 {
            header.push_str(if key.is_some() { ": []" } else { "[]" });
        } else {
            header.push('[');
            header.push_str(&rows.to_string());
            if delimiter != Delimiter::Comma {
                header.push(delimiter.as_char());
            }
            header.push_str("]{");
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    header.push(delimiter.as_char());
                }
                push_key(&mut header, f);
            }
            header.push_str("}:");
        }
        writer.write_all(header.as_bytes())?;
        Ok(Self {
            writer,
            fields,
            declared: rows,
            written: 0,
            delimiter,
            indent: " ".repeat(options.indent_size()),
            line: String::new(),
        })
    }

    /// Writes one row; `cells` follow the header's field order.
    pub fn write_row(&mut self, cells: &[Value]) -> Result<()> {
        let refs: Vec<&Value> = cells.iter().collect();
        self.write_cells(&refs)
    }

    /// Writes one row from any `Serialize` record that is an object holding
    /// every field (extra keys are ignored).
    pub fn write_record<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<()> {
        let value = serde_json::to_value(record).map_err(|e| Error::Encode(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(Error::Encode(format!(
                "table row {} is not an object",
                self.written
            )));
        };
        let mut cells = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            match object.get(field) {
                Some(v) => cells.push(v),
                None => {
                    return Err(Error::Encode(format!(
                        "table row {} lacks field {field:?}",
                        self.written
                    )));
                }
            }
        }
        self.write_cells(&cells)
    }

    fn write_cells(&mut self, cells: &[&Value]) -> Result<()> {
        if self.written == self.declared {
            return Err(Error::Encode(format!(
                "the table header declares {} rows; row {} is one too many",
                self.declared,
                self.written + 1
            )));
        }
        if cells.len() != self.fields.len() {
            return Err(Error::Encode(format!(
                "table row {} has {} cells for {} fields",
                self.written,
                cells.len(),
                self.fields.len()
            )));
        }
        self.line.clear();
        self.line.push('\n');
        self.line.push_str(&self.indent);
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.line.push(self.delimiter.as_char());
            }
            push_primitive(&mut self.line, cell, self.delimiter).map_err(|e| match e {
                Error::Encode(m) => Error::Encode(format!(
                    "table row {}, field {:?}: {m}",
                    self.written, self.fields[i]
                )),
                other => other,
            })?;
        }
        self.writer.write_all(self.line.as_bytes())?;
        self.written += 1;
        Ok(())
    }

    /// Checks that the declared number of rows was written, flushes, and
    /// hands the writer back.
    pub fn finish(mut self) -> Result<W> {
        if self.written != self.declared {
            return Err(Error::Encode(format!(
                "the table header declares {} rows but {} were written",
                self.declared, self.written
            )));
        }
        self.writer.flush()?;
        Ok(self.writer)
    }
}

fn push_key(out: &mut String, key: &str) {
    if toon_format::is_valid_unquoted_key(key) {
        out.push_str(key);
    } else {
        out.push('"');
        out.push_str(&toon_format::escape_string(key));
        out.push('"');
    }
}

fn push_primitive(out: &mut String, value: &Value, delimiter: Delimiter) -> Result<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => {
            if toon_format::needs_quoting(s, delimiter.as_char()) {
                out.push('"');
                out.push_str(&toon_format::escape_string(s));
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                // The canonical float form (§2) of the official encoder.
                let text = toon_format::encode(value, &toon_format::EncodeOptions::default())
                    .map_err(|e| Error::Encode(e.to_string()))?;
                out.push_str(&text);
            }
        }
        Value::Array(_) | Value::Object(_) => {
            return Err(Error::Encode(
                "a table cell must be a primitive, not an array or object".to_string(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn streamed(v: &Value, o: &EncodeOptions) -> String {
        let mut out = Vec::new();
        encode_value_to_writer(&mut out, v, o).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_the_in_memory_encoder() {
        let opts = [
            EncodeOptions::new(),
            EncodeOptions::new().delimiter(Delimiter::Pipe).indent(4),
            EncodeOptions::new().delimiter(Delimiter::Tab),
        ];
        let values = [
            json!([{"a": 1, "b": "x,y"}, {"b": "z|w", "a": -0.0}]),
            json!({"t": [{"a": 1.5e300}], "n": {"k": [1, 2]}, "s": "hi"}),
            json!({"a": {"x": 1}, "b": {"x": 2}}),
            json!({"a": {"x": 1}, "b": 3}),
            json!({"users": [{"u": {"n": 1}}, {"u": {"n": 2}}]}),
            json!([]),
            json!({}),
            json!("\u{FEFF}x"),
            json!([[1], {"a": 1}]),
        ];
        for o in &opts {
            for v in &values {
                let reference = toon_format::encode(v, &o.to_official()).unwrap();
                assert_eq!(streamed(v, o), reference, "{v}");
                assert_eq!(crate::encode_value(v, o).unwrap(), reference, "{v}");
            }
        }
    }

    #[test]
    fn table_writer_checks_counts_cells_and_kinds() {
        let o = EncodeOptions::new();
        let mut out = Vec::new();
        let mut t = TableWriter::new(&mut out, Some("t"), &["a"], 1, &o).unwrap();
        assert!(t.write_row(&[json!(1), json!(2)]).is_err());
        assert!(t.write_row(&[json!([1])]).is_err());
        assert!(t.write_record(&json!({"b": 1})).is_err());
        t.write_row(&[json!("ok")]).unwrap();
        assert!(t.write_row(&[json!("extra")]).is_err());
        t.finish().unwrap();
        let mut short = TableWriter::new(Vec::new(), None, &["a"], 2, &o).unwrap();
        short.write_row(&[json!(1)]).unwrap();
        assert!(short.finish().is_err());
        assert!(TableWriter::new(Vec::new(), None, &[] as &[&str], 2, &o).is_err());
        let empty = TableWriter::new(Vec::new(), Some("k"), &["a"], 0, &o).unwrap();
        assert_eq!(empty.finish().unwrap(), b"k: []");
    }

    #[test]
    fn io_errors_surface() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = encode_value_to_writer(Broken, &json!([{"a": 1}]), &EncodeOptions::new());
        assert!(matches!(err, Err(Error::Io(_))));
    }
}
