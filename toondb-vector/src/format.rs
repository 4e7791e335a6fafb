//! The `.hnsw` file, format version 1. Byte-by-byte description: `docs/hnsw-format.md`.
//!
//! A 64-byte header (magic, version, dimension, metric, parameters, live count, segment count,
//! body length, body CRC-32, header CRC-32) followed by the segments: ids, tombstones, levels,
//! vectors and the flat link arrays, all little-endian. Loading reads the arrays back as they
//! are: no graph is rebuilt.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, VectorError};
use crate::index::{Inner, Loc, VectorIndex};
use crate::metric::DistanceMetric;
use crate::params::{HnswParams, check_dimension};
use crate::segment::{MAX_LAYERS, Segment};

/// First 8 bytes of every `.hnsw` file.
pub const MAGIC: [u8; 8] = *b"TOONHNSW";
/// The format version this build writes (and the highest it reads).
pub const FORMAT_VERSION: u32 = 1;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 64;

/// What the header of a `.hnsw` file says (see [`VectorIndex::read_info`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexInfo {
    /// Format version of the file.
    pub format_version: u32,
    /// Vector dimension.
    pub dimension: usize,
    /// Distance metric.
    pub metric: DistanceMetric,
    /// Parameters stored with the index.
    pub params: HnswParams,
    /// Live vectors.
    pub count: u64,
    /// Frozen segments in the file.
    pub segments: u32,
    /// File size in bytes.
    pub file_bytes: u64,
    /// CRC-32 of the body, as stored.
    pub body_crc32: u32,
}

struct Header {
    dimension: usize,
    metric: DistanceMetric,
    params: HnswParams,
    count: u64,
    segments: u32,
    body_len: u64,
    body_crc: u32,
}

fn corrupt(path: &Path, detail: impl Into<String>) -> VectorError {
    VectorError::Corrupt {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn encode_header(h: &Header) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    b[0..8].copy_from_slice(&MAGIC);
    b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    b[12..16].copy_from_slice(&(h.dimension as u32).to_le_bytes());
    b[16] = h.metric.code();
    b[20..24].copy_from_slice(&(h.params.m as u32).to_le_bytes());
    b[24..28].copy_from_slice(&(h.params.ef_construction as u32).to_le_bytes());
    b[28..32].copy_from_slice(&(h.params.ef_search as u32).to_le_bytes());
    b[32..40].copy_from_slice(&h.count.to_le_bytes());
    b[40..44].copy_from_slice(&h.segments.to_le_bytes());
    b[48..56].copy_from_slice(&h.body_len.to_le_bytes());
    b[56..60].copy_from_slice(&h.body_crc.to_le_bytes());
    let crc = crc32fast::hash(&b[..60]);
    b[60..64].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Reads and checks the header; returns it with the file length.
fn read_header(path: &Path, file: &mut File) -> Result<(Header, u64)> {
    let file_len = file.metadata().map_err(|e| VectorError::io(path, e))?.len();
    let mut b = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match file.read(&mut b[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(VectorError::io(path, e)),
        }
    }
    if got > 0 && got < MAGIC.len() && b[..got] == MAGIC[..got] {
        return Err(VectorError::Truncated {
            path: path.to_path_buf(),
            detail: format!("file is {got} bytes"),
        });
    }
    if got < MAGIC.len() || b[..8] != MAGIC {
        return Err(VectorError::NotAnIndexFile {
            path: path.to_path_buf(),
        });
    }
    if got < HEADER_LEN {
        return Err(VectorError::Truncated {
            path: path.to_path_buf(),
            detail: format!("header is {got} of 64 bytes"),
        });
    }
    let version = u32_at(&b, 8);
    if u32_at(&b, 60) != crc32fast::hash(&b[..60]) {
        return Err(corrupt(path, "header checksum mismatch"));
    }
    if version != FORMAT_VERSION {
        return Err(VectorError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
            supported: FORMAT_VERSION,
        });
    }
    let dimension = u32_at(&b, 12) as usize;
    check_dimension(dimension).map_err(|e| corrupt(path, e.to_string()))?;
    let metric = DistanceMetric::from_code(b[16])
        .ok_or_else(|| corrupt(path, format!("unknown metric code {}", b[16])))?;
    let params = HnswParams {
        m: u32_at(&b, 20) as usize,
        ef_construction: u32_at(&b, 24) as usize,
        ef_search: u32_at(&b, 28) as usize,
        max_elements: 0,
    };
    params
        .validate()
        .map_err(|e| corrupt(path, e.to_string()))?;
    let count = u64_at(&b, 32);
    let params = HnswParams {
        max_elements: usize::try_from(count).unwrap_or(usize::MAX),
        ..params
    };
    let h = Header {
        dimension,
        metric,
        params,
        count,
        segments: u32_at(&b, 40),
        body_len: u64_at(&b, 48),
        body_crc: u32_at(&b, 56),
    };
    let want = (HEADER_LEN as u64).saturating_add(h.body_len);
    if file_len < want {
        return Err(VectorError::Truncated {
            path: path.to_path_buf(),
            detail: format!("file is {file_len} bytes, header announces {want}"),
        });
    }
    if file_len > want {
        return Err(corrupt(
            path,
            format!("file is {file_len} bytes, header announces {want}"),
        ));
    }
    Ok((h, file_len))
}

/// Writes and hashes the body.
struct BodyWriter<W: Write> {
    w: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> BodyWriter<W> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.crc.update(b);
        self.len += b.len() as u64;
        self.w.write_all(b)
    }
    fn u32s(&mut self, v: impl IntoIterator<Item = u32>) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(16 * 1024);
        for x in v {
            buf.extend_from_slice(&x.to_le_bytes());
            if buf.len() >= 16 * 1024 {
                self.bytes(&buf)?;
                buf.clear();
            }
        }
        self.bytes(&buf)
    }
    fn u64s(&mut self, v: &[u64]) -> std::io::Result<()> {
        for chunk in v.chunks(2048) {
            let buf: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
            self.bytes(&buf)?;
        }
        Ok(())
    }
}

