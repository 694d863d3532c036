//! What a Hamming distance reads as to a person: the verdict the app shows beside every result, and the
//! one the edit benchmark (`hashlens bench edits`) scores.
//!
//! Without calibration, at K bits: within K/8 (8 of 64) a near-duplicate, within K/4 similar, beyond
//! that different. A model can carry a [`VerdictCalibration`] measured on edited copies of photos
//! (the edit benchmark): its near-duplicate threshold is then the widest distance at which pairs were
//! still a photo and its own edit in at least 99 % of cases, and the app's hover says so with the
//! measured figures. The default model carries the calibration measured for its method and code length
//! ([`default_calibration`], `benchmarks/results/edits-default.md`).
//!
//! Invariant: near-duplicate ≤ similar, so the verdicts keep their order as the distance grows.

use serde::{Deserialize, Serialize};

use super::EitherScore;
use super::two_signals::precision;

/// A distance in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    SameCode,
    NearDuplicate,
    Similar,
    Different,
}

impl Verdict {
    /// The verdict for two `bits`-bit codes `distance` bits apart, without calibration.
    pub fn of(distance: u32, bits: usize) -> Self {
        VerdictRule::fixed(bits).of(distance)
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::SameCode => "same code",
            Verdict::NearDuplicate => "near-duplicate",
            Verdict::Similar => "similar",
            Verdict::Different => "different",
        }
    }
}

/// Near-duplicate thresholds measured on edited copies of photos, saved with a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictCalibration {
    /// The farthest distance read as a near-duplicate.
    pub near_duplicate_within: u32,
    /// Of the pairs (edited copy, photo) within it, the share that were a photo and its own edit.
    pub precision: f64,
    /// Of the edited copies, the share within it of their own original.
    pub recall: f64,
    /// Of the pairs of different photos, the share within it: what a library's size multiplies (a
    /// query among N photos meets about N times this many false near-duplicates).
    #[serde(default)]
    pub false_match_rate: f64,
    /// Edited copies the figures come from.
    pub copies: usize,
    /// What was edited, in words (e.g. "15 edits of 200 CIFAR-10 test photos at 256 px").
    pub measured_on: String,
    /// The rule with a second signal, where both photos' perceptual prints are known
    /// (`crate::photo::perceptual::PerceptualPrint`): near-duplicate when the code is within its
    /// threshold or the prints within theirs, both chosen together on the same edits for the highest
    /// recall at [`CALIBRATED_PRECISION`]. `None`: the code alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_print: Option<EitherScore>,
}

impl VerdictCalibration {
    /// Whether every figure is one a `bits`-bit model can have (a model file's is checked on reading).
    pub fn plausible(&self, bits: usize) -> bool {
        let share = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        let print_ok = self.with_print.as_ref().is_none_or(|p| {
            p.code_within.is_none_or(|t| t as usize <= bits)
                && p.perceptual_within.is_none_or(|t| t <= 64)
                && share(p.precision)
                && share(p.recall)
                && share(p.false_match_rate)
        });
        self.near_duplicate_within as usize <= bits
            && share(self.precision)
            && share(self.recall)
            && self.measured_on.len() <= 1_000
            && print_ok
    }
}

/// The precision a calibrated near-duplicate threshold keeps.
pub const CALIBRATED_PRECISION: f64 = 0.99;

/// The share of a library's pairs of photos read as similar or closer: its nearest 5 %.
pub const SIMILAR_SHARE: f64 = 0.05;

/// The thresholds the verdicts of one model's codes use.
#[derive(Clone, Debug, PartialEq)]
pub struct VerdictRule {
    bits: usize,
    near_duplicate_within: u32,
    similar_within: u32,
    calibration: Option<VerdictCalibration>,
    /// The pairs of the library "similar" was read from ([`VerdictRule::for_library`]).
    library_pairs: Option<u64>,
}

