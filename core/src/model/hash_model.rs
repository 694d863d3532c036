//! A hash model: a backbone, a hash head, and the settings that make its codes reproducible — saved as
//! one model file.
//!
//! Two heads share one interface, so indexing and search never ask which one they hold:
//! - [`LinearHead`]: `(features − μ)·P`, the training-free default (PCA + ITQ fitted on the user's own
//!   folder, or LSH). Its values are projections; their signs are the code.
//! - [`TrainedHead`]: the head every method trains, Deep Hash Distillation's Linear (no bias) → LayerNorm →
//!   tanh, with the class vectors training needs.
//!
//! The file is safetensors: the head's tensors (and the backbone's, when they differ from the ImageNet
//! weights built into hashlens) plus a JSON [`ModelConfig`] in the header's metadata. Its fingerprint is a
//! digest of the whole file, recorded by every index made with it: codes from two models never mix.

use std::path::Path;
use std::sync::OnceLock;

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::{Backbone, BackboneArch, CpuInference, CpuNet};
use crate::eval::{VerdictCalibration, VerdictRule};
use crate::hashing::LinearHash;
use crate::photo::Preprocess;

/// Version of the model file's layout and config; files of another version are refused with a message.
pub const MODEL_FORMAT: u32 = 1;

/// The metadata key holding the JSON config.
const CONFIG_KEY: &str = "hashlens";
/// The model's [`fingerprint`], stored in the header when the file is written and checked when it is
/// read: a byte changed anywhere in the settings or the tensors is found (files written before it
/// existed are read without the check).
const CHECKSUM_KEY: &str = "hashlens.checksum";
/// Most classes (proxies) a DHD head may have: a file claiming more is refused before anything is
/// allocated for them.
const MAX_CLASSES: usize = 100_000;

/// Tensor names of model files written before the trained head was renamed (it was `HashHead::Dhd`, and
/// Burn names an enum's tensors after its variant): read as today's.
const OLD_NAMES: &[(&str, &str)] = &[(r"^Dhd\.", "Trained."), (r"^head\.Dhd\.", "head.Trained.")];

/// Which hash head a model has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// PCA + ITQ fitted on features (no training).
    Itq,
    /// PCA + ITQ after a whitening learned from edits ([`crate::hashing::EditWhitening`]): codes for
    /// finding copies of a photo (no training).
    ItqEditWhitened,
    /// Random projections of centred features.
    Lsh,
    /// The trained head every method trains (DHD's design: Linear → LayerNorm → tanh, with class
    /// vectors). Written "dhd" in model files, as before it was renamed.
    #[serde(rename = "dhd")]
    Trained,
}

impl HeadKind {
    /// What this head's codes are fitted for.
    pub fn purpose(self) -> CodePurpose {
        match self {
            HeadKind::ItqEditWhitened => CodePurpose::Copies,
            HeadKind::Itq | HeadKind::Lsh | HeadKind::Trained => CodePurpose::Similar,
        }
    }
}

/// What the training-free default's codes are for. Photos of one kind of thing, or one photo and its
/// edited copies, are not near in the same directions of the features: a whitening learned from edits
/// finds copies better and photos of a kind worse (`benchmarks/results/codes-for-copies.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodePurpose {
    /// Photos like this one (plain PCA + ITQ): the default.
    #[default]
    Similar,
    /// Copies of this photo, however resized, re-saved, cropped, turned or brightened (PCA + ITQ after
    /// the shipped edit whitening).
    Copies,
}

impl CodePurpose {
    pub const ALL: [CodePurpose; 2] = [CodePurpose::Similar, CodePurpose::Copies];

    /// The name the CLI and the app use.
    pub fn name(self) -> &'static str {
        match self {
            CodePurpose::Similar => "similar",
            CodePurpose::Copies => "copies",
        }
    }

    /// In a person's words.
    pub fn label(self) -> &'static str {
        match self {
            CodePurpose::Similar => "photos like this one",
            CodePurpose::Copies => "copies of this photo",
        }
    }
}

