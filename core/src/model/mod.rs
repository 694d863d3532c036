//! Networks: pretrained backbones, their weights, hash heads and model files.
//!
//! Modules are plain Burn structs (`#[derive(Module)]`) with no backend type: the [`burn::tensor::Device`]
//! they are created on decides whether they run on the GPU (wgpu) or the CPU (flex).

pub mod backbone;
pub mod cpu_net;
pub mod depthwise;
pub mod encode;
pub mod features;
pub mod hash_model;
pub mod hybrid_hash;
pub mod imagenet;
pub mod inverted_residual;
pub mod nest;
pub mod network;
pub mod reference;
pub mod weights;

pub use backbone::{Backbone, BackboneArch, CpuInference, InferenceBackbone};
pub use cpu_net::CpuNet;
pub use hash_model::{
    CodePurpose, HashModel, HashNetwork, HeadKind, ModelConfig, ModelError, Provenance,
};
pub use network::ImageNetwork;

use burn::tensor::{Device, Tensor, TensorData};

/// Stacks preprocessed images (each `3 × side × side` values, channel-major, back to back) into a
/// `[n, 3, side, side]` tensor on `device`.
pub fn image_batch(values: Vec<f32>, side: usize, device: &Device) -> Tensor<4> {
    let n = values.len() / (3 * side * side);
    assert_eq!(values.len(), n * 3 * side * side, "whole images only");
    Tensor::from_data(TensorData::new(values, [n, 3, side, side]), device)
}
