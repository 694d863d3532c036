//! The everyday edits people apply to a photo — resized, re-saved, cropped, mirrored, turned, brightened,
//! framed, shrunk to a thumbnail — as files, for the edit benchmark (`hashlens bench edits`): does a
//! photo's code survive them, and does the near-duplicate verdict hold?
//!
//! Each edit returns the bytes of a JPEG file (quality 92 unless the edit is the re-save itself), as a
//! phone or a messenger would write it. `rotate_90_exif` turns the pixels the other way and records
//! EXIF orientation 6, so a reader that honours EXIF shows the photo as it was: it tests that path.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage, imageops};

/// One edit of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edit {
    Resize50,
    Resize25,
    JpegQ50,
    Crop80,
    Crop60,
    Mirror,
    Rotate90,
    Rotate90Exif,
    Rotate5,
    BrightnessUp30,
    BrightnessDown30,
    Contrast,
    Grayscale,
    Border,
    Thumbnail,
}

/// JPEG quality of every edited file but the re-save.
const QUALITY: u8 = 92;

impl Edit {
    pub const ALL: [Edit; 15] = [
        Edit::Resize50,
        Edit::Resize25,
        Edit::JpegQ50,
        Edit::Crop80,
        Edit::Crop60,
        Edit::Mirror,
        Edit::Rotate90,
        Edit::Rotate90Exif,
        Edit::Rotate5,
        Edit::BrightnessUp30,
        Edit::BrightnessDown30,
        Edit::Contrast,
        Edit::Grayscale,
        Edit::Border,
        Edit::Thumbnail,
    ];

    /// The edit's name in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Edit::Resize50 => "resize_50",
            Edit::Resize25 => "resize_25",
            Edit::JpegQ50 => "jpeg_q50",
            Edit::Crop80 => "crop_80",
            Edit::Crop60 => "crop_60",
            Edit::Mirror => "mirror",
            Edit::Rotate90 => "rotate_90",
            Edit::Rotate90Exif => "rotate_90_exif",
            Edit::Rotate5 => "rotate_5",
            Edit::BrightnessUp30 => "brightness_+30",
            Edit::BrightnessDown30 => "brightness_-30",
            Edit::Contrast => "contrast_+50",
            Edit::Grayscale => "grayscale",
            Edit::Border => "border",
            Edit::Thumbnail => "thumbnail",
        }
    }

    /// The edited photo as the bytes of a JPEG file.
    pub fn apply(self, img: &RgbImage) -> Vec<u8> {
        let (w, h) = img.dimensions();
        let scaled = |f: f64| {
            let size = |n: u32| ((n as f64 * f).round() as u32).max(1);
            imageops::resize(img, size(w), size(h), imageops::FilterType::Triangle)
        };
        let pixels = |f: &dyn Fn([u8; 3]) -> [u8; 3]| {
            RgbImage::from_fn(w, h, |x, y| Rgb(f(img.get_pixel(x, y).0)))
        };
        match self {
            Edit::Resize50 => jpeg(&scaled(0.5), QUALITY),
            Edit::Resize25 => jpeg(&scaled(0.25), QUALITY),
            Edit::JpegQ50 => jpeg(img, 50),
            Edit::Crop80 => jpeg(&centre_crop(img, 0.8), QUALITY),
            Edit::Crop60 => jpeg(&centre_crop(img, 0.6), QUALITY),
            Edit::Mirror => jpeg(&imageops::flip_horizontal(img), QUALITY),
            Edit::Rotate90 => jpeg(&imageops::rotate90(img), QUALITY),
            Edit::Rotate90Exif => with_orientation(&jpeg(&imageops::rotate270(img), QUALITY), 6),
            Edit::Rotate5 => jpeg(&centre_crop(&rotate(img, 5.0), 0.84), QUALITY),
            Edit::BrightnessUp30 => jpeg(&pixels(&|p| p.map(|c| scale(c, 1.3))), QUALITY),
            Edit::BrightnessDown30 => jpeg(&pixels(&|p| p.map(|c| scale(c, 0.7))), QUALITY),
            Edit::Contrast => jpeg(
                &pixels(&|p| p.map(|c| (128.0 + (c as f32 - 128.0) * 1.5).clamp(0.0, 255.0) as u8)),
                QUALITY,
            ),
            Edit::Grayscale => jpeg(
                &pixels(&|[r, g, b]| {
                    let l = (0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32).round() as u8;
                    [l, l, l]
                }),
                QUALITY,
            ),
            Edit::Border => jpeg(&border(img, 0.06), QUALITY),
            Edit::Thumbnail => {
                let f = (160.0 / w.max(h) as f64).min(1.0);
                jpeg(&scaled(f), QUALITY)
            }
        }
    }
}

