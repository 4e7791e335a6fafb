//! The commit pipeline: write-write conflict detection and group commit.
//!
//! Every commit, transactional or autocommit, goes through [`CommitPipeline::commit`].
//! Callers queue their write sets; the first caller that finds no leader becomes the
//! leader, takes everything queued, checks each write set for conflicts against the
//! commits made since that transaction's snapshot (first committer wins), assigns
//! sequence numbers, applies the whole group in one redb write transaction with one
//! fsync, and hands each caller its result. Callers that queued while a group was being
//! written form the next group. Before taking a group, the leader waits briefly (see
//! [`CommitPipeline::gather`]) for as many committers as the last group held. `Full`
//! durability is not weakened: nobody is answered before the fsync of the group holding
//! their commit has returned.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use redb::Durability;

use crate::keyspace::Keyspace;
use crate::layout::{META_COMMIT_SEQ, META_TABLE};
use crate::writebuf::WriteBuf;
use crate::{Error, Result};

/// The writes of one transaction: per keyspace, key → new value (`None` deletes).
pub(crate) type WriteSet = BTreeMap<Keyspace, WriteBuf>;

/// A commit that a still-open transaction might conflict with.
struct LoggedCommit {
    seq: u64,
    writes: Arc<WriteSet>,
}

/// The first key both write sets write, if any.
fn first_common_key<'a>(ours: &'a WriteSet, theirs: &WriteSet) -> Option<(&'a Keyspace, &'a [u8])> {
    for (ks, keys) in ours {
        if let Some(their_keys) = theirs.get(ks)
            && let Some((k, _)) = keys
                .iter_unordered()
                .find(|(k, _)| their_keys.contains_key(k))
        {
            return Some((ks, k));
        }
    }
    None
}

/// One queued commit.
struct Pending {
    txn_id: u64,
    /// The snapshot the writes were computed against; `None` for blind autocommit writes,
    /// which cannot conflict.
    snapshot: Option<u64>,
    writes: Arc<WriteSet>,
    reply: Arc<Reply>,
}

#[derive(Default)]
struct Reply {
    result: Mutex<Option<Result<u64>>>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    queue: Vec<Pending>,
    leader_active: bool,
    /// The last sequence number assigned to a commit that has been (or is being) applied.
    last_seq: u64,
    /// The last sequence number whose commit is visible to new snapshots.
    visible_seq: u64,
    /// Commits after the oldest open snapshot (and every commit not yet visible,
    /// since a transaction that begins now reads a snapshot without them), oldest first.
    log: VecDeque<LoggedCommit>,
    /// Open transactions: snapshot sequence → how many transactions hold it.
    active: BTreeMap<u64, usize>,
    /// Size of the last group written, and how long writing it took: a leader that finds
    /// fewer commits queued than the last group held waits (at most that long, and at
    /// most `MAX_GATHER`) for the others to arrive, so that concurrent committers keep
    /// sharing one fsync instead of alternating between a few and the rest.
    last_group: usize,
    last_apply: Duration,
    /// Whether a leader is waiting for arrivals (then enqueuers notify it).
    gathering: bool,
}

/// The longest a new leader waits for the commits it expects.
const MAX_GATHER: Duration = Duration::from_micros(500);

/// What a group commit needs from the database: the redb handle and the durability
/// to commit with.
pub(crate) struct CommitPipeline {
    state: Mutex<State>,
    /// Signalled when a commit is queued while a leader gathers a group.
    arrivals: Condvar,
}

/// Counters the pipeline reports back to the caller for stats.
#[derive(Default, Clone, Copy)]
pub(crate) struct Applied {
    pub(crate) bytes_written: u64,
}

impl CommitPipeline {
    pub(crate) fn new(last_seq: u64) -> CommitPipeline {
        CommitPipeline {
            state: Mutex::new(State {
                last_seq,
                visible_seq: last_seq,
                ..State::default()
            }),
            arrivals: Condvar::new(),
        }
    }

    /// Registers a transaction reading at the snapshot that `read_snapshot` returns.
    /// The registration and the snapshot are taken under one lock, so no commit the
    /// snapshot misses can be pruned from the conflict log while the transaction lives.
    pub(crate) fn register<T>(
        &self,
        read_snapshot: impl FnOnce() -> Result<(T, u64)>,
    ) -> Result<(T, u64)> {
        let mut st = self.state.lock();
        let (snap, seq) = read_snapshot()?;
        *st.active.entry(seq).or_insert(0) += 1;
        Ok((snap, seq))
    }

