//! SHC — Deep Hashing with Semantic Hash Centers (ACM TOIS 2025; ../shared/spec/methods.md §6).
//!
//! CSQ's centres are equally far apart whatever the classes mean; SHC places the centres of classes a
//! classifier confuses (cat and dog) closer than those of classes it never confuses (cat and truck), while
//! every pair keeps at least the Gilbert–Varshamov distance. Three stages:
//! 1. a classifier, and from its confusions a class-similarity matrix ([`class_similarity`]);
//! 2. centres that fit that similarity under the minimum-distance constraint ([`semantic_centres`]),
//!    starting from [`super::min_distance::minimum_distance_centres`];
//! 3. the hash network trained toward the centres with CSQ's loss (the learner's CSQ objective).
//!
//! Stage 1 here is a linear classifier on the frozen backbone's features of augmented training views
//! (upstream fine-tunes a whole ResNet-34 for 100 epochs first): it costs seconds, and what stage 2 needs
//! is which classes look alike, which the pretrained features already tell.

use burn::module::Module;
use burn::module::Param;
use burn::nn::LinearConfig;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Stage 2's constants (upstream's values).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SemanticCentresConfig {
    pub epochs: usize,
    pub inner: usize,
    /// Penalty of the continuous copy M.
    pub rho: f64,
    /// Initial multiplier Λ.
    pub lambda: f64,
    /// Penalty β of the distance constraints.
    pub beta: f64,
    /// Weight μ of the spread term `Σ h_iᵀh_j`.
    pub mu: f64,
    /// Step η of the sign update (upstream: "matters a lot, tune per dataset").
    pub eta: f64,
    /// Upstream updates the constraint multipliers α only for the last j of each row (a loop bug);
    /// true reproduces it.
    pub upstream_alpha_bug: bool,
    /// When a centre's sign step would bring it closer than d to another centre, take the step's flips
    /// one at a time, most wanted first (largest |gradient|), keeping each that keeps the distance.
    /// Upstream rejects the whole step; with few classes d_GV is close to K/2, almost every step of
    /// more than one flip breaks it, and the centres stay CSQ's (five classes at 16–64 bits did).
    /// A record written before this setting existed reads `false`: those runs took whole steps.
    #[serde(default)]
    pub partial_steps: bool,
}

impl Default for SemanticCentresConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            inner: 3,
            rho: 0.2,
            lambda: 0.1,
            beta: 1e-6,
            mu: 0.625,
            eta: 0.5,
            upstream_alpha_bug: false,
            partial_steps: true,
        }
    }
}

/// Stage 1's matrix from a classifier's logits (`n × classes`) on photos of known class: each photo's
/// softmax over the *other* classes is added to its class's row; then `S ← (S + Sᵀ)/2`, each row
/// centred on its mean and divided by its largest deviation, and the diagonal set to 1. With two
/// classes the off-diagonal entries always come out +1 (a row's one other entry is its largest
/// deviation), so that matrix says nothing about how alike they are.
pub fn class_similarity(logits: &[f32], labels: &[usize], classes: usize) -> Vec<f32> {
    let mut s = vec![0.0f64; classes * classes];
    for (row, &c) in logits.chunks(classes).zip(labels) {
        let max = row
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != c)
            .map(|(_, &v)| v as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row
            .iter()
            .enumerate()
            .map(|(j, &v)| if j == c { 0.0 } else { (v as f64 - max).exp() })
            .collect();
        let z: f64 = e.iter().sum();
        for (j, v) in e.iter().enumerate() {
            s[c * classes + j] += v / z.max(1e-300);
        }
    }
    let mut sym = vec![0.0f64; classes * classes];
    for i in 0..classes {
        for j in 0..classes {
            sym[i * classes + j] = (s[i * classes + j] + s[j * classes + i]) / 2.0;
        }
    }
    let mut out = vec![0.0f32; classes * classes];
    for i in 0..classes {
        let row = &sym[i * classes..(i + 1) * classes];
        let mean = row.iter().sum::<f64>() / classes as f64;
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = row.iter().copied().fold(f64::INFINITY, f64::min);
        let scale = (max - mean).abs().max((min - mean).abs()).max(1e-12);
        for j in 0..classes {
            out[i * classes + j] = if i == j {
                1.0
            } else {
                ((row[j] - mean) / scale) as f32
            };
        }
    }
    out
}

