//! Scoring a comparison's runs: every trained model encodes the same query, database and held-out
//! photos and is scored by the same metric code, and in head mode the training-free PCA + ITQ baseline
//! is scored beside them.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use hashlens_core::CodeBook;
use hashlens_core::dataset::ProtocolData;
use hashlens_core::eval::{Depth, EvalConfig, Labels, evaluate, evaluate_held_out};
use hashlens_core::hashing::LinearHash;
use hashlens_core::model::HashModel;

use super::cache::SharedFeatures;
use super::table::Row;
use crate::cli::eval_model::codes_with_bar;

/// What one trained model scored.
pub struct Scores {
    pub map_all: f64,
    pub map_1000: f64,
    pub p_1000: f64,
    pub p_r2: f64,
    /// mAP@ALL with deformed queries, by deformation (head mode with `--robustness`).
    pub robustness: Vec<(&'static str, f64)>,
    /// With held-out photos: mAP@ALL of half of them searching the other half.
    pub val_map_all: Option<f64>,
}

/// The photos, labels and metric settings every run is scored with.
pub struct Scorer<'a> {
    split: &'a ProtocolData,
    held_out: &'a [(PathBuf, usize)],
    shared: Option<&'a SharedFeatures>,
    seed: u64,
    device: &'a Device,
    query: Labels,
    database: Labels,
    validation: Labels,
    config: EvalConfig,
}

impl<'a> Scorer<'a> {
    pub fn new(
        split: &'a ProtocolData,
        held_out: &'a [(PathBuf, usize)],
        shared: Option<&'a SharedFeatures>,
        seed: u64,
        device: &'a Device,
    ) -> anyhow::Result<Self> {
        let classes = split.classes.len();
        let labels = |v: &[(PathBuf, usize)]| {
            Labels::from_classes(classes, &v.iter().map(|(_, c)| *c).collect::<Vec<_>>())
        };
        Ok(Self {
            query: labels(&split.query)?,
            database: labels(&split.database)?,
            validation: labels(held_out)?,
            split,
            held_out,
            shared,
            seed,
            device,
            config: EvalConfig {
                map_depths: vec![Depth::All, Depth::Top(1000)],
                at_k: vec![1000],
                radius: 2,
                pr_step: 1000,
            },
        })
    }

    /// mAP@ALL, mAP@1000, P@1000 and P(r≤2) of `q` searching `db`.
    fn metrics(&self, q: &CodeBook, db: &CodeBook) -> anyhow::Result<[f64; 4]> {
        let r = evaluate(db, &self.database, q, &self.query, &self.config)?;
        Ok([
            r.map_at(Depth::All).unwrap_or_default(),
            r.map_at(Depth::Top(1000)).unwrap_or_default(),
            r.at_k[0].precision,
            r.precision_within_radius.precision,
        ])
    }

    /// Head mode: PCA + ITQ fitted on the training photos' features, one row per code length (none in
    /// full mode, which has no shared features).
    pub fn baselines(&self, bits: &[usize]) -> anyhow::Result<Vec<Row>> {
        let Some(shared) = self.shared else {
            return Ok(Vec::new());
        };
        let dim = shared.train.first().map_or(0, Vec::len);
        let mut rows = Vec::new();
        for &bits in bits {
            let started = Instant::now();
            let itq = LinearHash::itq(&shared.train.concat(), dim, bits, 50, self.seed)?;
            let train_s = started.elapsed().as_secs_f64();
            let q = itq.encode(&shared.query.concat())?;
            let db = itq.encode(&shared.database.concat())?;
            let [map_all, map_1000, p_1000, p_r2] = self.metrics(&q, &db)?;
            eprintln!(
                "hashlens: pca-itq {bits} bits: mAP@ALL {map_all:.4}, mAP@1000 {map_1000:.4}"
            );
            rows.push(Row {
                method: "pca-itq",
                labels: false,
                targets: "none".into(),
                sdh: false,
                bits,
                epochs: None,
                temperature: None,
                logit_scale: None,
                map_all,
                map_1000,
                p_1000,
                p_r2,
                train_s,
                robustness: Vec::new(),
                val_map_all: None,
                chosen: false,
            });
        }
        Ok(rows)
    }

    /// `model`'s scores: the queries searching the database, the held-out photos searching each other,
    /// and (head mode) each deformation of the queries searching the clean database.
    pub fn score_model(&self, model: &HashModel) -> anyhow::Result<Scores> {
        let [q, db, val] = match self.shared {
            Some(s) => {
                [&s.query, &s.database, &s.held_out].map(|f| codes_of(model, f, self.device))
            }
            None => {
                let encode = |photos: &[(PathBuf, usize)], what: &str| {
                    codes_with_bar(model, photos, 64, self.device, what)
                };
                [
                    encode(&self.split.query, "query"),
                    encode(&self.split.database, "database"),
                    match self.held_out.is_empty() {
                        true => Ok(CodeBook::new(model.bits())?),
                        false => encode(self.held_out, "held-out training photos"),
                    },
                ]
            }
        };
        let (q, db, val) = (q?, db?, val?);
        let [map_all, map_1000, p_1000, p_r2] = self.metrics(&q, &db)?;
        // Like the test split, neither side of the validation was trained on: half the held-out
        // photos search the other half. (Searching the training photos instead rewards overfitting:
        // measured, it chose 300 epochs where 30 did best on the test split.)
        let val_map_all = match self.held_out.is_empty() {
            true => None,
            false => evaluate_held_out(
                &val,
                &self.validation,
                self.held_out.len() / 2,
                self.seed,
                &self.config,
            )?
            .map_at(Depth::All),
        };
        let mut robustness = Vec::new();
        for (d, features) in self.shared.iter().flat_map(|s| &s.deformed) {
            let deformed = codes_of(model, features, self.device)?;
            robustness.push((d.name(), self.metrics(&deformed, &db)?[0]));
        }
        Ok(Scores {
            map_all,
            map_1000,
            p_1000,
            p_r2,
            robustness,
            val_map_all,
        })
    }
}

/// Codes of backbone `features` under `model`'s hash layer.
fn codes_of(model: &HashModel, features: &[Vec<f32>], device: &Device) -> anyhow::Result<CodeBook> {
    if features.is_empty() {
        return Ok(CodeBook::new(model.bits())?);
    }
    let dim = features.first().map_or(0, Vec::len);
    let x = Tensor::<2>::from_data(
        TensorData::new(features.concat(), [features.len(), dim]),
        device,
    );
    let mut book = CodeBook::new(model.bits())?;
    for code in model.codes_of_features(x) {
        book.push(&code)?;
    }
    Ok(book)
}