/// The photo as an unedited JPEG file, at the quality every edit but the re-save is written with.
pub fn as_jpeg(img: &RgbImage) -> Vec<u8> {
    jpeg(img, QUALITY)
}

fn scale(c: u8, f: f32) -> u8 {
    (c as f32 * f).round().clamp(0.0, 255.0) as u8
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encoding to memory cannot fail");
    out
}

/// The centre `share` of each side.
fn centre_crop(img: &RgbImage, share: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (
        ((w as f64 * share).round() as u32).clamp(1, w),
        ((h as f64 * share).round() as u32).clamp(1, h),
    );
    imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

/// Turned by `degrees` (counter-clockwise) about the centre, bilinear; corners outside the photo are
/// grey (the caller crops them off).
fn rotate(img: &RgbImage, degrees: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        let (sx, sy) = (cos * dx - sin * dy + cx, sin * dx + cos * dy + cy);
        if sx < 0.0 || sy < 0.0 || sx > w as f64 - 1.0 || sy > h as f64 - 1.0 {
            return Rgb([128, 128, 128]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
        let p = |x, y| img.get_pixel(x, y).0.map(f64::from);
        let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
        Rgb(std::array::from_fn(|k| {
            let top = a[k] * (1.0 - fx) + b[k] * fx;
            let bottom = c[k] * (1.0 - fx) + d[k] * fx;
            (top * (1.0 - fy) + bottom * fy).round() as u8
        }))
    })
}

/// A white frame `share` of the shorter side wide on every side.
fn border(img: &RgbImage, share: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let b = ((w.min(h) as f64 * share).round() as u32).max(1);
    let mut out = RgbImage::from_pixel(w + 2 * b, h + 2 * b, Rgb([255, 255, 255]));
    imageops::replace(&mut out, img, b as i64, b as i64);
    out
}

/// `jpeg` with an EXIF block recording `orientation` inserted after its start marker.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    // TIFF, little-endian: header, one IFD with one entry (0x0112 Orientation, SHORT, 1 value), no next IFD.
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// What a copy of a photo looks like it went through, told from the two files' pixel sizes and byte
/// counts and from small versions of both (e.g. the app's thumbnails): what the near-duplicates view says
/// beside each copy. A guess, worded as one; the benchmark's own edits are its test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LooksLike {
    /// Same pixel size and the same number of bytes.
    SameFile,
    /// Turned a quarter (width and height swapped).
    Turned,
    /// Mirrored left to right.
    Mirrored,
    /// Made grey.
    Grayscale,
    /// Brighter (> 1) or darker (< 1), by this factor of mean brightness.
    Brightness(f32),
    /// The same picture at this share of the original's width (1.0: re-saved at its size).
    Resized(f32),
    /// Another shape, or the same shape with other content at the edges: cropped, framed or a screenshot.
    Reframed,
    /// Something else: retouched, filtered, or another photo that merely looks alike.
    Edited,
}

impl LooksLike {
    /// In words, e.g. "resized to 50 %".
    pub fn describe(self) -> String {
        match self {
            LooksLike::SameFile => "the same file (an exact copy)".into(),
            LooksLike::Turned => "turned a quarter".into(),
            LooksLike::Mirrored => "mirrored".into(),
            LooksLike::Grayscale => "made grey".into(),
            LooksLike::Brightness(f) if f > 1.0 => {
                format!("brighter (+{:.0} %)", (f - 1.0) * 100.0)
            }
            LooksLike::Brightness(f) => format!("darker (−{:.0} %)", (1.0 - f) * 100.0),
            LooksLike::Resized(s) if (s - 1.0).abs() < 0.005 => "re-saved at the same size".into(),
            LooksLike::Resized(s) => format!("resized to {:.0} %", s * 100.0),
            LooksLike::Reframed => "cropped or framed".into(),
            LooksLike::Edited => "edited".into(),
        }
    }
}

impl LooksLike {
    /// Whether the copy plainly derives from the photo it was compared with, in that direction: made
    /// smaller or re-saved at its size, made grey, or the same file. A mirror, a turn, a change of
    /// brightness and a crop or frame relate the two photos alike both ways, so they cannot tell which
    /// came first.
    pub fn derives(self) -> bool {
        match self {
            LooksLike::Resized(share) => share <= 1.005,
            LooksLike::SameFile | LooksLike::Grayscale => true,
            LooksLike::Turned
            | LooksLike::Mirrored
            | LooksLike::Brightness(_)
            | LooksLike::Reframed
            | LooksLike::Edited => false,
        }
    }
}

