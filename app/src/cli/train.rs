//! `hashlens train`: fine-tunes a DHD model on a folder (class sub-folders, a list file, or no labels at
//! all) or on a protocol's training split, with a progress bar, a checkpoint every epoch, `--resume`,
//! and, under a protocol, the evaluation of the result (`--json` prints one object with everything).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use crate::cli::args::LogitScale;
use clap::Args;
use hashlens_core::model::BackboneArch;
use hashlens_core::model_eval::ModelEval;
use hashlens_core::train::{
    DhdLossConfig, EpochStats, LabelSource, MethodConfig, PseudoLabels, TrainConfig, TrainEvent,
    TrainJob, run_train_job,
};
use serde::Serialize;

use super::eval_model::print_eval;
use crate::cli::args::{
    DeviceArgs, MethodArg, Mode, parse_backbone, parse_share, parse_temperature, parse_weight,
};
use crate::cli::output::{out, progress_bar};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training photos: a folder (class sub-folders give labels; without them training is unlabelled),
    /// or with --protocol the folder the protocol splits.
    #[arg(long)]
    data: PathBuf,
    /// Train on this protocol's training split (cifar10, cifar10-1) and evaluate on its query/database.
    #[arg(long)]
    protocol: Option<String>,
    /// Seed of the split, the initialisation, the order and the augmentations.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A list file (`path labels…` per line, single- or multi-label) instead of class folders.
    #[arg(long, conflicts_with = "protocol")]
    list: Option<PathBuf>,
    /// Ignore the labels (the personal-library mode): targets from `--pseudo-labels`.
    #[arg(long)]
    unlabelled: bool,
    /// Without labels, targets from clusters[:K] (k-means of the backbone's features; 10 without K)
    /// or imagenet[:TOP] (its TOP most likely ImageNet classes; 5 without TOP).
    #[arg(long, default_value = "clusters")]
    pseudo_labels: PseudoLabels,
    #[arg(long, value_enum, default_value = "dhd")]
    method: MethodArg,
    /// Add DHD's self-distillation term (weak → strong view) to the other methods (DHD always has it).
    #[arg(long)]
    sdh: bool,
    /// DHN: logits θ = scale·⟨u_i, u_j⟩: a number (½ in the PyTorch ports) or N/K per code length
    /// (2/K did better at every length here).
    #[arg(long, default_value = "0.5")]
    dhn_scale: LogitScale,
    /// DHN: weight of the log-cosh quantisation.
    #[arg(long, default_value_t = 0.1)]
    dhn_lambda: f64,
    /// CSQ and SHC: weight of the squared quantisation.
    #[arg(long, default_value_t = 1e-4)]
    csq_lambda: f64,
    /// SHC: epochs of the stage-1 classifier (a linear probe on the backbone's features).
    #[arg(long, default_value_t = 30)]
    shc_classifier_epochs: usize,
    /// SHC: step η of the stage-2 centre optimisation (default: the best-fitting of 0.5, 0.25, …,
    /// 0.03125; upstream uses 0.5).
    #[arg(long)]
    shc_eta: Option<f64>,
    /// HybridHash: logits θ = α·⟨u_i, U_j⟩. A number (½ upstream) or N/K.
    #[arg(long, default_value = "0.5")]
    hybrid_alpha: LogitScale,
    /// mobilenet_v2, efficientnet_lite0 (shipped ImageNet weights) or hybridhash (none: it trains
    /// from scratch in full mode, or starts from --backbone-weights).
    #[arg(long, default_value = "mobilenet_v2", value_parser = parse_backbone)]
    backbone: BackboneArch,
    /// Start the backbone from this file instead of the shipped ImageNet weights: safetensors of the
    /// network's own tensors, or for hybridhash timm's NesT-B ImageNet checkpoint
    /// (`jx_nest_base-8bc41011.pth` or Hugging Face's `model.safetensors`), loaded where the paper does.
    #[arg(long)]
    backbone_weights: Option<PathBuf>,
    #[arg(long, default_value_t = 64, value_parser = crate::cli::args::parse_bits)]
    bits: usize,
    #[arg(long, default_value_t = 40)]
    epochs: usize,
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Whole-network mode: push at most this many photos through the network at a time when the GPU
    /// lacks the memory for --batch. The step's gradient stays the whole batch's (codes first, then
    /// the loss's gradient back micro-batch by micro-batch: a second forward pass); only BatchNorm
    /// normalises per micro-batch. A checkpoint resumes under another value.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    micro_batch: Option<u32>,
    #[arg(long, value_enum, default_value = "full")]
    mode: Mode,
    /// Network input side (DHD: 224).
    #[arg(long, default_value_t = 224)]
    image_size: usize,
    /// Side at which training photos are kept in memory (DHD's pre-resized 256; smaller photos such as
    /// CIFAR's 32 × 32 lose nothing at their own size).
    #[arg(long, default_value_t = 256)]
    keep_side: usize,
    #[arg(long, default_value_t = 1e-4)]
    lr_backbone: f64,
    #[arg(long, default_value_t = 1e-3)]
    lr_head: f64,
    /// s_T: the teacher augmentations' probabilities relative to the student's.
    #[arg(long, default_value_t = 0.5)]
    teacher_scale: f64,
    /// τ of the hash-proxy loss.
    #[arg(long, default_value_t = 0.2, value_parser = parse_temperature)]
    temperature: f64,
    /// Also quantise the proxies (the paper's text; off in DHD's released code).
    #[arg(long)]
    quantize_proxies: bool,
    /// λ₁: the weight of the self-distillation term, which makes a photo's strong (student) view agree
    /// with its weak (teacher) view (DHD: 0.1).
    #[arg(long, default_value_t = 0.1, value_parser = parse_weight)]
    sdh_weight: f64,
    /// Head mode: augmented views per photo whose features are cached.
    #[arg(long, default_value_t = 4)]
    cached_views: usize,
    /// The share of student views made from an everyday edit of the photo (JPEG re-save, a 5° turn, a
    /// border, a small copy) before the student's augmentations (0 to 1; default: none).
    #[arg(long, value_parser = parse_share)]
    edit_views: Option<f64>,
    /// Where the trained model is written.
    #[arg(long, default_value = "model.hlmodel")]
    out: PathBuf,
    /// Checkpoint written after every epoch and on Ctrl+C (default: OUT.ckpt).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue from a checkpoint of the same settings and data.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Under a protocol: evaluate every N epochs on 1,000 queries against the first 5,000 database
    /// photos (0: only at the end, on the whole split).
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct TrainSummary {
    method: &'static str,
    /// Whether the self-distillation term was on (always for DHD).
    sdh: bool,
    backbone: &'static str,
    bits: usize,
    protocol: Option<String>,
    seed: u64,
    epochs: usize,
    batch: usize,
    mode: &'static str,
    image_size: usize,
    train_images: usize,
    labels: String,
    device: String,
    first_step_s: f64,
    train_images_per_s: f64,
    model: String,
    model_fingerprint: String,
    history: Vec<EpochStats>,
    #[serde(flatten)]
    eval: Option<ModelEval>,
}

