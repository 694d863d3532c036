//! Multi-index hashing: exact radius search that looks at a few buckets instead of every code (Norouzi,
//! Punjani and Fleet, "Fast Exact Search in Hamming Space with Multi-Index Hashing", TPAMI 2014).
//!
//! Each code is cut into `m` contiguous substrings, and each substring position gets a table from the
//! substring's value to the codes that have it. If two codes differ in at most `r` bits, then writing
//! `r = m·s + a` (`0 ≤ a < m`), one of the first `a + 1` substrings differs in at most `s` bits, or one of
//! the others in at most `s − 1`: otherwise the differences would add up to at least
//! `(a + 1)(s + 1) + (m − a − 1)s = r + 1`. So the search visits, in each table, the buckets of every value
//! within that many bits of the query's substring, and checks the candidates' full distance. The result is
//! exactly the exact scan's, in the same order (distance, then position).
//!
//! Substrings are about `log2(N)` bits wide (at most [`MAX_WIDTH`]), so that a bucket holds about one code
//! of uniformly spread codes. Real codes cluster, their buckets are uneven, and the gain is smaller: the
//! measured figures for both are in `benchmarks/results/radius-search.md`. A table is `2^width + 1`
//! bucket starts and one `u32` per code; an index is built in O(N·m) and kept in memory.

use rayon::prelude::*;

use super::Neighbor;
use crate::code::{CodeBook, CodeError, HashCode, hamming_words};

/// Widest substring: 2^24 bucket starts take 64 MiB per table.
pub const MAX_WIDTH: usize = 24;

/// Narrowest substring.
const MIN_WIDTH: usize = 4;

/// What looking in one bucket costs, and checking one candidate found there (a random access, then
/// sorting), in codes of one word the exact scan reads in the same time. Fitted on CIFAR-10's codes
/// (`benchmarks/results/radius-search.md`): 60,000 codes scan in 13 µs; 428 buckets and 925 candidates
/// took 20 µs. A query whose buckets would cost more than the scan is answered by the scan.
const PROBE_COST: usize = 40;
const CANDIDATE_COST: usize = 60;

/// Substring tables over one book of codes; searches must pass that same book.
pub struct MultiIndex {
    bits: usize,
    len: usize,
    tables: Vec<Table>,
}

/// One substring position: codes sorted by their substring's value, and where each value's bucket starts.
struct Table {
    /// First bit of the substring.
    lo: usize,
    width: usize,
    starts: Vec<u32>,
    ids: Vec<u32>,
}

impl MultiIndex {
    /// Tables for `book`, with the number of substrings chosen for its size.
    pub fn build(book: &CodeBook) -> Self {
        Self::with_substrings(book, Self::substrings_for(book.bits(), book.len()))
    }

    /// The number of substrings for `n` codes of `bits` bits: about `bits / log2(n)`, each at most
    /// [`MAX_WIDTH`] bits wide.
    pub fn substrings_for(bits: usize, n: usize) -> usize {
        let log_n = (n.max(2) as f64).log2();
        let m = (bits as f64 / log_n).round() as usize;
        m.max(bits.div_ceil(MAX_WIDTH)).min(bits / MIN_WIDTH).max(1)
    }

    /// Tables for `book` cut into `m` substrings of nearly equal widths (panics unless each is 1 to
    /// [`MAX_WIDTH`] bits wide, or the book has more than `u32::MAX` codes).
    pub fn with_substrings(book: &CodeBook, m: usize) -> Self {
        let bits = book.bits();
        assert!(
            m >= 1 && bits.div_ceil(m) <= MAX_WIDTH && bits / m >= 1,
            "{m} substrings of a {bits}-bit code"
        );
        assert!(u32::try_from(book.len()).is_ok(), "too many codes");
        let mut bounds = Vec::with_capacity(m);
        let mut lo = 0;
        for j in 0..m {
            let width = bits / m + usize::from(j < bits % m);
            bounds.push((lo, width));
            lo += width;
        }
        let tables = bounds
            .into_par_iter()
            .map(|(lo, width)| Table::build(book, lo, width))
            .collect();
        Self {
            bits,
            len: book.len(),
            tables,
        }
    }

