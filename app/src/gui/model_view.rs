//! The "Model" tab: which model made the codes, and fine-tuning a DHD model on this folder with live
//! progress, the loss curve, cancel, the learned proxies' similarities (DHD Fig. 5) and "re-index with it".

use std::path::{Path, PathBuf};
use std::time::Instant;

use eframe::egui::{self, Color32, Sense, Stroke, pos2, vec2};
use hashlens_core::device::DeviceChoice;
use hashlens_core::index::IndexedPhoto;
use hashlens_core::train::{TrainEvent, TrainMode};

use super::training::{TrainSettings, TrainTask, TrainerEvent, folder_labels, start_training};

#[derive(Default)]
pub struct ModelPanel {
    pub settings: TrainSettings,
    task: Option<TrainTask>,
    started: Option<Instant>,
    stage: Option<(&'static str, usize, usize)>,
    /// (global step, mean total loss) per report.
    pub losses: Vec<(f64, f64)>,
    position: Option<(usize, usize, usize, usize, f64)>,
    notes: Vec<String>,
    /// The finished model, its class count and the proxies' cosine similarities.
    pub trained: Option<(PathBuf, usize, Vec<f32>)>,
    pub error: Option<String>,
    /// Sub-folder classes of the library's photos (`None`: unlabelled), for the photo count it was
    /// worked out at: not recomputed every frame.
    labels: Option<(usize, Option<usize>)>,
}

/// What the panel asks of the library.
pub enum ModelIntent {
    None,
    /// Re-index the folder with this model file.
    UseModel(PathBuf),
}

impl ModelPanel {
    pub fn start(
        &mut self,
        root: &Path,
        photos: Vec<PathBuf>,
        out: PathBuf,
        device: DeviceChoice,
        ctx: &egui::Context,
    ) {
        *self = Self {
            settings: self.settings.clone(),
            ..Self::default()
        };
        self.started = Some(Instant::now());
        self.task = Some(start_training(
            root.to_path_buf(),
            photos,
            out,
            self.settings.clone(),
            device,
            ctx,
        ));
    }

    pub fn poll(&mut self) {
        let Some(task) = &self.task else { return };
        for e in task.poll() {
            match e {
                TrainerEvent::Note(n) => self.notes.push(n),
                TrainerEvent::Train(TrainEvent::Stage { name, done, total }) => {
                    self.stage = Some((name, done, total))
                }
                TrainerEvent::Train(TrainEvent::Step {
                    epoch,
                    epochs,
                    step,
                    steps,
                    loss,
                    eta_s,
                    ..
                }) => {
                    self.stage = None;
                    self.losses
                        .push((((epoch - 1) * steps + step) as f64, loss.total));
                    self.position = Some((epoch, epochs, step, steps, eta_s));
                }
                TrainerEvent::Train(_) => {}
                TrainerEvent::Done(r) => {
                    self.task = None;
                    match r {
                        Ok(t) => self.trained = Some(t),
                        Err(e) => self.error = Some(e),
                    }
                }
            }
        }
    }

