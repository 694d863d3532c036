//! Training deep hashing models: Deep Hash Distillation (../shared/spec/methods.md §2), and DHN, CSQ, SHC
//! and HybridHash's loss on the same loop (§4–§7), with DHD's self-distillation as a plug-in.
//!
//! - [`loss`]: DHD's three losses, L_HP + λ₁·L_SdH + λ₂·L_bce-Q.
//! - [`method`]: which objective a run trains (DHD, DHN, CSQ, SHC, HybridHash) and the SdH plug-in;
//!   `objective`: what its loss reads besides the network (centres, HybridHash's memory bank);
//!   [`class_centres`]: the centres CSQ and SHC pull photos toward, made before the first step from
//!   [`centres`] (CSQ's Hadamard centres), [`min_distance`] (MDSHC's minimum-distance centres) and
//!   [`shc`] (SHC's semantic centres).
//! - [`augment`]: the teacher and student augmentation groups, batched on the device.
//! - [`data`]: training photos decoded once and held in memory, with their targets;
//!   [`pseudo_labels`]: the targets of a folder without labels (ImageNet classes or feature clusters).
//! - [`learner`]: what a step updates: the whole network on the GPU, or the head on cached features.
//! - [`checkpoint`]: atomic checkpoints that resume a run exactly.
//! - [`config`]: a run's settings; [`events`]: what it reports and why it stops; [`run`]: the loop
//!   ([`train`]); [`job`]: the use case that the CLI and the app share ([`run_train_job`]).
//!
//! This file only declares and re-exports: the modules' `use` lines point at each other directly, never
//! up at this one, so that no two of them import each other (`tests/module_graph.rs`).

pub mod augment;
pub mod centres;
pub mod checkpoint;
pub mod class_centres;
pub mod config;
pub mod data;
pub mod events;
pub mod feature_cache;
pub mod job;
pub mod learner;
pub mod loss;
pub mod method;
mod micro_batch;
pub mod min_distance;
mod network;
mod objective;
pub mod pseudo_labels;
pub mod run;
mod schedule;
mod seed;
pub mod shc;

pub use checkpoint::Checkpoint;
pub use config::{TrainConfig, TrainMode};
pub use data::TrainImages;
pub use events::{EpochStats, LossValues, TrainError, TrainEvent, ViewPreview};
pub use feature_cache::FeatureCache;
pub use job::{
    LabelSource, TrainChoice, TrainJob, TrainJobReport, recommended_method,
    recommended_temperature, run_train_job,
};
pub use loss::{DhdLoss, DhdLossConfig, LossParts};
pub use method::{HashLoss, Method, MethodConfig, Reference};
pub use pseudo_labels::PseudoLabels;
pub use run::{TrainHooks, TrainOutcome, train, train_cached};
pub use schedule::cosine_lr;
pub(crate) use seed::rng;

#[cfg(test)]
mod tests;
