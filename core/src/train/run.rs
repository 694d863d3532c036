//! The training loop: a seeded permutation per epoch (the last partial batch is dropped, as DHD's
//! loader does), augmentation parameters seeded per step, so a run resumed from any checkpoint continues
//! exactly as if it had not stopped; Adam with coupled L2 and separate learning rates for backbone and
//! head, each decayed by a cosine over all steps; losses read back only every `log_every` steps (a read
//! waits for the device, so doing it every step would stall a GPU); a checkpoint after every epoch and on
//! cancel; NaN or infinite losses stop the run and leave the last good checkpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::Device;
use rand::seq::SliceRandom;

use super::checkpoint::{self, Checkpoint};
use super::class_centres;
use super::config::{TrainConfig, TrainMode};
use super::data::TrainImages;
use super::events::{EpochStats, LossValues, TrainError, TrainEvent};
use super::feature_cache::FeatureCache;
use super::learner::{FullLearner, HeadLearner, Learner};
use super::method::Method;
use super::schedule::cosine_lr;
use super::seed::rng;
use crate::model::{HashModel, Provenance};

/// A finished run.
pub struct TrainOutcome {
    pub model: HashModel,
    pub history: Vec<EpochStats>,
    /// Seconds to the end of the first step (on a GPU: compiling and tuning kernels).
    pub first_step_s: f64,
    /// Mean training photos per second over the steps after the first.
    pub images_per_s: f64,
}

/// Where a run keeps its checkpoints and evaluates itself.
pub struct TrainHooks<'a> {
    /// Written after every epoch and on cancel; `None` keeps nothing.
    pub checkpoint: Option<&'a Path>,
    /// Continue from this checkpoint (its config and data must match the run's).
    pub resume: Option<(&'a Path, Checkpoint)>,
    /// Called with the current model every `eval_every` epochs (and after the last); its value is
    /// recorded as the epoch's mAP.
    pub evaluate: Option<&'a mut dyn FnMut(&HashModel) -> f64>,
    pub eval_every: usize,
    pub cancel: &'a AtomicBool,
    pub on_event: &'a mut dyn FnMut(TrainEvent),
}

/// Trains a model on `images` with `config` on `device` (a plain device; autodiff is added here).
pub fn train(
    config: &TrainConfig,
    images: &TrainImages,
    device: &Device,
    hooks: TrainHooks<'_>,
) -> Result<TrainOutcome, TrainError> {
    train_cached(config, images, device, hooks, None)
}