fn write_segment<W: Write>(w: &mut BodyWriter<W>, s: &Segment) -> std::io::Result<()> {
    let mut head = [0u8; 16];
    head[0..8].copy_from_slice(&(s.len() as u64).to_le_bytes());
    head[8..12].copy_from_slice(&s.entry.to_le_bytes());
    head[12] = s.max_level;
    w.bytes(&head)?;
    w.u64s(&s.ids)?;
    w.u64s(&s.deleted)?;
    let mut levels = s.levels.clone();
    levels.resize(s.levels.len().div_ceil(4) * 4, 0);
    w.bytes(&levels)?;
    w.u32s(s.vectors.iter().map(|f| f.to_bits()))?;
    w.u32s(s.level0.iter().copied())?;
    w.u32s(s.upper.iter().copied())
}

/// Reads and hashes the body, never past the length the header announced.
struct BodyReader<R: Read> {
    r: R,
    crc: crc32fast::Hasher,
    remaining: u64,
    path: PathBuf,
}

impl<R: Read> BodyReader<R> {
    fn need(&self, bytes: u64, what: &str) -> Result<()> {
        if bytes > self.remaining {
            return Err(corrupt(
                &self.path,
                format!(
                    "{what} needs {bytes} bytes, {} left in the body",
                    self.remaining
                ),
            ));
        }
        Ok(())
    }
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        self.r.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                VectorError::Truncated {
                    path: self.path.clone(),
                    detail: "body ends early".into(),
                }
            } else {
                VectorError::io(&self.path, e)
            }
        })?;
        self.crc.update(buf);
        self.remaining -= buf.len() as u64;
        Ok(())
    }
    fn array<T, const N: usize>(
        &mut self,
        count: usize,
        what: &str,
        conv: impl Fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let bytes = (count as u64)
            .checked_mul(N as u64)
            .ok_or_else(|| corrupt(&self.path, format!("{what}: size overflow")))?;
        self.need(bytes, what)?;
        let mut out = Vec::with_capacity(count);
        let mut buf = vec![0u8; 64 * 1024 / N * N];
        let mut left = count;
        while left > 0 {
            let take = left.min(buf.len() / N);
            let chunk = &mut buf[..take * N];
            self.fill(chunk)?;
            out.extend(chunk.chunks_exact(N).map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                conv(a)
            }));
            left -= take;
        }
        Ok(out)
    }
}

