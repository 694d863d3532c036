//! A near-duplicate verdict from two distances at once: the learned code's and a perceptual hash's
//! (pHash). Each signal misses edits the other survives: the codes keep mirrored and resized copies
//! close, pHash (brightness at 32 × 32, its lowest frequencies) keeps greyscale, contrast and re-saved
//! copies close. The rule measured here says "near-duplicate" when either distance is within its own
//! threshold; both thresholds are chosen together, the pair with the highest recall whose precision is
//! still at least the one asked (ties: fewer other photos that close).
//!
//! Counted like [`super::EditPairs`]: every (edited copy, original) pair, right when the copy is an
//! edit of that original.

use serde::{Deserialize, Serialize};

/// Every (edited copy, original) pair by both distances.
#[derive(Clone, Debug)]
pub struct TwoSignalPairs {
    code_bits: usize,
    perceptual_bits: usize,
    /// `[code distance][perceptual distance]` counts, row-major, `(code_bits + 1) × (perceptual_bits + 1)`.
    own: Vec<usize>,
    other: Vec<usize>,
    copies: usize,
}

/// The rule "code distance ≤ `code_within` or perceptual distance ≤ `perceptual_within`" scored on
/// [`TwoSignalPairs`]; `None` for a signal the rule does not use.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EitherScore {
    pub code_within: Option<u32>,
    pub perceptual_within: Option<u32>,
    pub precision: f64,
    pub recall: f64,
    /// Of the pairs of an edited copy and another photo, the share the rule calls near-duplicates.
    pub false_match_rate: f64,
}

impl EitherScore {
    /// Whether the rule calls a pair at these distances near-duplicates.
    pub fn covers(&self, code: u32, perceptual: u32) -> bool {
        self.code_within.is_some_and(|t| code <= t)
            || self.perceptual_within.is_some_and(|t| perceptual <= t)
    }
}

impl TwoSignalPairs {
    pub fn new(code_bits: usize, perceptual_bits: usize) -> Self {
        let cells = (code_bits + 1) * (perceptual_bits + 1);
        Self {
            code_bits,
            perceptual_bits,
            own: vec![0; cells],
            other: vec![0; cells],
            copies: 0,
        }
    }

    /// One edited copy's distances to every original, by code and by perceptual hash (the same order);
    /// `own` is its original.
    pub fn add(&mut self, code: &[u32], perceptual: &[u32], own: usize) {
        assert_eq!(
            code.len(),
            perceptual.len(),
            "one pair of distances per original"
        );
        self.copies += 1;
        let width = self.perceptual_bits + 1;
        for (j, (&a, &b)) in code.iter().zip(perceptual).enumerate() {
            let cell =
                (a as usize).min(self.code_bits) * width + (b as usize).min(self.perceptual_bits);
            if j == own {
                self.own[cell] += 1;
            } else {
                self.other[cell] += 1;
            }
        }
    }

    /// The rule with these thresholds (`None`: the signal says nothing).
    pub fn score(&self, code_within: Option<u32>, perceptual_within: Option<u32>) -> EitherScore {
        let width = self.perceptual_bits + 1;
        let mut rule = EitherScore {
            code_within,
            perceptual_within,
            precision: 0.0,
            recall: 0.0,
            false_match_rate: 0.0,
        };
        let (mut right, mut wrong) = (0, 0);
        for (cell, (&o, &x)) in self.own.iter().zip(&self.other).enumerate() {
            if rule.covers((cell / width) as u32, (cell % width) as u32) {
                right += o;
                wrong += x;
            }
        }
        let others: usize = self.other.iter().sum();
        rule.precision = precision(right, wrong);
        rule.recall = right as f64 / self.copies.max(1) as f64;
        rule.false_match_rate = wrong as f64 / others.max(1) as f64;
        rule
    }

    /// Of every pair of thresholds (each signal may also be left out), the one with the highest recall
    /// whose precision is at least `precision`; `None` when none is that precise.
    pub fn best_either(&self, precision: f64) -> Option<EitherScore> {
        let thresholds = |bits: usize| std::iter::once(None).chain((0..=bits as u32).map(Some));
        let mut best: Option<EitherScore> = None;
        for a in thresholds(self.code_bits) {
            for b in thresholds(self.perceptual_bits) {
                if a.is_none() && b.is_none() {
                    continue;
                }
                let s = self.score(a, b);
                let better = best.is_none_or(|x| {
                    s.recall > x.recall
                        || (s.recall == x.recall && s.false_match_rate < x.false_match_rate)
                });
                if s.precision >= precision && better {
                    best = Some(s);
                }
            }
        }
        best
    }
}

/// The share of a verdict's yeses that are right (1 when it says yes to nothing: it is never wrong).
pub(super) fn precision(right: usize, wrong: usize) -> f64 {
    if right + wrong == 0 {
        1.0
    } else {
        right as f64 / (right + wrong) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three originals, three copies (copy i of original i), 4-bit codes and 4-bit perceptual hashes.
    /// Copy 0 is close by code only, copy 1 by perceptual hash only, copy 2 by neither (its code is 3
    /// bits off, as far as another photo is from copy 1); one other photo is 1 perceptual bit from
    /// copy 0.
    fn pairs() -> TwoSignalPairs {
        let mut p = TwoSignalPairs::new(4, 4);
        p.add(&[0, 4, 4], &[3, 1, 4], 0);
        p.add(&[3, 3, 4], &[4, 0, 4], 1);
        p.add(&[4, 4, 3], &[4, 4, 4], 2);
        p
    }

    #[test]
    fn either_signal_counts_by_hand() {
        let p = pairs();
        // Code ≤ 0 alone: copy 0 only, nothing else.
        let s = p.score(Some(0), None);
        assert_eq!((s.precision, s.recall), (1.0, 1.0 / 3.0));
        // Perceptual ≤ 1 alone: copy 1 (0 bits) and copy 0's other photo (1 bit).
        let s = p.score(None, Some(1));
        assert_eq!((s.precision, s.recall), (0.5, 1.0 / 3.0));
        assert_eq!(s.false_match_rate, 1.0 / 6.0);
        // Code ≤ 0 or perceptual ≤ 0: copies 0 and 1, no other photo.
        let s = p.score(Some(0), Some(0));
        assert_eq!(
            (s.precision, s.recall, s.false_match_rate),
            (1.0, 2.0 / 3.0, 0.0)
        );
    }

    #[test]
    fn the_best_rule_has_the_highest_recall_at_the_precision_asked() {
        let best = pairs().best_either(1.0).unwrap();
        // Copies 0 and 1 are found without a wrong pair; copy 2 would take copy 1's other photo (3 bits)
        // with it. Of the rules that do as well, the narrowest is kept: precision is what is promised.
        assert_eq!(
            (best.code_within, best.perceptual_within),
            (Some(0), Some(0))
        );
        assert_eq!((best.recall, best.false_match_rate), (2.0 / 3.0, 0.0));
        // Asking less precision widens it until copy 2 is in: code ≤ 3, one wrong pair in four.
        let loose = pairs().best_either(0.75).unwrap();
        assert_eq!((loose.recall, loose.precision), (1.0, 0.75));
        assert!(pairs().best_either(1.01).is_none());
    }
}
