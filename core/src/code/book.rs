//! `CodeBook`: many codes of one length in one contiguous buffer, the layout the search kernels stream.
//!
//! The buffer is either owned or a section of a memory-mapped index file ([`SharedWords`]): a mapped book
//! is searched in place, without copying or parsing its codes, and becomes owned on its first change.

use std::sync::Arc;

use super::{
    CodeError, HashCode, check_bits, clear_padding, pack_signs, unpack_bytes, words_for,
    write_bytes,
};

/// `len()` codes of `bits()` bits, stored back to back as `words_per_code()` words each.
#[derive(Clone)]
pub struct CodeBook {
    bits: usize,
    words: Words,
}

impl PartialEq for CodeBook {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits && self.words() == other.words()
    }
}

impl Eq for CodeBook {}

/// Packed words held elsewhere and shared: a section of a memory-mapped file, say. The holder keeps the
/// bytes alive and unchanged for as long as any clone exists.
pub trait WordSource: Send + Sync {
    /// The words, 8-byte aligned, in the host's byte order.
    fn words(&self) -> &[u64];
}

/// Words a [`CodeBook`] borrows from a shared [`WordSource`].
pub type SharedWords = Arc<dyn WordSource>;

#[derive(Clone)]
enum Words {
    Owned(Vec<u64>),
    Shared(SharedWords),
}

impl Words {
    fn as_slice(&self) -> &[u64] {
        match self {
            Words::Owned(v) => v,
            Words::Shared(s) => s.words(),
        }
    }

    /// The owned words, copied out of a shared source on the first change.
    fn to_mut(&mut self) -> &mut Vec<u64> {
        if let Words::Shared(s) = self {
            *self = Words::Owned(s.words().to_vec());
        }
        match self {
            Words::Owned(v) => v,
            Words::Shared(_) => unreachable!("made owned above"),
        }
    }
}

impl CodeBook {
    /// An empty book for codes of `bits` bits.
    pub fn new(bits: usize) -> Result<Self, CodeError> {
        check_bits(bits)?;
        Ok(Self {
            bits,
            words: Words::Owned(Vec::new()),
        })
    }

    /// A book over words held by `source` (`len × words_per_code` of them, padding bits already zero:
    /// the writer of the source cleared them). Fails on a ragged length or set padding bits.
    pub fn from_shared(bits: usize, source: SharedWords) -> Result<Self, CodeError> {
        check_bits(bits)?;
        let w = words_for(bits);
        let words = source.words();
        if !words.len().is_multiple_of(w) {
            return Err(CodeError::WrongCount {
                expected: w * words.len().div_ceil(w),
                got: words.len(),
            });
        }
        if !bits.is_multiple_of(64) {
            let mask = !((1u64 << (bits % 64)) - 1);
            if words.chunks_exact(w).any(|c| c[w - 1] & mask != 0) {
                return Err(CodeError::Padding);
            }
        }
        Ok(Self {
            bits,
            words: Words::Shared(source),
        })
    }

    /// A book taking ownership of packed words (`len × words_per_code`); padding bits are cleared.
    pub fn from_words(bits: usize, mut words: Vec<u64>) -> Result<Self, CodeError> {
        check_bits(bits)?;
        let w = words_for(bits);
        if !words.len().is_multiple_of(w) {
            return Err(CodeError::WrongCount {
                expected: w * words.len().div_ceil(w),
                got: words.len(),
            });
        }
        if !bits.is_multiple_of(64) {
            for code in words.chunks_exact_mut(w) {
                clear_padding(bits, code);
            }
        }
        Ok(Self {
            bits,
            words: Words::Owned(words),
        })
    }

    /// Binarises a row-major matrix of continuous codes (`rows × bits` values) by sign.
    pub fn from_signs(bits: usize, values: &[f32]) -> Result<Self, CodeError> {
        check_bits(bits)?;
        if !values.len().is_multiple_of(bits) {
            return Err(CodeError::WrongCount {
                expected: bits * values.len().div_ceil(bits),
                got: values.len(),
            });
        }
        let w = words_for(bits);
        let mut words = vec![0u64; values.len() / bits * w];
        for (row, code) in values.chunks_exact(bits).zip(words.chunks_exact_mut(w)) {
            pack_signs(row, code);
        }
        Ok(Self {
            bits,
            words: Words::Owned(words),
        })
    }

    /// Reads `bytes.len() / (bits / 8)` codes in the FAISS-compatible byte layout.
    pub fn from_bytes(bits: usize, bytes: &[u8]) -> Result<Self, CodeError> {
        check_bits(bits)?;
        let per = bits / 8;
        if !bytes.len().is_multiple_of(per) {
            return Err(CodeError::WrongBytes {
                bits,
                expected: per * bytes.len().div_ceil(per),
                got: bytes.len(),
            });
        }
        let w = words_for(bits);
        let mut words = vec![0u64; bytes.len() / per * w];
        for (src, code) in bytes.chunks_exact(per).zip(words.chunks_exact_mut(w)) {
            unpack_bytes(bits, src, code)?;
        }
        Ok(Self {
            bits,
            words: Words::Owned(words),
        })
    }

