//! Depthwise convolutions whose weight gradient is summed tap by tap.
//!
//! Why this exists: Burn 0.22.1's CubeCL backends (wgpu, CUDA) compute a depthwise convolution's weight
//! gradient as *one* grouped convolution whose filter is the output gradient
//! (`burn-cubecl/src/kernel/conv/backward_weight/fallback.rs`, `conv_weight_grad_depthwise`). At
//! MobileNetV2's first block that filter is 112×112 over 128 photos, and the result has only
//! channels × 3 × 3 = 288 values, each a sum of 1.6 million products: almost no parallelism for a GPU.
//! The plain Burn prototype's training step was 33× its forward pass (418 ms against 12.8 ms for half
//! the photos), where PyTorch's is about 3×.
//!
//! Here the gradient of tap (i, j) is `Σ_{n,y,x} g[n,c,y,x] · x_pad[n,c,i+s·y,j+s·x]`: a product and a
//! reduction over the whole tensor per tap, which every backend spreads over all its cores. The trick
//! that routes it through autodiff without a custom backward: the output is Burn's convolution with the
//! weight detached (its value and its input gradient, a transposed convolution that is parallel over
//! the input) plus `Σ_taps (w − stop_grad(w))[tap] · shifted x` with x detached, which is zero in value
//! and carries exactly that weight gradient.
//!
//! [`DepthwiseGrad::Burn`] keeps Burn's own gradient; `hashlens bench step` times both.

use std::cell::Cell;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Device, Slice, Tensor};

/// How the weight gradient of a depthwise convolution is computed in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepthwiseGrad {
    /// [`Taps`](Self::Taps) on CubeCL devices (GPUs), [`Burn`](Self::Burn) on the `flex` CPU backend,
    /// whose own depthwise gradient is fine (there the taps' extra forward work made a step 15 % slower:
    /// `hashlens bench step --device cpu`).
    Auto,
    /// A product and a reduction per kernel tap.
    Taps,
    /// Burn's `conv2d` backward.
    Burn,
}

impl DepthwiseGrad {
    pub const ALL: [DepthwiseGrad; 3] = [
        DepthwiseGrad::Auto,
        DepthwiseGrad::Taps,
        DepthwiseGrad::Burn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DepthwiseGrad::Auto => "auto",
            DepthwiseGrad::Taps => "taps",
            DepthwiseGrad::Burn => "burn",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }

    /// `Taps` or `Burn` for tensors on `device`.
    pub fn resolve(self, device: &Device) -> Self {
        match self {
            DepthwiseGrad::Auto if device.clone().inner() == Device::flex() => DepthwiseGrad::Burn,
            DepthwiseGrad::Auto => DepthwiseGrad::Taps,
            chosen => chosen,
        }
    }
}

thread_local! {
    static CHOSEN: Cell<DepthwiseGrad> = const { Cell::new(DepthwiseGrad::Auto) };
}

/// Runs `f` with depthwise weight gradients computed by `mode` on this thread (networks are built and
/// differentiated on the thread that calls them), then restores the previous choice. For comparisons
/// (`hashlens bench step`) and tests; training otherwise uses [`DepthwiseGrad::Auto`].
pub fn with_depthwise_grad<T>(mode: DepthwiseGrad, f: impl FnOnce() -> T) -> T {
    let before = CHOSEN.with(|c| c.replace(mode));
    let out = f();
    CHOSEN.with(|c| c.set(before));
    out
}

/// This thread's choice.
pub fn depthwise_grad() -> DepthwiseGrad {
    CHOSEN.with(Cell::get)
}

/// `conv.forward(x)`, with the tap-wise weight gradient when `conv` is depthwise (one filter per
/// channel, no bias, no dilation), its weight is being trained and [`depthwise_grad`] says so.
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    forward_with(conv, x, depthwise_grad())
}