/// Which of a group of copies is likely the original: the one the most others plainly derive from
/// ([`LooksLike::derives`]), then the one with the most pixels, then the most bytes, then the first.
/// (The largest alone would pick a framed copy, which has more pixels than its original.)
pub fn likely_original(versions: &[Version]) -> usize {
    let derived = |r: usize| {
        (0..versions.len())
            .filter(|&m| m != r && looks_like(&versions[r], &versions[m]).derives())
            .count()
    };
    let pixels = |v: &Version| v.width as u64 * v.height as u64;
    (0..versions.len())
        .max_by_key(|&r| {
            (
                derived(r),
                pixels(&versions[r]),
                versions[r].bytes,
                std::cmp::Reverse(r),
            )
        })
        .unwrap_or(0)
}

/// A photo as [`looks_like`] compares it: its pixel size and bytes on disk, and a small version of it.
pub struct Version<'a> {
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub small: &'a RgbImage,
}

/// Side of the grid the two small versions are compared on.
const GRID: u32 = 24;

/// The largest centred part of `img` with width / height `aspect`.
fn centre_at_aspect(img: &RgbImage, aspect: f64) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = if w as f64 / h as f64 > aspect {
        (((h as f64 * aspect).round() as u32).clamp(1, w), h)
    } else {
        (w, ((w as f64 / aspect).round() as u32).clamp(1, h))
    };
    imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

/// What `copy` looks like next to `original` (see [`LooksLike`]).
pub fn looks_like(original: &Version, copy: &Version) -> LooksLike {
    let (ow, oh, cw, ch) = (original.width, original.height, copy.width, copy.height);
    if (ow, oh) == (cw, ch) && original.bytes == copy.bytes {
        return LooksLike::SameFile;
    }
    if (ow, oh) == (ch, cw) && ow != oh {
        return LooksLike::Turned;
    }
    let aspect = |w: u32, h: u32| w as f64 / h.max(1) as f64;
    let reshaped = (aspect(ow, oh) / aspect(cw, ch) - 1.0).abs() > 0.02;
    // Compared at the copy's shape: the original's centre, which a crop or a frame keeps.
    let fitted = centre_at_aspect(original.small, aspect(cw, ch));
    let (a, b) = (Grid::of(&fitted), Grid::of(copy.small));
    let direct = a.correlation(&b);
    if !reshaped && direct >= 0.9 {
        if b.chroma < 2.0 && a.chroma > 8.0 {
            return LooksLike::Grayscale;
        }
        let brightness = (b.mean / a.mean.max(1.0)) as f32;
        if (brightness - 1.0).abs() > 0.1 {
            return LooksLike::Brightness(brightness);
        }
        if direct >= 0.97 && a.mean_difference(&b) <= 12.0 {
            return LooksLike::Resized(cw as f32 / ow as f32);
        }
    }
    // A crop zooms in on the original, a frame zooms out: the centres match at some share.
    let zoomed = (0..=16).map(|k| 0.98 - 0.03 * k as f64).any(|share| {
        a.correlation(&Grid::of(&centre_crop(copy.small, share))) >= 0.9
            || Grid::of(&centre_crop(&fitted, share)).correlation(&b) >= 0.9
    });
    if zoomed {
        return LooksLike::Reframed;
    }
    if !reshaped && a.mirrored().correlation(&b) >= 0.9 {
        return LooksLike::Mirrored;
    }
    LooksLike::Edited
}

/// A small version's brightness on a `GRID` × `GRID` grid, with its mean and its colourfulness (the
/// mean spread between a cell's strongest and weakest channel).
struct Grid {
    luma: Vec<f64>,
    mean: f64,
    chroma: f64,
}

impl Grid {
    fn of(img: &RgbImage) -> Self {
        let cells = imageops::resize(img, GRID, GRID, imageops::FilterType::Triangle);
        let luma: Vec<f64> = cells
            .pixels()
            .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
            .collect();
        let n = luma.len() as f64;
        let chroma = cells
            .pixels()
            .map(|p| {
                let (max, min) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
                (max - min) as f64
            })
            .sum::<f64>()
            / n;
        Self {
            mean: luma.iter().sum::<f64>() / n,
            luma,
            chroma,
        }
    }

