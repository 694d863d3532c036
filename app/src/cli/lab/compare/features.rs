//! The backbone features every head-mode run of `hashlens compare` shares: the training views
//! ([`FeatureCache`]), the query, database, training and held-out photos and, with `--robustness`, the
//! queries under each unseen deformation (DHD's Table 4). Computed once per comparison, or read back from
//! `--feature-cache` ([`super::compare_cache`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::tensor::Tensor;
use hashlens_core::dataset::ProtocolData;
use hashlens_core::model::image_batch;
use hashlens_core::photo::deform::Deformation;
use hashlens_core::photo::{DecodeLimits, decode_file};
use hashlens_core::train::{FeatureCache, TrainConfig, TrainEvent, TrainImages};

use super::cache::{self, SharedFeatures};
use crate::cli::eval_model::network_outputs;
use crate::cli::output::progress_bar;

/// The backbone features every head-mode run shares: read from `--feature-cache` when it holds them
/// for these settings and photos, else computed (and then saved there).
#[allow(clippy::too_many_arguments)]
pub fn head_features(
    first: &TrainConfig,
    images: &TrainImages,
    split: &ProtocolData,
    held_out: &[(PathBuf, usize)],
    robustness: bool,
    cache_file: Option<&Path>,
    device: &burn::tensor::Device,
    cancel: &AtomicBool,
) -> anyhow::Result<SharedFeatures> {
    let photos: Vec<&std::path::Path> = (split.query.iter().chain(&split.database))
        .chain(held_out)
        .map(|(p, _)| p.as_path())
        .collect();
    let key = format!(
        "{} | training photos {} | queries and database {} | robustness {}",
        FeatureCache::key_for(first),
        images.fingerprint(),
        cache::files_key(&photos),
        robustness
    );
    if let Some(path) = cache_file
        && let Some(shared) = cache::load(path, &key, first, device)?
    {
        eprintln!("hashlens: backbone features from {}", path.display());
        return Ok(shared);
    }
    let bar = progress_bar(0, "caching features of training views");
    let mut on_event = |e: TrainEvent| {
        if let TrainEvent::Stage { done, total, .. } = e {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    let cache = FeatureCache::compute(first, images, device, cancel, &mut on_event)?;
    bar.finish_and_clear();
    let backbone = first.backbone.pretrained(device)?;
    let backbone = backbone.for_inference(device);
    let encode = |photos: &[(PathBuf, usize)], what: &str| {
        network_outputs(photos, &first.input(), 64, device, what, |x| {
            backbone.features(x)
        })
    };
    let deformed = if robustness {
        deformed_queries(&split.query, &first.input(), first.seed, device, |x| {
            backbone.features(x)
        })?
    } else {
        Vec::new()
    };
    let shared = SharedFeatures {
        cache: Arc::new(cache),
        query: encode(&split.query, "query")?,
        database: encode(&split.database, "database")?,
        train: encode(&split.train, "training photos")?,
        held_out: encode(held_out, "held-out training photos")?,
        deformed,
    };
    if let Some(path) = cache_file {
        cache::save(path, &key, &shared)?;
        eprintln!("hashlens: backbone features saved in {}", path.display());
    }
    Ok(shared)
}

/// Backbone features of the query photos under every deformation but none (each photo and deformation
/// with its own seeded draw), decoded once.
fn deformed_queries(
    photos: &[(PathBuf, usize)],
    pre: &hashlens_core::photo::Preprocess,
    seed: u64,
    device: &burn::tensor::Device,
    mut network: impl FnMut(Tensor<4>) -> Tensor<2>,
) -> anyhow::Result<Vec<(Deformation, Vec<Vec<f32>>)>> {
    use rand::SeedableRng;
    use rayon::prelude::*;
    let decoded: Vec<image::RgbImage> = photos
        .par_iter()
        .map(|(p, _)| decode_file(p, &DecodeLimits::default()))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (k, d) in Deformation::ALL.into_iter().enumerate().skip(1) {
        let bar = progress_bar(decoded.len(), &format!("queries with {}", d.name()));
        let mut rows = Vec::with_capacity(decoded.len());
        for (c, chunk) in decoded.chunks(64).enumerate() {
            let pixels: Vec<f32> = chunk
                .par_iter()
                .enumerate()
                .flat_map_iter(|(i, img)| {
                    let at = (c * 64 + i) as u64;
                    let mut rng =
                        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ ((k as u64) << 32) ^ at);
                    let mut v = Vec::with_capacity(pre.len());
                    pre.apply(&d.apply(img, &mut rng), &mut v);
                    v
                })
                .collect();
            let y = network(image_batch(pixels, pre.crop as usize, device));
            let width = y.dims()[1];
            let values = y
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32");
            rows.extend(values.chunks(width).map(<[f32]>::to_vec));
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        out.push((d, rows));
    }
    Ok(out)
}
