//! Targets for photos without labels (a personal library): what L_HP pulls codes toward when nobody
//! said which photos belong together. Self-distillation needs no labels and works as with them.
//!
//! Two sources, both from the pretrained backbone:
//! - [`PseudoLabels::ImageNet`]: its ImageNet-1k classifier's `top` most likely classes, renormalised.
//!   Photos that look alike share likely classes. A thousand proxies in 16 to 64 bits crowd each other,
//!   and ImageNet's classes split what a library holds unevenly (about 120 dog breeds, no class for
//!   people).
//! - [`PseudoLabels::Clusters`]: spherical k-means on its features (centred, unit length), one-hot.
//!   DeepCluster's idea, without the re-clustering: a handful of proxies that follow the folder's own
//!   structure, and it works for any backbone with meaningful features.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::augment::{ViewParams, augment};
use super::data::TrainImages;
use super::events::TrainError;
use crate::model::Backbone;
use crate::photo::Preprocess;

/// Where an unlabelled run's targets come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PseudoLabels {
    /// The backbone's `top` most likely ImageNet classes, as a distribution (1,000 target classes).
    ImageNet { top: usize },
    /// k-means clusters of the backbone's features; `k: None`: [`default_clusters`].
    Clusters { k: Option<usize> },
}

/// Clusters: they beat the ImageNet targets at every code length measured (see [`default_clusters`]).
impl Default for PseudoLabels {
    fn default() -> Self {
        Self::Clusters { k: None }
    }
}

/// Photos k-means is fitted on at most; a larger folder is sampled evenly.
const FIT_AT_MOST: usize = 20_000;

/// The number of clusters when none is given: 10, and at most a quarter of the photos (at least 2).
///
/// Measured on CIFAR-10 (1,000 training photos, head mode, `benchmarks/results/unlabelled-targets-*`):
/// 5 to 16 clusters beat ImageNet's classes at every length (most at 16 bits), 5 and 10 beat PCA + ITQ
/// too; 5 did best there, 20 and more fall off. A label-free choice was tried and dropped: the mean silhouette falls steadily from
/// 2 clusters to 64 on these features (0.13 to 0.04; they have no strong cluster structure), so it
/// always picks 2, which scored below PCA + ITQ. Ten is a guess at how many kinds of photo a library
/// holds, deliberately not the count that did best on CIFAR-10.
pub fn default_clusters(n: usize) -> usize {
    10.min(n / 4).max(2)
}

impl fmt::Display for PseudoLabels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ImageNet { top } => write!(f, "imagenet:{top}"),
            Self::Clusters { k: Some(k) } => write!(f, "clusters:{k}"),
            Self::Clusters { k: None } => write!(f, "clusters"),
        }
    }
}

impl FromStr for PseudoLabels {
    type Err = String;

    /// `imagenet`, `imagenet:TOP`, `clusters` ([`default_clusters`]) or `clusters:K`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, n) = match s.split_once(':') {
            Some((name, n)) => {
                let n: usize = n
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| format!("{s:?}: expected a positive count after ':'"))?;
                (name, Some(n))
            }
            None => (s, None),
        };
        match name {
            "imagenet" => Ok(Self::ImageNet {
                top: n.unwrap_or(5).min(1000),
            }),
            "clusters" if n == Some(1) => Err(format!("{s:?}: one cluster says nothing")),
            "clusters" => Ok(Self::Clusters { k: n }),
            _ => Err(format!(
                "{s:?}: expected imagenet, imagenet:TOP, clusters or clusters:K"
            )),
        }
    }
}

impl PseudoLabels {
    /// Whether `backbone` can give these targets (ImageNet ones need its ImageNet classifier).
    pub fn needs_classifier(self) -> bool {
        matches!(self, Self::ImageNet { .. })
    }

    /// In words, for notes and provenance (`n`: the photos, which bound the number of clusters).
    pub fn describe(self, n: usize) -> String {
        match self {
            Self::ImageNet { top } => {
                format!("the backbone's top-{top} ImageNet classes as soft targets")
            }
            Self::Clusters { k } => format!(
                "{} k-means clusters of the backbone's features",
                k.unwrap_or_else(|| default_clusters(n)).min(n.max(1))
            ),
        }
    }

