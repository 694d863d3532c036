//! Decoding photos safely and turning them into network input.
//!
//! A photo library holds whatever people put there: 100-megapixel panoramas, PNGs whose header claims
//! 30,000 × 30,000 pixels over a few bytes of data (a decompression bomb), CMYK or 16-bit files, phone
//! pictures stored sideways with an EXIF orientation tag. Decoding here:
//! - refuses images beyond [`DecodeLimits`] from the header, before any pixel buffer is allocated;
//! - applies the EXIF orientation, so a portrait photo is seen upright, as the user sees it;
//! - converts every colour type (grey, grey+alpha, 16-bit, CMYK via the JPEG decoder) to 8-bit RGB. Alpha
//!   is dropped, as PIL's `convert("RGB")` does in the reference pipelines.
//!
//! [`Preprocess`] then does the evaluation transform of every deep-hashing repository: resize the shorter
//! side to 256, centre-crop 224 × 224, scale to [0, 1] and normalise with the ImageNet mean and standard
//! deviation, giving channel-major (CHW) `f32` values.

pub mod augment;
pub mod deform;

use std::io::{BufReader, Cursor};
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};

/// Largest accepted image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Longest accepted side in pixels.
    pub max_side: u32,
    /// Largest pixel buffer the decoder may allocate, in bytes.
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    /// 20,000 pixels a side and 1 GiB: a 150-megapixel camera fits, a 30,000² bomb does not.
    fn default() -> Self {
        Self {
            max_side: 20_000,
            max_alloc: 1 << 30,
        }
    }
}

/// Why a photo could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("not a supported image format")]
    Unsupported,
    #[error("cannot decode: {0}")]
    Corrupt(String),
}

/// Decodes the file at `path` to upright 8-bit RGB.
pub fn decode_file(path: &Path, limits: &DecodeLimits) -> Result<RgbImage, PhotoError> {
    let reader = ImageReader::open(path)?;
    decode_reader(reader, limits)
}

/// Decodes an in-memory file to upright 8-bit RGB.
pub fn decode_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, PhotoError> {
    decode_reader(ImageReader::new(BufReader::new(Cursor::new(bytes))), limits)
}

fn decode_reader<R: std::io::BufRead + std::io::Seek>(
    reader: ImageReader<R>,
    limits: &DecodeLimits,
) -> Result<RgbImage, PhotoError> {
    let mut reader = reader.with_guessed_format()?;
    if reader.format().is_none() {
        return Err(PhotoError::Unsupported);
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = decoder.dimensions();
    if width > limits.max_side || height > limits.max_side {
        return Err(PhotoError::TooLarge(format!(
            "{width} × {height} pixels, over the {} pixels a side this app accepts",
            limits.max_side
        )));
    }
    let bytes = decoder.total_bytes();
    if bytes > limits.max_alloc {
        return Err(PhotoError::TooLarge(format!(
            "{width} × {height} pixels need {} MiB, over the {} MiB decoding limit",
            bytes >> 20,
            limits.max_alloc >> 20
        )));
    }
    // A missing or unreadable orientation tag means "as stored".
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    img.apply_orientation(orientation);
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

fn classify(err: image::ImageError) -> PhotoError {
    match err {
        image::ImageError::IoError(e) => PhotoError::Io(e),
        image::ImageError::Unsupported(_) => PhotoError::Unsupported,
        image::ImageError::Limits(l) => {
            PhotoError::TooLarge(format!("over the decoding limits ({l})"))
        }
        other => PhotoError::Corrupt(other.to_string()),
    }
}

/// The evaluation transform: resize, centre crop, normalise.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// The shorter side is resized to this many pixels.
    pub resize: u32,
    /// Side of the square centre crop.
    pub crop: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocess {
    /// Resize 256, crop 224, ImageNet statistics: what torchvision backbones were trained with.
    pub fn imagenet() -> Self {
        Self {
            resize: 256,
            crop: 224,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }

    /// Number of `f32` values [`Preprocess::apply`] produces.
    pub fn len(&self) -> usize {
        3 * (self.crop as usize).pow(2)
    }

    pub fn is_empty(&self) -> bool {
        self.crop == 0
    }

    /// Channel-major normalised pixels of the centre crop, appended to `out`.
    pub fn apply(&self, img: &RgbImage, out: &mut Vec<f32>) {
        let (w, h) = img.dimensions();
        // torchvision's Resize(int): the shorter side becomes `resize`, the longer keeps the aspect ratio
        // (truncated). An image smaller than the crop is scaled up to cover it.
        let short = w.min(h).max(1);
        let scale = self.resize.max(self.crop) as f64 / short as f64;
        let (nw, nh) = if w <= h {
            (
                self.resize.max(self.crop),
                ((h as f64 * scale) as u32).max(self.crop),
            )
        } else {
            (
                ((w as f64 * scale) as u32).max(self.crop),
                self.resize.max(self.crop),
            )
        };
        let resized = if (nw, nh) == (w, h) {
            img.clone()
        } else {
            image::imageops::resize(img, nw, nh, FilterType::Triangle)
        };
        let left = (nw - self.crop) / 2;
        let top = (nh - self.crop) / 2;
        let c = self.crop as usize;
        let start = out.len();
        out.resize(start + 3 * c * c, 0.0);
        let planes = &mut out[start..];
        for y in 0..c {
            for x in 0..c {
                let p = resized.get_pixel(left + x as u32, top + y as u32).0;
                for ch in 0..3 {
                    planes[ch * c * c + y * c + x] =
                        (p[ch] as f32 / 255.0 - self.mean[ch]) / self.std[ch];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