    /// Pearson correlation of the two brightness patterns (1: the same picture, brighter or not).
    fn correlation(&self, other: &Grid) -> f64 {
        let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
        for (x, y) in self.luma.iter().zip(&other.luma) {
            let (dx, dy) = (x - self.mean, y - other.mean);
            cov += dx * dy;
            va += dx * dx;
            vb += dy * dy;
        }
        cov / (va * vb).sqrt().max(1e-9)
    }

    fn mean_difference(&self, other: &Grid) -> f64 {
        let sum: f64 = self
            .luma
            .iter()
            .zip(&other.luma)
            .map(|(x, y)| (x - y).abs())
            .sum();
        sum / self.luma.len() as f64
    }

    /// The grid mirrored left to right.
    fn mirrored(&self) -> Grid {
        let side = GRID as usize;
        let luma = (0..self.luma.len())
            .map(|i| self.luma[i - i % side + (side - 1 - i % side)])
            .collect();
        Grid { luma, ..*self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::{DecodeLimits, decode_bytes};

    /// A photo with a bright top-left quadrant, so that turns and mirrors can be told apart.
    fn photo() -> RgbImage {
        RgbImage::from_fn(80, 60, |x, y| {
            if x < 40 && y < 30 {
                Rgb([250, 240, 230])
            } else {
                Rgb([30, 60, 90])
            }
        })
    }

    fn decoded(edit: Edit) -> RgbImage {
        decode_bytes(&edit.apply(&photo()), &DecodeLimits::default()).unwrap()
    }

    fn bright(img: &RgbImage, x: u32, y: u32) -> bool {
        img.get_pixel(x, y).0[0] > 150
    }

    #[test]
    fn every_edit_is_a_readable_jpeg_of_the_expected_size() {
        let sizes: Vec<(&str, (u32, u32))> = Edit::ALL
            .iter()
            .map(|e| (e.name(), decoded(*e).dimensions()))
            .collect();
        let size = |name| sizes.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(size("resize_50"), (40, 30));
        assert_eq!(size("resize_25"), (20, 15));
        assert_eq!(size("jpeg_q50"), (80, 60));
        assert_eq!(size("crop_80"), (64, 48));
        assert_eq!(size("crop_60"), (48, 36));
        assert_eq!(size("rotate_90"), (60, 80));
        // Turned back upright by its EXIF orientation.
        assert_eq!(size("rotate_90_exif"), (80, 60));
        assert_eq!(size("border"), (80 + 2 * 4, 60 + 2 * 4));
        assert_eq!(
            size("thumbnail"),
            (80, 60),
            "already smaller than a thumbnail"
        );
        let names: std::collections::HashSet<_> = Edit::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), Edit::ALL.len());
    }

    #[test]
    fn turns_mirrors_and_colours_go_where_they_should() {
        // The bright quadrant: top-left, top-right when mirrored, top-right when turned clockwise.
        assert!(bright(&decoded(Edit::JpegQ50), 5, 5));
        assert!(bright(&decoded(Edit::Mirror), 75, 5) && !bright(&decoded(Edit::Mirror), 5, 5));
        let turned = decoded(Edit::Rotate90);
        assert!(bright(&turned, 55, 5) && !bright(&turned, 5, 5));
        let exif = decoded(Edit::Rotate90Exif);
        assert!(
            bright(&exif, 5, 5) && !bright(&exif, 75, 5),
            "EXIF turned it back"
        );
        let grey = decoded(Edit::Grayscale).get_pixel(60, 50).0;
        assert!(grey[0].abs_diff(grey[2]) <= 2, "{grey:?}");
        let dark = decoded(Edit::BrightnessDown30).get_pixel(60, 50).0[2];
        let light = decoded(Edit::BrightnessUp30).get_pixel(60, 50).0[2];
        assert!(
            (58..=68).contains(&dark) && (112..=122).contains(&light),
            "{dark} {light}"
        );
        assert_eq!(decoded(Edit::Border).get_pixel(1, 1).0, [255, 255, 255]);
        // Turned by 5°, cropped to the part that was photo: no grey corners.
        let small_turn = decoded(Edit::Rotate5);
        assert!(small_turn.get_pixel(0, 0).0[0] > 150 || small_turn.get_pixel(0, 0).0[0] < 100);
    }

    /// A small version as the app's thumbnails are (160 pixels on the long side).
    fn small(img: &RgbImage) -> RgbImage {
        let f = 160.0 / img.width().max(img.height()) as f32;
        let size = |n: u32| ((n as f32 * f).round() as u32).max(1);
        imageops::thumbnail(img, size(img.width()), size(img.height()))
    }