    /// `n` uniformly random codes from a seeded ChaCha8 stream (benchmarks and tests).
    pub fn random(bits: usize, n: usize, seed: u64) -> Result<Self, CodeError> {
        use rand::{RngCore, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let words = (0..n * words_for(bits)).map(|_| rng.next_u64()).collect();
        Self::from_words(bits, words)
    }

    /// All codes in the FAISS-compatible byte layout, back to back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.bits / 8);
        for code in self.words().chunks_exact(self.words_per_code()) {
            write_bytes(self.bits, code, &mut out);
        }
        out
    }

    /// Appends a code; its length must match the book's.
    pub fn push(&mut self, code: &HashCode) -> Result<(), CodeError> {
        if code.bits() != self.bits {
            return Err(CodeError::Mismatch(self.bits, code.bits()));
        }
        self.words.to_mut().extend_from_slice(code.words());
        Ok(())
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    pub fn words_per_code(&self) -> usize {
        words_for(self.bits)
    }

    pub fn len(&self) -> usize {
        self.words().len() / self.words_per_code()
    }

    pub fn is_empty(&self) -> bool {
        self.words().is_empty()
    }

    /// The packed words of all codes.
    pub fn words(&self) -> &[u64] {
        self.words.as_slice()
    }

    /// The packed words of code `i`.
    pub fn code_words(&self, i: usize) -> &[u64] {
        let w = self.words_per_code();
        &self.words()[i * w..(i + 1) * w]
    }

    /// Code `i` as an owned `HashCode`.
    pub fn get(&self, i: usize) -> HashCode {
        HashCode {
            bits: self.bits,
            words: self.code_words(i).to_vec(),
        }
    }

    /// A new book holding the codes at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> CodeBook {
        let mut words = Vec::with_capacity(indices.len() * self.words_per_code());
        for &i in indices {
            words.extend_from_slice(self.code_words(i));
        }
        CodeBook {
            bits: self.bits,
            words: Words::Owned(words),
        }
    }

    /// Iterates over the codes' packed words.
    pub fn iter_words(&self) -> std::slice::ChunksExact<'_, u64> {
        self.words().chunks_exact(self.words_per_code())
    }
}

impl std::fmt::Debug for CodeBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeBook({} × {} bits)", self.len(), self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_bytes_and_words_agree() {
        let values = [
            1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0, //
            -0.2, 0.3, 0.0, -5.0, 2.0, 2.0, -1.0, -1.0,
        ];
        let book = CodeBook::from_signs(8, &values).unwrap();
        assert_eq!(book.len(), 2);
        assert_eq!(book.get(0).to_string(), "10110001");
        assert_eq!(book.get(1).to_string(), "01101100");
        assert_eq!(book.to_bytes(), vec![0b1000_1101, 0b0011_0110]);
        assert_eq!(CodeBook::from_bytes(8, &book.to_bytes()).unwrap(), book);
        assert_eq!(book.select(&[1, 1, 0]).get(2), book.get(0));
    }

    struct Held(Vec<u64>);

    impl WordSource for Held {
        fn words(&self) -> &[u64] {
            &self.0
        }
    }

    #[test]
    fn a_shared_book_reads_in_place_and_is_copied_on_change() {
        let owned = CodeBook::random(48, 5, 7).unwrap();
        let shared = CodeBook::from_shared(48, Arc::new(Held(owned.words().to_vec()))).unwrap();
        assert_eq!(shared, owned);
        assert_eq!(shared.get(3), owned.get(3));
        let mut grown = shared.clone();
        grown.push(&owned.get(0)).unwrap();
        assert_eq!((grown.len(), shared.len()), (6, 5));
        assert_eq!(grown.get(5), owned.get(0));
        // Ragged, or a bit set past bit 48 of a 48-bit code.
        assert!(CodeBook::from_shared(128, Arc::new(Held(vec![0; 3]))).is_err());
        assert_eq!(
            CodeBook::from_shared(48, Arc::new(Held(vec![1 << 50]))),
            Err(CodeError::Padding)
        );
    }

    #[test]
    fn rejects_ragged_input() {
        assert!(CodeBook::from_signs(8, &[1.0; 9]).is_err());
        assert!(CodeBook::from_bytes(16, &[0; 3]).is_err());
        assert!(CodeBook::from_words(128, vec![0; 3]).is_err());
        let mut book = CodeBook::new(16).unwrap();
        assert_eq!(
            book.push(&HashCode::zeros(8).unwrap()),
            Err(CodeError::Mismatch(16, 8))
        );
    }
}
