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
    let exif = orientation_exif(6);
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

/// EXIF with one tag: orientation `o` (little-endian TIFF).
pub(super) fn orientation_exif(o: u16) -> Vec<u8> {
    [
        &b"II*\0"[..],
        &8u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &0x0112u16.to_le_bytes(),
        &3u16.to_le_bytes(),
        &1u32.to_le_bytes(),
        &o.to_le_bytes(),
        &[0, 0],
        &0u32.to_le_bytes(),
    ]
    .concat()
}

/// A photo-like test image: smooth shapes plus fine texture, so that downscaling has work to do.
fn textured(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let fine = ((x * 7 + y * 13) % 17) as f32 * 3.0;
        Rgb([
            (200.0 * fx + fine) as u8,
            (120.0 + 100.0 * (fy * 9.0).sin() + fine) as u8,
            (255.0 * (1.0 - fx * fy)) as u8,
        ])
    })
}

fn write_jpeg(path: &Path, img: &RgbImage, exif: Option<Vec<u8>>) {
    let mut bytes = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92);
    if let Some(exif) = exif {
        enc.set_exif_metadata(exif).unwrap();
    }
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn jpegs_decode_at_the_smallest_dct_scale_that_covers_the_side() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jpg");
    write_jpeg(&path, &textured(2100, 1500), None);
    let limits = DecodeLimits::default();
    // 1500 / 4 = 375 ≥ 256 but 1500 / 8 = 187.5 < 256: a quarter, rounded up (2100 / 4 = 525).
    let quarter = decode_at_least(&path, &limits, Some(256)).unwrap();
    assert_eq!(quarter.dimensions(), (525, 375));
    // 1500 / 8 = 187.5 ≥ 150: an eighth (2100 / 8 = 262.5 → 263, 188).
    assert_eq!(
        decode_at_least(&path, &limits, Some(150))
            .unwrap()
            .dimensions(),
        (263, 188)
    );
    // Nothing smaller covers 1000: full size, and `None` is always full size.
    assert_eq!(
        decode_at_least(&path, &limits, Some(1000))
            .unwrap()
            .dimensions(),
        (2100, 1500)
    );
    let full = decode_at_least(&path, &limits, None).unwrap();
    assert_eq!(full.dimensions(), (2100, 1500));
    // The reduced decode is the full one averaged 4 × 4 (the DCT keeps the block's low frequencies):
    // compare with a box filter of the full decode.
    let mut total = 0f64;
    for y in 0..375 {
        for x in 0..525 {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..4 {
                    for dx in 0..4 {
                        sum += full.get_pixel(x * 4 + dx, y * 4 + dy)[c] as u32;
                    }
                }
                total += (sum as f64 / 16.0 - quarter.get_pixel(x, y)[c] as f64).abs();
            }
        }
    }
    let mean = total / (525.0 * 375.0 * 3.0);
    assert!(
        mean < 3.0,
        "mean difference from a 4 × 4 box filter: {mean}"
    );
    // A PNG is decoded at full size whatever is asked.
    let png_path = dir.path().join("big.png");
    std::fs::write(&png_path, png(&DynamicImage::ImageRgb8(textured(600, 400)))).unwrap();
    assert_eq!(
        decode_at_least(&png_path, &limits, Some(100))
            .unwrap()
            .dimensions(),
        (600, 400)
    );
}

#[test]
fn reduced_jpegs_keep_exif_orientation_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    // Stored sideways (1600 × 1200, red on the left), EXIF 6: seen upright as 1200 × 1600, red on top.
    let img = red_left_blue_right(1600, 1200);
    let path = dir.path().join("sideways.jpg");
    write_jpeg(&path, &img, Some(orientation_exif(6)));
    let out = decode_at_least(&path, &DecodeLimits::default(), Some(256)).unwrap();
    assert_eq!(out.dimensions(), (300, 400), "a quarter, turned upright");
    assert!(out.get_pixel(150, 10)[0] > 200 && out.get_pixel(150, 390)[2] > 200);
    // The side limit applies to the stored size, before anything is decoded.
    let small = DecodeLimits {
        max_side: 1000,
        max_alloc: 1 << 30,
    };
    let err = decode_at_least(&path, &small, Some(256)).unwrap_err();
    assert!(matches!(err, PhotoError::TooLarge(_)), "{err}");
    // A truncated JPEG is an error, never a panic.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    match decode_at_least(&cut, &DecodeLimits::default(), Some(256)) {
        Err(PhotoError::Corrupt(_) | PhotoError::Io(_)) => {}
        // Some decoders fill a truncated scan with grey; then the size is still the reduced one.
        Ok(img) => assert_eq!(img.dimensions(), (300, 400)),
        Err(e) => panic!("{e}"),
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/formats")
        .join(name)
}

/// HEIC and AVIF fixtures made here with Debian's `heif-enc` (64 × 48, red left half, blue right):
/// decoded through libheif when it is installed, reported in words when it is not.
#[test]
fn heic_and_avif_decode_or_say_what_is_missing() {
    for name in ["red-left-64x48.heic", "red-left-64x48.avif"] {
        let path = fixture(name);
        let head = std::fs::read(&path).unwrap();
        assert_eq!(
            format::sniff(&head[..32], &path),
            Some(PhotoFormat::Heif),
            "{name}"
        );
        match decode_at_least(&path, &DecodeLimits::default(), Some(256)) {
            Ok(img) => {
                assert!(heif::available());
                assert_eq!(img.dimensions(), (64, 48), "{name}");
                let (left, right) = (img.get_pixel(8, 24), img.get_pixel(56, 24));
                assert!(left[0] > 200 && left[2] < 60, "{name}: {left:?}");
                assert!(right[2] > 200 && right[0] < 60, "{name}: {right:?}");
            }
            Err(e) => {
                assert!(!heif::available(), "{name}: {e}");
                assert!(matches!(e, PhotoError::NotInstalled(_)));
                assert_eq!(
                    e.to_string(),
                    "HEIC/AVIF support is not installed (libheif)"
                );
            }
        }
        // A damaged file is an error, never a crash.
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join(name);
        std::fs::write(&cut, &head[..head.len() / 2]).unwrap();
        assert!(decode_file(&cut, &DecodeLimits::default()).is_err());
    }
}

