//! ToonDB: an embedded document database for AI applications and agents.
//!
//! (The façade is being written; see `ARCHITECTURE.md`.)

pub use toondb_storage as storage;
#[cfg(feature = "text")]
pub use toondb_text as text;
#[cfg(feature = "toon")]
pub use toondb_toon as toon;
#[cfg(feature = "vector")]
pub use toondb_vector as vector;
