//! MobileNetV2 and EfficientNet-Lite0 prepared for inference on the CPU.
//!
//! Why this exists: through Burn's `flex` backend the whole network ran at about 27 photos/s on two cores,
//! where ONNX Runtime runs the same network with the same weights at about 200/s
//! (`benchmarks/results/encode-cpu.md`). Indexing a library is inference only, so it does not need what
//! a training framework keeps around: here the network is rewritten once, at load, into the form CPU
//! inference engines use:
//! - **BatchNorm folded** into the preceding convolution's weights and a bias (`W·γ/σ`, `β − μ·γ/σ`);
//! - **channels last** (`[rows = H·W, channels]` per photo): a 1×1 convolution is then one matrix product
//!   `[H·W, C_in] × [C_in, C_out]`, with bias, residual and ReLU6 applied as the values are stored. On
//!   CPUs with AVX2 + FMA (chosen at run time) the products run the register tile below; elsewhere the
//!   `gemm` crate (the kernels Burn's `flex` uses for its own matrix products) and portable loops;
//! - **a direct depthwise kernel**: each output pixel is `bias + Σ_taps x·w` over a contiguous run of
//!   channels, four neighbouring outputs at a time (AVX2 tiles for the 3×3 and 5×5 kernels);
//! - **ReLU6 fused** into the pass that produced the values, no autodiff bookkeeping, no allocation per
//!   layer: each worker keeps its buffers from photo to photo;
//! - **one photo per core**: a batch is spread over the cores photo by photo, each photo running its
//!   products on one core, which keeps its activations in that core's caches and needs no synchronisation
//!   between layers. A single photo (a search with an outside photo) splits each layer over the cores
//!   instead;
//! - **one register tile** (`avx2.rs`, 6 pixels × 16 channels) for every dense layer, reading weights
//!   packed in panels for the wide 1×1 layers; the stem's taps gathered into rows so that it is one
//!   more such layer; **the early blocks by bands of rows** (stem included), so that their large
//!   activations stay in the L1 and L2 caches.
//!
//! Burn's forward pass stays the reference: the tests compare every output with it (within 1e-4,
//! relative to the features' scale), for both networks and for inputs that are not square.

use std::time::{Duration, Instant};

use burn::tensor::Tensor;
use gemm::Parallelism;
use rayon::prelude::*;

use super::depthwise::padding_pairs;

#[cfg(target_arch = "x86_64")]
mod avx2;
use super::inverted_residual::{ConvBn, InvertedResidualNet};

fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_to_vec::<f32>()
        .expect("network weights are f32")
}

/// A convolution with its BatchNorm folded in: `weight` in the layout its kernel reads, one bias per
/// output channel.
#[derive(Clone)]
struct Folded {
    cin: usize,
    cout: usize,
    /// Kernel side (1 for pointwise).
    k: usize,
    stride: usize,
    relu6: bool,
    weight: Vec<f32>,
    /// The weights again as panels of 16 output channels (`[C_out / 16][depth][16]`, the last panel 8
    /// wide when `C_out` is 8 more than a multiple of 16), so that a register tile reads its weights
    /// contiguously: for the 1×1 layers too wide for [`pointwise_direct`], on CPUs with AVX2. Empty
    /// otherwise.
    panels: Vec<f32>,
    bias: Vec<f32>,
    /// How Burn pads this layer (depends on the input size for TensorFlow's "SAME").
    padding: burn::nn::PaddingConfig2d,
}

/// Which layout a folded weight is stored in.
#[derive(Clone, Copy)]
enum Layout {
    /// `[(ky·k + kx)·C_in + c_in][C_out]`: the stem's taps, or `[C_in][C_out]` for a 1×1 convolution.
    Dense,
    /// `[ky·k + kx][C]`: one filter per channel.
    Depthwise,
}

fn fold(layer: &ConvBn, layout: Layout) -> Folded {
    let conv = &layer.conv;
    let bn = &layer.bn;
    let [cout, cin_per_group, kh, kw] = conv.weight.val().dims();
    assert_eq!(kh, kw, "square kernels");
    let w = floats(conv.weight.val());
    let gamma = floats(bn.gamma.val());
    let beta = floats(bn.beta.val());
    let mean = floats(bn.running_mean.value());
    let var = floats(bn.running_var.value());
    let conv_bias = conv.bias.as_ref().map(|b| floats(b.val()));
    let scale: Vec<f32> = (0..cout)
        .map(|c| gamma[c] / (var[c] as f64 + bn.epsilon).sqrt() as f32)
        .collect();
    let bias: Vec<f32> = (0..cout)
        .map(|c| {
            let b = conv_bias.as_ref().map_or(0.0, |b| b[c]);
            (b - mean[c]) * scale[c] + beta[c]
        })
        .collect();
    let k = kh;
    let taps = k * k;
    let (cin, weight) = match layout {
        Layout::Dense => {
            let cin = cin_per_group;
            let mut out = vec![0.0; taps * cin * cout];
            for co in 0..cout {
                for ci in 0..cin {
                    for t in 0..taps {
                        out[(t * cin + ci) * cout + co] = w[(co * cin + ci) * taps + t] * scale[co];
                    }
                }
            }
            (cin, out)
        }
        Layout::Depthwise => {
            assert_eq!(cin_per_group, 1, "one filter per channel");
            assert!(taps <= 49, "depthwise kernels up to 7 × 7");
            let mut out = vec![0.0; taps * cout];
            for c in 0..cout {
                for t in 0..taps {
                    out[t * cout + c] = w[c * taps + t] * scale[c];
                }
            }
            (cout, out)
        }
    };
    Folded {
        cin,
        cout,
        k,
        stride: conv.stride[0],
        relu6: layer.relu6,
        panels: Vec::new(),
        weight,
        bias,
        padding: conv.padding.clone(),
    }
}

impl Folded {
    /// Fills [`panels`](Self::panels) when the packed tile will run this layer.
    fn with_panels(mut self) -> Self {
        #[cfg(target_arch = "x86_64")]
        if avx2_fma() && self.cout.is_multiple_of(8) && self.depth() * self.cout > DIRECT_WEIGHTS {
            let (depth, cout) = (self.depth(), self.cout);
            let mut panels = Vec::with_capacity(depth * cout);
            for c0 in (0..cout).step_by(16) {
                let width = (cout - c0).min(16);
                for k in 0..depth {
                    panels.extend_from_slice(&self.weight[k * cout + c0..][..width]);
                }
            }
            self.panels = panels;
        }
        self
    }

