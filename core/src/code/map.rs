//! A map of the code space for people to look at: photos placed in two dimensions so that photos whose
//! codes are few bits apart lie close together (the app's "Map" tab, where a teacher shows what the
//! Hamming distance groups and a presenter clicks a region to search from it).
//!
//! The layout is exact t-SNE (van der Maaten and Hinton, 2008) on the Hamming distances. For codes of
//! ±1 the squared Euclidean distance is four times the Hamming distance, so the Hamming distance stands
//! in for t-SNE's squared distance as it is. Exact t-SNE costs O(n²) per iteration: [`MAP_POINTS`]
//! photos at most (a map of more photos than that is not readable anyway), spread evenly over the
//! library, take about a second on two cores. The layout depends only on the codes and the seed.
//!
//! What a map can and cannot say: neighbours on the map are mostly neighbours in Hamming distance, but
//! distances between far-apart groups on the map mean little (t-SNE keeps local structure, not global).

use std::sync::atomic::{AtomicBool, Ordering};

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

use super::{CodeBook, hamming_words};

/// The most photos a map places.
pub const MAP_POINTS: usize = 400;

/// t-SNE's settings (the usual ones of the paper and of openTSNE).
#[derive(Clone, Debug, PartialEq)]
pub struct MapSettings {
    pub perplexity: f64,
    pub iterations: usize,
    /// Iterations with the early exaggeration (×12) that lets groups form first.
    pub exaggerated: usize,
    pub seed: u64,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            iterations: 750,
            exaggerated: 250,
            seed: 0,
        }
    }
}

/// Which photos of a library of `len` a map places: all of them up to [`MAP_POINTS`], otherwise that
/// many spread evenly.
pub fn map_sample(len: usize) -> Vec<usize> {
    if len <= MAP_POINTS {
        return (0..len).collect();
    }
    (0..MAP_POINTS).map(|k| k * len / MAP_POINTS).collect()
}

/// The distance the map keeps between any two of `n` photos (in its [−1, 1] coordinates), so that each
/// can be drawn as a thumbnail of about that width without covering another.
pub fn map_gap(n: usize) -> f32 {
    (1.6 / (n.max(1) as f32).sqrt()).min(0.5)
}

/// 2-D positions of the codes `points` of `book` (in that order), each coordinate within [−1, 1] and any
/// two at least about [`map_gap`] apart; `None` when `cancel` was set. `on_progress(done, total)`
/// follows the iterations.
pub fn code_map(
    book: &CodeBook,
    points: &[usize],
    settings: &MapSettings,
    cancel: &AtomicBool,
    mut on_progress: impl FnMut(usize, usize),
) -> Option<Vec<[f32; 2]>> {
    let n = points.len();
    if n < 3 {
        // Nothing to lay out: a line of what there is.
        return Some(
            (0..n)
                .map(|i| [i as f32 - (n as f32 - 1.0) / 2.0, 0.0])
                .collect(),
        );
    }
    let distance: Vec<f64> = (0..n * n)
        .into_par_iter()
        .map(|k| {
            let (i, j) = (k / n, k % n);
            hamming_words(book.code_words(points[i]), book.code_words(points[j])) as f64
        })
        .collect();
    let p = affinities(&distance, n, settings.perplexity.min((n - 1) as f64 / 3.0));

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(settings.seed);
    let normal = Normal::new(0.0, 1e-4).expect("a valid spread");
    let mut y: Vec<[f64; 2]> = (0..n)
        .map(|_| [normal.sample(&mut rng), normal.sample(&mut rng)])
        .collect();
    let mut velocity = vec![[0.0f64; 2]; n];
    let mut gains = vec![[1.0f64; 2]; n];
    let rate = (n as f64 / 12.0).max(50.0);
    for it in 0..settings.iterations {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let (exaggeration, momentum) = if it < settings.exaggerated {
            (12.0, 0.5)
        } else {
            (1.0, 0.8)
        };
        let gradient = gradient(&p, &y, exaggeration);
        for i in 0..n {
            for d in 0..2 {
                let g = gradient[i][d];
                // Delta-bar-delta gains, as in the reference implementation.
                gains[i][d] = if (g > 0.0) != (velocity[i][d] > 0.0) {
                    gains[i][d] + 0.2
                } else {
                    (gains[i][d] * 0.8).max(0.01)
                };
                velocity[i][d] = momentum * velocity[i][d] - rate * gains[i][d] * g;
                y[i][d] += velocity[i][d];
            }
        }
        if it % 25 == 24 || it + 1 == settings.iterations {
            on_progress(it + 1, settings.iterations);
        }
    }
    let mut map = normalised(&y);
    spread_apart(&mut map, map_gap(n));
    Some(map)
}