impl VerdictRule {
    /// The fixed shares: K/8 near-duplicate, K/4 similar.
    pub fn fixed(bits: usize) -> Self {
        Self {
            bits,
            near_duplicate_within: (bits / 8) as u32,
            similar_within: (bits / 4) as u32,
            calibration: None,
            library_pairs: None,
        }
    }

    /// The rule of a model with `bits`-bit codes and, maybe, a calibration.
    pub fn new(bits: usize, calibration: Option<&VerdictCalibration>) -> Self {
        let fixed = Self::fixed(bits);
        match calibration {
            None => fixed,
            Some(c) => {
                let near = c.near_duplicate_within.min(bits as u32);
                Self {
                    near_duplicate_within: near,
                    similar_within: fixed.similar_within.max(near),
                    calibration: Some(c.clone()),
                    ..fixed
                }
            }
        }
    }

    /// The verdict for a pair `distance` bits apart by code and, where both photos' perceptual prints
    /// are known, `print` bits apart by print: near-duplicate also when the print is within the
    /// calibrated two-signal rule (the code's threshold is then the rule's).
    pub fn of_pair(&self, distance: u32, print: Option<u32>) -> Verdict {
        let (Some(rule), Some(print)) = (self.print_rule(), print) else {
            return self.of(distance);
        };
        if distance == 0 {
            Verdict::SameCode
        } else if rule.covers(distance, print) {
            Verdict::NearDuplicate
        } else if distance <= self.similar_within {
            Verdict::Similar
        } else {
            Verdict::Different
        }
    }

    /// The two-signal rule, when the calibration has one.
    pub fn print_rule(&self) -> Option<&EitherScore> {
        self.calibration.as_ref()?.with_print.as_ref()
    }

    pub fn of(&self, distance: u32) -> Verdict {
        if distance == 0 {
            Verdict::SameCode
        } else if distance <= self.near_duplicate_within {
            Verdict::NearDuplicate
        } else if distance <= self.similar_within {
            Verdict::Similar
        } else {
            Verdict::Different
        }
    }

    /// This rule with "similar" read from a library's own distances (`histogram`: its pairs of photos,
    /// or a sample of them, at each distance `0..=bits`): up to the farthest distance within which at
    /// most [`SIMILAR_SHARE`] of the pairs lie, and never below the near-duplicate threshold. Codes
    /// spread differently per model and library: a fixed K/4 called a library's best neighbours
    /// "different" (18–22 bits of 64 under the default, where 98 % of its pairs lie farther apart).
    pub fn for_library(mut self, histogram: &[u64]) -> Self {
        let all: u64 = histogram.iter().sum();
        if all == 0 {
            return self;
        }
        let mut within = 0;
        let mut similar = None;
        for (d, &n) in histogram.iter().enumerate() {
            within += n;
            if within as f64 > SIMILAR_SHARE * all as f64 {
                break;
            }
            similar = Some(d as u32);
        }
        self.similar_within = similar
            .unwrap_or(0)
            .min(self.bits as u32)
            .max(self.near_duplicate_within);
        self.library_pairs = Some(all);
        self
    }

    /// The farthest distance read as a near-duplicate (same code included).
    pub fn near_duplicate_within(&self) -> u32 {
        self.near_duplicate_within
    }

    /// The farthest distance read as similar or closer.
    pub fn similar_within(&self) -> u32 {
        self.similar_within
    }

    pub fn calibration(&self) -> Option<&VerdictCalibration> {
        self.calibration.as_ref()
    }

