//! The "Model" tab: which model makes the codes (a model file, or back to the built-in default), and
//! fine-tuning a DHD model on this folder with live loss, learning-rate and mAP plots, pause/resume,
//! cancel, the learned proxies' similarities (DHD Fig. 5) and "re-index with it".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions, Vec2};
use egui_plot::{Legend, Line, Plot, PlotPoint, PlotPoints, Points, Text};
use hashlens_core::dataset::folder_classes;
use hashlens_core::device::DeviceChoice;
use hashlens_core::index::{DEFAULT_BITS, IndexedPhoto};
use hashlens_core::model::CodePurpose;
use hashlens_core::train::{
    Checkpoint, DhdLossConfig, EpochStats, Method, MethodConfig, PseudoLabels, TrainChoice,
    TrainConfig, TrainEvent, TrainJob, TrainMode, ViewPreview,
};

use super::charts::heatmap;
use super::dialog::{Dialog, Pick};
use super::format::duration;
use super::task::{Panicked, Task};
use super::training::{TrainTask, TrainedModel, TrainerEvent, start_training};

/// What a run has reported, for the plots (x = global step, or epoch for mAP).
pub struct RunCurves {
    /// Total, then the method's main term, L_SdH and the quantisation term.
    pub losses: [Vec<[f64; 2]>; 4],
    pub lr: Vec<[f64; 2]>,
    pub map: Vec<[f64; 2]>,
    /// The run's loss as a formula, and its lines' names (the run's method, whatever is chosen now).
    pub formula: String,
    pub names: [&'static str; 4],
    /// The run's method.
    pub method: Method,
}

impl Default for RunCurves {
    fn default() -> Self {
        Self::for_method(&MethodConfig::new())
    }
}

impl RunCurves {
    fn for_method(method: &MethodConfig) -> Self {
        let [main, sdh, q] = method.method.term_names();
        Self {
            losses: Default::default(),
            lr: Vec::new(),
            map: Vec::new(),
            formula: method.formula(&DhdLossConfig::new()),
            names: ["L", main, sdh, q],
            method: method.method,
        }
    }

