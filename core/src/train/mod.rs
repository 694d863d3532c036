//! Training hash networks. This release has Deep Hash Distillation's losses ([`loss`]); the training loop,
//! augmentation groups and checkpoints come with the DHD training issue.

pub mod loss;

pub use loss::{DhdLoss, DhdLossConfig, DhdLossParts};
