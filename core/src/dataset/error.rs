//! Why a data set could not be read as labelled photos or split.

use std::path::PathBuf;

use super::ScanError;

/// Why a folder could not be read as classes, or split by a protocol.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(
        "{} is not inside a class folder: this needs one sub-folder per class (FOLDER/CLASS/photo.jpg)",
        .0.display()
    )]
    NotInClassFolder(PathBuf),
    #[error("item {item} has class {class}, but there are {classes} classes")]
    ClassOutOfRange {
        item: usize,
        class: usize,
        classes: usize,
    },
    #[error(
        "class {name:?} has {items} items but the split needs {need} ({query} query + {train} train)"
    )]
    ClassTooSmall {
        name: String,
        items: usize,
        need: usize,
        query: usize,
        train: usize,
    },
    #[error("unknown protocol {0:?} (known: cifar10, cifar10-1)")]
    UnknownProtocol(String),
    #[error(transparent)]
    Scan(#[from] ScanError),
}
