//! ToonDB
