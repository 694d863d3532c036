//! A deep-hashing protocol applied to a folder with one sub-folder per class: the photos of each part
//! of the seeded split, with their classes. Shared by `bench hashing`, `train` and `eval`, so that all
//! of them see the same query, training and database photos for a given seed.

use std::path::{Path, PathBuf};

use super::{DatasetError, SplitSpec, classes_from_folders, scan_images, split};

/// The photos of one protocol split and their class indices.
#[derive(Clone, Debug)]
pub struct ProtocolData {
    pub name: String,
    pub seed: u64,
    /// Class names (sorted); a class index is a position here.
    pub classes: Vec<String>,
    pub query: Vec<(PathBuf, usize)>,
    pub train: Vec<(PathBuf, usize)>,
    pub database: Vec<(PathBuf, usize)>,
}

impl ProtocolData {
    /// The same split cut to the first `query`, `train` and `database` items of each part (each part is
    /// a seeded permutation, so a prefix is a uniform sample); `None` keeps a part whole.
    pub fn first(
        mut self,
        query: Option<usize>,
        train: Option<usize>,
        database: Option<usize>,
    ) -> Self {
        for (part, n) in [
            (&mut self.query, query),
            (&mut self.train, train),
            (&mut self.database, database),
        ] {
            if let Some(n) = n {
                part.truncate(n);
            }
        }
        self
    }
}

/// Scans `folder` and splits it by the protocol `name` (see [`SplitSpec::named`]) with `seed`.
pub fn protocol_split(folder: &Path, name: &str, seed: u64) -> Result<ProtocolData, DatasetError> {
    let spec =
        SplitSpec::named(name).ok_or_else(|| DatasetError::UnknownProtocol(name.to_string()))?;
    let scan = scan_images(folder)?;
    let classes = classes_from_folders(&scan.images)?;
    let s = split(&classes.classes, &classes.names, &spec, seed)?;
    let part = |idx: &[usize]| -> Vec<(PathBuf, usize)> {
        idx.iter()
            .map(|&i| (scan.images[i].path.clone(), classes.classes[i]))
            .collect()
    };
    Ok(ProtocolData {
        name: name.to_string(),
        seed,
        query: part(&s.query),
        train: part(&s.train),
        database: part(&s.database),
        classes: classes.names,
    })
}