    fn guess(original: &[u8], copy: &[u8]) -> LooksLike {
        let limits = DecodeLimits::default();
        let (a, b) = (
            decode_bytes(original, &limits).unwrap(),
            decode_bytes(copy, &limits).unwrap(),
        );
        let (sa, sb) = (small(&a), small(&b));
        looks_like(
            &Version {
                width: a.width(),
                height: a.height(),
                bytes: original.len() as u64,
                small: &sa,
            },
            &Version {
                width: b.width(),
                height: b.height(),
                bytes: copy.len() as u64,
                small: &sb,
            },
        )
    }

    fn demo(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../assets/demo/{name}.jpg",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The benchmark's edits of a real photo, each told for what it is.
    #[test]
    fn the_benchmarks_edits_are_told_for_what_they_are() {
        let original = decode_bytes(&demo("chelsea"), &DecodeLimits::default()).unwrap();
        let bytes = as_jpeg(&original);
        let told = |e: Edit| guess(&bytes, &e.apply(&original));
        assert!(
            matches!(told(Edit::Resize50), LooksLike::Resized(s) if (s - 0.5).abs() < 0.01),
            "{:?}",
            told(Edit::Resize50)
        );
        assert!(matches!(told(Edit::Resize25), LooksLike::Resized(s) if (s - 0.25).abs() < 0.01));
        assert!(matches!(told(Edit::Thumbnail), LooksLike::Resized(s) if s < 0.5));
        assert_eq!(told(Edit::JpegQ50).describe(), "re-saved at the same size");
        assert_eq!(told(Edit::Mirror), LooksLike::Mirrored);
        assert_eq!(told(Edit::Rotate90), LooksLike::Turned);
        assert_eq!(told(Edit::Grayscale), LooksLike::Grayscale);
        assert!(matches!(told(Edit::BrightnessUp30), LooksLike::Brightness(f) if f > 1.1));
        assert!(matches!(told(Edit::BrightnessDown30), LooksLike::Brightness(f) if f < 0.9));
        for e in [Edit::Crop80, Edit::Crop60, Edit::Border] {
            assert_eq!(told(e), LooksLike::Reframed, "{}", e.name());
        }
        assert_eq!(guess(&bytes, &bytes), LooksLike::SameFile);
    }

    /// The demo library's own copies, made with ImageMagick (`assets/demo/make-demo.sh`).
    #[test]
    fn the_demo_librarys_copies_are_told_for_what_they_are() {
        let told = |a: &str, b: &str| guess(&demo(a), &demo(b));
        assert!(matches!(told("chelsea", "chelsea_small"), LooksLike::Resized(s) if s < 0.9));
        assert!(matches!(
            told("camera", "camera_copy"),
            LooksLike::Resized(_)
        ));
        assert_eq!(told("rocket", "rocket_mirrored"), LooksLike::Mirrored);
        assert!(
            matches!(told("astronaut", "astronaut_brighter"), LooksLike::Brightness(f) if f > 1.0)
        );
        assert_eq!(told("coffee", "coffee_crop"), LooksLike::Reframed);
        // Two different photos are not one photo edited.
        assert_eq!(told("brick", "gravel"), LooksLike::Edited);
    }

    /// Among an original, its framed copy (more pixels), a half-size copy and a mirrored one, the
    /// original is told apart.
    #[test]
    fn the_original_of_a_group_is_the_one_the_others_derive_from() {
        let original = decode_bytes(&demo("chelsea"), &DecodeLimits::default()).unwrap();
        let files: Vec<Vec<u8>> = [Edit::Border, Edit::Resize50, Edit::Mirror]
            .iter()
            .map(|e| e.apply(&original))
            .chain([as_jpeg(&original)])
            .collect();
        let decoded: Vec<RgbImage> = files
            .iter()
            .map(|f| decode_bytes(f, &DecodeLimits::default()).unwrap())
            .collect();
        let smalls: Vec<RgbImage> = decoded.iter().map(small).collect();
        let versions: Vec<Version> = decoded
            .iter()
            .zip(&smalls)
            .zip(&files)
            .map(|((d, s), f)| Version {
                width: d.width(),
                height: d.height(),
                bytes: f.len() as u64,
                small: s,
            })
            .collect();
        assert!(
            versions[0].width > versions[3].width,
            "the frame adds pixels"
        );
        assert_eq!(likely_original(&versions), 3);
        // Without the original, the framed copy has the most pixels and nothing derives from anything
        // more: it is chosen.
        assert_eq!(likely_original(&versions[..1]), 0);
    }
}
