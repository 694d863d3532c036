//! `hashlens convert-weights` and `hashlens inspect`: getting pretrained weights in, and showing that they
//! are right (ImageNet predictions on real photos).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hashlens_core::model::{MobileNetV2, image_batch, imagenet, weights};
use hashlens_core::photo::{DecodeLimits, Preprocess, decode_file};
use serde::Serialize;

use super::out;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Arch {
    /// torchvision MobileNetV2 (`features.*`, `classifier.1.*`).
    MobilenetV2,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// A PyTorch state dict (.pth/.pt, legacy or zip format).
    input: PathBuf,
    /// The safetensors file to write (atomically).
    output: PathBuf,
    /// The network the weights belong to.
    #[arg(long, value_enum, default_value = "mobilenet-v2")]
    arch: Arch,
}

pub fn convert(a: ConvertArgs) -> anyhow::Result<()> {
    let device = burn::tensor::Device::flex();
    match a.arch {
        Arch::MobilenetV2 => {
            let mut model = MobileNetV2::new(&device);
            weights::load_pytorch(&mut model, &a.input, &MobileNetV2::torchvision_key_map())?;
            weights::save_safetensors(&model, &a.output)?;
        }
    }
    out!("{} → {}", a.input.display(), a.output.display());
    Ok(())
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Photos to classify.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Weights to use instead of the embedded ImageNet MobileNetV2 (safetensors from convert-weights).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// One JSON object per image per line.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Inspection {
    path: String,
    top5: Vec<imagenet::Prediction>,
}

#[derive(Serialize)]
struct Failure {
    path: String,
    error: String,
}

pub fn inspect(a: InspectArgs) -> anyhow::Result<()> {
    let device = burn::tensor::Device::flex();
    let model = match &a.weights {
        None => MobileNetV2::pretrained(&device)?,
        Some(path) => {
            let mut m = MobileNetV2::new(&device);
            weights::load_safetensors(&mut m, path)?;
            m
        }
    };
    let pre = Preprocess::imagenet();
    let limits = DecodeLimits::default();
    let mut failed = 0;
    for path in &a.images {
        let shown = path.to_string_lossy().into_owned();
        let img = match decode_file(path, &limits) {
            Ok(img) => img,
            Err(e) => {
                failed += 1;
                if a.json {
                    super::print_json(&Failure {
                        path: shown,
                        error: e.to_string(),
                    })?;
                } else {
                    eprintln!("{shown}: {e}");
                }
                continue;
            }
        };
        let mut values = Vec::with_capacity(pre.len());
        pre.apply(&img, &mut values);
        let logits = model.logits(image_batch(values, pre.crop as usize, &device));
        let logits: Vec<f32> = logits
            .into_data()
            .try_to_vec()
            .map_err(|e| anyhow::anyhow!("reading the network's output: {e:?}"))?;
        let top5 = imagenet::top_k(&logits, 5);
        if a.json {
            super::print_json(&Inspection { path: shown, top5 })?;
        } else {
            out!("{shown}");
            for p in &top5 {
                out!("  {:>5.1}%  {:>3}  {}", p.prob * 100.0, p.class, p.name);
            }
        }
    }
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} images could not be read",
        a.images.len()
    );
    Ok(())
}