/// Where the backbone's weights are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BackboneWeights {
    /// The ImageNet weights embedded in hashlens, identified by their fingerprint.
    Builtin { fingerprint: String },
    /// Stored in the model file (a fine-tuned backbone).
    InFile,
}

/// How a model came to be: shown to users, kept for reproducibility.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// e.g. "pca-itq fitted on 2,000 photos of /home/ana/Photos", "dhd trained 40 epochs on cifar10".
    pub description: String,
    /// hashlens version that wrote the file.
    pub software: String,
    pub seed: u64,
    /// Photos the head was fitted or trained on.
    pub images: usize,
    /// Free-form settings (hyper-parameters, data split …).
    #[serde(default)]
    pub settings: serde_json::Value,
}

/// The settings a model file records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub format: u32,
    pub backbone: BackboneArch,
    pub backbone_weights: BackboneWeights,
    pub head: HeadKind,
    pub bits: usize,
    /// Classes (proxies) of a DHD head; 0 otherwise.
    #[serde(default)]
    pub classes: usize,
    pub input: Preprocess,
    pub provenance: Provenance,
    /// Near-duplicate thresholds measured on edited copies of photos (`hashlens bench edits`); absent
    /// from files without one, whose verdicts use fixed shares of the code length. Not written when
    /// absent, so files without it keep their fingerprints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<VerdictCalibration>,
}

/// The training-free head: `(features − mean) · projection`.
#[derive(Module, Debug)]
pub struct LinearHead {
    pub mean: Param<Tensor<1>>,
    /// `[feature_dim, bits]`.
    pub projection: Param<Tensor<2>>,
}

impl LinearHead {
    pub fn from_hash(hash: &LinearHash, device: &Device) -> Self {
        Self {
            mean: Param::from_data(TensorData::new(hash.mean.clone(), [hash.dim]), device),
            projection: Param::from_data(
                TensorData::new(hash.projection.clone(), [hash.dim, hash.bits]),
                device,
            ),
        }
    }

    /// The head as a [`LinearHash`] (to encode features already computed, without the network).
    pub fn to_hash(&self) -> LinearHash {
        let values = |t: Tensor<1>| {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 values")
        };
        let [dim, bits] = self.projection.val().dims();
        LinearHash {
            dim,
            bits,
            mean: values(self.mean.val()),
            projection: values(self.projection.val().reshape([dim * bits])),
        }
    }

    /// A head of zeros with the right shapes (to load a file into).
    pub fn zeros(dim: usize, bits: usize, device: &Device) -> Self {
        Self {
            mean: Param::from_tensor(Tensor::zeros([dim], device)),
            projection: Param::from_tensor(Tensor::zeros([dim, bits], device)),
        }
    }

    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        (features - self.mean.val().unsqueeze()).matmul(self.projection.val())
    }
}

/// The trained hash head, whatever the method that trains it (DHD, DHN, CSQ, SHC, HybridHash's loss): DHD's
/// design (DHD §3: a fully connected layer without bias, LayerNorm, tanh) and one vector per class (DHD's
/// proxies, or CSQ's and SHC's hash centres).
#[derive(Module, Debug)]
pub struct TrainedHead {
    pub hash: Linear,
    pub norm: LayerNorm,
    /// One trainable `bits`-vector per class: L_HP pulls each code toward its class's proxy.
    pub proxies: Param<Tensor<2>>,
}

impl TrainedHead {
    pub fn new(feature_dim: usize, bits: usize, classes: usize, device: &Device) -> Self {
        Self {
            hash: LinearConfig::new(feature_dim, bits)
                .with_bias(false)
                .init(device),
            norm: LayerNormConfig::new(bits).init(device),
            // Xavier-uniform with tanh's gain 5/3, as DHD initialises them: U(−a, a), a = 5/3·√(6/(C+K)).
            proxies: {
                let classes = classes.max(1);
                let a = 5.0 / 3.0 * (6.0 / (classes + bits) as f64).sqrt();
                Param::from_tensor(Tensor::random(
                    [classes, bits],
                    burn::tensor::Distribution::Uniform(-a, a),
                    device,
                ))
            },
        }
    }