/// Pushes photos that lie closer than `gap` apart away from each other (half the shortfall each, a
/// few rounds), within [−1, 1]: t-SNE packs near-identical codes onto one spot, where their
/// thumbnails would hide each other. Groups stay where they were, only loosened.
fn spread_apart(map: &mut [[f32; 2]], gap: f32) {
    let n = map.len();
    for _ in 0..60 {
        let mut moved = false;
        for i in 0..n {
            for j in i + 1..n {
                let (dx, dy) = (map[j][0] - map[i][0], map[j][1] - map[i][1]);
                let d = dx.hypot(dy);
                if d >= gap {
                    continue;
                }
                moved = true;
                // Coincident photos part along a direction fixed by their positions in the list.
                let (ux, uy) = if d > 1e-6 {
                    (dx / d, dy / d)
                } else {
                    let a = (i * 7 + j * 13) as f32;
                    (a.cos(), a.sin())
                };
                let push = (gap - d) / 2.0;
                map[i][0] -= ux * push;
                map[i][1] -= uy * push;
                map[j][0] += ux * push;
                map[j][1] += uy * push;
            }
        }
        for p in map.iter_mut() {
            p[0] = p[0].clamp(-1.0, 1.0);
            p[1] = p[1].clamp(-1.0, 1.0);
        }
        if !moved {
            break;
        }
    }
}

/// The symmetric input affinities `p_ij`: per photo, a Gaussian over the others whose width gives the
/// wanted perplexity (found by bisection), then `(p_j|i + p_i|j) / 2n`.
fn affinities(distance: &[f64], n: usize, perplexity: f64) -> Vec<f64> {
    let target = perplexity.ln();
    let rows: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let d = &distance[i * n..(i + 1) * n];
            let (mut beta, mut lo, mut hi) = (1.0f64, 0.0f64, f64::INFINITY);
            let mut row = vec![0.0; n];
            for _ in 0..64 {
                // Shifted by the smallest distance, so that exp never underflows to all zeros.
                let nearest = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| d[j])
                    .fold(f64::INFINITY, f64::min);
                let mut sum = 0.0;
                for j in 0..n {
                    row[j] = if j == i {
                        0.0
                    } else {
                        (-beta * (d[j] - nearest)).exp()
                    };
                    sum += row[j];
                }
                let mut entropy = 0.0;
                for v in row.iter_mut() {
                    *v /= sum;
                    if *v > 1e-300 {
                        entropy -= *v * v.ln();
                    }
                }
                if (entropy - target).abs() < 1e-5 {
                    break;
                }
                if entropy > target {
                    lo = beta;
                    beta = if hi.is_finite() {
                        (beta + hi) / 2.0
                    } else {
                        beta * 2.0
                    };
                } else {
                    hi = beta;
                    beta = (beta + lo) / 2.0;
                }
            }
            row
        })
        .collect();
    let mut p = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            p[i * n + j] = ((rows[i][j] + rows[j][i]) / (2.0 * n as f64)).max(1e-12);
        }
    }
    p
}

/// t-SNE's gradient with Student-t output affinities.
fn gradient(p: &[f64], y: &[[f64; 2]], exaggeration: f64) -> Vec<[f64; 2]> {
    let n = y.len();
    let kernel = |i: usize, j: usize| {
        let (dx, dy) = (y[i][0] - y[j][0], y[i][1] - y[j][1]);
        1.0 / (1.0 + dx * dx + dy * dy)
    };
    // Row sums in parallel, added in order: the same map on any number of threads.
    let rows: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            (0..n)
                .filter(|&j| j != i)
                .map(|j| kernel(i, j))
                .sum::<f64>()
        })
        .collect();
    let z: f64 = rows.iter().sum();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut g = [0.0; 2];
            for j in 0..n {
                if j == i {
                    continue;
                }
                let w = kernel(i, j);
                let f = (exaggeration * p[i * n + j] - w / z) * w;
                g[0] += 4.0 * f * (y[i][0] - y[j][0]);
                g[1] += 4.0 * f * (y[i][1] - y[j][1]);
            }
            g
        })
        .collect()
}

