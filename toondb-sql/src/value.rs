//! SQL values with SQLite's storage classes, ordering, affinity and conversions.

use std::cmp::Ordering;
use std::fmt;

/// 2^63 as a float: the first real beyond i64::MAX.
pub(crate) const TWO63: f64 = 9_223_372_036_854_775_808.0;

/// One SQL value. The five variants are SQLite's storage classes; booleans are stored as the
/// integers 0 and 1, as in SQLite.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit IEEE float (never NaN: NaN becomes NULL, as in SQLite).
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The storage class name as SQLite's `typeof()` reports it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }

    /// The integer, if this is an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, if this is an integer or a real.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a blob.
    pub fn as_blob(&self) -> Option<&[u8]> {
        match self {
            Value::Blob(b) => Some(b),
            _ => None,
        }
    }

    /// The value as JSON: numbers, strings, null; blobs as lowercase hex strings.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Real(r) => serde_json::Number::from_f64(*r)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Blob(b) => serde_json::Value::String(hex(b)),
        }
    }

    /// Builds a real, mapping NaN to NULL (as SQLite does).
    pub(crate) fn real(r: f64) -> Value {
        if r.is_nan() {
            Value::Null
        } else {
            Value::Real(r)
        }
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

impl fmt::Display for Value {
    /// Renders as SQLite's `CAST(x AS TEXT)` would; NULL renders as `NULL`, blobs as `x'..'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Real(r) => f.write_str(&real_to_text(*r)),
            Value::Text(s) => f.write_str(s),
            Value::Blob(b) => write!(f, "x'{}'", hex(b)),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// SQLite's `%!.15g` rendering of a real.
pub(crate) fn real_to_text(r: f64) -> String {
    if r.is_infinite() {
        return if r > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if r == 0.0 {
        return "0.0".into();
    }
    let sci = format!("{r:.14e}");
    let (mant, exp) = match sci.split_once('e') {
        Some(p) => p,
        None => return sci,
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-5..15).contains(&exp) {
        let mut m = mant.trim_end_matches('0').to_string();
        if m.ends_with('.') {
            m.push('0');
        }
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (14 - exp).max(0) as usize;
        let mut s = format!("{r:.decimals$}");
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.push('0');
            }
        } else {
            s.push_str(".0");
        }
        s
    }
}

/// The type affinity of a column or expression (SQLite section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affinity {
    Integer,
    Real,
    Numeric,
    Text,
    /// BLOB affinity, also "no affinity" for expressions.
    Blob,
}

impl Affinity {
    /// SQLite's rules for the affinity of a declared type name.
    pub(crate) fn from_type_name(name: &str) -> Affinity {
        let n = name.to_ascii_uppercase();
        if n.contains("INT") {
            Affinity::Integer
        } else if n.contains("CHAR") || n.contains("CLOB") || n.contains("TEXT") {
            Affinity::Text
        } else if n.contains("BLOB") || n.is_empty() {
            Affinity::Blob
        } else if n.contains("REAL") || n.contains("FLOA") || n.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Affinity::Integer | Affinity::Real | Affinity::Numeric)
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Affinity::Integer => 1,
            Affinity::Real => 2,
            Affinity::Numeric => 3,
            Affinity::Text => 4,
            Affinity::Blob => 5,
        }
    }

    pub(crate) fn from_code(c: u8) -> Option<Affinity> {
        Some(match c {
            1 => Affinity::Integer,
            2 => Affinity::Real,
            3 => Affinity::Numeric,
            4 => Affinity::Text,
            5 => Affinity::Blob,
            _ => return None,
        })
    }
}

