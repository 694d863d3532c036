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
//! Parallelism uses rayon's current pool: run inside `ThreadPool::install` to choose the thread count.
//! Large books are split into chunks per query; batches of queries are spread over threads instead.

mod kernel;
mod select;

pub use kernel::Kernel;

use rayon::prelude::*;

use crate::code::{CodeBook, CodeError, HashCode};
use select::{AllDistances, TopK, WithinRadius};

/// One search result.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Neighbor {
    /// Hamming distance to the query (compared first).
    pub distance: u32,
    /// Position of the code in the book.
    pub index: usize,
}

/// Books smaller than this are scanned by one thread per query: splitting costs more than it saves.
const PARALLEL_MIN_CODES: usize = 1 << 18;

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
        Ok(self.knn_words(book, query.words(), k, true))
    }

    /// All codes within Hamming distance `radius` (inclusive) of `query`, ordered by (distance, index).
    pub fn radius(
        &self,
        book: &CodeBook,
        query: &HashCode,
        radius: u32,
    ) -> Result<Vec<Neighbor>, CodeError> {
        check(book, query)?;
        Ok(self.radius_words(book, query.words(), radius, true))
    }

    /// `knn` for every code of `queries`, in parallel.
    pub fn knn_batch(
        &self,
        book: &CodeBook,
        queries: &CodeBook,
        k: usize,
    ) -> Result<Vec<Vec<Neighbor>>, CodeError> {
        check_books(book, queries)?;
        let split = queries.len() < rayon::current_num_threads();
        Ok(queries
            .iter_words()
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|q| self.knn_words(book, q, k, split))
            .collect())
    }

    /// `radius` for every code of `queries`, in parallel.
    pub fn radius_batch(
        &self,
        book: &CodeBook,
        queries: &CodeBook,
        radius: u32,
    ) -> Result<Vec<Vec<Neighbor>>, CodeError> {
        check_books(book, queries)?;
        let split = queries.len() < rayon::current_num_threads();
        Ok(queries
            .iter_words()
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|q| self.radius_words(book, q, radius, split))
            .collect())
    }

    /// The distance from `query` to every code of the book, in book order (single-threaded).
    pub fn distances_into(&self, book: &CodeBook, query: &[u64], out: &mut Vec<u32>) {
        out.clear();
        out.resize(book.len(), 0);
        let mut all = AllDistances { out };
        self.kernel
            .scan(book.words(), book.words_per_code(), query, 0, &mut all);
    }

    pub(crate) fn knn_words(
        &self,
        book: &CodeBook,
        q: &[u64],
        k: usize,
        split: bool,
    ) -> Vec<Neighbor> {
        let bits = book.bits() as u32;
        let parts = self.scan_parts(book, q, split, || TopK::new(k, bits));
        select::merge_sorted(parts, k)
    }

    pub(crate) fn radius_words(
        &self,
        book: &CodeBook,
        q: &[u64],
        radius: u32,
        split: bool,
    ) -> Vec<Neighbor> {
        let bits = book.bits() as u32;
        let parts = self.scan_parts(book, q, split, || WithinRadius::new(radius, bits));
        select::merge_sorted(parts, usize::MAX)
    }

    /// Scans the book with one collector per chunk (one chunk unless `split` and the book is large) and
    /// returns each chunk's sorted results.
    fn scan_parts<C, F>(
        &self,
        book: &CodeBook,
        q: &[u64],
        split: bool,
        make: F,
    ) -> Vec<Vec<Neighbor>>
    where
        C: select::Finish,
        F: Fn() -> C + Sync,
    {
        let w = book.words_per_code();
        let threads = rayon::current_num_threads();
        if !split || threads == 1 || book.len() < PARALLEL_MIN_CODES {
            let mut c = make();
            self.kernel.scan(book.words(), w, q, 0, &mut c);
            return vec![c.finish()];
        }
        let chunk_codes = book.len().div_ceil(threads * 4).max(PARALLEL_MIN_CODES / 4);
        book.words()
            .par_chunks(chunk_codes * w)
            .enumerate()
            .map(|(n, words)| {
                let mut c = make();
                self.kernel.scan(words, w, q, n * chunk_codes, &mut c);
                c.finish()
            })
            .collect()
    }
}

fn check(book: &CodeBook, query: &HashCode) -> Result<(), CodeError> {
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
