//! The deep-hashing objectives hashlens trains on one loop, one set of backbones and one evaluation
//! (../shared/spec/methods.md §2, §4, §5): DHD's, DHN's and CSQ's, with DHD's self-distillation term
//! (L_SdH between a weak and a strong view) as a plug-in for the other two (DHD Table 3).
//!
//! - **DHN** (Zhu et al., AAAI 2016), as the PyTorch ports compute it: pairwise negative log-likelihood
//!   over the mini-batch, `mean[softplus(θ) − s·θ]` with `θ = scale·⟨u_i, u_j⟩` (scale ½ in both ports)
//!   and `s_ij = 1` when photos i and j share a class, plus `λ·mean(log cosh(|u| − 1))`. The logit scale
//!   and λ are separate options here (DHN_PyTorch lets one `--lamda` do both).
//! - **CSQ** (Yuan et al., CVPR 2020), as the official code: binary cross-entropy between `(u + 1)/2`
//!   and the photo's hash centre `(c + 1)/2`, plus `λ·mean((|u| − 1)²)` (squared, not the paper's
//!   log cosh).
//! - **SHC** (ACM TOIS 2025): CSQ's loss toward semantic hash centres, which [`super::shc`] derives
//!   from a classifier's confusions before training (its stages 1 and 2).
//! - **HybridHash** (ICMR 2024)'s loss, HashNet's weighted maximum likelihood: the batch's codes
//!   against a memory bank of every training photo's latest code, `θ = α·⟨u_i, U_j⟩` (α ½),
//!   `log(1 + e^−|θ|) + max(θ, 0) − s·θ`, similar pairs weighted by all/similar and dissimilar ones by
//!   all/dissimilar; no quantisation term. Upstream's bank starts as zero rows and zero labels, which
//!   count as dissimilar photos at θ = 0 until visited (spec §10.3, trap 5); here unvisited rows are
//!   left out. The HybridHash network is a backbone ([`crate::model::hybrid_hash`]); the loss works
//!   with any.
//!
//! All terms use the teacher (weak) view; with the SdH plug-in the student (strong) view is pulled toward
//! it by `λ_SdH·L_SdH`.

use burn::config::Config;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::loss::{DhdLoss, DhdLossConfig, LossParts, self_distillation_loss};

/// Which objective a run trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Dhd,
    Dhn,
    Csq,
    Shc,
    HybridHash,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Dhd => "dhd",
            Method::Dhn => "dhn",
            Method::Csq => "csq",
            Method::Shc => "shc",
            Method::HybridHash => "hybridhash",
        }
    }

    pub const ALL: [Method; 5] = [
        Method::Dhd,
        Method::Dhn,
        Method::Csq,
        Method::Shc,
        Method::HybridHash,
    ];

    /// Names of the loss's three terms as [`LossParts`] orders them: the method's main term, L_SdH, and
    /// the quantisation term.
    pub fn term_names(self) -> [&'static str; 3] {
        match self {
            Method::Dhd => ["L_HP", "L_SdH", "L_bce-Q"],
            Method::Dhn => ["L_pair", "L_SdH", "L_Q (log cosh)"],
            Method::Csq | Method::Shc => ["L_C (BCE to centres)", "L_SdH", "L_Q (squared)"],
            Method::HybridHash => [
                "L_pair (weighted, memory bank)",
                "L_SdH",
                "(no quantisation)",
            ],
        }
    }

    /// Whether photos are pulled toward fixed hash centres (computed before training, saved with the
    /// model in place of DHD's proxies).
    pub fn uses_centres(self) -> bool {
        matches!(self, Method::Csq | Method::Shc)
    }
}