    /// Forgets a registered transaction that will not commit.
    pub(crate) fn unregister(&self, snapshot: u64) {
        let mut st = self.state.lock();
        release(&mut st, snapshot);
        prune(&mut st);
    }

    /// Commits `writes` (made by transaction `txn_id` against `snapshot`, which must be
    /// registered and is released by this call) and returns the commit's sequence number.
    pub(crate) fn commit(
        &self,
        db: &redb::Database,
        durability: Durability,
        txn_id: u64,
        snapshot: Option<u64>,
        writes: WriteSet,
        applied: &dyn Fn(Applied),
    ) -> Result<u64> {
        let reply = Arc::new(Reply::default());
        let mut st = self.state.lock();
        st.queue.push(Pending {
            txn_id,
            snapshot,
            writes: Arc::new(writes),
            reply: reply.clone(),
        });
        if st.leader_active {
            if st.gathering {
                self.arrivals.notify_one();
            }
            drop(st);
            let mut result = reply.result.lock();
            while result.is_none() {
                reply.ready.wait(&mut result);
            }
            return result
                .take()
                .unwrap_or_else(|| Err(Error::Engine("lost commit reply".into())));
        }
        st.leader_active = true;
        loop {
            if st.queue.is_empty() {
                st.leader_active = false;
                break;
            }
            self.gather(&mut st);
            let group = std::mem::take(&mut st.queue);
            let seq_before = st.last_seq;
            let mut accepted = Vec::with_capacity(group.len());
            for p in group {
                match check_and_assign(&mut st, &p) {
                    Ok(seq) => accepted.push((seq, p)),
                    Err(e) => deliver(&p.reply, Err(e)),
                }
            }
            prune(&mut st);
            drop(st);

            let started = Instant::now();
            let outcome = apply_group(db, durability, &accepted);
            let took = started.elapsed();

            st = self.state.lock();
            if !accepted.is_empty() {
                st.last_group = accepted.len();
                st.last_apply = took;
            }
            match outcome {
                Ok(stats) => {
                    st.visible_seq = st.last_seq;
                    prune(&mut st);
                    applied(stats);
                    for (seq, p) in &accepted {
                        deliver(&p.reply, Ok(*seq));
                    }
                }
                Err(e) => {
                    // Nothing of the group reached redb: forget its sequence numbers and
                    // its conflict-log entries.
                    st.last_seq = seq_before;
                    while st.log.back().is_some_and(|c| c.seq > seq_before) {
                        st.log.pop_back();
                    }
                    let msg = e.to_string();
                    let mut first = Some(e);
                    for (_, p) in &accepted {
                        let err = first.take().unwrap_or_else(|| Error::Engine(msg.clone()));
                        deliver(&p.reply, Err(err));
                    }
                }
            }
        }
        drop(st);
        let mut result = reply.result.lock();
        result
            .take()
            .unwrap_or_else(|| Err(Error::Engine("lost commit reply".into())))
    }

    /// Waits, at most as long as the last group took to write (and at most
    /// [`MAX_GATHER`]), until as many commits are queued as the last group held: the
    /// committers answered by that group are on their way back.
    fn gather(&self, st: &mut parking_lot::MutexGuard<'_, State>) {
        let expected = st.last_group;
        if st.queue.len() >= expected {
            return;
        }
        let deadline = Instant::now() + st.last_apply.min(MAX_GATHER);
        st.gathering = true;
        while st.queue.len() < expected {
            if self.arrivals.wait_until(st, deadline).timed_out() {
                break;
            }
        }
        st.gathering = false;
    }
}

fn deliver(reply: &Reply, result: Result<u64>) {
    *reply.result.lock() = Some(result);
    reply.ready.notify_one();
}

fn release(st: &mut State, snapshot: u64) {
    if let Some(n) = st.active.get_mut(&snapshot) {
        *n -= 1;
        if *n == 0 {
            st.active.remove(&snapshot);
        }
    }
}

/// Drops log entries no open or future transaction can conflict with: those every
/// open snapshot already includes, and that every new snapshot will include.
fn prune(st: &mut State) {
    let oldest = st.active.keys().next().copied().unwrap_or(u64::MAX);
    let horizon = oldest.min(st.visible_seq);
    while st.log.front().is_some_and(|c| c.seq <= horizon) {
        st.log.pop_front();
    }
}

