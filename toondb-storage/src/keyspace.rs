//! Keyspace handles.

use std::fmt;
use std::sync::Arc;

use redb::TableDefinition;

use crate::layout::KEYSPACE_TABLE_PREFIX;
use crate::{Error, Result};

/// Longest keyspace name, in bytes.
pub const MAX_KEYSPACE_NAME_LEN: usize = 64;

/// A cheap handle to a named keyspace: an ordered map from byte keys to byte values,
/// stored as one redb table. One transaction can read and write several keyspaces.
///
/// Get one with [`Database::keyspace`](crate::Database::keyspace). Keyspaces are created
/// lazily on their first write; reading a keyspace that was never written sees it empty.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Keyspace {
    table: Arc<str>,
}

impl Keyspace {
    /// Validates `name` and makes a handle. Names are 1 to 64 bytes of
    /// `[A-Za-z0-9_.:-]`; names starting with `__` are reserved for ToonDB itself.
    pub(crate) fn new(name: &str) -> Result<Keyspace> {
        let invalid = |reason| {
            Err(Error::InvalidKeyspace {
                name: name.to_string(),
                reason,
            })
        };
        if name.is_empty() {
            return invalid("the name is empty");
        }
        if name.len() > MAX_KEYSPACE_NAME_LEN {
            return invalid("the name is longer than 64 bytes");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
        {
            return invalid("only ASCII letters, digits and _ . : - are allowed");
        }
        if name.starts_with("__") {
            return invalid("names starting with \"__\" are reserved");
        }
        Ok(Keyspace {
            table: format!("{KEYSPACE_TABLE_PREFIX}{name}").into(),
        })
    }

    /// The keyspace's name.
    pub fn name(&self) -> &str {
        &self.table[KEYSPACE_TABLE_PREFIX.len()..]
    }

    pub(crate) fn table(&self) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
        TableDefinition::new(&self.table)
    }
}

impl fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Keyspace").field(&self.name()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert_eq!(Keyspace::new("kv").unwrap().name(), "kv");
        assert_eq!(
            Keyspace::new("sql.t1:idx-2").unwrap().name(),
            "sql.t1:idx-2"
        );
        for bad in ["", "__meta", "a b", "é", "x/y", &"k".repeat(65)] {
            assert!(
                matches!(Keyspace::new(bad), Err(Error::InvalidKeyspace { .. })),
                "{bad:?}"
            );
        }
    }
}