    /// Inputs per output value of a dense layer: `k·k·C_in` (`C_in` for a 1×1 convolution).
    fn depth(&self) -> usize {
        self.k * self.k * self.cin
    }
}

#[derive(Clone)]
struct Block {
    expand: Option<Folded>,
    depthwise: Folded,
    project: Folded,
    residual: bool,
}

impl Block {
    /// Whether [`fused_block`] runs this block: an expansion, both 1×1 layers small enough for
    /// [`pointwise_direct`], and a depthwise kernel of at most 7 × 7.
    fn fusable(&self) -> bool {
        let direct = |l: &Folded| l.cin * l.cout <= DIRECT_WEIGHTS;
        self.expand.as_ref().is_some_and(direct) && direct(&self.project) && self.depthwise.k <= 7
    }

    /// Whether [`fused_stem`] runs the stem and this first block together: no expansion, no residual,
    /// a projection small enough for [`pointwise_direct`].
    fn fusable_with_stem(&self) -> bool {
        self.expand.is_none()
            && !self.residual
            && self.project.cin * self.project.cout <= DIRECT_WEIGHTS
            && self.depthwise.k <= 7
    }
}

/// Time spent per kind of layer, summed over photos (`hashlens bench encode --profile`).
#[derive(Clone, Debug, Default)]
pub struct LayerTimes {
    pub stem: Duration,
    pub expand: Duration,
    pub depthwise: Duration,
    pub project: Duration,
    pub head: Duration,
    /// Blocks run by bands of rows (expansion, depthwise and projection together).
    pub fused: Duration,
    /// The first block ran with the stem ([`fused_stem`]): its time is in `stem`.
    pub stem_with_first_block: bool,
    pub photos: usize,
    /// Per block: its input size and channels (`h × w`, in → hidden → out) and the time of its three
    /// layers (expansion, depthwise, projection).
    pub blocks: Vec<BlockTimes>,
}

/// One inverted-residual block's shape and time ([`LayerTimes::blocks`]).
#[derive(Clone, Debug, Default)]
pub struct BlockTimes {
    pub size: (usize, usize),
    pub channels: (usize, usize, usize),
    pub stride: usize,
    pub kernel: usize,
    /// Run by bands of rows ([`fused_block`]): then the whole block's time is `layers[0]`.
    pub fused: bool,
    /// Run by rows together with the stem ([`fused_stem`]): its time is the stem's.
    pub with_stem: bool,
    pub layers: [Duration; 3],
}

impl BlockTimes {
    fn of(b: &Block, size: (usize, usize), fused: bool) -> Self {
        Self {
            size,
            channels: (
                b.expand.as_ref().map_or(b.depthwise.cout, |e| e.cin),
                b.depthwise.cout,
                b.project.cout,
            ),
            stride: b.depthwise.stride,
            kernel: b.depthwise.k,
            fused,
            with_stem: false,
            layers: Default::default(),
        }
    }
}

impl LayerTimes {
    /// `(name, time)` per kind of layer, in the network's order.
    pub fn rows(&self) -> [(&'static str, Duration); 6] {
        [
            (
                if self.stem_with_first_block {
                    "stem and first block, by rows"
                } else {
                    "stem 3×3 convolution"
                },
                self.stem,
            ),
            ("early blocks, by rows", self.fused),
            ("1×1 expansions", self.expand),
            ("depthwise convolutions", self.depthwise),
            ("1×1 projections", self.project),
            ("1×1 head and pooling", self.head),
        ]
    }
}

thread_local! {
    /// Each worker thread's buffers, kept from batch to batch: fresh buffers would cost page faults and
    /// zeroing on every photo. (About 20 MB a thread for MobileNetV2 at 224 × 224.)
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// A worker's buffers, reused from photo to photo.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    y: Vec<f32>,
    hidden: Vec<f32>,
    spatial: Vec<f32>,
    /// The photo, channels last (the stem's input).
    image: Vec<f32>,
    /// One row of the stem's taps per output pixel ([`stem_row`]).
    patches: Vec<f32>,
}

/// An inverted-residual network ready for CPU inference (see the module documentation).
#[derive(Clone)]
pub struct CpuNet {
    stem: Folded,
    blocks: Vec<Block>,
    head: Folded,
}

impl std::fmt::Debug for CpuNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuNet")
            .field("blocks", &self.blocks.len())
            .field("features", &self.feature_dim())
            .finish_non_exhaustive()
    }
}

/// Sizes a `Vec` to `n` values without clearing what it held (every value is overwritten).
fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    v.resize(n, 0.0);
    &mut v[..n]
}

fn out_size(size: usize, k: usize, stride: usize, (a, b): (usize, usize)) -> usize {
    (size + a + b - k) / stride + 1
}

impl CpuNet {
    /// Folds `net`'s weights (its current values: a fine-tuned backbone works as well as the ImageNet one).
    pub fn new(net: &InvertedResidualNet) -> Self {
        Self {
            stem: fold(&net.stem, Layout::Dense),
            blocks: net
                .blocks
                .iter()
                .map(|b| Block {
                    expand: b
                        .expand
                        .as_ref()
                        .map(|e| fold(e, Layout::Dense).with_panels()),
                    depthwise: fold(&b.depthwise, Layout::Depthwise),
                    project: fold(&b.project, Layout::Dense).with_panels(),
                    residual: b.residual,
                })
                .collect(),
            head: fold(&net.head, Layout::Dense).with_panels(),
        }
    }

    /// Width of the pooled feature vector.
    pub fn feature_dim(&self) -> usize {
        self.head.cout
    }

    /// Pooled features, `n × feature_dim` values, of `n` normalised images given channel-major
    /// (`[n, 3, height, width]`, as [`crate::photo::Preprocess`] writes them).
    pub fn features(&self, pixels: &[f32], n: usize, height: usize, width: usize) -> Vec<f32> {
        let per_image = 3 * height * width;
        assert_eq!(pixels.len(), n * per_image, "whole images only");
        let dim = self.feature_dim();
        let mut out = vec![0.0; n * dim];
        if n == 1 {
            // One photo: every layer uses every core.
            let mut s = Scratch::default();
            self.forward_one(pixels, height, width, &mut s, true, None, &mut out);
            return out;
        }
        pixels
            .par_chunks(per_image)
            .zip(out.par_chunks_mut(dim))
            .for_each(|(img, o)| {
                SCRATCH.with_borrow_mut(|s| self.forward_one(img, height, width, s, false, None, o))
            });
        out
    }

