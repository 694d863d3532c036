//! A whitening learned from edits (Radenović, Tolias & Chum, "Fine-tuning CNN image retrieval with no
//! human annotation", TPAMI 2018): the features are scaled by `C^(−1/2)`, `C` the covariance of the
//! shifts `edited copy − original` with `shrink` times its mean eigenvalue added to every eigenvalue, so
//! that the directions in which everyday edits move a photo count for less. PCA + ITQ after it
//! ([`super::LinearHash::itq_after`]) gives codes for *finding copies of a photo*: on the edit benchmark
//! every 64-bit recall@1 bar of issue 20 is met, at the price of 0.03–0.04 mAP@1000 in category search
//! (`benchmarks/results/edits-levers.md` §9, `benchmarks/results/codes-for-copies.md`).
//!
//! Kept as the covariance's eigenpairs, largest first, so that a file can keep only the top `rank` of
//! them ([`EditWhitening::truncated`]): the directions left out are read as ones edits do not move (their
//! scale is `floor^(−1/2)`, the largest there is), which changes little where their variance is small
//! against the floor.
//!
//! File format (little-endian), sealed by a CRC-32 of everything before it:
//! `b"HLWHITE\n"`, version `u32` = 1, dim `u32`, rank `u32`, pairs `u64`, shrink `f64`, floor `f64`,
//! description (`u32` length + UTF-8), rank × `f32` eigenvalues, dim × rank `f32` eigenvectors (row-major,
//! column `j` the `j`-th eigenvector).

use nalgebra::{DMatrix, SymmetricEigen};

use super::{FitError, rows};
use crate::io::{ByteReader, seal, unseal};

const MAGIC: &[u8; 8] = b"HLWHITE\n";
const VERSION: u32 = 1;

/// Widest feature width a file may claim (a hostile header cannot make us allocate gigabytes).
const MAX_DIM: usize = 1 << 14;

/// A whitening learned from the shifts edits cause in features.
#[derive(Clone, Debug, PartialEq)]
pub struct EditWhitening {
    /// Feature width `d`.
    pub dim: usize,
    /// Edited copies the shifts were measured on.
    pub pairs: usize,
    /// How far the covariance was shrunk toward its mean eigenvalue.
    pub shrink: f64,
    /// What it was learned from, in words.
    pub description: String,
    /// Added to every eigenvalue: `shrink` × the mean eigenvalue (of all `d`, kept or not).
    floor: f64,
    /// The kept eigenvalues of the shifts' covariance, largest first.
    values: Vec<f32>,
    /// Row-major `d × rank`: column `j` is the eigenvector of `values[j]`.
    vectors: Vec<f32>,
}

