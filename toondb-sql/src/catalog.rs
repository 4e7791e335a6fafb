//! Table, index and view definitions, and their encoding in the `sql` keyspace.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::keycode::{Reader, Writer};
use crate::value::{Affinity, Value};

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// The declared type as written (e.g. `VARCHAR(20)`).
    pub(crate) type_name: String,
    pub(crate) affinity: Affinity,
    pub(crate) not_null: bool,
    pub(crate) default: Option<Value>,
}

/// A secondary index (explicit or created for a UNIQUE constraint).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Index {
    pub(crate) name: String,
    pub(crate) id: u32,
    pub(crate) columns: Vec<usize>,
    pub(crate) unique: bool,
}

/// A table definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) id: u32,
    pub(crate) columns: Vec<Column>,
    /// Primary-key column positions; empty when the table is keyed by a hidden rowid.
    pub(crate) pk: Vec<usize>,
    /// The INTEGER PRIMARY KEY column (a rowid alias, assigned automatically on NULL).
    pub(crate) rowid_alias: Option<usize>,
    pub(crate) indexes: Vec<Index>,
}

impl Index {
    /// The name of the index made for the `n`th (1-based) UNIQUE constraint of `table`,
    /// as SQLite names it.
    pub(crate) fn constraint_name(table: &str, n: usize) -> String {
        format!("sqlite_autoindex_{table}_{n}")
    }

    /// Whether this index was made for a UNIQUE constraint of its table's definition.
    pub(crate) fn for_constraint(&self) -> bool {
        self.name.starts_with("sqlite_autoindex_")
    }
}

impl Table {
    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// A view: a named SELECT, expanded where it is used (like a derived table).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct View {
    pub(crate) name: String,
    /// The column names given in `CREATE VIEW v (a, b) AS ...`; empty when none were
    /// given (then the SELECT's result names are used).
    pub(crate) columns: Vec<String>,
    /// The SQL text of the view's SELECT.
    pub(crate) sql: String,
}

/// All tables and views of a database.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) tables: BTreeMap<String, Arc<Table>>,
    /// Views by normalized name; tables and views share one namespace.
    pub(crate) views: BTreeMap<String, Arc<View>>,
    pub(crate) next_id: u32,
}

/// Catalog format 1: tables only. Written while the catalog has no views, so that a
/// database that uses no views stays readable by builds that predate them.
const FORMAT_TABLES: u8 = 1;
/// Catalog format 2: format 1's fields followed by the views.
const FORMAT_VIEWS: u8 = 2;

