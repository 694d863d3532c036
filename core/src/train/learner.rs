//! What one training step updates, in the two modes: the whole network on two augmented views
//! ([`FullLearner`], for a GPU), or only the hash head on backbone features of augmented views computed
//! once ([`HeadLearner`], minutes on a laptop CPU).

use burn::module::{Module, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use super::augment::{AugmentGroup, ViewParams, augment};
use super::checkpoint::{param_ids, params_finite, with_param_ids};
use super::class_centres::ClassCentres;
use super::config::TrainConfig;
use super::data::TrainImages;
use super::events::{TrainError, TrainEvent};
use super::feature_cache::FeatureCache;
use super::micro_batch::{StepGradients, batch_gradients};
use super::network::TrainedNetwork;
use super::objective::Objective;
use crate::model::Backbone;
use crate::model::hash_model::TrainedHead;
use crate::model::weights::{load_safetensors_bytes, to_safetensors_bytes};

/// One mode's trainable state.
pub trait Learner {
    /// One optimisation step on the photos `items`; returns `[L_HP, L_SdH, L_bce-Q, total]`, detached.
    fn step(
        &mut self,
        items: &[usize],
        rng: &mut ChaCha8Rng,
        lr_backbone: f64,
        lr_head: f64,
    ) -> Tensor<1>;
    /// Network tensors (safetensors), optimiser states (then the objective's state, if it has one) and
    /// parameter ids for a checkpoint.
    fn snapshot(&self) -> (Vec<u8>, Vec<Vec<u8>>, Vec<u64>);
    /// Takes the tensors, optimiser states and parameter ids of a checkpoint.
    fn restore(
        &mut self,
        network: &[u8],
        optimizers: &[Vec<u8>],
        ids: &[u64],
    ) -> Result<(), String>;
    /// The inference-mode backbone and head, and whether the backbone differs from the built-in
    /// pretrained one (fine-tuned, or from a weight file: the model file must carry it).
    fn finish(&self) -> (Backbone, TrainedHead, bool);
    /// Whether every trainable parameter is finite (a step with an infinite gradient is not).
    fn finite(&self) -> bool;
}

/// Adam with DHD's coupled L2 weight decay (added to the gradient, as PyTorch's `Adam(weight_decay)`;
/// Burn's `AdamW` would decouple it).
fn adam(weight_decay: f64) -> ModuleOptimizer {
    AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(weight_decay as f32)))
        .init()
}

/// A new head; with centres, they replace the proxies (which CSQ and SHC do not train), so that the
/// model file carries them.
fn new_head(
    config: &TrainConfig,
    dim: usize,
    classes: usize,
    centres: Option<&ClassCentres>,
    device: &Device,
) -> TrainedHead {
    let mut head = TrainedHead::seeded(dim, config.bits, classes, config.seed, device);
    if let Some(c) = centres {
        head.proxies = Param::from_data(
            TensorData::new(c.centres.clone(), [classes, config.bits]),
            device,
        );
    }
    head
}

fn optim_bytes(o: &ModuleOptimizer) -> Vec<u8> {
    o.into_bytes().expect("optimiser state serialises").to_vec()
}

fn load_optim(o: ModuleOptimizer, bytes: &[u8]) -> Result<ModuleOptimizer, String> {
    o.from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("optimiser state: {e}"))
}

/// Whole-network training on two views of every photo.
pub struct FullLearner<'a> {
    net: TrainedNetwork,
    opt_backbone: ModuleOptimizer,
    opt_head: ModuleOptimizer,
    images: &'a TrainImages,
    objective: Objective,
    teacher: AugmentGroup,
    student: AugmentGroup,
    pre: crate::photo::Preprocess,
    /// Photos per pass through the network (`usize::MAX`: the whole batch).
    micro_batch: usize,
    /// The share of student views made from an everyday edit ([`TrainConfig::edit_views`]).
    edit_views: Option<f64>,
    device: Device,
}

