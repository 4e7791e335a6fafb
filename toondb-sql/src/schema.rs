//! The schema as SQL: each table, index and view of the catalog with the statement that
//! creates it, for `SqlEngine::schema` and the shell's `.tables` and `.schema`.

use crate::catalog::{Catalog, Index, Table, View, norm};
use crate::value::Value;

/// What kind of object a [`SchemaObject`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    /// A table.
    Table,
    /// An index, explicit or made for a `UNIQUE` constraint.
    Index,
    /// A view.
    View,
}

impl ObjectKind {
    /// The name SQLite's `sqlite_schema.type` uses: `table`, `index` or `view`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Index => "index",
            ObjectKind::View => "view",
        }
    }
}

/// One object of the schema, as `sqlite_schema` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaObject {
    /// Table, index or view.
    pub kind: ObjectKind,
    /// The object's name.
    pub name: String,
    /// The table the object belongs to (its own name for a table or view).
    pub table: String,
    /// The statement that creates the object, regenerated from the catalog in a canonical
    /// form; `None` for an index a `UNIQUE` constraint made (its table's statement creates
    /// it), as in SQLite.
    pub sql: Option<String>,
}

/// Every object of `cat`: each table followed by its indexes, then the views, each kind in
/// name order.
pub(crate) fn objects(cat: &Catalog) -> Vec<SchemaObject> {
    let mut out = Vec::new();
    for t in cat.tables.values() {
        out.push(SchemaObject {
            kind: ObjectKind::Table,
            name: t.name.clone(),
            table: t.name.clone(),
            sql: Some(create_table_sql(t)),
        });
        for ix in &t.indexes {
            out.push(SchemaObject {
                kind: ObjectKind::Index,
                name: ix.name.clone(),
                table: t.name.clone(),
                sql: (!ix.for_constraint()).then(|| create_index_sql(t, ix)),
            });
        }
    }
    for v in views_in_dependency_order(cat) {
        out.push(SchemaObject {
            kind: ObjectKind::View,
            name: v.name.clone(),
            table: v.name.clone(),
            sql: Some(create_view_sql(v)),
        });
    }
    out
}

