//! HybridHash (ICMR 2024; spec `methods.md` §7): a NesT-B-style hierarchical transformer with
//! convolution/attention "interaction modules", ported from the authors' `model/HybridHash.py`.
//!
//! Why it is here: HybridHash is one of the deep-hashing methods hashlens reproduces, and its backbone is
//! nothing like the inverted-residual CNNs, so it gets its own network.
//!
//! What it is (spec §7.1): a `patch × patch` convolution embeds the image (224 → 56 × 56 × 128); then
//! three levels. Every level but the first starts with an [`InteractionModule`] (a global branch — 1×1
//! convolution, average pooling to one token per block-sized region, attention across those tokens,
//! bilinear upsampling — plus a local 3×3 convolution; summed, LayerNorm over the channels, max-pooling
//! 3/2 that halves the map). The map is then cut into blocks of `block × block` tokens (14 × 14 at 224 px;
//! 16, 4 and 1 blocks per level), a learned positional embedding is added, and pre-norm transformer layers
//! attend within each block; the blocks are stitched back into a map. A final LayerNorm normalises the
//! last level's 512 channels, and the [`HashLayerTrunk`] (the upstream `HashLayer` without its last two
//! steps) mixes a 1×3 → 3×1 convolution with one global attention token, max-pools 14 → 7 and averages.
//!
//! Where this port deviates from the upstream code, and why:
//! - Upstream's hash layer ends with a 1×1 convolution 512 → K, global average pooling and tanh. A 1×1
//!   convolution is affine per pixel and commutes with averaging, so [`HybridHashNet::features`] pools
//!   first and returns the `[batch, 512]` trunk output; the linear map and tanh live in hashlens' separate
//!   hash head. The result is the same function (up to float rounding), with the same parameter count.
//! - Upstream hard-codes 14 for the global branches' pooling kernel and upsampling factor (the block edge at
//!   224 px with patch 4); here both follow the configured block edge, and upsampling goes to the input
//!   map's size, which is the same thing whenever the map divides into blocks. Other image sizes (the small
//!   test networks) therefore work; at 224 px nothing changes.
//! - timm's `trunc_normal_(std=0.02, a=-2, b=2)` truncates at ±2 absolute, i.e. at ±100 σ: it is a plain
//!   normal in practice, and Burn's `Initializer::Normal { std: 0.02 }` is used. Biases start at zero,
//!   LayerNorms at γ = 1, β = 0; the interaction modules' `pos_embed_glo` at zero (never re-initialised
//!   upstream), the levels' `pos_embed` at N(0, 0.02²).
//! - Dropout and attention dropout are 0 upstream and are left out. Stochastic depth (drop path, per-sample
//!   Bernoulli, rates rising linearly from 0 to [`HybridHashConfig::drop_path`] over all layers) follows
//!   Burn's own `Dropout`: it acts only on an autodiff device while the module's training flag is on, so
//!   `model.valid()` (or running on a plain device) turns it off.
//!
//! Upstream behaviour kept on purpose, although it looks accidental:
//! - Both attentions concatenate their heads' outputs channel-major (`(attn @ v).permute(0, 2, 3, 4, 1)`:
//!   output channel `c' · heads + h`, not `h · head_dim + c'`). This is timm's NesT code, and NesT's `proj`
//!   weights expect it, so it is reproduced.
//! - `Interactive_Attention` turns its `(B, C, H, W)` input into tokens with a bare `reshape(B, H·W, C)`,
//!   without moving the channels last, so its tokens mix channels and positions. This is reproduced by
//!   default (weights trained upstream depend on it); [`HybridHashConfig::upstream_global_reshape`] `= false`
//!   gives the evidently intended channels-last tokens. It makes no difference in the hash layer (one token).
//!
//! Parameter names follow the upstream `state_dict` (and so timm's NesT: `patch_embed.proj`,
//! `levels.N.pos_embed`, `levels.N.pool.{conv,norm}`, `levels.N.transformer_encoder.M.{norm1,attn.qkv,
//! attn.proj,norm2,mlp.fc1,mlp.fc2}`, `norm`), except the hash layer: upstream `hashlayer_train.convS1`,
//! `.convS2`, `.global_attention` are `hash_layer.conv_s1`, `.conv_s2`, `.global_attention` here, and
//! upstream's `hashlayer_train.conv2` (512 → K) belongs to the hash head. The global attentions' `qkv`
//! have no bias (upstream default `qkv_bias=False`); the transformer layers' do.
//!
//! Size: 55.55 M parameters at the default configuration (depths 2/2/15), 55.59 M with a 64-bit hash
//! convolution, matching the 55.6 M of the committed training log.