fn read_segment<R: Read>(r: &mut BodyReader<R>, dim: usize, m: usize) -> Result<Segment> {
    let path = r.path.clone();
    let head = r.array::<u8, 1>(16, "segment header", |a| a[0])?;
    let n64 = u64_at(&head, 0);
    let entry = u32_at(&head, 8);
    let max_level = head[12];
    // Each slot needs at least 8 (id) + 4·dim + 4·(2m+1) bytes: reject counts the body cannot hold.
    let per_slot = 8 + 4 * dim as u64 + 4 * (2 * m as u64 + 1) + 1;
    if n64.saturating_mul(per_slot) > r.remaining || n64 >= u32::MAX as u64 {
        return Err(corrupt(
            &path,
            format!("segment claims {n64} vectors, more than the body holds"),
        ));
    }
    let n = n64 as usize;
    let ids = r.array::<u64, 8>(n, "ids", u64::from_le_bytes)?;
    let deleted = r.array::<u64, 8>(n.div_ceil(64), "tombstones", u64::from_le_bytes)?;
    let mut levels = r.array::<u8, 1>(n.div_ceil(4) * 4, "levels", |a| a[0])?;
    if levels[n..].iter().any(|&b| b != 0) {
        return Err(corrupt(&path, "non-zero padding after levels"));
    }
    levels.truncate(n);
    let vectors = r.array::<f32, 4>(n * dim, "vectors", f32::from_le_bytes)?;
    let stride0 = 2 * m + 1;
    let level0 = r.array::<u32, 4>(n * stride0, "layer-0 links", u32::from_le_bytes)?;
    let (upper_offsets, total) = Segment::layout_upper(&levels, m)
        .ok_or_else(|| corrupt(&path, "upper layers too large"))?;
    let upper = r.array::<u32, 4>(total, "upper links", u32::from_le_bytes)?;

    // Structure checks: after these, no search can index out of bounds.
    if let Some(i) = vectors.iter().position(|v| !v.is_finite()) {
        return Err(corrupt(
            &path,
            format!("vector component {i} is not finite"),
        ));
    }
    if !n.is_multiple_of(64) && deleted.last().is_some_and(|w| w >> (n % 64) != 0) {
        return Err(corrupt(&path, "tombstone bits set past the last slot"));
    }
    if levels.iter().any(|&l| l as usize >= MAX_LAYERS) {
        return Err(corrupt(&path, "level out of range"));
    }
    if n > 0 {
        let top = levels.iter().copied().max().unwrap_or(0);
        if entry as usize >= n || max_level != top || levels[entry as usize] != top {
            return Err(corrupt(&path, "bad entry point"));
        }
    }
    for block in level0.chunks_exact(stride0) {
        let c = block[0] as usize;
        if c > 2 * m || block[1..1 + c].iter().any(|&l| l as usize >= n) {
            return Err(corrupt(&path, "bad layer-0 link list"));
        }
    }
    for (slot, &lv) in levels.iter().enumerate() {
        for l in 1..=lv as usize {
            let off = upper_offsets[slot] as usize + (l - 1) * (m + 1);
            let c = upper[off] as usize;
            if c > m
                || upper[off + 1..off + 1 + c]
                    .iter()
                    .any(|&t| t as usize >= n || (levels[t as usize] as usize) < l)
            {
                return Err(corrupt(&path, "bad upper-layer link list"));
            }
        }
    }
    let deleted_count = deleted.iter().map(|w| w.count_ones() as usize).sum();
    Ok(Segment {
        dim,
        m,
        ids,
        vectors,
        deleted,
        deleted_count,
        entry,
        max_level,
        levels,
        level0,
        upper_offsets,
        upper,
    })
}

