//! The code index of a photo folder: one packed code per photo, and what tells whether a photo changed.
//!
//! An index belongs to one model: its fingerprint is recorded, and codes from another model are never
//! mixed in. Updating is incremental: a photo whose path, size and modification time are unchanged keeps
//! its code; new or changed photos are encoded; vanished ones are dropped ([`CodeIndex::plan`]).
//!
//! Two forms of the same file: [`CodeIndex`], in memory, is what an update changes; [`MappedIndex`]
//! serves searches from the file where it lies, so that an index of millions of photos opens at once.
//!
//! Durability: the index file is written atomically (temporary file + rename) and checksummed. While a
//! long run encodes, every finished photo is appended to a [`Journal`] beside the index; if the process is
//! killed, the next run replays the journal and encodes only what is still missing.

mod format;
mod journal;
mod lock;
mod mapped;
mod neighbours;
mod place;
mod prints;
mod query;
mod update;

pub use journal::Journal;
pub use lock::{IndexLock, LockError, lock_index, lock_path};
pub use mapped::MappedIndex;
pub use neighbours::Around;
pub use place::{data_dir, index_path_for};
pub use prints::{Prints, PrintsEvent, PrintsJob, prints_path_for, update_prints};
pub use query::{QueryError, encode_photo, index_model};
pub use update::{
    DEFAULT_ARCH, DEFAULT_BITS, IndexError, IndexEvent, IndexJob, IndexReport, ModelChoice,
    Skipped, Stage, model_path_for, update_index,
};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::code::{CodeBook, CodeError, HashCode};
use crate::dataset::ImageEntry;
use crate::io::FileError;

/// What the index knows about one photo besides its code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IndexedPhoto {
    /// The photo's full path, byte-exact.
    pub path: PathBuf,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
}

impl IndexedPhoto {
    /// The identity of a scanned image.
    pub fn from_entry(e: &ImageEntry) -> Self {
        Self {
            path: e.path.clone(),
            size: e.size,
            mtime_ns: u64::try_from(e.mtime_ns).unwrap_or(u64::MAX),
        }
    }
}

/// Photos and their codes, made by one model.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeIndex {
    model: String,
    photos: Vec<IndexedPhoto>,
    codes: CodeBook,
    /// Position of each path (the first, if a path were pushed twice): lookups stay O(1) while an
    /// indexer adds photos one by one.
    by_path: HashMap<PathBuf, usize>,
}

/// What an update has to do: which photos keep their codes and which must be encoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdatePlan {
    /// `(position in the scan, position in the old index)` for photos whose code is still valid.
    pub keep: Vec<(usize, usize)>,
    /// Positions in the scan of photos to encode (new, changed, or made by another model).
    pub encode: Vec<usize>,
    /// Photos in the old index that are gone from the folder.
    pub removed: usize,
}

impl CodeIndex {
    /// An empty index for codes of `bits` bits made by the model with fingerprint `model`.
    pub fn new(bits: usize, model: &str) -> Result<Self, CodeError> {
        Ok(Self {
            model: model.to_string(),
            photos: Vec::new(),
            codes: CodeBook::new(bits)?,
            by_path: HashMap::new(),
        })
    }

    /// An index holding `codes` whose photos are pushed next with `push_record`, in order.
    fn with_codes(model: &str, codes: CodeBook, photos: usize) -> Self {
        Self {
            model: model.to_string(),
            photos: Vec::with_capacity(photos),
            codes,
            by_path: HashMap::with_capacity(photos),
        }
    }

    /// The record of the next photo whose code is already in the book (`with_codes`).
    fn push_record(&mut self, photo: IndexedPhoto) {
        self.by_path
            .entry(photo.path.clone())
            .or_insert(self.photos.len());
        self.photos.push(photo);
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn bits(&self) -> usize {
        self.codes.bits()
    }

    pub fn len(&self) -> usize {
        self.photos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.photos.is_empty()
    }

    pub fn photos(&self) -> &[IndexedPhoto] {
        &self.photos
    }

    pub fn codes(&self) -> &CodeBook {
        &self.codes
    }

    /// Adds a photo; its code must have the index's length.
    pub fn push(&mut self, photo: IndexedPhoto, code: &HashCode) -> Result<(), CodeError> {
        self.codes.push(code)?;
        self.by_path
            .entry(photo.path.clone())
            .or_insert(self.photos.len());
        self.photos.push(photo);
        Ok(())
    }

    /// Position of the photo at `path`.
    pub fn position(&self, path: &Path) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// Compares a fresh scan with this index, as seen by the model `model` (a different model invalidates
    /// every code).
    pub fn plan(&self, scan: &[ImageEntry], model: &str) -> UpdatePlan {
        let same_model = model == self.model;
        let mut plan = UpdatePlan::default();
        let mut seen = 0;
        for (s, entry) in scan.iter().enumerate() {
            let photo = IndexedPhoto::from_entry(entry);
            match self.by_path.get(&photo.path) {
                Some(&i) => {
                    seen += 1;
                    if same_model && self.photos[i] == photo {
                        plan.keep.push((s, i));
                    } else {
                        plan.encode.push(s);
                    }
                }
                None => plan.encode.push(s),
            }
        }
        plan.removed = self.photos.len() - seen;
        plan
    }

    /// Writes the index atomically, in the current format.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        crate::io::write_atomic_with(path, |out| format::write(self, out))
            .map_err(FileError::io(path))
    }

    /// Reads an index written by [`CodeIndex::save`] (any version this build reads), checking every
    /// checksum.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        MappedIndex::open(path)?.into_index()
    }
}

#[cfg(test)]
mod tests;
