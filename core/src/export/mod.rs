//! Codes handed to the engines people already run: a FAISS binary index and a Milvus collection.
//!
//! hashlens searches one machine's index exactly; archives of millions of photos, or teams that run a
//! vector database, search elsewhere. An export writes the codes in the engine's own format, the photos'
//! paths under the ids the engine returns, and the model's fingerprint (codes of another model mean
//! nothing against these). Rankings are identical: both engines compute the same Hamming distance
//! (`tests/engines.rs` loads every export into the real engine and compares with `hashlens search`).
//!
//! **Bits.** hashlens byte `j` of a code holds bits `8j..8j+8`, bit `8j` the least significant (the
//! `code` module). FAISS uses that very layout (`faiss.real_to_binary` puts dimensions 0 and 9 in the
//! bytes `[1, 2]`), so the bytes go out unchanged. Milvus's bulk-insert documentation and pymilvus's
//! `BulkWriter` pack a binary vector with `numpy.packbits`, most significant bit first (`[1, 0, …, 0]` →
//! `[128, …]`), so each byte is bit-reversed: dimension `i` in that convention is hashlens's bit `i`.
//! Milvus's engine gives the order no meaning of its own (some of its examples use the other one), and
//! Hamming distances do not depend on it.
//!
//! Every file is written atomically; ids are the photos' positions in the index.

mod faiss;
mod milvus;

pub use faiss::write_faiss;
pub use milvus::write_milvus;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::index::MappedIndex;
use crate::io::{FileError, path_bytes, write_atomic_with};

/// The engines codes can be exported to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Faiss,
    Milvus,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Faiss => "faiss",
            Engine::Milvus => "milvus",
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    pub engine: &'static str,
    pub bits: usize,
    pub count: usize,
    pub model: String,
    /// The files written, the description file first.
    pub files: Vec<PathBuf>,
}

/// Writes `index` for `engine` at `prefix` + the engine's suffixes.
pub fn export(index: &MappedIndex, engine: Engine, prefix: &Path) -> Result<Exported, FileError> {
    let mut files = match engine {
        Engine::Faiss => write_faiss(index, prefix)?,
        Engine::Milvus => write_milvus(index, prefix)?,
    };
    let ids = with_suffix(prefix, ".ids.jsonl");
    write_ids(index, &ids)?;
    files.push(ids);
    let meta = with_suffix(prefix, ".meta.json");
    let exported = Exported {
        engine: engine.name(),
        bits: index.bits(),
        count: index.len(),
        model: index.model().to_string(),
        files: [vec![meta.clone()], files].concat(),
    };
    let description = Meta {
        hashlens_export: 1,
        engine: engine.name(),
        bits: index.bits(),
        count: index.len(),
        model: index.model(),
        ids: "position of the photo in the index; the paths are in the .ids.jsonl file",
        bit_order: match engine {
            Engine::Faiss => {
                "FAISS layout: bit i of a code is bit i % 8 (least significant first) of byte i / 8"
            }
            Engine::Milvus => {
                "numpy.packbits layout: dimension i is bit 7 - i % 8 (most significant first) of byte i / 8"
            }
        },
        files: exported.files[1..]
            .iter()
            .map(|f| {
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&description).expect("plain data");
    write_atomic_with(&meta, |out| out.write_all(&json)).map_err(FileError::io(&meta))?;
    Ok(exported)
}

#[derive(Serialize)]
struct Meta<'a> {
    hashlens_export: u32,
    engine: &'a str,
    bits: usize,
    count: usize,
    model: &'a str,
    ids: &'a str,
    bit_order: &'a str,
    files: Vec<String>,
}

/// `prefix` with `suffix` appended to its file name.
pub fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// One `{"id", "path"}` object per line; a path that is not UTF-8 also gets its exact bytes in hex
/// (`path_hex`), its `path` showing the undecodable bytes as U+FFFD.
fn write_ids(index: &MappedIndex, file: &Path) -> Result<(), FileError> {
    write_per_photo(index, file, b"", b"", id_line)
}

/// Writes `file` atomically: `head`, then `line(id, path)` for every photo in order, then `tail`. A
/// damaged record of the index stops the write with its own error, and nothing is left behind.
fn write_per_photo(
    index: &MappedIndex,
    file: &Path,
    head: &[u8],
    tail: &[u8],
    mut line: impl FnMut(usize, &Path) -> String,
) -> Result<(), FileError> {
    let mut read_error = None;
    write_atomic_with(file, |out| {
        out.write_all(head)?;
        for i in 0..index.len() {
            let path = index.photo_path(i).map_err(|e| {
                read_error = Some(e);
                std::io::Error::other("the index could not be read")
            })?;
            out.write_all(line(i, &path).as_bytes())?;
        }
        out.write_all(tail)
    })
    .map_err(|e| read_error.take().unwrap_or_else(|| FileError::io(file)(e)))
}

pub(crate) fn id_line(id: usize, path: &Path) -> String {
    let bytes = path_bytes(path);
    let mut line = serde_json::json!({ "id": id, "path": String::from_utf8_lossy(bytes) });
    if std::str::from_utf8(bytes).is_err() {
        line["path_hex"] = bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into();
    }
    let mut s = line.to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
