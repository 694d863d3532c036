//! The one interface every backbone offers, and the names users and model files know them by.
//!
//! A backbone turns normalised images into a pooled feature vector (what the hash head reads) and, when it
//! carries its ImageNet classifier, into logits (how we prove its weights loaded right). [`Backbone`] is a
//! Burn module enum, so a hash network can hold "some backbone" as a plain field and be saved, loaded and
//! trained like any other module; adding a network (ResNet, ViT, HybridHash…) is one variant here and one
//! [`BackboneArch`] entry.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::cpu_net::CpuNet;
use super::hybrid_hash::{HybridHashConfig, HybridHashNet};
use super::inverted_residual::{self, EFFICIENTNET_LITE0, InvertedResidualNet, MOBILENET_V2};
use super::network::ImageNetwork;
use super::weights::{self, WeightsError};
use crate::photo::Preprocess;

/// The backbones hashlens knows, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackboneArch {
    /// torchvision's MobileNetV2: 3.5 M parameters, 1280 features; the default.
    MobilenetV2,
    /// EfficientNet-Lite0 (TensorFlow's weights, ported): 4.7 M parameters, 1280 features.
    EfficientnetLite0,
    /// HybridHash's hybrid convolution + transformer network (ICMR 2024): 55.6 M parameters, 512
    /// features. No ImageNet weights ship for it: it trains from scratch or from a weight file.
    HybridHash,
}

/// The ImageNet weights shipped in `assets/models` (see its NOTICE), embedded in the binary.
#[cfg(feature = "embedded-weights")]
static MOBILENET_V2_WEIGHTS: &[u8] =
    include_bytes!("../../../assets/models/mobilenet_v2.safetensors");
#[cfg(feature = "embedded-weights")]
static EFFICIENTNET_LITE0_WEIGHTS: &[u8] =
    include_bytes!("../../../assets/models/efficientnet_lite0.safetensors");

