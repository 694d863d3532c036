//! Finding the images in a folder tree.
//!
//! Photo libraries are messy: thumbnails caches, sidecar files, symlink loops, folders the user cannot
//! read, files whose extension lies. A scan never fails because of one bad entry: it lists every image it
//! found and every entry it had to skip, with the reason, so that callers can show both.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use walkdir::WalkDir;

use crate::photo::PhotoFormat;
use crate::photo::format::{HEAD, is_candidate_name, read_head, sniff};

/// Folder names that hold derived or system files (thumbnail caches of NAS boxes and archivers, trash),
/// never the user's photos. Hidden caches (`.cache`, `.thumbnails`, hashlens's own `.hashlens`) are skipped
/// as hidden entries. Generic names like `cache` are not on the list: they may well hold real photos.
const SKIPPED_DIRS: &[&str] = &[
    "__pycache__",
    "__MACOSX",
    "node_modules",
    "@eaDir",
    "$RECYCLE.BIN",
    "System Volume Information",
];

/// An image found by a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageEntry {
    /// The full path (root joined with the relative path), byte-exact.
    pub path: PathBuf,
    /// The path relative to the scanned root.
    pub relative: PathBuf,
    /// The format sniffed from the file's first bytes (its extension only tells camera RAW files from
    /// plain TIFFs).
    pub format: PhotoFormat,
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when unknown).
    pub mtime_ns: u128,
}

/// An entry the scan could not use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanProblem {
    pub path: PathBuf,
    pub reason: String,
}

/// What a scan found.
#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    /// Images in a deterministic order (file names compared byte-wise, folder by folder).
    pub images: Vec<ImageEntry>,
    /// Entries that could not be read or are not images despite their extension.
    pub problems: Vec<ScanProblem>,
}

/// Errors that stop a scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{path}: {source}")]
    Root {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not a folder")]
    NotADir(String),
}

/// Recursively scans `root` for images. Hidden entries (names starting with `.`) and cache folders are
/// skipped; symbolic links are followed, and loops are reported rather than followed forever.
pub fn scan_images(root: &Path) -> Result<ScanReport, ScanError> {
    let meta = std::fs::metadata(root).map_err(|source| ScanError::Root {
        path: root.display().to_string(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(ScanError::NotADir(root.display().to_string()));
    }
    let mut report = ScanReport::default();
    let walk = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_skipped(e));
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                report.problems.push(walk_problem(root, err));
                continue;
            }
        };
        if !is_candidate_name(entry.path()) || entry.file_type().is_dir() {
            continue;
        }
        if let Some(kind) = not_a_file(entry.file_type()) {
            // Named like a photo but cannot be one; never opened (a FIFO would block the scan).
            report.problems.push(ScanProblem {
                path: entry.path().to_path_buf(),
                reason: format!("not a regular file ({kind})"),
            });
            continue;
        }
        match inspect(entry.path()) {
            Ok((format, size, mtime_ns)) => report.images.push(ImageEntry {
                path: entry.path().to_path_buf(),
                relative: entry
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(entry.path())
                    .to_path_buf(),
                format,
                size,
                mtime_ns,
            }),
            Err(reason) => report.problems.push(ScanProblem {
                path: entry.path().to_path_buf(),
                reason,
            }),
        }
    }
    Ok(report)
}

/// What an entry that is neither a regular file nor a folder is (links are followed before this).
fn not_a_file(t: std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a named pipe");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("an unusual kind of entry")
}

fn is_skipped(e: &walkdir::DirEntry) -> bool {
    let name = e.file_name().as_encoded_bytes();
    name.starts_with(b".")
        || (e.file_type().is_dir() && SKIPPED_DIRS.iter().any(|d| d.as_bytes() == name))
}

/// Sniffs the format from the first bytes and reads size and modification time.
fn inspect(path: &Path) -> Result<(PhotoFormat, u64, u128), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
    let mut head = [0u8; HEAD];
    let got = read_head(&mut file, &mut head).map_err(|e| format!("cannot read: {e}"))?;
    if got == 0 {
        return Err("empty file".into());
    }
    let format = sniff(&head[..got], path).ok_or(
        "not a supported image (the content is not JPEG, PNG, WebP, BMP, GIF, TIFF, HEIC, AVIF or camera RAW)",
    )?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((format, meta.len(), mtime_ns))
}

fn walk_problem(root: &Path, err: walkdir::Error) -> ScanProblem {
    let path = err.path().unwrap_or(root).to_path_buf();
    let reason = if let Some(ancestor) = err.loop_ancestor() {
        format!("symbolic link loop back to {}", ancestor.display())
    } else if let Some(io) = err.io_error() {
        format!("cannot read: {io}")
    } else {
        err.to_string()
    };
    ScanProblem { path, reason }
}
