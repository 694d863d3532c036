//! A model file's retrieval quality under a protocol split: its query and database photos encoded by
//! the model ([`crate::model::encode`]), then the metrics of [`crate::eval`] (mAP@ALL, mAP@1000,
//! P@1000, precision within Hamming radius 2, bit balance, the precision–recall curve by rank). Shared by
//! `hashlens eval`, `hashlens train --protocol` and the training use case's periodic evaluation.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use crate::code::CodeBook;
use crate::code::stats::bit_balance;
use crate::dataset::ProtocolData;
use crate::device::ComputeDevice;
use crate::eval::{Depth, EvalConfig, EvalError, LabelError, Labels, RankPoint, evaluate};
use crate::model::HashModel;
use crate::model::encode::encode_photos;
use crate::photo::PhotoError;

/// The metrics every evaluation of a model reports (`--json` prints this object).
#[derive(Clone, Debug, Serialize)]
pub struct ModelEval {
    pub map_all: f64,
    pub map_1000: f64,
    pub p_1000: f64,
    pub p_r2: f64,
    pub bits: usize,
    pub queries: usize,
    pub database: usize,
    /// Fraction of +1 per bit over the database.
    pub bit_balance: Vec<f64>,
    /// Precision and recall by rank (every 100 ranks).
    pub pr_curve: Vec<RankPoint>,
    pub encode_images_per_s: f64,
    pub device: String,
    pub model_fingerprint: String,
}

/// Why a model could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ModelEvalError {
    /// An evaluation set must be complete: a photo that cannot be read is not skipped.
    #[error("{}: {source}", path.display())]
    Photo { path: PathBuf, source: PhotoError },
    #[error(transparent)]
    Labels(#[from] LabelError),
    #[error(transparent)]
    Metrics(#[from] EvalError),
    #[error("cancelled")]
    Cancelled,
}

/// Which part of the split is being encoded, and how far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeProgress {
    pub part: &'static str,
    pub done: usize,
    pub total: usize,
}

/// How much of a split an evaluation reads: the first `queries` and `database` photos of each part
/// (each part is a seeded permutation, so a prefix is a uniform sample); `None` reads a part whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvalSample {
    pub queries: Option<usize>,
    pub database: Option<usize>,
}

/// Encodes the protocol's query and database photos with `model` and scores them.
pub fn evaluate_model(
    model: &HashModel,
    data: &ProtocolData,
    sample: EvalSample,
    batch: usize,
    device: &ComputeDevice,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(EncodeProgress),
) -> Result<ModelEval, ModelEvalError> {
    let data = data.clone().first(sample.queries, None, sample.database);
    let (q, db) = (&data.query, &data.database);
    let started = Instant::now();
    let q_codes = encode(model, q, batch, device, cancel, "query", progress)?;
    let db_codes = encode(model, db, batch, device, cancel, "database", progress)?;
    let per_s = (q.len() + db.len()) as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let labels = |v: &[(PathBuf, usize)]| {
        Labels::from_classes(
            data.classes.len(),
            &v.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        )
    };
    let cfg = EvalConfig {
        map_depths: vec![Depth::All, Depth::Top(1000)],
        at_k: vec![1000],
        radius: 2,
        pr_step: 100,
    };
    let r = evaluate(&db_codes, &labels(db)?, &q_codes, &labels(q)?, &cfg)?;
    Ok(ModelEval {
        map_all: r.map_at(Depth::All).unwrap_or_default(),
        map_1000: r.map_at(Depth::Top(1000)).unwrap_or_default(),
        p_1000: r.at_k.first().map_or(0.0, |p| p.precision),
        p_r2: r.precision_within_radius.precision,
        bits: r.bits,
        queries: r.queries,
        database: r.database,
        bit_balance: bit_balance(&db_codes),
        pr_curve: r.pr_by_rank,
        encode_images_per_s: per_s,
        device: device.describe(),
        model_fingerprint: model.fingerprint().to_string(),
    })
}

fn encode(
    model: &HashModel,
    photos: &[(PathBuf, usize)],
    batch: usize,
    device: &ComputeDevice,
    cancel: &AtomicBool,
    part: &'static str,
    progress: &mut dyn FnMut(EncodeProgress),
) -> Result<CodeBook, ModelEvalError> {
    let paths: Vec<PathBuf> = photos.iter().map(|(p, _)| p.clone()).collect();
    let codes = encode_photos(
        model,
        &paths,
        batch,
        &device.device,
        cancel,
        |done, total| progress(EncodeProgress { part, done, total }),
    );
    let mut book = CodeBook::new(model.bits()).expect("a model's bit count is valid");
    for (code, path) in codes.into_iter().zip(&paths) {
        let code =
            code.ok_or(ModelEvalError::Cancelled)?
                .map_err(|source| ModelEvalError::Photo {
                    path: path.clone(),
                    source,
                })?;
        book.push(&code).expect("one model, one bit count");
    }
    Ok(book)
}
