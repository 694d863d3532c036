//! Retrieval metrics against a straightforward reference written here from the definitions in
//! ../shared/spec/methods.md §1.2: ±1 codes, distances by inner product `(K − b_qᵀ b_d) / 2`, a full stable
//! sort on (distance, index), relevance by label inner product > 0 on dense 0/1 rows.

use hashlens_core::CodeBook;
use hashlens_core::eval::{Depth, EvalConfig, Labels, evaluate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Reference {
    map: Vec<f64>,
    p_at: Vec<f64>,
    r_at: Vec<f64>,
    radius_p: f64,
    radius_r: f64,
}

fn signs(book: &CodeBook) -> Vec<Vec<i32>> {
    (0..book.len())
        .map(|i| book.get(i).to_signs().iter().map(|&s| s as i32).collect())
        .collect()
}

fn reference(
    db: &CodeBook,
    dbl: &[Vec<u8>],
    q: &CodeBook,
    ql: &[Vec<u8>],
    depths: &[usize],
    at_k: &[usize],
    radius: i32,
) -> Reference {
    let (db, q) = (signs(db), signs(q));
    let bits = db[0].len() as i32;
    let nq = q.len() as f64;
    let mut out = Reference {
        map: vec![0.0; depths.len()],
        p_at: vec![0.0; at_k.len()],
        r_at: vec![0.0; at_k.len()],
        radius_p: 0.0,
        radius_r: 0.0,
    };
    for (qi, qc) in q.iter().enumerate() {
        let dist: Vec<i32> = db
            .iter()
            .map(|d| (bits - d.iter().zip(qc).map(|(a, b)| a * b).sum::<i32>()) / 2)
            .collect();
        let rel_of = |j: usize| {
            dbl[j]
                .iter()
                .zip(&ql[qi])
                .map(|(a, b)| (a * b) as u32)
                .sum::<u32>()
                > 0
        };
        let mut order: Vec<usize> = (0..db.len()).collect();
        order.sort_by_key(|&j| (dist[j], j));
        let rel: Vec<bool> = order.iter().map(|&j| rel_of(j)).collect();
        let total = rel.iter().filter(|&&r| r).count() as f64;
        for (m, &depth) in depths.iter().enumerate() {
            let mut found = 0.0;
            let mut sum = 0.0;
            for (i, &r) in rel.iter().take(depth).enumerate() {
                if r {
                    found += 1.0;
                    sum += found / (i + 1) as f64;
                }
            }
            if found > 0.0 {
                out.map[m] += sum / found;
            }
        }
        for (m, &k) in at_k.iter().enumerate() {
            let hits = rel.iter().take(k).filter(|&&r| r).count() as f64;
            out.p_at[m] += hits / k as f64;
            out.r_at[m] += if total > 0.0 { hits / total } else { 0.0 };
        }
        let within: Vec<usize> = (0..db.len()).filter(|&j| dist[j] <= radius).collect();
        let hits = within.iter().filter(|&&j| rel_of(j)).count() as f64;
        if !within.is_empty() {
            out.radius_p += hits / within.len() as f64;
        }
        out.radius_r += if total > 0.0 { hits / total } else { 0.0 };
    }
    for v in out.map.iter_mut().chain(&mut out.p_at).chain(&mut out.r_at) {
        *v /= nq;
    }
    out.radius_p /= nq;
    out.radius_r /= nq;
    out
}

fn random_labels(rng: &mut ChaCha8Rng, n: usize, classes: usize, multi: bool) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let mut row = vec![0u8; classes];
            if multi {
                // 0 to 3 labels: all-zero rows are part of real multi-label data.
                for _ in 0..rng.random_range(0..=3) {
                    row[rng.random_range(0..classes)] = 1;
                }
            } else {
                row[rng.random_range(0..classes)] = 1;
            }
            row
        })
        .collect()
}

fn check(bits: usize, n_db: usize, n_q: usize, classes: usize, multi: bool, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Few distinct codes (a pool of 40) so that rankings are full of ties.
    let pool = CodeBook::random(bits, 40, seed).unwrap();
    let db = pool.select(
        &(0..n_db)
            .map(|_| rng.random_range(0..40))
            .collect::<Vec<_>>(),
    );
    let q = CodeBook::random(bits, n_q, seed + 1).unwrap();
    let dbl = random_labels(&mut rng, n_db, classes, multi);
    let ql = random_labels(&mut rng, n_q, classes, multi);
    let depths = [n_db, 7, 100];
    let at_k = [1, 10, 50];
    let cfg = EvalConfig {
        map_depths: vec![Depth::All, Depth::Top(7), Depth::Top(100)],
        at_k: at_k.to_vec(),
        radius: (bits / 4) as u32,
        pr_step: 10,
    };
    let got = evaluate(
        &db,
        &Labels::from_multi_hot(classes, &dbl).unwrap(),
        &q,
        &Labels::from_multi_hot(classes, &ql).unwrap(),
        &cfg,
    )
    .unwrap();
    let want = reference(&db, &dbl, &q, &ql, &depths, &at_k, (bits / 4) as i32);
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}");
    for (m, w) in got.map.iter().zip(&want.map) {
        close(m.map, *w, &format!("mAP@{}", m.depth));
    }
    for (i, a) in got.at_k.iter().enumerate() {
        close(a.precision, want.p_at[i], &format!("P@{}", a.k));
        close(a.recall, want.r_at[i], &format!("R@{}", a.k));
    }
    close(
        got.precision_within_radius.precision,
        want.radius_p,
        "precision within radius",
    );
    close(
        got.precision_within_radius.recall,
        want.radius_r,
        "recall within radius",
    );
    // The curve's sampled points are P@n and R@n at those ranks.
    let p10 = got.pr_by_rank.iter().find(|p| p.rank == 10).unwrap();
    close(p10.precision, want.p_at[1], "PR curve at rank 10");
    assert!(
        got.pr_by_rank
            .windows(2)
            .all(|w| w[0].recall <= w[1].recall + 1e-12)
    );
    assert!(
        (got.pr_by_rank.last().unwrap().recall
            - (1.0 - got.queries_without_relevant as f64 / n_q as f64))
            .abs()
            < 1e-9
    );
}

#[test]
fn single_label_matches_reference() {
    check(32, 300, 25, 10, false, 1);
    check(64, 500, 20, 4, false, 2);
}

#[test]
fn multi_label_matches_reference() {
    check(48, 400, 30, 8, true, 3);
    check(128, 250, 15, 21, true, 4);
}

#[test]
fn perfect_codes_score_one() {
    // Every class has its own code: every relevant item is at distance 0, ahead of all others.
    let classes = 5;
    let centers = CodeBook::random(64, classes, 11).unwrap();
    let db_class: Vec<usize> = (0..200).map(|i| i % classes).collect();
    let q_class: Vec<usize> = (0..20).map(|i| (i * 3) % classes).collect();
    let db = centers.select(&db_class);
    let q = centers.select(&q_class);
    let r = evaluate(
        &db,
        &Labels::from_classes(classes, &db_class).unwrap(),
        &q,
        &Labels::from_classes(classes, &q_class).unwrap(),
        &EvalConfig::default(),
    )
    .unwrap();
    assert_eq!(r.map_at(Depth::All), Some(1.0));
    assert_eq!(r.precision_within_radius.precision, 1.0);
    assert_eq!(r.precision_within_radius.recall, 1.0);
}