/// First committer wins: fails if a commit after `p`'s snapshot wrote a key `p` writes.
fn check_and_assign(st: &mut State, p: &Pending) -> Result<u64> {
    if let Some(snapshot) = p.snapshot {
        release(st, snapshot);
        for logged in st.log.iter().filter(|c| c.seq > snapshot) {
            if let Some((ks, key)) = first_common_key(&p.writes, &logged.writes) {
                return Err(Error::Conflict {
                    txn_id: p.txn_id,
                    keyspace: ks.name().to_string(),
                    key: String::from_utf8_lossy(key).into_owned(),
                });
            }
        }
    }
    st.last_seq += 1;
    let seq = st.last_seq;
    st.log.push_back(LoggedCommit {
        seq,
        writes: p.writes.clone(),
    });
    Ok(seq)
}

/// Writes a whole group in one redb transaction.
fn apply_group(
    db: &redb::Database,
    durability: Durability,
    group: &[(u64, Pending)],
) -> Result<Applied> {
    let Some(last_seq) = group.last().map(|(seq, _)| *seq) else {
        return Ok(Applied::default());
    };
    let mut wtx = db.begin_write().map_err(Error::engine)?;
    wtx.set_durability(durability).map_err(Error::engine)?;
    let mut stats = Applied::default();
    // Merge the group per keyspace (counting the commits that wrote it) so each table is
    // opened once.
    let mut merged: BTreeMap<&Keyspace, (usize, Vec<Write<'_>>)> = BTreeMap::new();
    for (_, p) in group {
        for (ks, writes) in p.writes.iter() {
            let (writers, list) = merged.entry(ks).or_default();
            *writers += 1;
            list.extend(writes.iter());
        }
    }
    for (ks, (writers, mut writes)) in merged {
        if writers > 1 {
            // Several commits wrote this keyspace: order their writes by key, the later
            // commit's write last among equal keys (the sort is stable), and keep it.
            writes.sort_by(|a, b| a.0.cmp(b.0));
            writes.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    *kept = *later;
                }
                same
            });
        }
        stats.bytes_written += writes
            .iter()
            .filter_map(|(k, v)| v.map(|v| (k.len() + v.len()) as u64))
            .sum::<u64>();
        let mut table = wtx.open_table(ks.table()).map_err(Error::engine)?;
        apply_sorted(&mut table, &writes).map_err(Error::engine)?;
    }
    {
        let mut meta = wtx.open_table(META_TABLE).map_err(Error::engine)?;
        let seq_bytes = last_seq.to_be_bytes();
        meta.insert(META_COMMIT_SEQ, seq_bytes.as_slice())
            .map_err(Error::engine)?;
    }
    wtx.commit().map_err(Error::engine)?;
    Ok(stats)
}

/// One write of a group: a key and its new value (`None` deletes).
type Write<'a> = (&'a [u8], Option<&'a [u8]>);

/// A run of new keys shorter than this goes through `Table::insert` one by one: opening a
/// cursor costs a descent of its own.
const MIN_CURSOR_RUN: usize = 8;
/// After a probe that found too short a run, this many writes go through point inserts
/// before the next probe, so that scattered writes pay for few probes.
const WRITES_BETWEEN_PROBES: usize = 64;

