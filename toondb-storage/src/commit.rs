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
use crate::{Error, Result};

/// The writes of one transaction: per keyspace, key → new value (`None` deletes).
pub(crate) type WriteSet = BTreeMap<Keyspace, BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// A commit that a still-open transaction might conflict with.
struct LoggedCommit {
    seq: u64,
    writes: Arc<WriteSet>,
}

/// The first key both write sets write, if any.
fn first_common_key<'a>(ours: &'a WriteSet, theirs: &WriteSet) -> Option<(&'a Keyspace, &'a [u8])> {
    for (ks, keys) in ours {
        if let Some(their_keys) = theirs.get(ks)
            && let Some(k) = keys.keys().find(|k| their_keys.contains_key(*k))
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
    // Merge the group per keyspace so each table is opened once.
    type Writes<'a> = Vec<(&'a [u8], Option<&'a [u8]>)>;
    let mut merged: BTreeMap<&Keyspace, Writes<'_>> = BTreeMap::new();
    for (_, p) in group {
        for (ks, writes) in p.writes.iter() {
            let list = merged.entry(ks).or_default();
            for (k, v) in writes {
                list.push((k.as_slice(), v.as_deref()));
            }
        }
    }
    for (ks, writes) in merged {
        let mut table = wtx.open_table(ks.table()).map_err(Error::engine)?;
        for (k, v) in writes {
            match v {
                Some(v) => {
                    stats.bytes_written += (k.len() + v.len()) as u64;
                    table.insert(k, v).map_err(Error::engine)?;
                }
                None => {
                    table.remove(k).map_err(Error::engine)?;
                }
            }
        }
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

/// Flushes earlier non-durable commits: an empty commit with `Immediate` durability.
pub(crate) fn flush(db: &redb::Database) -> Result<()> {
    let mut wtx = db.begin_write().map_err(Error::engine)?;
    wtx.set_durability(Durability::Immediate)
        .map_err(Error::engine)?;
    wtx.commit().map_err(Error::engine)
}
