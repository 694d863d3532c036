//! What a library's codes look like as a whole: how balanced each bit is, how distances are spread, and
//! which photos are near-duplicates of each other.
//!
//! Good hash codes use every bit about half the time (a bit that is always 1 carries no information) and
//! spread unrelated photos around K/2; these are the pictures a teacher shows next to the ranking.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{CodeBook, hamming_words};
use crate::search::Search;

/// For each bit, the fraction of codes in which it is 1.
pub fn bit_balance(book: &CodeBook) -> Vec<f64> {
    let mut ones = vec![0u64; book.bits()];
    for words in book.iter_words() {
        for (i, count) in ones.iter_mut().enumerate() {
            *count += (words[i / 64] >> (i % 64)) & 1;
        }
    }
    let n = book.len().max(1) as f64;
    ones.into_iter().map(|c| c as f64 / n).collect()
}

/// Pearson correlation between every two bits over the codes, `K × K` row-major. Good codes have
/// uncorrelated bits (two bits that always agree carry one bit of information); a constant bit has no
/// variance and correlates 0 with every other bit (1 with itself).
pub fn bit_correlation(book: &CodeBook) -> Vec<f64> {
    let k = book.bits();
    let n = book.len();
    // Counts of (bit i = 1) and (bits i and j both 1) give every correlation of 0/1 variables.
    let mut both = vec![0u64; k * k];
    for words in book.iter_words() {
        let on: Vec<usize> = (0..k)
            .filter(|&i| (words[i / 64] >> (i % 64)) & 1 == 1)
            .collect();
        for &i in &on {
            for &j in &on {
                both[i * k + j] += 1;
            }
        }
    }
    let n = n.max(1) as f64;
    let p: Vec<f64> = (0..k).map(|i| both[i * k + i] as f64 / n).collect();
    let mut corr = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let var = p[i] * (1.0 - p[i]) * p[j] * (1.0 - p[j]);
            corr[i * k + j] = if i == j {
                1.0
            } else if var > 0.0 {
                (both[i * k + j] as f64 / n - p[i] * p[j]) / var.sqrt()
            } else {
                0.0
            };
        }
    }
    corr
}

/// Counts of Hamming distances (index = distance, `0..=K`) between distinct codes: every pair when there
/// are at most `max_pairs` of them, otherwise `max_pairs` pairs drawn with `seed`.
pub fn distance_histogram(book: &CodeBook, max_pairs: usize, seed: u64) -> Vec<u64> {
    let mut hist = vec![0u64; book.bits() + 1];
    let n = book.len();
    let all = n * n.saturating_sub(1) / 2;
    let mut add = |i: usize, j: usize| {
        hist[hamming_words(book.code_words(i), book.code_words(j)) as usize] += 1;
    };
    if all <= max_pairs {
        for i in 0..n {
            for j in i + 1..n {
                add(i, j);
            }
        }
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut drawn = 0;
        while drawn < max_pairs {
            let (i, j) = (rng.random_range(0..n), rng.random_range(0..n));
            if i != j {
                add(i, j);
                drawn += 1;
            }
        }
    }
    hist
}