    /// What the verdict at `distance` (and, where both photos' perceptual prints are known, `print`)
    /// rests on, in a sentence or two (the app's hover text).
    pub fn explain(&self, distance: u32, print: Option<u32>) -> String {
        let bits = self.bits;
        let verdict = self.of_pair(distance, print).name();
        let head = match (self.print_rule(), print) {
            (Some(_), Some(p)) => format!(
                "{distance} of {bits} bits differ, and {p} of 64 bits of the photos' perceptual \
                 prints: {verdict}."
            ),
            _ => format!("{distance} of {bits} bits differ: {verdict}."),
        };
        let near_part = match (self.print_rule(), print) {
            (Some(rule), Some(_)) => explain_with_print(&head, rule, self.calibration.as_ref()),
            _ => self.explain_near(&head),
        };
        match self.library_pairs {
            Some(pairs) => format!(
                "{near_part} Similar: at most {} bits, as close as the nearest {:.0} % of this \
                 library's pairs of photos ({} measured).",
                self.similar_within,
                SIMILAR_SHARE * 100.0,
                thousands(pairs)
            ),
            None if self.calibration.is_some() => {
                format!("{near_part} Similar: at most {} bits.", self.similar_within)
            }
            None => format!(
                "{near_part} Similar: at most {} bits (K/4).",
                self.similar_within
            ),
        }
    }

    /// The first part of [`VerdictRule::explain`]: the verdict and what the near-duplicate threshold
    /// rests on.
    fn explain_near(&self, head: &str) -> String {
        let near = self.near_duplicate_within;
        match &self.calibration {
            Some(c) => format!(
                "{head} This model's near-duplicates are at most {near} bits apart, calibrated on {}: \
                 {:.1} % of the pairs that close were a photo and its own edited copy, and {:.0} % of \
                 the {} edited copies came that close to their original.{}",
                c.measured_on,
                c.precision * 100.0,
                c.recall * 100.0,
                c.copies,
                one_in(c.false_match_rate)
                    .map(|n| format!(" Two different photos came that close once in {n} pairs."))
                    .unwrap_or_default(),
            ),
            None => format!(
                "{head} This model has no calibration: near-duplicate means at most {near} bits \
                 (K/8)."
            ),
        }
    }
}

/// The first part of [`VerdictRule::explain`] under the two-signal rule `rule` of `calibration`.
fn explain_with_print(
    head: &str,
    rule: &EitherScore,
    calibration: Option<&VerdictCalibration>,
) -> String {
    let code = rule
        .code_within
        .map(|t| format!("at most {t} bits apart by code"));
    let print = rule.perceptual_within.map(|t| {
        format!(
            "at most {t} of 64 bits apart by perceptual print (pHash of either photo turned, \
             mirrored or cropped to its centre)"
        )
    });
    let either = [code, print]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" or ");
    let measured = calibration.map_or(String::new(), |c| {
        format!(", calibrated on {}", c.measured_on)
    });
    format!(
        "{head} Near-duplicates are {either}{measured}: {:.1} % of the pairs that close were a photo \
         and its own edited copy, and {:.0} % of the edited copies came that close to their \
         original.{}",
        rule.precision * 100.0,
        rule.recall * 100.0,
        one_in(rule.false_match_rate)
            .map(|n| format!(" Two different photos came that close once in {n} pairs."))
            .unwrap_or_default(),
    )
}

/// "1 in N" for a rate, N rounded to two significant digits and written with thousands separators;
/// `None` for a rate of 0 (never seen).
fn one_in(rate: f64) -> Option<String> {
    if rate.is_nan() || rate <= 0.0 {
        return None;
    }
    let n = (1.0 / rate).round() as u64;
    let magnitude = 10u64.pow((n.max(1).ilog10()).saturating_sub(1));
    Some(thousands((n + magnitude / 2) / magnitude * magnitude))
}

/// A count with thousands separated, as people read it: "1,204" (the app's counts and the verdict's
/// wording).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The calibration the training-free default (PCA + ITQ on the built-in MobileNetV2's features) ships
/// with, for the code lengths it was measured at (`benchmarks/results/edits-default.md`, `hashlens bench
/// edits --bits B` on 200 CIFAR-10 test photos upscaled to 256 px); `None` at other lengths.
pub fn default_calibration(bits: usize) -> Option<VerdictCalibration> {
    measured(DEFAULT_MEASURED, bits, "the default model")
}

