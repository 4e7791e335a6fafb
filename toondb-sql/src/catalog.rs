//! Table and index definitions, and their encoding in the `sql` keyspace.

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

impl Table {
    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// All tables of a database.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) tables: BTreeMap<String, Arc<Table>>,
    pub(crate) next_id: u32,
}

pub(crate) fn norm(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Catalog {
    pub(crate) fn table(&self, name: &str) -> Option<&Arc<Table>> {
        self.tables.get(&norm(name))
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
        w.u8(1); // catalog format version
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
        w.buf
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Catalog> {
        let bad = |m: &str| Error::Corrupt {
            message: format!("catalog: {m}"),
        };
        let mut r = Reader::new(bytes);
        if r.u8()? != 1 {
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
        if !r.at_end() {
            return Err(bad("trailing bytes"));
        }
        Ok(Catalog { tables, next_id })
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
}
