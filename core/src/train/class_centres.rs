//! The hash centres a CSQ or SHC run pulls photos toward, made once before its first step.
//!
//! They are kept in the run's checkpoints (SHC's come from a classifier trained on the device, whose
//! floating-point results a resumed run must not depend on) and in the model file, as the head's class
//! vectors where DHD keeps its proxies, so that a model says what it was trained toward.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::centres::hash_centres;
use super::feature_cache::FeatureCache;
use super::min_distance::{gilbert_varshamov_distance, minimum_distance_centres};
use super::shc::{
    ETA_CHOICES, SemanticCentresConfig, best_semantic_centres, class_similarity, classifier_logits,
};
use super::{Method, TrainConfig, TrainError, TrainEvent, TrainImages};

/// SHC's centre optimisation costs C² per sweep and needs real classes: more than this is an
/// unlabelled folder's ImageNet targets, not a labelling.
const SHC_MAX_CLASSES: usize = 256;

/// One centre per class, and how they were made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassCentres {
    /// `classes × bits`, ±1, row-major.
    pub centres: Vec<f32>,
    /// Recorded in the model's provenance: seed, distances, SHC's fit and classifier accuracy.
    pub how: serde_json::Value,
}

/// The centres of `config`'s method, `None` for methods without centres. `features` is the head-mode
/// cache when there is one (SHC's classifier reads its teacher views); otherwise SHC computes one view
/// per photo with the frozen backbone.
pub fn class_centres(
    config: &TrainConfig,
    images: &TrainImages,
    features: Option<&FeatureCache>,
    device: &Device,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<Option<ClassCentres>, TrainError> {
    let (classes, bits, seed) = (images.classes, config.bits, config.seed);
    match config.method.method {
        Method::Dhd | Method::Dhn | Method::HybridHash => Ok(None),
        Method::Csq => {
            let centres = hash_centres(classes, bits, seed);
            let min = super::centres::min_distance(
                &centres
                    .chunks(bits)
                    .map(<[f32]>::to_vec)
                    .collect::<Vec<_>>(),
            );
            Ok(Some(ClassCentres {
                centres,
                how: serde_json::json!({
                    "kind": "csq", "seed": seed, "min_distance": min,
                }),
            }))
        }
        Method::Shc => {
            if classes > SHC_MAX_CLASSES {
                return Err(TrainError::Settings(format!(
                    "SHC needs class labels (sub-folders or list files); these photos have {classes} \
                     target classes (an unlabelled folder's ImageNet classes?), more than the {SHC_MAX_CLASSES} \
                     its centre optimisation handles"
                )));
            }
            let owned;
            let cache = match features {
                Some(c) => c,
                None => {
                    let one_view = config.clone().with_cached_views(1);
                    owned = FeatureCache::compute(&one_view, images, device, cancel, on_event)?;
                    &owned
                }
            };
            if cancel.load(Ordering::Relaxed) {
                return Err(TrainError::Cancelled { checkpoint: None });
            }
            let stage = "SHC: a classifier's confusions, then semantic hash centres";
            on_event(TrainEvent::Stage {
                name: stage,
                done: 0,
                total: 2,
            });
            let (rows, views, dim) = cache.teacher_rows();
            // Labels by argmax of the target row (upstream's rule for multi-label data).
            let label_of = |i: usize| {
                let t = &images.target_rows()[i * classes..(i + 1) * classes];
                (0..classes)
                    .max_by(|&a, &b| t[a].total_cmp(&t[b]).then(b.cmp(&a)))
                    .unwrap_or(0)
            };
            let labels: Vec<usize> = (0..images.len())
                .flat_map(|i| std::iter::repeat_n(label_of(i), views))
                .collect();
            let (logits, accuracy) = classifier_logits(
                rows,
                dim,
                &labels,
                classes,
                config.method.shc_classifier_epochs,
                seed,
                device,
            );
            on_event(TrainEvent::Stage {
                name: stage,
                done: 1,
                total: 2,
            });
            let similarity = class_similarity(&logits, &labels, classes);
            let d = gilbert_varshamov_distance(bits, classes);
            let start = minimum_distance_centres(classes, bits, d, seed);
            let etas = match config.method.shc_eta {
                Some(eta) => vec![eta],
                None => ETA_CHOICES.to_vec(),
            };
            let centre_config = SemanticCentresConfig::default();
            let (out, eta) =
                best_semantic_centres(&similarity, &start, classes, bits, d, &centre_config, &etas);
            on_event(TrainEvent::Stage {
                name: stage,
                done: 2,
                total: 2,
            });
            Ok(Some(ClassCentres {
                how: serde_json::json!({
                    "kind": "shc",
                    "seed": seed,
                    "classifier_accuracy": accuracy,
                    "classifier_epochs": config.method.shc_classifier_epochs,
                    "required_distance": out.required_distance,
                    "min_distance": out.min_distance,
                    "start_fit": out.start_fit,
                    "fit": out.fit,
                    "optimiser": SemanticCentresConfig { eta, ..centre_config },
                    "similarity": similarity,
                }),
                centres: out.centres,
            }))
        }
    }
}
