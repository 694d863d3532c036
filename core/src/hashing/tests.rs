use super::*;
use crate::eval::{Depth, EvalConfig, Labels, evaluate};
use rand::Rng;

#[test]
fn encoding_by_hand() {
    // d = 2, K = 8: bit k is the sign of (x − μ)·p_k.
    let projection: Vec<f32> = vec![
        1.0, -1.0, 0.0, 0.0, 1.0, 1.0, -1.0, 2.0, //
        0.0, 0.0, 1.0, -1.0, 1.0, -1.0, -1.0, -1.0,
    ];
    let h = LinearHash {
        dim: 2,
        bits: 8,
        mean: vec![1.0, 1.0],
        projection,
    };
    // x − μ = (2, −1): values 2, −2, −1, 1, 1, 3, −1, 5.
    let codes = h.encode(&[3.0, 0.0]).unwrap();
    assert_eq!(codes.get(0).to_string(), "10011101");
    assert!(h.encode(&[1.0, 2.0, 3.0]).is_err());
}

/// Four well-separated clusters in 32 dimensions, 50 points each.
fn clusters() -> (Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let centres: Vec<Vec<f32>> = (0..4)
        .map(|_| (0..32).map(|_| rng.random_range(-4.0..4.0)).collect())
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..200 {
        let c = i % 4;
        for &centre in &centres[c] {
            x.push(centre + rng.random_range(-0.5..0.5));
        }
        y.push(c);
    }
    (x, y)
}

#[test]
fn itq_projection_is_orthonormal_and_lowers_quantization_loss() {
    let (x, _) = clusters();
    let start = LinearHash::itq(&x, 32, 16, 0, 7).unwrap();
    let fitted = LinearHash::itq(&x, 32, 16, 50, 7).unwrap();
    for a in 0..16 {
        for b in 0..16 {
            let dot: f32 = (0..32)
                .map(|j| fitted.projection[j * 16 + a] * fitted.projection[j * 16 + b])
                .sum();
            assert!(
                (dot - if a == b { 1.0 } else { 0.0 }).abs() < 1e-4,
                "columns {a}, {b}: {dot}"
            );
        }
    }
    let (l0, l1) = (
        quantization_loss(&start, &x),
        quantization_loss(&fitted, &x),
    );
    assert!(
        l1 < l0,
        "ITQ should lower the quantisation loss: {l0} → {l1}"
    );
}

#[test]
fn itq_codes_retrieve_clusters() {
    let (x, y) = clusters();
    let labels = Labels::from_classes(4, &y).unwrap();
    let cfg = EvalConfig {
        map_depths: vec![Depth::All],
        ..EvalConfig::default()
    };
    let itq = LinearHash::itq(&x, 32, 16, 50, 1)
        .unwrap()
        .encode(&x)
        .unwrap();
    let r = evaluate(&itq, &labels, &itq, &labels, &cfg).unwrap();
    assert!(r.map_at(Depth::All).unwrap() > 0.95, "{:?}", r.map);
    let lsh = LinearHash::lsh(&x, 32, 16, 1).unwrap().encode(&x).unwrap();
    assert_eq!(lsh.len(), 200);
}

#[test]
fn bad_shapes_are_errors() {
    let x = vec![0.0f32; 32 * 10];
    assert_eq!(
        LinearHash::itq(&x, 32, 16, 10, 0).unwrap_err(),
        FitError::TooFewSamples {
            bits: 16,
            need: 17,
            got: 10
        }
    );
    assert_eq!(
        LinearHash::itq(&x, 32, 64, 10, 0).unwrap_err(),
        FitError::TooFewDims { bits: 64, dim: 32 }
    );
    assert!(LinearHash::lsh(&x, 32, 12, 0).is_err());
    assert!(LinearHash::lsh(&x[..31], 32, 16, 0).is_err());
}

/// Sixteen dimensions: photos differ by 8 "content" ones (spread ±1) which edits leave alone, and by 8
/// "noise" ones (spread ±3, more variance) which an edit redraws. Plain PCA + ITQ codes the noise, so an
/// edited copy's code is another photo's; the edit-whitened fit codes the content, so a copy keeps its
/// original's code exactly.
#[test]
fn edit_whitening_codes_what_edits_leave_alone() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (n, half) = (200, 8);
    let mut originals = Vec::new();
    let mut copies = Vec::new();
    for _ in 0..n {
        let content: Vec<f32> = (0..half).map(|_| rng.random_range(-1.0..1.0)).collect();
        let noise = |rng: &mut ChaCha8Rng| -> Vec<f32> {
            (0..half).map(|_| rng.random_range(-3.0..3.0)).collect()
        };
        originals.extend(content.iter().copied().chain(noise(&mut rng)));
        copies.extend(content.iter().copied().chain(noise(&mut rng)));
    }
    let flipped = |h: &LinearHash| -> f64 {
        let (a, b) = (h.encode(&originals).unwrap(), h.encode(&copies).unwrap());
        (0..n)
            .map(|i| a.get(i).hamming(&b.get(i)).unwrap() as f64)
            .sum::<f64>()
            / n as f64
    };
    let plain = LinearHash::itq(&originals, 2 * half, half, 50, 0).unwrap();
    let whitening =
        EditWhitening::learn(&originals, &copies, 2 * half, 0.01, "test".into()).unwrap();
    let whitened = LinearHash::itq_after(&originals, &whitening, half, 50, 0).unwrap();
    // (Finite samples correlate content and noise a little, so a trace of noise stays in the codes.)
    let (p, w) = (flipped(&plain), flipped(&whitened));
    assert!(p > 2.0 && w < 0.1, "plain {p} bits, whitened {w} bits");
    // Pairs of another length are refused.
    assert!(EditWhitening::learn(&originals, &copies[16..], 16, 0.1, String::new()).is_err());
}

