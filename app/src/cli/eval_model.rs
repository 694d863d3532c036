//! `hashlens eval`: a model file's retrieval quality under a protocol — query and database photos encoded
//! by the model on the chosen device, then the metrics of `hashlens_core::eval` (mAP@ALL, mAP@1000,
//! P@1000, precision within Hamming radius 2, bit balance, the precision–recall curve).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use clap::Args;
use hashlens_core::CodeBook;
use hashlens_core::dataset::ProtocolData;
use hashlens_core::device::ComputeDevice;
use hashlens_core::model::HashModel;
use hashlens_core::model::encode::encode_photos;
use hashlens_core::model::features::extract_features;
use hashlens_core::model_eval::{EvalSample, ModelEval, evaluate_model};
use hashlens_core::photo::Preprocess;

use crate::cli::args::DeviceArgs;
use crate::cli::args::ProtocolArgs;
use crate::cli::output::out;

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

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let data = a.split.split()?;
    let device = a.device.open()?;
    let model = HashModel::load(&a.model, &device.device)?;
    let sample = EvalSample {
        queries: a.queries,
        database: a.database,
    };
    let r = evaluate_with_bars(&model, &data, sample, a.batch, &device)?;
    if a.json {
        return crate::cli::output::print_json(&r);
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

/// [`evaluate_model`] with a progress bar per part (query, then database).
pub fn evaluate_with_bars(
    model: &HashModel,
    data: &ProtocolData,
    sample: EvalSample,
    batch: usize,
    device: &ComputeDevice,
) -> anyhow::Result<ModelEval> {
    let mut bar: Option<(&'static str, indicatif::ProgressBar)> = None;
    let r = evaluate_model(
        model,
        data,
        sample,
        batch,
        device,
        &AtomicBool::new(false),
        &mut |p| {
            if bar.as_ref().is_none_or(|(part, _)| *part != p.part) {
                if let Some((_, b)) = bar.take() {
                    b.finish_and_clear();
                }
                let title = format!("encoding {}", p.part);
                bar = Some((p.part, crate::cli::output::progress_bar(p.total, &title)));
            }
            if let Some((_, b)) = &bar {
                b.set_position(p.done as u64);
            }
        },
    );
    if let Some((_, b)) = bar {
        b.finish_and_clear();
    }
    Ok(r?)
}

/// The codes of `photos` under `model`, with a progress bar; every photo must be readable.
pub(super) fn codes_with_bar(
    model: &HashModel,
    photos: &[(PathBuf, usize)],
    batch: usize,
    device: &burn::tensor::Device,
    what: &str,
) -> anyhow::Result<CodeBook> {
    let paths: Vec<PathBuf> = photos.iter().map(|(p, _)| p.clone()).collect();
    let bar = crate::cli::output::progress_bar(paths.len(), &format!("encoding {what}"));
    let codes = encode_photos(
        model,
        &paths,
        batch,
        device,
        &AtomicBool::new(false),
        |done, _| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    let mut book = CodeBook::new(model.bits())?;
    for (code, path) in codes.into_iter().zip(&paths) {
        let code = code
            .context("encoding stopped early")?
            .with_context(|| path.display().to_string())?;
        book.push(&code)?;
    }
    Ok(book)
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
    let bar = crate::cli::output::progress_bar(paths.len(), &format!("encoding {what}"));
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
