//! Fuzzes the compact table reader: no input may panic, and whatever parses
//! must write back to a line that parses to the same table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((name, fields, records)) = toondb_toon::from_toon(text) {
        let line = toondb_toon::to_toon(&name, &records, &fields).expect("a parsed table writes");
        let again = toondb_toon::from_toon(&line).expect("a written table parses");
        assert_eq!(again.0, name);
        assert_eq!(again.1, fields);
        assert_eq!(again.2.len(), records.len());
    }
});
