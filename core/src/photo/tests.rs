use super::*;
use image::{ImageEncoder, Luma, Rgb, Rgba};

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A valid 1×1 PNG whose header is rewritten to claim `w × h` pixels (with a correct header CRC): the
/// shape of a decompression bomb, without the gigabytes.
fn lying_png(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = png(&DynamicImage::ImageRgb8(RgbImage::new(1, 1)));
    // Signature (8) + IHDR length (4) + "IHDR" (4), then width and height, then 5 bytes, then the CRC.
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn bombs_are_refused_before_allocation() {
    let err = decode_bytes(&lying_png(30_000, 30_000), &DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err}");
    // Within the side limit but over the memory limit.
    let small = DecodeLimits {
        max_side: 20_000,
        max_alloc: 1 << 20,
    };
    let err = decode_bytes(&lying_png(4_000, 4_000), &small).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err}");
}

#[test]
fn exif_orientation_is_applied() {
    // 4 × 2 image, red on the left half; EXIF orientation 6 = "rotate 90° clockwise to view".
    let img = RgbImage::from_fn(4, 2, |x, _| {
        if x < 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    });
    let exif: Vec<u8> = [
        &b"II*\0"[..],
        &8u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &0x0112u16.to_le_bytes(),
        &3u16.to_le_bytes(),
        &1u32.to_le_bytes(),
        &6u16.to_le_bytes(),
        &[0, 0],
        &0u32.to_le_bytes(),
    ]
    .concat();
    let mut jpeg = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 100);
    enc.set_exif_metadata(exif).unwrap();
    enc.write_image(img.as_raw(), 4, 2, image::ExtendedColorType::Rgb8)
        .unwrap();
    let out = decode_bytes(&jpeg, &DecodeLimits::default()).unwrap();
    assert_eq!(out.dimensions(), (2, 4), "rotated upright");
    // After a clockwise quarter turn the left (red) half is on top.
    assert!(
        out.get_pixel(0, 0)[0] > 200 && out.get_pixel(1, 3)[2] > 200,
        "{out:?}"
    );
}

#[test]
fn colour_types_become_rgb8() {
    let grey16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_pixel(3, 3, Luma([65_535u16])));
    let out = decode_bytes(&png(&grey16), &DecodeLimits::default()).unwrap();
    assert_eq!(out.get_pixel(1, 1), &Rgb([255, 255, 255]));
    let rgba =
        DynamicImage::ImageRgba8(image::ImageBuffer::from_pixel(2, 2, Rgba([10, 20, 30, 0])));
    let out = decode_bytes(&png(&rgba), &DecodeLimits::default()).unwrap();
    assert_eq!(
        out.get_pixel(0, 0),
        &Rgb([10, 20, 30]),
        "alpha is dropped, colour kept"
    );
}

#[test]
fn broken_files_are_errors() {
    assert!(matches!(
        decode_bytes(b"plain text", &DecodeLimits::default()),
        Err(PhotoError::Unsupported)
    ));
    let full = png(&DynamicImage::ImageRgb8(RgbImage::from_pixel(
        64,
        64,
        Rgb([1, 2, 3]),
    )));
    let err = decode_bytes(&full[..full.len() / 2], &DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(err, PhotoError::Corrupt(_) | PhotoError::Io(_)),
        "{err}"
    );
    assert!(matches!(
        decode_file(Path::new("/nonexistent/x.jpg"), &DecodeLimits::default()),
        Err(PhotoError::Io(_))
    ));
}

#[test]
fn preprocess_by_hand() {
    let p = Preprocess::imagenet();
    // A uniform image keeps its colour through resizing: every output value is known.
    let img = RgbImage::from_pixel(300, 400, Rgb([255, 0, 51]));
    let mut out = Vec::new();
    p.apply(&img, &mut out);
    assert_eq!(out.len(), 3 * 224 * 224);
    let want = [
        (1.0 - 0.485) / 0.229,
        (0.0 - 0.456) / 0.224,
        (0.2 - 0.406) / 0.225,
    ];
    for ch in 0..3 {
        let plane = &out[ch * 224 * 224..(ch + 1) * 224 * 224];
        assert!(
            plane.iter().all(|v| (v - want[ch]).abs() < 1e-5),
            "channel {ch}"
        );
    }
    // The crop is centred: a 256 × 256 image with a marked column at x = 16 + 5 puts it at x = 5.
    let mut img = RgbImage::from_pixel(256, 256, Rgb([0, 0, 0]));
    for y in 0..256 {
        img.put_pixel(21, y, Rgb([255, 255, 255]));
    }
    let mut out = Vec::new();
    p.apply(&img, &mut out);
    assert!((out[5] - want[0]).abs() < 1e-5);
    assert!(out[4] < 0.0 && out[6] < 0.0);
    // Tiny images are scaled up to cover the crop; appending keeps earlier values.
    p.apply(&RgbImage::new(10, 20), &mut out);
    assert_eq!(out.len(), 2 * 3 * 224 * 224);
}
