//! The AVX2 + FMA register tile shared by every dense layer of [`super::CpuNet`] (the 1×1 convolutions
//! and the stem, whose taps are laid out as one row per output pixel).
//!
//! A tile is `P` pixels × `8·V` output channels accumulated in `P·V` registers: every step of the sum
//! loads `V` weight vectors and broadcasts `P` inputs, so each loaded weight feeds `P` fused
//! multiply-adds. With `P = 6, V = 2` that is 12 accumulators, 2 weights and 1 broadcast: 15 of the 16
//! AVX2 registers, the shape BLIS-like libraries use on this ISA. Written with intrinsics because the
//! compiler's vectorisation of the same loop over `[f32; 16]` arrays spilled the accumulators at 6
//! pixels (the early blocks took twice as long).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Where a tile reads and writes: `x` holds `P` rows of `depth` inputs (`x_stride` apart), `w` the
/// weights' rows (`w_stride` apart, each starting at this tile's first channel), `out` `P` rows
/// (`out_stride` apart, starting at this tile's first channel).
pub(super) struct Tile {
    pub x: *const f32,
    pub x_stride: usize,
    pub depth: usize,
    pub w: *const f32,
    pub w_stride: usize,
    pub bias: *const f32,
    pub out: *mut f32,
    pub out_stride: usize,
    /// `out` already holds values to add (the residual).
    pub accumulate: bool,
    pub relu6: bool,
}

/// `out = [out +] bias + x · w`, clamped to [0, 6] when `relu6`.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `x` is readable for `P` rows of `depth` values, `w` for `depth` rows
/// of `8·V` values, `bias` for `8·V` values and `out` writable for `P` rows of `8·V` values, at the
/// strides given; `out` overlaps neither `x` nor `w`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn tile<const P: usize, const V: usize>(t: &Tile) {
    unsafe {
        let mut acc = biased::<P, V>(t.bias);
        let mut w = t.w;
        for k in 0..t.depth {
            let mut wv = [_mm256_setzero_ps(); V];
            for (v, wv) in wv.iter_mut().enumerate() {
                *wv = _mm256_loadu_ps(w.add(8 * v));
            }
            for (p, row) in acc.iter_mut().enumerate() {
                let xv = _mm256_broadcast_ss(&*t.x.add(p * t.x_stride + k));
                for (a, wv) in row.iter_mut().zip(&wv) {
                    *a = _mm256_fmadd_ps(xv, *wv, *a);
                }
            }
            w = w.add(t.w_stride);
        }
        let zero = _mm256_setzero_ps();
        let six = _mm256_set1_ps(6.0);
        for (p, row) in acc.iter().enumerate() {
            let o = t.out.add(p * t.out_stride);
            for (v, a) in row.iter().enumerate() {
                let mut a = *a;
                if t.accumulate {
                    a = _mm256_add_ps(a, _mm256_loadu_ps(o.add(8 * v)));
                }
                if t.relu6 {
                    a = _mm256_min_ps(_mm256_max_ps(a, zero), six);
                }
                _mm256_storeu_ps(o.add(8 * v), a);
            }
        }
    }
}

/// `P` rows of accumulators, each starting from the `8·V` biases at `bias`.
///
/// # Safety
/// AVX2; `bias` readable for `8·V` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn biased<const P: usize, const V: usize>(bias: *const f32) -> [[__m256; V]; P] {
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; P];
        for v in 0..V {
            let b = _mm256_loadu_ps(bias.add(8 * v));
            for row in acc.iter_mut() {
                row[v] = b;
            }
        }
        acc
    }
}

/// Where a depthwise tile reads and writes: `P` neighbouring outputs of one row, `8·V` channels, all of
/// whose `K` taps across fall inside the input (the left and right edges go through the general
/// kernel).
pub(super) struct DepthwiseTile {
    /// Input rows `ky_lo..ky_hi` of the kernel, each at pixel 0 and this tile's first channel.
    pub rows: [*const f32; 7],
    pub ky_lo: usize,
    pub ky_hi: usize,
    /// The input pixel under the first output's first tap.
    pub x0: usize,
    /// Channels per pixel, in the input, the weights' taps and the output alike.
    pub c: usize,
    /// Tap `t`'s weights at `w + t·c`.
    pub w: *const f32,
    pub bias: *const f32,
    pub out: *mut f32,
}

/// `P` depthwise outputs of a `K × K` kernel at stride `S`: bias, the taps, ReLU6. With `K` and `S`
/// known at compile time the loops unroll, and for `S = 1` the compiler loads each input vector once
/// for the `K` outputs that read it.
///
/// # Safety
/// AVX2 and FMA; every pointer readable (or, `out`, writable) for the pixels and channels described.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn depthwise<const K: usize, const S: usize, const P: usize, const V: usize>(
    t: &DepthwiseTile,
) {
    unsafe {
        let mut acc = biased::<P, V>(t.bias);
        for ky in t.ky_lo..t.ky_hi {
            let r = t.rows[ky];
            for kx in 0..K {
                let w = t.w.add((ky * K + kx) * t.c);
                let mut wv = [_mm256_setzero_ps(); V];
                for (v, wv) in wv.iter_mut().enumerate() {
                    *wv = _mm256_loadu_ps(w.add(8 * v));
                }
                for (p, row) in acc.iter_mut().enumerate() {
                    let x = r.add((t.x0 + p * S + kx) * t.c);
                    for (v, a) in row.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(8 * v)), wv[v], *a);
                    }
                }
            }
        }
        let zero = _mm256_setzero_ps();
        let six = _mm256_set1_ps(6.0);
        for (p, row) in acc.iter().enumerate() {
            let o = t.out.add(p * t.c);
            for (v, a) in row.iter().enumerate() {
                _mm256_storeu_ps(o.add(8 * v), _mm256_min_ps(_mm256_max_ps(*a, zero), six));
            }
        }
    }
}
