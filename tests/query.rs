//! The query builder over JSON documents under a prefix.

use serde_json::json;
use toondb::Database;

fn db_with_products() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.put(
        b"products/laptop",
        br#"{"name":"Laptop","price":999,"stock":5}"#,
    )
    .unwrap();
    db.put(
        b"products/mouse",
        br#"{"name":"Mouse","price":25,"stock":20}"#,
    )
    .unwrap();
    db.put(
        b"products/keyboard",
        br#"{"name":"Keyboard","price":75,"stock":10,"spec":{"layout":"US"}}"#,
    )
    .unwrap();
    db.put(b"productsX/other", br#"{"name":"not under the prefix"}"#)
        .unwrap();
    (dir, db)
}

#[cfg(feature = "toon")]
#[test]
fn renders_like_the_original_product() {
    let (_d, db) = db_with_products();
    let rows = db
        .query("products/")
        .select(["name", "price"])
        .limit(10)
        .to_list()
        .unwrap();
    let lines: Vec<String> = rows.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "products/keyboard: result[1]{name,price}:Keyboard,75",
            "products/laptop: result[1]{name,price}:Laptop,999",
            "products/mouse: result[1]{name,price}:Mouse,25",
        ]
    );
    // The TOON part decodes back to the selected fields.
    let (name, fields, records) = toondb::toon::from_toon(&rows[1].to_toon().unwrap()).unwrap();
    assert_eq!(name, "result");
    assert_eq!(fields, ["name", "price"]);
    assert_eq!(
        serde_json::Value::Object(records[0].clone()),
        json!({"name": "Laptop", "price": 999})
    );
}

#[cfg(feature = "toon")]
#[test]
fn values_needing_quotes_survive_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.put(
        b"notes/1",
        br#"{"text":"a, b; c: \"d\"\nnext line","n":-1.5}"#,
    )
    .unwrap();
    let row = db.query("notes/").first().unwrap().unwrap();
    let toon = row.to_toon().unwrap();
    let (_, _, records) = toondb::toon::from_toon(&toon).unwrap();
    assert_eq!(serde_json::Value::Object(records[0].clone()), row.value);
}

#[test]
fn select_filter_offset_limit_count_exists() {
    let (_d, db) = db_with_products();
    let all = db.query("products/").to_list().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0].fields,
        ["name", "price", "stock", "spec"],
        "document order"
    );
    let cheap: Vec<_> = db
        .query("products/")
        .where_eq("stock", 20)
        .to_list()
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(cheap, ["products/mouse"]);
    // Nested fields by dotted path, in filters and selections.
    let kb = db
        .query("products/")
        .where_eq("spec.layout", "US")
        .select(["name", "spec.layout", "missing"])
        .first()
        .unwrap()
        .unwrap();
    assert_eq!(kb.value, json!({"name": "Keyboard", "spec.layout": "US"}));
    assert_eq!(kb.fields, ["name", "spec.layout", "missing"]);
    // Offset and limit, and count agreeing with to_list.
    let page: Vec<_> = db
        .query("products/")
        .offset(1)
        .limit(1)
        .to_list()
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(page, ["products/laptop"]);
    assert_eq!(db.query("products/").offset(1).limit(1).count().unwrap(), 1);
    assert_eq!(db.query("products/").offset(5).count().unwrap(), 0);
    assert_eq!(db.query("products/").limit(0).count().unwrap(), 0);
    assert_eq!(db.query("products/").count().unwrap(), 3);
    assert_eq!(db.query("").count().unwrap(), 4);
    assert!(db.query("products/").exists().unwrap());
    assert!(
        !db.query("products/")
            .where_eq("name", "Tablet")
            .exists()
            .unwrap()
    );
    assert!(!db.query("nothing/").exists().unwrap());
    // Filters compare JSON values: the number 25 is not the string "25".
    assert_eq!(
        db.query("products/")
            .where_eq("price", "25")
            .count()
            .unwrap(),
        0
    );
    assert_eq!(
        db.query("products/").where_eq("price", 25).count().unwrap(),
        1
    );
}

#[test]
fn values_that_are_not_objects_are_rows_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.put(b"v/array", b"[1,2]").unwrap();
    db.put(b"v/binary", &[0xFF, 0xFE, b'x']).unwrap();
    db.put(b"v/number", b"42").unwrap();
    db.put(b"v/text", b"plain text, not JSON").unwrap();
    let rows = db.query("v/").to_list().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].value, json!({"value": [1, 2]}));
    assert_eq!(rows[1].value, json!({"value": "\u{FFFD}\u{FFFD}x"}));
    assert_eq!(rows[1].raw, [0xFF, 0xFE, b'x']);
    assert_eq!(rows[2].value, json!({"value": 42}));
    assert_eq!(rows[3].value, json!({"value": "plain text, not JSON"}));
    assert_eq!(db.query("v/").where_eq("value", 42).count().unwrap(), 1);
}
