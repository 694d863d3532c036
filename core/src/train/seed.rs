//! Seeded generators: every random choice of a run (order, augmentations, initial values) comes from
//! the run's seed and the purpose's words, so that a resumed run continues exactly.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A generator for one purpose of one run: `seed` mixed with the purpose's words (SplitMix64).
pub(crate) fn rng(seed: u64, words: &[u64]) -> ChaCha8Rng {
    let mut s = seed;
    for &w in words {
        s = (s ^ w).wrapping_add(0x9E37_79B9_7F4A_7C15);
        s = (s ^ (s >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        s = (s ^ (s >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        s ^= s >> 31;
    }
    ChaCha8Rng::seed_from_u64(s)
}