/// The method and its constants (DHD's own are in [`DhdLossConfig`]).
#[derive(Config, Debug)]
pub struct MethodConfig {
    #[config(default = "Method::Dhd")]
    pub method: Method,
    /// The SdH plug-in for DHN and CSQ (weight: the DHD config's `lambda_sdh`). DHD always has it.
    #[config(default = false)]
    pub sdh: bool,
    /// DHN: θ_ij = scale·⟨u_i, u_j⟩.
    #[config(default = 0.5)]
    pub dhn_scale: f64,
    /// DHN: weight of the log-cosh quantisation.
    #[config(default = 0.1)]
    pub dhn_lambda: f64,
    /// CSQ and SHC: weight of the squared quantisation (1e-4 in DeepHash-pytorch and SHC; 0.05 the
    /// official CSQ ResNet-50).
    #[config(default = 1e-4)]
    pub csq_lambda: f64,
    /// SHC stage 1: epochs of the linear classifier whose confusions give the class similarity.
    #[config(default = 30)]
    pub shc_classifier_epochs: usize,
    /// SHC stage 2: step η of the centres' sign updates (upstream: 0.5, "tune it per data set"). `None`
    /// tries [`super::shc::ETA_CHOICES`] and keeps the centres that fit the class similarity best.
    #[config(default = "None")]
    pub shc_eta: Option<f64>,
    /// HybridHash: θ = α·⟨u_i, U_j⟩.
    #[config(default = 0.5)]
    pub hybrid_alpha: f64,
}

impl MethodConfig {
    /// Whether the student view is used at all.
    pub fn distils(&self) -> bool {
        self.method == Method::Dhd || self.sdh
    }

    /// The total loss as a formula with this run's weights, e.g. `L = L_HP + 0.1·L_SdH + 0.1·L_bce-Q`.
    pub fn formula(&self, dhd: &DhdLossConfig) -> String {
        let [main, sdh, q] = self.method.term_names();
        let short = |name: &str| name.split(' ').next().unwrap_or(name).to_string();
        let mut terms = vec![short(main)];
        let lambda_q = match self.method {
            Method::Dhd => Some(dhd.lambda_q),
            Method::Dhn => Some(self.dhn_lambda),
            Method::Csq | Method::Shc => Some(self.csq_lambda),
            Method::HybridHash => None,
        };
        if self.distils() {
            terms.push(format!("{}·{sdh}", dhd.lambda_sdh));
        }
        if let Some(l) = lambda_q {
            terms.push(format!("{l}·{}", short(q)));
        }
        format!("L = {}", terms.join(" + "))
    }
}

/// What a batch's codes are compared with, besides the proxies and each other.
#[allow(clippy::large_enum_variant)] // one per step, moved straight into the loss
pub enum Reference {
    None,
    /// CSQ, SHC: each photo's centre, `[B, K]` ±1.
    Centres(Tensor<2>),
    /// HybridHash: the memory bank's codes `[N, K]` (detached, the batch's rows already replaced),
    /// which of them are similar to each photo of the batch `[B, N]` (1/0), and which rows hold a
    /// code yet `[N]` (1/0).
    Bank {
        codes: Tensor<2>,
        similar: Tensor<2>,
        visited: Tensor<1>,
    },
}

/// One run's loss: the method's terms.
#[derive(Clone, Debug)]
pub struct HashLoss {
    pub method: MethodConfig,
    pub dhd: DhdLoss,
}

impl HashLoss {
    pub fn new(method: MethodConfig, dhd: DhdLossConfig) -> Self {
        Self {
            method,
            dhd: DhdLoss::new(dhd),
        }
    }

