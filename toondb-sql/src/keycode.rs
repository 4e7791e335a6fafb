//! The one key encoder (order-preserving, "memcomparable") and the row value codec.
//! Byte layouts are documented in `docs/sql-layout.md`.

use crate::error::{Error, Result};
use crate::value::Value;

pub(crate) const TAG_NULL: u8 = 0x05;
pub(crate) const TAG_NUM: u8 = 0x10;
pub(crate) const TAG_TEXT: u8 = 0x20;
pub(crate) const TAG_BLOB: u8 = 0x30;

fn sortable_f64(r: f64) -> u64 {
    let bits = r.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    }
}

fn sortable_i64(i: i64) -> u64 {
    (i as u64) ^ (1 << 63)
}

fn escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Appends the order-preserving encoding of `v`. Byte order of encodings equals SQLite's
/// comparison order (NULL < numbers < text < blob); equal numbers (1 and 1.0) encode equally.
pub(crate) fn encode_key_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Integer(i) => {
            out.push(TAG_NUM);
            let approx = *i as f64;
            out.extend_from_slice(&sortable_f64(approx).to_be_bytes());
            // Exact remainder against the float approximation (non-zero only beyond 2^53).
            let rem = (*i as i128) - (approx as i128);
            let rem = i64::try_from(rem).unwrap_or(0);
            out.extend_from_slice(&sortable_i64(rem).to_be_bytes());
        }
        Value::Real(r) => {
            out.push(TAG_NUM);
            let r = if *r == 0.0 { 0.0 } else { *r };
            out.extend_from_slice(&sortable_f64(r).to_be_bytes());
            out.extend_from_slice(&sortable_i64(0).to_be_bytes());
        }
        Value::Text(s) => {
            out.push(TAG_TEXT);
            escaped(s.as_bytes(), out);
        }
        Value::Blob(b) => {
            out.push(TAG_BLOB);
            escaped(b, out);
        }
    }
}

/// Encodes a tuple of values as one key.
pub(crate) fn encode_key(values: &[Value], out: &mut Vec<u8>) {
    for v in values {
        encode_key_value(v, out);
    }
}

/// Smallest byte string greater than every string with `prefix` as a prefix, or None when
/// the prefix is all 0xFF.
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last != 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Row codec: varint count, then per value a tag byte and a payload.

fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A bounds-checked reader over encoded bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn corrupt(what: &str) -> Error {
        Error::Corrupt {
            message: format!("truncated or invalid {what}"),
        }
    }
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| Self::corrupt("byte"))?;
        self.pos += 1;
        Ok(b)
    }
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 {
                return Err(Self::corrupt("varint"));
            }
            n |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
            shift += 7;
        }
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| Self::corrupt("length"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| Self::corrupt("bytes"))?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn len_bytes(&mut self) -> Result<&'a [u8]> {
        let n = usize::try_from(self.varint()?).map_err(|_| Self::corrupt("length"))?;
        self.bytes(n)
    }
    pub(crate) fn string(&mut self) -> Result<String> {
        let b = self.len_bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| Self::corrupt("utf-8 text"))
    }
    /// Moves past one value written by [`Writer::value`] without decoding it.
    pub(crate) fn skip_value(&mut self) -> Result<()> {
        match self.u8()? {
            0 => {}
            1 => {
                self.varint()?;
            }
            2 => {
                self.bytes(8)?;
            }
            3 | 4 => {
                self.len_bytes()?;
            }
            _ => return Err(Self::corrupt("value tag")),
        }
        Ok(())
    }
    pub(crate) fn value(&mut self) -> Result<Value> {
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => {
                let z = self.varint()?;
                Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => {
                let b = self.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Real(f64::from_le_bytes(a))
            }
            3 => Value::Text(self.string()?),
            4 => Value::Blob(self.len_bytes()?.to_vec()),
            _ => return Err(Self::corrupt("value tag")),
        })
    }
}

/// Small writer helpers shared by the row and catalog codecs.
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer { buf: Vec::new() }
    }
    pub(crate) fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }
    pub(crate) fn varint(&mut self, n: u64) {
        put_varint(n, &mut self.buf);
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        put_varint(b.len() as u64, &mut self.buf);
        self.buf.extend_from_slice(b);
    }
    pub(crate) fn string(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub(crate) fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(0),
            Value::Integer(i) => {
                self.u8(1);
                self.varint(((*i << 1) ^ (*i >> 63)) as u64);
            }
            Value::Real(r) => {
                self.u8(2);
                self.buf.extend_from_slice(&r.to_le_bytes());
            }
            Value::Text(s) => {
                self.u8(3);
                self.string(s);
            }
            Value::Blob(b) => {
                self.u8(4);
                self.bytes(b);
            }
        }
    }
}

/// Encodes a row (all column values in declared order).
pub(crate) fn encode_row(values: &[Value]) -> Vec<u8> {
    // Room for a typical row (short values), so that encoding it does not reallocate.
    let mut w = Writer {
        buf: Vec::with_capacity(8 + 16 * values.len()),
    };
    w.varint(values.len() as u64);
    for v in values {
        w.value(v);
    }
    w.buf
}

