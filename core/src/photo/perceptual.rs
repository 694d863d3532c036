//! Perceptual hashes: the 64-bit fingerprints similar-photo finders (czkawka, digiKam, imagehash) compare,
//! computed here so that the app can show one query under them beside the learned codes.
//!
//! - **dHash** (difference hash, Krawetz 2013): the photo in grey at 9 × 8, one bit per horizontally
//!   neighbouring pair, set where the right pixel is brighter.
//! - **pHash** (the DCT hash of imagehash): the photo in grey at 32 × 32, its 2-D DCT-II, and of the 8 × 8
//!   lowest frequencies one bit each, set where the coefficient exceeds their median.
//!
//! Bit `r · 8 + c` is row `r`, column `c`. Both are made to find copies of one photo (resized, re-saved),
//! not photos of the same kind of thing: that difference is what the comparison shows.

use image::{RgbImage, imageops};

use crate::code::HashCode;

/// Brightness (ITU-R 601 luma, as PIL's "L") resized to `w` × `h`, row by row.
fn grey(img: &RgbImage, w: u32, h: u32) -> Vec<f64> {
    let small = imageops::resize(img, w, h, imageops::FilterType::Triangle);
    small
        .pixels()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect()
}

/// 64 bits (bit `k` of `bits[k]`) as a code.
fn code_of(bits: impl Iterator<Item = bool>) -> HashCode {
    let word = bits
        .enumerate()
        .fold(0u64, |w, (k, b)| w | (u64::from(b) << k));
    HashCode::from_words(64, &[word]).expect("64 bits are a valid code")
}

/// The photo's difference hash.
pub fn dhash(img: &RgbImage) -> HashCode {
    let g = grey(img, 9, 8);
    code_of((0..8).flat_map(|r| {
        let g = &g;
        (0..8).map(move |c| g[r * 9 + c + 1] > g[r * 9 + c])
    }))
}

/// The photo's DCT hash.
pub fn phash(img: &RgbImage) -> HashCode {
    const N: usize = 32;
    let g = grey(img, N as u32, N as u32);
    let coefficients = dct_2d(&g, N);
    let low: Vec<f64> = (0..8)
        .flat_map(|u| (0..8).map(move |v| (u, v)))
        .map(|(u, v)| coefficients[u * N + v])
        .collect();
    let mut sorted = low.clone();
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    code_of(low.into_iter().map(|x| x > median))
}

/// pHash of the photo as it is, turned by 90°, 180° and 270°, and of each of those mirrored: a copy
/// that was turned or mirrored has its original's pHash among them (the edit benchmark's "any turn").
pub fn phash_turns(img: &RgbImage) -> [HashCode; 8] {
    let turns = [
        img.clone(),
        imageops::rotate90(img),
        imageops::rotate180(img),
        imageops::rotate270(img),
    ];
    let mut out = Vec::with_capacity(8);
    for t in &turns {
        out.push(phash(t));
        out.push(phash(&imageops::flip_horizontal(t)));
    }
    out.try_into().expect("eight variants")
}

/// pHash of the photo's centred crop keeping `fraction` of its width and height (a copy cropped to its
/// centre has about this pHash).
pub fn phash_centre_crop(img: &RgbImage, fraction: f64) -> HashCode {
    let (w, h) = img.dimensions();
    let (cw, ch) = (
        ((w as f64 * fraction).round() as u32).clamp(1, w.max(1)),
        ((h as f64 * fraction).round() as u32).clamp(1, h.max(1)),
    );
    let crop = imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
    phash(&crop)
}

/// The centred crops a [`PerceptualPrint`] keeps the pHash of, as fractions of the photo's width and
/// height: every 10 % from 95 % to 55 %, so that any centred crop from half the photo up is within 5 % of
/// one. None is the edit benchmark's own (80 % and 60 %); three crops 20 % apart (90, 70, 50 %) found
/// crops between them much less often (`benchmarks/results/codes-for-copies.md`).
pub const PRINT_CROPS: [f64; 5] = [0.95, 0.85, 0.75, 0.65, 0.55];

/// A photo's perceptual print: pHash of the photo as it is and turned or mirrored every way (8), and of
/// its centred crops ([`PRINT_CROPS`], 5). Two prints' [`PerceptualPrint::distance`] is small when one
/// photo is a turned, mirrored or centre-cropped copy of the other (resized, re-saved, brightened or
/// greyed copies keep their pHash anyway): the near-duplicate verdict's second signal beside the
/// learned code (`crate::eval::TwoSignalPairs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PerceptualPrint {
    /// pHash words of the photo's turns and mirror images, as [`phash_turns`] orders them (the photo as
    /// it is first).
    pub turns: [u64; 8],
    /// pHash words of its centred crops, in [`PRINT_CROPS`] order.
    pub crops: [u64; PRINT_CROPS.len()],
}

