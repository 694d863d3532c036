//! Hash centres with a guaranteed minimum Hamming distance (MDSHC, Wang et al., CVPR 2023; the first
//! step of SHC's stage 2; ../shared/spec/methods.md §5.3).
//!
//! How far apart can C centres of K bits be? [`gilbert_varshamov_distance`] is the target both papers
//! use: the smallest d with `V(K, d − 1) ≥ 2^K / C` (V the volume of a Hamming ball), a distance that
//! C codes can always reach. [`sphere_packing_distance`] is the upper bound they print beside it.
//!
//! [`minimum_distance_centres`] starts from CSQ's centres (Hadamard rows when K is a power of two, see
//! [`super::centres`]) or random signs, and re-optimises every centre that is closer than d to another,
//! one at a time with the others fixed, by MDSHC's ℓp-box ADMM: minimise `c̄ᵀb` (move away from the
//! other centres' mean) subject to `b ∈ [−1, 1]^K`, `‖b‖² = K` (the two together make b binary) and
//! `H b ≤ K − 2d` (distance ≥ d to every other centre). The best `sign(b)` seen, by the upstream score
//! `mean + min − variance` of its distances, replaces the centre when it scores better. Upstream sweeps
//! over every class; sweeping only over the centres that break the bound reaches it in fewer solves.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::centres::hash_centres;

/// `Σ_{i ≤ r} C(K, i)`, in floating point (exact for the table's sizes; K ≤ 128 stays far from
/// overflow).
fn ball_volume(bits: usize, radius: usize) -> f64 {
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    for i in 1..=radius.min(bits) {
        term *= (bits + 1 - i) as f64 / i as f64;
        sum += term;
    }
    sum
}

/// log2 of `2^K / C`, compared in the log domain so that K = 128 does not overflow.
fn log2_codes_per_class(bits: usize, classes: usize) -> f64 {
    bits as f64 - (classes.max(1) as f64).log2()
}

/// MDSHC's `d_max`: the smallest d with `V(K, d − 1) ≥ 2^K / C` (the Gilbert–Varshamov distance).
pub fn gilbert_varshamov_distance(bits: usize, classes: usize) -> usize {
    let target = log2_codes_per_class(bits, classes);
    (1..=bits)
        .find(|&d| ball_volume(bits, d - 1).log2() >= target - 1e-12)
        .unwrap_or(bits)
}

/// MDSHC's `d_min`: the largest d with `V(K, ⌊(d − 1)/2⌋) ≤ 2^K / C` (the sphere-packing bound).
pub fn sphere_packing_distance(bits: usize, classes: usize) -> usize {
    let target = log2_codes_per_class(bits, classes);
    (1..=bits)
        .rev()
        .find(|&d| ball_volume(bits, (d - 1) / 2).log2() <= target + 1e-12)
        .unwrap_or(1)
}

/// Hamming distance between two ±1 vectors.
fn distance(a: &[f32], b: &[f32]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// Each centre's distance to its nearest other centre.
fn nearest(rows: &[Vec<f32>]) -> Vec<usize> {
    (0..rows.len())
        .map(|i| {
            (0..rows.len())
                .filter(|&j| j != i)
                .map(|j| distance(&rows[i], &rows[j]))
                .min()
                .unwrap_or(rows[i].len())
        })
        .collect()
}

/// Upstream's score of a candidate against the other centres: mean + min − variance of its distances.
fn score(candidate: &[f32], others: &[&Vec<f32>]) -> f64 {
    let d: Vec<f64> = others
        .iter()
        .map(|o| distance(candidate, o) as f64)
        .collect();
    let n = d.len().max(1) as f64;
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    mean + d.iter().copied().fold(f64::INFINITY, f64::min) - var
}

/// `classes × bits` centres (row-major ±1) at least `d` bits apart when the ADMM reaches it (the
/// returned minimum says); up to 50 sweeps.
pub fn minimum_distance_centres(classes: usize, bits: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rows: Vec<Vec<f32>> = if bits.is_power_of_two() {
        hash_centres(classes, bits, seed)
            .chunks(bits)
            .map(<[f32]>::to_vec)
            .collect()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x3D5);
        (0..classes)
            .map(|_| {
                (0..bits)
                    .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                    .collect()
            })
            .collect()
    };
    for _sweep in 0..50 {
        let near = nearest(&rows);
        if near.iter().all(|&n| n >= d) {
            break;
        }
        for i in 0..classes {
            if nearest(&rows)[i] >= d {
                continue;
            }
            let others: Vec<&Vec<f32>> =
                (0..classes).filter(|&j| j != i).map(|j| &rows[j]).collect();
            let candidate = refine_centre(&rows[i], &others, d);
            if score(&candidate, &others) > score(&rows[i], &others) {
                rows[i] = candidate;
            }
        }
    }
    rows.concat()
}