/// The calibration the default's codes for finding copies (PCA + ITQ after the shipped edit whitening)
/// ship with (`benchmarks/results/codes-for-copies.md`, `hashlens bench edits --codes copies --bits B` on
/// the same 200 photos); `None` at other lengths.
pub fn copies_calibration(bits: usize) -> Option<VerdictCalibration> {
    measured(
        COPIES_MEASURED,
        bits,
        "the default's codes for finding copies",
    )
}

/// The row of `table` for `bits`, as a calibration measured on the edit benchmark with `model` fitted on
/// its photos.
fn measured(table: &[Measured], bits: usize, model: &str) -> Option<VerdictCalibration> {
    table.iter().find(|m| m.bits == bits).map(|m| {
        let (within, precision, recall, false_match_rate) = m.code;
        VerdictCalibration {
            near_duplicate_within: within,
            precision,
            recall,
            false_match_rate,
            copies: 3000,
            measured_on: format!(
                "15 everyday edits of 200 CIFAR-10 photos at 256 px, with {model} fitted on them"
            ),
            with_print: m
                .with_print
                .map(
                    |(code, print, precision, recall, false_match_rate)| EitherScore {
                        code_within: Some(code),
                        perceptual_within: Some(print),
                        precision,
                        recall,
                        false_match_rate,
                    },
                ),
        }
    })
}

/// One code length's calibration as `hashlens bench edits` measured it: the code alone (within,
/// precision, recall, false-match rate; its `calibrated`) and with the perceptual print (code within,
/// print within, precision, recall, false-match rate; its `code_or_print`).
struct Measured {
    bits: usize,
    code: (u32, f64, f64, f64),
    with_print: Option<(u32, u32, f64, f64, f64)>,
}

/// `hashlens bench edits --bits B`'s calibrated thresholds for the default (see [`default_calibration`];
/// raw: `benchmarks/results/edits/two-signal-similar-B-bits.json` for the code, and
/// `five-crops-similar-*` for the print). At 16 bits no threshold reached precision 0.99.
const DEFAULT_MEASURED: &[Measured] = &[
    Measured {
        bits: 32,
        code: (1, 0.995, 0.354, 8.4e-6),
        with_print: Some((1, 10, 0.991, 0.988, 4.5e-5)),
    },
    Measured {
        bits: 64,
        code: (7, 0.995, 0.640, 1.68e-5),
        with_print: Some((6, 10, 0.992, 0.991, 4.0e-5)),
    },
    Measured {
        bits: 128,
        code: (21, 0.991, 0.765, 3.35e-5),
        with_print: Some((19, 10, 0.991, 0.995, 4.7e-5)),
    },
];

/// `hashlens bench edits --codes copies --bits B`'s calibrated thresholds (see [`copies_calibration`];
/// raw: `benchmarks/results/edits/two-signal-copies-B-bits.json` for the code, and `five-crops-copies-*`
/// for the print).
const COPIES_MEASURED: &[Measured] = &[
    Measured {
        bits: 32,
        code: (1, 0.993, 0.499, 1.84e-5),
        with_print: Some((0, 10, 0.993, 0.989, 3.7e-5)),
    },
    // Calibrated on the CIFAR-10 photos, 10 bits kept precision 0.99 there but not on 70 camera-sized
    // photos (0.970), where 8 did (0.991; with the print, 8 or 10: 0.992 at recall 0.993): the narrower
    // threshold ships, with its figures on the CIFAR-10 photos.
    Measured {
        bits: 64,
        code: (8, 1.000, 0.782, 0.0),
        with_print: Some((8, 10, 0.993, 0.995, 3.7e-5)),
    },
    // Likewise at 128 bits: 33 bits (and 33, 10 with the print of three crops) kept precision 0.99 on
    // CIFAR-10 but not on 130 camera-sized photos (0.971, and 0.958), where 26 (and 26, 6) did (0.991,
    // 0.991).
    Measured {
        bits: 128,
        code: (26, 1.000, 0.870, 0.0),
        with_print: Some((26, 6, 1.000, 0.981, 0.0)),
    },
];