    fn push_step(&mut self, x: f64, loss: [f64; 4], lr: f64) {
        // After a resume the run repeats the steps since its checkpoint: drop what they replace.
        if self.lr.last().is_some_and(|p| p[0] >= x) {
            for line in self.losses.iter_mut().chain([&mut self.lr]) {
                line.retain(|p| p[0] < x);
            }
        }
        for (line, v) in self.losses.iter_mut().zip(loss) {
            line.push([x, v]);
        }
        self.lr.push([x, lr]);
    }
}

/// The last run on a folder as its checkpoint recorded it: enough to draw its curves after a restart.
pub struct RestoredRun {
    pub checkpoint: PathBuf,
    pub method: MethodConfig,
    pub epochs: usize,
    pub steps_done: usize,
    pub history: Vec<EpochStats>,
}

impl From<Panicked> for Option<RestoredRun> {
    fn from(_: Panicked) -> Self {
        None
    }
}

/// The newest run's checkpoint among the model files' beside an index (`*.hlmodel.ckpt` in
/// `index_dir`), read; `None` when there is none or it cannot be read.
fn last_run(index_dir: &Path) -> Option<RestoredRun> {
    let newest = std::fs::read_dir(index_dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".hlmodel.ckpt"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()?
        .1;
    let state = Checkpoint::load(&newest).ok()?.state;
    let config: TrainConfig = serde_json::from_value(state.config).ok()?;
    Some(RestoredRun {
        checkpoint: newest,
        method: config.method,
        epochs: config.epochs,
        steps_done: state.steps_done,
        history: state.history,
    })
}

impl RunCurves {
    /// The curves of a run read back from its checkpoint: one point per finished epoch.
    fn restored(run: &RestoredRun) -> Self {
        let mut c = Self::for_method(&run.method);
        let per_epoch = run.steps_done / run.history.len().max(1);
        for e in &run.history {
            let x = (e.epoch * per_epoch) as f64;
            c.push_step(
                x,
                [e.loss.total, e.loss.main, e.loss.sdh, e.loss.q],
                e.lr_head,
            );
            if let Some(m) = e.map.filter(|m| m.is_finite()) {
                c.map.push([e.epoch as f64, m]);
            }
        }
        c
    }
}

/// How the last run ended, when it did not finish.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stopped {
    /// Paused: the checkpoint is kept and "Resume" continues from it.
    Paused,
    Cancelled,
}

#[derive(Default)]
pub struct ModelPanel {
    pub settings: TrainChoice,
    task: Option<TrainTask>,
    /// What the user asked the running task to do when it stops.
    stopping: Option<Stopped>,
    stopped: Option<Stopped>,
    stage: Option<(&'static str, usize, usize)>,
    /// When the current stage began (its time left is estimated from its pace so far).
    stage_started: Option<Instant>,
    pub curves: RunCurves,
    position: Option<(usize, usize, usize, usize, f64)>,
    notes: Vec<String>,
    /// The finished model and its class vectors.
    pub trained: Option<TrainedModel>,
    pub error: Option<String>,
    /// Sub-folder classes of the library's photos (`None`: unlabelled), for the photo count it was
    /// worked out at: not recomputed every frame.
    labels: Option<(usize, Option<usize>)>,
    /// The "model file" field and its dialog (run on its own thread, as the folder dialog).
    pub model_file: String,
    dialog: Option<Dialog>,
    /// Reading the last run's checkpoint when the folder is opened (its curves come back after a
    /// restart).
    restoring: Option<Task<Option<RestoredRun>>>,
    /// The augmented views of one training photo the run showed the network, teacher's (weak) first,
    /// in view order: what the panel shows while their features are cached.
    pub views: Vec<(ViewPreview, TextureHandle)>,
    /// The code length the built-in default is fitted at, as the user chose it (`None`: the index's
    /// own length where the default comes in it, else [`DEFAULT_BITS`]).
    pub default_bits: Option<usize>,
    /// What the built-in default's codes are fitted for, as the user chose it (`None`: what the index's
    /// codes are for).
    pub default_purpose: Option<CodePurpose>,
}

/// What the built-in default's codes can be fitted for, with the hover's words on what each finds and
/// costs (figures: `benchmarks/results/codes-for-copies.md`, 64 bits).
pub const DEFAULT_PURPOSES: [(CodePurpose, &str); 2] = [
    (
        CodePurpose::Similar,
        "Photos like this one (recommended): the nearest codes are photos of the same kind of thing. \
         Edited copies are found too, but a re-saved, brightened, cropped or slightly turned copy finds \
         its original first in about 94 cases of 100",
    ),
    (
        CodePurpose::Copies,
        "Copies of this photo: the codes leave out what everyday edits change (a whitening learned from \
         edits of other photos). At 64 bits a resized, re-saved, mirrored, brightened or framed copy \
         finds its original first in at least 995 cases of 1,000, a cropped or slightly turned copy in \
         at least 98 of 100, and the near-duplicate verdict finds 78 % of copies rather than 64 % (99.5 % \
         rather than 99 % once the photos' perceptual prints are computed). The \
         price: photos of the same kind of thing are hardly nearer than other photos (31 against 32 \
         bits apart), so \"similar\" results mean less",
    ),
];

/// The code lengths the built-in default is offered at (each ships a calibrated near-duplicate verdict),
/// with what each means for a library, in the hover's words (figures: `benchmarks/results/edits-default.md`).
pub const DEFAULT_LENGTHS: [(usize, &str); 3] = [
    (
        32,
        "32 bits: the smallest index. Edited copies of a photo are found less often: on the edit \
         benchmark a re-saved or brightened copy finds its original first in about 8 cases of 10",
    ),
    (
        64,
        "64 bits (recommended): a re-saved, brightened, cropped or slightly turned copy finds its \
         original first in about 94 cases of 100; resized, mirrored and framed copies always",
    ),
    (
        128,
        "128 bits: for libraries where edited copies matter most: a re-saved, brightened, cropped or \
         slightly turned copy finds its original first in at least 98 cases of 100, and the \
         near-duplicate verdict finds 77 % of copies rather than 64 %. The index takes twice the space \
         and search about twice the time",
    ),
];

/// A combo box of one setting of the built-in default: `options` are (value, name, what it means); the
/// hover says what `what` is and what the chosen value means. The value clicked, if one was.
fn default_choice<T: Copy + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    what: &str,
    options: &[(T, String, &str)],
    chosen: T,
) -> Option<T> {
    let (name, hover) = options
        .iter()
        .find(|(v, ..)| *v == chosen)
        .map_or((String::new(), ""), |(_, name, why)| (name.clone(), *why));
    let mut clicked = None;
    egui::ComboBox::from_label(label)
        .selected_text(name)
        .show_ui(ui, |ui| {
            for (v, name, why) in options {
                if ui
                    .selectable_label(*v == chosen, name.as_str())
                    .on_hover_text(*why)
                    .clicked()
                {
                    clicked = Some(*v);
                }
            }
        })
        .response
        .on_hover_text(format!(
            "{what}. {hover}. A new choice takes effect when you use or fit the default."
        ));
    clicked
}

/// What the panel asks of the library.
pub enum ModelIntent {
    None,
    /// Re-index the folder with this model file.
    UseModel(PathBuf),
    /// Re-index with the built-in default (pretrained backbone + PCA/ITQ fitted on the folder), fitted
    /// anew with `refit`.
    UseDefault {
        refit: bool,
        /// The code length to fit it at.
        bits: usize,
        /// What its codes are for.
        purpose: CodePurpose,
    },
}

impl ModelPanel {
    /// Starts a run; `resume` continues the paused one from its checkpoint.
    pub fn start(
        &mut self,
        root: &Path,
        photos: Vec<PathBuf>,
        out: PathBuf,
        device: DeviceChoice,
        resume: bool,
        ctx: &egui::Context,
    ) {
        if !resume {
            *self = Self {
                settings: self.settings.clone(),
                model_file: std::mem::take(&mut self.model_file),
                curves: RunCurves::for_method(&self.settings.method_config()),
                ..Self::default()
            };
        }
        self.stopped = None;
        self.stopping = None;
        self.error = None;
        let mut job = TrainJob::recommended(root, photos, &self.settings, out);
        if resume {
            job.resume = Some(job.checkpoint_path());
        }
        self.task = Some(start_training(job, device, ctx));
    }

