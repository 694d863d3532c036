//! `hashlens eval`: a model file's retrieval quality under a protocol — query and database photos encoded
//! by the model on the chosen device, then the metrics of `hashlens_core::eval` (mAP@ALL, mAP@1000,
//! P@1000, precision within Hamming radius 2, bit balance, the precision–recall curve).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hashlens_core::CodeBook;
use hashlens_core::code::stats::bit_balance;
use hashlens_core::dataset::{ProtocolData, protocol_split};
use hashlens_core::eval::{Depth, EvalConfig, EvalReport, Labels, RankPoint, evaluate};
use hashlens_core::model::HashModel;
use hashlens_core::model::features::extract_features;
use hashlens_core::photo::Preprocess;
use serde::Serialize;

use super::index::DeviceArgs;
use super::out;

/// A protocol split of a class-folder collection (shared by `eval` and `compare`).
#[derive(Args, Debug)]
pub struct ProtocolArgs {
    /// A folder with one sub-folder per class (e.g. the CIFAR-10 JPEGs).
    #[arg(long)]
    pub data: PathBuf,
    /// The split: cifar10 (100 query / 500 train per class, the rest as database) or cifar10-1.
    #[arg(long, default_value = "cifar10")]
    pub protocol: String,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl ProtocolArgs {
    pub fn split(&self) -> anyhow::Result<ProtocolData> {
        protocol_split(&self.data, &self.protocol, self.seed).map_err(anyhow::Error::msg)
    }
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model file (from `hashlens train`, or an index's `.model`).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    split: ProtocolArgs,
    /// Use only the first N queries of the split (a uniform sample; default all).
    #[arg(long)]
    queries: Option<usize>,
    /// Use only the first N database photos of the split (default all).
    #[arg(long)]
    database: Option<usize>,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    json: bool,
}

/// The metrics every evaluation reports (`--json` prints this object).
#[derive(Serialize)]
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

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let data = a.split.split()?;
    let device = a.device.open()?;
    let model = HashModel::load(&a.model, &device.device)?;
    let r = evaluate_model(
        &model,
        &data,
        a.queries,
        a.database,
        a.batch,
        &device.device,
        &device.describe(),
    )?;
    if a.json {
        return super::print_json(&r);
    }
    print_eval(&r)
}

pub fn print_eval(r: &ModelEval) -> anyhow::Result<()> {
    out!(
        "{} queries against {} database photos, {} bits: mAP@all {:.4}  mAP@1000 {:.4}  P@1000 {:.4}  P(r≤2) {:.4}  (encoded {:.0} photos/s on {})",
        r.queries,
        r.database,
        r.bits,
        r.map_all,
        r.map_1000,
        r.p_1000,
        r.p_r2,
        r.encode_images_per_s,
        r.device
    );
    Ok(())
}

/// Encodes the protocol's query and database photos with `model` and scores them.
pub fn evaluate_model(
    model: &HashModel,
    data: &ProtocolData,
    queries: Option<usize>,
    database: Option<usize>,
    batch: usize,
    device: &burn::tensor::Device,
    device_name: &str,
) -> anyhow::Result<ModelEval> {
    let data = data.clone().first(queries, None, database);
    let (q, db) = (&data.query, &data.database);
    let started = Instant::now();
    let q_codes = encode(model, q, batch, device, "query")?;
    let db_codes = encode(model, db, batch, device, "database")?;
    let per_s = (q.len() + db.len()) as f64 / started.elapsed().as_secs_f64();
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
    let r: EvalReport = evaluate(&db_codes, &labels(db)?, &q_codes, &labels(q)?, &cfg)?;
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
        device: device_name.to_string(),
        model_fingerprint: model.fingerprint().to_string(),
    })
}

/// Codes of `photos` by `model`, with a progress bar; a photo that cannot be read is an error (an
/// evaluation set must be complete).
fn encode(
    model: &HashModel,
    photos: &[(PathBuf, usize)],
    batch: usize,
    device: &burn::tensor::Device,
    what: &str,
) -> anyhow::Result<CodeBook> {
    let pre = model.preprocess();
    let values = network_outputs(photos, &pre, batch, device, what, |x| model.forward(x))?;
    Ok(CodeBook::from_signs(model.bits(), &values.concat())?)
}

/// `network`'s output row for each photo, with a progress bar; every photo must be readable.
pub(super) fn network_outputs(
    photos: &[(PathBuf, usize)],
    pre: &Preprocess,
    batch: usize,
    device: &burn::tensor::Device,
    what: &str,
    network: impl FnMut(burn::tensor::Tensor<4>) -> burn::tensor::Tensor<2>,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let paths: Vec<PathBuf> = photos.iter().map(|(p, _)| p.clone()).collect();
    let bar = super::train::progress_bar(paths.len(), &format!("encoding {what}"));
    let out = extract_features(
        &paths,
        pre,
        batch,
        device,
        &AtomicBool::new(false),
        network,
        |done, _| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    out.into_iter()
        .zip(&paths)
        .map(|(o, p)| {
            o.context("encoding stopped early")?
                .with_context(|| p.display().to_string())
        })
        .collect()
}
