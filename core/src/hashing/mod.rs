//! Training-free hash functions over backbone features: PCA + ITQ and random-projection LSH.
//!
//! ITQ (Gong & Lazebnik, "Iterative Quantization", CVPR 2011) is the deep-hashing papers' strongest
//! non-deep baseline and hashlens's default for an unlabelled folder: centre the features, project on the
//! top-K principal directions, then rotate so that the projected points lie as close as possible to the
//! corners of the hypercube (alternating `B = sign(VR)` and the orthogonal Procrustes solution for `R`).
//! LSH (sign of random Gaussian projections of the centred features) is the reference ITQ must beat.
//!
//! Both are a [`LinearHash`]: `code = sign((x − μ) · P)` with a `d × K` matrix `P`, so encoding a photo is
//! one matrix–vector product whichever was fitted.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::code::{CodeBook, CodeError, check_bits};

mod whitening;
pub use whitening::EditWhitening;

/// `code = sign((x − mean) · projection)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearHash {
    /// Feature width `d`.
    pub dim: usize,
    /// Code length `K`.
    pub bits: usize,
    pub mean: Vec<f32>,
    /// Row-major `d × K`.
    pub projection: Vec<f32>,
}

/// Why a hash could not be fitted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error(transparent)]
    Bits(#[from] CodeError),
    #[error("{bits} bits need at least {bits} feature dimensions, the features have {dim}")]
    TooFewDims { bits: usize, dim: usize },
    #[error("fitting {bits} bits needs at least {need} photos, got {got}")]
    TooFewSamples {
        bits: usize,
        need: usize,
        got: usize,
    },
    #[error("features hold {values} values, not a multiple of the width {dim}")]
    Ragged { values: usize, dim: usize },
}

impl LinearHash {
    /// Random-projection LSH on centred features.
    pub fn lsh(features: &[f32], dim: usize, bits: usize, seed: u64) -> Result<Self, FitError> {
        let x = matrix(features, dim, bits, 1)?;
        let mean = column_mean(&x);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let projection = (0..dim * bits)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        Ok(Self {
            dim,
            bits,
            mean: mean.iter().map(|&m| m as f32).collect(),
            projection,
        })
    }

    /// PCA to `bits` dimensions, then `iterations` rounds of ITQ from a seeded random rotation.
    pub fn itq(
        features: &[f32],
        dim: usize,
        bits: usize,
        iterations: usize,
        seed: u64,
    ) -> Result<Self, FitError> {
        Self::itq_with(features, dim, bits, iterations, seed, false)
    }

    /// [`LinearHash::itq`], with the PCA components whitened (each scaled to unit variance) before the
    /// rotation when `whiten`: every component then weighs alike in the codes (a training-free lever
    /// measured in `benchmarks/results/edits-levers.md`: it loses, so the default does not whiten).
    pub fn itq_with(
        features: &[f32],
        dim: usize,
        bits: usize,
        iterations: usize,
        seed: u64,
        whiten: bool,
    ) -> Result<Self, FitError> {
        let x = matrix(features, dim, bits, bits + 1)?;
        Ok(pca_itq(&x, None, bits, iterations, seed, whiten))
    }

    /// [`LinearHash::itq`] after a whitening learned from edits ([`EditWhitening`]): the features are
    /// scaled by it, then PCA and ITQ on them as usual. The result is one `d × K` projection like any
    /// other, so encoding costs nothing more (measured in `benchmarks/results/edits-levers.md` §9).
    pub fn itq_after(
        features: &[f32],
        whitening: &EditWhitening,
        bits: usize,
        iterations: usize,
        seed: u64,
    ) -> Result<Self, FitError> {
        let x = matrix(features, whitening.dim, bits, bits + 1)?;
        Ok(pca_itq(
            &x,
            Some(whitening.matrix()),
            bits,
            iterations,
            seed,
            false,
        ))
    }

    /// Codes for rows of features (`n × dim`, row-major).
    pub fn encode(&self, features: &[f32]) -> Result<CodeBook, FitError> {
        if !features.len().is_multiple_of(self.dim) {
            return Err(FitError::Ragged {
                values: features.len(),
                dim: self.dim,
            });
        }
        let mut projected = Vec::with_capacity(features.len() / self.dim * self.bits);
        let mut row = vec![0f32; self.bits];
        for x in features.chunks_exact(self.dim) {
            row.fill(0.0);
            for (j, (&xj, &mj)) in x.iter().zip(&self.mean).enumerate() {
                let c = xj - mj;
                let p = &self.projection[j * self.bits..(j + 1) * self.bits];
                row.iter_mut().zip(p).for_each(|(r, &pk)| *r += c * pk);
            }
            projected.extend_from_slice(&row);
        }
        Ok(CodeBook::from_signs(self.bits, &projected)?)
    }
}