    /// Like [`TrainedHead::new`], with the random initial values drawn from `seed` alone (Burn's own
    /// generator is one per process, shared by everything that runs at the same time): the hash layer
    /// U(−1/√d, 1/√d) as PyTorch's and Burn's Linear, the proxies as DHD.
    pub fn seeded(
        feature_dim: usize,
        bits: usize,
        classes: usize,
        seed: u64,
        device: &Device,
    ) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |n: usize, a: f64| -> Vec<f32> {
            (0..n).map(|_| rng.random_range(-a..a) as f32).collect()
        };
        let mut head = Self::new(feature_dim, bits, classes, device);
        let w = uniform(feature_dim * bits, 1.0 / (feature_dim as f64).sqrt());
        head.hash.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(w, [feature_dim, bits]),
            device,
        ));
        let classes = classes.max(1);
        let a = 5.0 / 3.0 * (6.0 / (classes + bits) as f64).sqrt();
        let p = uniform(classes * bits, a);
        head.proxies = Param::from_tensor(Tensor::from_data(
            TensorData::new(p, [classes, bits]),
            device,
        ));
        head
    }

    /// Continuous codes in (−1, 1), `[batch, bits]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        self.norm.forward(self.hash.forward(features)).tanh()
    }

    /// The cosine similarities of the class proxies (DHD's Fig. 5): `classes × classes`, row-major.
    pub fn proxy_similarities(&self) -> Vec<f32> {
        let p = self.proxies.val();
        let unit = p.clone() / (p.clone() * p).sum_dim(1).sqrt().clamp_min(1e-12);
        unit.clone()
            .matmul(unit.transpose())
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 similarities")
    }
}

/// A hash head of either kind. (One per model: the variants' size difference costs nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum HashHead {
    Linear(LinearHead),
    Trained(TrainedHead),
}

impl HashHead {
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Linear(h) => h.forward(features),
            Self::Trained(h) => h.forward(features),
        }
    }
}

/// Backbone and head: the whole network from pixels to continuous codes (what training updates).
#[derive(Module, Debug)]
pub struct HashNetwork {
    pub backbone: Backbone,
    pub head: HashHead,
}

impl HashNetwork {
    /// Continuous code values, `[batch, bits]`: their signs are the codes (≥ 0 → bit 1).
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.backbone.features(images))
    }
}

impl ModelConfig {
    /// The thresholds of the verdicts on this model's codes.
    pub fn verdict_rule(&self) -> VerdictRule {
        VerdictRule::new(self.bits, self.verdict.as_ref())
    }

    /// A model file's settings, read from its header alone (the weights are neither read nor checked:
    /// for showing what a model is, not for running it).
    pub fn read(path: &Path) -> Result<Self, crate::io::FileError> {
        let invalid = |reason: String| crate::io::FileError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let mut file = std::fs::File::open(path).map_err(crate::io::FileError::io(path))?;
        let mut len = [0u8; 8];
        std::io::Read::read_exact(&mut file, &mut len)
            .map_err(|_| invalid("not a hashlens model file (too short)".into()))?;
        let len = u64::from_le_bytes(len);
        // safetensors' own limit on a header.
        if len > 100_000_000 {
            return Err(invalid(format!(
                "not a hashlens model file (a header of {len} bytes)"
            )));
        }
        let mut header = vec![0u8; len as usize];
        std::io::Read::read_exact(&mut file, &mut header)
            .map_err(|_| invalid("not a hashlens model file (its header is cut short)".into()))?;
        let header: serde_json::Value = serde_json::from_slice(&header)
            .map_err(|e| invalid(format!("not a hashlens model file (not safetensors: {e})")))?;
        let json = header
            .get("__metadata__")
            .and_then(|m| m.get(CONFIG_KEY))
            .and_then(|c| c.as_str())
            .ok_or_else(|| {
                invalid(
                    "a safetensors file, but not a hashlens model (no hashlens settings in its header)"
                        .into(),
                )
            })?;
        config_from_json(json).map_err(invalid)
    }
}