    /// [`features`](Self::features) one photo after another on one core, timing each kind of layer.
    pub fn profile(&self, pixels: &[f32], n: usize, height: usize, width: usize) -> LayerTimes {
        let per_image = 3 * height * width;
        let mut times = LayerTimes::default();
        let mut s = Scratch::default();
        let mut o = vec![0.0; self.feature_dim()];
        for img in pixels.chunks_exact(per_image).take(n) {
            self.forward_one(img, height, width, &mut s, false, Some(&mut times), &mut o);
            times.photos += 1;
        }
        times
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_one(
        &self,
        chw: &[f32],
        height: usize,
        width: usize,
        s: &mut Scratch,
        parallel: bool,
        mut times: Option<&mut LayerTimes>,
        out: &mut [f32],
    ) {
        let mut clock = Instant::now();
        let mut lap = |slot: fn(&mut LayerTimes) -> &mut Duration,
                       times: &mut Option<&mut LayerTimes>| {
            if let Some(t) = times.as_deref_mut() {
                let now = Instant::now();
                *slot(t) += now - clock;
                clock = now;
            }
        };
        let first = self
            .blocks
            .first()
            .filter(|b| !parallel && b.fusable_with_stem());
        let (mut h, mut w) = match first {
            Some(b) => {
                let size = fused_stem(&self.stem, b, chw, height, width, s);
                std::mem::swap(&mut s.x, &mut s.y);
                size
            }
            None => stem(&self.stem, chw, height, width, s, parallel),
        };
        let stem_before = times.as_deref().map(|t| t.stem);
        lap(|t| &mut t.stem, &mut times);
        if let (Some(t), Some(b), Some(t0)) = (times.as_deref_mut(), first, stem_before) {
            t.stem_with_first_block = true;
            if t.blocks.is_empty() {
                let mut first = BlockTimes::of(b, (h, w), true);
                first.with_stem = true;
                t.blocks.push(first);
            }
            t.blocks[0].layers[0] += t.stem - t0;
        }
        for (i, b) in self.blocks.iter().enumerate().skip(first.map_or(0, |_| 1)) {
            let before = times.as_deref().map(|t| [t.expand, t.depthwise, t.project]);
            if let Some(e) = b.expand.as_ref().filter(|_| !parallel && b.fusable()) {
                let size = (h, w);
                let fused_before = times.as_deref().map(|t| t.fused);
                (h, w) = fused_block(b, e, h, w, s);
                std::mem::swap(&mut s.x, &mut s.y);
                lap(|t| &mut t.fused, &mut times);
                if let (Some(t), Some(f0)) = (times.as_deref_mut(), fused_before) {
                    if t.blocks.len() <= i {
                        t.blocks.push(BlockTimes::of(b, size, true));
                    }
                    t.blocks[i].layers[0] += t.fused - f0;
                }
                continue;
            }
            let rows = h * w;
            let input: &[f32] = match &b.expand {
                Some(e) => {
                    pointwise(e, &s.x, rows, &mut s.hidden, false, parallel);
                    lap(|t| &mut t.expand, &mut times);
                    &s.hidden
                }
                None => &s.x,
            };
            let (ho, wo) = depthwise(&b.depthwise, input, h, w, &mut s.spatial, parallel);
            lap(|t| &mut t.depthwise, &mut times);
            let rows_out = ho * wo;
            if b.residual {
                // The block's input is added to the projection: start the destination from it.
                let y = sized(&mut s.y, rows_out * b.project.cout);
                y.copy_from_slice(&s.x[..rows_out * b.project.cout]);
            }
            pointwise(
                &b.project, &s.spatial, rows_out, &mut s.y, b.residual, parallel,
            );
            std::mem::swap(&mut s.x, &mut s.y);
            lap(|t| &mut t.project, &mut times);
            if let (Some(t), Some(before)) = (times.as_deref_mut(), before) {
                if t.blocks.len() <= i {
                    t.blocks.push(BlockTimes::of(b, (h, w), false));
                }
                let now = [t.expand, t.depthwise, t.project];
                for (l, slot) in t.blocks[i].layers.iter_mut().enumerate() {
                    *slot += now[l] - before[l];
                }
            }
            (h, w) = (ho, wo);
        }
        let rows = h * w;
        pointwise(&self.head, &s.x, rows, &mut s.hidden, false, parallel);
        let dim = self.head.cout;
        out.fill(0.0);
        for row in s.hidden[..rows * dim].chunks_exact(dim) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        let inv = 1.0 / rows as f32;
        out.iter_mut().for_each(|o| *o *= inv);
        lap(|t| &mut t.head, &mut times);
    }
}

fn parallelism(parallel: bool) -> Parallelism {
    if parallel {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    }
}

/// `out[rows, cout] = input[rows, cin] × weight (+ out, when `accumulate`: the residual) + bias`, then
/// ReLU6 if the layer has it. The product writes `out` directly; bias and ReLU6 are one pass after it.
fn pointwise(
    layer: &Folded,
    input: &[f32],
    rows: usize,
    out: &mut Vec<f32>,
    accumulate: bool,
    parallel: bool,
) {
    let (cin, cout) = (layer.depth(), layer.cout);
    let input = &input[..rows * cin];
    let out = sized(out, rows * cout);
    if cin * cout <= DIRECT_WEIGHTS {
        return pointwise_direct(layer, input, out, accumulate, parallel);
    }
    #[cfg(target_arch = "x86_64")]
    if !layer.panels.is_empty() {
        const ROWS: usize = 48;
        // SAFETY: `panels` is only filled on CPUs with AVX2 and FMA.
        let run =
            |x: &[f32], o: &mut [f32]| unsafe { pointwise_panels_avx2(layer, x, o, accumulate) };
        if parallel {
            input
                .par_chunks(ROWS * cin)
                .zip(out.par_chunks_mut(ROWS * cout))
                .for_each(|(x, o)| run(x, o));
        } else {
            run(input, out);
        }
        return;
    }
    // SAFETY: `out` holds rows × cout values, `input` rows × cin and the weight cin × cout, all
    // row-major with the strides given; the three do not overlap.
    unsafe {
        gemm::gemm(
            rows,
            cout,
            cin,
            out.as_mut_ptr(),
            1,
            cout as isize,
            accumulate,
            input.as_ptr(),
            1,
            cin as isize,
            layer.weight.as_ptr(),
            1,
            cout as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(parallel),
        );
    }
    for row in out.chunks_exact_mut(cout) {
        if layer.relu6 {
            for (o, b) in row.iter_mut().zip(&layer.bias) {
                *o = (*o + b).clamp(0.0, 6.0);
            }
        } else {
            for (o, b) in row.iter_mut().zip(&layer.bias) {
                *o += b;
            }
        }
    }
}

/// Weights (values) up to which a 1×1 convolution runs through [`pointwise_direct`]: they stay in the
/// L1 cache (32 KiB), and the layer is narrow (`C_in` of 16 to 32 in the first expansions, `C_out` of
/// 16 to 32 in the first projections), where a general matrix product spends its time packing. These
/// early layers are also the largest in pixels: computing bias, ReLU6 and the residual as each output is
/// stored saves a pass over megabytes.
const DIRECT_WEIGHTS: usize = 6144;

/// A narrow 1×1 convolution computed directly, four pixels × sixteen channels at a time in registers,
/// with bias, residual (`accumulate`: `out` holds it) and ReLU6 applied as the values are stored.
fn pointwise_direct(
    layer: &Folded,
    input: &[f32],
    out: &mut [f32],
    accumulate: bool,
    parallel: bool,
) {
    let (cin, cout) = (layer.cin, layer.cout);
    const ROWS: usize = 64;
    if parallel {
        input
            .par_chunks(ROWS * cin)
            .zip(out.par_chunks_mut(ROWS * cout))
            .for_each(|(x, o)| pointwise_rows(layer, x, o, accumulate));
    } else {
        pointwise_rows(layer, input, out, accumulate);
    }
}

fn pointwise_rows(layer: &Folded, input: &[f32], out: &mut [f32], accumulate: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU has just been checked for AVX2 and FMA.
        return unsafe { pointwise_rows_avx2(layer, input, out, accumulate) };
    }
    pointwise_rows_generic::<false>(layer, input, out, accumulate)
}

