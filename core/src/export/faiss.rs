//! A FAISS `IndexBinaryFlat` file, as `faiss.read_index_binary` reads it (FAISS `impl/index_write.cpp`,
//! `write_index_binary`): the four bytes `IBxF`, then `d` (`i32`, bits), `code_size` (`i32`, bytes per
//! code), `ntotal` (`i64`), `is_trained` (one byte, 1), `metric_type` (`i32`, 1 = L2, which binary
//! indexes ignore: they always rank by Hamming distance), and the codes as a vector: its length in bytes
//! (`u64`) and the bytes. All little-endian, as FAISS writes on the machines it runs on.

use std::path::{Path, PathBuf};

use super::with_suffix;
use crate::index::MappedIndex;
use crate::io::{FileError, write_atomic_with};

/// Writes `PREFIX.faiss`.
pub fn write_faiss(index: &MappedIndex, prefix: &Path) -> Result<Vec<PathBuf>, FileError> {
    let file = with_suffix(prefix, ".faiss");
    let codes = index.codes();
    let code_size = codes.bits() / 8;
    write_atomic_with(&file, |out| {
        out.write_all(b"IBxF")?;
        out.write_all(&(codes.bits() as i32).to_le_bytes())?;
        out.write_all(&(code_size as i32).to_le_bytes())?;
        out.write_all(&(codes.len() as i64).to_le_bytes())?;
        out.write_all(&[1])?;
        out.write_all(&1i32.to_le_bytes())?;
        out.write_all(&((codes.len() * code_size) as u64).to_le_bytes())?;
        let mut bytes = Vec::with_capacity(code_size);
        for words in codes.iter_words() {
            bytes.clear();
            crate::code::write_bytes(codes.bits(), words, &mut bytes);
            out.write_all(&bytes)?;
        }
        Ok(())
    })
    .map_err(FileError::io(&file))?;
    Ok(vec![file])
}
