//! Fine-tuning a DHD model on the open folder, on a background thread that reports through a channel
//! (the same `hashlens_core::train` loop as `hashlens train`). Labels come from sub-folders when the
//! photos sit in two or more of them; otherwise the targets are made from the pretrained backbone's
//! view of the photos ([`PseudoLabels`]: clusters of its features, or its ImageNet classes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use eframe::egui;
use hashlens_core::device::{ComputeDevice, DeviceChoice};
use hashlens_core::eval::{Depth, EvalConfig, Labels, evaluate_held_out};
use hashlens_core::model::BackboneArch;
use hashlens_core::model::HashModel;
use hashlens_core::model::hash_model::HashHead;
use hashlens_core::train::{
    Checkpoint, DhdLossConfig, Method, MethodConfig, PseudoLabels, TrainConfig, TrainEvent,
    TrainHooks, TrainImages, TrainMode, data, train,
};

use super::task::{Panicked, Task};

/// What the user chose in the model panel.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    pub method: Method,
    /// DHD's self-distillation term for DHN and CSQ (DHD always has it).
    pub sdh: bool,
    pub bits: usize,
    pub epochs: usize,
    pub mode: TrainMode,
    /// Where the targets come from when the folder has no class sub-folders.
    pub pseudo_labels: PseudoLabels,
}

impl TrainSettings {
    /// The method and its constants a run with these settings trains. The pairwise logit scales are
    /// 2/K rather than the ports' ½: with hashlens' head every bit is about ±1 from the first step,
    /// and ½ saturates the likelihood (measured: `benchmarks/results/epochs-chosen-head-cpu-cifar10.md`
    /// and `pairwise-scale-head-cpu-cifar10.md`).
    pub fn method_config(&self) -> MethodConfig {
        let per_bit = 2.0 / self.bits.max(1) as f64;
        MethodConfig::new()
            .with_method(self.method)
            .with_sdh(self.sdh)
            .with_dhn_scale(per_bit)
            .with_hybrid_alpha(per_bit)
    }
}

impl Default for TrainSettings {
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

/// What the trainer reports.
pub enum TrainerEvent {
    Note(String),
    Train(TrainEvent),
    /// The model file and the proxies' cosine similarities (`classes × classes`, row-major), or why not.
    Done(Result<(PathBuf, usize, Vec<f32>), String>),
}

impl From<Panicked> for TrainerEvent {
    fn from(p: Panicked) -> Self {
        let hint = if crate::panics::out_of_memory(&p.0) {
            " — the GPU ran out of memory; \"hash layer only\" needs a small part of it, and the \
             command line's `train --micro-batch` trains the whole network in parts"
        } else {
            ""
        };
        TrainerEvent::Done(Err(format!("training {p}{hint}")))
    }
}

/// Fine-tuning in the background.
pub type TrainTask = Task<TrainerEvent>;

/// Class index per photo from the sub-folder it sits in, when there are at least two sub-folders and no
/// photo directly in `root`.
pub fn folder_labels<'a>(
    root: &Path,
    photos: impl IntoIterator<Item = &'a Path>,
) -> Option<(Vec<usize>, usize)> {
    let names: Vec<Option<String>> = photos
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).ok()?;
            let mut parts = rel.components();
            let first = parts.next()?;
            parts.next()?; // the photo itself must be below the folder
            Some(first.as_os_str().to_string_lossy().into_owned())
        })
        .collect();
    let mut classes: Vec<String> = names.iter().flatten().cloned().collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 || names.iter().any(Option::is_none) {
        return None;
    }
    let idx = names
        .iter()
        .map(|n| {
            classes
                .binary_search(n.as_ref().expect("checked"))
                .expect("listed")
        })
        .collect();
    Some((idx, classes.len()))
}

/// Photos a run scores itself on (held-out queries search the rest of this sample).
const EVAL_SAMPLE: usize = 300;

/// L_HP's τ for the app's runs (DHD's; the other methods do not use it). Hash-layer-only runs use 0.5:
/// on frozen features the paper's 0.2 is too sharp. Measured on CIFAR-10 in that mode: with classes,
/// τ 0.5 beat 0.2 at every length (16/32/64 bits) and at each of 30, 100 and 300 epochs (+0.003 to
/// +0.026 mAP@ALL); with groups found in the photos it stayed within ±0.006
/// (`benchmarks/results/epochs-chosen-head-cpu-cifar10.md`). Whole-network runs keep the paper's 0.2.
pub fn temperature(mode: TrainMode) -> f64 {
    match mode {
        TrainMode::Head => 0.5,
        TrainMode::Full => 0.2,
    }
}

/// Starts fine-tuning on `photos` of `root`, writing the model to `out`; with `resume`, continues from
/// the checkpoint a paused run left beside `out`.
pub fn start_training(
    root: PathBuf,
    photos: Vec<PathBuf>,
    out: PathBuf,
    settings: TrainSettings,
    device: DeviceChoice,
    resume: bool,
    ctx: &egui::Context,
) -> TrainTask {
    Task::spawn("trainer", ctx, move |r| {
        let job = Job {
            root: &root,
            photos: &photos,
            out: &out,
            settings: &settings,
            resume,
        };
        let result = run(&job, device, &r.cancel, &|e| r.send(e));
        r.send(TrainerEvent::Done(result));
    })
}

