//! ToonDB's KV engine, raw redb and SQLite (rusqlite, bundled, WAL) side by side on the
//! same workloads, in one run. Prints each figure and the ratios.
//!
//! ```text
//! cargo bench -p toondb-storage --bench kv
//! TOONDB_BENCH_N=200000 cargo bench -p toondb-storage --bench kv   # smaller run
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use redb::ReadableDatabase;
use toondb_storage::{Database, SyncMode};

const VALUE_LEN: usize = 100;
const BATCH: usize = 1_000;
const TABLE: redb::TableDefinition<'_, &[u8], &[u8]> = redb::TableDefinition::new("kv");

fn key(i: u64) -> [u8; 16] {
    // Scrambled so inserts arrive in random key order, as real keys do.
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&h.to_be_bytes());
    k[8..].copy_from_slice(&i.to_be_bytes());
    k
}

struct Row {
    name: &'static str,
    toondb: f64,
    redb: f64,
    sqlite: f64,
    unit: &'static str,
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("TOONDB_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let durable_n: usize = (n / 500).clamp(200, 2_000);
    let value = vec![0xABu8; VALUE_LEN];
    let mut rows = Vec::new();
    let tmp = tempfile::tempdir().unwrap();
    println!(
        "workload: {n} keys of 16 bytes, values of {VALUE_LEN} bytes; durable commits: {durable_n} per configuration"
    );

    // ---- open -----------------------------------------------------------------
    let tdb = Database::builder()
        .sync_mode(SyncMode::Full)
        .open(tmp.path().join("toondb"))
        .unwrap();
    let rdb = Arc::new(redb::Database::create(tmp.path().join("raw.redb")).unwrap());
    let sqlite_path = tmp.path().join("sqlite.db");
    let sql = open_sqlite(&sqlite_path);

    // ---- batched puts ---------------------------------------------------------
    let kv = tdb.kv_keyspace();
    let t = Instant::now();
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(BATCH) {
        let mut txn = tdb.begin_transaction().unwrap();
        for &i in chunk {
            txn.put(&kv, &key(i), &value).unwrap();
        }
        txn.commit().unwrap();
    }
    let toondb_put = rate(n, t.elapsed());
    let t = Instant::now();
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(BATCH) {
        let w = rdb.begin_write().unwrap();
        {
            let mut table = w.open_table(TABLE).unwrap();
            for &i in chunk {
                table.insert(key(i).as_slice(), value.as_slice()).unwrap();
            }
        }
        w.commit().unwrap();
    }
    let redb_put = rate(n, t.elapsed());
    let t = Instant::now();
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(BATCH) {
        sql.execute_batch("BEGIN").unwrap();
        {
            let mut st = sql
                .prepare_cached("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
                .unwrap();
            for &i in chunk {
                st.execute(rusqlite::params![key(i).as_slice(), value.as_slice()])
                    .unwrap();
            }
        }
        sql.execute_batch("COMMIT").unwrap();
    }
    let sqlite_put = rate(n, t.elapsed());
    rows.push(Row {
        name: "puts, batches of 1,000",
        toondb: toondb_put,
        redb: redb_put,
        sqlite: sqlite_put,
        unit: "puts/s",
    });

    // ---- random gets ----------------------------------------------------------
    let mut order: Vec<u64> = (0..n as u64).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(7));
    let t = Instant::now();
    let mut found = 0usize;
    for &i in &order {
        found += tdb.get(&key(i)).unwrap().is_some() as usize;
    }
    let toondb_get = rate(n, t.elapsed());
    assert_eq!(found, n);
    let t = Instant::now();
    for &i in &order {
        let r = rdb.begin_read().unwrap();
        let table = r.open_table(TABLE).unwrap();
        // Copied out, as any API that does not lend a guard must.
        found -= table
            .get(key(i).as_slice())
            .unwrap()
            .map(|v| v.value().to_vec())
            .is_some() as usize;
    }
    let redb_get = rate(n, t.elapsed());
    assert_eq!(found, 0);
    let t = Instant::now();
    {
        let mut st = sql.prepare_cached("SELECT v FROM kv WHERE k = ?1").unwrap();
        for &i in &order {
            let v: Vec<u8> = st.query_row([key(i).as_slice()], |r| r.get(0)).unwrap();
            found += v.len();
        }
    }
    let sqlite_get = rate(n, t.elapsed());
    rows.push(Row {
        name: "random gets, one snapshot per get",
        toondb: toondb_get,
        redb: redb_get,
        sqlite: sqlite_get,
        unit: "gets/s",
    });

    // Gets inside one read transaction / snapshot.
    let t = Instant::now();
    let txn = tdb.begin_transaction().unwrap();
    for &i in &order {
        found -= txn.get(&kv, &key(i)).unwrap().map_or(0, |v| v.len());
    }
    drop(txn);
    let toondb_get1 = rate(n, t.elapsed());
    let t = Instant::now();
    {
        let r = rdb.begin_read().unwrap();
        let table = r.open_table(TABLE).unwrap();
        for &i in &order {
            found += table
                .get(key(i).as_slice())
                .unwrap()
                .map_or(0, |v| v.value().to_vec().len());
        }
    }
    let redb_get1 = rate(n, t.elapsed());
    let t = Instant::now();
    sql.execute_batch("BEGIN").unwrap();
    {
        let mut st = sql.prepare_cached("SELECT v FROM kv WHERE k = ?1").unwrap();
        for &i in &order {
            let v: Vec<u8> = st.query_row([key(i).as_slice()], |r| r.get(0)).unwrap();
            found -= v.len();
        }
    }
    sql.execute_batch("COMMIT").unwrap();
    let sqlite_get1 = rate(n, t.elapsed());
    assert_eq!(found, 0);
    rows.push(Row {
        name: "random gets, one transaction",
        toondb: toondb_get1,
        redb: redb_get1,
        sqlite: sqlite_get1,
        unit: "gets/s",
    });

    // ---- full scan --------------------------------------------------------------
    let t = Instant::now();
    let mut count = 0;
    for pair in tdb.scan_prefix(b"").unwrap() {
        pair.unwrap();
        count += 1;
    }
    let toondb_scan = rate(count, t.elapsed());
    let t = Instant::now();
    let r = rdb.begin_read().unwrap();
    let count2 = r
        .open_table(TABLE)
        .unwrap()
        .range::<&[u8]>(..)
        .unwrap()
        .fold(0, |c, e| {
            let (k, v) = e.unwrap();
            std::hint::black_box((k.value().to_vec(), v.value().to_vec()));
            c + 1
        });
    drop(r);
    let redb_scan = rate(count2, t.elapsed());
    let t = Instant::now();
    let count3 = {
        let mut st = sql.prepare("SELECT k, v FROM kv ORDER BY k").unwrap();
        let mut rows_iter = st.query([]).unwrap();
        let mut c = 0;
        while let Some(row) = rows_iter.next().unwrap() {
            let _k: Vec<u8> = row.get(0).unwrap();
            let _v: Vec<u8> = row.get(1).unwrap();
            c += 1;
        }
        c
    };
    let sqlite_scan = rate(count3, t.elapsed());
    assert_eq!((count, count2, count3), (n, n, n));
    rows.push(Row {
        name: "full scan (owned pairs)",
        toondb: toondb_scan,
        redb: redb_scan,
        sqlite: sqlite_scan,
        unit: "pairs/s",
    });

    // ---- durable single-put commits ---------------------------------------------
    sql.pragma_update(None, "synchronous", "FULL").unwrap();
    drop(sql);
    for threads in [1usize, 8] {
        let per_thread = durable_n / threads;
        let total = per_thread * threads;
        let base = 10_000_000_000u64 * threads as u64;
        let toondb_rate = parallel(
            threads,
            |t| {
                let db = tdb.clone();
                move || {
                    for i in 0..per_thread as u64 {
                        db.put(&key(base + t * 1_000_000 + i), b"durable").unwrap();
                    }
                }
            },
            total,
        );
        let redb_rate = parallel(
            threads,
            |t| {
                let db = rdb.clone();
                move || {
                    for i in 0..per_thread as u64 {
                        let w = db.begin_write().unwrap();
                        w.open_table(TABLE)
                            .unwrap()
                            .insert(
                                key(base + t * 1_000_000 + i).as_slice(),
                                b"durable".as_slice(),
                            )
                            .unwrap();
                        w.commit().unwrap();
                    }
                }
            },
            total,
        );
        let path = sqlite_path.clone();
        let sqlite_rate = parallel(
            threads,
            |t| {
                let path = path.clone();
                move || {
                    let c = open_sqlite(&path);
                    c.pragma_update(None, "synchronous", "FULL").unwrap();
                    let mut st = c
                        .prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")
                        .unwrap();
                    for i in 0..per_thread as u64 {
                        st.execute(rusqlite::params![
                            key(base + t * 1_000_000 + i).as_slice(),
                            b"durable".as_slice()
                        ])
                        .unwrap();
                    }
                }
            },
            total,
        );
        rows.push(Row {
            name: if threads == 1 {
                "durable single puts, 1 thread"
            } else {
                "durable single puts, 8 threads"
            },
            toondb: toondb_rate,
            redb: redb_rate,
            sqlite: sqlite_rate,
            unit: "commits/s",
        });
    }

    println!();
    println!(
        "| {:<34} | {:>12} | {:>12} | {:>12} | {:>13} | {:>14} |",
        "workload", "ToonDB", "raw redb", "SQLite", "ToonDB/redb", "ToonDB/SQLite"
    );
    println!(
        "|{:-<36}|{:->14}|{:->14}|{:->14}|{:->15}|{:->16}|",
        "", "", "", "", "", ""
    );
    for r in &rows {
        println!(
            "| {:<34} | {:>12.0} | {:>12.0} | {:>12.0} | {:>12.2}× | {:>13.2}× |",
            r.name,
            r.toondb,
            r.redb,
            r.sqlite,
            r.toondb / r.redb,
            r.toondb / r.sqlite
        );
        let _ = r.unit;
    }
    println!("(rates: puts, gets, pairs or commits per second; higher is better)");
}

fn open_sqlite(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(60)).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID",
    )
    .unwrap();
    c
}

/// Runs `threads` workers made by `make(thread_index)` and returns `total / elapsed`.
fn parallel<F, W>(threads: usize, make: F, total: usize) -> f64
where
    F: Fn(u64) -> W,
    W: FnOnce() + Send + 'static,
{
    let workers: Vec<W> = (0..threads as u64).map(&make).collect();
    let t = Instant::now();
    let handles: Vec<_> = workers.into_iter().map(std::thread::spawn).collect();
    for h in handles {
        h.join().unwrap();
    }
    rate(total, t.elapsed())
}
