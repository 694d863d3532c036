//! A whole batch's gradient computed a few photos at a time, for GPUs without the memory for a batch's
//! activations (DHD's batch of 128 photos, two views each, at 224 px wants several GiB).
//!
//! Why not plain gradient accumulation (a loss per micro-batch, gradients summed): not every loss here
//! is a sum over photos. DHD's terms are, but DHN's and HybridHash's pairwise terms compare every pair
//! of the batch, so per-micro-batch losses would see only the pairs inside each micro-batch: another
//! objective. Instead this is the "gradient cache" of Gao et al. (2021, "Scaling Deep Contrastive
//! Learning Batch Size under Memory Limited Setup"), exact for any loss of the codes:
//! 1. every micro-batch's codes, with no graph kept;
//! 2. the whole batch's loss of those codes, and its gradient with respect to each code (and to the
//!    proxies, which only the loss sees);
//! 3. every micro-batch again, with a graph, back-propagating its codes' share of that gradient.
//!
//! The price is a second forward pass. One difference from the whole batch remains, as in any
//! accumulation: BatchNorm normalises each micro-batch with that micro-batch's own statistics.

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::Tensor;

use super::LossParts;
use super::network::TrainedNetwork;
use crate::model::Backbone;
use crate::model::hash_model::TrainedHead;

/// One step's gradients: the backbone's, the head's (proxies included), and the loss terms (detached).
pub(super) struct StepGradients {
    pub values: Tensor<1>,
    pub backbone: GradientsParams,
    pub head: GradientsParams,
}

