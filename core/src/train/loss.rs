//! Deep Hash Distillation's three losses (Jang et al., ECCV 2022; ../shared/spec/methods.md §2.2), as the
//! released code computes them:
//!
//! - L_HP, hash-proxy: cross-entropy of `softmax(cos(u_T, p_c) / τ)` against the label vector normalised to
//!   sum to one (soft targets; multi-label rows spread their mass evenly). Teacher view only.
//! - L_SdH, self-distillation: `1 − cos(u_S, sg(u_T))`; the stop-gradient is on the teacher, so the
//!   student view learns only through this term.
//! - L_bce-Q, quantisation: Gaussian estimators `g±(u) = exp(−(u ∓ 1)² / 2σ²)` pushed by binary
//!   cross-entropy toward the detached target `t = (sign(u) + 1) / 2`: `BCE(g₊, t) + BCE(g₋, 1 − t)`, each a
//!   mean over all B·K entries, logs clamped at −100 like PyTorch's. On the teacher codes; on the proxies
//!   too when `quantize_proxies` (the paper says so, the released code does not).
//!
//! Total: `L_HP + λ₁·L_SdH + λ₂·L_bce-Q`.

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::log_softmax;

/// The losses' constants (DHD's defaults).
#[derive(Config, Debug)]
pub struct DhdLossConfig {
    /// τ: 0.2 for ImageNet, 0.6 NUS-WIDE, 0.4 MS-COCO in the paper.
    #[config(default = 0.2)]
    pub temperature: f64,
    /// λ₁, weight of L_SdH.
    #[config(default = 0.1)]
    pub lambda_sdh: f64,
    /// λ₂, weight of L_bce-Q.
    #[config(default = 0.1)]
    pub lambda_q: f64,
    /// σ of the Gaussian estimators.
    #[config(default = 0.5)]
    pub sigma: f64,
    /// Also quantise the proxies (the paper's text; off in the released code).
    #[config(default = false)]
    pub quantize_proxies: bool,
}

/// The losses of one step: the method's main term (L_HP for DHD), L_SdH, the quantisation term and the
/// weighted total (all scalars, `[1]`).
#[derive(Clone, Debug)]
pub struct LossParts {
    pub main: Tensor<1>,
    pub sdh: Tensor<1>,
    pub q: Tensor<1>,
    pub total: Tensor<1>,
}

impl LossParts {
    /// `[main, L_SdH, quantisation, total]` detached from the graph (for logging without a read-back).
    pub fn values(&self) -> Tensor<1> {
        Tensor::cat(
            vec![
                self.main.clone(),
                self.sdh.clone(),
                self.q.clone(),
                self.total.clone(),
            ],
            0,
        )
        .detach()
    }
}

/// DHD's loss with its constants.
#[derive(Clone, Debug)]
pub struct DhdLoss {
    pub config: DhdLossConfig,
}

impl DhdLoss {
    pub fn new(config: DhdLossConfig) -> Self {
        Self { config }
    }

    /// `teacher`, `student`: continuous codes `[B, K]` of the two views; `proxies` `[C, K]`; `labels`
    /// `[B, C]` 0/1 rows (or any non-negative weights), each with at least one positive.
    pub fn forward(
        &self,
        teacher: Tensor<2>,
        student: Tensor<2>,
        proxies: Tensor<2>,
        labels: Tensor<2>,
    ) -> LossParts {
        let c = &self.config;
        let hp = hash_proxy_loss(teacher.clone(), proxies.clone(), labels, c.temperature);
        let sdh = self_distillation_loss(student, teacher.clone());
        let mut q = bce_quantization_loss(teacher, c.sigma);
        if c.quantize_proxies {
            q = q + bce_quantization_loss(proxies, c.sigma);
        }
        let total =
            hp.clone() + sdh.clone().mul_scalar(c.lambda_sdh) + q.clone().mul_scalar(c.lambda_q);
        LossParts {
            main: hp,
            sdh,
            q,
            total,
        }
    }
}

/// Rows scaled to unit length (rows of zeros stay zero).
fn normalize_rows(x: Tensor<2>) -> Tensor<2> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    x / norm
}

/// L_HP: soft-target cross-entropy over the cosine similarities to the proxies, divided by τ.
pub fn hash_proxy_loss(
    codes: Tensor<2>,
    proxies: Tensor<2>,
    labels: Tensor<2>,
    temperature: f64,
) -> Tensor<1> {
    let logits = normalize_rows(codes)
        .matmul(normalize_rows(proxies).transpose())
        .div_scalar(temperature);
    let targets = labels.clone() / labels.sum_dim(1);
    (targets * log_softmax(logits, 1)).sum_dim(1).mean().neg()
}

/// L_SdH: mean of `1 − cos(student, teacher)` with no gradient into the teacher.
pub fn self_distillation_loss(student: Tensor<2>, teacher: Tensor<2>) -> Tensor<1> {
    let cos = (normalize_rows(student) * normalize_rows(teacher.detach())).sum_dim(1);
    cos.neg().add_scalar(1.0).mean()
}

