//! `compare --feature-cache FILE`: the backbone features a head-mode comparison computes before its
//! first run, kept on disk, so that a sweep over head-only settings (`--dhn-scale`, `--pseudo-labels`,
//! epochs) costs its training runs, not eight minutes of CPU forward passes each time.
//!
//! One safetensors file: the training views' features ([`FeatureCache`]), the clean query, database,
//! training and held-out training photos' features and, with `--robustness`, the deformed queries'. Its metadata holds a
//! format version and a key naming everything the features depend on (backbone and weights, split,
//! sizes, views, seed, and the photos' sizes and modification times). A file with another key or
//! version is not used (and is replaced after the features are computed again); a file that is not a
//! feature cache, or a damaged one, is an error.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use burn::tensor::Device;
use hashlens_core::photo::deform::Deformation;
use hashlens_core::train::{FeatureCache, TrainConfig};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// What every head-mode run of a comparison shares.
pub struct SharedFeatures {
    pub cache: Arc<FeatureCache>,
    pub query: Vec<Vec<f32>>,
    pub database: Vec<Vec<f32>>,
    pub train: Vec<Vec<f32>>,
    /// Training photos held out for choosing epochs and settings (`--validation`; none without).
    pub held_out: Vec<Vec<f32>>,
    pub deformed: Vec<(Deformation, Vec<Vec<f32>>)>,
}

const FORMAT: &str = "hashlens-compare-features";
const VERSION: &str = "2";

/// A fingerprint of the photos as files (path, size, modification time): features computed from them
/// stay valid while it does.
pub fn files_key(paths: &[&Path]) -> String {
    let mut bytes = Vec::new();
    for p in paths {
        bytes.extend(p.as_os_str().as_encoded_bytes());
        bytes.push(0);
        if let Ok(m) = std::fs::metadata(p) {
            bytes.extend(m.len().to_le_bytes());
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            bytes.extend(t.map_or(0, |t| t.as_nanos()).to_le_bytes());
        }
    }
    hashlens_core::io::fingerprint(&bytes)
}

