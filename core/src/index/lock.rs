//! One writer per index: an advisory lock on a file beside it (`INDEX.lock`), held for a whole update.
//!
//! Why: two updates of one index (two `hashlens index` runs, or the app and the CLI) would each read
//! the old index, write the journal and replace the index, and the second to finish would silently
//! undo the first, or find the journal gone under it. The lock is the operating system's (`flock` on
//! Unix, `LockFileEx` on Windows, through `std::fs::File::lock`): it belongs to the open file, so a run
//! that crashes or is killed releases it at once, and a lock file left behind means nothing.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Held while an update runs; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct IndexLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another hashlens run is updating {index} now; wait for it to finish, or run again with --wait to queue behind it"
    )]
    Busy { index: String },
    #[error("cancelled while waiting for another hashlens run on {index}")]
    Cancelled { index: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The lock file of the index at `index`.
pub fn lock_path(index: &Path) -> PathBuf {
    let mut p = index.as_os_str().to_os_string();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the lock of the index at `index`. When another process holds it: an error, or with `wait`,
/// `waiting()` is called once and the lock is taken when it is released (checking `cancel` a few times
/// a second). `Ok(None)` when the lock file cannot be created because the folder is read-only (or not
/// ours to write): nothing can change the index there, so there is nothing to keep apart.
pub fn lock_index(
    index: &Path,
    wait: bool,
    cancel: &AtomicBool,
    waiting: impl FnOnce(),
) -> Result<Option<IndexLock>, LockError> {
    let path = lock_path(index);
    let file = match File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(None);
        }
        Err(source) => {
            return Err(LockError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let shown = || index.display().to_string();
    let mut waiting = Some(waiting);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(IndexLock { _file: file })),
            Err(TryLockError::WouldBlock) if wait => {
                if let Some(w) = waiting.take() {
                    w();
                }
                if cancel.load(Ordering::Relaxed) {
                    return Err(LockError::Cancelled { index: shown() });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(TryLockError::WouldBlock) => return Err(LockError::Busy { index: shown() }),
            Err(TryLockError::Error(source)) => {
                return Err(LockError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_or_waits_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("photos.hlindex");
        let no = AtomicBool::new(false);
        let first = lock_index(&index, false, &no, || {}).unwrap().unwrap();
        // Another open file is another holder (as another process would be).
        let refused = lock_index(&index, false, &no, || {}).unwrap_err();
        assert!(matches!(refused, LockError::Busy { .. }), "{refused}");
        assert!(refused.to_string().contains("--wait"));

        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let mut waited = false;
        let second = lock_index(&index, true, &no, || waited = true).unwrap();
        assert!(second.is_some() && waited);
        release.join().unwrap();

        // Waiting can be cancelled.
        let yes = AtomicBool::new(true);
        let err = lock_index(&index, true, &yes, || {}).unwrap_err();
        assert!(matches!(err, LockError::Cancelled { .. }), "{err}");
    }
}