    /// `teacher`, `student`: codes `[B, K]` of the two views; `proxies` `[C, K]` (DHD); `targets`
    /// `[B, C]` class weights; `reference` what the method needs beyond these.
    pub fn forward(
        &self,
        teacher: Tensor<2>,
        student: Tensor<2>,
        proxies: Tensor<2>,
        targets: Tensor<2>,
        reference: Reference,
    ) -> LossParts {
        let m = &self.method;
        let lambda_sdh = self.dhd.config.lambda_sdh;
        let (main, q, lambda_q) = match m.method {
            Method::Dhd => return self.dhd.forward(teacher, student, proxies, targets),
            Method::Dhn => (
                pairwise_likelihood_loss(teacher.clone(), targets, m.dhn_scale),
                log_cosh_quantization(teacher.clone()),
                m.dhn_lambda,
            ),
            Method::Csq | Method::Shc => {
                let Reference::Centres(centres) = reference else {
                    panic!("CSQ and SHC need centres");
                };
                (
                    central_similarity_loss(teacher.clone(), centres),
                    squared_quantization(teacher.clone()),
                    m.csq_lambda,
                )
            }
            Method::HybridHash => {
                let Reference::Bank {
                    codes,
                    similar,
                    visited,
                } = reference
                else {
                    panic!("HybridHash's loss needs the memory bank");
                };
                let main = weighted_pairwise_loss(
                    teacher.clone(),
                    codes,
                    similar,
                    visited,
                    m.hybrid_alpha,
                );
                (main.clone(), main.zeros_like(), 0.0)
            }
        };
        let sdh = if m.sdh {
            self_distillation_loss(student, teacher)
        } else {
            main.zeros_like()
        };
        let total =
            main.clone() + q.clone().mul_scalar(lambda_q) + sdh.clone().mul_scalar(lambda_sdh);
        LossParts {
            main,
            sdh,
            q,
            total,
        }
    }
}

/// DHN's pairwise term over the batch (all B² ordered pairs, the diagonal included, as DHN_PyTorch):
/// `mean[softplus(θ) − s·θ]`, softplus in its stable form `max(θ, 0) + log(1 + e^−|θ|)`.
pub fn pairwise_likelihood_loss(codes: Tensor<2>, targets: Tensor<2>, scale: f64) -> Tensor<1> {
    let theta = codes.clone().matmul(codes.transpose()).mul_scalar(scale);
    let similar = targets
        .clone()
        .matmul(targets.transpose())
        .greater_elem(0.0)
        .float();
    let softplus =
        theta.clone().clamp_min(0.0) + theta.clone().abs().neg().exp().add_scalar(1.0).log();
    (softplus - similar * theta).mean()
}

/// HybridHash's (HashNet's) weighted pairwise likelihood of the batch `u` `[B, K]` against the bank
/// (see [`Reference::Bank`]): `Σ w·ℓ / Σ v` over the pairs with a visited bank row, `ℓ` the stable
/// `log(1 + e^−|θ|) + max(θ, 0) − s·θ`, `w` = all/similar on similar pairs and all/dissimilar on the
/// others (counts over visited pairs).
pub fn weighted_pairwise_loss(
    u: Tensor<2>,
    bank: Tensor<2>,
    similar: Tensor<2>,
    visited: Tensor<1>,
    alpha: f64,
) -> Tensor<1> {
    let theta = u.matmul(bank.transpose()).mul_scalar(alpha);
    let nll = theta.clone().abs().neg().exp().add_scalar(1.0).log() + theta.clone().clamp_min(0.0)
        - similar.clone() * theta;
    let v: Tensor<2> = visited.unsqueeze();
    let pos = similar.clone() * v.clone();
    let neg = similar.neg().add_scalar(1.0) * v;
    let (n_pos, n_neg) = (pos.clone().sum(), neg.clone().sum());
    let all = n_pos.clone() + n_neg.clone();
    let w_pos: Tensor<2> = (all.clone() / n_pos.clamp_min(1.0)).unsqueeze();
    let w_neg: Tensor<2> = (all.clone() / n_neg.clamp_min(1.0)).unsqueeze();
    let weights = pos * w_pos + neg * w_neg;
    (nll * weights).sum() / all.clamp_min(1.0)
}

