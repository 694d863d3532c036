//! Training photos held in memory, decoded once, and their targets.
//!
//! DHD trains on photos pre-resized to 256 × 256; here every photo is decoded once (in parallel, under
//! the usual limits), made square (shorter side resized, centre cut) at `side` pixels and kept as bytes,
//! so that an epoch costs no decoding and a batch upload is a copy. The side is a memory trade-off: 256
//! is DHD's (196 kB per photo); photos that are smaller to begin with (CIFAR-10's 32 × 32) lose nothing
//! at their own size, because the augmentation's one bilinear resample goes to 256 anyway.
//!
//! Targets are rows of non-negative weights over the classes, normalised to sum to one when the loss
//! reads them: one-hot for class folders, multi-hot from list files, or for an unlabelled folder what
//! [`super::pseudo_labels`] makes of the pretrained backbone's view of the photos.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use burn::tensor::{Device, Tensor, TensorData};
use image::imageops::{self, FilterType};
use rand::Rng;
use rayon::prelude::*;

use crate::CodeBook;
use crate::model::HashModel;
use crate::photo::edit::Edit;
use crate::photo::{DecodeLimits, PhotoError, decode_file};

/// The everyday edits a student view may start from ([`super::TrainConfig::edit_views`]): what a
/// library's copies go through and DHD's groups (crop, flip, colour, grey, blur) do not cover.
const EDIT_VIEWS: [Edit; 5] = [
    Edit::JpegQ50,
    Edit::Rotate5,
    Edit::Border,
    Edit::Resize25,
    Edit::Thumbnail,
];

/// `photo`, or with probability `share` one of [`EDIT_VIEWS`] of it (written and read back as the JPEG
/// file the edit makes).
fn everyday_edit(photo: image::RgbImage, share: f64, rng: &mut impl Rng) -> image::RgbImage {
    if !rng.random_bool(share.clamp(0.0, 1.0)) {
        return photo;
    }
    let edit = EDIT_VIEWS[rng.random_range(0..EDIT_VIEWS.len())];
    image::load_from_memory(&edit.apply(&photo))
        .map(|img| img.into_rgb8())
        .unwrap_or(photo)
}

/// Photos as `side × side` RGB bytes (channel-major) with their target rows.
#[derive(Clone, Debug)]
pub struct TrainImages {
    pub side: usize,
    pub paths: Vec<PathBuf>,
    pixels: Vec<u8>,
    /// `len × classes` target weights.
    targets: Vec<f32>,
    pub classes: usize,
}