use burn::config::Config;
use burn::module::{Flag, Initializer, Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Distribution, Tensor};

/// Standard deviation of the (effectively untruncated) normal initialisation of weights.
const INIT_STD: f64 = 0.02;

/// The network's hyper-parameters; the defaults are the configuration of the paper's `train.py`.
#[derive(Config, Debug)]
pub struct HybridHashConfig {
    /// Input side in pixels (square images).
    #[config(default = 224)]
    pub image_size: usize,
    /// Patch-embedding kernel and stride.
    #[config(default = 4)]
    pub patch_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Embedding width of each level; its length is the number of levels.
    #[config(default = "vec![128, 256, 512]")]
    pub dims: Vec<usize>,
    /// Attention heads of each level's transformer layers.
    #[config(default = "vec![4, 8, 16]")]
    pub heads: Vec<usize>,
    /// Transformer layers per level (NesT-B has 20 on the last level; HybridHash's `train.py` uses 15).
    #[config(default = "vec![2, 2, 15]")]
    pub depths: Vec<usize>,
    /// Hidden width of the transformer MLPs, as a multiple of the level's width.
    #[config(default = 4)]
    pub mlp_ratio: usize,
    /// Stochastic-depth rate of the last transformer layer (it rises linearly from 0 over all layers).
    #[config(default = 0.5)]
    pub drop_path: f64,
    /// Heads of the interaction modules' and the hash layer's global attention.
    #[config(default = 8)]
    pub global_heads: usize,
    /// Epsilon of every LayerNorm.
    #[config(default = 1e-6)]
    pub layer_norm_eps: f64,
    /// Reproduce upstream's channels-first `reshape` when the interaction modules make global tokens
    /// (see the module documentation); `false` moves the channels last first.
    #[config(default = true)]
    pub upstream_global_reshape: bool,
}

impl HybridHashConfig {
    /// Number of levels (block hierarchies).
    pub fn num_levels(&self) -> usize {
        self.dims.len()
    }

    /// Patches along the side of the embedded image (56 at 224 px).
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Block edge in patches (14 at 224 px): the first level's grid holds `4^(levels-1)` blocks, halving
    /// per side at every level while the block edge stays the same.
    pub fn block_size(&self) -> usize {
        self.grid() >> (self.num_levels() - 1)
    }

    /// Blocks at level `i` (16, 4, 1 by default).
    pub fn blocks_at(&self, level: usize) -> usize {
        1 << (2 * (self.num_levels() - 1 - level))
    }

