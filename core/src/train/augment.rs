//! DHD's two augmentation groups, batched on the training device (../shared/spec/methods.md §2.3).
//!
//! Training draws two views of every batch. Done per photo on the CPU this would starve a GPU, so the
//! random *parameters* are drawn on the CPU (cheap, seeded, reproducible) and the *pixels* are
//! transformed on the device as whole-batch tensor ops: one `grid_sample` does the random resized crop,
//! the horizontal flip and the resize to 256 at once; colour jitter, grayscale and blur are per-photo
//! blends selected by 0/1 masks. Semantics follow kornia 0.5.7 as DHD ran it: the crop's probability is
//! per *batch*, the others per photo; brightness is additive (±0.4); contrast multiplies (0.2–1.8);
//! saturation scales HSV's S (0.2–1.8); hue rotates by up to ±0.2 turn; the order of the four jitter
//! operations is one permutation per batch; the blur is a fixed anisotropic Gaussian (σx 0.1, σy 2.0,
//! 25 taps, reflected borders). Then the 224 centre crop and the backbone's normalisation.
//!
//! The CPU version for single photos (the app's flip test) is [`crate::photo::augment`]; both take
//! their probabilities from [`AugmentGroup`].

use burn::tensor::module::conv2d;
use burn::tensor::ops::{
    ConvOptions, GridSampleOptions, GridSamplePaddingMode, InterpolateMode, PadMode,
};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::photo::Preprocess;
pub use crate::photo::augment::AugmentGroup;

/// σ of the blur along the columns (kornia 0.5.7 uses the sigma tuple (0.1, 2.0) as fixed σx, σy).
const BLUR_SIGMA: f32 = 2.0;

/// Taps of the blur kernel for views of `side` pixels: kornia's `int(0.1 · side)`, made odd (25 at 256).
fn blur_taps(side: usize) -> usize {
    (side / 10) | 1
}

/// The random choices for one view of a batch, drawn on the CPU.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewParams {
    /// Per photo: the crop box `(x0, y0, w, h)` as fractions of the image (whole image when not cropped).
    pub boxes: Vec<[f32; 4]>,
    pub flip: Vec<bool>,
    /// Per photo: `Some([brightness, contrast, saturation, hue])` when jittered.
    pub jitter: Vec<Option<[f32; 4]>>,
    /// The jitter order for the whole batch (0 brightness, 1 contrast, 2 saturation, 3 hue).
    pub jitter_order: [usize; 4],
    pub grayscale: Vec<bool>,
    pub blur: Vec<bool>,
}

impl ViewParams {
    /// Draws the parameters of one view of `batch` photos.
    pub fn draw(group: &AugmentGroup, batch: usize, rng: &mut impl Rng) -> Self {
        // kornia 0.5.7 passes RandomResizedCrop's p as a batch probability: all photos or none.
        let crop_batch = rng.random_bool(group.crop);
        let boxes = (0..batch)
            .map(|_| {
                if crop_batch {
                    crop_box(rng)
                } else {
                    [0.0, 0.0, 1.0, 1.0]
                }
            })
            .collect();
        let flip = (0..batch).map(|_| rng.random_bool(group.flip)).collect();
        let mut jitter_order = [0, 1, 2, 3];
        jitter_order.shuffle(rng);
        let jitter = (0..batch)
            .map(|_| {
                let factors = [
                    rng.random_range(-0.4f32..=0.4),
                    rng.random_range(0.2f32..=1.8),
                    rng.random_range(0.2f32..=1.8),
                    rng.random_range(-0.2f32..=0.2),
                ];
                rng.random_bool(group.jitter).then_some(factors)
            })
            .collect();
        let grayscale = (0..batch)
            .map(|_| rng.random_bool(group.grayscale))
            .collect();
        let blur = (0..batch).map(|_| rng.random_bool(group.blur)).collect();
        Self {
            boxes,
            flip,
            jitter,
            jitter_order,
            grayscale,
            blur,
        }
    }

    /// No augmentation at all: the evaluation view (resize to 256, centre crop 224).
    pub fn identity(batch: usize) -> Self {
        Self {
            boxes: vec![[0.0, 0.0, 1.0, 1.0]; batch],
            flip: vec![false; batch],
            jitter: vec![None; batch],
            jitter_order: [0, 1, 2, 3],
            grayscale: vec![false; batch],
            blur: vec![false; batch],
        }
    }
}

/// 8–100 % of the area, aspect ratio log-uniform in [3/4, 4/3]; the whole image when ten draws do not
/// fit (torchvision's and kornia's fallback).
fn crop_box(rng: &mut impl Rng) -> [f32; 4] {
    for _ in 0..10 {
        let area = rng.random_range(0.08f32..=1.0);
        let ratio = rng.random_range((0.75f32).ln()..=(4.0f32 / 3.0).ln()).exp();
        let (w, h) = ((area * ratio).sqrt(), (area / ratio).sqrt());
        if w <= 1.0 && h <= 1.0 {
            return [
                rng.random_range(0.0..=1.0 - w),
                rng.random_range(0.0..=1.0 - h),
                w,
                h,
            ];
        }
    }
    [0.0, 0.0, 1.0, 1.0]
}