    /// Reads the newest run's checkpoint beside the index in `index_dir` in the background; its curves
    /// are drawn once read (unless a run has started meanwhile).
    pub fn restore_last_run(&mut self, index_dir: PathBuf, ctx: &egui::Context) {
        self.restoring = Some(Task::spawn("last run", ctx, move |r| {
            r.send(last_run(&index_dir))
        }));
    }

    /// Whether a run is going on.
    pub fn training(&self) -> bool {
        self.task.is_some()
    }

    pub fn poll(&mut self, ctx: &egui::Context) {
        if let Some(read) = self.restoring.as_ref().and_then(|t| t.poll().pop()) {
            self.restoring = None;
            if let Some(run) = read.filter(|_| self.task.is_none() && self.curves.lr.is_empty()) {
                self.curves = RunCurves::restored(&run);
                if let Some(last) = run.history.last() {
                    let steps = run.steps_done / run.history.len().max(1);
                    self.position = Some((last.epoch, run.epochs, steps, steps, 0.0));
                }
                self.notes.push(format!(
                    "The last run's curves, one point per epoch, read from {}",
                    run.checkpoint.display()
                ));
            }
        }
        if let Some(file) = self.dialog.as_ref().and_then(Dialog::poll) {
            match file {
                Ok(Some(f)) => self.model_file = f.display().to_string(),
                Ok(None) => {}
                Err(e) => self.error = Some(e.to_string()),
            }
            self.dialog = None;
        }
        let Some(task) = &self.task else { return };
        for e in task.poll() {
            match e {
                TrainerEvent::Note(n) => self.notes.push(n),
                TrainerEvent::Train(TrainEvent::Stage { name, done, total }) => {
                    if self.stage.is_none_or(|(current, ..)| current != name) {
                        self.stage_started = Some(Instant::now());
                    }
                    self.stage = Some((name, done, total))
                }
                TrainerEvent::Train(TrainEvent::Step {
                    epoch,
                    epochs,
                    step,
                    steps,
                    loss,
                    lr_head,
                    eta_s,
                    ..
                }) => {
                    self.stage = None;
                    let x = ((epoch - 1) * steps + step) as f64;
                    self.curves
                        .push_step(x, [loss.total, loss.main, loss.sdh, loss.q], lr_head);
                    self.position = Some((epoch, epochs, step, steps, eta_s));
                }
                TrainerEvent::Train(TrainEvent::Epoch(stats)) => {
                    if let Some(m) = stats.map.filter(|m| m.is_finite()) {
                        self.curves.map.retain(|p| p[0] < stats.epoch as f64);
                        self.curves.map.push([stats.epoch as f64, m]);
                    }
                }
                TrainerEvent::Train(TrainEvent::Note(n)) => self.notes.push(n),
                TrainerEvent::Train(TrainEvent::View(view)) => {
                    let texture = ctx.load_texture(
                        format!("augmented-{}-{}", view.teacher, view.view),
                        ColorImage::from_rgb([view.side, view.side], &view.rgb),
                        TextureOptions::LINEAR,
                    );
                    self.views
                        .retain(|(v, _)| (v.teacher, v.view) != (view.teacher, view.view));
                    self.views.push((view, texture));
                    self.views.sort_by_key(|(v, _)| (!v.teacher, v.view));
                }
                TrainerEvent::Train(_) => {}
                TrainerEvent::Done(r) => {
                    self.task = None;
                    self.stage = None;
                    match (r, self.stopping.take()) {
                        (Ok(t), _) => self.trained = Some(t),
                        (Err(_), Some(how)) => self.stopped = Some(how),
                        (Err(e), None) => self.error = Some(e),
                    }
                }
            }
        }
    }

