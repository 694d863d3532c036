//! Exact Hamming search over a [`CodeBook`]: k nearest neighbours, radius queries and full rankings.
//!
//! Results are ordered by (distance, database index): ties are broken by position, so the same book and
//! query always give the same list (upstream deep-hashing code uses unstable sorts; see
//! ../shared/spec/methods.md §10.2).
//!
//! How top-k avoids sorting N items: the collector keeps a histogram over the K+1 possible distances of the
//! candidates it has accepted, and a limit `t` such that at least k accepted candidates lie at distance ≤ t.
//! A code at distance ≥ t can then never enter the result (k codes with smaller index are at least as close),
//! so the kernels reject it with one compare. `t` only shrinks; the candidate list stays O(k) by periodic
//! compaction, and the final ≤ k survivors are put in order by a counting sort over distances.
//!
//! Radius queries over large books can also go through a [`MultiIndex`], which finds the same codes
//! while looking at a few buckets (multi-index hashing).
//!
//! Parallelism uses rayon's current pool: run inside `ThreadPool::install` to choose the thread count.
//! Large books are split into chunks per query; batches of queries are answered in groups that share each
//! pass over the book (see `Search::batch`).

mod kernel;
mod multi_index;
mod neighbor;
mod select;

pub use kernel::Kernel;
pub use multi_index::MultiIndex;
pub use neighbor::Neighbor;

use rayon::prelude::*;

use crate::code::{CodeBook, CodeError, HashCode};
use select::{AllDistances, TopK, WithinRadius};

/// Books smaller than this are scanned by one thread per query: splitting costs more than it saves.
const PARALLEL_MIN_CODES: usize = 1 << 18;

/// Queries answered together in one pass over the book (see `Search::batch`).
const QUERY_GROUP: usize = 8;

/// Books up to this size are answered one whole query per task in batches: they stay in the last-level
/// cache, so grouping queries saves no memory traffic (`benchmarks/results/batch-search.md`).
const CACHED_BOOK_BYTES: usize = 16 << 20;

/// Bytes of codes scanned by every query of a group before moving on: well inside a core's L2 cache.
const BLOCK_BYTES: usize = 128 << 10;

/// A Hamming searcher bound to one scan kernel; `Search::default()` picks the fastest for this CPU.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    kernel: Kernel,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            kernel: Kernel::detect(),
        }
    }
}

