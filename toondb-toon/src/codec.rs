//! The specification codec: the official `toon-format` crate underneath, with
//! ToonDB's options, errors and conformance fixes on top.
//!
//! # Fixes over `toon-format` 0.7.0
//!
//! The official decoder rejects two kinds of input that the specification
//! lets a non-strict decoder accept, and that conformance fixtures pin:
//!
//! 1. **Header fall-through** (§5.2 class 4, §6, §14.2): in non-strict mode, a
//!    line that looks like an array header but fails the header grammar
//!    (`foo[1][bar]: 10`, `key[]: 1,2`, `foo [2]: x`, `a[2|]{x,y}: 1|2`, a
//!    keyless header out of place, content after a fields-bearing header's
//!    colon, ...) is a key-value line whose key is the literal text before the
//!    first unquoted colon.
//! 2. **Keyed scope recovery** (§9.5): in non-strict mode, a line at entry
//!    depth of a keyed tabular object without an unquoted colon is skipped.
//!
//! Both are applied by [`decode_value`] as a repair loop: when the official
//! decoder reports one of these errors in non-strict mode, the offending line
//! is rewritten (the literal key quoted, or the line blanked) and the
//! document is decoded again. Strict decoding is untouched. The rounds are
//! bounded (about 64 MiB of re-decoded text in all, and at least 16 lines):
//! past that, the first error left is returned.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::options::{DecodeOptions, EncodeOptions};

/// Nesting limit of the underlying codec (levels of indentation).
pub const MAX_DEPTH: usize = 256;

/// Encodes any `Serialize` value as a TOON document.
///
/// The result has no trailing newline. Map keys must be strings (or
/// serialize as strings); NaN and infinities become `null`, `-0` becomes `0`
/// (§3).
///
/// ```
/// use toondb_toon::{encode, EncodeOptions};
/// #[derive(serde::Serialize)]
/// struct User { id: u32, name: &'static str }
/// let users = [User { id: 1, name: "Alice" }, User { id: 2, name: "Bob" }];
/// let text = encode(&serde_json::json!({ "users": users }), &EncodeOptions::new())?;
/// assert_eq!(text, "users[2]{id,name}:\n  1,Alice\n  2,Bob");
/// # Ok::<(), toondb_toon::Error>(())
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T, options: &EncodeOptions) -> Result<String> {
    let value = serde_json::to_value(value).map_err(|e| Error::Encode(e.to_string()))?;
    encode_value(&value, options)
}

/// Encodes a JSON value as a TOON document.
pub fn encode_value(value: &Value, options: &EncodeOptions) -> Result<String> {
    options.validate()?;
    // Tables are rendered by this crate (byte-identical, several times
    // faster); everything else by the official encoder.
    if crate::stream::has_fast_path(value) {
        let mut out = Vec::new();
        crate::stream::write_fast(&mut out, value, options)?;
        return String::from_utf8(out).map_err(|e| Error::Encode(e.to_string()));
    }
    crate::stream::official(value, options)
}

/// Decodes a TOON document into any `Deserialize` type.
///
/// ```
/// use toondb_toon::{decode, DecodeOptions};
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct User { id: u32, name: String }
/// #[derive(serde::Deserialize)]
/// struct Doc { users: Vec<User> }
/// let doc: Doc = decode("users[2]{id,name}:\n  1,Alice\n  2,Bob", &DecodeOptions::new())?;
/// assert_eq!(doc.users[1], User { id: 2, name: "Bob".into() });
/// # Ok::<(), toondb_toon::Error>(())
/// ```
pub fn decode<T: DeserializeOwned>(text: &str, options: &DecodeOptions) -> Result<T> {
    let value = decode_value(text, options)?;
    serde_json::from_value(value).map_err(|e| Error::Type(e.to_string()))
}

