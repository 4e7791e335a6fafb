//! TOON (Token-Oriented Object Notation) for Rust: the specification codec
//! plus ToonDB's compact one-line table form.
//!
//! TOON carries the JSON data model in fewer tokens: objects as indented
//! `key: value` lines, uniform arrays of objects as a header that names the
//! fields once followed by one delimited row per element. This crate is the
//! one TOON codec of ToonDB (SQL results, the context builder and the
//! servers render through it) and has no ToonDB dependencies.
//!
//! - [`encode`] / [`encode_value`] turn any `Serialize` value or
//!   `serde_json::Value` into a TOON document; [`decode`] / [`decode_value`]
//!   parse one back into any `Deserialize` type. Options:
//!   [`EncodeOptions`] (indent, [`Delimiter`]) and [`DecodeOptions`]
//!   (indent, strict). Underneath is the official `toon-format` crate
//!   (specification 4.4); this crate adds the non-strict recoveries it
//!   misses, so every case of the official 4.1.1 and 4.0 conformance
//!   fixtures passes (`tests/conformance.rs`).
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
#![deny(missing_docs)]

mod codec;
mod error;
mod options;

pub use codec::{MAX_DEPTH, decode, decode_value, encode, encode_value};
pub use error::{Error, Result};
pub use options::{DEFAULT_INDENT, DecodeOptions, Delimiter, EncodeOptions};