/// A loaded (or freshly made) hash model.
#[derive(Debug)]
pub struct HashModel {
    pub config: ModelConfig,
    /// Private and never changed once made: the CPU path below is folded from it once.
    net: HashNetwork,
    fingerprint: String,
    /// The backbone folded for CPU inference ([`super::CpuNet`]), made on the first CPU forward pass.
    cpu: OnceLock<Option<CpuNet>>,
}

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    File(#[from] crate::io::FileError),
    #[error(transparent)]
    Weights(#[from] super::weights::WeightsError),
}

impl HashModel {
    /// A model with a fitted linear head (ITQ or LSH) on the built-in `arch` backbone.
    pub fn linear(
        arch: BackboneArch,
        kind: HeadKind,
        hash: &LinearHash,
        provenance: Provenance,
        device: &Device,
    ) -> Result<Self, ModelError> {
        let config = ModelConfig {
            format: MODEL_FORMAT,
            backbone: arch,
            backbone_weights: BackboneWeights::Builtin {
                fingerprint: arch.pretrained_fingerprint(),
            },
            head: kind,
            bits: hash.bits,
            classes: 0,
            input: arch.preprocess(),
            provenance,
            verdict: None,
        };
        let head = HashHead::Linear(LinearHead::from_hash(hash, device));
        Self::assemble(config, arch.pretrained(device)?, head)
    }

    /// A DHD model from its parts; `fine_tuned` says whether the backbone differs from the built-in weights;
    /// `input`: the transform it was trained with (the backbone's own by default).
    pub fn trained(
        backbone: Backbone,
        head: TrainedHead,
        fine_tuned: bool,
        input: Option<Preprocess>,
        provenance: Provenance,
    ) -> Result<Self, ModelError> {
        let arch = backbone.arch();
        let [classes, bits] = head.proxies.val().dims();
        let config = ModelConfig {
            format: MODEL_FORMAT,
            backbone: arch,
            backbone_weights: if fine_tuned {
                BackboneWeights::InFile
            } else {
                BackboneWeights::Builtin {
                    fingerprint: arch.pretrained_fingerprint(),
                }
            },
            head: HeadKind::Trained,
            bits,
            classes,
            input: input.unwrap_or_else(|| arch.preprocess()),
            provenance,
            verdict: None,
        };
        Self::assemble(config, backbone, HashHead::Trained(head))
    }

    /// Computes the fingerprint from the bytes the model would be saved as.
    fn assemble(
        config: ModelConfig,
        backbone: Backbone,
        head: HashHead,
    ) -> Result<Self, ModelError> {
        let mut model = Self {
            config,
            net: HashNetwork { backbone, head },
            fingerprint: String::new(),
            cpu: OnceLock::new(),
        };
        model.fingerprint = fingerprint(&model.to_bytes()?).expect("bytes we just wrote parse");
        Ok(model)
    }

    /// The model file's bytes: the head's tensors, and the backbone's when they are not built in.
    fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let json = serde_json::to_string(&self.config).expect("configs serialise");
        let checksum =
            (!self.fingerprint.is_empty()).then_some((CHECKSUM_KEY, self.fingerprint.as_str()));
        let meta: Vec<(&str, &str)> = std::iter::once((CONFIG_KEY, json.as_str()))
            .chain(checksum)
            .collect();
        Ok(match self.config.backbone_weights {
            BackboneWeights::InFile => super::weights::to_safetensors_bytes(&self.net, &meta),
            BackboneWeights::Builtin { .. } => {
                super::weights::to_safetensors_bytes(&self.net.head, &meta)
            }
        }?)
    }

    /// Content fingerprint of the model file (what indexes record).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn bits(&self) -> usize {
        self.config.bits
    }

    /// The linear head's hash (ITQ or LSH models), `None` for a trained head.
    pub fn linear_hash(&self) -> Option<LinearHash> {
        match &self.net.head {
            HashHead::Linear(h) => Some(h.to_hash()),
            HashHead::Trained(_) => None,
        }
    }

    /// The thresholds of this model's verdicts: its calibration, or fixed shares of the code length.
    pub fn verdict_rule(&self) -> VerdictRule {
        self.config.verdict_rule()
    }

    /// The same model with `calibration` saved in its settings (which changes its fingerprint).
    pub fn with_calibration(
        mut self,
        calibration: Option<VerdictCalibration>,
    ) -> Result<Self, ModelError> {
        self.config.verdict = calibration;
        self.fingerprint = fingerprint(&self.to_bytes()?).expect("bytes we just wrote parse");
        Ok(self)
    }

    pub fn preprocess(&self) -> Preprocess {
        self.config.input
    }

    /// The network: backbone and head.
    pub fn net(&self) -> &HashNetwork {
        &self.net
    }

    /// Continuous code values, `[batch, bits]`: their signs are the codes (≥ 0 → bit 1). Inference: on
    /// the CPU the backbone runs through [`super::CpuNet`] where it can.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let device = images.device();
        let cpu = if device.clone().inner() == Device::flex() {
            self.cpu
                .get_or_init(|| self.net.backbone.cpu_net(&device, CpuInference::Auto))
                .as_ref()
        } else {
            None
        };
        match cpu {
            Some(cpu) => self
                .net
                .head
                .forward(super::backbone::cpu_features(cpu, images)),
            None => self.net.forward(images),
        }
    }

    /// Writes the model file atomically.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let bytes = self.to_bytes()?;
        crate::io::write_atomic(path, &bytes).map_err(crate::io::FileError::io(path))?;
        Ok(())
    }

    /// Reads a model file, checking its format, its config and that every tensor matches.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ModelError> {
        let bytes = crate::io::read_regular(path).map_err(crate::io::FileError::io(path))?;
        Self::from_bytes(&bytes, &path.display().to_string(), device)
    }

    pub fn from_bytes(bytes: &[u8], name: &str, device: &Device) -> Result<Self, ModelError> {
        let invalid = |reason: String| crate::io::FileError::Invalid {
            path: name.to_string(),
            reason,
        };
        let config = read_config(bytes).map_err(invalid)?;
        check_finite(bytes).map_err(invalid)?;
        let arch = config.backbone;
        let mut head = match config.head {
            HeadKind::Itq | HeadKind::ItqEditWhitened | HeadKind::Lsh => {
                HashHead::Linear(LinearHead::zeros(arch.feature_dim(), config.bits, device))
            }
            HeadKind::Trained => HashHead::Trained(TrainedHead::new(
                arch.feature_dim(),
                config.bits,
                config.classes,
                device,
            )),
        };
        let net = match &config.backbone_weights {
            BackboneWeights::Builtin { fingerprint } => {
                if *fingerprint != arch.pretrained_fingerprint() {
                    return Err(invalid(format!(
                        "made with {} ImageNet weights {fingerprint}, but this hashlens has {}",
                        arch.name(),
                        arch.pretrained_fingerprint()
                    ))
                    .into());
                }
                super::weights::load_safetensors_bytes_renamed(&mut head, bytes, name, OLD_NAMES)?;
                HashNetwork {
                    backbone: arch.pretrained(device)?,
                    head,
                }
            }
            BackboneWeights::InFile => {
                let mut net = HashNetwork {
                    backbone: arch.init(config.input.crop as usize, device),
                    head,
                };
                super::weights::load_safetensors_bytes_renamed(&mut net, bytes, name, OLD_NAMES)?;
                net
            }
        };
        if let HashHead::Linear(h) = &net.head {
            check_projection(&h.projection.val()).map_err(invalid)?;
        }
        let fingerprint = fingerprint(bytes).map_err(invalid)?;
        if stored_checksum(bytes).is_some_and(|c| c != fingerprint) {
            return Err(invalid(
                "damaged: its settings or weights do not match the checksum written with them"
                    .into(),
            )
            .into());
        }
        Ok(Self {
            config,
            net,
            fingerprint,
            cpu: OnceLock::new(),
        })
    }
}