    /// Drop-path rate of every transformer layer, in order (torch's `linspace(0, drop_path, n)`).
    pub fn drop_path_rates(&self) -> Vec<f64> {
        let n: usize = self.depths.iter().sum();
        (0..n)
            .map(|i| {
                if n > 1 {
                    self.drop_path * i as f64 / (n - 1) as f64
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Checks that the sizes fit together.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let levels = self.num_levels();
        if levels == 0 || self.heads.len() != levels || self.depths.len() != levels {
            return Err(format!(
                "dims, heads and depths must have the same, non-zero length ({}, {}, {})",
                self.dims.len(),
                self.heads.len(),
                self.depths.len()
            ));
        }
        if self.patch_size == 0 || !self.image_size.is_multiple_of(self.patch_size) {
            return Err(format!(
                "image size {} is not a multiple of the patch size {}",
                self.image_size, self.patch_size
            ));
        }
        let side_blocks = 1 << (levels - 1);
        if self.grid() == 0 || !self.grid().is_multiple_of(side_blocks) {
            return Err(format!(
                "a {0}×{0} patch grid does not split into {1}×{1} blocks",
                self.grid(),
                side_blocks
            ));
        }
        for (i, (&d, &h)) in self.dims.iter().zip(&self.heads).enumerate() {
            if h == 0 || !d.is_multiple_of(h) {
                return Err(format!(
                    "level {i}: width {d} is not divisible by {h} heads"
                ));
            }
            if i > 0 && (self.global_heads == 0 || !d.is_multiple_of(self.global_heads)) {
                return Err(format!(
                    "level {i}: width {d} is not divisible by {} global heads",
                    self.global_heads
                ));
            }
        }
        let last = self.dims[levels - 1];
        if self.global_heads == 0 || !last.is_multiple_of(self.global_heads) {
            return Err(format!(
                "hash layer: width {last} is not divisible by {} global heads",
                self.global_heads
            ));
        }
        if !(0.0..1.0).contains(&self.drop_path) {
            return Err(format!("drop path {} is not in [0, 1)", self.drop_path));
        }
        Ok(())
    }

    /// A randomly initialised network (upstream's initialisation; load NesT weights into it).
    ///
    /// # Panics
    /// When [`validate`](Self::validate) fails.
    pub fn init(&self, device: &Device) -> HybridHashNet {
        if let Err(e) = self.validate() {
            panic!("invalid HybridHash configuration: {e}");
        }
        let levels = self.num_levels();
        let block = self.block_size();
        let rates = self.drop_path_rates();
        let mut next_rate = 0;
        let mut level_modules = Vec::with_capacity(levels);
        for i in 0..levels {
            let dim = self.dims[i];
            let depth = self.depths[i];
            let pool = (i > 0).then(|| {
                InteractionModule::new(
                    self.dims[i - 1],
                    dim,
                    // The global tokens come from the previous level's map: 4 × this level's blocks.
                    4 * self.blocks_at(i),
                    self,
                    device,
                )
            });
            let transformer_encoder = rates[next_rate..next_rate + depth]
                .iter()
                .map(|&rate| TransformerLayer::new(dim, self.heads[i], rate, self, device))
                .collect();
            next_rate += depth;
            level_modules.push(HybridHashLevel {
                pos_embed: normal_init().init([1, self.blocks_at(i), block * block, dim], device),
                pool,
                transformer_encoder,
                block_size: block,
            });
        }
        let last = self.dims[levels - 1];
        HybridHashNet {
            patch_embed: PatchEmbed {
                proj: conv(
                    [self.in_chans, self.dims[0]],
                    [self.patch_size, self.patch_size],
                    self.patch_size,
                    PaddingConfig2d::Valid,
                    true,
                    device,
                ),
            },
            levels: level_modules,
            norm: layer_norm(last, self, device),
            hash_layer: HashLayerTrunk::new(last, self, device),
        }
    }
}

fn normal_init() -> Initializer {
    Initializer::Normal {
        mean: 0.0,
        std: INIT_STD,
    }
}

/// A linear layer initialised like upstream: weights N(0, 0.02²), bias zero.
fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(d_in, d_out)
        .with_bias(bias)
        .with_initializer(normal_init())
        .init(device);
    layer.bias = layer.bias.map(|_| Initializer::Zeros.init([d_out], device));
    layer
}

/// A convolution initialised like upstream: weights N(0, 0.02²), bias zero.
fn conv(
    channels: [usize; 2],
    kernel: [usize; 2],
    stride: usize,
    padding: PaddingConfig2d,
    bias: bool,
    device: &Device,
) -> Conv2d {
    let mut layer = Conv2dConfig::new(channels, kernel)
        .with_stride([stride, stride])
        .with_padding(padding)
        .with_bias(bias)
        .with_initializer(normal_init())
        .init(device);
    layer.bias = layer
        .bias
        .map(|_| Initializer::Zeros.init([channels[1]], device));
    layer
}

fn layer_norm(dim: usize, config: &HybridHashConfig, device: &Device) -> LayerNorm {
    LayerNormConfig::new(dim)
        .with_epsilon(config.layer_norm_eps)
        .init(device)
}

/// Max-pooling 3×3, stride 2, padding 1 (PyTorch's, padding with −∞): halves an even side.
fn halving_max_pool() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init()
}

/// LayerNorm over the channels of a `[B, C, H, W]` map.
fn channel_norm(norm: &LayerNorm, x: Tensor<4>) -> Tensor<4> {
    norm.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2])
}

/// Bilinear resize of a `[B, C, h, w]` map to `size` (PyTorch's `align_corners=False`).
fn upsample(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size(size),
    )
}

