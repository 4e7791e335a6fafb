//! ToonDB SQL engine (being written).