/// Writes `shared` to `path` (atomically) under `key`.
pub fn save(path: &Path, key: &str, shared: &SharedFeatures) -> anyhow::Result<()> {
    let (teacher, student) = shared.cache.views();
    let mut tensors: Vec<(String, Vec<f32>, Vec<usize>)> = vec![
        ("teacher".into(), teacher.to_vec(), vec![teacher.len()]),
        ("student".into(), student.to_vec(), vec![student.len()]),
    ];
    let mut rows = |name: String, r: &[Vec<f32>]| {
        let dim = r.first().map_or(0, Vec::len);
        tensors.push((name, r.concat(), vec![r.len(), dim]));
    };
    rows("query".into(), &shared.query);
    rows("database".into(), &shared.database);
    rows("train".into(), &shared.train);
    rows("held_out".into(), &shared.held_out);
    for (d, r) in &shared.deformed {
        rows(format!("deformed.{}", d.name()), r);
    }
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .into_iter()
        .map(|(n, v, shape)| (n, v.iter().flat_map(|x| x.to_le_bytes()).collect(), shape))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, b, shape)| Ok((n.clone(), TensorView::new(Dtype::F32, shape.clone(), b)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let meta = [
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("key".to_string(), key.to_string()),
    ];
    let out = safetensors::serialize(views, Some(meta.into_iter().collect()))?;
    hashlens_core::io::write_atomic(path, &out)
        .with_context(|| format!("cannot write the feature cache {}", path.display()))
}

/// The features saved at `path` under `key`: `None` when there is no file or it was made for other
/// settings (said on stderr). `config` rebuilds the frozen backbone the training views came from.
pub fn load(
    path: &Path,
    key: &str,
    config: &TrainConfig,
    device: &Device,
) -> anyhow::Result<Option<SharedFeatures>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let bad = || format!("{} is not a hashlens feature cache", path.display());
    let (_, meta) = SafeTensors::read_metadata(&bytes).with_context(bad)?;
    let meta = meta.metadata().clone().unwrap_or_default();
    anyhow::ensure!(
        meta.get("format").map(String::as_str) == Some(FORMAT),
        bad()
    );
    if meta.get("version").map(String::as_str) != Some(VERSION) {
        eprintln!(
            "hashlens: {} is a feature cache of another hashlens (format version {}); computing the \
             features again",
            path.display(),
            meta.get("version").map_or("?", String::as_str)
        );
        return Ok(None);
    }
    if meta.get("key").map(String::as_str) != Some(key) {
        eprintln!(
            "hashlens: {} holds features of other settings or photos; computing them again",
            path.display()
        );
        return Ok(None);
    }
    let tensors = SafeTensors::deserialize(&bytes).with_context(bad)?;
    let values = |name: &str| -> anyhow::Result<(Vec<f32>, Vec<usize>)> {
        let t = tensors
            .tensor(name)
            .with_context(|| format!("{}: no tensor {name}", path.display()))?;
        anyhow::ensure!(
            t.dtype() == Dtype::F32,
            "{}: {name} is not f32",
            path.display()
        );
        let v = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok((v, t.shape().to_vec()))
    };
    let rows = |name: &str| -> anyhow::Result<Vec<Vec<f32>>> {
        let (v, shape) = values(name)?;
        anyhow::ensure!(
            shape.len() == 2,
            "{}: {name} is not a matrix",
            path.display()
        );
        Ok(match shape[1] {
            0 => vec![Vec::new(); shape[0]],
            d => v.chunks(d).map(<[f32]>::to_vec).collect(),
        })
    };
    let mut deformed = Vec::new();
    for d in Deformation::ALL.into_iter().skip(1) {
        let name = format!("deformed.{}", d.name());
        if tensors.names().iter().any(|n| **n == name) {
            deformed.push((d, rows(&name)?));
        }
    }
    let cache =
        FeatureCache::from_views(config, values("teacher")?.0, values("student")?.0, device)?;
    Ok(Some(SharedFeatures {
        cache: Arc::new(cache),
        query: rows("query")?,
        database: rows("database")?,
        train: rows("train")?,
        held_out: rows("held_out")?,
        deformed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashlens_core::model::BackboneArch;
    use hashlens_core::train::DhdLossConfig;

    /// What is saved is loaded back value for value; another key or a foreign file is not used.
    #[test]
    fn round_trips_and_checks_its_key() {
        let device = Device::flex();
        let config =
            TrainConfig::new(BackboneArch::MobilenetV2, DhdLossConfig::new()).with_cached_views(1);
        let dim = BackboneArch::MobilenetV2.feature_dim();
        let teacher: Vec<f32> = (0..2 * dim).map(|i| i as f32 * 0.5).collect();
        let student: Vec<f32> = (0..2 * dim).map(|i| -(i as f32)).collect();
        let cache =
            FeatureCache::from_views(&config, teacher.clone(), student.clone(), &device).unwrap();
        let shared = SharedFeatures {
            cache: Arc::new(cache),
            query: vec![vec![1.0, 2.0], vec![3.0, 4.0]],
            database: vec![vec![5.0, 6.0]],
            train: vec![vec![7.0, 8.0]; 3],
            held_out: vec![vec![0.5, 0.25]],
            deformed: vec![(Deformation::ALL[2], vec![vec![9.0, 10.0]; 2])],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("features.safetensors");
        save(&path, "key 1", &shared).unwrap();
        let back = load(&path, "key 1", &config, &device).unwrap().unwrap();
        assert_eq!(back.cache.views(), (&teacher[..], &student[..]));
        assert!(back.cache.serves(&config));
        assert_eq!(back.query, shared.query);
        assert_eq!(back.database, shared.database);
        assert_eq!(back.train, shared.train);
        assert_eq!(back.held_out, shared.held_out);
        assert_eq!(back.deformed.len(), 1);
        assert_eq!(back.deformed[0].0.name(), Deformation::ALL[2].name());
        assert_eq!(back.deformed[0].1, shared.deformed[0].1);
        assert!(load(&path, "key 2", &config, &device).unwrap().is_none());
        assert!(
            load(&dir.path().join("none"), "key 1", &config, &device)
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, b"not a cache").unwrap();
        let e = load(&path, "key 1", &config, &device).err().unwrap();
        assert!(
            e.to_string().contains("is not a hashlens feature cache"),
            "{e}"
        );
    }
}
