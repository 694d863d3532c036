//! Small file helpers shared by every on-disk format: atomic replacement and checksummed framing.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder is written, flushed to disk and
/// renamed over `path`, so a crash leaves either the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".hashlens-")
        .permissions(crate::io::shareable())
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