impl EditWhitening {
    /// Learns it from rows of features of photos (`originals`) and of edited copies of them (`copies`,
    /// row `r` of one pairing with row `r` of the other).
    pub fn learn(
        originals: &[f32],
        copies: &[f32],
        dim: usize,
        shrink: f64,
        description: String,
    ) -> Result<Self, FitError> {
        let a = rows(originals, dim, 0, 1)?;
        let b = rows(copies, dim, 0, 1)?;
        if a.nrows() != b.nrows() {
            return Err(FitError::Ragged {
                values: copies.len(),
                dim,
            });
        }
        let shifts = b - a;
        let c = shifts.transpose() * &shifts / shifts.nrows() as f64;
        let eig = SymmetricEigen::new(c);
        let shrink = shrink.clamp(0.0, 1e6);
        let floor = eig.eigenvalues.mean() * shrink + 1e-12;
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&x, &y| eig.eigenvalues[y].total_cmp(&eig.eigenvalues[x]));
        Ok(Self {
            dim,
            pairs: shifts.nrows(),
            shrink,
            description,
            floor,
            values: order
                .iter()
                .map(|&j| eig.eigenvalues[j].max(0.0) as f32)
                .collect(),
            vectors: (0..dim * dim)
                .map(|r| eig.eigenvectors[(r / dim, order[r % dim])] as f32)
                .collect(),
        })
    }

    /// Eigenpairs kept.
    pub fn rank(&self) -> usize {
        self.values.len()
    }

    /// The kept eigenvalues, largest first.
    pub fn eigenvalues(&self) -> &[f32] {
        &self.values
    }

    /// What is added to every eigenvalue before the inverse square root.
    pub fn floor(&self) -> f64 {
        self.floor
    }

    /// This whitening with only its `rank` largest eigenpairs (the rest read as directions edits do not
    /// move).
    pub fn truncated(&self, rank: usize) -> Self {
        let (old, rank) = (self.rank(), rank.min(self.rank()));
        Self {
            values: self.values[..rank].to_vec(),
            vectors: self
                .vectors
                .chunks_exact(old)
                .flat_map(|row| &row[..rank])
                .copied()
                .collect(),
            description: self.description.clone(),
            ..*self
        }
    }

    /// The `d × d` matrix `C^(−1/2)`: `floor^(−1/2) (I − V Vᵀ) + V diag((λ + floor)^(−1/2)) Vᵀ` over the
    /// kept eigenpairs `V`, `λ` (exactly `V diag((λ + floor)^(−1/2)) Vᵀ` when all are kept).
    pub fn matrix(&self) -> DMatrix<f64> {
        let (d, r) = (self.dim, self.rank());
        let v = DMatrix::from_row_iterator(d, r, self.vectors.iter().map(|&x| x as f64));
        let base = 1.0 / self.floor.sqrt();
        let scale = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
            r,
            self.values
                .iter()
                .map(|&l| 1.0 / (l as f64 + self.floor).sqrt() - base),
        ));
        DMatrix::identity(d, d) * base + &v * scale * v.transpose()
    }

    /// The file's bytes (format in the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 4 * (self.values.len() + self.vectors.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.rank() as u32).to_le_bytes());
        out.extend_from_slice(&(self.pairs as u64).to_le_bytes());
        out.extend_from_slice(&self.shrink.to_le_bytes());
        out.extend_from_slice(&self.floor.to_le_bytes());
        out.extend_from_slice(&(self.description.len() as u32).to_le_bytes());
        out.extend_from_slice(self.description.as_bytes());
        for x in self.values.iter().chain(&self.vectors) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        seal(out)
    }

    /// Reads a file written by [`EditWhitening::to_bytes`], or says why it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let body = unseal(bytes).ok_or("its checksum does not match: the file is damaged")?;
        let mut r = ByteReader::new(body);
        if r.take(8) != Some(&MAGIC[..]) {
            return Err("not an edit whitening".into());
        }
        let short = || "the file ends early".to_string();
        let version = r.u32().ok_or_else(short)?;
        if version != VERSION {
            return Err(format!(
                "edit whitening format version {version} is not supported (this build reads version \
                 {VERSION})"
            ));
        }
        let dim = r.u32().ok_or_else(short)? as usize;
        let rank = r.u32().ok_or_else(short)? as usize;
        let pairs = r.u64().ok_or_else(short)? as usize;
        let shrink = f64::from_bits(r.u64().ok_or_else(short)?);
        let floor = f64::from_bits(r.u64().ok_or_else(short)?);
        if dim == 0 || dim > MAX_DIM || rank > dim {
            return Err(format!("{rank} eigenpairs of width {dim} is no whitening"));
        }
        if !(floor.is_finite() && floor > 0.0 && shrink.is_finite()) {
            return Err(format!("floor {floor} is no whitening's"));
        }
        let len = r.u32().ok_or_else(short)? as usize;
        let description = String::from_utf8(r.take(len).ok_or_else(short)?.to_vec())
            .map_err(|_| "its description is not UTF-8")?;
        if r.remaining() != 4 * rank * (dim + 1) {
            return Err(format!(
                "it holds {} bytes of numbers where {rank} eigenpairs of width {dim} take {}",
                r.remaining(),
                4 * rank * (dim + 1)
            ));
        }
        let numbers: Vec<f32> = r
            .take(r.remaining())
            .expect("length checked")
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        if numbers.iter().any(|x| !x.is_finite()) || numbers[..rank].iter().any(|&l| l < 0.0) {
            return Err("it holds a negative or non-finite number".into());
        }
        let vectors = numbers[rank..].to_vec();
        Ok(Self {
            dim,
            pairs,
            shrink,
            description,
            floor,
            values: numbers[..rank].to_vec(),
            vectors,
        })
    }
}