    /// Target rows for `images` (`len × classes`) and the number of classes. The photos are seen
    /// unaugmented, in batches of `batch`.
    pub fn targets(
        self,
        images: &TrainImages,
        backbone: &Backbone,
        pre: &Preprocess,
        batch: usize,
        device: &Device,
        cancel: &AtomicBool,
    ) -> Result<(Vec<f32>, usize), TrainError> {
        let rows = self.network_outputs(images, backbone, pre, batch, device, cancel)?;
        Ok(self.targets_from_outputs(&rows, images.len()))
    }

    /// What the targets are made from, one row per photo: the ImageNet probabilities or the features.
    /// Sources that need the same outputs ([`PseudoLabels::needs_classifier`]) can share them.
    pub fn network_outputs(
        self,
        images: &TrainImages,
        backbone: &Backbone,
        pre: &Preprocess,
        batch: usize,
        device: &Device,
        cancel: &AtomicBool,
    ) -> Result<Vec<f32>, TrainError> {
        if images.is_empty() {
            return Err(TrainError::TooFewPhotos(0));
        }
        let mut rows = Vec::new();
        let all: Vec<usize> = (0..images.len()).collect();
        let inference = backbone.for_inference(device);
        for chunk in all.chunks(batch.max(1)) {
            if cancel.load(Ordering::Relaxed) {
                return Err(TrainError::Cancelled { checkpoint: None });
            }
            let x = augment(
                images.pixels(chunk, device),
                &ViewParams::identity(chunk.len()),
                pre,
            );
            let y = match self {
                Self::ImageNet { .. } => burn::tensor::activation::softmax(
                    backbone.logits(x).ok_or_else(|| {
                        TrainError::Settings(format!(
                            "{} has no ImageNet classifier to take targets from: use clusters",
                            backbone.arch().name()
                        ))
                    })?,
                    1,
                ),
                Self::Clusters { .. } => inference.features(x),
            };
            rows.extend(
                y.into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32 outputs"),
            );
        }
        Ok(rows)
    }

    /// The target rows and class count made from [`PseudoLabels::network_outputs`] of `n` photos.
    pub fn targets_from_outputs(self, rows: &[f32], n: usize) -> (Vec<f32>, usize) {
        match self {
            Self::ImageNet { top } => (top_classes(rows, 1000, top), 1000),
            Self::Clusters { k } => {
                let dim = rows.len() / n;
                let unit = unit_rows(rows, dim);
                let k = k.unwrap_or_else(|| default_clusters(n)).min(n);
                // A large library is clustered on an even sample, then every photo joins its nearest
                // centroid: the clusters of 20,000 photos describe the rest as well, in bounded time.
                let step = n.div_ceil(FIT_AT_MOST).max(1);
                let sample: Vec<f32> = unit.chunks(dim).step_by(step).flatten().copied().collect();
                let k = k.min(sample.len() / dim);
                let fit = KMeans::fit(&sample, dim, k, 50, 0x5EED);
                let assignment: Vec<usize> = match step {
                    1 => fit.assignment,
                    _ => unit
                        .par_chunks(dim)
                        .map(|r| nearest(r, &fit.centroids, dim).0)
                        .collect(),
                };
                let mut t = vec![0f32; n * k];
                for (i, &c) in assignment.iter().enumerate() {
                    t[i * k + c] = 1.0;
                }
                (t, k)
            }
        }
    }
}

/// Each row of `probs` (`classes` wide) cut to its `top` largest entries, renormalised.
fn top_classes(probs: &[f32], classes: usize, top: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(probs.len());
    for row in probs.chunks(classes) {
        let mut order: Vec<usize> = (0..classes).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        let keep = &order[..top.clamp(1, classes)];
        let mass: f32 = keep.iter().map(|&k| row[k]).sum::<f32>().max(1e-12);
        let mut t = vec![0.0f32; classes];
        for &k in keep {
            t[k] = row[k] / mass;
        }
        out.extend(t);
    }
    out
}

