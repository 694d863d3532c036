//! The training use case: one [`TrainJob`] and one [`run_train_job`], shared by `hashlens train` and
//! the app's Model tab, as [`crate::index::update_index`] is for indexing.
//!
//! A run goes labels → photos → targets → checkpoint → evaluation hook → the training loop → the model
//! file. Every step that decides something is here once:
//! - **Labels**: a protocol's training split, a list file, or the folders that hold the photos
//!   ([`folder_classes`]: the same rule the app's Codes tab uses); without labels, targets from
//!   [`PseudoLabels`].
//! - **Evaluation while training**: under a protocol, 1,000 of its queries against the first 5,000
//!   database photos; with class folders, a held-out quarter of a 300-photo sample searching the rest
//!   (those photos are training photos too: the figure shows the trend, not the quality on new photos);
//!   without labels, none. Under a protocol the finished model is also evaluated on the whole split.
//! - **Recommended settings** for people who do not tune ([`TrainJob::recommended`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::{
    Checkpoint, DhdLossConfig, EpochStats, Method, MethodConfig, PseudoLabels, TrainConfig,
    TrainError, TrainEvent, TrainHooks, TrainImages, TrainMode, checkpoint, data, train,
};
use crate::dataset::{ProtocolData, folder_classes, protocol_split, read_list_file, scan_images};
use crate::device::ComputeDevice;
use crate::eval::{Depth, EvalConfig, Labels, evaluate_held_out};
use crate::model::hash_model::HashHead;
use crate::model::{BackboneArch, HashModel};
use crate::model_eval::{EvalSample, ModelEval, evaluate_model};

/// Where a run's labels come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelSource {
    /// The folders that hold the photos, when there are at least two ([`folder_classes`]);
    /// otherwise the run is unlabelled.
    Folders,
    /// A list file (`path labels…` per line, single- or multi-label); relative paths are relative to
    /// the job's folder.
    List(PathBuf),
    /// A protocol's training split of the job's folder (`cifar10`, `cifar10-1`), drawn with the
    /// config's seed; the finished model is evaluated on its query and database photos.
    Protocol(String),
}

/// Everything a training run needs besides the device.
#[derive(Clone, Debug)]
pub struct TrainJob {
    pub folder: PathBuf,
    /// The photos to train on (the app's index, say); `None` scans `folder`. Ignored under a protocol
    /// or a list file, which name their photos.
    pub photos: Option<Vec<PathBuf>>,
    pub labels: LabelSource,
    /// Train without the labels (the personal-library mode: targets from `pseudo_labels`); a protocol
    /// still chooses the photos and scores the result with its labels.
    pub unlabelled: bool,
    /// The targets of a run without labels.
    pub pseudo_labels: PseudoLabels,
    pub config: TrainConfig,
    /// Side at which photos are held in memory (views are resampled from it).
    pub keep_side: usize,
    /// Where the model is written.
    pub out: PathBuf,
    /// Written after every epoch and on cancel; `None`: beside `out` ([`checkpoint::checkpoint_path_for`]).
    pub checkpoint: Option<PathBuf>,
    /// Continue from this checkpoint (of the same settings and photos).
    pub resume: Option<PathBuf>,
    /// Evaluate every this many epochs and after the last (0: no evaluation while training).
    pub eval_every: usize,
}

/// L_HP's τ for runs that do not choose one. Hash-layer-only runs use 0.5: on frozen features the
/// paper's 0.2 is too sharp. Measured on CIFAR-10 in that mode: with classes, τ 0.5 beat 0.2 at every
/// length (16/32/64 bits) and at each of 30, 100 and 300 epochs (+0.003 to +0.026 mAP@ALL); with groups
/// found in the photos it stayed within ±0.006 (`benchmarks/results/epochs-chosen-head-cpu-cifar10.md`).
/// Whole-network runs keep the paper's 0.2.
pub fn recommended_temperature(mode: TrainMode) -> f64 {
    match mode {
        TrainMode::Head => 0.5,
        TrainMode::Full => 0.2,
    }
}

/// `method` with the constants recommended for `bits`-bit codes: the pairwise logit scales are 2/K
/// rather than the ports' ½: with hashlens' head every bit is about ±1 from the first step, and ½
/// saturates the likelihood (measured: `benchmarks/results/epochs-chosen-head-cpu-cifar10.md` and
/// `pairwise-scale-head-cpu-cifar10.md`).
pub fn recommended_method(method: Method, sdh: bool, bits: usize) -> MethodConfig {
    let per_bit = 2.0 / bits.max(1) as f64;
    MethodConfig::new()
        .with_method(method)
        .with_sdh(sdh)
        .with_dhn_scale(per_bit)
        .with_hybrid_alpha(per_bit)
}