impl TrainArgs {
    /// The run these arguments ask for.
    fn job(&self) -> TrainJob {
        let labels = match (&self.protocol, &self.list) {
            (Some(p), _) => LabelSource::Protocol(p.clone()),
            (None, Some(list)) => LabelSource::List(list.clone()),
            (None, None) => LabelSource::Folders,
        };
        let config = TrainConfig::new(
            self.backbone,
            DhdLossConfig::new()
                .with_temperature(self.temperature)
                .with_lambda_sdh(self.sdh_weight)
                .with_quantize_proxies(self.quantize_proxies),
        )
        .with_method(
            MethodConfig::new()
                .with_method(self.method.method())
                .with_sdh(self.sdh)
                .with_dhn_scale(self.dhn_scale.at(self.bits))
                .with_dhn_lambda(self.dhn_lambda)
                .with_csq_lambda(self.csq_lambda)
                .with_shc_classifier_epochs(self.shc_classifier_epochs)
                .with_shc_eta(self.shc_eta)
                .with_hybrid_alpha(self.hybrid_alpha.at(self.bits)),
        )
        .with_bits(self.bits)
        .with_epochs(self.epochs)
        .with_batch(self.batch)
        .with_micro_batch(self.micro_batch.map(|m| m as usize))
        .with_lr_backbone(self.lr_backbone)
        .with_lr_head(self.lr_head)
        .with_teacher_scale(self.teacher_scale)
        .with_mode(self.mode.into())
        .with_image_size(self.image_size)
        .with_cached_views(self.cached_views)
        .with_edit_views(self.edit_views)
        .with_backbone_weights(self.backbone_weights.clone())
        .with_seed(self.seed);
        TrainJob {
            folder: self.data.clone(),
            photos: None,
            labels,
            unlabelled: self.unlabelled,
            pseudo_labels: self.pseudo_labels,
            config,
            keep_side: self.keep_side,
            out: self.out.clone(),
            checkpoint: self.checkpoint.clone(),
            resume: self.resume.clone(),
            eval_every: self.eval_every,
        }
    }
}

pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    let job = a.job();
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        // Ctrl+C: stop after the current step and keep a checkpoint (a second Ctrl+C ends it at once).
        let _ = ctrlc_once(move || cancel.store(true, Ordering::Relaxed));
    }
    let device = a.device.open()?;
    let bar = progress_bar(0, "decoding");
    let json = a.json;
    let mut stage_name = "";
    let mut on_event = |e: TrainEvent| match e {
        TrainEvent::Stage { name, done, total } => {
            if name != stage_name {
                stage_name = name;
                bar.reset();
                bar.set_length(total as u64);
                crate::cli::output::log_line(&bar, format!("hashlens: {name}…"));
            }
            bar.set_message(name);
            bar.set_position(done as u64);
        }
        TrainEvent::Step {
            epoch,
            epochs,
            step,
            steps,
            loss,
            images_per_s,
            lr_head,
            ..
        } => {
            bar.set_length((epochs * steps) as u64);
            bar.set_position(((epoch - 1) * steps + step) as u64);
            bar.set_message(format!(
                "epoch {epoch}/{epochs} loss {:.4} lr {lr_head:.2e} {images_per_s:.0} img/s",
                loss.total
            ));
        }
        TrainEvent::Epoch(s) => {
            if !json {
                crate::cli::output::log_line(
                    &bar,
                    format!(
                        "epoch {:>3}: loss {:.4} (main {:.4} sdh {:.4} q {:.4}) {:.0} img/s{}",
                        s.epoch,
                        s.loss.total,
                        s.loss.main,
                        s.loss.sdh,
                        s.loss.q,
                        s.images_per_s,
                        s.map.map(|m| format!(" mAP {m:.4}")).unwrap_or_default()
                    ),
                );
            }
        }
        // Pictures of augmented views are for the app.
        TrainEvent::Checkpoint(_) | TrainEvent::View(_) => {}
        TrainEvent::Note(note) => {
            crate::cli::output::log_line(&bar, format!("hashlens: note: {note}"))
        }
    };
    let checkpoint = job.checkpoint_path();
    let started = SystemTime::now();
    let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_train_job(&job, &device, &cancel, &mut on_event)
    }))
    .map_err(|payload| {
        bar.abandon();
        backend_failure(
            &crate::panics::message(payload.as_ref()),
            &checkpoint,
            started,
        )
    })??;
    bar.finish_and_clear();
    for (p, e) in &report.skipped {
        eprintln!("hashlens: skipped {}: {e}", p.display());
    }
    eprintln!(
        "hashlens: model written to {} (checkpoint {})",
        a.out.display(),
        checkpoint.display()
    );
    let config = &job.config;
    let summary = TrainSummary {
        method: config.method.method.name(),
        sdh: config.method.distils(),
        backbone: a.backbone.name(),
        bits: a.bits,
        protocol: a.protocol.clone(),
        seed: a.seed,
        epochs: a.epochs,
        batch: a.batch,
        mode: a.mode.name(),
        image_size: a.image_size,
        train_images: report.train_images,
        labels: report.labels,
        device: device.describe(),
        first_step_s: report.first_step_s,
        train_images_per_s: report.images_per_s,
        model: a.out.display().to_string(),
        model_fingerprint: report.model.fingerprint().to_string(),
        history: report.history,
        eval: report.evaluation,
    };
    if a.json {
        return crate::cli::output::print_json(&summary);
    }
    out!(
        "trained {} epochs on {} photos ({}): first step {:.1} s, then {:.1} photos/s on {}",
        summary.epochs,
        summary.train_images,
        summary.labels,
        summary.first_step_s,
        summary.train_images_per_s,
        summary.device
    );
    if let Some(e) = &summary.eval {
        print_eval(e)?;
    }
    Ok(())
}

