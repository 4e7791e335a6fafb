//! Metadata filters for collection searches.

use std::collections::HashMap;

use serde_json::Value;

/// A predicate over a document's JSON metadata, used by every search of a
/// [`Collection`](crate::Collection). Field names are dotted paths into nested objects
/// (`"author.name"`).
///
/// ```
/// use toondb::Filter;
/// use serde_json::json;
///
/// let f = Filter::and([
///     Filter::eq("lang", "en"),
///     Filter::range("year").gte(2020).lt(2025),
///     Filter::not(Filter::is_in("tag", [json!("draft"), json!("spam")])),
/// ]);
/// assert!(f.matches(&json!({"lang": "en", "year": 2021, "tag": "news"})));
/// assert!(!f.matches(&json!({"lang": "en", "year": 2021, "tag": "spam"})));
/// assert!(!f.matches(&json!({"lang": "en"}))); // a missing field matches no comparison
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Filter {
    /// The field equals the value (JSON equality; numbers compare by value, `1 == 1.0`).
    Eq(String, Value),
    /// The field equals one of the values.
    In(String, Vec<Value>),
    /// The field is a number within the bounds.
    Range(Range),
    /// Every filter matches (an empty `And` matches everything).
    And(Vec<Filter>),
    /// At least one filter matches (an empty `Or` matches nothing).
    Or(Vec<Filter>),
    /// The filter does not match.
    Not(Box<Filter>),
}

/// Numeric bounds on a field; build it with [`Filter::range`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Range {
    /// The field.
    pub field: String,
    /// Lower bound, inclusive.
    pub gte: Option<f64>,
    /// Lower bound, exclusive.
    pub gt: Option<f64>,
    /// Upper bound, inclusive.
    pub lte: Option<f64>,
    /// Upper bound, exclusive.
    pub lt: Option<f64>,
}

impl Filter {
    /// `field == value`.
    pub fn eq(field: &str, value: impl Into<Value>) -> Filter {
        Filter::Eq(field.to_string(), value.into())
    }

    /// `field` is one of `values`.
    pub fn is_in(field: &str, values: impl IntoIterator<Item = Value>) -> Filter {
        Filter::In(field.to_string(), values.into_iter().collect())
    }

    /// Numeric bounds on `field`: chain `.gte()`, `.gt()`, `.lte()`, `.lt()`. Without
    /// bounds it matches every document whose field is a number.
    pub fn range(field: &str) -> Filter {
        Filter::Range(Range {
            field: field.to_string(),
            ..Range::default()
        })
    }

    /// All of `filters`.
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::And(filters.into_iter().collect())
    }

    /// Any of `filters`.
    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter::Or(filters.into_iter().collect())
    }

    /// Not `filter`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(filter: Filter) -> Filter {
        Filter::Not(Box::new(filter))
    }

    /// Adds `field >= v` to a range filter (other filters are returned unchanged).
    pub fn gte(self, v: impl Into<f64>) -> Filter {
        self.bound(|r| r.gte = Some(v.into()))
    }

    /// Adds `field > v` to a range filter.
    pub fn gt(self, v: impl Into<f64>) -> Filter {
        self.bound(|r| r.gt = Some(v.into()))
    }

    /// Adds `field <= v` to a range filter.
    pub fn lte(self, v: impl Into<f64>) -> Filter {
        self.bound(|r| r.lte = Some(v.into()))
    }

    /// Adds `field < v` to a range filter.
    pub fn lt(self, v: impl Into<f64>) -> Filter {
        self.bound(|r| r.lt = Some(v.into()))
    }

    fn bound(self, f: impl FnOnce(&mut Range)) -> Filter {
        match self {
            Filter::Range(mut r) => {
                f(&mut r);
                Filter::Range(r)
            }
            other => other,
        }
    }

    /// Whether `metadata` satisfies the filter.
    pub fn matches(&self, metadata: &Value) -> bool {
        match self {
            Filter::Eq(field, want) => lookup(metadata, field).is_some_and(|v| json_eq(v, want)),
            Filter::In(field, set) => {
                lookup(metadata, field).is_some_and(|v| set.iter().any(|w| json_eq(v, w)))
            }
            Filter::Range(r) => lookup(metadata, &r.field)
                .and_then(Value::as_f64)
                .is_some_and(|x| {
                    r.gte.is_none_or(|b| x >= b)
                        && r.gt.is_none_or(|b| x > b)
                        && r.lte.is_none_or(|b| x <= b)
                        && r.lt.is_none_or(|b| x < b)
                }),
            Filter::And(fs) => fs.iter().all(|f| f.matches(metadata)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(metadata)),
            Filter::Not(f) => !f.matches(metadata),
        }
    }

    /// Every field the filter names.
    pub(crate) fn fields(&self, out: &mut Vec<String>) {
        match self {
            Filter::Eq(f, _) | Filter::In(f, _) => out.push(f.clone()),
            Filter::Range(r) => out.push(r.field.clone()),
            Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| f.fields(out)),
            Filter::Not(f) => f.fields(out),
        }
    }
}