/// Multi-head scaled dot-product attention over `[M, N, 3C]` packed queries/keys/values (the output of a
/// `qkv` layer; per token `[3][heads][head_dim]`), giving `[M, N, C]`. Heads are concatenated
/// channel-major, `c' · heads + h`, as in timm's NesT (see the module documentation).
fn attend(qkv: Tensor<3>, heads: usize) -> Tensor<3> {
    let [m, n, c3] = qkv.dims();
    let c = c3 / 3;
    let d = c / heads;
    let qkv = qkv
        .reshape([m, n, 3, heads, d])
        .permute([2, 0, 3, 1, 4])
        .reshape([3, m * heads, n, d]);
    let part = |i: usize| qkv.clone().narrow(0, i, 1).reshape([m * heads, n, d]);
    let (q, k, v) = (part(0), part(1), part(2));
    let scores = q
        .matmul(k.swap_dims(1, 2))
        .mul_scalar((d as f64).powf(-0.5));
    softmax(scores, 2)
        .matmul(v)
        .reshape([m, heads, n, d])
        .permute([0, 2, 3, 1])
        .reshape([m, n, c])
}

/// Stochastic depth: during training, zeroes a sample's whole residual branch with probability `prob`
/// and scales the survivors by `1 / (1 - prob)` (timm's `DropPath`). Like Burn's `Dropout`, it acts only
/// on an autodiff device while `training` is on (`Module::valid` turns it off).
#[derive(Module, Debug)]
pub struct DropPath {
    pub prob: f64,
    pub training: Param<Flag>,
}

impl DropPath {
    pub fn new(prob: f64) -> Self {
        assert!(
            prob.is_finite() && (0.0..1.0).contains(&prob),
            "drop-path probability {prob} is not in [0, 1)"
        );
        Self {
            prob,
            training: Param::from_bool(true),
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.prob == 0.0 || !self.training.is_enabled() || !x.device().is_autodiff() {
            return x;
        }
        let keep = 1.0 - self.prob;
        let mut shape = [1; D];
        shape[0] = x.dims()[0];
        let mask = Tensor::<D>::random(shape, Distribution::Bernoulli(keep), &x.device());
        x * mask.div_scalar(keep)
    }
}

/// timm's `PatchEmbed` without flattening: a `patch × patch` convolution with stride `patch`.
#[derive(Module, Debug)]
pub struct PatchEmbed {
    pub proj: Conv2d,
}

/// Self-attention local to each block of a `[B, T, N, C]` tensor (upstream/NesT `Attention`).
#[derive(Module, Debug)]
pub struct BlockAttention {
    /// `C → 3C`, with bias.
    pub qkv: Linear,
    pub proj: Linear,
    pub num_heads: usize,
}

impl BlockAttention {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, t, n, c] = x.dims();
        let qkv = self.qkv.forward(x).reshape([b * t, n, 3 * c]);
        let y = attend(qkv, self.num_heads).reshape([b, t, n, c]);
        self.proj.forward(y)
    }
}

/// Two-layer GELU MLP (timm's `Mlp`).
#[derive(Module, Debug)]
pub struct Mlp {
    pub fc1: Linear,
    pub fc2: Linear,
}

impl Mlp {
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.fc2.forward(gelu(self.fc1.forward(x)))
    }
}

/// A pre-norm transformer layer on `[B, T, N, C]` blocks.
#[derive(Module, Debug)]
pub struct TransformerLayer {
    pub norm1: LayerNorm,
    pub attn: BlockAttention,
    pub norm2: LayerNorm,
    pub mlp: Mlp,
    pub drop_path: DropPath,
}