/// Decodes a TOON document into a JSON value (object key order preserved).
///
/// ```
/// use toondb_toon::{decode_value, DecodeOptions, Error};
/// let err = decode_value("tags[3]: a,b", &DecodeOptions::new()).unwrap_err();
/// assert!(matches!(err, Error::Syntax { line: 1, .. }));
/// assert!(err.to_string().contains("expected 3 inline-form values"));
/// ```
pub fn decode_value(text: &str, options: &DecodeOptions) -> Result<Value> {
    options.validate()?;
    let official = options.to_official();
    let first = match toon_format::decode::<Value>(text, &official) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if options.is_strict() {
        return Err(syntax_error(text, first, options));
    }
    // Non-strict repair loop (see the module docs). Each round rewrites one
    // line that the official decoder rejected and decodes again; a line is
    // rewritten at most once, and the rounds are capped so that the work
    // stays within about 64 MiB of re-decoded text (at least 16 rounds)
    // whatever the input.
    let budget = repair_budget(text.len());
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let mut repaired = vec![false; lines.len()];
    let mut error = first;
    let mut rounds = 0;
    while let Some(line_no) = repairable_line(&error) {
        let idx = line_no - 1;
        if rounds == budget || idx >= lines.len() || repaired[idx] {
            break;
        }
        let Some(new_line) = repair_line(&lines[idx], idx == 0, &error) else {
            break;
        };
        lines[idx] = new_line;
        repaired[idx] = true;
        rounds += 1;
        match toon_format::decode::<Value>(&lines.join("\n"), &official) {
            Ok(v) => return Ok(v),
            Err(e) => error = e,
        }
    }
    // Positions refer to the caller's text, not to the repaired one.
    Err(syntax_error(text, error, options))
}

/// Re-decoded text one non-strict decode may spend on repairs (smaller in
/// unit tests, to exercise the cap quickly).
const REPAIR_BYTES: usize = if cfg!(test) { 1 << 20 } else { 64 << 20 };

/// Most lines one non-strict decode of `len` bytes rewrites.
fn repair_budget(len: usize) -> usize {
    (REPAIR_BYTES / len.max(1)).max(16)
}

/// Header-grammar messages of the official decoder after which §6 lets a
/// non-strict decoder fall through to a key-value line.
const FALL_THROUGH: &[&str] = &[
    "Unterminated bracket segment",
    "Unexpected whitespace between bracket segment",
    "Unexpected content \"",
    "Missing colon after array header",
    "Unexpected whitespace between key and bracket segment",
    "Invalid array length",
    "Header delimiter mismatch",
    "Empty field name in field list",
    "Missing field name before nested field group",
    "Unexpected whitespace before nested field group",
    "Unmatched brace in field list",
    "Unexpected content after nested field group",
    "Keyed header requires a field list",
    "Unexpected content after fields-bearing header colon",
    "Keyless keyed header is only valid",
    "Keyless array header is only valid",
    "Keyless header with a field list is only valid",
];

const KEYED_NO_COLON: &str = "Expected entry row inside keyed tabular object";

fn repairable_line(error: &toon_format::ToonError) -> Option<usize> {
    match error {
        toon_format::ToonError::ParseError { line, message, .. }
            if *line > 0
                && (message.starts_with(KEYED_NO_COLON)
                    || FALL_THROUGH.iter().any(|p| message.starts_with(p))) =>
        {
            Some(*line)
        }
        _ => None,
    }
}

