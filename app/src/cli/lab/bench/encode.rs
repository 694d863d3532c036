//! `hashlens bench encode`: how fast photos become features on this machine, in three measurements on
//! the same photos — decoding alone (decode, resize, crop, normalise on every core), the network alone (on
//! photos decoded beforehand) and the two overlapped as indexing runs them — separating the first batch
//! (kernel compilation and autotuning on a GPU: what users wait for once) from the steady state.
//! `benches/encode_compare.sh` runs the same photos through Pillow + ONNX Runtime and prints the ratios.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use hashlens_core::dataset::scan_images;
use hashlens_core::model::features::{Decode, for_each_batch_with};
use hashlens_core::model::{BackboneArch, CpuInference, InferenceBackbone, image_batch};
use hashlens_core::photo::{DecodeLimits, decode_at_least};
use rayon::prelude::*;
use serde::Serialize;

use crate::cli::args::{DeviceArgs, parse_backbone};
use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct EncodeBench {
    /// A folder of photos (e.g. the CIFAR-10 JPEGs).
    #[arg(long)]
    data: PathBuf,
    /// Photos to encode (the first N of the scan).
    #[arg(long, default_value_t = 512)]
    images: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value = "mobilenet_v2", value_parser = parse_backbone)]
    backbone: BackboneArch,
    #[command(flatten)]
    device: DeviceArgs,
    /// Which implementation runs the network on the CPU: hashlens's own inference path (native) or
    /// Burn's forward pass (burn, the reference).
    #[arg(long, value_enum, default_value = "native")]
    network: NetworkArg,
    /// Decode every photo at full size (as before reduced-size JPEG decoding).
    #[arg(long)]
    full_decode: bool,
    /// Worker threads for decoding and the CPU network (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also time each kind of layer on one core (the CPU inference path only).
    #[arg(long)]
    profile: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum NetworkArg {
    Native,
    Burn,
}

#[derive(Serialize)]
struct LayerShare {
    layers: &'static str,
    ms_per_photo: f64,
    share: f64,
}

#[derive(Serialize)]
struct BlockShare {
    /// e.g. "56×56 24→144→24 3×3/1".
    block: String,
    /// Run by bands of rows: the whole block's time is `expand_ms`.
    fused: bool,
    /// Run by rows with the stem: `expand_ms` is the stem's and this block's time together.
    with_stem: bool,
    expand_ms: f64,
    depthwise_ms: f64,
    project_ms: f64,
}

#[derive(Serialize)]
struct EncodeReport {
    backbone: &'static str,
    device: String,
    network: &'static str,
    batch: usize,
    images: usize,
    threads: usize,
    full_decode: bool,
    /// Photos per second decoded, resized, cropped and normalised on every core (nothing else running).
    decode_images_per_s: f64,
    /// Photos per second through the network alone, after its first batch, on photos decoded beforehand.
    network_images_per_s: f64,
    /// Photos per second decoding and network overlapped, as indexing runs them, after the first batch.
    end_to_end_images_per_s: f64,
    /// Seconds to the end of the first end-to-end batch (model load excluded; GPU kernel preparation
    /// included).
    first_batch_s: f64,
    /// Time per kind of layer on one core (`--profile`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profile: Vec<LayerShare>,
    /// Per block, milliseconds per photo on one core (`--profile`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profile_blocks: Vec<BlockShare>,
}