#[cfg(target_arch = "x86_64")]
impl avx2::Tile {
    /// The tile of `layer` at pixel `r`, channel `c0` of `input` and `out` (rows of `layer.depth()`
    /// and `layer.cout` values), its weights at `w.0`, rows `w.1` apart.
    #[inline(always)]
    fn at(
        layer: &Folded,
        input: &[f32],
        out: &mut [f32],
        (r, c0): (usize, usize),
        w: (*const f32, usize),
        accumulate: bool,
    ) -> Self {
        let (depth, cout) = (layer.depth(), layer.cout);
        Self {
            x: input[r * depth..].as_ptr(),
            x_stride: depth,
            depth,
            w: w.0,
            w_stride: w.1,
            bias: layer.bias[c0..].as_ptr(),
            out: out[r * cout + c0..].as_mut_ptr(),
            out_stride: cout,
            accumulate,
            relu6: layer.relu6,
        }
    }
}

/// A wide 1×1 layer by [`avx2::tile`]s reading [`Folded::panels`]: panel by panel (its weights, up to
/// 60 KiB, stay in L1 and L2 while every group of 6 pixels passes under them), so that the whole weight
/// matrix, up to 1.2 MB, is read once per photo.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pointwise_panels_avx2(layer: &Folded, input: &[f32], out: &mut [f32], accumulate: bool) {
    let (depth, cout) = (layer.depth(), layer.cout);
    let rows = input.len() / depth;
    assert!(out.len() >= rows * cout, "an output row per input row");
    assert!(
        layer.panels.len() == depth * cout && layer.bias.len() == cout && cout.is_multiple_of(8)
    );
    for c0 in (0..cout).step_by(16) {
        let wide = c0 + 16 <= cout;
        let panel = &layer.panels[c0 * depth..];
        let mut r = 0;
        while r < rows {
            let p = (rows - r).min(6);
            let w = (panel.as_ptr(), if wide { 16 } else { 8 });
            let t = avx2::Tile::at(layer, input, out, (r, c0), w, accumulate);
            // SAFETY: AVX2 and FMA are enabled here; rows r..r + p of `input` and `out` exist (checked
            // above); the panel at c0 holds depth rows of 16 (or, the last, 8) weights.
            unsafe { tile_rows(&t, p, wide) };
            r += p;
        }
    }
}

/// [`avx2::tile`] for `p` (1 to 6) pixels and 16 channels (`wide`) or 8.
///
/// # Safety
/// As [`avx2::tile`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_rows(t: &avx2::Tile, p: usize, wide: bool) {
    unsafe {
        match (p, wide) {
            (6, true) => avx2::tile::<6, 2>(t),
            (5, true) => avx2::tile::<5, 2>(t),
            (4, true) => avx2::tile::<4, 2>(t),
            (3, true) => avx2::tile::<3, 2>(t),
            (2, true) => avx2::tile::<2, 2>(t),
            (1, true) => avx2::tile::<1, 2>(t),
            (6, false) => avx2::tile::<6, 1>(t),
            (5, false) => avx2::tile::<5, 1>(t),
            (4, false) => avx2::tile::<4, 1>(t),
            (3, false) => avx2::tile::<3, 1>(t),
            (2, false) => avx2::tile::<2, 1>(t),
            _ => avx2::tile::<1, 1>(t),
        }
    }
}

/// [`pointwise_rows`] by [`avx2::tile`]s of 6 pixels × 16 channels (smaller at the edges; channels past
/// the last multiple of 8 one at a time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pointwise_rows_avx2(layer: &Folded, input: &[f32], out: &mut [f32], accumulate: bool) {
    let (depth, cout) = (layer.depth(), layer.cout);
    let rows = input.len() / depth;
    assert!(out.len() >= rows * cout, "an output row per input row");
    assert!(layer.weight.len() >= depth * cout && layer.bias.len() >= cout);
    let vectors = cout / 8 * 8;
    let mut r = 0;
    while r < rows {
        let p = (rows - r).min(6);
        let mut c0 = 0;
        while c0 < vectors {
            let wide = c0 + 16 <= vectors;
            let w = (layer.weight[c0..].as_ptr(), cout);
            let t = avx2::Tile::at(layer, input, out, (r, c0), w, accumulate);
            // SAFETY: AVX2 and FMA are enabled here; rows r..r + p of `input` and `out` exist (checked
            // above), channels c0..c0 + 8 or 16 lie below `cout`, and the weights hold depth × cout values.
            unsafe { tile_rows(&t, p, wide) };
            c0 += if wide { 16 } else { 8 };
        }
        for row in r..r + p {
            for c in vectors..cout {
                pointwise_block::<1, 1, true>(layer, input, out, accumulate, row, c);
            }
        }
        r += p;
    }
}