/// Applies one view's parameters to `images` (`[B, 3, s, s]`, values in [0, 1], any square side) and
/// returns the network input: the view is made at `pre.resize` pixels (DHD: 256), then centre-cropped
/// to `[B, 3, pre.crop, pre.crop]` and normalised as `pre` says.
pub fn augment(images: Tensor<4>, p: &ViewParams, pre: &Preprocess) -> Tensor<4> {
    let device = images.device();
    let b = p.boxes.len();
    let side = pre.resize as usize;
    let mut x = crop_flip_resize(images, p, side, &device);
    if p.jitter.iter().any(Option::is_some) {
        x = colour_jitter(x, p, &device);
    }
    if p.grayscale.iter().any(|&g| g) {
        let mask = per_photo(p.grayscale.iter().map(|&g| g as u8 as f32), b, &device);
        x = blend(x.clone(), gray(x), mask);
    }
    if p.blur.iter().any(|&g| g) {
        let mask = per_photo(p.blur.iter().map(|&g| g as u8 as f32), b, &device);
        x = blend(x.clone(), vertical_blur(x), mask);
    }
    let (crop, off) = (pre.crop as usize, (side - pre.crop as usize) / 2);
    let x = x.slice([0..b, 0..3, off..off + crop, off..off + crop]);
    let mean = Tensor::<1>::from_data(TensorData::new(pre.mean.to_vec(), [3]), &device)
        .reshape([1, 3, 1, 1]);
    let std = Tensor::<1>::from_data(TensorData::new(pre.std.to_vec(), [3]), &device)
        .reshape([1, 3, 1, 1]);
    (x - mean) / std
}

/// The first view of an [`augment`]ed batch as RGB pixels again (undoing the normalisation): what the
/// network is shown, for people to look at.
pub fn first_view_rgb(views: &Tensor<4>, pre: &Preprocess) -> (usize, Vec<u8>) {
    let [_, _, h, w] = views.dims();
    let values: Vec<f32> = views
        .clone()
        .slice([0..1, 0..3, 0..h, 0..w])
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 pixels");
    let plane = h * w;
    let mut rgb = Vec::with_capacity(3 * plane);
    for p in 0..plane {
        for c in 0..3 {
            let v = values[c * plane + p] * pre.std[c] + pre.mean[c];
            rgb.push((v * 255.0).round().clamp(0.0, 255.0) as u8);
        }
    }
    (w, rgb)
}

/// One `[B, 1, 1, 1]` factor per photo.
fn per_photo(values: impl Iterator<Item = f32>, b: usize, device: &Device) -> Tensor<4> {
    Tensor::<1>::from_data(TensorData::new(values.collect::<Vec<_>>(), [b]), device)
        .reshape([b, 1, 1, 1])
}

/// `a` where `mask` is 0, `b` where it is 1.
fn blend(a: Tensor<4>, b: Tensor<4>, mask: Tensor<4>) -> Tensor<4> {
    a.clone() + (b - a) * mask
}

/// The crop box (flipped when asked) resampled bilinearly to `side`², in one `grid_sample`.
fn crop_flip_resize(images: Tensor<4>, p: &ViewParams, side: usize, device: &Device) -> Tensor<4> {
    let (b, o) = (p.boxes.len(), side);
    // Output pixel j's centre in [-1, 1] (align_corners = false): u_j = (2j + 1)/o − 1. A box
    // [x0, x0 + w] maps it to the input coordinate (2·x0 − 1 + w) + w·u (mirrored: − w·u).
    let u: Vec<f32> = (0..o)
        .map(|j| (2 * j + 1) as f32 / o as f32 - 1.0)
        .collect();
    let u = Tensor::<1>::from_data(TensorData::new(u, [o]), device);
    let coef = |f: &dyn Fn(usize) -> f32| {
        Tensor::<1>::from_data(
            TensorData::new((0..b).map(f).collect::<Vec<_>>(), [b]),
            device,
        )
        .reshape([b, 1, 1])
    };
    let ax = coef(&|i| 2.0 * p.boxes[i][0] - 1.0 + p.boxes[i][2]);
    let bx = coef(&|i| {
        if p.flip[i] {
            -p.boxes[i][2]
        } else {
            p.boxes[i][2]
        }
    });
    let ay = coef(&|i| 2.0 * p.boxes[i][1] - 1.0 + p.boxes[i][3]);
    let by = coef(&|i| p.boxes[i][3]);
    let gx = (ax + bx * u.clone().reshape([1, 1, o])).expand([b, o, o]);
    let gy = (ay + by * u.reshape([1, o, 1])).expand([b, o, o]);
    let grid = Tensor::stack::<4>(vec![gx, gy], 3);
    let options = GridSampleOptions::new(InterpolateMode::Bilinear)
        .with_padding_mode(GridSamplePaddingMode::Border);
    images.grid_sample_2d(grid, options)
}

