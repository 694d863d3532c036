//! DHD's two augmentation groups on single photos (CPU): random resized crop, horizontal flip, colour
//! jitter, grayscale and Gaussian blur. The student group applies them with DHD's probabilities; the
//! teacher group with those probabilities scaled by s_T (../shared/spec/methods.md §2.3).
//!
//! This is the version the app's "flip test" uses to show which bits a view flips; training will do the
//! same operations batched on the device. Magnitudes follow kornia 0.5.7 as DHD ran it: additive
//! brightness ±0.4, contrast and (HSV) saturation factors in [0.2, 1.8], hue rotated by up to ±0.2 of a turn,
//! and a blur that is a fixed anisotropic Gaussian (σx = 0.1, σy = 2.0 at 256 pixels; scaled with the
//! photo here), not a random one.

use image::{Rgb, RgbImage, imageops};
use rand::Rng;
use rand::seq::SliceRandom;

/// Probabilities of each operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AugmentGroup {
    pub crop: f64,
    pub flip: f64,
    pub jitter: f64,
    pub grayscale: f64,
    pub blur: f64,
}

impl AugmentGroup {
    /// The strongly augmented (student) view.
    pub fn student() -> Self {
        Self {
            crop: 1.0,
            flip: 0.5,
            jitter: 0.8,
            grayscale: 0.2,
            blur: 0.5,
        }
    }

    /// The weakly augmented (teacher) view: the student's probabilities times `s_t` (0.5 by default, 0.2
    /// for AlexNet-like backbones).
    pub fn teacher(s_t: f64) -> Self {
        let s = Self::student();
        Self {
            crop: s.crop * s_t,
            flip: s.flip * s_t,
            jitter: s.jitter * s_t,
            grayscale: s.grayscale * s_t,
            blur: s.blur * s_t,
        }
    }

    /// One augmented view of `img` (same size), and the names of the operations applied, in order.
    pub fn apply(&self, img: &RgbImage, rng: &mut impl Rng) -> (RgbImage, Vec<&'static str>) {
        let mut out = img.clone();
        let mut applied = Vec::new();
        if rng.random_bool(self.crop) {
            out = resized_crop(&out, rng);
            applied.push("crop");
        }
        if rng.random_bool(self.flip) {
            imageops::flip_horizontal_in_place(&mut out);
            applied.push("flip");
        }
        if rng.random_bool(self.jitter) {
            colour_jitter(&mut out, rng);
            applied.push("jitter");
        }
        if rng.random_bool(self.grayscale) {
            grayscale(&mut out);
            applied.push("grayscale");
        }
        if rng.random_bool(self.blur) {
            out = vertical_blur(&out, 2.0 * out.height() as f32 / 256.0);
            applied.push("blur");
        }
        (out, applied)
    }
}

/// A crop of 8–100 % of the area with aspect ratio in [3/4, 4/3] (log-uniform), resized back to the
/// photo's size; the whole photo when ten draws do not fit (torchvision's fallback).
fn resized_crop(img: &RgbImage, rng: &mut impl Rng) -> RgbImage {
    let (w, h) = img.dimensions();
    let area = (w * h) as f64;
    for _ in 0..10 {
        let target = area * rng.random_range(0.08..=1.0);
        let ratio = rng.random_range((0.75f64).ln()..=(4.0f64 / 3.0).ln()).exp();
        let cw = (target * ratio).sqrt().round() as u32;
        let ch = (target / ratio).sqrt().round() as u32;
        if (1..=w).contains(&cw) && (1..=h).contains(&ch) {
            let (x, y) = (rng.random_range(0..=w - cw), rng.random_range(0..=h - ch));
            let crop = imageops::crop_imm(img, x, y, cw, ch).to_image();
            return imageops::resize(&crop, w, h, imageops::FilterType::Triangle);
        }
    }
    img.clone()
}

/// Brightness, contrast, saturation and hue, in one random order, each with a random strength.
fn colour_jitter(img: &mut RgbImage, rng: &mut impl Rng) {
    let mut order = [0, 1, 2, 3];
    order.shuffle(rng);
    let brightness = rng.random_range(-0.4f32..=0.4);
    let contrast = rng.random_range(0.2f32..=1.8);
    let saturation = rng.random_range(0.2f32..=1.8);
    let hue = rng.random_range(-0.2f32..=0.2);
    for px in img.pixels_mut() {
        let mut c = px.0.map(|v| v as f32 / 255.0);
        for op in order {
            c = match op {
                0 => c.map(|v| v + brightness),
                1 => c.map(|v| v * contrast),
                2 => {
                    // kornia scales HSV's saturation (clamped to 1) at fixed hue and value: every
                    // channel's distance below the maximum scales by the same factor.
                    let (max, min) = (c[0].max(c[1]).max(c[2]), c[0].min(c[1]).min(c[2]));
                    let s = if max > 0.0 { (max - min) / max } else { 0.0 };
                    let f = if s > 0.0 {
                        saturation.min(1.0 / s)
                    } else {
                        1.0
                    };
                    c.map(|v| max - (max - v) * f)
                }
                _ => rotate_hue(c, hue),
            }
            .map(|v| v.clamp(0.0, 1.0));
        }
        *px = Rgb(c.map(|v| (v * 255.0).round() as u8));
    }
}