    /// How many substrings codes are cut into.
    pub fn substrings(&self) -> usize {
        self.tables.len()
    }

    /// Memory held by the tables, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| 4 * (t.starts.len() + t.ids.len()))
            .sum()
    }

    /// Every code of `book` within `radius` bits of `query`, ordered by (distance, index): the same list
    /// as [`super::Search::radius`]. `book` must be the book the tables were built from.
    pub fn radius(
        &self,
        book: &CodeBook,
        query: &HashCode,
        radius: u32,
    ) -> Result<Vec<Neighbor>, CodeError> {
        super::check(book, query)?;
        assert!(
            book.bits() == self.bits && book.len() == self.len,
            "a multi-index is searched with the book it was built from"
        );
        let q = query.words();
        // Counting the candidates first costs a look at each bucket's bounds; when they are many (codes
        // crowd around the query, or the radius is wide), checking them at random costs more than
        // streaming every code, and the scan answers instead.
        let (mut probes, mut count) = (0usize, 0usize);
        self.each_bucket(q, radius, |ids| {
            probes += 1;
            count += ids.len();
        });
        let buckets_cost = probes * PROBE_COST + count * CANDIDATE_COST;
        if buckets_cost > self.len * book.words_per_code() {
            return super::Search::default().radius(book, query, radius);
        }
        Ok(self.radius_by_buckets(book, q, radius, count))
    }

    /// The codes within `radius` of the code `q` among the candidates of its buckets.
    fn radius_by_buckets(
        &self,
        book: &CodeBook,
        q: &[u64],
        radius: u32,
        count: usize,
    ) -> Vec<Neighbor> {
        let mut candidates: Vec<u32> = Vec::with_capacity(count);
        self.each_bucket(q, radius, |ids| candidates.extend_from_slice(ids));
        candidates.sort_unstable();
        candidates.dedup();
        let mut found: Vec<Neighbor> = candidates
            .into_iter()
            .filter_map(|i| {
                let i = i as usize;
                let d = hamming_words(book.code_words(i), q);
                (d <= radius).then_some(Neighbor {
                    distance: d,
                    index: i,
                })
            })
            .collect();
        found.sort_unstable_by_key(|n| (n.distance, n.index));
        found
    }
}

impl MultiIndex {
    /// Calls `f` with every bucket a search within `radius` of the code `q` must look in.
    fn each_bucket(&self, q: &[u64], radius: u32, mut f: impl FnMut(&[u32])) {
        let m = self.tables.len();
        let r = radius as usize;
        let (s, a) = (r / m, r % m);
        for (j, table) in self.tables.iter().enumerate() {
            let within = if j <= a {
                s
            } else if s > 0 {
                s - 1
            } else {
                continue;
            };
            let key = substring(q, table.lo, table.width);
            each_within(key, table.width, within, &mut |k| {
                let k = k as usize;
                f(&table.ids[table.starts[k] as usize..table.starts[k + 1] as usize]);
            });
        }
    }
}