/// Applies `writes` (strictly ascending keys) to `table`. Runs of new keys that fall into
/// one gap between the table's existing keys (a bulk load appending rows, index entries
/// for a range of new rows) are spliced in through one cursor, which packs whole leaves
/// at once instead of descending the tree per key; overwrites, deletes and scattered
/// inserts go through point operations.
fn apply_sorted(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    writes: &[Write<'_>],
) -> std::result::Result<(), redb::Error> {
    let mut i = 0;
    let mut point_until = 0;
    while let Some(&(key, value)) = writes.get(i) {
        if i >= point_until && value.is_some() {
            let mut cursor = table.lower_bound_mut(std::ops::Bound::Included(key))?;
            let next_existing = cursor.peek_next()?.map(|(k, _)| k.value().to_vec());
            let in_gap = writes[i..].iter().take_while(|(k, v)| {
                v.is_some() && next_existing.as_deref().is_none_or(|next| *k < next)
            });
            let run = in_gap.count();
            if run >= MIN_CURSOR_RUN {
                for &(k, v) in &writes[i..i + run] {
                    if let Some(v) = v {
                        cursor.insert_before(k, v)?;
                    }
                }
                cursor.close()?;
                i += run;
                continue;
            }
            cursor.close()?;
            point_until = i + WRITES_BETWEEN_PROBES;
        }
        match value {
            Some(v) => {
                table.insert(key, v)?;
            }
            None => {
                table.remove(key)?;
            }
        }
        i += 1;
    }
    Ok(())
}

/// Flushes earlier non-durable commits: an empty commit with `Immediate` durability.
pub(crate) fn flush(db: &redb::Database) -> Result<()> {
    let mut wtx = db.begin_write().map_err(Error::engine)?;
    wtx.set_durability(Durability::Immediate)
        .map_err(Error::engine)?;
    wtx.commit().map_err(Error::engine)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

    use super::*;

    const T: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("t");

    fn memory_db() -> redb::Database {
        redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap()
    }

    fn contents(db: &redb::Database) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let read = db.begin_read().unwrap();
        let table = read.open_table(T).unwrap();
        table
            .iter()
            .unwrap()
            .map(|pair| {
                let (k, v) = pair.unwrap();
                (k.value().to_vec(), v.value().to_vec())
            })
            .collect()
    }

    fn key(n: u64) -> Vec<u8> {
        format!("k{n:08}").into_bytes()
    }

    /// Rounds of writes of every shape (dense runs of new keys in one gap, overwrites,
    /// deletes, scattered new keys), each applied through `apply_sorted` and checked
    /// against a `BTreeMap` applying the same writes.
    #[test]
    fn sorted_apply_matches_a_model() {
        let db = memory_db();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut rng = StdRng::seed_from_u64(7);
        for round in 0..40u64 {
            let mut writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
            // A dense run of new keys (an appended batch), sometimes inside a gap.
            let start = rng.random_range(0..20_000u64) * 10 + 5;
            for n in start..start + rng.random_range(0..300) {
                writes.insert(key(n), Some(format!("r{round}-{n}").into_bytes()));
            }
            // Scattered puts (new or overwriting) and deletes.
            for _ in 0..rng.random_range(0..200) {
                let n = rng.random_range(0..200_000u64);
                let value = rng
                    .random_bool(0.7)
                    .then(|| format!("s{round}-{n}").into_bytes());
                writes.insert(key(n), value);
            }
            // Overwrites and deletes of keys the table holds.
            let existing: Vec<Vec<u8>> = model.keys().step_by(97).cloned().collect();
            for k in existing {
                let value = rng.random_bool(0.5).then(|| b"over".to_vec());
                writes.insert(k, value);
            }
            let list: Vec<Write<'_>> = writes
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_deref()))
                .collect();
            let wtx = db.begin_write().unwrap();
            {
                let mut table = wtx.open_table(T).unwrap();
                apply_sorted(&mut table, &list).unwrap();
            }
            wtx.commit().unwrap();
            for (k, v) in writes {
                match v {
                    Some(v) => model.insert(k, v),
                    None => model.remove(&k),
                };
            }
            assert_eq!(contents(&db), model, "round {round}");
        }
        assert!(model.len() > 1000, "the rounds built a sizeable table");
    }

    fn pending(txn_id: u64, writes: &[(&str, Option<&str>)]) -> Pending {
        let ks = Keyspace::new("t").unwrap();
        let mut set = WriteSet::new();
        let buf = set.entry(ks).or_default();
        for (k, v) in writes {
            buf.insert(k.as_bytes(), v.map(str::as_bytes));
        }
        Pending {
            txn_id,
            snapshot: None,
            writes: Arc::new(set),
            reply: Arc::new(Reply::default()),
        }
    }

    /// Commits of one group that write the same key: the later commit's write stands,
    /// whether it puts or deletes.
    #[test]
    fn a_group_applies_its_commits_in_order() {
        let db = memory_db();
        let ks = Keyspace::new("t").unwrap();
        let dense: Vec<(String, Option<String>)> = (0..50)
            .map(|n| (format!("d{n:03}"), Some(format!("first{n}"))))
            .collect();
        let dense: Vec<(&str, Option<&str>)> = dense
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let mut first = dense.clone();
        first.extend([("a", Some("1")), ("b", Some("1")), ("c", Some("1"))]);
        let second = [("a", Some("2")), ("b", None), ("d010", Some("second"))];
        let group = [(1, pending(1, &first)), (2, pending(2, &second))];
        apply_group(&db, Durability::Immediate, &group).unwrap();

        let read = db.begin_read().unwrap();
        let table = read.open_table(ks.table()).unwrap();
        let get = |k: &str| table.get(k.as_bytes()).unwrap().map(|v| v.value().to_vec());
        assert_eq!(get("a"), Some(b"2".to_vec()));
        assert_eq!(get("b"), None);
        assert_eq!(get("c"), Some(b"1".to_vec()));
        assert_eq!(get("d010"), Some(b"second".to_vec()));
        assert_eq!(get("d011"), Some(b"first11".to_vec()));
        assert_eq!(table.len().unwrap(), 52);
    }
}