/// L_bce-Q on continuous codes `u` (any shape flattened to `[N, K]`).
pub fn bce_quantization_loss(u: Tensor<2>, sigma: f64) -> Tensor<1> {
    let two_var = 2.0 * sigma * sigma;
    let g_plus = u
        .clone()
        .sub_scalar(1.0)
        .square()
        .div_scalar(two_var)
        .neg()
        .exp();
    let g_minus = u
        .clone()
        .add_scalar(1.0)
        .square()
        .div_scalar(two_var)
        .neg()
        .exp();
    let t = u.detach().sign().add_scalar(1.0).div_scalar(2.0);
    bce(g_plus, t.clone()) + bce(g_minus, t.neg().add_scalar(1.0))
}

/// PyTorch's `binary_cross_entropy` (mean, logs clamped at −100). The argument of each log is floored
/// at 1e-30 first: a code that saturates at exactly ±1 makes `1 − g` zero, and clamping only the log's
/// value would still send 0 · ∞ = NaN back through its gradient (found when a fine-tune diverged
/// after 12 epochs). Values below 1e-30 (log < −69) only occur in terms whose target weight is 0.
pub(super) fn bce(p: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
    let log_p = p.clone().clamp_min(1e-30).log().clamp_min(-100.0);
    let log_q = p
        .neg()
        .add_scalar(1.0)
        .clamp_min(1e-30)
        .log()
        .clamp_min(-100.0);
    (t.clone() * log_p + t.neg().add_scalar(1.0) * log_q)
        .mean()
        .neg()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// A `[rows, columns]` tensor of the rows.
    pub(in crate::train) fn t2(rows: &[&[f32]], device: &Device) -> Tensor<2> {
        let (n, k) = (rows.len(), rows[0].len());
        Tensor::from_data(TensorData::new(rows.concat(), [n, k]), device)
    }

    pub(in crate::train) fn scalar(t: Tensor<1>) -> f64 {
        t.into_scalar::<f32>() as f64
    }

    #[test]
    fn hash_proxy_loss_by_hand() {
        let d = Device::flex();
        // cos(u, p) = [1, 0]; τ = 0.5 → logits [2, 0]; target class 0: log(1 + e^−2).
        let loss = hash_proxy_loss(
            t2(&[&[3.0, 0.0]], &d),
            t2(&[&[1.0, 0.0], &[0.0, 2.0]], &d),
            t2(&[&[1.0, 0.0]], &d),
            0.5,
        );
        assert!((scalar(loss) - (1.0 + (-2f64).exp()).ln()).abs() < 1e-6);
        // Two positive labels share the target: −½(log s₀ + log s₁) with logits [2, 0].
        let loss = hash_proxy_loss(
            t2(&[&[3.0, 0.0]], &d),
            t2(&[&[1.0, 0.0], &[0.0, 2.0]], &d),
            t2(&[&[1.0, 1.0]], &d),
            0.5,
        );
        let z = 2f64.exp() + 1.0;
        let expected = -0.5 * ((2f64.exp() / z).ln() + (1.0 / z).ln());
        assert!((scalar(loss) - expected).abs() < 1e-6);
    }

    #[test]
    fn self_distillation_and_quantization_by_hand() {
        let d = Device::flex();
        // cos([1,0], [1,1]) = 1/√2; and a second pair, identical: cos 1. Mean of (1 − cos).
        let sdh = self_distillation_loss(
            t2(&[&[1.0, 0.0], &[0.5, 0.5]], &d),
            t2(&[&[1.0, 1.0], &[2.0, 2.0]], &d),
        );
        assert!((scalar(sdh) - (1.0 - 0.5f64.sqrt()) / 2.0).abs() < 1e-6);
        // u = 0.5, σ = 0.5: g₊ = e^−0.5, g₋ = e^−4.5, t = 1: −log g₊ − log(1 − g₋).
        let q = bce_quantization_loss(t2(&[&[0.5]], &d), 0.5);
        let expected = 0.5 - (1.0 - (-4.5f64).exp()).ln();
        let q = scalar(q);
        assert!((q - expected).abs() < 1e-6, "{q}");
        // u = −1 exactly: g₋ = 1 (log 1 = 0), g₊ = e^−8, t = 0: −log(1 − e^−8) − log(1) … and the
        // clamp keeps the unused log(1 − g₋) = log 0 finite.
        let q = bce_quantization_loss(t2(&[&[-1.0]], &d), 0.5);
        assert!((scalar(q) + (1.0 - (-8f64).exp()).ln()).abs() < 1e-6);
    }

    #[test]
    fn saturated_codes_have_finite_quantization_gradients() {
        let d = Device::flex().autodiff();
        let u = t2(&[&[1.0, -1.0, 0.3]], &d).require_grad();
        let grads = bce_quantization_loss(u.clone(), 0.5).backward();
        let g: Vec<f32> = u
            .grad(&grads)
            .unwrap()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        // At u = 1 only the far estimator g₋ = e^−8 still pulls: d/du −log(1 − g₋) = −8·g₋/(1 − g₋),
        // over the mean of 3 entries (mirrored at −1); at 0.3 the push is toward +1.
        let e8 = (-8.0f64).exp();
        let edge = (8.0 * e8 / (1.0 - e8) / 3.0) as f32;
        assert!(
            (g[0] + edge).abs() < 1e-6 && (g[1] - edge).abs() < 1e-6 && g[2] < 0.0,
            "{g:?}"
        );
    }

    #[test]
    fn the_teacher_gets_no_gradient_from_self_distillation() {
        let d = Device::flex().autodiff();
        let student = t2(&[&[1.0, 0.2], &[0.3, -0.5]], &d).require_grad();
        let teacher = t2(&[&[0.4, 1.0], &[-0.2, 0.9]], &d).require_grad();
        let grads = self_distillation_loss(student.clone(), teacher.clone()).backward();
        let g_student = student.grad(&grads).expect("the student learns");
        assert!(scalar(g_student.abs().sum()) > 1e-3);
        assert!(
            teacher.grad(&grads).is_none(),
            "stop-gradient on the teacher"
        );
    }

    #[test]
    fn total_weights_the_terms() {
        let d = Device::flex();
        let loss = DhdLoss::new(DhdLossConfig::new());
        let teacher = t2(&[&[0.9, -0.2], &[-0.4, 0.7]], &d);
        let student = t2(&[&[0.5, 0.1], &[-0.3, 0.2]], &d);
        let proxies = t2(&[&[1.0, -1.0], &[-1.0, 1.0]], &d);
        let labels = t2(&[&[1.0, 0.0], &[0.0, 1.0]], &d);
        let p = loss.forward(teacher.clone(), student, proxies.clone(), labels);
        let (hp, sdh, q) = (scalar(p.main), scalar(p.sdh), scalar(p.q.clone()));
        assert!((scalar(p.total) - (hp + 0.1 * sdh + 0.1 * q)).abs() < 1e-6);
        // With the proxies quantised too, L_bce-Q grows by their term.
        let with = DhdLoss::new(DhdLossConfig::new().with_quantize_proxies(true));
        let teacher2 = teacher.clone();
        let p2 = with.forward(
            teacher,
            teacher2,
            proxies.clone(),
            t2(&[&[1.0, 0.0], &[0.0, 1.0]], &d),
        );
        let extra = scalar(bce_quantization_loss(proxies, 0.5));
        assert!((scalar(p2.q) - (q + extra)).abs() < 1e-6);
    }

    /// DHD's head on three clusters of features, two noisy views each: Adam (with DHD's coupled L2)
    /// lowers the total loss, and the codes separate the clusters.
    #[test]
    fn a_few_adam_steps_lower_the_loss() {
        use crate::model::hash_model::TrainedHead;
        use burn::optim::decay::WeightDecayConfig;
        use burn::optim::{AdamConfig, GradientsParams};

        let d = Device::flex().autodiff();
        let (n, dim, classes) = (24, 16, 3);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let c = i % classes;
            for j in 0..dim {
                let centre = if j % classes == c { 2.0 } else { -0.5 };
                rows.push(centre + ((i * 31 + j * 17) % 13) as f32 / 26.0 - 0.25);
            }
            labels.extend((0..classes).map(|k| if k == c { 1.0 } else { 0.0 }));
        }
        let x = Tensor::<2>::from_data(TensorData::new(rows, [n, dim]), &d);
        let noise = x.random_like(burn::tensor::Distribution::Normal(0.0, 0.3));
        let labels = Tensor::<2>::from_data(TensorData::new(labels, [n, classes]), &d);
        let loss = DhdLoss::new(DhdLossConfig::new());
        let mut head = TrainedHead::new(dim, 8, classes, &d);
        let mut optim = AdamConfig::new()
            .with_weight_decay(Some(WeightDecayConfig::new(1e-5)))
            .init();
        let mut totals = Vec::new();
        for _ in 0..40 {
            let teacher = head.forward(x.clone());
            let student = head.forward(x.clone() + noise.clone());
            let parts = loss.forward(teacher, student, head.proxies.val(), labels.clone());
            totals.push(scalar(parts.total.clone()));
            let grads = GradientsParams::from_grads(parts.total.backward(), &head);
            head = optim.step(1e-2, head, grads);
        }
        assert!(totals[39] < 0.5 * totals[0], "{totals:?}");
        let codes = crate::code::CodeBook::from_signs(
            8,
            &head.forward(x).into_data().try_to_vec::<f32>().unwrap(),
        )
        .unwrap();
        let (mut same, mut other) = (Vec::new(), Vec::new());
        for i in 0..n {
            for j in i + 1..n {
                let h = codes.get(i).hamming(&codes.get(j)).unwrap() as f64;
                if i % classes == j % classes {
                    &mut same
                } else {
                    &mut other
                }
                .push(h);
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean(&same) + 2.0 < mean(&other),
            "{} vs {}",
            mean(&same),
            mean(&other)
        );
    }
}
