//! Inverted-residual networks: MobileNetV2 (Sandler et al., 2018) and EfficientNet-Lite0 (Tan & Le, 2019,
//! the "lite" variant without squeeze-excitation and with ReLU6), one module with two specifications.
//!
//! Both are a stem convolution, a stack of inverted residual blocks — expand (1×1, absent when the
//! expansion is 1) → depthwise k×k → linear 1×1 projection, plus the input when the stride is 1 and the
//! channels match — a 1×1 convolution to 1280 channels, global average pooling and an ImageNet classifier.
//! Every convolution is followed by BatchNorm and ReLU6, except each block's projection. They differ in the
//! stage table, the depthwise kernel sizes, BatchNorm's epsilon and padding (torchvision pads symmetrically;
//! the TensorFlow-trained Lite weights expect TensorFlow's "SAME", the odd pixel at the bottom/right).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

/// One stage: expansion t, output channels c, repeats n, first stride s, depthwise kernel k.
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    pub t: usize,
    pub c: usize,
    pub n: usize,
    pub s: usize,
    pub k: usize,
}

const fn stage(t: usize, c: usize, n: usize, s: usize, k: usize) -> Stage {
    Stage { t, c, n, s, k }
}

/// What distinguishes one inverted-residual network from another.
#[derive(Clone, Copy, Debug)]
pub struct NetSpec {
    pub stages: &'static [Stage],
    pub stem: usize,
    pub features: usize,
    pub bn_eps: f64,
    /// TensorFlow "SAME" padding instead of symmetric `k / 2`.
    pub same_padding: bool,
}

/// torchvision's MobileNetV2: 3.5 M parameters.
pub const MOBILENET_V2: NetSpec = NetSpec {
    stages: &[
        stage(1, 16, 1, 1, 3),
        stage(6, 24, 2, 2, 3),
        stage(6, 32, 3, 2, 3),
        stage(6, 64, 4, 2, 3),
        stage(6, 96, 3, 1, 3),
        stage(6, 160, 3, 2, 3),
        stage(6, 320, 1, 1, 3),
    ],
    stem: 32,
    features: 1280,
    bn_eps: 1e-5,
    same_padding: false,
};

/// EfficientNet-Lite0: 4.7 M parameters (TensorFlow's BatchNorm epsilon 1e-3).
pub const EFFICIENTNET_LITE0: NetSpec = NetSpec {
    stages: &[
        stage(1, 16, 1, 1, 3),
        stage(6, 24, 2, 2, 3),
        stage(6, 40, 2, 2, 5),
        stage(6, 80, 3, 2, 3),
        stage(6, 112, 3, 1, 5),
        stage(6, 192, 4, 2, 5),
        stage(6, 320, 1, 1, 3),
    ],
    stem: 32,
    features: 1280,
    bn_eps: 1e-3,
    same_padding: true,
};