/// What the app's settings panel chooses; the rest is [`TrainJob::recommended`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainChoice {
    pub method: Method,
    /// DHD's self-distillation term for the other methods (DHD always has it).
    pub sdh: bool,
    pub bits: usize,
    pub epochs: usize,
    pub mode: TrainMode,
    /// Where the targets come from when the folder has no class sub-folders.
    pub pseudo_labels: PseudoLabels,
}

impl Default for TrainChoice {
    fn default() -> Self {
        Self {
            method: Method::Dhd,
            sdh: false,
            bits: 64,
            epochs: 20,
            mode: TrainMode::Head,
            pseudo_labels: PseudoLabels::default(),
        }
    }
}

impl TrainChoice {
    /// The method and its constants a run with this choice trains.
    pub fn method_config(&self) -> MethodConfig {
        recommended_method(self.method, self.sdh, self.bits)
    }
}

impl TrainJob {
    /// A run on `photos` of `folder` (labels from their folders) with the recommended settings for
    /// `choice`: MobileNetV2, batches of 32, photos held at 160 px (77 kB each: views are resampled to
    /// 256 anyway), an evaluation every quarter of the run.
    pub fn recommended(
        folder: &Path,
        photos: Vec<PathBuf>,
        choice: &TrainChoice,
        out: PathBuf,
    ) -> Self {
        let loss = DhdLossConfig::new().with_temperature(recommended_temperature(choice.mode));
        let config = TrainConfig::new(BackboneArch::MobilenetV2, loss)
            .with_method(choice.method_config())
            .with_bits(choice.bits)
            .with_epochs(choice.epochs)
            .with_batch(32.min(photos.len().max(1)))
            .with_mode(choice.mode);
        Self {
            folder: folder.to_path_buf(),
            photos: Some(photos),
            labels: LabelSource::Folders,
            unlabelled: false,
            pseudo_labels: choice.pseudo_labels,
            config,
            keep_side: 160,
            out,
            checkpoint: None,
            resume: None,
            eval_every: choice.epochs.div_ceil(4).max(1),
        }
    }

    /// Where this run keeps its checkpoint.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.checkpoint
            .clone()
            .unwrap_or_else(|| checkpoint::checkpoint_path_for(&self.out))
    }
}

/// A finished run; its model is already written to the job's `out`.
pub struct TrainJobReport {
    pub model: HashModel,
    pub history: Vec<EpochStats>,
    /// Seconds to the end of the first step (on a GPU: compiling and tuning kernels).
    pub first_step_s: f64,
    /// Mean training photos per second over the steps after the first.
    pub images_per_s: f64,
    /// Photos trained on (those that could be read).
    pub train_images: usize,
    /// Photos that could not be read, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Where the labels came from, in words ("10 classes from sub-folders", "unlabelled (…)").
    pub labels: String,
    /// The classes' names where they have them (empty for targets without names).
    pub class_names: Vec<String>,
    /// The trained head's class proxies' cosine similarities, `classes × classes`, row-major.
    pub class_similarities: Vec<f32>,
    /// Under a protocol: the finished model on the whole split.
    pub evaluation: Option<ModelEval>,
}

impl TrainJobReport {
    /// Classes (proxies) of the trained head.
    pub fn classes(&self) -> usize {
        (self.class_similarities.len() as f64).sqrt().round() as usize
    }
}

/// The photos of a run, their target rows, and where the labels came from.
struct Labelled {
    paths: Vec<PathBuf>,
    rows: Vec<Vec<f32>>,
    /// 0: unlabelled.
    classes: usize,
    names: Vec<String>,
    what: String,
    protocol: Option<ProtocolData>,
}

