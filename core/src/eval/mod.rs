//! Retrieval metrics under the DeepHash-pytorch protocol (../shared/spec/methods.md §1.2, §3.3, §10.2).
//!
//! For every query the whole database is ranked by (Hamming distance, database index) — a stable,
//! deterministic order where upstream code sorts unstably — and:
//! - **mAP@k**: with `R` relevant items at 1-based ranks `k_1 < … < k_R` within the first k,
//!   `AP = (1/R) Σ r / k_r` (normalised by relevant items *retrieved*); a query with `R = 0` scores 0 and
//!   still counts. [`Depth::All`] is the whole database; [`Depth::DeepHashAll`] reproduces the toolbox's
//!   `topk = -1` slice, which silently drops the last-ranked item, for comparison with published numbers.
//! - **P@k** = relevant in the first k / k, **R@k** = relevant in the first k / relevant in the database
//!   (0 for a query with nothing relevant). k larger than the database is clamped to its size.
//! - **PR by rank**: mean P@n and R@n at chosen ranks n (the toolbox's `index` points 100, 200, …).
//! - **PR by radius** and **precision within radius r**: everything at distance ≤ r is retrieved;
//!   precision = relevant retrieved / retrieved, and a query that retrieves nothing scores precision 0 (the
//!   convention of the HashNet/DPSH papers' "precision within Hamming radius 2"); recall as above.
//!
//! All means are over all queries.

mod labels;
mod two_signals;
mod verdict;

pub use verdict::{
    CALIBRATED_PRECISION, EditPairs, Verdict, VerdictCalibration, VerdictRule, VerdictScore,
    copies_calibration, default_calibration, thousands,
};

pub use labels::{LabelError, Labels};
pub use two_signals::{EitherScore, TwoSignalPairs};

use rayon::prelude::*;
use serde::Serialize;

use crate::code::CodeBook;
use crate::search::{Search, rank_all};

/// How deep the ranked list is read for mAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// The whole database.
    All,
    /// The first `k` items.
    Top(usize),
    /// The DeepHash-pytorch `topk = -1` slice: all but the last-ranked item (compatibility only).
    DeepHashAll,
}

impl Depth {
    fn items(self, n: usize) -> usize {
        match self {
            Depth::All => n,
            Depth::Top(k) => k.min(n),
            Depth::DeepHashAll => n.saturating_sub(1),
        }
    }

    /// `"all"`, `"1000"`, `"deephash-all"`.
    pub fn parse(s: &str) -> Option<Depth> {
        match s {
            "all" | "ALL" => Some(Depth::All),
            "deephash-all" => Some(Depth::DeepHashAll),
            n => n.parse().ok().filter(|&k| k > 0).map(Depth::Top),
        }
    }
}

impl std::fmt::Display for Depth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Depth::All => f.write_str("all"),
            Depth::Top(k) => write!(f, "{k}"),
            Depth::DeepHashAll => f.write_str("deephash-all"),
        }
    }
}

/// What to compute.
#[derive(Clone, Debug)]
pub struct EvalConfig {
    /// mAP depths (e.g. all and 1000).
    pub map_depths: Vec<Depth>,
    /// Ranks for P@k and R@k.
    pub at_k: Vec<usize>,
    /// Radius for "precision within radius r".
    pub radius: u32,
    /// The PR-by-rank curve is sampled every `pr_step` ranks (and at the last rank).
    pub pr_step: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            map_depths: vec![Depth::All, Depth::Top(1000)],
            at_k: vec![1, 10, 100, 1000],
            radius: 2,
            pr_step: 100,
        }
    }
}

