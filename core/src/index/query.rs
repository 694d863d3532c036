//! Searching an index with photos it does not hold: they must be encoded by exactly the model that made
//! the index — the one kept beside it — or their codes mean nothing against the index's codes.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use burn::tensor::Device;

#[cfg(doc)]
use super::CodeIndex;
use super::model_path_for;
use crate::code::HashCode;
use crate::model::HashModel;
use crate::model::encode::encode_photos;
use crate::model::reference::reference_with_fingerprint;
use crate::photo::PhotoError;

/// Why an outside photo could not be encoded for an index.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the index's model {path} cannot be read: {source}")]
    Model {
        path: String,
        source: crate::model::ModelError,
    },
    #[error(
        "{path} is not the model that made the index (fingerprints {model} and {index}): re-index the folder"
    )]
    Stale {
        path: String,
        model: String,
        index: String,
    },
    #[error("{path}: {source}")]
    Photo { path: String, source: PhotoError },
}

/// The model beside the index at `index_path`, checked against the index's model fingerprint
/// ([`CodeIndex::model`]); the shipped reference model with that fingerprint when the file beside is
/// missing or another (a first index searched while its own fit is computed).
pub fn index_model(
    index_path: &Path,
    fingerprint: &str,
    device: &Device,
) -> Result<HashModel, QueryError> {
    beside_model(index_path, fingerprint, device)
        .or_else(|e| reference_with_fingerprint(fingerprint, device).ok_or(e))
}

fn beside_model(
    index_path: &Path,
    fingerprint: &str,
    device: &Device,
) -> Result<HashModel, QueryError> {
    let path = model_path_for(index_path);
    let shown = path.display().to_string();
    let model = HashModel::load(&path, device).map_err(|source| QueryError::Model {
        path: shown.clone(),
        source,
    })?;
    if model.fingerprint() != fingerprint {
        return Err(QueryError::Stale {
            path: shown,
            model: model.fingerprint().to_string(),
            index: fingerprint.to_string(),
        });
    }
    Ok(model)
}

/// The code `model` gives the photo at `photo`.
pub fn encode_photo(
    model: &HashModel,
    photo: &Path,
    device: &Device,
) -> Result<HashCode, QueryError> {
    let code = encode_photos(
        model,
        &[PathBuf::from(photo)],
        1,
        device,
        &AtomicBool::new(false),
        |_, _| {},
    )
    .pop()
    .flatten()
    .expect("one photo, never cancelled");
    code.map_err(|source| QueryError::Photo {
        path: photo.display().to_string(),
        source,
    })
}
