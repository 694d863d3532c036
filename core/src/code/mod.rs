//! Packed binary hash codes.
//!
//! A K-bit code is stored in `ceil(K / 64)` little-endian `u64` words: bit `i` of the code is bit `i % 64`
//! of word `i / 64`. Unused high bits of the last word are always zero, so the Hamming distance is the
//! popcount of the XOR of the words, with no masking in the hot loop.
//!
//! **Sign convention.** A continuous code `u` (e.g. the tanh output of a hash layer) becomes bit `1` where
//! `u ≥ 0` and bit `0` where `u < 0`: zero maps to `+1`. PyTorch's `sign()` maps 0 to 0 (a "half match");
//! with tanh heads exact zeros practically never occur, and a binary code needs a definite bit
//! (../shared/spec/methods.md §10.2). `NaN` maps to `0` (it is not `≥ 0`).
//!
//! **Bytes.** `K / 8` bytes, byte `j` holding bits `8j..8j+8` with bit `8j` as its least significant bit —
//! the same layout FAISS binary indexes use, so codes can be exchanged with it byte for byte.

mod book;
mod file;
pub mod map;
pub mod stats;

pub use crate::io::FileError;
pub use book::{CodeBook, SharedWords, WordSource};
pub use file::{read_codes, write_codes_atomic};

use std::fmt;

/// The largest supported code length in bits.
pub const MAX_BITS: usize = 1024;

/// Errors from building or parsing codes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodeError {
    #[error("code length {0} bits is not supported: use a multiple of 8 between 8 and {MAX_BITS}")]
    BadLength(usize),
    #[error("expected {expected} values for a {expected}-bit code, got {got}")]
    WrongCount { expected: usize, got: usize },
    #[error("expected {expected} bytes for a {bits}-bit code, got {got}")]
    WrongBytes {
        bits: usize,
        expected: usize,
        got: usize,
    },
    #[error("invalid character {0:?} in a bit string (only '0' and '1' are allowed)")]
    BadBitChar(char),
    #[error("codes of different lengths: {0} and {1} bits")]
    Mismatch(usize, usize),
    #[error("a code has bits set beyond its length")]
    Padding,
}

/// Checks that `bits` is a supported code length.
pub fn check_bits(bits: usize) -> Result<(), CodeError> {
    if bits == 0 || !bits.is_multiple_of(8) || bits > MAX_BITS {
        return Err(CodeError::BadLength(bits));
    }
    Ok(())
}

/// Number of `u64` words for a code of `bits` bits.
pub const fn words_for(bits: usize) -> usize {
    bits.div_ceil(64)
}

/// One packed binary code of `bits` bits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HashCode {
    bits: usize,
    words: Vec<u64>,
}

impl HashCode {
    /// An all-zero code.
    pub fn zeros(bits: usize) -> Result<Self, CodeError> {
        check_bits(bits)?;
        Ok(Self {
            bits,
            words: vec![0; words_for(bits)],
        })
    }

    /// Binarises a continuous code by sign (`u ≥ 0` → 1; see the module docs).
    pub fn from_signs(values: &[f32]) -> Result<Self, CodeError> {
        let mut code = Self::zeros(values.len())?;
        pack_signs(values, &mut code.words);
        Ok(code)
    }

    /// Builds a code from its packed words; bits beyond `bits` must be zero.
    pub fn from_words(bits: usize, words: &[u64]) -> Result<Self, CodeError> {
        check_bits(bits)?;
        if words.len() != words_for(bits) {
            return Err(CodeError::WrongCount {
                expected: words_for(bits),
                got: words.len(),
            });
        }
        let mut words = words.to_vec();
        clear_padding(bits, &mut words);
        Ok(Self { bits, words })
    }

    /// Reads a code from `bits / 8` bytes in the FAISS-compatible layout.
    pub fn from_bytes(bits: usize, bytes: &[u8]) -> Result<Self, CodeError> {
        let mut code = Self::zeros(bits)?;
        unpack_bytes(bits, bytes, &mut code.words)?;
        Ok(code)
    }

    /// Parses a string of `'0'`/`'1'` characters, bit 0 first (the inverse of `Display`).
    pub fn parse_bits(s: &str) -> Result<Self, CodeError> {
        let s = s.trim();
        let mut code = Self::zeros(s.chars().count())?;
        for (i, c) in s.chars().enumerate() {
            match c {
                '0' => {}
                '1' => code.words[i / 64] |= 1 << (i % 64),
                other => return Err(CodeError::BadBitChar(other)),
            }
        }
        Ok(code)
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// Bit `i` (panics when `i ≥ bits`).
    pub fn bit(&self, i: usize) -> bool {
        assert!(
            i < self.bits,
            "bit {i} out of range for a {}-bit code",
            self.bits
        );
        self.words[i / 64] >> (i % 64) & 1 == 1
    }

    /// The code in the FAISS-compatible byte layout (`bits / 8` bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bits / 8);
        write_bytes(self.bits, &self.words, &mut out);
        out
    }