/// PCA + ITQ on the rows of `x` (`n × d`): centred, multiplied by `pre` (`d × d`) when given, projected
/// on the top-`bits` principal directions (each scaled to unit variance when `whiten`), then rotated by
/// ITQ; the hash's projection is `pre · pca · rotation`.
fn pca_itq(
    x: &DMatrix<f64>,
    pre: Option<DMatrix<f64>>,
    bits: usize,
    iterations: usize,
    seed: u64,
    whiten: bool,
) -> LinearHash {
    let (n, dim) = x.shape();
    let mean = column_mean(x);
    let mut centred = DMatrix::from_fn(n, dim, |i, j| x[(i, j)] - mean[j]);
    if let Some(pre) = &pre {
        centred *= pre;
    }
    let cov = centred.transpose() * &centred / (n as f64 - 1.0);
    let eig = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let scale = |k: usize| {
        if whiten {
            1.0 / eig.eigenvalues[order[k]].max(1e-12).sqrt()
        } else {
            1.0
        }
    };
    let pca = DMatrix::from_fn(dim, bits, |i, k| eig.eigenvectors[(i, order[k])] * scale(k));
    let rotation = itq_rotation(&(&centred * &pca), iterations, seed);
    let p = match pre {
        Some(pre) => pre * pca * rotation,
        None => pca * rotation,
    };
    LinearHash {
        dim,
        bits,
        mean: mean.iter().map(|&m| m as f32).collect(),
        projection: (0..dim * bits)
            .map(|r| p[(r / bits, r % bits)] as f32)
            .collect(),
    }
}

fn matrix(
    features: &[f32],
    dim: usize,
    bits: usize,
    min_rows: usize,
) -> Result<DMatrix<f64>, FitError> {
    check_bits(bits)?;
    if bits > dim {
        return Err(FitError::TooFewDims { bits, dim });
    }
    rows(features, dim, bits, min_rows)
}

/// The rows of `features` (`n × dim`) as a matrix, or why they are not at least `min_rows` of them (for
/// fitting `bits` bits).
fn rows(
    features: &[f32],
    dim: usize,
    bits: usize,
    min_rows: usize,
) -> Result<DMatrix<f64>, FitError> {
    if dim == 0 || !features.len().is_multiple_of(dim) {
        return Err(FitError::Ragged {
            values: features.len(),
            dim,
        });
    }
    let n = features.len() / dim;
    if n < min_rows {
        return Err(FitError::TooFewSamples {
            bits,
            need: min_rows,
            got: n,
        });
    }
    Ok(DMatrix::from_row_iterator(
        n,
        dim,
        features.iter().map(|&v| v as f64),
    ))
}

fn column_mean(x: &DMatrix<f64>) -> DVector<f64> {
    x.row_mean().transpose()
}

/// ITQ's alternating minimisation of `‖B − VR‖²` over codes `B` and orthogonal `R`.
fn itq_rotation(v: &DMatrix<f64>, iterations: usize, seed: u64) -> DMatrix<f64> {
    let k = v.ncols();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = DMatrix::from_fn(k, k, |_, _| StandardNormal.sample(&mut rng));
    let svd = g.svd(true, true);
    let mut r = svd.u.expect("u requested");
    for _ in 0..iterations {
        let b = (v * &r).map(|x| if x >= 0.0 { 1.0 } else { -1.0 });
        // min ‖B − VR‖ over orthogonal R: with VᵀB = UΣWᵀ, R = UWᵀ (orthogonal Procrustes).
        let svd = (v.transpose() * b).svd(true, true);
        r = svd.u.expect("u requested") * svd.v_t.expect("v_t requested");
    }
    r
}

/// Mean squared distance between the rotated projections and their binary codes: what ITQ minimises.
pub fn quantization_loss(hash: &LinearHash, features: &[f32]) -> f64 {
    let mut total = 0.0;
    let mut count = 0usize;
    for x in features.chunks_exact(hash.dim) {
        for k in 0..hash.bits {
            let v: f64 = (0..hash.dim)
                .map(|j| ((x[j] - hash.mean[j]) * hash.projection[j * hash.bits + k]) as f64)
                .sum();
            let b = if v >= 0.0 { 1.0 } else { -1.0 };
            total += (b - v) * (b - v);
            count += 1;
        }
    }
    total / count as f64
}

#[cfg(test)]
mod tests;
