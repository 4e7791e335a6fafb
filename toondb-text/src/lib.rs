//! ToonDB's BM25 text engine on tantivy
