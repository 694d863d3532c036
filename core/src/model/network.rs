//! What every backbone network does, whatever its architecture: the interface [`super::Backbone`]
//! dispatches to and each network module implements (so that the networks need not know the enum that
//! wraps them).

use burn::tensor::Tensor;

/// What a backbone network does.
pub trait ImageNetwork {
    /// Pooled features, `[batch, feature_dim]`, from normalised `[batch, 3, H, W]` images.
    fn features(&self, x: Tensor<4>) -> Tensor<2>;
    /// ImageNet-1k logits, `[batch, 1000]`, when the network has an ImageNet classifier.
    fn logits(&self, x: Tensor<4>) -> Option<Tensor<2>>;
}