/// Looks up a dotted path; a key that itself contains dots is found too.
pub(crate) fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let obj = value.as_object()?;
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    lookup(obj.get(head)?, rest)
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// How many documents carry each field path: lets a search refuse a filter on a field
/// no document has (almost always a typo) with a clear error.
#[derive(Debug, Default)]
pub(crate) struct FieldCounts(HashMap<String, usize>);

impl FieldCounts {
    pub(crate) fn add(&mut self, metadata: &Value) {
        visit_paths(metadata, "", &mut |p| {
            *self.0.entry(p.to_string()).or_insert(0) += 1
        });
    }

    pub(crate) fn remove(&mut self, metadata: &Value) {
        visit_paths(metadata, "", &mut |p| {
            if let Some(n) = self.0.get_mut(p) {
                *n -= 1;
                if *n == 0 {
                    self.0.remove(p);
                }
            }
        });
    }

    pub(crate) fn contains(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }
}

fn visit_paths(value: &Value, prefix: &str, f: &mut dyn FnMut(&str)) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            f(&path);
            visit_paths(v, &path, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operators() {
        let doc = json!({"a": 1, "b": {"c": "x", "d": 2.5}, "e.f": true, "t": [1, 2]});
        assert!(Filter::eq("a", 1.0).matches(&doc));
        assert!(Filter::eq("b.c", "x").matches(&doc));
        assert!(Filter::eq("e.f", true).matches(&doc));
        assert!(Filter::eq("t", json!([1, 2])).matches(&doc));
        assert!(!Filter::eq("a", "1").matches(&doc));
        assert!(!Filter::eq("missing", 1).matches(&doc));
        assert!(Filter::is_in("b.c", [json!("y"), json!("x")]).matches(&doc));
        assert!(Filter::range("b.d").gt(2).lte(2.5).matches(&doc));
        assert!(!Filter::range("b.d").lt(2.5).matches(&doc));
        assert!(
            !Filter::range("b.c").gte(0).matches(&doc),
            "strings are not numbers"
        );
        assert!(Filter::and([]).matches(&doc));
        assert!(!Filter::or([]).matches(&doc));
        assert!(Filter::not(Filter::eq("a", 2)).matches(&doc));
        assert!(Filter::not(Filter::eq("missing", 2)).matches(&doc));
    }

    #[test]
    fn field_counts() {
        let mut c = FieldCounts::default();
        let d1 = json!({"a": 1, "b": {"c": 2}});
        c.add(&d1);
        c.add(&json!({"a": 2}));
        assert!(c.contains("a") && c.contains("b") && c.contains("b.c"));
        c.remove(&d1);
        assert!(c.contains("a") && !c.contains("b.c"));
    }
}