/// [`train`], with head mode learning from `features` when they serve `config` (computed otherwise).
pub fn train_cached(
    config: &TrainConfig,
    images: &TrainImages,
    device: &Device,
    hooks: TrainHooks<'_>,
    features: Option<Arc<FeatureCache>>,
) -> Result<TrainOutcome, TrainError> {
    let n = images.len();
    if n < 2 {
        return Err(TrainError::TooFewPhotos(n));
    }
    // Before any work: a model file cannot hold codes of other lengths.
    crate::code::check_bits(config.bits).map_err(|e| TrainError::Settings(e.to_string()))?;
    let ad = device.clone().autodiff();
    let TrainHooks {
        checkpoint,
        resume,
        mut evaluate,
        eval_every,
        cancel,
        on_event,
    } = hooks;
    let cache = match config.mode {
        TrainMode::Full => None,
        TrainMode::Head => Some(match features.filter(|f| f.serves(config)) {
            Some(f) => f,
            None => Arc::new(FeatureCache::compute(
                config, images, device, cancel, on_event,
            )?),
        }),
    };
    let centres = match resume.as_ref().and_then(|(_, c)| c.state.centres.clone()) {
        Some(c) => Some(c),
        None => class_centres::class_centres(
            config,
            images,
            cache.as_deref(),
            device,
            cancel,
            on_event,
        )?,
    };
    if cache.is_some() && config.micro_batch.is_some() {
        on_event(TrainEvent::Note(
            "micro-batches apply to whole-network training only: head-only steps on cached features \
             take the whole batch at once"
                .into(),
        ));
    }
    let mut learner: Box<dyn Learner + '_> = match cache {
        None => Box::new(FullLearner::new(
            config,
            images,
            &ad,
            centres.as_ref(),
            on_event,
        )?),
        Some(cache) => Box::new(HeadLearner::new(
            config,
            images,
            &ad,
            cache,
            centres.as_ref(),
        )),
    };
    let config_json = serde_json::to_value(config).expect("configs serialise");
    let data_fingerprint = images.fingerprint();
    let mut history = Vec::new();
    let mut steps_done = 0;
    if let Some((path, ckpt)) = resume {
        let fail = |reason: String| TrainError::Resume {
            path: path.to_path_buf(),
            reason,
        };
        let s = &ckpt.state;
        let mut theirs = s.config.clone();
        let mut ours = config_json.clone();
        for v in [&mut theirs, &mut ours] {
            if let Some(o) = v.as_object_mut() {
                // How the run is computed, not what: a run that ran out of memory resumes with a
                // smaller micro-batch.
                o.remove("log_every");
                o.remove("micro_batch");
            }
        }
        if theirs != ours {
            return Err(fail(format!(
                "it was made with other settings: {}",
                s.config
            )));
        }
        if s.data_fingerprint != data_fingerprint {
            return Err(fail("it was trained on other photos or labels".into()));
        }
        learner
            .restore(&ckpt.network, &ckpt.optimizers, &s.param_ids)
            .map_err(fail)?;
        steps_done = s.steps_done;
        history = s.history.clone();
    }

    let batch = config.batch.clamp(1, n);
    let steps = n / batch;
    let total = steps * config.epochs;
    let save = |learner: &dyn Learner,
                steps_done: usize,
                history: &[EpochStats]|
     -> Result<Option<PathBuf>, TrainError> {
        let Some(path) = checkpoint else {
            return Ok(None);
        };
        let (network, optimizers, param_ids) = learner.snapshot();
        let state = checkpoint::CheckpointState {
            config: config_json.clone(),
            steps_done,
            data_fingerprint: data_fingerprint.clone(),
            history: history.to_vec(),
            param_ids,
            centres: centres.clone(),
        };
        Checkpoint {
            state,
            network,
            optimizers,
        }
        .save(path)?;
        Ok(Some(path.to_path_buf()))
    };

    let started = Instant::now();
    let mut first_step_s = 0.0;
    let mut timed = (0usize, 0.0f64); // steps after the first, and their seconds
    // Wall clock from the end of the first step (with `steps_done` then): the time left is estimated
    // from it, so evaluations and checkpoints between epochs are counted, not only the steps.
    let mut clock: Option<(Instant, usize)> = None;
    let lr = |base: f64, t: usize| cosine_lr(base, t, total);
    while steps_done < total {
        let epoch = steps_done / steps;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng(config.seed, &[0xE90C, epoch as u64]));
        let epoch_started = Instant::now();
        let first_in_epoch = steps_done % steps;
        let mut epoch_sums: Option<burn::tensor::Tensor<1>> = None;
        let mut window: (Option<burn::tensor::Tensor<1>>, usize, Instant) =
            (None, 0, Instant::now());
        for step in first_in_epoch..steps {
            if cancel.load(Ordering::Relaxed) {
                return Err(TrainError::Cancelled {
                    checkpoint: save(&*learner, steps_done, &history)?,
                });
            }
            if first_step_s == 0.0 {
                on_event(TrainEvent::Stage {
                    name: "preparing the device (first step: kernels are compiled and tuned)",
                    done: 0,
                    total: 1,
                });
            }
            let t = steps_done;
            let (lr_b, lr_h) = (lr(config.lr_backbone, t), lr(config.lr_head, t));
            let step_started = Instant::now();
            let values = learner.step(
                &order[step * batch..(step + 1) * batch],
                &mut rng(config.seed, &[0x57E9, t as u64]),
                lr_b,
                lr_h,
            );
            steps_done += 1;
            epoch_sums = Some(match epoch_sums {
                Some(s) => s + values.clone(),
                None => values.clone(),
            });
            window.0 = Some(match window.0.take() {
                Some(s) => s + values,
                None => values,
            });
            window.1 += 1;
            if first_step_s == 0.0 {
                // Wait for the device once, so that the first step's time is real.
                let _ = window.0.clone().expect("just set").into_data();
                first_step_s = started.elapsed().as_secs_f64();
                on_event(TrainEvent::Stage {
                    name: "preparing the device (first step: kernels are compiled and tuned)",
                    done: 1,
                    total: 1,
                });
                window = (None, 0, Instant::now());
                clock = Some((Instant::now(), steps_done));
                continue;
            }
            timed.0 += 1;
            timed.1 += step_started.elapsed().as_secs_f64();
            if window.1 >= config.log_every.max(1) || step + 1 == steps {
                let sums: Vec<f32> = window
                    .0
                    .take()
                    .expect("steps in window")
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .expect("f32 losses");
                let loss = LossValues::from_sums(&sums, window.1);
                let secs = window.2.elapsed().as_secs_f64();
                let per_s = (window.1 * batch) as f64 / secs.max(1e-9);
                if !loss.finite() {
                    return Err(diverged(epoch + 1, step + 1, &loss, &history, checkpoint));
                }
                on_event(TrainEvent::Step {
                    epoch: epoch + 1,
                    epochs: config.epochs,
                    step: step + 1,
                    steps,
                    loss,
                    lr_backbone: lr_b,
                    lr_head: lr_h,
                    images_per_s: per_s,
                    eta_s: match clock {
                        Some((since, at)) if steps_done > at => {
                            since.elapsed().as_secs_f64() / (steps_done - at) as f64
                                * (total - steps_done) as f64
                        }
                        _ => (total - steps_done) as f64 * batch as f64 / per_s.max(1e-9),
                    },
                });
                window = (None, 0, Instant::now());
            }
        }
        let sums: Vec<f32> = epoch_sums
            .expect("an epoch has steps")
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 losses");
        let loss = LossValues::from_sums(&sums, steps - first_in_epoch);
        if !loss.finite() || !learner.finite() {
            return Err(diverged(epoch + 1, steps, &loss, &history, checkpoint));
        }
        let seconds = epoch_started.elapsed().as_secs_f64();
        let last = steps_done - 1;
        let mut stats = EpochStats {
            epoch: epoch + 1,
            loss,
            lr_backbone: lr(config.lr_backbone, last),
            lr_head: lr(config.lr_head, last),
            seconds,
            images_per_s: ((steps - first_in_epoch) * batch) as f64 / seconds.max(1e-9),
            map: None,
        };
        let is_last = steps_done == total;
        if let Some(eval) = evaluate
            .as_mut()
            .filter(|_| is_last || (eval_every > 0 && (epoch + 1).is_multiple_of(eval_every)))
        {
            // Its own stage: the progress does not sit at the epoch's last step meanwhile.
            let stage = |done| TrainEvent::Stage {
                name: "scoring the model (mAP)",
                done,
                total: 1,
            };
            on_event(stage(0));
            stats.map = Some(eval(&build_model(
                config,
                images,
                &*learner,
                centres.as_ref(),
            )?));
            on_event(stage(1));
        }
        history.push(stats.clone());
        on_event(TrainEvent::Epoch(stats));
        if let Some(p) = save(&*learner, steps_done, &history)? {
            on_event(TrainEvent::Checkpoint(p));
        }
    }
    Ok(TrainOutcome {
        model: build_model(config, images, &*learner, centres.as_ref())?,
        history,
        first_step_s,
        images_per_s: if timed.1 > 0.0 {
            (timed.0 * batch) as f64 / timed.1
        } else {
            0.0
        },
    })
}

