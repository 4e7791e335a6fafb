//! TOON (Token-Oriented Object Notation) for Rust: the specification codec
//! plus ToonDB's compact one-line table form.
//!
//! TOON carries the JSON data model in fewer tokens: objects as indented
//! `key: value` lines, uniform arrays of objects as a header that names the
//! fields once followed by one delimited row per element. This crate is the
//! one TOON codec of ToonDB (SQL results, the context builder and the
//! servers render through it) and has no ToonDB dependencies.
//!
//! # The specification codec
//!
//! - [`encode`] / [`encode_value`] turn any `Serialize` value or
//!   `serde_json::Value` into a TOON document; [`decode`] / [`decode_value`]
//!   parse one back into any `Deserialize` type. Options:
//!   [`EncodeOptions`] (indent, [`Delimiter`]) and [`DecodeOptions`]
//!   (indent, strict). Underneath is the official `toon-format` crate
//!   (specification 4.4); this crate adds the non-strict recoveries it
//!   misses, so every case of the official 4.1.1 and 4.0 conformance
//!   fixtures passes (`tests/conformance.rs`).
//! - [`encode_to_writer`] / [`encode_value_to_writer`] stream into any
//!   `io::Write` (a root object entry by entry, table rows line by line), and
//!   [`TableWriter`] writes a table from rows produced one at a time.
//! - [`Error`] is the crate's one error type; decoding errors are
//!   [`Error::Syntax`] with a 1-based line and column and what was expected.
//!   No input makes the decoder panic (`tests/robustness.rs`, `fuzz/`).
//!
//! ```
//! use serde_json::json;
//! use toondb_toon::{decode_value, encode_value, DecodeOptions, Delimiter, EncodeOptions};
//!
//! let data = json!({"users": [{"id": 1, "name": "Alice"}, {"id": 2, "name": "Bob"}]});
//! let text = encode_value(&data, &EncodeOptions::new())?;
//! assert_eq!(text, "users[2]{id,name}:\n  1,Alice\n  2,Bob");
//! assert_eq!(decode_value(&text, &DecodeOptions::new())?, data);
//!
//! let piped = encode_value(&data, &EncodeOptions::new().delimiter(Delimiter::Pipe))?;
//! assert_eq!(piped, "users[2|]{id|name}:\n  1|Alice\n  2|Bob");
//! # Ok::<(), toondb_toon::Error>(())
//! ```
//!
//! # The compact table form
//!
//! ToonDB's original product rendered query results as one line per table;
//! [`to_toon`] / [`write_toon`] write it and [`from_toon`] reads it back
//! losslessly:
//!
//! ```
//! use serde_json::json;
//! let records = [json!({"name": "Alice", "email": "alice@example.com"}),
//!                json!({"name": "Bob", "email": "bob@example.com"})];
//! let line = toondb_toon::to_toon("users", &records, ["name", "email"])?;
//! assert_eq!(line, "users[2]{name,email}:Alice,alice@example.com;Bob,bob@example.com");
//! let (name, fields, rows) = toondb_toon::from_toon(&line)?;
//! assert_eq!((name.as_str(), fields.len(), rows.len()), ("users", 2, 2));
//! # Ok::<(), toondb_toon::Error>(())
//! ```
//!
//! Grammar (one line; an optional trailing line break is ignored):
//!
//! ```text
//! table   = [ key ] "[" count "]" "{" key *( "," key ) "}" ":" rows
//! count   = "0" / %x31-39 *DIGIT            ; number of rows, no leading zeros
//! rows    = ""                              ; when count = 0
//!         / row *( ";" row )                ; exactly count rows
//! row     = cell *( "," cell )              ; exactly one cell per field
//! cell    = ""                              ; the field is absent from the record
//!         / quoted                          ; a string
//!         / json                            ; a JSON array or object, compact
//!         / bare                            ; true, false, null, a number, or a string
//! key     = quoted / bare-key
//! quoted  = DQUOTE *( char / escape ) DQUOTE
//! escape  = "\" ( "\" / DQUOTE / "n" / "r" / "t" / "u" 4HEXDIG )
//! ```
//!
//! - The table name may be empty (`[2]{a}:...`). Names and fields are written
//!   bare when they match the specification's unquoted-key pattern
//!   `[A-Za-z_][A-Za-z0-9_.]*`, quoted otherwise; the reader also accepts
//!   other bare names without quotes, commas, colons, semicolons, brackets,
//!   braces or surrounding spaces (`products/x[0]{a}:`).
//! - A string is quoted exactly when the specification would quote it
//!   (§7.2: empty, leading or trailing space, looks like `true`/`false`/
//!   `null` or a number, contains `:`, `"`, `\`, brackets, braces, a control
//!   character such as a line break, or the delimiter `,`, or starts with `-`
//!   or `#`) or when it contains the row separator `;`. Escapes are the
//!   specification's (§7.1), so the line never contains a raw line break.
//! - Numbers use the specification's canonical form (no exponent, no
//!   trailing zeros: `1e-7` is written `0.0000001`); bare cells are numbers
//!   when they match its number grammar, so `05` is the string `"05"`.
//! - Arrays and objects in a cell are written as compact JSON; a bare cell
//!   cannot start with `[` or `{` otherwise, since such strings are quoted.
//! - Round trip: `from_toon(to_toon(n, records, fields))` returns `n`,
//!   `fields` and, for each record, exactly its values for those fields
//!   (numbers equal by value: JSON does not tell `3.0` from `3`), proven by
//!   the property tests in `tests/compact_roundtrip.rs`.
#![deny(missing_docs)]

mod codec;
mod compact;
mod error;
mod options;
mod stream;

pub use codec::{MAX_DEPTH, decode, decode_value, encode, encode_value};
pub use compact::{CompactTable, from_toon, to_toon, write_toon};
pub use error::{Error, Result};
pub use options::{DEFAULT_INDENT, DecodeOptions, Delimiter, EncodeOptions};
pub use stream::{TableWriter, encode_to_writer, encode_value_to_writer};