impl TrainImages {
    /// Decodes `paths` with their target rows (each `classes` long). Photos that cannot be decoded are
    /// left out and returned with the reason; `None` when cancelled. `progress(done, total)`.
    pub fn load(
        paths: &[PathBuf],
        targets: &[Vec<f32>],
        classes: usize,
        side: usize,
        cancel: &AtomicBool,
        progress: impl Fn(usize, usize) + Sync,
    ) -> Option<(Self, Vec<(PathBuf, PhotoError)>)> {
        assert_eq!(paths.len(), targets.len(), "one target row per photo");
        let done = AtomicUsize::new(0);
        let decoded: Vec<Option<Result<Vec<u8>, PhotoError>>> = paths
            .par_iter()
            .map(|p| {
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let r =
                    decode_file(p, &DecodeLimits::default()).map(|img| square_bytes(&img, side));
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, paths.len());
                Some(r)
            })
            .collect();
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let mut images = Self {
            side,
            paths: Vec::new(),
            pixels: Vec::new(),
            targets: Vec::new(),
            classes,
        };
        let mut skipped = Vec::new();
        for ((path, row), d) in paths.iter().zip(targets).zip(decoded) {
            match d.expect("not cancelled") {
                Ok(px) => images.push(path.clone(), &px, row),
                Err(e) => skipped.push((path.clone(), e)),
            }
        }
        Some((images, skipped))
    }

    fn push(&mut self, path: PathBuf, pixels: &[u8], target: &[f32]) {
        assert_eq!(target.len(), self.classes, "target row length");
        self.paths.push(path);
        self.pixels.extend_from_slice(pixels);
        self.targets.extend_from_slice(target);
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Replaces the targets (e.g. by ImageNet soft targets), `len × classes`.
    pub fn set_targets(&mut self, targets: Vec<f32>, classes: usize) {
        assert_eq!(targets.len(), self.len() * classes, "one row per photo");
        self.targets = targets;
        self.classes = classes;
    }

    /// The photos at `items` as a `[B, 3, side, side]` tensor of values in [0, 1].
    pub fn pixels(&self, items: &[usize], device: &Device) -> Tensor<4> {
        let per = 3 * self.side * self.side;
        let mut v = Vec::with_capacity(items.len() * per);
        for &i in items {
            v.extend(
                self.pixels[i * per..(i + 1) * per]
                    .iter()
                    .map(|&b| b as f32 / 255.0),
            );
        }
        Tensor::from_data(
            TensorData::new(v, [items.len(), 3, self.side, self.side]),
            device,
        )
    }

    /// The photos at `items` as [`TrainImages::pixels`] does, each passed through `edit` first (an
    /// `RgbImage` of `side × side`; what it returns is resized back to that).
    pub fn pixels_edited(
        &self,
        items: &[usize],
        device: &Device,
        mut edit: impl FnMut(image::RgbImage) -> image::RgbImage,
    ) -> Tensor<4> {
        let (side, plane) = (self.side, self.side * self.side);
        let mut v = Vec::with_capacity(items.len() * 3 * plane);
        for &i in items {
            let chw = &self.pixels[i * 3 * plane..(i + 1) * 3 * plane];
            let photo = image::RgbImage::from_fn(side as u32, side as u32, |x, y| {
                let at = y as usize * side + x as usize;
                image::Rgb([chw[at], chw[plane + at], chw[2 * plane + at]])
            });
            let mut out = edit(photo);
            if out.dimensions() != (side as u32, side as u32) {
                out = image::imageops::resize(
                    &out,
                    side as u32,
                    side as u32,
                    image::imageops::FilterType::Triangle,
                );
            }
            for c in 0..3 {
                v.extend(out.pixels().map(|p| p.0[c] as f32 / 255.0));
            }
        }
        Tensor::from_data(TensorData::new(v, [items.len(), 3, side, side]), device)
    }

    /// The pixels a student view of the photos at `items` starts from: [`TrainImages::pixels`], or
    /// with `edit_views` a share of them first given one of the everyday edits DHD's augmentation
    /// groups do not cover ([`EDIT_VIEWS`]; drawn from `rng`, which is not used without it).
    pub fn student_pixels(
        &self,
        items: &[usize],
        device: &Device,
        edit_views: Option<f64>,
        rng: &mut impl Rng,
    ) -> Tensor<4> {
        match edit_views {
            Some(share) => {
                self.pixels_edited(items, device, |photo| everyday_edit(photo, share, rng))
            }
            None => self.pixels(items, device),
        }
    }

    /// All target rows, `len × classes`.
    pub fn target_rows(&self) -> &[f32] {
        &self.targets
    }

    /// Target rows of `items`, `[B, classes]`.
    pub fn targets(&self, items: &[usize], device: &Device) -> Tensor<2> {
        let c = self.classes;
        let v: Vec<f32> = items
            .iter()
            .flat_map(|&i| self.targets[i * c..(i + 1) * c].iter().copied())
            .collect();
        Tensor::from_data(TensorData::new(v, [items.len(), c]), device)
    }

    /// A content fingerprint of photos and targets: a checkpoint refuses to resume on other data.
    pub fn fingerprint(&self) -> String {
        let mut bytes = Vec::with_capacity(self.pixels.len() / 64 + self.targets.len() * 4);
        bytes.extend(self.pixels.iter().step_by(61));
        bytes.extend(self.targets.iter().flat_map(|t| t.to_le_bytes()));
        bytes.extend((self.len() as u64).to_le_bytes());
        crate::io::fingerprint(&bytes)
    }
}

/// Shorter side resized to `side` (bilinear), centre cut square, as channel-major bytes.
fn square_bytes(img: &image::RgbImage, side: usize) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let s = side as u32;
    let scaled = if w.min(h) == s {
        img.clone()
    } else {
        let (nw, nh) = if w <= h {
            (
                s,
                ((h as u64 * s as u64) / w.max(1) as u64).max(s as u64) as u32,
            )
        } else {
            (
                ((w as u64 * s as u64) / h.max(1) as u64).max(s as u64) as u32,
                s,
            )
        };
        imageops::resize(img, nw, nh, FilterType::Triangle)
    };
    let (x0, y0) = ((scaled.width() - s) / 2, (scaled.height() - s) / 2);
    let crop = imageops::crop_imm(&scaled, x0, y0, s, s).to_image();
    let mut out = vec![0u8; 3 * side * side];
    for (i, px) in crop.pixels().enumerate() {
        for c in 0..3 {
            out[c * side * side + i] = px.0[c];
        }
    }
    out
}

/// One-hot rows for single class indices.
pub fn one_hot(classes_of: &[usize], classes: usize) -> Vec<Vec<f32>> {
    classes_of
        .iter()
        .map(|&c| {
            (0..classes)
                .map(|k| if k == c { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

/// Codes of the photos at `items` under `model` (the photos seen unaugmented, as when indexing), for
/// evaluating a run on the photos it already holds in memory.
pub fn encode_images(
    images: &TrainImages,
    items: &[usize],
    model: &HashModel,
    batch: usize,
    device: &Device,
) -> CodeBook {
    use super::augment::{ViewParams, augment};
    let mut book = CodeBook::new(model.bits()).expect("a model's bit count is valid");
    for chunk in items.chunks(batch.max(1)) {
        let x = augment(
            images.pixels(chunk, device),
            &ViewParams::identity(chunk.len()),
            &model.preprocess(),
        );
        for code in model.codes(x) {
            book.push(&code).expect("same bits");
        }
    }
    book
}

/// At most `n` of `0..len`, spread evenly (the same ones every time).
pub fn sample_indices(len: usize, n: usize) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    (0..n).map(|i| i * len / n).collect()
}