/// Applies an affinity to a value (used on storage and before comparisons).
pub(crate) fn apply_affinity(v: Value, aff: Affinity) -> Value {
    match aff {
        Affinity::Blob => v,
        Affinity::Text => match v {
            Value::Integer(_) | Value::Real(_) => Value::Text(v.to_string()),
            other => other,
        },
        Affinity::Integer | Affinity::Numeric => match v {
            Value::Text(ref s) => match parse_whole_number(s) {
                Some(n) => real_to_int_if_exact(n),
                None => v,
            },
            Value::Real(r) => real_to_int_if_exact(Value::Real(r)),
            other => other,
        },
        Affinity::Real => match v {
            Value::Text(ref s) => match parse_whole_number(s) {
                Some(Value::Integer(i)) => Value::Real(i as f64),
                Some(n) => n,
                None => v,
            },
            Value::Integer(i) => Value::Real(i as f64),
            other => other,
        },
    }
}

fn real_to_int_if_exact(v: Value) -> Value {
    if let Value::Real(r) = v
        && r.fract() == 0.0
        && (-TWO63..TWO63).contains(&r)
    {
        return Value::Integer(r as i64);
    }
    v
}

/// Parses text that is, after trimming spaces, entirely a number literal.
pub(crate) fn parse_whole_number(s: &str) -> Option<Value> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (v, used) = parse_number_prefix(t);
    if used == 0 || used != t.len() {
        None
    } else {
        Some(v)
    }
}

/// Parses the longest numeric prefix (SQLite's text-to-number conversion for arithmetic).
/// Returns the value and the number of bytes consumed (0 when there is no number: value 0).
pub(crate) fn parse_number_prefix(s: &str) -> (Value, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut int_digits = i - digits_start;
    let mut is_real = false;
    if i < b.len() && b[i] == b'.' {
        let j = i + 1;
        let mut k = j;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if int_digits > 0 || k > j {
            is_real = true;
            int_digits += k - j;
            i = k;
        }
    }
    if int_digits == 0 {
        return (Value::Integer(0), 0);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut k = i + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            is_real = true;
            i = k;
        }
    }
    let text = &s[start..i];
    if !is_real && let Ok(n) = text.parse::<i64>() {
        return (Value::Integer(n), i);
    }
    match text.parse::<f64>() {
        Ok(r) => (Value::real(r), i),
        Err(_) => (Value::Integer(0), 0),
    }
}

/// Converts any value to a number for arithmetic (NULL stays NULL).
pub(crate) fn to_numeric(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Integer(_) | Value::Real(_) => v.clone(),
        Value::Text(s) => parse_number_prefix(s).0,
        Value::Blob(b) => parse_number_prefix(&String::from_utf8_lossy(b)).0,
    }
}

/// Truthiness as SQLite's WHERE sees it: None for NULL.
pub(crate) fn truthy(v: &Value) -> Option<bool> {
    match to_numeric(v) {
        Value::Null => None,
        Value::Integer(i) => Some(i != 0),
        Value::Real(r) => Some(r != 0.0),
        _ => Some(false),
    }
}

/// Converts to an integer as `CAST(x AS INTEGER)` does.
pub(crate) fn cast_to_integer(v: &Value) -> Value {
    match to_numeric(v) {
        Value::Real(r) => Value::Integer(real_to_i64_saturating(r)),
        other => other,
    }
}

pub(crate) fn real_to_i64_saturating(r: f64) -> i64 {
    if r >= TWO63 {
        i64::MAX
    } else if r <= -TWO63 {
        i64::MIN
    } else {
        r as i64
    }
}

/// Converts to a real as `CAST(x AS REAL)` does.
pub(crate) fn cast_to_real(v: &Value) -> Value {
    match to_numeric(v) {
        Value::Integer(i) => Value::Real(i as f64),
        other => other,
    }
}

/// Converts to text as `CAST(x AS TEXT)` does.
pub(crate) fn cast_to_text(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Text(_) => v.clone(),
        Value::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
        other => Value::Text(other.to_string()),
    }
}