#[inline(always)]
fn pointwise_rows_generic<const FMA: bool>(
    layer: &Folded,
    input: &[f32],
    out: &mut [f32],
    accumulate: bool,
) {
    let rows = input.len() / layer.depth();
    let mut r = 0;
    while r + 4 <= rows {
        pointwise_pixels::<4, FMA>(layer, input, out, accumulate, r);
        r += 4;
    }
    while r < rows {
        pointwise_pixels::<1, FMA>(layer, input, out, accumulate, r);
        r += 1;
    }
}

#[inline(always)]
fn pointwise_pixels<const P: usize, const FMA: bool>(
    layer: &Folded,
    input: &[f32],
    out: &mut [f32],
    accumulate: bool,
    r: usize,
) {
    let cout = layer.cout;
    let mut c0 = 0;
    while c0 + 16 <= cout {
        pointwise_block::<16, P, FMA>(layer, input, out, accumulate, r, c0);
        c0 += 16;
    }
    while c0 + 8 <= cout {
        pointwise_block::<8, P, FMA>(layer, input, out, accumulate, r, c0);
        c0 += 8;
    }
    while c0 < cout {
        pointwise_block::<1, P, FMA>(layer, input, out, accumulate, r, c0);
        c0 += 1;
    }
}

/// Output channels `c0..c0 + N` of pixels `r..r + P`.
// `k` indexes the weights' rows and every pixel's inputs alike.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn pointwise_block<const N: usize, const P: usize, const FMA: bool>(
    layer: &Folded,
    input: &[f32],
    out: &mut [f32],
    accumulate: bool,
    r: usize,
    c0: usize,
) {
    let (cin, cout) = (layer.depth(), layer.cout);
    let bias: [f32; N] = layer.bias[c0..c0 + N].try_into().expect("N values");
    let mut acc = [bias; P];
    let x: [&[f32]; P] = std::array::from_fn(|p| &input[(r + p) * cin..(r + p + 1) * cin]);
    for k in 0..cin {
        let wt: &[f32; N] = layer.weight[k * cout + c0..k * cout + c0 + N]
            .try_into()
            .expect("N values");
        for p in 0..P {
            let v = x[p][k];
            for j in 0..N {
                acc[p][j] = if FMA {
                    v.mul_add(wt[j], acc[p][j])
                } else {
                    acc[p][j] + v * wt[j]
                };
            }
        }
    }
    for (p, acc) in acc.iter().enumerate() {
        let at = (r + p) * cout + c0;
        for (o, a) in out[at..at + N].iter_mut().zip(acc) {
            let v = if accumulate { *o + a } else { *a };
            *o = if layer.relu6 { v.clamp(0.0, 6.0) } else { v };
        }
    }
}

/// The stem's geometry for a `height × width` photo: its output size is `(ho, g.wo)`.
fn stem_geometry(layer: &Folded, height: usize, width: usize) -> (Geometry, usize) {
    let (k, stride) = (layer.k, layer.stride);
    let [(top, bottom), (left, right)] =
        padding_pairs(&layer.padding, [k, k], [stride, stride], [height, width]);
    let g = Geometry {
        h: height,
        w: width,
        c: layer.cin,
        k,
        stride,
        top,
        left,
        wo: out_size(width, k, stride, (left, right)),
        ring: 0,
    };
    (g, out_size(height, k, stride, (top, bottom)))
}

/// The photo, channel-major as the preprocessing writes it, channels last into `hwc`.
fn channels_last(chw: &[f32], cin: usize, hwc: &mut Vec<f32>) {
    let plane = chw.len() / cin;
    let hwc = sized(hwc, plane * cin);
    for (i, px) in hwc.chunks_exact_mut(cin).enumerate() {
        for (c, v) in px.iter_mut().enumerate() {
            *v = chw[c * plane + i];
        }
    }
}

/// The stem (a k×k convolution of the three colour planes) over the whole photo, into `s.x`. Returns
/// the output size.
fn stem(
    layer: &Folded,
    chw: &[f32],
    height: usize,
    width: usize,
    s: &mut Scratch,
    parallel: bool,
) -> (usize, usize) {
    let (g, ho) = stem_geometry(layer, height, width);
    channels_last(chw, layer.cin, &mut s.image);
    let hwc = &s.image[..height * width * layer.cin];
    let out = sized(&mut s.x, ho * g.wo * layer.cout);
    if parallel {
        out.par_chunks_mut(g.wo * layer.cout)
            .enumerate()
            .for_each_init(Vec::new, |patches, (oy, row)| {
                stem_row(layer, hwc, &g, oy, patches, row)
            });
    } else {
        for (oy, row) in out.chunks_mut(g.wo * layer.cout).enumerate() {
            stem_row(layer, hwc, &g, oy, &mut s.patches, row);
        }
    }
    (ho, g.wo)
}

/// Output row `oy` of the stem: each output pixel's `k·k·C_in` taps gathered into a row of `patches`
/// (zeros where the kernel reads padding), then multiplied by the weights as a 1×1 layer would be
/// (`C_in` = 3 alone is too narrow for the register tile; 27 taps deep is not).
fn stem_row(
    layer: &Folded,
    hwc: &[f32],
    g: &Geometry,
    oy: usize,
    patches: &mut Vec<f32>,
    row: &mut [f32],
) {
    let (k, c) = (g.k, g.c);
    let depth = layer.depth();
    let patches = sized(patches, g.wo * depth);
    let (ky_lo, ky_hi) = taps(oy, g.stride, g.top, k, g.h);
    for (ox, patch) in patches.chunks_exact_mut(depth).enumerate() {
        let (kx_lo, kx_hi) = taps(ox, g.stride, g.left, k, g.w);
        if (ky_lo, ky_hi, kx_lo, kx_hi) != (0, k, 0, k) {
            patch.fill(0.0);
        }
        for ky in ky_lo..ky_hi {
            let iy = oy * g.stride + ky - g.top;
            let ix = ox * g.stride + kx_lo - g.left;
            let from = (iy * g.w + ix) * c;
            let len = (kx_hi - kx_lo) * c;
            let to = (ky * k + kx_lo) * c;
            patch[to..to + len].copy_from_slice(&hwc[from..from + len]);
        }
    }
    pointwise_rows(layer, patches, row, false);
}