/// Centred and scaled into [−1, 1] on the wider axis (the aspect kept).
fn normalised(y: &[[f64; 2]]) -> Vec<[f32; 2]> {
    let n = y.len() as f64;
    let centre = [
        y.iter().map(|p| p[0]).sum::<f64>() / n,
        y.iter().map(|p| p[1]).sum::<f64>() / n,
    ];
    let reach = y
        .iter()
        .flat_map(|p| [(p[0] - centre[0]).abs(), (p[1] - centre[1]).abs()])
        .fold(1e-12, f64::max);
    y.iter()
        .map(|p| {
            [
                ((p[0] - centre[0]) / reach) as f32,
                ((p[1] - centre[1]) / reach) as f32,
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashCode;

    /// `groups` clusters of `per` 64-bit codes: random centres, each member 3 bits away from its centre.
    fn clustered(groups: usize, per: usize, seed: u64) -> (CodeBook, Vec<usize>) {
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut book = CodeBook::new(64).unwrap();
        let mut labels = Vec::new();
        for g in 0..groups {
            let centre: u64 = rng.random();
            for _ in 0..per {
                let mut w = centre;
                for _ in 0..3 {
                    w ^= 1 << rng.random_range(0..64);
                }
                book.push(&HashCode::from_words(64, &[w]).unwrap()).unwrap();
                labels.push(g);
            }
        }
        (book, labels)
    }

    #[test]
    fn photos_a_few_bits_apart_land_together_on_the_map() {
        let (book, labels) = clustered(4, 40, 7);
        let points: Vec<usize> = (0..book.len()).collect();
        let settings = MapSettings {
            iterations: 400,
            ..MapSettings::default()
        };
        let layout = || {
            code_map(
                &book,
                &points,
                &settings,
                &AtomicBool::new(false),
                |_, _| {},
            )
        };
        let map = layout().unwrap();
        assert_eq!(map.len(), 160);
        assert!(map.iter().flatten().all(|v| v.abs() <= 1.0 + 1e-6));
        // Each photo's nearest photo on the map is one of its own cluster (it is in code space: 6 bits
        // at most against about 32 to other clusters).
        let d2 = |a: [f32; 2], b: [f32; 2]| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
        let agree = (0..map.len())
            .filter(|&i| {
                let nearest = (0..map.len())
                    .filter(|&j| j != i)
                    .min_by(|&a, &b| d2(map[i], map[a]).total_cmp(&d2(map[i], map[b])))
                    .unwrap();
                labels[nearest] == labels[i]
            })
            .count();
        assert_eq!(agree, map.len());
        // And the clusters lie apart: every cluster's centre is farther from the others' than its
        // members are from it on average.
        let centre = |g: usize| {
            let m: Vec<[f32; 2]> = (0..map.len())
                .filter(|&i| labels[i] == g)
                .map(|i| map[i])
                .collect();
            let n = m.len() as f32;
            [
                m.iter().map(|p| p[0]).sum::<f32>() / n,
                m.iter().map(|p| p[1]).sum::<f32>() / n,
            ]
        };
        for g in 0..4 {
            let spread = (0..map.len())
                .filter(|&i| labels[i] == g)
                .map(|i| d2(map[i], centre(g)).sqrt())
                .sum::<f32>()
                / 40.0;
            for h in (0..4).filter(|&h| h != g) {
                assert!(d2(centre(g), centre(h)).sqrt() > 2.0 * spread, "{g} {h}");
            }
        }
        // Any two photos stay far enough apart to be seen (up to what the relaxation reaches).
        let gap = map_gap(map.len());
        for i in 0..map.len() {
            for j in i + 1..map.len() {
                assert!(d2(map[i], map[j]).sqrt() > 0.8 * gap, "{i} {j}");
            }
        }
        // The same codes and seed give the same map.
        assert_eq!(layout().unwrap(), map);
    }

    #[test]
    fn cancelled_maps_stop_and_tiny_ones_are_lines() {
        let (book, _) = clustered(2, 10, 1);
        let points: Vec<usize> = (0..book.len()).collect();
        let cancelled = code_map(
            &book,
            &points,
            &MapSettings::default(),
            &AtomicBool::new(true),
            |_, _| {},
        );
        assert!(cancelled.is_none());
        let two = code_map(
            &book,
            &[0, 1],
            &MapSettings::default(),
            &AtomicBool::new(false),
            |_, _| {},
        );
        assert_eq!(two.unwrap(), [[-0.5, 0.0], [0.5, 0.0]]);
    }

    #[test]
    fn large_libraries_are_sampled_evenly() {
        assert_eq!(map_sample(5), [0, 1, 2, 3, 4]);
        let s = map_sample(6000);
        assert_eq!(s.len(), MAP_POINTS);
        assert_eq!((s[0], s[1], s[MAP_POINTS - 1]), (0, 15, 5985));
    }
}