/// [`forward`] with the gradient's method given.
pub fn forward_with(conv: &Conv2d, x: Tensor<4>, mode: DepthwiseGrad) -> Tensor<4> {
    let [_, channels, h, w] = x.dims();
    if !takes_taps(conv, channels, mode.resolve(&x.device())) {
        return conv.forward(x);
    }
    let weight = conv.weight.val();
    let [_, _, kh, kw] = weight.dims();
    let [(top, bottom), (left, right)] =
        padding_pairs(&conv.padding, conv.kernel_size, conv.stride, [h, w]);
    let options = ConvOptions::new_with_padding(
        conv.stride,
        [(top, bottom), (left, right)],
        [1, 1],
        channels,
    );
    let y = conv2d(x.clone(), weight.clone().detach(), None, options);
    let [_, _, ho, wo] = y.dims();
    let [sy, sx] = conv.stride;
    let padded = x
        .detach()
        .pad((left, right, top, bottom), PadMode::Constant(0.0));
    // Zero, with the weight's gradient attached.
    let zero = (weight.clone() - weight.detach()).reshape([channels, kh * kw]);
    let mut carrier: Option<Tensor<4>> = None;
    for i in 0..kh {
        for j in 0..kw {
            let shifted = padded.clone().slice([
                Slice::full(),
                Slice::full(),
                Slice::with_step(
                    i as isize,
                    Some((i + sy * (ho - 1) + 1) as isize),
                    sy as isize,
                ),
                Slice::with_step(
                    j as isize,
                    Some((j + sx * (wo - 1) + 1) as isize),
                    sx as isize,
                ),
            ]);
            let tap = i * kw + j;
            let w_tap = zero
                .clone()
                .slice([0..channels, tap..tap + 1])
                .reshape([1, channels, 1, 1]);
            let term = shifted * w_tap;
            carrier = Some(match carrier {
                Some(c) => c + term,
                None => term,
            });
        }
    }
    match carrier {
        Some(c) => y + c,
        None => y,
    }
}

/// Whether [`forward_with`] sums the weight gradient by taps for this convolution.
pub fn takes_taps(conv: &Conv2d, channels: usize, mode: DepthwiseGrad) -> bool {
    let [cout, per_group, _, _] = conv.weight.shape().dims();
    mode == DepthwiseGrad::Taps
        && conv.groups == channels
        && cout == channels
        && per_group == 1
        && conv.bias.is_none()
        && conv.dilation == [1, 1]
        && conv.weight.val().is_require_grad()
}

/// `(before, after)` padding of height and width, as `Conv2d::forward` computes it (Burn keeps its own
/// function private): TensorFlow's "SAME" puts the odd pixel after.
/// `[(top, bottom), (left, right)]` padding of a convolution over a `size` input, as Burn's `Conv2d`
/// computes it (TensorFlow's "SAME" puts the odd pixel at the bottom and right).
pub(super) fn padding_pairs(
    padding: &PaddingConfig2d,
    kernel_size: [usize; 2],
    stride: [usize; 2],
    size: [usize; 2],
) -> [(usize, usize); 2] {
    match *padding {
        PaddingConfig2d::Valid => [(0, 0); 2],
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Same => std::array::from_fn(|d| {
            let out = size[d].div_ceil(stride[d]);
            let total = ((out.max(1) - 1) * stride[d] + kernel_size[d]).saturating_sub(size[d]);
            (total / 2, total - total / 2)
        }),
    }
}

#[cfg(test)]
mod tests {
    use burn::module::{Module, Param};
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;

    fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// Values in [-1, 1) from a fixed hash of the position (tests run in parallel and Burn's random
    /// generator is shared, so seeded draws would interleave).
    fn noise<const D: usize>(shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n as u64)
            .map(|i| {
                let h = (i ^ (seed << 32))
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(29);
                (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect();
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    /// The value and both gradients of a depthwise convolution, with the chosen weight gradient.
    fn run(
        mode: DepthwiseGrad,
        stride: usize,
        kernel: usize,
        padding: PaddingConfig2d,
        shape: [usize; 4],
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let device = Device::flex().autodiff();
        let c = shape[1];
        let mut conv = Conv2dConfig::new([c, c], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(padding)
            .with_groups(c)
            .with_bias(false)
            .init(&device);
        conv.weight = Param::from_tensor(noise([c, 1, kernel, kernel], 1, &device));
        assert_eq!(takes_taps(&conv, c, mode), mode == DepthwiseGrad::Taps);
        let x = noise(shape, 2, &device).require_grad();
        let y = forward_with(&conv, x.clone(), mode);
        // A non-uniform upstream gradient: the loss weights every output differently.
        let weights = noise(y.dims(), 3, &device);
        let loss = (y.clone() * weights).sum();
        let grads = loss.backward();
        let gx = floats(x.grad(&grads).unwrap());
        let gw = floats(conv.weight.val().grad(&grads).unwrap());
        assert!(
            !takes_taps(&conv.valid(), c, DepthwiseGrad::Taps),
            "inference takes Burn's path"
        );
        assert_eq!(
            DepthwiseGrad::Auto.resolve(&device),
            DepthwiseGrad::Burn,
            "flex: Burn's"
        );
        (floats(y), gx, gw)
    }

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (k, (p, q)) in a.iter().zip(b).enumerate() {
            assert!(
                (p - q).abs() <= 1e-4 * (1.0 + q.abs()),
                "{what}[{k}]: {p} vs {q}"
            );
        }
    }

    /// Taps and Burn's own backward agree on the output and both gradients, for the strides, kernel
    /// sizes and paddings the backbones use (TensorFlow "SAME" puts the odd pixel bottom/right).
    #[test]
    fn tap_gradient_equals_burns() {
        for (stride, kernel, padding, shape) in [
            (1, 3, PaddingConfig2d::Explicit(1, 1, 1, 1), [2, 3, 7, 6]),
            (2, 3, PaddingConfig2d::Explicit(1, 1, 1, 1), [2, 4, 9, 8]),
            (2, 5, PaddingConfig2d::Same, [3, 2, 8, 7]),
            (1, 5, PaddingConfig2d::Same, [1, 2, 6, 6]),
        ] {
            let taps = run(DepthwiseGrad::Taps, stride, kernel, padding.clone(), shape);
            let burn = run(DepthwiseGrad::Burn, stride, kernel, padding, shape);
            assert_close(&taps.0, &burn.0, "output");
            assert_close(&taps.1, &burn.1, "input gradient");
            assert_close(&taps.2, &burn.2, "weight gradient");
        }
    }

    /// One channel, one photo, by hand: a 3×3 input, a 2×2 kernel, stride 1, no padding. The weight
    /// gradient of a sum-of-outputs loss is the sum of each tap's 2×2 window of the input.
    #[test]
    fn weight_gradient_by_hand() {
        let device = Device::flex().autodiff();
        let mut conv = Conv2dConfig::new([1, 1], [2, 2])
            .with_groups(1)
            .with_bias(false)
            .init(&device);
        conv.weight = Param::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]),
            &device,
        );
        let x = Tensor::<4>::from_data(
            TensorData::new((1..=9).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 3, 3]),
            &device,
        );
        assert!(takes_taps(&conv, 1, DepthwiseGrad::Taps));
        let y = forward_with(&conv, x, DepthwiseGrad::Taps);
        // y[0,0] = 1·1 + 2·2 + 3·4 + 4·5 = 37, and so on.
        assert_eq!(floats(y.clone()), vec![37.0, 47.0, 67.0, 77.0]);
        let grads = y.sum().backward();
        let gw = floats(conv.weight.val().grad(&grads).unwrap());
        // Tap (0,0) sees 1+2+4+5, tap (0,1) 2+3+5+6, tap (1,0) 4+5+7+8, tap (1,1) 5+6+8+9.
        assert_eq!(gw, vec![12.0, 16.0, 24.0, 28.0]);
    }

    /// Through the whole pretrained MobileNetV2 (17 depthwise layers between BatchNorms, strides 1
    /// and 2), each depthwise layer's weight gradient is the same both ways.
    #[test]
    fn whole_network_gradients_agree() {
        use crate::model::{Backbone, BackboneArch};
        let device = Device::flex().autodiff();
        let Backbone::MobilenetV2(net) = BackboneArch::MobilenetV2.pretrained(&device).unwrap()
        else {
            unreachable!()
        };
        let x = noise([2, 3, 64, 64], 4, &device);
        let mix = noise([2, 1280], 5, &device);
        let grads = |mode| {
            with_depthwise_grad(mode, || {
                let g = (net.features(x.clone()) * mix.clone()).sum().backward();
                net.blocks
                    .iter()
                    .map(|b| floats(b.depthwise.conv.weight.val().grad(&g).unwrap()))
                    .collect::<Vec<_>>()
            })
        };
        let (taps, burn) = (grads(DepthwiseGrad::Taps), grads(DepthwiseGrad::Burn));
        assert_eq!(taps.len(), 17);
        for (layer, (t, b)) in taps.iter().zip(&burn).enumerate() {
            let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>().sqrt();
            let diff: Vec<f32> = t.iter().zip(b).map(|(p, q)| p - q).collect();
            let rel = norm(&diff) / norm(b);
            eprintln!(
                "layer {layer}: |g| {:.3e}, relative difference {rel:.2e}",
                norm(b)
            );
            assert!(rel < 1e-4, "layer {layer}: relative difference {rel}");
        }
    }
}
