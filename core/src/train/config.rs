//! A training run's settings: what it updates ([`TrainMode`]) and every hyper-parameter
//! ([`TrainConfig`], saved with the checkpoint and in the model's provenance).

use std::path::PathBuf;

use burn::config::Config;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::events::TrainError;
use super::loss::DhdLossConfig;
use super::method::MethodConfig;
use crate::model::BackboneArch;

/// What training updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainMode {
    /// Backbone and head, on two augmented views per step (a GPU's job).
    Full,
    /// The head only, on cached backbone features of augmented views (fine on a CPU).
    Head,
}

/// A training run's settings (the defaults are the PyTorch reference recipe of ../shared/spec/anchors.md).
#[derive(Config, Debug)]
pub struct TrainConfig {
    pub backbone: BackboneArch,
    pub loss: DhdLossConfig,
    /// DHD (default), DHN or CSQ, and the SdH plug-in.
    #[config(default = "MethodConfig::new()")]
    pub method: MethodConfig,
    #[config(default = 64)]
    pub bits: usize,
    #[config(default = 40)]
    pub epochs: usize,
    #[config(default = 128)]
    pub batch: usize,
    /// Whole-network mode: push at most this many photos of a view through the network at a time, for
    /// a GPU without the memory for the batch. The step's gradient stays the whole batch's (see
    /// `micro_batch`); only BatchNorm's statistics become the micro-batches'. Not part of a run's
    /// identity: a checkpoint resumes under another value.
    #[config(default = "None")]
    pub micro_batch: Option<usize>,
    #[config(default = 1e-4)]
    pub lr_backbone: f64,
    #[config(default = 1e-3)]
    pub lr_head: f64,
    /// Coupled L2 on every parameter (DHD: 1e-5).
    #[config(default = 1e-5)]
    pub weight_decay: f64,
    /// s_T: the teacher group's probabilities are the student's times this.
    #[config(default = 0.5)]
    pub teacher_scale: f64,
    #[config(default = "TrainMode::Full")]
    pub mode: TrainMode,
    /// Start the backbone from this safetensors file instead of the shipped ImageNet weights (for
    /// HybridHash, which has none, whole-network training otherwise starts from random weights).
    #[config(default = "None")]
    pub backbone_weights: Option<PathBuf>,
    /// Head mode: augmented views per photo and group whose features are cached.
    #[config(default = 4)]
    pub cached_views: usize,
    /// The share of student views made from an everyday edit of the photo (JPEG re-save at quality 50,
    /// a 5° turn, a border, a 25 % or thumbnail-size copy: what DHD's groups do not cover) before the
    /// student's augmentations, in both modes. `None` (the default, and what older checkpoints read
    /// as): DHD's views only.
    #[config(default = "None")]
    pub edit_views: Option<f64>,
    #[config(default = 0)]
    pub seed: u64,
    /// Side of the network's input; views are made at 256/224 of it and centre-cropped (DHD: 224).
    #[config(default = 224)]
    pub image_size: usize,
    /// Read the losses back (and check them) every this many steps.
    #[config(default = 20)]
    pub log_every: usize,
}

impl TrainConfig {
    /// The backbone a run starts from: the weight file when one is given, else the shipped ImageNet
    /// weights, else (a network without them, whole-network training only) random weights drawn from
    /// the run's seed; and what a partially used weight file gave (a line for the log). `device` may be
    /// an autodiff device.
    pub fn starting_backbone(
        &self,
        device: &Device,
    ) -> Result<(crate::model::Backbone, Option<String>), TrainError> {
        let arch = self.backbone;
        let model = |e: crate::model::weights::WeightsError| TrainError::Model(e.to_string());
        match &self.backbone_weights {
            Some(path) => arch
                .from_weight_file(path, self.image_size, device)
                .map_err(model),
            None if arch.has_pretrained() || self.mode == TrainMode::Head => {
                Ok((arch.pretrained(device).map_err(model)?, None))
            }
            None => {
                device.seed(self.seed);
                Ok((arch.init(self.image_size, device), None))
            }
        }
    }

    /// The input transform: the backbone's normalisation, views of `image_size`·256/224 pixels
    /// centre-cropped to `image_size`.
    pub fn input(&self) -> crate::photo::Preprocess {
        let mut pre = self.backbone.preprocess();
        pre.crop = self.image_size as u32;
        pre.resize = ((self.image_size * 256 + 112) / 224) as u32;
        pre
    }
}
