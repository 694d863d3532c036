//! Camera RAW files: the embedded JPEG preview.
//!
//! Every RAW format in use (DNG, CR2/CR3, NEF, ARW, RAF, ORF, RW2, PEF …) carries, beside the sensor data,
//! a JPEG rendered by the camera — for most cameras at full resolution — which is what photo viewers and
//! file managers show. Demosaicing the sensor data would need each camera's colour matrices; for finding
//! similar photos the camera's own rendering is as good and costs a JPEG decode. The previews are found
//! the same way in every format: each `FF D8 FF` (a JPEG's start) whose header parses as an 8-bit
//! colour or grey JPEG is a candidate, and the one with the most pixels is used. (The sensor data of
//! compressed RAWs is lossless JPEG, 12–16 bits a sample: never a candidate.) The orientation is the RAW
//! file's own (its TIFF header's EXIF orientation) when it has one, else the preview's.

/// Candidates examined at most: a RAW holds two to four previews; more `FF D8 FF` runs would be
/// coincidences inside uncompressed sensor data.
const MAX_CANDIDATES: usize = 64;

/// The embedded JPEG with the most pixels, as a slice of `bytes` from its start to the file's end (the
/// decoder stops at the JPEG's end marker), or `None` when there is none.
pub fn largest_preview(bytes: &[u8]) -> Option<&[u8]> {
    let mut best: Option<(u64, usize)> = None;
    let mut tried = 0;
    let mut at = 0;
    while let Some(found) = find_soi(&bytes[at..]) {
        let start = at + found;
        at = start + 3;
        let mut decoder = jpeg_decoder::Decoder::new(&bytes[start..]);
        if decoder.read_info().is_ok()
            && let Some(info) = decoder.info()
            && matches!(
                info.pixel_format,
                jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8
            )
        {
            let pixels = u64::from(info.width) * u64::from(info.height);
            if best.is_none_or(|(p, _)| pixels > p) {
                best = Some((pixels, start));
            }
        }
        tried += 1;
        if tried == MAX_CANDIDATES {
            break;
        }
    }
    best.map(|(_, start)| &bytes[start..])
}

fn find_soi(bytes: &[u8]) -> Option<usize> {
    bytes.windows(3).position(|w| w == [0xFF, 0xD8, 0xFF])
}

/// The EXIF orientation in a TIFF-structured RAW file's first directory, when it has one.
pub fn tiff_orientation(bytes: &[u8]) -> Option<image::metadata::Orientation> {
    if !(bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*")) {
        return None;
    }
    image::metadata::Orientation::from_exif_chunk(bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb, RgbImage};

    fn jpeg(img: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    /// A DNG-like file: a TIFF header whose first directory holds the orientation, a small thumbnail
    /// JPEG, sensor-like bytes (with a stray `FF D8 FF`), and the full-size preview JPEG. Made here, by
    /// hand: the layout viewers rely on, not a real camera's file.
    pub(crate) fn fake_raw(preview: &RgbImage, orientation: u16) -> Vec<u8> {
        let mut tiff = crate::photo::tests::orientation_exif(orientation);
        tiff.extend(jpeg(&RgbImage::from_pixel(160, 120, Rgb([9, 9, 9]))));
        tiff.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8));
        tiff.extend([0xFF, 0xD8, 0xFF, 0x00, 0x01]);
        tiff.extend(jpeg(preview));
        tiff.extend([0u8; 64]);
        tiff
    }

    #[test]
    fn the_largest_preview_and_the_raw_orientation() {
        let preview = RgbImage::from_fn(640, 480, |x, _| Rgb([(x / 3) as u8, 100, 50]));
        let raw = fake_raw(&preview, 6);
        let found = largest_preview(&raw).unwrap();
        let mut d = jpeg_decoder::Decoder::new(found);
        d.read_info().unwrap();
        let info = d.info().unwrap();
        assert_eq!((info.width, info.height), (640, 480));
        assert_eq!(
            tiff_orientation(&raw),
            Some(image::metadata::Orientation::Rotate90)
        );
        assert!(largest_preview(b"no jpeg in here \xFF\xD8\xFF\x00").is_none());
    }
}
