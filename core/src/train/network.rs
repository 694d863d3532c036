//! What whole-network training updates: the backbone and the trained hash head together.

use burn::module::Module;

use crate::model::Backbone;
use crate::model::hash_model::TrainedHead;

/// Backbone and trained head, updated together.
#[derive(Module, Debug)]
pub struct TrainedNetwork {
    pub backbone: Backbone,
    pub head: TrainedHead,
}
