//! `hashlens bench hashing`: the training-free hash functions (PCA + ITQ, LSH) on ImageNet backbone
//! features, under the deep-hashing protocol of a class-folder data set (CIFAR-10: `cifar10`, seed 0).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use hashlens_core::dataset::protocol_split;
use hashlens_core::eval::{Depth, EvalConfig, Labels, evaluate};
use hashlens_core::hashing::{EditWhitening, LinearHash};
use hashlens_core::model::reference::shipped_edit_whitening;
use hashlens_core::model::{BackboneArch, features::extract_features};
use serde::Serialize;

use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct HashingBench {
    /// A folder with one sub-folder per class (e.g. the CIFAR-10 JPEGs).
    #[arg(long)]
    data: PathBuf,
    /// Code lengths.
    #[arg(long, value_delimiter = ',', default_value = "64", value_parser = crate::cli::args::parse_bits)]
    bits: Vec<usize>,
    /// Seed of the protocol split (and of LSH and ITQ's initial rotation).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use only this many queries of the split (default: all).
    #[arg(long)]
    queries: Option<usize>,
    /// Use only this many database images of the split (default: all); the subset is the start of the
    /// split's seeded permutation, so it is a uniform sample.
    #[arg(long)]
    database: Option<usize>,
    /// Use only this many training images to fit ITQ (default: all).
    #[arg(long)]
    train: Option<usize>,
    /// Also fit on only the first N training images, for each N (e.g. 100,500,2000): how many photos
    /// the index's default model needs to be fitted on (it fits on a sample of up to 2,000).
    #[arg(long, value_delimiter = ',')]
    fit_sizes: Vec<usize>,
    /// Backbone whose ImageNet features are hashed.
    #[arg(long, default_value = "mobilenet_v2", value_parser = crate::cli::args::parse_backbone)]
    backbone: BackboneArch,
    #[command(flatten)]
    device: crate::cli::args::DeviceArgs,
    /// Images per network batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Also fit PCA + ITQ after a whitening learned from edited copies of N photos of this folder
    /// (`pca-itq-edit-whitened`; edited the fifteen ways of `bench edits`), N = --edit-whitening-photos.
    #[arg(long, value_name = "DIR")]
    edit_whitening_from: Option<PathBuf>,
    #[arg(long, default_value_t = 200)]
    edit_whitening_photos: usize,
    /// Also fit the default's codes for finding copies: PCA + ITQ after the shipped edit whitening
    /// (`pca-itq-copies`, as `hashlens index --codes copies` fits them).
    #[arg(long)]
    copies: bool,
    /// How far the edit shifts' covariance is shrunk toward its mean eigenvalue.
    #[arg(long, default_value_t = 0.1, value_parser = crate::cli::args::parse_weight)]
    shrink: f64,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row {
    method: &'static str,
    bits: usize,
    /// Training images the hash function was fitted on (LSH uses none of their content).
    fitted_on: usize,
    map_all: f64,
    map_1000: f64,
    precision_radius_2: f64,
}

#[derive(Serialize)]
struct HashingReport {
    backbone: &'static str,
    device: String,
    seed: u64,
    queries: usize,
    database: usize,
    train: usize,
    feature_images_per_s: f64,
    threads: usize,
    results: Vec<Row>,
}

pub fn run(b: HashingBench) -> anyhow::Result<()> {
    let data = protocol_split(&b.data, "cifar10", b.seed)?.first(b.queries, b.train, b.database);
    let (query, database, train) = (&data.query, &data.database, &data.train);

    let paths: Vec<PathBuf> = [&train[..], &query[..], &database[..]]
        .concat()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let device = b.device.open()?;
    let model = b.backbone.pretrained(&device.device)?;
    let bar = indicatif::ProgressBar::new(paths.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "features {bar:40} {pos}/{len} {per_sec} ETA {eta}",
        )
        .expect("a valid template"),
    );
    let started = Instant::now();
    let cancel = AtomicBool::new(false);
    let pre = b.backbone.preprocess();
    // As an index computes them: through the folded CPU network where it runs.
    let inference = model.for_inference(&device.device);
    let network = |x| inference.features(x);
    let feats = extract_features(
        &paths,
        &pre,
        b.batch,
        &device.device,
        &cancel,
        network,
        |done, _| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    let per_s = paths.len() as f64 / started.elapsed().as_secs_f64();
    let mut rows: Vec<Vec<f32>> = Vec::with_capacity(feats.len());
    for (f, p) in feats.into_iter().zip(&paths) {
        rows.push(
            f.context("feature extraction stopped early")?
                .with_context(|| p.display().to_string())?,
        );
    }
    let dim = rows[0].len();
    let flat = |r: &[Vec<f32>]| r.concat();
    let (tr, q, db) = (
        flat(&rows[..train.len()]),
        flat(&rows[train.len()..train.len() + query.len()]),
        flat(&rows[train.len() + query.len()..]),
    );
    let labels = |part: &[(PathBuf, usize)]| {
        Labels::from_classes(
            data.classes.len(),
            &part.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        )
    };
    let (ql, dbl) = (labels(query)?, labels(database)?);
    let cfg = EvalConfig {
        map_depths: vec![Depth::All, Depth::Top(1000)],
        ..EvalConfig::default()
    };
    let mut fit_sizes: Vec<usize> = b
        .fit_sizes
        .iter()
        .copied()
        .filter(|&n| n < train.len())
        .chain([train.len()])
        .collect();
    fit_sizes.sort_unstable();
    fit_sizes.dedup();
    let temp = tempfile::tempdir().context("cannot make a work folder")?;
    let whitening = match &b.edit_whitening_from {
        Some(from) => {
            let (originals, copies) = super::edits::edit_pairs(
                from,
                temp.path(),
                b.edit_whitening_photos,
                &[],
                &device.device,
            )?;
            let learned = format!("edits of photos of {}", from.display());
            Some(EditWhitening::learn(
                &originals, &copies, dim, b.shrink, learned,
            )?)
        }
        None => None,
    };
    let shipped = if b.copies {
        Some(
            shipped_edit_whitening(b.backbone)
                .context("no edit whitening ships for this backbone")?,
        )
    } else {
        None
    };
    let mut results = Vec::new();
    for &bits in &b.bits {
        // ITQ's PCA needs more photos than bits (the index falls back to LSH below that).
        for &n in fit_sizes.iter().filter(|&&n| n > bits) {
            let fit = &tr[..n * dim];
            let mut hashes = vec![("pca-itq", LinearHash::itq(fit, dim, bits, 50, b.seed)?)];
            if n == train.len() {
                hashes.push((
                    "pca-itq-whitened",
                    LinearHash::itq_with(fit, dim, bits, 50, b.seed, true)?,
                ));
                hashes.push(("lsh", LinearHash::lsh(fit, dim, bits, b.seed)?));
                if let Some(whitening) = &whitening {
                    hashes.push((
                        "pca-itq-edit-whitened",
                        LinearHash::itq_after(fit, whitening, bits, 50, b.seed)?,
                    ));
                }
                if let Some(shipped) = &shipped {
                    hashes.push((
                        "pca-itq-copies",
                        LinearHash::itq_after(fit, shipped, bits, 50, b.seed)?,
                    ));
                }
            }
            for (method, hash) in hashes {
                let r = evaluate(&hash.encode(&db)?, &dbl, &hash.encode(&q)?, &ql, &cfg)?;
                results.push(Row {
                    method,
                    bits,
                    fitted_on: n,
                    map_all: r.map_at(Depth::All).unwrap_or_default(),
                    map_1000: r.map_at(Depth::Top(1000)).unwrap_or_default(),
                    precision_radius_2: r.precision_within_radius.precision,
                });
            }
        }
    }
    let report = HashingReport {
        backbone: b.backbone.name(),
        device: device.describe(),
        seed: b.seed,
        queries: query.len(),
        database: database.len(),
        train: train.len(),
        feature_images_per_s: per_s,
        threads: rayon::current_num_threads(),
        results,
    };
    if b.json {
        return crate::cli::output::print_json(&report);
    }
    out!(
        "{}: {} queries, {} database, {} train images; features at {:.1} images/s on {} ({} CPU threads)",
        report.backbone,
        report.queries,
        report.database,
        report.train,
        report.feature_images_per_s,
        report.device,
        report.threads
    );
    for r in &report.results {
        out!(
            "  {:<8} {:>4} bits, fitted on {:>5}: mAP@all {:.4}  mAP@1000 {:.4}  P(r≤2) {:.4}",
            r.method,
            r.bits,
            r.fitted_on,
            r.map_all,
            r.map_1000,
            r.precision_radius_2
        );
    }
    Ok(())
}
