//! Starting HybridHash from timm's ImageNet NesT-B weights, as the paper does (spec §7.1: upstream loads
//! `jx_nest_base-8bc41011.pth` with `strict=False`).
//!
//! Why a loader of its own: `strict=False` silently keeps random weights for anything whose name does
//! not match, so a wrong file (NesT-S, a classifier, a renamed checkpoint) would "load" and train from
//! scratch without a word. Here the partial load is explicit about what is expected:
//! - new in HybridHash, so absent from NesT and left at their initialisation: each interaction module's
//!   global branch (`conv_glo`, `global_attention`) and the whole hash layer;
//! - in NesT but unused: the ImageNet classifier (`head`) and the last level's layers beyond HybridHash's
//!   depth (NesT-B has 20, HybridHash's `train.py` 15);
//! - everything else — patch embedding, every level's positional embedding and transformer layers, the
//!   interaction modules' local `conv` and `norm` (named as NesT's `ConvPool`), the final norm — must load,
//!   with its shape, or the file is refused naming the tensor.
//!
//! Both of timm's formats are read: the PyTorch pickle (`.pth`, `.pt`, `.bin`) and Hugging Face's
//! `model.safetensors`, each in PyTorch's layout (Linear weights transposed, LayerNorm `weight`/`bias`).

use std::path::Path;

use burn::store::{
    ApplyResult, ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};

use super::hybrid_hash::HybridHashNet;
use super::weights::WeightsError;

/// What a NesT file gave the network.
#[derive(Clone, Debug, PartialEq)]
pub struct NestReport {
    /// Tensors taken from the file.
    pub loaded: usize,
    /// The network's tensors the file does not have (left at their initialisation).
    pub new: Vec<String>,
    /// The file's tensors the network does not use.
    pub unused: Vec<String>,
}

impl NestReport {
    /// One line for the log.
    pub fn summary(&self, path: &Path) -> String {
        format!(
            "{}: {} NesT tensors loaded; {} new in HybridHash start from random weights (interaction \
             modules' global branches, hash layer); {} of the file's unused (ImageNet classifier, layers \
             beyond the network's depth)",
            path.display(),
            self.loaded,
            self.new.len(),
            self.unused.len()
        )
    }
}

/// Whether `path` is to be read as a timm NesT checkpoint rather than a file of this network's own
/// tensors (which always include the hash layer).
pub fn is_nest_file(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("pth" | "pt" | "bin") => true,
        Some("safetensors") => !safetensors_has(path, "hash_layer."),
        _ => false,
    }
}

/// Whether a safetensors file has a tensor whose name starts with `prefix`, from its header alone (false
/// if unreadable: the loader then says why).
fn safetensors_has(path: &Path, prefix: &str) -> bool {
    use std::io::Read;
    let header = || -> std::io::Result<Vec<u8>> {
        let mut file = std::fs::File::open(path)?;
        let mut len = [0u8; 8];
        file.read_exact(&mut len)?;
        // A header is JSON of a few hundred bytes per tensor; 100 MB is no header.
        let len = u64::from_le_bytes(len).min(100 << 20);
        let mut bytes = Vec::new();
        file.take(len).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    header()
        .ok()
        .and_then(|h| serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&h).ok())
        .is_some_and(|m| m.keys().any(|k| k.starts_with(prefix)))
}

/// A tensor of HybridHash that NesT does not have.
fn new_in_hybrid_hash(name: &str) -> bool {
    name.starts_with("hash_layer.")
        || name.contains(".conv_glo.")
        || name.contains(".global_attention.")
}

