//! The compact one-line table form of ToonDB's original product.
//!
//! See the crate documentation for the grammar.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A decoded compact table: its name, its field names in header order, and
/// one object per row holding the fields present in that row.
pub type CompactTable = (String, Vec<String>, Vec<Map<String, Value>>);

/// Renders records as one compact table line.
///
/// Each record must serialize to a JSON object; only the named `fields` are
/// written, in the order given. A field the record lacks becomes an empty
/// cell (and is absent again after [`from_toon`]), so `null` and "missing"
/// stay distinct.
///
/// ```
/// use serde_json::json;
/// let records = [
///     json!({"name": "Alice", "email": "alice@example.com", "age": 30}),
///     json!({"name": "Bob", "email": "bob@example.com"}),
/// ];
/// let line = toondb_toon::to_toon("users", &records, ["name", "email"])?;
/// assert_eq!(line, "users[2]{name,email}:Alice,alice@example.com;Bob,bob@example.com");
/// # Ok::<(), toondb_toon::Error>(())
/// ```
pub fn to_toon<I, R, F, S>(name: &str, records: I, fields: F) -> Result<String>
where
    I: IntoIterator<Item = R>,
    I::IntoIter: ExactSizeIterator,
    R: Serialize,
    F: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = Vec::new();
    write_toon(&mut out, name, records, fields)?;
    String::from_utf8(out).map_err(|e| Error::Encode(e.to_string()))
}

/// Streams a compact table line into any writer, one record at a time,
/// without building the line in memory. Output is identical to [`to_toon`].
///
/// ```
/// use serde_json::json;
/// let mut out = Vec::new();
/// let rows = vec![json!({"id": 1, "note": "a;b"}), json!({"id": 2, "note": null})];
/// toondb_toon::write_toon(&mut out, "t", rows, ["id", "note"])?;
/// assert_eq!(String::from_utf8(out).unwrap(), r#"t[2]{id,note}:1,"a;b";2,null"#);
/// # Ok::<(), toondb_toon::Error>(())
/// ```
pub fn write_toon<W, I, R, F, S>(mut writer: W, name: &str, records: I, fields: F) -> Result<()>
where
    W: Write,
    I: IntoIterator<Item = R>,
    I::IntoIter: ExactSizeIterator,
    R: Serialize,
    F: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let fields: Vec<String> = fields.into_iter().map(|f| f.as_ref().to_owned()).collect();
    check_fields(&fields)?;
    let records = records.into_iter();
    let count = records.len();
    let mut header = String::new();
    if !name.is_empty() {
        push_key(&mut header, name);
    }
    header.push('[');
    header.push_str(&count.to_string());
    header.push_str("]{");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            header.push(',');
        }
        push_key(&mut header, field);
    }
    header.push_str("}:");
    writer.write_all(header.as_bytes())?;

    let mut row = String::new();
    let mut written = 0usize;
    for (index, record) in records.enumerate() {
        let value = serde_json::to_value(&record).map_err(|e| Error::Encode(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(Error::Encode(format!(
                "compact table record {index} is {}, not an object",
                kind(&value)
            )));
        };
        row.clear();
        if index > 0 {
            row.push(';');
        }
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                row.push(',');
            }
            if let Some(cell) = object.get(field) {
                push_cell(&mut row, cell)?;
            }
        }
        writer.write_all(row.as_bytes())?;
        written += 1;
    }
    if written != count {
        return Err(Error::Encode(format!(
            "record iterator promised {count} records but yielded {written}"
        )));
    }
    Ok(())
}