/// Without `embedded-weights`: the same files, read once at run time from the first of
/// `$HASHLENS_MODELS_DIR`, `assets/models` beside the executable (or its parent) and `assets/models`
/// under the current directory that has them.
#[cfg(not(feature = "embedded-weights"))]
fn installed_weights(file: &str) -> &'static [u8] {
    use std::path::PathBuf;
    use std::sync::{Mutex, OnceLock};
    static LOADED: OnceLock<Mutex<Vec<(String, &'static [u8])>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Default::default)
        .lock()
        .expect("weights cache");
    if let Some((_, bytes)) = loaded.iter().find(|(name, _)| name == file) {
        return bytes;
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from));
    let mut dirs: Vec<PathBuf> = std::env::var_os("HASHLENS_MODELS_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(exe_dir) = exe_dir {
        dirs.push(exe_dir.join("assets/models"));
        dirs.push(exe_dir.join("../assets/models"));
    }
    dirs.push(PathBuf::from("assets/models"));
    let Some(bytes) = dirs.iter().find_map(|d| std::fs::read(d.join(file)).ok()) else {
        // A build without embedded weights and without its data files is broken as installed: say so.
        panic!(
            "this hashlens was built without embedded weights and found no {file} in {}; set HASHLENS_MODELS_DIR",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    loaded.push((file.to_string(), bytes));
    bytes
}

impl BackboneArch {
    pub const ALL: [BackboneArch; 3] = [
        BackboneArch::MobilenetV2,
        BackboneArch::EfficientnetLite0,
        BackboneArch::HybridHash,
    ];

    /// The name used on the command line and in model files.
    pub fn name(self) -> &'static str {
        match self {
            Self::MobilenetV2 => "mobilenet_v2",
            Self::EfficientnetLite0 => "efficientnet_lite0",
            Self::HybridHash => "hybridhash",
        }
    }

    /// The inverted-residual table of the networks that have one.
    fn spec(self) -> Option<&'static inverted_residual::NetSpec> {
        match self {
            Self::MobilenetV2 => Some(&MOBILENET_V2),
            Self::EfficientnetLite0 => Some(&EFFICIENTNET_LITE0),
            Self::HybridHash => None,
        }
    }

    /// Whether ImageNet weights ship with hashlens (the frozen-backbone uses need them).
    pub fn has_pretrained(self) -> bool {
        self.spec().is_some()
    }

    fn not_shipped(self) -> WeightsError {
        WeightsError::NotShipped {
            arch: self.name().to_string(),
        }
    }

    #[cfg(feature = "embedded-weights")]
    fn pretrained_bytes(self) -> Option<&'static [u8]> {
        match self {
            Self::MobilenetV2 => Some(MOBILENET_V2_WEIGHTS),
            Self::EfficientnetLite0 => Some(EFFICIENTNET_LITE0_WEIGHTS),
            Self::HybridHash => None,
        }
    }

    #[cfg(not(feature = "embedded-weights"))]
    fn pretrained_bytes(self) -> Option<&'static [u8]> {
        self.has_pretrained()
            .then(|| installed_weights(&format!("{}.safetensors", self.name())))
    }

    /// How the PyTorch checkpoint the shipped weights come from names the tensors (`convert-weights`).
    fn pytorch_key_map(self) -> Vec<(String, String)> {
        match self {
            Self::MobilenetV2 => inverted_residual::torchvision_mobilenet_v2_keys(),
            Self::EfficientnetLite0 => inverted_residual::lukemelas_efficientnet_keys(),
            Self::HybridHash => Vec::new(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name || a.name().replace('_', "-") == name)
    }

    /// Width of the pooled feature vector.
    pub fn feature_dim(self) -> usize {
        match self.spec() {
            Some(spec) => spec.features,
            None => HybridHashConfig::new().dims[2],
        }
    }

    /// The input transform the pretrained weights expect: torchvision's ImageNet statistics, or for the
    /// TensorFlow-trained Lite weights TensorFlow's `(x − 127) / 128`.
    pub fn preprocess(self) -> Preprocess {
        match self {
            Self::MobilenetV2 | Self::HybridHash => Preprocess::imagenet(),
            Self::EfficientnetLite0 => Preprocess {
                mean: [127.0 / 255.0; 3],
                std: [128.0 / 255.0; 3],
                ..Preprocess::imagenet()
            },
        }
    }

    /// A network with random weights (to load a file into, or to train from scratch) for `side`-pixel
    /// inputs (only HybridHash's positional embeddings depend on it).
    pub fn init(self, side: usize, device: &Device) -> Backbone {
        match self.spec() {
            Some(spec) => self.wrap(InvertedResidualNet::new(spec, device)),
            None => {
                Backbone::HybridHash(HybridHashConfig::new().with_image_size(side).init(device))
            }
        }
    }

    /// The network with the ImageNet weights embedded in the binary. (Loaded into the bare network: in a
    /// `Backbone`, tensor names start with the variant's name.)
    pub fn pretrained(self, device: &Device) -> Result<Backbone, WeightsError> {
        let (Some(spec), Some(bytes)) = (self.spec(), self.pretrained_bytes()) else {
            return Err(self.not_shipped());
        };
        let mut net = InvertedResidualNet::new(spec, device);
        let name = format!("embedded {}.safetensors", self.name());
        weights::load_safetensors_bytes(&mut net, bytes, &name)?;
        Ok(self.wrap(net))
    }

    /// The bare network with weights from a PyTorch checkpoint (`convert-weights`; the networks
    /// whose ImageNet weights ship).
    pub fn from_pytorch(
        self,
        path: &std::path::Path,
        device: &Device,
    ) -> Result<InvertedResidualNet, WeightsError> {
        let spec = self.spec().ok_or_else(|| self.not_shipped())?;
        let mut net = InvertedResidualNet::new(spec, device);
        weights::load_pytorch(&mut net, path, &self.pytorch_key_map())?;
        Ok(net)
    }

    /// The network with weights from a file, for `side`-pixel inputs, and for a partial load a line
    /// saying what came from where. A file is either this network's own tensors (safetensors written by
    /// `convert-weights` or a bare network), which must match exactly, or for HybridHash timm's NesT-B
    /// ImageNet checkpoint (`model::nest`), which loads where the paper says.
    pub fn from_weight_file(
        self,
        path: &std::path::Path,
        side: usize,
        device: &Device,
    ) -> Result<(Backbone, Option<String>), WeightsError> {
        match self.init(side, device) {
            Backbone::MobilenetV2(mut net) | Backbone::EfficientnetLite0(mut net) => {
                weights::load_safetensors(&mut net, path)?;
                Ok((self.wrap(net), None))
            }
            Backbone::HybridHash(mut net) if super::nest::is_nest_file(path) => {
                let depths = HybridHashConfig::new().depths;
                let report = super::nest::load_nest(&mut net, path, &depths)?;
                Ok((Backbone::HybridHash(net), Some(report.summary(path))))
            }
            Backbone::HybridHash(mut net) => {
                weights::load_safetensors(&mut net, path)?;
                Ok((Backbone::HybridHash(net), None))
            }
        }
    }

    fn wrap(self, net: InvertedResidualNet) -> Backbone {
        match self {
            Self::MobilenetV2 => Backbone::MobilenetV2(net),
            Self::EfficientnetLite0 => Backbone::EfficientnetLite0(net),
            Self::HybridHash => unreachable!("HybridHash is not an inverted-residual network"),
        }
    }

    /// A short digest of the embedded ImageNet weights: model files that use them record it instead of
    /// a copy, and a build with other weights refuses them. ("none" for a network without them: no
    /// model file can refer to them.)
    pub fn pretrained_fingerprint(self) -> String {
        self.pretrained_bytes()
            .map_or_else(|| "none".to_string(), crate::io::fingerprint)
    }
}