impl TransformerLayer {
    fn new(
        dim: usize,
        heads: usize,
        drop_path: f64,
        config: &HybridHashConfig,
        device: &Device,
    ) -> Self {
        let hidden = dim * config.mlp_ratio;
        Self {
            norm1: layer_norm(dim, config, device),
            attn: BlockAttention {
                qkv: linear(dim, 3 * dim, true, device),
                proj: linear(dim, dim, true, device),
                num_heads: heads,
            },
            norm2: layer_norm(dim, config, device),
            mlp: Mlp {
                fc1: linear(dim, hidden, true, device),
                fc2: linear(hidden, dim, true, device),
            },
            drop_path: DropPath::new(drop_path),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.attn.forward(self.norm1.forward(x.clone()));
        let x = x + self.drop_path.forward(y);
        let y = self.mlp.forward(self.norm2.forward(x.clone()));
        x + self.drop_path.forward(y)
    }
}

/// Attention across the pooled tokens of a `[B, C, h, w]` map (upstream `Interactive_Attention`): adds a
/// learned positional embedding (`[1, h·w, C]`, zero at first), attends with `num_heads` heads, projects,
/// and returns a `[B, C, h, w]` map.
#[derive(Module, Debug)]
pub struct GlobalAttention {
    /// `C → 3C`, without bias.
    pub qkv: Linear,
    pub proj: Linear,
    pub pos_embed_glo: Param<Tensor<3>>,
    pub num_heads: usize,
    /// Tokens by upstream's channels-first `reshape` (see [`HybridHashConfig::upstream_global_reshape`]).
    pub upstream_reshape: bool,
}

impl GlobalAttention {
    fn new(dim: usize, tokens: usize, config: &HybridHashConfig, device: &Device) -> Self {
        Self {
            qkv: linear(dim, 3 * dim, false, device),
            proj: linear(dim, dim, true, device),
            pos_embed_glo: Initializer::Zeros.init([1, tokens, dim], device),
            num_heads: config.global_heads,
            upstream_reshape: config.upstream_global_reshape,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let tokens = if self.upstream_reshape {
            x.reshape([b, h * w, c])
        } else {
            x.permute([0, 2, 3, 1]).reshape([b, h * w, c])
        };
        let tokens = tokens + self.pos_embed_glo.val();
        let y = attend(self.qkv.forward(tokens), self.num_heads);
        self.proj
            .forward(y)
            .reshape([b, h, w, c])
            .permute([0, 3, 1, 2])
    }
}

/// Upstream `Interactive_Module`, the step between two levels (`in → out` channels, map side halved).
#[derive(Module, Debug)]
pub struct InteractionModule {
    /// Local branch: 3×3, with bias.
    pub conv: Conv2d,
    /// Global branch: 1×1, without bias.
    pub conv_glo: Conv2d,
    /// Global branch: average pooling over block-sized regions.
    pub pool_glo: AvgPool2d,
    pub global_attention: GlobalAttention,
    pub norm: LayerNorm,
    pub pool: MaxPool2d,
}

impl InteractionModule {
    fn new(
        c_in: usize,
        c_out: usize,
        tokens: usize,
        config: &HybridHashConfig,
        device: &Device,
    ) -> Self {
        let block = config.block_size();
        Self {
            conv: conv(
                [c_in, c_out],
                [3, 3],
                1,
                PaddingConfig2d::Explicit(1, 1, 1, 1),
                true,
                device,
            ),
            conv_glo: conv(
                [c_in, c_out],
                [1, 1],
                1,
                PaddingConfig2d::Valid,
                false,
                device,
            ),
            pool_glo: AvgPool2dConfig::new([block, block]).init(),
            global_attention: GlobalAttention::new(c_out, tokens, config, device),
            norm: layer_norm(c_out, config, device),
            pool: halving_max_pool(),
        }
    }

    /// `[B, in, H, W]` → `[B, out, H/2, W/2]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let global = self.pool_glo.forward(self.conv_glo.forward(x.clone()));
        let global = upsample(self.global_attention.forward(global), [h, w]);
        let local = self.conv.forward(x);
        self.pool.forward(channel_norm(&self.norm, local + global))
    }
}

/// One level: interaction module (not on the first level), blocks + positional embedding, transformer
/// layers, map again.
#[derive(Module, Debug)]
pub struct HybridHashLevel {
    /// `[1, blocks, block², C]`.
    pub pos_embed: Param<Tensor<4>>,
    pub pool: Option<InteractionModule>,
    pub transformer_encoder: Vec<TransformerLayer>,
    pub block_size: usize,
}

impl HybridHashLevel {
    /// `[B, C_prev, H, W]` → `[B, C, H', W']` (`H' = H / 2` except on the first level).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = match &self.pool {
            Some(pool) => pool.forward(x),
            None => x,
        };
        let mut blocks = blockify(x.permute([0, 2, 3, 1]), self.block_size) + self.pos_embed.val();
        for layer in &self.transformer_encoder {
            blocks = layer.forward(blocks);
        }
        deblockify(blocks, self.block_size).permute([0, 3, 1, 2])
    }
}

/// `[B, H, W, C]` → `[B, T, N, C]`: non-overlapping `block × block` regions in row-major order, each
/// region's tokens in row-major order.
pub fn blockify(x: Tensor<4>, block: usize) -> Tensor<4> {
    let [b, h, w, c] = x.dims();
    let (gh, gw) = (h / block, w / block);
    assert_eq!(
        [gh * block, gw * block],
        [h, w],
        "a {h}×{w} map does not split into {block}×{block} blocks"
    );
    x.reshape([b * gh, block, gw, block, c])
        .swap_dims(1, 2)
        .reshape([b, gh * gw, block * block, c])
}