#[test]
fn raw_files_decode_their_preview_upright_and_reduced() {
    let dir = tempfile::tempdir().unwrap();
    let preview = red_left_blue_right(1600, 1200);
    let path = dir.path().join("DSC_0001.NEF");
    std::fs::write(&path, super::raw::tests::fake_raw(&preview, 6)).unwrap();
    let reduced = decode_at_least(&path, &DecodeLimits::default(), Some(256)).unwrap();
    assert_eq!(
        reduced.dimensions(),
        (300, 400),
        "a quarter of the preview, upright"
    );
    assert!(reduced.get_pixel(150, 10)[0] > 200 && reduced.get_pixel(150, 390)[2] > 200);
    let full = decode_file(&path, &DecodeLimits::default()).unwrap();
    assert_eq!(full.dimensions(), (1200, 1600));
    // The same bytes named .tif are a TIFF (and not a valid one).
    let tif = dir.path().join("scan.tif");
    std::fs::copy(&path, &tif).unwrap();
    assert!(decode_file(&tif, &DecodeLimits::default()).is_err());
    // A RAW without a preview says so.
    let bare = dir.path().join("bare.dng");
    std::fs::write(&bare, b"II*\0\x08\0\0\0\0\0\0\0\0\0sensor bytes only").unwrap();
    let err = decode_file(&bare, &DecodeLimits::default()).unwrap_err();
    assert!(err.to_string().contains("no JPEG preview"), "{err}");
}

/// Red on the left half, blue on the right.
fn red_left_blue_right(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([255, 0, 0])
        } else {
            Rgb([0, 0, 255])
        }
    })
}

/// A `w × h` JPEG of textured noise (so that its coded data has a realistic size).
fn noisy_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let v = ((x * 7919 + y * 104_729) % 251) as u8;
        Rgb([v, v.wrapping_mul(3), 255 - v])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

#[test]
fn whole_jpegs_and_trailers_are_sound_and_cut_or_forged_ones_are_named() {
    use format::jpeg_damage;
    let whole = noisy_jpeg(320, 240);
    assert_eq!(jpeg_damage(&whole), None);
    // A motion photo's video (or a maker's trailer) after the end-of-image marker is no damage.
    let mut trailer = whole.clone();
    trailer.extend_from_slice(b"\0\0\0\x18ftypmp42 and then a video");
    assert_eq!(jpeg_damage(&trailer), None);
    // Not a JPEG: left to the decoder.
    assert_eq!(jpeg_damage(b"plain text"), None);

    // Cut anywhere in the picture data, or in a segment.
    for cut in [whole.len() / 2, whole.len() - 2, 40] {
        let why = jpeg_damage(&whole[..cut]).expect("a cut file");
        assert!(why.starts_with("truncated"), "{cut}: {why}");
    }

    // An EXIF segment that holds a whole thumbnail (its own markers, end-of-image included) does not
    // hide that the main picture is cut.
    let thumb = noisy_jpeg(16, 16);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((thumb.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&thumb);
    let mut with_thumb = whole[..2].to_vec();
    with_thumb.extend_from_slice(&app1);
    with_thumb.extend_from_slice(&whole[2..]);
    assert_eq!(jpeg_damage(&with_thumb), None);
    let cut = with_thumb.len() * 2 / 3;
    assert!(jpeg_damage(&with_thumb[..cut]).is_some_and(|w| w.starts_with("truncated")));

    // A forged header: a small file that claims 18000 × 18000 pixels.
    let mut forged = noisy_jpeg(16, 16);
    let sof = forged
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("a baseline frame header");
    forged[sof + 5..sof + 7].copy_from_slice(&18000u16.to_be_bytes());
    forged[sof + 7..sof + 9].copy_from_slice(&18000u16.to_be_bytes());
    let why = jpeg_damage(&forged).expect("a forged header");
    assert!(why.contains("18000 × 18000"), "{why}");
}

#[test]
fn decoding_a_damaged_jpeg_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let whole = noisy_jpeg(1200, 900);
    let path = dir.path().join("half.jpg");
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    match decode_then(&path, &DecodeLimits::default(), Some(256), |img| {
        img.dimensions()
    }) {
        // The decoder filled the missing half: then the damage is named.
        Ok(d) => assert!(d.damage.is_some_and(|w| w.starts_with("truncated"))),
        Err(e) => assert!(
            matches!(e, PhotoError::Corrupt(_) | PhotoError::Io(_)),
            "{e}"
        ),
    }
    let good = dir.path().join("whole.jpg");
    std::fs::write(&good, &whole).unwrap();
    let d = decode_then(&good, &DecodeLimits::default(), Some(256), |img| {
        img.dimensions()
    })
    .unwrap();
    assert_eq!((d.value, d.damage), ((600, 450), None));
}