impl Table {
    /// Counting sort of the codes by their substring's value.
    fn build(book: &CodeBook, lo: usize, width: usize) -> Self {
        let buckets = 1usize << width;
        let keys: Vec<u32> = book.iter_words().map(|w| substring(w, lo, width)).collect();
        let mut starts = vec![0u32; buckets + 1];
        for &k in &keys {
            starts[k as usize + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let mut next = starts.clone();
        let mut ids = vec![0u32; keys.len()];
        for (i, &k) in keys.iter().enumerate() {
            let slot = &mut next[k as usize];
            ids[*slot as usize] = i as u32;
            *slot += 1;
        }
        Self {
            lo,
            width,
            starts,
            ids,
        }
    }
}

/// Bits `lo..lo + width` of a packed code (`width ≤ 32`).
fn substring(words: &[u64], lo: usize, width: usize) -> u32 {
    let (w, shift) = (lo / 64, lo % 64);
    let mut v = words[w] >> shift;
    if shift + width > 64 {
        v |= words[w + 1] << (64 - shift);
    }
    (v & ((1u64 << width) - 1)) as u32
}

/// Calls `f` with every `width`-bit value within `t` bits of `key` (each once).
fn each_within(key: u32, width: usize, t: usize, f: &mut impl FnMut(u32)) {
    fn flip(v: u32, from: usize, width: usize, left: usize, f: &mut impl FnMut(u32)) {
        f(v);
        if left == 0 {
            return;
        }
        for b in from..width {
            flip(v ^ (1 << b), b + 1, width, left - 1, f);
        }
    }
    flip(key, 0, width, t.min(width), f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Search;

    #[test]
    fn values_within_a_distance_are_each_visited_once() {
        let mut seen = Vec::new();
        each_within(0b0101, 4, 2, &mut |v| seen.push(v));
        // 1 + 4 + 6 values within 2 bits of a 4-bit key.
        assert_eq!(seen.len(), 11);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 11);
        assert!(seen.iter().all(|v| (v ^ 0b0101).count_ones() <= 2));
    }

    #[test]
    fn substrings_cross_word_boundaries() {
        let words = [0xF000_0000_0000_0000u64, 0b1011];
        assert_eq!(substring(&words, 60, 8), 0b1011_1111);
        assert_eq!(substring(&words, 0, 4), 0);
        assert_eq!(substring(&words, 64, 3), 0b011);
    }

    #[test]
    fn the_substring_count_follows_the_book_size() {
        assert_eq!(MultiIndex::substrings_for(64, 1 << 20), 3);
        assert_eq!(MultiIndex::substrings_for(64, 10_000_000), 3);
        assert_eq!(MultiIndex::substrings_for(128, 10_000_000), 6);
        assert_eq!(MultiIndex::substrings_for(64, 2), 16);
        assert_eq!(MultiIndex::substrings_for(8, 1), 2);
    }

    /// Codes clustered around a few centres, the way real codes are: buckets are uneven.
    fn clustered(bits: usize, n: usize) -> CodeBook {
        let centres = CodeBook::random(bits, 5, 1).unwrap();
        let noise = CodeBook::random(bits, n, 2).unwrap();
        let mut book = CodeBook::new(bits).unwrap();
        for i in 0..n {
            // Keep a centre's bits except where two of four noise words agree (about 1 in 4 bits flips).
            let c = centres.code_words(i % 5);
            let e = noise.code_words(i);
            let f = noise.code_words((i * 7 + 3) % n);
            let words: Vec<u64> = (0..c.len())
                .map(|w| c[w] ^ (e[w] & f[w] & (e[w] >> 1)))
                .collect();
            book.push(&HashCode::from_words(bits, &words).unwrap())
                .unwrap();
        }
        book
    }

    #[test]
    fn results_equal_the_exact_scan() {
        let scan = Search::default();
        for (bits, book) in [
            (64, CodeBook::random(64, 3000, 5).unwrap()),
            (72, CodeBook::random(72, 2000, 6).unwrap()),
            (128, clustered(128, 3000)),
            (64, clustered(64, 3000)),
        ] {
            let queries = CodeBook::random(bits, 4, 9).unwrap();
            // Narrow substrings keep the tables small enough for a unit test.
            for m in [4, 5, 8, MultiIndex::substrings_for(bits, book.len())] {
                if bits.div_ceil(m) > 16 {
                    continue;
                }
                let mih = MultiIndex::with_substrings(&book, m);
                for q in (0..6).map(|i| book.get(i * 97)).chain(
                    queries
                        .iter_words()
                        .map(|w| HashCode::from_words(bits, w).unwrap()),
                ) {
                    for r in [0, 1, 2, 3, 4, 6, 8, 13, 25] {
                        let exact = scan.radius(&book, &q, r).unwrap();
                        assert_eq!(mih.radius(&book, &q, r).unwrap(), exact);
                        // The buckets alone, where `radius` would have scanned instead.
                        let by_buckets = mih.radius_by_buckets(&book, q.words(), r, 0);
                        assert_eq!(by_buckets, exact, "{bits} bits, {m} substrings, radius {r}");
                    }
                }
            }
        }
    }
}
