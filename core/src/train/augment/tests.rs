//! The batched augmentations against hand-computed values and the single-photo CPU reference.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn raw() -> Preprocess {
    // No normalisation, so outputs are pixel values.
    Preprocess {
        resize: 256,
        crop: 224,
        mean: [0.0; 3],
        std: [1.0; 3],
    }
}

fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// `[1, 3, 256, 256]` with channel c at (x, y) = f(c, x, y).
fn image(f: impl Fn(usize, usize, usize) -> f32, d: &Device) -> Tensor<4> {
    let s = 256;
    let v: Vec<f32> = (0..3 * s * s)
        .map(|i| f(i / (s * s), i % s, (i / s) % s))
        .collect();
    Tensor::from_data(TensorData::new(v, [1, 3, s, s]), d)
}

#[test]
fn identity_is_the_centre_crop_and_flip_mirrors() {
    let d = Device::flex();
    let img = image(
        |c, x, y| ((x * 7 + y * 3 + c * 11) % 256) as f32 / 255.0,
        &d,
    );
    let out = values(augment(img.clone(), &ViewParams::identity(1), &raw()));
    let src = values(img.clone());
    let s = 256;
    for (c, y, x) in [(0, 0, 0), (1, 100, 37), (2, 223, 223)] {
        let want = src[c * s * s + (y + 16) * s + x + 16];
        assert!((out[c * 224 * 224 + y * 224 + x] - want).abs() < 1e-5);
    }
    let mut p = ViewParams::identity(1);
    p.flip[0] = true;
    let flipped = values(augment(img, &p, &raw()));
    // Output column x of the crop is input column 255 − (x + 16).
    for (y, x) in [(0, 0), (50, 200)] {
        let want = src[(y + 16) * s + (255 - (x + 16))];
        assert!((flipped[y * 224 + x] - want).abs() < 1e-5, "{y} {x}");
    }
}

#[test]
fn a_crop_box_resamples_bilinearly() {
    // A horizontal ramp I(x, y) = x is reproduced exactly by bilinear sampling. The box [0.25, 0.75]
    // covers pixels 64..192 at half scale: output column j samples input 64 + (j + ½)/2 − ½ = 63.75 + j/2.
    let d = Device::flex();
    let img = image(|_, x, _| x as f32, &d);
    let mut p = ViewParams::identity(1);
    p.boxes[0] = [0.25, 0.0, 0.5, 1.0];
    let out = values(augment(img, &p, &raw()));
    for j in [0usize, 1, 100, 223] {
        let want = 63.75 + (j + 16) as f32 / 2.0;
        assert!(
            (out[5 * 224 + j] - want).abs() < 1e-3,
            "{j}: {} vs {want}",
            out[5 * 224 + j]
        );
    }
}

#[test]
fn hsv_round_trip_and_hue_matches_the_cpu_version() {
    let d = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let colours: Vec<[f32; 3]> = (0..64)
        .map(|_| [rng.random(), rng.random(), rng.random()])
        .collect();
    let mut v = Vec::new();
    for c in 0..3 {
        v.extend(colours.iter().map(|px| px[c]));
    }
    let x = Tensor::<4>::from_data(TensorData::new(v, [1, 3, 8, 8]), &d);
    let (h, s, val) = rgb_to_hsv(x.clone());
    let back = values(hsv_to_rgb(h, s, val));
    let orig = values(x.clone());
    assert!(back.iter().zip(&orig).all(|(a, b)| (a - b).abs() < 1e-5));
    // Hue only, by 0.15 turn, on every photo of the batch.
    let mut p = ViewParams::identity(1);
    p.jitter[0] = Some([0.0, 1.0, 1.0, 0.15]);
    let rotated = values(colour_jitter(x, &p, &d));
    for (i, px) in colours.iter().enumerate() {
        let want = crate::photo::augment::rotate_hue(*px, 0.15);
        for c in 0..3 {
            assert!((rotated[c * 64 + i] - want[c]).abs() < 1e-4, "{px:?}");
        }
    }
}