/// Every (edited copy, original) pair by distance, from which verdicts are scored and calibrated: a pair
/// is right when it is a photo and its own edit. A verdict "within t bits" says yes to the pairs at
/// distance ≤ t.
#[derive(Clone, Debug)]
pub struct EditPairs {
    own: Vec<usize>,
    other: Vec<usize>,
    copies: usize,
}

/// A verdict's threshold scored on [`EditPairs`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct VerdictScore {
    /// The farthest distance the verdict covers.
    pub within: u32,
    pub precision: f64,
    pub recall: f64,
    /// Of the pairs of an edited copy and another photo, the share within it.
    pub false_match_rate: f64,
}

impl EditPairs {
    pub fn new(bits: usize) -> Self {
        Self {
            own: vec![0; bits + 1],
            other: vec![0; bits + 1],
            copies: 0,
        }
    }

    /// One edited copy's distances to every original; `own` is its original.
    pub fn add(&mut self, distances: &[u32], own: usize) {
        self.copies += 1;
        for (j, &d) in distances.iter().enumerate() {
            let bin = if j == own {
                &mut self.own
            } else {
                &mut self.other
            };
            let last = bin.len() - 1;
            bin[(d as usize).min(last)] += 1;
        }
    }

    /// Edited copies added.
    pub fn copies(&self) -> usize {
        self.copies
    }

    pub fn score(&self, within: u32) -> VerdictScore {
        let upto = (within as usize + 1).min(self.own.len());
        let right: usize = self.own[..upto].iter().sum();
        let wrong: usize = self.other[..upto].iter().sum();
        VerdictScore {
            within,
            precision: precision(right, wrong),
            recall: right as f64 / self.copies.max(1) as f64,
            false_match_rate: wrong as f64 / self.other.iter().sum::<usize>().max(1) as f64,
        }
    }

    /// The widest threshold whose precision is at least `precision`; `None` when even the same code
    /// is not that precise.
    pub fn calibrated(&self, precision: f64) -> Option<VerdictScore> {
        (0..self.own.len() as u32)
            .rev()
            .map(|t| self.score(t))
            .find(|s| s.precision >= precision)
    }