fn check_fields(fields: &[String]) -> Result<()> {
    if fields.is_empty() {
        return Err(Error::InvalidOption(
            "a compact table needs at least one field".to_string(),
        ));
    }
    for (i, field) in fields.iter().enumerate() {
        if fields[..i].contains(field) {
            return Err(Error::InvalidOption(format!(
                "field {field:?} is listed twice"
            )));
        }
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Appends a name or field name: bare when it is a valid unquoted key of the
/// specification (§7.3), quoted otherwise.
fn push_key(out: &mut String, key: &str) {
    if toon_format::is_valid_unquoted_key(key) {
        out.push_str(key);
    } else {
        push_quoted(out, key);
    }
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(&toon_format::escape_string(s));
    out.push('"');
}

fn push_cell(out: &mut String, value: &Value) -> Result<()> {
    match value {
        Value::String(s) => {
            if toon_format::needs_quoting(s, ',') || s.contains(';') {
                push_quoted(out, s);
            } else {
                out.push_str(s);
            }
        }
        Value::Number(_) => {
            // The specification's canonical number form (§2).
            let text = toon_format::encode(value, &toon_format::EncodeOptions::default())
                .map_err(|e| Error::Encode(e.to_string()))?;
            out.push_str(&text);
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        // Nested values are written as compact JSON; a bare cell starting
        // with `[` or `{` is never a string (strings starting so are quoted).
        Value::Array(_) | Value::Object(_) => {
            let json = serde_json::to_string(value).map_err(|e| Error::Encode(e.to_string()))?;
            out.push_str(&json);
        }
    }
    Ok(())
}

/// Parses a compact table line back into its name, field names and records.
///
/// One trailing line break is allowed. Cells are decoded like TOON
/// primitives (quoted strings with the specification's escapes, `true`,
/// `false`, `null`, numbers by the specification's grammar, other bare text
/// as strings, spaces around bare text trimmed); a bare cell starting with
/// `[` or `{` is a JSON array or object; an empty cell means the field is
/// absent from that record. Errors are [`Error::Syntax`] with the column.
///
/// ```
/// let (name, fields, records) =
///     toondb_toon::from_toon("users[2]{name,email}:Alice,alice@example.com;Bob,bob@example.com")?;
/// assert_eq!(name, "users");
/// assert_eq!(fields, ["name", "email"]);
/// assert_eq!(records[1]["email"], "bob@example.com");
/// # Ok::<(), toondb_toon::Error>(())
/// ```
pub fn from_toon(text: &str) -> Result<CompactTable> {
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text);
    let mut p = Parser { text, pos: 0 };
    let name = if p.peek() == Some(b'[') {
        String::new()
    } else {
        p.key("a table name", b'[')?
    };
    p.expect(b'[', "'[' and the row count after the table name")?;
    let count = p.count()?;
    p.expect(b']', "']' after the row count")?;
    p.expect(b'{', "'{' opening the field list")?;
    let mut fields = Vec::new();
    loop {
        let field_at = p.pos;
        let field = p.key("a field name", b'}')?;
        if fields.contains(&field) {
            return Err(p.error_at(
                field_at,
                format!("duplicate field name {field:?}"),
                "field names unique in the header",
            ));
        }
        fields.push(field);
        match p.peek() {
            Some(b',') => p.pos += 1,
            Some(b'}') => {
                p.pos += 1;
                break;
            }
            _ => return Err(p.error("bad field list", "',' or '}' after a field name")),
        }
    }
    p.expect(b':', "':' after the field list")?;

    let mut records = Vec::with_capacity(count.min(1 << 16));
    for row in 0..count {
        if row > 0 {
            p.expect(b';', "';' between rows (the header declares more rows)")?;
        }
        let mut record = Map::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                p.expect(
                    b',',
                    &format!(
                        "',' before field {field:?} ({} cells per row)",
                        fields.len()
                    ),
                )?;
            }
            if let Some(value) = p.cell()? {
                record.insert(field.clone(), value);
            }
        }
        records.push(record);
    }
    if p.pos < text.len() {
        let what = match p.peek() {
            Some(b';') => format!("more rows than the {count} the header declares"),
            Some(b',') => format!("more cells than the {} fields", fields.len()),
            _ => "unexpected text".to_string(),
        };
        return Err(p.error(&what, "the end of the table"));
    }
    Ok((name, fields, records))
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, message: &str, expected: &str) -> Error {
        self.error_at(self.pos, message.to_string(), expected)
    }

    fn error_at(&self, pos: usize, message: String, expected: &str) -> Error {
        let before = self.text.get(..pos).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Error::Syntax {
            line,
            column,
            message,
            expected: expected.to_string(),
        }
    }

    fn expect(&mut self, byte: u8, expected: &str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            let found = match self.text[self.pos..].chars().next() {
                Some(c) => format!("found {c:?}"),
                None => "found the end of the input".to_string(),
            };
            Err(self.error(&found, expected))
        }
    }

    /// `[0-9]+` without leading zeros.
    fn count(&mut self) -> Result<usize> {
        let start = self.pos;
        let digits = self.text[start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let token = &self.text[start..start + digits];
        let bad = digits == 0 || (digits > 1 && token.starts_with('0'));
        let count = if bad {
            None
        } else {
            token.parse::<usize>().ok()
        };
        let Some(count) = count else {
            return Err(self.error(
                "bad row count",
                "a row count: a non-negative integer without leading zeros",
            ));
        };
        self.pos += digits;
        Ok(count)
    }

    /// A quoted key, or bare text up to `end`.
    fn key(&mut self, what: &str, end: u8) -> Result<String> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        let start = self.pos;
        let len = self.text[start..]
            .bytes()
            .take_while(|&b| {
                b != end
                    && !matches!(b, b'"' | b':' | b',' | b';' | b'[' | b']' | b'{' | b'}')
                    && b != b'\n'
                    && b != b'\r'
            })
            .count();
        let key = &self.text[start..start + len];
        if key.is_empty() || key.trim() != key {
            return Err(self.error(
                &format!("bad {what}"),
                &format!("{what}: bare text without spaces at either end, or a quoted string"),
            ));
        }
        self.pos += len;
        Ok(key.to_string())
    }

    /// A quoted string with the specification's escapes (§7.1).
    fn quoted(&mut self) -> Result<String> {
        let open = self.pos;
        let bytes = self.text.as_bytes();
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => break,
                b'\n' | b'\r' => i = bytes.len(),
                _ => i += 1,
            }
        }
        if i >= bytes.len() {
            return Err(self.error_at(
                open,
                "unterminated string".to_string(),
                "a closing '\"' on the same line",
            ));
        }
        let inner = &self.text[open + 1..i];
        let value = toon_format::unescape_string(inner).map_err(|message| {
            let at = inner.find('\\').map_or(open, |k| open + 1 + k);
            self.error_at(
                at,
                message,
                "one of the escapes \\\\ \\\" \\n \\r \\t \\uXXXX",
            )
        })?;
        self.pos = i + 1;
        Ok(value)
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// One cell; `None` when it is empty (the field is absent).
    fn cell(&mut self) -> Result<Option<Value>> {
        self.skip_spaces();
        let value = match self.peek() {
            Some(b'"') => Some(Value::String(self.quoted()?)),
            Some(b'[' | b'{') => {
                let start = self.pos;
                let mut stream =
                    serde_json::Deserializer::from_str(&self.text[start..]).into_iter::<Value>();
                match stream.next() {
                    Some(Ok(value)) => {
                        self.pos = start + stream.byte_offset();
                        Some(value)
                    }
                    Some(Err(e)) => {
                        return Err(self.error_at(
                            start,
                            format!("bad JSON value in cell: {e}"),
                            "a complete JSON array or object",
                        ));
                    }
                    None => None,
                }
            }
            _ => {
                let start = self.pos;
                let len = self.text[start..]
                    .bytes()
                    .take_while(|b| !matches!(b, b',' | b';' | b'"' | b'\n' | b'\r'))
                    .count();
                self.pos += len;
                let token = self.text[start..start + len].trim_matches(' ');
                if token.is_empty() {
                    None
                } else {
                    Some(bare(token))
                }
            }
        };
        self.skip_spaces();
        match self.peek() {
            None | Some(b',' | b';') => Ok(value),
            Some(b'"') => Err(self.error(
                "quote inside a bare cell",
                "',' or ';' after a cell (quote the whole cell)",
            )),
            Some(_) => Err(self.error("text after a cell", "',' or ';' after a cell")),
        }
    }
}