impl PerceptualPrint {
    /// Words a print takes.
    pub const WORDS: usize = 8 + PRINT_CROPS.len();

    /// The print of a photo (decoded as [`Self::of_file`] does: the reduced size that still covers 256
    /// pixels, which the calibrations were measured on).
    pub fn of(img: &RgbImage) -> Self {
        Self {
            turns: phash_turns(img).map(|h| h.words()[0]),
            crops: PRINT_CROPS.map(|f| phash_centre_crop(img, f).words()[0]),
        }
    }

    /// The print of the photo at `path`, decoded at the reduced size that still covers 256 pixels (as
    /// the encoder decodes it: a 12 MP JPEG at an eighth of its size).
    pub fn of_file(path: &std::path::Path) -> Result<Self, super::PhotoError> {
        let img = super::decode_at_least(path, &super::DecodeLimits::default(), Some(256))?;
        Ok(Self::of(&img))
    }

    /// The pHash of the photo as it is.
    pub fn phash(&self) -> u64 {
        self.turns[0]
    }

    /// The least pHash distance (of 64 bits) between the one photo as it is and the other turned,
    /// mirrored or centre-cropped, either way round: symmetric, and 0 for a photo and its exact turn.
    pub fn distance(&self, other: &Self) -> u32 {
        let d = |a: u64, b: u64| (a ^ b).count_ones();
        let (a, b) = (self.phash(), other.phash());
        let turned = self.turns.iter().zip(&other.turns);
        let cropped = self.crops.iter().zip(&other.crops);
        turned
            .map(|(&x, &y)| d(a, y).min(d(x, b)))
            .chain(cropped.map(|(&x, &y)| d(a, y).min(d(x, b))))
            .min()
            .expect("eight turns")
    }

    /// The print as words ([`Self::WORDS`]: turns, then crops), as files keep it.
    pub fn to_words(&self) -> [u64; Self::WORDS] {
        let mut out = [0; Self::WORDS];
        out[..8].copy_from_slice(&self.turns);
        out[8..].copy_from_slice(&self.crops);
        out
    }

    /// The inverse of [`Self::to_words`].
    pub fn from_words(words: &[u64; Self::WORDS]) -> Self {
        Self {
            turns: words[..8].try_into().expect("8 words"),
            crops: words[8..].try_into().expect("a word per crop"),
        }
    }
}