impl<'a> FullLearner<'a> {
    /// `device` is an autodiff device; `centres` those of CSQ and SHC; `on_event` hears what a weight
    /// file gave.
    pub fn new(
        config: &TrainConfig,
        images: &'a TrainImages,
        device: &Device,
        centres: Option<&ClassCentres>,
        on_event: &mut dyn FnMut(TrainEvent),
    ) -> Result<Self, TrainError> {
        let arch = config.backbone;
        let (backbone, note) = config.starting_backbone(device)?;
        if let Some(note) = note {
            on_event(TrainEvent::Note(note));
        }
        let net = TrainedNetwork {
            backbone,
            head: new_head(config, arch.feature_dim(), images.classes, centres, device),
        };
        Ok(Self {
            net,
            opt_backbone: adam(config.weight_decay),
            opt_head: adam(config.weight_decay),
            images,
            objective: Objective::new(config, images, centres, device),
            teacher: AugmentGroup::teacher(config.teacher_scale),
            student: AugmentGroup::student(),
            pre: config.input(),
            micro_batch: config.micro_batch.unwrap_or(usize::MAX).max(1),
            edit_views: config.edit_views,
            device: device.clone(),
        })
    }
}

impl Learner for FullLearner<'_> {
    fn step(
        &mut self,
        items: &[usize],
        rng: &mut ChaCha8Rng,
        lr_backbone: f64,
        lr_head: f64,
    ) -> Tensor<1> {
        let b = items.len();
        let x = self.images.pixels(items, &self.device);
        let teacher = augment(
            x.clone(),
            &ViewParams::draw(&self.teacher, b, rng),
            &self.pre,
        );
        // The student view's parameters are drawn even when it is not made, so that the augmentation
        // stream (and a resumed run) does not depend on the method.
        let student_params = ViewParams::draw(&self.student, b, rng);
        // Two passes through the same network, as DHD (BatchNorm sees each view's own statistics).
        let student = self.objective.distils().then(|| {
            let x = match self.edit_views {
                // Drawn after both views' parameters, so that without edit views the stream is as before.
                Some(_) => self
                    .images
                    .student_pixels(items, &self.device, self.edit_views, rng),
                None => x,
            };
            augment(x, &student_params, &self.pre)
        });
        let (objective, images, device) = (&mut self.objective, self.images, &self.device);
        let StepGradients {
            values,
            backbone: g_backbone,
            head: g_head,
        } = batch_gradients(
            &self.net,
            teacher,
            student,
            self.micro_batch,
            |u_t, u_s, proxies| objective.forward(u_t, u_s, proxies, images, items, device),
        );
        let TrainedNetwork { backbone, head } = self.net.clone();
        self.net = TrainedNetwork {
            backbone: self.opt_backbone.step(lr_backbone, backbone, g_backbone),
            head: self.opt_head.step(lr_head, head, g_head),
        };
        values
    }

    fn snapshot(&self) -> (Vec<u8>, Vec<Vec<u8>>, Vec<u64>) {
        // `valid()` folds BatchNorm's pending running-statistics update into its value; saving the
        // training module directly would store them one update old.
        let net = to_safetensors_bytes(&self.net.valid(), &[]).expect("network serialises");
        (
            net,
            [optim_bytes(&self.opt_backbone), optim_bytes(&self.opt_head)]
                .into_iter()
                .chain(self.objective.state())
                .collect(),
            param_ids(&self.net),
        )
    }

    fn restore(
        &mut self,
        network: &[u8],
        optimizers: &[Vec<u8>],
        ids: &[u64],
    ) -> Result<(), String> {
        let [ob, oh, state @ ..] = optimizers else {
            return Err("a full-network checkpoint has two optimiser states".into());
        };
        self.objective.restore(state.first())?;
        load_safetensors_bytes(&mut self.net, network, "checkpoint").map_err(|e| e.to_string())?;
        self.net =
            with_param_ids(self.net.clone(), ids).ok_or("the checkpoint is of another network")?;
        self.opt_backbone = load_optim(self.opt_backbone.clone(), ob)?;
        self.opt_head = load_optim(self.opt_head.clone(), oh)?;
        Ok(())
    }

    fn finish(&self) -> (Backbone, TrainedHead, bool) {
        let net = self.net.valid();
        (net.backbone, net.head, true)
    }

    fn finite(&self) -> bool {
        params_finite(&self.net)
    }
}

