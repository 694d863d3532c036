//! Small file helpers shared by every on-disk format: atomic replacement and checksummed framing.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temporary file in the same folder is written, flushed to disk and
/// renamed over `path`, so a crash leaves either the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// [`write_atomic`] for content produced by `write` as it goes (large files need not be held in memory
/// twice).
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".hashlens-")
        .permissions(crate::io::shareable())
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
    write(&mut out)?;
    out.flush()?;
    drop(out);
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Opens `path` for reading if it is a regular file (links followed): a named pipe would block the
/// open until some other process wrote to it, and a device could stream forever.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            if meta.is_dir() {
                "a folder, not a file"
            } else {
                "not a regular file (a pipe, a device or a socket)"
            },
        ));
    }
    std::fs::File::open(path)
}

/// The whole of the regular file at `path` ([`open_regular`]).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// How old a [`write_atomic`] temporary file must be before it counts as left over by a crash: a write
/// takes seconds, so one this old belongs to no run still going.
pub const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(600);

/// Removes the temporary files [`write_atomic`] left in `dir` when a process was killed between
/// writing and renaming (`.hashlens-XXXXXX.tmp`, older than [`STALE_TEMPORARY`]). Best effort: a file
/// that cannot be removed stays.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.as_encoded_bytes();
        if !(name.starts_with(b".hashlens-") && name.ends_with(b".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= STALE_TEMPORARY);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Permissions for files hashlens writes: readable by everyone, like any file the user saves (temporary
/// files start private).
pub fn shareable() -> std::fs::Permissions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o644)
    }
    #[cfg(not(unix))]
    {
        tempfile::tempfile()
            .and_then(|f| f.metadata())
            .map(|m| m.permissions())
            .expect("a temporary file")
    }
}

/// Errors reading or writing one of hashlens's files; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl FileError {
    /// Wraps an I/O error on `path` (for `map_err`).
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A file whose content is not what it should be.
    pub fn invalid(path: &Path, reason: impl Into<String>) -> FileError {
        FileError::Invalid {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// A content fingerprint: the first 16 hex digits of the SHA-256 of `bytes` (64 bits: collisions between
/// the models one user has are not a concern; a short string is friendlier in JSON and file headers).
pub fn fingerprint(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends the CRC-32 of `body` to it.
pub fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// Checks and strips the CRC-32 trailer written by [`seal`]; `None` when it does not match.
pub fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.len().checked_sub(4)?;
    let (body, crc) = bytes.split_at(split);
    (crc32fast::hash(body).to_le_bytes() == crc).then_some(body)
}

/// A path's bytes as the OS stores them (byte-exact on Unix, where names need not be UTF-8).
pub fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// The inverse of [`path_bytes`] for bytes read back from a file.
#[cfg(unix)]
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(OsString::from_vec(bytes))
}

/// The inverse of [`path_bytes`] for bytes read back from a file (lossy where they are not UTF-8).
#[cfg(not(unix))]
pub fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Reads little-endian fields from a byte slice; every read is bounds-checked (`None` past the end), so a
/// truncated or hostile file cannot make a parser panic.
pub struct ByteReader<'a> {
    bytes: &'a [u8],
}

impl<'a> ByteReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn seal_detects_corruption() {
        let sealed = seal(b"hello".to_vec());
        assert_eq!(unseal(&sealed), Some(&b"hello"[..]));
        let mut bad = sealed.clone();
        bad[1] ^= 1;
        assert_eq!(unseal(&bad), None);
        assert_eq!(unseal(&sealed[..3]), None);
    }
}