/// Inverse of [`blockify`] for a square grid of blocks: `[B, T, N, C]` → `[B, H, W, C]`.
pub fn deblockify(x: Tensor<4>, block: usize) -> Tensor<4> {
    let [b, t, _, c] = x.dims();
    let g = t.isqrt();
    assert_eq!(g * g, t, "{t} blocks do not form a square grid");
    x.reshape([b * g, g, block, block, c])
        .swap_dims(1, 2)
        .reshape([b, g * block, g * block, c])
}

/// Upstream `HashLayer` up to its max-pooling, then global average pooling (its 1×1 convolution to K bits
/// and tanh belong to the hash head; see the module documentation).
#[derive(Module, Debug)]
pub struct HashLayerTrunk {
    /// Local branch: 1×3, padding (0, 1), with bias (upstream `convS1`).
    pub conv_s1: Conv2d,
    /// Local branch: 3×1, padding (1, 0), with bias (upstream `convS2`).
    pub conv_s2: Conv2d,
    /// Global branch: average pooling of a block-sized map to one token.
    pub pool_glo: AvgPool2d,
    pub global_attention: GlobalAttention,
    pub maxpool: MaxPool2d,
}

impl HashLayerTrunk {
    fn new(dim: usize, config: &HybridHashConfig, device: &Device) -> Self {
        let block = config.block_size();
        Self {
            conv_s1: conv(
                [dim, dim],
                [1, 3],
                1,
                PaddingConfig2d::Explicit(0, 1, 0, 1),
                true,
                device,
            ),
            conv_s2: conv(
                [dim, dim],
                [3, 1],
                1,
                PaddingConfig2d::Explicit(1, 0, 1, 0),
                true,
                device,
            ),
            pool_glo: AvgPool2dConfig::new([block, block]).init(),
            global_attention: GlobalAttention::new(dim, 1, config, device),
            maxpool: halving_max_pool(),
        }
    }

    /// The fused, max-pooled map: `[B, C, 14, 14]` → `[B, C, 7, 7]`.
    pub fn forward_map(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let local = self.conv_s2.forward(self.conv_s1.forward(x.clone()));
        let global = self.global_attention.forward(self.pool_glo.forward(x));
        self.maxpool.forward(local + upsample(global, [h, w]))
    }

    /// `[B, C, H, W]` → `[B, C]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let map = self.forward_map(x);
        let [b, c, _, _] = map.dims();
        map.mean_dim(3).mean_dim(2).reshape([b, c])
    }
}

/// The HybridHash network without its final 1×1 hash convolution and tanh; see the module documentation.
#[derive(Module, Debug)]
pub struct HybridHashNet {
    pub patch_embed: PatchEmbed,
    pub levels: Vec<HybridHashLevel>,
    /// Final LayerNorm over the last level's channels.
    pub norm: LayerNorm,
    pub hash_layer: HashLayerTrunk,
}

impl HybridHashNet {
    /// Width of [`features`](Self::features) (512 by default).
    pub fn feature_dim(&self) -> usize {
        self.norm.gamma.dims()[0]
    }

    /// Every level's output map, `[B, C_i, H_i, W_i]` (1/4, 1/8, 1/16 of the input side by default; the
    /// last before the final LayerNorm).
    pub fn level_maps(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut x = self.patch_embed.proj.forward(x);
        let mut maps = Vec::with_capacity(self.levels.len());
        for level in &self.levels {
            x = level.forward(x);
            maps.push(x.clone());
        }
        maps
    }

    /// Upstream `forward_features`: the last level's map after the final LayerNorm, `[B, 512, 14, 14]`.
    pub fn forward_features(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.patch_embed.proj.forward(x);
        for level in &self.levels {
            x = level.forward(x);
        }
        channel_norm(&self.norm, x)
    }

    /// Pooled hash-layer trunk output, `[B, 512]`, from normalised `[B, 3, H, W]` images: what the hash
    /// head's linear map (upstream's 1×1 `conv2`) and tanh read.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        self.hash_layer.forward(self.forward_features(x))
    }
}

impl super::network::ImageNetwork for HybridHashNet {
    fn features(&self, x: Tensor<4>) -> Tensor<2> {
        HybridHashNet::features(self, x)
    }

    /// HybridHash has no ImageNet classifier.
    fn logits(&self, _x: Tensor<4>) -> Option<Tensor<2>> {
        None
    }
}

#[cfg(test)]
#[path = "hybrid_hash_tests.rs"]
mod tests;