/// The gradient of `loss(teacher codes, student codes, proxies)` over the batch of views `teacher` and
/// `student` (`[b, 3, s, s]`, on an autodiff device), pushing at most `micro` photos of a view through
/// `net` at a time (`micro ≥ b`: the whole batch in one pass).
pub(super) fn batch_gradients(
    net: &TrainedNetwork,
    teacher: Tensor<4>,
    student: Option<Tensor<4>>,
    micro: usize,
    loss: impl FnOnce(Tensor<2>, Option<Tensor<2>>, Tensor<2>) -> LossParts,
) -> StepGradients {
    let b = teacher.dims()[0];
    let encode = |n: &TrainedNetwork, x: Tensor<4>| n.head.forward(n.backbone.features(x));
    if micro >= b {
        let u_t = encode(net, teacher);
        let u_s = student.map(|x| encode(net, x));
        let parts = loss(u_t, u_s, net.head.proxies.val());
        let values = parts.values();
        let mut grads = parts.total.backward();
        return StepGradients {
            values,
            backbone: GradientsParams::from_module(&mut grads, &net.backbone),
            head: GradientsParams::from_module(&mut grads, &net.head),
        };
    }
    let ranges: Vec<(usize, usize)> = (0..b)
        .step_by(micro.max(1))
        .map(|s| (s, micro.min(b - s)))
        .collect();

    // 1. Codes without a graph, from a copy whose parameters track nothing. `valid().train()` gives
    //    the copy its own BatchNorm running statistics (still in training mode, so each micro-batch is
    //    normalised exactly as in pass 3); a plain clone would share them, and every micro-batch would
    //    move them twice.
    let untracked = net.valid().train().no_grad();
    let codes = |view: &Tensor<4>| {
        let parts = ranges
            .iter()
            .map(|&(s, len)| encode(&untracked, view.clone().narrow(0, s, len)))
            .collect();
        Tensor::cat(parts, 0).require_grad()
    };
    let u_t = codes(&teacher);
    let u_s = student.as_ref().map(codes);

    // 2. The whole batch's loss, its gradient per code, and the proxies' gradient.
    let parts = loss(u_t.clone(), u_s.clone(), net.head.proxies.val());
    let values = parts.values();
    let mut grads = parts.total.backward();
    let g_t = u_t
        .grad(&grads)
        .expect("the loss depends on the teacher codes");
    let g_s = u_s.map(|u| {
        u.grad(&grads)
            .expect("the loss depends on the student codes")
    });
    let mut head = GradientsAccumulator::<TrainedHead>::new();
    head.accumulate(
        &net.head,
        GradientsParams::from_module(&mut grads, &net.head),
    );
    drop(grads);

    // 3. Each micro-batch with a graph: d/dθ Σ u(θ)·g is the batch loss's gradient through these codes.
    let mut backbone = GradientsAccumulator::<Backbone>::new();
    for &(s, len) in &ranges {
        let share = |view: &Tensor<4>, g: &Tensor<2>| {
            (encode(net, view.clone().narrow(0, s, len)) * g.clone().narrow(0, s, len)).sum()
        };
        let mut surrogate = share(&teacher, &g_t);
        if let (Some(view), Some(g)) = (&student, &g_s) {
            surrogate = surrogate + share(view, g);
        }
        let mut grads = surrogate.backward();
        backbone.accumulate(
            &net.backbone,
            GradientsParams::from_module(&mut grads, &net.backbone),
        );
        head.accumulate(
            &net.head,
            GradientsParams::from_module(&mut grads, &net.head),
        );
    }
    StepGradients {
        values,
        backbone: backbone.grads(),
        head: head.grads(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use burn::module::{ModuleVisitor, Param, ParamId};
    use burn::tensor::{Device, Distribution, TensorData};

    use super::*;
    use crate::model::BackboneArch;
    use crate::train::loss::DhdLossConfig;
    use crate::train::method::{HashLoss, Method, MethodConfig, Reference};

    /// Every float tensor of a module by id: parameters, and BatchNorm's running statistics.
    #[derive(Default)]
    struct Floats(HashMap<ParamId, Vec<f32>>);

    impl ModuleVisitor for Floats {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            self.0.insert(param.id, v);
        }
    }

    fn floats(module: &impl Module) -> HashMap<ParamId, Vec<f32>> {
        let mut f = Floats::default();
        module.visit(&mut f);
        f.0
    }

    /// Every parameter's gradient in `grads`, by id.
    struct Grads<'a>(&'a GradientsParams, HashMap<ParamId, Vec<f32>>);

    impl ModuleVisitor for Grads<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(param.id) {
                let v = g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
                self.1.insert(param.id, v);
            }
        }
    }

    fn grads_of(module: &impl Module, grads: &GradientsParams) -> HashMap<ParamId, Vec<f32>> {
        let mut g = Grads(grads, HashMap::new());
        module.visit(&mut g);
        g.1
    }

    /// The largest difference between same-id tensors, relative to the largest magnitude; the two maps
    /// must hold the same ids.
    fn relative_gap(a: &HashMap<ParamId, Vec<f32>>, b: &HashMap<ParamId, Vec<f32>>) -> f32 {
        assert_eq!(a.len(), b.len(), "the same tensors");
        let (mut gap, mut scale) = (0f32, 0f32);
        for (id, x) in a {
            for (p, q) in x.iter().zip(&b[id]) {
                gap = gap.max((p - q).abs());
                scale = scale.max(p.abs());
            }
        }
        gap / scale.max(1e-12)
    }

    /// Checks `batch_gradients` in micro-batches of 4 on a batch of 6 against the same objective
    /// computed directly: each micro-batch of each view through the network with its graph kept, the
    /// codes joined, the loss of the joined codes back-propagated once.
    fn matches_the_direct_computation(method: MethodConfig, head_gradients: usize) {
        let device = Device::flex().autodiff();
        let bits = 16;
        let base = TrainedNetwork {
            backbone: BackboneArch::MobilenetV2.pretrained(&device).unwrap(),
            head: TrainedHead::seeded(1280, bits, 3, 5, &device),
        };
        // Two copies with the same parameters (same ids) and their own running statistics.
        let ours = base.valid().train();
        let direct = base.valid().train();
        let view = |seed| {
            device.seed(seed);
            Tensor::<4>::random([6, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device)
        };
        let (teacher, student) = (view(1), view(2));
        let labels = [0, 1, 2, 0, 1, 1];
        let rows: Vec<f32> = labels
            .iter()
            .flat_map(|&c| (0..3).map(move |k| f32::from(u8::from(k == c))))
            .collect();
        let targets = Tensor::<2>::from_data(TensorData::new(rows, [6, 3]), &device);
        let loss = HashLoss::new(method, DhdLossConfig::new());
        let objective = |u_t: Tensor<2>, u_s: Option<Tensor<2>>, proxies| {
            loss.forward(
                u_t,
                u_s.expect("both views"),
                proxies,
                targets.clone(),
                Reference::None,
            )
        };

        let got = batch_gradients(&ours, teacher.clone(), Some(student.clone()), 4, objective);

        // Micro-batch by micro-batch, each view in turn (the order BatchNorm's running statistics
        // see them in): the graphs of all of them kept, then one loss of the joined codes.
        let encode = |x: &Tensor<4>, s, len| {
            let x = x.clone().narrow(0, s, len);
            direct.head.forward(direct.backbone.features(x))
        };
        let (mut t, mut s) = (Vec::new(), Vec::new());
        for (at, len) in [(0, 4), (4, 2)] {
            t.push(encode(&teacher, at, len));
            s.push(encode(&student, at, len));
        }
        let parts = objective(
            Tensor::cat(t, 0),
            Some(Tensor::cat(s, 0)),
            direct.head.proxies.val(),
        );
        let mut grads = parts.total.backward();
        let want_backbone = GradientsParams::from_module(&mut grads, &direct.backbone);
        let want_head = GradientsParams::from_module(&mut grads, &direct.head);

        let backbone_gap = relative_gap(
            &grads_of(&ours.backbone, &got.backbone),
            &grads_of(&direct.backbone, &want_backbone),
        );
        let head_gap = relative_gap(
            &grads_of(&ours.head, &got.head),
            &grads_of(&direct.head, &want_head),
        );
        assert!(
            backbone_gap < 1e-4,
            "backbone gradients differ by {backbone_gap}"
        );
        assert!(head_gap < 1e-4, "head gradients differ by {head_gap}");
        assert_eq!(
            grads_of(&ours.head, &got.head).len(),
            head_gradients,
            "the hash layer, its LayerNorm's two vectors, and the proxies where the loss uses them"
        );
        let values: Vec<f32> = got
            .values
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        let total: f32 = parts
            .total
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()[0];
        assert!((values[3] - total).abs() <= 1e-5 * total.abs().max(1.0));
        // BatchNorm's running statistics moved once per micro-batch and view, as in the direct
        // computation: the pass without a graph left them alone.
        let stats_gap = relative_gap(&floats(&ours.valid()), &floats(&direct.valid()));
        assert!(stats_gap < 1e-5, "running statistics differ by {stats_gap}");
    }

    #[test]
    fn micro_batches_give_dhds_batch_gradient() {
        matches_the_direct_computation(MethodConfig::new(), 4);
    }

    #[test]
    fn micro_batches_give_the_pairwise_batch_gradient() {
        // DHN's likelihood compares every pair of the batch, across micro-batches too.
        matches_the_direct_computation(
            MethodConfig::new().with_method(Method::Dhn).with_sdh(true),
            3,
        );
    }
}