/// Stage 1's classifier: `Linear(dim → classes)` (weights N(0, 0.01), bias 0) on `features`
/// (`n × dim`) with cross-entropy, Adam at 1e-3 in batches of 256; returns the logits of every row
/// and the training accuracy. `device` is a plain device (autodiff is added here).
pub fn classifier_logits(
    features: &[f32],
    dim: usize,
    labels: &[usize],
    classes: usize,
    epochs: usize,
    seed: u64,
    device: &Device,
) -> (Vec<f32>, f64) {
    let n = labels.len();
    assert_eq!(features.len(), n * dim, "one feature row per label");
    let ad = device.clone().autodiff();
    // Weights N(0, 0.01²) from the run's seed, bias 0. Burn's own initialiser draws from a generator
    // the whole process shares, so the classifier, and SHC's centres at 16 and 32 bits with it,
    // depended on what ran before (measured: 0.413 to 0.428 mAP for the same SHC run in `compare`).
    let mut linear = LinearConfig::new(dim, classes).init(&ad);
    let normal = rand_distr::Normal::new(0.0f32, 0.01).expect("a valid deviation");
    let mut init = ChaCha8Rng::seed_from_u64(seed ^ 0x5C1B);
    let w: Vec<f32> = (0..dim * classes)
        .map(|_| rand_distr::Distribution::sample(&normal, &mut init))
        .collect();
    linear.weight = Param::from_tensor(Tensor::from_data(TensorData::new(w, [dim, classes]), &ad));
    linear.bias = Some(Param::from_tensor(Tensor::zeros([classes], &ad)));
    let ce = CrossEntropyLossConfig::new().init(&ad);
    let mut opt = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5C1A);
    let batch = 256.min(n).max(1);
    let rows = |items: &[usize], device: &Device| {
        let v: Vec<f32> = items
            .iter()
            .flat_map(|&i| features[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        Tensor::<2>::from_data(TensorData::new(v, [items.len(), dim]), device)
    };
    let steps = n.div_ceil(batch) * epochs;
    let mut t = 0;
    for _ in 0..epochs {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        for items in order.chunks(batch) {
            let y: Vec<i64> = items.iter().map(|&i| labels[i] as i64).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(y, [items.len()]), &ad);
            let loss = ce.forward(linear.forward(rows(items, &ad)), y);
            let grads = GradientsParams::from_grads(loss.backward(), &linear);
            linear = opt.step(super::schedule::cosine_lr(1e-3, t, steps), linear, grads);
            t += 1;
        }
    }
    let linear = linear.valid();
    let all: Vec<usize> = (0..n).collect();
    let mut logits = Vec::with_capacity(n * classes);
    for items in all.chunks(1024) {
        let out: Vec<f32> = linear
            .forward(rows(items, device))
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 logits");
        logits.extend(out);
    }
    let correct = logits
        .chunks(classes)
        .zip(labels)
        .filter(|(row, c)| {
            let best = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(j, _)| j);
            best == Some(**c)
        })
        .count();
    (logits, correct as f64 / n.max(1) as f64)
}

/// The steps η tried when none is given. Upstream's 0.5 suits 16 bits; the gradient's terms shrink
/// like 1/K, so at 64 bits upstream's whole steps at 0.5 are all refused and the start comes back.
pub const ETA_CHOICES: [f64; 5] = [0.5, 0.25, 0.125, 0.0625, 0.03125];

/// [`semantic_centres`] for each step η in `etas`: the result that fits the similarity best (and the
/// η that made it). Stage 2's own objective chooses; no retrieval result is looked at.
pub fn best_semantic_centres(
    s: &[f32],
    start: &[f32],
    classes: usize,
    bits: usize,
    d: usize,
    config: &SemanticCentresConfig,
    etas: &[f64],
) -> (SemanticCentres, f64) {
    etas.iter()
        .map(|&eta| {
            let c = SemanticCentresConfig {
                eta,
                ..config.clone()
            };
            (semantic_centres(s, start, classes, bits, d, &c), eta)
        })
        .min_by(|a, b| a.0.fit.total_cmp(&b.0.fit))
        .expect("at least one step size")
}