impl Search {
    /// A searcher using `kernel`, or `None` if this CPU cannot run it.
    pub fn with_kernel(kernel: Kernel) -> Option<Self> {
        kernel.is_supported().then_some(Self { kernel })
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The `k` codes nearest to `query`, ordered by (distance, index).
    pub fn knn(
        &self,
        book: &CodeBook,
        query: &HashCode,
        k: usize,
    ) -> Result<Vec<Neighbor>, CodeError> {
        check(book, query)?;
        let bits = book.bits() as u32;
        Ok(self.single(book, query.words(), &|| TopK::new(k, bits), k))
    }

    /// All codes within Hamming distance `radius` (inclusive) of `query`, ordered by (distance, index).
    pub fn radius(
        &self,
        book: &CodeBook,
        query: &HashCode,
        radius: u32,
    ) -> Result<Vec<Neighbor>, CodeError> {
        check(book, query)?;
        let bits = book.bits() as u32;
        Ok(self.single(
            book,
            query.words(),
            &|| WithinRadius::new(radius, bits),
            usize::MAX,
        ))
    }

    /// `knn` for every code of `queries`, in parallel.
    pub fn knn_batch(
        &self,
        book: &CodeBook,
        queries: &CodeBook,
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, CodeError> {
        check_books(book, queries)?;
        let bits = book.bits() as u32;
        Ok(self.batch(book, queries, || TopK::new(k, bits), k))
    }

    /// `radius` for every code of `queries`, in parallel.
    pub fn radius_batch(
        &self,
        book: &CodeBook,
        queries: &CodeBook,
        radius: u32,
    ) -> Result<Vec<Vec<Neighbor>>, CodeError> {
        check_books(book, queries)?;
        let bits = book.bits() as u32;
        Ok(self.batch(
            book,
            queries,
            || WithinRadius::new(radius, bits),
            usize::MAX,
        ))
    }

    /// Answers many queries. With fewer queries than threads, each query is split across threads. A book
    /// that fits in the cache is scanned by each query on its own thread. Otherwise queries are answered
    /// in groups, one group per task: the book is streamed once per group
    /// in cache-sized blocks and every query of the group scans a block while it is in cache, so memory
    /// traffic falls by the group size (single queries over a large book are memory-bound).
    fn batch<C, F>(
        &self,
        book: &CodeBook,
        queries: &CodeBook,
        make: F,
        k: usize,
    ) -> Vec<Vec<Neighbor>>
    where
        C: select::Finish,
        F: Fn() -> C + Sync,
    {
        let query_words: Vec<&[u64]> = queries.iter_words().collect();
        if queries.len() < rayon::current_num_threads() {
            return query_words
                .into_iter()
                .map(|q| self.single(book, q, &make, k))
                .collect();
        }
        let w = book.words_per_code();
        if book.words().len() * 8 <= CACHED_BOOK_BYTES {
            // The book stays in the shared cache: streaming it once per group saves nothing, and one
            // whole query per task keeps the threads busiest.
            return query_words
                .par_iter()
                .map(|q| {
                    let mut c = make();
                    self.kernel.scan(book.words(), w, q, 0, &mut c);
                    let mut found = c.finish();
                    found.truncate(k);
                    found
                })
                .collect();
        }
        let block_codes = (BLOCK_BYTES / (8 * w)).max(1);
        let groups: Vec<Vec<Vec<Neighbor>>> = query_words
            .par_chunks(QUERY_GROUP)
            .map(|group| {
                let mut collectors: Vec<C> = group.iter().map(|_| make()).collect();
                for (b, block) in book.words().chunks(block_codes * w).enumerate() {
                    for (q, c) in group.iter().zip(&mut collectors) {
                        self.kernel.scan(block, w, q, b * block_codes, c);
                    }
                }
                collectors.into_iter().map(|c| c.finish()).collect()
            })
            .collect();
        groups.into_iter().flatten().collect()
    }

    /// The distance from `query` to every code of the book, in book order (single-threaded).
    pub fn distances_into(&self, book: &CodeBook, query: &[u64], out: &mut Vec<u32>) {
        out.clear();
        out.resize(book.len(), 0);
        let mut all = AllDistances { out };
        self.kernel
            .scan(book.words(), book.words_per_code(), query, 0, &mut all);
    }

    /// One query, split across threads when the book is large.
    fn single<C, F>(&self, book: &CodeBook, q: &[u64], make: &F, k: usize) -> Vec<Neighbor>
    where
        C: select::Finish,
        F: Fn() -> C + Sync,
    {
        let w = book.words_per_code();
        let threads = rayon::current_num_threads();
        if threads == 1 || book.len() < PARALLEL_MIN_CODES {
            let mut c = make();
            self.kernel.scan(book.words(), w, q, 0, &mut c);
            let mut found = c.finish();
            found.truncate(k);
            return found;
        }
        let chunk_codes = book.len().div_ceil(threads * 4).max(PARALLEL_MIN_CODES / 4);
        let parts = book
            .words()
            .par_chunks(chunk_codes * w)
            .enumerate()
            .map(|(n, words)| {
                let mut c = make();
                self.kernel.scan(words, w, q, n * chunk_codes, &mut c);
                c.finish()
            })
            .collect();
        select::merge_sorted(parts, k)
    }
}

/// A query must have the book's code length.
pub(super) fn check(book: &CodeBook, query: &HashCode) -> Result<(), CodeError> {
    if book.bits() != query.bits() {
        return Err(CodeError::Mismatch(book.bits(), query.bits()));
    }
    Ok(())
}

fn check_books(book: &CodeBook, queries: &CodeBook) -> Result<(), CodeError> {
    if book.bits() != queries.bits() {
        return Err(CodeError::Mismatch(book.bits(), queries.bits()));
    }
    Ok(())
}

/// `Search::default().knn(…)`.
pub fn knn(book: &CodeBook, query: &HashCode, k: usize) -> Result<Vec<Neighbor>, CodeError> {
    Search::default().knn(book, query, k)
}

/// `Search::default().radius(…)`.
pub fn radius(book: &CodeBook, query: &HashCode, radius: u32) -> Result<Vec<Neighbor>, CodeError> {
    Search::default().radius(book, query, radius)
}

/// The whole book ranked by (distance, index) for one query: a stable counting sort over the K+1
/// distances, O(N + K). `dist` is scratch space reused between calls.
pub fn rank_all(
    search: &Search,
    book: &CodeBook,
    query: &[u64],
    dist: &mut Vec<u32>,
) -> Vec<Neighbor> {
    search.distances_into(book, query, dist);
    select::counting_sort(
        dist.iter().enumerate().map(|(i, &d)| Neighbor {
            distance: d,
            index: i,
        }),
        dist.len(),
        book.bits() as u32,
    )
}