    fn choose_file(&mut self, ctx: &egui::Context) {
        let pick = Pick::File {
            kind: "hashlens model",
            extensions: &["hlmodel"],
        };
        match Dialog::open(ctx, "Choose a hashlens model", pick) {
            Ok(d) => self.dialog = Some(d),
            Err(e) => self.error = Some(e),
        }
    }

    /// The code length the built-in default would be fitted at, for an index of `bits`-bit codes.
    pub fn default_bits(&self, bits: usize) -> usize {
        self.default_bits
            .unwrap_or(if DEFAULT_LENGTHS.iter().any(|&(b, _)| b == bits) {
                bits
            } else {
                DEFAULT_BITS
            })
    }

    /// What the built-in default would be fitted for, for an index whose codes are for `current`.
    pub fn default_purpose(&self, current: CodePurpose) -> CodePurpose {
        self.default_purpose.unwrap_or(current)
    }

    /// Draws the tab. `model` describes the index's current model, `codes` its code length and what its
    /// codes are for; `photos` are the library's photos.
    #[allow(clippy::too_many_arguments)]
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        root: &Path,
        model: &str,
        (bits, purpose): (usize, CodePurpose),
        photos: &[IndexedPhoto],
        out: PathBuf,
        device: DeviceChoice,
    ) -> ModelIntent {
        let mut intent = ModelIntent::None;
        ui.heading("Model");
        ui.label(format!("Codes now come from: {model}"));
        ui.horizontal(|ui| {
            ui.label("model file");
            ui.add(
                egui::TextEdit::singleline(&mut self.model_file)
                    .hint_text("/path/to/model.hlmodel")
                    .desired_width(320.0),
            );
            if ui
                .add_enabled(self.dialog.is_none(), egui::Button::new("Browse…"))
                .clicked()
            {
                self.choose_file(ui.ctx());
            }
            let file = PathBuf::from(self.model_file.trim());
            if ui
                .add_enabled(!self.model_file.trim().is_empty(), egui::Button::new("Use it"))
                .on_hover_text("re-encode every photo with this model (its file is checked first)")
                .clicked()
            {
                if file.is_file() {
                    intent = ModelIntent::UseModel(file);
                } else {
                    self.error = Some(format!("{} is not a file", file.display()));
                }
            }
            if ui
                .button("Use the built-in default")
                .on_hover_text(
                    "MobileNetV2 (ImageNet weights) with a PCA + ITQ hash fitted on this folder: no training",
                )
                .clicked()
            {
                intent = ModelIntent::UseDefault {
                    refit: false,
                    bits: self.default_bits(bits),
                    purpose: self.default_purpose(purpose),
                };
            }
            if ui
                .button("Fit the default again")
                .on_hover_text(
                    "Fit PCA + ITQ anew on this folder's photos and re-encode them: after the folder has \
                     grown, or to replace the shipped reference model a folder of 64 photos or fewer \
                     starts with",
                )
                .clicked()
            {
                intent = ModelIntent::UseDefault {
                    refit: true,
                    bits: self.default_bits(bits),
                    purpose: self.default_purpose(purpose),
                };
            }
            let lengths = DEFAULT_LENGTHS.map(|(b, why)| (b, format!("{b} bits"), why));
            if let Some(b) = default_choice(
                ui,
                "code length",
                "The code length of the built-in default",
                &lengths,
                self.default_bits(bits),
            ) {
                self.default_bits = Some(b);
            }
        });
        ui.horizontal(|ui| {
            let purposes = DEFAULT_PURPOSES.map(|(p, why)| (p, p.label().to_string(), why));
            if let Some(p) = default_choice(
                ui,
                "codes for",
                "What the built-in default's codes are fitted for",
                &purposes,
                self.default_purpose(purpose),
            ) {
                self.default_purpose = Some(p);
            }
            if purpose == CodePurpose::Copies {
                ui.label("(this index's codes are for finding copies)");
            }
        });
        ui.add_space(8.0);
        ui.heading("Fine-tune a hashing model on this folder");
        let labels = match self.labels {
            Some((n, classes)) if n == photos.len() => classes,
            _ => {
                let classes = folder_classes(root, photos.iter().map(|p| p.path.as_path()))
                    .map(|c| c.names.len());
                self.labels = Some((photos.len(), classes));
                classes
            }
        };
        ui.label(match labels {
            Some(c) => format!("{} photos in {c} sub-folders: the sub-folders are the classes.", photos.len()),
            None => format!(
                "{} photos without class sub-folders: the targets come from what the pretrained network sees in them.",
                photos.len()
            ),
        })
        .on_hover_text(
            "Deep Hash Distillation: a weakly (teacher) and a strongly (student) augmented view of each \
             photo go through the network; codes are pulled toward their class's proxy (L_HP), the \
             student's code toward the teacher's (L_SdH), and every value toward ±1 (L_bce-Q).",
        );
        let idle = self.task.is_none();
        ui.add_enabled_ui(idle && self.stopped != Some(Stopped::Paused), |ui| {
            self.settings_ui(ui, labels.is_some())
        });
        ui.horizontal(|ui| self.buttons(ui, root, photos, out, device, &mut intent));
        self.progress_ui(ui);
        self.plots(ui);
        if let Some(TrainedModel {
            path,
            classes,
            similarities: sims,
            class_names,
        }) = &self.trained
        {
            ui.label(format!("Saved {}", path.display()));
            // DHN's and HybridHash's losses never read the class vectors: theirs are random.
            let has_class_vectors =
                self.curves.method == Method::Dhd || self.curves.method.uses_centres();
            if has_class_vectors && *classes <= 64 && sims.len() == classes * classes {
                ui.label("Cosine similarity of the class vectors (DHD's learned proxies, DHD Fig. 5; CSQ's and SHC's hash centres).")
                    .on_hover_text("red = 1 (same direction), blue = −1; the diagonal is each class with itself");
                let sims: Vec<f64> = sims.iter().map(|&v| v as f64).collect();
                heatmap(ui, &sims, *classes, 240.0, "classes", class_names);
            }
        }
        intent
    }