fn labelled(job: &TrainJob) -> Result<Labelled, TrainError> {
    let data_error = |e: String| TrainError::Photos(e);
    let scanned = || -> Result<Vec<PathBuf>, TrainError> {
        Ok(match &job.photos {
            Some(p) => p.clone(),
            None => scan_images(&job.folder)
                .map_err(|e| data_error(e.to_string()))?
                .images
                .into_iter()
                .map(|e| e.path)
                .collect(),
        })
    };
    let unlabelled = |paths: Vec<PathBuf>| Labelled {
        rows: vec![Vec::new(); paths.len()],
        paths,
        classes: 0,
        names: Vec::new(),
        what: String::new(),
        protocol: None,
    };
    Ok(match &job.labels {
        LabelSource::Protocol(name) => {
            let p = protocol_split(&job.folder, name, job.config.seed)?;
            let c = p.classes.len();
            let (paths, idx): (Vec<PathBuf>, Vec<usize>) = p.train.iter().cloned().unzip();
            Labelled {
                paths,
                rows: data::one_hot(&idx, c),
                classes: c,
                names: p.classes.clone(),
                what: format!("{c} classes of {}", p.name),
                protocol: Some(p),
            }
        }
        LabelSource::List(list) => {
            let l = read_list_file(list).map_err(|e| data_error(e.to_string()))?;
            let c = l.rows.classes_needed();
            let labels = l.rows.to_labels(c).map_err(|e| data_error(e.to_string()))?;
            let rows = (0..labels.len())
                .map(|i| {
                    let mut r = vec![0.0f32; c];
                    labels.classes_of(i).into_iter().for_each(|k| r[k] = 1.0);
                    r
                })
                .collect();
            Labelled {
                // Relative paths in a list are relative to the folder (as `hashlens split` writes them).
                paths: l.paths.iter().map(|p| job.folder.join(p)).collect(),
                rows,
                classes: c,
                names: Vec::new(),
                what: format!("{c} classes from {}", list.display()),
                protocol: None,
            }
        }
        LabelSource::Folders => {
            let paths = scanned()?;
            match folder_classes(&job.folder, paths.iter().map(PathBuf::as_path)) {
                Some(fc) => {
                    let c = fc.names.len();
                    Labelled {
                        rows: data::one_hot(&fc.classes, c),
                        paths,
                        classes: c,
                        names: fc.names,
                        what: format!("{c} classes from sub-folders"),
                        protocol: None,
                    }
                }
                None => unlabelled(paths),
            }
        }
    })
}

/// Photos a run with class folders scores itself on (held-out queries search the rest of this sample).
const HELD_OUT_SAMPLE: usize = 300;

