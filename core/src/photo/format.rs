//! What a file holds, told from its first bytes (and, for camera RAW files built on TIFF, its name).
//!
//! People's photos come as JPEG, PNG, WebP, TIFF, BMP and GIF (decoded by the `image` crate), HEIC/HEIF
//! from iPhones and AVIF (decoded by the system's libheif, loaded at run time: [`super::heif`]), and camera
//! RAW files, of which the embedded full-size JPEG preview is used ([`super::raw`]), as photo viewers do.

use std::io::Read;
use std::path::Path;

use image::ImageFormat;

/// Camera RAW file extensions (lower case). Most of these files are TIFF inside, so the extension is
/// what tells them from a plain TIFF.
pub const RAW_EXTENSIONS: &[&str] = &[
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "raf", "orf", "rw2", "pef",
    "srw", "x3f", "3fr", "iiq", "erf", "kdc", "mrw",
];

/// HEIF-family extensions (lower case).
pub const HEIF_EXTENSIONS: &[&str] = &["heic", "heif", "hif", "avif"];

/// Extensions of the formats the `image` crate decodes (lower case).
pub const PLAIN_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "webp", "bmp", "gif", "tif", "tiff",
];

/// The kinds of photo file hashlens reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    /// Decoded by the `image` crate (JPEG, PNG, WebP, BMP, GIF, TIFF).
    Image(ImageFormat),
    /// HEIC/HEIF (HEVC inside, iPhones) or AVIF (AV1 inside): decoded by libheif when it is installed.
    Heif,
    /// A camera RAW file: its embedded JPEG preview is decoded.
    Raw,
}

impl PhotoFormat {
    /// A short lower-case key (`scan --json`'s `formats`): jpeg, png, webp, bmp, gif, tiff, heif, raw.
    pub fn key(self) -> String {
        match self {
            Self::Image(f) => format!("{f:?}").to_lowercase(),
            Self::Heif => "heif".into(),
            Self::Raw => "raw".into(),
        }
    }

    /// What users call it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image(ImageFormat::Jpeg) => "JPEG",
            Self::Image(ImageFormat::Png) => "PNG",
            Self::Image(ImageFormat::WebP) => "WebP",
            Self::Image(ImageFormat::Bmp) => "BMP",
            Self::Image(ImageFormat::Gif) => "GIF",
            Self::Image(ImageFormat::Tiff) => "TIFF",
            Self::Image(_) => "image",
            Self::Heif => "HEIC/AVIF",
            Self::Raw => "camera RAW",
        }
    }
}

const PLAIN: &[ImageFormat] = &[
    ImageFormat::Jpeg,
    ImageFormat::Png,
    ImageFormat::WebP,
    ImageFormat::Bmp,
    ImageFormat::Gif,
    ImageFormat::Tiff,
];

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// Whether a file named `path` may be a photo (an extension listed here, or none: then the content
/// decides).
pub fn is_candidate_name(path: &Path) -> bool {
    match extension(path) {
        None => true,
        Some(ext) => [PLAIN_EXTENSIONS, RAW_EXTENSIONS, HEIF_EXTENSIONS]
            .iter()
            .any(|list| list.contains(&ext.as_str())),
    }
}

/// The format of a file that starts with `head` (its first 32 bytes or more) and is named `path`.
pub fn sniff(head: &[u8], path: &Path) -> Option<PhotoFormat> {
    if let Some(brand) = iso_brand(head) {
        return match &brand {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1"
            | b"avif" | b"avis" | b"mif2" => Some(PhotoFormat::Heif),
            b"crx " => Some(PhotoFormat::Raw),
            _ => None,
        };
    }
    let raw_name = extension(path).is_some_and(|e| RAW_EXTENSIONS.contains(&e.as_str()));
    // RAW files with a magic of their own (Fujifilm, Olympus, Panasonic).
    if head.starts_with(b"FUJIFILMCCD-RAW")
        || head.starts_with(b"IIRO")
        || head.starts_with(b"IIRS")
        || head.starts_with(b"MMOR")
        || head.starts_with(b"IIU\0")
    {
        return Some(PhotoFormat::Raw);
    }
    let plain = image::guess_format(head).ok().filter(|f| PLAIN.contains(f));
    match plain {
        // DNG, NEF, CR2, ARW, PEF … are TIFF inside: the name says RAW.
        Some(ImageFormat::Tiff) if raw_name => Some(PhotoFormat::Raw),
        Some(f) => Some(PhotoFormat::Image(f)),
        None => None,
    }
}

/// Bytes [`sniff`] needs from a file's start.
pub const HEAD: usize = 32;