/// ITU-R 601 luma, repeated on the three channels.
fn gray(x: Tensor<4>) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    let weights = Tensor::<1>::from_data(
        TensorData::new(vec![0.299f32, 0.587, 0.114], [3]),
        &x.device(),
    );
    (x * weights.reshape([1, 3, 1, 1]))
        .sum_dim(1)
        .expand([b, 3, h, w])
}

/// Brightness, contrast, saturation and hue in the batch's order; photos not jittered get identity
/// factors. Each step clamps to [0, 1], as kornia does.
fn colour_jitter(mut x: Tensor<4>, p: &ViewParams, device: &Device) -> Tensor<4> {
    let b = p.boxes.len();
    let factor = |k: usize, identity: f32| {
        per_photo(
            p.jitter.iter().map(|j| j.map_or(identity, |f| f[k])),
            b,
            device,
        )
    };
    for op in p.jitter_order {
        x = match op {
            0 => x + factor(0, 0.0),
            1 => x * factor(1, 1.0),
            2 => {
                let (h, s, v) = rgb_to_hsv(x);
                hsv_to_rgb(h, (s * factor(2, 1.0)).clamp(0.0, 1.0), v)
            }
            _ => {
                let (h, s, v) = rgb_to_hsv(x);
                // Hue in sixths of a turn; rotate by 6·turns and wrap into [0, 6).
                let h = h + factor(3, 0.0) * 6.0;
                let h = h.clone() - (h / 6.0).floor() * 6.0;
                hsv_to_rgb(h, s, v)
            }
        }
        .clamp(0.0, 1.0);
    }
    x
}

/// Hue in [0, 6) (sixths of a turn), saturation and value, each `[B, 1, H, W]`.
fn rgb_to_hsv(x: Tensor<4>) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let [b, _, h, w] = x.dims();
    let ch = |c: usize| x.clone().slice([0..b, c..c + 1, 0..h, 0..w]);
    let (r, g, bl) = (ch(0), ch(1), ch(2));
    let max = x.clone().max_dim(1);
    let min = x.min_dim(1);
    let delta = max.clone() - min;
    let safe = delta.clone().clamp_min(1e-8);
    let h_r = (g.clone() - bl.clone()) / safe.clone();
    let h_r = h_r.clone() - (h_r / 6.0).floor() * 6.0;
    let h_g = (bl - r.clone()) / safe.clone() + 2.0;
    let h_b = (r.clone() - g.clone()) / safe + 4.0;
    let is_r = max.clone().equal(r);
    let is_g = max.clone().equal(g).bool_and(is_r.clone().bool_not());
    let hue = h_b
        .mask_where(is_g, h_g)
        .mask_where(is_r, h_r)
        .mask_fill(delta.clone().lower_equal_elem(1e-8), 0.0);
    let sat =
        (delta / max.clone().clamp_min(1e-8)).mask_fill(max.clone().lower_equal_elem(0.0), 0.0);
    (hue, sat, max)
}

/// The inverse of [`rgb_to_hsv`]: channel n of (5, 3, 1) is `v − v·s·clamp(min(k, 4 − k), 0, 1)` with
/// `k = (n + h) mod 6`.
fn hsv_to_rgb(h: Tensor<4>, s: Tensor<4>, v: Tensor<4>) -> Tensor<4> {
    let channel = |n: f32| {
        let k = h.clone() + n;
        let k = k.clone() - (k / 6.0).floor() * 6.0;
        let m = k.clone().min_pair(k.neg() + 4.0).clamp(0.0, 1.0);
        v.clone() - v.clone() * s.clone() * m
    };
    Tensor::cat(vec![channel(5.0), channel(3.0), channel(1.0)], 1)
}

/// Gaussian blur along the columns (σ 2.0, 25 taps at 256 pixels); σx = 0.1 leaves the rows as they
/// are. Borders reflect.
fn vertical_blur(x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let taps_n = blur_taps(x.dims()[2]);
    let radius = taps_n / 2;
    let taps: Vec<f32> = (0..taps_n)
        .map(|i| {
            let d = i as f32 - radius as f32;
            (-d * d / (2.0 * BLUR_SIGMA * BLUR_SIGMA)).exp()
        })
        .collect();
    let total: f32 = taps.iter().sum();
    let kernel: Vec<f32> = taps
        .iter()
        .cycle()
        .take(3 * taps_n)
        .map(|t| t / total)
        .collect();
    let weight = Tensor::<4>::from_data(TensorData::new(kernel, [3, 1, taps_n, 1]), &device);
    let padded = x.pad((0, 0, radius, radius), PadMode::Reflect);
    conv2d(
        padded,
        weight,
        None,
        ConvOptions::new([1, 1], [0, 0], [1, 1], 3),
    )
}

#[cfg(test)]
mod tests;