/// The checksum a model file was written with, if it has one.
fn stored_checksum(bytes: &[u8]) -> Option<String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).ok()?;
    meta.metadata().as_ref()?.get(CHECKSUM_KEY).cloned()
}

/// Every value of every f32 tensor in the file is finite (a NaN or an infinity would turn every
/// photo's code into the same one, or into noise).
fn check_finite(bytes: &[u8]) -> Result<(), String> {
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    for (name, view) in tensors.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            continue;
        }
        let bad = view
            .data()
            .chunks_exact(4)
            .any(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite());
        if bad {
            return Err(format!("tensor {name} holds NaN or infinite values"));
        }
    }
    Ok(())
}

/// A linear head's projection (`[features, bits]`) gives every bit a direction: a column of zeros
/// would give that bit the same value for every photo.
fn check_projection(projection: &Tensor<2>) -> Result<(), String> {
    let [rows, bits] = projection.dims();
    let values = projection
        .to_data()
        .try_to_vec::<f32>()
        .map_err(|e| format!("projection: {e:?}"))?;
    for bit in 0..bits {
        if (0..rows).all(|r| values[r * bits + bit] == 0.0) {
            return Err(format!(
                "bit {bit} of the projection is all zeros (every photo would get the same value)"
            ));
        }
    }
    Ok(())
}

