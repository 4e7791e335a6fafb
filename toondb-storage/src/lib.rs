//! ToonDB's transactional key-value engine on redb: keyspaces, snapshot-isolation transactions, scans, durability modes