    /// `labelled`: the photos are in class sub-folders. Without them the targets are pseudo-labels,
    /// and SHC, which needs classes, can use clusters but not ImageNet's thousand classes.
    fn settings_ui(&mut self, ui: &mut egui::Ui, labelled: bool) {
        if !labelled {
            ui.horizontal(|ui| {
                let p = &mut self.settings.pseudo_labels;
                ui.label("targets from");
                ui.radio_value(
                    p,
                    PseudoLabels::Clusters { k: None },
                    "groups found in the photos",
                )
                .on_hover_text(
                    "k-means clusters of the backbone's features: ten groups (fewer in a small \
                     folder). Better codes than ImageNet's classes in our measurements",
                );
                ui.radio_value(p, PseudoLabels::ImageNet { top: 5 }, "ImageNet classes")
                    .on_hover_text(
                        "the backbone's five most likely ImageNet classes of each photo",
                    );
            });
        }
        let classes = labelled || !self.settings.pseudo_labels.needs_classifier();
        ui.horizontal(|ui| {
            ui.label("method");
            let s = &mut self.settings;
            if !classes && s.method == Method::Shc {
                s.method = Method::Dhd;
            }
            ui.selectable_value(&mut s.method, Method::Dhd, "DHD")
                .on_hover_text("Deep Hash Distillation: class proxies, self-distillation, BCE quantisation");
            ui.selectable_value(&mut s.method, Method::Dhn, "DHN")
                .on_hover_text("Deep Hashing Network: photos of a class pulled together in pairs");
            ui.selectable_value(&mut s.method, Method::Csq, "CSQ")
                .on_hover_text("Central Similarity Quantisation: each class pulled to its Hadamard hash centre");
            ui.add_enabled_ui(classes, |ui| {
                ui.selectable_value(&mut s.method, Method::Shc, "SHC")
                    .on_hover_text(
                        "Semantic Hash Centres: centres placed by how alike a classifier finds the classes \
                         (at least the Gilbert–Varshamov distance apart), then CSQ's loss",
                    )
                    .on_disabled_hover_text(
                        "SHC needs classes: put the photos in one sub-folder per class, or take the \
                         targets from groups found in the photos",
                    );
            });
            ui.selectable_value(&mut s.method, Method::HybridHash, "HybridHash loss")
                .on_hover_text(
                    "HybridHash's weighted pairwise likelihood: each photo against a memory bank of every \
                     photo's latest code (on this backbone; the HybridHash network itself trains from \
                     scratch on the command line)",
                );
            ui.add_enabled(
                s.method != Method::Dhd,
                egui::Checkbox::new(&mut s.sdh, "+ self-distillation (SdH)"),
            )
            .on_hover_text("DHD's weak-to-strong view distillation added to this method (DHD always has it)");
        });
        ui.horizontal(|ui| {
            ui.label("bits");
            for b in [16, 32, 64, 128] {
                ui.selectable_value(&mut self.settings.bits, b, b.to_string());
            }
            ui.separator();
            ui.add(egui::Slider::new(&mut self.settings.epochs, 1..=100).text("epochs"));
        });
        let s = &mut self.settings;
        let clusters = matches!(s.pseudo_labels, PseudoLabels::Clusters { .. });
        if !labelled
            && clusters
            && s.bits == 16
            && s.mode == TrainMode::Head
            && !(s.method == Method::Shc && s.sdh)
        {
            ui.horizontal(|ui| {
                ui.label(
                    "At 16 bits without class folders, SHC with self-distillation measured best: it \
                     beat the training-free codes on all three CIFAR-10 splits, DHD on two.",
                );
                if ui
                    .small_button("Use SHC + SdH")
                    .on_hover_text(
                        "mAP@1000, mean of three splits: SHC + SdH 0.308, DHD 0.301, the training-free \
                         default 0.298 (benchmarks/results/unlabelled-targets-head-cpu-cifar10.md)",
                    )
                    .clicked()
                {
                    s.method = Method::Shc;
                    s.sdh = true;
                }
            });
        }
        ui.horizontal(|ui| {
            ui.radio_value(
                &mut self.settings.mode,
                TrainMode::Head,
                "hash layer only (fast, any computer)",
            );
            ui.radio_value(
                &mut self.settings.mode,
                TrainMode::Full,
                "whole network (needs a GPU)",
            );
        });
    }