impl VectorIndex {
    /// Saves the index to `path` atomically: it writes a temporary file beside it, syncs it and
    /// renames it over `path`, so `path` always holds either the old or the new index. Seals the
    /// write buffer first (see [`VectorIndex::seal`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        loop {
            self.seal();
            let inner = self.read();
            if inner.active.is_some() {
                continue; // someone inserted in between: seal again
            }
            return write_file(self, &inner, path);
        }
    }

    /// Loads an index written by [`VectorIndex::save`]. Checks magic, version, both checksums
    /// and the graph structure; rejects a foreign, truncated or damaged file with
    /// [`VectorError::NotAnIndexFile`], [`VectorError::Truncated`], [`VectorError::Corrupt`] or
    /// [`VectorError::UnsupportedVersion`]. The graph is read as stored, not rebuilt.
    pub fn load(path: impl AsRef<Path>) -> Result<VectorIndex> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| VectorError::io(path, e))?;
        let (h, _) = read_header(path, &mut file)?;
        let mut r = BodyReader {
            r: BufReader::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            remaining: h.body_len,
            path: path.to_path_buf(),
        };
        let mut segments = Vec::new();
        for _ in 0..h.segments {
            segments.push(read_segment(&mut r, h.dimension, h.params.m)?);
        }
        if r.remaining != 0 {
            return Err(corrupt(
                path,
                format!("{} unexpected bytes after the last segment", r.remaining),
            ));
        }
        if r.crc.clone().finalize() != h.body_crc {
            return Err(corrupt(path, "body checksum mismatch"));
        }
        let mut inner = Inner {
            segments,
            active: None,
            locations: Default::default(),
        };
        for (p, s) in inner.segments.iter().enumerate() {
            for slot in 0..s.len() as u32 {
                if !s.is_deleted(slot)
                    && inner
                        .locations
                        .insert(
                            s.ids[slot as usize],
                            Loc {
                                part: p as u32,
                                slot,
                            },
                        )
                        .is_some()
                {
                    return Err(corrupt(
                        path,
                        format!("id {} is stored twice", s.ids[slot as usize]),
                    ));
                }
            }
        }
        if inner.locations.len() as u64 != h.count {
            return Err(corrupt(path, "live count differs from the header"));
        }
        Ok(VectorIndex::from_parts(
            h.dimension,
            h.metric,
            h.params,
            inner,
        ))
    }

    /// Reads only the header of a `.hnsw` file (cheap; the body is not verified).
    pub fn read_info(path: impl AsRef<Path>) -> Result<IndexInfo> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| VectorError::io(path, e))?;
        let (h, file_bytes) = read_header(path, &mut file)?;
        Ok(IndexInfo {
            format_version: FORMAT_VERSION,
            dimension: h.dimension,
            metric: h.metric,
            params: h.params,
            count: h.count,
            segments: h.segments,
            file_bytes,
            body_crc32: h.body_crc,
        })
    }
}

fn write_file(idx: &VectorIndex, inner: &Inner, path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        VectorError::InvalidInput(format!("{} is not a file path", path.display()))
    })?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{nanos}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(&[0u8; HEADER_LEN])?;
        let mut w = BodyWriter {
            w: BufWriter::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            len: 0,
        };
        for s in &inner.segments {
            write_segment(&mut w, s)?;
        }
        let (body_len, body_crc) = (w.len, w.crc.clone().finalize());
        let mut file = w.w.into_inner().map_err(|e| e.into_error())?;
        let header = Header {
            dimension: idx.dimension(),
            metric: idx.metric(),
            params: idx.params(),
            count: inner.locations.len() as u64,
            segments: inner.segments.len() as u32,
            body_len,
            body_crc,
        };
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&encode_header(&header))?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        VectorError::io(path, e)
    })
}
