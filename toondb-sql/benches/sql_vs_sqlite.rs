//! ToonDB SQL against SQLite (rusqlite, bundled), same schema and indexes, side by side.
//!
//! ```text
//! cargo bench -p toondb-sql --bench sql_vs_sqlite            # full sizes
//! TOONDB_BENCH_SCALE=0.1 cargo bench -p toondb-sql --bench sql_vs_sqlite   # 10% sizes
//! ```
//!
//! Workloads (sizes at scale 1): 100k single-row INSERTs in one transaction (SQL text with
//! parameters); 100k point SELECTs by primary key; 2k range SELECTs via a secondary index
//! (~50 rows each); GROUP BY with five aggregates over 1M rows; a 100k x 100k join on a key.
//! Both engines run on disk in a temporary directory; SQLite uses its default rollback
//! journal with `synchronous=FULL` and ToonDB its default `SyncMode::Full`, each committing
//! the bulk loads as one transaction. Prints each time and the ratio ToonDB / SQLite.

use std::time::{Duration, Instant};

use rusqlite::params;
use toondb_sql::{SqlEngine, Value};

fn scale() -> f64 {
    std::env::var("TOONDB_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0)
}

fn n(base: usize) -> usize {
    ((base as f64 * scale()) as usize).max(1)
}

struct Report {
    rows: Vec<(String, Duration, Duration)>,
}

impl Report {
    fn add(&mut self, name: &str, ours: Duration, lite: Duration) {
        println!(
            "{name:<48} toondb {:>10.3} ms   sqlite {:>10.3} ms   ratio {:>6.2}x",
            ours.as_secs_f64() * 1e3,
            lite.as_secs_f64() * 1e3,
            ours.as_secs_f64() / lite.as_secs_f64().max(1e-9)
        );
        self.rows.push((name.to_string(), ours, lite));
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = toondb_storage::Database::open(dir.path().join("toondb"))?;
    let sql = SqlEngine::new(&db)?;
    let lite = rusqlite::Connection::open(dir.path().join("sqlite.db"))?;
    lite.execute_batch("PRAGMA synchronous=FULL;")?;
    let mut report = Report { rows: Vec::new() };
    println!("scale {} (set TOONDB_BENCH_SCALE to change)", scale());

    let schema =
        "CREATE TABLE items (id INTEGER PRIMARY KEY, cat INTEGER NOT NULL, name TEXT, price REAL);
                  CREATE INDEX items_cat ON items (cat)";
    sql.execute(schema)?;
    lite.execute_batch(schema)?;

    // 1. Single-row INSERTs with parameters, one transaction.
    let inserts = n(100_000);
    let ((), ours) = time(|| {
        let mut s = sql.session();
        s.execute("BEGIN").expect("begin");
        for i in 0..inserts as i64 {
            s.execute_with_params(
                "INSERT INTO items (id, cat, name, price) VALUES (?, ?, ?, ?)",
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
    });
    let ((), theirs) = time(|| {
        let tx = lite.unchecked_transaction().expect("tx");
        {
            let mut st = tx
                .prepare("INSERT INTO items (id, cat, name, price) VALUES (?, ?, ?, ?)")
                .expect("prep");
            for i in 0..inserts as i64 {
                st.execute(params![i, i % 1000, format!("item-{i}"), i as f64 * 0.5])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    });
    report.add(
        &format!("{inserts} INSERTs (params, one txn)"),
        ours,
        theirs,
    );

    // 2. Point SELECT by primary key.
    let points = n(100_000);
    let (sum_ours, ours) = time(|| {
        let mut acc = 0i64;
        for i in 0..points as i64 {
            let r = sql
                .execute_with_params(
                    "SELECT cat FROM items WHERE id = ?",
                    &[Value::Integer((i * 7919) % inserts as i64)],
                )
                .expect("point");
            acc += r.scalar().and_then(Value::as_i64).unwrap_or(0);
        }
        acc
    });
    let (sum_lite, theirs) = time(|| {
        let mut st = lite
            .prepare("SELECT cat FROM items WHERE id = ?")
            .expect("prep");
        let mut acc = 0i64;
        for i in 0..points as i64 {
            acc += st
                .query_row([(i * 7919) % inserts as i64], |r| r.get::<_, i64>(0))
                .expect("point");
        }
        acc
    });
    assert_eq!(sum_ours, sum_lite, "point query results differ");
    report.add(
        &format!("{points} point SELECTs by primary key"),
        ours,
        theirs,
    );

    // 3. Range SELECT via the secondary index.
    let ranges = n(2_000);
    let (cnt_ours, ours) = time(|| {
        let mut c = 0usize;
        for i in 0..ranges as i64 {
            let lo = (i * 37) % 1000;
            let r = sql
                .execute_with_params(
                    "SELECT id, price FROM items WHERE cat BETWEEN ? AND ?",
                    &[Value::Integer(lo), Value::Integer(lo)],
                )
                .expect("range");
            c += r.len();
        }
        c
    });
    let (cnt_lite, theirs) = time(|| {
        let mut st = lite
            .prepare("SELECT id, price FROM items WHERE cat BETWEEN ? AND ?")
            .expect("prep");
        let mut c = 0usize;
        for i in 0..ranges as i64 {
            let lo = (i * 37) % 1000;
            let rows = st
                .query_map([lo, lo], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))
                .expect("range");
            c += rows.count();
        }
        c
    });
    assert_eq!(cnt_ours, cnt_lite, "range query results differ");
    report.add(
        &format!("{ranges} range SELECTs via index ({} rows)", cnt_ours),
        ours,
        theirs,
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
    let (g_ours, ours) = time(|| sql.execute(q).expect("group by").len());
    let (g_lite, theirs) = time(|| {
        let mut st = lite.prepare(q).expect("prep");
        st.query_map([], |_| Ok(())).expect("q").count()
    });
    assert_eq!(g_ours, g_lite);
    report.add(
        &format!("GROUP BY + 5 aggregates over {big} rows"),
        ours,
        theirs,
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
    let (j_ours, ours) = time(|| sql.execute(q).expect("join").rows[0].values().to_vec());
    let (j_lite, theirs) = time(|| {
        lite.query_row(q, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .expect("join")
    });
    assert_eq!(
        j_ours,
        vec![Value::Integer(j_lite.0), Value::Integer(j_lite.1)]
    );
    report.add(&format!("join {jn} x {jn} on a key"), ours, theirs);

    println!(
        "\nsummary (ratio = ToonDB time / SQLite time; targets: points <= 2x, scans/aggregates/joins <= 1.5x)"
    );
    for (name, o, l) in &report.rows {
        println!(
            "  {name:<48} {:>6.2}x",
            o.as_secs_f64() / l.as_secs_f64().max(1e-9)
        );
    }
    Ok(())
}
