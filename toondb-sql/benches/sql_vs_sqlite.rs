//! ToonDB SQL against SQLite (rusqlite, bundled), same schema and indexes, side by side.
//!
//! ```text
//! cargo bench -p toondb-sql --bench sql_vs_sqlite            # full sizes
//! TOONDB_BENCH_SCALE=0.1 cargo bench -p toondb-sql --bench sql_vs_sqlite   # 10% sizes
//! TOONDB_BENCH_REPS=9 cargo bench -p toondb-sql --bench sql_vs_sqlite      # more repetitions
//! ```
//!
//! Workloads (sizes at scale 1): 100k single-row INSERTs in one transaction (SQL text with
//! parameters); 100k point SELECTs by primary key; 2k range SELECTs via a secondary index
//! (~100 rows each); GROUP BY with five aggregates over 1M rows; a 100k x 100k join on a key.
//! Both engines run on disk in a temporary directory; SQLite uses its default rollback
//! journal with `synchronous=FULL` and ToonDB its default `SyncMode::Full`, each committing
//! the bulk loads as one transaction.
//!
//! Each workload runs `TOONDB_BENCH_REPS` times (default 5), ToonDB and SQLite alternately,
//! each repetition checking that both return the same answer (the INSERT workload loads a
//! fresh table per repetition). Printed: the median time of each engine, the ratio of the
//! medians (ToonDB / SQLite, lower is better) and the lowest and highest per-repetition
//! ratio, because one run on a shared machine can be off by a third.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use rusqlite::params;
use toondb_sql::{SqlEngine, Value};

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}