/// Runs `job` on `device`: decodes the photos, makes the targets, trains with a checkpoint every epoch
/// (and on cancel), writes the model to `job.out` and, under a protocol, evaluates it. Setting `cancel`
/// stops at the next step or batch with [`TrainError::Cancelled`].
pub fn run_train_job(
    job: &TrainJob,
    device: &ComputeDevice,
    cancel: &AtomicBool,
    on_event: &mut (dyn FnMut(TrainEvent) + Send),
) -> Result<TrainJobReport, TrainError> {
    let cancelled = || TrainError::Cancelled { checkpoint: None };
    let config = &job.config;
    let mut l = labelled(job)?;
    if job.unlabelled {
        l.rows = vec![Vec::new(); l.paths.len()];
        l.classes = 0;
        l.names.clear();
    }
    if l.paths.len() < 2 {
        return Err(TrainError::TooFewPhotos(l.paths.len()));
    }
    if !device.gpu && config.mode == TrainMode::Full {
        // Measured on two cores: 16 photos (two views each) at 224 px take about 14 s a step.
        on_event(TrainEvent::Note(
            "whole-network training on the CPU takes about a second per photo and epoch at 224 px; \
             training the hash layer only (head mode) on cached features takes minutes"
                .into(),
        ));
    }
    let stage = |name, done, total| TrainEvent::Stage { name, done, total };
    let progress = std::sync::Mutex::new(&mut *on_event);
    let loaded = TrainImages::load(
        &l.paths,
        &l.rows,
        l.classes,
        job.keep_side,
        cancel,
        |d, t| {
            if let Ok(mut f) = progress.lock() {
                f(stage("decoding photos", d, t))
            }
        },
    );
    let on_event = progress.into_inner().unwrap_or_else(|e| e.into_inner());
    let (mut images, skipped) = loaded.ok_or_else(cancelled)?;
    let skipped: Vec<(PathBuf, String)> = skipped
        .into_iter()
        .map(|(p, e)| (p, e.to_string()))
        .collect();
    if !skipped.is_empty() {
        let some: Vec<String> = skipped
            .iter()
            .take(3)
            .map(|(p, e)| format!("{}: {e}", p.display()))
            .collect();
        on_event(TrainEvent::Note(format!(
            "{} photos could not be read and are left out ({}{})",
            skipped.len(),
            some.join("; "),
            if skipped.len() > 3 { "; …" } else { "" }
        )));
    }

    let labels = if l.classes == 0 {
        let source = job.pseudo_labels;
        let what = source.describe(images.len());
        on_event(TrainEvent::Note(format!(
            "no labels used: the targets are {what}"
        )));
        let arch = config.backbone;
        if !(arch.has_pretrained()
            || (config.backbone_weights.is_some() && !source.needs_classifier()))
        {
            return Err(TrainError::Settings(format!(
                "training without labels takes its targets from a pretrained backbone's {}, and {} \
                 has none here: give labels, use mobilenet_v2 or efficientnet_lite0, or (with \
                 backbone weights) clusters as targets",
                if source.needs_classifier() {
                    "ImageNet classifier"
                } else {
                    "features"
                },
                arch.name()
            )));
        }
        // ImageNet targets come from the shipped classifier; clusters from the run's own start.
        let backbone = if source.needs_classifier() {
            arch.pretrained(&device.device)
                .map_err(|e| TrainError::Model(e.to_string()))?
        } else {
            config.starting_backbone(&device.device)?.0
        };
        let (t, classes) = source.targets(
            &images,
            &backbone,
            &config.input(),
            config.batch.min(64),
            &device.device,
            cancel,
        )?;
        images.set_targets(t, classes);
        format!("unlabelled ({what})")
    } else {
        l.what.clone()
    };

    let checkpoint = job.checkpoint_path();
    let resume = match &job.resume {
        Some(p) => {
            let ckpt = Checkpoint::load(p)?;
            on_event(TrainEvent::Note(format!(
                "resuming {} after {} steps ({} epochs finished)",
                p.display(),
                ckpt.state.steps_done,
                ckpt.state.history.len()
            )));
            Some((p.as_path(), ckpt))
        }
        None => None,
    };

    // Evaluation while training.
    let never = AtomicBool::new(false);
    let sample = data::sample_indices(images.len(), HELD_OUT_SAMPLE);
    let held_out_labels = match (&l.protocol, l.classes) {
        (None, c) if c > 0 => {
            // Photos that could not be decoded are not in `images`: find each kept photo's row by path.
            let by_path: HashMap<&Path, &[f32]> = l
                .paths
                .iter()
                .map(PathBuf::as_path)
                .zip(l.rows.iter().map(Vec::as_slice))
                .collect();
            let mut labels = Labels::new(c);
            for &i in &sample {
                let row = by_path[images.paths[i].as_path()];
                let set: Vec<usize> = (0..c).filter(|&k| row[k] > 0.0).collect();
                labels.push_classes(&set).expect("classes below the count");
            }
            Some(labels)
        }
        _ => None,
    };
    let mut evaluate = |model: &HashModel| -> f64 {
        if let Some(p) = &l.protocol {
            let sample = EvalSample {
                queries: Some(1000),
                database: Some(5000),
            };
            return evaluate_model(model, p, sample, 64, device, &never, &mut |_| {})
                .map(|r| r.map_all)
                .unwrap_or(f64::NAN);
        }
        let Some(labels) = &held_out_labels else {
            return f64::NAN;
        };
        let codes = data::encode_images(&images, &sample, model, 16, &device.device);
        evaluate_held_out(&codes, labels, sample.len() / 4, 0, &EvalConfig::default())
            .ok()
            .and_then(|r| r.map_at(Depth::All))
            .unwrap_or(f64::NAN)
    };
    let evaluates = job.eval_every > 0 && (l.protocol.is_some() || held_out_labels.is_some());
    let hooks = TrainHooks {
        checkpoint: Some(&checkpoint),
        resume,
        evaluate: if evaluates { Some(&mut evaluate) } else { None },
        eval_every: job.eval_every,
        cancel,
        on_event: &mut *on_event,
    };
    let outcome = train(config, &images, &device.device, hooks)?;
    outcome
        .model
        .save(&job.out)
        .map_err(|e| TrainError::Save(e.to_string()))?;

    let class_similarities = match &outcome.model.net().head {
        HashHead::Trained(head) => head.proxy_similarities(),
        HashHead::Linear(_) => Vec::new(),
    };
    let evaluation = match &l.protocol {
        Some(p) => Some(
            evaluate_model(
                &outcome.model,
                p,
                EvalSample::default(),
                64,
                device,
                cancel,
                &mut |e| {
                    on_event(stage(
                        if e.part == "query" {
                            "encoding the query photos"
                        } else {
                            "encoding the database photos"
                        },
                        e.done,
                        e.total,
                    ))
                },
            )
            .map_err(|e| match e {
                crate::model_eval::ModelEvalError::Cancelled => cancelled(),
                e => TrainError::Photos(format!("evaluating the trained model: {e}")),
            })?,
        ),
        None => None,
    };
    Ok(TrainJobReport {
        train_images: images.len(),
        model: outcome.model,
        history: outcome.history,
        first_step_s: outcome.first_step_s,
        images_per_s: outcome.images_per_s,
        skipped,
        labels,
        class_names: l.names,
        class_similarities,
        evaluation,
    })
}
