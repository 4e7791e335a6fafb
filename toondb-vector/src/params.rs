//! Index parameters.

use crate::error::{Result, VectorError};

/// Largest `m` accepted. hnsw_rs keeps `2·m` links on layer 0 and stores `m` in a `u8`
/// (it exits the process above 256), so the limit is checked here first.
pub const MAX_M: usize = 128;
/// Largest `ef_construction` and `ef_search` accepted.
pub const MAX_EF: usize = 100_000;
/// Largest vector dimension accepted.
pub const MAX_DIMENSION: usize = 65_536;

/// HNSW parameters: graph degree, build and search beam widths, and a size hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on the upper layers (`2·m` on layer 0). 2..=128; default 16.
    pub m: usize,
    /// Beam width while building. 1..=100 000; default 200.
    pub ef_construction: usize,
    /// Default beam width while searching (each search may override it). 1..=100 000; default 64.
    pub ef_search: usize,
    /// Expected number of vectors, used to size allocations. Default 10 000.
    pub max_elements: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            max_elements: 10_000,
        }
    }
}

impl HnswParams {
    /// Sets `m`.
    pub fn with_m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }
    /// Sets `ef_construction`.
    pub fn with_ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }
    /// Sets the default `ef_search`.
    pub fn with_ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }
    /// Sets the size hint.
    pub fn with_max_elements(mut self, n: usize) -> Self {
        self.max_elements = n;
        self
    }

    /// Checks every field against its allowed range.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_M).contains(&self.m) {
            return Err(VectorError::InvalidParameter {
                name: "m",
                value: self.m,
                reason: "must be in 2..=128",
            });
        }
        check_ef("ef_construction", self.ef_construction)?;
        check_ef("ef_search", self.ef_search)
    }
}

pub(crate) fn check_ef(name: &'static str, ef: usize) -> Result<()> {
    if !(1..=MAX_EF).contains(&ef) {
        return Err(VectorError::InvalidParameter {
            name,
            value: ef,
            reason: "must be in 1..=100000",
        });
    }
    Ok(())
}

pub(crate) fn check_dimension(dimension: usize) -> Result<()> {
    if !(1..=MAX_DIMENSION).contains(&dimension) {
        return Err(VectorError::InvalidParameter {
            name: "dimension",
            value: dimension,
            reason: "must be in 1..=65536",
        });
    }
    Ok(())
}