/// Reads up to [`HEAD`] bytes from the start of `file` into `head`; returns how many (fewer for a short
/// file).
pub fn read_head(file: &mut impl Read, head: &mut [u8; HEAD]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The major brand of an ISO base media file (`....ftypBRND`).
fn iso_brand(head: &[u8]) -> Option<[u8; 4]> {
    (head.len() >= 12 && &head[4..8] == b"ftyp").then(|| head[8..12].try_into().expect("4 bytes"))
}

/// What is wrong with a JPEG that decoders accept anyway, filling what is missing with grey: `None`
/// for a whole file (or one that is not a JPEG at all, which the decoder words itself).
///
/// The file's segments are walked from the start (each by its length, so an EXIF thumbnail inside a
/// segment is never mistaken for the image) and each scan's entropy-coded data up to its next
/// marker. Two findings:
/// - the file ends before the end-of-image marker: a cut-off download or copy;
/// - the coded data is far too short for the size the header announces. Every block of luma costs
///   at least one bit in any Huffman-coded JPEG (its DC code), so data under half a bit per block
///   means a forged or damaged header (a 958-byte file that claims 18000 × 18000 pixels). Not
///   checked for arithmetic-coded files, which can go below that.
///
/// Data after the end-of-image marker (a motion photo's video, a maker's trailer) is not looked at.
pub fn jpeg_damage(bytes: &[u8]) -> Option<String> {
    const TRUNCATED: &str =
        "truncated: the file ends before the picture does (the missing part shows grey)";
    if bytes.len() < 4 || bytes[..2] != [0xFF, 0xD8] {
        return None;
    }
    let be16 = |at: usize| usize::from(u16::from_be_bytes([bytes[at], bytes[at + 1]]));
    let mut i = 2;
    let mut size: Option<(usize, usize)> = None;
    let mut arithmetic = false;
    let mut coded = 0usize;
    loop {
        // The next marker: 0xFF (any number of them, as fill), then its code.
        while i < bytes.len() && bytes[i] != 0xFF {
            i += 1;
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Some(TRUNCATED.into());
        };
        i += 1;
        match marker {
            0xD9 => break,
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        if i + 2 > bytes.len() {
            return Some(TRUNCATED.into());
        }
        let length = be16(i);
        if length < 2 {
            return None;
        }
        let end = i + length;
        if end > bytes.len() {
            return Some(TRUNCATED.into());
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) && length >= 7 {
            size = Some((be16(i + 5), be16(i + 3)));
            arithmetic = marker >= 0xC9;
        }
        i = end;
        if marker == 0xDA {
            // Entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or a restart.
            let start = i;
            loop {
                while i < bytes.len() && bytes[i] != 0xFF {
                    i += 1;
                }
                match bytes.get(i + 1) {
                    None => return Some(TRUNCATED.into()),
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(_) => break,
                }
            }
            coded += i - start;
        }
    }
    if let Some((w, h)) = size.filter(|_| !arithmetic) {
        let blocks = w.div_ceil(8) * h.div_ceil(8);
        if coded * 8 < blocks / 2 {
            return Some(format!(
                "damaged or forged: {coded} bytes of picture data cannot hold the {w} × {h} pixels its header announces (most of it shows grey)"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_their_first_bytes() {
        let p = Path::new;
        let ftyp = |brand: &[u8]| [&[0, 0, 0, 24][..], b"ftyp", brand, &[0; 8]].concat();
        assert_eq!(sniff(&ftyp(b"heic"), p("a.heic")), Some(PhotoFormat::Heif));
        assert_eq!(sniff(&ftyp(b"avif"), p("a")), Some(PhotoFormat::Heif));
        assert_eq!(sniff(&ftyp(b"crx "), p("a.cr3")), Some(PhotoFormat::Raw));
        assert_eq!(sniff(&ftyp(b"isom"), p("a.mp4")), None);
        let tiff = b"II*\0\x08\0\0\0rest of the header....";
        assert_eq!(sniff(tiff, p("a.dng")), Some(PhotoFormat::Raw));
        assert_eq!(sniff(tiff, p("a.NEF")), Some(PhotoFormat::Raw));
        assert_eq!(
            sniff(tiff, p("a.tif")),
            Some(PhotoFormat::Image(ImageFormat::Tiff))
        );
        assert_eq!(
            sniff(b"FUJIFILMCCD-RAW 0201", p("a.raf")),
            Some(PhotoFormat::Raw)
        );
        assert_eq!(sniff(b"IIRO\x08\0\0\0", p("a.orf")), Some(PhotoFormat::Raw));
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF", p("a.jpg")),
            Some(PhotoFormat::Image(ImageFormat::Jpeg))
        );
        assert_eq!(sniff(b"plain text, not a photo", p("a.jpg")), None);
        assert!(is_candidate_name(p("IMG_0001.HEIC")) && is_candidate_name(p("x.arw")));
        assert!(!is_candidate_name(p("notes.txt")));
    }
}