/// Shifts of known covariance: the whitening `W` is symmetric and turns the shrunk covariance
/// `C + floor·I` into the identity (`W (C + floor·I) W = I`), the definition of `(C + floor·I)^(−1/2)`.
#[test]
fn edit_whitening_inverts_the_square_root_of_the_shrunk_covariance() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (n, d) = (400, 6);
    let originals: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    // Shifts stretched along the axes by 3, 2, 1, 0.5, 0.1, 0 and mixed between the first two.
    let stretch = [3.0f32, 2.0, 1.0, 0.5, 0.1, 0.0];
    let copies: Vec<f32> = originals
        .chunks_exact(d)
        .flat_map(|x| {
            let s: Vec<f32> = stretch
                .iter()
                .map(|&a| a * rng.random_range(-1.0f32..1.0))
                .collect();
            let mut y = x.to_vec();
            y[0] += s[0] + s[1];
            y[1] += s[1];
            for j in 2..d {
                y[j] += s[j];
            }
            y
        })
        .collect();
    let w = EditWhitening::learn(&originals, &copies, d, 0.5, String::new()).unwrap();
    assert_eq!((w.rank(), w.pairs), (d, n));
    // The covariance computed here, independently of the module.
    let mut c = nalgebra::DMatrix::<f64>::zeros(d, d);
    for (a, b) in originals.chunks_exact(d).zip(copies.chunks_exact(d)) {
        let s = nalgebra::DVector::from_iterator(d, a.iter().zip(b).map(|(x, y)| (y - x) as f64));
        c += &s * s.transpose() / n as f64;
    }
    assert!((w.floor() - 0.5 * c.trace() / d as f64).abs() < 1e-9);
    let m = w.matrix();
    let shrunk = &c + nalgebra::DMatrix::identity(d, d) * w.floor();
    let product = &m * shrunk * &m;
    for i in 0..d {
        for j in 0..d {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!(
                (product[(i, j)] - want).abs() < 1e-4,
                "({i}, {j}): {}",
                product[(i, j)]
            );
            assert!((m[(i, j)] - m[(j, i)]).abs() < 1e-6);
        }
    }
    // Largest first; keeping all is the whole; keeping none leaves floor^(−1/2) times the identity.
    assert!(w.eigenvalues().windows(2).all(|p| p[0] >= p[1]));
    assert_eq!(w.truncated(d), w);
    let none = w.truncated(0).matrix();
    let base = 1.0 / w.floor().sqrt();
    assert!((none - nalgebra::DMatrix::identity(d, d) * base).amax() < 1e-9);
    // Keeping the top 2 keeps the whitening exactly along their eigenvectors.
    let top2 = w.truncated(2).matrix();
    let diff = (&top2 - &m).amax();
    assert!(diff > 1e-3, "the tail was not dropped");
}

#[test]
fn an_edit_whitening_file_reads_back_and_refuses_damage() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (n, d) = (50, 5);
    let a: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let b: Vec<f32> = a.iter().map(|x| x + rng.random_range(-0.2..0.2)).collect();
    let w = EditWhitening::learn(&a, &b, d, 1.0, "tiny café".into())
        .unwrap()
        .truncated(3);
    let bytes = w.to_bytes();
    assert_eq!(EditWhitening::from_bytes(&bytes).unwrap(), w);
    // A flipped byte, a cut, another format, and a forged header (sealed again) are each refused.
    let mut flipped = bytes.clone();
    flipped[40] ^= 1;
    assert!(
        EditWhitening::from_bytes(&flipped)
            .unwrap_err()
            .contains("checksum")
    );
    assert!(EditWhitening::from_bytes(&bytes[..bytes.len() - 9]).is_err());
    assert!(EditWhitening::from_bytes(b"HLINDEX\n").is_err());
    let mut forged = bytes[..bytes.len() - 4].to_vec();
    forged[16..20].copy_from_slice(&(1u32 << 30).to_le_bytes()); // rank
    let err = EditWhitening::from_bytes(&crate::io::seal(forged)).unwrap_err();
    assert!(err.contains("no whitening"), "{err}");
}
