//! MobileNetV2 (Sandler et al., 2018) in the torchvision layout, the default backbone: 3.5 M parameters,
//! fast enough on a laptop CPU.
//!
//! Stem 3×3/2 → 32; inverted residual stages (expansion t, channels c, repeats n, stride s) =
//! (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1); 1×1 → 1280; global average
//! pool; a 1280 → 1000 classifier. Every convolution is followed by BatchNorm (eps 1e-5) and ReLU6, except
//! the linear 1×1 projection closing each block; a block adds its input when stride is 1 and channels match.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// Width of the pooled feature vector.
pub const FEATURES: usize = 1280;

/// (expansion, output channels, repeats, first stride) per stage.
const STAGES: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// Convolution, BatchNorm and (optionally) ReLU6.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    pub relu6: bool,
}

impl ConvBn {
    fn new(
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
        device: &Device,
    ) -> Self {
        let pad = kernel / 2;
        Self {
            conv: Conv2dConfig::new([cin, cout], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .with_groups(groups)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(cout).with_epsilon(1e-5).init(device),
            relu6,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.bn.forward(self.conv.forward(x));
        if self.relu6 { y.clamp(0.0, 6.0) } else { y }
    }
}

/// Expand (1×1, absent when t = 1) → depthwise 3×3 → linear projection (1×1), plus the residual.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub project: ConvBn,
    pub residual: bool,
}

impl InvertedResidual {
    fn new(cin: usize, cout: usize, stride: usize, t: usize, device: &Device) -> Self {
        let hidden = cin * t;
        Self {
            expand: (t != 1).then(|| ConvBn::new(cin, hidden, 1, 1, 1, true, device)),
            depthwise: ConvBn::new(hidden, hidden, 3, stride, hidden, true, device),
            project: ConvBn::new(hidden, cout, 1, 1, 1, false, device),
            residual: stride == 1 && cin == cout,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = match &self.expand {
            Some(e) => e.forward(x.clone()),
            None => x.clone(),
        };
        let y = self.project.forward(self.depthwise.forward(h));
        if self.residual { y + x } else { y }
    }
}

/// The whole network; `features` gives the pooled 1280-d vector the hash head reads.
#[derive(Module, Debug)]
pub struct MobileNetV2 {
    pub stem: ConvBn,
    pub blocks: Vec<InvertedResidual>,
    pub head: ConvBn,
    pub classifier: Linear,
}

impl MobileNetV2 {
    /// A randomly initialised network (load weights into it).
    pub fn new(device: &Device) -> Self {
        let mut blocks = Vec::new();
        let mut cin = 32;
        for (t, c, n, s) in STAGES {
            for i in 0..n {
                blocks.push(InvertedResidual::new(
                    cin,
                    c,
                    if i == 0 { s } else { 1 },
                    t,
                    device,
                ));
                cin = c;
            }
        }
        Self {
            stem: ConvBn::new(3, 32, 3, 2, 1, true, device),
            blocks,
            head: ConvBn::new(320, FEATURES, 1, 1, 1, true, device),
            classifier: LinearConfig::new(FEATURES, 1000).init(device),
        }
    }

    /// The network with the ImageNet weights shipped in `assets/models` (torchvision's
    /// `mobilenet_v2-b0353104`, BSD-3), embedded in the binary.
    pub fn pretrained(device: &Device) -> Result<Self, super::weights::WeightsError> {
        static WEIGHTS: &[u8] = include_bytes!("../../../assets/models/mobilenet_v2.safetensors");
        let mut model = Self::new(device);
        super::weights::load_safetensors_bytes(
            &mut model,
            WEIGHTS,
            "embedded mobilenet_v2.safetensors",
        )?;
        Ok(model)
    }

    /// Pooled features, `[batch, 1280]`, from normalised `[batch, 3, H, W]` images.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = self.stem.forward(x);
        for b in &self.blocks {
            x = b.forward(x);
        }
        let x = self.head.forward(x);
        let [batch, channels, _, _] = x.dims();
        x.mean_dim(3).mean_dim(2).reshape([batch, channels])
    }

    /// ImageNet-1k logits, `[batch, 1000]`.
    pub fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(self.features(x))
    }

    /// How torchvision names each of this module's tensors: `(regex on the PyTorch key, replacement)`.
    /// Block `i` is torchvision's `features.{i+1}`; the t = 1 block has no expansion, so its sub-layers are
    /// numbered differently.
    pub fn torchvision_key_map() -> Vec<(String, String)> {
        let mut map = vec![
            (r"^features\.0\.0\.".into(), "stem.conv.".into()),
            (r"^features\.0\.1\.".into(), "stem.bn.".into()),
            (r"^features\.18\.0\.".into(), "head.conv.".into()),
            (r"^features\.18\.1\.".into(), "head.bn.".into()),
            (r"^classifier\.1\.".into(), "classifier.".into()),
            (
                r"^features\.1\.conv\.0\.0\.".into(),
                "blocks.0.depthwise.conv.".into(),
            ),
            (
                r"^features\.1\.conv\.0\.1\.".into(),
                "blocks.0.depthwise.bn.".into(),
            ),
            (
                r"^features\.1\.conv\.1\.".into(),
                "blocks.0.project.conv.".into(),
            ),
            (
                r"^features\.1\.conv\.2\.".into(),
                "blocks.0.project.bn.".into(),
            ),
        ];
        for f in 2..=17 {
            let b = f - 1;
            for (from, to) in [
                ("conv.0.0", "expand.conv"),
                ("conv.0.1", "expand.bn"),
                ("conv.1.0", "depthwise.conv"),
                ("conv.1.1", "depthwise.bn"),
                ("conv.2", "project.conv"),
                ("conv.3", "project.bn"),
            ] {
                map.push((
                    format!(r"^features\.{f}\.{}\.", from.replace('.', r"\.")),
                    format!("blocks.{b}.{to}."),
                ));
            }
        }
        map
    }
}
