//! ToonDB's HNSW vector engine on hnsw_rs: metrics, filtered search, deletes, the .hnsw file and the bulk API
