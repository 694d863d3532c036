//! `hashlens bench encode`: how fast photos become codes on this machine — decoding on CPU threads
//! overlapped with the network on the chosen device — separating the first batch (kernel compilation
//! and autotuning on a GPU: what users wait for once) from the steady state.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::Args;
use hashlens_core::dataset::scan_images;
use hashlens_core::model::BackboneArch;
use hashlens_core::model::features::for_each_batch;
use serde::Serialize;

use super::index::{DeviceArgs, parse_backbone};
use super::out;

#[derive(Args, Debug)]
pub struct EncodeBench {
    /// A folder of photos (e.g. the CIFAR-10 JPEGs).
    #[arg(long)]
    data: PathBuf,
    /// Photos to encode (the first N of the scan).
    #[arg(long, default_value_t = 512)]
    images: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value = "mobilenet_v2", value_parser = parse_backbone)]
    backbone: BackboneArch,
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct EncodeReport {
    backbone: &'static str,
    device: String,
    batch: usize,
    images: usize,
    /// Seconds to the end of the first batch (model load excluded; GPU kernel preparation included).
    first_batch_s: f64,
    /// Photos per second after the first batch: decode + network + read-back, overlapped.
    steady_images_per_s: f64,
    threads: usize,
}

pub fn run(b: EncodeBench) -> anyhow::Result<()> {
    let scan = scan_images(&b.data)?;
    let paths: Vec<PathBuf> = scan
        .images
        .iter()
        .take(b.images)
        .map(|e| e.path.clone())
        .collect();
    anyhow::ensure!(
        paths.len() > b.batch,
        "{} holds {} photos; the benchmark needs more than one batch ({})",
        b.data.display(),
        paths.len(),
        b.batch
    );
    let device = b.device.open()?;
    let backbone = b.backbone.pretrained(&device.device)?;
    let started = Instant::now();
    let mut first: Option<(Instant, usize)> = None;
    let mut done = 0;
    let bar = indicatif::ProgressBar::new(paths.len() as u64);
    for_each_batch(
        &paths,
        &b.backbone.preprocess(),
        b.batch,
        &device.device,
        &AtomicBool::new(false),
        |x| backbone.features(x),
        |_, outputs| {
            done += outputs.len();
            first.get_or_insert((Instant::now(), done));
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    let (t1, n1) = first.expect("at least one batch");
    let report = EncodeReport {
        backbone: b.backbone.name(),
        device: device.describe(),
        batch: b.batch,
        images: done,
        first_batch_s: (t1 - started).as_secs_f64(),
        steady_images_per_s: (done - n1) as f64 / t1.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
    };
    if b.json {
        return super::print_json(&report);
    }
    out!(
        "{} on {}: first batch of {} after {:.2} s, then {:.1} images/s ({} photos, {} CPU threads)",
        report.backbone,
        report.device,
        report.batch,
        report.first_batch_s,
        report.steady_images_per_s,
        report.images,
        report.threads
    );
    Ok(())
}