fn luma([r, g, b]: [f32; 3]) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// Rotates the hue by `turns` of the colour wheel (through HSV).
pub(crate) fn rotate_hue([r, g, b]: [f32; 3], turns: f32) -> [f32; 3] {
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let delta = max - min;
    if delta <= f32::EPSILON {
        return [r, g, b];
    }
    let h = if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    };
    let h = (h + 6.0 * turns).rem_euclid(6.0);
    let (s, v) = (delta / max, max);
    let c = v * s;
    let x = c * (1.0 - ((h % 2.0) - 1.0).abs());
    let (r1, g1, b1) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r1 + m, g1 + m, b1 + m]
}

fn grayscale(img: &mut RgbImage) {
    for px in img.pixels_mut() {
        let g = luma(px.0.map(|v| v as f32)).round().clamp(0.0, 255.0) as u8;
        *px = Rgb([g, g, g]);
    }
}

/// Gaussian blur along the columns only (σx = 0.1 blurs nothing), reflecting at the borders.
fn vertical_blur(img: &RgbImage, sigma: f32) -> RgbImage {
    let radius = (3.0 * sigma).ceil().max(1.0) as i64;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let (w, h) = img.dimensions();
    let reflect = |y: i64| -> u32 {
        let last = h as i64 - 1;
        let y = if y < 0 {
            -y
        } else if y > last {
            2 * last - y
        } else {
            y
        };
        y.clamp(0, last) as u32
    };
    RgbImage::from_fn(w, h, |x, y| {
        let mut acc = [0f32; 3];
        for (k, &kv) in kernel.iter().enumerate() {
            let p = img.get_pixel(x, reflect(y as i64 + k as i64 - radius));
            for (a, &v) in acc.iter_mut().zip(&p.0) {
                *a += kv * v as f32;
            }
        }
        Rgb(acc.map(|v| (v / total).round().clamp(0.0, 255.0) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn photo() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| {
            Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        })
    }

    #[test]
    fn single_operations_by_hand() {
        // Hue: a full turn is the identity; a third of a turn maps red to green.
        let red = [1.0, 0.0, 0.0];
        let g = rotate_hue(red, 1.0 / 3.0);
        assert!((g[0] - 0.0).abs() < 1e-5 && (g[1] - 1.0).abs() < 1e-5 && g[2].abs() < 1e-5);
        let c = [0.2, 0.5, 0.7];
        let back = rotate_hue(c, 1.0);
        assert!(c.iter().zip(back).all(|(a, b)| (a - b).abs() < 1e-5));
        // Grayscale: equal channels, ITU-R 601 weights.
        let mut img = RgbImage::from_pixel(2, 2, Rgb([100, 200, 50]));
        grayscale(&mut img);
        assert_eq!(img.get_pixel(0, 0).0, [153, 153, 153]); // 29.9 + 117.4 + 5.7
        // Vertical blur leaves a horizontal gradient alone and smooths a vertical step.
        let h = RgbImage::from_fn(8, 8, |x, _| Rgb([x as u8 * 30; 3]));
        assert_eq!(vertical_blur(&h, 2.0), h);
        let v = RgbImage::from_fn(4, 16, |_, y| Rgb([if y < 8 { 0 } else { 255 }; 3]));
        let b = vertical_blur(&v, 2.0);
        assert!(b.get_pixel(0, 7).0[0] > 50 && b.get_pixel(0, 8).0[0] < 205);
        assert_eq!(b.get_pixel(0, 0).0[0], 0);
    }

    #[test]
    fn groups_are_seeded_sized_and_scaled() {
        let img = photo();
        let student = AugmentGroup::student();
        let run = |seed| student.apply(&img, &mut ChaCha8Rng::seed_from_u64(seed));
        let (a, ops) = run(7);
        assert_eq!(run(7), (a.clone(), ops.clone()), "same seed, same view");
        assert_eq!(a.dimensions(), img.dimensions());
        assert_eq!(ops[0], "crop", "the student always crops");
        // Probability zero applies nothing; the teacher's probabilities are scaled.
        let none = AugmentGroup::teacher(0.0);
        assert_eq!(
            none.apply(&img, &mut ChaCha8Rng::seed_from_u64(1)),
            (img.clone(), vec![])
        );
        assert_eq!(AugmentGroup::teacher(0.5).jitter, 0.4);
        // Over many draws the student flips about half the time.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let flips = (0..400)
            .filter(|_| student.apply(&img, &mut rng).1.contains(&"flip"))
            .count();
        assert!((150..250).contains(&flips), "{flips}");
    }
}