fn scale() -> f64 {
    env_f64("TOONDB_BENCH_SCALE")
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

fn reps() -> usize {
    env_f64("TOONDB_BENCH_REPS")
        .filter(|r| *r >= 1.0)
        .map_or(5, |r| r as usize)
}

fn n(base: usize) -> usize {
    ((base as f64 * scale()) as usize).max(1)
}

struct Row {
    name: String,
    ours: Duration,
    lite: Duration,
    lowest: f64,
    highest: f64,
}

struct Report {
    rows: Vec<Row>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

impl Report {
    /// Runs `ours` and `lite` alternately [`reps`] times (each given the repetition's
    /// index), checks that they agree each time, and records the medians.
    fn measure<T: PartialEq + Debug>(
        &mut self,
        name: &str,
        mut ours: impl FnMut(usize) -> T,
        mut lite: impl FnMut(usize) -> T,
    ) {
        let (mut o, mut l) = (Vec::new(), Vec::new());
        for rep in 0..reps() {
            let t = Instant::now();
            let a = ours(rep);
            o.push(t.elapsed());
            let t = Instant::now();
            let b = lite(rep);
            l.push(t.elapsed());
            assert_eq!(a, b, "{name}: ToonDB and SQLite disagree");
        }
        let ratios: Vec<f64> = o
            .iter()
            .zip(&l)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64().max(1e-9))
            .collect();
        let row = Row {
            name: name.to_string(),
            ours: median(o),
            lite: median(l),
            lowest: ratios.iter().copied().fold(f64::INFINITY, f64::min),
            highest: ratios.iter().copied().fold(0.0, f64::max),
        };
        println!(
            "{:<44} toondb {:>9.3} ms   sqlite {:>9.3} ms   ratio {:>5.2}x  ({:.2}-{:.2}x)",
            row.name,
            ms(row.ours),
            ms(row.lite),
            ms(row.ours) / ms(row.lite).max(1e-9),
            row.lowest,
            row.highest
        );
        self.rows.push(row);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = toondb_storage::Database::open(dir.path().join("toondb"))?;
    let sql = SqlEngine::new(&db)?;
    let lite = rusqlite::Connection::open(dir.path().join("sqlite.db"))?;
    lite.execute_batch("PRAGMA synchronous=FULL;")?;
    let mut report = Report { rows: Vec::new() };
    println!(
        "scale {}, {} repetitions per workload (set TOONDB_BENCH_SCALE / TOONDB_BENCH_REPS); \
         medians, ratio = ToonDB / SQLite (lowest-highest per repetition)",
        scale(),
        reps()
    );

    // 1. Single-row INSERTs with parameters, one transaction, into a fresh table per
    // repetition (`items0` is the one the queries below read).
    let inserts = n(100_000);
    let schema = |rep: usize| {
        format!(
            "CREATE TABLE items{rep} (id INTEGER PRIMARY KEY, cat INTEGER NOT NULL, name TEXT, price REAL);
             CREATE INDEX items{rep}_cat ON items{rep} (cat)"
        )
    };
    for rep in 0..reps() {
        sql.execute(&schema(rep))?;
        lite.execute_batch(&schema(rep))?;
    }
    let insert =
        |rep: usize| format!("INSERT INTO items{rep} (id, cat, name, price) VALUES (?, ?, ?, ?)");
    report.measure(
        &format!("{inserts} INSERTs (params, one txn)"),
        |rep| {
            let insert = insert(rep);
            let mut s = sql.session();
            s.execute("BEGIN").expect("begin");
            for i in 0..inserts as i64 {
                s.execute_with_params(
                    &insert,
                    &[
                        Value::Integer(i),
                        Value::Integer(i % 1000),
                        Value::Text(format!("item-{i}")),
                        Value::Real(i as f64 * 0.5),
                    ],
                )
                .expect("insert");
            }
            s.execute("COMMIT").expect("commit");
        },
        |rep| {
            let tx = lite.unchecked_transaction().expect("tx");
            {
                let mut st = tx.prepare(&insert(rep)).expect("prep");
                for i in 0..inserts as i64 {
                    st.execute(params![i, i % 1000, format!("item-{i}"), i as f64 * 0.5])
                        .expect("insert");
                }
            }
            tx.commit().expect("commit");
        },
    );

    // The queries read `items0` alone: drop the other repetitions' tables, so that both
    // databases hold what they held before the repetitions.
    for rep in 1..reps() {
        sql.execute(&format!("DROP TABLE items{rep}"))?;
        lite.execute_batch(&format!("DROP TABLE items{rep}"))?;
    }

    // 2. Point SELECT by primary key.
    let points = n(100_000);
    let point_sql = "SELECT cat FROM items0 WHERE id = ?";
    report.measure(
        &format!("{points} point SELECTs by primary key"),
        |_| {
            let mut acc = 0i64;
            for i in 0..points as i64 {
                let r = sql
                    .execute_with_params(point_sql, &[Value::Integer((i * 7919) % inserts as i64)])
                    .expect("point");
                acc += r.scalar().and_then(Value::as_i64).unwrap_or(0);
            }
            acc
        },
        |_| {
            let mut st = lite.prepare(point_sql).expect("prep");
            let mut acc = 0i64;
            for i in 0..points as i64 {
                acc += st
                    .query_row([(i * 7919) % inserts as i64], |r| r.get::<_, i64>(0))
                    .expect("point");
            }
            acc
        },
    );

    // 3. Range SELECT via the secondary index.
    let ranges = n(2_000);
    let range_sql = "SELECT id, price FROM items0 WHERE cat BETWEEN ? AND ?";
    let range_rows = inserts / 1000 * ranges;
    report.measure(
        &format!("{ranges} range SELECTs via index (~{range_rows} rows)"),
        |_| {
            let mut c = 0usize;
            for i in 0..ranges as i64 {
                let lo = (i * 37) % 1000;
                let r = sql
                    .execute_with_params(range_sql, &[Value::Integer(lo), Value::Integer(lo)])
                    .expect("range");
                c += r.len();
            }
            c
        },
        |_| {
            let mut st = lite.prepare(range_sql).expect("prep");
            let mut c = 0usize;
            for i in 0..ranges as i64 {
                let lo = (i * 37) % 1000;
                let rows = st
                    .query_map([lo, lo], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))
                    .expect("range");
                c += rows.count();
            }
            c
        },
    );

    // 4. GROUP BY with aggregates over 1M rows.
    let big = n(1_000_000);
    let big_schema = "CREATE TABLE facts (id INTEGER PRIMARY KEY, grp INTEGER, v INTEGER, w REAL)";
    sql.execute(big_schema)?;
    lite.execute_batch(big_schema)?;
    {
        let mut s = sql.session();
        s.execute("BEGIN")?;
        for i in 0..big as i64 {
            s.execute_with_params(
                "INSERT INTO facts VALUES (?, ?, ?, ?)",
                &[
                    Value::Integer(i),
                    Value::Integer(i % 100),
                    Value::Integer(i % 997),
                    Value::Real((i % 113) as f64 / 7.0),
                ],
            )?;
        }
        s.execute("COMMIT")?;
        let tx = lite.unchecked_transaction()?;
        {
            let mut st = tx.prepare("INSERT INTO facts VALUES (?, ?, ?, ?)")?;
            for i in 0..big as i64 {
                st.execute(params![i, i % 100, i % 997, (i % 113) as f64 / 7.0])?;
            }
        }
        tx.commit()?;
    }
    let q = "SELECT grp, count(*), sum(v), avg(w), min(v), max(w) FROM facts GROUP BY grp";
    report.measure(
        &format!("GROUP BY + 5 aggregates over {big} rows"),
        |_| sql.execute(q).expect("group by").len(),
        |_| {
            let mut st = lite.prepare(q).expect("prep");
            st.query_map([], |_| Ok(())).expect("q").count()
        },
    );

    // 5. Join 100k x 100k on a key.
    let jn = n(100_000);
    let js = "CREATE TABLE l (id INTEGER PRIMARY KEY, k INTEGER, v INTEGER);
              CREATE TABLE r (id INTEGER PRIMARY KEY, k INTEGER, w INTEGER);
              CREATE INDEX r_k ON r (k)";
    sql.execute(js)?;
    lite.execute_batch(js)?;
    {
        let mut s = sql.session();
        s.execute("BEGIN")?;
        for i in 0..jn as i64 {
            s.execute_with_params(
                "INSERT INTO l VALUES (?, ?, ?)",
                &[
                    Value::Integer(i),
                    Value::Integer((i * 31) % jn as i64),
                    Value::Integer(i % 10),
                ],
            )?;
            s.execute_with_params(
                "INSERT INTO r VALUES (?, ?, ?)",
                &[Value::Integer(i), Value::Integer(i), Value::Integer(i % 7)],
            )?;
        }
        s.execute("COMMIT")?;
        let tx = lite.unchecked_transaction()?;
        {
            let mut a = tx.prepare("INSERT INTO l VALUES (?, ?, ?)")?;
            let mut b = tx.prepare("INSERT INTO r VALUES (?, ?, ?)")?;
            for i in 0..jn as i64 {
                a.execute(params![i, (i * 31) % jn as i64, i % 10])?;
                b.execute(params![i, i, i % 7])?;
            }
        }
        tx.commit()?;
    }
    let q = "SELECT count(*), sum(l.v + r.w) FROM l JOIN r ON l.k = r.k";
    report.measure(
        &format!("join {jn} x {jn} on a key"),
        |_| match sql.execute(q).expect("join").rows[0].values() {
            [Value::Integer(c), Value::Integer(s)] => (*c, *s),
            other => panic!("unexpected join result {other:?}"),
        },
        |_| {
            lite.query_row(q, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                .expect("join")
        },
    );

    println!(
        "\nsummary (median ratio ToonDB / SQLite; targets: points <= 2x, scans/aggregates/joins <= 1.5x)"
    );
    for r in &report.rows {
        println!(
            "  {:<44} {:>5.2}x  ({:.2}-{:.2}x)",
            r.name,
            ms(r.ours) / ms(r.lite).max(1e-9),
            r.lowest,
            r.highest
        );
    }
    Ok(())
}
