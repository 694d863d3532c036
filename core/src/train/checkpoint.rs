//! Training checkpoints: everything a run needs to continue exactly where it stopped.
//!
//! One file, written atomically (temp file + rename) and sealed with a CRC-32, so a kill -9 leaves
//! either the previous checkpoint or the new one: `magic, version, then length-prefixed sections` —
//! the JSON state (config, position, history, data fingerprint, parameter ids), the network's tensors
//! (safetensors) and each optimiser's state (Burn's record bytes).
//!
//! Why parameter ids: Burn keys an optimiser's state (Adam's moments) by each parameter's random
//! `ParamId`. A network rebuilt from its tensors gets new ids and would silently restart Adam from
//! zero; the ids are saved in the module's visiting order and given back on load.

use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::io::{ByteReader, FileError};

const MAGIC: &[u8; 8] = b"HLCKPT\0\0";
pub const CHECKPOINT_FORMAT: u32 = 1;

/// The serialisable part of a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CheckpointState {
    /// The run's config as JSON (a [`super::TrainConfig`]).
    pub config: serde_json::Value,
    /// Steps finished, counted from the start of the run.
    pub steps_done: usize,
    pub data_fingerprint: String,
    pub history: Vec<super::EpochStats>,
    pub param_ids: Vec<u64>,
    /// CSQ's and SHC's centres, made before the first step (a resumed run uses these).
    #[serde(default)]
    pub centres: Option<super::class_centres::ClassCentres>,
}

/// A checkpoint in memory.
pub struct Checkpoint {
    pub state: CheckpointState,
    pub network: Vec<u8>,
    pub optimizers: Vec<Vec<u8>>,
}

impl Checkpoint {
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        let json = serde_json::to_vec(&self.state).expect("checkpoint state serialises");
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(&CHECKPOINT_FORMAT.to_le_bytes());
        for section in [&json, &self.network].into_iter().chain(&self.optimizers) {
            body.extend_from_slice(&(section.len() as u64).to_le_bytes());
            body.extend_from_slice(section);
        }
        crate::io::write_atomic(path, &crate::io::seal(body)).map_err(FileError::io(path))
    }

    pub fn load(path: &Path) -> Result<Self, FileError> {
        let bytes = std::fs::read(path).map_err(FileError::io(path))?;
        let bad = |why: &str| {
            FileError::invalid(path, format!("not a usable hashlens checkpoint: {why}"))
        };
        let body = crate::io::unseal(&bytes).ok_or_else(|| bad("damaged (checksum mismatch)"))?;
        let mut r = ByteReader::new(body);
        if r.take(8) != Some(MAGIC.as_slice()) {
            return Err(bad("wrong file type"));
        }
        match r.u32() {
            Some(CHECKPOINT_FORMAT) => {}
            Some(v) => {
                return Err(bad(&format!(
                    "format {v}; this hashlens reads {CHECKPOINT_FORMAT}"
                )));
            }
            None => return Err(bad("truncated")),
        }
        let mut sections = Vec::new();
        while r.remaining() > 0 {
            let n = r.u64().ok_or_else(|| bad("truncated"))? as usize;
            sections.push(r.take(n).ok_or_else(|| bad("truncated"))?.to_vec());
        }
        if sections.len() < 2 {
            return Err(bad("sections missing"));
        }
        let optimizers = sections.split_off(2);
        let network = sections.pop().expect("two sections");
        let state = serde_json::from_slice(&sections[0]).map_err(|e| bad(&e.to_string()))?;
        Ok(Self {
            state,
            network,
            optimizers,
        })
    }
}

/// Where a run writing the model `model` keeps its checkpoint unless told otherwise: `MODEL.ckpt`.
pub fn checkpoint_path_for(model: &Path) -> std::path::PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(".ckpt");
    s.into()
}

/// The ids of `module`'s float parameters in visiting order.
pub fn param_ids<M: Module>(module: &M) -> Vec<u64> {
    struct Ids(Vec<u64>);
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.id.val());
        }
    }
    let mut ids = Ids(Vec::new());
    module.visit(&mut ids);
    ids.0
}

/// `module` with its float parameters' ids replaced by `ids` (visiting order); `None` when the count
/// differs (another architecture).
pub fn with_param_ids<M: Module>(module: M, ids: &[u64]) -> Option<M> {
    if param_ids(&module).len() != ids.len() {
        return None;
    }
    struct Assign<'a>(std::slice::Iter<'a, u64>);
    impl ModuleMapper for Assign<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (_, value, mapper) = param.consume();
            let id = ParamId::from(*self.0.next().expect("counted"));
            Param::from_mapped_value(id, value, mapper)
        }
    }
    Some(module.map(&mut Assign(ids.iter())))
}

/// Whether every float parameter of `module` is finite (one read from the device).
pub fn params_finite<M: Module>(module: &M) -> bool {
    struct Sums(Vec<Tensor<1>>);
    impl ModuleVisitor for Sums {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().abs().sum());
        }
    }
    let mut sums = Sums(Vec::new());
    module.visit(&mut sums);
    if sums.0.is_empty() {
        return true;
    }
    let total: f32 = Tensor::cat(sums.0, 0).sum().into_scalar();
    total.is_finite()
}
