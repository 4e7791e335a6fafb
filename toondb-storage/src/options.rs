//! Open options and durability modes.

use std::time::Duration;

/// How much a commit promises about surviving a crash of the machine.
///
/// redb, underneath, offers two commit durabilities: `Immediate` (the commit is fsynced
/// before it returns) and `None` (the commit is visible to readers at once but reaches
/// disk only with the next `Immediate` commit). The three modes are built on those:
///
/// | mode | redb durability of a commit | a crash of the process | a power failure |
/// |---|---|---|---|
/// | [`Full`](SyncMode::Full) | `Immediate` | loses nothing acknowledged | loses nothing acknowledged |
/// | [`Normal`](SyncMode::Normal) | `None`, plus a background `Immediate` flush at most [`NORMAL_FLUSH_INTERVAL`] after the first unflushed commit | loses at most the last [`NORMAL_FLUSH_INTERVAL`] | loses at most the last [`NORMAL_FLUSH_INTERVAL`] |
/// | [`Off`](SyncMode::Off) | `None`; `Immediate` only on [`checkpoint`](crate::Database::checkpoint) and close | loses everything since the last checkpoint | loses everything since the last checkpoint |
///
/// In every mode the database is always consistent after a crash: what survives is a
/// prefix of the acknowledged commits, never half a transaction. (redb's non-durable
/// commits live in the process's memory, so in `Normal` and `Off` a killed process loses
/// the same window as a power failure.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncMode {
    /// Acknowledged means fsynced. Concurrent commits share one fsync (group commit).
    #[default]
    Full,
    /// Always consistent; at most [`NORMAL_FLUSH_INTERVAL`] of acknowledged commits may be lost.
    Normal,
    /// No fsync until [`checkpoint`](crate::Database::checkpoint) or close: for bulk loads.
    Off,
}

/// The longest time a commit in [`SyncMode::Normal`] stays in memory only.
pub const NORMAL_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Default limit of the page cache: 1 GiB, the same as redb's own default.
///
/// It is a limit, not an allocation: pages enter the cache as they are read or written,
/// so a small database uses little memory. Lower it on memory-constrained hosts; a cache
/// smaller than the working set sends reads to the operating system's page cache.
pub const DEFAULT_CACHE_SIZE: usize = 1024 * 1024 * 1024;

/// Options for [`Database::builder`](crate::Database::builder).
///
/// There is deliberately no `wal_enabled` option: ToonDB has no write-ahead log. redb is
/// a copy-on-write B-tree whose commits switch between two commit slots in the file
/// header, so a commit is atomic without a log, and durability is governed entirely by
/// [`SyncMode`]. Code ported from the original product that set `wal_enabled = false`
/// to trade safety for speed wants [`SyncMode::Off`].
#[derive(Debug, Clone)]
pub struct DatabaseBuilder {
    pub(crate) create_if_missing: bool,
    pub(crate) sync_mode: SyncMode,
    pub(crate) cache_size: usize,
}

impl Default for DatabaseBuilder {
    fn default() -> Self {
        DatabaseBuilder {
            create_if_missing: true,
            sync_mode: SyncMode::Full,
            cache_size: DEFAULT_CACHE_SIZE,
        }
    }
}

impl DatabaseBuilder {
    /// Creates the directory and the database if they do not exist (default: `true`).
    pub fn create_if_missing(mut self, yes: bool) -> Self {
        self.create_if_missing = yes;
        self
    }

    /// Sets the durability mode (default: [`SyncMode::Full`]).
    pub fn sync_mode(mut self, mode: SyncMode) -> Self {
        self.sync_mode = mode;
        self
    }

    /// Sets the size in bytes of the in-memory page cache (default: [`DEFAULT_CACHE_SIZE`]).
    ///
    /// This is what the original product called `memtable_size_bytes`: the memory the
    /// engine may use to keep pages of the database file. Writes do not wait for it to
    /// fill; it only decides how much of the file stays hot in memory.
    pub fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = bytes;
        self
    }

    /// Opens (or creates) the database in directory `dir`.
    pub fn open(self, dir: impl AsRef<std::path::Path>) -> crate::Result<crate::Database> {
        crate::Database::open_with(dir.as_ref(), self)
    }
}
