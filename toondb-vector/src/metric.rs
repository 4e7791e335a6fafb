//! Distance metrics and the SIMD distance kernels.

use crate::error::{Result, VectorError};

/// How the distance between two vectors is measured. Smaller is always closer.
///
/// | metric | reported distance | stored vector |
/// |---|---|---|
/// | `Cosine` | `1 − cos(a, b)`, in `[0, 2]` | normalized to unit length on insert |
/// | `Euclidean` | `‖a − b‖₂` | as given |
/// | `DotProduct` | `1 − a·b` (may be negative) | as given |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DistanceMetric {
    /// Cosine distance, `1 − cos(a, b)`. Vectors are normalized once on insert, so the
    /// search compares them with a plain dot product.
    #[default]
    Cosine,
    /// Euclidean (L2) distance.
    Euclidean,
    /// Inner-product distance, `1 − a·b`, for embeddings trained for maximum inner product.
    DotProduct,
}

impl DistanceMetric {
    /// The metric's code in the `.hnsw` file.
    pub(crate) fn code(self) -> u8 {
        match self {
            DistanceMetric::Cosine => 0,
            DistanceMetric::Euclidean => 1,
            DistanceMetric::DotProduct => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(DistanceMetric::Cosine),
            1 => Some(DistanceMetric::Euclidean),
            2 => Some(DistanceMetric::DotProduct),
            _ => None,
        }
    }

    /// The metric's lower-case name: `cosine`, `euclidean` or `dot`.
    pub fn name(self) -> &'static str {
        match self {
            DistanceMetric::Cosine => "cosine",
            DistanceMetric::Euclidean => "euclidean",
            DistanceMetric::DotProduct => "dot",
        }
    }

    /// Internal distance used for ordering: `1 − a·b` (cosine, clamped at 0; dot product) or the
    /// squared L2 distance. Monotone in the reported distance.
    #[inline]
    pub(crate) fn raw(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            DistanceMetric::Cosine => (1.0 - dot(a, b)).max(0.0),
            DistanceMetric::DotProduct => 1.0 - dot(a, b),
            DistanceMetric::Euclidean => l2_squared(a, b),
        }
    }

    /// Converts an internal distance into the reported one.
    #[inline]
    pub(crate) fn report(self, raw: f32) -> f32 {
        match self {
            DistanceMetric::Euclidean => raw.sqrt(),
            _ => raw,
        }
    }
}

impl std::fmt::Display for DistanceMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DistanceMetric {
    type Err = VectorError;

    /// Parses `cosine`, `euclidean` (or `l2`) and `dot` (or `dotproduct`, `ip`), any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Ok(DistanceMetric::Cosine),
            "euclidean" | "l2" => Ok(DistanceMetric::Euclidean),
            "dot" | "dotproduct" | "dot_product" | "ip" => Ok(DistanceMetric::DotProduct),
            other => Err(VectorError::InvalidInput(format!(
                "unknown metric {other:?} (expected cosine, euclidean or dot)"
            ))),
        }
    }
}

/// Largest squared norm accepted: keeps every dot product and squared distance finite in `f32`.
pub(crate) const MAX_SQUARED_NORM: f64 = 1e36;

/// Checks a vector for the index and returns the form to store (normalized for cosine).
pub(crate) fn prepare(metric: DistanceMetric, dimension: usize, v: &[f32]) -> Result<Vec<f32>> {
    let mut out = v.to_vec();
    prepare_in_place(metric, dimension, &mut out)?;
    Ok(out)
}

/// [`prepare`] without the copy.
pub(crate) fn prepare_in_place(
    metric: DistanceMetric,
    dimension: usize,
    v: &mut [f32],
) -> Result<()> {
    if v.len() != dimension {
        return Err(VectorError::DimensionMismatch {
            expected: dimension,
            actual: v.len(),
        });
    }
    let mut sq = 0f64;
    for (index, &value) in v.iter().enumerate() {
        if !value.is_finite() {
            return Err(VectorError::NonFiniteComponent { index, value });
        }
        sq += f64::from(value) * f64::from(value);
    }
    if sq > MAX_SQUARED_NORM {
        return Err(VectorError::VectorTooLarge { squared_norm: sq });
    }
    if metric == DistanceMetric::Cosine {
        if sq == 0.0 || !sq.is_normal() {
            return Err(VectorError::ZeroVector);
        }
        let inv = (1.0 / sq.sqrt()) as f32;
        for x in v.iter_mut() {
            *x *= inv;
        }
    }
    Ok(())
}

/// Dot product, AVX2+FMA when the CPU has it.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { x86::dot_avx2(a, b) };
        }
    }
    dot_scalar(a, b)
}

/// Squared Euclidean distance, AVX2+FMA when the CPU has it.
#[inline]
pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { x86::l2_avx2(a, b) };
        }
    }
    l2_scalar(a, b)
}