/// `mean(log cosh(|u| − 1))`, computed as `|x| + log(1 + e^−2|x|) − log 2` (no overflow).
pub fn log_cosh_quantization(u: Tensor<2>) -> Tensor<1> {
    let x = u.abs().sub_scalar(1.0).abs();
    (x.clone() + x.mul_scalar(-2.0).exp().add_scalar(1.0).log())
        .sub_scalar(std::f64::consts::LN_2)
        .mean()
}

/// CSQ's central similarity: BCE between `(u + 1)/2` and `(c + 1)/2`, mean over all bits.
pub fn central_similarity_loss(codes: Tensor<2>, centres: Tensor<2>) -> Tensor<1> {
    let p = codes.add_scalar(1.0).div_scalar(2.0);
    let t = centres.add_scalar(1.0).div_scalar(2.0);
    super::loss::bce(p, t)
}

/// `mean((|u| − 1)²)`.
pub fn squared_quantization(u: Tensor<2>) -> Tensor<1> {
    u.abs().sub_scalar(1.0).square().mean()
}

#[cfg(test)]
mod tests {
    use super::super::loss::tests::{scalar, t2};
    use super::*;
    use burn::tensor::Device;

    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }

    /// Two photos, codes (1, 1) and (1, −1), scale ½: θ = [[1, 0], [0, 1]]. Same class: every pair is
    /// similar, so the mean is (2·(softplus(1) − 1) + 2·softplus(0)) / 4; different classes: the
    /// diagonal stays similar, the off-diagonal pairs are not (and θ = 0 there).
    #[test]
    fn dhn_pairwise_loss_by_hand() {
        let d = Device::flex();
        let u = t2(&[&[1.0, 1.0], &[1.0, -1.0]], &d);
        let same = pairwise_likelihood_loss(u.clone(), t2(&[&[1.0, 0.0], &[1.0, 0.0]], &d), 0.5);
        let expected = (2.0 * (softplus(1.0) - 1.0) + 2.0 * softplus(0.0)) / 4.0;
        assert!((scalar(same) - expected).abs() < 1e-6);
        let u = t2(&[&[1.0, 1.0], &[1.0, 0.0]], &d);
        // θ = ½·[[2, 1], [1, 1]] = [[1, ½], [½, ½]]; classes differ: s = I.
        let diff = pairwise_likelihood_loss(u, t2(&[&[1.0, 0.0], &[0.0, 1.0]], &d), 0.5);
        let expected = ((softplus(1.0) - 1.0) + (softplus(0.5) - 0.5) + 2.0 * softplus(0.5)) / 4.0;
        assert!((scalar(diff) - expected).abs() < 1e-6);
        // Large logits stay finite (the stable softplus).
        let big = t2(&[&[30.0, 30.0], &[-30.0, -30.0]], &d);
        assert!(
            scalar(pairwise_likelihood_loss(
                big,
                t2(&[&[1.0], &[1.0]], &d),
                0.5
            ))
            .is_finite()
        );
    }

    #[test]
    fn quantisation_terms_by_hand() {
        let d = Device::flex();
        let u = t2(&[&[1.0, -0.5, 0.0, 3.0]], &d);
        let lc = [0.0f64, 0.5, 1.0, 2.0].map(|x| x.cosh().ln());
        assert!(
            (scalar(log_cosh_quantization(u.clone())) - lc.iter().sum::<f64>() / 4.0).abs() < 1e-6
        );
        assert!((scalar(squared_quantization(u)) - (0.0 + 0.25 + 1.0 + 4.0) / 4.0).abs() < 1e-6);
    }

    /// u = (0.6, −0.2) toward centre (+1, −1): BCE of p = (0.8, 0.4) against t = (1, 0) is
    /// −(log 0.8 + log 0.6) / 2.
    #[test]
    fn csq_central_similarity_by_hand() {
        let d = Device::flex();
        let loss = central_similarity_loss(t2(&[&[0.6, -0.2]], &d), t2(&[&[1.0, -1.0]], &d));
        assert!((scalar(loss) + (0.8f64.ln() + 0.6f64.ln()) / 2.0).abs() < 1e-6);
    }

    /// u = (1, 0) against bank rows (1, 0), (0, 1), (1, 1), α ½: θ = (½, 0, ½); row 0 is similar.
    /// With row 2 unvisited, one similar and one dissimilar pair, both weighted 2/1: the loss is
    /// (2ℓ₀ + 2ℓ₁)/2 with ℓ₀ = softplus(½) − ½, ℓ₁ = softplus(0). With all rows visited the dissimilar
    /// pairs are weighted 3/2 and the similar one 3/1, over 3.
    #[test]
    fn hybridhash_weighted_pairwise_loss_by_hand() {
        let d = Device::flex();
        let u = t2(&[&[1.0, 0.0]], &d);
        let bank = t2(&[&[1.0, 0.0], &[0.0, 1.0], &[1.0, 1.0]], &d);
        let similar = t2(&[&[1.0, 0.0, 0.0]], &d);
        let visited = |v: [f32; 3]| Tensor::<1>::from_floats(v, &d);
        let (l0, l1, l2) = (softplus(0.5) - 0.5, softplus(0.0), softplus(0.5));
        let two = weighted_pairwise_loss(
            u.clone(),
            bank.clone(),
            similar.clone(),
            visited([1.0, 1.0, 0.0]),
            0.5,
        );
        assert!((scalar(two) - (l0 + l1)).abs() < 1e-6);
        let all = weighted_pairwise_loss(u, bank, similar, visited([1.0; 3]), 0.5);
        assert!((scalar(all) - (3.0 * l0 + 1.5 * (l1 + l2)) / 3.0).abs() < 1e-6);
    }

    #[test]
    fn formulas_name_each_method_s_terms_and_weights() {
        let dhd = DhdLossConfig::new();
        let f = |m: Method, sdh: bool| {
            MethodConfig::new()
                .with_method(m)
                .with_sdh(sdh)
                .formula(&dhd)
        };
        assert_eq!(f(Method::Dhd, false), "L = L_HP + 0.1·L_SdH + 0.1·L_bce-Q");
        assert_eq!(f(Method::Dhn, false), "L = L_pair + 0.1·L_Q");
        assert_eq!(f(Method::Csq, true), "L = L_C + 0.1·L_SdH + 0.0001·L_Q");
        assert_eq!(f(Method::HybridHash, false), "L = L_pair");
    }

    /// Without the plug-in the student view does not matter; with it, L_SdH joins with DHD's weight.
    #[test]
    fn the_sdh_plug_in_adds_the_distillation_term() {
        let d = Device::flex();
        let teacher = t2(&[&[0.5, -0.5], &[-0.5, 0.5]], &d);
        let student = t2(&[&[0.5, 0.5], &[-0.5, 0.5]], &d);
        let targets = t2(&[&[1.0, 0.0], &[0.0, 1.0]], &d);
        let proxies = t2(&[&[1.0, 0.0], &[0.0, 1.0]], &d);
        let run = |sdh: bool| {
            let loss = HashLoss::new(
                MethodConfig::new().with_method(Method::Dhn).with_sdh(sdh),
                DhdLossConfig::new(),
            );
            let p = loss.forward(
                teacher.clone(),
                student.clone(),
                proxies.clone(),
                targets.clone(),
                Reference::None,
            );
            (scalar(p.main), scalar(p.sdh), scalar(p.q), scalar(p.total))
        };
        let (main, sdh, q, total) = run(false);
        assert_eq!(sdh, 0.0);
        assert!((total - (main + 0.1 * q)).abs() < 1e-6);
        let (main2, sdh2, q2, total2) = run(true);
        // cos(student, teacher) is 0 for the first photo and 1 for the second: L_SdH = (1 + 0) / 2.
        assert!((sdh2 - 0.5).abs() < 1e-6);
        assert_eq!((main2, q2), (main, q));
        assert!((total2 - (total + 0.1 * 0.5)).abs() < 1e-6);
    }
}
