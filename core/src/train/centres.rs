//! CSQ's hash centres (Yuan et al., CVPR 2020; ../shared/spec/methods.md §5.1): one target code per
//! class, far apart in Hamming space, so that pulling each photo toward its class's centre separates
//! classes by construction.
//!
//! With K a power of two, the rows of the Sylvester–Hadamard matrix `H_K` are mutually at distance
//! exactly K/2; `[H_K; −H_K]` gives 2K centres at distance K/2 or K. More classes than that get random
//! balanced ("Bernoulli") centres with exactly K/2 bits −1, drawn one at a time and each redrawn (up to
//! 200 times) until it lies more than K/4 bits from every earlier centre; if no draw manages (many
//! classes in few bits, such as the 1,000 ImageNet classes of an unlabelled folder at 16 bits), the
//! farthest draw is kept. DeepHash-pytorch redraws the whole random set up to
//! 20 times instead, which at 32 bits and 70 classes still leaves a pair at K/4 about one time in seven.
//! A multi-label photo's centre is the sign of the mean of its classes' centres, ties broken by one
//! fixed random vector.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::HashCode;
use crate::code::hamming_words;

/// `classes × bits` centres of ±1 (row-major), drawn with `seed` where randomness is needed.
pub fn hash_centres(classes: usize, bits: usize, seed: u64) -> Vec<f32> {
    let mut rows: Vec<Vec<f32>> = Vec::with_capacity(classes);
    if bits.is_power_of_two() {
        let h = hadamard(bits);
        rows.extend(h.iter().take(classes).cloned());
        rows.extend(
            h.iter()
                .take(classes.saturating_sub(bits))
                .map(|r| r.iter().map(|v| -v).collect()),
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Packed copies for the distance checks (thousands of candidates against thousands of rows).
    let code = |r: &[f32]| HashCode::from_signs(r).expect("a valid bit count");
    let mut packed: Vec<HashCode> = rows.iter().map(|r| code(r)).collect();
    while rows.len() < classes {
        let mut best: Option<(usize, Vec<f32>)> = None;
        for _ in 0..200 {
            let candidate = balanced(bits, &mut rng);
            let c = code(&candidate);
            let nearest = packed
                .iter()
                .map(|r| hamming_words(r.words(), c.words()) as usize)
                .min()
                .unwrap_or(bits);
            let far_enough = nearest > bits / 4;
            if best.as_ref().is_none_or(|(d, _)| nearest > *d) {
                best = Some((nearest, candidate));
            }
            if far_enough {
                break;
            }
        }
        let (_, centre) = best.expect("at least one draw");
        packed.push(code(&centre));
        rows.push(centre);
    }
    rows.concat()
}

/// The Sylvester construction: `H_1 = [1]`, `H_2n = [[H, H], [H, −H]]` (row 0 all +1).
pub fn hadamard(n: usize) -> Vec<Vec<f32>> {
    assert!(
        n.is_power_of_two(),
        "Sylvester's Hadamard matrices have 2^m rows"
    );
    let mut h = vec![vec![1.0f32]];
    while h.len() < n {
        let m = h.len();
        let mut next = vec![vec![0.0; 2 * m]; 2 * m];
        for i in 0..m {
            for j in 0..m {
                let v = h[i][j];
                next[i][j] = v;
                next[i][j + m] = v;
                next[i + m][j] = v;
                next[i + m][j + m] = -v;
            }
        }
        h = next;
    }
    h
}

fn balanced(bits: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut row: Vec<f32> = (0..bits)
        .map(|i| if i < bits / 2 { -1.0 } else { 1.0 })
        .collect();
    row.shuffle(rng);
    row
}

fn distance(a: &[f32], b: &[f32]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// The smallest Hamming distance between two of `rows` (±1 values).
pub fn min_distance(rows: &[Vec<f32>]) -> usize {
    let mut min = usize::MAX;
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            min = min.min(distance(&rows[i], &rows[j]));
        }
    }
    min
}

/// Each photo's centre (`len × bits`): its class's, or for several classes the sign of their mean
/// with ties broken by a fixed random vector drawn from `seed`. `targets` are `len × classes` weights.
pub fn photo_centres(
    centres: &[f32],
    bits: usize,
    targets: &[f32],
    classes: usize,
    seed: u64,
) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7135);
    let tie: Vec<f32> = (0..bits)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect();
    let mut out = Vec::with_capacity(targets.len() / classes.max(1) * bits);
    for row in targets.chunks(classes) {
        let mut sum = vec![0.0f32; bits];
        for (c, &w) in row.iter().enumerate() {
            if w > 0.0 {
                for (s, v) in sum.iter_mut().zip(&centres[c * bits..(c + 1) * bits]) {
                    *s += v;
                }
            }
        }
        out.extend(sum.iter().zip(&tie).map(|(&s, &t)| {
            if s > 0.0 {
                1.0
            } else if s < 0.0 {
                -1.0
            } else {
                t
            }
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(flat: &[f32], bits: usize) -> Vec<Vec<f32>> {
        flat.chunks(bits).map(<[f32]>::to_vec).collect()
    }

    #[test]
    fn hadamard_by_hand() {
        assert_eq!(
            hadamard(4),
            vec![
                vec![1.0, 1.0, 1.0, 1.0],
                vec![1.0, -1.0, 1.0, -1.0],
                vec![1.0, 1.0, -1.0, -1.0],
                vec![1.0, -1.0, -1.0, 1.0],
            ]
        );
    }

    /// The promised distances: exactly K/2 between any two of up to K centres, K/2 or K (a centre and
    /// its negation) up to 2K, and more than K/4 for random balanced centres beyond that.
    #[test]
    fn centres_keep_their_minimum_distance() {
        for bits in [16, 32, 64] {
            let c = rows(&hash_centres(10, bits, 0), bits);
            for i in 0..10 {
                for j in i + 1..10 {
                    let d = c[i].iter().zip(&c[j]).filter(|(a, b)| a != b).count();
                    assert_eq!(d, bits / 2, "{bits} bits, centres {i} and {j}");
                }
            }
        }
        let c = rows(&hash_centres(20, 16, 0), 16);
        assert_eq!(min_distance(&c), 8);
        assert_eq!(c[16], c[0].iter().map(|v| -v).collect::<Vec<_>>());
        let many = rows(&hash_centres(100, 32, 3), 32);
        assert_eq!(many.len(), 100);
        assert!(min_distance(&many) > 32 / 4, "{}", min_distance(&many));
        assert!(
            many[64..]
                .iter()
                .all(|r| r.iter().filter(|&&v| v < 0.0).count() == 16)
        );
        // 48 bits is no power of two: all centres are balanced random ones.
        let odd = rows(&hash_centres(10, 48, 1), 48);
        assert!(
            odd.iter()
                .all(|r| r.iter().filter(|&&v| v < 0.0).count() == 24)
        );
    }

    #[test]
    fn a_multi_label_photo_takes_the_sign_of_its_centres_mean() {
        let centres = [
            1.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0,
        ];
        // Classes 0 and 2: sums [2, 2, 0, 0] → the first two bits +1, the tied ones from the tie vector.
        let both = photo_centres(&centres, 4, &[1.0, 0.0, 1.0], 3, 0);
        let tie = photo_centres(&[0.0; 12], 4, &[1.0, 0.0, 0.0], 3, 0);
        assert_eq!(&both[..2], &[1.0, 1.0]);
        assert_eq!(&both[2..], &tie[2..]);
        // One class: its own centre.
        assert_eq!(
            photo_centres(&centres, 4, &[0.0, 1.0, 0.0], 3, 0),
            vec![1.0, -1.0, 1.0, -1.0]
        );
    }
}
