//! Exact search against a brute-force reference that shares no code with the library: distances are
//! counted character by character on the codes' bit strings and results are ordered by a full sort.

use hashlens_core::search::{Kernel, Search};
use hashlens_core::{CodeBook, HashCode, Neighbor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn reference_distances(book: &CodeBook, q: &HashCode) -> Vec<u32> {
    let qs: Vec<char> = q.to_string().chars().collect();
    (0..book.len())
        .map(|i| {
            book.get(i)
                .to_string()
                .chars()
                .zip(&qs)
                .filter(|(a, b)| a != *b)
                .count() as u32
        })
        .collect()
}

fn reference_knn(book: &CodeBook, q: &HashCode, k: usize) -> Vec<Neighbor> {
    let mut all: Vec<Neighbor> = reference_distances(book, q)
        .into_iter()
        .enumerate()
        .map(|(index, distance)| Neighbor { distance, index })
        .collect();
    all.sort_by_key(|n| (n.distance, n.index));
    all.truncate(k);
    all
}

fn reference_radius(book: &CodeBook, q: &HashCode, r: u32) -> Vec<Neighbor> {
    let mut all = reference_knn(book, q, usize::MAX);
    all.retain(|n| n.distance <= r);
    all
}

/// Codes drawn from a small pool, so that many distances tie and tie order matters.
fn tied_book(bits: usize, n: usize, seed: u64) -> CodeBook {
    let pool = CodeBook::random(bits, 7, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    pool.select(&(0..n).map(|_| rng.random_range(0..7)).collect::<Vec<_>>())
}

#[test]
fn every_kernel_matches_the_reference() {
    let kernels = Kernel::available();
    println!("kernels on this CPU: {kernels:?}");
    for bits in [8, 16, 48, 64, 72, 128, 200, 256, 1024] {
        for (name, book) in [
            ("random", CodeBook::random(bits, 333, bits as u64).unwrap()),
            ("tied", tied_book(bits, 333, bits as u64)),
        ] {
            let queries = CodeBook::random(bits, 3, 99).unwrap();
            for qi in 0..queries.len() {
                let q = queries.get(qi);
                for kernel in &kernels {
                    let s = Search::with_kernel(*kernel).unwrap();
                    for k in [0, 1, 5, 64, 333, 400] {
                        assert_eq!(
                            s.knn(&book, &q, k).unwrap(),
                            reference_knn(&book, &q, k),
                            "{kernel:?} {name} bits={bits} k={k}"
                        );
                    }
                    for r in [0, 1, bits as u32 / 2, bits as u32] {
                        assert_eq!(
                            s.radius(&book, &q, r).unwrap(),
                            reference_radius(&book, &q, r),
                            "{kernel:?} {name} bits={bits} r={r}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_farthest_codes_are_found_at_full_length() {
    // Antipodal codes at distance 256 (more than a byte can hold) and the query itself at 0.
    let q = HashCode::from_signs(&[1.0; 256]).unwrap();
    let far = HashCode::from_signs(&[-1.0; 256]).unwrap();
    let mut book = CodeBook::new(256).unwrap();
    for i in 0..40 {
        book.push(if i % 2 == 0 { &far } else { &q }).unwrap();
    }
    for kernel in Kernel::available() {
        let s = Search::with_kernel(kernel).unwrap();
        let got = s.knn(&book, &q, 40).unwrap();
        assert_eq!(got, reference_knn(&book, &q, 40));
        assert_eq!(
            got[39],
            Neighbor {
                distance: 256,
                index: 38
            }
        );
    }
}

#[test]
fn batches_and_thread_splits_agree_with_single_queries() {
    // Larger than the size at which one query is split across threads, and than one cache block.
    let bits = 64;
    let book = tied_book(bits, 300_000, 5);
    let queries = CodeBook::random(bits, 19, 6).unwrap();
    let s = Search::default();
    let single: Vec<Vec<Neighbor>> = (0..queries.len())
        .map(|i| s.knn(&book, &queries.get(i), 100).unwrap())
        .collect();
    for (i, got) in single.iter().enumerate().take(3) {
        assert_eq!(*got, reference_knn(&book, &queries.get(i), 100));
    }
    let radius: Vec<Vec<Neighbor>> = (0..queries.len())
        .map(|i| s.radius(&book, &queries.get(i), 22).unwrap())
        .collect();
    assert_eq!(radius[0], reference_radius(&book, &queries.get(0), 22));
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            // Fewer queries than threads: each query is split into chunks.
            assert_eq!(
                s.knn_batch(&book, &queries.select(&[0, 1]), 100).unwrap(),
                single[..2]
            );
            // Many queries: groups of queries share passes over the book (the last group is partial).
            assert_eq!(s.knn_batch(&book, &queries, 100).unwrap(), single);
            assert_eq!(s.radius_batch(&book, &queries, 22).unwrap(), radius);
            // The same through a single thread per query.
            assert_eq!(s.knn(&book, &queries.get(7), 100).unwrap(), single[7]);
        });
    }
}

#[test]
fn mismatched_lengths_are_errors() {
    let book = CodeBook::random(64, 10, 1).unwrap();
    let q = HashCode::zeros(128).unwrap();
    assert!(Search::default().knn(&book, &q, 5).is_err());
    assert!(Search::default().radius(&book, &q, 5).is_err());
}

#[test]
fn the_largest_k_returns_every_code() {
    // k = usize::MAX (a script asking for "everything") once overflowed the candidate buffer's bound.
    let book = tied_book(64, 500, 5);
    let q = CodeBook::random(64, 1, 6).unwrap().get(0);
    for kernel in Kernel::available() {
        let s = Search::with_kernel(kernel).unwrap();
        assert_eq!(
            s.knn(&book, &q, usize::MAX).unwrap(),
            reference_knn(&book, &q, usize::MAX),
            "{kernel:?}"
        );
    }
}