/// Runs `f` on the first Ctrl+C; a second one ends the process at once.
#[cfg(unix)]
fn ctrlc_once(f: impl Fn() + Send + Sync + 'static) -> anyhow::Result<()> {
    const SIGINT: i32 = 2;
    let pressed = AtomicBool::new(false);
    // SAFETY: the action is async-signal-safe: atomic operations, `f` (which only stores to an atomic),
    // and `abort`.
    unsafe {
        signal_hook_registry::register(SIGINT, move || {
            if pressed.swap(true, Ordering::Relaxed) {
                std::process::abort();
            }
            f()
        })
    }?;
    Ok(())
}

#[cfg(not(unix))]
fn ctrlc_once(_f: impl Fn() + Send + Sync + 'static) -> anyhow::Result<()> {
    Ok(())
}

/// What to do after a panic mid-run (Burn's backends panic rather than return errors, on an exhausted
/// GPU above all): the checkpoint of the last finished epoch (if this run, `started` then, wrote one),
/// and for an exhausted GPU the remedy.
fn backend_failure(message: &str, checkpoint: &Path, started: SystemTime) -> anyhow::Error {
    let mut text = format!("training stopped unexpectedly: {message}");
    let written = std::fs::metadata(checkpoint).and_then(|m| m.modified());
    if written.is_ok_and(|t| t >= started) {
        text += &format!(
            "\nthe last finished epoch is in {0}: continue with --resume {0}",
            checkpoint.display()
        );
    }
    if crate::panics::out_of_memory(message) {
        text += "\nthe device ran out of memory: a smaller --micro-batch (e.g. 32, then 16) keeps the \
                 batch and its gradient and needs a fraction of the memory";
    }
    anyhow::anyhow!(text)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_backend_failure_names_the_checkpoint_and_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("m.hlmodel.ckpt");
        let oom = "out of device memory allocating 1073741824 bytes";
        let before = SystemTime::now() - Duration::from_secs(5);

        // No checkpoint yet: only the message and the remedy.
        let text = backend_failure(oom, &ckpt, before).to_string();
        assert!(text.contains(oom), "{text}");
        assert!(!text.contains("--resume"), "{text}");
        assert!(text.contains("--micro-batch"), "{text}");

        // This run's checkpoint is offered; another failure gets no memory advice.
        std::fs::write(&ckpt, b"x").unwrap();
        let text = backend_failure("index out of bounds", &ckpt, before).to_string();
        assert!(
            text.contains(&format!("--resume {}", ckpt.display())),
            "{text}"
        );
        assert!(!text.contains("--micro-batch"), "{text}");

        // An older run's checkpoint is not this run's progress.
        let later = SystemTime::now() + Duration::from_secs(60);
        let text = backend_failure(oom, &ckpt, later).to_string();
        assert!(!text.contains("--resume"), "{text}");
    }
}