/// Compares two numbers exactly (integers against reals without precision loss).
fn cmp_int_real(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r >= TWO63 {
        return Ordering::Less;
    }
    if r < -TWO63 {
        return Ordering::Greater;
    }
    let t = r.trunc() as i64;
    match i.cmp(&t) {
        Ordering::Equal => {
            let frac = r - r.trunc();
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

fn class_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Integer(_) | Value::Real(_) => 1,
        Value::Text(_) => 2,
        Value::Blob(_) => 3,
    }
}

/// SQLite's total order: NULL < numbers < text < blob; numbers by value, text and blobs bytewise.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Real(x), Value::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Integer(x), Value::Real(y)) => cmp_int_real(*x, *y),
        (Value::Real(x), Value::Integer(y)) => cmp_int_real(*y, *x).reverse(),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => class_rank(a).cmp(&class_rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_rendering_matches_sqlite() {
        assert_eq!(real_to_text(1.0), "1.0");
        assert_eq!(real_to_text(0.1), "0.1");
        assert_eq!(real_to_text(-2.5), "-2.5");
        assert_eq!(real_to_text(1e20), "1.0e+20");
        assert_eq!(real_to_text(1.5e-7), "1.5e-07");
        assert_eq!(real_to_text(123456789.125), "123456789.125");
        assert_eq!(real_to_text(1.0 / 3.0), "0.333333333333333");
        assert_eq!(real_to_text(100.0), "100.0");
    }

    #[test]
    fn number_prefix_parsing() {
        assert_eq!(parse_number_prefix("12abc").0, Value::Integer(12));
        assert_eq!(parse_number_prefix("  -3.5x").0, Value::Real(-3.5));
        assert_eq!(parse_number_prefix("abc"), (Value::Integer(0), 0));
        assert_eq!(parse_number_prefix("1e3").0, Value::Real(1000.0));
        assert_eq!(parse_number_prefix("1e").0, Value::Integer(1));
        assert_eq!(parse_number_prefix(".5").0, Value::Real(0.5));
        assert_eq!(
            parse_number_prefix("99999999999999999999").0,
            Value::Real(1e20)
        );
        assert_eq!(parse_whole_number(" 42 "), Some(Value::Integer(42)));
        assert_eq!(parse_whole_number("42x"), None);
        assert_eq!(parse_whole_number(""), None);
    }

    #[test]
    fn affinity_rules() {
        assert_eq!(Affinity::from_type_name("VARCHAR(10)"), Affinity::Text);
        assert_eq!(Affinity::from_type_name("BIGINT"), Affinity::Integer);
        assert_eq!(Affinity::from_type_name("DOUBLE"), Affinity::Real);
        assert_eq!(Affinity::from_type_name("BOOLEAN"), Affinity::Numeric);
        assert_eq!(Affinity::from_type_name(""), Affinity::Blob);
        assert_eq!(
            apply_affinity(Value::Text("7".into()), Affinity::Integer),
            Value::Integer(7)
        );
        assert_eq!(
            apply_affinity(Value::Text("7.5".into()), Affinity::Integer),
            Value::Real(7.5)
        );
        assert_eq!(
            apply_affinity(Value::Real(3.0), Affinity::Integer),
            Value::Integer(3)
        );
        assert_eq!(
            apply_affinity(Value::Integer(3), Affinity::Real),
            Value::Real(3.0)
        );
        assert_eq!(
            apply_affinity(Value::Integer(3), Affinity::Text),
            Value::Text("3".into())
        );
        assert_eq!(
            apply_affinity(Value::Text("x".into()), Affinity::Integer),
            Value::Text("x".into())
        );
    }

    #[test]
    fn total_order() {
        let mut v = vec![
            Value::Blob(vec![1]),
            Value::Text("b".into()),
            Value::Real(1.5),
            Value::Null,
            Value::Integer(1),
            Value::Text("a".into()),
            Value::Integer(2),
        ];
        v.sort_by(compare);
        assert_eq!(
            v,
            vec![
                Value::Null,
                Value::Integer(1),
                Value::Real(1.5),
                Value::Integer(2),
                Value::Text("a".into()),
                Value::Text("b".into()),
                Value::Blob(vec![1]),
            ]
        );
        assert_eq!(
            compare(&Value::Integer(i64::MAX), &Value::Real(TWO63)),
            Ordering::Less
        );
        assert_eq!(
            compare(&Value::Integer(3), &Value::Real(3.0)),
            Ordering::Equal
        );
    }
}