/// A tensor of NesT-B that HybridHash does not use: the classifier, and transformer layers of a level
/// beyond the network's depth there.
fn unused_by_hybrid_hash(name: &str, depths: &[usize]) -> bool {
    if name.starts_with("head.") {
        return true;
    }
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        ["levels", level, "transformer_encoder", layer, ..] => {
            match (level.parse::<usize>(), layer.parse::<usize>()) {
                (Ok(l), Ok(i)) => depths.get(l).is_some_and(|&d| i >= d),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Loads a timm NesT checkpoint into `net` (made with `depths`), checking that it is one.
pub fn load_nest(
    net: &mut HybridHashNet,
    path: &Path,
    depths: &[usize],
) -> Result<NestReport, WeightsError> {
    let name = path.display().to_string();
    const SIZES: &str = "timm's NesT-B weights are for 224-pixel inputs and widths 128/256/512";
    let read = |message: String| WeightsError::Read {
        path: name.clone(),
        message: if message.contains("Shape") {
            format!("{message} ({SIZES})")
        } else {
            message
        },
    };
    let safetensors = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    let result: ApplyResult = if safetensors {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .allow_partial(true);
        net.load_from(&mut store).map_err(|e| read(e.to_string()))?
    } else {
        let mut store = PytorchStore::from_file(path)
            .allow_partial(true)
            .map_indices_contiguous(false);
        net.load_from(&mut store).map_err(|e| read(e.to_string()))?
    };
    if let Some(e) = result.errors.first() {
        return Err(WeightsError::Mismatch {
            path: name,
            message: format!("{e} ({SIZES})"),
        });
    }
    let mut new: Vec<String> = result.missing.iter().map(|(t, _)| t.clone()).collect();
    new.sort();
    let absent: Vec<&String> = new.iter().filter(|t| !new_in_hybrid_hash(t)).collect();
    if let Some(tensor) = absent.first() {
        return Err(WeightsError::Missing {
            path: name,
            tensor: format!("{tensor} (is it a NesT checkpoint?)"),
            count: absent.len(),
        });
    }
    let mut unused: Vec<String> = result
        .unused
        .iter()
        .filter(|k| !super::weights::ignorable(k))
        .cloned()
        .collect();
    unused.sort();
    let foreign: Vec<&String> = unused
        .iter()
        .filter(|t| !unused_by_hybrid_hash(t, depths))
        .collect();
    if let Some(tensor) = foreign.first() {
        return Err(WeightsError::Unexpected {
            path: name,
            tensor: tensor.to_string(),
            count: foreign.len(),
        });
    }
    Ok(NestReport {
        loaded: result.applied.len(),
        new,
        unused,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use burn::tensor::{Device, Tensor};

    use super::*;
    use crate::model::hybrid_hash::HybridHashConfig;

    /// A 64-pixel HybridHash: patch 4, a 16×16 grid, blocks of 4×4 (16 tokens), widths 8/16/32.
    fn config() -> HybridHashConfig {
        HybridHashConfig::new()
            .with_image_size(64)
            .with_dims(vec![8, 16, 32])
            .with_heads(vec![2, 2, 4])
            .with_depths(vec![1, 1, 2])
            .with_global_heads(2)
    }

    /// timm's NesT `state_dict` names and (PyTorch) shapes, written from timm's `nest.py` independently of
    /// our module tree: `patch_embed.proj`; per level `pos_embed` `[1, blocks, seq, C]`, from level 1 a
    /// `ConvPool` (`pool.conv` 3×3 with bias, `pool.norm`), and `transformer_encoder.i.{norm1, attn.qkv
    /// (bias), attn.proj, norm2, mlp.fc1, mlp.fc2}`; the final `norm`; the classifier `head`.
    fn timm_nest(dims: &[usize], depths: &[usize], seq: usize) -> Vec<(String, Vec<usize>)> {
        let mut t = vec![
            (
                "patch_embed.proj.weight".to_string(),
                vec![dims[0], 3, 4, 4],
            ),
            ("patch_embed.proj.bias".to_string(), vec![dims[0]]),
        ];
        let levels = dims.len();
        for (l, (&d, &depth)) in dims.iter().zip(depths).enumerate() {
            let blocks = 1 << (2 * (levels - 1 - l));
            t.push((format!("levels.{l}.pos_embed"), vec![1, blocks, seq, d]));
            if l > 0 {
                t.push((
                    format!("levels.{l}.pool.conv.weight"),
                    vec![d, dims[l - 1], 3, 3],
                ));
                t.push((format!("levels.{l}.pool.conv.bias"), vec![d]));
                t.push((format!("levels.{l}.pool.norm.weight"), vec![d]));
                t.push((format!("levels.{l}.pool.norm.bias"), vec![d]));
            }
            for i in 0..depth {
                let p = format!("levels.{l}.transformer_encoder.{i}");
                for (name, shape) in [
                    ("norm1.weight", vec![d]),
                    ("norm1.bias", vec![d]),
                    ("attn.qkv.weight", vec![3 * d, d]),
                    ("attn.qkv.bias", vec![3 * d]),
                    ("attn.proj.weight", vec![d, d]),
                    ("attn.proj.bias", vec![d]),
                    ("norm2.weight", vec![d]),
                    ("norm2.bias", vec![d]),
                    ("mlp.fc1.weight", vec![4 * d, d]),
                    ("mlp.fc1.bias", vec![4 * d]),
                    ("mlp.fc2.weight", vec![d, 4 * d]),
                    ("mlp.fc2.bias", vec![d]),
                ] {
                    t.push((format!("{p}.{name}"), shape));
                }
            }
        }
        let last = dims[levels - 1];
        t.push(("norm.weight".into(), vec![last]));
        t.push(("norm.bias".into(), vec![last]));
        t.push(("head.weight".into(), vec![1000, last]));
        t.push(("head.bias".into(), vec![1000]));
        t
    }

    /// Element `k` of the file's tensor number `t`.
    fn value(t: usize, k: usize) -> f32 {
        ((t * 7919 + k * 31) % 1000) as f32 / 1000.0 - 0.5
    }

    fn write(dir: &Path, name: &str, tensors: &[(String, Vec<usize>)]) -> PathBuf {
        let data: Vec<Vec<u8>> = tensors
            .iter()
            .enumerate()
            .map(|(t, (_, shape))| {
                let n: usize = shape.iter().product();
                (0..n).flat_map(|k| value(t, k).to_le_bytes()).collect()
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .zip(&data)
            .map(|((name, shape), bytes)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    bytes,
                )
                .unwrap();
                (name.clone(), view)
            })
            .collect();
        let path = dir.join(name);
        std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
        path
    }

    fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn index_of(tensors: &[(String, Vec<usize>)], name: &str) -> usize {
        tensors.iter().position(|(n, _)| n == name).unwrap()
    }

    #[test]
    fn timm_nest_weights_load_where_the_paper_says() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let c = config();
        // The file is deeper than the network on two levels, as NesT-B (20) is than HybridHash (15).
        let file = timm_nest(&c.dims, &[2, 1, 3], 16);
        let path = write(dir.path(), "nest.safetensors", &file);
        assert!(is_nest_file(&path));
        let mut net = c.init(&device);
        let report = load_nest(&mut net, &path, &c.depths).unwrap();

        // Unused: the classifier and the extra layers, nothing else.
        let extra = [
            "levels.0.transformer_encoder.1.",
            "levels.2.transformer_encoder.2.",
            "head.",
        ];
        let expect_unused: Vec<&String> = file
            .iter()
            .map(|(n, _)| n)
            .filter(|n| extra.iter().any(|e| n.starts_with(e)))
            .collect();
        assert_eq!(
            report.unused.len(),
            expect_unused.len(),
            "{:?}",
            report.unused
        );
        assert_eq!(report.loaded, file.len() - expect_unused.len());
        // New: the global branches and the hash layer, which are in no NesT file.
        assert!(
            report.new.iter().all(|n| new_in_hybrid_hash(n)),
            "{:?}",
            report.new
        );
        for n in [
            "levels.1.pool.conv_glo.weight",
            "levels.2.pool.global_attention.qkv.weight",
            "hash_layer.conv_s1.weight",
        ] {
            assert!(
                report.new.iter().any(|m| m == n),
                "{n} not in {:?}",
                report.new
            );
        }

        // PyTorch's Linear `[out, in]` becomes Burn's `[in, out]`.
        let qkv = floats(net.levels[0].transformer_encoder[0].attn.qkv.weight.val());
        let t = index_of(&file, "levels.0.transformer_encoder.0.attn.qkv.weight");
        let (d, out) = (8, 24);
        for (r, col) in [(0, 0), (5, 3), (23, 7)] {
            assert_eq!(qkv[col * out + r], value(t, r * d + col), "qkv[{r}][{col}]");
        }
        // LayerNorm's weight is Burn's gamma; convolutions keep their layout; positional embeddings too.
        let t = index_of(&file, "norm.weight");
        assert_eq!(
            floats(net.norm.gamma.val()),
            (0..32).map(|k| value(t, k)).collect::<Vec<_>>()
        );
        let conv = floats(net.levels[1].pool.as_ref().unwrap().conv.weight.val());
        let t = index_of(&file, "levels.1.pool.conv.weight");
        assert_eq!(
            conv[..50],
            (0..50).map(|k| value(t, k)).collect::<Vec<_>>()[..]
        );
        let pos = floats(net.levels[2].pos_embed.val());
        let t = index_of(&file, "levels.2.pos_embed");
        assert_eq!(pos[100], value(t, 100));
        assert!(
            report
                .summary(&path)
                .contains(&format!("{} NesT tensors loaded", report.loaded))
        );
    }

    #[test]
    fn other_files_are_refused_naming_the_tensor() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        let c = config();
        let good = timm_nest(&c.dims, &c.depths, 16);

        // A tensor the network needs is absent.
        let without: Vec<_> = good
            .iter()
            .filter(|(n, _)| n != "levels.1.pool.norm.weight")
            .cloned()
            .collect();
        let path = write(dir.path(), "missing.safetensors", &without);
        let e = load_nest(&mut c.init(&device), &path, &c.depths)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("levels.1.pool.norm.gamma") || e.contains("levels.1.pool.norm"),
            "{e}"
        );

        // NesT for another input size: the positional embeddings do not fit.
        let other = timm_nest(&c.dims, &c.depths, 64);
        let path = write(dir.path(), "other-size.safetensors", &other);
        let e = load_nest(&mut c.init(&device), &path, &c.depths)
            .unwrap_err()
            .to_string();
        assert!(e.contains("pos_embed") && e.contains("224-pixel"), "{e}");

        // A tensor that is neither HybridHash's nor expected from NesT.
        let mut extra = good.clone();
        extra.push(("levels.0.pool.conv.weight".into(), vec![8, 3, 3, 3]));
        let path = write(dir.path(), "extra.safetensors", &extra);
        let e = load_nest(&mut c.init(&device), &path, &c.depths)
            .unwrap_err()
            .to_string();
        assert!(e.contains("levels.0.pool.conv.weight"), "{e}");
    }

    /// A file of this network's own tensors (hash layer included) is not a NesT file; `.pth` always is.
    #[test]
    fn own_files_are_not_nest_files() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.safetensors");
        crate::model::weights::save_safetensors(&config().init(&Device::flex()), &own).unwrap();
        assert!(!is_nest_file(&own));
        assert!(is_nest_file(Path::new("jx_nest_base-8bc41011.pth")));
        assert!(!is_nest_file(Path::new("weights.txt")));
    }
}
