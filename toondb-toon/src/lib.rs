//! TOON (Token-Oriented Object Notation) for Rust: the official codec plus the compact one-line table form