fn diverged(
    epoch: usize,
    step: usize,
    loss: &LossValues,
    history: &[EpochStats],
    checkpoint: Option<&Path>,
) -> TrainError {
    // Finite losses with non-finite parameters: the last step's update overflowed.
    let value = [loss.main, loss.sdh, loss.q, loss.total]
        .into_iter()
        .find(|v| !v.is_finite())
        .unwrap_or(f64::NAN);
    let kept = match (checkpoint, history.last()) {
        (Some(p), Some(e)) => format!(
            "the checkpoint {} after epoch {} is kept",
            p.display(),
            e.epoch
        ),
        _ => "no earlier checkpoint exists".to_string(),
    };
    TrainError::Diverged {
        epoch,
        step,
        value,
        kept,
    }
}

fn build_model(
    config: &TrainConfig,
    images: &TrainImages,
    learner: &dyn Learner,
    centres: Option<&class_centres::ClassCentres>,
) -> Result<HashModel, TrainError> {
    let (backbone, head, fine_tuned) = learner.finish();
    let mode = match config.mode {
        TrainMode::Full => "full network",
        TrainMode::Head => "head only",
    };
    let provenance = Provenance {
        description: format!(
            "{}{} trained {} epochs ({mode}) on {} photos",
            config.method.method.name(),
            if config.method.method != Method::Dhd && config.method.sdh {
                " + SdH"
            } else {
                ""
            },
            config.epochs,
            images.len()
        ),
        software: format!("hashlens {}", env!("CARGO_PKG_VERSION")),
        seed: config.seed,
        images: images.len(),
        settings: {
            let mut s = serde_json::to_value(config).expect("configs serialise");
            if let (Some(c), Some(o)) = (centres, s.as_object_mut()) {
                o.insert("centres".into(), c.how.clone());
            }
            s
        },
    };
    HashModel::trained(backbone, head, fine_tuned, Some(config.input()), provenance)
        .map_err(|e| TrainError::Model(e.to_string()))
}