#[test]
fn jitter_grayscale_and_blur_by_hand() {
    let d = Device::flex();
    let px = [0.2f32, 0.5, 0.8];
    let x = Tensor::<4>::from_data(TensorData::new(vec![px[0], px[1], px[2]], [1, 3, 1, 1]), &d);
    let jitter = |f: [f32; 4]| {
        let mut p = ViewParams::identity(1);
        p.jitter[0] = Some(f);
        values(colour_jitter(x.clone(), &p, &d))
    };
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-5);
    assert!(
        close(&jitter([0.3, 1.0, 1.0, 0.0]), &[0.5, 0.8, 1.0]),
        "additive brightness, clamped"
    );
    assert!(
        close(&jitter([0.0, 0.5, 1.0, 0.0]), &[0.1, 0.25, 0.4]),
        "multiplicative contrast"
    );
    // Saturation ×0.5 in HSV: S 0.75 → 0.375 at V 0.8: channels 0.8 − (0.8 − c)/2.
    assert!(close(&jitter([0.0, 1.0, 0.5, 0.0]), &[0.5, 0.65, 0.8]));
    // Saturation is clamped at 1: ×1.8 of S 0.75 gives S 1 (the minimum channel reaches 0).
    assert!(close(&jitter([0.0, 1.0, 1.8, 0.0]), &[0.0, 0.4, 0.8]));
    let g = values(gray(x));
    let luma = 0.299 * 0.2 + 0.587 * 0.5 + 0.114 * 0.8;
    assert!(g.iter().all(|v| (v - luma).abs() < 1e-6));
    // Blur: a horizontal ramp is left alone, a constant stays constant up to the borders (reflected),
    // and a vertical step is smoothed symmetrically.
    let ramp = image(|_, x, _| x as f32 / 255.0, &d);
    assert!(
        values(vertical_blur(ramp.clone()))
            .iter()
            .zip(values(ramp))
            .all(|(a, b)| (a - b).abs() < 1e-5)
    );
    let step = image(|_, _, y| if y < 128 { 0.0 } else { 1.0 }, &d);
    let b = values(vertical_blur(step));
    let at = |y: usize| b[y * 256 + 9];
    assert!(at(0).abs() < 1e-6 && (at(255) - 1.0).abs() < 1e-6);
    assert!((at(127) + at(128) - 1.0).abs() < 1e-5 && at(127) > 0.3 && at(127) < 0.5);
}

#[test]
fn draws_are_seeded_and_follow_the_group() {
    let draw =
        |g: &AugmentGroup, seed| ViewParams::draw(g, 32, &mut ChaCha8Rng::seed_from_u64(seed));
    let student = AugmentGroup::student();
    assert_eq!(draw(&student, 3), draw(&student, 3));
    assert_ne!(draw(&student, 3), draw(&student, 4));
    let s = draw(&student, 3);
    assert!(
        s.boxes
            .iter()
            .all(|b| b[2] <= 1.0 && b[0] + b[2] <= 1.0 + 1e-6 && b[1] + b[3] <= 1.0 + 1e-6)
    );
    assert!(
        s.boxes.iter().any(|b| b[2] < 1.0),
        "the student always crops"
    );
    let none = draw(&AugmentGroup::teacher(0.0), 3);
    let mut id = ViewParams::identity(32);
    id.jitter_order = none.jitter_order;
    assert_eq!(none, id);
    // The crop probability is per batch: a teacher batch is either all cropped or not at all.
    for seed in 0..20 {
        let t = draw(&AugmentGroup::teacher(0.5), seed);
        let cropped = t.boxes.iter().filter(|b| b[2] < 1.0 || b[3] < 1.0).count();
        assert!(cropped == 0 || cropped >= 28, "{cropped}");
    }
}

/// The first view back in RGB: normalised values `(p − mean) / std` of the first photo only, pixel by
/// pixel, channels interleaved; out-of-range values clamp.
#[test]
fn the_first_view_comes_back_as_rgb() {
    let d = Device::flex();
    let pre = Preprocess {
        mean: [0.5, 0.25, 0.0],
        std: [0.5, 0.25, 1.0],
        ..Preprocess::imagenet()
    };
    // Photo 0, 2 × 2: channel c at (y, x) is p = 0.01 + 0.1 · (c + 1) + 0.2 · (2y + x), normalised
    // (no p · 255 lands near a half); photo 1 is all 9 (it must not show).
    let p = |c: usize, y: usize, x: usize| 0.01 + 0.1 * (c + 1) as f32 + 0.2 * (2 * y + x) as f32;
    let mut v = Vec::new();
    for c in 0..3 {
        for y in 0..2 {
            for x in 0..2 {
                v.push((p(c, y, x) - pre.mean[c]) / pre.std[c]);
            }
        }
    }
    v.extend(std::iter::repeat_n(9.0, 12));
    let views = Tensor::<4>::from_data(TensorData::new(v, [2, 3, 2, 2]), &d);
    let (side, rgb) = first_view_rgb(&views, &pre);
    assert_eq!(side, 2);
    // p · 255 rounded: (0,0) 0.11, 0.21, 0.31 → 28, 54, 79; (0,1) 0.31, 0.41, 0.51 → 79, 105, 130;
    // (1,0) 0.51, 0.61, 0.71 → 130, 156, 181; (1,1) 0.71, 0.81, 0.91 → 181, 207, 232.
    assert_eq!(
        rgb,
        vec![28, 54, 79, 79, 105, 130, 130, 156, 181, 181, 207, 232]
    );
    let over = Tensor::<4>::from_data(TensorData::new(vec![5.0f32; 12], [1, 3, 2, 2]), &d);
    assert!(first_view_rgb(&over, &pre).1.iter().all(|&b| b == 255));
}
