//! ToonDB's command-line tools: toondb (shell and tools) and toondb-bulk
