//! An index opened for searching where it lies: the file is memory-mapped, its codes are searched in
//! place, and a photo's path is read only when a result needs it. Opening costs a header check and one
//! pass of the codes' checksum, whatever the number of photos (see `format` for the layout and
//! `benchmarks/results/index-open.md` for the measured times).
//!
//! **What mapping assumes.** hashlens never changes an index file in place: a new index replaces the old
//! one by rename, and a mapping keeps reading the file it opened. Another program that truncated the
//! file while it is mapped could still crash the reader, as with any memory-mapped file.
//!
//! Version 1 files, which must be parsed whole, are read into memory and served from there.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use memmap2::Mmap;

use super::format::{self, BLOCK, Layout};
use super::{Around, CodeIndex, IndexedPhoto};
use crate::code::{CodeBook, CodeError, HashCode, WordSource};
use crate::io::{FileError, path_from_bytes};
use crate::search::Neighbor;

/// A read-only index for serving searches; [`CodeIndex`] is the form that is updated.
pub struct MappedIndex {
    path: PathBuf,
    source: Source,
}

enum Source {
    Mapped(Mapped),
    Loaded(CodeIndex),
}

struct Mapped {
    map: Arc<Mmap>,
    layout: Layout,
    codes: CodeBook,
    /// Whether each block of records passed its checksum, once checked.
    blocks: Box<[OnceLock<bool>]>,
}

/// The codes section of a mapping, read as words where they lie.
struct MappedWords {
    map: Arc<Mmap>,
    range: Range<usize>,
}

impl WordSource for MappedWords {
    fn words(&self) -> &[u64] {
        bytemuck::cast_slice(&self.map[self.range.clone()])
    }
}