/// Stage 2's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SemanticCentres {
    /// `classes × bits`, ±1, row-major.
    pub centres: Vec<f32>,
    /// The required minimum distance d, and the smallest distance between two centres.
    pub required_distance: usize,
    pub min_distance: usize,
    /// `‖S − HᵀH/K‖²_F / C²` of the starting centres and of the result.
    pub start_fit: f64,
    pub fit: f64,
}

/// `‖S − HᵀH/K‖²_F / C²`, H with the centres as columns.
fn fit(s: &DMatrix<f64>, h: &DMatrix<f64>) -> f64 {
    let k = h.nrows() as f64;
    let c = h.ncols() as f64;
    (s - h.transpose() * h / k).norm_squared() / (c * c)
}

fn min_pair_distance(h: &DMatrix<f64>) -> usize {
    let g = h.transpose() * h;
    let k = h.nrows() as f64;
    let mut min = h.nrows();
    for i in 0..h.ncols() {
        for j in 0..i {
            min = min.min(((k - g[(i, j)]) / 2.0).round() as usize);
        }
    }
    min
}

/// Stage 2: centres (starting from `start`, `classes × bits` ±1, at least `d` apart) that fit the
/// similarity `s` (`classes × classes`) while keeping every pair at least `d` bits apart —
/// upstream's alternating scheme: a continuous copy M in closed form, slacks K for the constraints
/// `h_iᵀh_j ≤ K − 2d`, a sign step per centre accepted only when the minimum distance survives (or,
/// with `partial_steps`, as much of it as keeps the distance), and
/// dual updates; the best-fitting centres over the epochs are kept. (A start closer than d is never
/// made worse: a step is accepted when the centre's nearest neighbour stays at least min(d, before).)
/// Fewer than three classes return the start: stage 1's similarity of two classes carries no
/// information (see [`class_similarity`]).
pub fn semantic_centres(
    s: &[f32],
    start: &[f32],
    classes: usize,
    bits: usize,
    d: usize,
    config: &SemanticCentresConfig,
) -> SemanticCentres {
    let (c, k) = (classes, bits);
    let kf = k as f64;
    let s = DMatrix::<f64>::from_row_slice(c, c, &s.iter().map(|&v| v as f64).collect::<Vec<_>>());
    let mut h = DMatrix::<f64>::from_fn(k, c, |r, col| start[col * k + r] as f64);
    let bound = kf - 2.0 * d as f64;
    let rho = config.rho;
    let beta = config.beta;
    let mut lambda = DMatrix::<f64>::from_element(k, c, config.lambda);
    let mut alpha = DMatrix::<f64>::zeros(c, c);
    let mut slack = DMatrix::<f64>::zeros(c, c);
    let start_fit = fit(&s, &h);
    let mut best = (start_fit, h.clone());
    // Two classes: each row's only other entry is its largest deviation from the row mean, so stage 1
    // gives +1 whatever the classifier confused. That says nothing; moving the centres toward each
    // other on its word would only take margin from them, so the start is kept.
    let epochs = if c < 3 { 0 } else { config.epochs };
    let nearest = |h: &DMatrix<f64>, i: usize, col: &nalgebra::DVector<f64>| -> usize {
        (0..c)
            .filter(|&j| j != i)
            .map(|j| ((kf - h.column(j).dot(col)) / 2.0).round() as usize)
            .min()
            .unwrap_or(k)
    };
    for _epoch in 0..epochs {
        for _ in 0..config.inner {
            // M-step: (2/K² HHᵀ + ρI) M = 2/K HS + Λ + ρH.
            let a = &h * h.transpose() * (2.0 / (kf * kf)) + DMatrix::identity(k, k) * rho;
            let rhs = &h * &s * (2.0 / kf) + &lambda + &h * rho;
            let m = a
                .cholesky()
                .expect("2/K² HHᵀ + ρI is positive definite")
                .solve(&rhs);
            // K-step.
            let g = h.transpose() * &h;
            for i in 0..c {
                for j in 0..c {
                    if i != j {
                        slack[(i, j)] = (bound - g[(i, j)] + alpha[(i, j)] / beta).max(0.0);
                    }
                }
            }
            // H-step, one centre at a time.
            let mmt = &m * m.transpose();
            for i in 0..c {
                let hi = h.column(i).into_owned();
                let mut grad = &mmt * &hi * (2.0 / (kf * kf)) - &m * s.column(i) * (2.0 / kf)
                    + lambda.column(i)
                    + (&hi - m.column(i)) * rho;
                let mut pairs = nalgebra::DVector::<f64>::zeros(k);
                for j in (0..c).filter(|&j| j != i) {
                    let hj = h.column(j);
                    pairs += hj * (2.0 * config.mu - 2.0 * alpha[(i, j)])
                        + (&hi * (2.0 * kf) - hj * (2.0 * (bound - slack[(i, j)]))) * beta;
                }
                grad += pairs * 1e-4;
                let candidate = nalgebra::DVector::<f64>::from_fn(k, |r, _| {
                    let v = hi[r] - grad[r] / config.eta;
                    if v > 0.0 {
                        1.0
                    } else if v < 0.0 {
                        -1.0
                    } else {
                        hi[r]
                    }
                });
                let floor = d.min(nearest(&h, i, &hi));
                if nearest(&h, i, &candidate) >= floor {
                    h.set_column(i, &candidate);
                } else if config.partial_steps {
                    let partial = partial_step(&h, i, &candidate, &grad, floor);
                    h.set_column(i, &partial);
                }
                let step = (h.column(i) - m.column(i)) * rho;
                let mut l = lambda.column_mut(i);
                l += step;
            }
            // Dual step of the distance constraints.
            let g = h.transpose() * &h;
            for i in 0..c {
                let js: Vec<usize> = if config.upstream_alpha_bug {
                    (0..c).rfind(|&j| j != i).into_iter().collect()
                } else {
                    (0..c).filter(|&j| j != i).collect()
                };
                for j in js {
                    alpha[(i, j)] += beta * (bound - g[(i, j)] - slack[(i, j)]);
                }
            }
        }
        let f = fit(&s, &h);
        if f < best.0 {
            best = (f, h.clone());
        }
    }
    let (fit_value, h) = best;
    SemanticCentres {
        // Column-major K × C: the centres one after the other.
        centres: h.as_slice().iter().map(|&v| v as f32).collect(),
        required_distance: d,
        min_distance: min_pair_distance(&h),
        start_fit,
        fit: fit_value,
    }
}