    fn buttons(
        &mut self,
        ui: &mut egui::Ui,
        root: &Path,
        photos: &[IndexedPhoto],
        out: PathBuf,
        device: DeviceChoice,
        intent: &mut ModelIntent,
    ) {
        let paths = || photos.iter().map(|p| p.path.clone()).collect();
        if let Some(task) = &self.task {
            let busy = task.cancelling();
            if ui
                .add_enabled(!busy, egui::Button::new("Pause"))
                .on_hover_text(
                    "stop after this step and keep a checkpoint; Resume continues exactly",
                )
                .clicked()
            {
                self.stopping = Some(Stopped::Paused);
                task.cancel();
            }
            if ui.add_enabled(!busy, egui::Button::new("Cancel")).clicked() {
                self.stopping = Some(Stopped::Cancelled);
                task.cancel();
            }
            return;
        }
        if self.stopped == Some(Stopped::Paused) {
            if ui.button("Resume").clicked() {
                self.start(root, paths(), out.clone(), device, true, ui.ctx());
            }
            if ui.button("Discard the paused run").clicked() {
                let _ = std::fs::remove_file(
                    hashlens_core::train::checkpoint::checkpoint_path_for(&out),
                );
                self.stopped = Some(Stopped::Cancelled);
            }
            return;
        }
        if ui
            .add_enabled(photos.len() >= 2, egui::Button::new("Start fine-tuning"))
            .clicked()
        {
            self.start(root, paths(), out, device, false, ui.ctx());
        }
        if let Some(TrainedModel { path, .. }) = &self.trained
            && ui.button("Re-index with the new model").clicked()
        {
            *intent = ModelIntent::UseModel(path.clone());
        }
    }

