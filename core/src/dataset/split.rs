//! Seeded query / train / database splits of a single-label data set.
//!
//! The deep-hashing "cifar10" protocol draws per class 100 query and 500 training images and keeps the
//! remaining 5,400 as the database (1,000 / 5,000 / 54,000 on CIFAR-10); "cifar10-1" uses every non-query
//! image as the database (59,000). Upstream draws the split with an unseeded permutation on every run; here
//! the seed is an input and ChaCha8 is the generator, so a split is reproducible on any machine and any
//! version. Each output list is itself a seeded permutation: the database is not ordered by class, which
//! keeps the (distance, index) tie order independent of the labels (../shared/spec/methods.md §10.2).

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::DatasetError;

/// Which items form the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseRule {
    /// Everything that is neither query nor train.
    Rest,
    /// Everything that is not query (train items are in the database too).
    AllButQuery,
}

/// Per-class counts of a protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitSpec {
    pub query_per_class: usize,
    pub train_per_class: usize,
    pub database: DatabaseRule,
}

impl SplitSpec {
    /// `"cifar10"` (100 / 500 / rest) or `"cifar10-1"` (100 / 500 / all non-query).
    pub fn named(name: &str) -> Option<SplitSpec> {
        let database = match name {
            "cifar10" => DatabaseRule::Rest,
            "cifar10-1" => DatabaseRule::AllButQuery,
            _ => return None,
        };
        Some(SplitSpec {
            query_per_class: 100,
            train_per_class: 500,
            database,
        })
    }
}

/// Item indices of each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Split {
    pub seed: u64,
    pub query: Vec<usize>,
    pub train: Vec<usize>,
    pub database: Vec<usize>,
}

/// Draws a split of items labelled `classes[i] < names.len()`. A class with fewer items than the query
/// and train counts need is an error that names it.
pub fn split(
    classes: &[usize],
    names: &[String],
    spec: &SplitSpec,
    seed: u64,
) -> Result<Split, DatasetError> {
    let num_classes = names.len();
    let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, &c) in classes.iter().enumerate() {
        per_class
            .get_mut(c)
            .ok_or(DatasetError::ClassOutOfRange {
                item: i,
                class: c,
                classes: num_classes,
            })?
            .push(i);
    }
    let need = spec.query_per_class + spec.train_per_class;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut query, mut train, mut database) = (Vec::new(), Vec::new(), Vec::new());
    for (c, items) in per_class.iter_mut().enumerate() {
        if items.len() < need {
            return Err(DatasetError::ClassTooSmall {
                name: names[c].clone(),
                items: items.len(),
                need,
                query: spec.query_per_class,
                train: spec.train_per_class,
            });
        }
        items.shuffle(&mut rng);
        let (q, rest) = items.split_at(spec.query_per_class);
        let (t, r) = rest.split_at(spec.train_per_class);
        query.extend_from_slice(q);
        train.extend_from_slice(t);
        database.extend_from_slice(match spec.database {
            DatabaseRule::Rest => r,
            DatabaseRule::AllButQuery => rest,
        });
    }
    query.shuffle(&mut rng);
    train.shuffle(&mut rng);
    database.shuffle(&mut rng);
    Ok(Split {
        seed,
        query,
        train,
        database,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(per: usize, n: usize) -> Vec<usize> {
        (0..per * n).map(|i| i % n).collect()
    }

    fn names(n: usize) -> Vec<String> {
        ["cat", "dog", "ship"][..n]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn counts_disjointness_and_seed() {
        let labels = classes(20, 3);
        let spec = SplitSpec {
            query_per_class: 2,
            train_per_class: 5,
            database: DatabaseRule::Rest,
        };
        let s = split(&labels, &names(3), &spec, 7).unwrap();
        assert_eq!(
            (s.query.len(), s.train.len(), s.database.len()),
            (6, 15, 39)
        );
        let mut all: Vec<usize> = [&s.query[..], &s.train[..], &s.database[..]].concat();
        all.sort();
        assert_eq!(all, (0..60).collect::<Vec<_>>());
        for c in 0..3 {
            assert_eq!(s.query.iter().filter(|&&i| labels[i] == c).count(), 2);
            assert_eq!(s.train.iter().filter(|&&i| labels[i] == c).count(), 5);
        }
        assert_eq!(split(&labels, &names(3), &spec, 7).unwrap(), s);
        assert_ne!(split(&labels, &names(3), &spec, 8).unwrap().query, s.query);
    }

    #[test]
    fn all_but_query_includes_train() {
        let labels = classes(20, 3);
        let mut spec = SplitSpec::named("cifar10-1").unwrap();
        spec.query_per_class = 2;
        spec.train_per_class = 5;
        let s = split(&labels, &names(3), &spec, 0).unwrap();
        assert_eq!(s.database.len(), 54);
        assert!(s.train.iter().all(|t| s.database.contains(t)));
        assert!(s.query.iter().all(|q| !s.database.contains(q)));
    }

    #[test]
    fn small_classes_are_named() {
        let spec = SplitSpec::named("cifar10").unwrap();
        let err = split(&classes(10, 2), &names(2), &spec, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("class \"cat\" has 10 items"), "{err}");
    }
}
