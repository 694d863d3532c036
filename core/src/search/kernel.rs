//! Hamming-distance scan kernels with run-time CPU-feature dispatch.
//!
//! A kernel streams a slice of packed codes, computes each code's distance to the query and hands the ones
//! below the collector's current `limit()` to `offer()`. The limit lives in a register and is re-read only
//! after an offer, so for a top-k query almost every code costs one XOR, one popcount and one compare.
//!
//! Why three kernels: the default x86-64 target has no `popcnt` instruction, so plain `count_ones()` compiles
//! to a dozen bit-twiddling instructions. `Popcnt` recompiles the same loop with the instruction enabled;
//! `Avx2` counts bits of four 64-bit words at once with the nibble-table `vpshufb` method (Muła et al.,
//! "Faster population counts using AVX2 instructions") for 64- and 128-bit codes, which are the common sizes.
//! `Portable` is the reference and the fallback on other CPUs.

/// Receives the codes whose distance is below its limit.
pub(crate) trait Collector {
    /// Codes with `distance >= limit()` are not offered.
    fn limit(&self) -> u32;
    /// `index` is the code's position in the whole book.
    fn offer(&mut self, index: usize, distance: u32);
}

/// A Hamming scan implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    Portable,
    Popcnt,
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("popcnt")
            {
                return Kernel::Avx2;
            }
            if std::arch::is_x86_feature_detected!("popcnt") {
                return Kernel::Popcnt;
            }
        }
        Kernel::Portable
    }

    /// Every kernel this CPU can run, slowest first.
    pub fn available() -> Vec<Kernel> {
        [Kernel::Portable, Kernel::Popcnt, Kernel::Avx2]
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Popcnt => "popcnt",
            Kernel::Avx2 => "avx2",
        }
    }

    /// Scans `codes` (`w` words per code) against `query`; indices are offset by `base`.
    ///
    /// Panics if this CPU does not support the kernel (construct kernels through [`Kernel::detect`] or
    /// [`Kernel::available`]).
    pub(crate) fn scan<C: Collector>(
        self,
        codes: &[u64],
        w: usize,
        query: &[u64],
        base: usize,
        c: &mut C,
    ) {
        debug_assert_eq!(query.len(), w);
        debug_assert_eq!(codes.len() % w, 0);
        match self {
            Kernel::Portable => scan_scalar(codes, w, query, base, c),
            #[cfg(target_arch = "x86_64")]
            Kernel::Popcnt => {
                assert!(
                    self.is_supported(),
                    "the popcnt kernel needs the POPCNT instruction"
                );
                // SAFETY: the CPU supports POPCNT (checked above).
                unsafe { x86::scan_popcnt(codes, w, query, base, c) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                assert!(self.is_supported(), "the avx2 kernel needs AVX2 and POPCNT");
                // SAFETY: the CPU supports AVX2 and POPCNT (checked above).
                unsafe { x86::scan_avx2(codes, w, query, base, c) }
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("x86 kernels are never selected on this architecture"),
        }
    }
}

/// The scalar loop, specialised for the common word counts so that the inner loop is fully unrolled.
#[inline(always)]
fn scan_scalar<C: Collector>(codes: &[u64], w: usize, q: &[u64], base: usize, c: &mut C) {
    match w {
        1 => scan_fixed::<1, C>(codes, q, base, c),
        2 => scan_fixed::<2, C>(codes, q, base, c),
        3 => scan_fixed::<3, C>(codes, q, base, c),
        4 => scan_fixed::<4, C>(codes, q, base, c),
        8 => scan_fixed::<8, C>(codes, q, base, c),
        16 => scan_fixed::<16, C>(codes, q, base, c),
        _ => {
            let mut limit = c.limit();
            for (i, code) in codes.chunks_exact(w).enumerate() {
                let d: u32 = code.iter().zip(q).map(|(a, b)| (a ^ b).count_ones()).sum();
                if d < limit {
                    c.offer(base + i, d);
                    limit = c.limit();
                }
            }
        }
    }
}

#[inline(always)]
fn scan_fixed<const W: usize, C: Collector>(codes: &[u64], q: &[u64], base: usize, c: &mut C) {
    let q: [u64; W] = q.try_into().expect("query length matches the word count");
    let mut limit = c.limit();
    for (i, code) in codes.chunks_exact(W).enumerate() {
        let mut d = 0;
        for j in 0..W {
            d += (code[j] ^ q[j]).count_ones();
        }
        if d < limit {
            c.offer(base + i, d);
            limit = c.limit();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Collector, scan_scalar};
    use std::arch::x86_64::*;

    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn scan_popcnt<C: Collector>(
        codes: &[u64],
        w: usize,
        q: &[u64],
        base: usize,
        c: &mut C,
    ) {
        scan_scalar(codes, w, q, base, c)
    }

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) unsafe fn scan_avx2<C: Collector>(
        codes: &[u64],
        w: usize,
        q: &[u64],
        base: usize,
        c: &mut C,
    ) {
        match w {
            1 => scan_w1(codes, q[0], base, c),
            2 => scan_w2(codes, q, base, c),
            _ => scan_scalar(codes, w, q, base, c),
        }
    }

    /// Per-64-bit-lane popcount: nibble lookup with `vpshufb`, then `vpsadbw` sums the bytes of each lane.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn popcount_lanes(v: __m256i) -> __m256i {
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, //
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let lo = _mm256_and_si256(v, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
        let bytes = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
        _mm256_sad_epu8(bytes, _mm256_setzero_si256())
    }

    /// The sixteen 64-bit lanes of four vectors, in order (the slow path, taken when some code passed).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn spill(v: [__m256i; 4]) -> [u64; 16] {
        let mut d = [0u64; 16];
        for (i, x) in v.into_iter().enumerate() {
            // SAFETY: `d` holds 16 words; store `i` writes words 4i..4i+4.
            unsafe { _mm256_storeu_si256(d.as_mut_ptr().add(4 * i) as *mut __m256i, x) };
        }
        d
    }

    /// Loads four words starting at `codes[i]`; the caller guarantees `i + 4 <= codes.len()`.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn load4(codes: &[u64], i: usize) -> __m256i {
        debug_assert!(i + 4 <= codes.len());
        // SAFETY: in bounds by the caller's guarantee; loadu has no alignment requirement.
        unsafe { _mm256_loadu_si256(codes.as_ptr().add(i) as *const __m256i) }
    }

    /// One word per code (codes of up to 64 bits): 16 codes per step, one branch per step.
    #[target_feature(enable = "avx2,popcnt")]
    fn scan_w1<C: Collector>(codes: &[u64], q: u64, base: usize, c: &mut C) {
        let qv = _mm256_set1_epi64x(q as i64);
        let mut limit = c.limit();
        let mut lim = _mm256_set1_epi64x(limit as i64);
        let n = codes.len();
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n.
            let (d0, d1, d2, d3) = unsafe {
                (
                    popcount_lanes(_mm256_xor_si256(load4(codes, i), qv)),
                    popcount_lanes(_mm256_xor_si256(load4(codes, i + 4), qv)),
                    popcount_lanes(_mm256_xor_si256(load4(codes, i + 8), qv)),
                    popcount_lanes(_mm256_xor_si256(load4(codes, i + 12), qv)),
                )
            };
            let hit = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpgt_epi64(lim, d0), _mm256_cmpgt_epi64(lim, d1)),
                _mm256_or_si256(_mm256_cmpgt_epi64(lim, d2), _mm256_cmpgt_epi64(lim, d3)),
            );
            if _mm256_testz_si256(hit, hit) == 0 {
                let d = spill([d0, d1, d2, d3]);
                for (j, &dj) in d.iter().enumerate() {
                    if (dj as u32) < limit {
                        c.offer(base + i + j, dj as u32);
                        limit = c.limit();
                    }
                }
                lim = _mm256_set1_epi64x(limit as i64);
            }
            i += 16;
        }
        scan_scalar(&codes[i..], 1, &[q], base + i, c);
    }

    /// Two words per code (65–128 bits): 8 codes per step; adjacent lanes are summed into one distance.
    #[target_feature(enable = "avx2,popcnt")]
    fn scan_w2<C: Collector>(codes: &[u64], q: &[u64], base: usize, c: &mut C) {
        let qv = _mm256_set_epi64x(q[1] as i64, q[0] as i64, q[1] as i64, q[0] as i64);
        let mut limit = c.limit();
        let mut lim = _mm256_set1_epi64x(limit as i64);
        let n = codes.len();
        let mut i = 0; // word index; code index is i / 2
        let dist = |v: __m256i| {
            let p = popcount_lanes(_mm256_xor_si256(v, qv));
            // Swap the two words of each 128-bit half and add: both lanes of a half hold the code's distance.
            _mm256_add_epi64(p, _mm256_shuffle_epi32::<0x4E>(p))
        };
        while i + 16 <= n {
            // SAFETY: i + 16 <= n.
            let (d0, d1, d2, d3) = unsafe {
                (
                    dist(load4(codes, i)),
                    dist(load4(codes, i + 4)),
                    dist(load4(codes, i + 8)),
                    dist(load4(codes, i + 12)),
                )
            };
            let hit = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpgt_epi64(lim, d0), _mm256_cmpgt_epi64(lim, d1)),
                _mm256_or_si256(_mm256_cmpgt_epi64(lim, d2), _mm256_cmpgt_epi64(lim, d3)),
            );
            if _mm256_testz_si256(hit, hit) == 0 {
                let d = spill([d0, d1, d2, d3]);
                for j in 0..8 {
                    let dj = d[2 * j] as u32;
                    if dj < limit {
                        c.offer(base + i / 2 + j, dj);
                        limit = c.limit();
                    }
                }
                lim = _mm256_set1_epi64x(limit as i64);
            }
            i += 16;
        }
        scan_scalar(&codes[i..], 2, q, base + i / 2, c);
    }
}
