//! `hashlens convert-weights` and `hashlens inspect`: getting pretrained weights in, and showing that they
//! are right (ImageNet predictions on real photos).

use std::path::PathBuf;

use clap::Args;
use hashlens_core::model::{BackboneArch, HashModel, image_batch, imagenet, weights};
use hashlens_core::photo::{DecodeLimits, decode_file};
use serde::Serialize;

use crate::cli::output::out;

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// A PyTorch state dict (.pth/.pt, legacy or zip format).
    input: PathBuf,
    /// The safetensors file to write (atomically).
    output: PathBuf,
    /// The network the weights belong to: mobilenet_v2 (torchvision layout) or efficientnet_lite0
    /// (EfficientNet-PyTorch layout).
    #[arg(long, default_value = "mobilenet_v2", value_parser = crate::cli::args::parse_backbone)]
    arch: BackboneArch,
}

pub fn convert(a: ConvertArgs) -> anyhow::Result<()> {
    let device = burn::tensor::Device::flex();
    let net = a.arch.from_pytorch(&a.input, &device)?;
    weights::save_safetensors(&net, &a.output)?;
    out!("{} → {}", a.input.display(), a.output.display());
    Ok(())
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Photos to classify.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// The backbone: mobilenet_v2 or efficientnet_lite0.
    #[arg(long, default_value = "mobilenet_v2", value_parser = crate::cli::args::parse_backbone)]
    backbone: BackboneArch,
    /// Weights to use instead of the embedded ImageNet ones (safetensors from convert-weights).
    #[arg(long, conflicts_with = "model")]
    weights: Option<PathBuf>,
    /// A hash model (e.g. an index's `.model` file): its backbone classifies, and each photo's code is
    /// printed too.
    #[arg(long)]
    model: Option<PathBuf>,
    #[command(flatten)]
    device: crate::cli::args::DeviceArgs,
    /// One JSON object per image per line.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Inspection {
    path: String,
    top5: Vec<imagenet::Prediction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

#[derive(Serialize)]
struct Failure {
    path: String,
    error: String,
}

pub fn inspect(a: InspectArgs) -> anyhow::Result<()> {
    let device = a.device.open()?.device;
    let hash_model = match &a.model {
        Some(path) => Some(HashModel::load(path, &device)?),
        None => None,
    };
    let own;
    let (backbone, pre) = match (&hash_model, &a.weights) {
        (Some(m), _) => (&m.net().backbone, m.preprocess()),
        (None, None) => {
            own = a.backbone.pretrained(&device)?;
            (&own, a.backbone.preprocess())
        }
        (None, Some(path)) => {
            let pre = a.backbone.preprocess();
            let (net, note) = a
                .backbone
                .from_weight_file(path, pre.crop as usize, &device)?;
            if let Some(note) = note {
                eprintln!("hashlens: {note}");
            }
            own = net;
            (&own, pre)
        }
    };
    let limits = DecodeLimits::default();
    let mut failed = 0;
    for path in &a.images {
        let shown = path.to_string_lossy().into_owned();
        let img = match decode_file(path, &limits) {
            Ok(img) => img,
            Err(e) => {
                failed += 1;
                if a.json {
                    crate::cli::output::print_json(&Failure {
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
        let x = image_batch(values, pre.crop as usize, &device);
        // HybridHash has no ImageNet classifier: its photos get a code only.
        let top5 = match backbone.logits(x.clone()) {
            Some(logits) => imagenet::top_k(&read(logits)?, 5),
            None => Vec::new(),
        };
        let code = hash_model
            .as_ref()
            .map(|m| m.codes(x).remove(0).to_string());
        if a.json {
            crate::cli::output::print_json(&Inspection {
                path: shown,
                top5,
                code,
            })?;
        } else {
            out!("{shown}");
            for p in &top5 {
                out!("  {:>5.1}%  {:>3}  {}", p.prob * 100.0, p.class, p.name);
            }
            if let Some(code) = code {
                out!("  code {code}");
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

fn read(t: burn::tensor::Tensor<2>) -> anyhow::Result<Vec<f32>> {
    t.into_data()
        .try_to_vec()
        .map_err(|e| anyhow::anyhow!("reading the network's output: {e:?}"))
}