    fn progress_ui(&self, ui: &mut egui::Ui) {
        if let Some((name, done, total)) = self.stage {
            let left = stage_time_left(self.stage_started.map(|t| t.elapsed()), done, total)
                .map(|s| format!(" — about {} left", duration(s)))
                .unwrap_or_default();
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("{name}: {done}/{total}{left}")),
            );
            // Until the first step, the views the network is being shown.
            if self.position.is_none() {
                self.views_ui(ui);
            }
        }
        if let Some((epoch, epochs, step, steps, eta)) = self.position {
            let done = ((epoch - 1) * steps + step) as f32 / (epochs * steps).max(1) as f32;
            let text = match (&self.task, self.stopped) {
                (Some(_), _) => format!(
                    "epoch {epoch}/{epochs}, step {step}/{steps} — about {} left",
                    duration(eta)
                ),
                (None, Some(Stopped::Paused)) => {
                    format!("paused at epoch {epoch}/{epochs}, step {step}/{steps}")
                }
                (None, Some(Stopped::Cancelled)) => format!("cancelled at epoch {epoch}/{epochs}"),
                (None, None) => format!("epoch {epoch}/{epochs}"),
            };
            ui.add(egui::ProgressBar::new(done).text(text));
        }
        for n in &self.notes {
            ui.weak(n);
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }

    /// The augmented views of one photo, weak above strong, with what they are for.
    fn views_ui(&self, ui: &mut egui::Ui) {
        if self.views.is_empty() {
            return;
        }
        ui.add_space(6.0);
        ui.label(
            "What the hash layer learns from: views of one photo, changed a little (teacher, above) \
             and a lot (student, below). Training makes their codes agree, so that edits of a photo \
             keep its bits.",
        );
        for teacher in [true, false] {
            // The strong views come once the weak ones are cached.
            if !self.views.iter().any(|(v, _)| v.teacher == teacher) {
                continue;
            }
            ui.horizontal(|ui| {
                // One width for both labels, so that the rows of views line up.
                ui.add_sized(
                    [56.0, 112.0],
                    egui::Label::new(if teacher { "weak" } else { "strong" }),
                );
                for (v, texture) in self.views.iter().filter(|(v, _)| v.teacher == teacher) {
                    ui.add(egui::Image::new(texture).fit_to_exact_size(Vec2::splat(112.0)))
                        .on_hover_text(format!(
                            "{} view {}",
                            if teacher { "teacher" } else { "student" },
                            v.view + 1
                        ));
                }
            });
        }
    }

    fn plots(&self, ui: &mut egui::Ui) {
        let c = &self.curves;
        if c.lr.len() < 2 {
            return;
        }
        let width = ui.available_width().min(640.0);
        ui.label(format!("Training loss by step: {}", c.formula));
        Plot::new("loss")
            .legend(Legend::default())
            .width(width)
            .height(170.0)
            .allow_scroll(false)
            .show(ui, |p| {
                for (line, name) in c.losses.iter().zip(c.names) {
                    p.line(Line::new(name, PlotPoints::from(line.clone())));
                }
            });
        ui.horizontal(|ui| {
            let half = (width - 8.0) / 2.0;
            ui.vertical(|ui| {
                ui.label("Learning rate (hash layer; cosine decay)");
                Plot::new("lr")
                    .width(half)
                    .height(120.0)
                    .allow_scroll(false)
                    .show(ui, |p| {
                        p.line(Line::new("learning rate", PlotPoints::from(c.lr.clone())))
                    });
            });
            if !c.map.is_empty() {
                ui.vertical(|ui| {
                    ui.label("mAP@ALL by epoch, on photos it trains on").on_hover_text(
                        "a quarter of 300 photos search the others; all are also training photos, so \
                         this shows the trend rather than the quality on new photos",
                    );
                    ui.strong(map_summary(&c.map));
                    Plot::new("map")
                        .width(half)
                        .height(120.0)
                        .include_y(0.0)
                        .include_y(1.0)
                        .allow_scroll(false)
                        .show(ui, |p| {
                            p.line(Line::new("mAP", PlotPoints::from(c.map.clone())));
                            p.points(Points::new("", PlotPoints::from(c.map.clone())).radius(3.0));
                            for &[epoch, map] in &c.map {
                                p.text(Text::new(
                                    "",
                                    PlotPoint::new(epoch, map + 0.08),
                                    format!("{map:.2}"),
                                ));
                            }
                        });
                });
            }
        });
    }
}

