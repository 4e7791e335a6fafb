//! The one place that knows the on-disk layout (see `ARCHITECTURE.md`, "On-disk layout").
//!
//! - The database is a directory; its data lives in one redb file, [`DATA_FILE`].
//! - Every keyspace `name` is the redb table `"ks:" + name`, keys and values `&[u8]`.
//! - The table [`META_TABLE`] (`&str` → `&[u8]`) holds the format marker and the
//!   commit sequence number; it is written in the same redb transaction as the data
//!   it describes.

use redb::TableDefinition;

use crate::{Error, Result};

/// File name of the redb database inside the database directory.
pub(crate) const DATA_FILE: &str = "toondb.redb";

/// The metadata table.
pub(crate) const META_TABLE: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("__toondb_meta");

/// Meta key: the format marker, [`MAGIC`] followed by the format version (u32, big-endian).
pub(crate) const META_FORMAT: &str = "format";
/// Meta key: the last commit sequence number (u64, big-endian).
pub(crate) const META_COMMIT_SEQ: &str = "commit_seq";

/// The first eight bytes of the format marker.
pub(crate) const MAGIC: &[u8; 8] = b"TOONDB\0\0";
/// The on-disk format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Prefix of the redb table name of a keyspace.
pub(crate) const KEYSPACE_TABLE_PREFIX: &str = "ks:";

/// The keyspace that holds the user's key-value data (the KV and path APIs).
pub const KV_KEYSPACE: &str = "kv";

/// The format marker value written to [`META_FORMAT`].
pub(crate) fn format_marker() -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(MAGIC);
    out[8..].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
    out
}

/// Checks a format marker read from disk.
pub(crate) fn check_format_marker(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() != 12 || &bytes[..8] != MAGIC {
        return Err(Error::NotADatabase {
            path: path.to_path_buf(),
            reason: "the redb file carries no ToonDB format marker".into(),
        });
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[8..]);
    let found = u32::from_be_bytes(v);
    if found != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            found,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// Decodes a commit sequence number; a missing value means 0.
pub(crate) fn decode_seq(bytes: Option<&[u8]>) -> Result<u64> {
    match bytes {
        None => Ok(0),
        Some(b) => {
            let arr: [u8; 8] = b
                .try_into()
                .map_err(|_| Error::Corrupted(format!("commit sequence has {} bytes", b.len())))?;
            Ok(u64::from_be_bytes(arr))
        }
    }
}
