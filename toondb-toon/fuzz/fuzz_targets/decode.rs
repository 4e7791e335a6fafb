//! Fuzzes the specification decoder: no input may panic; an error must be a
//! syntax error with a position inside the input; whatever decodes must
//! re-encode and decode back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toondb_toon::{DecodeOptions, EncodeOptions, Error};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let strict = flags & 1 == 0;
    let indent = usize::from((flags >> 1) & 3) + 1;
    let options = DecodeOptions::new().strict(strict).indent(indent);
    match toondb_toon::decode_value(text, &options) {
        Ok(value) => {
            let toon = toondb_toon::encode_value(&value, &EncodeOptions::new())
                .expect("a decoded value encodes");
            let back = toondb_toon::decode_value(&toon, &DecodeOptions::new())
                .expect("an encoded value decodes");
            assert_eq!(
                serde_json::to_string(&back).ok(),
                serde_json::to_string(&value).ok(),
                "round trip changed the value"
            );
        }
        Err(Error::Syntax { line, column, .. }) => {
            assert!(line >= 1 && line <= text.split('\n').count());
            assert!(column >= 1);
        }
        Err(other) => panic!("decode returned a non-syntax error: {other}"),
    }
});