impl MappedIndex {
    /// Opens the index at `path`, checking its header, length and codes.
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let io = |e| FileError::io(path)(e);
        let invalid = |reason: String| FileError::invalid(path, reason);
        let file = crate::io::open_regular(path).map_err(io)?;
        // SAFETY: hashlens replaces index files by rename and never writes into one (module docs); the
        // mapping is only read, through bounds-checked slices.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let head = &map[..map.len().min(12)];
        let source = match format::version(head).map_err(invalid)? {
            format::VERSION => Source::Mapped(Mapped::new(Arc::new(map)).map_err(invalid)?),
            _ => Source::Loaded(format::decode_v1(&map).map_err(invalid)?),
        };
        Ok(Self {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn model(&self) -> &str {
        match &self.source {
            Source::Mapped(m) => &m.layout.model,
            Source::Loaded(i) => i.model(),
        }
    }

    pub fn codes(&self) -> &CodeBook {
        match &self.source {
            Source::Mapped(m) => &m.codes,
            Source::Loaded(i) => i.codes(),
        }
    }

    pub fn bits(&self) -> usize {
        self.codes().bits()
    }

    pub fn len(&self) -> usize {
        self.codes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Photo `i` (panics when `i ≥ len()`); an error when its block of records is corrupted.
    pub fn photo(&self, i: usize) -> Result<IndexedPhoto, FileError> {
        match &self.source {
            Source::Mapped(m) => m
                .photo(i)
                .ok_or_else(|| FileError::invalid(&self.path, m.damage(i))),
            Source::Loaded(index) => Ok(index.photos()[i].clone()),
        }
    }

    /// The path of photo `i` ([`MappedIndex::photo`]).
    pub fn photo_path(&self, i: usize) -> Result<PathBuf, FileError> {
        self.photo(i).map(|p| p.path)
    }

    /// Position of the photo at exactly `path` (a scan of the paths: O(photos)).
    pub fn position(&self, path: &Path) -> Result<Option<usize>, FileError> {
        Ok(self.positions(&[path])?[0])
    }

    /// Position of the photo at exactly each of `paths`, in one scan of the index's paths.
    pub fn positions(&self, paths: &[&Path]) -> Result<Vec<Option<usize>>, FileError> {
        let m = match &self.source {
            Source::Loaded(index) => return Ok(paths.iter().map(|p| index.position(p)).collect()),
            Source::Mapped(m) => m,
        };
        let mut wanted: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for (q, p) in paths.iter().enumerate() {
            wanted.entry(crate::io::path_bytes(p)).or_default().push(q);
        }
        let mut found = vec![None; paths.len()];
        let mut left = paths.len();
        for i in 0..m.layout.count {
            if left == 0 {
                break;
            }
            let bytes = m
                .path_bytes(i)
                .ok_or_else(|| FileError::invalid(&self.path, m.damage(i)))?;
            if let Some(queries) = wanted.remove(bytes) {
                for q in queries {
                    found[q] = Some(i);
                    left -= 1;
                }
            }
        }
        Ok(found)
    }

    /// The photos around `code` ([`CodeIndex::neighbours`]).
    pub fn neighbours(
        &self,
        code: &HashCode,
        around: Around,
        exclude: Option<usize>,
    ) -> Result<Vec<Neighbor>, CodeError> {
        super::neighbours::neighbours(self.codes(), code, around, exclude)
    }

    /// [`MappedIndex::neighbours`] for every code of `queries`, answered together (see
    /// [`crate::search::Search::knn_batch`]); `exclude[q]` is left out of query `q`'s results.
    pub fn neighbours_batch(
        &self,
        queries: &CodeBook,
        around: Around,
        exclude: &[Option<usize>],
    ) -> Result<Vec<Vec<Neighbor>>, CodeError> {
        super::neighbours::neighbours_batch(self.codes(), queries, around, exclude)
    }

    /// Every record checked and read into an index that can be updated (its codes copied out of the
    /// mapping, so that the file can be replaced while the index lives).
    pub fn into_index(self) -> Result<CodeIndex, FileError> {
        let m = match self.source {
            Source::Loaded(index) => return Ok(index),
            Source::Mapped(m) => m,
        };
        let codes = CodeBook::from_words(m.layout.bits, m.codes.words().to_vec())
            .map_err(|e| FileError::invalid(&self.path, e.to_string()))?;
        let mut index = CodeIndex::with_codes(&m.layout.model, codes, m.layout.count);
        for i in 0..m.layout.count {
            let photo = m
                .photo(i)
                .ok_or_else(|| FileError::invalid(&self.path, m.damage(i)))?;
            index.push_record(photo);
        }
        Ok(index)
    }
}

impl Mapped {
    fn new(map: Arc<Mmap>) -> Result<Self, String> {
        let layout = format::layout(&map, map.len())?;
        // Every search reads all the codes: ask for them in one readahead rather than page by page
        // (a hint; nothing depends on it).
        #[cfg(unix)]
        let _ = map.advise_range(
            memmap2::Advice::WillNeed,
            layout.codes.start,
            layout.codes.len(),
        );
        let code_bytes = &map[layout.codes.clone()];
        if crc32fast::hash(code_bytes) != layout.codes_crc {
            return Err("checksum mismatch: the index's codes are corrupted".into());
        }
        let codes = if cfg!(target_endian = "little")
            && bytemuck::try_cast_slice::<u8, u64>(code_bytes).is_ok()
        {
            let words = MappedWords {
                map: map.clone(),
                range: layout.codes.clone(),
            };
            CodeBook::from_shared(layout.bits, Arc::new(words))
        } else {
            let words = code_bytes
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
            CodeBook::from_words(layout.bits, words)
        }
        .map_err(|e| format!("the index's codes are invalid: {e}"))?;
        let blocks = (0..layout.count.div_ceil(BLOCK))
            .map(|_| OnceLock::new())
            .collect();
        Ok(Self {
            map,
            layout,
            codes,
            blocks,
        })
    }

    fn u64_at(&self, section: &Range<usize>, i: usize) -> u64 {
        let at = section.start + 8 * i;
        u64::from_le_bytes(self.map[at..at + 8].try_into().expect("8 bytes"))
    }

    /// Where photo `i`'s path lies in the path bytes, if its block is intact and the offsets are sane.
    fn path_range(&self, i: usize) -> Option<Range<usize>> {
        if !self.block_ok(i / BLOCK) {
            return None;
        }
        let start = if i == 0 {
            0
        } else {
            self.u64_at(&self.layout.ends, i - 1)
        };
        let end = self.u64_at(&self.layout.ends, i);
        let paths = &self.layout.paths;
        (start <= end && end <= paths.len() as u64)
            .then(|| paths.start + start as usize..paths.start + end as usize)
    }

    fn path_bytes(&self, i: usize) -> Option<&[u8]> {
        self.path_range(i).map(|r| &self.map[r])
    }

    fn photo(&self, i: usize) -> Option<IndexedPhoto> {
        Some(IndexedPhoto {
            path: path_from_bytes(self.path_bytes(i)?.to_vec()),
            size: self.u64_at(&self.layout.sizes, i),
            mtime_ns: self.u64_at(&self.layout.mtimes, i),
        })
    }

    fn damage(&self, i: usize) -> String {
        format!(
            "the records of photos {} to {} are corrupted (checksum mismatch); re-index the folder",
            i / BLOCK * BLOCK,
            ((i / BLOCK + 1) * BLOCK).min(self.layout.count) - 1
        )
    }

    fn block_ok(&self, b: usize) -> bool {
        *self.blocks[b].get_or_init(|| {
            let l = &self.layout;
            let r = b * BLOCK..((b + 1) * BLOCK).min(l.count);
            let bytes = |section: &Range<usize>| {
                &self.map[section.start + 8 * r.start..section.start + 8 * r.end]
            };
            let mut crc = crc32fast::Hasher::new();
            crc.update(bytes(&l.sizes));
            crc.update(bytes(&l.mtimes));
            crc.update(bytes(&l.ends));
            let first = if r.start == 0 {
                0
            } else {
                self.u64_at(&l.ends, r.start - 1)
            };
            let last = self.u64_at(&l.ends, r.end - 1);
            if first > last || last > l.paths.len() as u64 {
                return false;
            }
            crc.update(&self.map[l.paths.start + first as usize..l.paths.start + last as usize]);
            let at = l.block_crcs.start + 4 * b;
            crc.finalize().to_le_bytes() == self.map[at..at + 4]
        })
    }
}
