//! Decoding photos safely and turning them into network input.
//!
//! A photo library holds whatever people put there: 100-megapixel panoramas, PNGs whose header claims
//! 30,000 × 30,000 pixels over a few bytes of data (a decompression bomb), CMYK or 16-bit files, phone
//! pictures stored sideways with an EXIF orientation tag, iPhones' HEIC, cameras' RAW files. Decoding
//! here:
//! - reads JPEG, PNG, WebP, TIFF, BMP and GIF (the `image` crate), HEIC/HEIF and AVIF (the system's
//!   libheif, loaded at run time: [`heif`]) and camera RAW files through their embedded JPEG preview
//!   ([`raw`]); [`format`] tells them apart from their first bytes;
//! - decodes a large JPEG at the reduced size that is needed ([`decode_at_least`]: 1/2, 1/4 or 1/8 in the
//!   DCT domain), so a 12-megapixel photo for a 224-pixel network costs an eighth of the work and 1/64
//!   of the memory;
//! - refuses images beyond [`DecodeLimits`] from the header, before any pixel buffer is allocated;
//! - applies the EXIF orientation (HEIF: its rotation and mirror boxes; RAW: the file's own tag), so a
//!   portrait photo is seen upright, as the user sees it;
//! - converts every colour type (grey, grey+alpha, 16-bit, CMYK via the JPEG decoder) to 8-bit RGB. Alpha
//!   is dropped, as PIL's `convert("RGB")` does in the reference pipelines.
//!
//! [`Preprocess`] then does the evaluation transform of every deep-hashing repository: resize the shorter
//! side to 256, centre-crop 224 × 224, scale to [0, 1] and normalise with the ImageNet mean and standard
//! deviation, giving channel-major (CHW) `f32` values.

pub mod augment;
pub mod budget;
pub mod deform;
pub mod edit;
pub mod format;
pub mod heif;
pub mod perceptual;
pub mod raw;

pub use format::PhotoFormat;

use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

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
    /// The format needs a system library this machine lacks (the message names it).
    #[error("{0}")]
    NotInstalled(String),
    #[error("cannot decode: {0}")]
    Corrupt(String),
}

/// Decodes the file at `path` to upright 8-bit RGB, at full size.
pub fn decode_file(path: &Path, limits: &DecodeLimits) -> Result<RgbImage, PhotoError> {
    decode_at_least(path, limits, None)
}

/// Decodes the file at `path` to upright 8-bit RGB whose shorter side is at least `min_short_side`
/// pixels (`None`: full size), where the format can decode at a reduced size for less work: a JPEG
/// (or a RAW file's JPEG preview) is decoded at 1/2, 1/4 or 1/8 of its size in the DCT domain (what
/// libjpeg's `scale_denom` and Pillow's `draft` do), the smallest of these whose shorter side still
/// covers `min_short_side`. A 12-megapixel photo for a 256-pixel network input is decoded at 1/8
/// (504 × 378): several times faster, and 1/64 of the memory. Other formats, and JPEGs this decoder does
/// not scale (CMYK), are decoded at full size. The caller resizes to the exact size; the difference from
/// a full decode is measured in the tests (`tests/cifar10.rs`: features' cosine ≥ 0.99 on camera-sized
/// photos).
pub fn decode_at_least(
    path: &Path,
    limits: &DecodeLimits,
    min_short_side: Option<u32>,
) -> Result<RgbImage, PhotoError> {
    decode_held(path, limits, min_short_side, &mut None, &mut None)
}

/// A decoded photo (or what was made of it), and what is wrong with the file if the decoder got
/// through it anyway ([`format::jpeg_damage`]).
#[derive(Debug)]
pub struct Decoded<T> {
    pub value: T,
    pub damage: Option<String>,
}

/// [`decode_at_least`], then `then(photo)` (a resize) while the photo's share of the process's decode
/// budget is still held ([`budget`]): what indexing and the thumbnails use, so that the full-size
/// pixels of many photos are never in memory at once.
pub fn decode_then<T>(
    path: &Path,
    limits: &DecodeLimits,
    min_short_side: Option<u32>,
    then: impl FnOnce(RgbImage) -> T,
) -> Result<Decoded<T>, PhotoError> {
    let (mut held, mut damage) = (None, None);
    let img = decode_held(path, limits, min_short_side, &mut held, &mut damage)?;
    let value = then(img);
    drop(held);
    Ok(Decoded { value, damage })
}