/// One centre against the fixed others: MDSHC's ℓp-box ADMM (ρ from 1e-5, ×1.09 per outer iteration
/// up to 1e7, 10 inner iterations, dual step (1 + √5)/2·ρ), returning the best `sign(b)` seen.
/// Stops when the residuals vanish or `sign(b)` has not changed for 30 outer iterations.
fn refine_centre(start: &[f32], others: &[&Vec<f32>], d: usize) -> Vec<f32> {
    let k = start.len();
    let n = others.len();
    let h = DMatrix::<f64>::from_fn(n, k, |r, c| others[r][c] as f64);
    let mean = DVector::<f64>::from_fn(k, |c, _| h.column(c).sum() / n.max(1) as f64);
    let bound = DVector::<f64>::from_element(n, k as f64 - 2.0 * d as f64);
    let ht = h.transpose();
    // (2ρI + ρHᵀH) b = …: factor 2I + HᵀH once, divide the right-hand side by ρ.
    let system = DMatrix::<f64>::identity(k, k) * 2.0 + &ht * &h;
    let chol = system.cholesky().expect("2I + HᵀH is positive definite");
    let mut b = DVector::<f64>::from_fn(k, |c, _| start[c] as f64);
    let (mut z1, mut z2) = (b.clone(), b.clone());
    let mut z3 = (&bound - &h * &b).map(|v| v.max(0.0));
    let (mut y1, mut y2) = (DVector::zeros(k), DVector::zeros(k));
    let mut y3 = DVector::<f64>::zeros(n);
    let gamma = (1.0 + 5f64.sqrt()) / 2.0;
    let sphere = (k as f64).sqrt();
    let mut rho = 1e-5f64;
    let others_f: Vec<&Vec<f32>> = others.to_vec();
    let mut best = (score(start, &others_f), start.to_vec());
    let mut last = start.to_vec();
    let mut settled = 0;
    for _outer in 0..1000 {
        for _inner in 0..10 {
            let rhs = &z1 + &z2 + &ht * (&bound - &z3) - (&y1 + &y2 + &ht * &y3 + &mean) / rho;
            b = chol.solve(&rhs);
            z1 = (&b + &y1 / rho).map(|v| v.clamp(-1.0, 1.0));
            let v = &b + &y2 / rho;
            z2 = &v * (sphere / v.norm().max(1e-12));
            let hb = &h * &b;
            z3 = (&bound - &hb - &y3 / rho).map(|v| v.max(0.0));
            y1 += (&b - &z1) * (gamma * rho);
            y2 += (&b - &z2) * (gamma * rho);
            y3 += (&hb + &z3 - &bound) * (gamma * rho);
        }
        rho = (rho * 1.09).min(1e7);
        let candidate: Vec<f32> = b
            .iter()
            .zip(start)
            .map(|(&v, &s)| {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    s
                }
            })
            .collect();
        let s = score(&candidate, &others_f);
        settled = if candidate == last { settled + 1 } else { 0 };
        if s > best.0 {
            best = (s, candidate.clone());
        }
        last = candidate;
        let residual = (&b - &z1)
            .norm()
            .max((&b - &z2).norm())
            .max((&h * &b + &z3 - &bound).norm());
        // Upstream stops on the residual only; the signs settle long before (ρ grows 1.09× per outer
        // iteration, so 30 settled iterations mean a 13-fold stiffer penalty changed nothing).
        if residual < 1e-6 || settled >= 30 {
            break;
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::centres::{hash_centres, min_distance};

    /// The d_GV / d_sphere table of the spec (§5.3), computed there from the same definitions.
    #[test]
    fn bounds_match_the_published_table() {
        let table = [
            (10, [(6, 10), (13, 24), (21, 40), (28, 54)]),
            (21, [(6, 10), (12, 22), (19, 36), (26, 50)]),
            (80, [(5, 8), (11, 20), (17, 32), (24, 46)]),
            (100, [(4, 6), (10, 18), (17, 32), (24, 46)]),
            (196, [(4, 6), (10, 18), (16, 30), (23, 44)]),
            (555, [(3, 4), (9, 16), (15, 28), (21, 40)]),
        ];
        for (classes, row) in table {
            for (bits, (gv, sphere)) in [16, 32, 48, 64].into_iter().zip(row) {
                assert_eq!(
                    gilbert_varshamov_distance(bits, classes),
                    gv,
                    "d_GV, C {classes}, K {bits}"
                );
                assert_eq!(
                    sphere_packing_distance(bits, classes),
                    sphere,
                    "d_sphere, C {classes}, K {bits}"
                );
            }
        }
    }

    #[test]
    fn ball_volume_by_hand() {
        // 1 + 16 + 120 + 560 = 697.
        assert_eq!(ball_volume(16, 3), 697.0);
        assert_eq!(ball_volume(4, 9), 16.0);
    }

    fn rows(flat: &[f32], bits: usize) -> Vec<Vec<f32>> {
        flat.chunks(bits).map(<[f32]>::to_vec).collect()
    }

    /// Random signs at 48 bits leave pairs far below d_GV = 21 for 10 classes; the ADMM lifts them.
    #[test]
    fn random_starts_reach_the_gilbert_varshamov_distance() {
        let d = gilbert_varshamov_distance(48, 10);
        let mut rng = ChaCha8Rng::seed_from_u64(7 ^ 0x3D5);
        let start: Vec<Vec<f32>> = (0..10)
            .map(|_| {
                (0..48)
                    .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                    .collect()
            })
            .collect();
        assert!(min_distance(&start) < d, "the test needs a start below d");
        let c = rows(&minimum_distance_centres(10, 48, d, 7), 48);
        assert!(min_distance(&c) >= d, "{} < {d}", min_distance(&c));
    }

    /// More classes than 2K: beyond the Hadamard rows CSQ's balanced random centres are only promised
    /// to be more than K/4 apart; they are lifted to d_GV (40 classes at 16 bits: 5; 196 at 64: 23).
    #[test]
    fn many_classes_reach_the_bound_from_csq_centres() {
        let d = gilbert_varshamov_distance(16, 40);
        assert_eq!(d, 5);
        let c = rows(&minimum_distance_centres(40, 16, d, 1), 16);
        assert_eq!(c.len(), 40);
        assert!(min_distance(&c) >= d, "{}", min_distance(&c));
        let d = gilbert_varshamov_distance(64, 196);
        let csq = rows(&hash_centres(196, 64, 3), 64);
        assert!(min_distance(&csq) < d, "the test needs a start below d");
        let c = rows(&minimum_distance_centres(196, 64, d, 3), 64);
        assert!(min_distance(&c) >= d, "{}", min_distance(&c));
    }
}