/// The 2-D DCT-II of an `n` × `n` block (row by row), unnormalised: rows, then columns.
fn dct_2d(block: &[f64], n: usize) -> Vec<f64> {
    let basis: Vec<f64> = (0..n * n)
        .map(|k| {
            let (u, x) = (k / n, k % n);
            (std::f64::consts::PI * (2 * x + 1) as f64 * u as f64 / (2 * n) as f64).cos()
        })
        .collect();
    let transform_rows = |m: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; n * n];
        for r in 0..n {
            for u in 0..n {
                out[r * n + u] = (0..n).map(|x| m[r * n + x] * basis[u * n + x]).sum();
            }
        }
        out
    };
    let transpose =
        |m: &[f64]| -> Vec<f64> { (0..n * n).map(|k| m[(k % n) * n + k / n]).collect() };
    // Rows give [r][v]; transposed, rows again give [v][u]; transposed back, [u][v].
    transpose(&transform_rows(&transpose(&transform_rows(block))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn demo(name: &str) -> RgbImage {
        let path = format!("{}/../assets/demo/{name}.jpg", env!("CARGO_MANIFEST_DIR"));
        image::open(path).unwrap().into_rgb8()
    }

    fn bits(code: &HashCode) -> u64 {
        code.words()[0]
    }

    #[test]
    fn a_turned_or_mirrored_copy_has_its_originals_phash_among_its_turns() {
        let cat = demo("chelsea");
        let original = phash(&cat);
        assert_eq!(
            phash_turns(&cat)[0],
            original,
            "the first is the photo as it is"
        );
        for copy in [
            imageops::rotate90(&cat),
            imageops::rotate180(&cat),
            imageops::rotate270(&cat),
            imageops::flip_horizontal(&cat),
            imageops::flip_vertical(&cat),
        ] {
            assert!(phash(&copy) != original, "the edit changes the plain pHash");
            assert!(phash_turns(&copy).contains(&original));
        }
    }

    /// A turned, mirrored or centre-cropped copy is near its original's print, either way round; other
    /// photos are not.
    #[test]
    fn a_print_finds_turned_mirrored_and_cropped_copies_either_way_round() {
        let cat = demo("chelsea");
        let print = PerceptualPrint::of(&cat);
        let (w, h) = cat.dimensions();
        let crop = |f: f64| {
            let (cw, ch) = ((w as f64 * f) as u32, (h as f64 * f) as u32);
            imageops::crop_imm(&cat, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
        };
        let plain = |other: &PerceptualPrint| (print.phash() ^ other.phash()).count_ones();
        // Turns and the crops the print keeps: as near as a re-saved copy; the plain pHash is far.
        for (what, copy, within) in [
            ("turned", imageops::rotate90(&cat), 0),
            ("mirrored", imageops::flip_horizontal(&cat), 0),
            ("cropped to 75 %", crop(0.75), 2),
        ] {
            let other = PerceptualPrint::of(&copy);
            let d = print.distance(&other);
            assert!(d <= within && plain(&other) >= 20, "{what}: {d} bits");
            assert_eq!(d, other.distance(&print), "{what}: symmetric");
        }
        // Crops between the kept ones come nearer than by the plain pHash.
        for f in [0.8, 0.6] {
            let other = PerceptualPrint::of(&crop(f));
            assert!(print.distance(&other) < plain(&other), "{f}");
        }
        for name in ["brick", "horse", "coffee", "astronaut"] {
            let d = print.distance(&PerceptualPrint::of(&demo(name)));
            assert!(d >= 12, "{name}: {d} bits");
        }
        assert_eq!(PerceptualPrint::from_words(&print.to_words()), print);
        assert_eq!(print.distance(&print), 0);
    }

    #[test]
    fn dhash_by_hand() {
        // Brighter to the right everywhere: every bit set; brighter to the left: none.
        let rising = RgbImage::from_fn(90, 80, |x, _| Rgb([(x * 2) as u8; 3]));
        assert_eq!(bits(&dhash(&rising)), u64::MAX);
        let falling = RgbImage::from_fn(90, 80, |x, _| Rgb([(255 - x * 2) as u8; 3]));
        assert_eq!(bits(&dhash(&falling)), 0);
        // Rising in the top half, falling in the bottom half: the first four rows' bits (0..32) set.
        let half = RgbImage::from_fn(90, 80, |x, y| {
            Rgb([if y < 40 {
                (x * 2) as u8
            } else {
                (255 - x * 2) as u8
            }; 3])
        });
        assert_eq!(bits(&dhash(&half)), (1u64 << 32) - 1);
    }

    #[test]
    fn the_dct_is_the_textbook_formula() {
        // Against the direct double sum X[u][v] = Σ_x Σ_y f(x, y) cos(π(2x+1)u/2n) cos(π(2y+1)v/2n).
        let n = 8;
        let block: Vec<f64> = (0..n * n).map(|k| ((k * 37 % 23) as f64) - 11.0).collect();
        let fast = dct_2d(&block, n);
        let c = |a: usize, x: usize| {
            (std::f64::consts::PI * (2 * x + 1) as f64 * a as f64 / (2 * n) as f64).cos()
        };
        for u in 0..n {
            for v in 0..n {
                let direct: f64 = (0..n)
                    .flat_map(|x| (0..n).map(move |y| (x, y)))
                    .map(|(x, y)| block[x * n + y] * c(u, x) * c(v, y))
                    .sum();
                assert!((fast[u * n + v] - direct).abs() < 1e-9, "{u} {v}");
            }
        }
        // A flat block has only its DC coefficient.
        let flat = dct_2d(&[3.0; 64], 8);
        assert!((flat[0] - 192.0).abs() < 1e-9);
        assert!(flat[1..].iter().all(|x| x.abs() < 1e-9));
    }

    #[test]
    fn copies_of_a_photo_keep_their_hash_and_other_photos_do_not() {
        let cat = demo("chelsea");
        let half = imageops::resize(
            &cat,
            cat.width() / 2,
            cat.height() / 2,
            imageops::FilterType::Triangle,
        );
        let distance = |a: &HashCode, b: &HashCode| a.hamming(b).unwrap();
        for hash in [dhash, phash] {
            assert!(distance(&hash(&cat), &hash(&half)) <= 4);
            assert!(distance(&hash(&cat), &hash(&demo("chelsea_small"))) <= 8);
            for other in ["brick", "horse", "coffee", "astronaut"] {
                assert!(distance(&hash(&cat), &hash(&demo(other))) >= 16, "{other}");
            }
        }
    }
}
