//! Where things live on disk: hashlens' own data folder, and the one rule for where a folder's index
//! is kept, shared by the CLI and the app so that each finds the index the other made.

use std::path::{Path, PathBuf};

/// hashlens' data folder: the platform's (e.g. `~/.local/share/hashlens`), or the temporary folder's
/// `hashlens` where the platform has none.
pub fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("hashlens")
}

/// Where the index of `folder` lives: inside it (`.hashlens/`, which scans skip) when one is already
/// there or the folder can be written; otherwise in `data_dir` under a digest of the folder's path
/// (read-only media, shared drives).
pub fn index_path_for(folder: &Path, data_dir: &Path) -> PathBuf {
    let inside = folder.join(".hashlens");
    let index = inside.join("index.hlindex");
    if index.is_file() {
        return index;
    }
    let probe = inside.join(".write-test");
    let writable = std::fs::create_dir_all(&inside).is_ok()
        && std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&probe)
            .is_ok();
    let _ = std::fs::remove_file(&probe);
    if writable {
        index
    } else {
        let key = crate::io::fingerprint(crate::io::path_bytes(folder));
        data_dir.join("indexes").join(key).join("index.hlindex")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_goes_beside_the_photos_or_to_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (photos, data) = (dir.path().join("photos"), dir.path().join("data"));
        std::fs::create_dir_all(&photos).unwrap();
        assert_eq!(
            index_path_for(&photos, &data),
            photos.join(".hashlens/index.hlindex")
        );
        // A folder where `.hashlens` cannot be made (here a file holds the name; on a read-only drive
        // nothing can be written): the data folder, one place per folder path.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(&blocked).unwrap();
        std::fs::write(blocked.join(".hashlens"), b"").unwrap();
        let place = index_path_for(&blocked, &data);
        assert!(place.starts_with(data.join("indexes")), "{place:?}");
        assert_eq!(index_path_for(&blocked, &data), place);
        assert_ne!(index_path_for(&dir.path().join("other"), &data), place);
    }

    #[test]
    fn an_index_already_inside_a_folder_is_used_even_if_the_folder_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let (photos, data) = (dir.path().join("photos"), dir.path().join("data"));
        std::fs::create_dir_all(photos.join(".hashlens/index.hlindex/not-a-file")).unwrap();
        // A directory where the index file should be: not an index, and `.hashlens` is writable.
        assert_eq!(
            index_path_for(&photos, &data),
            photos.join(".hashlens/index.hlindex")
        );
        // A folder where nothing can be written (a directory holds the probe's name) that already has
        // an index: that index, not a new one in the data folder.
        let other = dir.path().join("other");
        std::fs::create_dir_all(other.join(".hashlens/.write-test")).unwrap();
        let blocked = index_path_for(&other, &data);
        assert!(blocked.starts_with(data.join("indexes")), "{blocked:?}");
        std::fs::write(other.join(".hashlens/index.hlindex"), b"an index").unwrap();
        assert_eq!(
            index_path_for(&other, &data),
            other.join(".hashlens/index.hlindex")
        );
    }
}
