//! `hashlens bench step`: the whole-network training step (two augmented views through backbone and
//! head, the method's losses, backward, both Adam updates) against the forward pass it is built on,
//! for each way of computing depthwise weight gradients (`model::depthwise`).
//!
//! PyTorch's step costs about three forward passes. The plain Burn prototype's cost 33, and this
//! benchmark is how we find out where ours goes on a GPU: one command, one table.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::{Device, Distribution, Tensor};
use clap::Args;
use hashlens_core::dataset::{classes_from_folders, scan_images};
use hashlens_core::model::BackboneArch;
use hashlens_core::model::depthwise::{DepthwiseGrad, with_depthwise_grad};
use hashlens_core::train::learner::{FullLearner, Learner};
use hashlens_core::train::{DhdLossConfig, TrainConfig, TrainImages, data};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::cli::args::{DeviceArgs, parse_backbone};
use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct StepBench {
    /// A folder whose sub-folders are classes (e.g. the CIFAR-10 JPEGs' train folder).
    #[arg(long)]
    data: PathBuf,
    /// Photos decoded for the steps (spread over the classes).
    #[arg(long, default_value_t = 256)]
    images: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Push at most this many photos of a view through the network at a time (`train --micro-batch`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    micro_batch: Option<u32>,
    /// Timed steps per variant, after one untimed step (kernel preparation).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    #[arg(long, default_value_t = 224)]
    image_size: usize,
    /// Side the photos are kept at before the views are made (32 for CIFAR).
    #[arg(long, default_value_t = 32)]
    keep_side: usize,
    #[arg(long, default_value = "mobilenet_v2", value_parser = parse_backbone)]
    backbone: BackboneArch,
    /// Depthwise weight gradients to time: taps, burn, auto (what training uses) or both.
    #[arg(long, default_value = "both")]
    depthwise_grad: String,
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Variant {
    depthwise_grad: &'static str,
    /// The untimed first step: kernel compilation and autotuning on a GPU.
    first_step_s: f64,
    step_ms: f64,
    /// Photos per second, each counted once although two views of it are seen (as the anchors count).
    train_images_per_s: f64,
    /// The step's cost in forward passes of its two views.
    step_over_forward: f64,
}

#[derive(Serialize)]
struct StepReport {
    backbone: &'static str,
    device: String,
    batch: usize,
    micro_batch: Option<u32>,
    image_size: usize,
    steps: usize,
    /// Inference forward of `2 × batch` views (no autodiff), steady state.
    forward_ms: f64,
    variants: Vec<Variant>,
}

pub fn run(b: StepBench) -> anyhow::Result<()> {
    let variants: Vec<DepthwiseGrad> = match b.depthwise_grad.as_str() {
        "both" => vec![DepthwiseGrad::Taps, DepthwiseGrad::Burn],
        name => vec![DepthwiseGrad::from_name(name).with_context(|| {
            format!("--depthwise-grad {name:?}: expected taps, burn, auto or both")
        })?],
    };
    let scan = scan_images(&b.data)?;
    let folders = classes_from_folders(&scan.images)?;
    anyhow::ensure!(
        scan.images.len() >= b.batch && b.batch > 0,
        "{} holds {} photos; the benchmark needs at least one batch ({})",
        b.data.display(),
        scan.images.len(),
        b.batch
    );
    let n = b.images.clamp(b.batch, scan.images.len());
    let every = scan.images.len() / n;
    let picked: Vec<usize> = (0..n).map(|i| i * every).collect();
    let paths: Vec<PathBuf> = picked
        .iter()
        .map(|&i| scan.images[i].path.clone())
        .collect();
    let classes = folders.names.len();
    let idx: Vec<usize> = picked.iter().map(|&i| folders.classes[i]).collect();
    let (images, _) = TrainImages::load(
        &paths,
        &data::one_hot(&idx, classes),
        classes,
        b.keep_side,
        &AtomicBool::new(false),
        |_, _| {},
    )
    .context("cancelled")?;
    let device = b.device.open()?;
    let config = TrainConfig::new(b.backbone, DhdLossConfig::new())
        .with_batch(b.batch)
        .with_micro_batch(b.micro_batch.map(|m| m as usize))
        .with_image_size(b.image_size);

    let forward_ms = {
        let (backbone, _) = config.starting_backbone(&device.device)?;
        let x = || {
            Tensor::<4>::random(
                [2 * b.batch, 3, b.image_size, b.image_size],
                Distribution::Uniform(-1.0, 1.0),
                &device.device,
            )
        };
        let _ = backbone.features(x()).into_data();
        let started = Instant::now();
        for _ in 0..b.steps {
            let _ = backbone.features(x()).into_data();
        }
        started.elapsed().as_secs_f64() * 1e3 / b.steps.max(1) as f64
    };

    let ad = device.device.clone().autodiff();
    let mut report = StepReport {
        backbone: b.backbone.name(),
        device: device.describe(),
        batch: b.batch,
        micro_batch: b.micro_batch,
        image_size: b.image_size,
        steps: b.steps,
        forward_ms,
        variants: Vec::new(),
    };
    for grad in variants {
        let variant = with_depthwise_grad(grad, || {
            time_steps(&b, &config, &images, &ad).map(|(first_step_s, step_ms)| Variant {
                depthwise_grad: grad.name(),
                first_step_s,
                step_ms,
                train_images_per_s: b.batch as f64 * 1e3 / step_ms,
                step_over_forward: step_ms / forward_ms,
            })
        })?;
        report.variants.push(variant);
    }
    if b.json {
        return crate::cli::output::print_json(&report);
    }
    out!(
        "{} on {}: batch {} (two views each{}) at {} px; forward of both views {:.1} ms",
        report.backbone,
        report.device,
        report.batch,
        report
            .micro_batch
            .map(|m| format!(", {m} photos per pass"))
            .unwrap_or_default(),
        report.image_size,
        report.forward_ms
    );
    out!("| depthwise grad | first step s | step ms | images/s | step / forward |");
    out!("| --- | --- | --- | --- | --- |");
    for v in &report.variants {
        out!(
            "| {} | {:.2} | {:.1} | {:.1} | {:.1} |",
            v.depthwise_grad,
            v.first_step_s,
            v.step_ms,
            v.train_images_per_s,
            v.step_over_forward
        );
    }
    Ok(())
}

/// The first step's seconds and the mean of the next `b.steps` in milliseconds.
fn time_steps(
    b: &StepBench,
    config: &TrainConfig,
    images: &TrainImages,
    ad: &Device,
) -> anyhow::Result<(f64, f64)> {
    let n = images.len();
    let mut learner = FullLearner::new(config, images, ad, None, &mut |_| {})?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let items: Vec<usize> = (0..b.batch).collect();
    let started = Instant::now();
    let _ = learner.step(&items, &mut rng, 1e-4, 1e-3).into_data();
    let first_step_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut last = None;
    for s in 0..b.steps {
        let items: Vec<usize> = (0..b.batch).map(|i| (s * b.batch + i) % n).collect();
        last = Some(learner.step(&items, &mut rng, 1e-4, 1e-3));
    }
    if let Some(values) = last {
        let _ = values.into_data();
    }
    ad.sync().context("waiting for the device")?;
    Ok((
        first_step_s,
        started.elapsed().as_secs_f64() * 1e3 / b.steps.max(1) as f64,
    ))
}