/// Rewrites one raw line so the official decoder reads it the way the
/// specification's non-strict recovery does.
fn repair_line(raw: &str, first_line: bool, error: &toon_format::ToonError) -> Option<String> {
    let toon_format::ToonError::ParseError { message, .. } = error else {
        return None;
    };
    if message.starts_with(KEYED_NO_COLON) {
        // Skipped: an empty line is ignored in non-strict mode.
        return Some(String::new());
    }
    // Literal key: everything between the indentation (and list marker) and
    // the first unquoted colon, re-emitted as a quoted key.
    let (bom, body) = match raw.strip_prefix('\u{FEFF}') {
        Some(rest) if first_line => ("\u{FEFF}", rest),
        _ => ("", raw),
    };
    let (body, cr) = match body.strip_suffix('\r') {
        Some(rest) => (rest, "\r"),
        None => (body, ""),
    };
    let indent_len = body.len() - body.trim_start_matches([' ', '\t']).len();
    let (indent, mut content) = body.split_at(indent_len);
    let mut marker = "";
    if let Some(rest) = content.strip_prefix("- ") {
        marker = "- ";
        content = rest.trim_start_matches(' ');
    }
    let colon = first_unquoted(content, b':')?;
    let key = content[..colon].trim_matches(' ');
    let rest = &content[colon..];
    Some(format!(
        "{bom}{indent}{marker}\"{}\"{rest}{cr}",
        toon_format::escape_string(key)
    ))
}

/// Byte index of the first `target` outside double quotes.
pub(crate) fn first_unquoted(content: &str, target: u8) -> Option<usize> {
    let bytes = content.as_bytes();
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes && b == b'\\' {
            i += 2;
            continue;
        }
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == target && !in_quotes {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Converts an error of the official decoder into ours, locating the column
/// and saying what was expected.
fn syntax_error(text: &str, error: toon_format::ToonError, options: &DecodeOptions) -> Error {
    use toon_format::ToonError as T;
    let (line, message) = match error {
        T::ParseError { line, message, .. } => (line, message),
        T::InvalidStructure(message) if message.contains("nesting depth") => {
            (deepest_line(text, options.indent_size()), message)
        }
        other => (1, other.to_string()),
    };
    let line = line.max(1);
    let raw = text.split('\n').nth(line - 1).unwrap_or("");
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let raw = if line == 1 {
        raw.strip_prefix('\u{FEFF}').unwrap_or(raw)
    } else {
        raw
    };
    let byte_col = locate(raw, &message);
    let column = raw
        .get(..byte_col)
        .map_or(1, |prefix| prefix.chars().count() + 1);
    Error::Syntax {
        line,
        column,
        expected: expectation(&message, options),
        message,
    }
}

/// First line (1-based) whose indentation exceeds the nesting limit.
fn deepest_line(text: &str, indent: usize) -> usize {
    text.split('\n')
        .position(|l| (l.len() - l.trim_start_matches(' ').len()) / indent.max(1) > MAX_DEPTH)
        .map_or(1, |i| i + 1)
}

/// Byte offset in `raw` that the message points at.
fn locate(raw: &str, message: &str) -> usize {
    let indent = raw.len() - raw.trim_start_matches([' ', '\t']).len();
    let starts = |p: &str| message.starts_with(p);
    if starts("Tabs are not allowed") {
        return raw.find('\t').unwrap_or(0);
    }
    if starts("Indentation must be exact multiple")
        || starts("Over-indented")
        || starts("Indentation depth jump")
    {
        return indent;
    }
    if let Some(rest) = message.strip_prefix("Invalid escape sequence '")
        && let Some(seq) = rest.split('\'').next()
        && let Some(at) = raw.find(seq)
    {
        return at;
    }
    if (starts("Invalid escape sequence: \\u") || starts("Unterminated escape"))
        && let Some(at) = raw.find("\\u").or_else(|| raw.rfind('\\'))
    {
        return at;
    }
    if starts("Unterminated")
        && (message.contains("quote") || message.contains("quoted"))
        && let Some(at) = unclosed_quote(raw)
    {
        return at;
    }
    if starts("Missing colon") {
        return raw.trim_end_matches(' ').len();
    }
    // A quoted fragment in the message ("Unexpected content \"x\"",
    // "Duplicate sibling key \"k\"", ...) is searched for in the line.
    if let Some(start) = message.find('"')
        && let Some(len) = message[start + 1..].find('"')
        && len > 0
        && let Some(at) = raw[indent..].find(&message[start + 1..start + 1 + len])
    {
        return indent + at;
    }
    indent
}

/// Byte offset of a double quote that is never closed.
fn unclosed_quote(raw: &str) -> Option<usize> {
    let bytes = raw.as_bytes();
    let mut open = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if open.is_some() => i += 1,
            b'"' => open = if open.is_some() { None } else { Some(i) },
            _ => {}
        }
        i += 1;
    }
    open
}