    /// Draws the tab. `model` describes the index's current model; `photos` are the library's photos.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        root: &Path,
        model: &str,
        photos: &[IndexedPhoto],
        out: PathBuf,
        device: DeviceChoice,
    ) -> ModelIntent {
        let mut intent = ModelIntent::None;
        ui.heading("Model");
        ui.label(format!("Codes now come from: {model}"));
        ui.add_space(8.0);
        ui.heading("Fine-tune a DHD model on this folder");
        let labels = match self.labels {
            Some((n, classes)) if n == photos.len() => classes,
            _ => {
                let classes =
                    folder_labels(root, photos.iter().map(|p| p.path.as_path())).map(|(_, c)| c);
                self.labels = Some((photos.len(), classes));
                classes
            }
        };
        ui.label(match labels {
            Some(c) => format!("{} photos in {c} sub-folders: the sub-folders are the classes.", photos.len()),
            None => format!(
                "{} photos without class sub-folders: the targets are the ImageNet classes the backbone sees.",
                photos.len()
            ),
        })
        .on_hover_text(
            "Deep Hash Distillation: a weakly (teacher) and a strongly (student) augmented view of each \
             photo go through the network; codes are pulled toward their class's proxy (L_HP), the \
             student's code toward the teacher's (L_SdH), and every value toward ±1 (L_bce-Q).",
        );
        let idle = self.task.is_none();
        ui.add_enabled_ui(idle, |ui| {
            ui.horizontal(|ui| {
                ui.label("bits");
                for b in [16, 32, 64, 128] {
                    ui.selectable_value(&mut self.settings.bits, b, b.to_string());
                }
                ui.separator();
                ui.add(egui::Slider::new(&mut self.settings.epochs, 1..=100).text("epochs"));
            });
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
        });
        ui.horizontal(|ui| {
            if idle {
                let enough = photos.len() >= 2;
                if ui
                    .add_enabled(enough, egui::Button::new("Start fine-tuning"))
                    .clicked()
                {
                    let paths = photos.iter().map(|p| p.path.clone()).collect();
                    self.start(root, paths, out, device, ui.ctx());
                }
            } else if let Some(task) = &self.task
                && ui
                    .add_enabled(!task.cancelling(), egui::Button::new("Cancel"))
                    .clicked()
            {
                task.cancel();
            }
            if let Some((path, ..)) = &self.trained
                && idle
                && ui.button("Re-index with the new model").clicked()
            {
                intent = ModelIntent::UseModel(path.clone());
            }
        });
        if let Some((name, done, total)) = self.stage {
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("{name}: {done}/{total}")),
            );
        }
        if let Some((epoch, epochs, step, steps, eta)) = self.position {
            let done = ((epoch - 1) * steps + step) as f32 / (epochs * steps).max(1) as f32;
            let text = if self.task.is_some() {
                format!(
                    "epoch {epoch}/{epochs}, step {step}/{steps} — about {} left",
                    duration(eta)
                )
            } else {
                format!("epoch {epoch}/{epochs}")
            };
            ui.add(egui::ProgressBar::new(done).text(text));
        }
        for n in &self.notes {
            ui.weak(n);
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        if self.losses.len() >= 2 {
            ui.label("Training loss (L_HP + 0.1·L_SdH + 0.1·L_bce-Q)");
            loss_plot(ui, &self.losses);
        }
        if let Some((path, classes, sims)) = &self.trained {
            ui.label(format!("Saved {}", path.display()));
            if *classes <= 64 && sims.len() == classes * classes {
                ui.label("Cosine similarity of the learned class proxies (DHD Fig. 5): distinct classes are far apart.")
                    .on_hover_text("white = 1 (same direction), black = −1; the diagonal is each proxy with itself");
                heatmap(ui, sims, *classes);
            }
        }
        intent
    }
}

fn duration(s: f64) -> String {
    if s >= 90.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

/// The loss by step as a polyline, scaled to the data.
fn loss_plot(ui: &mut egui::Ui, points: &[(f64, f64)]) {
    let (rect, _) =
        ui.allocate_exact_size(vec2(ui.available_width().min(600.0), 160.0), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    let (x0, x1) = (
        points[0].0,
        points[points.len() - 1].0.max(points[0].0 + 1.0),
    );
    let (lo, hi) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let span = (hi - lo).max(1e-9);
    let line: Vec<_> = points
        .iter()
        .map(|&(x, y)| {
            pos2(
                rect.left() + ((x - x0) / (x1 - x0)) as f32 * rect.width(),
                rect.bottom() - ((y - lo) / span) as f32 * (rect.height() - 8.0) - 4.0,
            )
        })
        .collect();
    painter.add(egui::Shape::line(
        line,
        Stroke::new(1.5, ui.visuals().selection.bg_fill),
    ));
    painter.text(
        rect.left_top() + vec2(4.0, 2.0),
        egui::Align2::LEFT_TOP,
        format!("{hi:.3}"),
        egui::FontId::monospace(11.0),
        ui.visuals().text_color(),
    );
    painter.text(
        rect.left_bottom() + vec2(4.0, -2.0),
        egui::Align2::LEFT_BOTTOM,
        format!("{lo:.3}"),
        egui::FontId::monospace(11.0),
        ui.visuals().text_color(),
    );
}

/// A `n × n` grid of grey levels for values in [−1, 1].
fn heatmap(ui: &mut egui::Ui, values: &[f32], n: usize) {
    let cell = (240.0 / n as f32).clamp(4.0, 24.0);
    let (rect, _) = ui.allocate_exact_size(vec2(cell * n as f32, cell * n as f32), Sense::hover());
    let painter = ui.painter_at(rect);
    for i in 0..n {
        for j in 0..n {
            let v = ((values[i * n + j].clamp(-1.0, 1.0) + 1.0) * 127.5) as u8;
            let r = egui::Rect::from_min_size(
                rect.min + vec2(j as f32 * cell, i as f32 * cell),
                vec2(cell, cell),
            );
            painter.rect_filled(r, 0.0, Color32::from_gray(v));
        }
    }
}