/// The kernel taps `lo..hi` of output position `o` that fall inside an input of `size` (the others
/// read padding, which is zero).
fn taps(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = (-start).clamp(0, k as isize) as usize;
    let hi = (size as isize - start).clamp(0, k as isize) as usize;
    (lo, hi.max(lo))
}

/// A depthwise k×k convolution of channels-last `input` (`[h, w, C]`) into `out` (`[ho, wo, C]`), bias
/// and ReLU6 included. Returns the output size.
fn depthwise(
    layer: &Folded,
    input: &[f32],
    h: usize,
    w: usize,
    out: &mut Vec<f32>,
    parallel: bool,
) -> (usize, usize) {
    let (k, stride, c) = (layer.k, layer.stride, layer.cout);
    let [(top, bottom), (left, right)] =
        padding_pairs(&layer.padding, [k, k], [stride, stride], [h, w]);
    let ho = out_size(h, k, stride, (top, bottom));
    let wo = out_size(w, k, stride, (left, right));
    let out = sized(out, ho * wo * c);
    let geometry = Geometry {
        h,
        w,
        c,
        k,
        stride,
        top,
        left,
        wo,
        ring: 0,
    };
    for_each_row(out, wo * c, parallel, |oy, row| {
        depthwise_row(layer, input, &geometry, oy, row)
    });
    (ho, wo)
}

/// Runs `f(row index, row)` over the rows of `out` (`row_len` values each), on every core when `parallel`.
fn for_each_row(
    out: &mut [f32],
    row_len: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [f32]) + Sync,
) {
    if parallel {
        out.par_chunks_mut(row_len)
            .enumerate()
            .for_each(|(i, row)| f(i, row));
    } else {
        out.chunks_mut(row_len)
            .enumerate()
            .for_each(|(i, row)| f(i, row));
    }
}

/// Whether this CPU runs the kernels' AVX2 + FMA versions (checked once, then cached by `std`).
#[cfg(target_arch = "x86_64")]
fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

struct Geometry {
    h: usize,
    w: usize,
    c: usize,
    k: usize,
    stride: usize,
    top: usize,
    left: usize,
    wo: usize,
    /// Input row `iy` is stored at row `iy % ring` (a ring of the last `ring` rows), or at `iy` when 0.
    ring: usize,
}

fn depthwise_row(layer: &Folded, input: &[f32], g: &Geometry, oy: usize, row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU has just been checked for AVX2 and FMA.
        return unsafe { depthwise_row_avx2(layer, input, g, oy, row) };
    }
    depthwise_row_generic::<false>(layer, input, g, oy, row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn depthwise_row_avx2(
    layer: &Folded,
    input: &[f32],
    g: &Geometry,
    oy: usize,
    row: &mut [f32],
) {
    depthwise_row_generic::<true>(layer, input, g, oy, row)
}

#[inline(always)]
fn depthwise_row_generic<const FMA: bool>(
    layer: &Folded,
    input: &[f32],
    g: &Geometry,
    oy: usize,
    row: &mut [f32],
) {
    let c = g.c;
    let rows = taps(oy, g.stride, g.top, g.k, g.h);
    // Where each tap row of this output row starts in `input`.
    let mut bases = [0usize; 7];
    for (ky, base) in bases.iter_mut().enumerate().take(rows.1).skip(rows.0) {
        let iy = oy * g.stride + ky - g.top;
        let stored = if g.ring > 0 { iy % g.ring } else { iy };
        *base = stored * g.w * c;
    }
    let full = |ox: usize| taps(ox, g.stride, g.left, g.k, g.w) == (0, g.k);
    let mut ox = 0;
    while ox < g.wo {
        // Four neighbours away from the left and right edges share their taps: their sums are four
        // independent chains per register, which keeps the FMA units busy (one output's taps alone
        // form a chain as long as the kernel, bound by the instruction's latency).
        if ox + 4 <= g.wo && full(ox) && full(ox + 3) {
            let mut c0 = 0;
            #[cfg(target_arch = "x86_64")]
            if FMA {
                // SAFETY: `FMA` is true only in `depthwise_row_avx2`, run on CPUs with AVX2 and FMA.
                c0 = unsafe { depthwise_interior_avx2(layer, input, g, &bases, rows, ox, row) };
            }
            while c0 + 16 <= c {
                block::<16, 4, FMA>(layer, input, g, &bases, rows, (0, g.k), ox, c0, row);
                c0 += 16;
            }
            while c0 + 8 <= c {
                block::<8, 4, FMA>(layer, input, g, &bases, rows, (0, g.k), ox, c0, row);
                c0 += 8;
            }
            while c0 < c {
                block::<1, 4, FMA>(layer, input, g, &bases, rows, (0, g.k), ox, c0, row);
                c0 += 1;
            }
            ox += 4;
        } else {
            let cols = taps(ox, g.stride, g.left, g.k, g.w);
            let mut c0 = 0;
            while c0 + 16 <= c {
                block::<16, 1, FMA>(layer, input, g, &bases, rows, cols, ox, c0, row);
                c0 += 16;
            }
            while c0 + 8 <= c {
                block::<8, 1, FMA>(layer, input, g, &bases, rows, cols, ox, c0, row);
                c0 += 8;
            }
            while c0 < c {
                block::<1, 1, FMA>(layer, input, g, &bases, rows, cols, ox, c0, row);
                c0 += 1;
            }
            ox += 1;
        }
    }
}

/// Depthwise outputs `ox..ox + 4` of one row, away from the left and right edges, by
/// [`avx2::depthwise`] tiles of 16 or 8 channels, for the kernels and strides these networks use (3×3
/// and 5×5, stride 1 or 2). Returns the channels done (`0` for another kernel; the last `C mod 8` are
/// left to the caller).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn depthwise_interior_avx2(
    layer: &Folded,
    input: &[f32],
    g: &Geometry,
    bases: &[usize; 7],
    (ky_lo, ky_hi): (usize, usize),
    ox: usize,
    row: &mut [f32],
) -> usize {
    let c = g.c;
    let x0 = ox * g.stride - g.left;
    assert!(
        x0 + 3 * g.stride + g.k <= g.w,
        "four outputs away from the edges"
    );
    assert!(row.len() >= (ox + 4) * c && layer.weight.len() >= g.k * g.k * c);
    let mut rows = [std::ptr::null(); 7];
    for ky in ky_lo..ky_hi {
        assert!(
            bases[ky] + g.w * c <= input.len(),
            "tap row {ky} inside the input"
        );
        rows[ky] = input[bases[ky]..].as_ptr();
    }
    let vectors = c / 8 * 8;
    let mut c0 = 0;
    while c0 < vectors {
        let wide = c0 + 16 <= vectors;
        let t = avx2::DepthwiseTile {
            // SAFETY (of the offsets): c0 < c, within every row checked above.
            rows: rows.map(|r| if r.is_null() { r } else { unsafe { r.add(c0) } }),
            ky_lo,
            ky_hi,
            x0,
            c,
            w: layer.weight[c0..].as_ptr(),
            bias: layer.bias[c0..].as_ptr(),
            out: row[ox * c + c0..].as_mut_ptr(),
        };
        // SAFETY: AVX2 and FMA are enabled here; the tap rows, the four outputs, the K × K taps' weights
        // and channels c0..c0 + 8 or 16 were checked above.
        unsafe {
            match (g.k, g.stride, wide) {
                (3, 1, true) => avx2::depthwise::<3, 1, 4, 2>(&t),
                (3, 1, false) => avx2::depthwise::<3, 1, 4, 1>(&t),
                (3, 2, true) => avx2::depthwise::<3, 2, 4, 2>(&t),
                (3, 2, false) => avx2::depthwise::<3, 2, 4, 1>(&t),
                (5, 1, true) => avx2::depthwise::<5, 1, 4, 2>(&t),
                (5, 1, false) => avx2::depthwise::<5, 1, 4, 1>(&t),
                (5, 2, true) => avx2::depthwise::<5, 2, 4, 2>(&t),
                (5, 2, false) => avx2::depthwise::<5, 2, 4, 1>(&t),
                _ => return 0,
            }
        }
        c0 += if wide { 16 } else { 8 };
    }
    vectors
}