pub(crate) fn norm(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Catalog {
    pub(crate) fn table(&self, name: &str) -> Option<&Arc<Table>> {
        self.tables.get(&norm(name))
    }

    pub(crate) fn view(&self, name: &str) -> Option<&Arc<View>> {
        self.views.get(&norm(name))
    }

    /// What a name of the shared table/view/index namespace is taken by, if anything:
    /// "table", "view" or "index".
    pub(crate) fn object_kind(&self, name: &str) -> Option<&'static str> {
        if self.table(name).is_some() {
            Some("table")
        } else if self.view(name).is_some() {
            Some("view")
        } else if self.find_index(name).is_some() {
            Some("index")
        } else {
            None
        }
    }

    pub(crate) fn find_index(&self, name: &str) -> Option<(&Arc<Table>, usize)> {
        self.tables.values().find_map(|t| {
            t.indexes
                .iter()
                .position(|i| i.name.eq_ignore_ascii_case(name))
                .map(|p| (t, p))
        })
    }

    pub(crate) fn alloc_id(&mut self) -> u32 {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(if self.views.is_empty() {
            FORMAT_TABLES
        } else {
            FORMAT_VIEWS
        });
        w.varint(u64::from(self.next_id));
        w.varint(self.tables.len() as u64);
        for t in self.tables.values() {
            w.string(&t.name);
            w.varint(u64::from(t.id));
            w.varint(t.columns.len() as u64);
            for c in &t.columns {
                w.string(&c.name);
                w.string(&c.type_name);
                w.u8(c.affinity.code());
                w.u8(u8::from(c.not_null));
                match &c.default {
                    None => w.u8(0),
                    Some(v) => {
                        w.u8(1);
                        w.value(v);
                    }
                }
            }
            w.varint(t.pk.len() as u64);
            for p in &t.pk {
                w.varint(*p as u64);
            }
            match t.rowid_alias {
                None => w.u8(0),
                Some(p) => {
                    w.u8(1);
                    w.varint(p as u64);
                }
            }
            w.varint(t.indexes.len() as u64);
            for i in &t.indexes {
                w.string(&i.name);
                w.varint(u64::from(i.id));
                w.u8(u8::from(i.unique));
                w.varint(i.columns.len() as u64);
                for c in &i.columns {
                    w.varint(*c as u64);
                }
            }
        }
        if !self.views.is_empty() {
            w.varint(self.views.len() as u64);
            for v in self.views.values() {
                w.string(&v.name);
                w.string(&v.sql);
                w.varint(v.columns.len() as u64);
                for c in &v.columns {
                    w.string(c);
                }
            }
        }
        w.buf
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Catalog> {
        let bad = |m: &str| Error::Corrupt {
            message: format!("catalog: {m}"),
        };
        let mut r = Reader::new(bytes);
        let format = r.u8()?;
        if format != FORMAT_TABLES && format != FORMAT_VIEWS {
            return Err(bad("unknown catalog format version"));
        }
        let to_u32 = |n: u64| u32::try_from(n).map_err(|_| bad("id out of range"));
        let next_id = to_u32(r.varint()?)?;
        let n = r.varint()?;
        let mut tables = BTreeMap::new();
        for _ in 0..n {
            let name = r.string()?;
            let id = to_u32(r.varint()?)?;
            let ncols = r.varint()?;
            let mut columns = Vec::new();
            for _ in 0..ncols {
                let cname = r.string()?;
                let type_name = r.string()?;
                let affinity = Affinity::from_code(r.u8()?).ok_or_else(|| bad("affinity"))?;
                let not_null = r.u8()? != 0;
                let default = if r.u8()? != 0 { Some(r.value()?) } else { None };
                columns.push(Column {
                    name: cname,
                    type_name,
                    affinity,
                    not_null,
                    default,
                });
            }
            let col = |n: u64| -> Result<usize> {
                usize::try_from(n)
                    .ok()
                    .filter(|&c| c < columns.len())
                    .ok_or_else(|| bad("column position"))
            };
            let npk = r.varint()?;
            let mut pk = Vec::new();
            for _ in 0..npk {
                pk.push(col(r.varint()?)?);
            }
            let rowid_alias = if r.u8()? != 0 {
                Some(col(r.varint()?)?)
            } else {
                None
            };
            let nidx = r.varint()?;
            let mut indexes = Vec::new();
            for _ in 0..nidx {
                let iname = r.string()?;
                let iid = to_u32(r.varint()?)?;
                let unique = r.u8()? != 0;
                let nc = r.varint()?;
                let mut cols = Vec::new();
                for _ in 0..nc {
                    cols.push(col(r.varint()?)?);
                }
                indexes.push(Index {
                    name: iname,
                    id: iid,
                    columns: cols,
                    unique,
                });
            }
            tables.insert(
                norm(&name),
                Arc::new(Table {
                    name,
                    id,
                    columns,
                    pk,
                    rowid_alias,
                    indexes,
                }),
            );
        }
        let mut views = BTreeMap::new();
        if format == FORMAT_VIEWS {
            let n = r.varint()?;
            for _ in 0..n {
                let name = r.string()?;
                let sql = r.string()?;
                let ncols = r.varint()?;
                let mut columns = Vec::new();
                for _ in 0..ncols {
                    columns.push(r.string()?);
                }
                let key = norm(&name);
                if tables.contains_key(&key) || views.contains_key(&key) {
                    return Err(bad("a view's name is taken twice"));
                }
                views.insert(key, Arc::new(View { name, columns, sql }));
            }
        }
        if !r.at_end() {
            return Err(bad("trailing bytes"));
        }
        Ok(Catalog {
            tables,
            views,
            next_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_roundtrip() {
        let mut c = Catalog::default();
        let id = c.alloc_id();
        let idx = c.alloc_id();
        c.tables.insert(
            "t".into(),
            Arc::new(Table {
                name: "T".into(),
                id,
                columns: vec![
                    Column {
                        name: "a".into(),
                        type_name: "INTEGER".into(),
                        affinity: Affinity::Integer,
                        not_null: true,
                        default: None,
                    },
                    Column {
                        name: "b".into(),
                        type_name: "TEXT".into(),
                        affinity: Affinity::Text,
                        not_null: false,
                        default: Some(Value::Text("x".into())),
                    },
                ],
                pk: vec![0],
                rowid_alias: Some(0),
                indexes: vec![Index {
                    name: "ib".into(),
                    id: idx,
                    columns: vec![1],
                    unique: true,
                }],
            }),
        );
        let bytes = c.encode();
        let d = Catalog::decode(&bytes).unwrap();
        assert_eq!(d.next_id, c.next_id);
        assert_eq!(d.tables, c.tables);
        for cut in 0..bytes.len() {
            assert!(Catalog::decode(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn views_roundtrip_and_format() {
        let mut c = Catalog::default();
        let id = c.alloc_id();
        c.tables.insert(
            "t".into(),
            Arc::new(Table {
                name: "t".into(),
                id,
                columns: vec![Column {
                    name: "a".into(),
                    type_name: "INTEGER".into(),
                    affinity: Affinity::Integer,
                    not_null: false,
                    default: None,
                }],
                pk: vec![],
                rowid_alias: None,
                indexes: vec![],
            }),
        );
        // Without views the catalog is written in format 1, as before views existed.
        assert_eq!(c.encode()[0], FORMAT_TABLES);
        c.views.insert(
            "v".into(),
            Arc::new(View {
                name: "V".into(),
                columns: vec!["x".into(), "y y".into()],
                sql: "SELECT a, 'it''s' FROM t".into(),
            }),
        );
        c.views.insert(
            "w".into(),
            Arc::new(View {
                name: "w".into(),
                columns: vec![],
                sql: "SELECT * FROM v".into(),
            }),
        );
        let bytes = c.encode();
        assert_eq!(bytes[0], FORMAT_VIEWS);
        let d = Catalog::decode(&bytes).unwrap();
        assert_eq!(d.tables, c.tables);
        assert_eq!(d.views, c.views);
        assert_eq!(d.view("v").map(|v| v.name.as_str()), Some("V"));
        for cut in 0..bytes.len() {
            assert!(Catalog::decode(&bytes[..cut]).is_err());
        }
        // A view whose name is also a table's is refused.
        let mut dup = c.clone();
        dup.views.insert(
            "t".into(),
            Arc::new(View {
                name: "t".into(),
                columns: vec![],
                sql: "SELECT 1".into(),
            }),
        );
        assert!(Catalog::decode(&dup.encode()).is_err());
        // Unknown format versions are refused.
        let mut future = bytes.clone();
        future[0] = 3;
        assert!(Catalog::decode(&future).is_err());
    }

    #[test]
    fn decodes_a_catalog_written_before_views() {
        // Bytes as written by the format-1 encoder (before views existed): next_id 2, one
        // table `t` (id 1) with one column `a INTEGER`, no primary key, no indexes.
        let old: &[u8] = &[
            1, // format
            2, // next_id
            1, // table count
            1, b't', // name
            1,    // id
            1,    // column count
            1, b'a', 7, b'I', b'N', b'T', b'E', b'G', b'E', b'R', // name, declared type
            1,    // affinity INTEGER
            0,    // not null
            0,    // no default
            0,    // pk column count
            0,    // no rowid alias
            0,    // index count
        ];
        let c = Catalog::decode(old).unwrap();
        assert_eq!(c.next_id, 2);
        assert!(c.views.is_empty());
        let t = c.table("T").unwrap();
        assert_eq!(t.columns[0].name, "a");
        assert_eq!(t.columns[0].affinity, Affinity::Integer);
        // Re-encoding a catalog without views gives the same bytes.
        assert_eq!(c.encode(), old);
    }
}