    /// The calibration these pairs give at [`CALIBRATED_PRECISION`], described by `measured_on`.
    pub fn calibration(&self, measured_on: String) -> Option<VerdictCalibration> {
        self.calibrated(CALIBRATED_PRECISION)
            .map(|s| VerdictCalibration {
                near_duplicate_within: s.within,
                precision: s.precision,
                recall: s.recall,
                false_match_rate: s.false_match_rate,
                copies: self.copies,
                measured_on,
                with_print: None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_at_64_bits() {
        let v: Vec<&str> = [0, 1, 8, 9, 16, 17]
            .iter()
            .map(|&d| Verdict::of(d, 64).name())
            .collect();
        assert_eq!(
            v,
            [
                "same code",
                "near-duplicate",
                "near-duplicate",
                "similar",
                "similar",
                "different"
            ]
        );
        let rule = VerdictRule::fixed(64);
        assert_eq!(
            (rule.near_duplicate_within(), rule.similar_within()),
            (8, 16)
        );
        let rule = VerdictRule::fixed(48);
        assert_eq!(rule.of(rule.similar_within()), Verdict::Similar);
    }

    /// With both prints known, a pair is a near-duplicate when the code or the print is within the
    /// two-signal rule; without, the code-alone threshold decides; the hover says which rule spoke.
    #[test]
    fn a_second_signal_decides_only_where_both_prints_are_known() {
        let mut c = calibration(7);
        c.with_print = Some(EitherScore {
            code_within: Some(5),
            perceptual_within: Some(10),
            precision: 0.996,
            recall: 0.95,
            false_match_rate: 2e-5,
        });
        let rule = VerdictRule::new(64, Some(&c));
        let names = |print: Option<u32>| -> Vec<&str> {
            [0, 5, 6, 7, 16, 40]
                .iter()
                .map(|&d| rule.of_pair(d, print).name())
                .collect()
        };
        // Code alone: near-duplicate up to 7 bits.
        let alone = names(None);
        assert_eq!(
            alone[..4],
            [
                "same code",
                "near-duplicate",
                "near-duplicate",
                "near-duplicate"
            ]
        );
        assert_eq!(alone, (names)(None));
        // Prints far apart: the two-signal rule's code threshold (5) decides.
        assert_eq!(
            names(Some(30)),
            [
                "same code",
                "near-duplicate",
                "similar",
                "similar",
                "similar",
                "different"
            ]
        );
        // Prints within 10: near-duplicate however far the codes.
        assert_eq!(
            names(Some(10)),
            [
                "same code",
                "near-duplicate",
                "near-duplicate",
                "near-duplicate",
                "near-duplicate",
                "near-duplicate"
            ]
        );
        let text = rule.explain(40, Some(3));
        assert!(text.starts_with("40 of 64 bits differ, and 3 of 64 bits of the photos' perceptual prints: near-duplicate."), "{text}");
        assert!(
            text.contains(
                "at most 5 bits apart by code or at most 10 of 64 bits apart by perceptual print"
            ),
            "{text}"
        );
        assert!(text.contains("99.6 %") && text.contains("95 %"), "{text}");
        assert!(!rule.explain(40, None).contains("perceptual"));
        // A calibration without a print rule ignores prints.
        let plain = VerdictRule::new(64, Some(&calibration(7)));
        assert_eq!(plain.of_pair(40, Some(0)), Verdict::Different);
        // Hostile figures are implausible.
        let mut hostile = c.clone();
        hostile.with_print.as_mut().unwrap().perceptual_within = Some(65);
        assert!(c.plausible(64) && !hostile.plausible(64));
    }

    fn calibration(within: u32) -> VerdictCalibration {
        VerdictCalibration {
            near_duplicate_within: within,
            precision: 0.995,
            recall: 0.64,
            false_match_rate: 1.0 / 61_234.0,
            copies: 3000,
            measured_on: "test edits".into(),
            with_print: None,
        }
    }

    #[test]
    fn a_calibrated_rule_moves_the_near_duplicate_line_and_keeps_the_order() {
        let rule = VerdictRule::new(64, Some(&calibration(5)));
        let v: Vec<Verdict> = [0, 5, 6, 16, 17].iter().map(|&d| rule.of(d)).collect();
        use Verdict::*;
        assert_eq!(v, [SameCode, NearDuplicate, Similar, Similar, Different]);
        // A calibration wider than K/4 widens "similar" with it, so the verdicts keep their order.
        let wide = VerdictRule::new(64, Some(&calibration(20)));
        assert_eq!((wide.of(20), wide.of(21)), (NearDuplicate, Different));
        assert_eq!(wide.similar_within(), 20);
        // Never past the code length.
        assert_eq!(
            VerdictRule::new(16, Some(&calibration(40))).near_duplicate_within(),
            16
        );
        assert_eq!(VerdictRule::new(64, None), VerdictRule::fixed(64));
    }

    #[test]
    fn the_explanation_quotes_the_measured_figures() {
        let text = VerdictRule::new(64, Some(&calibration(7))).explain(5, None);
        assert!(
            text.starts_with("5 of 64 bits differ: near-duplicate."),
            "{text}"
        );
        assert!(text.contains("at most 7 bits apart"), "{text}");
        assert!(text.contains("99.5 %") && text.contains("64 %"), "{text}");
        assert!(
            text.contains("3000 edited copies") && text.contains("test edits"),
            "{text}"
        );
        assert!(text.contains("once in 61,000 pairs"), "{text}");
        let plain = VerdictRule::fixed(64).explain(9, None);
        assert!(
            plain.contains("no calibration") && plain.contains("similar"),
            "{plain}"
        );
    }

    /// "Similar" from a library's distances, by hand: 100 pairs of 8-bit codes; the nearest 5 % are
    /// the 1 + 0 + 2 = 3 pairs within 2 bits (within 3 bits there are 6).
    #[test]
    fn similar_is_the_nearest_share_of_the_librarys_pairs() {
        let histogram = [1, 0, 2, 3, 4, 10, 30, 40, 10];
        let rule = VerdictRule::fixed(8).for_library(&histogram);
        assert_eq!(
            (rule.near_duplicate_within(), rule.similar_within()),
            (1, 2)
        );
        assert_eq!(rule.of(3), Verdict::Different);
        let text = rule.explain(2, None);
        assert!(text.starts_with("2 of 8 bits differ: similar."), "{text}");
        assert!(
            text.contains("nearest 5 % of this library's pairs of photos (100 measured)"),
            "{text}"
        );
        // Never below the near-duplicate threshold, and the same for a second library.
        let wide = VerdictRule::new(8, Some(&calibration(4)));
        assert_eq!(wide.clone().for_library(&histogram).similar_within(), 4);
        let crowded = [50, 10, 10, 10, 10, 10, 0, 0, 0];
        assert_eq!(rule.clone().for_library(&crowded).similar_within(), 1);
        // No pairs: the rule as it was.
        assert_eq!(
            VerdictRule::fixed(8).for_library(&[0; 9]),
            VerdictRule::fixed(8)
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_204), "1,204");
        assert_eq!(thousands(60_000), "60,000");
        assert_eq!(thousands(10_000_000), "10,000,000");
    }

    #[test]
    fn rates_read_as_one_in_n() {
        assert_eq!(one_in(1.0 / 61_234.0).as_deref(), Some("61,000"));
        assert_eq!(one_in(1.0 / 7.0).as_deref(), Some("7"));
        assert_eq!(one_in(1.0 / 1_234_567.0).as_deref(), Some("1,200,000"));
        assert_eq!(one_in(0.0), None);
    }

    #[test]
    fn the_default_calibration_is_precise_and_known_only_where_measured() {
        let c = default_calibration(64).expect("measured at 64 bits");
        assert!(c.precision >= CALIBRATED_PRECISION && c.near_duplicate_within < 64);
        assert!(default_calibration(57).is_none());
    }

    #[test]
    fn verdict_scores_and_the_calibrated_threshold_by_hand() {
        // 8-bit codes, three originals; three edited copies at own distances 0, 2 and 5, the other
        // originals at 3 and 7, 4 and 8, 1 and 6.
        let mut pairs = EditPairs::new(8);
        pairs.add(&[0, 3, 7], 0);
        pairs.add(&[4, 2, 8], 1);
        pairs.add(&[1, 6, 5], 2);
        // Within 2: right 0 and 2, wrong 1 → precision 2/3, recall 2/3.
        let s = pairs.score(2);
        assert_eq!((s.precision, s.recall), (2.0 / 3.0, 2.0 / 3.0));
        // Within 0: one right, none wrong; within 1 the wrong pair at 1 comes in.
        let c = pairs.calibrated(0.99).unwrap();
        assert_eq!((c.within, c.precision, c.recall), (0, 1.0, 1.0 / 3.0));
        let c = pairs.calibrated(0.5).unwrap();
        assert_eq!(
            c.within, 5,
            "3 right of 6 said at 5; at 6 and more, fewer than half"
        );
        let saved = pairs.calibration("three copies".into()).unwrap();
        assert_eq!((saved.near_duplicate_within, saved.copies), (0, 3));
        // Within 2, one of the six pairs of a copy and another photo (at 1).
        assert_eq!(pairs.score(2).false_match_rate, 1.0 / 6.0);
        assert_eq!(pairs.score(8).false_match_rate, 1.0);
        assert_eq!(saved.false_match_rate, 0.0);
        // Another photo with the very same code: no threshold is 99 % right.
        let mut twins = EditPairs::new(8);
        twins.add(&[0, 0], 0);
        assert!(twins.calibrated(0.99).is_none());
        assert!(twins.calibration(String::new()).is_none());
    }
}