/// The views, each after the views its SELECT uses (so that running their statements in
/// order recreates them: a view's SELECT is checked when it is created), else by name.
fn views_in_dependency_order(cat: &Catalog) -> Vec<&View> {
    let uses = |v: &View| -> Vec<String> {
        let mut names = Vec::new();
        if let Ok((q, _)) = crate::bind::parse_view(v) {
            let _ = sqlparser::ast::visit_relations(&q, |rel| {
                if let Some(sqlparser::ast::ObjectNamePart::Identifier(id)) = rel.0.last() {
                    names.push(norm(&id.value));
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
        }
        names
    };
    let mut pending: Vec<(&View, Vec<String>)> =
        cat.views.values().map(|v| (v.as_ref(), uses(v))).collect();
    let mut out: Vec<&View> = Vec::new();
    while !pending.is_empty() {
        let waits_for_a_view = |deps: &[String], pending: &[(&View, Vec<String>)]| {
            deps.iter()
                .any(|d| pending.iter().any(|(p, _)| norm(&p.name) == *d))
        };
        // The first (by name) whose views are all out; a cycle cannot be created, but a
        // corrupt catalog must not loop: then the first pending one goes.
        let next = (0..pending.len())
            .find(|&i| !waits_for_a_view(&pending[i].1, &pending))
            .unwrap_or(0);
        out.push(pending.remove(next).0);
    }
    out
}

/// SQLite's keywords (sorted): a name that is one of them is quoted.
const KEYWORDS: &[&str] = &[
    "ABORT",
    "ACTION",
    "ADD",
    "AFTER",
    "ALL",
    "ALTER",
    "ALWAYS",
    "ANALYZE",
    "AND",
    "AS",
    "ASC",
    "ATTACH",
    "AUTOINCREMENT",
    "BEFORE",
    "BEGIN",
    "BETWEEN",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONFLICT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DEFERRABLE",
    "DEFERRED",
    "DELETE",
    "DESC",
    "DETACH",
    "DISTINCT",
    "DO",
    "DROP",
    "EACH",
    "ELSE",
    "END",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXCLUSIVE",
    "EXISTS",
    "EXPLAIN",
    "FAIL",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GENERATED",
    "GLOB",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IMMEDIATE",
    "IN",
    "INDEX",
    "INDEXED",
    "INITIALLY",
    "INNER",
    "INSERT",
    "INSTEAD",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "KEY",
    "LAST",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "MATERIALIZED",
    "NATURAL",
    "NO",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "NULLS",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OTHERS",
    "OUTER",
    "OVER",
    "PARTITION",
    "PLAN",
    "PRAGMA",
    "PRECEDING",
    "PRIMARY",
    "QUERY",
    "RAISE",
    "RANGE",
    "RECURSIVE",
    "REFERENCES",
    "REGEXP",
    "REINDEX",
    "RELEASE",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RETURNING",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SAVEPOINT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMP",
    "TEMPORARY",
    "THEN",
    "TIES",
    "TO",
    "TRANSACTION",
    "TRIGGER",
    "UNBOUNDED",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VIEW",
    "VIRTUAL",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHOUT",
];

/// `name` as an identifier: bare when it is a plain word that is not a keyword, else in
/// double quotes (with inner quotes doubled).
pub(crate) fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let upper = name.to_ascii_uppercase();
    let keyword = KEYWORDS.binary_search(&upper.as_str()).is_ok();
    if plain && !keyword {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `v` as a SQL literal that reads back as the same value.
pub(crate) fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        // Debug keeps a decimal point or an exponent, so the literal reads back as REAL.
        Value::Real(r) if r.is_finite() => format!("{r:?}"),
        Value::Real(r) if *r > 0.0 => "9e999".into(),
        Value::Real(r) if *r < 0.0 => "-9e999".into(),
        Value::Real(_) => "NULL".into(),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Blob(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
            format!("X'{hex}'")
        }
    }
}

fn column_list(t: &Table, cols: &[usize]) -> String {
    cols.iter()
        .map(|&c| ident(&t.columns[c].name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn create_table_sql(t: &Table) -> String {
    let mut parts = Vec::new();
    let inline_pk = t.pk.len() == 1;
    for (i, c) in t.columns.iter().enumerate() {
        let mut def = ident(&c.name);
        if !c.type_name.is_empty() {
            def.push(' ');
            def.push_str(&c.type_name);
        }
        if inline_pk && t.pk[0] == i {
            def.push_str(" PRIMARY KEY");
        }
        // Primary-key columns are NOT NULL by definition here.
        if c.not_null && !t.pk.contains(&i) {
            def.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            def.push_str(" DEFAULT ");
            let lit = literal(d);
            // A negative number is an expression; SQLite's grammar wants it in parentheses.
            if lit.starts_with('-') {
                def.push_str(&format!("({lit})"));
            } else {
                def.push_str(&lit);
            }
        }
        parts.push(def);
    }
    if t.pk.len() > 1 {
        parts.push(format!("PRIMARY KEY ({})", column_list(t, &t.pk)));
    }
    for ix in t.indexes.iter().filter(|ix| ix.for_constraint()) {
        parts.push(format!("UNIQUE ({})", column_list(t, &ix.columns)));
    }
    format!("CREATE TABLE {} ({})", ident(&t.name), parts.join(", "))
}

fn create_view_sql(v: &View) -> String {
    let columns = if v.columns.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = v.columns.iter().map(|c| ident(c)).collect();
        format!(" ({})", names.join(", "))
    };
    format!("CREATE VIEW {}{columns} AS {}", ident(&v.name), v.sql)
}

fn create_index_sql(t: &Table, ix: &Index) -> String {
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if ix.unique { "UNIQUE " } else { "" },
        ident(&ix.name),
        ident(&t.name),
        column_list(t, &ix.columns)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(ident("users"), "users");
        assert_eq!(ident("_x1"), "_x1");
        assert_eq!(ident("order"), "\"order\"");
        assert_eq!(ident("two words"), "\"two words\"");
        assert_eq!(ident("1st"), "\"1st\"");
        assert_eq!(ident("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(ident(""), "\"\"");
    }

    #[test]
    fn literals_read_back_as_the_same_type() {
        assert_eq!(literal(&Value::Integer(-3)), "-3");
        assert_eq!(literal(&Value::Real(1.0)), "1.0");
        assert_eq!(literal(&Value::Real(1e300)), "1e300");
        assert_eq!(literal(&Value::Text("it's".into())), "'it''s'");
        assert_eq!(literal(&Value::Blob(vec![0, 0xAB])), "X'00AB'");
        assert_eq!(literal(&Value::Null), "NULL");
    }
}
