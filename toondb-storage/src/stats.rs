//! Database statistics.

/// Counters of a [`Database`](crate::Database) since it was opened in this process
/// (except `keys_count` and `last_commit_seq`, which describe the data on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Keys currently in the KV keyspace (the KV and path APIs' data; other
    /// keyspaces are not counted). Read from the latest commit, in O(1).
    pub keys_count: u64,
    /// Bytes of keys plus values of every put applied by a successful commit, in any
    /// keyspace (deletes count nothing).
    pub bytes_written: u64,
    /// Bytes of keys plus values returned by gets (hits only) and scans, in any keyspace.
    pub bytes_read: u64,
    /// Successful commits: each transaction commit (read-only ones included) and each
    /// autocommit `put`/`delete`.
    pub transactions_committed: u64,
    /// Transactions that ended without applying: explicit aborts, drops without commit,
    /// closures that returned `Err`, and commits refused by a conflict or an error.
    pub transactions_aborted: u64,
    /// Read operations started: each `get` and each scan (database or transaction).
    pub queries_executed: u64,
    /// Reads of a database page served by redb's page cache.
    pub cache_hits: u64,
    /// Reads of a database page that had to go to the file.
    pub cache_misses: u64,
    /// The sequence number of the latest commit.
    pub last_commit_seq: u64,
}