/// Convolution, BatchNorm and (optionally) ReLU6.
#[derive(Module, Debug)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    pub relu6: bool,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        [cin, cout]: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
        spec: &NetSpec,
        device: &Device,
    ) -> Self {
        let padding = if spec.same_padding {
            PaddingConfig2d::Same
        } else {
            let p = kernel / 2;
            PaddingConfig2d::Explicit(p, p, p, p)
        };
        Self {
            conv: Conv2dConfig::new([cin, cout], [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(padding)
                .with_groups(groups)
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(cout)
                .with_epsilon(spec.bn_eps)
                .init(device),
            relu6,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.bn.forward(super::depthwise::forward(&self.conv, x));
        if self.relu6 { y.clamp(0.0, 6.0) } else { y }
    }
}

/// Expand (1×1, absent when t = 1) → depthwise k×k → linear projection (1×1), plus the residual.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub project: ConvBn,
    pub residual: bool,
}

impl InvertedResidual {
    fn new(cin: usize, stage: &Stage, stride: usize, spec: &NetSpec, device: &Device) -> Self {
        let hidden = cin * stage.t;
        Self {
            expand: (stage.t != 1).then(|| ConvBn::new([cin, hidden], 1, 1, 1, true, spec, device)),
            depthwise: ConvBn::new(
                [hidden, hidden],
                stage.k,
                stride,
                hidden,
                true,
                spec,
                device,
            ),
            project: ConvBn::new([hidden, stage.c], 1, 1, 1, false, spec, device),
            residual: stride == 1 && cin == stage.c,
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

/// The whole network; `features` gives the pooled vector the hash head reads.
#[derive(Module, Debug)]
pub struct InvertedResidualNet {
    pub stem: ConvBn,
    pub blocks: Vec<InvertedResidual>,
    pub head: ConvBn,
    pub classifier: Linear,
}

impl InvertedResidualNet {
    /// A randomly initialised network (load weights into it).
    pub fn new(spec: &NetSpec, device: &Device) -> Self {
        let mut blocks = Vec::new();
        let mut cin = spec.stem;
        for st in spec.stages {
            for i in 0..st.n {
                let stride = if i == 0 { st.s } else { 1 };
                blocks.push(InvertedResidual::new(cin, st, stride, spec, device));
                cin = st.c;
            }
        }
        Self {
            stem: ConvBn::new([3, spec.stem], 3, 2, 1, true, spec, device),
            blocks,
            head: ConvBn::new([cin, spec.features], 1, 1, 1, true, spec, device),
            classifier: LinearConfig::new(spec.features, 1000).init(device),
        }
    }

    /// Pooled features, `[batch, features]`, from normalised `[batch, 3, H, W]` images.
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
}

impl super::network::ImageNetwork for InvertedResidualNet {
    fn features(&self, x: Tensor<4>) -> Tensor<2> {
        InvertedResidualNet::features(self, x)
    }

    fn logits(&self, x: Tensor<4>) -> Option<Tensor<2>> {
        Some(InvertedResidualNet::logits(self, x))
    }
}

/// How torchvision names MobileNetV2's tensors: `(regex on the PyTorch key, replacement)`. Block `i` is
/// torchvision's `features.{i+1}`; the t = 1 block has no expansion, so its sub-layers are numbered
/// differently.
pub fn torchvision_mobilenet_v2_keys() -> Vec<(String, String)> {
    let mut map: Vec<(String, String)> = [
        (r"^features\.0\.0\.", "stem.conv."),
        (r"^features\.0\.1\.", "stem.bn."),
        (r"^features\.18\.0\.", "head.conv."),
        (r"^features\.18\.1\.", "head.bn."),
        (r"^classifier\.1\.", "classifier."),
        (r"^features\.1\.conv\.0\.0\.", "blocks.0.depthwise.conv."),
        (r"^features\.1\.conv\.0\.1\.", "blocks.0.depthwise.bn."),
        (r"^features\.1\.conv\.1\.", "blocks.0.project.conv."),
        (r"^features\.1\.conv\.2\.", "blocks.0.project.bn."),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
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

/// How the EfficientNet-PyTorch port (lukemelas layout, `efficientnet-lite0-57934424.pth`) names
/// EfficientNet-Lite0's tensors. Inside a block, `_bn0/1/2` follow the expand/depthwise/project convolutions.
pub fn lukemelas_efficientnet_keys() -> Vec<(String, String)> {
    [
        (r"^_conv_stem\.", "stem.conv."),
        (r"^_bn0\.", "stem.bn."),
        (r"^_conv_head\.", "head.conv."),
        (r"^_bn1\.", "head.bn."),
        (r"^_fc\.", "classifier."),
        (r"^_blocks\.(\d+)\._expand_conv\.", "blocks.$1.expand.conv."),
        (r"^_blocks\.(\d+)\._bn0\.", "blocks.$1.expand.bn."),
        (
            r"^_blocks\.(\d+)\._depthwise_conv\.",
            "blocks.$1.depthwise.conv.",
        ),
        (r"^_blocks\.(\d+)\._bn1\.", "blocks.$1.depthwise.bn."),
        (
            r"^_blocks\.(\d+)\._project_conv\.",
            "blocks.$1.project.conv.",
        ),
        (r"^_blocks\.(\d+)\._bn2\.", "blocks.$1.project.bn."),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}