/// The flips from centre `i` to `candidate`, in order of |gradient|, each kept only if centre i stays
/// at least `floor` bits from every other centre (its distances are updated flip by flip: a flipped bit
/// moves it one bit toward the centres that hold the new sign and one away from the rest).
fn partial_step(
    h: &DMatrix<f64>,
    i: usize,
    candidate: &nalgebra::DVector<f64>,
    grad: &nalgebra::DVector<f64>,
    floor: usize,
) -> nalgebra::DVector<f64> {
    let (k, c) = (h.nrows(), h.ncols());
    let mut col = h.column(i).into_owned();
    let others: Vec<usize> = (0..c).filter(|&j| j != i).collect();
    let mut dist: Vec<usize> = others
        .iter()
        .map(|&j| (0..k).filter(|&r| h[(r, j)] != col[r]).count())
        .collect();
    let mut flips: Vec<usize> = (0..k).filter(|&r| candidate[r] != col[r]).collect();
    flips.sort_by(|&a, &b| grad[b].abs().total_cmp(&grad[a].abs()).then(a.cmp(&b)));
    for r in flips {
        let new = -col[r];
        let after: Vec<usize> = others
            .iter()
            .zip(&dist)
            .map(|(&j, &d)| if h[(r, j)] == new { d - 1 } else { d + 1 })
            .collect();
        if after.iter().all(|&d| d >= floor) {
            col[r] = new;
            dist = after;
        }
    }
    col
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::centres::{hash_centres, min_distance};
    use crate::train::min_distance::{gilbert_varshamov_distance, minimum_distance_centres};

    /// Three classes, one photo each; the softmax over the other classes by hand (see the comments),
    /// then symmetrised, row-normalised and the diagonal set to 1.
    #[test]
    fn similarity_by_hand() {
        let l3 = 3f32.ln();
        let logits = [
            9.0, 0.0, l3, // class 0: others get 1/4, 3/4
            0.0, 9.0, 0.0, // class 1: 1/2, 1/2
            0.0, 0.0, 9.0, // class 2: 1/2, 1/2
        ];
        let s = class_similarity(&logits, &[0, 1, 2], 3);
        // Symmetric sums: S01 = (1/4 + 1/2)/2 = .375, S02 = (3/4 + 1/2)/2 = .625, S12 = .5.
        // Row 0 [0, .375, .625]: mean 1/3, largest deviation 1/3 → [·, .125, .875].
        // Row 1 [.375, 0, .5]: mean .875/3, largest deviation .875/3 → [2/7, ·, 5/7].
        // Row 2 [.625, .5, 0]: mean .375, largest deviation .375 → [2/3, 1/3, ·].
        let want = [
            1.0,
            0.125,
            0.875,
            2.0 / 7.0,
            1.0,
            5.0 / 7.0,
            2.0 / 3.0,
            1.0 / 3.0,
            1.0,
        ];
        for (g, w) in s.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{s:?}");
        }
    }

    fn rows(flat: &[f32], bits: usize) -> Vec<Vec<f32>> {
        flat.chunks(bits).map(<[f32]>::to_vec).collect()
    }

    /// Two groups of five classes, alike within a group and unlike across: the centres move closer
    /// within the groups than across them, fit the similarity better than the equidistant Hadamard
    /// start, and no pair comes closer than d_GV.
    #[test]
    fn semantic_centres_follow_the_similarity_and_keep_the_distance() {
        let (c, k) = (10, 16);
        let group = |i: usize| i / 5;
        let s: Vec<f32> = (0..c * c)
            .map(|x| {
                let (i, j) = (x / c, x % c);
                if i == j {
                    1.0
                } else if group(i) == group(j) {
                    0.6
                } else {
                    -0.6
                }
            })
            .collect();
        let d = gilbert_varshamov_distance(k, c);
        let start = hash_centres(c, k, 0);
        let out = semantic_centres(&s, &start, c, k, d, &SemanticCentresConfig::default());
        let h = rows(&out.centres, k);
        assert_eq!(h.len(), c);
        assert!(h.iter().flatten().all(|v| v.abs() == 1.0));
        assert!(min_distance(&h) >= d, "{} < {d}", min_distance(&h));
        assert_eq!(out.min_distance, min_distance(&h));
        assert!(out.fit < out.start_fit, "{} vs {}", out.fit, out.start_fit);
        let dist = |a: &[f32], b: &[f32]| a.iter().zip(b).filter(|(x, y)| x != y).count() as f64;
        let (mut within, mut across) = (Vec::new(), Vec::new());
        for i in 0..c {
            for j in 0..i {
                let v = dist(&h[i], &h[j]);
                if group(i) == group(j) {
                    within.push(v)
                } else {
                    across.push(v)
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean(&within) + 2.0 < mean(&across),
            "within {} across {}",
            mean(&within),
            mean(&across)
        );
    }

    /// At 64 bits upstream's η = 0.5 never takes a sign step (the start comes back); trying smaller steps
    /// finds centres that fit better, still at least d_GV = 28 apart.
    #[test]
    fn the_step_size_search_moves_centres_at_64_bits() {
        let (c, k) = (10, 64);
        let s: Vec<f32> = (0..c * c)
            .map(|x| match (x / c, x % c) {
                (i, j) if i == j => 1.0,
                (i, j) if i / 5 == j / 5 => 0.6,
                _ => -0.6,
            })
            .collect();
        let d = gilbert_varshamov_distance(k, c);
        let start = hash_centres(c, k, 0);
        let config = SemanticCentresConfig {
            partial_steps: false,
            ..SemanticCentresConfig::default()
        };
        let upstream = semantic_centres(&s, &start, c, k, d, &config);
        assert_eq!(upstream.centres, start);
        let (best, eta) = best_semantic_centres(&s, &start, c, k, d, &config, &ETA_CHOICES);
        assert!(
            eta < 0.5 && best.fit < upstream.fit,
            "η {eta}: {} vs {}",
            best.fit,
            upstream.fit
        );
        assert!(min_distance(&rows(&best.centres, k)) >= d);
    }

    /// Two classes' similarity is +1 however little the classifier confused them, so their centres keep
    /// CSQ's (the start), which are as far apart as 16 bits allow.
    #[test]
    fn two_classes_keep_their_start() {
        let s = class_similarity(&[5.0, 0.0, 0.0, 5.0], &[0, 1], 2);
        assert_eq!(s, vec![1.0; 4]);
        let d = gilbert_varshamov_distance(16, 2);
        let start = minimum_distance_centres(2, 16, d, 0);
        assert_eq!(min_distance(&rows(&start, 16)), 16);
        let (out, _) = best_semantic_centres(
            &s,
            &start,
            2,
            16,
            d,
            &SemanticCentresConfig::default(),
            &ETA_CHOICES,
        );
        assert_eq!(out.centres, start);
    }

    /// Stage 1's matrix of a real run: five k-means clusters of MobileNetV2 features of 1,000 CIFAR-10
    /// training photos (`compare --pseudo-labels clusters:5`, seed 0). Clusters 1 and 3, and 2 and 4,
    /// are confused most (S = 1).
    const FIVE_CLUSTERS: [f32; 25] = [
        1.0,
        0.48354626,
        -0.2535906,
        0.85513264,
        -0.08508831, //
        0.21537533,
        1.0,
        -0.1741088,
        1.0,
        -0.13129897, //
        -0.20288457,
        -0.09572469,
        1.0,
        -0.1409149,
        1.0, //
        0.49799657,
        1.0,
        -0.24379054,
        1.0,
        -0.3471053, //
        -0.13175884,
        -0.077830195,
        1.0,
        -0.21658443,
        1.0,
    ];

    /// With five classes d_GV is 7 of 16 bits (30 of 64) and the Hadamard start is 8 (32) apart, so a
    /// step of several flips toward a neighbour breaks the bound: upstream's all-or-nothing steps never
    /// move here, whatever η. Partial steps bring the confused pairs closer and keep the bound.
    #[test]
    fn partial_steps_move_few_centres_that_whole_steps_cannot() {
        let c = 5;
        for k in [16, 64] {
            let d = gilbert_varshamov_distance(k, c);
            let start = minimum_distance_centres(c, k, d, 0);
            let whole = SemanticCentresConfig {
                partial_steps: false,
                ..SemanticCentresConfig::default()
            };
            let (upstream, _) =
                best_semantic_centres(&FIVE_CLUSTERS, &start, c, k, d, &whole, &ETA_CHOICES);
            assert_eq!(upstream.centres, start, "{k} bits");
            let config = SemanticCentresConfig::default();
            let (out, _) =
                best_semantic_centres(&FIVE_CLUSTERS, &start, c, k, d, &config, &ETA_CHOICES);
            let h = rows(&out.centres, k);
            assert!(
                min_distance(&h) >= d,
                "{k} bits: {} < {d}",
                min_distance(&h)
            );
            assert!(
                out.fit < out.start_fit,
                "{k} bits: {} vs {}",
                out.fit,
                out.start_fit
            );
            let dist = |a: usize, b: usize| h[a].iter().zip(&h[b]).filter(|(x, y)| x != y).count();
            // The pairs the similarity calls alike (S = 1) come closer than K/2; an unlike pair does not.
            assert!(dist(1, 3) < k / 2 && dist(2, 4) < k / 2, "{k} bits: {h:?}");
            assert!(dist(0, 2) >= k / 2, "{k} bits: {}", dist(0, 2));
        }
    }

    /// Stage 1 on two well-separated clusters of features: the classifier learns them and the
    /// similarity of a class with itself is 1.
    #[test]
    fn the_classifier_separates_clear_classes() {
        let dim = 8;
        let labels: Vec<usize> = (0..64).map(|i| i % 2).collect();
        let features: Vec<f32> = labels
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| {
                (0..dim).map(move |j| {
                    let sign = if c == 0 { 1.0 } else { -1.0 };
                    sign * if j < 4 { 1.0 } else { 0.0 } + ((i * 7 + j * 3) % 5) as f32 * 0.05
                })
            })
            .collect();
        let (logits, accuracy) =
            classifier_logits(&features, dim, &labels, 2, 30, 0, &Device::flex());
        assert_eq!(logits.len(), 64 * 2);
        assert_eq!(accuracy, 1.0);
        let s = class_similarity(&logits, &labels, 2);
        assert_eq!((s[0], s[3]), (1.0, 1.0));
        // The same seed gives the same classifier, whatever drew from Burn's shared generator since.
        let _ = Tensor::<2>::random([3, 3], burn::tensor::Distribution::Default, &Device::flex());
        let again = classifier_logits(&features, dim, &labels, 2, 30, 0, &Device::flex());
        assert_eq!(again.0, logits);
        let other = classifier_logits(&features, dim, &labels, 2, 30, 1, &Device::flex());
        assert_ne!(other.0, logits);
    }
}