/// Groups of codes linked by distances of at most `radius`, or by one of `links` (pairs of positions
/// another signal links, such as perceptual prints): connected components, so a chain of small steps
/// forms one group; each group sorted, groups ordered by their first member; single codes are left out.
/// `progress(done, total)` is called as the scan goes; setting `cancel` returns `None`.
pub fn near_duplicate_groups(
    book: &CodeBook,
    radius: u32,
    links: &[(usize, usize)],
    cancel: &std::sync::atomic::AtomicBool,
    mut progress: impl FnMut(usize, usize),
) -> Option<Vec<Vec<usize>>> {
    let n = book.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(a, b) in links.iter().filter(|&&(a, b)| a < n && b < n) {
        let (a, b) = (root(&mut parent, a), root(&mut parent, b));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let search = Search::default();
    let chunk = 256;
    for start in (0..n).step_by(chunk) {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let end = (start + chunk).min(n);
        let queries = book.select(&(start..end).collect::<Vec<_>>());
        let found = search
            .radius_batch(book, &queries, radius)
            .expect("same book, same length");
        for (q, neighbours) in found.into_iter().enumerate() {
            for nb in neighbours {
                let (a, b) = (root(&mut parent, start + q), root(&mut parent, nb.index));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
        progress(end, n);
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    Some(groups.into_values().filter(|g| g.len() > 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashCode;

    fn book(codes: &[&str]) -> CodeBook {
        let mut b = CodeBook::new(8).unwrap();
        for c in codes {
            b.push(&HashCode::parse_bits(c).unwrap()).unwrap();
        }
        b
    }

    #[test]
    fn balance_and_histogram_by_hand() {
        let b = book(&["10000000", "11000000", "11100000", "00000001"]);
        assert_eq!(
            bit_balance(&b),
            vec![0.75, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.25]
        );
        // Pairs: d(0,1)=1 d(0,2)=2 d(0,3)=2 d(1,2)=1 d(1,3)=3 d(2,3)=4.
        assert_eq!(
            distance_histogram(&b, 100, 0),
            vec![0, 2, 2, 1, 1, 0, 0, 0, 0]
        );
        // Sampled: as many pairs as asked, none of a code with itself.
        let sampled = distance_histogram(&b, 3, 0);
        assert_eq!((sampled.iter().sum::<u64>(), sampled[0]), (3, 0));
    }

    #[test]
    fn bit_correlation_by_hand() {
        // Over the four codes bit 0 = bit 1 = [1,1,0,0], bit 2 = [0,0,1,1] (bit 0 inverted), bit 3 =
        // [1,0,1,0] (p = 1/2 each, both 1 in 1/4: uncorrelated with bit 0), bit 4 constant.
        let b = book(&["11010000", "11000000", "00110000", "00100000"]);
        let c = bit_correlation(&b);
        let at = |i: usize, j: usize| c[i * 8 + j];
        assert_eq!(at(0, 1), 1.0);
        assert_eq!(at(0, 2), -1.0);
        assert_eq!(at(0, 3), 0.0);
        assert_eq!((at(4, 4), at(0, 4), at(4, 0)), (1.0, 0.0, 0.0));
        // An uneven pair by hand:
        let uneven = book(&["10000000", "11000000", "01000000", "00000000", "11000000"]);
        // bit0 = [1,1,0,0,1] (p 0.6), bit1 = [0,1,1,0,1] (p 0.6), both = 2/5:
        // (0.4 − 0.36) / (0.6·0.4) = 1/6.
        assert!((bit_correlation(&uneven)[1] - 1.0 / 6.0).abs() < 1e-12);
        for i in 0..8 {
            for j in 0..8 {
                assert_eq!(at(i, j), at(j, i));
            }
        }
    }

    #[test]
    fn groups_are_connected_components_within_the_radius() {
        let b = book(&[
            "00000000", // 0 ─┐
            "11111111", // 1  │        ┌ 4
            "00000001", // 2 ─┤ (chain) │
            "00000011", // 3 ─┘        │
            "11111110", // 4 ──────────┘ with 1
            "01010101", // 5 alone
        ]);
        let cancel = std::sync::atomic::AtomicBool::new(false);
        let groups = near_duplicate_groups(&b, 1, &[], &cancel, |_, _| {}).unwrap();
        assert_eq!(groups, vec![vec![0, 2, 3], vec![1, 4]]);
        // Another signal's link joins 5 to 4's group (and one out of range is ignored).
        let linked = near_duplicate_groups(&b, 1, &[(5, 4), (0, 99)], &cancel, |_, _| {}).unwrap();
        assert_eq!(linked, vec![vec![0, 2, 3], vec![1, 4, 5]]);
        cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(near_duplicate_groups(&b, 1, &[], &cancel, |_, _| {}).is_none());
    }
}