/// What the decoder expected, in words, for each message of the official
/// decoder.
fn expectation(message: &str, options: &DecodeOptions) -> String {
    let indent = options.indent_size();
    let starts = |p: &str| message.starts_with(p);
    if let Some(rest) = message.strip_prefix("Expected ") {
        if let Some((want, _)) = rest.split_once(", but") {
            return if rest.ends_with("found more") {
                format!("exactly {want}")
            } else {
                want.to_string()
            };
        }
        if starts("Expected entry row") {
            return "an entry row `key: value,...` (or less indentation to end the object)"
                .to_string();
        }
    }
    let text = if starts("Missing colon after array header") {
        "':' after the array header"
    } else if starts("Missing colon") {
        "':' after the key (or a primitive value at the document root)"
    } else if starts("Over-indented") || starts("Indentation depth jump") {
        return match message.split("expected depth ").nth(1).and_then(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|d| d.parse::<usize>().ok())
        }) {
            Some(d) => format!("indentation depth {d} ({} spaces)", d * indent),
            None => "one more level of indentation at most".to_string(),
        };
    } else if starts("Tabs are not allowed") {
        "spaces for indentation"
    } else if starts("Indentation must be exact multiple") {
        return format!("indentation in multiples of {indent} spaces");
    } else if starts("Unterminated string") || starts("Unterminated quoted key") {
        "a closing '\"'"
    } else if starts("Invalid escape") || starts("Unterminated escape") {
        "one of the escapes \\\\ \\\" \\n \\r \\t \\uXXXX"
    } else if starts("Unexpected characters after closing quote") {
        "a delimiter or the end of the value after the closing quote"
    } else if starts("Invalid array length") {
        "a length like [3]: a non-negative integer without leading zeros"
    } else if starts("Unterminated bracket segment") {
        "']' closing the array length"
    } else if starts("Unexpected whitespace between key and bracket") {
        "'[' directly after the key"
    } else if message.contains("between bracket segment and colon")
        || message.contains("between bracket segment and field list")
    {
        "'{fields}' or ':' directly after ']'"
    } else if starts("Header delimiter mismatch") {
        "the delimiter declared inside the brackets"
    } else if starts("Blank lines inside") {
        "no blank lines inside an array (strict mode)"
    } else if starts("Duplicate sibling key") {
        "keys unique among siblings (strict mode)"
    } else if starts("Duplicate field name") {
        "field names unique in the header (strict mode)"
    } else if starts("Unexpected content after the document root") {
        "the end of the document after the root value"
    } else if starts("Top-level document must start") {
        "a key-value line or an array header"
    } else if starts("Keyless") {
        "a key before the array header"
    } else if starts("Unexpected content after fields-bearing header colon") {
        "the end of the line after a table header's ':' (rows go on the following lines)"
    } else if starts("Keyed header requires") {
        "a field list like {a,b} after a keyed header [N:]"
    } else if message.contains("field") && (message.contains("brace") || message.contains("name")) {
        "a well-formed field list like {a,b}"
    } else if message.contains("nesting depth") {
        return format!("at most {MAX_DEPTH} levels of nesting");
    } else {
        "valid TOON"
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lenient() -> DecodeOptions {
        DecodeOptions::new().strict(false)
    }

    #[test]
    fn fall_through_quotes_the_literal_key() {
        assert_eq!(
            decode_value("foo[1][bar]: 10", &lenient()).unwrap(),
            json!({"foo[1][bar]": 10})
        );
        assert_eq!(
            decode_value("a[1]:\n  - x[]: \"q\\\"\"", &lenient()).unwrap(),
            json!({"a": [{"x[]": "q\""}]})
        );
        // Strict mode still rejects it.
        assert!(decode_value("foo[1][bar]: 10", &DecodeOptions::new()).is_err());
    }

    #[test]
    fn fall_through_keeps_crlf_and_bom() {
        assert_eq!(
            decode_value("\u{FEFF}k[x]: 1\r\nb: 2\r\n", &lenient()).unwrap(),
            json!({"k[x]": 1, "b": 2})
        );
    }

    #[test]
    fn repair_rounds_are_bounded() {
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("k{i}[x]: {i}\n"))
                .collect::<String>()
        };
        let ok = decode_value(&many(100), &lenient()).unwrap();
        assert_eq!(ok["k99[x]"], json!(99));
        // Past the budget: an error at the first line left unrepaired.
        let text = many(600);
        let budget = repair_budget(text.len());
        assert!(budget < 600);
        let err = decode_value(&text, &lenient()).unwrap_err();
        assert_eq!(err.position().map(|p| p.0), Some(budget + 1), "{err}");
    }

    #[test]
    fn keyed_scope_skips_colonless_line_only_when_lenient() {
        let text = "u[2:]{x}:\n  a: 1\n  boom";
        assert_eq!(
            decode_value(text, &lenient()).unwrap(),
            json!({"u": {"a": {"x": 1}}})
        );
        let err = decode_value(text, &DecodeOptions::new()).unwrap_err();
        assert_eq!(err.position(), Some((3, 3)));
    }

    #[test]
    fn errors_carry_line_column_and_expectation() {
        let cases: &[(&str, usize, usize, &str)] = &[
            ("a: 1\nb: \"open", 2, 4, "closing '\"'"),
            ("a:\n   b: 1", 2, 4, "multiples of 2"),
            ("a:\n\tb: 1", 2, 1, "spaces for indentation"),
            ("tags[3]: a,b", 1, 1, "3 inline-form values"),
            ("a: 1\nb: \"x\\q\"", 2, 6, "escapes"),
            ("a: 1\n  b: 2", 2, 3, "indentation depth 0"),
            ("a: 1\na: 2", 2, 1, "unique"),
            ("x[2]extra: a,b", 1, 5, "directly after ']'"),
            ("name: Ada\njust text", 2, 10, "':' after the key"),
        ];
        for (text, line, column, expected) in cases {
            let err = decode_value(text, &DecodeOptions::new()).unwrap_err();
            let Error::Syntax {
                line: l,
                column: c,
                expected: e,
                ..
            } = &err
            else {
                panic!("{text:?}: {err:?}");
            };
            assert_eq!((*l, *c), (*line, *column), "{text:?}: {err}");
            assert!(e.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let err = decode_value("é: \"ü\\x\"", &DecodeOptions::new()).unwrap_err();
        assert_eq!(err.position(), Some((1, 6)), "{err}");
    }

    #[test]
    fn too_deep_nesting_is_an_error_not_a_stack_overflow() {
        // Objects, list items, list items holding objects: each 300 levels
        // deep, decoded on a thread with the usual
        // 2 MiB stack.
        let nest = |root: &str, line: &str, step: usize| {
            let mut text = root.to_string();
            for level in 0..300 {
                text.push_str(&" ".repeat(2 * (1 + step * level)));
                text.push_str(line);
                text.push('\n');
            }
            text
        };
        let shapes = [
            nest("k:\n", "k:", 1),
            nest("[1]:\n", "- [1]:", 1),
            nest("[1]:\n", "- k[1]:", 2),
        ];
        for (i, text) in shapes.into_iter().enumerate() {
            let result = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || decode_value(&text, &DecodeOptions::new()).map(|_| ()))
                .unwrap()
                .join()
                .unwrap();
            assert!(
                matches!(&result, Err(Error::Syntax { message, .. }) if message.contains("nesting depth")),
                "shape {i}: {result:?}"
            );
        }
    }
}
