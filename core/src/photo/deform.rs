//! Deformations a model never saw in training, applied to query photos to measure how robust its codes
//! are (DHD's Table 4: cutout, pixel dropout, zoom in, zoom out, rotation, shearing, Gaussian noise).
//!
//! The paper does not state its strengths; these are ours, fixed so that runs compare: a cutout of half
//! the side, 10 % of the pixels dropped, zoom ×1.5 in and out, rotation by ±30°, horizontal shear 0.3,
//! and noise of σ = 0.1 (of the 0–1 range). Everything outside the source photo, and what is cut or
//! dropped, is black. Random choices (where, which sign) come from the caller's generator.

use image::{Rgb, RgbImage};
use rand::Rng;
use rand_distr::{Distribution, Normal};

/// One deformation (or none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deformation {
    None,
    Cutout,
    Dropout,
    ZoomIn,
    ZoomOut,
    Rotation,
    Shear,
    Noise,
}

impl Deformation {
    /// Every one, `None` first.
    pub const ALL: [Deformation; 8] = [
        Deformation::None,
        Deformation::Cutout,
        Deformation::Dropout,
        Deformation::ZoomIn,
        Deformation::ZoomOut,
        Deformation::Rotation,
        Deformation::Shear,
        Deformation::Noise,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Deformation::None => "none",
            Deformation::Cutout => "cutout",
            Deformation::Dropout => "dropout",
            Deformation::ZoomIn => "zoom-in",
            Deformation::ZoomOut => "zoom-out",
            Deformation::Rotation => "rotation",
            Deformation::Shear => "shearing",
            Deformation::Noise => "gaussian-noise",
        }
    }

    pub fn apply(self, img: &RgbImage, rng: &mut impl Rng) -> RgbImage {
        let (w, h) = img.dimensions();
        match self {
            Deformation::None => img.clone(),
            Deformation::Cutout => {
                let (cw, ch) = ((w / 2).max(1), (h / 2).max(1));
                let (x0, y0) = (rng.random_range(0..=w - cw), rng.random_range(0..=h - ch));
                let mut out = img.clone();
                for y in y0..y0 + ch {
                    for x in x0..x0 + cw {
                        out.put_pixel(x, y, Rgb([0, 0, 0]));
                    }
                }
                out
            }
            Deformation::Dropout => {
                let mut out = img.clone();
                for p in out.pixels_mut() {
                    if rng.random::<f64>() < 0.1 {
                        *p = Rgb([0, 0, 0]);
                    }
                }
                out
            }
            // Pixel (x, y) of the result shows source point A·(x, y) + b, sampled bilinearly.
            Deformation::ZoomIn => warp(img, [1.0 / 1.5, 0.0, 0.0, 1.0 / 1.5]),
            Deformation::ZoomOut => warp(img, [1.5, 0.0, 0.0, 1.5]),
            Deformation::Rotation => {
                let a = 30f64.to_radians() * if rng.random::<bool>() { 1.0 } else { -1.0 };
                warp(img, [a.cos(), -a.sin(), a.sin(), a.cos()])
            }
            Deformation::Shear => warp(img, [1.0, 0.3, 0.0, 1.0]),
            Deformation::Noise => {
                let noise = Normal::new(0.0, 0.1 * 255.0).expect("a valid σ");
                let mut out = img.clone();
                for p in out.pixels_mut() {
                    for c in p.0.iter_mut() {
                        *c = (*c as f64 + noise.sample(rng)).round().clamp(0.0, 255.0) as u8;
                    }
                }
                out
            }
        }
    }
}

/// The photo under the linear map `m` (row-major 2 × 2) about its centre: output pixel `p` shows the
/// source at `centre + m·(p − centre)`, bilinear, black outside.
fn warp(img: &RgbImage, m: [f64; 4]) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
        let sx = cx + m[0] * dx + m[1] * dy - 0.5;
        let sy = cy + m[2] * dx + m[3] * dy - 0.5;
        bilinear(img, sx, sy)
    })
}

fn bilinear(img: &RgbImage, x: f64, y: f64) -> Rgb<u8> {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.floor() as i64, y.floor() as i64);
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let at = |xi: i64, yi: i64| -> [f64; 3] {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            [0.0; 3]
        } else {
            img.get_pixel(xi as u32, yi as u32).0.map(f64::from)
        }
    };
    let (a, b, c, d) = (
        at(x0, y0),
        at(x0 + 1, y0),
        at(x0, y0 + 1),
        at(x0 + 1, y0 + 1),
    );
    Rgb([0, 1, 2].map(|i| {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn grey(w: u32, h: u32, v: u8) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb([v, v, v]))
    }

    fn black(img: &RgbImage) -> usize {
        img.pixels().filter(|p| p.0 == [0, 0, 0]).count()
    }

    #[test]
    fn cutout_dropout_and_noise_by_counting() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let img = grey(40, 20, 200);
        assert_eq!(Deformation::None.apply(&img, &mut rng), img);
        // A 20 × 10 black square.
        assert_eq!(black(&Deformation::Cutout.apply(&img, &mut rng)), 200);
        // About 10 % of 10,000 pixels (binomial: σ = 30).
        let big = grey(100, 100, 200);
        let dropped = black(&Deformation::Dropout.apply(&big, &mut rng));
        assert!((900..1100).contains(&dropped), "{dropped}");
        // Noise of σ = 25.5 around 128: mean kept, spread as asked.
        let noisy = Deformation::Noise.apply(&grey(100, 100, 128), &mut rng);
        let v: Vec<f64> = noisy.pixels().map(|p| p.0[0] as f64).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        assert!(
            (mean - 128.0).abs() < 1.0 && (sd - 25.5).abs() < 1.0,
            "{mean} {sd}"
        );
    }

    #[test]
    fn geometry_by_hand() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let img = grey(30, 30, 100);
        // Zooming out by 1.5 shrinks the photo to the middle 20 × 20 pixels (columns and rows 5..=24
        // sample it fully; the frame around is black, blended at its inner edge); zooming in fills all.
        let out = Deformation::ZoomOut.apply(&img, &mut rng);
        assert_eq!(out.pixels().filter(|p| p.0 == [100; 3]).count(), 400);
        assert_eq!(
            (out.get_pixel(5, 5).0, out.get_pixel(24, 24).0),
            ([100; 3], [100; 3])
        );
        assert_eq!(out.get_pixel(1, 1).0, [0; 3]);
        assert_eq!(black(&Deformation::ZoomIn.apply(&img, &mut rng)), 0);
        // On a 31-pixel ramp (value 8x, centre pixel 15): zoom in keeps the centre, and a pixel 9 right
        // of it shows the source 6 right.
        let ramp = RgbImage::from_fn(31, 31, |x, _| Rgb([(x * 8) as u8; 3]));
        let zin = Deformation::ZoomIn.apply(&ramp, &mut rng);
        assert_eq!(zin.get_pixel(15, 5).0[0], 120);
        assert_eq!(zin.get_pixel(24, 5).0[0], 168);
        // Rotation by 30° blackens the corners and keeps the centre; shear moves rows sideways by 0.3·dy.
        let rot = Deformation::Rotation.apply(&img, &mut rng);
        assert_eq!(
            (rot.get_pixel(0, 0).0, rot.get_pixel(15, 15).0),
            ([0; 3], [100; 3])
        );
        let sheared = Deformation::Shear.apply(&ramp, &mut rng);
        assert_eq!(sheared.get_pixel(15, 15).0[0], 120);
        // 10 rows below the centre: source x = x + 0.3·10 = 3 px further right.
        assert_eq!(sheared.get_pixel(15, 25).0[0], 144);
    }
}