struct Job<'a> {
    root: &'a Path,
    photos: &'a [PathBuf],
    out: &'a Path,
    settings: &'a TrainSettings,
    resume: bool,
}

fn run(
    job: &Job,
    device: DeviceChoice,
    cancel: &AtomicBool,
    send: &(dyn Fn(TrainerEvent) + Sync),
) -> Result<(PathBuf, usize, Vec<f32>), String> {
    let Job {
        root,
        photos,
        out,
        settings: s,
        resume,
    } = *job;
    let device = ComputeDevice::choose(device).map_err(|e| e.to_string())?;
    send(TrainerEvent::Note(format!(
        "training on {}",
        device.describe()
    )));
    let labels = folder_labels(root, photos.iter().map(PathBuf::as_path));
    let (rows, classes) = match &labels {
        Some((idx, c)) => (data::one_hot(idx, *c), *c),
        None => (vec![Vec::new(); photos.len()], 0),
    };
    let stage =
        |name, done, total| send(TrainerEvent::Train(TrainEvent::Stage { name, done, total }));
    // 160 pixels per photo in memory (77 kB): views are resampled to 256 anyway.
    let (mut images, skipped) = TrainImages::load(photos, &rows, classes, 160, cancel, |d, t| {
        stage("decoding photos", d, t)
    })
    .ok_or("cancelled")?;
    if !skipped.is_empty() {
        send(TrainerEvent::Note(format!(
            "{} photos could not be read and are left out",
            skipped.len()
        )));
    }
    let arch = BackboneArch::MobilenetV2;
    let loss = DhdLossConfig::new().with_temperature(temperature(s.mode));
    let config = TrainConfig::new(arch, loss)
        .with_method(s.method_config())
        .with_bits(s.bits)
        .with_epochs(s.epochs)
        .with_batch(32.min(images.len()))
        .with_mode(s.mode);
    if labels.is_none() {
        let source = s.pseudo_labels;
        send(TrainerEvent::Note(format!(
            "no class sub-folders: the targets are {}",
            source.describe(images.len())
        )));
        let backbone = arch.pretrained(&device.device).map_err(|e| e.to_string())?;
        let (t, classes) = source
            .targets(
                &images,
                &backbone,
                &config.input(),
                16,
                &device.device,
                cancel,
            )?
            .ok_or("cancelled")?;
        images.set_targets(t, classes);
    }
    let checkpoint = hashlens_core::train::checkpoint::checkpoint_path_for(out);
    let resumed = match resume {
        true => Some(Checkpoint::load(&checkpoint).map_err(|e| e.to_string())?),
        false => None,
    };
    let mut on_event = |e: TrainEvent| send(TrainerEvent::Train(e));
    // With classes, the run scores itself a few times: held-out photos of a sample search the rest.
    // They are training photos too, so the figure is optimistic; it shows the trend, not the quality on
    // new photos.
    let sample = sample_indices(images.len(), EVAL_SAMPLE);
    let labels = labels.as_ref().map(|(idx, c)| {
        // Photos that could not be decoded are not in `images`: find each kept photo's class by path.
        let by_path: HashMap<&Path, usize> = photos
            .iter()
            .map(PathBuf::as_path)
            .zip(idx.iter().copied())
            .collect();
        let of_sample: Vec<usize> = sample
            .iter()
            .map(|&i| by_path[images.paths[i].as_path()])
            .collect();
        Labels::from_classes(*c, &of_sample).expect("class indices are below the class count")
    });
    let mut evaluate = |model: &HashModel| {
        let codes = data::encode_images(&images, &sample, model, 16, &device.device);
        let cfg = EvalConfig::default();
        labels
            .as_ref()
            .and_then(|l| evaluate_held_out(&codes, l, sample.len() / 4, 0, &cfg).ok())
            .and_then(|r| r.map_at(Depth::All))
            .unwrap_or(f64::NAN)
    };
    let hooks = TrainHooks {
        checkpoint: Some(&checkpoint),
        resume: resumed.map(|c| (checkpoint.as_path(), c)),
        evaluate: if labels.is_some() {
            Some(&mut evaluate)
        } else {
            None
        },
        eval_every: s.epochs.div_ceil(4).max(1),
        cancel,
        on_event: &mut on_event,
    };
    let outcome = train(&config, &images, &device.device, hooks).map_err(|e| e.to_string())?;
    outcome.model.save(out).map_err(|e| e.to_string())?;
    let HashHead::Dhd(head) = &outcome.model.net().head else {
        unreachable!("training makes DHD heads")
    };
    let p = head.proxies.val();
    let [c, _] = p.dims();
    let unit = p.clone() / (p.clone() * p).sum_dim(1).sqrt().clamp_min(1e-12);
    let sims: Vec<f32> = unit
        .clone()
        .matmul(unit.transpose())
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    Ok((out.to_path_buf(), c, sims))
}

/// At most `n` of `0..len`, spread evenly (the same ones every time).
pub fn sample_indices(len: usize, n: usize) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    (0..n).map(|i| i * len / n).collect()
}