/// Decodes a row written by [`encode_row`].
pub(crate) fn decode_row(bytes: &[u8]) -> Result<Vec<Value>> {
    decode_row_cols(bytes, None)
}

/// Decodes the columns of a row that `needed` marks (all of them when `None`); the others
/// come out as NULL, skipped over rather than decoded, and nothing after the last needed
/// column is read at all.
pub(crate) fn decode_row_cols(bytes: &[u8], needed: Option<&[bool]>) -> Result<Vec<Value>> {
    let mut r = Reader::new(bytes);
    let n = r.varint()?;
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
    let mut out = Vec::with_capacity(n);
    let Some(needed) = needed else {
        for _ in 0..n {
            out.push(r.value()?);
        }
        return Ok(out);
    };
    let last = needed.iter().rposition(|&b| b).map_or(0, |i| i + 1).min(n);
    for &want in &needed[..last] {
        if want {
            out.push(r.value()?);
        } else {
            r.skip_value()?;
            out.push(Value::Null);
        }
    }
    out.resize(n, Value::Null);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::compare;
    use rand::{Rng, SeedableRng};

    fn key(v: &Value) -> Vec<u8> {
        let mut k = Vec::new();
        encode_key_value(v, &mut k);
        k
    }

    fn random_value(rng: &mut rand::rngs::StdRng) -> Value {
        match rng.random_range(0..9) {
            0 => Value::Null,
            1 => Value::Integer(rng.random()),
            2 => Value::Integer(rng.random_range(-1000..1000)),
            3 => Value::Real(rng.random_range(-1000.0..1000.0)),
            4 => Value::Real(rng.random_range(-1000..1000) as f64),
            5 => Value::Integer(
                (1i64 << 53) + rng.random_range(-5..5) * if rng.random() { 1 } else { -1 },
            ),
            6 => Value::Real((1i64 << 53) as f64 + rng.random_range(-4..4) as f64 * 2.0),
            7 => {
                let n = rng.random_range(0..4);
                Value::Text(
                    (0..n)
                        .map(|_| ['a', 'b', '\0', 'é'][rng.random_range(0..4)])
                        .collect(),
                )
            }
            _ => {
                let n = rng.random_range(0..4);
                Value::Blob(
                    (0..n)
                        .map(|_| [0u8, 1, 255][rng.random_range(0..3)])
                        .collect(),
                )
            }
        }
    }

    #[test]
    fn key_order_matches_value_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20000 {
            let a = random_value(&mut rng);
            let b = random_value(&mut rng);
            assert_eq!(key(&a).cmp(&key(&b)), compare(&a, &b), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn tuple_keys_are_prefix_free() {
        let a = [Value::Text("a".into()), Value::Integer(1)];
        let b = [Value::Text("a\0".into()), Value::Integer(0)];
        let (mut ka, mut kb) = (Vec::new(), Vec::new());
        encode_key(&a, &mut ka);
        encode_key(&b, &mut kb);
        assert!(ka < kb);
    }

    #[test]
    fn row_roundtrip_and_corruption() {
        let row = vec![
            Value::Null,
            Value::Integer(-5),
            Value::Integer(i64::MIN),
            Value::Real(2.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 1, 2]),
        ];
        let enc = encode_row(&row);
        assert_eq!(decode_row(&enc).unwrap(), row);
        for cut in 0..enc.len() {
            assert!(decode_row(&enc[..cut]).is_err() || cut == 0 && enc.is_empty());
        }
        assert!(decode_row(&[1, 9]).is_err());
    }

    #[test]
    fn rows_decode_only_the_needed_columns() {
        let row = vec![
            Value::Null,
            Value::Integer(-5),
            Value::Real(2.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 1, 2]),
            Value::Integer(i64::MAX),
        ];
        let enc = encode_row(&row);
        for mask in 0u32..64 {
            let needed: Vec<bool> = (0..6).map(|i| mask >> i & 1 == 1).collect();
            let want: Vec<Value> = row
                .iter()
                .zip(&needed)
                .map(|(v, &n)| if n { v.clone() } else { Value::Null })
                .collect();
            assert_eq!(decode_row_cols(&enc, Some(&needed)).unwrap(), want);
            // Corruption in the part read is still an error; after the last needed
            // column nothing is read.
            let read = match needed.iter().rposition(|&b| b) {
                Some(i) => encode_row(&row[..=i]).len(),
                None => 1,
            };
            for cut in 1..enc.len() {
                let r = decode_row_cols(&enc[..cut], Some(&needed));
                assert_eq!(r.is_err(), cut < read, "mask {mask:06b}, cut {cut}");
            }
        }
        // A mask longer than the row (columns added after it was written) reads the row.
        assert_eq!(decode_row_cols(&enc, Some(&[true; 9])).unwrap(), row);
        assert!(decode_row_cols(&[2, 9, 0], Some(&[true, false])).is_err());
    }

    #[test]
    fn successor() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_successor(&[255]), None);
    }
}
