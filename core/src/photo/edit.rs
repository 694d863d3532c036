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
        ((w as f64 * share).round() as u32).max(1),
        ((h as f64 * share).round() as u32).max(1),
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
}
