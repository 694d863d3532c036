//! Collectors that turn a stream of (index, distance) into ordered results without sorting N items.

use super::kernel::Collector;
use super::neighbor::Neighbor;

/// A collector that can hand over its results ordered by (distance, index).
pub(crate) trait Finish: Collector + Send {
    fn finish(self) -> Vec<Neighbor>;
}

/// Top-k by (distance, index), fed in index order (see the module docs of `search` for the invariant).
pub(crate) struct TopK {
    k: usize,
    /// Accepted candidates per distance; only entries below `limit` are kept exact.
    hist: Vec<u32>,
    /// Codes with distance ≥ `limit` cannot enter the result.
    limit: u32,
    /// Accepted candidates with distance < `limit`; always < k.
    below: usize,
    candidates: Vec<Neighbor>,
}

impl TopK {
    pub(crate) fn new(k: usize, bits: u32) -> Self {
        Self {
            k,
            hist: vec![0; bits as usize + 1],
            // With k = 0 nothing is ever accepted.
            limit: if k == 0 { 0 } else { bits + 1 },
            below: 0,
            candidates: Vec::with_capacity(k.min(1 << 16) * 2),
        }
    }

    /// Drops candidates that can no longer be in the result: those beyond the limit, and those at the limit
    /// after the first `k - below` (earlier indices win ties).
    fn compact(&mut self) {
        let limit = self.limit;
        let mut at_limit = self.k - self.below;
        self.candidates.retain(|n| {
            if n.distance < limit {
                true
            } else if n.distance == limit && at_limit > 0 {
                at_limit -= 1;
                true
            } else {
                false
            }
        });
    }
}

impl Collector for TopK {
    #[inline]
    fn limit(&self) -> u32 {
        self.limit
    }

    #[inline]
    fn offer(&mut self, index: usize, distance: u32) {
        self.hist[distance as usize] += 1;
        self.below += 1;
        self.candidates.push(Neighbor { distance, index });
        // While k candidates lie below the limit, everything at the limit is beaten: lower it.
        while self.below >= self.k {
            self.limit -= 1;
            self.below -= self.hist[self.limit as usize] as usize;
        }
        if self.candidates.len() >= self.k.saturating_mul(4).saturating_add(64) {
            self.compact();
        }
    }
}

impl Finish for TopK {
    fn finish(mut self) -> Vec<Neighbor> {
        self.compact();
        let bits = self.hist.len() as u32 - 1;
        let n = self.candidates.len();
        counting_sort(self.candidates.into_iter(), n, bits)
    }
}

/// Every code within a radius (inclusive).
pub(crate) struct WithinRadius {
    limit: u32,
    bits: u32,
    found: Vec<Neighbor>,
}

impl WithinRadius {
    pub(crate) fn new(radius: u32, bits: u32) -> Self {
        Self {
            limit: radius.min(bits) + 1,
            bits,
            found: Vec::new(),
        }
    }
}

impl Collector for WithinRadius {
    #[inline]
    fn limit(&self) -> u32 {
        self.limit
    }

    #[inline]
    fn offer(&mut self, index: usize, distance: u32) {
        self.found.push(Neighbor { distance, index });
    }
}

impl Finish for WithinRadius {
    fn finish(self) -> Vec<Neighbor> {
        let n = self.found.len();
        counting_sort(self.found.into_iter(), n, self.bits)
    }
}

/// Writes every distance into a slice indexed by position.
pub(crate) struct AllDistances<'a> {
    pub(crate) out: &'a mut [u32],
}

impl Collector for AllDistances<'_> {
    #[inline]
    fn limit(&self) -> u32 {
        u32::MAX
    }

    #[inline]
    fn offer(&mut self, index: usize, distance: u32) {
        self.out[index] = distance;
    }
}

/// Stable counting sort by distance of `n` items already in index order.
pub(crate) fn counting_sort(
    items: impl Iterator<Item = Neighbor> + Clone,
    n: usize,
    bits: u32,
) -> Vec<Neighbor> {
    let mut start = vec![0usize; bits as usize + 2];
    for it in items.clone() {
        start[it.distance as usize + 1] += 1;
    }
    for d in 1..start.len() {
        start[d] += start[d - 1];
    }
    let mut out = vec![
        Neighbor {
            distance: 0,
            index: 0
        };
        n
    ];
    for it in items {
        let slot = &mut start[it.distance as usize];
        out[*slot] = it;
        *slot += 1;
    }
    out
}

/// Merges per-chunk sorted results (chunks in index order) and keeps the first `k`.
pub(crate) fn merge_sorted(parts: Vec<Vec<Neighbor>>, k: usize) -> Vec<Neighbor> {
    let mut all: Vec<Neighbor> = parts.into_iter().flatten().collect();
    // Neighbor orders by (distance, index): exactly the result order.
    all.sort_unstable();
    all.truncate(k);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<C: Finish>(mut c: C, distances: &[u32]) -> Vec<(u32, usize)> {
        for (i, &d) in distances.iter().enumerate() {
            if d < c.limit() {
                c.offer(i, d);
            }
        }
        c.finish()
            .into_iter()
            .map(|n| (n.distance, n.index))
            .collect()
    }

    #[test]
    fn top_k_by_hand() {
        let d = [5, 3, 8, 3, 0, 5, 3, 1];
        assert_eq!(run(TopK::new(3, 8), &d), vec![(0, 4), (1, 7), (3, 1)]);
        assert_eq!(
            run(TopK::new(5, 8), &d),
            vec![(0, 4), (1, 7), (3, 1), (3, 3), (3, 6)]
        );
        assert_eq!(run(TopK::new(0, 8), &d), vec![]);
        assert_eq!(run(TopK::new(100, 8), &d).len(), 8);
    }

    #[test]
    fn radius_by_hand() {
        let d = [5, 3, 8, 3, 0, 5, 3, 1];
        assert_eq!(
            run(WithinRadius::new(3, 8), &d),
            vec![(0, 4), (1, 7), (3, 1), (3, 3), (3, 6)]
        );
        assert_eq!(run(WithinRadius::new(0, 8), &d), vec![(0, 4)]);
        assert_eq!(run(WithinRadius::new(99, 8), &d).len(), 8);
    }

    #[test]
    fn compaction_keeps_earliest_ties() {
        // Many equal distances force several compactions.
        let d: Vec<u32> = (0..10_000)
            .map(|i| if i % 97 == 0 { 1 } else { 2 })
            .collect();
        let got = run(TopK::new(150, 4), &d);
        let mut want: Vec<(u32, usize)> = d.iter().copied().zip(0..).collect();
        want.sort();
        want.truncate(150);
        assert_eq!(got, want);
    }
}