/// Channels `c0..c0 + N` of the depthwise outputs `ox..ox + P` of one row (its tap rows start at
/// `bases`): bias, the taps `rows × cols`, ReLU6, accumulated in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block<const N: usize, const P: usize, const FMA: bool>(
    layer: &Folded,
    input: &[f32],
    g: &Geometry,
    bases: &[usize; 7],
    (ky_lo, ky_hi): (usize, usize),
    (kx_lo, kx_hi): (usize, usize),
    ox: usize,
    c0: usize,
    row: &mut [f32],
) {
    let c = g.c;
    let bias: [f32; N] = layer.bias[c0..c0 + N].try_into().expect("N values");
    let mut acc = [bias; P];
    for (ky, &base) in bases.iter().enumerate().take(ky_hi).skip(ky_lo) {
        let base = base + c0;
        for kx in kx_lo..kx_hi {
            let wt: &[f32; N] = layer.weight[(ky * g.k + kx) * c + c0..][..N]
                .try_into()
                .expect("N values");
            for (p, acc) in acc.iter_mut().enumerate() {
                let ix = (ox + p) * g.stride + kx - g.left;
                let at = base + ix * c;
                let x: &[f32; N] = input[at..at + N].try_into().expect("N values");
                for j in 0..N {
                    acc[j] = if FMA {
                        x[j].mul_add(wt[j], acc[j])
                    } else {
                        acc[j] + x[j] * wt[j]
                    };
                }
            }
        }
    }
    for (p, acc) in acc.iter().enumerate() {
        let at = (ox + p) * c + c0;
        for (o, a) in row[at..at + N].iter_mut().zip(acc) {
            *o = a.clamp(0.0, 6.0);
        }
    }
}

/// A whole block by bands of rows, for the early blocks whose expanded activations (up to 4.8 MB at
/// 112 × 112) would otherwise go out to L3 and back between the expansion and the depthwise convolution:
/// the expansion fills a ring of the last `k` rows (what one depthwise output row reads), each depthwise
/// output row is projected at once. Only for blocks whose 1×1 layers run [`pointwise_direct`] (a
/// general product per row would pack its weights again for every row). Reads `s.x`, writes `s.y`.
fn fused_block(b: &Block, expand: &Folded, h: usize, w: usize, s: &mut Scratch) -> (usize, usize) {
    let cin = expand.cin;
    let x = &s.x[..h * w * cin];
    let residual = b.residual.then_some(x);
    let rows = Rows {
        ring: &mut s.hidden,
        depthwise: &mut s.spatial,
        out: &mut s.y,
    };
    rows.run(b, h, w, residual, |iy, slot| {
        pointwise_rows(expand, &x[iy * w * cin..(iy + 1) * w * cin], slot, false)
    })
}

/// The stem and a first block without expansion (MobileNetV2's and EfficientNet-Lite0's) by bands of
/// rows, as [`fused_block`]: the stem's rows fill the ring the depthwise convolution reads, so its
/// 112 × 112 × 32 output never leaves the L1 and L2 caches. Writes `s.y`.
fn fused_stem(
    stem: &Folded,
    b: &Block,
    chw: &[f32],
    height: usize,
    width: usize,
    s: &mut Scratch,
) -> (usize, usize) {
    let (g, ho) = stem_geometry(stem, height, width);
    channels_last(chw, stem.cin, &mut s.image);
    let hwc = &s.image[..height * width * stem.cin];
    let patches = &mut s.patches;
    let rows = Rows {
        ring: &mut s.hidden,
        depthwise: &mut s.spatial,
        out: &mut s.y,
    };
    rows.run(b, ho, g.wo, None, |iy, slot| {
        stem_row(stem, hwc, &g, iy, patches, slot)
    })
}

/// The buffers of a block run by rows: the ring of its expanded input rows, one depthwise output row,
/// the block's output.
struct Rows<'a> {
    ring: &'a mut Vec<f32>,
    depthwise: &'a mut Vec<f32>,
    out: &'a mut Vec<f32>,
}