    /// The code as ±1 values, the form the training losses and `b_iᵀ b_j` use.
    pub fn to_signs(&self) -> Vec<f32> {
        (0..self.bits)
            .map(|i| if self.bit(i) { 1.0 } else { -1.0 })
            .collect()
    }

    /// Hamming distance to another code of the same length.
    pub fn hamming(&self, other: &HashCode) -> Result<u32, CodeError> {
        if self.bits != other.bits {
            return Err(CodeError::Mismatch(self.bits, other.bits));
        }
        Ok(hamming_words(&self.words, &other.words))
    }
}

impl fmt::Display for HashCode {
    /// `'0'`/`'1'` characters, bit 0 first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = (0..self.bits)
            .map(|i| if self.bit(i) { '1' } else { '0' })
            .collect();
        f.write_str(&s)
    }
}

impl fmt::Debug for HashCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashCode({}b {})", self.bits, self)
    }
}

/// Portable Hamming distance between two packed codes (the search module has the fast kernels).
pub fn hamming_words(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

pub(crate) fn pack_signs(values: &[f32], words: &mut [u64]) {
    words.fill(0);
    for (i, &v) in values.iter().enumerate() {
        if v >= 0.0 {
            words[i / 64] |= 1 << (i % 64);
        }
    }
}

pub(crate) fn clear_padding(bits: usize, words: &mut [u64]) {
    if !bits.is_multiple_of(64)
        && let Some(last) = words.last_mut()
    {
        *last &= (1u64 << (bits % 64)) - 1;
    }
}

pub(crate) fn unpack_bytes(bits: usize, bytes: &[u8], words: &mut [u64]) -> Result<(), CodeError> {
    if bytes.len() != bits / 8 {
        return Err(CodeError::WrongBytes {
            bits,
            expected: bits / 8,
            got: bytes.len(),
        });
    }
    words.fill(0);
    for (j, &b) in bytes.iter().enumerate() {
        words[j / 8] |= (b as u64) << (8 * (j % 8));
    }
    Ok(())
}

pub(crate) fn write_bytes(bits: usize, words: &[u64], out: &mut Vec<u8>) {
    for j in 0..bits / 8 {
        out.push((words[j / 8] >> (8 * (j % 8))) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_convention_zero_is_one() {
        let c = HashCode::from_signs(&[0.5, -0.1, 0.0, -0.0, -3.0, 1.0, f32::NAN, 2.0]).unwrap();
        // -0.0 >= 0.0 is true in IEEE arithmetic, so negative zero is also a 1 bit.
        assert_eq!(c.to_string(), "10110101");
        assert_eq!(c.words(), &[0b1010_1101]);
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(HashCode::zeros(0), Err(CodeError::BadLength(0)));
        assert_eq!(HashCode::zeros(12), Err(CodeError::BadLength(12)));
        assert_eq!(HashCode::zeros(1032), Err(CodeError::BadLength(1032)));
        for bits in [8, 16, 32, 48, 64, 72, 128, 256, 1024] {
            assert_eq!(
                HashCode::zeros(bits).unwrap().words().len(),
                bits.div_ceil(64)
            );
        }
    }

    #[test]
    fn bytes_match_faiss_layout() {
        // bits 0 and 9 set: byte 0 = 0b1, byte 1 = 0b10.
        let c = HashCode::parse_bits("1000000001000000").unwrap();
        assert_eq!(c.to_bytes(), vec![1, 2]);
        assert_eq!(HashCode::from_bytes(16, &[1, 2]).unwrap(), c);
        assert!(matches!(
            HashCode::from_bytes(16, &[1]),
            Err(CodeError::WrongBytes { .. })
        ));
    }

    #[test]
    fn round_trips_across_word_boundaries() {
        let s: String = (0..200)
            .map(|i| if (i * 7 + i / 3) % 5 < 2 { '1' } else { '0' })
            .collect();
        let c = HashCode::parse_bits(&s).unwrap();
        assert_eq!(c.to_string(), s);
        assert_eq!(HashCode::from_bytes(200, &c.to_bytes()).unwrap(), c);
        let signs = c.to_signs();
        assert_eq!(HashCode::from_signs(&signs).unwrap(), c);
    }

    #[test]
    fn padding_bits_are_cleared() {
        let c = HashCode::from_words(48, &[u64::MAX]).unwrap();
        assert_eq!(c.words(), &[(1u64 << 48) - 1]);
        assert_eq!(c.hamming(&HashCode::zeros(48).unwrap()).unwrap(), 48);
    }

    #[test]
    fn hamming_by_hand() {
        let a = HashCode::parse_bits("11110000").unwrap();
        let b = HashCode::parse_bits("10100101").unwrap();
        assert_eq!(a.hamming(&b).unwrap(), 4);
        assert_eq!(
            a.hamming(&HashCode::zeros(16).unwrap()),
            Err(CodeError::Mismatch(8, 16))
        );
        assert_eq!(
            HashCode::parse_bits("10x00000"),
            Err(CodeError::BadBitChar('x'))
        );
    }
}