pub fn run(b: EncodeBench) -> anyhow::Result<()> {
    if let Some(threads) = b.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("cannot set the number of worker threads")?;
    }
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
    let choice = match b.network {
        NetworkArg::Native => CpuInference::Auto,
        NetworkArg::Burn => CpuInference::Burn,
    };
    let network = InferenceBackbone::new(&backbone, &device.device, choice);
    let pre = b.backbone.preprocess();
    let limits = DecodeLimits::default();
    let side = if b.full_decode {
        None
    } else {
        Decode::for_input(&pre).side
    };

    // Decoding alone, on every core.
    let started = Instant::now();
    let pixels: Vec<Vec<f32>> = paths
        .par_iter()
        .map(|p| -> anyhow::Result<Vec<f32>> {
            let img = decode_at_least(p, &limits, side)
                .with_context(|| format!("cannot decode {}", p.display()))?;
            let mut v = Vec::with_capacity(pre.len());
            pre.apply(&img, &mut v);
            Ok(v)
        })
        .collect::<anyhow::Result<_>>()?;
    let decode_images_per_s = paths.len() as f64 / started.elapsed().as_secs_f64();

    // The network alone, on the decoded photos; the first batch warms up.
    let crop = pre.crop as usize;
    let mut timed = 0;
    let mut network_s = 0.0;
    for (i, chunk) in pixels.chunks(b.batch).enumerate() {
        if chunk.len() < b.batch {
            break;
        }
        let x = image_batch(chunk.concat(), crop, &device.device);
        let t = Instant::now();
        let y = network.features(x).into_data();
        std::hint::black_box(y);
        if i > 0 {
            network_s += t.elapsed().as_secs_f64();
            timed += chunk.len();
        }
    }
    let network_images_per_s = timed as f64 / network_s;

    let (profile, profile_blocks) = match (b.profile, network.cpu_net()) {
        (true, Some(cpu)) => {
            let n = pixels.len().min(16);
            let times = cpu.profile(&pixels[..n].concat(), n, crop, crop);
            let total: f64 = times.rows().iter().map(|(_, d)| d.as_secs_f64()).sum();
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3 / n as f64;
            let kinds = times
                .rows()
                .iter()
                .map(|(layers, d)| LayerShare {
                    layers,
                    ms_per_photo: ms(*d),
                    share: d.as_secs_f64() / total,
                })
                .collect();
            let blocks = times
                .blocks
                .iter()
                .map(|t| BlockShare {
                    block: format!(
                        "{}×{} {}→{}→{} {k}×{k}/{}",
                        t.size.0,
                        t.size.1,
                        t.channels.0,
                        t.channels.1,
                        t.channels.2,
                        t.stride,
                        k = t.kernel
                    ),
                    fused: t.fused,
                    with_stem: t.with_stem,
                    expand_ms: ms(t.layers[0]),
                    depthwise_ms: ms(t.layers[1]),
                    project_ms: ms(t.layers[2]),
                })
                .collect();
            (kinds, blocks)
        }
        (true, None) => anyhow::bail!(
            "--profile times hashlens's CPU inference path: use --network native on the CPU"
        ),
        _ => (Vec::new(), Vec::new()),
    };
    drop(pixels);

    // Both overlapped, as indexing runs them.
    let started = Instant::now();
    let mut first: Option<(Instant, usize)> = None;
    let mut done = 0;
    let bar = indicatif::ProgressBar::new(paths.len() as u64);
    let decode = Decode { limits, side };
    for_each_batch_with(
        &paths,
        &pre,
        decode,
        b.batch,
        &device.device,
        &AtomicBool::new(false),
        |x| network.features(x),
        |_, outputs, _| {
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
        network: if network.is_cpu_net() {
            "hashlens cpu inference"
        } else {
            "burn"
        },
        batch: b.batch,
        images: done,
        threads: rayon::current_num_threads(),
        full_decode: b.full_decode,
        decode_images_per_s,
        network_images_per_s,
        end_to_end_images_per_s: (done - n1) as f64 / t1.elapsed().as_secs_f64(),
        first_batch_s: (t1 - started).as_secs_f64(),
        profile,
        profile_blocks,
    };
    if b.json {
        return crate::cli::output::print_json(&report);
    }
    out!(
        "{} on {} ({}), {} photos, batch {}, {} threads",
        report.backbone,
        report.device,
        report.network,
        report.images,
        report.batch,
        report.threads
    );
    out!(
        "  decoding alone    {:.1} photos/s{}",
        report.decode_images_per_s,
        if b.full_decode {
            " (full-size decodes)"
        } else {
            ""
        }
    );
    out!(
        "  network alone     {:.1} photos/s",
        report.network_images_per_s
    );
    out!(
        "  end to end        {:.1} photos/s (first batch after {:.2} s)",
        report.end_to_end_images_per_s,
        report.first_batch_s
    );
    for l in &report.profile {
        out!(
            "  {:<24} {:>6.2} ms/photo  {:>4.1} %",
            l.layers,
            l.ms_per_photo,
            l.share * 100.0
        );
    }
    if !report.profile_blocks.is_empty() {
        out!("  per block, ms/photo on one core: expansion, depthwise, projection");
    }
    for b in &report.profile_blocks {
        if b.with_stem {
            out!(
                "    {:<26} {:>5.2} (with the stem, by rows)",
                b.block,
                b.expand_ms
            );
        } else if b.fused {
            out!(
                "    {:<26} {:>5.2} (the three by rows)",
                b.block,
                b.expand_ms
            );
        } else {
            out!(
                "    {:<26} {:>5.2} {:>5.2} {:>5.2}",
                b.block,
                b.expand_ms,
                b.depthwise_ms,
                b.project_ms
            );
        }
    }
    Ok(())
}