impl Rows<'_> {
    /// Runs block `b` on an `h × w` input whose expanded row `iy` `fill(iy, slot)` writes into a ring
    /// slot; `residual` is the block's input when it is added to the output. Returns the output size.
    fn run(
        self,
        b: &Block,
        h: usize,
        w: usize,
        residual: Option<&[f32]>,
        mut fill: impl FnMut(usize, &mut [f32]),
    ) -> (usize, usize) {
        let dw = &b.depthwise;
        let (k, stride, hidden, cout) = (dw.k, dw.stride, dw.cout, b.project.cout);
        let [(top, bottom), (left, right)] =
            padding_pairs(&dw.padding, [k, k], [stride, stride], [h, w]);
        let ho = out_size(h, k, stride, (top, bottom));
        let wo = out_size(w, k, stride, (left, right));
        let ring = sized(self.ring, k * w * hidden);
        let dw_row = sized(self.depthwise, wo * hidden);
        let y = sized(self.out, ho * wo * cout);
        if let Some(x) = residual {
            y.copy_from_slice(&x[..ho * wo * cout]);
        }
        let g = Geometry {
            h,
            w,
            c: hidden,
            k,
            stride,
            top,
            left,
            wo,
            ring: k,
        };
        let mut next = 0;
        for oy in 0..ho {
            let (_, ky_hi) = taps(oy, stride, top, k, h);
            // Input rows up to this output's last tap row, each expanded once; the ring keeps the k rows
            // an output row reads (a row overwritten is older than any still needed).
            let last = oy * stride + ky_hi - top;
            while next < last {
                let slot = next % k;
                fill(next, &mut ring[slot * w * hidden..(slot + 1) * w * hidden]);
                next += 1;
            }
            depthwise_row(dw, ring, &g, oy, dw_row);
            pointwise_rows(
                &b.project,
                dw_row,
                &mut y[oy * wo * cout..(oy + 1) * wo * cout],
                residual.is_some(),
            );
        }
        (ho, wo)
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;
    use crate::model::inverted_residual::{EFFICIENTNET_LITE0, MOBILENET_V2, NetSpec};

    /// Smooth, image-like values in about [-2, 2] from a fixed formula of the position.
    fn image(n: usize, h: usize, w: usize) -> Vec<f32> {
        (0..n * 3 * h * w)
            .map(|i| {
                let (img, rest) = (i / (3 * h * w), i % (3 * h * w));
                let (c, y, x) = (rest / (h * w), (rest / w) % h, rest % w);
                let t = (x as f32 * 0.07 + img as f32).sin() * (y as f32 * 0.05 + c as f32).cos();
                2.0 * t + 0.3 * ((i * 7919 % 1000) as f32 / 1000.0 - 0.5)
            })
            .collect()
    }

    /// A network whose BatchNorm statistics are not the identity, so that folding is tested too.
    fn perturbed(spec: &NetSpec, device: &Device) -> InvertedResidualNet {
        let net = InvertedResidualNet::new(spec, device);
        let map = |bn: &mut burn::nn::BatchNorm, seed: usize| {
            let c = bn.gamma.val().dims()[0];
            let v = |f: &dyn Fn(usize) -> f32| {
                Tensor::<1>::from_data(TensorData::new((0..c).map(f).collect(), [c]), device)
            };
            bn.running_mean =
                burn::module::RunningState::new(v(&|i| 0.1 * ((i + seed) as f32 * 0.37).sin()));
            bn.running_var = burn::module::RunningState::new(v(&|i| {
                0.5 + 0.4 * ((i + seed) as f32 * 0.11).cos().abs()
            }));
            bn.beta =
                burn::module::Param::from_tensor(v(&|i| 0.05 * ((i * 3 + seed) as f32).sin()));
        };
        let mut net = net;
        let mut seed = 0;
        let mut each = |l: &mut ConvBn| {
            map(&mut l.bn, seed);
            seed += 1;
        };
        each(&mut net.stem);
        for b in &mut net.blocks {
            if let Some(e) = &mut b.expand {
                each(e);
            }
            each(&mut b.depthwise);
            each(&mut b.project);
        }
        each(&mut net.head);
        net
    }

    fn compare(net: &InvertedResidualNet, n: usize, h: usize, w: usize) {
        let device = Device::flex();
        let pixels = image(n, h, w);
        let reference: Vec<f32> = net
            .features(Tensor::from_data(
                TensorData::new(pixels.clone(), [n, 3, h, w]),
                &device,
            ))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let cpu = CpuNet::new(net);
        let got = cpu.features(&pixels, n, h, w);
        assert_eq!(got.len(), reference.len());
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 1e-3, "features are not all zero ({scale})");
        let worst = got
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-4 * scale,
            "largest difference {worst} against features up to {scale}"
        );
        // Photo by photo on every core gives the same values as the batch.
        let alone = cpu.features(&pixels[..3 * h * w], 1, h, w);
        let worst_alone = alone
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst_alone <= 1e-5 * scale, "{worst_alone}");
    }

    #[test]
    fn mobilenet_v2_matches_burn() {
        let device = Device::flex();
        compare(&perturbed(&MOBILENET_V2, &device), 3, 64, 48);
    }

    #[test]
    fn efficientnet_lite0_matches_burn_with_same_padding() {
        let device = Device::flex();
        // Odd sizes: TensorFlow's "SAME" puts the extra pixel at the bottom and right.
        compare(&perturbed(&EFFICIENTNET_LITE0, &device), 2, 57, 66);
    }

    #[test]
    fn pretrained_weights_match_burn_at_full_size() {
        let device = Device::flex();
        let crate::model::Backbone::MobilenetV2(net) = crate::model::BackboneArch::MobilenetV2
            .pretrained(&device)
            .unwrap()
        else {
            unreachable!()
        };
        compare(&net, 2, 224, 224);
    }

    #[test]
    fn profile_counts_every_photo() {
        let device = Device::flex();
        let net = CpuNet::new(&InvertedResidualNet::new(&MOBILENET_V2, &device));
        let pixels = image(2, 32, 32);
        let t = net.profile(&pixels, 2, 32, 32);
        assert_eq!(t.photos, 2);
        assert!(t.rows().iter().all(|(_, d)| *d > Duration::ZERO));
    }
}