/// Rows centred on their mean and scaled to unit length (a zero row stays zero): the cosine geometry
/// that spherical k-means clusters in. Centring matters for ReLU features, which all share one orthant.
pub fn unit_rows(rows: &[f32], dim: usize) -> Vec<f32> {
    let n = rows.len() / dim;
    let mut mean = vec![0f64; dim];
    for r in rows.chunks(dim) {
        for (m, &v) in mean.iter_mut().zip(r) {
            *m += v as f64 / n as f64;
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.chunks(dim) {
        let c: Vec<f64> = r.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
        let norm = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        let s = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        out.extend(c.iter().map(|v| (v * s) as f32));
    }
    out
}

/// Spherical k-means (cosine similarity to unit-length centroids) on unit-length rows.
#[derive(Clone, Debug)]
pub struct KMeans {
    /// `k × dim`, each of unit length.
    pub centroids: Vec<f32>,
    /// The centroid of each row.
    pub assignment: Vec<usize>,
}

impl KMeans {
    /// k-means++ seeding (by cosine distance 1 − cos), then Lloyd's iterations until no row moves or
    /// `iterations` have run. A centroid left without rows restarts at the row farthest from its own.
    /// Seeded: the same rows give the same clusters.
    pub fn fit(rows: &[f32], dim: usize, k: usize, iterations: usize, seed: u64) -> Self {
        let n = rows.len() / dim;
        assert!(k >= 1 && k <= n, "k = {k} clusters of {n} rows");
        let row = |i: usize| &rows[i * dim..(i + 1) * dim];
        let mut rng: ChaCha8Rng = super::rng(seed, &[0xC1_57E5]);
        let mut centroids: Vec<f32> = row(rng.random_range(0..n)).to_vec();
        let mut far: Vec<f64> = (0..n).map(|i| cos_distance(row(i), &centroids)).collect();
        while centroids.len() < k * dim {
            let total: f64 = far.iter().sum();
            let pick = if total > 0.0 {
                let mut r = rng.random::<f64>() * total;
                far.iter()
                    .position(|&d| {
                        r -= d;
                        r < 0.0
                    })
                    .unwrap_or(n - 1)
            } else {
                rng.random_range(0..n)
            };
            let c = row(pick).to_vec();
            for (i, f) in far.iter_mut().enumerate() {
                *f = f.min(cos_distance(row(i), &c));
            }
            centroids.extend(c);
        }
        let mut assignment = vec![usize::MAX; n];
        for _ in 0..iterations {
            let nearest: Vec<(usize, f32)> = (0..n)
                .into_par_iter()
                .map(|i| nearest(row(i), &centroids, dim))
                .collect();
            let moved = nearest.iter().zip(&assignment).any(|(&(c, _), &a)| c != a);
            assignment = nearest.iter().map(|&(c, _)| c).collect();
            if !moved {
                break;
            }
            let mut restarted = Vec::new();
            let mut sums = vec![0f64; k * dim];
            let mut counts = vec![0usize; k];
            for (i, &c) in assignment.iter().enumerate() {
                counts[c] += 1;
                for (s, &v) in sums[c * dim..(c + 1) * dim].iter_mut().zip(row(i)) {
                    *s += v as f64;
                }
            }
            for c in 0..k {
                let s = &sums[c * dim..(c + 1) * dim];
                let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt();
                let new: Vec<f32> = if counts[c] == 0 || norm == 0.0 {
                    // Restart at the row that fits its own centroid worst (one row per restart).
                    let worst = (0..n)
                        .filter(|i| !restarted.contains(i))
                        .min_by(|&a, &b| nearest[a].1.total_cmp(&nearest[b].1))
                        .expect("k ≤ n rows");
                    restarted.push(worst);
                    row(worst).to_vec()
                } else {
                    s.iter().map(|v| (v / norm) as f32).collect()
                };
                centroids[c * dim..(c + 1) * dim].copy_from_slice(&new);
            }
        }
        Self {
            centroids,
            assignment,
        }
    }
}

/// 1 − cos between a unit row and a unit centroid (the last `dim` values of `centroids`).
fn cos_distance(row: &[f32], centroids: &[f32]) -> f64 {
    let c = &centroids[centroids.len() - row.len()..];
    (1.0 - dot(row, c) as f64).max(0.0)
}

/// The centroid with the largest cosine to `row`, and that cosine (ties: the lower index).
fn nearest(row: &[f32], centroids: &[f32], dim: usize) -> (usize, f32) {
    centroids.chunks(dim).map(|c| dot(row, c)).enumerate().fold(
        (0, f32::NEG_INFINITY),
        |best, (c, s)| {
            if s > best.1 { (c, s) } else { best }
        },
    )
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in ["imagenet:5", "clusters", "clusters:30"] {
            assert_eq!(s.parse::<PseudoLabels>().unwrap().to_string(), s);
        }
        assert_eq!(
            "imagenet".parse::<PseudoLabels>(),
            Ok(PseudoLabels::ImageNet { top: 5 })
        );
        for bad in [
            "kmeans",
            "clusters:0",
            "clusters:1",
            "imagenet:x",
            "clusters:",
        ] {
            assert!(bad.parse::<PseudoLabels>().is_err(), "{bad}");
        }
        assert_eq!(default_clusters(1000), 10);
        assert_eq!(default_clusters(20), 5);
        assert_eq!(default_clusters(3), 2);
    }

    #[test]
    fn top_classes_by_hand() {
        let t = top_classes(&[0.1, 0.5, 0.3, 0.1], 4, 2);
        assert_eq!(t, vec![0.0, 0.625, 0.375, 0.0]);
    }

    #[test]
    fn unit_rows_centre_and_scale() {
        // Mean (2, 1); centred rows (−1, 1), (1, −1) → ±(−1/√2, 1/√2).
        let u = unit_rows(&[1.0, 2.0, 3.0, 0.0], 2);
        let h = 0.5f32.sqrt();
        for (a, b) in u.iter().zip([-h, h, h, -h]) {
            assert!((a - b).abs() < 1e-6, "{u:?}");
        }
    }

    /// Three tight groups of directions, shuffled: k-means finds exactly the groups, whatever the seed.
    #[test]
    fn finds_separated_groups() {
        let axes = [[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        let mut rows = Vec::new();
        let mut truth = Vec::new();
        for i in 0..60usize {
            let g = (i * 7) % 3;
            let wobble = 0.05 * ((i % 5) as f32 - 2.0);
            let mut r = axes[g];
            r[(g + 1) % 3] = wobble;
            let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            rows.extend(r.map(|v| v / norm));
            truth.push(g);
        }
        for seed in 0..5 {
            let fit = KMeans::fit(&rows, 3, 3, 50, seed);
            for i in 0..60 {
                for j in 0..60 {
                    assert_eq!(
                        fit.assignment[i] == fit.assignment[j],
                        truth[i] == truth[j],
                        "seed {seed}: rows {i}, {j}"
                    );
                }
            }
            for c in fit.centroids.chunks(3) {
                let n = c.iter().map(|v| v * v).sum::<f32>().sqrt();
                assert!((n - 1.0).abs() < 1e-5);
            }
        }
    }

    /// More photos than k-means is fitted on: the sample's clusters take in every photo, and the
    /// groups come out whole.
    #[test]
    fn large_folders_are_clustered_on_a_sample() {
        let n = FIT_AT_MOST + 5_001;
        let mut rows = Vec::with_capacity(n * 3);
        for i in 0..n {
            let mut r = [0.0f32; 3];
            r[i % 3] = 1.0;
            r[(i + 1) % 3] = 0.01 * (i % 7) as f32;
            rows.extend(r);
        }
        let (t, k) = PseudoLabels::Clusters { k: Some(3) }.targets_from_outputs(&rows, n);
        assert_eq!((k, t.len()), (3, n * 3));
        let cluster = |i: usize| t[i * 3..i * 3 + 3].iter().position(|&v| v == 1.0).unwrap();
        for i in 0..n {
            assert_eq!(cluster(i), cluster(i % 3), "photo {i}");
        }
        assert_ne!(cluster(0), cluster(1));
        assert_ne!(cluster(1), cluster(2));
        assert_ne!(cluster(0), cluster(2));
    }

    /// Lloyd's fixed point: every row sits with its most similar centroid, and each centroid is the
    /// normalised mean of its rows (checked against a direct computation).
    #[test]
    fn converged_fit_is_a_fixed_point() {
        let mut rows = Vec::new();
        let mut x = 12345u64;
        for _ in 0..200 * 4 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rows.push(((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5);
        }
        let rows = unit_rows(&rows, 4);
        let fit = KMeans::fit(&rows, 4, 5, 500, 1);
        for (i, r) in rows.chunks(4).enumerate() {
            assert_eq!(nearest(r, &fit.centroids, 4).0, fit.assignment[i]);
        }
        for c in 0..5 {
            let mut mean = [0f64; 4];
            for (i, r) in rows.chunks(4).enumerate() {
                if fit.assignment[i] == c {
                    for (m, &v) in mean.iter_mut().zip(r) {
                        *m += v as f64;
                    }
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
            for (got, m) in fit.centroids[c * 4..c * 4 + 4].iter().zip(mean) {
                assert!((got - (m / norm) as f32).abs() < 1e-5, "centroid {c}");
            }
        }
    }
}