/// Portable dot product with eight independent accumulators (auto-vectorized).
pub(crate) fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Portable squared L2 distance with eight independent accumulators.
pub(crate) fn l2_scalar(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        s += d * d;
    }
    s
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0x55>(s, s));
        _mm_cvtss_f32(s)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets below `n`, within both slices.
        unsafe {
            while i + 32 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                acc1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                    acc1,
                );
                acc2 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 16)),
                    _mm256_loadu_ps(pb.add(i + 16)),
                    acc2,
                );
                acc3 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 24)),
                    _mm256_loadu_ps(pb.add(i + 24)),
                    acc3,
                );
                i += 32;
            }
            while i + 8 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                i += 8;
            }
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc0, acc1),
            _mm256_add_ps(acc2, acc3),
        ));
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn l2_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut acc2 = _mm256_setzero_ps();
        let mut acc3 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offsets below `n`, within both slices.
        unsafe {
            while i + 32 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                let d1 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                );
                let d2 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 16)),
                    _mm256_loadu_ps(pb.add(i + 16)),
                );
                let d3 = _mm256_sub_ps(
                    _mm256_loadu_ps(pa.add(i + 24)),
                    _mm256_loadu_ps(pb.add(i + 24)),
                );
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                acc1 = _mm256_fmadd_ps(d1, d1, acc1);
                acc2 = _mm256_fmadd_ps(d2, d2, acc2);
                acc3 = _mm256_fmadd_ps(d3, d3, acc3);
                i += 32;
            }
            while i + 8 <= n {
                let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
                acc0 = _mm256_fmadd_ps(d0, d0, acc0);
                i += 8;
            }
        }
        let mut s = hsum(_mm256_add_ps(
            _mm256_add_ps(acc0, acc1),
            _mm256_add_ps(acc2, acc3),
        ));
        while i < n {
            let d = a[i] - b[i];
            s += d * d;
            i += 1;
        }
        s
    }
}

/// The distance hnsw_rs uses while it builds a graph: the internal distance made non-negative
/// (hnsw_rs asserts distances are `>= 0`) by a monotone map for the dot product.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BuildDistance(pub(crate) DistanceMetric);

impl anndists::dist::Distance<f32> for BuildDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        match self.0 {
            DistanceMetric::Cosine => (1.0 - dot(va, vb)).max(0.0),
            DistanceMetric::Euclidean => l2_squared(va, vb),
            DistanceMetric::DotProduct => {
                // 1 − d for d ≤ 0, 1 / (1 + d) for d > 0: positive, continuous, decreasing in d.
                let d = dot(va, vb);
                if d <= 0.0 { 1.0 - d } else { 1.0 / (1.0 + d) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum()
    }

    #[test]
    fn kernels_match_naive_for_every_length() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        for n in 0..80 {
            let a: Vec<f32> = (0..n).map(|_| next()).collect();
            let b: Vec<f32> = (0..n).map(|_| next()).collect();
            let want = naive_dot(&a, &b);
            assert!((f64::from(dot(&a, &b)) - want).abs() < 1e-4, "dot n={n}");
            assert!(
                (f64::from(dot_scalar(&a, &b)) - want).abs() < 1e-4,
                "dot_scalar n={n}"
            );
            let l2: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(x - y).powi(2))
                .sum();
            assert!(
                (f64::from(l2_squared(&a, &b)) - l2).abs() < 1e-4,
                "l2 n={n}"
            );
            assert!(
                (f64::from(l2_scalar(&a, &b)) - l2).abs() < 1e-4,
                "l2_scalar n={n}"
            );
        }
    }

    #[test]
    fn prepare_rejects_bad_vectors() {
        use DistanceMetric::*;
        assert!(matches!(
            prepare(Cosine, 3, &[1.0, 2.0]),
            Err(VectorError::DimensionMismatch {
                expected: 3,
                actual: 2
            })
        ));
        assert!(matches!(
            prepare(Euclidean, 2, &[1.0, f32::NAN]),
            Err(VectorError::NonFiniteComponent { index: 1, .. })
        ));
        assert!(matches!(
            prepare(Euclidean, 2, &[f32::INFINITY, 0.0]),
            Err(VectorError::NonFiniteComponent { index: 0, .. })
        ));
        assert!(matches!(
            prepare(Cosine, 2, &[0.0, 0.0]),
            Err(VectorError::ZeroVector)
        ));
        assert!(matches!(
            prepare(Euclidean, 2, &[3e38, 3e38]),
            Err(VectorError::VectorTooLarge { .. })
        ));
        assert!(prepare(Euclidean, 2, &[0.0, 0.0]).is_ok());
        let v = prepare(Cosine, 2, &[3.0, 4.0]).unwrap();
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn build_distance_is_non_negative_and_monotone_for_dot() {
        use anndists::dist::Distance;
        let d = BuildDistance(DistanceMetric::DotProduct);
        let q = [1.0f32, 0.0];
        let mut last = f32::INFINITY;
        for s in [-5.0f32, -1.0, 0.0, 0.5, 1.0, 3.0, 100.0] {
            let v = d.eval(&q, &[s, 0.0]);
            assert!(v >= 0.0 && v < last, "s={s} v={v}");
            last = v;
        }
    }

    #[test]
    fn metric_names_round_trip() {
        for m in [
            DistanceMetric::Cosine,
            DistanceMetric::Euclidean,
            DistanceMetric::DotProduct,
        ] {
            assert_eq!(m.name().parse::<DistanceMetric>().unwrap(), m);
            assert_eq!(DistanceMetric::from_code(m.code()), Some(m));
        }
        assert!("manhattan".parse::<DistanceMetric>().is_err());
        assert_eq!(DistanceMetric::from_code(9), None);
    }
}
