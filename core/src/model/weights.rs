//! Loading and saving network weights: PyTorch state dicts (legacy and zip formats) and safetensors.
//!
//! Parsing is Burn's (`burn::store`): it reads PyTorch's pickles without executing them, honours strides,
//! and adapts PyTorch conventions (Linear weights transposed, BatchNorm weight/bias as gamma/beta). What
//! this module adds is strictness with a useful message: a file that does not match the network fails
//! naming the first missing, unexpected or mis-shaped tensor, instead of leaving random weights in place.

use std::path::Path;

use burn::module::Module;
use burn::store::{ApplyResult, ModuleSnapshot, ModuleStore, PytorchStore, SafetensorsStore};

/// Why weights could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "{path}: the network's tensor {tensor} is missing from the file ({count} missing in all)"
    )]
    Missing {
        path: String,
        tensor: String,
        count: usize,
    },
    #[error(
        "{path}: the file has a tensor {tensor} that this network does not use ({count} unused in all)"
    )]
    Unexpected {
        path: String,
        tensor: String,
        count: usize,
    },
    #[error("{path}: {message}")]
    Mismatch { path: String, message: String },
    #[error("{path}: cannot write: {message}")]
    Write { path: String, message: String },
    #[error(
        "no pretrained {arch} weights ship with hashlens: train it from scratch (the whole network) or \
         start it from a weight file (--backbone-weights)"
    )]
    NotShipped { arch: String },
}

/// Buffers PyTorch keeps that carry no weights.
pub(crate) fn ignorable(key: &str) -> bool {
    key.ends_with("num_batches_tracked")
}

/// Loads a PyTorch state dict into `model`, renaming keys with `key_map` (`(regex, replacement)` pairs
/// applied in order).
pub fn load_pytorch<M: Module>(
    model: &mut M,
    path: &Path,
    key_map: &[(String, String)],
) -> Result<(), WeightsError> {
    let mut store = PytorchStore::from_file(path)
        .allow_partial(true)
        .map_indices_contiguous(false);
    for (from, to) in key_map {
        store = store.with_key_remapping(from, to.clone());
    }
    apply(model, store, &path.display().to_string())
}

/// Loads a safetensors file written by [`save_safetensors`].
pub fn load_safetensors<M: Module>(model: &mut M, path: &Path) -> Result<(), WeightsError> {
    let store = SafetensorsStore::from_file(path).allow_partial(true);
    apply(model, store, &path.display().to_string())
}

/// Saves `model` as safetensors, atomically (a temporary file renamed over `path`).
pub fn save_safetensors<M: Module>(model: &M, path: &Path) -> Result<(), WeightsError> {
    let bytes = to_safetensors_bytes(model, &[])?;
    crate::io::write_atomic(path, &bytes).map_err(|e| WeightsError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// `model` as a safetensors file in memory, with `metadata` entries in its header.
pub fn to_safetensors_bytes<M: Module>(
    model: &M,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, WeightsError> {
    let err = |message: String| WeightsError::Write {
        path: "(memory)".into(),
        message,
    };
    let mut store = SafetensorsStore::from_bytes(None);
    for (k, v) in metadata {
        store = store.metadata(*k, *v);
    }
    model
        .save_into(&mut store)
        .map_err(|e| err(e.to_string()))?;
    store.get_bytes().map_err(|e| err(e.to_string()))
}

/// Applies a store to `model` and checks that every tensor matched; `name` says where the weights came from.
fn apply<M: Module, S: ModuleStore>(
    model: &mut M,
    mut store: S,
    name: &str,
) -> Result<(), WeightsError> {
    let result = model
        .load_from(&mut store)
        .map_err(|e| WeightsError::Read {
            path: name.to_string(),
            message: e.to_string(),
        })?;
    check(result, name)
}

fn check(result: ApplyResult, path: &str) -> Result<(), WeightsError> {
    let path = path.to_string();
    if let Some(e) = result.errors.first() {
        return Err(WeightsError::Mismatch {
            path,
            message: e.to_string(),
        });
    }
    let mut missing: Vec<&String> = result.missing.iter().map(|(t, _)| t).collect();
    missing.sort();
    if let Some(tensor) = missing.first() {
        return Err(WeightsError::Missing {
            path,
            tensor: tensor.to_string(),
            count: missing.len(),
        });
    }
    let mut unused: Vec<&String> = result.unused.iter().filter(|k| !ignorable(k)).collect();
    unused.sort();
    if let Some(tensor) = unused.first() {
        return Err(WeightsError::Unexpected {
            path,
            tensor: tensor.to_string(),
            count: unused.len(),
        });
    }
    Ok(())
}

/// Loads safetensors held in memory (weights embedded in the binary).
pub fn load_safetensors_bytes<M: Module>(
    model: &mut M,
    bytes: &[u8],
    name: &str,
) -> Result<(), WeightsError> {
    load_safetensors_bytes_renamed(model, bytes, name, &[])
}

/// [`load_safetensors_bytes`] with the file's tensor names rewritten first by `renames` (regular
/// expression, replacement): files written under an older name of a module still load.
pub fn load_safetensors_bytes_renamed<M: Module>(
    model: &mut M,
    bytes: &[u8],
    name: &str,
    renames: &[(&str, &str)],
) -> Result<(), WeightsError> {
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec())).allow_partial(true);
    for (from, to) in renames {
        store = store.with_key_remapping(*from, *to);
    }
    apply(model, store, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::inverted_residual::{InvertedResidualNet, MOBILENET_V2};
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    /// A module whose only tensor has MobileNetV2's classifier name but the wrong shape.
    #[derive(Module, Debug)]
    struct WrongHead {
        classifier: Linear,
    }

    #[test]
    fn safetensors_round_trip() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let a = InvertedResidualNet::new(&MOBILENET_V2, &device);
        save_safetensors(&a, &path).unwrap();
        let mut b = InvertedResidualNet::new(&MOBILENET_V2, &device);
        load_safetensors(&mut b, &path).unwrap();
        let x = crate::model::image_batch(vec![0.5; 3 * 32 * 32], 32, &device);
        let (ya, yb) = (a.logits(x.clone()), b.logits(x));
        let diff: f32 = (ya - yb).abs().max().into_scalar();
        assert_eq!(diff, 0.0);
    }

    #[test]
    fn wrong_files_name_the_tensor() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wrong.safetensors");
        let wrong = WrongHead {
            classifier: LinearConfig::new(1280, 10).init(&device),
        };
        save_safetensors(&wrong, &path).unwrap();
        let mut model = InvertedResidualNet::new(&MOBILENET_V2, &device);
        let err = load_safetensors(&mut model, &path).unwrap_err().to_string();
        assert!(err.contains("classifier.weight"), "{err}");

        let other = dir.path().join("other.safetensors");
        let small = WrongHead {
            classifier: LinearConfig::new(1280, 1000).init(&device),
        };
        save_safetensors(&small, &other).unwrap();
        let err = load_safetensors(&mut model, &other)
            .unwrap_err()
            .to_string();
        // Names sort: the first missing tensor is the first depthwise BatchNorm's.
        assert!(
            err.contains("blocks.0.depthwise.bn.beta is missing"),
            "{err}"
        );
        assert!(err.contains("260 missing in all"), "{err}");

        let garbage = dir.path().join("garbage.safetensors");
        std::fs::write(&garbage, b"not a safetensors file").unwrap();
        assert!(load_safetensors(&mut model, &garbage).is_err());
    }
}