/// Errors in the evaluation inputs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvalError {
    #[error("{what}: {codes} codes but {labels} label rows")]
    CountMismatch {
        what: &'static str,
        codes: usize,
        labels: usize,
    },
    #[error("query codes have {0} bits but database codes have {1}")]
    BitsMismatch(usize, usize),
    #[error("query labels have {0} classes but database labels have {1}")]
    ClassMismatch(usize, usize),
    #[error("the {0} set is empty")]
    Empty(&'static str),
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MapAt {
    pub depth: String,
    pub map: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AtK {
    pub k: usize,
    pub precision: f64,
    pub recall: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RankPoint {
    pub rank: usize,
    pub precision: f64,
    pub recall: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RadiusPoint {
    pub radius: u32,
    pub precision: f64,
    pub recall: f64,
    /// Mean number of database items within the radius.
    pub mean_retrieved: f64,
}

/// Every metric, named, ready to print as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EvalReport {
    pub queries: usize,
    pub database: usize,
    pub bits: usize,
    pub map: Vec<MapAt>,
    pub at_k: Vec<AtK>,
    pub precision_within_radius: RadiusPoint,
    pub pr_by_rank: Vec<RankPoint>,
    pub pr_by_radius: Vec<RadiusPoint>,
    /// Queries with no relevant item anywhere in the database (they score 0 everywhere).
    pub queries_without_relevant: usize,
    /// Queries without any label (flagged: they are counted, with score 0).
    pub unlabelled_queries: usize,
    /// Per mAP depth, queries whose cut-off falls inside a run of equal distances: their score depends on
    /// the tie order (here: database index).
    pub ties_at_cutoff: Vec<usize>,
}

impl EvalReport {
    /// mAP at a depth, if it was computed.
    pub fn map_at(&self, depth: Depth) -> Option<f64> {
        let key = depth.to_string();
        self.map.iter().find(|m| m.depth == key).map(|m| m.map)
    }
}

/// Per-query sums, added up over queries.
#[derive(Clone, Default)]
struct Sums {
    ap: Vec<f64>,
    ties: Vec<usize>,
    p_at: Vec<f64>,
    r_at: Vec<f64>,
    pr_p: Vec<f64>,
    pr_r: Vec<f64>,
    rad_p: Vec<f64>,
    rad_r: Vec<f64>,
    rad_n: Vec<f64>,
    without_relevant: usize,
}

impl Sums {
    fn zeros(depths: usize, at_k: usize, ranks: usize, bits: usize) -> Self {
        Self {
            ap: vec![0.0; depths],
            ties: vec![0; depths],
            p_at: vec![0.0; at_k],
            r_at: vec![0.0; at_k],
            pr_p: vec![0.0; ranks],
            pr_r: vec![0.0; ranks],
            rad_p: vec![0.0; bits + 1],
            rad_r: vec![0.0; bits + 1],
            rad_n: vec![0.0; bits + 1],
            without_relevant: 0,
        }
    }

    fn add(mut self, o: Sums) -> Sums {
        fn acc<T: std::ops::AddAssign + Copy>(a: &mut [T], b: &[T]) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += *y);
        }
        acc(&mut self.ap, &o.ap);
        acc(&mut self.ties, &o.ties);
        acc(&mut self.p_at, &o.p_at);
        acc(&mut self.r_at, &o.r_at);
        acc(&mut self.pr_p, &o.pr_p);
        acc(&mut self.pr_r, &o.pr_r);
        acc(&mut self.rad_p, &o.rad_p);
        acc(&mut self.rad_r, &o.rad_r);
        acc(&mut self.rad_n, &o.rad_n);
        self.without_relevant += o.without_relevant;
        self
    }
}

/// Evaluates query codes against database codes; both sides carry labels.
pub fn evaluate(
    db: &CodeBook,
    db_labels: &Labels,
    queries: &CodeBook,
    query_labels: &Labels,
    cfg: &EvalConfig,
) -> Result<EvalReport, EvalError> {
    check(db, db_labels, queries, query_labels)?;
    let n = db.len();
    let bits = db.bits();
    let ranks = pr_ranks(n, cfg.pr_step);
    let depths: Vec<usize> = cfg.map_depths.iter().map(|d| d.items(n)).collect();
    let at_k: Vec<usize> = cfg.at_k.iter().map(|&k| k.clamp(1, n)).collect();
    let search = Search::default();

    let zero = || Sums::zeros(depths.len(), at_k.len(), ranks.len(), bits);
    let sums = (0..queries.len())
        .into_par_iter()
        .fold(
            || (zero(), Vec::new(), Vec::new()),
            |(mut s, mut dist, mut rel), qi| {
                let ranked = rank_all(&search, db, queries.code_words(qi), &mut dist);
                rel.clear();
                rel.extend(
                    ranked
                        .iter()
                        .map(|nb| query_labels.relevant(qi, db_labels, nb.index)),
                );
                score_query(&ranked, &rel, &depths, &at_k, &ranks, bits, &mut s);
                (s, dist, rel)
            },
        )
        .map(|(s, _, _)| s)
        .reduce(zero, Sums::add);

    let q = queries.len() as f64;
    let radius_point = |r: usize| RadiusPoint {
        radius: r as u32,
        precision: sums.rad_p[r] / q,
        recall: sums.rad_r[r] / q,
        mean_retrieved: sums.rad_n[r] / q,
    };
    Ok(EvalReport {
        queries: queries.len(),
        database: n,
        bits,
        map: cfg
            .map_depths
            .iter()
            .zip(&sums.ap)
            .map(|(d, ap)| MapAt {
                depth: d.to_string(),
                map: ap / q,
            })
            .collect(),
        at_k: cfg
            .at_k
            .iter()
            .enumerate()
            .map(|(i, &k)| AtK {
                k,
                precision: sums.p_at[i] / q,
                recall: sums.r_at[i] / q,
            })
            .collect(),
        precision_within_radius: radius_point((cfg.radius as usize).min(bits)),
        pr_by_rank: ranks
            .iter()
            .enumerate()
            .map(|(i, &rank)| RankPoint {
                rank,
                precision: sums.pr_p[i] / q,
                recall: sums.pr_r[i] / q,
            })
            .collect(),
        pr_by_radius: (0..=bits).map(radius_point).collect(),
        queries_without_relevant: sums.without_relevant,
        unlabelled_queries: query_labels.unlabelled(),
        ties_at_cutoff: sums.ties,
    })
}

/// Scores a labelled collection against itself: `queries` photos drawn with `seed` (at most half of
/// them) search the others, so no query finds itself. This is how the app measures the codes of a
/// folder whose sub-folders are classes.
pub fn evaluate_held_out(
    codes: &CodeBook,
    labels: &Labels,
    queries: usize,
    seed: u64,
    cfg: &EvalConfig,
) -> Result<EvalReport, EvalError> {
    use rand::{SeedableRng, seq::SliceRandom};
    if codes.len() != labels.len() {
        return Err(EvalError::CountMismatch {
            what: "database",
            codes: codes.len(),
            labels: labels.len(),
        });
    }
    let mut order: Vec<usize> = (0..codes.len()).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let (q, db) = order.split_at(queries.min(codes.len() / 2));
    evaluate(
        &codes.select(db),
        &labels.select(db),
        &codes.select(q),
        &labels.select(q),
        cfg,
    )
}

fn check(db: &CodeBook, dbl: &Labels, q: &CodeBook, ql: &Labels) -> Result<(), EvalError> {
    if db.is_empty() {
        return Err(EvalError::Empty("database"));
    }
    if q.is_empty() {
        return Err(EvalError::Empty("query"));
    }
    if db.len() != dbl.len() {
        return Err(EvalError::CountMismatch {
            what: "database",
            codes: db.len(),
            labels: dbl.len(),
        });
    }
    if q.len() != ql.len() {
        return Err(EvalError::CountMismatch {
            what: "query",
            codes: q.len(),
            labels: ql.len(),
        });
    }
    if q.bits() != db.bits() {
        return Err(EvalError::BitsMismatch(q.bits(), db.bits()));
    }
    if ql.classes() != dbl.classes() {
        return Err(EvalError::ClassMismatch(ql.classes(), dbl.classes()));
    }
    Ok(())
}

/// Ranks `step, 2·step, …` and the last rank `n`.
fn pr_ranks(n: usize, step: usize) -> Vec<usize> {
    let step = step.max(1);
    let mut r: Vec<usize> = (1..=n / step).map(|i| i * step).collect();
    if r.last() != Some(&n) {
        r.push(n);
    }
    r
}

fn score_query(
    ranked: &[crate::search::Neighbor],
    rel: &[bool],
    depths: &[usize],
    at_k: &[usize],
    ranks: &[usize],
    bits: usize,
    s: &mut Sums,
) {
    let n = rel.len();
    let total_rel = rel.iter().filter(|&&r| r).count();
    if total_rel == 0 {
        s.without_relevant += 1;
    }
    // hits[i] = relevant among the first i items; one pass gives every P@k, R@k and AP.
    let mut hits = Vec::with_capacity(n + 1);
    hits.push(0usize);
    let mut precision_sum = Vec::with_capacity(n + 1); // Σ r / k_r over relevant ranks ≤ i
    precision_sum.push(0.0f64);
    for (i, &r) in rel.iter().enumerate() {
        let h = hits[i] + r as usize;
        hits.push(h);
        precision_sum.push(precision_sum[i] + if r { h as f64 / (i + 1) as f64 } else { 0.0 });
    }
    for (j, &d) in depths.iter().enumerate() {
        if hits[d] > 0 {
            s.ap[j] += precision_sum[d] / hits[d] as f64;
        }
        if d > 0 && d < n && ranked[d - 1].distance == ranked[d].distance {
            s.ties[j] += 1;
        }
    }
    let recall = |h: usize| {
        if total_rel == 0 {
            0.0
        } else {
            h as f64 / total_rel as f64
        }
    };
    for (j, &k) in at_k.iter().enumerate() {
        s.p_at[j] += hits[k] as f64 / k as f64;
        s.r_at[j] += recall(hits[k]);
    }
    for (j, &k) in ranks.iter().enumerate() {
        s.pr_p[j] += hits[k] as f64 / k as f64;
        s.pr_r[j] += recall(hits[k]);
    }
    // Ranked by distance, so "within radius r" is a prefix: its end is the first rank beyond r.
    let mut end = 0;
    for r in 0..=bits {
        while end < n && ranked[end].distance as usize <= r {
            end += 1;
        }
        if end > 0 {
            s.rad_p[r] += hits[end] as f64 / end as f64;
        }
        s.rad_r[r] += recall(hits[end]);
        s.rad_n[r] += end as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(rows: &[&str]) -> CodeBook {
        let mut b = CodeBook::new(rows[0].len()).unwrap();
        for r in rows {
            b.push(&crate::HashCode::parse_bits(r).unwrap()).unwrap();
        }
        b
    }

    /// Two classes whose codes are far apart: every held-out query ranks its own class first, so mAP is
    /// exactly 1; if a query could find itself the database would hold one item too many.
    #[test]
    fn held_out_queries_search_the_others() {
        let codes = book(&[
            "00000000", "00000001", "00000010", "00000100", "11111111", "11111110", "11111101",
            "11111011",
        ]);
        let labels = Labels::from_classes(2, &[0, 0, 0, 0, 1, 1, 1, 1]).unwrap();
        let r = evaluate_held_out(&codes, &labels, 3, 7, &EvalConfig::default()).unwrap();
        assert_eq!((r.queries, r.database), (3, 5));
        assert_eq!(r.map_at(Depth::All), Some(1.0));
        // At most half are queries; the same seed draws the same split.
        let all = evaluate_held_out(&codes, &labels, 100, 7, &EvalConfig::default()).unwrap();
        assert_eq!((all.queries, all.database), (4, 4));
        assert_eq!(
            evaluate_held_out(&codes, &labels, 3, 7, &EvalConfig::default()).unwrap(),
            r
        );
    }

    /// A case small enough to rank by hand.
    ///
    /// Query 00000000 (class 0). Database distances and relevance, in index order:
    /// 0: 1 bit  (class 1, not relevant)    1: 0 bits (class 0, relevant)
    /// 2: 3 bits (class 0, relevant)        3: 1 bit  (class 0, relevant)
    /// 4: 8 bits (class 1, not relevant)
    /// Ranking by (distance, index): 1, 0, 3, 2, 4 → relevance 1, 0, 1, 1, 0.
    /// AP@all = (1/1 + 2/3 + 3/4) / 3 = 0.805555…; AP@2 = (1/1) / 1 = 1; AP@deephash-all = AP@4 = AP@all.
    /// P@1 = 1, P@2 = 0.5, P@5 = 0.6; R@2 = 1/3.
    /// Radius 1 retrieves items 1, 0, 3: precision 2/3, recall 2/3. Radius 0: precision 1, recall 1/3.
    #[test]
    fn hand_computed() {
        let db = book(&["10000000", "00000000", "11100000", "00000001", "11111111"]);
        let dbl = Labels::from_classes(2, &[1, 0, 0, 0, 1]).unwrap();
        let q = book(&["00000000"]);
        let ql = Labels::from_classes(2, &[0]).unwrap();
        let cfg = EvalConfig {
            map_depths: vec![Depth::All, Depth::Top(2), Depth::DeepHashAll],
            at_k: vec![1, 2, 5, 50],
            radius: 1,
            pr_step: 2,
        };
        let r = evaluate(&db, &dbl, &q, &ql, &cfg).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(
            r.map_at(Depth::All).unwrap(),
            (1.0 + 2.0 / 3.0 + 0.75) / 3.0
        ));
        assert!(close(r.map_at(Depth::Top(2)).unwrap(), 1.0));
        assert!(close(
            r.map_at(Depth::DeepHashAll).unwrap(),
            (1.0 + 2.0 / 3.0 + 0.75) / 3.0
        ));
        assert!(close(r.at_k[0].precision, 1.0));
        assert!(close(r.at_k[1].precision, 0.5));
        assert!(close(r.at_k[1].recall, 1.0 / 3.0));
        assert!(close(r.at_k[2].precision, 0.6));
        assert!(
            close(r.at_k[3].precision, 0.6),
            "k beyond the database is clamped"
        );
        assert!(close(r.precision_within_radius.precision, 2.0 / 3.0));
        assert!(close(r.precision_within_radius.recall, 2.0 / 3.0));
        assert!(close(r.pr_by_radius[0].precision, 1.0));
        assert!(close(r.pr_by_radius[0].recall, 1.0 / 3.0));
        assert_eq!(
            r.pr_by_rank.iter().map(|p| p.rank).collect::<Vec<_>>(),
            vec![2, 4, 5]
        );
        assert!(close(r.pr_by_rank[1].precision, 0.75));
        // Depth 2 cuts between items 0 and 3, both at distance 1: a tie; depth 4 cuts between 3 and 8 bits.
        assert_eq!(r.ties_at_cutoff, vec![0, 1, 0]);
    }

    #[test]
    fn deephash_all_drops_the_last_item() {
        // The only relevant item is ranked last: true mAP@all sees it, the toolbox slice does not.
        let db = book(&["00000000", "11111111"]);
        let dbl = Labels::from_classes(2, &[1, 0]).unwrap();
        let q = book(&["00000000"]);
        let ql = Labels::from_classes(2, &[0]).unwrap();
        let cfg = EvalConfig {
            map_depths: vec![Depth::All, Depth::DeepHashAll],
            ..EvalConfig::default()
        };
        let r = evaluate(&db, &dbl, &q, &ql, &cfg).unwrap();
        assert_eq!(r.map_at(Depth::All), Some(0.5));
        assert_eq!(r.map_at(Depth::DeepHashAll), Some(0.0));
    }

    #[test]
    fn queries_without_relevant_count_zero() {
        let db = book(&["00000000", "00000011"]);
        let dbl = Labels::from_classes(3, &[0, 0]).unwrap();
        let q = book(&["00000000", "00000000"]);
        let ql = Labels::from_multi_hot(3, &[[1u8, 0, 0], [0, 0, 0]]).unwrap();
        let r = evaluate(&db, &dbl, &q, &ql, &EvalConfig::default()).unwrap();
        assert_eq!(r.map_at(Depth::All), Some(0.5));
        assert_eq!(r.queries_without_relevant, 1);
        assert_eq!(r.unlabelled_queries, 1);
        // Depth 1000 is clamped to the database size: no cut-off, no tie.
        assert_eq!(r.ties_at_cutoff, vec![0, 0]);
    }

    #[test]
    fn inputs_are_checked() {
        let db = book(&["00000000"]);
        let l1 = Labels::from_classes(2, &[0]).unwrap();
        let l2 = Labels::from_classes(2, &[0, 1]).unwrap();
        let cfg = EvalConfig::default();
        assert!(matches!(
            evaluate(&db, &l2, &db, &l1, &cfg),
            Err(EvalError::CountMismatch {
                what: "database",
                ..
            })
        ));
        let q16 = book(&["0000000000000000"]);
        assert_eq!(
            evaluate(&db, &l1, &q16, &l1, &cfg),
            Err(EvalError::BitsMismatch(16, 8))
        );
        assert_eq!(Depth::parse("all"), Some(Depth::All));
        assert_eq!(Depth::parse("1000"), Some(Depth::Top(1000)));
        assert_eq!(Depth::parse("0"), None);
    }
}