/// Some backbone, as a module. (One per model: the variants' size difference costs nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    MobilenetV2(InvertedResidualNet),
    EfficientnetLite0(InvertedResidualNet),
    HybridHash(HybridHashNet),
}

impl Backbone {
    pub fn arch(&self) -> BackboneArch {
        match self {
            Self::MobilenetV2(_) => BackboneArch::MobilenetV2,
            Self::EfficientnetLite0(_) => BackboneArch::EfficientnetLite0,
            Self::HybridHash(_) => BackboneArch::HybridHash,
        }
    }

    fn network(&self) -> &dyn ImageNetwork {
        match self {
            Self::MobilenetV2(m) | Self::EfficientnetLite0(m) => m,
            Self::HybridHash(m) => m,
        }
    }

    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        self.network().features(x)
    }

    /// ImageNet logits, when the network has an ImageNet classifier (HybridHash has none).
    pub fn logits(&self, x: Tensor<4>) -> Option<Tensor<2>> {
        self.network().logits(x)
    }
}

/// Which implementation runs a backbone's inference on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuInference {
    /// [`CpuNet`] for the networks it supports (MobileNetV2, EfficientNet-Lite0), Burn's forward for
    /// the others. `HASHLENS_CPU_NETWORK=burn` in the environment selects [`Burn`](Self::Burn).
    Auto,
    /// Burn's own forward pass on `flex` (the reference; `hashlens bench encode --network burn`).
    Burn,
}

impl CpuInference {
    fn resolved(self) -> Self {
        match self {
            Self::Auto if std::env::var_os("HASHLENS_CPU_NETWORK").is_some_and(|v| v == "burn") => {
                Self::Burn
            }
            other => other,
        }
    }
}

/// A backbone as indexing, search and feature caching run it: on the CPU through [`CpuNet`] where it
/// can (its weights folded once, here), otherwise through Burn. Inference only: no gradient flows
/// through it.
pub struct InferenceBackbone<'a> {
    backbone: &'a Backbone,
    cpu: Option<CpuNet>,
}

impl<'a> InferenceBackbone<'a> {
    pub fn new(backbone: &'a Backbone, device: &Device, choice: CpuInference) -> Self {
        Self {
            backbone,
            cpu: backbone.cpu_net(device, choice),
        }
    }

    /// Whether this runs through [`CpuNet`].
    pub fn is_cpu_net(&self) -> bool {
        self.cpu.is_some()
    }

    /// The folded network, when this runs through it.
    pub fn cpu_net(&self) -> Option<&CpuNet> {
        self.cpu.as_ref()
    }

    /// Pooled features, `[batch, feature_dim]`, from normalised `[batch, 3, H, W]` images.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        match &self.cpu {
            Some(cpu) => cpu_features(cpu, x),
            None => self.backbone.features(x),
        }
    }
}

/// `cpu`'s features of the images in `x`, as a tensor on `x`'s device.
pub(super) fn cpu_features(cpu: &CpuNet, x: Tensor<4>) -> Tensor<2> {
    let [n, _, h, w] = x.dims();
    let device = x.device();
    let pixels = x.into_data().try_to_vec::<f32>().expect("images are f32");
    let features = cpu.features(&pixels, n, h, w);
    Tensor::from_data(
        burn::tensor::TensorData::new(features, [n, cpu.feature_dim()]),
        &device,
    )
}

impl Backbone {
    /// This backbone folded for CPU inference, when `device` is the CPU and the network is one
    /// [`CpuNet`] runs.
    pub fn cpu_net(&self, device: &Device, choice: CpuInference) -> Option<CpuNet> {
        if choice.resolved() == CpuInference::Burn || device.clone().inner() != Device::flex() {
            return None;
        }
        match self {
            Self::MobilenetV2(net) | Self::EfficientnetLite0(net) => Some(CpuNet::new(net)),
            Self::HybridHash(_) => None,
        }
    }

    /// This backbone ready for inference on `device` (see [`InferenceBackbone`]).
    pub fn for_inference(&self, device: &Device) -> InferenceBackbone<'_> {
        InferenceBackbone::new(self, device, CpuInference::Auto)
    }
}