/// A bare cell: literal, number by the specification's grammar, or string.
fn bare(token: &str) -> Value {
    match token {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ if is_number(token) => {
            // The specification's number decoding (§4), done by the official
            // decoder on the single token.
            match toon_format::decode::<Value>(token, &toon_format::DecodeOptions::default()) {
                Ok(v @ Value::Number(_)) => v,
                _ => Value::String(token.to_string()),
            }
        }
        _ => Value::String(token.to_string()),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_number(token: &str) -> bool {
    let b = token.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rt(records: &[Value], fields: &[&str]) -> Vec<Map<String, Value>> {
        let line = to_toon("t", records, fields).unwrap();
        from_toon(&line).unwrap().2
    }

    #[test]
    fn original_example() {
        let records = [
            json!({"name": "Alice", "email": "alice@example.com"}),
            json!({"name": "Bob", "email": "bob@example.com"}),
        ];
        let line = to_toon("users", &records, ["name", "email"]).unwrap();
        assert_eq!(
            line,
            "users[2]{name,email}:Alice,alice@example.com;Bob,bob@example.com"
        );
        let (name, fields, back) = from_toon(&line).unwrap();
        assert_eq!(name, "users");
        assert_eq!(fields, ["name", "email"]);
        assert_eq!(Value::from(back[0].clone()), records[0]);
    }

    #[test]
    fn quoting_follows_the_specification() {
        let records = [
            json!({"v": "a,b"}),
            json!({"v": "a;b"}),
            json!({"v": "k:v"}),
            json!({"v": "say \"hi\""}),
            json!({"v": "two\nlines"}),
            json!({"v": ""}),
            json!({"v": " pad "}),
            json!({"v": "42"}),
            json!({"v": "true"}),
            json!({"v": "-x"}),
            json!({"v": "[x]"}),
            json!({"v": "plain text"}),
            json!({"v": "café"}),
        ];
        let line = to_toon("t", &records, ["v"]).unwrap();
        assert_eq!(
            line,
            r#"t[13]{v}:"a,b";"a;b";"k:v";"say \"hi\"";"two\nlines";"";" pad ";"42";"true";"-x";"[x]";plain text;café"#
        );
        let back = from_toon(&line).unwrap().2;
        for (r, b) in records.iter().zip(back) {
            assert_eq!(&Value::from(b), r);
        }
    }

    #[test]
    fn absent_null_nested_and_numbers() {
        let records = [
            json!({"a": null, "b": [1, {"x": "y;z"}], "c": 1.5}),
            json!({"b": {"k": [true]}, "c": -7}),
            json!({"a": 18446744073709551615u64, "c": 1e-7}),
        ];
        let line = to_toon("t", &records, ["a", "b", "c"]).unwrap();
        assert_eq!(
            line,
            r#"t[3]{a,b,c}:null,[1,{"x":"y;z"}],1.5;,{"k":[true]},-7;18446744073709551615,,0.0000001"#
        );
        let back = rt(&records, &["a", "b", "c"]);
        for (r, b) in records.iter().zip(back) {
            assert_eq!(&Value::from(b), r);
        }
    }

    #[test]
    fn names_and_fields_are_quoted_when_needed() {
        let line = to_toon("products/", [json!({"unit price": 3})], ["unit price"]).unwrap();
        assert_eq!(line, r#""products/"[1]{"unit price"}:3"#);
        let (name, fields, _) = from_toon(&line).unwrap();
        assert_eq!(
            (name.as_str(), fields[0].as_str()),
            ("products/", "unit price")
        );
        assert_eq!(to_toon("", [json!({"a": 1})], ["a"]).unwrap(), "[1]{a}:1");
        assert_eq!(from_toon("[1]{a}:1").unwrap().0, "");
        // Lenient bare names on input.
        assert_eq!(from_toon("products/x[0]{a}:").unwrap().0, "products/x");
    }

    #[test]
    fn empty_and_single_field_edge_cases() {
        assert_eq!(
            to_toon("t", Vec::<Value>::new(), ["a"]).unwrap(),
            "t[0]{a}:"
        );
        let line = to_toon("t", [json!({}), json!({})], ["a"]).unwrap();
        assert_eq!(line, "t[2]{a}:;");
        assert_eq!(from_toon(&line).unwrap().2, vec![Map::new(), Map::new()]);
        assert_eq!(from_toon("t[1]{a}:").unwrap().2, vec![Map::new()]);
        assert_eq!(from_toon("t[1]{a}:x\n").unwrap().2[0]["a"], "x");
    }

    #[test]
    fn bad_records_and_fields_are_errors() {
        assert!(matches!(
            to_toon("t", [json!(1)], ["a"]),
            Err(Error::Encode(_))
        ));
        assert!(matches!(
            to_toon("t", [json!({})], Vec::<&str>::new()),
            Err(Error::InvalidOption(_))
        ));
        assert!(matches!(
            to_toon("t", [json!({})], ["a", "a"]),
            Err(Error::InvalidOption(_))
        ));
    }

    #[test]
    fn malformed_input_reports_column_and_expectation() {
        let cases: &[(&str, usize, &str)] = &[
            ("users[2]{a}:x", 14, "';' between rows"),
            ("users[1]{a}:x;y", 14, "end of the table"),
            ("users[1]{a,b}:x", 16, "',' before field"),
            ("users[1]{a}:x,y", 14, "end of the table"),
            ("users[01]{a}:x", 7, "row count"),
            ("users{a}:x", 6, "'['"),
            ("users[1]{a:x", 11, "',' or '}'"),
            ("users[1]{a}x", 12, "':'"),
            ("users[1]{a}:\"open", 13, "closing"),
            ("users[1]{a}:\"\\q\"", 14, "escapes"),
            ("users[1]{a}:ab\"c\"", 15, "quote the whole cell"),
            ("users[1]{a}:[1,2", 13, "JSON"),
            ("users[1]{a,a}:1,2", 12, "unique"),
            ("users[1]{}:", 10, "field name"),
            ("", 1, "table name"),
            ("é[1]{a}:\"x\" y", 13, "',' or ';'"),
        ];
        for (text, column, expected) in cases {
            match from_toon(text) {
                Err(Error::Syntax {
                    line: 1,
                    column: c,
                    expected: e,
                    ..
                }) => {
                    assert_eq!(c, *column, "{text:?}: {e}");
                    assert!(e.contains(expected), "{text:?}: {e}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(
            from_toon("t[1]{a}:x\ny"),
            Err(Error::Syntax { line: 1, .. })
        ));
    }
}
