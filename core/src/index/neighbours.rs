//! The one neighbours query on an index, shared by `hashlens search`, the app's results and the flip
//! test: the k nearest photos or every photo within a radius, ordered by (distance, position), with the
//! query photo itself left out when it is in the index.
//!
//! Many radius queries over a large index go through a [`MultiIndex`]: building its tables costs about
//! as much as 150–250 scans (0.40 s for 10M codes, 0.05 s for 1M; `benchmarks/results/radius-search.md`),
//! and each query then looks at a few buckets. Results are the same either way.

use super::CodeIndex;
use crate::code::{CodeBook, CodeError, HashCode};
use crate::search::{MultiIndex, Neighbor, Search};

/// Radius queries in one batch from which the multi-index pays for its tables.
const MULTI_INDEX_MIN_QUERIES: usize = 256;

/// Books smaller than this are scanned: they stay in the cache, where a scan is as quick as the buckets.
const MULTI_INDEX_MIN_CODES: usize = 1 << 16;

/// What to find around a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Around {
    /// The k nearest photos.
    Nearest(usize),
    /// Every photo within this Hamming distance.
    Within(u32),
}

impl CodeIndex {
    /// The photos around `code`, leaving out the photo at `exclude` (the query itself when it is in the
    /// index): with [`Around::Nearest`] still k of them where the index has that many others.
    pub fn neighbours(
        &self,
        code: &HashCode,
        around: Around,
        exclude: Option<usize>,
    ) -> Result<Vec<Neighbor>, CodeError> {
        neighbours(self.codes(), code, around, exclude)
    }

    /// How far the nearest photo other than `exclude` is from `code`: the radius a search must reach to
    /// find anything. `None` for an index without other photos.
    pub fn nearest_distance(
        &self,
        code: &HashCode,
        exclude: Option<usize>,
    ) -> Result<Option<u32>, CodeError> {
        Ok(self
            .neighbours(code, Around::Nearest(1), exclude)?
            .first()
            .map(|n| n.distance))
    }
}

/// [`CodeIndex::neighbours`] over any book of codes (the mapped index's too).
pub(super) fn neighbours(
    codes: &CodeBook,
    code: &HashCode,
    around: Around,
    exclude: Option<usize>,
) -> Result<Vec<Neighbor>, CodeError> {
    let mut one = CodeBook::new(code.bits())?;
    one.push(code)?;
    Ok(neighbours_batch(codes, &one, around, &[exclude])?.remove(0))
}

/// The neighbours of every code of `queries`, leaving out `exclude[q]` from query `q`'s.
pub(super) fn neighbours_batch(
    codes: &CodeBook,
    queries: &CodeBook,
    around: Around,
    exclude: &[Option<usize>],
) -> Result<Vec<Vec<Neighbor>>, CodeError> {
    assert_eq!(queries.len(), exclude.len(), "one exclusion per query");
    let search = Search::default();
    let mut found = match around {
        Around::Within(r)
            if queries.len() >= MULTI_INDEX_MIN_QUERIES
                && codes.len() >= MULTI_INDEX_MIN_CODES
                && r <= (codes.bits() / 8) as u32 =>
        {
            use rayon::prelude::*;
            let tables = MultiIndex::build(codes);
            let bits = queries.bits();
            queries
                .iter_words()
                .collect::<Vec<_>>()
                .par_iter()
                .map(|w| tables.radius(codes, &HashCode::from_words(bits, w)?, r))
                .collect::<Result<_, _>>()?
        }
        Around::Within(r) => search.radius_batch(codes, queries, r)?,
        Around::Nearest(k) => {
            // One more covers a query photo, which is left out.
            let extra = usize::from(exclude.iter().any(Option::is_some));
            search.knn_batch(codes, queries, k.saturating_add(extra))?
        }
    };
    for (hits, &left_out) in found.iter_mut().zip(exclude) {
        hits.retain(|n| Some(n.index) != left_out);
        if let Around::Nearest(k) = around {
            hits.truncate(k);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexedPhoto;

    #[test]
    fn many_radius_queries_through_the_multi_index_find_what_the_scan_finds() {
        let codes = CodeBook::random(64, MULTI_INDEX_MIN_CODES + 100, 3).unwrap();
        // Codes of the book, each with a few bits flipped, so that each finds itself and its neighbours.
        let mut queries = CodeBook::new(64).unwrap();
        for i in 0..MULTI_INDEX_MIN_QUERIES {
            let w = codes.code_words(i * 250)[0] ^ (0b1011 << (i % 60));
            queries
                .push(&HashCode::from_words(64, &[w]).unwrap())
                .unwrap();
        }
        let exclude: Vec<Option<usize>> = (0..queries.len()).map(|i| Some(i * 250 + 1)).collect();
        for r in [3, 8] {
            let fast = neighbours_batch(&codes, &queries, Around::Within(r), &exclude).unwrap();
            let scan = Search::default().radius_batch(&codes, &queries, r).unwrap();
            for ((f, mut s), ex) in fast.into_iter().zip(scan).zip(&exclude) {
                s.retain(|n| Some(n.index) != *ex);
                assert_eq!(f, s, "radius {r}");
            }
        }
    }

    /// Four photos at codes 0000_0000, 0000_0001, 0000_0011 and 1111_1111 (8 bits).
    fn index() -> CodeIndex {
        let mut index = CodeIndex::new(8, "m").unwrap();
        for (i, byte) in [0u8, 1, 3, 255].into_iter().enumerate() {
            let photo = IndexedPhoto {
                path: format!("/p/{i}.jpg").into(),
                size: 1,
                mtime_ns: 0,
            };
            index
                .push(photo, &HashCode::from_bytes(8, &[byte]).unwrap())
                .unwrap();
        }
        index
    }

    #[test]
    fn the_query_photo_is_left_out_and_k_still_found() {
        let index = index();
        let code = index.codes().get(0);
        let found = |around, exclude| -> Vec<(usize, u32)> {
            index
                .neighbours(&code, around, exclude)
                .unwrap()
                .iter()
                .map(|n| (n.index, n.distance))
                .collect()
        };
        assert_eq!(found(Around::Nearest(2), Some(0)), [(1, 1), (2, 2)]);
        assert_eq!(found(Around::Nearest(2), None), [(0, 0), (1, 1)]);
        assert_eq!(found(Around::Within(2), Some(0)), [(1, 1), (2, 2)]);
        assert_eq!(found(Around::Within(0), Some(0)), []);
        assert_eq!(found(Around::Nearest(10), Some(0)).len(), 3);
        assert_eq!(index.nearest_distance(&code, Some(0)).unwrap(), Some(1));
        let far = HashCode::from_bytes(8, &[255]).unwrap();
        assert_eq!(index.nearest_distance(&far, Some(3)).unwrap(), Some(6));
    }
}