/// [`decode_at_least`], leaving the budget reservation in `held` and, for a JPEG read whole, what is
/// wrong with it in `damage`.
fn decode_held<'b>(
    path: &Path,
    limits: &DecodeLimits,
    min_short_side: Option<u32>,
    held: &mut Option<budget::Reservation<'b>>,
    damage: &mut Option<String>,
) -> Result<RgbImage, PhotoError> {
    let mut file = crate::io::open_regular(path)?;
    let mut head = [0u8; format::HEAD];
    let got = format::read_head(&mut file, &mut head)?;
    file.seek(SeekFrom::Start(0))?;
    let whole = |mut file: std::fs::File| -> Result<Vec<u8>, PhotoError> {
        // Read whole only where a decoder needs the bytes in memory, and never a file larger than the
        // decoded pixels could be.
        let size = file.metadata()?.len();
        if size > limits.max_alloc {
            return Err(PhotoError::TooLarge(format!(
                "a {} MiB file, over the {} MiB decoding limit",
                size >> 20,
                limits.max_alloc >> 20
            )));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let (mut img, orientation) = match format::sniff(&head[..got], path) {
        Some(PhotoFormat::Heif) => return heif::decode(&whole(file)?, limits),
        Some(PhotoFormat::Raw) => {
            let bytes = whole(file)?;
            let preview = raw::largest_preview(&bytes).ok_or_else(|| {
                PhotoError::Corrupt("this RAW file holds no JPEG preview hashlens can read".into())
            })?;
            let (img, own) = decode_jpeg(preview, limits, min_short_side, held)?;
            (img, raw::tiff_orientation(&bytes).unwrap_or(own))
        }
        Some(PhotoFormat::Image(ImageFormat::Jpeg)) if min_short_side.is_some() => {
            let bytes = whole(file)?;
            let decoded = decode_jpeg(&bytes, limits, min_short_side, held)?;
            *damage = format::jpeg_damage(&bytes);
            decoded
        }
        _ => decode_reader(ImageReader::new(BufReader::new(file)), limits, held)?,
    };
    img.apply_orientation(orientation);
    Ok(into_rgb8(img))
}

/// Decodes an in-memory file to upright 8-bit RGB.
pub fn decode_bytes(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, PhotoError> {
    let (mut img, orientation) = decode_reader(
        ImageReader::new(BufReader::new(Cursor::new(bytes))),
        limits,
        &mut None,
    )?;
    img.apply_orientation(orientation);
    Ok(into_rgb8(img))
}

fn into_rgb8(img: DynamicImage) -> RgbImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    }
}

/// A JPEG at the smallest DCT scale whose shorter side covers `min_short_side` (full size when none
/// does, or for `None`), with the orientation its EXIF asks for (not applied yet).
fn decode_jpeg<'b>(
    bytes: &[u8],
    limits: &DecodeLimits,
    min_short_side: Option<u32>,
    held: &mut Option<budget::Reservation<'b>>,
) -> Result<(DynamicImage, Orientation), PhotoError> {
    if let Some(side) = min_short_side
        && let Some(reduced) = decode_jpeg_reduced(bytes, limits, side, held)?
    {
        return Ok(reduced);
    }
    decode_reader(
        ImageReader::with_format(BufReader::new(Cursor::new(bytes)), ImageFormat::Jpeg),
        limits,
        held,
    )
}

/// `None` when no reduction applies (a small photo) or this decoder cannot scale the file (its colour
/// model, or anything it cannot parse: the full decoder then words the error).
fn decode_jpeg_reduced<'b>(
    bytes: &[u8],
    limits: &DecodeLimits,
    min_short_side: u32,
    held: &mut Option<budget::Reservation<'b>>,
) -> Result<Option<(DynamicImage, Orientation)>, PhotoError> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    if decoder.read_info().is_err() {
        return Ok(None);
    }
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width > limits.max_side || height > limits.max_side {
        return Err(too_large_side(width, height, limits));
    }
    if !matches!(info.pixel_format, PixelFormat::RGB24 | PixelFormat::L8) {
        return Ok(None);
    }
    let short = width.min(height);
    let mut denom = 1;
    while denom < 8 && short.div_ceil(denom * 2) >= min_short_side.max(1) {
        denom *= 2;
    }
    if denom == 1 {
        return Ok(None);
    }
    let (w, h) = decoder
        .scale(width.div_ceil(denom) as u16, height.div_ceil(denom) as u16)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let (w, h) = (u32::from(w), u32::from(h));
    // The reduced pixels; a progressive file also keeps every coefficient at full size until the end.
    let channels = if info.pixel_format == PixelFormat::RGB24 {
        3
    } else {
        1
    };
    let mut need = u64::from(w) * u64::from(h) * channels;
    if info.coding_process == jpeg_decoder::CodingProcess::DctProgressive {
        need += u64::from(width.next_multiple_of(8))
            * u64::from(height.next_multiple_of(8))
            * channels
            * 2;
    }
    *held = Some(budget::decode_budget().reserve(need, &format!("{width} × {height} pixels"))?);
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    let pixels = decoder
        .decode()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let corrupt = || PhotoError::Corrupt("the decoded pixels do not fill the image".into());
    let img = match info.pixel_format {
        PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, pixels).ok_or_else(corrupt)?)
        }
        _ => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels).ok_or_else(corrupt)?)
        }
    };
    Ok(Some((img, orientation)))
}

fn too_large_side(width: u32, height: u32, limits: &DecodeLimits) -> PhotoError {
    PhotoError::TooLarge(format!(
        "{width} × {height} pixels, over the {} pixels a side this app accepts",
        limits.max_side
    ))
}

/// Decodes with the `image` crate under `limits`; the orientation is returned, not applied.
fn decode_reader<'b, R: std::io::BufRead + std::io::Seek>(
    reader: ImageReader<R>,
    limits: &DecodeLimits,
    held: &mut Option<budget::Reservation<'b>>,
) -> Result<(DynamicImage, Orientation), PhotoError> {
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
        return Err(too_large_side(width, height, limits));
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
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // The decoded pixels, their 8-bit RGB copy unless they are that already, a rotated copy.
    let rgb = u64::from(width) * u64::from(height) * 3;
    let mut need = bytes;
    if decoder.color_type() != image::ColorType::Rgb8 {
        need += rgb;
    }
    if orientation != Orientation::NoTransforms {
        need += rgb;
    }
    *held = Some(budget::decode_budget().reserve(need, &format!("{width} × {height} pixels"))?);
    let img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    Ok((img, orientation))
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