/// The mAP curve in one line: first and last value, and the best when it was neither.
fn map_summary(map: &[[f64; 2]]) -> String {
    let (Some(first), Some(last)) = (map.first(), map.last()) else {
        return String::new();
    };
    let best = map
        .iter()
        .copied()
        .fold(*first, |b, p| if p[1] > b[1] { p } else { b });
    let mut line = if map.len() == 1 {
        format!("{:.3} after epoch {}", last[1], last[0])
    } else {
        format!(
            "{:.3} after epoch {}, then {:.3} after epoch {}",
            first[1], first[0], last[1], last[0]
        )
    };
    if best != *first && best != *last {
        line += &format!(" (best {:.3}, epoch {})", best[1], best[0]);
    }
    line
}

/// A stage's time left at the pace of its first `done` of `total` items, once there is a pace to go by.
fn stage_time_left(elapsed: Option<Duration>, done: usize, total: usize) -> Option<f64> {
    let elapsed = elapsed?.as_secs_f64();
    (done > 0 && done < total && elapsed >= 1.0)
        .then(|| elapsed * (total - done) as f64 / done as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_curve_reads_as_one_line() {
        assert_eq!(map_summary(&[]), "");
        assert_eq!(map_summary(&[[1.0, 0.4123]]), "0.412 after epoch 1");
        assert_eq!(
            map_summary(&[[1.0, 0.41], [2.0, 0.72], [3.0, 0.69]]),
            "0.410 after epoch 1, then 0.690 after epoch 3 (best 0.720, epoch 2)"
        );
        assert_eq!(
            map_summary(&[[1.0, 0.41], [2.0, 0.55], [3.0, 0.69]]),
            "0.410 after epoch 1, then 0.690 after epoch 3"
        );
    }

    #[test]
    fn a_stage_estimates_its_time_left_from_its_pace() {
        let after = |s| Some(Duration::from_secs(s));
        assert_eq!(stage_time_left(after(30), 100, 400), Some(90.0));
        assert_eq!(stage_time_left(after(30), 0, 400), None, "no pace yet");
        assert_eq!(stage_time_left(after(30), 400, 400), None, "done");
        assert_eq!(stage_time_left(None, 100, 400), None);
    }

    #[test]
    fn a_resumed_run_replaces_the_steps_it_repeats() {
        let mut c = RunCurves::default();
        for x in 1..=6 {
            c.push_step(x as f64, [x as f64; 4], 0.1);
        }
        // Paused after step 6; the checkpoint was at step 4, so the resumed run reports 5 again.
        c.push_step(5.0, [50.0; 4], 0.1);
        let xs: Vec<f64> = c.losses[0].iter().map(|p| p[0]).collect();
        assert_eq!(xs, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(c.losses[2].last(), Some(&[5.0, 50.0]));
        assert_eq!(c.lr.len(), 5);
    }
}