/// Head-only training on cached features: the frozen backbone has seen each photo in `views` teacher
/// and `views` student augmentations once; every step then picks one of each per photo.
pub struct HeadLearner<'a> {
    head: TrainedHead,
    cache: std::sync::Arc<FeatureCache>,
    opt: ModuleOptimizer,
    images: &'a TrainImages,
    objective: Objective,
    device: Device,
}

impl<'a> HeadLearner<'a> {
    /// `device` is an autodiff device; `cache` must serve `config`; `centres` those of CSQ and SHC.
    pub fn new(
        config: &TrainConfig,
        images: &'a TrainImages,
        device: &Device,
        cache: std::sync::Arc<FeatureCache>,
        centres: Option<&ClassCentres>,
    ) -> Self {
        assert!(cache.serves(config), "a feature cache of other settings");
        Self {
            head: new_head(config, cache.dim(), images.classes, centres, device),
            cache,
            opt: adam(config.weight_decay),
            images,
            objective: Objective::new(config, images, centres, device),
            device: device.clone(),
        }
    }

    fn gather(&self, teacher: bool, items: &[usize], rng: &mut ChaCha8Rng) -> Tensor<2> {
        let v = self.cache.one_view_each(teacher, items, rng);
        Tensor::from_data(
            TensorData::new(v, [items.len(), self.cache.dim()]),
            &self.device,
        )
    }
}

impl Learner for HeadLearner<'_> {
    fn step(
        &mut self,
        items: &[usize],
        rng: &mut ChaCha8Rng,
        _lr_backbone: f64,
        lr_head: f64,
    ) -> Tensor<1> {
        let t = self.gather(true, items, rng);
        let s = self.gather(false, items, rng);
        let u_s = self.objective.distils().then(|| self.head.forward(s));
        let parts = self.objective.forward(
            self.head.forward(t),
            u_s,
            self.head.proxies.val(),
            self.images,
            items,
            &self.device,
        );
        let values = parts.values();
        let grads = GradientsParams::from_grads(parts.total.backward(), &self.head);
        self.head = self.opt.step(lr_head, self.head.clone(), grads);
        values
    }

    fn snapshot(&self) -> (Vec<u8>, Vec<Vec<u8>>, Vec<u64>) {
        let head = to_safetensors_bytes(&self.head, &[]).expect("head serialises");
        let states = std::iter::once(optim_bytes(&self.opt))
            .chain(self.objective.state())
            .collect();
        (head, states, param_ids(&self.head))
    }

    fn restore(
        &mut self,
        network: &[u8],
        optimizers: &[Vec<u8>],
        ids: &[u64],
    ) -> Result<(), String> {
        let [o, state @ ..] = optimizers else {
            return Err("a head-only checkpoint has one optimiser state".into());
        };
        self.objective.restore(state.first())?;
        load_safetensors_bytes(&mut self.head, network, "checkpoint").map_err(|e| e.to_string())?;
        self.head =
            with_param_ids(self.head.clone(), ids).ok_or("the checkpoint is of another head")?;
        self.opt = load_optim(self.opt.clone(), o)?;
        Ok(())
    }

    fn finish(&self) -> (Backbone, TrainedHead, bool) {
        (
            self.cache.backbone().clone(),
            self.head.valid(),
            self.cache.own_backbone(),
        )
    }

    fn finite(&self) -> bool {
        params_finite(&self.head)
    }
}