/// The input transform's settings are ones a photo can be prepared with.
fn check_input(input: &Preprocess) -> Result<(), String> {
    if !(32..=1024).contains(&input.crop) {
        return Err(format!(
            "input crop {} px is outside 32 to 1024",
            input.crop
        ));
    }
    if !(input.crop..=4096).contains(&input.resize) {
        return Err(format!(
            "input resize {} px must lie between the crop ({}) and 4096",
            input.resize, input.crop
        ));
    }
    if !input.mean.iter().all(|m| m.is_finite()) {
        return Err("input mean is not finite".into());
    }
    if !input.std.iter().all(|s| s.is_finite() && *s >= 1e-6) {
        return Err(format!(
            "input standard deviations {:?} must be positive and finite",
            input.std
        ));
    }
    Ok(())
}

/// A model file's fingerprint: a digest of its config and of its tensors (names, shapes, values) in name
/// order. Not of the raw bytes: the safetensors header keeps its metadata in a hash map, so the same
/// model can be written as different bytes.
pub(crate) fn fingerprint(bytes: &[u8]) -> Result<String, String> {
    let config = read_config(bytes)?;
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let mut canonical = serde_json::to_vec(&config).expect("configs serialise");
    let mut named = tensors.tensors();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, view) in named {
        canonical.extend_from_slice(name.as_bytes());
        canonical.extend_from_slice(format!("{:?}{:?}", view.dtype(), view.shape()).as_bytes());
        canonical.extend_from_slice(view.data());
    }
    Ok(crate::io::fingerprint(&canonical))
}

/// The JSON config in a model file's header, checked for format and consistency.
pub(crate) fn read_config(bytes: &[u8]) -> Result<ModelConfig, String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a hashlens model file (not safetensors: {e})"))?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(CONFIG_KEY))
        .ok_or(
            "a safetensors file, but not a hashlens model (no hashlens settings in its header)",
        )?;
    config_from_json(json)
}

/// The settings of a model file's header, checked for format and consistency.
fn config_from_json(json: &str) -> Result<ModelConfig, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("unreadable model settings: {e}"))?;
    let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
    if format != MODEL_FORMAT as u64 {
        return Err(format!(
            "model format {format} is not supported (this hashlens reads format {MODEL_FORMAT})"
        ));
    }
    let config: ModelConfig =
        serde_json::from_value(value).map_err(|e| format!("unreadable model settings: {e}"))?;
    crate::code::check_bits(config.bits).map_err(|e| e.to_string())?;
    check_input(&config.input)?;
    if let Some(v) = &config.verdict
        && !v.plausible(config.bits)
    {
        return Err(format!(
            "its verdict calibration is not one a {}-bit model can have",
            config.bits
        ));
    }
    if config.classes > MAX_CLASSES {
        return Err(format!(
            "{} classes (at most {MAX_CLASSES})",
            config.classes
        ));
    }
    Ok(config)
}

#[cfg(test)]
#[path = "hash_model_tests.rs"]
mod tests;
